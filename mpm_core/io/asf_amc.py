"""Acclaim ASF (skeleton) + AMC (motion) reader, with forward kinematics per the Acclaim spec.

ASF: ``:units`` (``length`` multiplier: file lengths are inches times that multiplier, so ``length 0.45`` means
1 unit = 1/0.45 inch, the CMU/HDM05 convention; ``angle deg|rad``), ``:root`` (``order``, ``axis``,
``position``, ``orientation``), ``:bonedata`` blocks (``name``, ``direction``, ``length``, ``axis a b c ORDER``,
``dof``, ``limits`` over several lines) and ``:hierarchy``. Files are read as Latin-1, so stray bytes in comments
(HDM05's "ü") never fail.

AMC: header keywords (``:FULLY-SPECIFIED``, ``:DEGREES`` / ``:RADIANS``), then per frame a frame number line and
one ``bone v1 v2 ...`` line per bone with degrees of freedom. A bone that never appears keeps its rest pose; a bone
missing from only some frames is an error (so no frame is silently half-specified). AMC has no frame rate: 120 fps
(CMU and HDM05 capture rate) unless given.

Kinematics (column vectors): ``C`` = the bone's ``axis`` rotation, ``M`` = its AMC rotation, both composed in the
listed order (``XYZ``: X applied first, i.e. ``Rz @ Ry @ Rx``). The bone's rotation in the world is
``R = R_parent @ C @ M @ C^-1`` (the spec's ``L = C^-1 M C`` for row vectors) and its end is
``start + R @ (direction * length)``; its start is the parent's end (the root position for bones under root).
Points returned: ``root``, the START of every bone under its own name (so ``lfemur`` is the hip, ``lfoot`` the
ankle, ``head`` the skull base), and ``<bone>_End`` for the end of every leaf bone (``head_End`` = head top).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mpm_core.errors import PoseDataError, check_fps
from mpm_core.io.bvh import END_SITE_SUFFIX, read_text
from mpm_core.io.limits import MAX_ABS_VALUE, MAX_FRAMES, MAX_JOINTS, check_frame_number
from mpm_core.kinematics import euler_to_matrix

#: AMC files carry no frame time; CMU and HDM05 capture at 120 Hz (HDM05 names end in ``_120``).
DEFAULT_AMC_FPS = 120.0
INCH_M = 0.0254
ROTATION_DOFS = ("rx", "ry", "rz")
TRANSLATION_DOFS = ("tx", "ty", "tz")
KNOWN_DOFS = ROTATION_DOFS + TRANSLATION_DOFS + ("l",)


@dataclass
class AsfBone:
    """One ASF bone: unit ``direction`` (3,) and ``length`` in file units (rest pose, world axes), ``axis``
    angles (3,) in radians with their ``axis_order`` (e.g. "XYZ"), and its ``dof`` names in AMC value order."""

    name: str
    direction: np.ndarray
    length: float
    axis: np.ndarray
    axis_order: str
    dof: tuple[str, ...]
    parent: str = "root"


@dataclass
class AsfSkeleton:
    """A parsed ASF file. ``bones`` are in hierarchy order (parents first). Lengths are in file units;
    ``length_multiplier`` converts: metres = value / length_multiplier * 0.0254."""

    name: str
    bones: list[AsfBone]
    root_order: tuple[str, ...]
    root_axis: str
    root_position: np.ndarray
    root_orientation: np.ndarray
    length_multiplier: float = 1.0
    angle_unit: str = "deg"
    path: str = ""

    @property
    def metres_per_unit(self) -> float:
        return INCH_M / self.length_multiplier

    def bone(self, name: str) -> AsfBone | None:
        for b in self.bones:
            if b.name == name:
                return b
        return None


@dataclass
class AmcMotion:
    """AMC values on an ASF skeleton.

    ``root`` is ``(T, len(root_order))`` and ``bones[name]`` ``(T, len(dof))`` raw AMC values (angles in the
    AMC's unit: ``degrees`` True or False). ``frame_numbers`` are the AMC frame numbers.
    """

    skeleton: AsfSkeleton
    root: np.ndarray
    bones: dict[str, np.ndarray]
    frame_numbers: np.ndarray
    fps: float = DEFAULT_AMC_FPS
    degrees: bool = True
    path: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def num_frames(self) -> int:
        return int(self.root.shape[0])

    @property
    def point_names(self) -> list[str]:
        """Names of the rows of ``forward_kinematics()[0]``: root, each bone's start, each leaf bone's end."""
        sk = self.skeleton
        leaves = [b.name for b in sk.bones if not any(c.parent == b.name for c in sk.bones)]
        return ["root"] + [b.name for b in sk.bones] + [n + END_SITE_SUFFIX for n in leaves]

    @property
    def point_parents(self) -> list[int]:
        names = self.point_names
        index = {n: i for i, n in enumerate(names)}
        sk = self.skeleton
        parents = [-1] + [index[b.parent] for b in sk.bones]
        return parents + [index[n[: -len(END_SITE_SUFFIX)]] for n in names[1 + len(sk.bones) :]]

    def _angles(self, values: np.ndarray) -> np.ndarray:
        return np.radians(values) if self.degrees else values

    def forward_kinematics(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """``(points (T, P, 3) in file units, world rotation (T, 3, 3) per bone and "root")``; see the module doc."""
        sk = self.skeleton
        t = self.num_frames
        order = [c.upper() for c in sk.root_order]
        trans = np.zeros((t, 3))
        for k, c in enumerate(order):
            if c in ("TX", "TY", "TZ"):
                trans[:, "XYZ".index(c[1])] = self.root[:, k]
        rot_cols = [k for k, c in enumerate(order) if c in ("RX", "RY", "RZ")]
        rot_axes = "".join(order[k][1] for k in rot_cols)
        c_root = _extrinsic(
            np.radians(sk.root_orientation) if sk.angle_unit == "deg" else sk.root_orientation, sk.root_axis
        )
        m_root = _extrinsic(self._angles(self.root[:, rot_cols]), rot_axes)
        rots: dict[str, np.ndarray] = {"root": c_root @ m_root @ c_root.T}
        ends: dict[str, np.ndarray] = {"root": trans}
        starts: dict[str, np.ndarray] = {}
        for b in sk.bones:
            c = _extrinsic(b.axis, b.axis_order)
            values = self.bones.get(b.name)
            length = np.full(t, b.length)
            local = c
            extra = np.zeros((t, 3))
            if values is not None and b.dof:
                r_cols = [k for k, d in enumerate(b.dof) if d in ROTATION_DOFS]
                if r_cols:
                    axes = "".join(b.dof[k][1].upper() for k in r_cols)
                    local = c @ _extrinsic(self._angles(values[:, r_cols]), axes)
                for k, d in enumerate(b.dof):
                    if d in TRANSLATION_DOFS:
                        extra[:, TRANSLATION_DOFS.index(d)] = values[:, k]
                    elif d == "l":
                        length = length + values[:, k]
            r = rots[b.parent] @ local @ c.T
            rots[b.name] = r
            start = ends[b.parent]
            starts[b.name] = start
            offset = length[:, None] * b.direction[None, :] + extra @ c.T
            ends[b.name] = start + np.einsum("tab,tb->ta", r, offset)
        names = self.point_names
        pts = [trans] + [starts[b.name] for b in sk.bones]
        pts += [ends[n[: -len(END_SITE_SUFFIX)]] for n in names[1 + len(sk.bones) :]]
        return np.stack(pts, axis=1), rots


def _extrinsic(angles: np.ndarray, order: str) -> np.ndarray:
    """Rotation applying ``order``'s axes one after the other about fixed axes (``XYZ`` -> ``Rz @ Ry @ Rx``)."""
    angles = np.asarray(angles, np.float64)
    return euler_to_matrix(angles[..., ::-1], order[::-1])


# ---------------------------------------------------------------------------------------------------------------
# ASF


def read_asf(path: str | os.PathLike) -> AsfSkeleton:
    """Parse an ASF file. Raises ``PoseDataError`` naming the line for malformed content."""
    return parse_asf(read_text(path), os.fspath(path))


def _floats(tokens: list[str], count: int, what: str, src: str | None, line: int) -> np.ndarray:
    if len(tokens) < count:
        raise PoseDataError(f"{what}: {count} numbers expected, found {len(tokens)}", src, f"line {line}")
    try:
        vals = np.array([float(x) for x in tokens[:count]], np.float64)
    except ValueError:
        raise PoseDataError(
            f"{what}: {' '.join(tokens[:count])!r} is not {count} numbers", src, f"line {line}"
        ) from None
    if not (np.abs(vals) <= MAX_ABS_VALUE).all():
        raise PoseDataError(f"{what}: value not finite or beyond ±{MAX_ABS_VALUE:g}", src, f"line {line}")
    return vals


def parse_asf(text: str, path: str = "") -> AsfSkeleton:
    src = path or None
    lines = [(i + 1, ln.split("#", 1)[0].strip()) for i, ln in enumerate(text.splitlines())]
    lines = [(n, s) for n, s in lines if s]
    if not lines:
        raise PoseDataError("empty ASF file", src)
    section = ""
    name = ""
    length_mult, angle_unit = 1.0, "deg"
    root_order: tuple[str, ...] = ("TX", "TY", "TZ", "RX", "RY", "RZ")
    root_axis = "XYZ"
    root_pos = np.zeros(3)
    root_ori = np.zeros(3)
    raw_bones: list[dict] = []
    current: dict | None = None
    children: dict[str, list[str]] = {}
    seen_sections = set()
    for n, s in lines:
        if s.startswith(":"):
            head = s.split(None, 1)
            section = head[0][1:].lower()
            seen_sections.add(section)
            if section == "name" and len(head) > 1:
                name = head[1].strip()
            continue
        toks = s.split()
        key = toks[0].lower()
        if section == "units":
            if key == "length":
                length_mult = float(_floats(toks[1:], 1, "units length", src, n)[0])
                if length_mult <= 0:
                    raise PoseDataError(f"units length {length_mult} must be > 0", src, f"line {n}")
            elif key == "angle":
                unit = toks[1].lower() if len(toks) > 1 else ""
                if unit not in ("deg", "rad"):
                    raise PoseDataError(f"units angle {unit!r} must be deg or rad", src, f"line {n}")
                angle_unit = unit
        elif section == "root":
            if key == "order":
                root_order = tuple(t.upper() for t in toks[1:])
                bad = [t for t in root_order if t not in ("TX", "TY", "TZ", "RX", "RY", "RZ")]
                if bad:
                    raise PoseDataError(f"root order: unknown {' '.join(bad)}", src, f"line {n}")
            elif key == "axis":
                root_axis = toks[1].upper() if len(toks) > 1 else "XYZ"
                _check_order(root_axis, src, n)
            elif key == "position":
                root_pos = _floats(toks[1:], 3, "root position", src, n)
            elif key == "orientation":
                root_ori = _floats(toks[1:], 3, "root orientation", src, n)
        elif section == "bonedata":
            if key == "begin":
                current = {"line": n, "dof": ()}
                raw_bones.append(current)
            elif key == "end":
                current = None
            elif current is None:
                raise PoseDataError(f"{toks[0]!r} outside a begin/end block", src, f"line {n}")
            elif key == "name":
                current["name"] = toks[1] if len(toks) > 1 else ""
            elif key == "direction":
                current["direction"] = _floats(toks[1:], 3, "direction", src, n)
            elif key == "length":
                current["length"] = float(_floats(toks[1:], 1, "length", src, n)[0])
            elif key == "axis":
                current["axis"] = _floats(toks[1:], 3, "axis", src, n)
                order = toks[4].upper() if len(toks) > 4 else "XYZ"
                _check_order(order, src, n)
                current["axis_order"] = order
            elif key == "dof":
                dof = tuple(t.lower() for t in toks[1:])
                bad = [d for d in dof if d not in KNOWN_DOFS]
                if bad:
                    raise PoseDataError(
                        f"unknown dof {' '.join(bad)} (known: {' '.join(KNOWN_DOFS)})", src, f"line {n}"
                    )
                current["dof"] = dof
            # id, limits (and their continuation lines "(a b)"), bodymass, cofmass: not needed for kinematics.
        elif section == "hierarchy":
            if key in ("begin", "end"):
                continue
            children.setdefault(toks[0], []).extend(toks[1:])
    for needed in ("bonedata", "hierarchy"):
        if needed not in seen_sections:
            raise PoseDataError(f"no :{needed} section", src)
    if len(raw_bones) > MAX_JOINTS:
        raise PoseDataError(f"{len(raw_bones):,} bones, over the limit of {MAX_JOINTS:,}", src)
    by_name: dict[str, AsfBone] = {}
    for rb in raw_bones:
        bname = rb.get("name")
        if not bname:
            raise PoseDataError("bone without a name", src, f"line {rb['line']}")
        for k in ("direction", "length"):
            if k not in rb:
                raise PoseDataError(f"bone {bname!r} has no {k}", src, f"line {rb['line']}")
        if bname in by_name or bname == "root":
            raise PoseDataError(f"bone {bname!r} defined twice", src, f"line {rb['line']}")
        direction = rb["direction"]
        norm = float(np.linalg.norm(direction))
        axis = rb.get("axis", np.zeros(3))
        by_name[bname] = AsfBone(
            name=bname,
            direction=direction / norm if norm > 0 else direction,
            length=rb["length"],
            axis=np.radians(axis) if angle_unit == "deg" else axis,
            axis_order=rb.get("axis_order", "XYZ"),
            dof=rb["dof"],
        )
    ordered: list[AsfBone] = []
    queue = ["root"]
    while queue:
        parent = queue.pop(0)
        for child in children.get(parent, []):
            if child not in by_name:
                raise PoseDataError(f"hierarchy names bone {child!r}, which :bonedata does not define", src)
            bone = by_name[child]
            if any(b.name == child for b in ordered):
                raise PoseDataError(f"bone {child!r} appears twice in :hierarchy", src)
            bone.parent = parent
            ordered.append(bone)
            queue.append(child)
    orphans = [b for b in by_name if all(o.name != b for o in ordered)]
    if orphans:
        raise PoseDataError(f"bones not reachable from root in :hierarchy: {', '.join(orphans)}", src)
    return AsfSkeleton(
        name=name,
        bones=ordered,
        root_order=root_order,
        root_axis=root_axis,
        root_position=root_pos,
        root_orientation=root_ori,
        length_multiplier=length_mult,
        angle_unit=angle_unit,
        path=path,
    )


def _check_order(order: str, src: str | None, line: int) -> None:
    if len(order) != 3 or set(order) != set("XYZ"):
        raise PoseDataError(f"rotation order {order!r} must be a permutation of XYZ", src, f"line {line}")


# ---------------------------------------------------------------------------------------------------------------
# AMC


def find_asf(amc_path: str | os.PathLike) -> Path:
    """The ASF that goes with an AMC: same stem; else the only .asf in the folder; else the stem without trailing
    digits (``charleston1.amc`` -> ``charleston.asf``); else the longest .asf stem that starts the AMC's stem
    (``HDM_dg_06-03_03_120.amc`` -> ``HDM_dg.asf``). Raises ``PoseDataError`` when none or several fit."""
    amc = Path(amc_path)
    folder = amc.parent
    asfs = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".asf") if folder.is_dir() else []
    stem = amc.name[: -len(amc.suffix)] if amc.suffix else amc.name
    by_stem = {p.stem.lower(): p for p in asfs}
    if stem.lower() in by_stem:
        return by_stem[stem.lower()]
    if len(asfs) == 1:
        return asfs[0]
    trimmed = re.sub(r"[\s_\-]*\d+$", "", stem).lower()
    if trimmed in by_stem:
        return by_stem[trimmed]
    prefixed = [p for p in asfs if stem.lower().startswith(p.stem.lower())]
    if prefixed:
        best = max(len(p.stem) for p in prefixed)
        winners = [p for p in prefixed if len(p.stem) == best]
        if len(winners) == 1:
            return winners[0]
    found = ", ".join(p.name for p in asfs) or "none"
    raise PoseDataError(f"cannot tell which ASF skeleton goes with this AMC (.asf files beside it: {found})", amc)


def read_amc(
    amc_path: str | os.PathLike, asf: AsfSkeleton | str | os.PathLike | None = None, fps: float = DEFAULT_AMC_FPS
) -> AmcMotion:
    """Parse an AMC file on its ASF skeleton (an ``AsfSkeleton``, a path, or None to find it beside the AMC)."""
    src = os.fspath(amc_path)
    if not isinstance(asf, AsfSkeleton):
        asf = read_asf(find_asf(amc_path) if asf is None else asf)
    fps = check_fps(fps, src)
    return parse_amc(read_text(amc_path), asf, fps, src)


def parse_amc(text: str, skeleton: AsfSkeleton, fps: float = DEFAULT_AMC_FPS, path: str = "") -> AmcMotion:
    src = path or None
    degrees = skeleton.angle_unit == "deg"
    dof_count = {b.name: len(b.dof) for b in skeleton.bones}
    dof_count["root"] = len(skeleton.root_order)
    frames: list[dict[str, tuple[list[str], int]]] = []
    numbers: list[int] = []
    lines = text.splitlines()
    if not any(ln.strip() for ln in lines):
        raise PoseDataError("empty AMC file", src)
    for i, raw in enumerate(lines):
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        if s.startswith(":"):
            kw = s.upper()
            if kw == ":DEGREES":
                degrees = True
            elif kw == ":RADIANS":
                degrees = False
            continue
        toks = s.split()
        if len(toks) == 1 and toks[0].isdigit():
            if not toks[0].isascii() or len(toks[0].lstrip("0")) > len(str(MAX_FRAMES)):  # int() would raise
                raise PoseDataError(f"frame number {toks[0][:20]!r} is not a frame number", src, f"line {i + 1}")
            number = check_frame_number(int(toks[0]), src, f"line {i + 1}")
            if numbers and number != numbers[-1] + 1:
                raise PoseDataError(f"frame number {number} follows {numbers[-1]}", src, f"line {i + 1}")
            numbers.append(number)
            frames.append({})
            continue
        if not frames:
            raise PoseDataError(f"{s[:40]!r} before the first frame number", src, f"line {i + 1}")
        bone = toks[0]
        if bone not in dof_count:
            raise PoseDataError(f"bone {bone!r} is not in the ASF skeleton {skeleton.path}", src, f"line {i + 1}")
        if len(toks) - 1 != dof_count[bone]:
            raise PoseDataError(
                f"bone {bone!r} has {len(toks) - 1} values, the ASF gives it {dof_count[bone]} dof",
                src,
                f"frame {numbers[-1]} (line {i + 1})",
            )
        if bone in frames[-1]:
            raise PoseDataError(f"bone {bone!r} given twice", src, f"frame {numbers[-1]} (line {i + 1})")
        frames[-1][bone] = (toks[1:], i + 1)
    if not frames:
        raise PoseDataError("zero frames", src)
    notes: list[str] = []
    arrays: dict[str, np.ndarray] = {}
    for bone, count in dof_count.items():
        present = [bone in f for f in frames]
        if count == 0:
            continue
        if not any(present):
            if bone == "root":
                raise PoseDataError("no root values in any frame", src)
            notes.append(f"bone {bone} never appears: rest pose")
            continue
        if not all(present):
            k = present.index(False)
            raise PoseDataError(f"bone {bone!r} is missing (it appears in other frames)", src, f"frame {numbers[k]}")
        flat = [tok for f in frames for tok in f[bone][0]]
        try:
            arr = np.array(flat, dtype=np.float64).reshape(len(frames), count)
        except ValueError:
            for k, f in enumerate(frames):
                for tok in f[bone][0]:
                    try:
                        float(tok)
                    except ValueError:
                        raise PoseDataError(
                            f"bone {bone!r}: {tok!r} is not a number", src, f"frame {numbers[k]} (line {f[bone][1]})"
                        ) from None
            raise  # pragma: no cover
        bad = ~(np.abs(arr) <= MAX_ABS_VALUE).all(axis=1)
        if bad.any():
            k = int(np.nonzero(bad)[0][0])
            raise PoseDataError(
                f"bone {bone!r}: value not finite or beyond ±{MAX_ABS_VALUE:g}", src, f"frame {numbers[k]}"
            )
        arrays[bone] = arr
    root = arrays.pop("root")
    return AmcMotion(
        skeleton=skeleton,
        root=root,
        bones=arrays,
        frame_numbers=np.array(numbers),
        fps=fps,
        degrees=degrees,
        path=path,
        notes=notes,
    )


def load_amc_h36m(
    amc_path: str | os.PathLike,
    asf_path: str | os.PathLike | None = None,
    fps: float = DEFAULT_AMC_FPS,
    return_info: bool = False,
):
    """Read ASF + AMC and convert to H36M-17 in metres, world coordinates (Y up); see ``rig_mapping``.

    The scale comes from the ASF's ``length`` multiplier (inches); ``return_info=True`` also returns the
    ``RigMappingInfo``.
    """
    from mpm_core.io.rig_mapping import points_to_h36m

    motion = read_amc(amc_path, asf_path, fps)
    points, _ = motion.forward_kinematics()
    seq, info = points_to_h36m(
        points,
        motion.point_names,
        motion.point_parents,
        fps=motion.fps,
        source=os.fspath(amc_path),
        scale=motion.skeleton.metres_per_unit,
    )
    info.unit = f"ASF length {motion.skeleton.length_multiplier:g} (inch/{motion.skeleton.length_multiplier:g})"
    info.notes.extend(motion.notes)
    return (seq, info) if return_info else seq


__all__ = [
    "DEFAULT_AMC_FPS",
    "AmcMotion",
    "AsfBone",
    "AsfSkeleton",
    "find_asf",
    "load_amc_h36m",
    "parse_amc",
    "parse_asf",
    "read_amc",
    "read_asf",
]
