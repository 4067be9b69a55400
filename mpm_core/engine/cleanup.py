"""Clean-up of 3D pose sequences: constant bone lengths and temporal smoothing.

Every function takes ``(T, J, 3)`` positions (any units, any frame) and returns a new array of the same shape;
the input is never modified, so the raw output stays available.

* ``normalize_bone_lengths``: each bone gets its median length over the sequence (left and right twins share
  the mean of their two medians), and the skeleton is rebuilt from the root outward, each bone keeping its
  direction in that frame.
* ``one_euro_filter``: the adaptive low-pass of Casiez et al. (CHI 2012), causal, little lag on fast moves.
* ``lowpass_filter``: a zero-phase Butterworth low-pass (``scipy.signal``, forward and backward), cut-off in Hz
  at the sequence's true frame rate.
"""

from __future__ import annotations

import numpy as np

from mpm_core.errors import PoseDataError, check_fps
from mpm_core.skeleton import Layout, get_layout

#: Bones shorter than this (in the input's units) have no usable direction in that frame.
MIN_BONE_LENGTH = 1e-9
#: One-euro defaults for positions in metres: 1 Hz cut-off at rest, +1.5 Hz per m/s of speed, 1 Hz for the
#: speed estimate. At a walking limb speed (~2 m/s) the cut-off rises to ~4 Hz, so slow jitter is removed while
#: fast moves keep their timing.
ONE_EURO_MIN_CUTOFF = 1.0
ONE_EURO_BETA = 1.5
ONE_EURO_D_CUTOFF = 1.0
#: Order of the Butterworth low-pass (applied twice by the zero-phase filter, so the magnitude falls as order 8).
LOWPASS_ORDER = 4


def _check_poses(poses: np.ndarray, name: str = "poses") -> np.ndarray:
    arr = np.asarray(poses, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] == 0:
        raise PoseDataError(f"{name} must have shape (T, J, 3) with T > 0, got {tuple(np.shape(poses))}")
    if not np.isfinite(arr).all():
        raise PoseDataError(f"{name} contain non-finite values")
    return arr


def _layout_for(poses: np.ndarray, layout: str | Layout) -> Layout:
    lay = get_layout(layout)
    if poses.shape[1] != lay.num_joints:
        raise PoseDataError(f"{poses.shape[1]} joints given for layout {lay.name} ({lay.num_joints} joints)")
    return lay


def _bone_twin(lay: Layout, child: int) -> int | None:
    """The bone (by child index) mirroring the bone ending at ``child``, or None for a centre bone."""
    for left, right in lay.left_right:
        if child == left:
            return right
        if child == right:
            return left
    return None


def bone_lengths(
    poses: np.ndarray, layout: str | Layout = "h36m17", symmetric: bool = True, visible: np.ndarray | None = None
) -> np.ndarray:
    """``(J,)`` median length of the bone ending at each joint (0 for a root), in the units of ``poses``.

    ``visible``: optional ``(T, J)`` bool; a bone's median uses only frames where both its ends are visible.
    ``symmetric``: left and right twins get the mean of their two medians.
    """
    pos = _check_poses(poses)
    lay = _layout_for(pos, layout)
    vis = np.ones(pos.shape[:2], bool) if visible is None else np.asarray(visible, bool)
    lengths = np.zeros(lay.num_joints)
    for child, parent in enumerate(lay.parents):
        if parent < 0:
            continue
        ok = vis[:, child] & vis[:, parent]
        if ok.any():
            lengths[child] = float(np.median(np.linalg.norm(pos[ok, child] - pos[ok, parent], axis=-1)))
    if symmetric:
        out = lengths.copy()
        for child in range(lay.num_joints):
            twin = _bone_twin(lay, child)
            if twin is not None and lay.parents[child] >= 0:
                pair = [v for v in (lengths[child], lengths[twin]) if v > 0]
                out[child] = float(np.mean(pair)) if pair else 0.0
        lengths = out
    return lengths


def _fill_directions(dirs: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Replace unusable ``(T, 3)`` directions by the nearest usable one in time (previous, else next)."""
    if ok.all():
        return dirs
    if not ok.any():
        out = np.zeros_like(dirs)
        out[:, 1] = 1.0  # no direction in any frame: an arbitrary but fixed one
        return out
    idx = np.where(ok, np.arange(len(ok)), -1)
    idx = np.maximum.accumulate(idx)  # previous usable frame
    first = int(np.argmax(ok))
    idx[idx < 0] = first  # before the first usable frame: the first one
    return dirs[idx]


def normalize_bone_lengths(
    poses: np.ndarray,
    layout: str | Layout = "h36m17",
    symmetric: bool = True,
    visible: np.ndarray | None = None,
    lengths: np.ndarray | None = None,
) -> np.ndarray:
    """Positions ``(T, J, 3)`` with every bone at its median length (see ``bone_lengths``), same units.

    The skeleton is rebuilt from the root outward: each child = its (new) parent + length * the bone's
    direction in that frame. The root keeps its position. A bone of zero length in a frame takes its direction
    from the nearest frame where it has one. ``lengths``: optional ``(J,)`` to impose instead of the medians.
    """
    pos = _check_poses(poses)
    lay = _layout_for(pos, layout)
    if lengths is None:
        lengths = bone_lengths(pos, lay, symmetric, visible)
    lengths = np.asarray(lengths, np.float64)
    if lengths.shape != (lay.num_joints,):
        raise PoseDataError(f"bone lengths must have shape ({lay.num_joints},), got {lengths.shape}")
    out = pos.copy()
    for child, parent in enumerate(lay.parents):  # parents come before children in every shipped layout
        if parent < 0:
            continue
        vec = pos[:, child] - pos[:, parent]
        norm = np.linalg.norm(vec, axis=-1)
        ok = norm > MIN_BONE_LENGTH
        dirs = np.zeros_like(vec)
        dirs[ok] = vec[ok] / norm[ok, None]
        dirs = _fill_directions(dirs, ok)
        out[:, child] = out[:, parent] + lengths[child] * dirs
    return out


def one_euro_filter(
    poses: np.ndarray,
    fps: float,
    min_cutoff: float = ONE_EURO_MIN_CUTOFF,
    beta: float = ONE_EURO_BETA,
    d_cutoff: float = ONE_EURO_D_CUTOFF,
) -> np.ndarray:
    """One-euro filter (Casiez et al. 2012) on every coordinate of ``(T, J, 3)`` positions; returns a copy.

    ``min_cutoff`` and ``d_cutoff`` in Hz; ``beta`` in Hz per (unit of ``poses``)/s: the defaults suit metres.
    Causal (one pass forward), so it lags a little; the first frame is kept as is.
    """
    pos = _check_poses(poses)
    fps = check_fps(fps, where="one-euro filter")
    for name, value in (("min_cutoff", min_cutoff), ("d_cutoff", d_cutoff)):
        if not value > 0:
            raise PoseDataError(f"one-euro {name} must be > 0 Hz, got {value!r}")
    if not beta >= 0:
        raise PoseDataError(f"one-euro beta must be >= 0, got {beta!r}")
    dt = 1.0 / fps

    def alpha(cutoff: np.ndarray | float) -> np.ndarray | float:
        tau = 1.0 / (2.0 * np.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    out = np.empty_like(pos)
    out[0] = pos[0]
    x_prev = pos[0]
    dx_prev = np.zeros_like(pos[0])
    a_d = alpha(d_cutoff)
    for t in range(1, len(pos)):
        dx = (pos[t] - x_prev) / dt
        dx_hat = a_d * dx + (1.0 - a_d) * dx_prev
        a = alpha(min_cutoff + beta * np.abs(dx_hat))
        x_hat = a * pos[t] + (1.0 - a) * x_prev
        out[t] = x_hat
        x_prev, dx_prev = x_hat, dx_hat
    return out


def lowpass_filter(poses: np.ndarray, fps: float, cutoff_hz: float, order: int = LOWPASS_ORDER) -> np.ndarray:
    """Zero-phase Butterworth low-pass of ``(T, J, 3)`` positions along time; returns a copy.

    ``cutoff_hz`` is in Hz at the true ``fps``. A cut-off at or above the Nyquist frequency (fps / 2) removes
    nothing: the input is returned unchanged. Sequences shorter than the filter's usual padding are filtered
    with a shorter padding; fewer than 3 frames are returned unchanged (nothing to filter).
    """
    pos = _check_poses(poses)
    fps = check_fps(fps, where="low-pass filter")
    if not (np.isfinite(cutoff_hz) and cutoff_hz > 0):
        raise PoseDataError(f"low-pass cut-off must be > 0 Hz, got {cutoff_hz!r}")
    nyquist = fps / 2.0
    if cutoff_hz >= nyquist or len(pos) < 3:
        return pos.copy()
    from scipy import signal  # imported here: scipy.signal costs ~1 s to import, the app's start-up needs none of it

    sos = signal.butter(order, cutoff_hz / nyquist, btype="low", output="sos")
    # scipy's default padding is 3 * (2 * sections + 1) samples; it must be shorter than the signal.
    default_pad = 3 * (2 * len(sos) + 1)
    padlen = min(default_pad, len(pos) - 1)
    return signal.sosfiltfilt(sos, pos, axis=0, padlen=padlen)
