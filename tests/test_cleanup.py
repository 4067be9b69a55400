"""Constant bone lengths and temporal smoothing."""

from __future__ import annotations

import numpy as np
import pytest

from mpm_core.engine.cleanup import bone_lengths, lowpass_filter, normalize_bone_lengths, one_euro_filter
from mpm_core.errors import PoseDataError
from mpm_core.skeleton import H36M17
from tests.synthetic_motion import walk_world


def _lengths(poses: np.ndarray) -> np.ndarray:
    return np.stack([np.linalg.norm(poses[:, c] - poses[:, p], axis=-1) for p, c in H36M17.bones], axis=1)


def test_bone_lengths_become_constant_symmetric_medians():
    clean = walk_world(60)
    rng = np.random.default_rng(0)
    noisy = clean + rng.normal(0.0, 0.01, clean.shape)
    noisy[:, 13] += np.array([0.0, 0.05, 0.0])  # the left forearm reads 5 cm too long... roughly
    out = normalize_bone_lengths(noisy)
    lengths = _lengths(out)
    np.testing.assert_allclose(lengths, lengths[:1].repeat(len(out), axis=0), atol=1e-9)
    medians = bone_lengths(noisy, symmetric=False)
    sym = bone_lengths(noisy)
    for left, right in H36M17.left_right:
        assert sym[left] == pytest.approx(sym[right])
        assert sym[left] == pytest.approx((medians[left] + medians[right]) / 2)
    np.testing.assert_allclose(lengths[0], [sym[c] for _, c in H36M17.bones])
    # Directions are kept and the root does not move.
    np.testing.assert_array_equal(out[:, 0], noisy[:, 0])
    for p, c in H36M17.bones:
        a, b = out[:, c] - out[:, p], noisy[:, c] - noisy[:, p]
        cos = np.sum(a * b, axis=-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
        assert cos.min() > 1 - 1e-9
    # Already-normalised data is a fixed point; the input is never modified.
    np.testing.assert_allclose(normalize_bone_lengths(out), out, atol=1e-12)
    assert not np.shares_memory(out, noisy)


def test_asymmetric_option_and_zero_length_bones():
    poses = walk_world(20)
    poses[5:8, 13] = poses[5:8, 12]  # left forearm collapsed for 3 frames
    out = normalize_bone_lengths(poses, symmetric=False)
    forearm = np.linalg.norm(out[:, 13] - out[:, 12], axis=-1)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(forearm, np.median(np.linalg.norm(poses[:, 13] - poses[:, 12], axis=-1)))
    # The collapsed frames borrow the direction of the frame before.
    d4 = (out[4, 13] - out[4, 12]) / forearm[4]
    np.testing.assert_allclose((out[6, 13] - out[6, 12]) / forearm[6], d4)
    with pytest.raises(PoseDataError, match="joints given"):
        normalize_bone_lengths(poses[:, :16])


def _jittery(frames: int = 240, fps: float = 60.0):
    t = np.arange(frames) / fps
    clean = np.zeros((frames, 17, 3))
    clean[..., 0] = np.sin(2 * np.pi * 0.5 * t)[:, None]  # 0.5 Hz motion
    noisy = clean + np.random.default_rng(4).normal(0.0, 0.02, clean.shape)
    return clean, noisy


def test_lowpass_removes_jitter_without_lag():
    clean, noisy = _jittery()
    out = lowpass_filter(noisy, 60.0, 3.0)
    err_in = np.abs(noisy - clean).mean()
    err_out = np.abs(out - clean).mean()
    print(f"low-pass 3 Hz: mean error {err_in * 1000:.1f} mm -> {err_out * 1000:.1f} mm")
    assert err_out < err_in / 3
    # Zero phase: the filtered clean sine is not delayed.
    filtered_clean = lowpass_filter(clean, 60.0, 3.0)
    np.testing.assert_allclose(filtered_clean[30:-30], clean[30:-30], atol=5e-3)


def test_lowpass_cutoff_depends_on_true_fps():
    # A 5 Hz sine sampled at 60 fps is above a 3 Hz cut-off; read as 30 fps, the same samples are 2.5 Hz.
    t = np.arange(240) / 60.0
    wave = np.zeros((240, 17, 3))
    wave[..., 1] = np.sin(2 * np.pi * 5.0 * t)[:, None]
    at_60 = lowpass_filter(wave, 60.0, 3.0)[40:-40]
    at_30 = lowpass_filter(wave, 30.0, 3.0)[40:-40]
    assert np.abs(at_60).max() < 0.1
    assert np.abs(at_30).max() > 0.8


@pytest.mark.parametrize("frames", [1, 2, 3, 5, 16])
def test_lowpass_handles_short_sequences(frames):
    clean, noisy = _jittery(frames)
    out = lowpass_filter(noisy, 60.0, 3.0)
    assert out.shape == noisy.shape and np.isfinite(out).all()
    if frames < 3:
        np.testing.assert_array_equal(out, noisy)


def test_lowpass_edge_cases():
    _, noisy = _jittery(30)
    np.testing.assert_array_equal(lowpass_filter(noisy, 60.0, 30.0), noisy)  # at Nyquist: nothing to cut
    with pytest.raises(PoseDataError, match="cut-off"):
        lowpass_filter(noisy, 60.0, 0.0)
    with pytest.raises(PoseDataError, match="fps"):
        lowpass_filter(noisy, 0.0, 3.0)


def test_one_euro_smooths_slow_parts_and_follows_fast_moves():
    still = np.random.default_rng(5).normal(0.0, 0.01, (120, 17, 3))  # a still pose with 1 cm jitter
    out = one_euro_filter(still, 60.0)
    print(f"one-euro on a still pose: jitter {still.std() * 1000:.1f} mm -> {out[30:].std() * 1000:.1f} mm")
    assert out[30:].std() < still.std() / 2
    # A fast step is followed within a few frames (beta raises the cut-off with speed).
    step = np.zeros((60, 17, 3))
    step[30:] = 1.0
    followed = one_euro_filter(step, 60.0)
    assert followed[29].max() == 0.0
    assert followed[36].min() > 0.9
    slow = one_euro_filter(step, 60.0, beta=0.0)
    assert slow[36].min() < followed[36].min()
    with pytest.raises(PoseDataError, match="beta"):
        one_euro_filter(still, 60.0, beta=-1.0)
