"""Timeline (pyqtgraph): a frame ruler with the playhead, the joints x frames mask heatmap, and the transport.

The heatmap has one row per H36M joint and one column per frame, coloured by joint state (``heatmap.py``). Dragging
on it paints the mask over the joint rows and frames between the press and the mouse: left-drag hides, right-drag
or Alt+drag (or the brush switch set to "Show") un-hides; the whole drag is one undo command. Shift-drag on the
ruler (or the heatmap) selects a frame range; a click or drag on the ruler scrubs; the wheel zooms time.

Speed: the image is split in tiles of columns; a mask edit re-colours only the columns it changed and re-sets only
the tiles they fall in. The playhead is a line that moves; the image is never re-rendered for a frame change.
Zoomed out past one frame per device pixel the image is binned (each bin shows its most telling state), so it
never holds more columns than the screen shows.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPen
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.document import Document
from app.state import STATE_NAMES
from app.views.heatmap import LEGEND, SEEN_DIM, STATE_RGB, binned, css, state_rgba
from mpm_core.skeleton import H36M_JOINTS

NUM_JOINTS = len(H36M_JOINTS)
#: Columns per image tile: an edit re-renders only the tiles it touches.
TILE_COLUMNS = 1024
#: Width (px) of the joint-name axis; the ruler's left margin matches it so frames line up.
LABEL_WIDTH = 112
RULER_HEIGHT = 40
#: Seconds shown around the playhead by the "Follow" window.
FOLLOW_WINDOW_S = 10.0
#: Fewest frames the view can zoom in to.
MIN_VISIBLE_FRAMES = 8
BACKGROUND = (28, 30, 34)
PLAYHEAD_COLOUR = (255, 80, 80)
SELECTION_BRUSH = (230, 240, 255, 60)
SELECTION_PEN = (120, 200, 255)
ROW_HIGHLIGHT = (120, 200, 255)
SPEED_ITEMS = (0.25, 0.5, 1.0, 1.5, 2.0)


class JointAxis(pg.AxisItem):
    """The heatmap's left axis: joint names, the selected ones highlighted."""

    def __init__(self):
        super().__init__("left")
        self.selected: set[str] = set()
        self.setTicks([[(j, name.replace("_", " ")) for j, name in enumerate(H36M_JOINTS)], []])
        self.setWidth(LABEL_WIDTH)

    def set_selected(self, joints) -> None:
        self.selected = {H36M_JOINTS[j].replace("_", " ") for j in joints}
        self.picture = None  # drop pyqtgraph's cached drawing
        self.update()

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs):  # noqa: N802 (pyqtgraph's name)
        plain = [spec for spec in textSpecs if spec[2] not in self.selected]
        super().drawPicture(p, axisSpec, tickSpecs, plain)
        font = QFont(p.font())
        font.setBold(True)
        p.setFont(font)
        for rect, flags, text in textSpecs:
            if text in self.selected:
                p.fillRect(rect.adjusted(-4, 0, 2, 0), QColor(*ROW_HIGHLIGHT, 90))
                p.setPen(QColor(*ROW_HIGHLIGHT))
                p.drawText(rect, int(flags), text)


class RulerViewBox(pg.ViewBox):
    """The frame ruler: click or drag scrubs; shift-drag selects a frame range; shift-click clears it."""

    scrubbed = Signal(float)  # x
    rangeDragged = Signal(float, float, bool)  # x0, x1, finished
    selectionCleared = Signal()
    _drag_mods = Qt.KeyboardModifier.NoModifier

    def mouseClickEvent(self, ev):  # noqa: N802 (Qt naming)
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.selectionCleared.emit()
        else:
            self.scrubbed.emit(self.mapToView(ev.pos()).x())

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802
        if ev.button() != Qt.MouseButton.LeftButton:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        x = self.mapToView(ev.pos()).x()
        if ev.isStart():
            self._drag_mods = _press_modifiers(self, ev)
        if self._drag_mods & Qt.KeyboardModifier.ShiftModifier:
            self.rangeDragged.emit(self.mapToView(ev.buttonDownPos()).x(), x, ev.isFinish())
        else:
            self.scrubbed.emit(x)


class HeatmapViewBox(pg.ViewBox):
    """The heatmap: left/right drags paint (start and current points in view coordinates, erase, phase); shift-drag
    selects; middle-drag pans; a click selects the joint and moves to the frame."""

    painted = Signal(QPointF, QPointF, bool, str)  # start, current, erase, "start"/"move"/"finish"
    boxSelected = Signal(QPointF, QPointF, bool)  # start, current, finished
    clicked = Signal(QPointF, bool)  # point, ctrl held

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.erase_mode = False
        self._drag_mods = Qt.KeyboardModifier.NoModifier

    def mouseClickEvent(self, ev):  # noqa: N802
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.accept()  # no context menu: right-drag erases
            return
        ev.accept()
        self.clicked.emit(self.mapToView(ev.pos()), bool(ev.modifiers() & Qt.KeyboardModifier.ControlModifier))

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802
        button = ev.button()
        if button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            super().mouseDragEvent(ev, axis)  # middle button pans
            return
        ev.accept()
        if ev.isStart():  # the drag's mode is set by the modifiers held at its start, kept to its end
            self._drag_mods = _press_modifiers(self, ev)
        mods = self._drag_mods
        start, current = self.mapToView(ev.buttonDownPos()), self.mapToView(ev.pos())
        if button == Qt.MouseButton.LeftButton and mods & Qt.KeyboardModifier.ShiftModifier:
            self.boxSelected.emit(start, current, ev.isFinish())
            return
        flipped = button == Qt.MouseButton.RightButton or bool(mods & Qt.KeyboardModifier.AltModifier)
        erase = self.erase_mode != flipped
        phase = "start" if ev.isStart() else ("finish" if ev.isFinish() else "move")
        self.painted.emit(start, current, erase, phase)


def _press_modifiers(item: pg.ViewBox, ev) -> Qt.KeyboardModifier:
    """Modifiers held at the press that began a drag, or at its first move."""
    mods = ev.modifiers()
    scene = item.scene()
    presses = getattr(scene, "clickEvents", None)
    if presses:
        mods |= presses[0].modifiers()
    return mods


def _tool_button(text: str, tip: str, checkable: bool = False, icon=None) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    if icon is not None:
        button.setIcon(button.style().standardIcon(icon))
    button.setToolTip(tip)
    button.setCheckable(checkable)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space and the arrows stay with the playback shortcuts
    button.setAutoRaise(True)
    return button


class TimelineView(QWidget):
    """The bottom dock: transport, ruler and mask heatmap. Reads the document; edits go through it."""

    def __init__(self, document: Document, playback=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.playback = playback
        self.tile_columns = TILE_COLUMNS
        self.follow = False
        self._num_frames = 0
        self._states = np.zeros((0, NUM_JOINTS), np.int8)  # (T, 17) state codes, kept in step with maskChanged
        self._confidence: np.ndarray | None = None  # (T, 17) 0-1, or None (3D input)
        self._scores_source = None
        self._bin = 1  # frames per image column
        self._rgba = np.zeros((NUM_JOINTS, 0, 4), np.uint8)  # (17, columns, 4) what the tiles show
        self._tiles: list[pg.ImageItem] = []
        self.tile_renders = 0  # tiles re-set since the input opened (tests check an edit re-sets few)
        self._drag: tuple[int, int] | None = None  # (row, frame) where the paint drag started
        self._drag_rect: tuple[int, int, int, int] | None = None

        self._build_plots()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self._build_toolbar())
        layout.addWidget(self.graphics, 1)

        self._bin_timer = QTimer(self)  # re-bin once the zoom settles, not on every wheel step
        self._bin_timer.setSingleShot(True)
        self._bin_timer.setInterval(60)
        self._bin_timer.timeout.connect(self._rebin_if_needed)
        self.heat_vb.sigXRangeChanged.connect(lambda *_: self._bin_timer.start())
        self.heat_vb.sigResized.connect(lambda *_: self._bin_timer.start())

        document.inputChanged.connect(self._on_input)
        document.maskChanged.connect(self.update_columns)
        document.frameChanged.connect(self._on_frame)
        document.selectionChanged.connect(self._on_selection)
        document.probeChanged.connect(self._on_probe)
        document.settingsChanged.connect(self._on_setting)
        if playback is not None:
            playback.playingChanged.connect(self._on_playing)
            playback.loopChanged.connect(self.loop_button.setChecked)
            playback.speedChanged.connect(self._on_speed)
            self.addActions(playback.actions())
        if document.input is not None:
            self._on_input()

    # -- building -----------------------------------------------------------------------------------------------
    def _build_plots(self) -> None:
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(BACKGROUND)
        self.graphics.ci.layout.setSpacing(0)
        self.graphics.ci.setContentsMargins(2, 0, 8, 2)

        self.ruler_vb = RulerViewBox(enableMenu=False)
        self.ruler = self.graphics.addPlot(row=0, col=0, viewBox=self.ruler_vb)
        self.ruler.setFixedHeight(RULER_HEIGHT)
        self.ruler.hideButtons()
        self.ruler.setMenuEnabled(False)
        self.ruler.showAxis("top")
        self.ruler.hideAxis("bottom")
        left = self.ruler.getAxis("left")
        left.setTicks([[], []])
        left.setStyle(showValues=False, tickLength=0)
        left.setWidth(LABEL_WIDTH)
        left.setPen(pg.mkPen(None))
        self.ruler_vb.setMouseEnabled(x=True, y=False)
        self.ruler_vb.setYRange(0, 1, padding=0)
        self.ruler_vb.setBackgroundColor((40, 43, 50))

        self.joint_axis = JointAxis()
        self.heat_vb = HeatmapViewBox(enableMenu=False)
        self.heat = self.graphics.addPlot(row=1, col=0, viewBox=self.heat_vb, axisItems={"left": self.joint_axis})
        self.heat.hideButtons()
        self.heat.setMenuEnabled(False)
        self.heat.hideAxis("bottom")
        self.heat_vb.setMouseEnabled(x=True, y=False)
        self.heat_vb.invertY(True)
        self.heat_vb.setYRange(-0.5, NUM_JOINTS - 0.5, padding=0)
        self.heat_vb.setLimits(yMin=-0.5, yMax=NUM_JOINTS - 0.5)
        self.ruler_vb.setXLink(self.heat_vb)

        self.row_lines = pg.PlotCurveItem(pen=pg.mkPen((20, 22, 26), width=1), connect="pairs")
        self.row_lines.setZValue(5)
        self.heat.addItem(self.row_lines, ignoreBounds=True)
        self.row_highlight = pg.PlotCurveItem(pen=pg.mkPen(ROW_HIGHLIGHT, width=1.5), connect="pairs")
        self.row_highlight.setZValue(6)
        self.heat.addItem(self.row_highlight, ignoreBounds=True)
        self.heat_selection = pg.LinearRegionItem(
            movable=False, brush=pg.mkBrush(*SELECTION_BRUSH), pen=pg.mkPen(SELECTION_PEN, width=2)
        )
        self.heat_selection.setZValue(7)
        self.heat_selection.hide()
        self.heat.addItem(self.heat_selection, ignoreBounds=True)
        self.ruler_selection = pg.LinearRegionItem(
            movable=False, brush=pg.mkBrush(*SELECTION_BRUSH[:3], 90), pen=pg.mkPen(SELECTION_PEN)
        )
        self.ruler_selection.hide()
        self.ruler.addItem(self.ruler_selection, ignoreBounds=True)
        pen = pg.mkPen(PLAYHEAD_COLOUR, width=2)
        self.playhead = pg.InfiniteLine(0, angle=90, movable=True, pen=pen, hoverPen=pg.mkPen((255, 180, 180), width=3))
        self.playhead.setZValue(20)
        self.ruler.addItem(self.playhead, ignoreBounds=True)
        self.heat_playhead = pg.InfiniteLine(0, angle=90, movable=False, pen=pen)
        self.heat_playhead.setZValue(20)
        self.heat.addItem(self.heat_playhead, ignoreBounds=True)
        self.brush_rect = QGraphicsRectItem()
        dash = QPen(QColor(255, 255, 255), 0, Qt.PenStyle.DashLine)
        dash.setCosmetic(True)
        self.brush_rect.setPen(dash)
        self.brush_rect.setZValue(30)
        self.brush_rect.hide()
        self.heat.addItem(self.brush_rect, ignoreBounds=True)

        self.playhead.sigDragged.connect(self._on_playhead_dragged)
        self.ruler_vb.scrubbed.connect(lambda x: self.document.set_frame(round(x)))
        self.ruler_vb.rangeDragged.connect(self._on_range_drag)
        self.ruler_vb.selectionCleared.connect(lambda: self.document.set_selection(frames=None))
        self.heat_vb.painted.connect(self._on_paint)
        self.heat_vb.boxSelected.connect(self._on_box)
        self.heat_vb.clicked.connect(self._on_click)
        self.graphics.scene().sigMouseMoved.connect(self._on_hover)

    def _build_toolbar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        sp = QStyle.StandardPixmap
        self.back_button = _tool_button(
            "Back", "Previous frame (Left; Shift+Left: 10 frames)", icon=sp.SP_MediaSeekBackward
        )
        self.play_button = _tool_button("Play", "Play / pause (Space)", icon=sp.SP_MediaPlay)
        self.forward_button = _tool_button(
            "Next", "Next frame (Right; Shift+Right: 10 frames)", icon=sp.SP_MediaSeekForward
        )
        self.loop_button = _tool_button("Loop", "Loop (L); inside the selected frames if the playhead is", True)
        self.speed_combo = QComboBox()
        self.speed_combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.speed_combo.setToolTip("Playback speed")
        for speed in SPEED_ITEMS:
            self.speed_combo.addItem(f"{speed:g}×", speed)
        self.speed_combo.setCurrentIndex(SPEED_ITEMS.index(1.0))
        self.frame_label = QLabel("")
        self.frame_label.setMinimumWidth(170)
        self.frame_label.setFont(QFont("monospace"))
        for widget in (self.back_button, self.play_button, self.forward_button, self.loop_button, self.speed_combo):
            bar.addWidget(widget)
        bar.addSpacing(6)
        bar.addWidget(self.frame_label)
        if self.playback is not None:
            self.back_button.clicked.connect(lambda: self.playback.step(-1))
            self.forward_button.clicked.connect(lambda: self.playback.step(1))
            self.play_button.clicked.connect(self.playback.toggle)
            self.loop_button.toggled.connect(self.playback.set_loop)
            self.speed_combo.currentIndexChanged.connect(
                lambda i: self.playback.set_speed(self.speed_combo.itemData(i))
            )
        else:
            for widget in (self.back_button, self.play_button, self.forward_button, self.loop_button):
                widget.setEnabled(False)
            self.speed_combo.setEnabled(False)

        bar.addSpacing(12)
        bar.addWidget(QLabel("Drag to:"))
        self.hide_button = _tool_button("Hide", "Dragging on the heatmap hides joints (left-drag)", True)
        self.show_button = _tool_button("Show", "Dragging on the heatmap shows joints (or right/Alt+drag)", True)
        self.hide_button.setChecked(True)
        group = QButtonGroup(self)
        group.setExclusive(True)
        group.addButton(self.hide_button)
        group.addButton(self.show_button)
        self.show_button.toggled.connect(self.set_erase_mode)
        bar.addWidget(self.hide_button)
        bar.addWidget(self.show_button)
        bar.addSpacing(12)
        self.fit_button = _tool_button("Whole", "Show the whole sequence")
        self.follow_button = _tool_button("Follow", f"Follow the playhead ({FOLLOW_WINDOW_S:g} s window)", True)
        self.fit_button.clicked.connect(self.show_all)
        self.follow_button.toggled.connect(self.set_follow)
        bar.addWidget(self.fit_button)
        bar.addWidget(self.follow_button)
        bar.addStretch(1)
        self.hover_label = QLabel("")
        self.hover_label.setMinimumWidth(260)
        bar.addWidget(self.hover_label)
        bar.addWidget(self._legend())
        return bar

    def _legend(self) -> QLabel:
        dim, full = css(SEEN_DIM), css(STATE_RGB[0])
        parts = [f"<span style='color:{dim}'>■</span><span style='color:{full}'>■</span> seen (confidence)"]
        parts += [f"<span style='color:{css(STATE_RGB[s])}'>■</span> {text}" for s, text in LEGEND]
        label = QLabel("&nbsp;&nbsp;".join(parts))
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setToolTip("Heatmap colours: one row per joint, one column per frame")
        return label

    # -- the image ----------------------------------------------------------------------------------------------
    def _scores(self):
        seq2d = self.document.input_2d()
        return None if seq2d is None else seq2d.scores

    def _on_input(self) -> None:
        doc = self.document
        if doc.input is None or doc.mask is None:
            return
        if self._drag is not None:
            self._drag = None
            self.brush_rect.hide()
        t = doc.num_frames
        self._num_frames = t
        self._states = doc.states(0, t).astype(np.int8)
        self._load_confidence()
        self.heat_vb.setLimits(
            xMin=-0.5, xMax=t - 0.5, minXRange=min(t, MIN_VISIBLE_FRAMES), yMin=-0.5, yMax=NUM_JOINTS - 0.5
        )
        rows = np.arange(1, NUM_JOINTS) - 0.5
        self.row_lines.setData(np.repeat([[-0.5, t - 0.5]], len(rows), axis=0).ravel(), np.repeat(rows, 2))
        self.tile_renders = 0
        self.heat_vb.setXRange(-0.5, t - 0.5, padding=0)
        self._bin = self._wanted_bin()
        self._rebuild()
        self._on_frame(doc.frame)
        self._on_selection()

    def _load_confidence(self) -> None:
        """Shading of seen joints: the confidence stretched from the threshold (dim) to 1 (bright), so the weak
        spots among the joints the model sees stand out."""
        scores = self._scores()
        self._scores_source = scores
        if scores is None:
            self._confidence = None
            return
        floor = min(float(self.document.settings.threshold), 0.95)
        conf = np.nan_to_num(np.asarray(scores, np.float32), nan=0.0)
        self._confidence = np.clip((conf - floor) / (1.0 - floor), 0.0, 1.0)

    def _on_setting(self, key: str) -> None:
        if key == "threshold" and self._num_frames and self._confidence is not None:
            self._load_confidence()
            self._rebuild()

    def _on_probe(self) -> None:
        if self._scores() is not self._scores_source and self._num_frames:
            self._load_confidence()
            self._rebuild()

    def _wanted_bin(self) -> int:
        """Frames per image column for the current zoom: 1 up to one frame per device pixel, then powers of two."""
        width = self.heat_vb.width() * self.devicePixelRatioF()
        (x0, x1), _ = self.heat_vb.viewRange()
        if width <= 1 or self._num_frames == 0:
            return self._bin
        per_pixel = (x1 - x0) / width
        return 1 if per_pixel <= 1 else 2 ** math.ceil(math.log2(per_pixel))

    def _rebin_if_needed(self) -> None:
        if self._num_frames and self._wanted_bin() != self._bin:
            self._bin = self._wanted_bin()
            self._rebuild()

    def _columns(self, lo: int, hi: int) -> np.ndarray:
        """``(17, c, 4)`` colours of image columns ``lo:hi`` at the current bin."""
        k = self._bin
        f0, f1 = lo * k, min(self._num_frames, hi * k)
        conf = None if self._confidence is None else self._confidence[f0:f1]
        states, conf = binned(self._states[f0:f1], conf, k)
        return state_rgba(states, conf)

    def _rebuild(self) -> None:
        """All tiles anew (a new input or zoom level)."""
        for tile in self._tiles:
            self.heat.removeItem(tile)
        self._tiles = []
        columns = math.ceil(self._num_frames / self._bin)
        self._rgba = self._columns(0, columns)
        k = self._bin
        for c0 in range(0, columns, self.tile_columns):
            c1 = min(columns, c0 + self.tile_columns)
            tile = pg.ImageItem(axisOrder="row-major")
            tile.setZValue(-10)
            self.heat.addItem(tile)
            self._tiles.append(tile)
            self._set_tile(len(self._tiles) - 1)
            tile.setRect(
                QRectF(c0 * k - 0.5, -0.5, (c1 - c0) * k, NUM_JOINTS)
            )  # after the image: it scales by its size

    def _set_tile(self, index: int) -> None:
        c0 = index * self.tile_columns
        c1 = min(self._rgba.shape[1], c0 + self.tile_columns)
        self._tiles[index].setImage(np.ascontiguousarray(self._rgba[:, c0:c1]), autoLevels=False, levels=None)
        self.tile_renders += 1

    def update_columns(self, lo: int, hi: int) -> None:
        """``maskChanged(lo, hi)``: re-colour the frames ``lo:hi`` only and re-set the tiles they fall in."""
        doc = self.document
        if doc.mask is None or self._num_frames != doc.num_frames or not self._tiles:
            self._on_input()
            return
        lo, hi = max(0, int(lo)), min(self._num_frames, int(hi))
        if hi <= lo:
            return
        self._states[lo:hi] = doc.states(lo, hi)
        k = self._bin
        c_lo, c_hi = lo // k, math.ceil(hi / k)
        self._rgba[:, c_lo:c_hi] = self._columns(c_lo, c_hi)
        for index in range(c_lo // self.tile_columns, (c_hi - 1) // self.tile_columns + 1):
            self._set_tile(index)

    def image_rgba(self) -> np.ndarray:
        """``(17, columns, 4)`` uint8 colours the heatmap shows (joint rows; one column per ``bin`` frames)."""
        return self._rgba

    @property
    def bin(self) -> int:
        return self._bin

    # -- playhead, selection, view ------------------------------------------------------------------------------
    def _on_frame(self, frame: int) -> None:
        self.playhead.setValue(frame)
        self.heat_playhead.setValue(frame)
        self.frame_label.setText(self.document.time_text(frame))
        if self.follow:
            self._keep_in_view(frame)

    def _keep_in_view(self, frame: int) -> None:
        """Page the window when the playhead leaves it (one jump per page, not a scroll per frame)."""
        (x0, x1), _ = self.heat_vb.viewRange()
        width = x1 - x0
        if not x0 + 0.02 * width <= frame <= x1 - 0.02 * width:
            start = frame - 0.1 * width
            self.heat_vb.setXRange(start, start + width, padding=0)

    def show_all(self) -> None:
        self.set_follow(False)
        self.heat_vb.setXRange(-0.5, self._num_frames - 0.5, padding=0)

    def set_follow(self, on: bool) -> None:
        self.follow = bool(on)
        if self.follow_button.isChecked() != self.follow:
            self.follow_button.setChecked(self.follow)
        doc = self.document
        if self.follow and doc.input is not None:
            half = FOLLOW_WINDOW_S * doc.input.fps / 2
            self.heat_vb.setXRange(doc.frame - half, doc.frame + half, padding=0)

    def _on_selection(self) -> None:
        doc = self.document
        self.joint_axis.set_selected(doc.selected_joints)
        t = self._num_frames
        if doc.selected_joints:
            ys = []
            for j in doc.selected_joints:
                ys += [j - 0.5, j - 0.5, j + 0.5, j + 0.5]
            xs = [-0.5, t - 0.5] * (2 * len(doc.selected_joints))
            self.row_highlight.setData(xs, ys)
        else:
            self.row_highlight.setData([], [])
        sel = doc.selected_frames
        for region in (self.heat_selection, self.ruler_selection):
            if sel is None:
                region.hide()
            else:
                region.setRegion((sel[0] - 0.5, sel[1] - 0.5))
                region.show()

    def _on_playing(self, playing: bool) -> None:
        sp = QStyle.StandardPixmap
        self.play_button.setText("Pause" if playing else "Play")
        self.play_button.setIcon(self.style().standardIcon(sp.SP_MediaPause if playing else sp.SP_MediaPlay))

    def _on_speed(self, speed: float) -> None:
        index = self.speed_combo.findData(speed)
        if index >= 0 and index != self.speed_combo.currentIndex():
            self.speed_combo.setCurrentIndex(index)

    def set_erase_mode(self, erase: bool) -> None:
        """The brush switch: plain drags show (un-hide) joints instead of hiding them."""
        self.heat_vb.erase_mode = bool(erase)
        if self.show_button.isChecked() != bool(erase):
            (self.show_button if erase else self.hide_button).setChecked(True)

    # -- mouse --------------------------------------------------------------------------------------------------
    def cell_at(self, point: QPointF) -> tuple[int, int]:
        """(joint row, frame) under a point in view coordinates, clamped to the sequence."""
        row = min(NUM_JOINTS - 1, max(0, round(point.y())))
        frame = min(self._num_frames - 1, max(0, round(point.x())))
        return row, frame

    def cell_pos(self, joint: int, frame: int):
        """Where cell (joint, frame) is drawn: a ``QPoint`` in ``self.graphics.viewport()`` pixels."""
        scene_pos = self.heat_vb.mapViewToScene(QPointF(float(frame), float(joint)))
        return self.graphics.mapFromScene(scene_pos)

    def ruler_pos(self, frame: float):
        """A point on the ruler over ``frame``, in ``self.graphics.viewport()`` pixels."""
        scene_pos = self.ruler_vb.mapViewToScene(QPointF(float(frame), 0.35))
        return self.graphics.mapFromScene(scene_pos)

    def _on_playhead_dragged(self, line: pg.InfiniteLine) -> None:
        self.document.set_frame(round(line.value()))
        line.setValue(self.document.frame)  # snap to the frame shown

    def _on_paint(self, start: QPointF, current: QPointF, erase: bool, phase: str) -> None:
        doc = self.document
        if doc.mask is None or self._num_frames == 0:
            return
        if phase == "start" or self._drag is None:
            if self.playback is not None:
                self.playback.pause()
            self._drag = self.cell_at(start)
            self._drag_rect = None
            doc.begin_drag()
        r0, f0 = self._drag
        r1, f1 = self.cell_at(current)
        rect = (min(r0, r1), max(r0, r1) + 1, min(f0, f1), max(f0, f1) + 1)
        if rect != self._drag_rect:
            self._drag_rect = rect
            j0, j1, lo, hi = rect
            self.brush_rect.setRect(QRectF(lo - 0.5, j0 - 0.5, hi - lo, j1 - j0))
            self.brush_rect.show()
            doc.paint(list(range(j0, j1)), lo, hi, hide=not erase)
        if phase == "finish":
            self._drag = self._drag_rect = None
            self.brush_rect.hide()
            doc.end_drag()

    def _on_box(self, start: QPointF, current: QPointF, finished: bool) -> None:
        """Shift-drag on the heatmap: select the joint rows and the frame range under the box."""
        (r0, f0), (r1, f1) = self.cell_at(start), self.cell_at(current)
        self.document.set_selection(
            joints=list(range(min(r0, r1), max(r0, r1) + 1)), frames=(min(f0, f1), max(f0, f1) + 1)
        )

    def _on_range_drag(self, x0: float, x1: float, finished: bool) -> None:
        t = self._num_frames
        a, b = sorted((x0, x1))
        lo, hi = max(0, round(a)), min(t, round(b) + 1)
        self.document.set_selection(frames=(lo, hi))

    def _on_click(self, point: QPointF, ctrl: bool) -> None:
        """A click on the heatmap: go to that frame and select that joint (Ctrl: add or remove it)."""
        if self._num_frames == 0:
            return
        row, frame = self.cell_at(point)
        doc = self.document
        joints = [row]
        if ctrl:
            joints = sorted(set(doc.selected_joints) ^ {row})
        doc.set_selection(joints=joints)
        doc.set_frame(frame)

    def _on_hover(self, scene_pos) -> None:
        if self._num_frames == 0 or not self.heat_vb.sceneBoundingRect().contains(scene_pos):
            self.hover_label.setText("")
            return
        row, frame = self.cell_at(self.heat_vb.mapSceneToView(scene_pos))
        state = STATE_NAMES[int(self._states[frame, row])]
        scores = self._scores_source
        conf = "" if scores is None else f", confidence {float(scores[frame, row]):.2f}"
        self.hover_label.setText(f"{H36M_JOINTS[row]} · frame {frame}: {state}{conf}")
