"""The virtual camera of the app's "what a camera would see" mode, and the errors it reports."""

from __future__ import annotations

import numpy as np
import pytest

from mpm_core.engine.probe import VirtualCamera, probe_errors, project_motion
from mpm_core.errors import PoseDataError
from mpm_core.io import read_3d
from mpm_core.metrics import mpjpe, p_mpjpe
from mpm_core.skeleton import H36M_JOINTS

LEFT_WRIST, RIGHT_WRIST = H36M_JOINTS.index("left_wrist"), H36M_JOINTS.index("right_wrist")


@pytest.fixture(scope="module")
def clip(shared_data):
    return read_3d(shared_data("mocap/extra_corpus/accad_Female1_A03_Swing.bvh.gz"))


def test_projection_is_a_pinhole_of_the_truth(clip):
    cam = VirtualCamera(azimuth_deg=30, elevation_deg=15, distance_m=5, fov_deg=60, image_size=(1280, 720))
    proj = project_motion(clip, cam)
    seq = proj.seq2d
    assert seq.layout == "h36m17" and seq.image_size == (1280, 720) and seq.num_frames == clip.num_frames
    # The projection of the camera-frame truth is the 2D; the whole body is in front of the camera and in frame.
    p = proj.truth_camera
    f = 640 / np.tan(np.radians(30))
    np.testing.assert_allclose(seq.keypoints[..., 0], f * p[..., 0] / p[..., 2] + 640, atol=0.05)
    assert seq.visible.all() and (p[..., 2] > 3).all()
    assert (seq.keypoints[..., 0] > 0).all() and (seq.keypoints[..., 0] < 1280).all()
    # Camera frame back to world gives the truth again (metres).
    np.testing.assert_allclose(proj.camera_to_world(p), clip.to_h36m().keypoints, atol=1e-4)


def test_azimuth_turns_the_camera_around_the_body(clip):
    front = project_motion(clip, VirtualCamera(azimuth_deg=0)).seq2d.keypoints
    back = project_motion(clip, VirtualCamera(azimuth_deg=180)).seq2d.keypoints
    # Seen from behind, the left and right wrists swap sides in the image.
    order_front = np.sign(front[:, LEFT_WRIST, 0] - front[:, RIGHT_WRIST, 0])
    order_back = np.sign(back[:, LEFT_WRIST, 0] - back[:, RIGHT_WRIST, 0])
    assert np.mean(order_front != order_back) > 0.9


def test_errors_agree_with_the_metrics(clip):
    proj = project_motion(clip, VirtualCamera())
    truth = proj.truth_relative
    perfect = probe_errors(truth, proj)
    assert perfect.mpjpe_mm == pytest.approx(0, abs=1e-3) and perfect.p_mpjpe_mm == pytest.approx(0, abs=1e-3)
    rng = np.random.default_rng(0)
    noisy = truth + rng.normal(0, 0.03, truth.shape).astype(np.float32)
    noisy[:, 0] = 0.0
    errs = probe_errors(noisy, proj)
    assert errs.mpjpe_mm == pytest.approx(mpjpe(noisy, truth), rel=1e-4)
    assert errs.p_mpjpe_mm == pytest.approx(p_mpjpe(noisy, truth), rel=1e-3)
    assert errs.per_joint_mm.shape == (17,) and errs.per_frame_mm.shape == (clip.num_frames,)
    assert errs.per_joint_mm[0] == pytest.approx(0.0) and np.nanmean(errs.per_joint_mm[1:]) > 30


def test_bad_cameras_and_camera_frame_input(clip):
    for kwargs in ({"distance_m": 0}, {"fov_deg": 180}, {"elevation_deg": 95}):
        with pytest.raises(PoseDataError):
            VirtualCamera(**kwargs)
    with pytest.raises(PoseDataError, match="world"):
        project_motion(clip.replace(coords="camera"), VirtualCamera())
