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

from mpm_core.engine.placement import COMPLETED_2D_WEIGHT, camera_for, place_in_world, relative_pose  # noqa: F401  (re-exported)
from mpm_core.errors import PoseDataError
from mpm_core.export.bvh_writer import write_bvh
from mpm_core.export.csv_export import write_csv_long, write_csv_wide
from mpm_core.export.npz_json import write_json, write_npz
from mpm_core.export.options import ExportOptions
from mpm_core.sequence import PoseSequence3D

log = logging.getLogger(__name__)

#: Output types by extension.
OUTPUT_SUFFIXES = (".csv", ".npz", ".json", ".bvh")


def build_output_sequence(recon, options: ExportOptions) -> tuple[PoseSequence3D, np.ndarray]:
    """The sequence to export ``(T, 17, 3)`` metres and the ``(T, 17)`` hidden flags, from a ``Reconstruction``.

    ``coords="camera"``: root-relative camera frame (x right, y down, z forward). ``coords="world"``: Y up,
    floor at y = 0, with the global trajectory (``engine.placement.place_in_world``: what the app shows). Every
    joint is visible; ``scores`` are 1 where the model saw the joint and 0 where it filled it in.
    """
    hidden = np.asarray(recon.hidden, bool).copy()
    if options.coords == "world":
        placement = place_in_world(recon, options)
        poses = placement.poses
        log.info("world frame: %s (tilt %.1f deg)", placement.floor_method, placement.transform.tilt_deg)
    else:
        poses = relative_pose(recon, options)
    seq = PoseSequence3D(
        keypoints=poses.astype(np.float32),
        scores=(~hidden).astype(np.float32),
        visible=np.ones(hidden.shape, bool),
        fps=float(recon.fps),
        layout="h36m17",
        person_id=recon.input.person_id,
        source=recon.input.source,
        start_frame=recon.input.start_frame,
        units="m",
        coords=options.coords,
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
