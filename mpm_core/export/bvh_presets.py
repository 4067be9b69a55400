"""BVH skeleton presets: joint names, hierarchy and rest pose, so a file drops onto a character without renaming.

Every preset has a T-pose rest (facing +Z, Y up, left = +X, legs straight down, arms straight out) and bone lengths
from the motion (``bvh_writer``). Presets:

- ``h36m``: the H36M-17 joint names plus four helpers (``right_pelvis``/``left_pelvis`` at the pelvis and
  ``left_collar``/``right_collar`` at the thorax, each giving a hip or shoulder bone its own rotation); the neck
  and head bones point straight up at rest.
- ``mixamo``: Mixamo rig names (``mixamorig:Hips``, ``mixamorig:LeftUpLeg``, ..., ``mixamorig:Head``) for the joints
  H36M-17 has, in Mixamo's hierarchy: the thighs hang directly from the hips (no pelvis helpers: the hips are put
  symmetric about the pelvis first, ``straight_hips``), ``Spine``/``Spine1``/``Spine2`` up the trunk,
  ``LeftShoulder`` (clavicle) to ``LeftHand``; no toes, fingers or eyes.
- ``metarig``: Blender's human metarig names (``spine`` for the hips, ``spine.001`` ... ``spine.006`` up to the head,
  ``thigh.L``, ``shin.L``, ``foot.L``, ``shoulder.L``, ``upper_arm.L``, ``forearm.L``, ``hand.L``) in the same
  hierarchy as ``mixamo``.

In the two character presets the neck and head bones rest in their neutral pose instead of straight up: the
thorax-to-nose bone ``NECK_REST_FORWARD_DEG`` forward of vertical, the nose-to-eyes bone ``HEAD_REST_BACK_DEG``
back of it (H36M-17's ``neck`` is the nose and ``head`` the point between the eyes; the angles are the means over
upright frames of the validation mocap). A neutral head then has no local rotation, so a character's upright neck
stays upright when the animation is retargeted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mpm_core.skeleton import H36M_JOINTS

_X, _Y, _Z = np.eye(3)
_H = {n: i for i, n in enumerate(H36M_JOINTS)}
#: Neutral neck and head at rest (degrees from vertical; measured on upright frames of the validation mocap).
NECK_REST_FORWARD_DEG = 44.0
HEAD_REST_BACK_DEG = 23.0
#: End Site lengths as shares of a bone: foot (forward from the ankle) of the shin, hand of the forearm, head
#: top above the head joint of the neck-head bone. H36M-17 has no joints there; these only draw the last bones.
FOOT_SHARE, HAND_SHARE, HEAD_TOP_SHARE = 0.35, 0.4, 0.5


@dataclass(frozen=True)
class BvhJoint:
    """One BVH joint.

    Fields:
        name: joint name in the file; ``parent``: index of the parent joint (-1 for the root).
        h36m: the H36M-17 joint at this joint's position.
        primary: ``(a, b)``: the H36M vector a -> b that this joint's rotation turns ``rest_dir`` onto; None for a
            leaf (no data for its own turn: zero local rotation).
        rest_dir: ``(3,)`` that direction in the rest pose.
        second: the twist reference: ``("line", a, b)`` the vector a -> b, or ``("limb", root, mid, end)`` the limb
            plane's normal (blended toward the parent's frame as the limb straightens); None for leaves.
        rest_second: ``(3,)`` the twist reference in the rest pose.
        offset_dir: ``(3,)`` rest direction from the parent's position to this joint's (its length is the H36M
            bone ending at ``h36m``); None for a joint at its parent's place (zero offset) and for the root.
        end_site: ``(H36M joint whose bone length scales it, share, (3,) direction)`` or None.
    """

    name: str
    parent: int
    h36m: int
    primary: tuple[int, int] | None
    rest_dir: np.ndarray
    second: tuple | None
    rest_second: np.ndarray
    offset_dir: np.ndarray | None
    end_site: tuple[int, float, np.ndarray] | None = None


@dataclass(frozen=True)
class BvhPreset:
    """A skeleton preset: ``joints`` in file order; ``straight_hips``: the hips are made symmetric about the
    pelvis before writing (the thighs hang directly from a rigid hips joint)."""

    name: str
    joints: tuple[BvhJoint, ...]
    straight_hips: bool
    description: str

    @property
    def joint_names(self) -> tuple[str, ...]:
        return tuple(j.name for j in self.joints)

    @property
    def parents(self) -> tuple[int, ...]:
        return tuple(j.parent for j in self.joints)

    def index(self, name: str) -> int:
        return self.joint_names.index(name)


def _arm_normal(sgn: float) -> np.ndarray:
    # Elbow flexion brings the forearm forward (+Z): normal upper x lower = -Y (left arm), +Y (right arm).
    return -sgn * _Y


def _h36m_joints() -> tuple[BvhJoint, ...]:
    h = _H
    hip_line = ("line", h["right_hip"], h["left_hip"])
    shoulder_line = ("line", h["right_shoulder"], h["left_shoulder"])
    spine_up = ("line", h["pelvis"], h["spine"])
    neck_up = ("line", h["thorax"], h["neck"])
    out = [BvhJoint("pelvis", -1, h["pelvis"], (h["pelvis"], h["spine"]), _Y, hip_line, _X, None)]
    for side, sgn in (("right", -1.0), ("left", 1.0)):
        p = len(out)
        hip, knee, ankle = h[f"{side}_hip"], h[f"{side}_knee"], h[f"{side}_ankle"]
        limb = ("limb", hip, knee, ankle)
        out += [
            BvhJoint(f"{side}_pelvis", 0, h["pelvis"], (h["pelvis"], hip), sgn * _X, spine_up, _Y, None),
            BvhJoint(f"{side}_hip", p, hip, (hip, knee), -_Y, limb, _X, sgn * _X),
            BvhJoint(f"{side}_knee", p + 1, knee, (knee, ankle), -_Y, limb, _X, -_Y),
            BvhJoint(f"{side}_ankle", p + 2, ankle, None, -_Y, None, _X, -_Y, (ankle, FOOT_SHARE, _Z)),
        ]
    s = len(out)
    out += [
        BvhJoint("spine", 0, h["spine"], (h["spine"], h["thorax"]), _Y, shoulder_line, _X, _Y),
        BvhJoint("thorax", s, h["thorax"], (h["thorax"], h["neck"]), _Y, shoulder_line, _X, _Y),
        BvhJoint("neck", s + 1, h["neck"], (h["neck"], h["head"]), _Y, shoulder_line, _X, _Y),
        BvhJoint("head", s + 2, h["head"], None, _Y, None, _X, _Y, (h["head"], HEAD_TOP_SHARE, _Y)),
    ]
    for side, sgn in (("left", 1.0), ("right", -1.0)):
        p = len(out)
        sh, el, wr = h[f"{side}_shoulder"], h[f"{side}_elbow"], h[f"{side}_wrist"]
        limb = ("limb", sh, el, wr)
        n = _arm_normal(sgn)
        out += [
            BvhJoint(f"{side}_collar", s + 1, h["thorax"], (h["thorax"], sh), sgn * _X, neck_up, _Y, None),
            BvhJoint(f"{side}_shoulder", p, sh, (sh, el), sgn * _X, limb, n, sgn * _X),
            BvhJoint(f"{side}_elbow", p + 1, el, (el, wr), sgn * _X, limb, n, sgn * _X),
            BvhJoint(f"{side}_wrist", p + 2, wr, None, sgn * _X, None, n, sgn * _X, (wr, HAND_SHARE, sgn * _X)),
        ]
    return tuple(out)


def _tilted(forward_deg: float) -> np.ndarray:
    """Up, tilted forward (+Z) by ``forward_deg`` (negative: back)."""
    a = math.radians(forward_deg)
    return np.array([0.0, math.cos(a), math.sin(a)])


#: Character-preset roles -> names.
_MIXAMO = {
    "hips": "Hips",
    "spine": "Spine",
    "spine1": "Spine1",
    "chest": "Spine2",
    "neck": "Neck",
    "head": "Head",
    "left_thigh": "LeftUpLeg",
    "left_shin": "LeftLeg",
    "left_foot": "LeftFoot",
    "right_thigh": "RightUpLeg",
    "right_shin": "RightLeg",
    "right_foot": "RightFoot",
    "left_clavicle": "LeftShoulder",
    "left_upper_arm": "LeftArm",
    "left_forearm": "LeftForeArm",
    "left_hand": "LeftHand",
    "right_clavicle": "RightShoulder",
    "right_upper_arm": "RightArm",
    "right_forearm": "RightForeArm",
    "right_hand": "RightHand",
}
_MIXAMO = {k: "mixamorig:" + v for k, v in _MIXAMO.items()}
_METARIG = {
    "hips": "spine",
    "spine": "spine.001",
    "spine1": "spine.002",
    "chest": "spine.003",
    "neck": "spine.004",
    "head": "spine.006",
}
for _side, _s in (("left", "L"), ("right", "R")):
    _METARIG.update(
        {
            f"{_side}_thigh": f"thigh.{_s}",
            f"{_side}_shin": f"shin.{_s}",
            f"{_side}_foot": f"foot.{_s}",
            f"{_side}_clavicle": f"shoulder.{_s}",
            f"{_side}_upper_arm": f"upper_arm.{_s}",
            f"{_side}_forearm": f"forearm.{_s}",
            f"{_side}_hand": f"hand.{_s}",
        }
    )


def _character_joints(names: dict[str, str]) -> tuple[BvhJoint, ...]:
    """The Mixamo-style hierarchy: thighs on the hips, a three-part spine, clavicles on the chest."""
    h = _H
    hip_line = ("line", h["right_hip"], h["left_hip"])
    spine_up = ("line", h["pelvis"], h["spine"])
    shoulder_line = ("line", h["right_shoulder"], h["left_shoulder"])
    neck_up = ("line", h["thorax"], h["neck"])
    # The hips joint turns with the hip line (its children, the thighs, sit on it) and the lower spine.
    out = [BvhJoint(names["hips"], -1, h["pelvis"], (h["right_hip"], h["left_hip"]), _X, spine_up, _Y, None)]
    for side, sgn in (("left", 1.0), ("right", -1.0)):
        p = len(out)
        hip, knee, ankle = h[f"{side}_hip"], h[f"{side}_knee"], h[f"{side}_ankle"]
        limb = ("limb", hip, knee, ankle)
        out += [
            BvhJoint(names[f"{side}_thigh"], 0, hip, (hip, knee), -_Y, limb, _X, sgn * _X),
            BvhJoint(names[f"{side}_shin"], p, knee, (knee, ankle), -_Y, limb, _X, -_Y),
            BvhJoint(names[f"{side}_foot"], p + 1, ankle, None, -_Y, None, _X, -_Y, (ankle, FOOT_SHARE, _Z)),
        ]
    s = len(out)
    neck_rest, head_rest = _tilted(NECK_REST_FORWARD_DEG), _tilted(-HEAD_REST_BACK_DEG)
    out += [
        BvhJoint(names["spine"], 0, h["pelvis"], (h["pelvis"], h["spine"]), _Y, hip_line, _X, None),
        BvhJoint(names["spine1"], s, h["spine"], (h["spine"], h["thorax"]), _Y, shoulder_line, _X, _Y),
        BvhJoint(names["chest"], s + 1, h["thorax"], (h["spine"], h["thorax"]), _Y, shoulder_line, _X, _Y),
        BvhJoint(names["neck"], s + 2, h["thorax"], (h["thorax"], h["neck"]), neck_rest, shoulder_line, _X, None),
        BvhJoint(
            names["head"],
            s + 3,
            h["neck"],
            (h["neck"], h["head"]),
            head_rest,
            shoulder_line,
            _X,
            neck_rest,
            (h["head"], HEAD_TOP_SHARE, head_rest),
        ),
    ]
    for side, sgn in (("left", 1.0), ("right", -1.0)):
        p = len(out)
        sh, el, wr = h[f"{side}_shoulder"], h[f"{side}_elbow"], h[f"{side}_wrist"]
        limb = ("limb", sh, el, wr)
        n = _arm_normal(sgn)
        out += [
            BvhJoint(names[f"{side}_clavicle"], s + 2, h["thorax"], (h["thorax"], sh), sgn * _X, neck_up, _Y, None),
            BvhJoint(names[f"{side}_upper_arm"], p, sh, (sh, el), sgn * _X, limb, n, sgn * _X),
            BvhJoint(names[f"{side}_forearm"], p + 1, el, (el, wr), sgn * _X, limb, n, sgn * _X),
            BvhJoint(names[f"{side}_hand"], p + 2, wr, None, sgn * _X, None, n, sgn * _X, (wr, HAND_SHARE, sgn * _X)),
        ]
    return tuple(out)


PRESETS: dict[str, BvhPreset] = {
    "h36m": BvhPreset("h36m", _h36m_joints(), False, "H36M-17 joint names with pelvis and collar helpers"),
    "mixamo": BvhPreset("mixamo", _character_joints(_MIXAMO), True, "Mixamo rig names (mixamorig:*), T-pose"),
    "metarig": BvhPreset("metarig", _character_joints(_METARIG), True, "Blender human metarig names, T-pose"),
}
#: Preset names, for options and the CLI.
BVH_PRESETS: tuple[str, ...] = tuple(PRESETS)


__all__ = ["BVH_PRESETS", "PRESETS", "BvhJoint", "BvhPreset"]
