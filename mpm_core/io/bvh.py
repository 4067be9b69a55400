"""BVH (Biovision Hierarchy) reader: any rig, any channel order, plain or gzipped.

What is handled (all seen in real files):

* ``.bvh`` and ``.bvh.gz`` (detected by the gzip magic bytes, not only the suffix); CRLF or LF; tabs.
* Joint names with spaces (``Bip01 L Thigh``) and braces on the keyword's line or on their own line.
* 0 to 6 channels on any joint, in any order. Rotation channels compose in the order listed
  (``R = R_first @ R_second @ R_third``, the BVH convention). Position channels on any joint, not only the
  root, replace that axis of the joint's OFFSET (Bandai files have 6 channels on every joint and their position
  values equal the offsets; the root's OFFSET is replaced the same way, as Blender and MotionBuilder do).
* ``End Site`` blocks (positions are returned for them too).
* Several ROOTs (rare; each is a tree).

Every problem raises ``PoseDataError`` naming the file, the line or frame and the problem. Nothing is returned
partially: a file with fewer data lines than ``Frames:`` is an error, not a shorter clip.

Coordinates stay in the file's units and axes here; ``load_bvh_h36m`` converts to H36M-17 in metres, Y up.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import re
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mpm_core.errors import PoseDataError, check_fps
from mpm_core.io.limits import (
    MAX_ABS_VALUE,
    MAX_FRAMES,
    MAX_JOINTS,
    MAX_NESTING,
    MAX_TEXT_BYTES,
    check_dense,
    read_bytes_bounded,
)
from mpm_core.kinematics import axis_rotation, forward_kinematics

#: Channel names (lower-case) and what they drive.
POSITION_CHANNELS = {"xposition": 0, "yposition": 1, "zposition": 2}
ROTATION_CHANNELS = {"xrotation": "X", "yrotation": "Y", "zrotation": "Z"}
GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
#: Suffix given to End Site names: ``<parent>_End`` (made unique if the rig already uses that name).
END_SITE_SUFFIX = "_End"


@dataclass
class BvhMotion:
    """One BVH file, parsed.

    Fields:
        joint_names: N joint names in file order (parents before children).
        parents: N parent indices, -1 for a root.
        offsets: ``(N, 3)`` float64 rest offsets in the parent's frame, file units.
        channels: per joint, the channel names as written (e.g. ``("Xposition", ..., "Zrotation")``).
        end_sites: ``(parent joint index, (3,) offset)`` per End Site, in file order.
        frame_time: seconds per frame (> 0).
        motion: ``(T, C)`` float64 channel values, C = total channel count; rotations in degrees.
        path: file it came from ("" for text parsed in memory).
    """

    joint_names: list[str]
    parents: list[int]
    offsets: np.ndarray
    channels: list[tuple[str, ...]]
    end_sites: list[tuple[int, np.ndarray]]
    frame_time: float
    motion: np.ndarray
    path: str = ""
    end_site_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.end_site_names:
            taken = set(self.joint_names)
            names = []
            for parent, _ in self.end_sites:
                base = self.joint_names[parent] + END_SITE_SUFFIX
                name, k = base, 1
                while name in taken:
                    k += 1
                    name = f"{base}{k}"
                taken.add(name)
                names.append(name)
            self.end_site_names = names

    # -- shape ------------------------------------------------------------------------------------------------
    @property
    def num_frames(self) -> int:
        return int(self.motion.shape[0])

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    @property
    def point_names(self) -> list[str]:
        """Names of the rows of ``forward_kinematics()[0]``: joints, then End Sites."""
        return list(self.joint_names) + list(self.end_site_names)

    @property
    def point_parents(self) -> list[int]:
        """Parent index of each point in ``point_names`` (-1 for a root)."""
        return list(self.parents) + [p for p, _ in self.end_sites]

    def channel_slices(self) -> list[slice]:
        """Column range of each joint's channels in ``motion``."""
        out, start = [], 0
        for ch in self.channels:
            out.append(slice(start, start + len(ch)))
            start += len(ch)
        return out

    # -- kinematics -------------------------------------------------------------------------------------------
    def local_transforms(self) -> tuple[np.ndarray, np.ndarray]:
        """``(translations (T, N, 3), rotations (T, N, 3, 3))`` of every joint in its parent's frame."""
        t, n = self.num_frames, self.num_joints
        trans = np.broadcast_to(self.offsets, (t, n, 3)).copy()
        rots = np.broadcast_to(np.eye(3), (t, n, 3, 3)).copy()
        for j, (names, sl) in enumerate(zip(self.channels, self.channel_slices())):
            values = self.motion[:, sl]
            rot = None
            for k, name in enumerate(names):
                key = name.lower()
                if key in POSITION_CHANNELS:
                    trans[:, j, POSITION_CHANNELS[key]] = values[:, k]
                else:
                    r = axis_rotation(ROTATION_CHANNELS[key], np.radians(values[:, k]))
                    rot = r if rot is None else rot @ r
            if rot is not None:
                rots[:, j] = rot
        return trans, rots

    def forward_kinematics(self) -> tuple[np.ndarray, np.ndarray]:
        """Global positions and rotations.

        Returns ``(positions (T, N + E, 3), rotations (T, N, 3, 3))`` float64 in file units and axes; the rows
        of ``positions`` are ``point_names`` (joints, then End Sites).
        """
        trans, rots = self.local_transforms()
        pos, glob = forward_kinematics(self.parents, trans, rots)
        if self.end_sites:
            parents = np.array([p for p, _ in self.end_sites])
            offs = np.stack([o for _, o in self.end_sites])  # (E, 3)
            ends = pos[:, parents] + np.einsum("teab,eb->tea", glob[:, parents], offs)
            pos = np.concatenate([pos, ends], axis=1)
        return pos, glob


# ---------------------------------------------------------------------------------------------------------------
# Reading


def read_text(path: str | os.PathLike) -> str:
    """The text of a plain or gzipped file (latin-1, so that no byte can fail to decode)."""
    raw = read_bytes_bounded(Path(path), MAX_TEXT_BYTES)
    if raw[:2] == GZIP_MAGIC:
        raw = _gunzip_bounded(raw, path)
    if raw.startswith(UTF8_BOM):
        raw = raw[len(UTF8_BOM) :]
    return raw.decode("latin-1")


def _gunzip_bounded(raw: bytes, path) -> bytes:
    """Decompress gzip data, stopping with ``PoseDataError`` past ``MAX_TEXT_BYTES`` (a gzip bomb)."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as g:
            out = g.read(MAX_TEXT_BYTES + 1)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise PoseDataError(f"corrupt gzip data: {exc}", path) from None
    if len(out) > MAX_TEXT_BYTES:
        raise PoseDataError(f"gzip data expands beyond {MAX_TEXT_BYTES:,} bytes", path)
    return out


def read_bvh(path: str | os.PathLike) -> BvhMotion:
    """Parse a ``.bvh`` or ``.bvh.gz`` file. Raises ``PoseDataError`` for any malformed content."""
    return parse_bvh(read_text(path), os.fspath(path))


def parse_bvh(text: str, path: str = "") -> BvhMotion:
    """Parse BVH text (see the module docstring for what is accepted)."""
    src = path or None
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise PoseDataError("empty file", src)
    motion_at = None
    for i, line in enumerate(lines):
        if line.strip().upper() == "MOTION":
            motion_at = i
            break
    first = next(i for i, line in enumerate(lines) if line.strip())
    if lines[first].strip().upper() != "HIERARCHY":
        raise PoseDataError(f"expected HIERARCHY, found {lines[first].strip()[:40]!r}", src, f"line {first + 1}")
    if motion_at is None:
        raise PoseDataError("no MOTION section", src)
    hier = _HierarchyParser(lines, first + 1, motion_at, src)
    hier.parse()
    frame_time, motion = _parse_motion(lines, motion_at, hier.num_channels, src)
    points = len(hier.names) + len(hier.end_sites)
    check_dense(len(motion) * points, _FK_CELL_BYTES, f"{len(motion)} frames x {points} joints", src)
    return BvhMotion(
        joint_names=hier.names,
        parents=hier.parents,
        offsets=np.array(hier.offsets, np.float64).reshape(-1, 3),
        channels=hier.channels,
        end_sites=hier.end_sites,
        frame_time=frame_time,
        motion=motion,
        path=path,
    )


class _HierarchyParser:
    """Recursive-descent parser over the HIERARCHY lines ``[start, stop)``; keeps line numbers for errors."""

    def __init__(self, lines: list[str], start: int, stop: int, src: str | None):
        self.src = src
        self.stop_line = stop + 1
        # Items: (keyword-or-token, argument, 1-based line number).
        self.items: list[tuple[str, str, int]] = []
        for i in range(start, stop):
            s = lines[i].strip()
            if not s:
                continue
            head = s.split(None, 1)
            kw = head[0].upper()
            if kw in ("ROOT", "JOINT"):
                name = head[1].strip() if len(head) > 1 else ""
                brace = name.endswith("{")
                name = name.rstrip("{").strip()
                if not name:
                    raise PoseDataError(f"{kw} without a name", src, f"line {i + 1}")
                self.items.append((kw, name, i + 1))
                if brace:
                    self.items.append(("{", "", i + 1))
            elif kw == "END":
                rest = s[3:].strip()
                brace = rest.endswith("{")
                self.items.append(("END", rest.rstrip("{").strip(), i + 1))
                if brace:
                    self.items.append(("{", "", i + 1))
            else:
                for tok in s.replace("{", " { ").replace("}", " } ").split():
                    self.items.append((tok, "", i + 1))
        self.pos = 0
        self.names: list[str] = []
        self.parents: list[int] = []
        self.offsets: list[list[float]] = []
        self.channels: list[tuple[str, ...]] = []
        self.end_sites: list[tuple[int, np.ndarray]] = []
        self.num_channels = 0

    def _err(self, problem: str, line: int | None = None) -> PoseDataError:
        return PoseDataError(problem, self.src, f"line {line}" if line else None)

    def _next(self) -> tuple[str, str, int]:
        if self.pos >= len(self.items):
            raise self._err("unexpected end of HIERARCHY (unbalanced braces?)", self.stop_line)
        item = self.items[self.pos]
        self.pos += 1
        return item

    def _expect(self, token: str) -> int:
        tok, _, line = self._next()
        if tok != token:
            raise self._err(f"expected {token!r}, found {tok!r}", line)
        return line

    def _floats(self, count: int, what: str, line: int) -> list[float]:
        vals = []
        for _ in range(count):
            tok, _, ln = self._next()
            try:
                v = float(tok)
            except ValueError:
                raise self._err(f"{what}: {tok!r} is not a number", ln) from None
            if not abs(v) <= MAX_ABS_VALUE:
                raise self._err(f"{what}: {tok[:40]!r} is not finite or beyond ±{MAX_ABS_VALUE:g}", ln)
            vals.append(v)
        return vals

    def parse(self) -> None:
        if not self.items:
            raise self._err("HIERARCHY has no ROOT", self.stop_line)
        while self.pos < len(self.items):
            kw, name, line = self._next()
            if kw != "ROOT":
                raise self._err(f"expected ROOT, found {kw!r}", line)
            self._joint(name, -1, line, 1)
        if len(set(self.names)) != len(self.names):
            dup = sorted({n for n in self.names if self.names.count(n) > 1})
            raise self._err(f"duplicate joint names: {', '.join(dup)}")

    def _joint(self, name: str, parent: int, line: int, depth: int) -> None:
        if depth > MAX_NESTING:
            raise self._err(f"joint {name[:40]!r} is nested {depth} levels deep, over the limit of {MAX_NESTING}", line)
        if len(self.names) >= MAX_JOINTS:
            raise self._err(f"more than {MAX_JOINTS} joints", line)
        self._expect("{")
        index = len(self.names)
        self.names.append(name)
        self.parents.append(parent)
        tok, _, ln = self._next()
        if tok.upper() != "OFFSET":
            raise self._err(f"joint {name!r}: expected OFFSET, found {tok!r}", ln)
        self.offsets.append(self._floats(3, f"joint {name!r} OFFSET", ln))
        chans: tuple[str, ...] = ()
        tok, arg, ln = self._next()
        if tok.upper() == "CHANNELS":
            cnt_tok, _, cl = self._next()
            try:
                count = int(cnt_tok)
            except ValueError:
                raise self._err(f"joint {name!r}: channel count {cnt_tok!r} is not an integer", cl) from None
            if not 0 <= count <= 6:
                raise self._err(f"joint {name!r}: channel count {count} not in 0..6", cl)
            names = []
            for _ in range(count):
                ch, _, chl = self._next()
                key = ch.lower()
                if key not in POSITION_CHANNELS and key not in ROTATION_CHANNELS:
                    raise self._err(
                        f"joint {name!r}: unknown channel {ch!r} (known: Xposition Yposition Zposition "
                        "Xrotation Yrotation Zrotation)",
                        chl,
                    )
                if key in (c.lower() for c in names):
                    raise self._err(f"joint {name!r}: channel {ch!r} listed twice", chl)
                names.append(ch)
            chans = tuple(names)
            tok, arg, ln = self._next()
        self.channels.append(chans)
        self.num_channels += len(chans)
        while tok != "}":
            if tok == "JOINT":
                self._joint(arg, index, ln, depth + 1)
            elif tok == "END":
                self._expect("{")
                t2, _, l2 = self._next()
                if t2.upper() != "OFFSET":
                    raise self._err(f"End Site of {name!r}: expected OFFSET, found {t2!r}", l2)
                off = self._floats(3, f"End Site of {name!r} OFFSET", l2)
                self._expect("}")
                self.end_sites.append((index, np.array(off, np.float64)))
            elif tok == "ROOT":
                raise self._err(f"ROOT inside joint {name!r} (unbalanced braces?)", ln)
            else:
                raise self._err(f"joint {name!r}: unexpected {tok!r}", ln)
            tok, arg, ln = self._next()


_FRAMES_RE = re.compile(r"^frames\s*:?\s*(\S+)\s*$", re.IGNORECASE)
_FRAME_TIME_RE = re.compile(r"^frame\s+time\s*:?\s*(\S+)\s*$", re.IGNORECASE)


def _parse_motion(lines: list[str], motion_at: int, num_channels: int, src: str | None) -> tuple[float, np.ndarray]:
    i = motion_at + 1
    header: list[tuple[int, str]] = []
    while i < len(lines) and len(header) < 2:
        s = lines[i].strip()
        if s:
            header.append((i, s))
        i += 1
    if len(header) < 1 or not _FRAMES_RE.match(header[0][1]):
        where = f"line {header[0][0] + 1}" if header else f"line {motion_at + 2}"
        raise PoseDataError("expected 'Frames: <count>' after MOTION", src, where)
    ln, s = header[0]
    tok = _FRAMES_RE.match(s).group(1)
    try:
        frames = int(tok)
    except ValueError:
        raise PoseDataError(f"frame count {tok!r} is not an integer", src, f"line {ln + 1}") from None
    if frames <= 0:
        raise PoseDataError(f"zero frames (Frames: {frames})", src, f"line {ln + 1}")
    if frames > MAX_FRAMES:
        raise PoseDataError(f"Frames: {frames:,} is over the limit of {MAX_FRAMES:,}", src, f"line {ln + 1}")
    if len(header) < 2 or not _FRAME_TIME_RE.match(header[1][1]):
        where = f"line {header[1][0] + 1}" if len(header) > 1 else f"line {ln + 2}"
        raise PoseDataError("expected 'Frame Time: <seconds>' after Frames", src, where)
    ln, s = header[1]
    tok = _FRAME_TIME_RE.match(s).group(1)
    try:
        frame_time = float(tok)
    except ValueError:
        raise PoseDataError(f"Frame Time {tok!r} is not a number", src, f"line {ln + 1}") from None
    if not (math.isfinite(frame_time) and frame_time > 0):
        raise PoseDataError(f"Frame Time {tok} must be a positive number of seconds", src, f"line {ln + 1}")
    check_fps(1.0 / frame_time, src, f"line {ln + 1} (Frame Time {tok})")
    data_start = i
    data = [(k, s) for k, s in ((k, lines[k]) for k in range(data_start, len(lines))) if s.strip()]
    if len(data) < frames:
        raise PoseDataError(f"truncated motion: Frames says {frames}, only {len(data)} data lines", src)
    if len(data) > frames:
        k = data[frames][0]
        raise PoseDataError(
            f"{len(data)} data lines but Frames says {frames} (first extra line shown)", src, f"line {k + 1}"
        )
    motion = _parse_values(data, num_channels, src)
    return frame_time, motion


#: Bytes per (frame, point) of forward kinematics: local and global 3x3 rotations, translations, positions.
_FK_CELL_BYTES = 2 * 72 + 2 * 24


def _parse_values(data: list[tuple[int, str]], num_channels: int, src: str | None) -> np.ndarray:
    """``(T, C)`` values. Fast path parses the whole block in C; on any problem, a line-by-line pass finds it."""
    if num_channels == 0:
        raise PoseDataError("the hierarchy declares no channels", src)
    block = " ".join(s for _, s in data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            flat = np.fromstring(block, dtype=np.float64, sep=" ")
        except (ValueError, DeprecationWarning):
            flat = None
    if flat is not None and flat.size == len(data) * num_channels and (np.abs(flat) <= MAX_ABS_VALUE).all():
        values = flat.reshape(len(data), num_channels)
        # A short line and a long line could cancel out in the total: check each line's count cheaply.
        counts = np.fromiter((len(s.split()) for _, s in data), dtype=np.int64, count=len(data))
        if (counts == num_channels).all():
            return values
    for frame, (k, s) in enumerate(data):
        toks = s.split()
        where = f"frame {frame} (line {k + 1})"
        if len(toks) != num_channels:
            raise PoseDataError(f"{len(toks)} values, expected {num_channels} (one per channel)", src, where)
        for col, tok in enumerate(toks):
            try:
                v = float(tok)
            except ValueError:
                raise PoseDataError(f"value {col + 1} {tok!r} is not a number", src, where) from None
            if not abs(v) <= MAX_ABS_VALUE:
                raise PoseDataError(
                    f"value {col + 1} {tok[:40]!r} is not finite or beyond ±{MAX_ABS_VALUE:g}", src, where
                )
    raise PoseDataError("motion data could not be parsed", src)  # pragma: no cover - the loop finds the cause


# ---------------------------------------------------------------------------------------------------------------
# Conversion to H36M-17


def load_bvh_h36m(path: str | os.PathLike, up_axis: str = "y", return_info: bool = False):
    """Read a BVH file and convert it to H36M-17 in metres, world coordinates (Y up).

    The rig is recognised by joint names (see ``mpm_core.io.rig_mapping``), the unit scale is detected from the
    leg length, and fps comes from ``Frame Time``. ``up_axis`` is the file's up axis ("y", the BVH norm and the
    case for every shipped corpus, or "z"). With ``return_info=True`` returns ``(sequence, RigMappingInfo)``.
    """
    from mpm_core.io.rig_mapping import points_to_h36m

    motion = read_bvh(path)
    positions, _ = motion.forward_kinematics()
    seq, info = points_to_h36m(
        positions,
        motion.point_names,
        motion.point_parents,
        fps=motion.fps,
        source=os.fspath(path),
        up_axis=up_axis,
    )
    return (seq, info) if return_info else seq
