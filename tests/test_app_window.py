"""The real main window under Xvfb: the sample, clicks in the 2D view, undo, export, projects, errors, 3D input."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from app.main_window import SAMPLE_2D, AppConfig, MainWindow  # noqa: E402
from app.state import USER_HIDDEN, VISIBLE  # noqa: E402
from mpm_core.skeleton import H36M_JOINTS  # noqa: E402
from tests.conftest import wait_idle  # noqa: E402

pytestmark = pytest.mark.gui
LW = H36M_JOINTS.index("left_wrist")


def _settled(doc) -> bool:
    return doc.scene is not None and doc.committed is doc.result and doc.result.mask == doc.mask and not doc.busy


@pytest.fixture
def make_window(qtbot, loaded_model, app_env, monkeypatch):
    """``make_window(**config)``: the real window with the session's model; closed (workers joined) after."""
    errors: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: errors.append(text))
    windows = []

    def make(**overrides) -> MainWindow:
        config = dict(model=loaded_model, threads=1, autosave_s=0, recovery="discard", person="longest")
        config.update(overrides)
        win = MainWindow(AppConfig(**config))
        win.errors = errors
        qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        windows.append(win)
        return win

    yield make
    for win in windows:
        win.close()
        assert not win.service._worker.isRunning()  # closing stops and joins the worker


@pytest.fixture
def window(make_window, qtbot):
    win = make_window()
    win.start()
    qtbot.waitUntil(lambda: _settled(win.document), timeout=60000)
    return win


def test_first_run_opens_the_lifted_sample_with_its_truth_and_auto_mask(window):
    doc = window.document
    assert doc.input.path == SAMPLE_2D and doc.num_frames == 300
    assert doc.scene.reference is not None and doc.scene.reference.shape == (300, 17, 3)
    # The occluded forearm of the sample is hidden for low confidence without a click.
    assert doc.mask.low_confidence[120:175, H36M_JOINTS.index("right_wrist")].mean() > 0.9
    # World frame: upright, standing on the floor, the ghost close to the lifted body.
    poses = doc.scene.poses
    assert (poses[:, H36M_JOINTS.index("head"), 1] > poses[:, 0, 1]).mean() > 0.95
    gap = np.nanmean(np.linalg.norm(doc.scene.reference - poses, axis=-1))
    assert gap < 0.15
    assert "lift" in doc.last_latency and window.model_label.text().startswith("CPU")


def test_click_on_a_joint_hides_it_moves_its_3d_and_undo_redo_restore_exactly(window, qtbot):
    doc, view = window.document, window.view2d
    doc.set_frame(60)
    wait_idle(qtbot, doc)
    before_mask, before_3d = doc.mask, doc.result.poses_3d.copy()
    before_scene = doc.scene.poses[60, LW].copy()
    assert doc.states(60, 61)[0, LW] == VISIBLE
    qtbot.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=view.joint_at_pixel(LW))
    assert doc.states(60, 61)[0, LW] == USER_HIDDEN and int(doc.mask.user.sum()) == 1
    qtbot.waitUntil(lambda: _settled(doc), timeout=30000)
    after_3d = doc.result.poses_3d.copy()
    assert np.linalg.norm(after_3d[60, LW] - before_3d[60, LW]) > 1e-3
    wait_idle(qtbot, doc)
    assert np.linalg.norm(doc.scene.poses[60, LW] - before_scene) > 1e-3  # the 3D view's data moved too
    calls = doc.service.engine.stats.network_calls
    window.undo_action.trigger()
    assert doc.mask == before_mask
    np.testing.assert_array_equal(doc.result.poses_3d, before_3d)
    window.redo_action.trigger()
    assert doc.mask.user[60, LW]
    np.testing.assert_array_equal(doc.result.poses_3d, after_3d)
    wait_idle(qtbot, doc)
    assert doc.service.engine.stats.network_calls == calls


def test_scope_all_frames_from_the_toolbar(window, qtbot):
    doc, view = window.document, window.view2d
    view.scope_buttons["all"].click()
    doc.set_frame(10)
    qtbot.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=view.joint_at_pixel(LW))
    assert doc.mask.user[:, LW].all() and int(doc.mask.user.sum()) == doc.num_frames


def test_export_bvh_and_csv_through_the_dialog_and_read_them_back(window, qtbot, tmp_path):
    from mpm_core.io import read_3d

    doc = window.document
    for ext in (".bvh", ".csv"):
        dialog = window.export_dialog()
        dialog.format.setCurrentIndex(dialog.format.findData(ext))
        target = tmp_path / f"walk{ext}"
        dialog.path_edit.setText(str(target))
        dialog.first.setValue(10)
        dialog.last.setValue(209)
        with qtbot.waitSignal(dialog.accepted, timeout=60000):
            dialog.export_button.click()
        assert dialog.written == str(target) and not window.errors
        seq = read_3d(target)
        assert seq.num_frames == 200 and seq.coords == "world"
        head, pelvis = H36M_JOINTS.index("head"), 0
        assert (seq.keypoints[:, head, 1] > seq.keypoints[:, pelvis, 1]).all()
    # The CSV holds the scene's world positions for those frames (same pipeline, same options).
    csv = read_3d(tmp_path / "walk.csv")
    np.testing.assert_allclose(csv.keypoints, doc.scene.poses[10:210], atol=2e-3)
    assert not list(tmp_path.glob(".*"))  # no temp files left


def test_export_error_is_a_dialog_and_nothing_is_written(window, qtbot, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    blocker = out / "a_file"
    blocker.write_text("not a folder")
    dialog = window.export_dialog()
    dialog.path_edit.setText(str(blocker / "x.bvh"))  # its "folder" is a file: the write must fail
    dialog.export_button.click()
    qtbot.waitUntil(lambda: dialog.error is not None, timeout=30000)
    assert "x.bvh" in dialog.error and window.errors and dialog.written is None
    assert sorted(p.name for p in out.iterdir()) == ["a_file"]
    assert dialog.isVisible()  # the dialog stays open to fix the path


def test_save_and_reopen_a_project_to_identical_mask_and_3d(window, make_window, qtbot, tmp_path):
    doc = window.document
    doc.set_frame(30)
    doc.toggle_joint("left_knee", "all")
    doc.set_selection(frames=(100, 140))
    doc.toggle_joint("right_elbow", "selection")
    qtbot.waitUntil(lambda: _settled(doc), timeout=30000)
    wait_idle(qtbot, doc)
    assert window._save_to(tmp_path / "session.mpmproj")
    mask, poses = doc.mask, doc.result.poses_3d.copy()
    other = make_window(open_sample=False)
    other.open_path(tmp_path / "session.mpmproj")
    qtbot.waitUntil(lambda: other.document.input is not None and _settled(other.document), timeout=60000)
    assert other.document.mask == mask
    np.testing.assert_array_equal(other.document.result.poses_3d, poses)
    assert other.document.frame == 30 and other.document.input.reference_camera is not None


def test_malformed_file_shows_a_dialog_and_the_app_keeps_working(window, qtbot, tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('{"people": [ {"pose_keypoints_2d": [1, 2', encoding="utf-8")
    with qtbot.waitSignal(window.document.errorRaised, timeout=30000):
        window.open_path(bad)
    assert window.errors and "broken.json" in window.errors[-1]
    assert window.isVisible() and window.document.input.path == SAMPLE_2D  # the sample is still open
    window.document.toggle_joint("head")
    qtbot.waitUntil(lambda: _settled(window.document), timeout=30000)


def test_bvh_through_a_virtual_camera_shows_a_live_mpjpe(make_window, qtbot, shared_data):
    win = make_window(open_sample=False)
    win.open_path(shared_data("mocap/extra_corpus/accad_Female1_A03_Swing.bvh.gz"))
    qtbot.waitUntil(lambda: win.document.scene is not None and win.document.scene.errors is not None, timeout=60000)
    doc = win.document
    first = doc.scene.errors.mpjpe_mm
    assert 10 < first < 150 and "MPJPE" in win.error_label.text()
    assert "MPJPE" in win.probe_panel.error_label.text()
    # Move the camera behind the performer: a new projection, a new lift, a new figure.
    win.probe_panel.sliders["azimuth_deg"].setValue(170)
    qtbot.waitUntil(lambda: doc.scene.errors is not None and doc.probe.camera.azimuth_deg == 170, timeout=60000)
    qtbot.waitUntil(lambda: doc.scene.errors.mpjpe_mm != first, timeout=60000)
    # Completion mode: hide the left arm, the model fills it in.
    win.probe_panel.complete_button.click()
    qtbot.waitUntil(lambda: doc.result is not None and hasattr(doc.result, "filled"), timeout=60000)
    doc.paint("left_arm", 0, doc.num_frames, hide=True)
    qtbot.waitUntil(lambda: doc.result.filled[:, LW].all(), timeout=60000)


def test_several_people_ask_which_one(make_window, qtbot, shared_data, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    offered = []

    def pick(parent, title, label, items, current, editable):
        offered.extend(items)
        return items[-1], True

    monkeypatch.setattr(QInputDialog, "getItem", pick)
    win = make_window(open_sample=False, person="ask")
    win.open_path(shared_data("inputs/openpose_raga/example_3people/output_json"))
    qtbot.waitUntil(lambda: len(offered) > 1, timeout=60000)
    tracks = win.document.input.tracks
    assert len(offered) == len(tracks) > 1
    qtbot.waitUntil(lambda: win.document.input.person == tracks[-1], timeout=60000)
    qtbot.waitUntil(lambda: _settled(win.document), timeout=60000)
    qtbot.wait(100)
    assert len(offered) == len(tracks)  # the chosen person's input does not ask again


def test_drop_a_file_and_it_becomes_a_recent_file(make_window, qtbot, shared_data):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    win = make_window(open_sample=False)
    path = shared_data("inputs/openpose_raga/example_1person/output_json")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)  # fmt: skip
    win.dropEvent(event)
    qtbot.waitUntil(lambda: win.document.input is not None, timeout=60000)
    assert win.document.input.path == path and win.recent_files()[0] == str(path)
    assert [a.text() for a in win.recent_menu.actions()][0] == str(path)


def test_preferences_persist(make_window, monkeypatch):
    from app.dialogs.preferences import Preferences, PreferencesDialog

    win = make_window(open_sample=False)
    dialog = PreferencesDialog(win.prefs, win)
    dialog.threshold.setValue(0.35)
    dialog.coords.setCurrentText("camera")
    dialog.autosave.setValue(12)
    dialog.preferences().save()
    again = Preferences.load()
    assert (again.threshold, again.coords, again.autosave_s) == (0.35, "camera", 12.0)
    assert make_window(open_sample=False).document.settings.coords == "camera"


def test_both_shipped_models_are_offered_and_the_commercial_one_lifts(make_window, qtbot):
    """Preferences lists the shipped models with their licence line; choosing the commercial one makes a new window
    load and lift with it (the model issue's "selectable in the app")."""
    from app.dialogs.preferences import Preferences, PreferencesDialog

    win = make_window(open_sample=False)
    dialog = PreferencesDialog(win.prefs, win)
    offered = {dialog.model.itemData(i): dialog.model.itemText(i) for i in range(dialog.model.count())}
    assert "non-commercial" in offered["mpm_h36m17"]
    assert "commercial use allowed" in offered["mpm_h36m17_commercial"]
    dialog.model.setCurrentIndex(dialog.model.findData("mpm_h36m17_commercial"))
    dialog.preferences().save()
    assert Preferences.load().model == "mpm_h36m17_commercial"
    fresh = make_window(model=None, open_sample=False)  # no preloaded model: it loads what the preferences name
    fresh.open_sample()
    qtbot.waitUntil(lambda: fresh.document.result is not None and _settled(fresh.document), timeout=60000)
    assert fresh.service.model_name == fresh.document.result.model_name == "mpm_h36m17_commercial"
    assert fresh.document.settings.model == "mpm_h36m17_commercial"


def test_the_detector_models_folder_setting_is_searched_first(make_window, monkeypatch, tmp_path):
    import app.dialogs.preferences as preferences
    from mpm_core.video.models import search_dirs

    monkeypatch.setattr(preferences, "_ENV_MODELS", None)
    monkeypatch.delenv("MPM_STUDIO_MODELS", raising=False)
    win = make_window(open_sample=False)
    dialog = preferences.PreferencesDialog(win.prefs, win)
    dialog.models_dir.setText(str(tmp_path / "detectors"))
    prefs = dialog.preferences()
    prefs.save()
    preferences.apply_models_dir(preferences.Preferences.load())
    assert search_dirs()[0][1] == tmp_path / "detectors"
    prefs.models_dir = ""
    preferences.apply_models_dir(prefs)
    assert all(folder != tmp_path / "detectors" for _, folder in search_dirs())


def test_the_window_fits_a_laptop_screen(make_window, qtbot):
    """Toolbars and legends give way (clip or wrap) so that the window fits a 1366 x 768 screen."""
    win = make_window(open_sample=False)
    win.resize(1366, 740)
    qtbot.wait(50)
    assert win.minimumSizeHint().width() <= 1366
    assert win.width() <= 1366
