"""Plain values the document holds: settings, the input, results of either kind, joint states.

No Qt here and no pose math: the document and the views pass these around; the library computes them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mpm_core.engine.masks import DEFAULT_CONFIDENCE_THRESHOLD, Mask
from mpm_core.engine.probe import VirtualCamera
from mpm_core.sequence import PoseSequence2D, PoseSequence3D

#: Joint states for drawing, in priority order (a joint has exactly one).
VISIBLE, FORCED, USER_HIDDEN, LOW_CONFIDENCE, MISSING = range(5)
STATE_NAMES = {
    VISIBLE: "seen",
    FORCED: "forced visible",
    USER_HIDDEN: "hidden by you",
    LOW_CONFIDENCE: "hidden: low confidence",
    MISSING: "missing in the input",
}

#: 3D input modes: complete hidden 3D joints, or lift what a virtual camera would see.
MODE_COMPLETE, MODE_PROBE = "complete", "probe"
#: Scopes of a click on a joint: this frame, the selected frames, every frame.
SCOPE_FRAME, SCOPE_SELECTION, SCOPE_ALL = "frame", "selection", "all"


@dataclass(frozen=True)
class Settings:
    """What the user chose, persisted in projects and preferences.

    Fields:
        threshold: confidence below which a joint is hidden from the model (0-1).
        smoothing: None, "one_euro" or "lowpass" (drawn and exported alike).
        bone_normalize: constant bone lengths (None: the library's default, on for world coordinates).
        foot_locking: planted feet held still (None: the library's default, on for world coordinates).
        height_m: the performer's height in metres (None: as lifted).
        coords: "world" (y up, floor, trajectory) or "camera" (root-relative) for the 3D view.
        device: "auto", "cpu", "cuda" or "mps".
        model: "" for the shipped model, else a checkpoint path or a registered model name.
        fov_deg: the input camera's horizontal field of view for the trajectory (None = the library default).
    """

    threshold: float = DEFAULT_CONFIDENCE_THRESHOLD
    smoothing: str | None = None
    bone_normalize: bool | None = None
    foot_locking: bool | None = None
    height_m: float | None = None
    coords: str = "world"
    device: str = "auto"
    model: str = ""
    fov_deg: float | None = None

    def replace(self, **changes) -> Settings:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Settings:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class InputData:
    """The open input.

    Fields:
        path: the file or folder it came from (None for data built in memory).
        sequence: as read, in the file's layout (2D pixels, or 3D metres).
        h36m: the same in H36M-17 (3D in metres).
        tracks: person ids available in the file (one entry for single-person files).
        person: the track shown, or None.
        content_hash: SHA-256 of the file's bytes (of the folder's files for a folder), for project files.
        reference_camera: ``(T, 17, 3)`` metres truth in the input camera's frame (the bundled sample), or None.
        reference_path / reference_hash: the file the reference came from and its SHA-256.
        video: the video shown under the 2D skeleton (the video detected, or one paired by hand), or None.
            Row ``r`` of the sequence is video frame ``sequence.start_frame + r``.
    """

    path: Path | None
    sequence: PoseSequence2D | PoseSequence3D
    h36m: PoseSequence2D | PoseSequence3D
    tracks: list[int] = field(default_factory=list)
    person: int | None = None
    content_hash: str = ""
    reference_camera: np.ndarray | None = None
    reference_path: Path | None = None
    reference_hash: str = ""
    video: Path | None = None

    @property
    def kind(self) -> str:
        """ "2d" or "3d"."""
        return "2d" if isinstance(self.h36m, PoseSequence2D) else "3d"

    @property
    def num_frames(self) -> int:
        return self.h36m.num_frames

    @property
    def fps(self) -> float:
        return float(self.h36m.fps)

    @property
    def name(self) -> str:
        return self.path.name if self.path is not None else "sequence"


@dataclass
class CompletionResult:
    """A 3D completion (``LiftingEngine.complete``): the completed sequence and what the model filled.

    Fields:
        sequence: H36M-17 metres in the input's frame, every joint visible.
        filled: ``(T, 17)`` bool joints the model filled in.
        mask: the mask it was run with.
    """

    sequence: PoseSequence3D
    filled: np.ndarray
    mask: Mask

    @property
    def num_frames(self) -> int:
        return self.sequence.num_frames


@dataclass(frozen=True)
class ProbeSettings:
    """The 3D input's mode and its virtual camera."""

    mode: str = MODE_PROBE
    camera: VirtualCamera = field(default_factory=VirtualCamera)


def joint_states(mask: Mask, lo: int, hi: int) -> np.ndarray:
    """``(hi-lo, 17)`` int8 state codes of rows ``lo:hi`` (``VISIBLE`` ... ``MISSING``) from the mask's origins."""
    s = slice(lo, hi)
    out = np.full(mask.user[s].shape, VISIBLE, np.int8)
    out[mask.forced[s]] = FORCED
    out[mask.low_confidence[s] & ~mask.forced[s]] = LOW_CONFIDENCE
    out[mask.user[s]] = USER_HIDDEN
    out[mask.missing[s]] = MISSING
    return out
