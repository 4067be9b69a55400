"""``engine.placement``: the world placement the export writes and the app shows, and its cheap row update."""

from __future__ import annotations

import numpy as np
import pytest

from mpm_core.engine.masks import Mask
from mpm_core.engine.placement import WorldPlacement, place_in_world
from mpm_core.engine.result import Reconstruction
from mpm_core.engine.trajectory import CameraIntrinsics
from mpm_core.errors import PoseDataError
from mpm_core.export import ExportOptions, build_output_sequence
from mpm_core.sequence import PoseSequence2D
from tests.synthetic_motion import camera_pose, planted_walk, world_to_camera

FPS = 30.0


def _recon(frames: int = 300, seed: int = 0) -> Reconstruction:
    """A walker seen by a tilted camera, with a little noise on the 3D (as a model's output has)."""
    world, _ = planted_walk(frames, FPS)
    r_cw, centre = camera_pose(pitch_deg=12.0, roll_deg=2.0)
    cam = world_to_camera(world, r_cw, centre)
    k = CameraIntrinsics.from_image_size(1920, 1080)
    kp = k.project(cam).astype(np.float32)
    rel = cam - cam[:, :1]
    rel = (rel + np.random.default_rng(seed).normal(0.0, 0.005, rel.shape)).astype(np.float32)
    rel -= rel[:, :1]
    hidden = np.zeros((frames, 17), bool)
    seq2d = PoseSequence2D(kp, fps=FPS, image_size=(1920, 1080), source="in.json")
    return Reconstruction(rel, kp, kp, hidden, Mask.empty(frames), seq2d, FPS, (1920, 1080), "t")


def test_placement_is_what_the_world_export_writes():
    recon = _recon(120)
    options = ExportOptions(coords="world", foot_locking=False)
    placement = place_in_world(recon, options)
    assert isinstance(placement, WorldPlacement)
    assert placement.poses.shape == (120, 17, 3) and placement.root_camera.shape == (120, 3)
    assert placement.floor_method
    seq, _ = build_output_sequence(recon, options)
    np.testing.assert_allclose(seq.keypoints, placement.poses, atol=1e-6)
    # The transform maps the camera-frame pose plus the root onto the world poses.
    again = placement.transform.apply(placement.relative + placement.root_camera[:, None, :])
    np.testing.assert_allclose(again, placement.poses, atol=1e-9)
    assert placement.contacts.shape == (120, 2) and placement.contacts.any()
    # Foot locking (the default for world output) moves the legs only.
    locked = place_in_world(recon, ExportOptions(coords="world"))
    moved = np.abs(locked.poses - placement.poses).max(axis=(0, 2)) > 1e-9
    assert moved.any() and set(np.flatnonzero(moved)) <= {2, 3, 5, 6}


@pytest.mark.parametrize("locking", [False, True])
def test_update_rows_changes_only_the_rows_and_their_margin(locking):
    recon = _recon(600)
    options = ExportOptions(coords="world", foot_locking=locking)
    placement = place_in_world(recon, options)
    # A re-lift that changed rows 300-330 (an arm swung out, the completed 2D moved): only the neighbourhood
    # may change.
    poses = recon.poses_3d.copy()
    poses[300:330, 13] += np.array([0.3, 0.0, 0.0], np.float32)
    completed = recon.completed_2d.copy()
    completed[300:330] += np.float32(25.0)
    edited = Reconstruction(
        poses, completed, recon.model_2d, recon.hidden, recon.mask, recon.input, FPS, recon.image_size, "t"
    )
    updated = placement.update_rows(edited, 300, 330, options)
    changed = np.flatnonzero(np.abs(updated.poses - placement.poses).max(axis=(1, 2)) > 1e-9)
    assert changed.min() >= 300 - 2 * FPS and changed.max() < 330 + 2 * FPS
    assert updated.transform is placement.transform  # up and floor kept
    assert np.abs(updated.root_camera[315] - placement.root_camera[315]).max() > 0.01  # the root was re-solved
    # The rows agree with a full refit to a few millimetres (without locking: a full refit may find a contact
    # elsewhere begin a frame earlier, which is not what is compared here).
    full = place_in_world(edited, options)
    rows = slice(300 - int(2 * FPS), 330 + int(2 * FPS))
    err = np.abs(updated.poses[rows] - full.poses[rows]).max()
    print(f"update_rows vs full refit (locking {locking}): max difference {err * 1000:.1f} mm")
    assert err < (0.02 if locking else 0.01)
    # Nothing changed: the update gives back the same placement (to the smoothing's edge effects).
    same = placement.update_rows(recon, 300, 330, options)
    assert np.abs(same.poses - placement.poses).max() < 0.005


def test_update_rows_rejects_bad_ranges():
    recon = _recon(60)
    options = ExportOptions(coords="world")
    placement = place_in_world(recon, options)
    for lo, hi in ((-1, 5), (5, 5), (10, 61)):
        with pytest.raises(PoseDataError, match="row range"):
            placement.update_rows(recon, lo, hi, options)
    with pytest.raises(PoseDataError, match="frames"):
        placement.update_rows(_recon(50), 0, 10, options)
