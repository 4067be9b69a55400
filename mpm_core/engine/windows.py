"""Overlapping windows over a sequence, and the taper that blends them without seams.

The model sees ``window`` frames at a time. A sequence is cut into windows ``stride = window - overlap`` apart;
the last window is aligned with the sequence's end so every frame is covered. Each window's output is weighted by
a taper that is 1 in the middle and falls (half a Hann period) towards both edges over ``overlap`` frames; the
weights are normalised per frame, so where windows overlap their outputs cross-fade smoothly and a frame near a
window's edge (little context on one side) leans on the neighbour that sees it in its middle.

A sequence shorter than a window is centred in one window and padded by edge replication; the padding frames are
marked hidden (temporal masking), so the model never treats the copies as real frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def taper_weights(window: int, overlap: int) -> np.ndarray:
    """``(window,)`` float32 blend weights: a Hann ramp over ``overlap`` frames at each edge, 1 between.

    Every weight is > 0, so a frame seen by a single window (the sequence's ends) still gets that window's output.
    """
    w = np.ones(window, np.float64)
    if overlap > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(1, overlap + 1) / (overlap + 1))
        w[:overlap] = ramp
        w[window - overlap :] = np.minimum(w[window - overlap :], ramp[::-1])
    return w.astype(np.float32)


@dataclass(frozen=True)
class WindowPlan:
    """Where the windows of one sequence lie.

    Window positions are in *padded* coordinates: sequence row ``f`` is padded row ``f + pad_left``. Only a
    sequence shorter than a window is padded (``pad_left + num_frames + pad_right == window``).

    Fields:
        num_frames: sequence length T.
        window: frames per window (the model's length).
        overlap: frames each window shares with its neighbour (taper length).
        pad_left, pad_right: padding frames before/after the sequence.
        starts: ``(N,)`` int64 start of each window, padded coordinates, increasing.
        weights: ``(window,)`` float32 taper.
    """

    num_frames: int
    window: int
    overlap: int
    pad_left: int = field(init=False)
    pad_right: int = field(init=False)
    starts: np.ndarray = field(init=False, repr=False)
    weights: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.num_frames < 1:
            raise ValueError(f"window plan needs at least one frame, got {self.num_frames}")
        if not 0 <= self.overlap < self.window:
            raise ValueError(f"overlap {self.overlap} must be in [0, window {self.window})")
        pad = max(0, self.window - self.num_frames)
        padded = self.num_frames + pad
        stride = self.window - self.overlap
        starts = list(range(0, padded - self.window + 1, stride))
        if starts[-1] != padded - self.window:
            starts.append(padded - self.window)
        object.__setattr__(self, "pad_left", pad // 2)
        object.__setattr__(self, "pad_right", pad - pad // 2)
        object.__setattr__(self, "starts", np.asarray(starts, np.int64))
        object.__setattr__(self, "weights", taper_weights(self.window, self.overlap))

    @property
    def num_windows(self) -> int:
        return int(len(self.starts))

    def frame_indices(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sequence rows each window reads, and which of them are padding.

        Returns ``(index (B, window) int64`` into the sequence, clipped = edge replication; ``padding (B, window)
        bool)`` for the windows numbered ``windows`` ``(B,)``.
        """
        rows = self.starts[np.asarray(windows)][:, None] + np.arange(self.window)[None, :] - self.pad_left
        padding = (rows < 0) | (rows >= self.num_frames)
        return np.clip(rows, 0, self.num_frames - 1), padding

    def span(self, i: int) -> tuple[int, int, int]:
        """``(lo, hi, offset)``: window ``i`` covers sequence rows ``lo:hi``; sequence row ``f`` is its row
        ``f + offset``."""
        offset = self.pad_left - int(self.starts[i])
        lo = max(0, -offset)
        hi = min(self.num_frames, self.window - offset)
        return lo, hi, offset

    def windows_touching(self, lo: int, hi: int) -> np.ndarray:
        """Indices of the windows whose sequence span intersects rows ``lo:hi``."""
        seq_starts = self.starts - self.pad_left
        seq_ends = seq_starts + self.window
        return np.nonzero((seq_starts < hi) & (seq_ends > lo))[0]
