"""The early main window, driven for real under Xvfb: open files, draw the skeleton, scrub, errors as dialogs."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QMessageBox  # noqa: E402

from app.main_window import MainWindow  # noqa: E402
from app.state import InputData  # noqa: E402
from mpm_core.sequence import PoseSequence2D  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot):
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def _bone_points(win) -> np.ndarray:
    xs, ys = [], []
    for item in win.view2d.bone_items.values():
        x, y = item.getData()
        if x is not None:
            xs.extend(x)
            ys.extend(y)
    return np.column_stack([xs, ys]) if xs else np.zeros((0, 2))


def test_sequence_is_drawn_and_follows_the_slider(window):
    rng = np.random.default_rng(0)
    kp = 500 + rng.normal(0, 50, (10, 17, 2)).astype(np.float32)
    kp[3, 5] = np.nan  # one missing joint: its bones are not drawn
    seq = PoseSequence2D(kp, fps=25, image_size=(1000, 1000))
    window.document.set_input(InputData(None, seq, seq.to_h36m()))
    drawn = _bone_points(window)
    visible = window.document.input.h36m.keypoints[0]
    # every drawn point is one of frame 0's joints
    assert len(drawn) > 0
    assert np.abs(drawn[:, None, :] - visible[None]).sum(axis=2).min(axis=1).max() < 1e-3
    window.slider.setValue(3)
    assert window.document.frame == 3
    drawn3 = _bone_points(window)
    bones_with_5 = sum(1 for p, c in window.document.input.h36m.layout_info.bones if 5 in (p, c))
    assert len(drawn3) == len(drawn) - 2 * bones_with_5
    assert window.frame_label.text() == "4 / 10"


def test_open_real_openpose_folder(window, qtbot, shared_data):
    folder = shared_data("inputs/openpose_raga/example_1person/output_json")
    with qtbot.waitSignal(window.document.inputChanged, timeout=30000):
        window.open_path(folder)
    assert window.document.num_frames == 125
    assert window.slider.maximum() == 124
    assert len(_bone_points(window)) > 0


def test_malformed_file_shows_an_error_and_the_app_keeps_running(window, qtbot, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: shown.append(text))
    bad = tmp_path / "broken.json"
    bad.write_text('{"people": [ {"pose_keypoints_2d": [1, 2', encoding="utf-8")
    with qtbot.waitSignal(window.document.errorRaised, timeout=30000):
        window.open_path(bad)
    assert shown and "broken.json" in shown[0]
    assert window.isVisible()
    # and it still opens a good sequence afterwards
    seq = PoseSequence2D(np.full((2, 17, 2), 10.0, np.float32))
    window.document.set_input(InputData(None, seq, seq))
    assert window.document.num_frames == 2
