"""Link per-frame person detections into tracks, and pick one track.

Frame by frame, live tracks are matched to the new detections with the Hungarian algorithm
(``scipy.optimize.linear_sum_assignment``). The cost of a pair is ``(1 - IoU of the boxes) + pose distance``,
where the pose distance is the mean distance of the joints visible in both, divided by the person's size
(square root of the box area). A pair whose pose distance exceeds the gate is never matched; the gate widens
with the number of frames since the track was last seen. A track not seen for more than ``max_gap`` frames
ends; an unmatched detection starts a new track.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from mpm_core.errors import PoseDataError
from mpm_core.io.common import Detection

#: Frames a track may go unseen and still continue (a short occlusion or a missed detection).
DEFAULT_MAX_GAP = 5
#: Largest pose distance (in person sizes) for a match one frame apart; grows by this much per missed frame.
DEFAULT_GATE = 1.0
#: Cost given to a pair outside the gate (never chosen over a real pair).
_FORBIDDEN = 1e6
#: Smallest person size in pixels (avoids dividing by ~0 for a one-joint detection).
_MIN_SIZE = 8.0


@dataclass
class Track:
    """One person over time: ``detections`` maps frame number -> detection."""

    track_id: int
    detections: dict[int, Detection] = field(default_factory=dict)

    @property
    def first_frame(self) -> int:
        return min(self.detections)

    @property
    def last_frame(self) -> int:
        return max(self.detections)

    @property
    def num_detections(self) -> int:
        return len(self.detections)

    def last(self) -> tuple[int, Detection]:
        frame = self.last_frame
        return frame, self.detections[frame]

    def dense(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Keypoints ``(n, J, 2)`` float32 pixels, scores ``(n, J)`` and visibility ``(n, J)`` over frames
        ``first_frame`` .. ``last_frame``: frames without a detection are missing (zeros, not visible)."""
        first = self.first_frame
        n = self.last_frame - first + 1
        j = len(next(iter(self.detections.values())).visible)
        kp = np.zeros((n, j, 2), np.float32)
        sc = np.zeros((n, j), np.float32)
        vis = np.zeros((n, j), bool)
        for frame, det in self.detections.items():
            kp[frame - first], sc[frame - first], vis[frame - first] = det.keypoints, det.scores, det.visible
        return kp, sc, vis


def _sizes(box: np.ndarray) -> np.ndarray:
    """``(N,)`` person size: square root of the box area, at least ``_MIN_SIZE``."""
    w = np.clip(box[:, 2] - box[:, 0], 0, None)
    h = np.clip(box[:, 3] - box[:, 1], 0, None)
    return np.maximum(np.sqrt(w * h), _MIN_SIZE)


def _stack(dets: list[Detection]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(N, J, 2)`` keypoints, ``(N, J)`` visibility, ``(N, 4)`` extents of detections that have one."""
    return (
        np.stack([d.keypoints for d in dets]),
        np.stack([d.visible for d in dets]),
        np.stack([d.extent() for d in dets]),
    )


def cost_matrix(a: list[Detection], b: list[Detection]) -> tuple[np.ndarray, np.ndarray]:
    """``(cost, pose distance)`` arrays ``(len(a), len(b))`` of linking each ``a`` to each ``b``.

    Pose distance is in person sizes; with no joint visible in both, the box centres' distance is used.
    """
    kp_a, vis_a, box_a = _stack(a)
    kp_b, vis_b, box_b = _stack(b)
    size = 0.5 * (_sizes(box_a)[:, None] + _sizes(box_b)[None, :])
    both = vis_a[:, None, :] & vis_b[None, :, :]  # (A, B, J)
    joint_dist = np.linalg.norm(kp_a[:, None] - kp_b[None, :], axis=-1)  # (A, B, J)
    n_common = both.sum(-1)
    mean_joint = np.where(both, joint_dist, 0.0).sum(-1) / np.maximum(n_common, 1)
    centre_a, centre_b = (box_a[:, :2] + box_a[:, 2:]) / 2, (box_b[:, :2] + box_b[:, 2:]) / 2
    centre_dist = np.linalg.norm(centre_a[:, None] - centre_b[None, :], axis=-1)
    dist = np.where(n_common > 0, mean_joint, centre_dist) / size
    # IoU of every pair of boxes
    iw = np.minimum(box_a[:, None, 2], box_b[None, :, 2]) - np.maximum(box_a[:, None, 0], box_b[None, :, 0])
    ih = np.minimum(box_a[:, None, 3], box_b[None, :, 3]) - np.maximum(box_a[:, None, 1], box_b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    area_a = (box_a[:, 2] - box_a[:, 0]) * (box_a[:, 3] - box_a[:, 1])
    area_b = (box_b[:, 2] - box_b[:, 0]) * (box_b[:, 3] - box_b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    iou = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return (1.0 - iou) + dist, dist


def track_detections(
    detections: dict[int, list[Detection]],
    max_gap: int = DEFAULT_MAX_GAP,
    gate: float = DEFAULT_GATE,
) -> list[Track]:
    """Link detections (frame number -> list) into tracks, ids 0, 1, ... in order of first appearance.

    Detections with no visible joint and no box are dropped (nothing to link them by).
    """
    finished: list[Track] = []
    live: list[Track] = []
    next_id = 0
    last_at: dict[int, int] = {}  # track id -> last frame: max() over a long track every frame is quadratic
    for frame in sorted(detections):
        dets = [d for d in detections[frame] if d.extent() is not None]
        still = []
        for t in live:
            (finished if frame - last_at[t.track_id] > max_gap + 1 else still).append(t)
        live = still
        matched_dets: set[int] = set()
        if live and dets:
            lasts = [(last_at[t.track_id], t.detections[last_at[t.track_id]]) for t in live]
            cost, dist = cost_matrix([d for _, d in lasts], dets)
            limit = gate * (frame - np.array([f for f, _ in lasts], float))
            cost = np.where(dist <= limit[:, None], cost, _FORBIDDEN)
            rows, cols = linear_sum_assignment(cost)
            for i, j in zip(rows, cols):
                if cost[i, j] < _FORBIDDEN:
                    live[i].detections[frame] = dets[j]
                    last_at[live[i].track_id] = frame
                    matched_dets.add(int(j))
        for j, d in enumerate(dets):
            if j not in matched_dets:
                live.append(Track(next_id, {frame: d}))
                last_at[next_id] = frame
                next_id += 1
    tracks = finished + live
    tracks.sort(key=lambda t: t.track_id)
    return tracks


def tracks_from_ids(detections: dict[int, list[Detection]]) -> list[Track]:
    """Tracks from the file's own person ids (every detection has ``track_id``)."""
    by_id: dict[int, Track] = {}
    for frame in sorted(detections):
        for d in detections[frame]:
            assert d.track_id is not None
            by_id.setdefault(d.track_id, Track(d.track_id)).detections[frame] = d
    return [by_id[k] for k in sorted(by_id)]


def select_track(tracks, person: str | int = "longest"):
    """Pick one track (``Track`` or ``PoseSequence2D`` with ``person_id``): by id, or ``"longest"``.

    "longest" is the track with the most frames in which the person was seen (ties: the lower id).
    """
    if not tracks:
        raise PoseDataError("no person tracks to choose from")
    if isinstance(person, str) and person.strip().lower() == "longest":
        return max(tracks, key=lambda t: (_seen_frames(t), -_track_id(t)))
    try:
        wanted = int(person)
    except (TypeError, ValueError):
        raise PoseDataError(f"person {person!r} must be 'longest' or a track id") from None
    for t in tracks:
        if _track_id(t) == wanted:
            return t
    ids = ", ".join(str(_track_id(t)) for t in tracks[:50])
    raise PoseDataError(f"no person with id {wanted}; ids: {ids}")


def _track_id(t) -> int:
    return t.track_id if isinstance(t, Track) else int(t.person_id)


def _seen_frames(t) -> int:
    if isinstance(t, Track):
        return t.num_detections
    return int(t.visible.any(axis=1).sum())
