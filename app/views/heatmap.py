"""Colours of the timeline's joints x frames heatmap (no Qt, no pose math: state codes and scores in, RGBA out).

Seen joints are a steel blue whose brightness follows the detector's confidence; every hidden state has its own
colour, the same ones the 2D view uses. Zoomed out past one frame per pixel, frames are binned and each bin shows
its most telling state (hidden by you > low confidence > missing > forced > seen), so a single hidden frame in an
hour of motion still shows.
"""

from __future__ import annotations

import numpy as np

from app.state import FORCED, LOW_CONFIDENCE, MISSING, USER_HIDDEN, VISIBLE

#: RGB of each state (seen: at full confidence; it darkens towards SEEN_DIM as the confidence falls to 0).
STATE_RGB = {
    VISIBLE: (84, 148, 204),
    FORCED: (90, 220, 120),
    USER_HIDDEN: (255, 150, 40),
    LOW_CONFIDENCE: (250, 215, 60),
    MISSING: (172, 172, 178),
}
SEEN_DIM = (30, 42, 56)
LEGEND = (
    (USER_HIDDEN, "hidden by you"),
    (LOW_CONFIDENCE, "low confidence"),
    (FORCED, "forced visible"),
    (MISSING, "missing"),
)
#: Which state a bin of frames shows when zoomed out: the highest rank wins.
_RANK = np.zeros(5, np.int8)
_RANK[[VISIBLE, FORCED, MISSING, LOW_CONFIDENCE, USER_HIDDEN]] = np.arange(5)
_BY_RANK = np.argsort(_RANK).astype(np.int8)
_LUT = np.array([(*STATE_RGB[s], 255) for s in range(5)], np.uint8)


def state_rgba(states: np.ndarray, confidence: np.ndarray | None) -> np.ndarray:
    """``(17, n, 4)`` uint8 colours (joint rows, frame columns) of ``states`` ``(n, 17)`` codes and
    ``confidence`` ``(n, 17)`` in 0-1 (None: full confidence)."""
    rgba = _LUT[states.T]
    if confidence is not None:
        seen = states.T == VISIBLE
        c = np.clip(np.nan_to_num(confidence.T[seen], nan=0.0), 0.0, 1.0)[:, None]
        dim, full = np.array(SEEN_DIM, np.float32), np.array(STATE_RGB[VISIBLE], np.float32)
        rgba[seen, :3] = (dim + (full - dim) * c).astype(np.uint8)
    return rgba


def binned(states: np.ndarray, confidence: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Reduce ``(n, 17)`` states (and confidences) to ``(ceil(n/k), 17)`` bins of ``k`` frames: each bin's most
    telling state and its mean confidence (a short last bin is padded with its own last row)."""
    if k <= 1:
        return states, confidence
    n = len(states)
    pad = (-n) % k
    if pad:
        states = np.concatenate([states, np.repeat(states[-1:], pad, axis=0)])
    ranks = _RANK[states].reshape(-1, k, states.shape[1]).max(axis=1)
    out_states = _BY_RANK[ranks]
    out_conf = None
    if confidence is not None:
        if pad:
            confidence = np.concatenate([confidence, np.repeat(confidence[-1:], pad, axis=0)])
        out_conf = np.mean(confidence.reshape(-1, k, confidence.shape[1]), axis=1)
    return out_states, out_conf


def css(rgb: tuple[int, int, int]) -> str:
    return f"rgb({rgb[0]},{rgb[1]},{rgb[2]})"
