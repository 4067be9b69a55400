"""Named limits for untrusted input, and bounded readers that check them before allocating.

Every reader goes through these: a file must be a regular file (a FIFO or device is refused at once, never
opened), no larger than its kind allows, JSON no deeper than ``MAX_NESTING``, an ``.npy``/``.npz`` array's
header is read and checked (dtype, shape, bytes behind it) before any array memory is allocated, frame numbers
and counts stay within ``MAX_FRAMES``, and numbers are finite and plausible. Every failure is a
``PoseDataError`` naming the file, the place and the problem.
"""

from __future__ import annotations

import ast
import io
import json
import math
import os
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from mpm_core.errors import PoseDataError

#: Frames in one file (counts and frame numbers): 20 M frames is over 7 days at 30 fps.
MAX_FRAMES = 20_000_000
#: People detected in one frame.
MAX_PEOPLE = 1_000
#: Joints per person (COCO-WholeBody has 133; a BVH rig rarely more than 200).
MAX_JOINTS = 1_000
#: Nesting depth of JSON containers (pose files are at most ~6 deep).
MAX_NESTING = 256
#: Largest absolute coordinate in pixels (a 16K frame is 16,384 px; detectors overshoot a little).
MAX_ABS_PIXELS = 1e6
#: Largest absolute value of any other coordinate or angle read from a file (mocap in mm, degrees).
MAX_ABS_VALUE = 1e6
#: Largest confidence accepted; values in (1, MAX_SCORE] (AlphaPose writes up to ~1.07) are clipped to 1.
MAX_SCORE = 1.5
#: Text inputs (JSON, CSV, BVH, AMC/ASF) after decompression.
MAX_TEXT_BYTES = 512 * 1024 * 1024
#: Small JSON documents (project files, sidecars, configs) default to this.
MAX_SMALL_JSON_BYTES = 64 * 1024 * 1024
#: Total decompressed size of an ``.npz`` (all members).
MAX_DECOMPRESSED_BYTES = 4 * 1024**3
#: A compressed ``.npz`` member may expand at most this many times beyond ``RATIO_FREE_BYTES`` (real pose
#: arrays compress 2-10x; a zip bomb ~1000x).
MAX_COMPRESSION_RATIO = 100
RATIO_FREE_BYTES = 64 * 1024 * 1024
#: Dense pose arrays a reader may build from one file (frames x joints x people, all tracks together).
MAX_DENSE_BYTES = 512 * 1024 * 1024
#: Beyond ``MAX_DENSE_BYTES``, dense arrays may hold at most this many cells per cell of data in the file.
MAX_GAP_FACTOR = 4
#: Dimensions of an ``.npy`` array.
MAX_NDIM = 8
#: ``.npy`` header length (numpy writes <= 64 KiB even for its v2 headers in practice).
MAX_NPY_HEADER_BYTES = 65536

_NPY_MAGIC = b"\x93NUMPY"
#: Bytes of JSON text scanned at once for its nesting depth.
_SCAN_CHUNK = 4 * 1024 * 1024
_STRING_RE = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


# -- files ----------------------------------------------------------------------------------------------------------
def check_regular_file(path: str | os.PathLike, what: str = "file") -> int:
    """The size in bytes of ``path``; a missing path, a folder, a FIFO, a socket or a device raises at once.

    Uses ``stat`` only: a FIFO is never opened (opening one blocks until a writer appears).
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise PoseDataError(f"cannot read: no such {what}", path) from None
    except OSError as exc:
        raise PoseDataError(f"cannot read: {exc.strerror or exc}", path) from None
    if stat.S_ISDIR(st.st_mode):
        raise PoseDataError(f"is a folder, expected a {what}", path)
    if not stat.S_ISREG(st.st_mode):
        kind = (
            "a FIFO (named pipe)"
            if stat.S_ISFIFO(st.st_mode)
            else "a device"
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
            else "a socket"
            if stat.S_ISSOCK(st.st_mode)
            else "not a regular file"
        )
        raise PoseDataError(f"is {kind}, expected a regular {what}", path)
    return st.st_size


def read_bytes_bounded(path: str | os.PathLike, max_bytes: int = MAX_TEXT_BYTES) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (checked before reading, and while reading)."""
    size = check_regular_file(path)
    if size > max_bytes:
        raise PoseDataError(f"file is {size:,} bytes, over the limit of {max_bytes:,}", path)
    try:
        with open(path, "rb") as f:
            # read(n) allocates n bytes up front: ask for the stat size (+1 to see growth), not the limit
            data = f.read(size + 1)
            if len(data) > size:
                data += f.read(max_bytes + 1 - len(data))
    except OSError as exc:
        raise PoseDataError(f"cannot read: {exc.strerror or exc}", path) from None
    if len(data) > max_bytes:  # grew after the stat
        raise PoseDataError(f"file is over the limit of {max_bytes:,} bytes", path)
    return data


# -- JSON -----------------------------------------------------------------------------------------------------------
def nesting_depth(text: str | bytes) -> int:
    """Deepest nesting of ``[``/``{`` in JSON text (brackets inside strings do not count). Linear, no recursion."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if b"[" not in raw and b"{" not in raw:
        return 0
    bare = np.frombuffer(_STRING_RE.sub(b'""', raw), np.uint8)
    deepest = level = 0
    for start in range(0, len(bare), _SCAN_CHUNK):  # in chunks: the step arrays stay small for a large file
        chunk = bare[start : start + _SCAN_CHUNK]
        step = (chunk == ord("[")).view(np.int8) + (chunk == ord("{")).view(np.int8)
        step -= (chunk == ord("]")).view(np.int8) + (chunk == ord("}")).view(np.int8)
        depth = np.cumsum(step, dtype=np.int64) + level
        deepest = max(deepest, int(depth.max(initial=level)))
        level = int(depth[-1])
    return deepest


def _reject_constant(name: str) -> float:
    if name == "NaN":
        return math.nan  # a missing value, as null
    raise ValueError(f"{name} is not a finite number")


def parse_json_text(text: str, path: str | os.PathLike | None, nesting_checked: bool = False) -> Any:
    """Parse JSON text within the nesting limit; ``Infinity`` is refused, ``NaN`` reads as NaN (missing)."""
    if not nesting_checked:
        check_nesting(text, path)
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        hint = " (file truncated?)" if exc.pos >= len(text.rstrip()) else ""
        raise PoseDataError(f"invalid JSON: {exc.msg}{hint}", path, f"line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:  # Infinity, or an integer of more than sys.get_int_max_str_digits() digits
        raise PoseDataError(f"invalid JSON: {exc}", path) from None
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise PoseDataError("JSON nested too deeply", path) from None


def decode_text(data: bytes, path: str | os.PathLike) -> str:
    """UTF-8 text (a BOM is dropped); a non-UTF-8 or empty file raises ``PoseDataError``."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PoseDataError(f"not UTF-8 text (byte {exc.start})", path) from None
    if not text.strip():
        raise PoseDataError("file is empty", path)
    return text


def load_json_file(path: str | os.PathLike, max_bytes: int = MAX_SMALL_JSON_BYTES) -> Any:
    """A JSON file parsed within limits: regular file, at most ``max_bytes``, UTF-8, nesting <= ``MAX_NESTING``.

    Peak memory is the text once plus Python's objects (the bytes are dropped before parsing)."""
    raw = read_bytes_bounded(path, max_bytes)
    check_nesting(raw, path)
    text = decode_text(raw, path)
    del raw
    return parse_json_text(text, path, nesting_checked=True)


def check_nesting(text: str | bytes, path: str | os.PathLike | None) -> None:
    """Refuse JSON nested deeper than ``MAX_NESTING`` (before any recursive parser sees it)."""
    depth = nesting_depth(text)
    if depth > MAX_NESTING:
        raise PoseDataError(f"JSON nested {depth} levels deep, over the limit of {MAX_NESTING}", path)


# -- numbers --------------------------------------------------------------------------------------------------------
def check_frame_number(
    frame: int, path: str | os.PathLike | None, where: str | None, allow_negative: bool = False
) -> int:
    """A frame number in ``0..MAX_FRAMES - 1`` (detector outputs count from 0 or 1), or within ``±MAX_FRAMES``
    with ``allow_negative`` (the project's own files may start before 0 after a trim)."""
    low = -MAX_FRAMES + 1 if allow_negative else 0
    if not low <= frame < MAX_FRAMES:
        shown = f"{frame:,}" if abs(frame) < 10**30 else f"of {len(str(abs(frame)))} digits"
        raise PoseDataError(f"frame number {shown} is not in {low:,}..{MAX_FRAMES - 1:,}", path, where)
    return frame


def check_count(count: int, limit: int, what: str, path: str | os.PathLike | None, where: str | None = None) -> int:
    """``count`` of ``what`` (frames, people, joints) at most ``limit``."""
    if count > limit:
        raise PoseDataError(f"{count:,} {what}, over the limit of {limit:,}", path, where)
    return count


def check_dense(
    cells: int, bytes_per_cell: int, what: str, path: str | os.PathLike | None, backed_cells: int = 0
) -> None:
    """Refuse to build arrays of ``cells`` x ``bytes_per_cell`` bytes beyond ``MAX_DENSE_BYTES``, unless the file
    itself holds data for at least 1 / ``MAX_GAP_FACTOR`` of them (``backed_cells``): a long recording is fine,
    a few detections with frame numbers far apart are not."""
    need = int(cells) * int(bytes_per_cell)
    if need > MAX_DENSE_BYTES and cells > MAX_GAP_FACTOR * int(backed_cells):
        raise PoseDataError(
            f"{what} would need {need / 2**20:,.0f} MiB, over the limit of {MAX_DENSE_BYTES / 2**20:,.0f} MiB"
            " (frame numbers far apart?)",
            path,
        )


def first_bad(mask: np.ndarray) -> tuple[int, ...]:
    """Index of the first True in ``mask``."""
    return tuple(int(i) for i in np.argwhere(mask)[0])


def check_pixels(
    xy: np.ndarray, visible: np.ndarray, path: str | os.PathLike | None, where: str, frames: np.ndarray | None = None
) -> None:
    """Visible coordinates ``(..., J, 2)`` finite and within ``MAX_ABS_PIXELS``; names frame and joint."""
    with np.errstate(invalid="ignore"):
        bad = visible & ~(np.abs(xy) <= MAX_ABS_PIXELS).all(axis=-1)
    if bad.any():
        idx = first_bad(bad)
        value = [float(v) for v in xy[idx]]
        place = _place(idx, frames)
        raise PoseDataError(f"{place}coordinate {value} is not finite or beyond ±{MAX_ABS_PIXELS:g} px", path, where)


def check_not_infinite(arr: np.ndarray, path: str | os.PathLike | None, where: str) -> None:
    """No ±inf and no value beyond ``MAX_ABS_PIXELS`` in ``arr`` (NaN is allowed: a missing value)."""
    with np.errstate(invalid="ignore"):
        bad = np.abs(arr) > MAX_ABS_PIXELS
    if bad.any():
        idx = first_bad(bad)
        place = "[" + ", ".join(map(str, idx)) + "]"
        raise PoseDataError(
            f"value {float(arr[idx])!r} at {place} is not finite or beyond ±{MAX_ABS_PIXELS:g}", path, where
        )


def clip_scores(
    scores: np.ndarray, visible: np.ndarray, path: str | os.PathLike | None, where: str, frames=None
) -> np.ndarray:
    """Scores of visible joints must lie in ``[0, MAX_SCORE]``; they come back clipped to ``[0, 1]``."""
    with np.errstate(invalid="ignore"):
        bad = visible & ~((scores >= 0) & (scores <= MAX_SCORE))
    if bad.any():
        idx = first_bad(bad)
        raise PoseDataError(
            f"{_place(idx, frames)}score {float(scores[idx])!r} is not in [0, {MAX_SCORE:g}]", path, where
        )
    return np.where(visible, np.clip(scores, 0.0, 1.0), 0.0)


def _place(idx: tuple[int, ...], frames: np.ndarray | None) -> str:
    if len(idx) >= 2:
        frame = idx[-2] if frames is None else int(frames[idx[-2]])
        return f"frame {frame} joint {idx[-1]}: "
    return f"joint {idx[-1]}: " if idx else ""


# -- NPY / NPZ ------------------------------------------------------------------------------------------------------
@dataclass
class NpyHeader:
    """What an ``.npy`` header claims: ``shape``, ``dtype``, ``fortran_order``, header length and data bytes."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    header_bytes: int

    @property
    def data_bytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def read_npy_header(f: IO[bytes], path: str | os.PathLike, where: str | None = None) -> NpyHeader:
    """Parse an ``.npy`` header from ``f`` (positioned at the magic) without numpy's readers; checks shape/dtype."""
    head = f.read(10)
    if len(head) < 10 or not head.startswith(_NPY_MAGIC):
        raise PoseDataError("not an .npy array (bad magic bytes)", path, where)
    major = head[6]
    if major == 1:
        length, prefix = int.from_bytes(head[8:10], "little"), 10
    elif major in (2, 3):
        more = f.read(2)
        if len(more) < 2:
            raise PoseDataError("truncated .npy header", path, where)
        length, prefix = int.from_bytes(head[8:10] + more, "little"), 12
    else:
        raise PoseDataError(f".npy format version {major} is not supported", path, where)
    if length > MAX_NPY_HEADER_BYTES:
        raise PoseDataError(f".npy header of {length:,} bytes, over the limit of {MAX_NPY_HEADER_BYTES:,}", path, where)
    text = f.read(length)
    if len(text) < length:
        raise PoseDataError("truncated .npy header", path, where)
    try:
        meta = ast.literal_eval(text.decode("latin-1" if major < 3 else "utf-8"))
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError, TypeError):
        raise PoseDataError("unreadable .npy header", path, where) from None
    if not isinstance(meta, dict) or set(meta) != {"descr", "fortran_order", "shape"}:
        raise PoseDataError("unreadable .npy header (expected descr, fortran_order, shape)", path, where)
    shape, fortran = meta["shape"], meta["fortran_order"]
    if (
        not isinstance(shape, tuple)
        or len(shape) > MAX_NDIM
        or not all(type(n) is int and n >= 0 for n in shape)
        or not isinstance(fortran, bool)
    ):
        raise PoseDataError(f"bad array shape {str(shape)[:80]} in the .npy header", path, where)
    try:
        dtype = np.lib.format.descr_to_dtype(meta["descr"])
    except (TypeError, ValueError, KeyError, IndexError, RecursionError, SyntaxError, MemoryError, OverflowError):
        # numpy parses some dtype strings with Python's parser: a SyntaxError is bad input here
        raise PoseDataError(f"bad dtype {str(meta['descr'])[:80]!r} in the .npy header", path, where) from None
    if dtype.itemsize == 0 and not dtype.hasobject:
        raise PoseDataError(f"dtype {dtype} has no size", path, where)
    return NpyHeader(tuple(shape), dtype, fortran, prefix + length)


def check_npy_backed(header: NpyHeader, available: int, path, where: str | None) -> None:
    """A plain (non-object) array's claimed bytes must be exactly the bytes behind its header."""
    if header.dtype.hasobject:
        return
    need = header.data_bytes
    if need != available:
        shape = "x".join(map(str, header.shape)) if header.shape else "scalar"
        what = "truncated" if need > available else "has trailing bytes"
        raise PoseDataError(
            f"array {shape} {header.dtype} needs {need:,} bytes but {available:,} follow its header ({what})",
            path,
            where,
        )


#: Largest Unicode code point; a ``<U`` array holding more cannot become Python strings.
_MAX_CODE_POINT = 0x10FFFF


def array_from_header(header: NpyHeader, data: bytes, path=None, where: str | None = None) -> np.ndarray:
    """The array of a checked plain header over ``data`` (copied: writable, owning its memory)."""
    order = "F" if header.fortran_order else "C"
    if header.dtype.kind == "U" and data:
        points = np.frombuffer(data, dtype=header.dtype.byteorder.replace("|", "=") + "u4")
        if int(points.max()) > _MAX_CODE_POINT:
            raise PoseDataError("text array holds invalid characters (code points beyond U+10FFFF)", path, where)
    arr = np.frombuffer(data, dtype=header.dtype, count=math.prod(header.shape))
    return arr.reshape(header.shape, order=order).copy(order="C")


def load_npy_file(path: str | os.PathLike) -> np.ndarray:
    """A plain ``.npy`` array: header checked first, then exactly the bytes it claims are read."""
    size = check_regular_file(path)
    if size == 0:
        raise PoseDataError("file is empty", path)
    with open(path, "rb") as f:
        header = read_npy_header(f, path)
        if header.dtype.hasobject:
            raise PoseDataError(f"cannot read array: object arrays are refused (dtype {header.dtype})", path)
        check_npy_backed(header, size - header.header_bytes, path, None)
        data = f.read(header.data_bytes)
    return array_from_header(header, data, path)


def npz_members(path: str | os.PathLike, z: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The members of an open ``.npz`` with their claimed sizes checked (total, compression ratio)."""
    infos = z.infolist()
    total = 0
    for info in infos:
        total += info.file_size
        if info.compress_type != zipfile.ZIP_STORED and info.file_size > RATIO_FREE_BYTES:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > MAX_COMPRESSION_RATIO:
                raise PoseDataError(
                    f"expands {ratio:,.0f}x to {info.file_size:,} bytes (over {MAX_COMPRESSION_RATIO}x): a zip bomb?",
                    path,
                    f"member {info.filename!r}",
                )
    if total > MAX_DECOMPRESSED_BYTES:
        raise PoseDataError(f"members expand to {total:,} bytes, over the limit of {MAX_DECOMPRESSED_BYTES:,}", path)
    return infos


def open_npz(path: str | os.PathLike) -> zipfile.ZipFile:
    """A regular, non-empty zip file opened for reading (``PoseDataError`` otherwise)."""
    size = check_regular_file(path)
    if size == 0:
        raise PoseDataError("file is empty", path)
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise PoseDataError(f"not a valid .npz (zip) file, truncated? ({exc})", path) from None


def read_npz_member(z: zipfile.ZipFile, info: zipfile.ZipInfo, path, key: str) -> tuple[NpyHeader, io.BytesIO]:
    """The header of one member (checked) and a stream positioned after it holding exactly the array's bytes."""
    where = f"key {key!r}"
    try:
        with z.open(info) as raw:
            header = read_npy_header(raw, path, where)
            available = info.file_size - header.header_bytes
            if header.dtype.hasobject:
                data = raw.read(available)
            else:
                check_npy_backed(header, available, path, where)
                data = raw.read(header.data_bytes)
    except PoseDataError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
        # zlib.error is an Exception subclass of its own: caught below by name
        raise PoseDataError(f"cannot read member ({exc})", path, where) from None
    except Exception as exc:
        if type(exc).__name__ == "error":  # zlib.error / bz2 / lzma data errors
            raise PoseDataError(f"corrupt compressed data ({exc})", path, where) from None
        raise
    if len(data) < available and not header.dtype.hasobject:  # pragma: no cover - zipfile checks sizes
        raise PoseDataError("member truncated", path, where)
    return header, io.BytesIO(data)


def load_npz_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every plain array of an ``.npz``, headers and sizes checked before reading; object arrays refused."""
    out: dict[str, np.ndarray] = {}
    with open_npz(path) as z:
        for info in npz_members(path, z):
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            header, data = read_npz_member(z, info, path, key)
            if header.dtype.hasobject:
                raise PoseDataError(
                    f"cannot read arrays: object arrays are refused (dtype {header.dtype})", path, f"key {key!r}"
                )
            out[key] = array_from_header(header, data.getvalue(), path, f"key {key!r}")
    return out


def npz_keys(path: str | os.PathLike) -> set[str]:
    """Member names of an ``.npz`` without ``.npy`` (nothing decompressed)."""
    with open_npz(path) as z:
        return {n[:-4] if n.endswith(".npy") else n for n in z.namelist()}


def file_size(path: str | os.PathLike) -> int:
    """Size of a regular file (see :func:`check_regular_file`)."""
    return check_regular_file(Path(path))
