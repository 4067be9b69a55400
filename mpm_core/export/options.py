"""Export options shared by the CLI and the app (one dataclass, validated on creation)."""

from __future__ import annotations

from dataclasses import dataclass

from mpm_core.engine.trajectory import CameraIntrinsics
from mpm_core.errors import PoseDataError
from mpm_core.sequence import UNITS

COORDS_CHOICES = ("world", "camera")
SMOOTH_CHOICES = (None, "one_euro", "lowpass")
UP_AXES = ("y", "z")
#: Default units per format when ``ExportOptions.units`` is None: BVH in centimetres (what animation tools
#: expect), everything else in metres.
DEFAULT_UNITS = {"bvh": "cm"}


@dataclass
class ExportOptions:
    """How a reconstruction becomes a file.

    Fields:
        coords: "world" (Y up, floor y = 0, with the estimated global trajectory) or "camera" (root-relative:
            pelvis at the origin, x right, y down, z forward; metres).
        bone_normalize: constant bone lengths (median per bone, left/right symmetric). BVH always normalises.
        smooth: None, "one_euro" or "lowpass" (zero-phase Butterworth at ``smooth_cutoff_hz``).
        smooth_cutoff_hz: low-pass cut-off in Hz (true fps of the input).
        units: "m", "cm" or "mm"; None = the format's default (BVH: cm, others: m). BVH accepts "cm" and "m".
        up_axis: BVH only: "y" (default) or "z".
        intrinsics: the camera, or None to derive it from the image size and ``fov_deg``.
        fov_deg: horizontal field of view for the derived camera (None: ``trajectory.DEFAULT_FOV_DEG``).
        csv_long: CSV in long form (one row per joint and frame) instead of wide.
        model_name: written in file headers (``# model=``); the pipeline's callers set it from the reconstruction.
    """

    coords: str = "world"
    bone_normalize: bool = False
    smooth: str | None = None
    smooth_cutoff_hz: float = 6.0
    units: str | None = None
    up_axis: str = "y"
    intrinsics: CameraIntrinsics | None = None
    fov_deg: float | None = None
    csv_long: bool = False
    model_name: str = ""

    def __post_init__(self) -> None:
        if self.coords not in COORDS_CHOICES:
            raise PoseDataError(f"unknown coords {self.coords!r}; known: {', '.join(COORDS_CHOICES)}", where="coords")
        if self.smooth not in SMOOTH_CHOICES:
            raise PoseDataError(f"unknown smoothing {self.smooth!r}; known: one_euro, lowpass", where="smooth")
        if not (self.smooth_cutoff_hz > 0):
            raise PoseDataError(f"cut-off {self.smooth_cutoff_hz!r} Hz must be > 0", where="smooth cut-off")
        if self.units is not None and self.units not in UNITS:
            raise PoseDataError(f"unknown units {self.units!r}; known: {', '.join(UNITS)}", where="units")
        if self.up_axis not in UP_AXES:
            raise PoseDataError(f"unknown up axis {self.up_axis!r}; known: y, z", where="up axis")
        if self.fov_deg is not None and not (0.0 < self.fov_deg < 180.0):
            raise PoseDataError(f"field of view {self.fov_deg!r} degrees must be in (0, 180)", where="fov")

    def units_for(self, fmt: str) -> str:
        """The units a format is written in."""
        return self.units or DEFAULT_UNITS.get(fmt, "m")
