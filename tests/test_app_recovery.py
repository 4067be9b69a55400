"""Autosave and crash recovery with a real killed process; the desktop entry; --screenshot under Xvfb."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from app.main import install_desktop_entry  # noqa: E402
from app.main_window import AppConfig, MainWindow  # noqa: E402
from app.services.autosave import leftover_autosaves  # noqa: E402
from mpm_core.skeleton import H36M_JOINTS  # noqa: E402

pytestmark = pytest.mark.gui
REPO = Path(__file__).resolve().parent.parent


def test_recover_the_autosave_of_a_killed_window(qtbot, app_env, loaded_model):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "app_crash_driver.py")],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = child.stdout.readline()
        assert line.startswith("READY"), child.stderr.read()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    leftovers = leftover_autosaves()
    assert len(leftovers) == 1 and leftovers[0].name == f"autosave-{child.pid}.mpmproj"
    window = MainWindow(AppConfig(model=loaded_model, threads=1, autosave_s=0, recovery="recover"))
    qtbot.addWidget(window)
    window.show()
    window.start()
    doc = window.document
    qtbot.waitUntil(lambda: doc.committed is not None and doc.committed.mask == doc.mask, timeout=60000)
    elbow = H36M_JOINTS.index("left_elbow")
    assert doc.mask.user[:, elbow].all() and int(doc.mask.user.sum()) == doc.num_frames
    assert doc.frame == 42 and doc.input.reference_camera is not None
    assert np.isfinite(doc.result.poses_3d).all()
    qtbot.waitUntil(lambda: not leftover_autosaves(), timeout=5000)  # recovered, then removed
    window.close()


def test_a_leftover_autosave_is_discarded_when_the_user_says_no(qtbot, app_env, loaded_model, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from app.services import paths

    stale = paths.autosave_dir() / "autosave-999999999.mpmproj"
    stale.write_text("{}")
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.StandardButton.No)
    window = MainWindow(AppConfig(model=loaded_model, threads=1, autosave_s=0, recovery="ask", open_sample=False))
    qtbot.addWidget(window)
    window.start()
    assert asked and not stale.exists() and window.document.input is None
    window.close()


def test_desktop_entry(tmp_path):
    path = install_desktop_entry(tmp_path)
    text = path.read_text()
    assert path.name == "mpm-studio.desktop" and "[Desktop Entry]" in text
    assert f'Exec="{sys.executable}" -m app.main %f' in text and "mpm-studio.png" in text


@pytest.mark.slow
def test_screenshot_command_saves_the_lifted_window(tmp_path, app_env):
    out = tmp_path / "shot.png"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-m", "app.main", "--screenshot", str(out), "--size", "1280x800"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    import cv2

    image = cv2.imread(str(out))
    assert image is not None and image.shape[0] == 800 and image.shape[1] >= 1280
    assert image.std() > 10  # a real picture, not a blank grab
