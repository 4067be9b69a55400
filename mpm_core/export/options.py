"""Export options shared by the CLI and the app (one dataclass, validated on creation)."""

from __future__ import annotations

from dataclasses import dataclass

from mpm_core.engine.stature import check_height
from mpm_core.engine.trajectory import CameraIntrinsics
from mpm_core.errors import PoseDataError, check_fps
from mpm_core.export.bvh_presets import BVH_PRESETS
from mpm_core.sequence import UNITS

COORDS_CHOICES = ("world", "camera")
ROOT_MOTIONS = ("travel", "in_place")
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
        bone_normalize: constant bone lengths (median per bone over the frames where the bone was seen,
            left/right symmetric). None (default): on for world output, off for camera output. BVH always
            normalises.
        smooth: None, "one_euro" or "lowpass" (zero-phase Butterworth at ``smooth_cutoff_hz``).
        smooth_cutoff_hz: low-pass cut-off in Hz (true fps of the input).
        units: "m", "cm" or "mm"; None = the format's default (BVH: cm, others: m). BVH accepts "cm" and "m".
        up_axis: BVH only: "y" (default) or "z".
        intrinsics: the camera, or None to derive it from the image size and ``fov_deg``.
        fov_deg: horizontal field of view for the derived camera (None: ``trajectory.DEFAULT_FOV_DEG``).
        csv_long: CSV in long form (one row per joint and frame) instead of wide.
        model_name: written in file headers (``# model=``); the pipeline's callers set it from the reconstruction.
        height_m: the performer's stature (sole to head top, metres; see ``engine.stature``): the 3D and the
            trajectory are scaled so the skeleton has it. None: the model's scale.
        foot_locking: hold planted feet on the floor (two-bone leg IK). None (default): on for world output.
        root_motion: "travel" (the root moves through the world) or "in_place" (the pelvis stays above the
            origin; height kept).
        face_z: turn the world about up so that the performer starts facing +Z (else x is the camera's right).
        output_fps: resample the output to this frame rate (None: the input's).
        bvh_preset: BVH joint names and rest pose: "h36m", "mixamo" or "metarig" (see ``export.bvh_presets``).
    """

    coords: str = "world"
    bone_normalize: bool | None = None
    smooth: str | None = None
    smooth_cutoff_hz: float = 6.0
    units: str | None = None
    up_axis: str = "y"
    intrinsics: CameraIntrinsics | None = None
    fov_deg: float | None = None
    csv_long: bool = False
    model_name: str = ""
    height_m: float | None = None
    foot_locking: bool | None = None
    root_motion: str = "travel"
    face_z: bool = False
    output_fps: float | None = None
    bvh_preset: str = "h36m"

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
        if self.height_m is not None:
            self.height_m = check_height(self.height_m)
        if self.root_motion not in ROOT_MOTIONS:
            raise PoseDataError(
                f"unknown root motion {self.root_motion!r}; known: {', '.join(ROOT_MOTIONS)}", where="root motion"
            )
        if self.output_fps is not None:
            self.output_fps = check_fps(self.output_fps, where="output fps")
        if self.bvh_preset not in BVH_PRESETS:
            raise PoseDataError(
                f"unknown BVH preset {self.bvh_preset!r}; known: {', '.join(BVH_PRESETS)}", where="BVH preset"
            )

    @property
    def normalize_bones(self) -> bool:
        """Whether bone lengths are made constant (``bone_normalize``, or its default for the coordinates)."""
        return self.coords == "world" if self.bone_normalize is None else bool(self.bone_normalize)

    @property
    def lock_feet(self) -> bool:
        """Whether planted feet are locked (``foot_locking``, or its default: on for world output)."""
        return self.coords == "world" if self.foot_locking is None else bool(self.foot_locking)

    def units_for(self, fmt: str) -> str:
        """The units a format is written in."""
        return self.units or DEFAULT_UNITS.get(fmt, "m")
