"""Root translation from 3D + 2D with a pinhole camera (synthetic, known camera and path)."""

from __future__ import annotations

import numpy as np
import pytest

from mpm_core.engine.trajectory import (
    DEFAULT_FOV_DEG,
    MIN_VISIBLE_JOINTS,
    CameraIntrinsics,
    estimate_root_translation,
    solve_root_translation,
)
from mpm_core.errors import PoseDataError
from tests.synthetic_motion import camera_pose, walk_world, world_to_camera

FPS = 30.0


@pytest.fixture(scope="module")
def scene():
    world = walk_world(120, FPS)
    r_cw, centre = camera_pose()
    cam = world_to_camera(world, r_cw, centre)
    k = CameraIntrinsics.from_image_size(1920, 1080)
    return cam, k, k.project(cam)


def test_intrinsics_from_image_size_uses_the_field_of_view():
    k = CameraIntrinsics.from_image_size(1000, 500, fov_deg=90.0)
    assert k.fx == pytest.approx(500.0) and k.fy == pytest.approx(500.0)
    assert (k.cx, k.cy) == (500.0, 250.0)
    default = CameraIntrinsics.from_image_size(1000, 500)
    assert np.degrees(2 * np.arctan(500.0 / default.fx)) == pytest.approx(DEFAULT_FOV_DEG)
    with pytest.raises(PoseDataError, match="field of view"):
        CameraIntrinsics.from_image_size(1000, 500, fov_deg=180.0)
    with pytest.raises(PoseDataError, match="focal"):
        CameraIntrinsics(0.0, 1.0, 0.0, 0.0)


def test_exact_projection_recovers_the_path_exactly(scene):
    cam, k, kp = scene
    rel = cam - cam[:, :1]
    path = estimate_root_translation(rel, kp, None, k, smooth_hz=None, fps=FPS)
    np.testing.assert_allclose(path, cam[:, 0], atol=1e-6)


def test_noise_and_outliers_stay_within_a_few_cm(scene):
    cam, k, kp = scene
    rel = cam - cam[:, :1]
    rng = np.random.default_rng(1)
    noisy = kp + rng.normal(0.0, 2.0, kp.shape)
    outliers = rng.random(kp.shape[:2]) < 0.04
    noisy[outliers] += rng.choice([-1, 1], (outliers.sum(), 2)) * rng.uniform(60, 150, (outliers.sum(), 2))
    path = estimate_root_translation(rel, noisy, None, k, smooth_hz=4.0, fps=FPS)
    err = np.linalg.norm(path - cam[:, 0], axis=1)
    print(f"root path error, 2 px noise + 4% outliers: mean {err.mean() * 100:.1f} cm, max {err.max() * 100:.1f} cm")
    assert err.mean() < 0.03 and err.max() < 0.08
    # Without robust weights the outliers would pull frames far off: check one bad joint alone does not.
    one = kp.copy()
    one[:, 16] += 300.0  # right wrist 300 px off in every frame
    path_one, valid = solve_root_translation(rel, one, None, k)
    assert valid.all()
    assert np.abs(path_one - cam[:, 0]).max() < 0.05


def test_frames_with_too_few_joints_are_interpolated(scene):
    cam, k, kp = scene
    rel = cam - cam[:, :1]
    visible = np.ones(kp.shape[:2], bool)
    visible[40:50, MIN_VISIBLE_JOINTS - 1 :] = False  # only 3 joints left in frames 40-49
    sol, valid = solve_root_translation(rel, kp, visible, k)
    assert not valid[40:50].any() and valid[:40].all() and valid[50:].all()
    path = estimate_root_translation(rel, kp, visible, k, smooth_hz=None, fps=FPS)
    # The walker moves smoothly: linear interpolation over 10 frames stays within a couple of cm.
    assert np.abs(path[40:50] - cam[40:50, 0]).max() < 0.03
    assert np.isfinite(path).all()


def test_low_confidence_weights_and_invalid_input(scene):
    cam, k, kp = scene
    rel = cam - cam[:, :1]
    scores = np.ones(kp.shape[:2])
    bad = kp.copy()
    bad[:, 13] += 500.0
    scores[:, 13] = 0.0  # zero confidence: ignored entirely
    path = estimate_root_translation(rel, bad, None, k, smooth_hz=None, fps=FPS, scores=scores)
    np.testing.assert_allclose(path, cam[:, 0], atol=1e-6)
    with pytest.raises(PoseDataError, match="no frame"):
        estimate_root_translation(rel, kp, np.zeros(kp.shape[:2], bool), k, fps=FPS)
    with pytest.raises(PoseDataError, match="do not match"):
        estimate_root_translation(rel, kp[:, :5], None, k, fps=FPS)


def test_wrong_focal_scales_the_path_but_keeps_its_shape(scene):
    cam, k, kp = scene
    rel = cam - cam[:, :1]
    wide = CameraIntrinsics(k.fx * 0.8, k.fy * 0.8, k.cx, k.cy)
    path = estimate_root_translation(rel, kp, None, wide, smooth_hz=None, fps=FPS)
    # Depth shrinks with the focal length (the body's own size stays fixed, so not exactly by 0.8).
    assert np.all(path[:, 2] < cam[:, 0, 2])
    reproj = wide.project(rel + path[:, None])
    assert np.median(np.linalg.norm(reproj - kp, axis=-1)) < 15.0


def test_short_sequences_work():
    world = walk_world(2, FPS)
    r_cw, centre = camera_pose()
    cam = world_to_camera(world, r_cw, centre)
    k = CameraIntrinsics.from_image_size(640, 480)
    path = estimate_root_translation(cam - cam[:, :1], k.project(cam), None, k, smooth_hz=4.0, fps=FPS)
    np.testing.assert_allclose(path, cam[:, 0], atol=1e-6)


# -- the path over time: confidence, robust smoothing, bounds ---------------------------------------------------
def test_whittaker_keeps_lines_and_fills_gaps():
    from mpm_core.engine.trajectory import whittaker, whittaker_penalty

    line = np.linspace(0.0, 3.0, 50)[:, None]
    weights = np.ones(50)
    np.testing.assert_allclose(whittaker(line, weights, whittaker_penalty(1.0, FPS, 2), 0.0), line, atol=1e-9)
    weights[20:30] = 0.0  # nothing known there: the smoother follows the neighbours
    np.testing.assert_allclose(whittaker(line, weights, whittaker_penalty(1.0, FPS, 2), 0.0), line, atol=1e-6)


def test_confidence_counts_the_seen_extent():
    from mpm_core.engine.trajectory import frame_confidence

    world = walk_world(10, FPS)
    rel = world - world[:, :1]
    weights = np.ones((10, 17))
    np.testing.assert_allclose(frame_confidence(rel, weights), 1.0)
    weights[:, [1, 2, 3, 4, 5, 6]] = 0.0  # the legs out of view: the body is only partly seen
    partial = frame_confidence(rel, weights)
    assert (partial < 0.7).all() and (partial > 0.1).all()
    assert (frame_confidence(rel, np.zeros((10, 17))) == 0).all()


def test_a_detector_jumping_to_someone_else_does_not_move_the_root(scene):
    from mpm_core.engine.trajectory import MAX_ROOT_SPEED_M_S, fit_root_path

    cam, k, kp = scene
    rel = cam - cam[:, :1]
    wrong = kp.copy()
    # Frames 50-59 track a smaller person elsewhere (half the size: twice the depth if believed).
    centre = kp[50:60].mean(axis=1, keepdims=True)
    wrong[50:60] = (kp[50:60] - centre) * 0.5 + centre + [300.0, -50.0]
    fit = fit_root_path(rel, wrong, None, k, FPS)
    speed = np.linalg.norm(np.diff(fit.path, axis=0), axis=1) * FPS
    err = np.linalg.norm(fit.path - cam[:, 0], axis=1)
    rest = np.delete(err, range(45, 65)).max()
    print(f"10 frames on someone else: path error max {err.max():.2f} m, elsewhere {rest:.3f} m")
    assert speed.max() <= MAX_ROOT_SPEED_M_S + 1e-6
    assert np.delete(err, range(40, 70)).max() < 0.1  # the rest of the path is unharmed


def test_missing_frames_and_speed_bound(scene):
    from mpm_core.engine.trajectory import fit_root_path, limit_speed

    cam, k, kp = scene
    rel = cam - cam[:, :1]
    visible = np.ones(kp.shape[:2], bool)
    visible[30:60] = False  # a second of nothing seen
    fit = fit_root_path(rel, kp, visible, k, FPS)
    assert not fit.valid[30:60].any() and (fit.confidence[30:60] == 0).all()
    err = np.linalg.norm(fit.path - cam[:, 0], axis=1)
    assert err[30:60].max() < 0.25 and np.delete(err, range(25, 65)).max() < 0.05
    # The rate limit: a step of 2 m becomes a ramp at the bound, symmetric in time.
    step = np.zeros((40, 3))
    step[20:, 0] = 2.0
    limited = limit_speed(step, FPS, 8.0)
    assert (np.linalg.norm(np.diff(limited, axis=0), axis=1) * FPS <= 8.0 + 1e-9).all()
    np.testing.assert_allclose(limited[0], 0.0)
    np.testing.assert_allclose(limited[-1], [2.0, 0.0, 0.0])
