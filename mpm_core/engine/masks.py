"""Masks: which H36M-17 joints the model must not see, with their origins kept apart.

A joint is hidden for one of three reasons, stored separately so that undo and the GUI can tell them apart:

* ``user``: the user hid it (joints x frame ranges, ``--mask`` on the CLI, brush edits in the app);
* ``low_confidence``: the detector's score is below a threshold (automatic);
* ``missing``: the input has no (finite) coordinate for it (automatic).

``missing`` and ``low_confidence`` never overlap: a missing joint has score 0 and is counted as missing only.

A fourth origin, ``forced``, un-hides: the user forces a low-confidence joint visible (the detector was right
after all). It overrides ``low_confidence`` only; a missing joint has nothing to show and cannot be forced.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from mpm_core.errors import PoseDataError
from mpm_core.sequence import PoseSequence2D
from mpm_core.skeleton import H36M_JOINTS

#: Joints whose detector confidence is below this are hidden from the model by default.
#: Measured with the shipped model (benchmarks/bench_threshold.py, benchmarks/README.md): MPJPE 55.6 mm at 0 and
#: at 0.2, 56.5 at 0.3, 59.7 at 0.4 on detector-like synthetic noise; 0.2 is the highest that costs nothing.
DEFAULT_CONFIDENCE_THRESHOLD: float = 0.2

#: Named joint groups accepted wherever a joint name is (``--mask left_arm:10-50``).
JOINT_GROUPS: dict[str, tuple[str, ...]] = {
    "left_arm": ("left_shoulder", "left_elbow", "left_wrist"),
    "right_arm": ("right_shoulder", "right_elbow", "right_wrist"),
    "left_leg": ("left_hip", "left_knee", "left_ankle"),
    "right_leg": ("right_hip", "right_knee", "right_ankle"),
    "arms": ("left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_elbow", "right_wrist"),
    "legs": ("left_hip", "left_knee", "left_ankle", "right_hip", "right_knee", "right_ankle"),
    "torso": ("pelvis", "spine", "thorax"),
    "neck_head": ("neck", "head"),
    "all": H36M_JOINTS,
}

_NUM_JOINTS = len(H36M_JOINTS)


def joint_indices(joints: Iterable[int | str] | int | str) -> list[int]:
    """H36M-17 indices of joints given by index, name or group name (``JOINT_GROUPS``), in canonical order."""
    if isinstance(joints, (int, np.integer, str)):
        joints = [joints]
    found: set[int] = set()
    for joint in joints:
        if isinstance(joint, (int, np.integer)):
            if not 0 <= int(joint) < _NUM_JOINTS:
                raise PoseDataError(f"joint index {joint} outside 0-{_NUM_JOINTS - 1}")
            found.add(int(joint))
            continue
        key = str(joint).strip().lower().replace("-", "_")
        if key in H36M_JOINTS:
            found.add(H36M_JOINTS.index(key))
        elif key in JOINT_GROUPS:
            found.update(H36M_JOINTS.index(n) for n in JOINT_GROUPS[key])
        else:
            raise PoseDataError(
                f"unknown joint {joint!r}; known: {', '.join(H36M_JOINTS)}; groups: {', '.join(JOINT_GROUPS)}"
            )
    return sorted(found)


def _check_threshold(threshold: float) -> float:
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        raise PoseDataError(f"confidence threshold {threshold!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise PoseDataError(f"confidence threshold {threshold!r} is not in [0, 1]")
    return value


@dataclass
class Mask:
    """Which joints are hidden from the model: ``(T, 17)`` bool arrays (True = hidden), one per origin.

    Fields:
        user: ``(T, 17)`` user edits (joints x frame ranges).
        low_confidence: ``(T, 17)`` visible joints whose score is below ``threshold`` (automatic).
        missing: ``(T, 17)`` joints with no finite input coordinate (automatic).
        threshold: the confidence threshold ``low_confidence`` was computed with (None when not from scores).
        forced: ``(T, 17)`` joints the user forced visible; it un-hides ``low_confidence`` only (None = none).

    Masks are values: every ``with_*`` method returns a new Mask and never changes this one (undo keeps old ones).
    """

    user: np.ndarray
    low_confidence: np.ndarray
    missing: np.ndarray
    threshold: float | None = None
    forced: np.ndarray | None = None

    def __post_init__(self) -> None:
        arrays = [np.asarray(a, bool) for a in (self.user, self.low_confidence, self.missing)]
        shape = arrays[0].shape
        if len(shape) != 2 or shape[1] != _NUM_JOINTS or shape[0] == 0:
            raise PoseDataError(f"mask arrays must have shape (T, {_NUM_JOINTS}) with T > 0, got {shape}")
        forced = np.zeros(shape, bool) if self.forced is None else np.asarray(self.forced, bool)
        arrays.append(forced)
        if any(a.shape != shape for a in arrays):
            raise PoseDataError(f"mask arrays differ in shape: {[a.shape for a in arrays]}")
        self.user, self.low_confidence, self.missing, self.forced = arrays

    # -- construction -------------------------------------------------------------------------------------------
    @classmethod
    def empty(cls, num_frames: int) -> Mask:
        """Nothing hidden, for ``num_frames`` frames."""
        z = np.zeros((int(num_frames), _NUM_JOINTS), bool)
        return cls(z, z.copy(), z.copy())

    @classmethod
    def from_sequence(cls, seq2d_h36m: PoseSequence2D, threshold: float | None = None) -> Mask:
        """Automatic mask of an H36M-17 sequence: missing joints, and visible joints scored below ``threshold``.

        ``threshold`` in [0, 1]; None means ``DEFAULT_CONFIDENCE_THRESHOLD``; 0 disables confidence masking.
        """
        if seq2d_h36m.layout != "h36m17":
            raise PoseDataError(f"mask needs an h36m17 sequence, got {seq2d_h36m.layout}", seq2d_h36m.source or None)
        threshold = _check_threshold(DEFAULT_CONFIDENCE_THRESHOLD if threshold is None else threshold)
        missing = ~seq2d_h36m.visible
        low = seq2d_h36m.visible & (seq2d_h36m.scores < threshold)
        return cls(np.zeros_like(missing), low, missing, threshold)

    # -- derived masks -----------------------------------------------------------------------------------------
    @property
    def num_frames(self) -> int:
        return int(self.user.shape[0])

    @property
    def combined(self) -> np.ndarray:
        """``(T, 17)`` bool: hidden for any reason (what the model does not see)."""
        return self.user | (self.low_confidence & ~self.forced) | self.missing

    def rows_combined(self, start: int, stop: int) -> np.ndarray:
        """``combined`` for rows ``start:stop`` only (cheap for a short span of a long sequence)."""
        s = slice(int(start), int(stop))
        return self.user[s] | (self.low_confidence[s] & ~self.forced[s]) | self.missing[s]

    @property
    def auto_hidden(self) -> np.ndarray:
        """``(T, 17)`` bool: hidden by the automatic masks after the user's forcing (low confidence or missing)."""
        return (self.low_confidence & ~self.forced) | self.missing

    def with_user_range(
        self, joints: Sequence[int | str] | int | str, start: int, stop: int, hidden: bool = True
    ) -> Mask:
        """A copy with ``joints`` (indices, names or groups) hidden (or un-hidden) by the user in rows ``start:stop``.

        Un-hiding only clears the user's own mask; missing or low-confidence joints stay hidden.
        """
        start, stop = int(start), int(stop)
        if not 0 <= start < stop <= self.num_frames:
            raise PoseDataError(f"frame range {start}-{stop - 1} outside the sequence's frames 0-{self.num_frames - 1}")
        user = self.user.copy()
        user[start:stop, joint_indices(joints)] = bool(hidden)
        return dataclasses.replace(self, user=user)

    def with_user(self, user: np.ndarray) -> Mask:
        """A copy with the whole user mask replaced by ``user`` ``(T, 17)``."""
        return dataclasses.replace(self, user=np.array(user, bool))

    def with_forced(self, forced: np.ndarray) -> Mask:
        """A copy with the forced-visible joints replaced by ``forced`` ``(T, 17)`` (kept only where the joint is
        hidden for low confidence: forcing anything else has no meaning)."""
        forced = np.array(forced, bool)
        if forced.shape != self.user.shape:
            raise PoseDataError(f"forced mask has shape {forced.shape}, expected {self.user.shape}")
        return dataclasses.replace(self, forced=forced & self.low_confidence)

    def with_rows(self, start: int, user: np.ndarray, forced: np.ndarray | None = None) -> Mask:
        """A copy with the user (and forced) rows ``start:start+len(user)`` replaced (undo of a span edit)."""
        start = int(start)
        stop = start + len(user)
        if not 0 <= start < stop <= self.num_frames:
            raise PoseDataError(f"rows {start}-{stop - 1} outside the mask's frames 0-{self.num_frames - 1}")
        new_user = self.user.copy()
        new_user[start:stop] = user
        new_forced = self.forced
        if forced is not None:
            new_forced = self.forced.copy()
            new_forced[start:stop] = forced
        return dataclasses.replace(self, user=new_user, forced=new_forced)

    def with_threshold(self, seq2d_h36m: PoseSequence2D, threshold: float) -> Mask:
        """A copy with the automatic masks recomputed at ``threshold``; the user's edits (hidden and forced) are
        kept, forcing only where the joint is still below the threshold."""
        auto = Mask.from_sequence(seq2d_h36m, threshold)
        if auto.num_frames != self.num_frames:
            raise PoseDataError(f"sequence has {auto.num_frames} frames, mask {self.num_frames}")
        return dataclasses.replace(auto, user=self.user.copy(), forced=self.forced & auto.low_confidence)

    def inverted(self) -> Mask:
        """A copy that hides exactly the joints the model sees now and shows the ones it does not (low-confidence
        joints are forced visible); a missing joint stays hidden, it has nothing to show."""
        return dataclasses.replace(self, user=~self.combined, forced=self.low_confidence.copy())

    def with_random_joints(self, ratio: float, seed: int, start: int = 0, stop: int | None = None) -> Mask:
        """A copy with ``round(ratio * 17)`` random joints per frame hidden by the user in rows ``start:stop``
        (added to the existing edits); the same seed gives the same joints."""
        ratio = float(ratio)
        if not 0.0 <= ratio <= 1.0:
            raise PoseDataError(f"random-joint ratio {ratio!r} is not in [0, 1]")
        stop = self.num_frames if stop is None else int(stop)
        if not 0 <= int(start) < stop <= self.num_frames:
            raise PoseDataError(f"frame range {start}-{stop - 1} outside the sequence's frames 0-{self.num_frames - 1}")
        count = round(ratio * _NUM_JOINTS)
        rng = np.random.default_rng(int(seed))
        # A random permutation per frame; its first ``count`` joints are hidden.
        order = np.argsort(rng.random((stop - int(start), _NUM_JOINTS)), axis=1)
        rows = np.zeros((stop - int(start), _NUM_JOINTS), bool)
        np.put_along_axis(rows, order[:, :count], True, axis=1)
        user = self.user.copy()
        user[int(start) : stop] |= rows
        return dataclasses.replace(self, user=user)

    def cleared(self) -> Mask:
        """A copy with no user edits (hidden or forced): only the automatic masks."""
        return dataclasses.replace(self, user=np.zeros_like(self.user), forced=np.zeros_like(self.forced))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mask):
            return NotImplemented
        return (
            self.threshold == other.threshold
            and np.array_equal(self.user, other.user)
            and np.array_equal(self.low_confidence, other.low_confidence)
            and np.array_equal(self.missing, other.missing)
            and np.array_equal(self.forced, other.forced)
        )

    __hash__ = None  # mutable arrays inside


_SPEC_RE = re.compile(r"^\s*(?P<joints>[^:]+?)\s*:\s*(?P<start>\d+)\s*(?:-\s*(?P<end>\d*)\s*)?$")


def parse_mask_spec(spec: str) -> tuple[list[int], int, int | None]:
    """Parse a CLI mask ``JOINT:START-END`` into ``(joint_indices, start, stop)``.

    JOINT is an H36M-17 joint name, a group (``JOINT_GROUPS``: left_arm, right_leg, ..., all) or several joined by
    commas. START and END are 0-based row numbers of the sequence, END inclusive: ``left_wrist:10-50`` hides rows
    10 to 50, so ``stop`` is 51. ``JOINT:START-`` runs to the last frame (``stop`` None); ``JOINT:N`` is one frame.
    A bad spec raises ``PoseDataError`` naming it.
    """
    m = _SPEC_RE.match(str(spec))
    if m is None:
        raise PoseDataError(f"mask spec {spec!r} is not JOINT:START-END (e.g. left_wrist:10-50)", where="--mask")
    names = [n for n in m.group("joints").split(",")]
    if any(not n.strip() for n in names):
        raise PoseDataError(f"mask spec {spec!r} has an empty joint name", where="--mask")
    try:
        indices = joint_indices(names)
    except PoseDataError as exc:
        raise PoseDataError(f"mask spec {spec!r}: {exc.problem}", where="--mask") from None
    start = int(m.group("start"))
    end = m.group("end")
    if end is None:  # "JOINT:N": one frame
        return indices, start, start + 1
    if end == "":  # "JOINT:N-": to the end
        return indices, start, None
    if int(end) < start:
        raise PoseDataError(f"mask spec {spec!r}: end frame {end} is before start frame {start}", where="--mask")
    return indices, start, int(end) + 1


def apply_mask_specs(mask: Mask, specs: Iterable[str]) -> Mask:
    """``mask`` with every CLI spec (``parse_mask_spec``) hidden by the user; out-of-range frames raise."""
    for spec in specs:
        indices, start, stop = parse_mask_spec(spec)
        stop = mask.num_frames if stop is None else stop
        if start >= mask.num_frames or stop > mask.num_frames:
            raise PoseDataError(
                f"mask spec {spec!r}: frames {start}-{stop - 1} outside the sequence's frames 0-{mask.num_frames - 1}",
                where="--mask",
            )
        mask = mask.with_user_range(indices, start, stop)
    return mask
