"""2D detection from video: accuracy against OpenPose, two people, nobody, cache, cancel, partial results, CLI.

ONNX sessions are made once per test session (the session-scoped ``movenet`` / ``yolox`` fixtures; the library
shares one session per model file, and the CLI tests check that they make none of their own).
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from mpm_core.cli import main
from mpm_core.errors import PoseDataError
from mpm_core.skeleton import get_layout
from mpm_core.video import models
from mpm_core.video.detectors import (
    MoveNet,
    MoveNetSingle,
    MultiPerson,
    Pose,
    YoloxPersons,
    network_runs,
    to_detection,
)
from mpm_core.video.pipeline import DetectionCancelled, detect_video, detect_video_cached

SHORT_VIDEO = "inputs/openpose_raga/example_1person/short_video.mp4"
OPENPOSE_JSON = "inputs/openpose_raga/example_1person/output_json"
APART = "inputs/gastnet/data/video/apart.avi"
#: Done-when bars of the issue (pixels, 1080p).
MEDIAN_BAR_PX, P90_BAR_PX, MIN_SCORE = 12.0, 40.0, 0.3


@pytest.fixture(scope="session")
def movenet() -> MoveNet:
    return MoveNet()


@pytest.fixture(scope="session")
def yolox() -> YoloxPersons:
    return YoloxPersons()


@pytest.fixture(scope="session")
def single_result(shared_data, movenet):
    return detect_video(shared_data(SHORT_VIDEO), MoveNetSingle(movenet))


@pytest.fixture(scope="session")
def apart_result(shared_data, movenet, yolox):
    return detect_video(shared_data(APART), MultiPerson(movenet, yolox))


@pytest.fixture
def user_dirs(tmp_path, monkeypatch):
    """The user cache and data folders in tmp_path: no cached result from elsewhere can be hit."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg_cache"))
    monkeypatch.setenv("MPM_STUDIO_DATA_DIR", str(tmp_path / "user_data"))
    monkeypatch.delenv("MPM_STUDIO_MODELS", raising=False)
    return tmp_path


# -- accuracy -------------------------------------------------------------------------------------------------------
def test_single_person_agrees_with_openpose(shared_data, single_result):
    from mpm_core.io import read_2d

    seq = single_result.tracks[0]
    assert len(single_result.tracks) == 1
    assert (seq.layout, seq.start_frame, seq.num_frames, seq.fps, seq.image_size) == (
        "coco17",
        0,
        125,
        25.0,
        (1920, 1080),
    )
    openpose = read_2d(shared_data(OPENPOSE_JSON))
    assert openpose.num_frames == 125 and openpose.start_frame == 0
    names = get_layout("coco17").joint_names
    body25 = get_layout(openpose.layout).joint_names
    idx = [body25.index(n) for n in names]
    ref_xy, ref_score = openpose.keypoints[:, idx], openpose.scores[:, idx]
    both = (ref_score >= MIN_SCORE) & (seq.scores >= MIN_SCORE) & seq.visible & openpose.visible[:, idx]
    err = np.linalg.norm(seq.keypoints - ref_xy, axis=-1)
    median, p90 = float(np.median(err[both])), float(np.percentile(err[both], 90))
    print(f"\nMoveNet vs OpenPose on {SHORT_VIDEO}: {both.sum()} joints, median {median:.1f} px, p90 {p90:.1f} px")
    for j, name in enumerate(names):
        if both[:, j].any():
            print(f"  {name:15s} median {np.median(err[both[:, j], j]):6.1f} px over {both[:, j].sum()} frames")
    assert both.sum() > 0.6 * both.size  # most joints take part
    assert median <= MEDIAN_BAR_PX
    assert p90 <= P90_BAR_PX


def test_two_people_tracks(apart_result):
    tracks = apart_result.tracks
    assert len(tracks) == 2
    w, h = apart_result.info.image_size
    for t in tracks:
        assert t.num_frames >= 80, (t.person_id, t.start_frame, t.num_frames)
        assert int(t.visible.any(axis=1).sum()) >= 60
        pts = t.keypoints[t.visible]
        assert (pts[:, 0] >= 0).all() and (pts[:, 0] < w).all() and (pts[:, 1] >= 0).all() and (pts[:, 1] < h).all()
    # from frame 15 on, where both are seen, their box centres keep their left/right order
    signs = []
    for frame in range(15, apart_result.info.num_frames):
        centres = []
        for t in tracks:
            row = frame - t.start_frame
            if 0 <= row < t.num_frames and t.visible[row].sum() >= 5:
                p = t.keypoints[row][t.visible[row]]
                centres.append((p.min(axis=0)[0] + p.max(axis=0)[0]) / 2)
        if len(centres) == 2:
            signs.append(np.sign(centres[0] - centres[1]))
    assert len(signs) >= 50
    assert len(set(signs)) == 1


def test_joints_outside_the_frame_are_missing(apart_result):
    # the man walking towards the camera leaves the frame at the bottom: his ankles go missing, never guessed
    near = max(apart_result.tracks, key=lambda t: t.keypoints[t.visible][:, 1].max())
    ankles = [15, 16]
    last = near.visible[-15:][:, ankles]
    assert last.mean() < 0.5
    # unit check of the rule: a keypoint predicted beyond the image edge is missing, one inside is kept
    xy = np.tile([[100.0, 100.0]], (17, 1))
    xy[15] = [100.0, 1085.0]  # below a 1080-pixel frame
    xy[16] = [-3.0, 500.0]
    det = to_detection(Pose(xy, np.full(17, 0.9, np.float32)), 1920, 1080)
    assert not det.visible[15] and not det.visible[16] and det.visible[:15].all()
    assert (det.keypoints[15:] == 0).all() and (det.scores[15:] == 0).all()


def _person_clip(path: Path, shared_data) -> Path:
    """30 frames: 10 of the OpenPose example (scaled to 640x360), 10 empty grey, 10 of the example again."""
    import av

    from mpm_core.video.reader import VideoReader

    with VideoReader(shared_data(SHORT_VIDEO)) as r:
        people = [r.frame(i)[::3, ::3].copy() for i in range(0, 60, 3)]
    grey = np.full_like(people[0], 90)
    frames = people[:10] + [grey] * 10 + people[10:]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        for img in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_frames_with_nobody_give_missing_joints(tmp_path, shared_data, movenet):
    clip = _person_clip(tmp_path / "gap.mp4", shared_data)
    result = detect_video(clip, MoveNetSingle(movenet))
    (seq,) = result.tracks
    assert (seq.start_frame, seq.num_frames) == (0, 30)
    seen = seq.visible.any(axis=1)
    assert seen[:10].all() and seen[20:].all()
    assert not seen[10:20].any()  # nobody there: missing, not the last pose carried on
    assert (seq.scores[10:20] == 0).all()


# -- cache, cancel, partial results ---------------------------------------------------------------------------------
def test_second_detect_makes_no_detector_call(tmp_path, shared_data, movenet, user_dirs):
    video = tmp_path / "clip.mp4"
    shutil.copyfile(shared_data(SHORT_VIDEO), video)
    first = detect_video_cached(video, MoveNetSingle(movenet), (0, 12))
    assert not first.from_cache and first.detector_calls >= 12
    assert Path(first.cache_path).parent == tmp_path  # beside the video
    runs = network_runs()
    detector = MoveNetSingle(movenet)
    calls = detector.calls  # the shared MoveNet's count so far
    second = detect_video_cached(video, detector, (0, 12))
    assert network_runs() == runs and detector.calls == calls and second.detector_calls == 0
    assert second.from_cache
    a, b = first.tracks[0], second.tracks[0]
    assert np.array_equal(a.keypoints, b.keypoints) and np.array_equal(a.visible, b.visible)
    assert (b.fps, b.image_size, b.start_frame) == (25.0, (1920, 1080), 0)
    # another range or another detector is another key
    third = detect_video_cached(video, MoveNetSingle(movenet), (0, 6))
    assert not third.from_cache and network_runs() > runs


def test_cache_goes_to_user_folder_when_video_folder_is_read_only(tmp_path, shared_data, movenet, user_dirs):
    folder = tmp_path / "readonly"
    folder.mkdir()
    video = folder / "clip.mp4"
    shutil.copyfile(shared_data(SHORT_VIDEO), video)
    folder.chmod(0o555)
    try:
        first = detect_video_cached(video, MoveNetSingle(movenet), (0, 8))
        assert Path(first.cache_path).parent == tmp_path / "xdg_cache" / "mpm-studio" / "detections"
        assert sorted(p.name for p in folder.iterdir()) == ["clip.mp4"]
        runs = network_runs()
        second = detect_video_cached(video, MoveNetSingle(movenet), (0, 8))
        assert second.from_cache and network_runs() == runs
    finally:
        folder.chmod(0o755)


def test_cancel_on_first_progress_signal(tmp_path, shared_data, movenet, user_dirs):
    video = tmp_path / "clip.mp4"
    shutil.copyfile(shared_data(SHORT_VIDEO), video)
    cancel = threading.Event()
    seen: list[int] = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        cancel.set()

    detector = MoveNetSingle(movenet)
    calls = detector.calls
    with pytest.raises(DetectionCancelled):
        detect_video_cached(video, detector, progress=progress, cancel=cancel)
    assert seen == [1]
    assert detector.calls - calls <= 2  # the first frame only (letterboxed frame, then its crop)
    assert not list(tmp_path.glob(".*.mpm-detections.npz"))  # nothing half-done is cached


def test_partial_results_grow(shared_data, movenet):
    partials: list[int] = []
    detect_video(
        shared_data(SHORT_VIDEO),
        MoveNetSingle(movenet),
        (0, 6),
        partial=lambda tracks: partials.append(tracks[0].num_frames),
        partial_every_s=0.0,
    )
    # a partial after (nearly) every frame, each longer than the last (one may be skipped when linking is slow)
    assert partials[0] == 1 and len(partials) >= 4
    assert all(b > a for a, b in zip(partials, partials[1:])) and partials[-1] <= 6


# -- CLI ------------------------------------------------------------------------------------------------------------
def test_cli_detect_then_cached(tmp_path, shared_data, movenet, user_dirs, capsys):
    from mpm_core.io import read_2d

    video = tmp_path / "clip.mp4"
    shutil.copyfile(shared_data(SHORT_VIDEO), video)
    sessions = models.sessions_created
    out = tmp_path / "kp.csv"
    assert main(["detect", str(video), "-o", str(out), "--range", "5-24", "-q"]) == 0
    seq = read_2d(out)
    assert (seq.layout, seq.start_frame, seq.num_frames, seq.fps, seq.image_size) == (
        "coco17",
        5,
        20,
        25.0,
        (1920, 1080),
    )
    assert seq.visible.mean() > 0.8
    runs = network_runs()
    out2 = tmp_path / "kp2.npz"
    assert main(["detect", str(video), "-o", str(out2), "--range", "5-24"]) == 0
    assert network_runs() == runs  # the second detect made no detector call
    assert "from the cache" in capsys.readouterr().err
    seq2 = read_2d(out2)
    assert np.allclose(seq2.keypoints, seq.keypoints, atol=1e-3) and np.array_equal(seq2.visible, seq.visible)
    assert models.sessions_created == sessions  # the CLI reused the session-scoped ONNX sessions


def test_cli_detect_several_people(tmp_path, shared_data, movenet, yolox, user_dirs):
    from mpm_core.io import read_2d

    out = tmp_path / "people.csv"
    assert main(["detect", str(shared_data(APART)), "-o", str(out), "--people", "all", "--range", "20-49", "-q"]) == 0
    files = sorted(p.name for p in tmp_path.glob("people.person*.csv"))
    assert files == ["people.person0.csv", "people.person1.csv"]
    for name in files:
        seq = read_2d(tmp_path / name)
        assert seq.fps == 30.0 and seq.image_size == (1920, 1080) and seq.start_frame >= 20


def test_cli_lift_video_to_bvh(tmp_path, shared_data, movenet, user_dirs):
    from mpm_core.io.bvh import load_bvh_h36m

    video = tmp_path / "clip.mp4"
    shutil.copyfile(shared_data(SHORT_VIDEO), video)
    out = tmp_path / "motion.bvh"
    assert main(["lift", str(video), "-o", str(out), "--range", "0-39", "--threads", "1", "-q"]) == 0
    text = out.read_text()
    assert "Frames: 40" in text and "Frame Time: 0.04" in text
    motion = load_bvh_h36m(out)
    assert motion.num_frames == 40
    head_above_pelvis = motion.keypoints[:, 10, 1] > motion.keypoints[:, 0, 1]
    assert head_above_pelvis.mean() > 0.9  # an upright, Y-up world from the detected 2D


def test_cli_overlay(tmp_path, shared_data, movenet, user_dirs):
    from mpm_core.io import read_2d
    from mpm_core.video.reader import VideoReader

    video = tmp_path / "clip.mp4"
    shutil.copyfile(shared_data(SHORT_VIDEO), video)
    kp = tmp_path / "kp.csv"
    assert main(["detect", str(video), "-o", str(kp), "--range", "0-9", "-q"]) == 0
    out = tmp_path / "overlay.mp4"
    assert main(["overlay", str(video), str(kp), "-o", str(out), "--range", "0-9", "-q"]) == 0
    seq = read_2d(kp)
    with VideoReader(out) as drawn, VideoReader(video) as plain:
        assert drawn.num_frames == 10 and drawn.info.image_size == (1920, 1080)
        a, b = drawn.frame(5).astype(int), plain.frame(5).astype(int)
    # at each seen joint the picture changed (a dot was drawn); far from the body it did not
    for x, y in seq.keypoints[5][seq.visible[5]].round().astype(int):
        assert np.abs(a[y - 2 : y + 3, x - 2 : x + 3] - b[y - 2 : y + 3, x - 2 : x + 3]).mean() > 20
    assert np.abs(a[:100, :100] - b[:100, :100]).mean() < 6


def test_cli_info_video(shared_data, capsys):
    assert main(["info", str(shared_data(APART))]) == 0
    text = capsys.readouterr().out
    assert "1920x1080" in text and "87 (container declares 87)" in text and "fps:         30" in text


def test_cli_models_list_and_install(tmp_path, user_dirs, capsys):
    assert main(["models"]) == 0
    text = capsys.readouterr().out
    for m in models.SHIPPED_MODELS:
        path = models.SHIPPED_DIR / m.file
        assert m.file in text and models.sha256_of(path) in text and f"{path.stat().st_size:,} bytes" in text
    assert "Apache-2.0" in text and "mpm_h36m17" in text and "lifting (MPM)" in text
    assert str(tmp_path / "user_data" / "models") in text
    mine = tmp_path / "my_pose.onnx"
    shutil.copyfile(models.SHIPPED_DIR / models.DEFAULT_POSE_MODEL, mine)
    assert main(["models", "install", str(mine)]) == 0
    assert (tmp_path / "user_data" / "models" / "my_pose.onnx").is_file()
    assert "pose model" in capsys.readouterr().out
    assert main(["models"]) == 0
    assert "my_pose.onnx" in capsys.readouterr().out
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    assert main(["models", "install", str(junk)]) == 2
    assert f"{junk}: not a loadable ONNX model" in capsys.readouterr().err


def test_cli_bad_video_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.mp4"
    bad.write_text("nope")
    assert main(["detect", str(bad), "-o", str(tmp_path / "k.csv")]) == 2
    assert f"{bad}: not a readable video" in capsys.readouterr().err
    with pytest.raises(PoseDataError):
        detect_video(bad, MoveNetSingle.__new__(MoveNetSingle))


def test_cli_detector_model_flags(tmp_path, shared_data, user_dirs, monkeypatch, capsys):
    video = tmp_path / "clip.mp4"
    shutil.copyfile(shared_data(SHORT_VIDEO), video)
    out = tmp_path / "k.csv"
    # a person model where a pose model is needed: refused before any work, naming the file
    person = models.SHIPPED_DIR / models.DEFAULT_PERSON_MODEL
    assert main(["detect", str(video), "-o", str(out), "--detector-model", str(person), "-q"]) == 2
    assert f"{person}: is a person model, a pose model is needed" in capsys.readouterr().err
    # a file name is looked up in $MPM_STUDIO_MODELS (then the per-user folder, then the shipped one)
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copyfile(models.SHIPPED_DIR / models.DEFAULT_POSE_MODEL, folder / "mine.onnx")
    monkeypatch.setenv("MPM_STUDIO_MODELS", str(folder))
    assert models.find_model("mine.onnx") == folder / "mine.onnx"
    assert main(["detect", str(video), "-o", str(out), "--detector-model", "mine.onnx", "--range", "0-2", "-q"]) == 0
    assert out.is_file()
    assert main(["detect", str(video), "-o", str(out), "--detector-model", "absent.onnx", "-q"]) == 2
    assert "absent.onnx: model file not found" in capsys.readouterr().err
