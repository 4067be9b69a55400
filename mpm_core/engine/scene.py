"""What the app's 3D view draws: a result in a y-up display frame, its floor, the root's trail and a ghost.

The display frame is always y up, metres, so the viewport needs no knowledge of coordinate conventions:

* ``world``: the export's world frame (``engine.placement``: floor at y = 0 under the soles, global trajectory,
  foot locking), exactly what a world-frame export writes with the same options;
* ``camera``: the root-relative camera frame turned half a turn about x, ``(x, y, z) -> (x, -y, -z)`` (y up,
  the camera looking along -z, as in OpenGL); the floor is drawn under the lowest joint of the sequence.

A reference ("ghost") is drawn in the same frame: the truth of the bundled sample, the input of a 3D completion,
or the motion a virtual camera looked at. The app's preview while a mask is dragged keeps the last full scene's
world placement and re-places only the rows the re-lift touched (``preview_scene``: the placement's
``update_rows``); the full refit (trajectory and floor over the whole sequence) runs after the drag.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from mpm_core.engine.placement import WorldPlacement, place_in_world, relative_pose
from mpm_core.engine.probe import ProbeErrors, ProjectedMotion, probe_errors
from mpm_core.errors import PoseDataError
from mpm_core.export.options import ExportOptions
from mpm_core.skeleton import H36M_JOINTS

PELVIS = H36M_JOINTS.index("pelvis")
DISPLAY_COORDS = ("world", "camera")
#: Camera frame (y down, z forward) to the display frame (y up): half a turn about x.
CAMERA_TO_DISPLAY = np.array([1.0, -1.0, -1.0], np.float32)


@dataclass
class Scene:
    """One result ready to draw.

    Fields:
        poses: ``(T, 17, 3)`` float32 metres, display frame (y up).
        floor_y: height of the floor in the display frame (metres).
        trail: ``(T, 3)`` float32 the pelvis path in the display frame.
        coords: "world" or "camera" (see the module docstring).
        floor_method: how the floor was found, for the status bar (e.g. "ground_plane", "lowest joint").
        reference: ``(T, 17, 3)`` float32 ghost in the same frame (NaN where the truth has no joint), or None.
        errors: the lift's errors against a virtual camera's truth (3D input probed), or None.
        rotation / offset: the camera-to-display map of this scene's placement, ``display = (camera_abs @
            rotation.T + offset)``; ``root_camera`` ``(T, 3)`` the root in the camera frame (metres). These let a
            preview place new root-relative rows without a refit (``with_rows``).
    """

    poses: np.ndarray
    floor_y: float
    trail: np.ndarray
    coords: str
    floor_method: str = ""
    reference: np.ndarray | None = None
    errors: ProbeErrors | None = None
    rotation: np.ndarray | None = None
    offset: np.ndarray | None = None
    root_camera: np.ndarray | None = None
    placement: WorldPlacement | None = None

    @property
    def num_frames(self) -> int:
        return int(self.poses.shape[0])

    @property
    def nbytes(self) -> int:
        arrays = (self.poses, self.trail, self.reference, self.root_camera)
        return int(sum(a.nbytes for a in arrays if a is not None))

    def with_rows(self, lo: int, relative_camera: np.ndarray) -> Scene:
        """A copy with rows ``lo:lo+n`` replaced by root-relative camera-frame poses ``(n, 17, 3)`` metres,
        placed with this scene's root path and camera-to-display map (no refit; for live previews)."""
        if self.rotation is None or self.root_camera is None or self.offset is None:
            raise PoseDataError("this scene has no placement to reuse")
        hi = lo + len(relative_camera)
        if not 0 <= lo < hi <= self.num_frames:
            raise PoseDataError(f"rows {lo}-{hi - 1} outside the scene's frames 0-{self.num_frames - 1}")
        absolute = np.asarray(relative_camera, np.float64) + self.root_camera[lo:hi, None, :]
        poses = self.poses.copy()
        poses[lo:hi] = absolute @ self.rotation.T + self.offset
        return dataclasses.replace(self, poses=poses)


def _check_coords(coords: str) -> None:
    if coords not in DISPLAY_COORDS:
        raise PoseDataError(f"unknown display coords {coords!r}; known: {', '.join(DISPLAY_COORDS)}")


def _lowest(poses: np.ndarray) -> float:
    finite = poses[..., 1][np.isfinite(poses[..., 1])]
    return float(finite.min()) if finite.size else 0.0


def scene_for_reconstruction(
    recon, options: ExportOptions, reference_camera: np.ndarray | None = None, coords: str | None = None
) -> Scene:
    """The scene of a 2D lift, drawn as the export writes it with ``options`` (clean-up, height, trajectory,
    floor, foot locking: ``engine.placement``) in ``coords`` (default ``options.coords``).

    ``reference_camera``: optional ``(T, 17, 3)`` metres truth in the input camera's frame (absolute or
    root-relative: it is root-aligned to the estimate), drawn as the ghost.
    """
    coords = options.coords if coords is None else coords
    _check_coords(coords)
    options = dataclasses.replace(options, coords=coords)
    ghost_rel = None
    if reference_camera is not None:
        ref = np.asarray(reference_camera, np.float64)
        if ref.shape != np.shape(recon.poses_3d):
            raise PoseDataError(f"reference has shape {ref.shape}, the result {np.shape(recon.poses_3d)}")
        ghost_rel = ref - ref[:, PELVIS : PELVIS + 1]
    if coords == "camera":
        rel = relative_pose(recon, options)
        rotation = np.diag(CAMERA_TO_DISPLAY).astype(np.float64)
        root, offset = np.zeros((len(rel), 3)), np.zeros(3)
        poses = (rel * CAMERA_TO_DISPLAY).astype(np.float32)
        floor, method, placement = _lowest(poses), "lowest joint (camera frame)", None
    else:
        placement = place_in_world(recon, options)
        rotation, offset = placement.transform.rotation, placement.transform.translation
        root = placement.root_camera
        poses = placement.poses.astype(np.float32)
        floor, method = 0.0, placement.floor_method
    reference = None
    if ghost_rel is not None:
        reference = ((ghost_rel + root[:, None, :]) @ rotation.T + offset).astype(np.float32)
    return Scene(
        poses=poses,
        floor_y=floor,
        trail=poses[:, PELVIS].copy(),
        coords=coords,
        floor_method=method,
        reference=reference,
        rotation=np.asarray(rotation, np.float64),
        offset=np.asarray(offset, np.float64),
        root_camera=np.asarray(root, np.float64),
        placement=placement,
    )


def preview_scene(scene: Scene, recon, lo: int, hi: int, options: ExportOptions) -> Scene:
    """A live preview of re-lifted rows ``lo:hi``: the world placement's cheap ``update_rows`` (up, floor, bone
    lengths and height kept; the root re-solved on those rows), or the camera-frame rows placed as they are."""
    if hi <= lo:
        return scene
    if scene.placement is not None:
        placement = scene.placement.update_rows(recon, lo, hi, dataclasses.replace(options, coords="world"))
        poses = placement.poses.astype(np.float32)
        return dataclasses.replace(
            scene, poses=poses, trail=poses[:, PELVIS].copy(), placement=placement, root_camera=placement.root_camera
        )
    return scene.with_rows(lo, np.asarray(recon.poses_3d[lo:hi], np.float64))


def scene_for_probe(recon, projected: ProjectedMotion, coords: str) -> Scene:
    """The scene of a lift of a virtual camera's view: the prediction root-aligned to the truth, over the truth.

    ``world``: the truth's own world frame (the virtual camera is known, so the prediction is placed at the
    truth's pelvis through it); ``camera``: both root-relative in the display frame. ``errors`` holds the
    lift's MPJPE / P-MPJPE against the truth (root-aligned, camera frame, as ``evaluate`` compares).
    """
    _check_coords(coords)
    pred_rel = np.asarray(recon.poses_3d, np.float64)
    errors = probe_errors(pred_rel, projected)
    truth = projected.truth_camera.astype(np.float64)
    truth_root = truth[:, PELVIS]
    truth_ghost = np.where(projected.truth_visible[..., None], truth, np.nan)
    if coords == "camera":
        rotation, offset, root = np.diag(CAMERA_TO_DISPLAY).astype(np.float64), np.zeros(3), np.zeros_like(truth_root)
    else:
        # display = world = camera @ R + position (the camera's rotation rows are its axes in the world).
        rotation, offset, root = projected.camera.rotation.T.astype(np.float64), projected.camera.position, truth_root
    poses = ((pred_rel + root[:, None, :]) @ rotation.T + offset).astype(np.float32)
    ghost_rel = truth_ghost - (truth_root[:, None, :] - root[:, None, :])
    reference = (ghost_rel @ rotation.T + offset).astype(np.float32)
    floor = _lowest(reference) if coords == "world" else min(_lowest(poses), _lowest(reference))
    return Scene(
        poses=poses,
        floor_y=floor,
        trail=poses[:, PELVIS].copy(),
        coords=coords,
        floor_method="the truth's lowest joint",
        reference=reference,
        errors=errors,
        rotation=rotation,
        offset=np.asarray(offset, np.float64),
        root_camera=np.asarray(root, np.float64),
    )


def scene_for_3d(poses: np.ndarray, source_coords: str, coords: str, reference: np.ndarray | None = None) -> Scene:
    """The scene of a 3D sequence (a completion result): ``poses`` ``(T, 17, 3)`` metres in ``source_coords``
    ("world", y up, or "camera"); ``reference`` in the same frame (NaN where unknown).

    ``coords="camera"`` of world data draws it root-relative (pelvis at the origin), as the model sees it.
    """
    _check_coords(coords)
    p = np.asarray(poses, np.float64)
    ref = None if reference is None else np.asarray(reference, np.float64)
    if source_coords == "camera":
        p, ref = p * CAMERA_TO_DISPLAY, None if ref is None else ref * CAMERA_TO_DISPLAY
    if coords == "camera":
        root = p[:, PELVIS : PELVIS + 1].copy()
        p = p - root
        ref = None if ref is None else ref - root
    poses_out = p.astype(np.float32)
    ref_out = None if ref is None else ref.astype(np.float32)
    lows = [_lowest(poses_out)] + ([] if ref_out is None else [_lowest(ref_out)])
    return Scene(
        poses=poses_out,
        floor_y=min(lows),
        trail=poses_out[:, PELVIS].copy(),
        coords=coords,
        floor_method="lowest joint",
        reference=ref_out,
    )
