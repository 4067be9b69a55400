"""2D detectors on ONNX Runtime behind one small interface.

A ``FrameDetector`` takes the frames of one video in order (``detect(image, index)``) and returns the people
it finds as ``Detection`` objects in COCO-17 pixels; it may carry state from frame to frame (crops that follow
the body) and ``reset()`` forgets it (a seek, a new video). ``key`` names the detector and its settings for
the detection cache; ``calls`` counts network runs.

- ``MoveNetSingle``: MoveNet SinglePose Lightning on a square crop that follows the body from the previous
  frame's keypoints (the MoveNet reference cropping algorithm); when tracking is lost, the letterboxed whole
  frame, refined by a second run on the crop the first run gives.
- ``MultiPerson``: YOLOX-nano person boxes every ``detect_every`` frames, MoveNet on a square around each box;
  between box frames each person's crop follows their own keypoints. The pipeline links the detections into
  tracks with ``mpm_core.tracking``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np

from mpm_core.io.common import Detection
from mpm_core.video.models import (
    DEFAULT_PERSON_MODEL,
    DEFAULT_POSE_MODEL,
    find_model,
    model_kind,
    onnx_session,
    sha256_of,
)

LAYOUT = "coco17"
NUM_JOINTS = 17
MOVENET_SIZE = 192
YOLOX_SIZE = 416
YOLOX_PAD_VALUE = 114
YOLOX_STRIDES = (8, 16, 32)
#: A keypoint below this score is reported missing (MoveNet's scores for absent joints sit near 0.0-0.1).
KEYPOINT_MIN_SCORE = 0.15
#: A keypoint counts for placing the next crop at this score (MoveNet reference: 0.2).
CROP_KEYPOINT_SCORE = 0.2
#: A person is present when the mean of their keypoint scores reaches this; below, the frame has nobody.
PERSON_MIN_SCORE = 0.2
#: The following crop's side over the longer side of the keypoints' box (see ``follow_crop``).
FOLLOW_EXPANSION = 1.3
#: A person box is enlarged this much around its centre for the MoveNet square (the models README's choice).
BOX_EXPANSION = 1.25
YOLOX_SCORE, YOLOX_NMS_IOU = 0.3, 0.45
#: In a crowd each person's square is blacked out beyond their box grown by this share of its size per side
#: (YOLOX boxes) or by ``FOLLOW_MARGIN`` (boxes of last frame's keypoints, which move between frames).
BOX_MARGIN, FOLLOW_MARGIN = 0.1, 0.1
#: Two poses whose confidently seen joints lie this close on average (in person sizes, the square root of the
#: keypoint box area) are one person found twice (two crops snapping onto the same body).
DUPLICATE_DISTANCE = 0.15
#: COCO-17 indices.
L_SHOULDER, R_SHOULDER, L_HIP, R_HIP = 5, 6, 11, 12


_RUNS = [0]  # network runs in this process, every detector together


def network_runs() -> int:
    """Detector network runs made in this process so far (for checking that cached work makes none)."""
    return _RUNS[0]


@dataclass
class Pose:
    """One MoveNet result in image pixels: ``xy`` (17, 2), ``scores`` (17,)."""

    xy: np.ndarray
    scores: np.ndarray

    @property
    def score(self) -> float:
        return float(self.scores.mean())

    def box(self) -> np.ndarray:
        good = self.scores >= CROP_KEYPOINT_SCORE
        pts = self.xy[good] if good.any() else self.xy
        return np.concatenate([pts.min(axis=0), pts.max(axis=0)])


class MoveNet:
    """MoveNet SinglePose Lightning on one square region of a frame."""

    def __init__(self, path: str | os.PathLike | None = None, threads: int | None = None):
        self.path = find_model(path or DEFAULT_POSE_MODEL)
        self.session = onnx_session(self.path, threads)
        self.input_name = self.session.get_inputs()[0].name
        self.sha256 = sha256_of(self.path)
        self.calls = 0

    def run(self, image: np.ndarray, x0: float, y0: float, side: float, keep: np.ndarray | None = None) -> Pose:
        """Keypoints in the square ``[x0, x0 + side) x [y0, y0 + side)`` of a BGR image (zeros outside it).

        ``keep``: an (x1, y1, x2, y2) box; the crop is blacked out outside it, so that MoveNet looks at that
        person and not at a neighbour who shares the square.
        """
        scale = MOVENET_SIZE / side
        m = np.array([[scale, 0.0, -x0 * scale], [0.0, scale, -y0 * scale]], np.float32)
        src = image
        shrink = int(1.0 / scale)
        if shrink >= 2:  # strong downscale: area-average the square's part of the image first (no aliasing)
            h, w = image.shape[:2]
            rx0, ry0 = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
            rw = (min(w, int(np.ceil(x0 + side))) - rx0) // shrink * shrink
            rh = (min(h, int(np.ceil(y0 + side))) - ry0) // shrink * shrink
            if rw >= shrink and rh >= shrink:
                roi = image[ry0 : ry0 + rh, rx0 : rx0 + rw]
                src = cv2.resize(roi, (rw // shrink, rh // shrink), interpolation=cv2.INTER_AREA)
                # a small pixel j is the mean of big pixels j*s .. j*s+s-1: its centre is at j*s + (s-1)/2
                a = shrink * scale
                off = (shrink - 1) / 2.0
                m = np.array([[a, 0.0, (rx0 + off - x0) * scale], [0.0, a, (ry0 + off - y0) * scale]], np.float32)
        crop = cv2.warpAffine(src, m, (MOVENET_SIZE, MOVENET_SIZE), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
        if keep is not None:
            k = np.clip((np.asarray(keep[:4], np.float64) - [x0, y0, x0, y0]) * scale, 0, MOVENET_SIZE)
            kx1, ky1, kx2, ky2 = (int(round(v)) for v in k)
            crop[:ky1] = 0
            crop[ky2:] = 0
            crop[:, :kx1] = 0
            crop[:, kx2:] = 0
        rgb = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)[None]
        out = self.session.run(None, {self.input_name: rgb})[0].reshape(NUM_JOINTS, 3)
        self.calls += 1
        _RUNS[0] += 1
        xy = np.stack([x0 + out[:, 1] * side, y0 + out[:, 0] * side], axis=1).astype(np.float64)
        return Pose(xy, out[:, 2].astype(np.float32))


def letterbox_square(width: int, height: int) -> tuple[float, float, float]:
    """``(x0, y0, side)`` of the square that holds the whole frame, centred (as ``tf.image.resize_with_pad``)."""
    side = float(max(width, height))
    return (width - side) / 2.0, (height - side) / 2.0, side


def follow_crop(pose: Pose, width: int, height: int) -> tuple[float, float, float] | None:
    """The crop for the next frame from this frame's keypoints, or None (tracking lost: use the whole frame).

    A square ``FOLLOW_EXPANSION`` x the longer side of the box of the keypoints scored >= ``CROP_KEYPOINT_SCORE``,
    centred on that box. Tracking is lost, as in the MoveNet reference cropping algorithm, when no shoulder or
    no hip is seen, or when the square would be larger than the whole frame. (Measured on the OpenPose example:
    this square agrees better with OpenPose than the reference's hip-centred torso/body expansion, median 10.6
    against 16.1 px, 90th percentile 25 against 48 px; a seated person's hips are far from the body's centre.)
    """
    good = pose.scores >= CROP_KEYPOINT_SCORE
    if not ((good[L_HIP] or good[R_HIP]) and (good[L_SHOULDER] or good[R_SHOULDER])):
        return None
    x1, y1, x2, y2 = pose.box()
    side = max(x2 - x1, y2 - y1) * FOLLOW_EXPANSION
    if side > max(width, height) or side <= 1.0:
        return None
    return (x1 + x2 - side) / 2.0, (y1 + y2 - side) / 2.0, float(side)


def to_detection(pose: Pose, width: int, height: int, box: np.ndarray | None = None) -> Detection:
    """A ``Detection`` (COCO-17): keypoints below ``KEYPOINT_MIN_SCORE`` or outside the frame are missing."""
    xy = pose.xy
    inside = (xy[:, 0] >= 0) & (xy[:, 0] < width) & (xy[:, 1] >= 0) & (xy[:, 1] < height)
    visible = inside & (pose.scores >= KEYPOINT_MIN_SCORE)
    kp = np.where(visible[:, None], xy, 0.0)
    scores = np.where(visible, pose.scores, 0.0).astype(np.float32)
    return Detection(kp, scores, visible, None if box is None else np.asarray(box, np.float64))


class FrameDetector:
    """Interface: ``detect(image, index) -> list[Detection]`` for frames in order; ``reset()``; ``key``."""

    name = "base"
    max_people: int | None = 1

    def detect(self, image: np.ndarray, index: int) -> list[Detection]:  # pragma: no cover - interface
        raise NotImplementedError

    def reset(self) -> None:
        """Forget what was carried from earlier frames (call after a seek or for a new video)."""

    @property
    def key(self) -> str:
        """Detector name, model hashes and settings: what the cached results depend on."""
        raise NotImplementedError

    @property
    def calls(self) -> int:
        """Network runs so far."""
        raise NotImplementedError


class MoveNetSingle(FrameDetector):
    """One person: MoveNet on a crop following the body; the letterboxed frame when the body is lost."""

    name = "movenet"
    max_people = 1

    def __init__(self, movenet: MoveNet | None = None, model: str | os.PathLike | None = None, threads=None):
        self.movenet = movenet or MoveNet(model, threads)
        self._crop: tuple[float, float, float] | None = None

    @property
    def key(self) -> str:
        return f"movenet-single-v1-{self.movenet.sha256[:16]}"

    @property
    def calls(self) -> int:
        return self.movenet.calls

    def reset(self) -> None:
        self._crop = None

    def detect(self, image: np.ndarray, index: int) -> list[Detection]:
        h, w = image.shape[:2]
        if self._crop is not None:
            pose = self.movenet.run(image, *self._crop)
        else:
            pose = self.movenet.run(image, *letterbox_square(w, h))
            refined = follow_crop(pose, w, h)
            if refined is not None:  # the whole frame finds the person; their own crop places the joints
                pose = self.movenet.run(image, *refined)
        if pose.score < PERSON_MIN_SCORE:
            self._crop = None
            return []
        self._crop = follow_crop(pose, w, h)
        return [to_detection(pose, w, h)]


class YoloxPersons:
    """YOLOX-nano person boxes (x1, y1, x2, y2, score) in image pixels."""

    def __init__(self, path: str | os.PathLike | None = None, threads: int | None = None):
        self.path = find_model(path or DEFAULT_PERSON_MODEL)
        self.session = onnx_session(self.path, threads)
        self.input_name = self.session.get_inputs()[0].name
        self.sha256 = sha256_of(self.path)
        self.calls = 0
        grids, strides = [], []
        for s in YOLOX_STRIDES:
            n = YOLOX_SIZE // s
            xv, yv = np.meshgrid(np.arange(n), np.arange(n))
            grids.append(np.stack((xv, yv), 2).reshape(-1, 2))
            strides.append(np.full((n * n, 1), s))
        self._grid = np.concatenate(grids).astype(np.float32)
        self._stride = np.concatenate(strides).astype(np.float32)

    def run(self, image: np.ndarray) -> np.ndarray:
        """``(N, 5)`` person boxes after NMS, highest score first."""
        h, w = image.shape[:2]
        r = min(YOLOX_SIZE / h, YOLOX_SIZE / w)
        nw, nh = int(w * r), int(h * r)
        canvas = np.full((YOLOX_SIZE, YOLOX_SIZE, 3), YOLOX_PAD_VALUE, np.uint8)
        canvas[:nh, :nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
        x = canvas.transpose(2, 0, 1)[None].astype(np.float32)
        out = self.session.run(None, {self.input_name: x})[0][0]
        self.calls += 1
        _RUNS[0] += 1
        score = out[:, 4] * out[:, 5]
        keep = score > YOLOX_SCORE
        if not keep.any():
            return np.zeros((0, 5))
        raw, grid, stride, sc = out[keep], self._grid[keep], self._stride[keep], score[keep]
        cxy = (raw[:, :2] + grid) * stride
        wh = np.exp(np.clip(raw[:, 2:4], -10, 10)) * stride
        xyxy = np.concatenate([cxy - wh / 2, cxy + wh / 2], axis=1) / r
        rects = [[float(a), float(b), float(c - a), float(d - b)] for a, b, c, d in xyxy]
        idx = np.array(cv2.dnn.NMSBoxes(rects, sc.tolist(), YOLOX_SCORE, YOLOX_NMS_IOU), int).reshape(-1)
        boxes = np.concatenate([xyxy[idx], sc[idx, None]], axis=1)
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
        return boxes[np.argsort(-boxes[:, 4])]


def box_square(box: np.ndarray) -> tuple[float, float, float]:
    """The MoveNet square around a person box: ``BOX_EXPANSION`` x its longer side, same centre."""
    x1, y1, x2, y2 = box[:4]
    side = max(x2 - x1, y2 - y1, 8.0) * BOX_EXPANSION
    return (x1 + x2 - side) / 2.0, (y1 + y2 - side) / 2.0, float(side)


def _any_overlap(boxes: list[np.ndarray]) -> bool:
    for i in range(len(boxes)):
        for j in range(i):
            a, b = boxes[i], boxes[j]
            if min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1]):
                return True
    return False


def same_person(a: Pose, b: Pose) -> bool:
    """True when two poses are one body: their joints seen in both are within ``DUPLICATE_DISTANCE`` sizes."""
    both = (a.scores >= CROP_KEYPOINT_SCORE) & (b.scores >= CROP_KEYPOINT_SCORE)
    if both.sum() < 3:
        return False
    box = a.box()
    size = max(np.sqrt(max(box[2] - box[0], 1.0) * max(box[3] - box[1], 1.0)), 1.0)
    return float(np.linalg.norm(a.xy[both] - b.xy[both], axis=1).mean()) < DUPLICATE_DISTANCE * size


class MultiPerson(FrameDetector):
    """Several people: YOLOX boxes every ``detect_every`` frames, MoveNet per person, crops following between."""

    name = "multi"

    def __init__(
        self,
        movenet: MoveNet | None = None,
        yolox: YoloxPersons | None = None,
        detect_every: int = 5,
        max_people: int | None = None,
        pose_model: str | os.PathLike | None = None,
        person_model: str | os.PathLike | None = None,
        threads: int | None = None,
    ):
        self.movenet = movenet or MoveNet(pose_model, threads)
        self.yolox = yolox or YoloxPersons(person_model, threads)
        self.detect_every = max(1, int(detect_every))
        self.max_people = max_people
        self._boxes: list[np.ndarray] = []  # per person: the box their next crop is built from
        self._frames_since_boxes = 0

    @property
    def key(self) -> str:
        people = "all" if self.max_people is None else str(self.max_people)
        return f"multi-v1-{self.movenet.sha256[:16]}-{self.yolox.sha256[:16]}-every{self.detect_every}-people{people}"

    @property
    def calls(self) -> int:
        return self.movenet.calls + self.yolox.calls

    def reset(self) -> None:
        self._boxes = []
        self._frames_since_boxes = 0

    def detect(self, image: np.ndarray, index: int) -> list[Detection]:
        h, w = image.shape[:2]
        if not self._boxes or self._frames_since_boxes >= self.detect_every - 1:
            found = self.yolox.run(image)
            if self.max_people is not None:
                found = found[: self.max_people]
            boxes, margin = [b[:4] for b in found], BOX_MARGIN
            self._frames_since_boxes = 0
        else:
            boxes, margin = self._boxes, FOLLOW_MARGIN
            self._frames_since_boxes += 1
        people: list[Pose] = []
        for box in boxes:
            grow = margin * np.array([-1, -1, 1, 1]) * max(box[2] - box[0], box[3] - box[1])
            pose = self.movenet.run(image, *box_square(box), keep=box + grow)
            if pose.score >= PERSON_MIN_SCORE:
                people.append(pose)
        people = self._without_duplicates(people)
        self._boxes = [p.box() for p in people]
        # Someone lost while following, or people overlapping (a crop would hold two bodies and snap onto the
        # wrong one): person boxes again on the next frame.
        if len(people) < len(boxes) or _any_overlap(self._boxes):
            self._frames_since_boxes = self.detect_every
        return [to_detection(p, w, h) for p in people]

    @staticmethod
    def _without_duplicates(people: list[Pose]) -> list[Pose]:
        kept: list[Pose] = []
        for person in sorted(people, key=lambda p: -p.score):
            if not any(same_person(person, k) for k in kept):
                kept.append(person)
        return kept


def make_detector(
    people: int | None = 1,
    pose_model: str | os.PathLike | None = None,
    person_model: str | os.PathLike | None = None,
    detect_every: int = 5,
    threads: int | None = None,
) -> FrameDetector:
    """``MoveNetSingle`` for one person (``people == 1``), else ``MultiPerson`` (``people=None``: all)."""
    if people == 1:
        return MoveNetSingle(model=pose_model, threads=threads)
    return MultiPerson(
        detect_every=detect_every, max_people=people, pose_model=pose_model, person_model=person_model, threads=threads
    )


def check_pose_model(path) -> None:
    """Raise ``PoseDataError`` unless ``path`` is a pose (MoveNet-shaped) model."""
    from mpm_core.video.models import verify_model

    verify_model(find_model(path), "pose")


__all__ = [
    "FrameDetector",
    "MoveNet",
    "MoveNetSingle",
    "MultiPerson",
    "YoloxPersons",
    "make_detector",
    "model_kind",
]
