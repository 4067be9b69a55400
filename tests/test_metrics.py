"""Metrics against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mpm_core import metrics
from mpm_core.skeleton import H36M17


def _pose(seed: int = 0, n: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.3, (n, 17, 3))


def test_mpjpe_shift_10mm_in_x():
    gt = _pose()
    pred = gt + np.array([0.010, 0, 0])
    assert metrics.mpjpe(pred, gt) == pytest.approx(10.0)


def test_mpjpe_with_mask_counts_only_selected_joints():
    gt = np.zeros((2, 17, 3))
    pred = gt.copy()
    pred[:, 3] = [0.0, 0.03, 0.04]  # 50 mm error at joint 3 only
    mask = np.zeros((2, 17), bool)
    mask[:, [3, 4]] = True
    assert metrics.mpjpe(pred, gt, mask) == pytest.approx(25.0)
    assert metrics.mpjpe(pred, gt) == pytest.approx(50.0 / 17)
    with pytest.raises(ValueError, match="no joints"):
        metrics.mpjpe(pred, gt, np.zeros((2, 17), bool))


def test_p_mpjpe_zero_for_similarity_copy_but_mpjpe_not():
    gt = _pose(1, n=4)
    rot = Rotation.from_euler("xyz", [30, -50, 110], degrees=True).as_matrix()
    pred = 1.7 * gt @ rot.T + np.array([0.3, -0.2, 1.5])
    assert metrics.mpjpe(pred, gt) > 100
    assert metrics.p_mpjpe(pred, gt) == pytest.approx(0.0, abs=1e-6)


def test_p_mpjpe_does_not_undo_a_mirror_image():
    gt = _pose(2)
    mirrored = gt * np.array([-1.0, 1.0, 1.0])
    # Pure reflection is not a rotation: the error must stay clearly above zero...
    reflected_error = metrics.p_mpjpe(mirrored, gt)
    assert reflected_error > 10
    # ... and the aligned pose is a proper (det +1) similarity image of the prediction.
    aligned = metrics.procrustes_align(mirrored, gt)[0]
    a0 = aligned - aligned.mean(0)
    m0 = mirrored[0] - mirrored[0].mean(0)
    r, *_ = np.linalg.lstsq(m0, a0, rcond=None)
    assert np.linalg.det(r) > 0


def test_procrustes_matches_numerical_optimum():
    # Independent check: minimise the squared error over (log scale, rotation vector, translation) numerically.
    from scipy.optimize import minimize

    gt = _pose(3)[0]
    pred = gt + np.random.default_rng(8).normal(0, 0.05, gt.shape)
    pred[5] += [0.2, 0, 0]

    def sq_error(v: np.ndarray) -> float:
        moved = np.exp(v[0]) * pred @ Rotation.from_rotvec(v[1:4]).as_matrix().T + v[4:]
        return float(((moved - gt) ** 2).sum())

    best = minimize(sq_error, np.zeros(7), method="BFGS", options={"gtol": 1e-12})
    aligned = metrics.procrustes_align(pred[None], gt[None])[0]
    assert ((aligned - gt) ** 2).sum() == pytest.approx(best.fun, rel=1e-6)
    assert ((aligned - gt) ** 2).sum() < ((pred - gt) ** 2).sum()
    expected = np.linalg.norm(aligned - gt, axis=-1).mean() * 1000
    assert metrics.p_mpjpe(pred[None], gt[None]) == pytest.approx(expected)


def test_p_mpjpe_mask_aligns_on_selected_joints_only():
    gt = _pose(4)
    rot = Rotation.from_euler("z", 40, degrees=True).as_matrix()
    pred = 0.8 * gt @ rot.T + 0.1
    pred[0, 16] += [1.0, 1.0, 1.0]  # a wild joint, excluded by the mask
    mask = np.ones(17, bool)
    mask[16] = False
    assert metrics.p_mpjpe(pred, gt, mask) == pytest.approx(0.0, abs=1e-6)
    assert metrics.p_mpjpe(pred, gt) > 10


def test_n_mpjpe_undoes_scale_only():
    gt = _pose(5)
    assert metrics.n_mpjpe(0.5 * gt, gt) == pytest.approx(0.0, abs=1e-9)
    # A translation is not undone: shift all joints by 10 mm along the direction orthogonal to... use a case
    # where <pred, gt> = <gt, gt>: pred = gt + d with d orthogonal to gt overall keeps the least-squares scale 1.
    gt2 = np.zeros((1, 17, 3))
    gt2[0, :, 0] = np.linspace(-0.5, 0.5, 17)  # sum of x is 0
    pred2 = gt2 + np.array([0.010, 0.0, 0.0])  # <pred, gt> = <gt, gt>, <pred, pred> = <gt,gt> + 17e-4
    s = (gt2 * gt2).sum() / (pred2 * pred2).sum()
    expected = np.linalg.norm(s * pred2[0] - gt2[0], axis=-1).mean() * 1000
    assert metrics.n_mpjpe(pred2, gt2) == pytest.approx(expected)
    assert 0 < metrics.n_mpjpe(pred2, gt2) < 10.0 + 1e-9


def test_mpjve_known_velocity():
    # gt stands still; pred moves 2 mm per frame along y: velocity error 2 mm/frame, 100 mm/s at 50 fps.
    T = 6
    gt = np.zeros((T, 17, 3))
    pred = gt.copy()
    pred[:, :, 1] = 0.002 * np.arange(T)[:, None]
    assert metrics.mpjve(pred, gt) == pytest.approx(2.0)
    assert metrics.mpjve(pred, gt, fps=50) == pytest.approx(100.0)
    # A constant offset has no velocity error.
    assert metrics.mpjve(gt + 0.3, gt) == pytest.approx(0.0)


def test_mpjve_mask_needs_both_frames():
    T = 3
    gt = np.zeros((T, 17, 3))
    pred = gt.copy()
    pred[1, 0] = [0.004, 0, 0]  # joint 0 jumps at frame 1: steps 0->1 and 1->2 each 4 mm off for joint 0
    mask = np.ones((T, 17), bool)
    assert metrics.mpjve(pred, gt, mask) == pytest.approx(4.0 * 2 / (2 * 17))
    mask[2, 0] = False  # step 1->2 of joint 0 no longer counts
    assert metrics.mpjve(pred, gt, mask) == pytest.approx(4.0 / (2 * 17 - 1))


def test_accel_error_known_case():
    # pred accelerates uniformly: x = 0.5 * a * t^2 with a = 2 mm/frame^2 -> second difference 2 mm/frame^2.
    T = 5
    t = np.arange(T, dtype=float)
    gt = np.zeros((T, 17, 3))
    pred = gt.copy()
    pred[:, :, 0] = (0.5 * 0.002 * t**2)[:, None]
    assert metrics.accel_error(pred, gt) == pytest.approx(2.0)
    assert metrics.accel_error(pred, gt, fps=10) == pytest.approx(200.0)
    # Constant velocity has zero acceleration error.
    lin = gt.copy()
    lin[:, :, 2] = 0.01 * t[:, None]
    assert metrics.accel_error(lin, gt) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError):
        metrics.accel_error(pred[:2], gt[:2])


def test_pck_and_auc_hand_computed():
    gt = np.zeros((1, 17, 3))
    pred = gt.copy()
    errs_mm = np.array([0, 20, 100, 149, 151, 300] + [10] * 11, float)
    pred[0, :, 0] = errs_mm / 1000
    assert metrics.pck(pred, gt) == pytest.approx(15 / 17)  # all but 151 and 300
    assert metrics.pck(pred, gt, threshold_mm=50) == pytest.approx(13 / 17)
    thresholds = np.arange(0, 151, 5)
    expected_auc = np.mean([(errs_mm <= t).mean() for t in thresholds])
    assert len(thresholds) == 31
    assert metrics.auc(pred, gt) == pytest.approx(expected_auc)
    assert metrics.auc(gt, gt) == pytest.approx(1.0)


def test_bone_length_std_rigid_and_known():
    rng = np.random.default_rng(6)
    base = _pose(7)[0]
    rots = Rotation.random(5, random_state=3).as_matrix()
    rigid = np.stack([base @ r.T + rng.normal(size=3) for r in rots])
    std = metrics.bone_length_std(rigid, H36M17)
    assert std.shape == (16,)
    assert np.allclose(std, 0, atol=1e-9)
    # Stretch one bone (left wrist away from the elbow along the bone) by +-10 mm in alternate frames: std 10 mm.
    stretched = rigid.copy()
    wrist, elbow = H36M17.index("left_wrist"), H36M17.index("left_elbow")
    for f in range(4):
        d = stretched[f, wrist] - stretched[f, elbow]
        stretched[f, wrist] += d / np.linalg.norm(d) * (0.010 if f % 2 else -0.010)
    std = metrics.bone_length_std(stretched[:4], "h36m17")
    bone = H36M17.bones.index((elbow, wrist))
    assert std[bone] == pytest.approx(10.0)
    assert np.allclose(np.delete(std, bone), 0, atol=1e-9)
    # Masking the wrist in the stretched-out frames leaves only the -10 mm frames: std 0 for that bone.
    mask = np.ones((4, 17), bool)
    mask[[1, 3], wrist] = False
    assert metrics.bone_length_std(stretched[:4], "h36m17", mask)[bone] == pytest.approx(0.0, abs=1e-9)


def test_shape_mismatch_is_rejected():
    with pytest.raises(ValueError, match="differs"):
        metrics.mpjpe(np.zeros((2, 17, 3)), np.zeros((3, 17, 3)))
