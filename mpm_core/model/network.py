"""The MPM network (arXiv 2306.17201, P-STMO lineage): masked 2D/3D pose modelling, one token per frame.

Flow for one window of T frames:

    x (B, T, J, C)  --spatial mask: hidden joints <- learned (J, C) mask vector of the input modality
                    --modality embedding: Linear(C*J -> width) + LayerNorm + GELU          (one per modality)
                    --shared residual MLP, + learned positional embedding
                    --shared temporal transformer encoder (pre-norm); hidden frames are left out through
                      ``key_padding_mask`` so each sample may hide different frames
                    --per output modality: Linear(width -> decoder_width); hidden frames get a learned mask
                      token; + the decoder's own positional embedding; a light transformer; LayerNorm + Linear
                      head -> every frame of the window.

The 3D output is root-relative: the predicted pelvis (joint 0) is subtracted so it is exactly 0.
One set of weights serves lifting (2D -> 3D), 3D completion (masked 3D -> 3D) and 2D completion (masked 2D -> 2D).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import Tensor, nn

#: Input/output modalities and their coordinate count per joint.
MODALITY_CHANNELS: dict[str, int] = {"2d": 2, "3d": 3}


@dataclass
class NetworkConfig:
    """Architecture of an ``MPMNetwork``; stored in every checkpoint's JSON sidecar (``architecture``).

    ``window`` is the number of frames per window (the length of the learned positional embeddings).
    ``decoder_heads`` is the attention head count of the light decoders (must divide ``decoder_width``).
    """

    num_joints: int = 17
    window: int = 81
    width: int = 256
    heads: int = 8
    encoder_layers: int = 4
    decoder_layers: int = 1
    decoder_width: int = 128
    mlp_ratio: float = 2.0
    dropout: float = 0.1
    decoder_heads: int = 8

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the field when a value cannot build a network."""
        positive_ints = ("num_joints", "window", "width", "heads", "encoder_layers", "decoder_width", "decoder_heads")
        for name in positive_ints:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"network config: {name} must be a positive integer, got {value!r}")
        if isinstance(self.decoder_layers, bool) or not isinstance(self.decoder_layers, int) or self.decoder_layers < 0:
            raise ValueError(f"network config: decoder_layers must be an integer >= 0, got {self.decoder_layers!r}")
        if self.width % self.heads:
            raise ValueError(f"network config: width {self.width} is not divisible by heads {self.heads}")
        if self.decoder_width % self.decoder_heads:
            raise ValueError(
                f"network config: decoder_width {self.decoder_width} is not divisible by "
                f"decoder_heads {self.decoder_heads}"
            )
        if not isinstance(self.mlp_ratio, (int, float)) or isinstance(self.mlp_ratio, bool) or self.mlp_ratio <= 0:
            raise ValueError(f"network config: mlp_ratio must be a number > 0, got {self.mlp_ratio!r}")
        if not isinstance(self.dropout, (int, float)) or isinstance(self.dropout, bool) or not 0 <= self.dropout < 1:
            raise ValueError(f"network config: dropout must be in [0, 1), got {self.dropout!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> NetworkConfig:
        """Build from a dict (e.g. a checkpoint's ``architecture``); unknown keys and bad values raise ValueError."""
        if not isinstance(d, dict):
            raise ValueError(f"network config must be a JSON object, got {type(d).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"network config: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**d)


def _transformer(width: int, heads: int, layers: int, mlp_ratio: float, dropout: float) -> nn.TransformerEncoder:
    # Pre-norm + batch_first: nn.TransformerEncoderLayer then takes its fused fast path in eval/inference.
    layer = nn.TransformerEncoderLayer(
        width,
        heads,
        dim_feedforward=int(round(width * mlp_ratio)),
        dropout=dropout,
        activation="gelu",
        batch_first=True,
        norm_first=True,
    )
    # Nested tensors are not used with norm_first anyway; saying so silences the warning.
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


class _ResidualMLP(nn.Module):
    """x + MLP(LayerNorm(x)): the block shared by both modalities after their embeddings."""

    def __init__(self, width: int, mlp_ratio: float, dropout: float):
        super().__init__()
        hidden = int(round(width * mlp_ratio))
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, hidden)
        self.fc2 = nn.Linear(hidden, width)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.drop(self.fc2(nn.functional.gelu(self.fc1(self.norm(x)))))


class _Decoder(nn.Module):
    """Light decoder for one output modality: encoder width -> decoder width, mask tokens, transformer, head."""

    def __init__(self, config: NetworkConfig, channels: int):
        super().__init__()
        dw = config.decoder_width
        self.proj = nn.Linear(config.width, dw)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dw))
        self.pos = nn.Parameter(torch.zeros(1, config.window, dw))
        self.blocks = (
            _transformer(dw, config.decoder_heads, config.decoder_layers, config.mlp_ratio, config.dropout)
            if config.decoder_layers > 0
            else None
        )
        self.norm = nn.LayerNorm(dw)
        self.head = nn.Linear(dw, config.num_joints * channels)
        nn.init.trunc_normal_(self.mask_token, std=0.02)
        nn.init.trunc_normal_(self.pos, std=0.02)

    def forward(self, h: Tensor, frame_mask: Tensor | None) -> Tensor:
        """h: (B, T, width) encoder output -> (B, T, J*C)."""
        z = self.proj(h)
        if frame_mask is not None:
            z = torch.where(frame_mask.unsqueeze(-1), self.mask_token.to(z.dtype), z)
        z = z + self.pos[:, : z.shape[1]]
        if self.blocks is not None:
            z = self.blocks(z)
        return self.head(self.norm(z))


class MPMNetwork(nn.Module):
    """Masked pose model: see the module docstring for the flow and ``forward`` for the tensors."""

    def __init__(self, config: NetworkConfig):
        super().__init__()
        config.validate()
        self.config = config
        J, w = config.num_joints, config.width
        # Learned per-modality mask vectors, substituted for hidden joints' coordinates before the embedding.
        self.mask_2d = nn.Parameter(torch.zeros(J, 2))
        self.mask_3d = nn.Parameter(torch.zeros(J, 3))
        self.embed_2d = nn.Sequential(nn.Linear(2 * J, w), nn.LayerNorm(w), nn.GELU())
        self.embed_3d = nn.Sequential(nn.Linear(3 * J, w), nn.LayerNorm(w), nn.GELU())
        self.shared_mlp = _ResidualMLP(w, config.mlp_ratio, config.dropout)
        self.pos = nn.Parameter(torch.zeros(1, config.window, w))
        self.encoder = _transformer(w, config.heads, config.encoder_layers, config.mlp_ratio, config.dropout)
        self.encoder_norm = nn.LayerNorm(w)
        self.decoder_2d = _Decoder(config, 2)
        self.decoder_3d = _Decoder(config, 3)
        nn.init.trunc_normal_(self.pos, std=0.02)
        nn.init.trunc_normal_(self.mask_2d, std=0.02)
        nn.init.trunc_normal_(self.mask_3d, std=0.02)

    def forward(
        self,
        x: Tensor,
        modality: str,
        joint_mask: Tensor | None = None,
        frame_mask: Tensor | None = None,
        outputs: tuple[str, ...] = ("2d", "3d"),
    ) -> dict[str, Tensor]:
        """Complete / lift one batch of windows.

        Args:
            x: ``(B, T, J, 2)`` normalised screen 2D (``mpm_core.model.normalization``) when ``modality == "2d"``;
                ``(B, T, J, 3)`` root-relative 3D, metres, camera frame (x right, y down, z forward) when "3d".
                ``T <= config.window`` (normally equal).
            joint_mask: ``(B, T, J)`` bool, True = joint hidden (its values are ignored).
            frame_mask: ``(B, T)`` bool, True = whole frame hidden; such frames do not enter the encoder.
            outputs: which of "2d", "3d" to predict (skipping one skips its decoder).

        Returns:
            ``{"2d": (B, T, J, 2) normalised screen, "3d": (B, T, J, 3) metres, root-relative (joint 0 == 0)}``
            for the requested outputs, every frame of the window.
        """
        channels = MODALITY_CHANNELS.get(modality)
        if channels is None:
            raise ValueError(f"modality must be '2d' or '3d', got {modality!r}")
        for name in outputs:
            if name not in MODALITY_CHANNELS:
                raise ValueError(f"unknown output {name!r}; expected '2d' and/or '3d'")
        cfg = self.config
        if x.dim() != 4 or x.shape[2] != cfg.num_joints or x.shape[3] != channels:
            raise ValueError(f"{modality} input must be (B, T, {cfg.num_joints}, {channels}), got {tuple(x.shape)}")
        B, T = x.shape[0], x.shape[1]
        if T > cfg.window or T < 1:
            raise ValueError(f"window of {T} frames; this network takes 1..{cfg.window}")
        if joint_mask is not None and tuple(joint_mask.shape) != (B, T, cfg.num_joints):
            raise ValueError(f"joint_mask must be (B, T, J) = {(B, T, cfg.num_joints)}, got {tuple(joint_mask.shape)}")
        if frame_mask is not None and tuple(frame_mask.shape) != (B, T):
            raise ValueError(f"frame_mask must be (B, T) = {(B, T)}, got {tuple(frame_mask.shape)}")

        if modality == "2d":
            mask_vec, embed = self.mask_2d, self.embed_2d
        else:
            mask_vec, embed = self.mask_3d, self.embed_3d
        if joint_mask is not None:
            x = torch.where(joint_mask.to(torch.bool).unsqueeze(-1), mask_vec.to(x.dtype), x)
        h = self.shared_mlp(embed(x.reshape(B, T, cfg.num_joints * channels)))
        h = h + self.pos[:, :T]

        padding = None
        if frame_mask is not None:
            frame_mask = frame_mask.to(torch.bool)
            # A sample with every frame hidden would make attention softmax over nothing (NaN): let it attend to
            # all its (discarded) tokens instead; the decoder replaces every one of them by the mask token.
            padding = frame_mask & ~frame_mask.all(dim=1, keepdim=True)
        h = self.encoder_norm(self.encoder(h, src_key_padding_mask=padding))

        result: dict[str, Tensor] = {}
        if "2d" in outputs:
            result["2d"] = self.decoder_2d(h, frame_mask).reshape(B, T, cfg.num_joints, 2)
        if "3d" in outputs:
            y = self.decoder_3d(h, frame_mask).reshape(B, T, cfg.num_joints, 3)
            result["3d"] = y - y[:, :, :1]
        return result


def count_parameters(network: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in network.parameters() if p.requires_grad)
