"""Where the lifted person stands in the world: the one place the export and the app get world poses from.

``place_in_world(recon, options)`` runs, in order, the clean-up the export options ask for (smoothing, bone
lengths) on the root-relative camera-frame pose, the root trajectory in the camera (``engine.trajectory``), the
world frame (``engine.world``: up, floor) and returns a ``WorldPlacement``. ``export.build_output_sequence`` calls
it, so what the app shows is what the export writes.

``WorldPlacement.update_rows(recon, lo, hi, options)`` is the cheap path for a live preview (the user drags a
mask and the engine re-lifts a few windows): the world transform (up, floor) is kept and only the root on rows
``lo:hi`` is re-solved, with a margin that the trajectory smoothing needs, blended into the unchanged
neighbours. The full ``place_in_world`` runs again when the drag ends.

Arrays: ``(T, 17, 3)`` metres in H36M-17 order. World frame: Y up, floor at y = 0. Camera frame: x right, y down,
z forward.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mpm_core.engine.cleanup import lowpass_filter, normalize_bone_lengths, one_euro_filter
from mpm_core.engine.trajectory import (
    DEFAULT_FOV_DEG,
    DEFAULT_TRAJECTORY_SMOOTH_HZ,
    CameraIntrinsics,
    estimate_root_translation,
    interpolate_invalid,
    solve_root_translation,
)
from mpm_core.engine.world import WorldTransform, camera_to_world
from mpm_core.errors import PoseDataError

if TYPE_CHECKING:  # the export options live in mpm_core.export, which imports this module
    from mpm_core.engine.result import Reconstruction
    from mpm_core.export.options import ExportOptions

#: Weight of a model-completed 2D joint in the trajectory fit (seen joints weigh their confidence, up to 1).
COMPLETED_2D_WEIGHT = 0.2
#: Frames re-solved on each side of an updated row range, and blended into the old path over the outer half:
#: about two seconds at 30 fps, long enough for the trajectory's low-pass to settle.
UPDATE_MARGIN_S = 2.0


@dataclass
class WorldPlacement:
    """A reconstruction placed in the world.

    Fields:
        poses: ``(T, 17, 3)`` float64 metres, world frame (Y up, floor y = 0): what a world export writes.
        root_camera: ``(T, 3)`` float64 metres, camera frame: the pelvis translation of each frame.
        transform: the camera-to-world transform (``world = camera @ R.T + t``).
        floor_method: how the up direction and the floor were found, in words (goes into file headers).
        contacts: ``(T, 2)`` bool foot contacts ``[left, right]`` when computed, else None.
        relative: ``(T, 17, 3)`` float64 metres, camera frame, root-relative: the cleaned-up pose the root
            translation is added to.
        fit_weights: ``(T, 17)`` float64 the 2D weights the trajectory fit used.
    """

    poses: np.ndarray
    root_camera: np.ndarray
    transform: WorldTransform
    floor_method: str
    contacts: np.ndarray | None
    relative: np.ndarray
    fit_weights: np.ndarray

    @property
    def num_frames(self) -> int:
        return int(self.poses.shape[0])

    def update_rows(self, recon: Reconstruction, lo: int, hi: int, options: ExportOptions) -> WorldPlacement:
        """A new placement with the root re-solved on rows ``lo:hi`` of ``recon`` (a re-lift of the same input).

        The world transform is kept; the rows ``lo:hi`` and a margin on each side take ``recon``'s pose and a new
        root, blended into the old path over the outer half of the margin; other rows are unchanged.
        """
        t = self.num_frames
        if recon.num_frames != t:
            raise PoseDataError(f"reconstruction has {recon.num_frames} frames, the placement {t}")
        if not (0 <= lo < hi <= t):
            raise PoseDataError(f"row range {lo}-{hi} outside 0-{t}")
        fps = float(recon.fps)
        margin = max(1, int(round(UPDATE_MARGIN_S * fps)))
        a, b = max(0, lo - margin), min(t, hi + margin)
        ctx_a, ctx_b = max(0, a - margin), min(t, b + margin)  # context for the filters, not written
        rel_ctx = relative_pose(recon, options, rows=slice(ctx_a, ctx_b))
        weights_ctx = _fit_weights(recon)[ctx_a:ctx_b]
        root_ctx = _root_path(rel_ctx, recon, weights_ctx, options, rows=slice(ctx_a, ctx_b))
        blend = _blend_weights(a, b, t, margin // 2)  # (b - a,) 1 on lo:hi and the inner half-margins
        new_root = self.root_camera.copy()
        new_rel = self.relative.copy()
        inner = slice(a - ctx_a, b - ctx_a)
        new_root[a:b] = blend[:, None] * root_ctx[inner] + (1.0 - blend[:, None]) * self.root_camera[a:b]
        new_rel[a:b] = blend[:, None, None] * rel_ctx[inner] + (1.0 - blend[:, None, None]) * self.relative[a:b]
        poses = self.poses.copy()
        poses[a:b] = self.transform.apply(new_rel[a:b] + new_root[a:b, None, :])
        fit = self.fit_weights.copy()
        fit[a:b] = weights_ctx[inner]
        return dataclasses.replace(self, poses=poses, root_camera=new_root, relative=new_rel, fit_weights=fit)


def camera_for(recon: Reconstruction, options: ExportOptions) -> CameraIntrinsics:
    """The options' intrinsics, else a camera from the image size and the field of view."""
    if options.intrinsics is not None:
        return options.intrinsics
    w, h = recon.image_size
    return CameraIntrinsics.from_image_size(w, h, options.fov_deg if options.fov_deg is not None else DEFAULT_FOV_DEG)


def relative_pose(recon: Reconstruction, options: ExportOptions, rows: slice | None = None) -> np.ndarray:
    """``(T, 17, 3)`` root-relative camera-frame pose after the clean-up ``options`` ask for (rows: a range)."""
    poses = np.asarray(recon.poses_3d, np.float64)
    if rows is not None:
        poses = poses[rows]
    fps = float(recon.fps)
    if options.smooth == "one_euro":
        poses = one_euro_filter(poses, fps)
    elif options.smooth == "lowpass":
        poses = lowpass_filter(poses, fps, options.smooth_cutoff_hz)
    if options.smooth is not None:
        poses = poses - poses[:, :1]  # keep the pelvis exactly at the origin
    if options.bone_normalize:
        poses = normalize_bone_lengths(poses)
    return poses


def _fit_weights(recon: Reconstruction) -> np.ndarray:
    """``(T, 17)`` 2D weights of the trajectory fit: the input's confidence where the model saw a joint, a low
    weight on the model's own 2D where it filled one in (so frames with most joints hidden are still placed)."""
    hidden = np.asarray(recon.hidden, bool)
    return np.where(hidden, COMPLETED_2D_WEIGHT, recon.input.scores).astype(np.float64)


def _root_path(
    relative: np.ndarray, recon: Reconstruction, weights: np.ndarray, options: ExportOptions, rows: slice | None = None
) -> np.ndarray:
    """``(T, 3)`` camera-frame root translation for ``relative`` (rows: the range of ``recon`` it covers)."""
    keypoints = np.asarray(recon.completed_2d, np.float64)
    if rows is not None:
        keypoints = keypoints[rows]
    camera = camera_for(recon, options)
    if rows is None:
        return estimate_root_translation(
            relative, keypoints, np.ones(weights.shape, bool), camera, fps=float(recon.fps), scores=weights
        )
    sol, valid = solve_root_translation(relative, keypoints, np.ones(weights.shape, bool), camera, weights)
    if not valid.any():
        raise PoseDataError("cannot place the person in the camera: no frame in the updated rows can be solved")
    path = interpolate_invalid(sol, valid)
    path = lowpass_filter(path[:, None, :], float(recon.fps), DEFAULT_TRAJECTORY_SMOOTH_HZ)[:, 0, :]
    return path


def _blend_weights(a: int, b: int, t: int, ramp: int) -> np.ndarray:
    """``(b - a,)`` blend weights of new rows ``a:b`` of a ``t``-row sequence: a smooth ramp from 0 at ``a`` (and
    at ``b - 1``) up to 1 over ``ramp`` rows, 1 in between; no ramp at an end of the sequence (nothing to meet)."""
    rows = np.arange(a, b, dtype=np.float64)
    ramp = max(ramp, 1)
    left = np.ones_like(rows) if a == 0 else np.clip((rows - a) / ramp, 0.0, 1.0)
    right = np.ones_like(rows) if b == t else np.clip((b - 1 - rows) / ramp, 0.0, 1.0)
    x = np.minimum(left, right)
    return x * x * (3.0 - 2.0 * x)  # smoothstep


def place_in_world(recon: Reconstruction, options: ExportOptions) -> WorldPlacement:
    """Place ``recon`` in the world as ``options`` say (the same code as ``export.build_output_sequence``)."""
    relative = relative_pose(recon, options)
    weights = _fit_weights(recon)
    root = _root_path(relative, recon, weights, options)
    poses, transform = camera_to_world(relative + root[:, None, :])
    method = transform.method + (f" ({transform.reason})" if transform.reason else "")
    return WorldPlacement(poses, root, transform, method, None, relative, weights)


__all__ = ["COMPLETED_2D_WEIGHT", "WorldPlacement", "camera_for", "place_in_world", "relative_pose"]
