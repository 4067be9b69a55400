"""Every mocap clip in shared/data/mocap converts to a plausible human in H36M-17 (metres, Y up).

All clips are loaded (raw folders and the whole gzipped corpora: about 650 files, ~30 s here), once per module.
Frame counts and fps are checked against the data's own tables (mocap/README.md per-file tables and each
corpus's files.tsv). Anatomy is checked with an independent facing direction taken from the TOES of grounded
feet (the H36M output has no toes), on frames where the torso is upright:

* the estimated nose lies in front (on the toes' side), the left hip and left shoulder on the body's left;
* knees that are clearly bent bend forward;
* limb lengths are human and constant over time; the ankle-to-eyes chain is of human length, and the
  eyes are at a human height above the ankles when upright (median per folder: crouch clips stay low).

Per-folder load times are printed (run with ``-s`` to see them).
"""

from __future__ import annotations

import csv
import re
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from mpm_core.io.asf_amc import load_amc_h36m, read_amc
from mpm_core.io.bvh import load_bvh_h36m, read_bvh
from mpm_core.io.rig_mapping import match_landmarks, points_to_h36m
from mpm_core.skeleton import H36M_JOINTS

J = {n: i for i, n in enumerate(H36M_JOINTS)}
CORPUS_TABLES = ("bandai_corpus", "reactidle_corpus", "extra_corpus", "cmu_dance_corpus")

# Median length per clip (metres). Lower bounds sit a little under the usual adult ranges because of three rigs
# whose calibration is what it is: ReActIdle acted_004 has a 0.28 m shin, the ACCAD Female1 rig a 0.19 m upper
# arm, and CMU's "rory3" skeleton (pirouette.amc) a 0.14 m radius bone (its wrist joint sits short of the wrist).
BONE_RANGES_M = {
    "thigh": ((("left_hip", "left_knee"), ("right_hip", "right_knee")), 0.30, 0.55),
    "shin": ((("left_knee", "left_ankle"), ("right_knee", "right_ankle")), 0.26, 0.55),
    "upper arm": ((("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow")), 0.18, 0.40),
    "forearm": ((("left_elbow", "left_wrist"), ("right_elbow", "right_wrist")), 0.12, 0.35),
}
MAX_BONE_STD_M = 0.001
EYE_HEIGHT_RANGE_M = (1.1, 1.9)
CHAIN_HEIGHT_RANGE_M = (1.2, 2.0)
UPRIGHT_TORSO_M = 0.25  # thorax above pelvis by this much: torso upright
GROUNDED_MARGIN_M = 0.05  # ankle within this of its clip's 10th-percentile height: foot on the ground
MIN_FRAMES = 10
MIN_AGREEMENT = 0.8
BENT_KNEE_M = 0.05


@dataclass
class Clip:
    relpath: str
    folder: str
    joints: np.ndarray  # (T, 17, 3) metres
    toes: np.ndarray  # (T, 2, 3) ankle -> toe vectors (left, right), metres
    fps: float
    unit: str


def _toe_vectors(points: np.ndarray, names: list[str], parents: list[int], scale: float) -> np.ndarray:
    found, _ = match_landmarks(names, parents)
    out = []
    for side in ("left", "right"):
        ankle = found[f"{side}_ankle"]
        child = next(i for i, p in enumerate(parents) if p == ankle)
        out.append((points[:, child] - points[:, ankle]) * scale)
    return np.stack(out, axis=1).astype(np.float32)


def _load(path: Path, root: Path) -> Clip:
    if path.suffix == ".amc":
        motion = read_amc(path)
        scale = motion.skeleton.metres_per_unit
    else:
        motion = read_bvh(path)
        scale = None
    points, _ = motion.forward_kinematics()
    seq, info = points_to_h36m(
        points, motion.point_names, motion.point_parents, fps=motion.fps, source=str(path), scale=scale
    )
    rel = path.relative_to(root).as_posix()
    toes = _toe_vectors(points, motion.point_names, motion.point_parents, info.scale)
    unit = info.unit if scale is None else f"ASF {scale:.5f} m/unit"
    return Clip(rel, rel.split("/")[0], seq.keypoints, toes, seq.fps, unit)


@pytest.fixture(scope="module")
def mocap_root(shared_data) -> Path:
    return shared_data("mocap")


@pytest.fixture(scope="module")
def clips(shared_data, mocap_root) -> list[Clip]:
    paths = shared_data.glob("mocap/*/*.bvh") + shared_data.glob("mocap/*/*.bvh.gz") + shared_data.glob("mocap/*/*.amc")
    out, seconds, frames = [], defaultdict(float), defaultdict(int)
    for path in paths:
        start = time.perf_counter()
        clip = _load(path, mocap_root)
        seconds[clip.folder] += time.perf_counter() - start
        frames[clip.folder] += clip.joints.shape[0]
        out.append(clip)
    print("\nmocap load times (read + FK + H36M):")
    for folder in sorted(seconds):
        n = sum(c.folder == folder for c in out)
        units = sorted({c.unit for c in out if c.folder == folder})
        print(f"  {folder:18s} {n:4d} clips {frames[folder]:7d} frames {seconds[folder]:6.1f} s  units {units}")
    return out


@pytest.fixture(scope="module")
def expected_tables(shared_data, mocap_root) -> dict[str, tuple[int, float]]:
    """relpath -> (frames, fps) from the README per-file tables and the corpora's files.tsv."""
    table: dict[str, tuple[int, float]] = {}
    row = re.compile(r"^\|\s*(\S+\.(?:bvh|amc))(?:\s*\(skeleton:[^)]*\))?\s*\|\s*(\d+)\s*\|\s*([\d.]+)\*?\s*\|")
    for line in shared_data("mocap/README.md").read_text().splitlines():
        m = row.match(line)
        if m:
            table[m.group(1)] = (int(m.group(2)), float(m.group(3)))
    for folder in CORPUS_TABLES:
        with open(shared_data(f"mocap/{folder}/files.tsv"), newline="") as fh:
            for rec in csv.DictReader(fh, delimiter="\t"):
                table[f"{folder}/{rec['file']}"] = (int(rec["frames"]), float(rec["fps"]))
    return table


def test_every_listed_clip_loads_with_its_frame_count_and_fps(clips, expected_tables) -> None:
    loaded = {c.relpath: c for c in clips}
    assert sorted(loaded) == sorted(expected_tables), "clips on disk and in the tables differ"
    bad = []
    for rel, (frames, fps) in expected_tables.items():
        clip = loaded[rel]
        # The tables round fps to 2 decimals; Frame Time 0.0333333 gives 30.00003.
        if clip.joints.shape[0] != frames or abs(clip.fps - fps) > 0.01:
            bad.append(f"{rel}: {clip.joints.shape[0]} frames at {clip.fps:.4f} fps, table says {frames} at {fps}")
    assert not bad, "\n".join(bad)
    assert {c.folder for c in clips} >= {
        "bandai", "bandai_corpus", "reactidle", "reactidle_corpus", "cmu_bvh", "cmu_asfamc", "hdm05", "extra_corpus",
        "cmu_dance_corpus",
    }  # fmt: skip


def _bone(clip: Clip, a: str, b: str) -> np.ndarray:
    return np.linalg.norm(clip.joints[:, J[a]] - clip.joints[:, J[b]], axis=-1)


def test_limb_lengths_are_human_and_constant(clips) -> None:
    bad = []
    for clip in clips:
        for bone, (pairs, low, high) in BONE_RANGES_M.items():
            for a, b in pairs:
                lengths = _bone(clip, a, b)
                med, std = float(np.median(lengths)), float(lengths.std())
                if not low <= med <= high:
                    bad.append(f"{clip.relpath}: {bone} {a}-{b} {med:.3f} m outside {low}-{high}")
                if std > MAX_BONE_STD_M:
                    bad.append(f"{clip.relpath}: {bone} {a}-{b} varies by {std * 1000:.2f} mm")
    assert not bad, "\n".join(bad[:30])


def _upright_frames(clip: Clip) -> tuple[np.ndarray, np.ndarray]:
    """Frames with the torso upright and a foot on the ground, and the facing direction (T, 3) from the toes."""
    k = clip.joints
    ankle_y = k[:, [J["left_ankle"], J["right_ankle"]], 1]
    grounded = ankle_y < np.percentile(ankle_y, 10) + GROUNDED_MARGIN_M
    toes = (clip.toes * grounded[..., None]).sum(axis=1)
    toes[:, 1] = 0.0
    facing = toes / np.maximum(np.linalg.norm(toes, axis=-1, keepdims=True), 1e-9)
    upright = (k[:, J["thorax"], 1] - k[:, J["pelvis"], 1] > UPRIGHT_TORSO_M) & grounded.any(axis=1)
    return upright, facing


def test_face_in_front_and_left_joints_on_the_left(clips) -> None:
    bad, checked = [], 0
    up = np.array([0.0, 1.0, 0.0])
    for clip in clips:
        upright, facing = _upright_frames(clip)
        if upright.sum() < MIN_FRAMES:
            continue
        checked += 1
        k = clip.joints[upright].astype(np.float64)
        face = facing[upright]
        left = np.cross(up, face)
        nose = k[:, J["neck"]] - k[:, J["thorax"]]
        checks = {
            "nose in front": (nose * face).sum(-1) > 0,
            "left hip on the left": ((k[:, J["left_hip"]] - k[:, J["right_hip"]]) * left).sum(-1) > 0,
            "left shoulder on the left": ((k[:, J["left_shoulder"]] - k[:, J["right_shoulder"]]) * left).sum(-1) > 0,
        }
        for what, ok in checks.items():
            if ok.mean() < MIN_AGREEMENT:
                bad.append(f"{clip.relpath}: {what} in only {ok.mean():.0%} of {len(ok)} upright frames")
    assert checked >= 0.9 * len(clips), f"only {checked} of {len(clips)} clips had upright frames to check"
    assert not bad, "\n".join(bad[:30])


def test_bent_knees_bend_forward(clips) -> None:
    bad, checked = [], 0
    for clip in clips:
        upright, facing = _upright_frames(clip)
        k = clip.joints[upright].astype(np.float64)
        for side in ("left", "right"):
            hip, knee, ankle = (k[:, J[f"{side}_{p}"]] for p in ("hip", "knee", "ankle"))
            axis = ankle - hip
            axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
            out = (knee - hip) - ((knee - hip) * axis).sum(-1, keepdims=True) * axis
            ahead = (out * facing[upright]).sum(-1)
            bent = np.abs(ahead) > BENT_KNEE_M
            if bent.sum() < MIN_FRAMES:
                continue
            checked += 1
            share = float((ahead[bent] > 0).mean())
            if share < MIN_AGREEMENT:
                bad.append(f"{clip.relpath}: {side} knee bends forward in only {share:.0%} of {bent.sum()} frames")
    assert checked >= 0.5 * len(clips), f"only {checked} knees had bent frames to check"
    assert not bad, "\n".join(bad[:30])


def test_body_height_is_human(clips) -> None:
    """Per clip: the stretched ankle-knee-hip-thorax-eyes chain; per folder: the eyes' height when upright."""
    bad, by_folder = [], defaultdict(list)
    for clip in clips:
        k = clip.joints
        chain = (
            _bone(clip, "left_ankle", "left_knee")
            + _bone(clip, "left_knee", "left_hip")
            + _bone(clip, "pelvis", "thorax")
            + _bone(clip, "thorax", "head")
        )
        stretched = float(np.median(chain))
        if not CHAIN_HEIGHT_RANGE_M[0] <= stretched <= CHAIN_HEIGHT_RANGE_M[1]:
            bad.append(f"{clip.relpath}: ankle-to-eyes chain {stretched:.2f} m")
        upright, _ = _upright_frames(clip)
        if upright.sum() >= MIN_FRAMES:
            up = k[upright]
            eyes = up[:, J["head"], 1] - up[:, [J["left_ankle"], J["right_ankle"]], 1].min(axis=1)
            by_folder[clip.folder].append(float(np.median(eyes)))
    for folder, heights in by_folder.items():
        med = float(np.median(heights))
        if not EYE_HEIGHT_RANGE_M[0] <= med <= EYE_HEIGHT_RANGE_M[1]:
            bad.append(f"{folder}: eyes {med:.2f} m above the ankles (median over clips)")
    assert not bad, "\n".join(bad[:30])


def test_public_loaders_match_the_pipeline(shared_data, mocap_root, clips) -> None:
    """load_bvh_h36m / load_amc_h36m give what the pipeline above computed, for the first clip of each folder."""
    firsts: dict[str, Clip] = {}
    for clip in clips:
        firsts.setdefault(clip.folder, clip)
    for clip in firsts.values():
        path = mocap_root / clip.relpath
        seq = load_amc_h36m(path) if path.suffix == ".amc" else load_bvh_h36m(path)
        assert seq.layout == "h36m17" and seq.units == "m" and seq.coords == "world"
        np.testing.assert_array_equal(seq.keypoints, clip.joints)
