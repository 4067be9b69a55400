"""Plots (side tab "Plots", pyqtgraph): one joint's 3D coordinates over time, bone lengths over time, and in the
"what a camera would see" mode the joint's error and the MPJPE over time.

* Coordinates: x, y, z of the chosen joint (metres, the 3D view's frame: ``doc.scene.poses``) as drawn, solid,
  and smoothed (the document's smoothing, one-euro when it has none) dashed; the frames where the model did not
  see that joint are shaded by origin (hidden by you, low confidence, missing).
* Bone lengths: the limbs, left (solid) against right (dashed), or every bone; the legend gives each bone's
  spread over time, so jitter in a bone that should be rigid shows as a number as well as a wiggle.
* Errors (3D input probed through a virtual camera): the joint's error and the per-frame MPJPE in millimetres,
  root-aligned in the virtual camera's frame (``scene.errors``, as ``evaluate`` compares).

The series are recomputed (``mpm_core.engine.series``) when a result or scene arrives, coalesced into one update,
never during a drag's previews, and only while the tab is visible; ``frameChanged`` moves only the playheads.
Clicking a plot, or dragging a playhead, sets the frame. Long sequences are drawn downsampled to the view (peak
mode keeps spikes) and clipped to the visible range.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.document import Document
from app.state import LOW_CONFIDENCE, MISSING, USER_HIDDEN
from mpm_core.engine.series import (
    DEFAULT_PLOT_SMOOTHING,
    all_bones,
    bone_length_series,
    joint_error_series,
    joint_track,
    length_spread,
    limb_bones,
    mpjpe_series,
    smooth_track,
)
from mpm_core.errors import PoseDataError
from mpm_core.skeleton import H36M_JOINTS

DEFAULT_JOINT = H36M_JOINTS.index("left_wrist")
AXES = ("x", "y", "z")
AXIS_COLOURS = {"x": (235, 87, 87), "y": (90, 200, 110), "z": (80, 150, 245)}
#: Shading of the frames where the chosen joint is hidden, by origin (RGBA; the 2D view's state colours, faint).
HIDDEN_SHADES = {USER_HIDDEN: (255, 150, 40, 70), LOW_CONFIDENCE: (250, 215, 60, 55), MISSING: (140, 140, 140, 70)}
#: Limb bones: one colour per bone kind, left solid and right dashed.
BONE_KIND_COLOURS = {
    "upper arm": (80, 150, 245),
    "forearm": (120, 210, 250),
    "thigh": (235, 120, 60),
    "shin": (250, 200, 80),
}
ERROR_COLOUR, MPJPE_COLOUR = (250, 120, 120), (200, 200, 200)
PLAYHEAD_PEN = pg.mkPen((255, 255, 255, 170), width=1)
PLAYHEAD_HOVER_PEN = pg.mkPen((255, 255, 255), width=2)
BACKGROUND = (28, 30, 34)
BONE_SETS = (("limbs", "Limbs, left vs right"), ("all", "Every bone"))
BONE_SOURCES = (("lifted", "as lifted"), ("drawn", "as drawn"))
PELVIS = H36M_JOINTS.index("pelvis")
MM_PER_M = 1000.0
#: Samples drawn per pixel of plot width (peak mode keeps each bin's min and max, so spikes survive).
SAMPLES_PER_PIXEL = 1.0
#: Delay of the series' refresh after a result or scene arrives (milliseconds).
REFRESH_DELAY_MS = 40
#: Up to this many frames the smoothed track is computed at once (a few ms); longer ones on the thread pool.
SYNC_SMOOTH_FRAMES = 3000
#: Width of one column of the bones' legend (pixels).
LEGEND_COLUMN_PX = 165
#: Height below which a plot stops being readable (pixels): a shorter tab scrolls.
MIN_PLOT_HEIGHT_PX = 150
BONE_LEGEND_HEIGHT_PX = 90


def _curve(plot: pg.PlotItem, **kw) -> pg.PlotDataItem:
    """A curve drawn downsampled to the view's width and cached as a picture: moving a playhead over it, or
    repainting it unchanged, blits instead of redrawing thousands of segments."""
    item = plot.plot(autoDownsampleFactor=SAMPLES_PER_PIXEL, **kw)
    item.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    return item


def _dashed(colour, width: float = 1.5):
    return pg.mkPen(colour, width=width, style=Qt.PenStyle.DashLine)


class _SmoothSignals(QObject):
    done = Signal(int, object)  # token, (T, 3) smoothed track


class _SmoothTask(QRunnable):
    """Smooths one joint's track on the thread pool (the library's filter, no Qt inside); the answer goes back
    through ``signals``, a QObject of the view's (a queued call on the UI thread)."""

    def __init__(self, token: int, track: np.ndarray, fps: float, method: str, signals: _SmoothSignals, current):
        super().__init__()
        self.token, self.track, self.fps, self.method, self.signals = token, track, fps, method, signals
        self.current = current  # () -> the newest token: a task overtaken while queued does nothing

    def run(self) -> None:
        if self.current() != self.token:
            return
        try:
            smooth = smooth_track(self.track, self.fps, self.method)
        except PoseDataError:  # nothing to smooth with (e.g. no frame rate): the raw curve stands alone
            smooth = None
        try:
            self.signals.done.emit(self.token, smooth)
        except RuntimeError:  # the view was closed meanwhile
            pass


def _hex(colour: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


def _short(bone: str) -> str:
    """A bone's legend name: "L forearm" for "left forearm"."""
    return bone.replace("left ", "L ").replace("right ", "R ")


class PlotsView(QWidget):
    """The plots tab. Reads the document; the only edit it sends is the frame."""

    def __init__(self, document: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.joint = DEFAULT_JOINT
        self._stale = True
        self._smooth_token = 0
        self._smooth_signals = _SmoothSignals(self)
        self._smooth_signals.done.connect(self._on_smoothed)
        self._smooth_pool = QThreadPool(self)
        self._smooth_pool.setMaxThreadCount(1)  # one smoothing at a time; requests overtaken meanwhile are skipped

        toolbar = QHBoxLayout()
        toolbar.addWidget(QLabel("Joint"))
        self.joint_combo = QComboBox()
        for j, name in enumerate(H36M_JOINTS):
            self.joint_combo.addItem(name.replace("_", " "), j)
        self.joint_combo.setCurrentIndex(self.joint)
        self.joint_combo.currentIndexChanged.connect(self._on_joint_chosen)
        toolbar.addWidget(self.joint_combo)
        self.smoothed_check = QCheckBox("smoothed")
        self.smoothed_check.setChecked(True)
        self.smoothed_check.toggled.connect(lambda _on: self._refresh_joint())
        toolbar.addWidget(self.smoothed_check)
        self.relative_check = QCheckBox("relative to pelvis")
        self.relative_check.setToolTip("The joint's offset from the pelvis: the body's own motion, not its path")
        self.relative_check.toggled.connect(lambda _on: self._refresh_joint_and_shading())
        toolbar.addWidget(self.relative_check)
        toolbar.addStretch(1)
        bone_bar = QHBoxLayout()
        bone_bar.addWidget(QLabel("Bones"))
        self.bone_combo = QComboBox()
        for key, text in BONE_SETS:
            self.bone_combo.addItem(text, key)
        self.bone_combo.currentIndexChanged.connect(lambda _i: self._refresh_bones())
        bone_bar.addWidget(self.bone_combo)
        self.bone_source_combo = QComboBox()
        for key, text in BONE_SOURCES:
            self.bone_source_combo.addItem(text, key)
        self.bone_source_combo.setToolTip(
            "As lifted: the model's own output (its bone-length jitter); as drawn: after the clean-up the 3D view "
            "and the export apply (constant bones when bone normalisation is on)"
        )
        self.bone_source_combo.currentIndexChanged.connect(lambda _i: self._refresh_bones())
        bone_bar.addWidget(self.bone_source_combo)
        bone_bar.addStretch(1)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(BACKGROUND)
        self.joint_plot = self.graphics.addPlot(row=0, col=0)
        self.bone_plot = self.graphics.addPlot(row=1, col=0)
        # The bones' legend has a row of its own: inside the plot it would hide the curves.
        self.bone_legend = pg.LegendItem(colCount=4, labelTextSize="8pt", horSpacing=4)
        self.graphics.addItem(self.bone_legend, row=2, col=0)
        self.error_plot = self.graphics.addPlot(row=3, col=0)
        self.plots = (self.joint_plot, self.bone_plot, self.error_plot)
        for plot in self.plots:
            plot.showGrid(x=True, y=True, alpha=0.15)
            for name in ("left", "bottom"):  # grid axes as pixmaps: a moving playhead repaints by a blit
                plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
            plot.setMouseEnabled(x=True, y=False)  # wheel and drag zoom and pan time; y fits what is visible
            plot.setAutoVisible(y=True)
            plot.getAxis("left").setWidth(52)
            if plot is not self.joint_plot:
                plot.setXLink(self.joint_plot)
        self.joint_plot.setLabel("left", "position", units="m")
        self.bone_plot.setLabel("left", "length", units="m")
        self.error_plot.setLabel("left", "error (mm)")
        self.error_plot.setLabel("bottom", "frame")

        # Hidden frames of the chosen joint: a 1-row RGBA image stretched over the coordinates' range.
        self.hidden_image = pg.ImageItem(axisOrder="row-major")
        self.hidden_image.setZValue(-10)
        self.joint_plot.addItem(self.hidden_image, ignoreBounds=True)
        self.error_hidden_image = pg.ImageItem(axisOrder="row-major")  # the same shading under the errors
        self.error_hidden_image.setZValue(-10)
        self.error_plot.addItem(self.error_hidden_image, ignoreBounds=True)
        self.raw_curves: dict[str, pg.PlotDataItem] = {}
        self.smooth_curves: dict[str, pg.PlotDataItem] = {}
        self.truth_curves: dict[str, pg.PlotDataItem] = {}  # the ghost's joint (sample truth, probed motion)
        for axis in AXES:
            # No legend inside the plot (it would hide data): the key above the plots names the colours.
            self.raw_curves[axis] = _curve(self.joint_plot, pen=pg.mkPen(AXIS_COLOURS[axis], width=1.5))
            faint = tuple(int(c * 0.8) for c in AXIS_COLOURS[axis])
            self.smooth_curves[axis] = _curve(self.joint_plot, pen=_dashed(faint, 2.0))  # the title explains dashes
            truth_pen = pg.mkPen((*AXIS_COLOURS[axis], 150), width=1.5, style=Qt.PenStyle.DotLine)
            self.truth_curves[axis] = _curve(self.joint_plot, pen=truth_pen)
        self.bone_curves: dict[str, pg.PlotDataItem] = {}
        self.error_curve = _curve(self.error_plot, pen=pg.mkPen(ERROR_COLOUR, width=1.5), name="joint")
        self.mpjpe_curve = _curve(self.error_plot, pen=_dashed(MPJPE_COLOUR, 1.5), name="MPJPE")
        self.playheads = []
        for plot in self.plots:
            line = pg.InfiniteLine(
                angle=90, movable=True, pen=PLAYHEAD_PEN, hoverPen=pg.mkPen((255, 255, 255), width=2)
            )
            line.setZValue(20)
            line.sigDragged.connect(self._on_playhead_dragged)
            plot.addItem(line, ignoreBounds=True)
            self.playheads.append(line)
        self.graphics.scene().sigMouseClicked.connect(self._on_click)
        self.error_plot.hide()

        self.key_label = QLabel("")
        self.key_label.setWordWrap(True)
        self.key_label.setTextFormat(Qt.TextFormat.RichText)
        self.key_label.setStyleSheet("color: gray")
        self.status_label = QLabel("")
        self.status_label.setStyleSheet("color: gray")
        self.status_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(toolbar)
        layout.addLayout(bone_bar)
        layout.addWidget(self.key_label)
        # In a short dock the plots keep a readable height and scroll (the wheel over a plot zooms its time axis).
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.graphics)
        self._fit_height()
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.status_label)

        # One coalesced refresh however many signals arrive, a little after them: the 2D and 3D views paint the
        # new result first (the series of a long sequence take ~0.2 s).
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        self._shade_timer = QTimer(self)
        self._shade_timer.setSingleShot(True)
        self._shade_timer.setInterval(0)
        self._shade_timer.timeout.connect(self._refresh_shading)

        document.inputChanged.connect(self._on_input)
        document.probeChanged.connect(self._schedule)
        document.sceneChanged.connect(self._on_data)
        document.resultChanged.connect(self._on_data)
        document.maskChanged.connect(lambda *_: self._shade_timer.start())
        document.frameChanged.connect(self._move_playheads)
        document.selectionChanged.connect(self._on_selection)
        document.settingsChanged.connect(self._on_setting)

    # -- when to redraw ----------------------------------------------------------------------------------------------
    def _schedule(self, *_args) -> None:
        self._stale = True
        self._timer.start()

    def _on_data(self, *_args) -> None:
        if self.document.dragging:
            self._stale = True  # previews: the series are recomputed once the drag's final result is in
            return
        self._schedule()

    def _on_input(self) -> None:
        for curve in self._all_curves():
            curve.setData([], [])
        self.hidden_image.clear()
        self.error_hidden_image.clear()
        self._schedule()
        self._move_playheads(self.document.frame)
        if self.document.num_frames:
            self.joint_plot.setXRange(0, self.document.num_frames - 1, padding=0.01)

    def _on_setting(self, key: str) -> None:
        if key == "smoothing":
            self._schedule()

    def _on_selection(self) -> None:
        joints = self.document.selected_joints
        if joints and joints[0] != self.joint:
            self.joint_combo.setCurrentIndex(int(joints[0]))

    def _on_joint_chosen(self, index: int) -> None:
        self.joint = int(self.joint_combo.itemData(index))
        self._refresh_joint_and_shading()
        self._refresh_errors()

    def _refresh_joint_and_shading(self) -> None:
        self._refresh_joint()
        self._refresh_shading()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        # As many legend columns as fit: a wide legend would set the plots' minimum width.
        columns = max(1, min(4, (self.width() - 40) // LEGEND_COLUMN_PX))
        if columns != self.bone_legend.columnCount:
            self.bone_legend.setColumnCount(columns)

    def _fit_height(self) -> None:
        plots = 3 if self.error_plot.isVisible() else 2  # a graphics item's own flag, shown or not
        self.graphics.setMinimumHeight(plots * MIN_PLOT_HEIGHT_PX + BONE_LEGEND_HEIGHT_PX)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().showEvent(event)
        if self._stale:
            self._timer.start()

    def _all_curves(self):
        return [*self.raw_curves.values(), *self.smooth_curves.values(), *self.truth_curves.values(),
                *self.bone_curves.values(), self.error_curve, self.mpjpe_curve]  # fmt: skip

    # -- the series ---------------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Recompute every series from the document (skipped while the tab is hidden: done when it shows)."""
        if not self.isVisible():
            self._stale = True
            return
        self._stale = False
        self._refresh_joint()
        self._refresh_bones()
        self._refresh_shading()
        self._refresh_errors()

    def _frames(self) -> np.ndarray:
        return np.arange(self.document.scene.num_frames, dtype=np.float64)

    def smoothing_method(self) -> str:
        """The smoothing drawn dashed: the document's, one-euro when it has none."""
        return self.document.settings.smoothing or DEFAULT_PLOT_SMOOTHING

    def _refresh_joint(self) -> None:
        doc, scene = self.document, self.document.scene
        name = H36M_JOINTS[self.joint].replace("_", " ")
        if scene is None:
            for curve in (*self.raw_curves.values(), *self.smooth_curves.values(), *self.truth_curves.values()):
                curve.setData([], [])
            self.joint_plot.setTitle(f"{name}: waiting for the 3D", size="9pt")
            self.key_label.setText("")
            return
        frames = self._frames()
        track = self.joint_series()
        show_smooth = self.smoothed_check.isChecked()
        for i, axis in enumerate(AXES):
            self.raw_curves[axis].setData(frames, track[:, i])
        self._smooth_token += 1
        if show_smooth and len(track) > SYNC_SMOOTH_FRAMES:
            # The one-euro filter steps frame by frame (~0.1-0.2 s for 18,000 frames): off the UI thread.
            task = _SmoothTask(
                self._smooth_token,
                track,
                doc.input.fps,
                self.smoothing_method(),
                self._smooth_signals,
                lambda: self._smooth_token,
            )
            self._smooth_pool.start(task)
        elif show_smooth:
            self._on_smoothed(self._smooth_token, smooth_track(track, doc.input.fps, self.smoothing_method()))
        else:
            self._on_smoothed(self._smooth_token, None)
        truth = self.truth_series()
        for i, axis in enumerate(AXES):
            if truth is not None:
                self.truth_curves[axis].setData(frames, truth[:, i], connect="finite")
            else:
                self.truth_curves[axis].setData([], [])
        frame_name = "world, y up" if scene.coords == "world" else "camera, root-relative, y up"
        if self.relative_check.isChecked():
            frame_name += ", minus the pelvis"
        method = self.smoothing_method().replace("_", "-")
        axes = " ".join(f'<b style="color:{_hex(AXIS_COLOURS[a])}">{a}</b>' for a in AXES)
        smoothed = f" ({method} smoothed)" if doc.settings.smoothing else ""
        parts = [f"{axes} of the {name}, {frame_name}: solid as drawn in 3D{smoothed}"]
        if show_smooth:
            parts.append(f"dashed {method} smoothing")
        if truth is not None:
            parts.append("dotted the truth")
        self.key_label.setText("; ".join(parts) + ".")
        # Short titles: a plot's title sets its minimum width, and the tab may be narrow.
        self.joint_plot.setTitle(f"{name} position", size="9pt")

    def _on_smoothed(self, token: int, smooth: np.ndarray | None) -> None:
        if token != self._smooth_token:
            return  # a newer joint, setting or result asked since
        for i, axis in enumerate(AXES):
            if smooth is None:
                self.smooth_curves[axis].setData([], [])
            else:
                self.smooth_curves[axis].setData(np.arange(len(smooth), dtype=np.float64), smooth[:, i])

    def _refresh_shading(self) -> None:
        doc = self.document
        if doc.mask is None or doc.scene is None or doc.scene.num_frames != doc.num_frames:
            self.hidden_image.clear()
            self.error_hidden_image.clear()
            return
        states = doc.states(0, doc.num_frames)[:, self.joint]
        rgba = np.zeros((1, len(states), 4), np.uint8)
        for state, colour in HIDDEN_SHADES.items():
            rgba[0, states == state] = colour
        self.hidden_image.setImage(rgba, autoLevels=False, levels=(0, 255))
        values = self.joint_series()
        truth = self.truth_series()
        if truth is not None:
            values = np.concatenate([values, truth])
        finite = values[np.isfinite(values)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        margin = 0.05 * (hi - lo) + 0.01
        # Pixel i covers frames i - 0.5 .. i + 0.5, so a shaded run lines up with its frames.
        self.hidden_image.setRect(-0.5, lo - margin, float(len(states)), hi - lo + 2 * margin)
        errors = doc.scene.errors
        if errors is not None:
            top = float(np.nanmax(errors.joint_error_mm)) if np.isfinite(errors.joint_error_mm).any() else 1.0
            self.error_hidden_image.setImage(rgba, autoLevels=False, levels=(0, 255))
            self.error_hidden_image.setRect(-0.5, 0.0, float(len(states)), 1.05 * top)
        else:
            self.error_hidden_image.clear()
        hidden = int((states == USER_HIDDEN).sum() + (states == LOW_CONFIDENCE).sum() + (states == MISSING).sum())
        self.status_label.setText(
            f"{H36M_JOINTS[self.joint].replace('_', ' ')} hidden in {hidden:,} of {len(states):,} frames "
            "(shaded: orange by you, yellow low confidence, grey missing)"
        )

    def joint_series(self) -> np.ndarray:
        """``(T, 3)`` metres: the chosen joint in the 3D view's frame (minus the pelvis when asked)."""
        relative = PELVIS if self.relative_check.isChecked() else None
        return joint_track(self.document.scene.poses, self.joint, relative_to=relative)

    def truth_series(self) -> np.ndarray | None:
        """``(T, 3)`` metres: the chosen joint of the ghost (the truth) in the same frame, or None."""
        ref = self.document.scene.reference
        if ref is None or ref.shape != self.document.scene.poses.shape:
            return None
        relative = PELVIS if self.relative_check.isChecked() else None
        return joint_track(ref, self.joint, relative_to=relative)

    def bone_poses(self) -> np.ndarray | None:
        """``(T, 17, 3)`` metres the bone lengths are measured on: the model's output or the drawn scene."""
        doc = self.document
        if doc.scene is None:
            return None
        if self.bone_source_combo.currentData() == "lifted" and doc.result is not None:
            result = doc.result
            poses = result.sequence.keypoints if hasattr(result, "sequence") else getattr(result, "poses_3d", None)
            if poses is not None and len(poses) == doc.scene.num_frames:
                return np.asarray(poses)
        return doc.scene.poses

    def bone_set(self) -> dict[str, tuple[int, int]]:
        """The bones plotted, by display name."""
        return limb_bones() if self.bone_combo.currentData() == "limbs" else all_bones()

    def _refresh_bones(self) -> None:
        poses = self.bone_poses()
        bones = self.bone_set()
        if list(bones) != list(self.bone_curves):
            for curve in self.bone_curves.values():
                self.bone_plot.removeItem(curve)
            self.bone_legend.clear()
            self.bone_curves = {}
            for i, name in enumerate(bones):
                curve = _curve(self.bone_plot, pen=self._bone_pen(name, i, len(bones)))
                self.bone_legend.addItem(curve, name)
                self.bone_curves[name] = curve
        if poses is None:
            for curve in self.bone_curves.values():
                curve.setData([], [])
            return
        series = bone_length_series(poses, list(bones.values()))
        spread = length_spread(series)
        frames = self._frames()
        for b, (name, curve) in enumerate(self.bone_curves.items()):
            curve.setData(frames, series[:, b])
            label = self.bone_legend.getLabel(curve)
            text = f"{_short(name)} ±{spread[b] * MM_PER_M:.0f} mm"
            if label is not None and label.text != text:  # a new text re-lays the legend out: only when it changed
                label.setText(text)
        source = self.bone_source_combo.currentText()
        self.bone_plot.setTitle(f"bone lengths {source} (± spread)", size="9pt")

    @staticmethod
    def _bone_pen(name: str, index: int, count: int):
        kind = next((k for k in BONE_KIND_COLOURS if name.endswith(k)), None)
        if kind is not None:
            colour = BONE_KIND_COLOURS[kind]
            return _dashed(colour) if name.startswith("right") else pg.mkPen(colour, width=1.5)
        return pg.mkPen(pg.intColor(index, hues=count), width=1.2)

    def _refresh_errors(self) -> None:
        scene = self.document.scene
        errors = None if scene is None else scene.errors
        if errors is None:
            self.error_curve.setData([], [])
            self.mpjpe_curve.setData([], [])
            self.error_plot.hide()
            self.bone_plot.setLabel("bottom", "frame")
            self._fit_height()
            return
        self.error_plot.show()
        self.bone_plot.setLabel("bottom", "")
        self._fit_height()
        frames = self._frames()
        self.error_curve.setData(frames, joint_error_series(errors, self.joint))
        self.mpjpe_curve.setData(frames, mpjpe_series(errors))
        name = H36M_JOINTS[self.joint].replace("_", " ")
        mean = errors.per_joint_mm[self.joint]
        # The title is the key (a legend inside would cover the curves): the joint's colour, then the MPJPE's.
        self.error_plot.setTitle(
            f'<span style="color:{_hex(ERROR_COLOUR)}">{name}, mean {mean:.0f} mm</span> · '
            f'<span style="color:{_hex(MPJPE_COLOUR)}">MPJPE (dashed) {errors.mpjpe_mm:.0f} mm</span>',
            size="9pt",
        )

    # -- the frame ----------------------------------------------------------------------------------------------------
    def _move_playheads(self, frame: int) -> None:
        for line in self.playheads:
            if line.value() != frame:
                line.blockSignals(True)
                line.setValue(frame)
                line.blockSignals(False)

    def _on_playhead_dragged(self, line) -> None:
        self.document.set_frame(round(line.value()))

    def _on_click(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.document.input is None:
            return
        for plot in self.plots:
            if plot.isVisible() and plot.sceneBoundingRect().contains(event.scenePos()):
                x = plot.vb.mapSceneToView(event.scenePos()).x()
                self.document.set_frame(round(x))
                return
