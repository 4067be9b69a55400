"""Where the lifted person stands in the world: the one place the export and the app get world poses from.

``place_in_world(recon, options)`` runs, in order:

1. the clean-up the export options ask for on the root-relative camera-frame pose: smoothing, then constant bone
   lengths (on by default for world output; medians over the frames where each bone was seen);
2. the camera prior for up (``world.body_up``: the trunk of the seen frames) and, where the hips were hidden and
   the model's guess lays the body down, the guessed lower body turned upright (``upright``);
3. the performer's height (``options.height_m``): the pose is scaled so its stature (``stature``) matches; the
   trajectory then scales with it (a pinhole camera sees the same image);
4. the root trajectory in the camera (``trajectory.fit_root_path``: robust, confidence-weighted, bounded speed);
5. the world frame (``world.camera_to_world``: up refined by planted feet, the floor at the soles);
6. foot contacts (``contacts``) and, when on (default for world output), foot locking (``foot_lock``);
7. optionally the start turned to face +Z, and the root held in place.

``export.build_output_sequence`` calls it, so what the app shows is what the export writes.

``WorldPlacement.update_rows(recon, lo, hi, options)`` is the cheap path for a live preview (the user drags a
mask and the engine re-lifts a few windows): the world transform (up, floor), the bone lengths and the height
scale are kept and only rows ``lo:hi`` are redone, with a margin on each side for the trajectory smoothing and
the foot contacts, blended into the unchanged neighbours. The full ``place_in_world`` runs again when the drag
ends.

Arrays: ``(T, 17, 3)`` metres in H36M-17 order. World frame: Y up, floor at y = 0 (the sole plane). Camera frame:
x right, y down, z forward.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mpm_core.engine.cleanup import bone_lengths, lowpass_filter, normalize_bone_lengths, one_euro_filter
from mpm_core.engine.contacts import detect_contacts
from mpm_core.engine.foot_lock import lock_feet
from mpm_core.engine.grounding import ground_body
from mpm_core.engine.stature import ANKLE_HEIGHT_RATIO, height_scale, stature
from mpm_core.engine.trajectory import DEFAULT_FOV_DEG, CameraIntrinsics, fit_root_path, limit_speed
from mpm_core.engine.upright import upright_hidden_lower_body
from mpm_core.engine.world import LEVEL_UP, WorldTransform, body_up, camera_to_world
from mpm_core.errors import PoseDataError
from mpm_core.skeleton import H36M_JOINTS

if TYPE_CHECKING:  # the export options live in mpm_core.export, which imports this module
    from mpm_core.engine.result import Reconstruction
    from mpm_core.export.options import ExportOptions

_J = {name: i for i, name in enumerate(H36M_JOINTS)}
#: Weight of a model-completed 2D joint in the trajectory fit (seen joints weigh their confidence, up to 1).
COMPLETED_2D_WEIGHT = 0.2
#: Frames redone on each side of an updated row range (seconds), blended into the old rows over the outer half;
#: the smoothing and the contacts get as much again as context. Long enough for the depth smoother to settle.
UPDATE_MARGIN_S = 1.5
#: Facing at the start: the hip and shoulder lines over this long (seconds) give the performer's forward.
FACING_SPAN_S = 0.5


@dataclass
class WorldPlacement:
    """A reconstruction placed in the world.

    Fields:
        poses: ``(T, 17, 3)`` float64 metres, world frame (Y up, floor y = 0 at the soles): what a world export
            writes (feet locked and root in place when the options say so).
        root_camera: ``(T, 3)`` float64 metres, camera frame: the pelvis translation of each frame.
        transform: the camera-to-world transform (``world = camera @ R.T + t``); ``transform.apply(relative +
            root_camera)`` gives ``poses`` except where feet are locked or the root is held in place.
        floor_method: how up and the floor were found, in words (``transform.description``; file headers).
        contacts: ``(T, 2)`` bool foot contacts ``[left, right]`` (world output), else None.
        relative: ``(T, 17, 3)`` float64 metres, camera frame, root-relative: the cleaned-up, upright-checked and
            height-scaled pose the root translation is added to.
        fit_weights: ``(T, 17)`` float64 the 2D weights the trajectory fit used.
        confidence: ``(T,)`` in [0, 1] how much each frame's own root solve was trusted.
        scale: the height scale applied (1 without ``height_m``).
        stature_m: the stature of the placed skeleton (metres; see ``engine.stature``).
        up_prior: ``(3,)`` camera frame: the camera prior for up (before the ground refinement).
        lengths: ``(17,)`` metres the bone lengths imposed (before the height scale), None when not normalised.
        root_solves: ``((T, 3), (T,) bool)`` the trajectory's per-frame solves and their validity (reused by
            ``update_rows`` outside the updated rows).
    """

    poses: np.ndarray
    root_camera: np.ndarray
    transform: WorldTransform
    floor_method: str
    contacts: np.ndarray | None
    relative: np.ndarray
    fit_weights: np.ndarray
    confidence: np.ndarray
    scale: float = 1.0
    stature_m: float = 0.0
    up_prior: np.ndarray | None = None
    lengths: np.ndarray | None = None
    root_solves: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def num_frames(self) -> int:
        return int(self.poses.shape[0])

    @property
    def ankle_height(self) -> float:
        """A planted ankle's height above the floor (metres)."""
        return ANKLE_HEIGHT_RATIO * self.stature_m

    def update_rows(self, recon: Reconstruction, lo: int, hi: int, options: ExportOptions) -> WorldPlacement:
        """A new placement with rows ``lo:hi`` of ``recon`` (a re-lift of the same input) placed again.

        The world transform, bone lengths and height scale are kept; rows ``lo:hi`` and a margin on each side
        take ``recon``'s pose and a new root, blended into the old rows over the outer half of the margin; other
        rows are unchanged. Costs a few milliseconds for ~100 rows, whatever the sequence length.
        """
        t = self.num_frames
        if recon.num_frames != t:
            raise PoseDataError(f"reconstruction has {recon.num_frames} frames, the placement {t}")
        if not (0 <= lo < hi <= t):
            raise PoseDataError(f"row range {lo}-{hi} outside 0-{t}")
        fps = float(recon.fps)
        margin = max(2, int(round(UPDATE_MARGIN_S * fps)))
        a, b = max(0, lo - margin), min(t, hi + margin)
        ca, cb = max(0, a - margin), min(t, b + margin)  # context for the filters and contacts, not written
        rows = slice(ca, cb)
        prior = self.up_prior if self.up_prior is not None else self.transform.up_camera
        rel, _, weights = _prepared_pose(recon, options, prior, rows, self.lengths)
        rel *= self.scale
        hidden = np.asarray(recon.hidden, bool)[rows]
        known = None
        if self.root_solves is not None:
            fresh = np.zeros(cb - ca, bool)
            fresh[lo - ca : hi - ca] = True
            known = (self.root_solves[0][ca:cb], self.root_solves[1][ca:cb], fresh)
        fit = fit_root_path(
            rel,
            np.asarray(recon.completed_2d, np.float64)[rows],
            np.ones(hidden.shape, bool),
            camera_for(recon, options),
            fps,
            weights,
            ~hidden,
            known=known,
        )
        inner = slice(a - ca, b - ca)
        grounded = _bounded(ground_body(self.transform.apply(rel + fit.path[:, None, :]), fps, self.ankle_height), fps)
        root_ctx = self.transform.to_camera(grounded[:, 0])
        blend = _blend_weights(a, b, t, margin // 2)[:, None]
        new_root = self.root_camera.copy()
        new_rel = self.relative.copy()
        new_root[a:b] = blend * root_ctx[inner] + (1.0 - blend) * self.root_camera[a:b]
        new_rel[a:b] = blend[..., None] * rel[inner] + (1.0 - blend[..., None]) * self.relative[a:b]
        free = self.transform.apply(new_rel[ca:cb] + new_root[ca:cb, None, :])
        contacts = None
        if self.contacts is not None:
            ctx_contacts = detect_contacts(free, fps, self.ankle_height)
            contacts = self.contacts.copy()
            contacts[a:b] = ctx_contacts[inner]
            ctx_contacts[: a - ca] = self.contacts[ca:a]  # the context keeps its old contacts
            ctx_contacts[b - ca :] = self.contacts[b:cb]
            if options.lock_feet:
                free = lock_feet(free, ctx_contacts, fps, self.ankle_height)
        if options.root_motion == "in_place":
            free[..., [0, 2]] -= free[:, :1, [0, 2]]
        poses = self.poses.copy()
        poses[a:b] = free[inner]
        fit_weights = self.fit_weights.copy()
        fit_weights[a:b] = weights[inner]
        confidence = self.confidence.copy()
        confidence[a:b] = fit.confidence[inner]
        solves = None
        if self.root_solves is not None:
            solves = (self.root_solves[0].copy(), self.root_solves[1].copy())
            solves[0][lo:hi], solves[1][lo:hi] = fit.raw[lo - ca : hi - ca], fit.valid[lo - ca : hi - ca]
        return dataclasses.replace(
            self,
            poses=poses,
            root_camera=new_root,
            relative=new_rel,
            contacts=contacts,
            fit_weights=fit_weights,
            confidence=confidence,
            root_solves=solves,
        )


def camera_for(recon: Reconstruction, options: ExportOptions) -> CameraIntrinsics:
    """The options' intrinsics, else a camera from the image size and the field of view."""
    if options.intrinsics is not None:
        return options.intrinsics
    w, h = recon.image_size
    return CameraIntrinsics.from_image_size(w, h, options.fov_deg if options.fov_deg is not None else DEFAULT_FOV_DEG)


def seen_lengths(poses: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """``(17,)`` bone lengths (metres): medians over the frames where both ends were seen, a twin's where a
    bone was never seen, the median over all frames where neither twin was (left/right symmetric)."""
    seen = bone_lengths(poses, visible=~np.asarray(hidden, bool))  # 0 for a bone whose twins were never seen
    every = bone_lengths(poses)
    return np.where(seen > 0, seen, every)


def relative_pose(
    recon: Reconstruction, options: ExportOptions, rows: slice | None = None, lengths: np.ndarray | None = None
) -> np.ndarray:
    """``(T, 17, 3)`` root-relative camera-frame pose after the clean-up ``options`` ask for (rows: a range;
    ``lengths``: bone lengths to impose instead of the sequence's own)."""
    poses = np.asarray(recon.poses_3d, np.float64)
    hidden = np.asarray(recon.hidden, bool)
    if rows is not None:
        poses, hidden = poses[rows], hidden[rows]
    fps = float(recon.fps)
    if options.smooth == "one_euro":
        poses = one_euro_filter(poses, fps)
    elif options.smooth == "lowpass":
        poses = lowpass_filter(poses, fps, options.smooth_cutoff_hz)
    if options.smooth is not None:
        poses = poses - poses[:, :1]  # keep the pelvis exactly at the origin
    if options.normalize_bones:
        poses = normalize_bone_lengths(poses, lengths=seen_lengths(poses, hidden) if lengths is None else lengths)
    return poses


def _fit_weights(recon: Reconstruction, rows: slice | None = None) -> np.ndarray:
    """``(T, 17)`` 2D weights of the trajectory fit: the input's confidence (up to 1) where the model saw a joint,
    a low weight on the model's own 2D where it filled one in (so frames with most joints hidden are placed)."""
    hidden = np.asarray(recon.hidden, bool)
    scores = np.asarray(recon.input.scores, np.float64)
    if rows is not None:
        hidden, scores = hidden[rows], scores[rows]
    return np.where(hidden, COMPLETED_2D_WEIGHT, np.clip(scores, 0.0, 1.0))


def _prepared_pose(
    recon: Reconstruction,
    options: ExportOptions,
    prior: np.ndarray,
    rows: slice | None = None,
    lengths: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(relative (T, 17, 3), moved (T, 17), fit weights (T, 17))``: the cleaned-up pose with guessed lower
    bodies turned upright about ``prior``; turned joints get no weight in the trajectory fit."""
    rel = relative_pose(recon, options, rows, lengths)
    hidden = np.asarray(recon.hidden, bool)
    if rows is not None:
        hidden = hidden[rows]
    rel, moved = upright_hidden_lower_body(rel, hidden, prior)
    weights = np.where(moved, 0.0, _fit_weights(recon, rows))
    return rel, moved, weights


def _blend_weights(a: int, b: int, t: int, ramp: int) -> np.ndarray:
    """``(b - a,)`` blend weights of new rows ``a:b`` of a ``t``-row sequence: a smooth ramp from 0 at ``a`` (and
    at ``b - 1``) up to 1 over ``ramp`` rows, 1 in between; no ramp at an end of the sequence (nothing to meet)."""
    rows = np.arange(a, b, dtype=np.float64)
    ramp = max(ramp, 1)
    left = np.ones_like(rows) if a == 0 else np.clip((rows - a) / ramp, 0.0, 1.0)
    right = np.ones_like(rows) if b == t else np.clip((b - 1 - rows) / ramp, 0.0, 1.0)
    x = np.minimum(left, right)
    return x * x * (3.0 - 2.0 * x)  # smoothstep


def _bounded(world: np.ndarray, fps: float) -> np.ndarray:
    """``world`` moved per frame so the pelvis never exceeds ``MAX_ROOT_SPEED_M_S``."""
    pelvis = world[:, 0]
    return world + (limit_speed(pelvis, fps) - pelvis)[:, None, :]


def _facing_yaw(world: np.ndarray, fps: float) -> float:
    """Turn about up (radians, for ``WorldTransform.turned``) that makes the performer face +Z at the start."""
    n = max(1, int(round(FACING_SPAN_S * fps)))
    w = world[:n]
    left = (w[:, _J["left_hip"]] - w[:, _J["right_hip"]]) + (w[:, _J["left_shoulder"]] - w[:, _J["right_shoulder"]])
    left = left.mean(axis=0)
    forward = np.cross(left, [0.0, 1.0, 0.0])  # left x up = forward (Y up, right-handed)
    if np.hypot(forward[0], forward[2]) < 1e-9:
        return 0.0
    return math.atan2(-forward[0], forward[2])


def place_in_world(recon: Reconstruction, options: ExportOptions) -> WorldPlacement:
    """Place ``recon`` in the world as ``options`` say (the same code as ``export.build_output_sequence``)."""
    fps = float(recon.fps)
    hidden = np.asarray(recon.hidden, bool)
    seen = ~hidden
    base = relative_pose(recon, options)
    lengths = seen_lengths(base, hidden) if options.normalize_bones else None
    body, _ = body_up(base, seen)
    prior = LEVEL_UP.copy() if body is None else body
    rel, _, weights = _prepared_pose(recon, options, prior, lengths=lengths)
    scale = 1.0
    if options.height_m is not None:
        scale = height_scale(rel, options.height_m, seen)
        rel = rel * scale
    fit = fit_root_path(
        rel,
        np.asarray(recon.completed_2d, np.float64),
        np.ones(hidden.shape, bool),
        camera_for(recon, options),
        fps,
        weights,
        seen,
    )
    stature_m = stature(rel, seen)
    world, transform = camera_to_world(
        rel + fit.path[:, None, :],
        seen=seen,
        fps=fps,
        ankle_height=ANKLE_HEIGHT_RATIO * stature_m,
        up_prior=body,
        sink_guard=False,
    )
    if options.face_z:
        transform = transform.turned(_facing_yaw(world, fps))
        world = transform.apply(rel + fit.path[:, None, :])
    world = _bounded(ground_body(world, fps, transform.ankle_height), fps)
    root = transform.to_camera(world[:, 0])
    contacts = detect_contacts(world, fps, transform.ankle_height)
    if options.lock_feet:
        world = lock_feet(world, contacts, fps, transform.ankle_height)
    if options.root_motion == "in_place":
        world[..., [0, 2]] -= world[:, :1, [0, 2]]
    return WorldPlacement(
        poses=world,
        root_camera=root,
        transform=transform,
        floor_method=transform.description,
        contacts=contacts,
        relative=rel,
        fit_weights=weights,
        confidence=fit.confidence,
        scale=scale,
        stature_m=stature_m,
        up_prior=prior,
        lengths=lengths,
        root_solves=(fit.raw, fit.valid),
    )


__all__ = [
    "COMPLETED_2D_WEIGHT",
    "WorldPlacement",
    "camera_for",
    "place_in_world",
    "relative_pose",
    "seen_lengths",
]
