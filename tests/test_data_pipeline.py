"""Training data: clip listing and categories, caching, duplicates, split, windows, augmentation, validation."""

from __future__ import annotations

import gzip
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mpm_core.errors import PoseDataError
from mpm_core.model import augment as aug
from mpm_core.model import data as data_mod
from mpm_core.model.config import AugmentConfig, CameraConfig, DataConfig
from mpm_core.model.data import (
    Clip,
    ClipInfo,
    WindowSampler,
    bandai_category,
    build_validation,
    coarse_category,
    list_clips,
    prepare_clips,
    resample,
    split_clips,
)
from mpm_core.model.normalization import denormalize_screen
from mpm_core.skeleton import H36M_JOINTS, get_layout

BANDAI = [
    "dataset-1_bow_normal_001.bvh",
    "dataset-1_dash_normal_001.bvh",  # 20 frames: shorter than a window
    "dataset-1_walk_normal_001.bvh",
    "dataset-2_wave-left-hand_feminine_001.bvh",
]


@pytest.fixture
def mini_root(shared_data, tmp_path) -> Path:
    """A small mocap root: 4 Bandai BVH clips, a gzipped duplicate of one of them in bandai_corpus, and one
    CMU ASF/AMC pair, plus the README (categories)."""
    root = tmp_path / "mocap"
    (root / "bandai").mkdir(parents=True)
    (root / "bandai_corpus").mkdir()
    (root / "cmu_asfamc").mkdir()
    shutil.copy(shared_data("mocap/README.md"), root / "README.md")
    for name in BANDAI:
        (root / "bandai" / name).symlink_to(shared_data(f"mocap/bandai/{name}"))
    raw = shared_data(f"mocap/bandai/{BANDAI[0]}").read_bytes()
    (root / "bandai_corpus" / (BANDAI[0] + ".gz")).write_bytes(gzip.compress(raw))
    (root / "bandai_corpus" / "dataset-1_run_normal_001.bvh.gz").write_bytes(
        gzip.compress(shared_data("mocap/bandai/dataset-1_run_old_001.bvh").read_bytes())
    )
    (root / "cmu_asfamc" / "backflip.amc").symlink_to(shared_data("mocap/cmu_asfamc/backflip.amc"))
    (root / "cmu_asfamc" / "backflip.asf").symlink_to(shared_data("mocap/cmu_asfamc/backflip.asf"))
    return root


def _config(root: Path, tmp_path: Path, **kw) -> DataConfig:
    return DataConfig(
        root=str(root), sets=["bandai", "bandai_corpus", "cmu_asfamc"], cache_dir=str(tmp_path / "cache"), **kw
    )


def test_categories_from_names_and_tables():
    assert bandai_category("dataset-1_walk-back_old_001.bvh.gz") == "walk"
    assert bandai_category("dataset-2_raise-up-left-hand_normal_001.bvh") == "gesture"
    assert bandai_category("dataset-1_slash_normal_001.bvh") == "fight"
    assert bandai_category("dataset-1_dance-short_normal_001.bvh") == "dance"
    assert coarse_category("martial_arts/kick") == "fight"
    assert coarse_category("idle/stand") == "idle"
    assert coarse_category("skip/hop") == "jump"
    assert coarse_category("pick_up/carry") == "carry"


def test_list_clips_on_the_shared_corpus(shared_data):
    root = shared_data("mocap")
    clips = list_clips(root, ["cmu_asfamc", "hdm05", "extra_corpus", "reactidle_corpus"])
    by_key = {c.key: c for c in clips}
    assert by_key["cmu_asfamc/backflip.amc"].category == "jump"  # README table
    assert by_key["cmu_asfamc/lambada.amc"].category == "dance"
    assert by_key["hdm05/HDM_dg_06-03_03_120.amc"].licence.startswith("HDM05")
    extra = [c for c in clips if c.set_name == "extra_corpus"]
    assert len(extra) == 223
    assert {c.licence for c in extra} == {data_mod.SET_LICENCES["extra_corpus"], data_mod.SET_LICENCES["cmu_bvh"]}
    assert all(c.category == "idle" for c in clips if c.set_name == "reactidle_corpus")
    assert not any(c.name.endswith((".asf", ".tsv")) for c in clips)


def test_unknown_or_missing_set_is_an_error(tmp_path):
    with pytest.raises(PoseDataError, match="not found"):
        list_clips(tmp_path, ["bandai"])
    (tmp_path / "bandai").mkdir()
    with pytest.raises(PoseDataError, match="no BVH"):
        list_clips(tmp_path, ["bandai"])


def test_prepare_drops_duplicates_and_uses_the_cache(mini_root, tmp_path, monkeypatch):
    config = _config(mini_root, tmp_path)
    clips = prepare_clips(config, progress=False)
    keys = [c.info.key for c in clips]
    # The gzipped copy in bandai_corpus has the same bytes as the raw clip: kept once (first set wins).
    assert f"bandai/{BANDAI[0]}" in keys and f"bandai_corpus/{BANDAI[0]}.gz" not in keys
    assert "bandai_corpus/dataset-1_run_normal_001.bvh.gz" in keys
    assert len(clips) == 6
    for c in clips:
        assert c.joints.shape[1:] == (17, 3) and c.joints.dtype == np.float32
        # World Y up, metres: the head is above the ankles and a person is 1-2.2 m tall.
        head_up = c.joints[:, H36M_JOINTS.index("head"), 1] > c.joints[:, H36M_JOINTS.index("left_ankle"), 1]
        assert head_up.mean() > 0.5
        height = c.joints[0, :, 1].max() - c.joints[0, :, 1].min()
        assert 0.8 < height < 2.2
    assert all(abs(c.fps - 30) < 0.01 or abs(c.fps - 120) < 0.01 for c in clips)

    def no_reading(info):
        raise AssertionError(f"cache not used for {info.key}")

    monkeypatch.setattr(data_mod, "read_clip", no_reading)
    again = prepare_clips(config, progress=False)
    assert [c.info.key for c in again] == keys
    for a, b in zip(clips, again):
        np.testing.assert_array_equal(a.joints, b.joints)
    # A changed file (new mtime/size) invalidates its set's cache.
    target = mini_root / "bandai_corpus" / "dataset-1_run_normal_001.bvh.gz"
    os.utime(target, ns=(1, 1))
    with pytest.raises(AssertionError, match="cache not used"):
        prepare_clips(config, progress=False)


def _fake_clips(n_sets: int = 3, per_set: int = 10) -> list[Clip]:
    out = []
    for s in range(n_sets):
        for i in range(per_set):
            info = ClipInfo(f"set{s}", f"clip{i:02d}.bvh", Path("x"), "walk", "test")
            out.append(Clip(info, np.zeros((100, 17, 3), np.float32), 30.0, f"{s}-{i}"))
    return out


def test_split_is_by_clip_reproducible_and_covers_every_set():
    clips = _fake_clips()
    train, val = split_clips(clips, 0.1, "salt")
    train2, val2 = split_clips(clips, 0.1, "salt")
    assert [c.info.key for c in val] == [c.info.key for c in val2]
    assert {c.info.key for c in train} | {c.info.key for c in val} == {c.info.key for c in clips}
    assert not {c.info.key for c in train} & {c.info.key for c in val}
    assert {c.info.set_name for c in val} == {"set0", "set1", "set2"}
    assert {c.info.set_name for c in train} == {"set0", "set1", "set2"}
    _, val_other = split_clips(clips, 0.3, "another salt")
    assert [c.info.key for c in val_other] != [c.info.key for c in val]
    # A set with one clip trains on it.
    single = _fake_clips(1, 1)
    assert split_clips(single, 0.5, "salt")[1] == []


def test_resample_interpolates_linearly():
    joints = np.arange(10, dtype=np.float32)[:, None, None] * np.ones((10, 17, 3), np.float32)
    out = resample(joints, 10.0, np.array([0.0, 0.25, 0.9, 5.0]))
    np.testing.assert_allclose(out[:, 0, 0], [0.0, 2.5, 9.0, 9.0])


def test_sampler_windows(mini_root, tmp_path):
    config = _config(mini_root, tmp_path)
    clips = prepare_clips(config, progress=False)
    sampler = WindowSampler(clips, config, CameraConfig(), AugmentConfig(), 81, np.random.default_rng(0))
    batch = sampler.sample(24)
    assert batch.x2d.shape == (24, 81, 17, 2) and batch.y3d.shape == (24, 81, 17, 3)
    assert batch.pad.shape == (24, 81) and batch.hidden.shape == (24, 81, 17)
    np.testing.assert_array_equal(batch.y3d[:, :, 0], 0.0)  # root-relative
    assert ((batch.fps >= 24) & (batch.fps <= 60)).all()
    # Clean 2D lies in the image; hidden joints are zeroed in the noisy 2D.
    for b in range(24):
        w, h = batch.image_size[b]
        px = denormalize_screen(batch.x2d_clean[b], w, h)
        assert (
            (px[..., 0] >= 0).all() and (px[..., 0] <= w).all() and (px[..., 1] >= 0).all() and (px[..., 1] <= h).all()
        )
    assert (batch.x2d[batch.hidden] == 0).all()
    assert batch.hidden.any() and (batch.scores[batch.hidden] == 0).all()
    # Bone lengths vary between windows (bone scaling) but stay plausible (0.3-0.65 m thigh).
    thigh = np.linalg.norm(batch.y3d[:, 0, 2] - batch.y3d[:, 0, 1], axis=-1)
    assert thigh.std() > 0.005 and ((thigh > 0.25) & (thigh < 0.7)).all()
    # The 20-frame clip at 24-60 fps is shorter than a window: padding frames appear, at the window's edges.
    short = [c for c in clips if len(c.joints) < 30]
    assert short
    only_short = WindowSampler(short, config, CameraConfig(), AugmentConfig(), 81, np.random.default_rng(1))
    b = only_short.sample(4)
    assert b.pad.any(axis=1).all()
    for row in b.pad:
        inner = np.flatnonzero(~row)
        assert (np.diff(inner) == 1).all()  # one contiguous stretch of real frames


def test_sampler_is_seeded(mini_root, tmp_path):
    config = _config(mini_root, tmp_path)
    clips = prepare_clips(config, progress=False)

    def draw(seed):
        return WindowSampler(clips, config, CameraConfig(), AugmentConfig(), 27, np.random.default_rng(seed)).sample(4)

    np.testing.assert_array_equal(draw(5).x2d, draw(5).x2d)
    assert not np.array_equal(draw(5).x2d, draw(6).x2d)


def test_validation_is_deterministic_and_counts_each_frame_once(mini_root, tmp_path):
    config = _config(mini_root, tmp_path)
    clips = prepare_clips(config, progress=False)
    val = build_validation(clips, config, CameraConfig(), AugmentConfig(), 81, seed=3)
    again = build_validation(clips, config, CameraConfig(), AugmentConfig(), 81, seed=3)
    for field in ("x2d", "y3d", "hidden", "pad"):
        np.testing.assert_array_equal(getattr(val.noisy, field), getattr(again.noisy, field))
    np.testing.assert_array_equal(val.clean.x2d, again.clean.x2d)
    # Same camera for the clean and the noisy copy: the 3D targets are identical, the 2D differ.
    np.testing.assert_array_equal(val.clean.y3d, val.noisy.y3d)
    assert not np.array_equal(val.clean.x2d, val.noisy.x2d)
    # Every clip frame counts exactly once.
    for clip in clips:
        rows = [i for i, k in enumerate(val.clip_keys) if k == clip.info.key]
        fps = val.clean.fps[rows[0]]
        n = int(np.floor(clip.duration_s * fps + 1e-9)) + 1
        assert val.score[rows].sum() == n
    assert not (val.score & val.clean.pad).any()
    assert set(val.categories) <= {"gesture", "run", "walk", "jump"}


def test_mirror_swaps_sides_and_is_an_involution():
    rng = np.random.default_rng(0)
    joints = rng.normal(size=(5, 17, 3)).astype(np.float32)
    m = aug.mirror(joints)
    np.testing.assert_allclose(aug.mirror(m), joints)
    li, ri = H36M_JOINTS.index("left_wrist"), H36M_JOINTS.index("right_wrist")
    np.testing.assert_allclose(m[:, li, 0], -joints[:, ri, 0])
    np.testing.assert_allclose(m[:, li, 1:], joints[:, ri, 1:])


def test_bone_scaling_keeps_connectivity():
    rng = np.random.default_rng(1)
    joints = rng.normal(size=(3, 17, 3)).astype(np.float32)
    factors = aug.random_bone_factors(rng, 0.1, (0.9, 1.1))
    scaled = aug.scale_bones(joints, factors)
    layout = get_layout("h36m17")
    for parent, child in layout.bones:
        before = joints[:, child] - joints[:, parent]
        after = scaled[:, child] - scaled[:, parent]
        np.testing.assert_allclose(after, before * factors[child], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scaled[:, 0], joints[:, 0])
    # Left and right bones of a group get nearly the same factor.
    assert abs(factors[H36M_JOINTS.index("left_knee")] - factors[H36M_JOINTS.index("right_knee")]) < 0.06


def test_detector_noise_properties():
    rng = np.random.default_rng(2)
    clean = np.tile(np.linspace(100, 600, 17)[None, :, None], (50, 1, 2)).astype(np.float32)
    clean[..., 0] += np.arange(17) * 3
    config = replace(AugmentConfig(), noise_prob=1.0, dropout_prob=0.1, swap_prob=1.0)
    noisy = aug.detector_noise(rng, clean, config)
    assert noisy.hidden.mean() > 0.03
    assert (noisy.keypoints[noisy.hidden] == 0).all() and (noisy.scores[noisy.hidden] == 0).all()
    assert ((noisy.scores >= 0) & (noisy.scores <= 1)).all()
    shown = ~noisy.hidden
    error = np.linalg.norm(noisy.keypoints - clean, axis=-1)[shown]
    height = aug.person_height_px(clean)
    assert 0 < np.median(error) < 0.05 * height
    off = replace(config, noise_prob=0.0)
    same = aug.detector_noise(rng, clean, off)
    np.testing.assert_array_equal(same.keypoints, clean)
    assert not same.hidden.any()
