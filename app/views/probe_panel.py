"""The 3D input's panel: complete hidden 3D joints, or lift what a virtual camera would see and compare.

The camera sliders edit the document (one undo command per slider drag); the panel shows the lift's MPJPE and
P-MPJPE against the truth, and the current frame's worst joints, from ``doc.scene.errors``.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QRadioButton, QSlider, QVBoxLayout, QWidget

from app.state import MODE_COMPLETE, MODE_PROBE
from mpm_core.engine.probe import VirtualCamera
from mpm_core.skeleton import H36M_JOINTS

#: Slider ranges: (label, field, minimum, maximum, scale: slider units per field unit).
SLIDERS = (
    ("Azimuth", "azimuth_deg", -180, 180, 1),
    ("Elevation", "elevation_deg", -30, 70, 1),
    ("Distance", "distance_m", 15, 150, 10),
    ("Field of view", "fov_deg", 15, 120, 1),
)
UNITS = {"azimuth_deg": "°", "elevation_deg": "°", "distance_m": " m", "fov_deg": "°"}


class ProbePanel(QWidget):
    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.complete_button = QRadioButton("Complete hidden 3D joints")
        self.probe_button = QRadioButton("What a camera would see (project, lift, compare)")
        self.complete_button.toggled.connect(lambda on: on and document.set_probe(mode=MODE_COMPLETE))
        self.probe_button.toggled.connect(lambda on: on and document.set_probe(mode=MODE_PROBE))
        form = QFormLayout()
        self.sliders: dict[str, QSlider] = {}
        self.values: dict[str, QLabel] = {}
        for label, name, lo, hi, _scale in SLIDERS:
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(lo, hi)
            slider.valueChanged.connect(lambda _v, n=name: self._moved(n))
            slider.sliderReleased.connect(self._released)
            value = QLabel()
            row = QHBoxLayout()
            row.addWidget(slider, 1)
            row.addWidget(value)
            form.addRow(label, row)
            self.sliders[name], self.values[name] = slider, value
        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.complete_button)
        layout.addWidget(self.probe_button)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        self._syncing = False
        document.inputChanged.connect(self._sync)
        document.probeChanged.connect(self._sync)
        document.sceneChanged.connect(self._show_errors)
        document.frameChanged.connect(self._show_errors)
        self._sync()

    def _camera(self) -> VirtualCamera:
        fields = {name: self.sliders[name].value() / scale for _l, name, _lo, _hi, scale in SLIDERS}
        return VirtualCamera(**fields, image_size=self.document.probe.camera.image_size)

    def _moved(self, name: str) -> None:
        scale = next(s for _l, n, _lo, _hi, s in SLIDERS if n == name)
        self.values[name].setText(f"{self.sliders[name].value() / scale:g}{UNITS[name]}")
        if self._syncing:
            return
        dragging = any(s.isSliderDown() for s in self.sliders.values())
        self.document.set_probe(camera=self._camera(), merge=dragging)

    def _released(self) -> None:
        self.document.set_probe(camera=self._camera(), merge=False)

    def _sync(self) -> None:
        doc = self.document
        is_3d = doc.input is not None and doc.input.kind == "3d"
        self.setEnabled(is_3d)
        self._syncing = True
        try:
            self.probe_button.setChecked(doc.probe.mode == MODE_PROBE)
            self.complete_button.setChecked(doc.probe.mode == MODE_COMPLETE)
            cam = doc.probe.camera
            for _l, name, _lo, _hi, scale in SLIDERS:
                self.sliders[name].setValue(round(getattr(cam, name) * scale))
                self.sliders[name].setEnabled(doc.probe.mode == MODE_PROBE)
                self.values[name].setText(f"{getattr(cam, name):g}{UNITS[name]}")
        finally:
            self._syncing = False
        self._show_errors()

    def _show_errors(self, *_args) -> None:
        scene = self.document.scene
        errors = None if scene is None else scene.errors
        if errors is None:
            self.error_label.setText("" if self.document.probe.mode == MODE_COMPLETE else "lifting…")
            return
        frame = self.document.frame
        per_joint = errors.joint_error_mm[frame] if frame < len(errors.joint_error_mm) else np.full(17, np.nan)
        worst = [j for j in np.argsort(np.nan_to_num(per_joint, nan=-1))[::-1][:3] if np.isfinite(per_joint[j])]
        worst_text = ", ".join(f"{H36M_JOINTS[j]} {per_joint[j]:.0f}" for j in worst)
        self.error_label.setText(
            f"MPJPE {errors.mpjpe_mm:.1f} mm, P-MPJPE {errors.p_mpjpe_mm:.1f} mm (whole sequence, root-aligned)\n"
            f"frame {frame}: {errors.per_frame_mm[frame]:.1f} mm; worst: {worst_text} mm"
        )
