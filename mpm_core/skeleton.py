"""Skeleton layouts as data, and the one conversion from each layout to Human3.6M-17.

A layout is a table: joint names in order, each joint's parent, left/right pairs and bones to draw. The
conversion to H36M-17 is a recipe per layout: each H36M joint is a copy of one source joint or the mean of
several (e.g. pelvis = mid-hip). A derived joint gets the lowest confidence of its sources and is missing when
any source is missing.

The canonical H36M-17 joint order is a public contract (README, file formats): never re-order it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mpm_core.errors import PoseDataError

#: Canonical Human3.6M 17-joint order: public contract.
H36M_JOINTS: tuple[str, ...] = (
    "pelvis",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "spine",
    "thorax",
    "neck",
    "head",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
)


@dataclass(frozen=True)
class Layout:
    """A skeleton layout: joint names in order, parents (-1 for a root), left/right pairs, bones.

    ``bones`` are (parent, child) index pairs, for drawing and for bone-length checks.
    ``to_h36m`` maps each H36M-17 joint name to the source joint names it is made from (one: a copy; several:
    their mean). ``None`` for a layout that has no conversion (never the case for the shipped layouts).
    """

    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    to_h36m: dict[str, tuple[str, ...]] | None = None
    description: str = ""
    left_right: tuple[tuple[int, int], ...] = field(default=(), init=False)
    bones: tuple[tuple[int, int], ...] = field(default=(), init=False)

    def __post_init__(self) -> None:
        if len(self.parents) != len(self.joint_names):
            raise ValueError(f"layout {self.name}: {len(self.parents)} parents for {len(self.joint_names)} joints")
        names = self.joint_names
        pairs = []
        for i, n in enumerate(names):
            if n.startswith("left_"):
                j = names.index("right_" + n[5:]) if "right_" + n[5:] in names else -1
                if j >= 0:
                    pairs.append((i, j))
        object.__setattr__(self, "left_right", tuple(pairs))
        object.__setattr__(self, "bones", tuple((p, c) for c, p in enumerate(self.parents) if p >= 0))

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    def index(self, joint: str) -> int:
        """Index of a joint by name; raises ``PoseDataError`` naming the layout if unknown."""
        try:
            return self.joint_names.index(joint)
        except ValueError:
            raise PoseDataError(
                f"unknown joint {joint!r} for layout {self.name}; known: {', '.join(self.joint_names)}"
            ) from None

    def side(self, i: int) -> str:
        """'L', 'R' or 'C' (centre) for joint ``i``, from its name."""
        n = self.joint_names[i]
        return "L" if n.startswith("left_") else "R" if n.startswith("right_") else "C"

    def flip_permutation(self) -> np.ndarray:
        """Index permutation that swaps every left joint with its right twin (for mirroring)."""
        perm = np.arange(self.num_joints)
        for left, right in self.left_right:
            perm[left], perm[right] = right, left
        return perm


def _parents(names: tuple[str, ...], links: dict[str, str]) -> tuple[int, ...]:
    return tuple(names.index(links[n]) if n in links else -1 for n in names)


H36M17 = Layout(
    "h36m17",
    H36M_JOINTS,
    (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15),
    to_h36m={n: (n,) for n in H36M_JOINTS},
    description="Human3.6M 17 joints (canonical)",
)

_COCO17_NAMES = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
# Limbs common to every 2D layout below, child -> parent.
_LIMB_LINKS = {
    "left_elbow": "left_shoulder",
    "left_wrist": "left_elbow",
    "right_elbow": "right_shoulder",
    "right_wrist": "right_elbow",
    "left_knee": "left_hip",
    "left_ankle": "left_knee",
    "right_knee": "right_hip",
    "right_ankle": "right_knee",
}
# The recipe shared by the detector layouts (COCO, BODY_25, Halpe, MediaPipe): as in VideoPose3D/MotionBERT.
_DETECTOR_TO_H36M: dict[str, tuple[str, ...]] = {
    "pelvis": ("left_hip", "right_hip"),
    "right_hip": ("right_hip",),
    "right_knee": ("right_knee",),
    "right_ankle": ("right_ankle",),
    "left_hip": ("left_hip",),
    "left_knee": ("left_knee",),
    "left_ankle": ("left_ankle",),
    "spine": ("left_hip", "right_hip", "left_shoulder", "right_shoulder"),
    "thorax": ("left_shoulder", "right_shoulder"),
    "neck": ("nose",),
    "head": ("left_eye", "right_eye"),
    "left_shoulder": ("left_shoulder",),
    "left_elbow": ("left_elbow",),
    "left_wrist": ("left_wrist",),
    "right_shoulder": ("right_shoulder",),
    "right_elbow": ("right_elbow",),
    "right_wrist": ("right_wrist",),
}

COCO17 = Layout(
    "coco17",
    _COCO17_NAMES,
    _parents(
        _COCO17_NAMES,
        {
            **_LIMB_LINKS,
            "left_eye": "nose",
            "right_eye": "nose",
            "left_ear": "left_eye",
            "right_ear": "right_eye",
            "left_shoulder": "nose",
            "right_shoulder": "nose",
            "left_hip": "left_shoulder",
            "right_hip": "right_shoulder",
        },
    ),
    to_h36m=_DETECTOR_TO_H36M,
    description="COCO 17 keypoints (AlphaPose, MMPose, Detectron2, MoveNet)",
)

_BODY25_NAMES = (
    "nose",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "mid_hip",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_eye",
    "left_eye",
    "right_ear",
    "left_ear",
    "left_big_toe",
    "left_small_toe",
    "left_heel",
    "right_big_toe",
    "right_small_toe",
    "right_heel",
)
BODY25 = Layout(
    "body25",
    _BODY25_NAMES,
    _parents(
        _BODY25_NAMES,
        {
            **_LIMB_LINKS,
            "neck": "mid_hip",
            "nose": "neck",
            "right_shoulder": "neck",
            "left_shoulder": "neck",
            "right_hip": "mid_hip",
            "left_hip": "mid_hip",
            "right_eye": "nose",
            "left_eye": "nose",
            "right_ear": "right_eye",
            "left_ear": "left_eye",
            "left_big_toe": "left_ankle",
            "left_small_toe": "left_big_toe",
            "left_heel": "left_ankle",
            "right_big_toe": "right_ankle",
            "right_small_toe": "right_big_toe",
            "right_heel": "right_ankle",
        },
    ),
    to_h36m=_DETECTOR_TO_H36M,
    description="OpenPose BODY_25",
)

_COCO18_NAMES = _BODY25_NAMES[:8] + (
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_eye",
    "left_eye",
    "right_ear",
    "left_ear",
)
COCO18 = Layout(
    "coco18",
    _COCO18_NAMES,
    _parents(
        _COCO18_NAMES,
        {
            **_LIMB_LINKS,
            "nose": "neck",
            "right_shoulder": "neck",
            "left_shoulder": "neck",
            "right_hip": "neck",
            "left_hip": "neck",
            "right_eye": "nose",
            "left_eye": "nose",
            "right_ear": "right_eye",
            "left_ear": "left_eye",
        },
    ),
    to_h36m=_DETECTOR_TO_H36M,
    description="OpenPose COCO-18 (BODY_18)",
)

_HALPE26_NAMES = _COCO17_NAMES + (
    "head_top",
    "neck",
    "mid_hip",
    "left_big_toe",
    "right_big_toe",
    "left_small_toe",
    "right_small_toe",
    "left_heel",
    "right_heel",
)
HALPE26 = Layout(
    "halpe26",
    _HALPE26_NAMES,
    _parents(
        _HALPE26_NAMES,
        {
            **_LIMB_LINKS,
            "neck": "mid_hip",
            "nose": "neck",
            "head_top": "nose",
            "left_eye": "nose",
            "right_eye": "nose",
            "left_ear": "left_eye",
            "right_ear": "right_eye",
            "left_shoulder": "neck",
            "right_shoulder": "neck",
            "left_hip": "mid_hip",
            "right_hip": "mid_hip",
            "left_big_toe": "left_ankle",
            "right_big_toe": "right_ankle",
            "left_small_toe": "left_big_toe",
            "right_small_toe": "right_big_toe",
            "left_heel": "left_ankle",
            "right_heel": "right_ankle",
        },
    ),
    to_h36m=_DETECTOR_TO_H36M,
    description="Halpe 26 keypoints (AlphaPose)",
)

# COCO-WholeBody: the first 17 are COCO-17; feet, face and hands follow. Only the body is converted.
_WHOLEBODY_NAMES = _COCO17_NAMES + tuple(f"wholebody_{i}" for i in range(17, 133))
COCO_WHOLEBODY133 = Layout(
    "coco_wholebody133",
    _WHOLEBODY_NAMES,
    COCO17.parents + (-1,) * (133 - 17),
    to_h36m=_DETECTOR_TO_H36M,
    description="COCO-WholeBody 133 (body part converted)",
)

_MEDIAPIPE_NAMES = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)
MEDIAPIPE33 = Layout(
    "mediapipe33",
    _MEDIAPIPE_NAMES,
    _parents(
        _MEDIAPIPE_NAMES,
        {
            **_LIMB_LINKS,
            "left_eye_inner": "nose",
            "left_eye": "left_eye_inner",
            "left_eye_outer": "left_eye",
            "right_eye_inner": "nose",
            "right_eye": "right_eye_inner",
            "right_eye_outer": "right_eye",
            "left_ear": "left_eye_outer",
            "right_ear": "right_eye_outer",
            "mouth_left": "nose",
            "mouth_right": "nose",
            "left_shoulder": "nose",
            "right_shoulder": "nose",
            "left_hip": "left_shoulder",
            "right_hip": "right_shoulder",
            "left_pinky": "left_wrist",
            "left_index": "left_wrist",
            "left_thumb": "left_wrist",
            "right_pinky": "right_wrist",
            "right_index": "right_wrist",
            "right_thumb": "right_wrist",
            "left_heel": "left_ankle",
            "left_foot_index": "left_ankle",
            "right_heel": "right_ankle",
            "right_foot_index": "right_ankle",
        },
    ),
    to_h36m=_DETECTOR_TO_H36M,
    description="MediaPipe Pose 33 landmarks",
)

_MPI3DHP_NAMES = (
    "head_top",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "pelvis",
    "spine",
    "head",
)
MPI_INF_3DHP17 = Layout(
    "mpi_inf_3dhp17",
    _MPI3DHP_NAMES,
    _parents(
        _MPI3DHP_NAMES,
        {
            **_LIMB_LINKS,
            "right_hip": "pelvis",
            "left_hip": "pelvis",
            "spine": "pelvis",
            "neck": "spine",
            "head": "neck",
            "head_top": "head",
            "right_shoulder": "neck",
            "left_shoulder": "neck",
        },
    ),
    # The usual 3DHP <-> H36M correspondence (3DHP's 17-joint test set was chosen to match H36M's).
    to_h36m={
        **{n: (n,) for n in H36M_JOINTS if n in _MPI3DHP_NAMES},
        "thorax": ("neck",),
        "neck": ("head",),
        "head": ("head_top",),
    },
    description="MPI-INF-3DHP 17 joints (test-set order)",
)

LAYOUTS: dict[str, Layout] = {
    lay.name: lay for lay in (H36M17, COCO17, BODY25, COCO18, HALPE26, COCO_WHOLEBODY133, MEDIAPIPE33, MPI_INF_3DHP17)
}

#: Other spellings accepted on the command line and in file headers.
LAYOUT_ALIASES: dict[str, str] = {
    "h36m": "h36m17",
    "h36m-17": "h36m17",
    "human36m": "h36m17",
    "coco": "coco17",
    "coco-17": "coco17",
    "body_25": "body25",
    "body-25": "body25",
    "openpose": "body25",
    "coco-18": "coco18",
    "body_18": "coco18",
    "halpe": "halpe26",
    "halpe-26": "halpe26",
    "coco_wholebody": "coco_wholebody133",
    "wholebody": "coco_wholebody133",
    "mediapipe": "mediapipe33",
    "mediapipe-33": "mediapipe33",
    "mpi_inf_3dhp": "mpi_inf_3dhp17",
    "3dhp": "mpi_inf_3dhp17",
}


def get_layout(name: str | Layout) -> Layout:
    """Look a layout up by name or alias (case-insensitive); ``PoseDataError`` lists the known ones."""
    if isinstance(name, Layout):
        return name
    key = str(name).strip().lower()
    key = LAYOUT_ALIASES.get(key, key)
    if key not in LAYOUTS:
        raise PoseDataError(f"unknown layout {name!r}; known: {', '.join(LAYOUTS)}")
    return LAYOUTS[key]


def layouts_with_joint_count(count: int) -> list[Layout]:
    """Every layout with ``count`` joints (used to detect a file's layout from its shape)."""
    return [lay for lay in LAYOUTS.values() if lay.num_joints == count]


def _recipe_indices(layout: Layout) -> list[list[int]]:
    if layout.to_h36m is None:
        raise PoseDataError(f"layout {layout.name} has no conversion to h36m17")
    return [[layout.index(src) for src in layout.to_h36m[name]] for name in H36M_JOINTS]


def convert_arrays_to_h36m(
    keypoints: np.ndarray, scores: np.ndarray, visible: np.ndarray, layout: str | Layout
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convert ``(T, J, C)`` keypoints, ``(T, J)`` scores and visibility from ``layout`` to H36M-17.

    A derived joint is the mean of its sources, with the lowest source confidence, and is missing
    (visible False, coordinates 0) when any source is missing. Returns ``(T, 17, C)``, ``(T, 17)``, ``(T, 17)``.
    """
    layout = get_layout(layout)
    if keypoints.shape[1] != layout.num_joints:
        raise PoseDataError(f"{keypoints.shape[1]} joints given for layout {layout.name} ({layout.num_joints} joints)")
    recipe = _recipe_indices(layout)
    t, _, c = keypoints.shape
    out = np.zeros((t, len(H36M_JOINTS), c), np.float32)
    out_scores = np.zeros((t, len(H36M_JOINTS)), np.float32)
    out_vis = np.zeros((t, len(H36M_JOINTS)), bool)
    for j, sources in enumerate(recipe):
        src_vis = visible[:, sources].all(axis=1)
        out[:, j] = keypoints[:, sources].mean(axis=1)
        out_scores[:, j] = scores[:, sources].min(axis=1)
        out_vis[:, j] = src_vis
    out[~out_vis] = 0.0
    out_scores[~out_vis] = 0.0
    return out, out_scores, out_vis
