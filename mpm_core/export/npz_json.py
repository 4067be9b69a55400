"""NPZ and JSON exports of 3D pose sequences, for programs.

NPZ (``numpy.savez_compressed``; no object arrays, load with ``allow_pickle=False``); a superset of the
canonical 3D NPZ (``mpm_core.io.canonical.read_npz_3d`` reads it back):
    ``joints`` (T, J, 3) float32 in ``units``, NaN where missing; ``scores`` (T, J) float32; ``visible`` (T, J)
    bool; ``hidden`` (T, J) bool (all False when unknown); ``fps`` float; ``coords`` "camera" | "world";
    ``units`` "m" | "cm" | "mm"; ``layout``; ``joint_names`` (J,); ``start_frame`` int; ``frame_numbers`` (T,)
    int; ``time_s`` (T,) float; ``format`` "mpm-studio-3d"; ``version`` 2; ``source``; ``model``; with world
    output also ``contacts`` (T, 2) bool ``[left, right]`` foot contacts and ``notes`` (K,) strings
    ``"key=value"`` (how the floor was found, stature, ...; see ``csv_export``).

JSON (UTF-8), schema version 2 (version 1 had no ``contacts`` and ``notes``)::

    {
      "format": "mpm-studio-3d", "version": 2,
      "fps": 30.0, "coords": "world" | "camera", "axes": "<the axes in words>", "units": "m" | "cm" | "mm",
      "layout": "h36m17", "joint_names": [J names],
      "source": "<input file>", "model": "<checkpoint>",
      "num_frames": T, "frame_numbers": [T ints], "time_s": [T floats],
      "frames": [T lists of J [x, y, z]]  (null instead of [x, y, z] for a missing joint),
      "confidence": [T lists of J floats],
      "hidden": [T lists of J booleans] or null when unknown (true = filled in by the model, not observed),
      "contacts": [T pairs [left, right] of booleans] or null (foot planted),
      "notes": {"floor": "...", "stature_m": "...", ...}
    }

Coordinates are rounded to 1e-6 of the unit (a micrometre in metres).
"""

from __future__ import annotations

import json
import os

import numpy as np

from mpm_core.atomic import atomic_write
from mpm_core.export.csv_export import AXES_TEXT, FORMAT_NAME, FORMAT_VERSION
from mpm_core.io.canonical import check_contacts, check_hidden, in_units
from mpm_core.sequence import PoseSequence3D

JSON_DECIMALS = 6


def write_npz(
    path: str | os.PathLike,
    seq: PoseSequence3D,
    hidden: np.ndarray | None = None,
    units: str = "m",
    model: str = "",
    contacts: np.ndarray | None = None,
    notes: dict[str, str] | None = None,
) -> None:
    """NPZ export (atomic). See the module docstring."""
    hidden = check_hidden(hidden, seq)
    contacts = check_contacts(contacts, seq)
    joints = in_units(seq, units).astype(np.float32)
    joints[~seq.visible] = np.nan
    arrays = {
        "joints": joints,
        "scores": seq.scores.astype(np.float32),
        "visible": seq.visible.astype(bool),
        "hidden": np.zeros(seq.visible.shape, bool) if hidden is None else hidden,
        "fps": np.float64(seq.fps),
        "coords": np.array(seq.coords),
        "units": np.array(units),
        "layout": np.array(seq.layout),
        "joint_names": np.array(seq.layout_info.joint_names),
        "start_frame": np.int64(seq.start_frame),
        "frame_numbers": seq.frame_numbers.astype(np.int64),
        "time_s": seq.times.astype(np.float64),
        "format": np.array(FORMAT_NAME),
        "version": np.int64(FORMAT_VERSION),
        "source": np.array(str(seq.source)),
        "model": np.array(str(model)),
    }
    if contacts is not None:
        arrays["contacts"] = contacts
    if notes:
        arrays["notes"] = np.array([f"{k}={v}" for k, v in notes.items()])
    with atomic_write(path, binary=True) as f:
        np.savez_compressed(f, **arrays)


def json_document(
    seq: PoseSequence3D,
    hidden: np.ndarray | None = None,
    units: str = "m",
    model: str = "",
    contacts: np.ndarray | None = None,
    notes: dict[str, str] | None = None,
) -> dict:
    """The JSON export as a Python dict. See the module docstring."""
    hidden = check_hidden(hidden, seq)
    contacts = check_contacts(contacts, seq)
    coords = np.round(in_units(seq, units), JSON_DECIMALS)
    frames = [
        [coords[t, j].tolist() if seq.visible[t, j] else None for j in range(seq.num_joints)]
        for t in range(seq.num_frames)
    ]
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "fps": float(seq.fps),
        "coords": seq.coords,
        "axes": AXES_TEXT[seq.coords],
        "units": units,
        "layout": seq.layout,
        "joint_names": list(seq.layout_info.joint_names),
        "source": str(seq.source),
        "model": str(model),
        "num_frames": seq.num_frames,
        "frame_numbers": seq.frame_numbers.astype(int).tolist(),
        "time_s": np.round(seq.times, 9).tolist(),
        "frames": frames,
        "confidence": np.round(seq.scores.astype(np.float64), 4).tolist(),
        "hidden": None if hidden is None else hidden.tolist(),
        "contacts": None if contacts is None else contacts.tolist(),
        "notes": dict(notes or {}),
    }


def write_json(
    path: str | os.PathLike,
    seq: PoseSequence3D,
    hidden: np.ndarray | None = None,
    units: str = "m",
    model: str = "",
    contacts: np.ndarray | None = None,
    notes: dict[str, str] | None = None,
) -> None:
    """JSON export (atomic). See the module docstring."""
    doc = json_document(seq, hidden, units, model, contacts, notes)
    with atomic_write(path) as f:
        json.dump(doc, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
