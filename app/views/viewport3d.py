"""3D viewport (vispy ``SceneCanvas`` in a QWidget): the document's scene at the current frame.

Draws ``doc.scene`` (``mpm_core.engine.scene.Scene``, y up, metres): a floor grid at ``scene.floor_y``, bones
coloured by side (the performer's left blue, right red, centre grey), seen joints as filled dots and the model's
guesses (joints hidden by the user or for low confidence) as hollow rings in their state's colour with dashed,
translucent bones; the root's trail around the current frame; the reference as a translucent grey ghost (with
thin error lines to it in the virtual-camera mode). A turntable camera orbits (drag), zooms (wheel / right drag)
and pans (shift-drag); the toolbar resets it, follows the body, switches world / camera frame and the ghost.

A frame change only refills the visuals' buffers (``SkeletonVisuals.show_frame``) and asks for a repaint; the
scene's floor and trail are set once per scene.

Where OpenGL is a software renderer (Mesa's llvmpipe: virtual machines, Xvfb), the canvas draws offscreen (EGL) and
a raster widget shows its pixels (``app.views.offscreen_canvas``): a QOpenGLWidget would make Qt compose the whole
window through software OpenGL on every frame. ``canvas_widget`` is the widget shown either way (mouse events go
to it); ``draw_path`` says which ("offscreen" or "widget"); ``MPM_STUDIO_3D_DRAW`` overrides the choice.
"""

from __future__ import annotations

import logging
import time

import cv2
import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget
from vispy import scene

from app.document import Document
from app.state import LOW_CONFIDENCE, USER_HIDDEN, VISIBLE
from app.views.offscreen_canvas import (
    OffscreenCanvasWidget,
    choose_draw_path,
    egl_app,
    release_egl,
    release_qt_context,
)
from app.views.viewport3d_visuals import (
    BACKGROUND,
    GHOST_COLOUR,
    NUM_JOINTS,
    SIDE_COLOURS,
    STATE_COLOURS,
    FrameData,
    SkeletonVisuals,
)
from mpm_core.skeleton import H36M_JOINTS

PELVIS = H36M_JOINTS.index("pelvis")

log = logging.getLogger(__name__)

#: The default view: a three-quarter view from the input camera's side, a little from above (degrees).
VIEW_AZIMUTH_OFFSET = 25.0
VIEW_ELEVATION = 12.0
FIELD_OF_VIEW = 40.0
#: Follow the body by default: a walk stays in view (and in a recorded video) without touching the camera.
DEFAULT_FOLLOW = True
#: reset_camera frames this much more than the body's largest extent (and at least this many metres: a seated or
#: crouching body, under a metre tall, still fills the view; a degenerate one is not zoomed into).
FRAME_MARGIN = 1.4
MIN_FRAMED_M = 1.0


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


#: Pixels between the canvas' corner and the colour key drawn over it.
LEGEND_MARGIN = 6


class Viewport3D(QWidget):
    """The 3D view of a ``Document``. ``canvas`` is the vispy ``SceneCanvas``."""

    #: Emitted from the canvas' draw event: the frame drawn and ``time.perf_counter()``.
    frameDrawn = Signal(int, float)

    def __init__(self, document: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.canvas, self.canvas_widget, self.draw_path = self._make_canvas()
        self.view = self.canvas.central_widget.add_view()
        self.camera = scene.cameras.TurntableCamera(
            up="+y", fov=FIELD_OF_VIEW, elevation=VIEW_ELEVATION, azimuth=0.0, scale_factor=3.0
        )
        self.view.camera = self.camera
        self.visuals = SkeletonVisuals(self.view.scene)
        self.visuals.clear()
        self.follow = DEFAULT_FOLLOW
        self.drawn_frame = -1
        self._scene_coords: str | None = None
        self._needs_reset = True
        self.canvas.events.draw.connect(self._on_draw, position="last")
        self.canvas.events.mouse_double_click.connect(lambda _event: self.reset_camera())

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self._build_toolbar())
        layout.addWidget(self.canvas_widget, 1)
        self.legend.raise_()
        self.canvas_widget.setMinimumSize(120, 120)

        document.inputChanged.connect(self._on_input)
        document.sceneChanged.connect(self._on_scene)
        document.frameChanged.connect(self._on_frame)
        document.maskChanged.connect(self._on_rows_changed)
        document.resultChanged.connect(self._on_rows_changed)
        document.settingsChanged.connect(self._on_setting)
        if document.scene is not None:
            self._on_scene()

    @staticmethod
    def _make_canvas() -> tuple[scene.SceneCanvas, QWidget, str]:
        """The canvas, the widget that shows it and the path's name (see the module's doc)."""
        bgcolor = np.array(BACKGROUND) / 255.0
        if choose_draw_path() == "offscreen":
            try:
                release_qt_context()  # the canvas makes its EGL context current as it is made
                canvas = scene.SceneCanvas(keys=None, show=False, bgcolor=bgcolor, app=egl_app(), size=(640, 480))
                return canvas, OffscreenCanvasWidget(canvas), "offscreen"
            except Exception:  # a driver without pbuffers: the QOpenGLWidget still works
                log.exception("offscreen 3D drawing failed; using a QOpenGLWidget")
        canvas = scene.SceneCanvas(keys=None, show=False, bgcolor=bgcolor, app="pyside6")
        return canvas, canvas.native, "widget"

    # -- toolbar ----------------------------------------------------------------------------------------------------
    def _button(self, text: str, tip: str, checkable: bool = False) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setCheckable(checkable)
        button.setAutoRaise(True)
        return button

    def _build_toolbar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        self.reset_button = self._button(
            "Reset view",
            "Frame the body and the floor (or double-click the view)\n"
            "Drag: orbit · wheel or right-drag: zoom · shift-drag: pan",
        )
        self.reset_button.clicked.connect(self.reset_camera)
        self.follow_button = self._button("Follow", "Keep the body centred as it moves", checkable=True)
        self.follow_button.setChecked(self.follow)
        self.follow_button.toggled.connect(self.set_follow)
        self.world_button = self._button("World", "World frame: floor, global path (what a world export writes)", True)
        self.camera_button = self._button("Camera", "Camera frame: root-relative, as the model sees it", True)
        self.coords_group = QButtonGroup(self)
        self.coords_group.setExclusive(True)
        for button, coords in ((self.world_button, "world"), (self.camera_button, "camera")):
            self.coords_group.addButton(button)
            button.clicked.connect(lambda _checked=False, c=coords: self.document.set_setting("coords", c))
        self.ghost_button = self._button("Ghost", "Show the reference (truth) as a grey ghost", checkable=True)
        self.ghost_button.setChecked(True)
        self.ghost_button.toggled.connect(self.set_ghost_visible)
        self.trail_button = self._button("Trail", "Show the root's path around the current frame", checkable=True)
        self.trail_button.setChecked(True)
        self.trail_button.toggled.connect(self._set_trail_visible)
        for widget in (
            self.reset_button,
            self.follow_button,
            self.world_button,
            self.camera_button,
            self.ghost_button,
            self.trail_button,
        ):
            bar.addWidget(widget)
        # The key: guesses look like guesses.
        items = (
            (SIDE_COLOURS["L"], "━ left"),
            (SIDE_COLOURS["R"], "━ right"),
            (STATE_COLOURS[VISIBLE], "● seen"),
            (STATE_COLOURS[USER_HIDDEN], "○ hidden by you"),
            (STATE_COLOURS[LOW_CONFIDENCE], "○ low confidence"),
            (GHOST_COLOUR, "━ reference"),
        )
        legend = " ".join(
            f"<span style='color:{_hex(colour)}'>{text.replace(' ', '&nbsp;')}</span>" for colour, text in items
        )
        self.legend = QLabel(legend)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        # On the canvas' own dark background: the key's colours are the drawing's colours.
        self.legend.setStyleSheet(f"QLabel {{ background: {_hex(BACKGROUND)}; padding: 1px 6px; border-radius: 3px; }}")
        self.legend.setToolTip("Hollow rings and dashed bones: where the model put joints it did not see")
        # An overlay in the canvas' top-left corner (placed by resizeEvent), so the toolbar stays narrow.
        self.legend.setParent(self)
        self.legend.adjustSize()
        bar.addStretch(1)
        self.info_label = QLabel("")
        self.info_label.setToolTip("This frame's error against the truth (root-aligned, the virtual camera's frame)")
        bar.addWidget(self.info_label)
        self._sync_coords_buttons()
        return bar

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self._place_legend()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().showEvent(event)
        self._place_legend()

    def _place_legend(self) -> None:
        """The key over the canvas' top-left corner; hidden when the canvas is too small to hold it."""
        area = self.canvas_widget.geometry()
        self.legend.move(area.left() + LEGEND_MARGIN, area.top() + LEGEND_MARGIN)
        self.legend.setVisible(self.legend.width() + 2 * LEGEND_MARGIN <= area.width())

    def _sync_coords_buttons(self) -> None:
        coords = self.document.settings.coords
        (self.world_button if coords == "world" else self.camera_button).setChecked(True)

    # -- public -----------------------------------------------------------------------------------------------------
    def set_follow(self, on: bool) -> None:
        """Keep the body centred (the camera's centre moves with the pelvis) while on."""
        self.follow = bool(on)
        if self.follow_button.isChecked() != self.follow:
            self.follow_button.setChecked(self.follow)
        if self.follow:
            self._follow(self.document.frame)
            self.canvas.update()

    def set_ghost_visible(self, on: bool) -> None:
        """Show or hide the reference ghost (when the scene has one)."""
        if self.ghost_button.isChecked() != bool(on):
            self.ghost_button.setChecked(bool(on))
        self.visuals.set_ghost_enabled(on)
        self.refresh()

    def _set_trail_visible(self, on: bool) -> None:
        self.visuals.trail_enabled = bool(on)
        self.refresh()

    def reset_camera(self) -> None:
        """Frame the body of the current frame standing on the floor, seen from the input camera's side."""
        scn = self.document.scene
        if scn is None:
            return
        frame = min(self.document.frame, scn.num_frames - 1)
        pts = scn.poses[frame]
        pts = pts[np.isfinite(pts).all(axis=1)]
        if not len(pts):
            finite = scn.poses[np.isfinite(scn.poses).all(axis=-1)]
            pts = finite if len(finite) else np.zeros((1, 3), np.float32)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        floor = float(scn.floor_y)
        bottom, top = min(floor, float(lo[1])), float(hi[1])
        centre = ((lo[0] + hi[0]) / 2.0, (bottom + top) / 2.0, (lo[2] + hi[2]) / 2.0)
        extent = max(top - bottom, float(hi[0] - lo[0]), float(hi[2] - lo[2]))
        self.camera.center = tuple(float(c) for c in centre)
        self.camera.scale_factor = max(extent * FRAME_MARGIN, MIN_FRAMED_M)
        self.camera.elevation = VIEW_ELEVATION
        self.camera.azimuth = self._input_camera_azimuth(scn) + VIEW_AZIMUTH_OFFSET
        self._needs_reset = False
        self.canvas.update()

    def refresh(self) -> None:
        """Redraw the current frame (after a recording drew other frames)."""
        self._show(self.document.frame)

    def render(self) -> np.ndarray:
        """The canvas rendered offscreen: ``(H, W, 4)`` uint8 RGBA, physical pixels (logical x pixel ratio)."""
        return self._render_canvas()

    def _render_canvas(self) -> np.ndarray:
        try:
            return self.canvas.render()
        finally:
            if self.draw_path == "offscreen":
                release_egl()

    def render_frame(self, frame: int, size: tuple[int, int]) -> np.ndarray:
        """Frame ``frame`` rendered offscreen and scaled to ``size`` (W, H) pixels: ``(H, W, 4)`` uint8 RGBA.

        The canvas is rendered at its own resolution (vispy's ``render(size=...)`` does not scale a ViewBox's
        viewport), cropped to the size's aspect around its centre and resampled. The document's frame does not
        change (``refresh`` shows the current frame again)."""
        self._show(frame, update=False)
        w, h = self.canvas.size
        aspect = size[0] / size[1]
        zoom = 1.0
        if h <= w < h * aspect:
            # The crop drops some height; the camera's zoom is set by the height here: zoom out to keep it.
            zoom = h * aspect / w
        scale_factor = self.camera.scale_factor
        self.camera.scale_factor = scale_factor * zoom
        try:
            img = self._render_canvas()
        finally:
            self.camera.scale_factor = scale_factor
        h, w = img.shape[:2]
        cw, ch = (int(round(h * aspect)), h) if w / h > aspect else (w, int(round(w / aspect)))
        x0, y0 = (w - cw) // 2, (h - ch) // 2
        crop = img[y0 : y0 + ch, x0 : x0 + cw]
        interpolation = cv2.INTER_AREA if cw > size[0] else cv2.INTER_LINEAR
        return cv2.resize(crop, tuple(size), interpolation=interpolation)

    def project_joints(self, frame: int | None = None) -> np.ndarray:
        """``(17, 2)`` canvas coordinates (logical pixels, x right, y down) of the skeleton drawn for ``frame``
        (default: the current frame) through the scene graph's transforms; NaN for joints not drawn."""
        out = np.full((NUM_JOINTS, 2), np.nan)
        scn = self.document.scene
        frame = self.document.frame if frame is None else int(frame)
        if scn is None or not 0 <= frame < scn.num_frames:
            return out
        pts = scn.poses[frame].astype(np.float64)
        ok = np.isfinite(pts).all(axis=1)
        if not ok.any():
            return out
        transform = self.visuals.joints.get_transform("visual", "canvas")
        mapped = np.asarray(transform.map(pts[ok]))
        w = mapped[:, 3:4]
        xy = np.where(w > 0, mapped[:, :2] / np.where(w > 0, w, 1.0), np.nan)
        out[ok] = xy
        return out

    # -- document signals -------------------------------------------------------------------------------------------
    def _on_input(self) -> None:
        self._needs_reset = True
        self.visuals.clear()
        self.info_label.setText("")
        self.canvas.update()

    def _on_scene(self) -> None:
        scn = self.document.scene
        if scn is None:
            self.visuals.clear()
            self.canvas.update()
            return
        fps = self.document.input.fps if self.document.input is not None else 30.0
        self.visuals.set_scene(scn.trail, scn.floor_y, fps, scn.reference is not None)
        self.ghost_button.setEnabled(scn.reference is not None)
        if scn.coords != self._scene_coords:
            self._needs_reset = True
            self._scene_coords = scn.coords
        self.world_button.setToolTip(
            "World frame: floor, global path (what a world export writes)"
            + (f"\nfloor: {scn.floor_method}" if scn.floor_method and scn.coords == "world" else "")
        )
        if self._needs_reset:
            self.reset_camera()
        self._show(self.document.frame)

    def _on_frame(self, frame: int) -> None:
        self._show(frame)

    def _on_rows_changed(self, lo: int, hi: int) -> None:
        if lo <= self.document.frame < hi or hi <= lo:
            self._show(self.document.frame)

    def _on_setting(self, key: str) -> None:
        if key == "coords":
            self._sync_coords_buttons()

    # -- drawing ----------------------------------------------------------------------------------------------------
    def _show(self, frame: int, update: bool = True) -> None:
        doc, scn = self.document, self.document.scene
        if scn is None or not 0 <= frame < scn.num_frames:
            return
        mask = doc.mask
        if mask is not None and mask.num_frames == scn.num_frames:
            states = doc.states(frame, frame + 1)[0]
        else:
            states = np.zeros(NUM_JOINTS, np.int8)
        ghost = scn.reference[frame] if scn.reference is not None else None
        errors = scn.errors.joint_error_mm[frame] if scn.errors is not None else None
        self.visuals.show_frame(frame, FrameData(scn.poses[frame], states, ghost, errors))
        if self.follow:
            self._follow(frame)
        self.drawn_frame = frame
        if scn.errors is not None:
            error = scn.errors.per_frame_mm[frame]
            text = f"frame MPJPE {error:.0f} mm" if np.isfinite(error) else "frame MPJPE: no truth"
            if text != self.info_label.text():
                self.info_label.setText(text)
        elif self.info_label.text():
            self.info_label.setText("")
        if update:
            self.canvas.update()

    def _follow(self, frame: int) -> None:
        scn = self.document.scene
        if scn is None or not 0 <= frame < scn.num_frames:
            return
        root = scn.poses[frame, PELVIS]
        if np.isfinite(root).all():
            centre = self.camera.center
            self.camera.center = (float(root[0]), float(centre[1]), float(root[2]))

    def _input_camera_azimuth(self, scn) -> float:
        """The turntable azimuth that looks along the input camera's horizontal direction (its z axis mapped
        into the display frame by the scene's own camera-to-display rotation)."""
        forward = np.array([0.0, 0.0, 1.0])
        if scn.rotation is not None:
            forward = np.asarray(scn.rotation, np.float64) @ forward
        else:  # no placement (3D input): the display frame's own -z, as the camera frame is turned
            forward = np.array([0.0, 0.0, -1.0])
        # With up +y the turntable looks along (cos az, 0, -sin az): azimuth 0 along +x, 90 along -z.
        return float(np.degrees(np.arctan2(-forward[2], forward[0])))

    def _on_draw(self, _event) -> None:
        self.frameDrawn.emit(self.drawn_frame, time.perf_counter())
