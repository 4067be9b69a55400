"""BVH writer for H36M-17 motion: rotations from positions, exact forward kinematics.

Skeleton presets (``bvh_presets``): ``h36m`` (default, below), ``mixamo`` and ``metarig`` (character rig names
and hierarchies). The default hierarchy (names are the H36M joint names, plus four helper joints):

    pelvis (ROOT, 6 channels) ── right_pelvis ── right_hip ── right_knee ── right_ankle ── End Site (foot)
                              ├─ left_pelvis ─── left_hip ─── left_knee ─── left_ankle ─── End Site (foot)
                              └─ spine ── thorax ─┬─ neck ── head ── End Site (head top)
                                                  ├─ left_collar ── left_shoulder ── left_elbow ── left_wrist ── End
                                                  └─ right_collar ─ right_shoulder ─ right_elbow ─ right_wrist ─ End

``right_pelvis``/``left_pelvis`` and ``left_collar``/``right_collar`` sit at the pelvis and thorax (zero offset,
like CMU's LHipJoint/LeftCollar): a joint with several children moves them rigidly, but the model's hips and
shoulders do not keep a fixed angle to the spine, so each of those bones gets its own rotation. Every other
joint has 3 rotation channels and one bone, so its child follows the bone direction exactly.

Rest pose: a T-pose facing +Z, Y up, left = +X, with offsets from the bone lengths (median over the sequence,
left/right symmetric). Rotation channels: ``Zrotation Xrotation Yrotation`` (order ZXY) on every joint, the
root also ``Xposition Yposition Zposition`` first. Each joint's frame is built from its bone direction and a
second direction: the hip line for the pelvis, the shoulder line for spine/thorax/neck, the spine for the
hip helpers, the neck for the collars, and the limb plane (upper x lower limb) for hips, knees, shoulders and
elbows, blended toward the parent's frame as the limb straightens (no twist flips on a straight limb). Leaf
joints (ankles, wrists, head) have no data for their own turn and keep their parent's (zero local rotation).
Euler angles are unwrapped over time: of the equivalent triples, the one nearest the previous frame.

Because offsets are fixed, a BVH can only reproduce bone-normalised positions: ``build_bvh`` normalises the
bone lengths first and returns the positions the file reproduces (``target_positions``); forward kinematics
of the written file matches them to float precision.

Units: ``cm`` (default, what most animation tools expect) or ``m``. Up axis ``y`` (BVH norm) or ``z``
(x, y, z -> x, -z, y: the figure then faces -Y, as in Blender). ``Frame Time`` = 1 / fps of the input.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from mpm_core.atomic import atomic_write
from mpm_core.engine.cleanup import bone_lengths, normalize_bone_lengths
from mpm_core.engine.world import LEVEL_CAMERA
from mpm_core.errors import PoseDataError
from mpm_core.export.bvh_presets import PRESETS, BvhJoint, BvhPreset
from mpm_core.sequence import PoseSequence3D
from mpm_core.skeleton import H36M_JOINTS

EULER_ORDER = "ZXY"
ROOT_CHANNELS = ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")
JOINT_CHANNELS = ("Zrotation", "Xrotation", "Yrotation")
BVH_UNITS = {"cm": 100.0, "m": 1.0}
UP_AXES = ("y", "z")
#: Y-up to Z-up: (x, y, z) -> (x, -z, y), a +90 deg turn about x.
Y_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
#: Limb twist: below BEND_SINE_NONE (sine of the angle between the two bones) the twist comes from the parent
#: alone (a nearly straight limb's plane is noise), above BEND_SINE_FULL from the limb plane alone, linear between.
BEND_SINE_NONE, BEND_SINE_FULL = 0.05, 0.35
#: Shorter vectors (metres) have no usable direction.
EPS = 1e-9
_H = {n: i for i, n in enumerate(H36M_JOINTS)}

#: The default preset's joints (H36M names and helpers), kept for callers that read them.
BVH_JOINTS: tuple[BvhJoint, ...] = PRESETS["h36m"].joints
#: BVH joint names in file order (default preset).
BVH_JOINT_NAMES: tuple[str, ...] = PRESETS["h36m"].joint_names


@dataclass
class BvhAnimation:
    """What ``write_bvh`` writes, in the file's units and axes.

    Fields:
        joint_names: BVH joint names in file order; ``parents`` their parent indices (-1 root).
        offsets: ``(N, 3)`` rest offsets; ``end_sites``: (joint index, (3,) offset) per End Site.
        root_positions: ``(T, 3)`` the pelvis position per frame.
        euler_deg: ``(T, N, 3)`` local rotations, degrees, channel order ``EULER_ORDER`` (Z, X, Y).
        frame_time: seconds per frame.
        target_positions: ``(T, 17, 3)`` the bone-normalised H36M-17 positions the file reproduces.
        units: "cm" or "m"; up_axis: "y" or "z"; preset: the skeleton preset's name (``bvh_presets``).
    """

    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray
    end_sites: list[tuple[int, np.ndarray]]
    root_positions: np.ndarray
    euler_deg: np.ndarray
    frame_time: float
    target_positions: np.ndarray
    units: str
    up_axis: str
    preset: str = "h36m"


def _unit(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors of ``(..., 3)`` and whether each was long enough."""
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    ok = n[..., 0] > EPS
    return np.where(ok[..., None], v / np.where(ok[..., None], n, 1.0), 0.0), ok


def _second_direction(joint: BvhJoint, pos: np.ndarray, g_parent: np.ndarray) -> np.ndarray:
    """``(T, 3)`` the joint's second direction, before orthogonalisation."""
    carried = g_parent @ joint.rest_second  # the rest second direction turned with the parent
    if joint.second[0] == "line":
        return pos[:, joint.second[2]] - pos[:, joint.second[1]]
    _, a, b, c = joint.second
    upper, _ = _unit(pos[:, b] - pos[:, a])
    lower, _ = _unit(pos[:, c] - pos[:, b])
    normal = np.cross(upper, lower)
    sine = np.linalg.norm(normal, axis=-1)
    normal_u, _ = _unit(normal)
    w = np.clip((sine - BEND_SINE_NONE) / (BEND_SINE_FULL - BEND_SINE_NONE), 0.0, 1.0)[:, None]
    return w * normal_u + (1.0 - w) * carried


def _frames(primary: np.ndarray, candidates: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal frames ``(T, 3, 3)`` (columns: primary, second, third) and ``(T,)`` validity.

    The second axis is the first candidate with a usable component perpendicular to ``primary``.
    """
    a1, ok = _unit(primary)
    a2 = np.zeros_like(a1)
    found = np.zeros(len(a1), bool)
    for cand in candidates:
        cand = np.broadcast_to(cand, a1.shape)
        perp = cand - np.sum(cand * a1, axis=-1, keepdims=True) * a1
        u, good = _unit(perp)
        good &= np.linalg.norm(perp, axis=-1) > 1e-3 * np.maximum(np.linalg.norm(cand, axis=-1), EPS)
        take = good & ~found
        a2[take] = u[take]
        found |= take
    return np.stack([a1, a2, np.cross(a1, a2)], axis=-1), ok & found


def global_rotations(pos: np.ndarray, joints: tuple[BvhJoint, ...] = BVH_JOINTS) -> np.ndarray:
    """``(T, N, 3, 3)`` global rotation of every BVH joint for H36M-17 positions ``(T, 17, 3)`` (Y up)."""
    t = len(pos)
    out = np.zeros((t, len(joints), 3, 3))
    for k, joint in enumerate(joints):
        g_parent = np.broadcast_to(np.eye(3), (t, 3, 3)) if joint.parent < 0 else out[:, joint.parent]
        if joint.primary is None:
            out[:, k] = g_parent  # leaf: zero local rotation
            continue
        primary = pos[:, joint.primary[1]] - pos[:, joint.primary[0]]
        second = _second_direction(joint, pos, g_parent)
        third_rest = np.cross(joint.rest_dir, joint.rest_second)
        frames, ok = _frames(primary, [second, g_parent @ joint.rest_second, g_parent @ third_rest])
        rest, _ = _frames(joint.rest_dir[None], [joint.rest_second[None]])
        g = frames @ rest[0].T
        out[:, k] = np.where(ok[:, None, None], g, g_parent)  # a zero-length bone turns with its parent
    return out


def _unwrap_euler(angles: np.ndarray) -> np.ndarray:
    """``(T, N, 3)`` Tait-Bryan degrees made continuous: per frame the equivalent triple nearest the last.

    ``(a, b, c)`` and ``(a + 180, 180 - b, c + 180)`` are the same rotation, and each angle is free up to 360.
    """
    out = angles.copy()
    alt = np.stack([angles[..., 0] + 180.0, 180.0 - angles[..., 1], angles[..., 2] + 180.0], axis=-1)
    for t in range(1, len(angles)):
        prev = out[t - 1]
        best, best_cost = None, None
        for cand in (angles[t], alt[t]):
            shifted = cand + 360.0 * np.round((prev - cand) / 360.0)
            cost = np.abs(shifted - prev).sum(axis=-1)
            if best is None:
                best, best_cost = shifted, cost
            else:
                better = cost < best_cost
                best = np.where(better[:, None], shifted, best)
                best_cost = np.minimum(cost, best_cost)
        out[t] = best
    return out


def _to_y_up_metres(seq: PoseSequence3D) -> np.ndarray:
    seq = seq.to_h36m().in_metres()
    if not seq.visible.all():
        t, j = np.argwhere(~seq.visible)[0]
        raise PoseDataError(
            f"BVH needs every joint in every frame; {H36M_JOINTS[j]} is missing in frame {seq.frame_numbers[t]}",
            seq.source or None,
        )
    pos = seq.keypoints.astype(np.float64)
    if seq.coords == "camera":
        pos = pos @ LEVEL_CAMERA.T  # a level camera: y up, z toward the viewer
    return pos


def _straighten_hips(pos: np.ndarray) -> np.ndarray:
    """``(T, 17, 3)`` with the hips symmetric about the pelvis on their own line (same lengths), each leg moved
    with its hip: what a skeleton whose thighs hang from one rigid hips joint can reproduce."""
    out = pos.copy()
    p, r, l_ = _H["pelvis"], _H["right_hip"], _H["left_hip"]
    line, ok = _unit(pos[:, l_] - pos[:, r])
    for side, sgn in (("right", -1.0), ("left", 1.0)):
        hip = _H[f"{side}_hip"]
        length = np.linalg.norm(pos[:, hip] - pos[:, p], axis=-1, keepdims=True)
        moved = np.where(ok[:, None], pos[:, p] + sgn * length * line, pos[:, hip])
        shift = moved - pos[:, hip]
        for j in (hip, _H[f"{side}_knee"], _H[f"{side}_ankle"]):
            out[:, j] = pos[:, j] + shift
    return out


def build_bvh(
    seq3d: PoseSequence3D, units: str = "cm", up_axis: str = "y", preset: str | BvhPreset = "h36m"
) -> BvhAnimation:
    """Everything a BVH file holds for ``seq3d`` (any layout convertible to H36M-17; camera coords are turned
    to Y up as seen by a level camera), with the joint names, hierarchy and rest pose of ``preset`` (see
    ``bvh_presets``). See the module docstring."""
    if isinstance(preset, str):
        if preset not in PRESETS:
            raise PoseDataError(f"unknown BVH preset {preset!r}; known: {', '.join(PRESETS)}", where="BVH preset")
        preset = PRESETS[preset]
    joints = preset.joints
    if units not in BVH_UNITS:
        raise PoseDataError(f"unknown BVH units {units!r}; known: {', '.join(BVH_UNITS)}", where="units")
    if up_axis not in UP_AXES:
        raise PoseDataError(f"unknown up axis {up_axis!r}; known: {', '.join(UP_AXES)}", where="up axis")
    raw = _to_y_up_metres(seq3d)
    lengths = bone_lengths(raw, symmetric=True)
    pos = normalize_bone_lengths(raw, lengths=lengths)
    if preset.straight_hips:
        pos = _straighten_hips(pos)
    glob = global_rotations(pos, joints)
    local = np.empty_like(glob)
    offsets = np.zeros((len(joints), 3))
    end_sites = []
    for k, joint in enumerate(joints):
        if joint.parent < 0:
            local[:, k] = glob[:, k]
            continue
        local[:, k] = np.swapaxes(glob[:, joint.parent], -1, -2) @ glob[:, k]
        if joint.offset_dir is not None:  # None: at the parent's place (zero offset)
            offsets[k] = lengths[joint.h36m] * joint.offset_dir
        if joint.end_site is not None:
            bone, share, direction = joint.end_site
            end_sites.append((k, share * lengths[bone] * direction))
    conv = np.eye(3) if up_axis == "y" else Y_TO_Z_UP
    scale = BVH_UNITS[units]
    local = conv @ local @ conv.T
    with warnings.catch_warnings():  # gimbal lock is harmless here: any valid triple reproduces the matrix
        warnings.simplefilter("ignore", UserWarning)
        euler = Rotation.from_matrix(local.reshape(-1, 3, 3)).as_euler(EULER_ORDER, degrees=True)
    euler = _unwrap_euler(euler.reshape(len(pos), len(joints), 3))
    return BvhAnimation(
        joint_names=preset.joint_names,
        parents=preset.parents,
        offsets=scale * offsets @ conv.T,
        end_sites=[(k, scale * conv @ off) for k, off in end_sites],
        root_positions=scale * pos[:, 0] @ conv.T,
        euler_deg=euler,
        frame_time=1.0 / seq3d.fps,
        target_positions=scale * pos @ conv.T,
        units=units,
        up_axis=up_axis,
        preset=preset.name,
    )


def _fmt(v: float) -> str:
    s = f"{v:.6f}"
    return "0.000000" if s == "-0.000000" else s


def bvh_text(anim: BvhAnimation) -> str:
    """The BVH file text of ``anim`` (tabs, LF line ends)."""
    lines = ["HIERARCHY"]
    children: dict[int, list[int]] = {}
    for k, p in enumerate(anim.parents):
        children.setdefault(p, []).append(k)
    ends = dict(anim.end_sites)

    def emit(k: int, depth: int) -> None:
        ind = "\t" * depth
        root = anim.parents[k] < 0
        lines.append(f"{ind}{'ROOT' if root else 'JOINT'} {anim.joint_names[k]}")
        lines.append(f"{ind}{{")
        lines.append(f"{ind}\tOFFSET {' '.join(_fmt(v) for v in anim.offsets[k])}")
        channels = ROOT_CHANNELS if root else JOINT_CHANNELS
        lines.append(f"{ind}\tCHANNELS {len(channels)} {' '.join(channels)}")
        for c in children.get(k, []):
            emit(c, depth + 1)
        if k in ends:
            lines.extend([f"{ind}\tEnd Site", f"{ind}\t{{", f"{ind}\t\tOFFSET {' '.join(_fmt(v) for v in ends[k])}"])
            lines.append(f"{ind}\t}}")
        lines.append(f"{ind}}}")

    for root in children.get(-1, []):
        emit(root, 0)
    lines += ["MOTION", f"Frames: {len(anim.root_positions)}", f"Frame Time: {anim.frame_time:.10g}"]
    values = np.concatenate([anim.root_positions, anim.euler_deg.reshape(len(anim.euler_deg), -1)], axis=1)
    lines += [" ".join(_fmt(v) for v in row) for row in values]
    return "\n".join(lines) + "\n"


def write_bvh(
    path: str | os.PathLike,
    seq3d: PoseSequence3D,
    units: str = "cm",
    up_axis: str = "y",
    preset: str | BvhPreset = "h36m",
) -> BvhAnimation:
    """Write ``seq3d`` as a BVH file (atomic) and return what was written (``target_positions`` included)."""
    anim = build_bvh(seq3d, units, up_axis, preset)
    with atomic_write(path) as f:
        f.write(bvh_text(anim))
    return anim


__all__ = ["BVH_JOINTS", "BVH_JOINT_NAMES", "BvhAnimation", "EULER_ORDER", "build_bvh", "bvh_text", "write_bvh"]
