"""Baseline 2D -> 3D lifters for the accuracy benchmark (``benchmarks/accuracy``), at their published sizes.

- ``ResidualMLP``: single-frame lifter in the style of Martinez et al. 2017, "A simple yet effective baseline for 3D
  human pose estimation": Linear -> 1024, two residual blocks of two Linear(1024)-BatchNorm-ReLU-Dropout(0.5)
  layers, Linear -> 17 x 3. Each frame is lifted on its own.
- ``DilatedTCN``: temporal convolution lifter in the style of VideoPose3D (Pavllo et al. 2019): Conv1d(k=3) -> 1024
  channels, then blocks of a dilated Conv1d(k=3, dilation 3, 9, 27) and a Conv1d(k=1), each BatchNorm-ReLU-
  Dropout(0.25), with residual connections: receptive field 81 frames. A window is padded with its edge frames
  (40 each side, as VideoPose3D pads a sequence at inference) so every frame gets an output.

Both take what MPM takes: 2D keypoints ``(B, T, J, 2)`` in normalised screen units (``normalize_screen``) and hidden
joints ``(B, T, J)`` / hidden frames ``(B, T)``. Hidden joints are zeroed and a visibility flag per joint is added
(a lifter has no mask token); each frame's 2D is centred on the mean of its seen joints, with the centre given as
two extra inputs (Martinez et al. centre on the root; the root may be hidden here). Output: 3D ``(B, T, J, 3)``
metres, camera frame, root-relative (pelvis exactly 0), like MPM. Neither model completes 3D input.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

NUM_JOINTS = 17
MLP_WIDTH = 1024
MLP_BLOCKS = 2
MLP_DROPOUT = 0.5
TCN_CHANNELS = 1024
TCN_DILATIONS = (3, 9, 27)  # with the first k=3 layer: receptive field 1 + 2 * (1 + 3 + 9 + 27) = 81
TCN_DROPOUT = 0.25
BN_MOMENTUM = 0.1


def frame_features(x2d: Tensor, hidden: Tensor, frame_hidden: Tensor | None = None) -> Tensor:
    """``(B, T, J, 2)`` 2D + ``(B, T, J)`` hidden (+ ``(B, T)`` hidden frames) -> ``(B, T, J * 3 + 2)`` features:
    2D centred on the mean of the seen joints (hidden joints 0), visibility flags, the centre."""
    hidden = hidden.bool()
    if frame_hidden is not None:
        hidden = hidden | frame_hidden.bool().unsqueeze(-1)
    seen = (~hidden).to(x2d.dtype).unsqueeze(-1)  # (B, T, J, 1)
    count = seen.sum(dim=2, keepdim=True).clamp_min(1.0)
    centre = (x2d * seen).sum(dim=2, keepdim=True) / count  # (B, T, 1, 2); 0 for a frame with nothing seen
    centred = (x2d - centre) * seen
    B, T = x2d.shape[:2]
    return torch.cat([centred.reshape(B, T, -1), seen.reshape(B, T, -1), centre.reshape(B, T, 2)], dim=-1)


def input_features(num_joints: int = NUM_JOINTS) -> int:
    """Per-frame input size: centred x, y and a visibility flag per joint, plus the 2D centre."""
    return num_joints * 3 + 2


def _root_relative(y: Tensor) -> Tensor:
    return y - y[:, :, :1]


class ResidualMLP(nn.Module):
    """Martinez et al. 2017 style single-frame lifter (about 4.3 M parameters at width 1024, two blocks)."""

    kind = "mlp"

    def __init__(
        self,
        num_joints: int = NUM_JOINTS,
        width: int = MLP_WIDTH,
        blocks: int = MLP_BLOCKS,
        dropout: float = MLP_DROPOUT,
    ):
        super().__init__()
        self.num_joints = num_joints
        self.inp = nn.Sequential(
            nn.Linear(input_features(num_joints), width),
            nn.BatchNorm1d(width, momentum=BN_MOMENTUM),
            nn.ReLU(),
            nn.Dropout(dropout),
        )

        def layer() -> list[nn.Module]:
            return [
                nn.Linear(width, width),
                nn.BatchNorm1d(width, momentum=BN_MOMENTUM),
                nn.ReLU(),
                nn.Dropout(dropout),
            ]

        self.blocks = nn.ModuleList(nn.Sequential(*layer(), *layer()) for _ in range(blocks))
        self.out = nn.Linear(width, num_joints * 3)

    def forward(self, x2d: Tensor, hidden: Tensor, frame_hidden: Tensor | None = None) -> Tensor:
        """``(B, T, J, 2)`` -> ``(B, T, J, 3)`` metres, root-relative; every frame on its own."""
        B, T, J, _ = x2d.shape
        h = self.inp(frame_features(x2d, hidden, frame_hidden).reshape(B * T, -1))
        for block in self.blocks:
            h = h + block(h)
        return _root_relative(self.out(h).reshape(B, T, J, 3))


class DilatedTCN(nn.Module):
    """VideoPose3D style dilated temporal convolutions, receptive field 81 (about 12.8 M parameters at 1024
    channels)."""

    kind = "tcn"

    def __init__(
        self,
        num_joints: int = NUM_JOINTS,
        channels: int = TCN_CHANNELS,
        dilations: tuple[int, ...] = TCN_DILATIONS,
        dropout: float = TCN_DROPOUT,
    ):
        super().__init__()
        self.num_joints = num_joints
        self.dilations = tuple(dilations)
        self.receptive_field = 1 + 2 * (1 + sum(self.dilations))
        self.expand = nn.Sequential(
            nn.Conv1d(input_features(num_joints), channels, 3, bias=False),
            nn.BatchNorm1d(channels, momentum=BN_MOMENTUM),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv1d(channels, channels, 3, dilation=d, bias=False),
                nn.BatchNorm1d(channels, momentum=BN_MOMENTUM),
                nn.ReLU(),
                nn.Dropout(dropout),
                nn.Conv1d(channels, channels, 1, bias=False),
                nn.BatchNorm1d(channels, momentum=BN_MOMENTUM),
                nn.ReLU(),
                nn.Dropout(dropout),
            )
            for d in self.dilations
        )
        self.out = nn.Conv1d(channels, num_joints * 3, 1)

    def forward(self, x2d: Tensor, hidden: Tensor, frame_hidden: Tensor | None = None) -> Tensor:
        """``(B, T, J, 2)`` -> ``(B, T, J, 3)`` metres, root-relative; the window is edge-padded by half the
        receptive field on each side so each frame sees 81 frames (edge frames repeated near the ends)."""
        B, T, J, _ = x2d.shape
        feats = frame_features(x2d, hidden, frame_hidden).transpose(1, 2)  # (B, F, T)
        half = self.receptive_field // 2
        feats = nn.functional.pad(feats, (half, half), mode="replicate")
        h = self.expand(feats)
        for d, block in zip(self.dilations, self.blocks):
            h = h[:, :, d:-d] + block(h)
        y = self.out(h).transpose(1, 2).reshape(B, T, J, 3)
        return _root_relative(y)


BASELINES = {"mlp": ResidualMLP, "tcn": DilatedTCN}
