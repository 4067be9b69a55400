"""The Qt detection service: progress, partial results, the chosen person, cancel, failures (under Xvfb)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from mpm_core.video.detectors import MoveNet, MoveNetSingle

SHORT_VIDEO = "inputs/openpose_raga/example_1person/short_video.mp4"


@pytest.fixture(scope="module")
def movenet() -> MoveNet:
    return MoveNet()  # the library shares one ONNX session per model file with the other test modules


@pytest.fixture
def service(qtbot, movenet, tmp_path, monkeypatch):
    from app.services.detection import DetectionService

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg_cache"))
    made: list[MoveNetSingle] = []

    def factory(people):
        made.append(MoveNetSingle(movenet))
        return made[-1]

    svc = DetectionService(detector_factory=factory, partial_every_s=0.0)
    svc.made = made
    yield svc
    svc.stop()


def test_detects_with_progress_and_partials(qtbot, service, shared_data, tmp_path):
    video = tmp_path / "clip.mp4"
    shutil.copyfile(shared_data(SHORT_VIDEO), video)
    progress, partials = [], []
    service.progress.connect(lambda done, total: progress.append((done, total)))
    service.partial.connect(lambda seq: partials.append(seq.num_frames))
    with qtbot.waitSignal(service.finished, timeout=60000) as finished:
        service.start(video, frame_range=(0, 10))
    seq = finished.args[0]
    assert (seq.num_frames, seq.layout, seq.fps, seq.image_size) == (10, "coco17", 25.0, (1920, 1080))
    assert progress[0] == (1, 10) and progress[-1] == (10, 10)
    assert partials and partials == sorted(partials) and partials[-1] <= 10
    # the second run comes from the cache: finished with no detector call
    calls = service.made[-1].calls
    with qtbot.waitSignal(service.finished, timeout=60000) as again:
        service.start(video, frame_range=(0, 10))
    assert service.made[-1].calls == calls
    assert np.array_equal(again.args[0].keypoints, seq.keypoints)


def test_cancel_on_first_progress(qtbot, service, movenet, shared_data, tmp_path):
    video = tmp_path / "clip.mp4"
    shutil.copyfile(shared_data(SHORT_VIDEO), video)
    finished = []
    service.finished.connect(finished.append)
    service.progress.connect(lambda done, total: service.cancel())
    before = movenet.calls
    with qtbot.waitSignal(service.cancelled, timeout=60000):
        service.start(video)
    service.stop()
    assert not finished
    # cancelled while the first frames were in flight: a few network runs, not the video's 125 frames
    assert movenet.calls - before <= 4


def test_bad_video_fails_with_the_file_named(qtbot, service, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 100)
    with qtbot.waitSignal(service.failed, timeout=30000) as failed:
        service.start(bad)
    assert str(bad) in failed.args[0] and "not a readable video" in failed.args[0]
