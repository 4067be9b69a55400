"""2D view (pyqtgraph): the skeleton over the image extent (and the video frame, when there is one).

Seen joints are filled dots coloured by state; joints the model did not see are drawn where the model put them
(its completed 2D) as hollow markers with dashed bones, so its guesses look like guesses. Hovering a joint shows
its name, state and confidence; clicking toggles its mask over the scope chosen in the toolbar (this frame, the
selected frames, every frame); shift-drag draws a box that selects the joints inside it.

2D input is drawn in image coordinates (origin top-left, y down); a 3D input being completed is drawn as its
front view (x right, y up).
"""

from __future__ import annotations

import cv2
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QButtonGroup,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.document import Document
from app.services.video_frames import VideoFrames
from app.state import (
    FORCED,
    MISSING,
    SCOPE_ALL,
    SCOPE_FRAME,
    SCOPE_SELECTION,
    STATE_NAMES,
    VISIBLE,
)
from app.views.palette import SIDE_COLOURS, STATE_COLOURS
from mpm_core.sequence import PoseSequence2D
from mpm_core.skeleton import H36M_JOINTS, get_layout

JOINT_SIZE = 11
#: Width range (device pixels) of the video frames the view asks for: about its own width, never a full 4K frame.
VIDEO_MIN_WIDTH, VIDEO_MAX_WIDTH = 320, 1920
#: With a video, the skeleton of a new frame waits at most this long for its video frame (ms): then both change in
#: one repaint, in sync; a slow decoder never holds the skeleton back longer.
VIDEO_WAIT_MS = 40
SCOPES = ((SCOPE_FRAME, "This frame"), (SCOPE_SELECTION, "Selected frames"), (SCOPE_ALL, "All frames"))
_LAYOUT = get_layout("h36m17")
#: The skeleton's (parent, child) bones by the side of the child joint: ``(n, 2)`` int per side.
_SIDE_BONES = {
    side: np.array([(p, c) for p, c in _LAYOUT.bones if _LAYOUT.side(c) == side], np.int64).reshape(-1, 2)
    for side in SIDE_COLOURS
}


class _VideoImageItem(pg.ImageItem):
    """An ImageItem for ``(h, w, 3)`` uint8 RGB video frames: converted once per frame to Qt's native RGB32, so
    painting (a scaled blit, once or more per frame) converts nothing and no levels are applied."""

    def render(self) -> None:
        image = self.image
        if image is None or image.size == 0 or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            super().render()
            return
        h, w = image.shape[:2]
        self._bgra = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGRA)  # RGB32 bytes, little-endian
        self.qimage = QImage(self._bgra.data, w, h, 4 * w, QImage.Format.Format_RGB32)
        self._renderRequired = False
        self._unrenderable = False


class _BoxSelectViewBox(pg.ViewBox):
    """A ViewBox whose shift-drag draws a selection box (plain drags still pan)."""

    boxSelected = Signal(QRectF)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._box = pg.RectROI((0, 0), (1, 1), pen=pg.mkPen((120, 200, 255), width=1, style=Qt.PenStyle.DashLine))
        self._box.hide()
        self.addItem(self._box, ignoreBounds=True)

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802 (Qt naming)
        if ev.button() == Qt.MouseButton.LeftButton and ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            ev.accept()
            a, b = self.mapToView(ev.buttonDownPos()), self.mapToView(ev.pos())
            rect = QRectF(a, b).normalized()
            self._box.setPos(rect.topLeft())
            self._box.setSize(rect.size())
            self._box.show()
            if ev.isFinish():
                self._box.hide()
                self.boxSelected.emit(rect)
            return
        super().mouseDragEvent(ev, axis)


class Pose2DView(QWidget):
    """The 2D view with its scope switch. Reads the document; edits go through it."""

    def __init__(self, document: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.scope = SCOPE_FRAME
        self.viewbox = _BoxSelectViewBox()
        self.plot = pg.PlotWidget(viewBox=self.viewbox)
        self.plot.setAspectLocked(True)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setBackground((28, 30, 34))
        # The axes draw the grid over the whole view: cached as pixmaps, a frame's repaint under the moving skeleton
        # is a blit instead of replaying every grid line (they change only when the view pans or zooms).
        for name in ("left", "bottom"):
            self.plot.getPlotItem().getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

        self.image_item = _VideoImageItem(axisOrder="row-major")  # the video frame, when a video is paired
        self.image_item.setZValue(-20)
        self.plot.addItem(self.image_item)
        self.frame_rect = pg.PlotDataItem(pen=pg.mkPen((110, 110, 120), width=1))
        self.frame_rect.setZValue(-10)
        self.plot.addItem(self.frame_rect)
        self.bone_items: dict[str, pg.PlotCurveItem] = {}
        self.guess_bone_items: dict[str, pg.PlotCurveItem] = {}
        for side, colour in SIDE_COLOURS.items():
            # Plain curves (not PlotDataItems): a frame sets a handful of points, without PlotDataItem's bookkeeping.
            solid = pg.PlotCurveItem(pen=pg.mkPen(colour, width=3), connect="pairs")
            dashed = pg.PlotCurveItem(pen=pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine), connect="pairs")
            self.plot.addItem(solid)
            self.plot.addItem(dashed)
            self.bone_items[side], self.guess_bone_items[side] = solid, dashed
        # The joints' palette, made once (see _redraw): seen joints filled, guesses hollow with a wider ring.
        self._joint_brushes = {state: pg.mkBrush(colour) for state, colour in STATE_COLOURS.items()}
        self._hollow_brush = pg.mkBrush(None)
        self._joint_pens = {
            (state, seen): pg.mkPen(colour, width=1 if seen else 2.5)
            for state, colour in STATE_COLOURS.items()
            for seen in (True, False)
        }
        self.joint_item = pg.ScatterPlotItem(size=JOINT_SIZE, hoverable=True, tip=self._tip)
        self.joint_item.setZValue(10)
        self.plot.addItem(self.joint_item)
        self.selection_item = pg.ScatterPlotItem(
            size=JOINT_SIZE + 9, brush=None, pen=pg.mkPen((120, 200, 255), width=2), symbol="s"
        )
        self.selection_item.setZValue(9)
        self.plot.addItem(self.selection_item)
        self.joint_item.sigClicked.connect(self._on_click)
        self.viewbox.boxSelected.connect(self._on_box)

        toolbar = QHBoxLayout()
        hint = QLabel("Click hides/shows in:")
        hint.setToolTip(
            "Click a joint to hide it from the model (or show it again) in this frame, the selected frames or all "
            "frames; click a low-confidence joint to force it visible; shift-drag to select joints"
        )
        toolbar.addWidget(hint)
        self.scope_group = QButtonGroup(self)
        self.scope_buttons: dict[str, QRadioButton] = {}
        for key, text in SCOPES:
            button = QRadioButton(text)
            button.setChecked(key == self.scope)
            button.toggled.connect(lambda on, k=key: on and self.set_scope(k))
            self.scope_group.addButton(button)
            self.scope_buttons[key] = button
            toolbar.addWidget(button)
        self.info_label = QLabel("")
        self.info_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # narrow screens
        self.info_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        toolbar.addWidget(self.info_label, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(toolbar)
        layout.addWidget(self.plot, 1)

        self.shown_video_frame: int | None = None
        self._image_rect = QRectF()
        self._image_shape: tuple[int, int] = (0, 0)
        self._prefetched: tuple[int, np.ndarray, tuple] | None = None  # (video frame, rgb, size) shown next
        # With a video, a frame change redraws the skeleton when its video frame arrives (one repaint with both,
        # in sync), or after VIDEO_WAIT_MS when the decoder is slow.
        self._skeleton_pending = False
        self._video_wait = QTimer(self)
        self._video_wait.setSingleShot(True)
        self._video_wait.setInterval(VIDEO_WAIT_MS)
        self._video_wait.timeout.connect(self._redraw)
        self._points = np.zeros((17, 2), np.float32)
        self._states = np.zeros(17, np.int8)
        document.inputChanged.connect(self._on_input)
        document.frameChanged.connect(self._on_frame)
        document.maskChanged.connect(self._on_rows_changed)
        document.resultChanged.connect(self._on_rows_changed)
        document.probeChanged.connect(self._on_input)
        document.selectionChanged.connect(self._redraw)
        document.maskChanged.connect(self._update_info)
        document.inputChanged.connect(self._update_info)
        # The video under the skeleton: decoded on its own worker, requested for the current frame.
        self.video = VideoFrames(self)
        self.video.frameReady.connect(self._on_video_frame)
        self.video.failed.connect(lambda msg: document.statusMessage.emit(msg))
        # The skeleton waits for video frames only while the video decodes (a broken one never holds it back).
        self._video_ok = False
        self.video.opened.connect(lambda *_args: setattr(self, "_video_ok", True))
        self.video.failed.connect(lambda *_args: setattr(self, "_video_ok", False))
        document.frameChanged.connect(self._request_video_frame)

    # -- what is drawn --------------------------------------------------------------------------------------------
    def set_scope(self, scope: str) -> None:
        self.scope = scope
        button = self.scope_buttons[scope]
        if not button.isChecked():
            button.setChecked(True)

    def set_background_image(self, rgb: np.ndarray | None, extent: tuple[int, int] | None = None) -> None:
        """Show an ``(h, w, 3)`` uint8 image under the skeleton (pixel (0, 0) at the top-left), stretched over
        ``extent`` = (W, H) image pixels (default: its own size), or none."""
        if rgb is None:
            self.image_item.clear()
            self._image_rect = QRectF()
            self.shown_video_frame = None
            return
        w, h = extent if extent is not None else (rgb.shape[1], rgb.shape[0])
        self.image_item.setImage(rgb, autoLevels=False)
        rect = QRectF(0, 0, w, h)
        if rect != self._image_rect or rgb.shape[:2] != self._image_shape:
            self.image_item.setRect(rect)  # a geometry change repaints everything under it: only when it changes
            self._image_rect, self._image_shape = rect, rgb.shape[:2]

    # -- the video -------------------------------------------------------------------------------------------------
    def video_frame_of(self, frame: int) -> int | None:
        """The video frame shown with sequence row ``frame`` (None without a video)."""
        data = self.document.input
        if data is None or data.video is None or data.kind != "2d":
            return None
        return int(data.sequence.start_frame) + int(frame)

    def _request_video_frame(self, *_args) -> None:
        index = self.video_frame_of(self.document.frame)
        if index is None:
            return
        ready = self._prefetched
        self._prefetched = None
        if ready is not None and ready[0] == index:  # decoded while the previous frame was up: show it now
            self._on_video_frame(*ready)
            return
        self.video.request(index, self._video_width())

    def _video_width(self) -> int:
        width = int(self.plot.width() * self.devicePixelRatioF())
        return min(max(width, VIDEO_MIN_WIDTH), VIDEO_MAX_WIDTH)

    def _on_video_frame(self, index: int, rgb: np.ndarray, size: tuple) -> None:
        current = self.video_frame_of(self.document.frame)
        if current is not None and index == current + 1 and index != self.shown_video_frame:
            self._prefetched = (index, rgb, size)  # the next frame, asked for ahead: kept until it is due
            return
        self.set_background_image(rgb, (int(size[0]), int(size[1])))
        self.shown_video_frame = index
        if self._skeleton_pending and index == current:
            self._redraw()
        if index == current:
            # Ask for the next frame now: playing forward, it is decoded and scaled before it is due (the worker
            # serves the newest request, so a seek elsewhere simply replaces this one).
            self.video.request(index + 1, self._video_width())

    def _on_frame(self, frame: int) -> None:
        if self._video_ok and self.video_frame_of(frame) is not None:
            self._skeleton_pending = True
            self._video_wait.start()
        else:
            self._redraw()

    def _on_input_video(self) -> None:
        data = self.document.input
        video = data.video if data is not None and data.kind == "2d" else None
        if video != self.video.path:
            self._video_ok = False
            self._prefetched = None
        self.video.open(video)
        if video is None:
            self.set_background_image(None)
        else:
            self._request_video_frame()

    def _is_2d(self) -> bool:
        return self.document.input_2d() is not None

    def frame_points(self) -> tuple[np.ndarray, np.ndarray]:
        """``(17, 2)`` plotted joint positions of the current frame (the model's 2D where it hid a joint) and the
        ``(17,)`` state codes."""
        doc = self.document
        states = doc.states(doc.frame, doc.frame + 1)[0]
        seq2d = doc.input_2d()
        if seq2d is not None:
            xy = seq2d.keypoints[doc.frame].copy()
            completed = doc.completed_2d(doc.frame)
            if completed is not None and completed.shape == xy.shape:
                hidden = states != VISIBLE
                hidden &= states != FORCED
                xy[hidden] = completed[hidden]
            return xy, states
        pts = doc.input.h36m.keypoints[doc.frame]
        result = doc.result
        if result is not None and hasattr(result, "sequence") and result.num_frames == doc.num_frames:
            pts = result.sequence.keypoints[doc.frame]
        flip = 1.0 if doc.input.h36m.coords == "world" else -1.0
        return pts[:, :2] * np.array([1.0, flip], np.float32), states

    def _known(self, states: np.ndarray) -> np.ndarray:
        """Joints with a position to draw: every joint with an input position, and missing ones once the model has
        filled them in."""
        return (states != MISSING) | (self.document.result is not None)

    def _on_input(self) -> None:
        doc = self.document
        if doc.input is None:
            return
        self._on_input_video()
        seq2d = doc.input_2d()
        self.plot.getPlotItem().invertY(seq2d is not None or doc.input.kind == "2d")
        if seq2d is not None or doc.input.kind == "2d":
            seq = seq2d if seq2d is not None else doc.input.h36m
            w, h = seq.guess_image_size() if isinstance(seq, PoseSequence2D) else (1920, 1080)
            self.frame_rect.setData([0, w, w, 0, 0], [0, 0, h, h, 0])
            # Frame the person (every frame's visible joints) rather than the whole image: a small figure in a
            # wide shot stays readable; the image's outline shows where the frame is.
            pts = seq.keypoints[seq.visible]
            if len(pts):
                lo, hi = np.percentile(pts, 1, axis=0), np.percentile(pts, 99, axis=0)
                margin = 0.15 * float(max(hi - lo)) + 20.0
                x0, y0 = max(0.0, float(lo[0]) - margin), max(0.0, float(lo[1]) - margin)
                x1, y1 = min(float(w), float(hi[0]) + margin), min(float(h), float(hi[1]) + margin)
                self.plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)
            else:
                self.plot.setRange(xRange=(0, w), yRange=(0, h), padding=0.02)
        else:
            seq = doc.input.h36m
            pts = seq.keypoints[seq.visible]
            self.frame_rect.setData([], [])
            if len(pts):
                # Python floats: pyqtgraph's range checks overflow on float32 scalars.
                lo, hi = pts[:, :2].min(axis=0).tolist(), pts[:, :2].max(axis=0).tolist()
                flip = 1.0 if seq.coords == "world" else -1.0
                ys = sorted((lo[1] * flip, hi[1] * flip))
                self.plot.setRange(xRange=(lo[0], hi[0]), yRange=tuple(ys), padding=0.1)
        self._redraw()

    def _on_rows_changed(self, lo: int, hi: int) -> None:
        if lo <= self.document.frame < hi or hi <= lo:
            self._redraw()

    def _redraw(self, *_args) -> None:
        self._skeleton_pending = False
        self._video_wait.stop()
        doc = self.document
        if doc.input is None or doc.mask is None:
            return
        xy, states = self.frame_points()
        self._points, self._states = xy, states
        drawn = self._known(states) & np.isfinite(xy).all(axis=1)
        seen = (states == VISIBLE) | (states == FORCED)
        for side, bones in _SIDE_BONES.items():
            parent, child = bones[:, 0], bones[:, 1]
            both = drawn[parent] & drawn[child]
            solid = both & seen[parent] & seen[child]
            for item, keep in ((self.bone_items[side], solid), (self.guess_bone_items[side], both & ~solid)):
                ends = bones[keep].reshape(-1)  # (2 * bones,) parent, child, parent, child...
                item.setData(xy[ends, 0], xy[ends, 1])
        # One point per drawn joint, its brush and pen from a fixed palette: the same objects every frame, so the
        # scatter's symbol atlas (keyed by object identity) never renders a symbol again during playback.
        idx = np.nonzero(drawn)[0]
        codes = [int(states[j]) for j in idx]
        self.joint_item.setData(
            pos=xy[idx],
            data=idx,
            brush=[self._joint_brushes[c] if seen[j] else self._hollow_brush for j, c in zip(idx, codes)],
            pen=[self._joint_pens[c, bool(seen[j])] for j, c in zip(idx, codes)],
            symbol="o",
        )
        sel = [j for j in doc.selected_joints if drawn[j]]
        self.selection_item.setData(xy[sel, 0], xy[sel, 1]) if sel else self.selection_item.setData([], [])

    def _update_info(self, *_args) -> None:
        """The hidden-joint counter (on mask changes only: it sums the whole mask)."""
        if self.document.mask is None:
            return
        hidden, frames = self.document.hidden_count()
        self.info_label.setText(f"hidden: {hidden} joint-frames in {frames} frames")

    # -- interaction ----------------------------------------------------------------------------------------------
    def _tip(self, x: float, y: float, data) -> str:
        j = int(data)
        state = STATE_NAMES[int(self._states[j])]
        seq2d = self.document.input_2d()
        score = ""
        if seq2d is not None:
            score = f", confidence {float(seq2d.scores[self.document.frame, j]):.2f}"
        return f"{H36M_JOINTS[j]}: {state}{score}"

    def _on_click(self, _item, points, _ev) -> None:
        if len(points):
            self.document.toggle_joint(int(points[0].data()), self.scope)

    def _on_box(self, rect: QRectF) -> None:
        inside = [
            j
            for j in range(len(self._points))
            if self._known(self._states)[j] and rect.contains(QPointF(*map(float, self._points[j])))
        ]
        self.document.set_selection(joints=inside)

    def joint_at_pixel(self, j: int):
        """Where joint ``j`` of the current frame is drawn: a ``QPoint`` in ``self.plot.viewport()`` pixels (what a
        mouse click there hits)."""
        if self._skeleton_pending:  # the current frame's skeleton, even before its video frame came
            self._redraw()
        scene_pos = self.viewbox.mapViewToScene(QPointF(*map(float, self._points[j])))
        return self.plot.mapFromScene(scene_pos)
