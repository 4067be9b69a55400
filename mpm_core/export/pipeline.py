"""From a reconstruction to the sequence that gets exported, and from that sequence to a file.

``build_output_sequence`` applies, in order: optional smoothing (on the root-relative pose), optional constant
bone lengths (after smoothing, so lengths stay exact), then for ``coords="world"`` the global trajectory
(``engine.trajectory``, fitted to the completed 2D: the input where the model saw it, the model's own 2D,
weighted low, where it filled a joint in) and the world frame (``engine.world``). The raw model output is never
modified (``recon.poses_3d`` stays as is).

``write_output`` picks the format from the file extension: ``.csv`` (wide; long with ``csv_long``), ``.npz``,
``.json``, ``.bvh``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from mpm_core.engine.cleanup import lowpass_filter, normalize_bone_lengths, one_euro_filter
from mpm_core.engine.trajectory import DEFAULT_FOV_DEG, CameraIntrinsics, estimate_root_translation
from mpm_core.engine.world import camera_to_world
from mpm_core.errors import PoseDataError
from mpm_core.export.bvh_writer import write_bvh
from mpm_core.export.csv_export import write_csv_long, write_csv_wide
from mpm_core.export.npz_json import write_json, write_npz
from mpm_core.export.options import ExportOptions
from mpm_core.sequence import PoseSequence3D

log = logging.getLogger(__name__)

#: Weight of a model-completed 2D joint in the trajectory fit (seen joints weigh their confidence, up to 1).
COMPLETED_2D_WEIGHT = 0.2

#: Output types by extension.
OUTPUT_SUFFIXES = (".csv", ".npz", ".json", ".bvh")


def camera_for(recon, options: ExportOptions) -> CameraIntrinsics:
    """The options' intrinsics, else a camera from the image size and the field of view."""
    if options.intrinsics is not None:
        return options.intrinsics
    w, h = recon.image_size
    return CameraIntrinsics.from_image_size(w, h, options.fov_deg if options.fov_deg is not None else DEFAULT_FOV_DEG)


def build_output_sequence(recon, options: ExportOptions) -> tuple[PoseSequence3D, np.ndarray]:
    """The sequence to export ``(T, 17, 3)`` metres and the ``(T, 17)`` hidden flags, from a ``Reconstruction``.

    ``coords="camera"``: root-relative camera frame (x right, y down, z forward). ``coords="world"``: Y up,
    floor at y = 0, with the global trajectory. Every joint is visible; ``scores`` are 1 where the model saw the
    joint and 0 where it filled it in.
    """
    fps = float(recon.fps)
    poses = np.asarray(recon.poses_3d, np.float64)
    if options.smooth == "one_euro":
        poses = one_euro_filter(poses, fps)
    elif options.smooth == "lowpass":
        poses = lowpass_filter(poses, fps, options.smooth_cutoff_hz)
    if options.smooth is not None:
        poses = poses - poses[:, :1]  # keep the pelvis exactly at the origin
    if options.bone_normalize:
        poses = normalize_bone_lengths(poses)
    hidden = np.asarray(recon.hidden, bool).copy()
    coords = "camera"
    if options.coords == "world":
        seen = recon.input
        # Fit on the completed 2D: the input where the model saw it (weighted by confidence), the model's own 2D
        # where it filled a joint in (a low weight), so that frames with most joints hidden are still placed.
        weights = np.where(hidden, COMPLETED_2D_WEIGHT, seen.scores).astype(np.float32)
        translation = estimate_root_translation(
            poses,
            np.asarray(recon.completed_2d, np.float32),
            np.ones(hidden.shape, bool),
            camera_for(recon, options),
            fps=fps,
            scores=weights,
        )
        poses, transform = camera_to_world(poses + translation[:, None, :])
        log.info(
            "world frame: %s%s (tilt %.1f deg)",
            transform.method,
            f" ({transform.reason})" if transform.reason else "",
            transform.tilt_deg,
        )
        coords = "world"
    seq = PoseSequence3D(
        keypoints=poses.astype(np.float32),
        scores=(~hidden).astype(np.float32),
        visible=np.ones(hidden.shape, bool),
        fps=fps,
        layout="h36m17",
        person_id=recon.input.person_id,
        source=recon.input.source,
        start_frame=recon.input.start_frame,
        units="m",
        coords=coords,
    )
    return seq, hidden


def write_output(
    path: str | os.PathLike,
    seq3d: PoseSequence3D,
    hidden: np.ndarray | None,
    options: ExportOptions,
    model: str | None = None,
) -> Path:
    """Write ``seq3d`` to ``path`` in the format of its extension (atomic); returns the path.

    ``model`` (default ``options.model_name``) goes into the file's header. Unknown extension: ``PoseDataError``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    model = options.model_name if model is None else model
    if suffix == ".csv":
        writer = write_csv_long if options.csv_long else write_csv_wide
        writer(path, seq3d, hidden, options.units_for("csv"), model)
    elif suffix == ".npz":
        write_npz(path, seq3d, hidden, options.units_for("npz"), model)
    elif suffix == ".json":
        write_json(path, seq3d, hidden, options.units_for("json"), model)
    elif suffix == ".bvh":
        units = options.units_for("bvh")
        if units not in ("cm", "m"):
            raise PoseDataError(f"BVH units must be cm or m, not {units!r}", path, "units")
        write_bvh(path, seq3d, units, options.up_axis)
    else:
        raise PoseDataError(
            f"unknown output type {suffix or '(no extension)'!r}; known: {', '.join(OUTPUT_SUFFIXES)}", path
        )
    return path
