"""Videos in the real window under Xvfb: the frame under the skeleton in sync with the playhead, detection in the
background with progress and partial lifts, edits waiting for it, cancel, a person picker, pairing by hand."""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QInputDialog  # noqa: E402

from mpm_core.video import VideoReader  # noqa: E402
from mpm_core.video.detectors import MoveNet, MoveNetSingle, MultiPerson, YoloxPersons  # noqa: E402
from tests.test_app_window import _settled, make_window  # noqa: E402, F401 (the window fixture)

pytestmark = pytest.mark.gui
SHORT_VIDEO = "inputs/openpose_raga/example_1person/short_video.mp4"
APART = "inputs/gastnet/data/video/apart.avi"


@pytest.fixture(scope="module")
def detectors():
    return MoveNet(), YoloxPersons()  # one ONNX session per model file, shared with the other test modules


@pytest.fixture
def video_window(make_window, detectors, tmp_path, monkeypatch):  # noqa: F811
    """The real window whose detection service uses the shared detector sessions; caches in tmp_path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg_cache"))
    movenet, yolox = detectors
    calls = []

    def factory(people):
        calls.append(people)
        return MoveNetSingle(movenet) if people == 1 else MultiPerson(movenet, yolox)

    win = make_window(open_sample=False)
    win.detection._factory = factory
    win.detection._partial_every_s = 0.0
    win.detector_calls = calls
    return win


GATE_FRAME = 60


class _GatedDetector:
    """A detector that stops at one frame until ``gate`` is set (30 s at most)."""

    def __init__(self, inner, frame: int, gate: threading.Event):
        self._inner, self._frame, self._gate = inner, frame, gate

    def detect(self, image, index):
        if index == self._frame:
            self._gate.wait(30)
        return self._inner.detect(image, index)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def _background(win) -> np.ndarray:
    image = win.view2d.image_item.image
    assert image is not None
    return np.asarray(image)


def _reference_frame(path, index: int, width: int) -> np.ndarray:
    import cv2

    with VideoReader(path) as reader:
        bgr = reader.frame(index)
    h, w = bgr.shape[:2]
    small = cv2.resize(bgr, (width, round(h * width / w)), interpolation=cv2.INTER_AREA)
    return small[:, :, ::-1].astype(np.int16)


def test_video_beside_its_keypoints_shows_the_frame_under_the_skeleton(video_window, qtbot, shared_data):
    win = video_window
    doc = win.document
    video = shared_data(SHORT_VIDEO)
    win.open_path(video)
    qtbot.waitUntil(lambda: _settled(doc), timeout=60000)
    assert doc.input.video == video and doc.input.path.name == "output_json"  # the OpenPose JSON beside it
    assert win.detector_calls == []  # no detection: the keypoint file was used
    start = doc.input.sequence.start_frame
    for frame in (0, 60, 17):
        doc.set_frame(frame)
        qtbot.waitUntil(lambda f=frame: win.view2d.shown_video_frame == start + f, timeout=10000)
        shown = _background(win).astype(np.int16)
        expected = _reference_frame(video, start + frame, shown.shape[1])
        assert shown.shape == expected.shape
        assert np.abs(shown - expected).mean() < 2.0  # the very frame, scaled
    # Neighbouring frames differ (the check above could not pass with a stale frame).
    assert np.abs(_reference_frame(video, start, 320) - _reference_frame(video, start + 60, 320)).mean() > 2.0
    # The frame is stretched over the whole image extent: the skeleton's pixels are the video's pixels.
    rect = win.view2d.image_item.mapRectToParent(win.view2d.image_item.boundingRect())
    assert (round(rect.width()), round(rect.height())) == doc.input.sequence.guess_image_size()


def test_detection_runs_in_the_background_with_progress_partial_lifts_and_edits_waiting(
    video_window, qtbot, shared_data, tmp_path
):
    win = video_window
    doc = win.document
    video = tmp_path / "clip.mp4"  # no keypoint file beside it: detection runs
    shutil.copyfile(shared_data(SHORT_VIDEO), video)
    # Detection waits at frame 60 until the part detected so far has been lifted and drawn (no race on speed).
    lifted = threading.Event()
    factory = win.detection._factory
    win.detection._factory = lambda people: _GatedDetector(factory(people), GATE_FRAME, lifted)
    win.detection._partial_every_s = 0.2
    progress, partial_lifts, refused = [], [], []
    win.detection.progress.connect(lambda done, total: progress.append((done, total, win.detect_bar.isVisible())))

    def on_scene():
        if doc.detecting:
            partial_lifts.append(doc.num_frames)
            lifted.set()

    doc.sceneChanged.connect(on_scene)
    doc.statusMessage.connect(refused.append)

    def try_an_edit():
        if doc.detecting and doc.mask is not None and not refused:
            before = doc.undo_stack.count()
            doc.toggle_joint("left_wrist")
            assert doc.undo_stack.count() == before  # the edit waits for detection to end

    doc.sceneChanged.connect(try_an_edit)
    win.open_path(video)
    assert doc.detecting and win.cancel_detect_button.isVisible()
    qtbot.waitUntil(lambda: not doc.detecting and _settled(doc), timeout=120000)
    total = progress[-1][1]
    assert progress[-1][0] == total == doc.num_frames == 125
    assert any(visible for *_, visible in progress)  # the status bar showed the progress
    assert partial_lifts and min(partial_lifts) < total  # the detected part was lifted while detection went on
    assert any("wait until it ends" in m for m in refused)
    assert doc.input.video == video and not win.detect_bar.isVisible()
    # Now edits work, and the second opening comes from the cache: no detector made.
    doc.toggle_joint("left_wrist")
    assert doc.undo_stack.count() == 1
    made = len(win.detector_calls)
    win.open_path(video)
    qtbot.waitUntil(lambda: not doc.detecting and _settled(doc), timeout=60000)
    assert len(win.detector_calls) == made + 1  # a detector object is made for its cache key ...
    assert doc.num_frames == 125  # ... and the result comes from the cache (test_video_detect counts calls)


def test_cancel_on_the_first_progress_keeps_the_app_working(video_window, qtbot, shared_data, tmp_path):
    win = video_window
    doc = win.document
    video = tmp_path / "clip.mp4"
    shutil.copyfile(shared_data(SHORT_VIDEO), video)
    win.detection._partial_every_s = 1e9
    cancelled = []
    win.detection.cancelled.connect(lambda: cancelled.append(True))
    win.detection.progress.connect(lambda done, total: win.cancel_detect_button.click())
    win.open_path(video)
    qtbot.waitUntil(lambda: bool(cancelled), timeout=60000)
    qtbot.waitUntil(lambda: not doc.detecting, timeout=5000)
    assert not win.detect_bar.isVisible() and not win.cancel_detect_button.isVisible()
    assert not any(p.suffix == ".npz" for p in tmp_path.rglob("*detect*"))  # nothing cached from a cancelled run
    win.open_sample()  # the app keeps working
    qtbot.waitUntil(lambda: _settled(doc), timeout=60000)
    assert doc.num_frames == 300 and win.errors == []


def test_two_people_are_detected_and_the_user_picks_one(video_window, qtbot, shared_data, monkeypatch):
    win = video_window
    doc = win.document
    win.config.person = "ask"
    picked = []

    def pick(parent, title, label, items, current, editable):
        picked.append(items)
        return items[1], True

    monkeypatch.setattr(QInputDialog, "getItem", pick)
    win.open_path(shared_data(APART))
    qtbot.waitUntil(lambda: not doc.detecting and _settled(doc), timeout=120000)
    first = doc.input.person
    win.detect_everyone()
    qtbot.waitUntil(lambda: bool(picked), timeout=180000)
    qtbot.waitUntil(lambda: not doc.detecting and _settled(doc) and doc.input.person != first, timeout=60000)
    assert len(picked[0]) >= 2 and len(doc.input.tracks) >= 2
    assert doc.input.video == shared_data(APART)
    assert win.detector_calls[-1] is None  # everyone: YOLOX boxes + MoveNet per box


def test_a_video_paired_by_hand_shows_under_a_keypoint_file(video_window, qtbot, shared_data):
    win = video_window
    doc = win.document
    win.open_path(shared_data("inputs/openpose_raga/example_1person/output_json"))
    qtbot.waitUntil(lambda: _settled(doc), timeout=60000)
    assert doc.input.video is None and win.view2d.shown_video_frame is None
    win.pair_video_path(shared_data(SHORT_VIDEO))
    doc.set_frame(30)
    qtbot.waitUntil(lambda: win.view2d.shown_video_frame == doc.input.sequence.start_frame + 30, timeout=10000)
    assert _background(win).std() > 10  # a real picture, not a blank


def test_video_frames_switching_videos_without_requests_then_serving_the_newest(qtbot, shared_data, tmp_path):
    from app.services.video_frames import VideoFrames

    frames = VideoFrames()
    errors = []
    frames.failed.connect(errors.append)
    got = []
    frames.frameReady.connect(lambda index, rgb, size: got.append((index, rgb.shape, size)))
    try:
        frames.open(shared_data(APART))
        frames.open(shared_data(SHORT_VIDEO))  # switched before any frame was asked for
        frames.open(None)
        frames.open(shared_data(SHORT_VIDEO))
        for index in (5, 40, 12):  # scrubbing: the newest request wins, the others may be skipped
            frames.request(index, 400)
        qtbot.waitUntil(lambda: bool(got) and got[-1][0] == 12, timeout=10000)
        index, shape, size = got[-1]
        # Reduced by a whole factor (cheap area averaging) to at least the width asked for, never twice it.
        assert shape[1] == size[0] // (size[0] // 400) and 400 <= shape[1] < 800 and shape[2] == 3
        with VideoReader(shared_data(SHORT_VIDEO)) as reader:
            assert size == tuple(reader.info.image_size)
        assert frames._worker.isRunning() and errors == []
    finally:
        frames.close()
    assert frames._worker is None


def test_choosing_another_person_keeps_the_paired_video(video_window, qtbot, shared_data):
    win = video_window
    doc = win.document
    win.open_path(shared_data("inputs/openpose_raga/example_3people/output_json"))
    qtbot.waitUntil(lambda: _settled(doc), timeout=60000)
    win.pair_video_path(shared_data(SHORT_VIDEO))
    first, other = doc.input.person, [t for t in doc.input.tracks if t != doc.input.person][0]
    doc.choose_person(other)
    qtbot.waitUntil(lambda: doc.input.person == other and _settled(doc), timeout=60000)
    assert first != other and doc.input.video == shared_data(SHORT_VIDEO)
