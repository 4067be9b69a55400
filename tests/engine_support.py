"""Shared helpers for the engine and lift-CLI tests: a tiny seeded network, checkpoints and synthetic motion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mpm_core.model.network import MPMNetwork, NetworkConfig
from mpm_core.sequence import PoseSequence2D

REPO = Path(__file__).resolve().parent.parent
SHIPPED_MODEL = REPO / "resources" / "models" / "mpm_h36m17.safetensors"

#: A network small enough for fast tests; window 27 so a few hundred frames make several windows.
TINY_CONFIG = dict(
    window=27, width=32, heads=2, encoder_layers=1, decoder_layers=1, decoder_width=16, decoder_heads=2, dropout=0.0
)


def tiny_network(seed: int = 0) -> MPMNetwork:
    torch.manual_seed(seed)
    return MPMNetwork(NetworkConfig(**TINY_CONFIG)).eval()


def save_tiny_checkpoint(folder: Path, seed: int = 0) -> Path:
    """A random tiny checkpoint written with the project's own ``save_checkpoint``."""
    from mpm_core.model.checkpoint import save_checkpoint

    return save_checkpoint(Path(folder) / "tiny", tiny_network(seed), {"name": "tiny-test"})


# A rest pose (metres, camera frame, y down), H36M-17 order.
_REST = np.array(
    [
        [0.0, 0.0, 0.0],
        [-0.13, 0.0, 0.0],
        [-0.13, 0.45, 0.0],
        [-0.13, 0.88, 0.0],
        [0.13, 0.0, 0.0],
        [0.13, 0.45, 0.0],
        [0.13, 0.88, 0.0],
        [0.0, -0.23, 0.0],
        [0.0, -0.48, 0.0],
        [0.0, -0.58, 0.0],
        [0.0, -0.70, 0.0],
        [0.17, -0.46, 0.0],
        [0.20, -0.18, 0.0],
        [0.22, 0.08, 0.0],
        [-0.17, -0.46, 0.0],
        [-0.20, -0.18, 0.0],
        [-0.22, 0.08, 0.0],
    ],
    np.float32,
)


def smooth_motion_3d(frames: int, fps: float = 30.0) -> np.ndarray:
    """``(T, 17, 3)`` metres, camera frame: the rest pose turning slowly and swinging its arms, 4 m away."""
    t = np.arange(frames) / fps
    yaw = 0.6 * np.sin(2 * np.pi * 0.2 * t)
    c, s = np.cos(yaw), np.sin(yaw)
    pose = np.repeat(_REST[None], frames, axis=0).copy()
    swing = 0.15 * np.sin(2 * np.pi * 0.5 * t)
    pose[:, [13, 16], 2] += swing[:, None] * np.array([1.0, -1.0])
    x, z = pose[..., 0].copy(), pose[..., 2].copy()
    pose[..., 0] = c[:, None] * x + s[:, None] * z
    pose[..., 2] = -s[:, None] * x + c[:, None] * z
    pose[..., 2] += 4.0
    pose[..., 0] += 0.3 * np.sin(2 * np.pi * 0.1 * t)[:, None]
    return pose.astype(np.float32)


def project(points: np.ndarray, size: tuple[int, int] = (1280, 720), focal: float = 1000.0) -> np.ndarray:
    w, h = size
    return np.stack(
        [focal * points[..., 0] / points[..., 2] + w / 2, focal * points[..., 1] / points[..., 2] + h / 2], axis=-1
    ).astype(np.float32)


def smooth_sequence_2d(frames: int, fps: float = 30.0, size: tuple[int, int] = (1280, 720)) -> PoseSequence2D:
    return PoseSequence2D(project(smooth_motion_3d(frames, fps), size), fps=fps, image_size=size, source="synthetic")


def counting(engine) -> list[int]:
    """Wrap ``engine.model.lift``/``complete_3d`` to record the batch size of every network call."""
    calls: list[int] = []
    model = engine.model
    lift, complete = model.lift, model.complete_3d

    def counted_lift(x, *args, **kwargs):
        calls.append(int(x.shape[0]))
        return lift(x, *args, **kwargs)

    def counted_complete(x, *args, **kwargs):
        calls.append(int(x.shape[0]))
        return complete(x, *args, **kwargs)

    model.lift, model.complete_3d = counted_lift, counted_complete
    return calls
