"""From a reconstruction to the sequence that gets exported, and from that sequence to a file.

``build_output`` (and ``build_output_sequence``, its older two-value form) gives the sequence a file holds:

- ``coords="world"``: ``engine.placement.place_in_world`` (clean-up, upright check, the performer's height, root
  trajectory, world frame with the floor at the soles, grounding, foot contacts and locking, optionally facing
  +Z and the root in place): what the app shows;
- ``coords="camera"``: the root-relative camera-frame pose after the clean-up (and the height scale);

then, with ``output_fps``, resampled to that frame rate. The raw model output is never modified
(``recon.poses_3d`` stays as is).

``write_output`` picks the format from the file extension: ``.csv`` (wide; long with ``csv_long``), ``.npz``,
``.json``, ``.bvh`` (with the ``bvh_preset`` skeleton); foot contacts and the world notes (how the floor was
found, stature, ...) go into the CSV, NPZ and JSON headers.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mpm_core.engine.cleanup import lowpass_filter
from mpm_core.engine.placement import (  # noqa: F401  (COMPLETED_2D_WEIGHT, camera_for: re-exported)
    COMPLETED_2D_WEIGHT,
    WorldPlacement,
    camera_for,
    place_in_world,
    relative_pose,
)
from mpm_core.engine.stature import height_scale, stature
from mpm_core.errors import PoseDataError
from mpm_core.export.bvh_writer import write_bvh
from mpm_core.export.csv_export import write_csv_long, write_csv_wide
from mpm_core.export.npz_json import write_json, write_npz
from mpm_core.export.options import ExportOptions
from mpm_core.sequence import PoseSequence3D

log = logging.getLogger(__name__)

#: Output types by extension.
OUTPUT_SUFFIXES = (".csv", ".npz", ".json", ".bvh")
#: Before resampling to a lower frame rate, motion above this share of the new Nyquist frequency is removed.
RESAMPLE_CUTOFF_SHARE = 0.8


@dataclass
class OutputSequence:
    """What an export writes.

    Fields:
        sequence: ``(T, 17, 3)`` metres (world or camera frame, see ``sequence.coords``), at the output frame rate.
        hidden: ``(T, 17)`` bool: joints the model filled in.
        contacts: ``(T, 2)`` bool foot contacts ``[left, right]`` (world output), else None.
        notes: header notes ``{key: text}``: how the floor was found, the stature, the options that shaped it.
        placement: the world placement it came from (world output, at the input's frame rate), else None.
    """

    sequence: PoseSequence3D
    hidden: np.ndarray
    contacts: np.ndarray | None = None
    notes: dict[str, str] = field(default_factory=dict)
    placement: WorldPlacement | None = None


def resample_output(
    seq: PoseSequence3D, hidden: np.ndarray, contacts: np.ndarray | None, fps: float
) -> tuple[PoseSequence3D, np.ndarray, np.ndarray | None]:
    """The sequence at ``fps``: positions interpolated linearly in time (low-passed first when the rate drops),
    hidden flags and contacts from the nearest frame. Covers the same time span; frame numbers at the new rate."""
    src = float(seq.fps)
    if abs(fps - src) < 1e-9:
        return seq, hidden, contacts
    t_src = np.arange(seq.num_frames) / src
    count = int(np.floor(t_src[-1] * fps + 1e-9)) + 1
    t_out = np.arange(count) / fps
    pos = seq.keypoints.astype(np.float64)
    if fps < src:
        pos = lowpass_filter(pos, src, RESAMPLE_CUTOFF_SHARE * fps / 2.0)
    x = np.clip(t_out * src, 0, seq.num_frames - 1)
    i0 = np.floor(x).astype(int)
    i1 = np.minimum(i0 + 1, seq.num_frames - 1)
    w = (x - i0)[:, None, None]
    out = pos[i0] * (1 - w) + pos[i1] * w
    nearest = np.clip(np.round(x).astype(int), 0, seq.num_frames - 1)
    new = PoseSequence3D(
        keypoints=out.astype(np.float32),
        scores=seq.scores[nearest],
        visible=seq.visible[nearest],
        fps=fps,
        layout=seq.layout,
        person_id=seq.person_id,
        source=seq.source,
        start_frame=int(round(seq.start_frame * fps / src)),
        units=seq.units,
        coords=seq.coords,
    )
    return new, hidden[nearest], None if contacts is None else contacts[nearest]


def build_output(recon, options: ExportOptions) -> OutputSequence:
    """The sequence to export from a ``Reconstruction``, with its contacts and header notes (see the module
    docstring). Every joint is visible; ``scores`` are 1 where the model saw the joint and 0 where it filled it in.
    """
    hidden = np.asarray(recon.hidden, bool).copy()
    notes: dict[str, str] = {}
    contacts = None
    placement = None
    if options.coords == "world":
        placement = place_in_world(recon, options)
        poses = placement.poses
        contacts = placement.contacts
        log.info("world frame: %s", placement.floor_method)
        notes["floor"] = placement.floor_method
        notes["stature_m"] = f"{placement.stature_m:.3f}"
        notes["ankle_height_m"] = f"{placement.ankle_height:.3f}"
        notes["foot_locking"] = "on" if options.lock_feet else "off"
        notes["root_motion"] = options.root_motion
        if options.face_z:
            notes["facing"] = "+z at the start"
    else:
        poses = relative_pose(recon, options)
        if options.height_m is not None:
            poses = poses * height_scale(poses, options.height_m, ~hidden)
        notes["stature_m"] = f"{stature(poses, ~hidden):.3f}"
    if options.height_m is not None:
        notes["height_m"] = f"{options.height_m:g}"
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
    if options.output_fps is not None:
        seq, hidden, contacts = resample_output(seq, hidden, contacts, options.output_fps)
        notes["resampled_from_fps"] = f"{float(recon.fps):g}"
    return OutputSequence(seq, hidden, contacts, notes, placement)


def build_output_sequence(recon, options: ExportOptions) -> tuple[PoseSequence3D, np.ndarray]:
    """The sequence to export ``(T, 17, 3)`` metres and the ``(T, 17)`` hidden flags, from a ``Reconstruction``
    (``build_output`` without the contacts and notes).

    ``coords="camera"``: root-relative camera frame (x right, y down, z forward). ``coords="world"``: Y up,
    floor at y = 0 (the soles), with the global trajectory (``engine.placement.place_in_world``: what the app
    shows).
    """
    out = build_output(recon, options)
    return out.sequence, out.hidden


def write_output(
    path: str | os.PathLike,
    seq3d: PoseSequence3D,
    hidden: np.ndarray | None,
    options: ExportOptions,
    model: str | None = None,
    *,
    contacts: np.ndarray | None = None,
    notes: dict[str, str] | None = None,
) -> Path:
    """Write ``seq3d`` to ``path`` in the format of its extension (atomic); returns the path.

    ``model`` (default ``options.model_name``) goes into the file's header, with ``notes`` (``build_output``'s);
    ``contacts`` ``(T, 2)`` become the ``left_contact,right_contact`` columns (CSV) or a ``contacts`` array (NPZ,
    JSON). BVH uses ``options.bvh_preset``. Unknown extension: ``PoseDataError``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    model = options.model_name if model is None else model
    if suffix == ".csv":
        writer = write_csv_long if options.csv_long else write_csv_wide
        writer(path, seq3d, hidden, options.units_for("csv"), model, contacts=contacts, notes=notes)
    elif suffix == ".npz":
        write_npz(path, seq3d, hidden, options.units_for("npz"), model, contacts=contacts, notes=notes)
    elif suffix == ".json":
        write_json(path, seq3d, hidden, options.units_for("json"), model, contacts=contacts, notes=notes)
    elif suffix == ".bvh":
        units = options.units_for("bvh")
        if units not in ("cm", "m"):
            raise PoseDataError(f"BVH units must be cm or m, not {units!r}", path, "units")
        write_bvh(path, seq3d, units, options.up_axis, options.bvh_preset)
    else:
        raise PoseDataError(
            f"unknown output type {suffix or '(no extension)'!r}; known: {', '.join(OUTPUT_SUFFIXES)}", path
        )
    return path


def export(recon, path: str | os.PathLike, options: ExportOptions) -> OutputSequence:
    """``build_output`` then ``write_output`` (contacts and notes included); returns what was written."""
    out = build_output(recon, options)
    write_output(path, out.sequence, out.hidden, options, contacts=out.contacts, notes=out.notes)
    return out
