"""The project's own pose files: CSV and NPZ, 2D and 3D (read and write). A public contract.

2D CSV (UTF-8, comma separated)
    Optional leading comment lines ``# key=value``: ``fps`` (> 0), ``width`` and ``height`` (pixels),
    ``layout`` (a name or alias from ``mpm_core.skeleton``), ``person_id`` (int). Unknown keys are ignored.
    Header ``frame,<joint>_x,<joint>_y,<joint>_score,...`` with the joints in layout order (``_score`` columns
    may be left out: score 1). Then one row per frame: ``frame`` a whole number, strictly increasing (gaps are
    missing frames); x, y in pixels, origin top-left, y down. An empty x and y means the joint is missing
    (its score is then empty too); an empty score with x and y given means score 1.
    Without ``# layout=`` the layout is the one whose joint names match the columns.

2D NPZ (``numpy.savez``, no object arrays: read with ``allow_pickle=False``)
    ``keypoints`` (T, J, 2) float pixels, NaN where missing; ``scores`` (T, J); ``fps`` scalar; ``layout``
    string; optional ``image_size`` [w, h], ``joint_names`` (J,) strings, ``visible`` (T, J) bool,
    ``start_frame`` int (frame number of row 0), ``person_id`` int.

3D CSV
    Comment lines ``# coords=camera`` (x right, y down, z forward) or ``# coords=world`` (y up),
    ``# units=m`` (``cm``/``mm`` are accepted and converted to metres on reading; the writers always write
    metres), ``# fps=``, ``# layout=``. Header ``frame,time_s,<joint>_x,<joint>_y,<joint>_z,...`` in layout
    order; optionally followed by ``<joint>_hidden`` columns (1 = joint filled in by the model, not observed)
    and ``<joint>_score`` columns, and (version 2) ``left_contact,right_contact`` foot contacts (1 = planted).
    ``time_s`` is seconds from the first row; it gives the fps when there is no ``# fps=`` line. Empty x, y, z =
    missing joint. ``# version=`` 1 and 2 are read (1 has no contacts); a newer version is refused.

3D NPZ
    ``joints`` (T, J, 3) float metres, NaN where missing; ``fps``; ``coords``; ``layout``; ``units`` ("m");
    optional ``scores`` (T, J), ``visible`` (T, J) bool, ``hidden`` (T, J) bool, ``contacts`` (T, 2) bool
    ``[left, right]``, ``joint_names``, ``start_frame``.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mpm_core.atomic import atomic_write
from mpm_core.errors import PoseDataError, check_fps
from mpm_core.io.common import check_image_size, read_text_file
from mpm_core.io.limits import (
    MAX_ABS_PIXELS,
    MAX_FRAMES,
    check_count,
    check_dense,
    check_frame_number,
    check_not_infinite,
    load_npz_arrays,
)
from mpm_core.sequence import COORDS, UNITS, PoseSequence2D, PoseSequence3D
from mpm_core.skeleton import LAYOUTS, Layout, get_layout

#: Field suffixes of the per-joint columns.
FIELDS_2D = ("x", "y", "score")
FIELDS_3D = ("x", "y", "z", "hidden", "score")
#: Significant digits written for float32 values (enough to read back the same float32).
FLOAT_DIGITS = 9
#: Foot-contact columns of the 3D CSV (format version 2), in the order of a ``(T, 2)`` contacts array.
CONTACT_COLUMNS = ("left_contact", "right_contact")
#: 3D CSV format versions this reader understands.
CSV_3D_VERSIONS = (1, 2)


@dataclass
class CsvHeader:
    """Comment keys (``# key=value``), the column names and the line number of the header row (1-based)."""

    meta: dict[str, str]
    columns: list[str]
    header_line: int
    rows: list[tuple[int, list[str]]]  # (line number, cells)


@dataclass
class Canonical3D:
    """A 3D canonical file: the sequence (metres) and the optional per-joint ``hidden`` flags (T, J) bool."""

    sequence: PoseSequence3D
    hidden: np.ndarray | None
    fps_in_file: bool = True
    contacts: np.ndarray | None = None


# -- CSV reading ------------------------------------------------------------------------------------------------------
def read_csv_table(path: str | os.PathLike) -> CsvHeader:
    """Split a canonical CSV into comment metadata, header and data rows (with line numbers)."""
    path = Path(path)
    text = read_text_file(path)
    meta: dict[str, str] = {}
    reader = csv.reader(io.StringIO(text))
    columns: list[str] | None = None
    header_line = 0
    rows: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            line = reader.line_num
            if columns is None:
                if not cells or not "".join(cells).strip():
                    continue
                first = cells[0].strip()
                if first.startswith("#"):
                    body = ",".join(cells).lstrip("#").strip()
                    if "=" in body:
                        key, value = body.split("=", 1)
                        meta[key.strip().lower()] = value.strip()
                    continue
                columns = [c.strip() for c in cells]
                header_line = line
                continue
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue  # blank line (e.g. at the end)
            rows.append((line, cells))
    except csv.Error as exc:
        raise PoseDataError(f"malformed CSV: {exc}", path, f"line {reader.line_num}") from None
    if columns is None:
        raise PoseDataError("no header row", path)
    return CsvHeader(meta, columns, header_line, rows)


def _joint_columns(
    columns: list[str], fields: tuple[str, ...], path: Path, line: int
) -> tuple[list[str], dict[tuple[str, str], int]]:
    """Joint names in order of first appearance and the column index of each (joint, field)."""
    joints: list[str] = []
    index: dict[tuple[str, str], int] = {}
    for i, col in enumerate(columns):
        joint, _, fld = col.rpartition("_")
        if not joint or fld not in fields:
            raise PoseDataError(
                f"column {col!r} is not <joint>_<{'|'.join(fields)}>", path, f"line {line} column {i + 1}"
            )
        if (joint, fld) in index:
            raise PoseDataError(f"column {col!r} appears twice", path, f"line {line}")
        if joint not in joints:
            joints.append(joint)
        index[(joint, fld)] = i
    return joints, index


def _layout_for_joints(joints: list[str], declared: str | None, path: Path) -> Layout:
    if declared is not None:
        layout = get_layout(declared)
        if tuple(joints) != layout.joint_names:
            missing = [n for n in layout.joint_names if n not in joints]
            extra = [n for n in joints if n not in layout.joint_names]
            detail = (
                f"missing {missing[:5]}"
                if missing
                else f"unknown {extra[:5]}"
                if extra
                else "joints not in layout order"
            )
            raise PoseDataError(f"columns do not match layout {layout.name}: {detail}", path, "header")
        return layout
    for layout in LAYOUTS.values():
        if tuple(joints) == layout.joint_names:
            return layout
    raise PoseDataError(
        f"joint columns ({len(joints)} joints, first {joints[:3]}) match no known layout; add '# layout=NAME'",
        path,
        "header",
    )


def _parse_rows(
    table: CsvHeader, path: Path, key_columns: int, value_columns: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Frame numbers (T,) and values (T, C) float64 (NaN for an empty cell), with line/column errors."""
    width = len(table.columns)
    if not table.rows:
        raise PoseDataError("zero frames (header but no data rows)", path)
    frames = np.empty(len(table.rows), np.int64)
    values = np.full((len(table.rows), len(value_columns)), np.nan)
    previous = None
    for r, (line, cells) in enumerate(table.rows):
        if len(cells) != width:
            raise PoseDataError(f"{len(cells)} cells but the header has {width}", path, f"line {line}")
        cell = cells[0].strip()
        try:
            frame = int(cell)
        except ValueError:
            try:
                as_float = float(cell)
            except ValueError:
                as_float = math.nan
            if not as_float.is_integer():
                raise PoseDataError(
                    f"frame {cell!r} is not a whole number", path, f"line {line} column 'frame'"
                ) from None
            frame = int(as_float)
        check_frame_number(frame, path, f"line {line} column 'frame'", allow_negative=True)
        if previous is not None and frame <= previous:
            problem = f"duplicate frame number {frame}" if frame == previous else f"frame {frame} after {previous}"
            raise PoseDataError(problem + " (frames must increase)", path, f"line {line}")
        previous = frames[r] = frame
        for c, col in enumerate(value_columns):
            text = cells[key_columns + c].strip()
            if not text:
                continue
            try:
                value = float(text)
            except ValueError:
                raise PoseDataError(f"{text[:40]!r} is not a number", path, f"line {line} column {col!r}") from None
            if abs(value) > MAX_ABS_PIXELS:  # NaN passes: an empty cell's meaning
                raise PoseDataError(
                    f"{text[:40]!r} is not finite or beyond ±{MAX_ABS_PIXELS:g}", path, f"line {line} column {col!r}"
                )
            values[r, c] = value
    return frames, values


def _fill_gaps(frames: np.ndarray, values: np.ndarray, path: Path | None = None) -> tuple[int, np.ndarray]:
    """Rows for every frame from first to last (missing frames NaN): (start frame, (T, C))."""
    start = int(frames[0])
    total = int(frames[-1]) - start + 1
    if total == len(frames):
        return start, values
    check_dense(total * values.shape[1], 8, f"frames {start} to {int(frames[-1])}", path, values.size)
    full = np.full((total, values.shape[1]), np.nan)
    full[frames - start] = values
    return start, full


def _meta_number(meta: dict[str, str], key: str, path: Path, kind: type = float) -> float | int | None:
    """The ``# key=`` comment value as ``kind`` (float or int), None when absent; a bad value names the line."""
    if key not in meta:
        return None
    try:
        return kind(meta[key])
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise PoseDataError(f"{key}={meta[key]!r} is not {what}", path, f"'# {key}=' line") from None


def _meta_image_size(meta: dict[str, str], path: Path) -> tuple[int, int] | None:
    if "width" not in meta and "height" not in meta:
        return None
    if "width" not in meta or "height" not in meta:
        raise PoseDataError("'# width=' and '# height=' must be given together", path, "comment lines")
    return check_image_size((meta["width"], meta["height"]), path, "'# width=/# height=' lines")


def read_csv_2d(path: str | os.PathLike, layout: str | None = None) -> tuple[PoseSequence2D, dict[str, str]]:
    """Read a canonical 2D CSV. Returns the sequence (fps 30 when the file has none) and the comment metadata.

    ``layout`` overrides ``# layout=`` (both are checked against the columns).
    """
    path = Path(path)
    table = read_csv_table(path)
    if not table.columns or table.columns[0] != "frame":
        raise PoseDataError(
            f"first column must be 'frame', got {table.columns[0]!r}", path, f"line {table.header_line}"
        )
    joints, index = _joint_columns(table.columns[1:], FIELDS_2D, path, table.header_line)
    lay = _layout_for_joints(joints, layout or table.meta.get("layout"), path)
    for joint in joints:
        for fld in ("x", "y"):
            if (joint, fld) not in index:
                raise PoseDataError(f"column {joint}_{fld} is missing", path, f"line {table.header_line}")
    frames, values = _parse_rows(table, path, 1, table.columns[1:])
    start, values = _fill_gaps(frames, values, path)
    j = len(joints)
    xy = np.stack([values[:, [index[(n, "x")] for n in joints]], values[:, [index[(n, "y")] for n in joints]]], -1)
    if all((n, "score") in index for n in joints):
        scores = values[:, [index[(n, "score")] for n in joints]]
    else:
        scores = np.full((len(values), j), np.nan)
    _check_xy_pairs(xy, frames, start, joints, path, table)
    visible = np.isfinite(xy).all(axis=2)
    scores = np.where(np.isnan(scores), 1.0, scores)
    fps = _meta_number(table.meta, "fps", path)
    if fps is not None:
        check_fps(fps, path, "'# fps=' line")
    seq = PoseSequence2D(
        keypoints=np.nan_to_num(xy, nan=0.0),
        scores=scores,
        visible=visible,
        fps=fps if fps is not None else 30.0,
        layout=lay.name,
        person_id=_meta_number(table.meta, "person_id", path, int),
        source=os.fspath(path),
        start_frame=start,
        image_size=_meta_image_size(table.meta, path),
    )
    return seq, table.meta


def _check_xy_pairs(xy: np.ndarray, frames, start, joints, path: Path, table: CsvHeader) -> None:
    """x given without y (or the reverse) is a broken row, not a missing joint."""
    half = np.isnan(xy[..., 0]) != np.isnan(xy[..., 1])
    if half.any():
        row, joint = (int(v) for v in np.argwhere(half)[0])
        line = dict(zip(frames.tolist(), (ln for ln, _ in table.rows))).get(start + row, "?")
        raise PoseDataError(
            f"joint {joints[joint]!r} has only one of x and y (an empty cell on one of them)", path, f"line {line}"
        )


def read_csv_3d(path: str | os.PathLike, layout: str | None = None) -> Canonical3D:
    """Read a canonical 3D CSV into metres (see module docstring)."""
    path = Path(path)
    table = read_csv_table(path)
    cols = table.columns
    if not cols or cols[0] != "frame":
        raise PoseDataError(f"first column must be 'frame', got {cols[0]!r}", path, f"line {table.header_line}")
    version = _meta_number(table.meta, "version", path, int)
    if version is not None and version not in CSV_3D_VERSIONS:
        raise PoseDataError(
            f"3D CSV version {version} is newer than this reader ({', '.join(map(str, CSV_3D_VERSIONS))})",
            path,
            "'# version=' line",
        )
    key_columns = 2 if len(cols) > 1 and cols[1] == "time_s" else 1
    contact_at = [i for i, c in enumerate(cols) if c in CONTACT_COLUMNS]
    if contact_at and [cols[i] for i in contact_at] != list(CONTACT_COLUMNS):
        raise PoseDataError("contact columns must be left_contact,right_contact together", path, "header")
    joint_cols = [c for c in cols[key_columns:] if c not in CONTACT_COLUMNS]
    joints, index = _joint_columns(joint_cols, FIELDS_3D, path, table.header_line)
    lay = _layout_for_joints(joints, layout or table.meta.get("layout"), path)
    for joint in joints:
        for fld in ("x", "y", "z"):
            if (joint, fld) not in index:
                raise PoseDataError(f"column {joint}_{fld} is missing", path, f"line {table.header_line}")
    frames, values = _parse_rows(table, path, 1, cols[1:])
    contact_values = values[:, [i - 1 for i in contact_at]] if contact_at else None
    values = values[:, [i - 1 for i in range(1, len(cols)) if i not in contact_at]]
    if key_columns == 2:
        times, values = values[:, 0], values[:, 1:]
    else:
        times = None
    start, filled = _fill_gaps(frames, values, path)
    contacts = None
    if contact_values is not None:
        contacts = np.nan_to_num(_fill_gaps(frames, contact_values, path)[1], nan=0.0) != 0
    xyz = np.stack([filled[:, [index[(n, f)] for n in joints]] for f in ("x", "y", "z")], -1)
    visible = np.isfinite(xyz).all(axis=2)
    scores = None
    if all((n, "score") in index for n in joints):
        scores = np.nan_to_num(filled[:, [index[(n, "score")] for n in joints]], nan=1.0)
    hidden = None
    if all((n, "hidden") in index for n in joints):
        hidden = np.nan_to_num(filled[:, [index[(n, "hidden")] for n in joints]], nan=0.0) != 0
    fps = _meta_number(table.meta, "fps", path)
    if fps is None and times is not None and len(frames) > 1:
        steps = np.diff(times) / np.diff(frames)
        if np.isfinite(steps).all() and steps.min() > 0:
            fps = 1.0 / float(np.median(steps))
    fps_in_file = fps is not None
    fps = check_fps(fps, path, "'# fps=' line") if fps is not None else 30.0
    units = table.meta.get("units", "m")
    coords = table.meta.get("coords", "camera")
    _check_units_coords(units, coords, path, "comment lines")
    seq = PoseSequence3D(
        keypoints=np.nan_to_num(xyz, nan=0.0) * UNITS[units],
        scores=scores,
        visible=visible,
        fps=fps,
        layout=lay.name,
        source=os.fspath(path),
        start_frame=start,
        units="m",
        coords=coords,
    )
    return Canonical3D(seq, hidden, fps_in_file, contacts)


def _check_units_coords(units: str, coords: str, path: Path, where: str) -> None:
    if units not in UNITS:
        raise PoseDataError(f"unknown units {units!r}; known: {', '.join(UNITS)}", path, where)
    if coords not in COORDS:
        raise PoseDataError(f"unknown coords {coords!r}; known: {', '.join(COORDS)}", path, where)


# -- CSV writing ------------------------------------------------------------------------------------------------------
def format_float(value: float) -> str:
    """A number as CSV text with ``FLOAT_DIGITS`` significant digits (a float32 reads back exactly)."""
    return format(float(value), f".{FLOAT_DIGITS}g")


def in_units(seq: PoseSequence3D, units: str) -> np.ndarray:
    """``(T, J, 3)`` float64 coordinates of ``seq`` in ``units`` (a ``sequence.UNITS`` name)."""
    if units not in UNITS:
        raise PoseDataError(f"unknown units {units!r}; known: {', '.join(UNITS)}", where="units")
    return seq.keypoints.astype(np.float64) * (UNITS[seq.units] / UNITS[units])


def write_csv_2d(path: str | os.PathLike, seq: PoseSequence2D) -> None:
    """Write ``seq`` as a canonical 2D CSV (atomic). Missing joints get empty cells."""
    lay = seq.layout_info
    header = ["frame"] + [f"{n}_{f}" for n in lay.joint_names for f in FIELDS_2D]
    with atomic_write(path) as f:
        f.write(f"# layout={lay.name}\n# fps={float(seq.fps)!r}\n")
        if seq.image_size is not None:
            f.write(f"# width={seq.image_size[0]}\n# height={seq.image_size[1]}\n")
        if seq.person_id is not None:
            f.write(f"# person_id={int(seq.person_id)}\n")
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        for t, frame in enumerate(seq.frame_numbers):
            row = [str(int(frame))]
            for j in range(lay.num_joints):
                if seq.visible[t, j]:
                    x, y = seq.keypoints[t, j]
                    row += [format_float(x), format_float(y), format_float(seq.scores[t, j])]
                else:
                    row += ["", "", ""]
            writer.writerow(row)


def write_csv_3d(
    path: str | os.PathLike,
    seq: PoseSequence3D,
    hidden: np.ndarray | None = None,
    units: str = "m",
    comments: list[str] | None = None,
    contacts: np.ndarray | None = None,
) -> None:
    """Write ``seq`` as a canonical 3D CSV (atomic), coordinates in ``units`` (metres by default).

    ``hidden``: optional ``(T, J)`` bool, joints the model filled in; written as ``<joint>_hidden`` columns.
    ``comments``: the ``#`` lines before the header (default: layout, coords, units, fps); the exporters pass
    a longer set (``mpm_core.export.csv_export.header_lines``). ``contacts``: optional ``(T, 2)`` bool foot
    contacts ``[left, right]``, written as ``left_contact,right_contact`` columns.
    """
    coords = in_units(seq, units)
    lay = seq.layout_info
    hidden = check_hidden(hidden, seq)
    contacts = check_contacts(contacts, seq)
    if comments is None:
        comments = [f"# layout={lay.name}", f"# coords={seq.coords}", f"# units={units}", f"# fps={float(seq.fps)!r}"]
    header = ["frame", "time_s"] + [f"{n}_{f}" for n in lay.joint_names for f in ("x", "y", "z")]
    if hidden is not None:
        header += [f"{n}_hidden" for n in lay.joint_names]
    if contacts is not None:
        header += list(CONTACT_COLUMNS)
    times = seq.times
    with atomic_write(path) as f:
        f.write("\n".join(comments) + "\n")
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        for t, frame in enumerate(seq.frame_numbers):
            row = [str(int(frame)), format_float(times[t])]
            for j in range(lay.num_joints):
                row += [format_float(v) for v in coords[t, j]] if seq.visible[t, j] else ["", "", ""]
            if hidden is not None:
                row += ["1" if h else "0" for h in hidden[t]]
            if contacts is not None:
                row += ["1" if c else "0" for c in contacts[t]]
            writer.writerow(row)


def check_hidden(hidden: np.ndarray | None, seq: PoseSequence3D) -> np.ndarray | None:
    """``hidden`` as a ``(T, J)`` bool array matching ``seq`` (or None); a shape mismatch is a ``PoseDataError``."""
    if hidden is None:
        return None
    hidden = np.asarray(hidden, bool)
    if hidden.shape != seq.visible.shape:
        raise PoseDataError(f"hidden flags {hidden.shape} do not match joints {seq.visible.shape}", seq.source or None)
    return hidden


def check_contacts(contacts: np.ndarray | None, seq: PoseSequence3D) -> np.ndarray | None:
    """``contacts`` as a ``(T, 2)`` bool array matching ``seq`` (or None); a shape mismatch is a ``PoseDataError``."""
    if contacts is None:
        return None
    contacts = np.asarray(contacts, bool)
    if contacts.shape != (seq.num_frames, len(CONTACT_COLUMNS)):
        raise PoseDataError(f"foot contacts {contacts.shape} do not match ({seq.num_frames}, 2)", seq.source or None)
    return contacts


# -- NPZ ---------------------------------------------------------------------------------------------------------------
def _save_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    with atomic_write(path, binary=True) as f:
        np.savez(f, **arrays)


def load_npz_plain(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` without unpickling anything (object arrays raise ``PoseDataError``)."""
    return load_npz_arrays(path)


def _require(data: dict[str, np.ndarray], key: str, path: Path) -> np.ndarray:
    if key not in data:
        raise PoseDataError(f"key {key!r} is missing (keys: {', '.join(sorted(data))})", path)
    return data[key]


def _scalar(data: dict[str, np.ndarray], key: str, path: Path, kind=float):
    value = data[key]
    if value.size != 1:
        raise PoseDataError(f"{key!r} must be a single value, got shape {value.shape}", path, f"key {key!r}")
    try:
        result = kind(value.reshape(()).item())
    except (TypeError, ValueError, OverflowError):
        raise PoseDataError(f"{key!r} = {value.reshape(()).item()!r} is not a {kind.__name__}", path) from None
    if kind is int and key == "start_frame":
        check_frame_number(result, path, f"key {key!r}", allow_negative=True)
    return result


def _npz_layout(data: dict[str, np.ndarray], count: int, explicit: str | None, path: Path) -> Layout:
    name = explicit or (_scalar(data, "layout", path, str) if "layout" in data else None)
    if name is None:
        raise PoseDataError("key 'layout' is missing", path)
    try:
        lay = get_layout(name)
    except PoseDataError as exc:
        raise PoseDataError(exc.problem, path, "layout argument" if explicit else "key 'layout'") from None
    if lay.num_joints != count:
        raise PoseDataError(f"layout {lay.name} has {lay.num_joints} joints but the arrays have {count}", path)
    if "joint_names" in data:
        names = tuple(str(n) for n in np.asarray(data["joint_names"]).ravel())
        if names != lay.joint_names:
            raise PoseDataError(f"joint_names do not match layout {lay.name}", path, "key 'joint_names'")
    return lay


def _float_array(data, key, shape_tail, path: Path) -> np.ndarray:
    arr = np.asarray(data[key])
    if arr.dtype.kind not in "fiub":
        raise PoseDataError(f"{key!r} has dtype {arr.dtype}, expected numbers", path, f"key {key!r}")
    if arr.ndim != 1 + len(shape_tail) or any(t is not None and s != t for s, t in zip(arr.shape[1:], shape_tail)):
        want = "(T, " + ", ".join("J" if t is None else str(t) for t in shape_tail) + ")"
        raise PoseDataError(f"{key!r} has shape {arr.shape}, expected {want}", path, f"key {key!r}")
    check_count(arr.shape[0], MAX_FRAMES, "frames", path, f"key {key!r}")
    out = arr.astype(np.float64)
    check_not_infinite(out, path, f"key {key!r}")
    return out


def _optional_tj(data, key, shape, path: Path, dtype) -> np.ndarray | None:
    if key not in data:
        return None
    arr = np.asarray(data[key])
    if arr.shape != shape:
        raise PoseDataError(f"{key!r} has shape {arr.shape}, expected {shape}", path, f"key {key!r}")
    return arr.astype(dtype)


def read_npz_2d(path: str | os.PathLike, layout: str | None = None) -> PoseSequence2D:
    """Read a canonical 2D NPZ (see module docstring)."""
    path = Path(path)
    data = load_npz_plain(path)
    kp = _float_array(data, "keypoints", (None, 2), path) if "keypoints" in data else _require(data, "keypoints", path)
    if len(kp) == 0:
        raise PoseDataError("zero frames", path, "key 'keypoints'")
    lay = _npz_layout(data, kp.shape[1], layout, path)
    scores = _optional_tj(data, "scores", kp.shape[:2], path, np.float64)
    visible = np.isfinite(kp).all(axis=2)
    given_visible = _optional_tj(data, "visible", kp.shape[:2], path, bool)
    if given_visible is not None:
        visible &= given_visible
    fps = check_fps(_scalar(data, "fps", path), path, "key 'fps'") if "fps" in data else 30.0
    size = None
    if "image_size" in data:
        size = check_image_size(np.asarray(data["image_size"]).ravel().tolist(), path, "key 'image_size'")
    return PoseSequence2D(
        keypoints=np.nan_to_num(kp, nan=0.0),
        scores=scores,
        visible=visible,
        fps=fps,
        layout=lay.name,
        person_id=_scalar(data, "person_id", path, int) if "person_id" in data else None,
        source=os.fspath(path),
        start_frame=_scalar(data, "start_frame", path, int) if "start_frame" in data else 0,
        image_size=size,
    )


def write_npz_2d(path: str | os.PathLike, seq: PoseSequence2D) -> None:
    """Write ``seq`` as a canonical 2D NPZ (atomic); missing joints are NaN with ``visible`` False."""
    kp = seq.keypoints.astype(np.float32).copy()
    kp[~seq.visible] = np.nan
    arrays = {
        "keypoints": kp,
        "scores": seq.scores.astype(np.float32),
        "visible": seq.visible.astype(bool),
        "fps": np.float64(seq.fps),
        "layout": np.array(seq.layout),
        "joint_names": np.array(seq.layout_info.joint_names),
        "start_frame": np.int64(seq.start_frame),
    }
    if seq.image_size is not None:
        arrays["image_size"] = np.array(seq.image_size, np.int64)
    if seq.person_id is not None:
        arrays["person_id"] = np.int64(seq.person_id)
    _save_npz(path, arrays)


def read_npz_3d(path: str | os.PathLike, layout: str | None = None) -> Canonical3D:
    """Read a canonical 3D NPZ into metres (see module docstring)."""
    path = Path(path)
    data = load_npz_plain(path)
    _require(data, "joints", path)
    joints = _float_array(data, "joints", (None, 3), path)
    if len(joints) == 0:
        raise PoseDataError("zero frames", path, "key 'joints'")
    lay = _npz_layout(data, joints.shape[1], layout, path)
    shape = joints.shape[:2]
    visible = np.isfinite(joints).all(axis=2)
    given_visible = _optional_tj(data, "visible", shape, path, bool)
    if given_visible is not None:
        visible &= given_visible
    units = _scalar(data, "units", path, str) if "units" in data else "m"
    coords = _scalar(data, "coords", path, str) if "coords" in data else "camera"
    _check_units_coords(units, coords, path, "keys 'units'/'coords'")
    fps = check_fps(_scalar(data, "fps", path), path, "key 'fps'") if "fps" in data else 30.0
    seq = PoseSequence3D(
        keypoints=np.nan_to_num(joints, nan=0.0) * UNITS[units],
        scores=_optional_tj(data, "scores", shape, path, np.float64),
        visible=visible,
        fps=fps,
        layout=lay.name,
        source=os.fspath(path),
        start_frame=_scalar(data, "start_frame", path, int) if "start_frame" in data else 0,
        units="m",
        coords=coords,
    )
    contacts = None
    if "contacts" in data:
        contacts = np.asarray(data["contacts"])
        if contacts.shape != (shape[0], len(CONTACT_COLUMNS)):
            raise PoseDataError(
                f"'contacts' has shape {contacts.shape}, expected ({shape[0]}, 2)", path, "key 'contacts'"
            )
        contacts = contacts.astype(bool)
    return Canonical3D(seq, _optional_tj(data, "hidden", shape, path, bool), "fps" in data, contacts)


def write_npz_3d(path: str | os.PathLike, seq: PoseSequence3D, hidden: np.ndarray | None = None) -> None:
    """Write ``seq`` as a canonical 3D NPZ in metres (atomic); ``hidden`` optional ``(T, J)`` bool."""
    seq = seq.in_metres()
    hidden = check_hidden(hidden, seq)
    joints = seq.keypoints.astype(np.float32).copy()
    joints[~seq.visible] = np.nan
    arrays = {
        "joints": joints,
        "scores": seq.scores.astype(np.float32),
        "visible": seq.visible.astype(bool),
        "fps": np.float64(seq.fps),
        "coords": np.array(seq.coords),
        "layout": np.array(seq.layout),
        "units": np.array("m"),
        "joint_names": np.array(seq.layout_info.joint_names),
        "start_frame": np.int64(seq.start_frame),
    }
    if hidden is not None:
        arrays["hidden"] = hidden
    _save_npz(path, arrays)
