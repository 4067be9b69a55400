"""Lifting engine: any length, seamless blending, window cache and relift, progress, cancel, threads, completion."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from mpm_core.engine import LiftCancelled, LiftingEngine, Mask
from mpm_core.engine.cache import WindowCache
from mpm_core.engine.completion import estimate_root
from mpm_core.engine.windows import WindowPlan, taper_weights
from mpm_core.errors import PoseDataError
from mpm_core.sequence import PoseSequence2D, PoseSequence3D
from mpm_core.skeleton import H36M_JOINTS
from tests.engine_support import counting, save_tiny_checkpoint, smooth_motion_3d, smooth_sequence_2d

WINDOW = 27  # the tiny test network's window


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.set_num_threads(1)
    return save_tiny_checkpoint(tmp_path_factory.mktemp("model"))


@pytest.fixture
def engine(checkpoint):
    return LiftingEngine(checkpoint, device="cpu", batch_size=8, threads=1)


# -- windows -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("frames", [1, 2, 26, 27, 28, 47, 200])
def test_window_plan_covers_every_frame(frames):
    plan = WindowPlan(frames, WINDOW, 7)
    covered = np.zeros(frames, int)
    for i in range(plan.num_windows):
        lo, hi, offset = plan.span(i)
        covered[lo:hi] += 1
        assert 0 <= lo + offset and hi + offset <= WINDOW
    assert (covered >= 1).all()
    index, padding = plan.frame_indices(np.arange(plan.num_windows))
    assert index.min() >= 0 and index.max() == frames - 1
    assert padding.sum() == plan.num_windows * WINDOW - covered.sum()


def test_short_sequence_is_centred_and_padded():
    plan = WindowPlan(5, WINDOW, 7)
    assert plan.num_windows == 1 and plan.pad_left == 11 and plan.pad_right == 11
    index, padding = plan.frame_indices(np.array([0]))
    assert (index[0, :11] == 0).all() and (index[0, -11:] == 4).all()  # edge replication
    assert padding[0, :11].all() and not padding[0, 11:16].any() and padding[0, 16:].all()


def test_taper_is_positive_symmetric_and_flat_in_the_middle():
    w = taper_weights(WINDOW, 7)
    assert (w > 0).all() and np.allclose(w, w[::-1])
    assert (w[7:-7] == 1).all() and (np.diff(w[:8]) > 0).all()
    assert (taper_weights(WINDOW, 0) == 1).all()


# -- lifting -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("frames", [1, 2, WINDOW - 1, WINDOW, WINDOW + 1, 3 * WINDOW + 5])
def test_lift_any_length(engine, frames):
    seq = smooth_sequence_2d(frames)
    recon = engine.lift(seq)
    assert recon.poses_3d.shape == (frames, 17, 3) and recon.model_2d.shape == (frames, 17, 2)
    assert np.isfinite(recon.poses_3d).all() and np.isfinite(recon.model_2d).all()
    assert np.abs(recon.poses_3d[:, 0]).max() < 1e-5  # root-relative: pelvis at the origin
    assert recon.image_size == (1280, 720) and recon.fps == seq.fps and recon.model_name == "tiny-test"


def test_completed_2d_is_input_where_seen_and_model_where_hidden(engine):
    seq = smooth_sequence_2d(60)
    scores = seq.scores.copy()
    scores[10:20, 13] = 0.05  # below the default threshold
    seq = seq.replace(scores=scores)
    recon = engine.lift(seq)
    assert recon.mask.low_confidence[10:20, 13].all() and recon.hidden[10:20, 13].all()
    assert recon.hidden.sum() == 10
    np.testing.assert_array_equal(recon.completed_2d[~recon.hidden], seq.keypoints[~recon.hidden])
    np.testing.assert_array_equal(recon.completed_2d[recon.hidden], recon.model_2d[recon.hidden])
    assert not np.allclose(recon.model_2d[10:20, 13], seq.keypoints[10:20, 13])


def test_hidden_values_do_not_matter(engine):
    seq = smooth_sequence_2d(40)
    mask = Mask.from_sequence(seq).with_user_range("left_arm", 5, 30)
    kp = seq.keypoints.copy()
    kp[5:30, 11:14] = 9999.0  # garbage under the mask
    a = engine.lift(seq, mask)
    b = engine.lift(seq.replace(keypoints=kp), mask)
    np.testing.assert_array_equal(a.poses_3d, b.poses_3d)


def test_other_layout_and_unknown_image_size(engine):
    coco = np.zeros((30, 17, 2), np.float32)
    h36m = smooth_sequence_2d(30, size=(640, 480)).keypoints
    coco[:, 5], coco[:, 6] = h36m[:, 11], h36m[:, 14]  # shoulders
    coco[:, 11], coco[:, 12] = h36m[:, 4], h36m[:, 1]  # hips
    seq = PoseSequence2D(coco, layout="coco17")  # no image size: guessed from the keypoints
    recon = engine.lift(seq)
    assert recon.input.layout == "h36m17" and recon.poses_3d.shape == (30, 17, 3)
    assert recon.image_size == (640, 480)


def test_nothing_visible_raises(engine):
    seq = PoseSequence2D(np.zeros((10, 17, 2), np.float32), visible=np.zeros((10, 17), bool))
    with pytest.raises(PoseDataError, match="nothing to lift"):
        engine.lift(seq)


def test_mask_length_must_match(engine):
    with pytest.raises(PoseDataError, match="frames"):
        engine.lift(smooth_sequence_2d(30), Mask.empty(20))


def test_batch_size_does_not_change_the_result_and_bounds_each_call(checkpoint):
    seq = smooth_sequence_2d(300)
    small = LiftingEngine(checkpoint, device="cpu", batch_size=3, threads=1)
    calls = counting(small)
    a = small.lift(seq)
    b = LiftingEngine(checkpoint, device="cpu", batch_size=64, threads=1).lift(seq)
    np.testing.assert_allclose(a.poses_3d, b.poses_3d, atol=1e-5)
    assert max(calls) <= 3 and sum(calls) == WindowPlan(300, WINDOW, small.overlap).num_windows


def _step_sizes(poses: np.ndarray) -> np.ndarray:
    """``(T-1,)``: the largest joint displacement between consecutive frames."""
    return np.linalg.norm(np.diff(poses, axis=0), axis=-1).max(axis=1)


def _seam_ratio(engine: LiftingEngine, frames: int) -> float:
    recon = engine.lift(smooth_sequence_2d(frames))
    steps = _step_sizes(recon.poses_3d)
    plan = WindowPlan(frames, engine.window, engine.overlap)
    edges = sorted({int(e) - 1 for s in plan.starts for e in (s, s + engine.window) if 0 < e < frames})
    interior = np.setdiff1d(np.arange(len(steps)), edges)
    return float(steps[edges].max() / np.percentile(steps[interior], 99))


def test_no_seams_at_window_edges(checkpoint):
    """On smooth motion the step across a window edge is no larger than the ordinary steps inside windows."""
    blended = LiftingEngine(checkpoint, device="cpu", threads=1)
    assert _seam_ratio(blended, 600) <= 1.1
    # The check can fail: without overlap the windows butt together and the edges jump.
    butted = LiftingEngine(checkpoint, device="cpu", threads=1, overlap=0)
    assert _seam_ratio(butted, 600) > 1.5


# -- cache and relift ----------------------------------------------------------------------------------------------
def test_relift_recomputes_only_the_touched_windows_and_equals_a_full_lift(checkpoint):
    seq = smooth_sequence_2d(400)
    engine = LiftingEngine(checkpoint, device="cpu", batch_size=16, threads=1)
    first = engine.lift(seq)
    calls = counting(engine)
    mask = first.mask.with_user_range(["left_wrist"], 10, 21)
    edited = engine.relift(first, mask)
    plan = WindowPlan(400, WINDOW, engine.overlap)
    touching = [i for i in range(plan.num_windows) if plan.span(i)[0] < 21 and plan.span(i)[1] > 10]
    assert sum(calls) == len(touching) and 1 <= len(touching) <= 2 < plan.num_windows
    fresh = LiftingEngine(checkpoint, device="cpu", batch_size=16, threads=1, cache_bytes=0).lift(seq, mask)
    np.testing.assert_allclose(edited.poses_3d, fresh.poses_3d, atol=1e-6)
    np.testing.assert_allclose(edited.model_2d, fresh.model_2d, atol=1e-4)
    np.testing.assert_array_equal(edited.completed_2d, fresh.completed_2d)
    assert not np.allclose(edited.poses_3d[10:21], first.poses_3d[10:21])  # the edit did change something
    np.testing.assert_array_equal(edited.poses_3d[100:], first.poses_3d[100:])  # far frames untouched
    assert edited.mask == mask and first.mask != mask and edited.hidden[10:21, 13].all()


def test_relift_back_and_unchanged_mask_hit_the_cache(engine):
    seq = smooth_sequence_2d(200)
    first = engine.lift(seq)
    edited = engine.relift(first, first.mask.with_user_range("right_knee", 50, 60))
    calls = counting(engine)
    undone = engine.relift(edited, first.mask)  # undo: every window is cached
    np.testing.assert_array_equal(undone.poses_3d, first.poses_3d)
    same = engine.relift(first, first.mask)
    assert calls == [] and same.poses_3d is first.poses_3d
    engine.clear_cache()
    engine.lift(seq)
    assert sum(calls) == WindowPlan(200, WINDOW, engine.overlap).num_windows


def test_cache_evicts_least_recently_used():
    cache = WindowCache(max_bytes=3 * 400)
    for k in range(4):
        cache.put(bytes([k]), (np.zeros(100, np.float32),))
    assert len(cache) == 3 and cache.get(bytes([0])) is None and cache.get(bytes([3])) is not None
    cache.get(bytes([1]))  # touch 1 so 2 is the oldest
    cache.put(bytes([9]), (np.zeros(100, np.float32),))
    assert cache.get(bytes([2])) is None and cache.get(bytes([1])) is not None
    assert cache.nbytes == 1200


# -- progress, cancel, threads -------------------------------------------------------------------------------------
def test_progress_reports_every_batch(engine):
    seen: list[tuple[int, int]] = []
    engine.lift(smooth_sequence_2d(300), progress=lambda done, total: seen.append((done, total)))
    total = WindowPlan(300, WINDOW, engine.overlap).num_windows
    assert seen[-1] == (total, total) and len(seen) == -(-total // engine.batch_size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_cancel_raises_and_engine_stays_usable(engine):
    cancel = threading.Event()
    with pytest.raises(LiftCancelled):
        engine.lift(smooth_sequence_2d(300), progress=lambda done, total: cancel.set(), cancel=cancel)
    assert engine.lift(smooth_sequence_2d(30)).num_frames == 30


def test_concurrent_lifts_match_sequential(checkpoint):
    seqs = [smooth_sequence_2d(150 + 20 * k) for k in range(4)]
    reference = [LiftingEngine(checkpoint, device="cpu", threads=1, cache_bytes=0).lift(s) for s in seqs]
    shared = LiftingEngine(checkpoint, device="cpu", batch_size=2, threads=1)
    results: list = [None] * len(seqs)
    errors: list = []

    def work(k: int) -> None:
        try:
            results[k] = shared.lift(seqs[k])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(seqs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for got, want in zip(results, reference):
        np.testing.assert_allclose(got.poses_3d, want.poses_3d, atol=1e-5)


def test_engine_arguments_are_checked(checkpoint, tmp_path):
    with pytest.raises(PoseDataError, match="batch size"):
        LiftingEngine(checkpoint, device="cpu", batch_size=0)
    with pytest.raises(PoseDataError, match="overlap"):
        LiftingEngine(checkpoint, device="cpu", overlap=WINDOW)
    with pytest.raises(PoseDataError, match="not found"):
        LiftingEngine(tmp_path / "absent.safetensors", device="cpu")
    auto = LiftingEngine(checkpoint, threads=1)
    assert auto.device.type in ("cpu", "cuda", "mps")


# -- 3D completion -------------------------------------------------------------------------------------------------
def _seq3d(frames: int = 60) -> PoseSequence3D:
    return PoseSequence3D(smooth_motion_3d(frames), coords="camera", units="m")


def test_complete_keeps_seen_joints_and_fills_hidden(engine):
    seq = _seq3d()
    visible = np.ones((60, 17), bool)
    visible[20:30, 13] = False
    visible[5, :] = False  # a whole frame missing
    recon, filled = engine.complete(seq.replace(visible=visible))
    assert filled.sum() == 10 + 17 and recon.visible.all() and recon.layout == "h36m17"
    np.testing.assert_allclose(recon.keypoints[visible], seq.keypoints[visible], atol=1e-6)
    assert np.isfinite(recon.keypoints).all()
    assert not np.allclose(recon.keypoints[20:30, 13], 0.0)


def test_complete_world_input_is_turned_into_the_camera_frame_and_back(engine):
    """Completing a world (y up) copy gives the camera result turned by the same half turn about x."""
    cam = _seq3d()
    visible = np.ones((60, 17), bool)
    visible[10:40, 16] = False
    flip = np.array([1.0, -1.0, -1.0], np.float32)
    world = PoseSequence3D(cam.keypoints * flip, visible=visible, coords="world", units="cm")
    world = world.replace(keypoints=world.keypoints * 100.0)
    out_cam, _ = engine.complete(cam.replace(visible=visible))
    out_world, _ = engine.complete(world)
    assert out_world.coords == "world" and out_world.units == "m"
    np.testing.assert_allclose(out_world.keypoints * flip, out_cam.keypoints, atol=1e-4)


def test_complete_with_missing_pelvis_uses_the_hips(engine):
    seq = _seq3d(40)
    visible = np.ones((40, 17), bool)
    visible[:, 0] = False
    recon, filled = engine.complete(seq.replace(visible=visible))
    assert filled[:, 0].all()
    mid_hip = seq.keypoints[:, [1, 4]].mean(axis=1)
    np.testing.assert_allclose(recon.keypoints[:, 0], mid_hip, atol=1e-5)
    extra = np.zeros((40, 17), bool)
    extra[:, H36M_JOINTS.index("head")] = True  # a user mask re-estimates a joint that is present
    _, filled = engine.complete(seq, hidden=extra)
    assert filled.sum() == 40


def test_estimate_root_interpolates_and_fails_without_any_root():
    joints = np.zeros((5, 17, 3), np.float32)
    joints[:, 0, 0] = np.arange(5)
    known = np.zeros((5, 17), bool)
    known[[0, 4], 0] = True
    np.testing.assert_allclose(estimate_root(joints, known)[:, 0], [0, 1, 2, 3, 4])
    with pytest.raises(PoseDataError, match="pelvis or both hips"):
        estimate_root(joints, np.zeros((5, 17), bool))


def test_two_pass_is_the_default_and_one_masked_pass_can_be_chosen(checkpoint):
    seq = smooth_sequence_2d(60)
    mask = Mask.from_sequence(seq).with_user_range("left_arm", 5, 30)
    two = LiftingEngine(checkpoint, device="cpu", batch_size=8, threads=1)
    one = LiftingEngine(checkpoint, device="cpu", batch_size=8, threads=1, complete_first=False)
    a, b = two.lift(seq, mask), one.lift(seq, mask)
    assert two.complete_first and not one.complete_first
    assert not np.allclose(a.poses_3d[5:30], b.poses_3d[5:30], atol=1e-5)
    # Nothing hidden: both take the same single pass.
    np.testing.assert_allclose(two.lift(seq).poses_3d, one.lift(seq).poses_3d, atol=1e-6)
    # The completed 2D of hidden joints is the first pass's, which is exactly the single pass's 2D output.
    np.testing.assert_allclose(a.model_2d[5:30, 11:14], b.model_2d[5:30, 11:14], atol=1e-3)


def test_per_call_one_pass_preview_then_final_two_pass_relift(checkpoint):
    seq = smooth_sequence_2d(200)
    engine = LiftingEngine(checkpoint, device="cpu", batch_size=8, threads=1)
    before = engine.lift(seq)
    mask = before.mask.with_user_range(["left_wrist", "left_elbow"], 40, 60)
    preview = engine.relift(before, mask, complete_first=False)
    final = engine.relift(before, mask)  # from the reconstruction before the edit, as the docstring says
    one = LiftingEngine(checkpoint, device="cpu", batch_size=8, threads=1, complete_first=False, cache_bytes=0)
    two = LiftingEngine(checkpoint, device="cpu", batch_size=8, threads=1, cache_bytes=0)
    # Each equals a fresh full lift in its mode: the shared cache kept the two modes' windows apart.
    np.testing.assert_allclose(preview.poses_3d, one.lift(seq, mask).poses_3d, atol=1e-6)
    np.testing.assert_allclose(final.poses_3d, two.lift(seq, mask).poses_3d, atol=1e-6)
    assert not np.allclose(preview.poses_3d[40:60], final.poses_3d[40:60], atol=1e-5)
    np.testing.assert_allclose(engine.lift(seq, mask, complete_first=False).poses_3d, preview.poses_3d, atol=1e-6)


# -- test-time flip averaging ----------------------------------------------------------------------------------------
def _mirrored(seq: PoseSequence2D) -> PoseSequence2D:
    """The sequence as seen in a mirror: x -> width - x, left and right joints swapped."""
    from mpm_core.model.augment import FLIP_PERMUTATION

    kp = seq.keypoints[:, FLIP_PERMUTATION].copy()
    kp[..., 0] = seq.image_size[0] - kp[..., 0]
    return seq.replace(keypoints=kp, scores=seq.scores[:, FLIP_PERMUTATION], visible=seq.visible[:, FLIP_PERMUTATION])


def test_flip_averaging_is_mirror_equivariant_and_runs_the_mirrored_windows_in_the_same_call(checkpoint):
    from mpm_core.model.augment import mirror

    engine = LiftingEngine(checkpoint, device="cpu", batch_size=64, threads=1)
    seq = smooth_sequence_2d(120)
    calls = counting(engine)
    flipped = engine.lift(seq, flip=True)
    windows = engine.stats.windows_computed
    assert windows > 1 and calls == [2 * windows]  # one network call on the windows and their mirror images
    plain = engine.lift(seq)
    # The tiny random network is far from mirror-symmetric, so flipping changes the answer ...
    assert np.abs(flipped.poses_3d - plain.poses_3d).max() > 1e-3
    # ... and the flip-averaged answer to the mirrored input is exactly the mirrored answer.
    of_mirror = engine.lift(_mirrored(seq), flip=True)
    np.testing.assert_allclose(of_mirror.poses_3d, mirror(flipped.poses_3d), atol=2e-5)
    # Flipped and unflipped windows are cached apart.
    again = engine.lift(seq, flip=True)
    np.testing.assert_array_equal(again.poses_3d, flipped.poses_3d)
