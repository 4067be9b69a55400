"""The 3D viewport under Xvfb (Mesa renders real pixels): the skeleton where its joints project, guesses drawn as
guesses, the ghost, the world / camera toggle, the camera, frameDrawn, and the MP4 export of the view."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt, QTimer  # noqa: E402
from PySide6.QtGui import QMouseEvent, QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog, QWidget  # noqa: E402

from app.state import USER_HIDDEN, VISIBLE  # noqa: E402
from app.views.viewport3d import Viewport3D  # noqa: E402
from app.views.viewport3d_visuals import BACKGROUND, SIDE_COLOURS, STATE_COLOURS  # noqa: E402
from mpm_core.skeleton import H36M_JOINTS  # noqa: E402
from tests.conftest import wait_idle  # noqa: E402

pytestmark = [
    pytest.mark.gui,
    # vispy's Qt backend reads QMouseEvent.pos(), deprecated in Qt 6.
    pytest.mark.filterwarnings("ignore:Function.*QMouseEvent.pos:DeprecationWarning"),
]
LW = H36M_JOINTS.index("left_wrist")
LE = H36M_JOINTS.index("left_elbow")
PELVIS = H36M_JOINTS.index("pelvis")
#: Colours of a seen skeleton: joint fill and the three bone colours.
SKELETON_RGB = [STATE_COLOURS[VISIBLE], *SIDE_COLOURS.values()]
TOLERANCE = 40  # per channel: antialiased edges blend with what is behind them


def _near(img: np.ndarray, rgb, tol: int = TOLERANCE) -> np.ndarray:
    """``(H, W)`` bool: pixels within ``tol`` of ``rgb`` on every channel."""
    return (np.abs(img[..., :3].astype(np.int16) - np.array(rgb, np.int16)) <= tol).all(axis=-1)


def _skeleton_mask(img: np.ndarray) -> np.ndarray:
    return np.logical_or.reduce([_near(img, c) for c in SKELETON_RGB])


def _patch(mask: np.ndarray, xy, radius: int) -> np.ndarray:
    x, y = int(round(xy[0])), int(round(xy[1]))
    return mask[max(0, y - radius) : y + radius + 1, max(0, x - radius) : x + radius + 1]


def _assert_joints_drawn(vp: Viewport3D, img: np.ndarray, scale: float) -> None:
    """Every joint drawn shows its colour at its projected position: seen joints a skeleton colour, the model's
    guesses their state's ring colour."""
    doc = vp.document
    states = doc.states(doc.frame, doc.frame + 1)[0]
    pts = vp.project_joints() * scale
    assert np.isfinite(pts).all()
    skeleton = _skeleton_mask(img)
    for j in range(len(H36M_JOINTS)):
        seen = states[j] == VISIBLE
        mask = skeleton if seen else _near(img, STATE_COLOURS[int(states[j])])
        radius = 3 if seen else int(round(9 * scale))
        assert _patch(mask, pts[j], radius).any(), f"nothing drawn at {H36M_JOINTS[j]} {pts[j]} (state {states[j]})"
    assert (states == VISIBLE).sum() >= 10


def _render(vp: Viewport3D, qtbot) -> tuple[np.ndarray, float]:
    """The canvas rendered, and physical pixels per logical pixel."""
    qtbot.wait(10)
    img = vp.render()
    return img, img.shape[1] / vp.canvas.size[0]


@pytest.fixture
def viewport(qtbot, lifted_doc):
    """A bare ``Viewport3D`` on the lifted OpenPose example, shown and drawn."""
    vp = Viewport3D(lifted_doc)
    qtbot.addWidget(vp)
    vp.resize(900, 700)
    vp.show()
    qtbot.waitExposed(vp)
    wait_idle(qtbot, lifted_doc)
    lifted_doc.set_frame(40)
    qtbot.waitUntil(lambda: vp.drawn_frame == 40, timeout=5000)
    vp.reset_camera()
    return vp


def test_skeleton_is_drawn_where_its_joints_project_and_nowhere_else(viewport, qtbot):
    img, scale = _render(viewport, qtbot)
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 4
    _assert_joints_drawn(viewport, img, scale)
    pts = viewport.project_joints() * scale
    skeleton = _skeleton_mask(img)
    # Upright: the head above the pelvis and above the ankles on screen (y down). (She sits cross-legged: her ankles
    # are tucked in at her pelvis's height, so the pelvis need not be above them.)
    head, ankles = pts[H36M_JOINTS.index("head"), 1], pts[[3, 6], 1]
    assert head < pts[PELVIS, 1] and head < ankles.min()
    # Away from the body there is no skeleton colour: only background and floor.
    lo, hi = np.nanmin(pts, axis=0) - 15 * scale, np.nanmax(pts, axis=0) + 15 * scale
    ys, xs = np.nonzero(skeleton)
    inside = (xs >= lo[0]) & (xs <= hi[0]) & (ys >= lo[1]) & (ys <= hi[1])
    assert inside.mean() > 0.99 and len(xs) > 300
    far = (int(pts[PELVIS, 0] + (hi[0] - lo[0])), int(pts[PELVIS, 1]))  # one body width to the side
    assert not _patch(skeleton, far, 5).any()
    corner = img[5, 5, :3].astype(int)
    assert np.abs(corner - np.array(BACKGROUND)).max() <= 8  # the top is sky: the background colour


def test_a_joint_hidden_by_the_user_is_drawn_as_a_hollow_guess(viewport, qtbot):
    doc = viewport.document
    assert doc.states(40, 41)[0, LW] == VISIBLE
    img, scale = _render(viewport, qtbot)
    hidden_rgb = STATE_COLOURS[USER_HIDDEN]
    pts = viewport.project_joints() * scale
    ring = int(round(10 * scale))
    assert not _patch(_near(img, hidden_rgb), pts[LW], ring).any()
    forearm = np.linspace(pts[LE], pts[LW], 12)[2:-2]  # points along the bone, away from its joints
    left = _near(img, SIDE_COLOURS["L"])
    solid_before = np.mean([_patch(left, p, 1).any() for p in forearm])

    doc.toggle_joint(LW, "frame")
    assert doc.states(40, 41)[0, LW] == USER_HIDDEN
    img, scale = _render(viewport, qtbot)
    pts = viewport.project_joints() * scale
    orange = _near(img, hidden_rgb)
    assert _patch(orange, pts[LW], ring).sum() >= 6, "no ring in the 'hidden by you' colour at the wrist"
    # Hollow: the ring's middle is not filled with its colour, nor with the seen joints' white.
    assert not _patch(orange, pts[LW], 1).all()
    assert not _patch(_near(img, STATE_COLOURS[VISIBLE]), pts[LW], 1).any()
    # The bone into the guess is dashed and translucent: far fewer solid left-blue pixels along it.
    left = _near(img, SIDE_COLOURS["L"])
    solid_after = np.mean([_patch(left, p, 1).any() for p in np.linspace(pts[LE], pts[LW], 12)[2:-2]])
    assert solid_before >= 0.75 and solid_after <= 0.25
    wait_idle(qtbot, doc)  # let the re-lift land before the fixture stops the service


def test_frame_drawn_fires_with_the_current_frame(viewport, qtbot):
    doc = viewport.document
    with qtbot.waitSignal(viewport.frameDrawn, timeout=5000, check_params_cb=lambda f, t: f == 77) as blocker:
        doc.set_frame(77)
    frame, t = blocker.args
    assert frame == 77 and isinstance(t, float) and t > 0


def test_reset_camera_frames_the_skeleton_and_follow_keeps_it_centred(viewport, qtbot):
    doc = viewport.document
    viewport.camera.scale_factor = 0.3  # zoomed far in, looking somewhere else
    viewport.camera.center = (40.0, 3.0, -25.0)
    viewport.camera.azimuth = 170.0
    qtbot.wait(10)
    w, h = viewport.canvas.size
    pts = viewport.project_joints()
    inside = np.isfinite(pts).all(axis=1) & (pts[:, 0] > 0) & (pts[:, 0] < w) & (pts[:, 1] > 0) & (pts[:, 1] < h)
    assert not inside.all()
    viewport.reset_camera()
    pts = viewport.project_joints()
    assert np.isfinite(pts).all()
    margin = 0.05 * min(w, h)
    assert (pts[:, 0] > margin).all() and (pts[:, 0] < w - margin).all()
    assert (pts[:, 1] > margin).all() and (pts[:, 1] < h - margin).all()
    assert np.ptp(pts[:, 1]) > 0.3 * h  # big enough to read (she sits: under a metre tall)

    viewport.set_follow(True)
    assert viewport.follow_button.isChecked()
    for frame in (5, 120):
        doc.set_frame(frame)
        qtbot.waitUntil(lambda f=frame: viewport.drawn_frame == f, timeout=5000)
        x = viewport.project_joints()[PELVIS, 0]
        assert abs(x - w / 2) < 0.05 * w


def test_world_camera_toggle_changes_the_drawn_scene(viewport, qtbot):
    doc = viewport.document
    assert doc.scene.coords == "world" and viewport.world_button.isChecked()
    before, scale = _render(viewport, qtbot)
    pose_world = doc.scene.poses[40].copy()
    with qtbot.waitSignal(doc.sceneChanged, timeout=30000):
        viewport.camera_button.click()
    qtbot.waitUntil(lambda: doc.scene.coords == "camera", timeout=30000)
    assert doc.settings.coords == "camera" and viewport.camera_button.isChecked()
    np.testing.assert_allclose(doc.scene.poses[40, PELVIS], 0.0, atol=1e-5)  # root-relative now
    assert np.abs(doc.scene.poses[40] - pose_world).max() > 0.1  # placed on the floor and turned -> around the pelvis
    after, scale = _render(viewport, qtbot)
    assert np.abs(after[..., :3].astype(int) - before[..., :3]).max(axis=-1).astype(bool).mean() > 0.05
    _assert_joints_drawn(viewport, after, scale)
    doc.undo_stack.undo()  # the toggle is an undoable display edit
    qtbot.waitUntil(lambda: doc.scene.coords == "world", timeout=30000)
    assert viewport.world_button.isChecked()


def test_no_reference_no_ghost(viewport):
    assert viewport.document.scene.reference is None
    assert not viewport.ghost_button.isEnabled() and not viewport.visuals.ghost.visible


def test_record_mp4_of_the_selected_frames(viewport, qtbot, tmp_path, monkeypatch):
    import cv2

    from app.services.recorder import VIDEO_SIZE, record_mp4

    errors: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: errors.append(text))
    doc = viewport.document
    doc.set_selection(frames=(10, 40))
    target = tmp_path / "walk.mp4"
    parent = QWidget()
    qtbot.addWidget(parent)
    record_mp4(parent, viewport, doc, target)
    assert not errors and target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["walk.mp4"]  # no temp file left
    cap = cv2.VideoCapture(str(target))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(bgr)
    cap.release()
    assert len(frames) == 30
    assert frames[0].shape == (VIDEO_SIZE[1], VIDEO_SIZE[0], 3)
    for bgr in (frames[0], frames[-1]):
        rgb = bgr[..., ::-1]
        assert rgb.std() > 5  # not blank
        assert _skeleton_mask(rgb).sum() > 200  # the skeleton is in it (lossy codec: loose colours)
    assert not np.array_equal(frames[0], frames[-1])  # it moves
    assert viewport.drawn_frame == doc.frame  # the view is back on the current frame


def test_cancelled_recording_leaves_no_file_and_failures_are_dialogs(viewport, qtbot, tmp_path, monkeypatch):
    from app.services import recorder
    from app.services.recorder import record_mp4

    errors: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: errors.append(text))
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.show()

    def cancel_after_a_few() -> None:
        dialog = parent.findChild(QProgressDialog)
        if dialog is not None and dialog.value() >= 3:
            dialog.cancel()
            timer.stop()

    timer = QTimer()
    timer.timeout.connect(cancel_after_a_few)
    timer.start(1)
    target = tmp_path / "cancelled.mp4"
    record_mp4(parent, viewport, viewport.document, target)
    timer.stop()
    assert not errors
    assert list(tmp_path.iterdir()) == []  # neither the video nor its temp file

    missing = tmp_path / "no_such_folder" / "x.mp4"
    record_mp4(parent, viewport, viewport.document, missing)
    assert len(errors) == 1 and str(missing) in errors[0]
    assert list(tmp_path.iterdir()) == []

    # No codec that works: a clear dialog naming the file, nothing written.
    monkeypatch.setattr(recorder, "FOURCCS", ("zzzz",))
    record_mp4(parent, viewport, viewport.document, target)
    assert len(errors) == 2 and str(target) in errors[1] and "codec" in errors[1]
    assert list(tmp_path.iterdir()) == []


# -- in the real window ---------------------------------------------------------------------------------------------
@pytest.fixture
def window(qtbot, loaded_model, app_env, monkeypatch):
    """The real main window on the bundled sample (with its truth as the reference), lifted and settled."""
    from app.main_window import AppConfig, MainWindow

    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: pytest.fail(f"{title}: {text}"))
    win = MainWindow(AppConfig(model=loaded_model, threads=1, autosave_s=0, recovery="discard", person="longest"))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.start()
    doc = win.document
    qtbot.waitUntil(lambda: doc.scene is not None and doc.committed is doc.result and not doc.busy, timeout=60000)
    yield win
    win.close()


def test_in_the_window_the_sample_is_drawn_with_its_ghost_and_the_ghost_toggles(window, qtbot):
    vp, doc = window.viewport, window.document
    assert isinstance(vp, Viewport3D) and vp.width() > 300 and vp.canvas.size[1] > 300
    with qtbot.waitSignal(vp.frameDrawn, timeout=5000, check_params_cb=lambda f, t: f == 150):
        doc.set_frame(150)
    assert doc.scene.reference is not None and vp.ghost_button.isEnabled() and vp.visuals.ghost.visible
    on, scale = _render(vp, qtbot)
    _assert_joints_drawn(vp, on, scale)

    vp.ghost_button.click()
    assert not vp.ghost_button.isChecked() and not vp.visuals.ghost.visible
    off, _ = _render(vp, qtbot)
    changed = np.abs(on[..., :3].astype(int) - off[..., :3]).max(axis=-1) > 12
    # The ghost's joints, through the ghost visual's own transform: what changed lies around them.
    transform = vp.visuals.ghost.get_transform("visual", "canvas")
    mapped = np.asarray(transform.map(doc.scene.reference[150].astype(np.float64)))
    ghost = mapped[:, :2] / mapped[:, 3:4] * scale
    ys, xs = np.nonzero(changed)
    assert len(xs) > 150
    lo, hi = ghost.min(axis=0) - 8 * scale, ghost.max(axis=0) + 8 * scale
    inside = (xs >= lo[0]) & (xs <= hi[0]) & (ys >= lo[1]) & (ys <= hi[1])
    assert inside.mean() > 0.98
    # Where the ghost stands apart from the lift, its joints are grey and vanish with the toggle.
    body = vp.project_joints() * scale
    apart = np.linalg.norm(ghost - body, axis=1) > 12 * scale
    assert apart.sum() >= 2
    # (A ghost joint may still lie under one of the lift's bones, which is drawn over it: most, not all.)
    vanished = [H36M_JOINTS[j] for j in np.nonzero(apart)[0] if _patch(changed, ghost[j], 3).any()]
    assert len(vanished) >= max(2, int(0.7 * apart.sum())), vanished

    vp.ghost_button.click()
    again, _ = _render(vp, qtbot)
    assert np.abs(again.astype(int) - on).max() <= 2


def _mouse(widget, kind: str, pos, buttons) -> None:
    """Send a mouse press / move / release (QTest cannot move with a button held in Qt 6)."""
    types = {
        "press": QEvent.Type.MouseButtonPress,
        "move": QEvent.Type.MouseMove,
        "release": QEvent.Type.MouseButtonRelease,
    }
    local = QPointF(*pos)
    button = Qt.MouseButton.NoButton if kind == "move" else Qt.MouseButton.LeftButton
    event = QMouseEvent(types[kind], local, widget.mapToGlobal(local), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def test_dragging_orbits_the_camera_and_the_wheel_zooms(viewport, qtbot):
    native, camera = viewport.canvas_widget, viewport.camera
    azimuth, scale = camera.azimuth, camera.scale_factor
    before = viewport.project_joints()
    held = Qt.MouseButton.LeftButton
    _mouse(native, "press", (300, 300), held)
    for x in range(310, 420, 10):
        _mouse(native, "move", (x, 300), held)
        qtbot.wait(5)
    _mouse(native, "release", (420, 300), Qt.MouseButton.NoButton)
    assert abs(camera.azimuth - azimuth) > 20
    assert np.abs(viewport.project_joints() - before).max() > 10  # the drawn skeleton turned with it
    qtbot.wait(10)
    centre = QPointF(300, 300)
    wheel = QWheelEvent(
        centre,
        native.mapToGlobal(centre),
        QPoint(0, 0),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(native, wheel)
    assert camera.scale_factor < scale  # wheel forward zooms in


def test_export_3d_view_as_mp4_from_the_window(window, qtbot, tmp_path, monkeypatch):
    import cv2
    from PySide6.QtWidgets import QFileDialog

    target = tmp_path / "sample.mp4"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), "MP4 video (*.mp4)"))
    window.document.set_selection(frames=(100, 112))
    window.export_video()
    cap = cv2.VideoCapture(str(target))
    assert cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    assert abs(cap.get(cv2.CAP_PROP_FPS) - window.document.input.fps) < 0.01
    ok, bgr = cap.read()
    cap.release()
    assert ok and _skeleton_mask(bgr[..., ::-1]).sum() > 200
    assert "Recorded 12 frames" in window.statusBar().currentMessage()


# -- how the canvas reaches the screen ------------------------------------------------------------------------------
def _grab(widget: QWidget) -> np.ndarray:
    """What ``widget`` shows, ``(H, W, 3)`` uint8 RGB."""
    from PySide6.QtGui import QImage

    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    arr = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes())
    rows = arr.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 3]
    return rows.reshape(image.height(), image.width(), 3).copy()  # a copy: the QImage's memory goes with it


def test_the_widget_shows_what_the_canvas_renders(viewport, qtbot):
    img, scale = _render(viewport, qtbot)
    shown = _grab(viewport.canvas_widget)
    assert shown.shape[:2] == img.shape[:2]
    differs = np.abs(shown.astype(int) - img[..., :3]).max(axis=-1) > 8
    assert differs.mean() < 0.002  # the same picture (the offscreen path reads the same pixels back)
    _assert_joints_drawn(viewport, np.dstack([shown, np.full(shown.shape[:2], 255, np.uint8)]), scale)


def test_software_opengl_draws_offscreen_and_the_window_composes_without_opengl(window):
    from PySide6.QtOpenGLWidgets import QOpenGLWidget

    from app.views.offscreen_canvas import is_software, qt_gl_renderer

    if not is_software(qt_gl_renderer()):
        pytest.skip(f"hardware OpenGL ({qt_gl_renderer()}): the QOpenGLWidget path is the right one here")
    vp = window.viewport
    assert vp.draw_path == "offscreen" and not isinstance(vp.canvas_widget, QOpenGLWidget)
    # One QOpenGLWidget anywhere would make Qt compose the whole window through (software) OpenGL every frame.
    assert window.findChildren(QOpenGLWidget) == []


def test_the_qopenglwidget_path_still_draws(qtbot, lifted_doc, monkeypatch):
    from PySide6.QtOpenGLWidgets import QOpenGLWidget

    monkeypatch.setenv("MPM_STUDIO_3D_DRAW", "widget")
    vp = Viewport3D(lifted_doc)
    qtbot.addWidget(vp)
    vp.resize(700, 600)
    vp.show()
    qtbot.waitExposed(vp)
    assert vp.draw_path == "widget" and isinstance(vp.canvas_widget, QOpenGLWidget)
    wait_idle(qtbot, lifted_doc)
    with qtbot.waitSignal(vp.frameDrawn, timeout=5000, check_params_cb=lambda f, t: f == 25):
        lifted_doc.set_frame(25)
    vp.reset_camera()
    img, scale = _render(vp, qtbot)
    _assert_joints_drawn(vp, img, scale)
