"""Map a mocap rig's joints to anatomical landmarks by name, and build Human3.6M-17 from them.

Landmarks
---------
``left/right_hip``, ``_knee``, ``_ankle``, ``_shoulder`` (humerus head), ``_elbow``, ``_wrist``,
``skull_base`` (the head joint) and ``head_top`` (the head's End Site / end of the head bone).

Names are matched after normalising them: the namespace (``mixamorig:``, ``rig|``) and known prefixes
(``CC_Base_``, ``DEF-``, ``Bip01``) are dropped, case and separators are ignored, and the side is read from
``Left``/``Right``/``l``/``r`` prefixes or ``.L``/``_L``/``Left`` suffixes. Each landmark has a list of body-part
names in priority order, so that e.g. Mixamo's ``LeftShoulder`` (a clavicle) loses to ``LeftArm`` while CMU
cgspeed's ``LeftShoulder`` (the humerus, next to ``LeftCollar``) is taken. Families covered: CMU cgspeed
3dsMax (LeftHip/LeftKnee/LeftAnkle = femur/tibia/foot bones) and Daz (lThigh, lShin, lShldr, lForeArm, lHand),
Reallusion CC (CC_Base_L_Thigh, _Calf, _Upperarm), Rigify (thigh.L, DEF-upper_arm.L), Mixamo and ACCAD
(LeftUpLeg, LeftLeg, LeftArm, LeftForeArm, LeftHand), 3ds Max Biped (Bip01 L Thigh), Bandai (UpperLeg_L,
LowerArm_L), ReActIdle (thigh.L, forearm.L; the wrist is the forearm's End Site) and Acclaim ASF bones (lfemur,
ltibia, lfoot, lhumerus, lradius, lwrist; a joint is the START of the named bone).

H36M-17 from landmarks (the project's convention)
-------------------------------------------------
The same derivation 2D detectors get in ``skeleton._DETECTOR_TO_H36M``, so that training data match real inputs:

* pelvis = mid(left_hip, right_hip); thorax = mid(left_shoulder, right_shoulder); spine = mid(pelvis, thorax);
* hips, knees, ankles, shoulders, elbows, wrists = the landmarks;
* neck (index 9, a detector's NOSE) = skull_base + 0.10 m * forward + 0.02 m * up_head;
* head (index 10, a detector's EYE MIDPOINT) = skull_base + 0.07 m * forward + 0.06 m * up_head;

with ``up_head = unit(head_top - skull_base)`` and ``forward`` = the unit component, orthogonal to ``up_head``,
of ``cross(left_shoulder - right_shoulder, up_head)`` (the way the body faces: checked on real clips, the nose
lands on the side the toes point to). When the head segment is shorter than ``MIN_HEAD_SEGMENT_M`` (no End
Site, or a token one such as ReActIdle's 2 cm forward ``face`` End Site), up_head is the direction from the head
joint's parent (the neck) to the head joint.

Units and axes
--------------
Output is metres, world coordinates, Y up. The file's unit is detected from the median leg length
(hip to knee to ankle), which is 0.7-1.0 m for adults: the candidate unit (m, cm, mm, inch, CMU unit = 1/0.45
inch, foot) that brings it closest to ``TYPICAL_LEG_M`` wins, and a result outside
``LEG_RANGE_M`` is an error. The scale used is reported in ``RigMappingInfo``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mpm_core.errors import PoseDataError
from mpm_core.sequence import PoseSequence3D
from mpm_core.skeleton import H36M_JOINTS

SIDES = ("left", "right")
LIMB_LANDMARKS = ("hip", "knee", "ankle", "shoulder", "elbow", "wrist")
LANDMARKS: tuple[str, ...] = tuple(f"{s}_{p}" for s in SIDES for p in LIMB_LANDMARKS) + ("skull_base", "head_top")

#: Body-part names per limb landmark, best first (normalised: lower case, no separators, no side).
LIMB_PART_NAMES: dict[str, tuple[str, ...]] = {
    "hip": ("thigh", "thighbend", "upleg", "upperleg", "femur", "hip"),
    "knee": ("shin", "shinbend", "calf", "lowerleg", "leg", "knee", "tibia"),
    "ankle": ("foot", "ankle"),
    # "shoulder" last: in Mixamo/Bandai/Rigify it is the clavicle and an arm bone exists; in CMU cgspeed it is
    # the humerus itself (next to "Collar").
    "shoulder": ("upperarm", "arm", "humerus", "shldr", "shldrbend", "uparm", "shoulder"),
    "elbow": ("forearm", "forearmbend", "lowerarm", "elbow", "radius", "loarm"),
    "wrist": ("wrist", "hand"),
}
HEAD_PART_NAMES = ("head", "skull", "face")
HEAD_TOP_PART_NAMES = ("headtop", "headtopend", "headend", "headnub", "headsite", "headtip", "headtopend")

#: Prefixes dropped before matching (lower case).
NAME_PREFIXES = ("cc_base_", "def-", "def_", "org-", "mch-", "mixamorig", "bip001", "bip01", "valvebiped.")
_SEP = r"[._\-\s]"

#: Unit candidates: name -> metres per file unit.
UNIT_SCALES: dict[str, float] = {
    "m": 1.0,
    "cm": 0.01,
    "mm": 0.001,
    "inch": 0.0254,
    "cmu": 0.0254 / 0.45,
    "ft": 0.3048,
}
TYPICAL_LEG_M = 0.85
LEG_RANGE_M = (0.45, 1.4)

#: Face offsets from the head joint (metres), see the module docstring.
NOSE_FORWARD_M, NOSE_UP_M = 0.10, 0.02
EYES_FORWARD_M, EYES_UP_M = 0.07, 0.06
MIN_HEAD_SEGMENT_M = 0.05
_EPS = 1e-9


@dataclass
class RigMappingInfo:
    """How a rig was mapped: landmark -> source point name, the unit scale found, and the up axis used."""

    landmarks: dict[str, str]
    scale: float
    unit: str
    leg_length_file_units: float
    up_axis: str = "y"
    head_up_from: str = "head_top"
    notes: list[str] = field(default_factory=list)


def split_side(name: str) -> list[tuple[str, str]]:
    """Possible ``(side, part)`` readings of a joint name; side is "left", "right" or "" (centre).

    >>> ("left", "upleg") in split_side("mixamorig:LeftUpLeg")
    True
    """
    base = re.split(r"[:|]", name)[-1]
    low = base.lower().strip()
    changed = True
    while changed:
        changed = False
        for pre in NAME_PREFIXES:
            if low.startswith(pre) and len(low) > len(pre):
                low = low[len(pre) :].lstrip("._- ")
                changed = True

    def part(s: str) -> str:
        return re.sub(_SEP, "", s)

    out = [("", part(low))]
    for pattern, group_side, group_part in (
        (rf"^(left|right){_SEP}*(.+)$", 1, 2),
        (rf"^(l|r){_SEP}*(.+)$", 1, 2),
        (rf"^(.+?){_SEP}*(left|right)$", 2, 1),
        (rf"^(.+?){_SEP}+(l|r)$", 2, 1),
    ):
        m = re.match(pattern, low)
        if m:
            side = "left" if m.group(group_side).startswith("l") else "right"
            out.append((side, part(m.group(group_part))))
    return out


def match_landmarks(names: Sequence[str], parents: Sequence[int]) -> tuple[dict[str, int], list[str]]:
    """Landmark -> point index for a rig with point ``names`` and ``parents``; also the notes on choices made.

    Raises ``PoseDataError`` listing the landmarks that could not be found and the names in the rig.
    """
    readings = [split_side(n) for n in names]
    found: dict[str, int] = {}
    notes: list[str] = []
    for side in SIDES:
        for lm in LIMB_LANDMARKS:
            best: tuple[int, int] | None = None
            for i, rs in enumerate(readings):
                for s, p in rs:
                    if s == side and p in LIMB_PART_NAMES[lm]:
                        key = (LIMB_PART_NAMES[lm].index(p), i)
                        best = key if best is None or key < best else best
            if best is not None:
                found[f"{side}_{lm}"] = best[1]
    # A rig without hand joints (ReActIdle): the wrist is where the forearm ends.
    for side in SIDES:
        elbow = found.get(f"{side}_elbow")
        if f"{side}_wrist" not in found and elbow is not None:
            kids = [i for i, p in enumerate(parents) if p == elbow]
            if len(kids) == 1:
                found[f"{side}_wrist"] = kids[0]
                notes.append(f"{side}_wrist = end of {names[elbow]} ({names[kids[0]]})")
    head = _first_match(readings, HEAD_PART_NAMES)
    if head is not None:
        found["skull_base"] = head
        top = _first_match(readings, HEAD_TOP_PART_NAMES)
        if top is None:
            kids = [i for i, p in enumerate(parents) if p == head]
            if len(kids) == 1:
                top = kids[0]
        if top is not None:
            found["head_top"] = top
        else:
            notes.append(f"no single end for head joint {names[head]}: head up from its parent")
    missing = [lm for lm in LANDMARKS if lm not in found and lm != "head_top"]
    if missing:
        raise PoseDataError(
            f"cannot map rig to H36M-17: no joint found for {', '.join(missing)}; joints in the file: "
            + ", ".join(names)
        )
    return found, notes


def _first_match(readings: list[list[tuple[str, str]]], parts: Sequence[str]) -> int | None:
    best: tuple[int, int] | None = None
    for i, rs in enumerate(readings):
        for s, p in rs:
            if s == "" and p in parts:
                key = (parts.index(p), i)
                best = key if best is None or key < best else best
    return None if best is None else best[1]


def detect_scale(leg_length: float) -> tuple[str, float]:
    """``(unit name, metres per unit)`` that makes a median hip-to-ankle length closest to ``TYPICAL_LEG_M``."""
    if not (math.isfinite(leg_length) and leg_length > 0):
        raise PoseDataError(f"cannot detect units: leg length {leg_length!r}")
    unit = min(UNIT_SCALES, key=lambda u: abs(math.log(leg_length * UNIT_SCALES[u] / TYPICAL_LEG_M)))
    metres = leg_length * UNIT_SCALES[unit]
    if not LEG_RANGE_M[0] <= metres <= LEG_RANGE_M[1]:
        raise PoseDataError(
            f"cannot detect units: leg length {leg_length:.4g} file units fits no known unit "
            f"(best {unit}: {metres:.2f} m, expected {LEG_RANGE_M[0]}-{LEG_RANGE_M[1]} m)"
        )
    return unit, UNIT_SCALES[unit]


def _unit(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, _EPS), n[..., 0]


def points_to_h36m(
    positions: np.ndarray,
    names: Sequence[str],
    parents: Sequence[int],
    fps: float,
    source: str = "",
    up_axis: str = "y",
    scale: float | None = None,
) -> tuple[PoseSequence3D, RigMappingInfo]:
    """H36M-17 (metres, world, Y up) from rig points ``(T, P, 3)`` in file units (see the module docstring).

    ``scale`` (metres per file unit) overrides the detection.
    """
    src = source or None
    # A rig whose joints carry the H36M-17 names (our own BVH export) is taken as it is: its spine, neck and
    # head are already in the project's convention and must not be derived again.
    h36m_rig = set(H36M_JOINTS) <= set(names)
    if h36m_rig:
        lm = {f"{s}_{part}": list(names).index(f"{s}_{part}") for s in SIDES for part in LIMB_LANDMARKS}
        notes = ["joints named as H36M-17: taken as they are"]
    else:
        try:
            lm, notes = match_landmarks(names, parents)
        except PoseDataError as exc:
            raise PoseDataError(exc.problem, src) from None
    pos = np.asarray(positions, np.float64)
    if up_axis.lower() == "z":
        pos = np.stack([pos[..., 0], pos[..., 2], -pos[..., 1]], axis=-1)
    elif up_axis.lower() != "y":
        raise PoseDataError(f"up axis {up_axis!r} must be 'y' or 'z'", src)

    def get(name: str) -> np.ndarray:
        return pos[:, lm[name]]

    legs = [
        np.linalg.norm(get(f"{s}_hip") - get(f"{s}_knee"), axis=-1)
        + np.linalg.norm(get(f"{s}_knee") - get(f"{s}_ankle"), axis=-1)
        for s in SIDES
    ]
    leg = float(np.median(np.concatenate(legs)))
    if scale is None:
        try:
            unit, scale = detect_scale(leg)
        except PoseDataError as exc:
            raise PoseDataError(exc.problem, src) from None
    else:
        unit = "given"
        metres = leg * scale
        if not LEG_RANGE_M[0] <= metres <= LEG_RANGE_M[1]:
            raise PoseDataError(
                f"scale {scale:g} m/unit gives a {metres:.2f} m leg (hip-knee-ankle), outside {LEG_RANGE_M} m", src
            )
    pos = pos * scale

    def getm(name: str) -> np.ndarray:
        return pos[:, lm[name]]

    if h36m_rig:
        out = pos[:, [list(names).index(n) for n in H36M_JOINTS]]
        seq = PoseSequence3D(keypoints=out.astype(np.float32), fps=fps, layout="h36m17", source=source, units="m")
        info = RigMappingInfo(
            landmarks={n: n for n in H36M_JOINTS},
            scale=float(scale),
            unit=unit,
            leg_length_file_units=leg,
            up_axis=up_axis.lower(),
            head_up_from="as named",
            notes=notes,
        )
        return seq, info

    skull = getm("skull_base")
    head_from = "head_top"
    up_head, seg = _unit(getm("head_top") - skull) if "head_top" in lm else (None, None)
    neck_idx = parents[lm["skull_base"]]
    if up_head is None or np.median(seg) < MIN_HEAD_SEGMENT_M:
        if neck_idx < 0:
            raise PoseDataError("head joint has neither an end nor a parent: cannot orient the face", src)
        up_head, _ = _unit(skull - pos[:, neck_idx])
        head_from = f"parent {names[neck_idx]}"
    across = getm("left_shoulder") - getm("right_shoulder")
    fwd = np.cross(across, up_head)
    fwd = fwd - (fwd * up_head).sum(-1, keepdims=True) * up_head
    fwd, _ = _unit(fwd)

    out = np.empty((pos.shape[0], len(H36M_JOINTS), 3), np.float64)
    idx = {n: i for i, n in enumerate(H36M_JOINTS)}
    for s in SIDES:
        for part in LIMB_LANDMARKS:
            out[:, idx[f"{s}_{part}"]] = getm(f"{s}_{part}")
    out[:, idx["pelvis"]] = 0.5 * (getm("left_hip") + getm("right_hip"))
    out[:, idx["thorax"]] = 0.5 * (getm("left_shoulder") + getm("right_shoulder"))
    out[:, idx["spine"]] = 0.5 * (out[:, idx["pelvis"]] + out[:, idx["thorax"]])
    out[:, idx["neck"]] = skull + NOSE_FORWARD_M * fwd + NOSE_UP_M * up_head
    out[:, idx["head"]] = skull + EYES_FORWARD_M * fwd + EYES_UP_M * up_head

    seq = PoseSequence3D(keypoints=out.astype(np.float32), fps=fps, layout="h36m17", source=source, units="m")
    info = RigMappingInfo(
        landmarks={k: names[v] for k, v in lm.items()},
        scale=float(scale),
        unit=unit,
        leg_length_file_units=leg,
        up_axis=up_axis.lower(),
        head_up_from=head_from,
        notes=notes,
    )
    return seq, info
