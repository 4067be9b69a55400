"""Screen-coordinate normalisation shared by training and inference (as in VideoPose3D).

Pixels map to [-1, 1] along the image width, aspect kept: ``x' = 2x/w - 1``, ``y' = 2y/w - h/w``.
"""

from __future__ import annotations

import numpy as np


def normalize_screen(keypoints: np.ndarray, width: float, height: float) -> np.ndarray:
    """``(..., 2)`` pixels (origin top-left) to normalised screen units (float32)."""
    kp = np.asarray(keypoints, np.float32)
    return kp / np.float32(width) * 2.0 - np.array([1.0, height / width], np.float32)


def denormalize_screen(normalized: np.ndarray, width: float, height: float) -> np.ndarray:
    """Inverse of ``normalize_screen``: normalised units back to pixels."""
    n = np.asarray(normalized, np.float32)
    return (n + np.array([1.0, height / width], np.float32)) * np.float32(width) / 2.0
