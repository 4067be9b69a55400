"""The timeline: mask painting on the heatmap (one undo command), in-place column updates, the ruler, playback by
the wall clock (a fake clock: nothing here is timed), and the same drag in the real window's bottom dock."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QKeySequence  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from app.state import FORCED, LOW_CONFIDENCE, MISSING, USER_HIDDEN, VISIBLE  # noqa: E402
from app.views import timeline as timeline_module  # noqa: E402
from app.views.heatmap import STATE_RGB  # noqa: E402
from mpm_core.skeleton import H36M_JOINTS  # noqa: E402
from tests.conftest import wait_idle  # noqa: E402

pytestmark = pytest.mark.gui
LW = H36M_JOINTS.index("left_wrist")
LS = H36M_JOINTS.index("left_shoulder")
LE = H36M_JOINTS.index("left_elbow")
#: Rendered pixels may differ from the palette by the screen's rounding.
PIXEL_TOLERANCE = 6


def _final(doc) -> bool:
    result = doc.result
    return (
        result is not None
        and doc.committed is result
        and result.mask == doc.mask
        and not doc.busy
        and doc.scene is not None
    )


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _view(qtbot, doc, clock=None):
    from app.services.playback import Playback
    from app.views.timeline import TimelineView

    playback = Playback(doc, clock=clock) if clock is not None else Playback(doc)
    view = TimelineView(doc, playback)
    qtbot.addWidget(view)
    view.resize(1400, 520)
    view.show()
    qtbot.waitExposed(view)
    view.show_all()
    qtbot.wait(20)
    return view, playback


def _drag(qtbot, widget, points, button=Qt.MouseButton.LeftButton, modifier=Qt.KeyboardModifier.NoModifier):
    """Press at the first point, move through the others, release at the last (qtbot's mouse events)."""
    qtbot.mousePress(widget, button, modifier, points[0])
    for p in points[1:]:
        qtbot.mouseMove(widget, p)
        qtbot.wait(5)
    qtbot.mouseRelease(widget, button, modifier, points[-1])


def _pixel(view, point) -> np.ndarray:
    image = view.graphics.viewport().grab().toImage()
    ratio = image.devicePixelRatio()
    colour = image.pixelColor(int(point.x() * ratio), int(point.y() * ratio))
    return np.array([colour.red(), colour.green(), colour.blue()])


# -- painting -----------------------------------------------------------------------------------------------------
def test_drag_on_the_heatmap_hides_exactly_those_joint_frames_as_one_undo_command(qtbot, lifted_doc):
    doc = lifted_doc
    wait_idle(qtbot, doc)
    view, _ = _view(qtbot, doc)
    doc.set_frame(5)  # the playhead away from the drag
    before_mask, before_3d = doc.mask, doc.result.poses_3d.copy()
    commands = doc.undo_stack.count()
    vp = view.graphics.viewport()
    # From (left wrist, frame 40) to (left elbow, frame 69): two rows, thirty frames, through a midpoint.
    _drag(qtbot, vp, [view.cell_pos(LW, 40), view.cell_pos(LW, 52), view.cell_pos(LE, 61), view.cell_pos(LE, 69)])
    assert doc.undo_stack.count() == commands + 1  # the whole drag is one command
    assert not doc.dragging
    changed = np.argwhere(doc.mask.user != before_mask.user)
    expected = {(f, j) for f in range(40, 70) for j in (LE, LW)}
    assert {tuple(map(int, c)) for c in changed} == expected
    assert doc.mask.user[40:70][:, [LE, LW]].all()
    # The heatmap shows them hidden by the user, in place.
    hidden = np.array(STATE_RGB[USER_HIDDEN], np.uint8)
    assert (view.image_rgba()[[LE, LW], 40:70, :3] == hidden).all()
    assert np.abs(_pixel(view, view.cell_pos(LW, 55)) - hidden).max() <= PIXEL_TOLERANCE

    qtbot.waitUntil(lambda: _final(doc), timeout=30000)
    after_mask, after_3d = doc.mask, doc.result.poses_3d.copy()
    assert np.abs(after_3d[40:70, LW] - before_3d[40:70, LW]).max() > 1e-3  # the model filled them in
    wait_idle(qtbot, doc)
    doc.undo_stack.undo()
    assert doc.mask == before_mask
    np.testing.assert_array_equal(doc.result.poses_3d, before_3d)
    assert doc.states(40, 70)[:, LW].tolist() == before_mask_states(before_mask, LW)
    doc.undo_stack.redo()
    assert doc.mask == after_mask
    np.testing.assert_array_equal(doc.result.poses_3d, after_3d)
    assert (view.image_rgba()[[LE, LW], 40:70, :3] == hidden).all()


def before_mask_states(mask, joint: int) -> list[int]:
    from app.state import joint_states

    return joint_states(mask, 40, 70)[:, joint].tolist()


def test_right_drag_alt_drag_and_the_show_brush_unhide(qtbot, lifted_doc):
    doc = lifted_doc
    view, _ = _view(qtbot, doc)
    doc.paint([LS, LE, LW], 20, 100, hide=True)
    assert doc.mask.user[20:100][:, [LS, LE, LW]].all()
    vp = view.graphics.viewport()
    commands = doc.undo_stack.count()
    # Right-drag over the left elbow, frames 30-49: shown again; the rest stays hidden.
    _drag(qtbot, vp, [view.cell_pos(LE, 30), view.cell_pos(LE, 40), view.cell_pos(LE, 49)], Qt.MouseButton.RightButton)
    assert doc.undo_stack.count() == commands + 1
    assert not doc.mask.user[30:50, LE].any()
    assert doc.mask.user[20:30, LE].all() and doc.mask.user[50:100, LE].all()
    assert doc.mask.user[20:100, LS].all() and doc.mask.user[20:100, LW].all()
    assert set(doc.states(30, 50)[:, LE].tolist()) <= {VISIBLE, FORCED, LOW_CONFIDENCE, MISSING}
    # Alt + left drag over the left wrist, frames 60-69.
    alt = Qt.KeyboardModifier.AltModifier
    _drag(qtbot, vp, [view.cell_pos(LW, 60), view.cell_pos(LW, 65), view.cell_pos(LW, 69)], modifier=alt)
    assert not doc.mask.user[60:70, LW].any() and doc.mask.user[20:60, LW].all()
    # The "Show" brush: a plain left drag un-hides; its right-drag hides.
    view.show_button.click()
    assert view.heat_vb.erase_mode
    _drag(qtbot, vp, [view.cell_pos(LS, 80), view.cell_pos(LS, 85), view.cell_pos(LS, 89)])
    assert not doc.mask.user[80:90, LS].any() and doc.mask.user[20:80, LS].all()
    view.hide_button.click()
    assert not view.heat_vb.erase_mode


def test_a_mask_change_recolours_only_its_columns_and_colours_follow_the_states(qtbot, lifted_doc, monkeypatch):
    monkeypatch.setattr(timeline_module, "TILE_COLUMNS", 32)
    doc = lifted_doc
    view, _ = _view(qtbot, doc)
    assert view.bin == 1 and len(view._tiles) == 4  # 125 frames in 32-column tiles
    states = doc.states(0, doc.num_frames).T  # (17, T)
    rgba = view.image_rgba()
    assert rgba.shape == (17, doc.num_frames, 4)
    for code in (USER_HIDDEN, LOW_CONFIDENCE, MISSING):
        cells = states == code
        is_colour = (rgba[..., :3] == np.array(STATE_RGB[code], np.uint8)).all(axis=-1)
        np.testing.assert_array_equal(is_colour, cells)
    assert (states == LOW_CONFIDENCE).any() and (states == MISSING).any()  # the real example has both
    seen = rgba[states == VISIBLE][:, :3].astype(int)
    assert (seen[:, 2] > seen[:, 0]).all()  # seen: blue, shaded by confidence
    assert len(np.unique(seen, axis=0)) > 10

    before = rgba.copy()
    renders = view.tile_renders
    spans = []
    doc.maskChanged.connect(lambda lo, hi: spans.append((lo, hi)))
    doc.paint([LW], 50, 60, hide=True)
    assert spans == [(50, 60)]
    after = view.image_rgba()
    assert view.tile_renders - renders == 1  # only the tile of columns 32-63 was re-set
    outside = np.ones(doc.num_frames, bool)
    outside[50:60] = False
    np.testing.assert_array_equal(after[:, outside], before[:, outside])
    assert (after[LW, 50:60, :3] == np.array(STATE_RGB[USER_HIDDEN], np.uint8)).all()
    others = [j for j in range(17) if j != LW]
    np.testing.assert_array_equal(after[others, 50:60], before[others, 50:60])
    # The screen shows it: the painted cell is orange, its neighbour row is not.
    qtbot.wait(20)
    hidden = np.array(STATE_RGB[USER_HIDDEN])
    assert np.abs(_pixel(view, view.cell_pos(LW, 55)) - hidden).max() <= PIXEL_TOLERANCE
    assert np.abs(_pixel(view, view.cell_pos(LW, 20)) - hidden).max() > 40


@pytest.fixture
def long_doc(app_env):
    """A document with the bundled sample repeated to 18,000 frames (10 minutes at 30 fps), no model."""
    from app.document import Document, read_input
    from app.main_window import SAMPLE_2D
    from app.state import InputData

    seq = read_input(SAMPLE_2D).h36m
    reps = 60
    long = seq.replace(
        keypoints=np.tile(seq.keypoints, (reps, 1, 1)),
        scores=np.tile(seq.scores, (reps, 1)),
        visible=np.tile(seq.visible, (reps, 1)),
    )
    doc = Document()
    doc.set_input(InputData(None, long, long))
    assert doc.num_frames == 18000
    return doc


def test_18000_frames_zoomed_out_are_binned_and_an_edit_updates_one_bin(qtbot, long_doc):
    doc = long_doc
    view, _ = _view(qtbot, doc)
    qtbot.waitUntil(lambda: view.bin > 1, timeout=3000)  # the whole sequence on ~1,300 pixels
    k = view.bin
    assert view.image_rgba().shape[1] == -(-doc.num_frames // k) and view.image_rgba().shape[1] < 2 * view.width()
    hidden = np.array(STATE_RGB[USER_HIDDEN], np.uint8)
    renders = view.tile_renders
    before = view.image_rgba().copy()
    doc.paint([LW], 9001, 9002, hide=True)  # one joint in one frame of 18,000 still shows
    col = 9001 // k
    assert (view.image_rgba()[LW, col, :3] == hidden).all()
    changed = np.argwhere((view.image_rgba() != before).any(axis=-1))
    assert changed.tolist() == [[LW, col]] and view.tile_renders - renders == 1
    # Zoomed in around the frame: one column per frame again, the hidden frame alone in its row.
    view.heat_vb.setXRange(8950, 9050, padding=0)
    qtbot.waitUntil(lambda: view.bin == 1, timeout=3000)
    row = view.image_rgba()[LW, 8990:9010, :3]
    assert [bool((c == hidden).all()) for c in row] == [f == 9001 for f in range(8990, 9010)]
    # The playhead moves without re-rendering the image.
    renders = view.tile_renders
    for f in range(8960, 9040):
        doc.set_frame(f)
    qtbot.wait(20)
    assert view.tile_renders == renders and view.playhead.value() == 9039


def test_follow_pages_the_window_with_the_playhead(qtbot, long_doc):
    doc = long_doc
    view, _ = _view(qtbot, doc)
    view.follow_button.click()
    (x0, x1), _r = view.heat_vb.viewRange()
    assert x1 - x0 == pytest.approx(10 * 30, rel=0.05) and x0 <= doc.frame <= x1
    doc.set_frame(5000)
    (x0, x1), _r = view.heat_vb.viewRange()
    assert x0 < 5000 < x1 and x1 - x0 == pytest.approx(300, rel=0.05)
    view.fit_button.click()
    assert not view.follow and view.heat_vb.viewRange()[0][1] - view.heat_vb.viewRange()[0][0] > 17000


# -- ruler and selection ------------------------------------------------------------------------------------------
def test_click_and_drag_on_the_ruler_move_the_frame_and_shift_drag_selects(qtbot, lifted_doc):
    doc = lifted_doc
    view, _ = _view(qtbot, doc)
    vp = view.graphics.viewport()
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=view.ruler_pos(77))
    assert doc.frame == 77 and view.playhead.value() == 77 and view.heat_playhead.value() == 77
    assert view.frame_label.text() == doc.time_text(77)
    _drag(qtbot, vp, [view.ruler_pos(10), view.ruler_pos(20), view.ruler_pos(33)])  # a scrub
    assert doc.frame == 33
    _drag(
        qtbot,
        vp,
        [view.ruler_pos(20), view.ruler_pos(40), view.ruler_pos(60)],
        modifier=Qt.KeyboardModifier.ShiftModifier,
    )
    assert doc.selected_frames == (20, 61)
    assert view.ruler_selection.isVisible() and view.heat_selection.isVisible()
    assert tuple(view.heat_selection.getRegion()) == (19.5, 60.5)
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, view.ruler_pos(90))
    assert doc.selected_frames is None and not view.heat_selection.isVisible()


def test_click_on_the_heatmap_selects_the_joint_and_highlights_its_label(qtbot, lifted_doc):
    doc = lifted_doc
    view, _ = _view(qtbot, doc)
    vp = view.graphics.viewport()
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=view.cell_pos(LW, 30))
    assert doc.selected_joints == (LW,) and doc.frame == 30
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, view.cell_pos(LS, 30))
    assert set(doc.selected_joints) == {LW, LS}
    assert view.joint_axis.selected == {"left wrist", "left shoulder"}
    # Shift-drag on the heatmap selects rows and frames.
    _drag(
        qtbot,
        vp,
        [view.cell_pos(LS, 10), view.cell_pos(LE, 20), view.cell_pos(LW, 30)],
        modifier=Qt.KeyboardModifier.ShiftModifier,
    )
    assert doc.selected_joints == (LS, LE, LW) and doc.selected_frames == (10, 31)


# -- playback -----------------------------------------------------------------------------------------------------
@pytest.fixture
def sample_doc(app_env):
    """A document with the bundled sample (300 frames at 30 fps), no model."""
    from app.document import Document, read_input
    from app.main_window import SAMPLE_2D

    doc = Document()
    doc.set_input(read_input(SAMPLE_2D))
    assert doc.num_frames == 300 and doc.input.fps == 30
    return doc


def test_playback_follows_the_clock_skips_late_frames_and_stops_at_the_end(qtbot, sample_doc):
    from app.services.playback import Playback

    doc, clock = sample_doc, FakeClock()
    playback = Playback(doc, clock=clock)
    assert playback._timer.timerType() == Qt.TimerType.PreciseTimer
    assert playback._interval_ms() < 1000 / 30  # ticks faster than the frame period
    shown, states = [], []
    doc.frameChanged.connect(shown.append)
    playback.playingChanged.connect(states.append)
    playback.play()
    assert playback.playing and states == [True]
    t0, frame0, rate = playback.schedule()
    assert (t0, frame0, rate) == (clock.t, 0, 30.0)
    clock.t += 0.5
    playback.tick()
    assert doc.frame == 15
    clock.t += 0.01
    playback.tick()
    assert doc.frame == 15  # not due yet
    clock.t = t0 + 2.0  # a late tick: frames 16-59 are skipped, not drawn late
    playback.tick()
    assert doc.frame == 60 and shown == [15, 60]
    assert playback.due(60) == pytest.approx(t0 + 2.0)
    playback.set_speed(2.0)
    clock.t += 0.5
    playback.tick()
    assert doc.frame == 90
    playback.set_speed(10.0)
    assert playback.speed == 2.0
    playback.set_speed(0.25)
    clock.t += 4.0
    playback.tick()
    assert doc.frame == 120
    clock.t += 1000
    playback.tick()
    assert doc.frame == 299 and not playback.playing and states == [True, False]
    playback.play()  # at the end, play starts over
    assert doc.frame == 0 and playback.playing


def test_playback_loops_with_a_continuous_schedule_and_inside_a_selection(qtbot, sample_doc):
    from app.services.playback import Playback

    doc, clock = sample_doc, FakeClock()
    playback = Playback(doc, clock=clock)
    playback.set_loop(True)
    doc.set_frame(290)
    playback.play()
    start = clock.t
    clock.t = start + 15 / 30  # frame 305 is due: five past the wrap
    playback.tick()
    assert doc.frame == 5 and playback.playing
    t0, frame0, _rate = playback.schedule()
    assert frame0 == 0 and t0 == pytest.approx(start + 10 / 30)
    playback.pause()
    doc.set_selection(frames=(100, 110))
    doc.set_frame(105)
    playback.play()
    clock.t += 12 / 30  # 117 is due: the selection wraps at 110 -> 107
    playback.tick()
    assert doc.frame == 107
    # A scrub during playback: the run continues from there.
    doc.set_frame(200)
    clock.t += 3 / 30
    playback.tick()
    assert doc.frame == 203


def test_playback_reports_the_frames_it_shows_per_second(qtbot, sample_doc):
    from app.services.playback import Playback

    doc, clock = sample_doc, FakeClock()
    playback = Playback(doc, clock=clock)
    reports = []
    playback.fpsMeasured.connect(reports.append)
    playback.play()
    start = clock.t
    for i in range(1, 61):  # one tick per 1/60 s for a second: 30 frames shown
        clock.t = start + i / 60
        playback.tick()
    assert reports == [pytest.approx(30.0, abs=1.0)]
    for _ in range(5):  # late ticks, 0.25 s apart: 4 frames shown in the next second
        clock.t += 0.25
        playback.tick()
    assert len(reports) == 2 and reports[1] == pytest.approx(4.0, abs=0.5)


def test_playback_steps_and_its_actions_have_the_shortcuts(qtbot, sample_doc):
    from app.services.playback import Playback

    doc = sample_doc
    playback = Playback(doc, clock=FakeClock())
    actions = {a.objectName(): a for a in playback.actions()}
    expected = {
        "playback.play": "Space",
        "playback.back": "Left",
        "playback.forward": "Right",
        "playback.back10": "Shift+Left",
        "playback.forward10": "Shift+Right",
        "playback.start": "Home",
        "playback.end": "End",
        "playback.loop": "L",
    }
    assert {name: a.shortcut().toString() for name, a in actions.items()} == expected
    assert playback.actions() == list(actions.values())  # the same actions every time
    doc.set_frame(50)
    actions["playback.forward"].trigger()
    assert doc.frame == 51
    actions["playback.back10"].trigger()
    assert doc.frame == 41
    actions["playback.forward10"].trigger()
    actions["playback.back"].trigger()
    assert doc.frame == 50
    actions["playback.end"].trigger()
    assert doc.frame == 299
    actions["playback.forward"].trigger()
    assert doc.frame == 299
    actions["playback.start"].trigger()
    assert doc.frame == 0
    actions["playback.back"].trigger()
    assert doc.frame == 0
    actions["playback.loop"].trigger()
    assert playback.loop and actions["playback.loop"].isChecked()
    actions["playback.play"].trigger()
    assert playback.playing
    actions["playback.play"].trigger()
    assert not playback.playing
    assert QKeySequence("Space") == actions["playback.play"].shortcut()


def test_transport_buttons_drive_playback(qtbot, sample_doc):
    view, playback = _view(qtbot, sample_doc, clock=FakeClock())
    view.play_button.click()
    assert playback.playing and view.play_button.text() == "Pause"
    view.play_button.click()
    assert not playback.playing
    view.forward_button.click()
    assert sample_doc.frame == 1
    view.loop_button.click()
    assert playback.loop
    view.speed_combo.setCurrentIndex(view.speed_combo.findData(0.5))
    assert playback.speed == 0.5
    playback.set_loop(False)
    assert not view.loop_button.isChecked()


def test_playback_runs_on_its_timer(qtbot, sample_doc):
    """The real timer drives the ticks (no timing asserted: only that frames advance and it stops)."""
    from app.services.playback import Playback

    doc = sample_doc
    playback = Playback(doc)
    doc.set_frame(290)
    playback.play()
    qtbot.waitUntil(lambda: not playback.playing, timeout=10000)
    assert doc.frame == 299


# -- the real window ----------------------------------------------------------------------------------------------
@pytest.fixture
def window(qtbot, loaded_model, app_env, monkeypatch):
    from app.main_window import AppConfig, MainWindow

    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: pytest.fail(text))
    config = AppConfig(model=loaded_model, threads=1, autosave_s=0, recovery="discard", person="longest")
    win = MainWindow(config)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.start()
    qtbot.waitUntil(lambda: _final(win.document), timeout=60000)
    yield win
    win.close()


def test_drag_on_the_heatmap_in_the_real_window_and_undo_redo(window, qtbot):
    from app.services.playback import Playback
    from app.views.timeline import TimelineView

    doc, view = window.document, window.timeline
    assert isinstance(view, TimelineView) and isinstance(window.playback, Playback)
    assert window.timeline_dock.widget() is view and view.isVisible()
    view_menu = [a.text() for a in window.menuBar().actions()[3].menu().actions()]
    assert "Play / pause" in view_menu and "Loop" in view_menu
    window.playback.fpsMeasured.emit(29.6)
    assert window.fps_label.text() == "30 fps"
    view.show_all()
    doc.set_frame(250)
    qtbot.wait(20)
    wait_idle(qtbot, doc)
    before_mask, before_3d = doc.mask, doc.result.poses_3d.copy()
    commands = doc.undo_stack.count()
    vp = view.graphics.viewport()
    _drag(qtbot, vp, [view.cell_pos(LS, 60), view.cell_pos(LS, 75), view.cell_pos(LE, 89)])
    assert doc.undo_stack.count() == commands + 1
    changed = {tuple(map(int, c)) for c in np.argwhere(doc.mask.user != before_mask.user)}
    assert changed == {(f, j) for f in range(60, 90) for j in (LS, LE)}
    qtbot.waitUntil(lambda: _final(doc), timeout=30000)
    after_mask, after_3d = doc.mask, doc.result.poses_3d.copy()
    assert np.abs(after_3d[60:90, LE] - before_3d[60:90, LE]).max() > 1e-3
    wait_idle(qtbot, doc)
    window.undo_action.trigger()
    assert doc.mask == before_mask
    np.testing.assert_array_equal(doc.result.poses_3d, before_3d)
    window.redo_action.trigger()
    assert doc.mask == after_mask
    np.testing.assert_array_equal(doc.result.poses_3d, after_3d)
    # The keyboard: Right steps one frame through the window's View menu action.
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=3000)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert doc.frame == 251
