"""Probe a lifter with 3D motion: "what would a camera see", and how well is it lifted back.

A 3D sequence (world frame, y up, metres; BVH, ASF/AMC, 3D CSV/NPZ) is projected through a virtual pinhole
camera placed around the motion (azimuth, elevation, distance, field of view). The projected 2D is what a perfect
2D detector would give; lifting it and comparing with the truth, root-aligned in the virtual camera's frame, is
the protocol ``mpm-studio-cli evaluate`` uses on the validation split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mpm_core.errors import PoseDataError
from mpm_core.metrics import MM_PER_M, procrustes_align
from mpm_core.model.cameras import PinholeCamera, focal_from_fov, rotation_from_angles
from mpm_core.sequence import PoseSequence2D, PoseSequence3D
from mpm_core.skeleton import H36M_JOINTS

_PELVIS = H36M_JOINTS.index("pelvis")
#: Joints closer to the camera plane than this (metres) cannot be projected; they come out missing.
MIN_PROJECTION_DEPTH_M = 0.05
#: Image of the virtual camera when not told otherwise (a landscape HD frame).
DEFAULT_IMAGE_SIZE = (1920, 1080)


@dataclass(frozen=True)
class VirtualCamera:
    """Where the virtual camera stands, relative to the motion's centre.

    Fields:
        azimuth_deg: heading around the world's y axis; 0 = the camera on the +z side looking along -z.
        elevation_deg: height angle; positive = above the centre, looking down.
        distance_m: distance from the motion's centre (the mean pelvis), metres (> 0).
        fov_deg: horizontal field of view, degrees in (0, 180).
        image_size: ``(width, height)`` pixels.
    """

    azimuth_deg: float = 0.0
    elevation_deg: float = 10.0
    distance_m: float = 4.5
    fov_deg: float = 55.0
    image_size: tuple[int, int] = DEFAULT_IMAGE_SIZE

    def __post_init__(self) -> None:
        if not (math.isfinite(self.distance_m) and self.distance_m > 0):
            raise PoseDataError(f"virtual camera distance {self.distance_m!r} m must be > 0")
        if not 0.0 < self.fov_deg < 180.0:
            raise PoseDataError(f"virtual camera field of view {self.fov_deg!r} degrees must be in (0, 180)")
        if not -89.0 <= self.elevation_deg <= 89.0:
            raise PoseDataError(f"virtual camera elevation {self.elevation_deg!r} degrees must be in [-89, 89]")
        w, h = self.image_size
        if w <= 0 or h <= 0:
            raise PoseDataError(f"virtual camera image size {self.image_size} must be positive")

    def pinhole(self, centre_world: np.ndarray) -> PinholeCamera:
        """The pinhole camera looking at ``centre_world`` ``(3,)`` (world metres, y up) from this placement."""
        rotation = rotation_from_angles(math.radians(self.azimuth_deg), math.radians(self.elevation_deg))
        position = np.asarray(centre_world, np.float64) - self.distance_m * rotation[2]
        w, h = self.image_size
        return PinholeCamera(rotation, position, focal_from_fov(self.fov_deg, w), (w / 2.0, h / 2.0), (int(w), int(h)))


@dataclass
class ProjectedMotion:
    """A 3D sequence seen by a virtual camera.

    Fields:
        seq2d: the projection, H36M-17 pixels (origin top-left); joints behind the camera or missing in the
            truth are not visible; scores 1 where visible.
        truth_camera: ``(T, 17, 3)`` metres, the truth in the camera frame (x right, y down, z forward), absolute.
        truth_visible: ``(T, 17)`` bool, joints the truth has.
        camera: the pinhole camera used.
    """

    seq2d: PoseSequence2D
    truth_camera: np.ndarray
    truth_visible: np.ndarray
    camera: PinholeCamera

    @property
    def truth_relative(self) -> np.ndarray:
        """``(T, 17, 3)`` metres: the truth in the camera frame with the pelvis at the origin (as the model's)."""
        return self.truth_camera - self.truth_camera[:, _PELVIS : _PELVIS + 1]

    def camera_to_world(self, points_camera: np.ndarray) -> np.ndarray:
        """World coordinates ``(..., 3)`` (the truth's frame) of camera-frame points ``(..., 3)``."""
        r = self.camera.rotation
        return (np.asarray(points_camera, np.float64) @ r + self.camera.position).astype(np.float32)


def project_motion(seq3d: PoseSequence3D, camera: VirtualCamera) -> ProjectedMotion:
    """Project a 3D sequence (any layout with an H36M-17 conversion, world frame y up) through ``camera``.

    The camera looks at the mean pelvis of the frames that have one. Raises ``PoseDataError`` for camera-frame
    input (there is no world to place a camera in) or when no frame has a pelvis.
    """
    seq = seq3d.to_h36m().in_metres()
    if seq.coords != "world":
        raise PoseDataError("a virtual camera needs world-frame 3D (y up); this sequence is camera-frame", seq.source)
    has_root = seq.visible[:, _PELVIS]
    if not has_root.any():
        raise PoseDataError("no frame has a pelvis to aim the virtual camera at", seq.source or None)
    centre = seq.keypoints[has_root, _PELVIS].mean(axis=0)
    pinhole = camera.pinhole(centre)
    cam = pinhole.world_to_camera(seq.keypoints)
    visible = seq.visible & (cam[..., 2] > MIN_PROJECTION_DEPTH_M)
    uv = pinhole.project(np.where(visible[..., None], cam, [0.0, 0.0, 1.0]))
    seq2d = PoseSequence2D(
        keypoints=uv,
        scores=visible.astype(np.float32),
        visible=visible,
        fps=seq.fps,
        layout="h36m17",
        source=seq.source,
        start_frame=seq.start_frame,
        image_size=pinhole.image_size,
    )
    return ProjectedMotion(seq2d, cam, seq.visible.copy(), pinhole)


@dataclass
class ProbeErrors:
    """How far a lift is from the truth, root-aligned in the virtual camera frame (millimetres).

    Fields:
        mpjpe_mm / p_mpjpe_mm: over every frame and joint the truth has (P-MPJPE: per-frame Procrustes).
        per_frame_mm: ``(T,)`` MPJPE of each frame (NaN where the frame has no joint).
        per_joint_mm: ``(17,)`` MPJPE of each joint over the sequence (NaN for a joint the truth never has).
        joint_error_mm: ``(T, 17)`` each joint's error in each frame (NaN where the truth has no joint).
    """

    mpjpe_mm: float
    p_mpjpe_mm: float
    per_frame_mm: np.ndarray
    per_joint_mm: np.ndarray
    joint_error_mm: np.ndarray


def probe_errors(pred_relative: np.ndarray, projected: ProjectedMotion) -> ProbeErrors:
    """Errors of ``pred_relative`` ``(T, 17, 3)`` metres (camera frame, pelvis at the origin) against the truth.

    Frames where the truth has no pelvis do not count (root alignment is undefined there).
    """
    pred = np.asarray(pred_relative, np.float64)
    truth = projected.truth_relative.astype(np.float64)
    if pred.shape != truth.shape:
        raise PoseDataError(f"prediction has shape {pred.shape}, truth {truth.shape}")
    valid = projected.truth_visible & projected.truth_visible[:, _PELVIS : _PELVIS + 1]
    if not valid.any():
        raise PoseDataError("the truth has no joint to compare with")
    err = np.linalg.norm(pred - truth, axis=-1) * MM_PER_M
    err = np.where(valid, err, np.nan)
    aligned = procrustes_align(pred, truth, valid)
    p_err = np.where(valid, np.linalg.norm(aligned - truth, axis=-1) * MM_PER_M, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        count_t = valid.sum(axis=1)
        count_j = valid.sum(axis=0)
        per_frame = np.where(count_t > 0, np.nansum(err, axis=1) / np.maximum(count_t, 1), np.nan)
        per_joint = np.where(count_j > 0, np.nansum(err, axis=0) / np.maximum(count_j, 1), np.nan)
    return ProbeErrors(
        mpjpe_mm=float(np.nansum(err) / valid.sum()),
        p_mpjpe_mm=float(np.nansum(p_err) / valid.sum()),
        per_frame_mm=per_frame.astype(np.float32),
        per_joint_mm=per_joint.astype(np.float32),
        joint_error_mm=err.astype(np.float32),
    )
