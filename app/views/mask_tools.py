"""Mask tools (side tab "Mask"): the confidence threshold, mask presets, clear and invert, and a live count of
what the model does not see.

* The threshold slider is one undo command per drag (``begin_drag`` / ``end_drag``: live one-pass previews while
  it moves, the two-pass result on release); the spin box beside it is one command per value.
* Presets act on one frame range (from / to, inclusive, 0-based like the rest of the app), which follows the
  selection when there is one: random joints (a ratio and a seed, so a mask can be reproduced), one limb, or every
  joint of the range (a block of frames).
* The counter splits the hidden joint-frames by origin: hidden by you, low confidence, missing from the input.

Every edit goes through the document; a bad request surfaces through its ``errorRaised``.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.document import Document
from app.state import FORCED, LOW_CONFIDENCE, MISSING, USER_HIDDEN
from mpm_core.errors import PoseDataError

#: Slider steps per unit of confidence (the threshold is shown to two decimals).
THRESHOLD_STEPS = 100
#: The limb preset's choices: (label, ``Mask.with_user_range`` group name).
LIMBS = (
    ("Left arm", "left_arm"),
    ("Right arm", "right_arm"),
    ("Left leg", "left_leg"),
    ("Right leg", "right_leg"),
    ("Both arms", "arms"),
    ("Both legs", "legs"),
    ("Torso", "torso"),
    ("Neck and head", "neck_head"),
)
DEFAULT_RANDOM_PERCENT = 30
#: Seeds offered for the random preset (a short range keeps the spin box narrow; any seed reproduces its mask).
MAX_SEED = 9999
#: Swatches of the counter, the 2D view's state colours.
ORIGIN_COLOURS = {USER_HIDDEN: "#ff9628", LOW_CONFIDENCE: "#fad73c", MISSING: "#8c8c8c", FORCED: "#5adc78"}


def _swatch(state: int) -> str:
    return f'<span style="color:{ORIGIN_COLOURS[state]}">■</span>'


class MaskToolsPanel(QWidget):
    """Threshold, presets, clear / invert and the hidden counter. Reads the document; edits go through it."""

    def __init__(self, document: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self._syncing = False
        self._followed: tuple[int, int] | None = None  # the frame selection the range last followed
        body = QWidget()
        column = QVBoxLayout(body)
        column.addWidget(self._build_counter())
        column.addWidget(self._build_threshold())
        column.addWidget(self._build_presets())
        column.addWidget(self._build_whole_mask())
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        document.inputChanged.connect(self._on_input)
        document.probeChanged.connect(self._sync_enabled)
        document.maskChanged.connect(self._on_mask)
        document.settingsChanged.connect(self._on_setting)
        document.selectionChanged.connect(self._on_selection)
        self._on_input()

    # -- building ------------------------------------------------------------------------------------------------
    def _build_counter(self) -> QGroupBox:
        box = QGroupBox("Hidden from the model")
        layout = QVBoxLayout(box)
        self.count_label = QLabel("no input")
        font = self.count_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.count_label.setFont(font)
        self.count_label.setWordWrap(True)
        self.breakdown_label = QLabel("")
        self.breakdown_label.setTextFormat(Qt.TextFormat.RichText)
        self.breakdown_label.setWordWrap(True)
        layout.addWidget(self.count_label)
        layout.addWidget(self.breakdown_label)
        return box

    def _build_threshold(self) -> QGroupBox:
        box = QGroupBox("Auto-mask by detector confidence")
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        self.threshold_slider = QSlider(Qt.Orientation.Horizontal)
        self.threshold_slider.setRange(0, THRESHOLD_STEPS)
        self.threshold_slider.setPageStep(5)
        self.threshold_slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.threshold_slider.setTickInterval(THRESHOLD_STEPS // 10)
        self.threshold_slider.setToolTip("Joints the detector scored below this are hidden from the model")
        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setRange(0.0, 1.0)
        self.threshold_spin.setSingleStep(0.05)
        self.threshold_spin.setDecimals(2)
        self.threshold_spin.setKeyboardTracking(False)  # one edit per value typed, not per keystroke
        row.addWidget(self.threshold_slider, 1)
        row.addWidget(self.threshold_spin)
        layout.addLayout(row)
        self.threshold_note = QLabel("Joints scored below the threshold are hidden; 0 hides none.")
        self.threshold_note.setWordWrap(True)
        self.threshold_note.setStyleSheet("color: gray")
        layout.addWidget(self.threshold_note)
        self.threshold_slider.sliderPressed.connect(self._slider_pressed)
        self.threshold_slider.valueChanged.connect(self._slider_moved)
        self.threshold_slider.sliderReleased.connect(self._slider_released)
        self.threshold_spin.valueChanged.connect(self._spin_changed)
        self._threshold_box = box
        return box

    def _build_presets(self) -> QGroupBox:
        # A compact grid (label, controls, button): the side dock is narrow.
        box = QGroupBox("Hide by preset")
        grid = QGridLayout(box)
        self.first_spin, self.last_spin = QSpinBox(), QSpinBox()
        for spin in (self.first_spin, self.last_spin):
            spin.setKeyboardTracking(False)
        span = QHBoxLayout()
        span.addWidget(self.first_spin, 1)
        span.addWidget(QLabel("to"))
        span.addWidget(self.last_spin, 1)
        grid.addWidget(QLabel("Frames"), 0, 0)
        grid.addLayout(span, 0, 1, 1, 2)
        self.selection_button = QPushButton("Selection")
        self.selection_button.setToolTip("The frames selected on the timeline")
        self.all_frames_button = QPushButton("All frames")
        self.selection_button.clicked.connect(lambda: self._set_range(self.document.selected_frames))
        self.all_frames_button.clicked.connect(lambda: self._set_range(None))
        which = QHBoxLayout()
        which.addWidget(self.selection_button)
        which.addWidget(self.all_frames_button)
        grid.addLayout(which, 1, 1, 1, 2)

        self.ratio_spin = QSpinBox()
        self.ratio_spin.setRange(0, 100)
        self.ratio_spin.setValue(DEFAULT_RANDOM_PERCENT)
        self.ratio_spin.setSuffix(" %")
        self.ratio_spin.setToolTip("Share of the 17 joints hidden in each frame")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, MAX_SEED)
        self.seed_spin.setPrefix("seed ")
        self.seed_spin.setToolTip("The same seed hides the same joints")
        self.random_button = QPushButton("Hide")
        self.random_button.setToolTip("Hide this share of the joints, chosen at random in each frame of the range")
        random_row = QHBoxLayout()
        random_row.addWidget(self.ratio_spin, 1)
        random_row.addWidget(self.seed_spin, 1)
        grid.addWidget(QLabel("Random"), 2, 0)
        grid.addLayout(random_row, 2, 1)
        grid.addWidget(self.random_button, 2, 2)
        self.limb_combo = QComboBox()
        for text, group in LIMBS:
            self.limb_combo.addItem(text, group)
        self.limb_button = QPushButton("Hide")
        self.limb_button.setToolTip("Hide this limb in every frame of the range")
        grid.addWidget(QLabel("Limb"), 3, 0)
        grid.addWidget(self.limb_combo, 3, 1)
        grid.addWidget(self.limb_button, 3, 2)
        self.block_button = QPushButton("Hide")
        self.block_button.setToolTip("Hide every joint in every frame of the range: the model fills the gap")
        grid.addWidget(QLabel("Block"), 4, 0)
        grid.addWidget(QLabel("every joint"), 4, 1)
        grid.addWidget(self.block_button, 4, 2)
        grid.setColumnStretch(1, 1)
        self.random_button.clicked.connect(self.hide_random)
        self.limb_button.clicked.connect(self.hide_limb)
        self.block_button.clicked.connect(self.hide_block)
        return box

    def _build_whole_mask(self) -> QGroupBox:
        box = QGroupBox("Whole mask")
        layout = QFormLayout(box)
        row = QHBoxLayout()
        self.clear_button = QPushButton("Clear my edits")
        self.clear_button.setToolTip("Undo every joint you hid or forced visible (the automatic masks stay)")
        self.invert_button = QPushButton("Invert")
        self.invert_button.setToolTip("Hide what the model sees and show what it does not (missing joints stay hidden)")
        row.addWidget(self.clear_button)
        row.addWidget(self.invert_button)
        layout.addRow(row)
        self.clear_button.clicked.connect(lambda: self._edit(self.document.clear_mask))
        self.invert_button.clicked.connect(lambda: self._edit(self.document.invert_mask))
        return box

    # -- edits -----------------------------------------------------------------------------------------------------
    def _edit(self, call, *args, **kw) -> None:
        """Run one document edit; a bad request surfaces through the document like every other error."""
        try:
            call(*args, **kw)
        except PoseDataError as exc:
            self.document.errorRaised.emit("Mask tools", str(exc))

    def frame_range(self) -> tuple[int, int]:
        """Rows ``(lo, hi)`` the presets act on (``hi`` exclusive)."""
        lo, last = sorted((self.first_spin.value(), self.last_spin.value()))
        return lo, last + 1

    def hide_random(self) -> None:
        lo, hi = self.frame_range()
        ratio = self.ratio_spin.value() / 100.0
        self._edit(self.document.apply_preset, "random", ratio=ratio, seed=self.seed_spin.value(), lo=lo, hi=hi)

    def hide_limb(self) -> None:
        lo, hi = self.frame_range()
        self._edit(self.document.apply_preset, "limb", limb=self.limb_combo.currentData(), lo=lo, hi=hi)

    def hide_block(self) -> None:
        lo, hi = self.frame_range()
        self._edit(self.document.apply_preset, "frames", lo=lo, hi=hi)

    def _slider_value(self) -> float:
        return self.threshold_slider.value() / THRESHOLD_STEPS

    def _slider_pressed(self) -> None:
        self.document.begin_drag()  # the whole drag is one undo command, previewed live

    def _slider_moved(self, _value: int) -> None:
        if self._syncing:
            return
        self._show_threshold(self._slider_value(), spin_only=True)
        self._edit(self.document.set_threshold, self._slider_value())

    def _slider_released(self) -> None:
        self._edit(self.document.set_threshold, self._slider_value())
        self.document.end_drag()

    def _spin_changed(self, value: float) -> None:
        if not self._syncing:
            self._edit(self.document.set_threshold, float(value))

    # -- following the document ------------------------------------------------------------------------------------
    def _set_range(self, frames: tuple[int, int] | None) -> None:
        n = self.document.num_frames
        lo, hi = frames if frames is not None else (0, n)
        self.first_spin.setValue(int(lo))
        self.last_spin.setValue(int(max(lo, hi - 1)))

    def _on_input(self) -> None:
        n = self.document.num_frames
        for spin in (self.first_spin, self.last_spin):
            spin.setRange(0, max(0, n - 1))
        self._followed = self.document.selected_frames
        self._set_range(self._followed)
        self._sync_enabled()
        self._show_threshold(self.document.settings.threshold)
        self._update_counts()

    def _on_selection(self) -> None:
        frames = self.document.selected_frames
        self.selection_button.setEnabled(frames is not None and self.document.mask is not None)
        # Follow a new frame selection, but keep a range typed by hand when only the joints were selected.
        if frames is not None and frames != self._followed:
            self._set_range(frames)
        self._followed = frames

    def _on_mask(self, _lo: int = 0, _hi: int = 0) -> None:
        self._sync_enabled()
        self._update_counts()

    def _on_setting(self, key: str) -> None:
        if key == "threshold":
            self._show_threshold(self.document.settings.threshold)

    def _has_confidences(self) -> bool:
        doc = self.document
        return doc.input is not None and doc.input.kind == "2d"

    def _sync_enabled(self) -> None:
        doc = self.document
        has_mask = doc.input is not None and doc.mask is not None
        for widget in (
            self.random_button,
            self.limb_button,
            self.block_button,
            self.clear_button,
            self.invert_button,
            self.all_frames_button,
            self.first_spin,
            self.last_spin,
            self.ratio_spin,
            self.seed_spin,
            self.limb_combo,
        ):
            widget.setEnabled(has_mask)
        self.selection_button.setEnabled(has_mask and doc.selected_frames is not None)
        self.clear_button.setEnabled(has_mask and bool(doc.mask.user.any() or doc.mask.forced.any()))
        scores = has_mask and self._has_confidences()
        self.threshold_slider.setEnabled(scores)
        self.threshold_spin.setEnabled(scores)
        if doc.input is not None and not scores:
            self.threshold_note.setText("A 3D input has no detector confidences: only its missing joints are hidden.")
        else:
            self.threshold_note.setText("Joints scored below the threshold are hidden; 0 hides none.")

    def _show_threshold(self, value: float, spin_only: bool = False) -> None:
        self._syncing = True
        try:
            if not spin_only and not self.threshold_slider.isSliderDown():
                self.threshold_slider.setValue(round(value * THRESHOLD_STEPS))
            self.threshold_spin.setValue(value)
        finally:
            self._syncing = False

    def counts(self) -> dict[str, int]:
        """What the counter shows: hidden joint-frames and frames, and the hidden joint-frames by origin."""
        doc = self.document
        hidden, frames = doc.hidden_count()
        out = {"joint_frames": hidden, "frames": frames, "user": 0, "low_confidence": 0, "missing": 0, "forced": 0}
        if doc.mask is not None:
            tally = np.bincount(doc.states(0, doc.num_frames).ravel(), minlength=5)
            out.update(
                user=int(tally[USER_HIDDEN]),
                low_confidence=int(tally[LOW_CONFIDENCE]),
                missing=int(tally[MISSING]),
                forced=int(tally[FORCED]),
            )
        return out

    def _update_counts(self) -> None:
        doc = self.document
        if doc.mask is None:
            self.count_label.setText("no input")
            self.breakdown_label.setText("")
            return
        c = self.counts()
        n = doc.num_frames
        total = n * doc.mask.user.shape[1]
        self.count_label.setText(
            f"{c['joint_frames']:,} joint-frames ({c['joint_frames'] / total:.1%}) in {c['frames']:,} of {n:,} frames"
        )
        parts = [
            f"{_swatch(USER_HIDDEN)} by you {c['user']:,}",
            f"{_swatch(LOW_CONFIDENCE)} low confidence {c['low_confidence']:,}",
            f"{_swatch(MISSING)} missing {c['missing']:,}",
        ]
        if c["forced"]:
            parts.append(f"{_swatch(FORCED)} forced visible {c['forced']:,}")
        self.breakdown_label.setText(" &nbsp; ".join(parts))
