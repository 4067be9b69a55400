"""What the lifting engine returns: 3D for every frame, the model's completed 2D and which joints were hidden."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mpm_core.engine.masks import Mask
from mpm_core.errors import PoseDataError
from mpm_core.sequence import PoseSequence2D, PoseSequence3D


@dataclass
class Reconstruction:
    """One lifted sequence.

    Fields:
        poses_3d: ``(T, 17, 3)`` float32 metres, camera frame (x right, y down, z forward), root-relative
            (pelvis, joint 0, at the origin in every frame).
        completed_2d: ``(T, 17, 2)`` float32 pixels: the input where the model saw it, the model's 2D where hidden.
        model_2d: ``(T, 17, 2)`` float32 pixels: the model's own 2D everywhere.
        hidden: ``(T, 17)`` bool: joints the model did not see (``mask.combined``).
        mask: the mask the model was run with, origins apart.
        input: the H36M-17 input (pixels, scores, visible, fps, image_size).
        fps: frames per second.
        image_size: ``(width, height)`` pixels used for normalisation (the input's, or a guess when unknown).
        model_name: name of the checkpoint that produced it.
    """

    poses_3d: np.ndarray
    completed_2d: np.ndarray
    model_2d: np.ndarray
    hidden: np.ndarray
    mask: Mask
    input: PoseSequence2D
    fps: float
    image_size: tuple[int, int]
    model_name: str

    def __post_init__(self) -> None:
        t = self.input.num_frames
        expected = {
            "poses_3d": (t, 17, 3),
            "completed_2d": (t, 17, 2),
            "model_2d": (t, 17, 2),
            "hidden": (t, 17),
        }
        for name, shape in expected.items():
            got = np.shape(getattr(self, name))
            if got != shape:
                raise PoseDataError(f"reconstruction {name} has shape {got}, expected {shape}")
        if self.mask.num_frames != t:
            raise PoseDataError(f"reconstruction mask has {self.mask.num_frames} frames, input {t}")

    @property
    def num_frames(self) -> int:
        return int(self.poses_3d.shape[0])

    def to_sequence_3d(self) -> PoseSequence3D:
        """The root-relative camera-frame 3D as a ``PoseSequence3D`` (metres, ``coords="camera"``).

        Every joint is visible (the model filled the hidden ones); ``scores`` are 1 where the input was seen and
        0 where the model filled in.
        """
        return PoseSequence3D(
            keypoints=self.poses_3d,
            scores=(~self.hidden).astype(np.float32),
            visible=np.ones(self.hidden.shape, bool),
            fps=self.fps,
            layout="h36m17",
            person_id=self.input.person_id,
            source=self.input.source,
            start_frame=self.input.start_frame,
            units="m",
            coords="camera",
        )
