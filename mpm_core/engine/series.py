"""Time series of a 3D result for plotting: one joint's trajectory (raw and smoothed), bone lengths over time, and a
probed lift's error over time.

Every function takes whole-sequence arrays and returns new ones (the inputs are never modified); NaN marks a frame
with no value (a joint the truth or the input does not have), and stays NaN in the output. Smoothing is the
library's own (``engine.cleanup``: one-euro or the zero-phase low-pass), so a plot shows what the export's
smoothing option would do to the same motion.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mpm_core.engine.cleanup import lowpass_filter, one_euro_filter
from mpm_core.engine.probe import ProbeErrors
from mpm_core.errors import PoseDataError
from mpm_core.export.options import ExportOptions
from mpm_core.skeleton import H36M17, H36M_JOINTS

#: Smoothing methods a plot can show (the export's ``smooth`` choices).
SMOOTHING_METHODS = ("one_euro", "lowpass")
#: What a plot smooths with when the document has no smoothing setting.
DEFAULT_PLOT_SMOOTHING = "one_euro"
#: Low-pass cut-off (Hz) when none is given: the export's default, so a plot shows what an export would write.
DEFAULT_LOWPASS_CUTOFF_HZ: float = ExportOptions.smooth_cutoff_hz

#: The limb bones a user compares left against right: display name -> (parent joint, child joint).
LIMB_BONES: dict[str, tuple[str, str]] = {
    "left upper arm": ("left_shoulder", "left_elbow"),
    "right upper arm": ("right_shoulder", "right_elbow"),
    "left forearm": ("left_elbow", "left_wrist"),
    "right forearm": ("right_elbow", "right_wrist"),
    "left thigh": ("left_hip", "left_knee"),
    "right thigh": ("right_hip", "right_knee"),
    "left shin": ("left_knee", "left_ankle"),
    "right shin": ("right_knee", "right_ankle"),
}


def limb_bones() -> dict[str, tuple[int, int]]:
    """``LIMB_BONES`` as H36M-17 index pairs ``(parent, child)``."""
    return {name: (H36M_JOINTS.index(p), H36M_JOINTS.index(c)) for name, (p, c) in LIMB_BONES.items()}


def all_bones() -> dict[str, tuple[int, int]]:
    """Every bone of H36M-17, named ``parent–child`` (16 bones), as index pairs ``(parent, child)``."""
    return {f"{H36M_JOINTS[p]}–{H36M_JOINTS[c]}".replace("_", " "): (p, c) for p, c in H36M17.bones}


def _poses(poses: np.ndarray) -> np.ndarray:
    arr = np.asarray(poses, np.float64)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] == 0:
        raise PoseDataError(f"poses must have shape (T, J, 3) with T > 0, got {tuple(np.shape(poses))}")
    return arr


def _joint_index(joint: int | str, count: int) -> int:
    j = H36M_JOINTS.index(joint) if isinstance(joint, str) else int(joint)
    if not 0 <= j < count:
        raise PoseDataError(f"joint index {joint} outside 0-{count - 1}")
    return j


def joint_track(poses: np.ndarray, joint: int | str, relative_to: int | str | None = None) -> np.ndarray:
    """``(T, 3)`` float64 positions of one joint (index or H36M-17 name) over time, in the units of ``poses``;
    with ``relative_to`` (a joint, e.g. the pelvis) its offset from that joint, so the body's own motion shows
    without the path it travels."""
    arr = _poses(poses)
    track = arr[:, _joint_index(joint, arr.shape[1])].copy()
    if relative_to is not None:
        track -= arr[:, _joint_index(relative_to, arr.shape[1])]
    return track


def _fill_gaps(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(T, C)`` values with NaN rows linearly interpolated (held flat past the ends), and the ``(T,)`` rows that
    were finite. The filters need finite input; the gaps are put back afterwards."""
    finite = np.isfinite(values).all(axis=1)
    if finite.all() or not finite.any():
        return values.copy(), finite
    t = np.arange(len(values))
    filled = np.empty_like(values)
    for c in range(values.shape[1]):
        filled[:, c] = np.interp(t, t[finite], values[finite, c])
    return filled, finite


def smooth_track(
    track: np.ndarray, fps: float, method: str | None = None, cutoff_hz: float = DEFAULT_LOWPASS_CUTOFF_HZ
) -> np.ndarray:
    """One joint's ``(T, 3)`` positions smoothed with the library's ``method`` ("one_euro" or "lowpass"; None:
    ``DEFAULT_PLOT_SMOOTHING``) at ``fps``; ``cutoff_hz`` for the low-pass. Returns ``(T, 3)`` float64, NaN where
    ``track`` is NaN (gaps are bridged linearly for the filter only)."""
    arr = np.asarray(track, np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3 or arr.shape[0] == 0:
        raise PoseDataError(f"a joint track must have shape (T, 3) with T > 0, got {tuple(np.shape(track))}")
    method = DEFAULT_PLOT_SMOOTHING if method is None else method
    if method not in SMOOTHING_METHODS:
        raise PoseDataError(f"unknown smoothing {method!r}; known: {', '.join(SMOOTHING_METHODS)}")
    filled, finite = _fill_gaps(arr)
    if not finite.any():
        return arr.copy()
    if method == "one_euro":
        out = one_euro_filter(filled[:, None, :], fps)[:, 0]
    else:
        out = lowpass_filter(filled[:, None, :], fps, cutoff_hz)[:, 0]
    out[~finite] = np.nan
    return out


def bone_length_series(poses: np.ndarray, bones: Sequence[tuple[int, int]]) -> np.ndarray:
    """``(T, B)`` float64 length of each bone ``(parent, child)`` (joint indices) in each frame, in the units of
    ``poses`` ``(T, J, 3)``; NaN where either end is NaN."""
    arr = _poses(poses)
    pairs = np.asarray(list(bones), np.int64).reshape(-1, 2)
    if len(pairs) and (pairs.min() < 0 or pairs.max() >= arr.shape[1]):
        raise PoseDataError(f"bone joint indices must be in 0-{arr.shape[1] - 1}, got {pairs.tolist()}")
    return np.linalg.norm(arr[:, pairs[:, 1]] - arr[:, pairs[:, 0]], axis=-1)


def length_spread(series: np.ndarray) -> np.ndarray:
    """``(B,)`` standard deviation over time of each column of a ``(T, B)`` bone-length series (NaN frames left
    out; NaN for a bone with no frame): how much a bone that should be rigid jitters."""
    arr = np.asarray(series, np.float64)
    out = np.full(arr.shape[1], np.nan)
    for b in range(arr.shape[1]):
        col = arr[np.isfinite(arr[:, b]), b]
        if len(col):
            out[b] = float(col.std())
    return out


def joint_error_series(errors: ProbeErrors, joint: int | str) -> np.ndarray:
    """``(T,)`` float32 millimetres: one joint's error in each frame of a probed lift (root-aligned, virtual camera
    frame, as ``evaluate`` compares); NaN where the truth has no such joint."""
    err = np.asarray(errors.joint_error_mm)
    return err[:, _joint_index(joint, err.shape[1])].copy()


def mpjpe_series(errors: ProbeErrors) -> np.ndarray:
    """``(T,)`` float32 millimetres: the MPJPE of each frame of a probed lift (NaN for a frame with no joint)."""
    return np.asarray(errors.per_frame_mm).copy()
