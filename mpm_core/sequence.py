"""Pose sequences: what every reader returns and every exporter takes.

Missing values are masked, never NaN in arithmetic: wherever a coordinate is missing or non-finite, ``visible``
is False, its coordinates are 0 and its score is 0.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from mpm_core.errors import PoseDataError, check_fps
from mpm_core.skeleton import Layout, convert_arrays_to_h36m, get_layout

#: Coordinate frames of 3D data. camera: x right, y down, z forward. world: y up.
COORDS = ("camera", "world")
#: Length units of 3D data and their size in metres.
UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001}


@dataclass
class PoseSequence:
    """Keypoints over time for one person. Subclasses fix the number of coordinates C.

    Fields:
        keypoints: ``(T, J, C)`` float32; 0 where not visible.
        scores: ``(T, J)`` float32 confidence (1 for ground truth), 0 where not visible.
        visible: ``(T, J)`` bool; False for a missing or non-finite joint.
        fps: frames per second, > 0.
        layout: layout name (see ``mpm_core.skeleton.LAYOUTS``).
        person_id: track id within the source, or None.
        source: file the data came from ("" when built in memory).
        start_frame: frame number of row 0 in the source (frame numbers are ``start_frame + arange(T)``).
    """

    keypoints: np.ndarray
    scores: np.ndarray | None = None
    visible: np.ndarray | None = None
    fps: float = 30.0
    layout: str = "h36m17"
    person_id: int | None = None
    source: str = ""
    start_frame: int = 0
    channels: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        kp = np.asarray(self.keypoints, dtype=np.float32)
        if kp.ndim != 3 or kp.shape[2] != self.channels:
            raise PoseDataError(
                f"keypoints must have shape (T, J, {self.channels}), got {tuple(kp.shape)}", self.source or None
            )
        if kp.shape[0] == 0:
            raise PoseDataError("zero frames", self.source or None)
        layout = get_layout(self.layout)
        self.layout = layout.name
        if kp.shape[1] != layout.num_joints:
            raise PoseDataError(
                f"{kp.shape[1]} joints given for layout {layout.name} ({layout.num_joints} joints)",
                self.source or None,
            )
        shape2 = kp.shape[:2]
        scores = np.ones(shape2, np.float32) if self.scores is None else np.asarray(self.scores, np.float32)
        visible = np.ones(shape2, bool) if self.visible is None else np.asarray(self.visible, bool)
        if scores.shape != shape2 or visible.shape != shape2:
            raise PoseDataError(
                f"scores {scores.shape} / visible {visible.shape} do not match keypoints {shape2}", self.source or None
            )
        finite = np.isfinite(kp).all(axis=2)
        visible = visible & finite & np.isfinite(scores)
        if not visible.all():
            kp = kp.copy()  # never write into the caller's array
            kp[~visible] = 0.0
        scores = np.where(visible, scores, 0.0).astype(np.float32)
        self.keypoints, self.scores, self.visible = kp, scores, visible
        self.fps = check_fps(self.fps, self.source or None)
        self.start_frame = int(self.start_frame)

    # -- shape ------------------------------------------------------------------------------------------------
    @property
    def num_frames(self) -> int:
        return int(self.keypoints.shape[0])

    @property
    def num_joints(self) -> int:
        return int(self.keypoints.shape[1])

    @property
    def layout_info(self) -> Layout:
        return get_layout(self.layout)

    @property
    def frame_numbers(self) -> np.ndarray:
        """``(T,)`` int: source frame number of each row."""
        return self.start_frame + np.arange(self.num_frames)

    @property
    def times(self) -> np.ndarray:
        """``(T,)`` float64 seconds of each row from the first."""
        return np.arange(self.num_frames) / self.fps

    def missing_share(self) -> np.ndarray:
        """``(J,)`` share of frames in which each joint is missing."""
        return 1.0 - self.visible.mean(axis=0)

    # -- derived sequences ------------------------------------------------------------------------------------
    def replace(self, **changes):
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def slice(self, start: int, stop: int):
        """Rows ``start:stop`` as a new sequence (frame numbers kept)."""
        if not 0 <= start < stop <= self.num_frames:
            raise PoseDataError(f"frame range {start}-{stop} outside 0-{self.num_frames}", self.source or None)
        return self.replace(
            keypoints=self.keypoints[start:stop],
            scores=self.scores[start:stop],
            visible=self.visible[start:stop],
            start_frame=self.start_frame + start,
        )

    def to_h36m(self):
        """The same sequence in the canonical H36M-17 layout (see ``skeleton.convert_arrays_to_h36m``)."""
        if self.layout == "h36m17":
            return self
        kp, sc, vis = convert_arrays_to_h36m(self.keypoints, self.scores, self.visible, self.layout)
        return self.replace(keypoints=kp, scores=sc, visible=vis, layout="h36m17")


@dataclass
class PoseSequence2D(PoseSequence):
    """2D keypoints ``(T, J, 2)`` in pixels, origin top-left, x right, y down.

    ``image_size`` is ``(width, height)`` in pixels, or None when unknown.
    """

    image_size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        self.channels = 2
        super().__post_init__()
        if self.image_size is not None:
            w, h = (int(v) for v in self.image_size)
            if w <= 0 or h <= 0:
                raise PoseDataError(f"image size {self.image_size} must be positive", self.source or None)
            self.image_size = (w, h)

    def guess_image_size(self) -> tuple[int, int]:
        """``image_size`` if known, else the smallest common video size that holds every visible keypoint."""
        if self.image_size is not None:
            return self.image_size
        pts = self.keypoints[self.visible]
        if len(pts) == 0:
            return (1920, 1080)
        max_x, max_y = float(pts[:, 0].max()), float(pts[:, 1].max())
        for w, h in ((640, 480), (1280, 720), (1920, 1080), (2560, 1440), (3840, 2160)):
            if max_x <= w and max_y <= h:
                return (w, h)
        return (int(np.ceil(max_x)), int(np.ceil(max_y)))


@dataclass
class PoseSequence3D(PoseSequence):
    """3D joints ``(T, J, 3)``.

    ``units`` is one of ``UNITS`` (readers convert to metres). ``coords`` is ``"camera"`` (x right, y down,
    z forward) or ``"world"`` (y up).
    """

    units: str = "m"
    coords: str = "world"

    def __post_init__(self) -> None:
        self.channels = 3
        super().__post_init__()
        if self.units not in UNITS:
            raise PoseDataError(f"unknown units {self.units!r}; known: {', '.join(UNITS)}", self.source or None)
        if self.coords not in COORDS:
            raise PoseDataError(f"unknown coords {self.coords!r}; known: {', '.join(COORDS)}", self.source or None)

    def in_metres(self) -> PoseSequence3D:
        """The same sequence with coordinates in metres."""
        if self.units == "m":
            return self
        return self.replace(keypoints=self.keypoints * UNITS[self.units], units="m")

    @property
    def joints(self) -> np.ndarray:
        """Alias of ``keypoints``: ``(T, J, 3)``."""
        return self.keypoints
