"""The lifting engine: masks, overlapping windows, batching, blending and the per-window cache.

The engine is the only caller of the network at inference; the CLI and the app both go through it.
``LiftingEngine`` and ``LiftCancelled`` are imported lazily so that importing masks or results (or E2's
trajectory/cleanup modules) does not import torch.
"""

from __future__ import annotations

from mpm_core.engine.masks import DEFAULT_CONFIDENCE_THRESHOLD, JOINT_GROUPS, Mask, parse_mask_spec
from mpm_core.engine.result import Reconstruction

_LAZY = {"LiftingEngine", "LiftCancelled"}


def __getattr__(name: str):
    if name in _LAZY:
        from mpm_core.engine import lifter

        return getattr(lifter, name)
    raise AttributeError(f"module 'mpm_core.engine' has no attribute {name!r}")


__all__ = [
    "DEFAULT_CONFIDENCE_THRESHOLD",
    "JOINT_GROUPS",
    "LiftCancelled",
    "LiftingEngine",
    "Mask",
    "Reconstruction",
    "parse_mask_spec",
]
