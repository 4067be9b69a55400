"""Preferences that persist (QSettings): the model and device, autosave, and the defaults for new inputs."""

from __future__ import annotations

import os
from dataclasses import dataclass

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.services import paths
from app.services.autosave import DEFAULT_INTERVAL_S
from mpm_core.engine.masks import DEFAULT_CONFIDENCE_THRESHOLD

DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass
class Preferences:
    """Persisted choices. ``model``: "" = the shipped model, else a registered name or a checkpoint path."""

    model: str = ""
    device: str = "auto"
    autosave_s: float = DEFAULT_INTERVAL_S
    threshold: float = DEFAULT_CONFIDENCE_THRESHOLD
    coords: str = "world"
    fov_deg: float = 0.0  # 0 = the library default
    models_dir: str = ""  # "" = the per-user models folder; else a folder searched first for detector files

    @classmethod
    def load(cls) -> Preferences:
        store = paths.settings()
        prefs = cls()
        for name, kind in (("model", str), ("device", str), ("autosave_s", float), ("threshold", float),
                           ("coords", str), ("fov_deg", float), ("models_dir", str)):  # fmt: skip
            value = store.value(f"prefs/{name}")
            if value is None:
                continue
            try:
                setattr(prefs, name, kind(value))
            except (TypeError, ValueError):
                continue  # a hand-edited file with a bad value: keep the default
        if prefs.device not in DEVICES:
            prefs.device = "auto"
        if prefs.coords not in ("world", "camera"):
            prefs.coords = "world"
        if not 0.0 <= prefs.threshold <= 1.0:
            prefs.threshold = DEFAULT_CONFIDENCE_THRESHOLD
        return prefs

    def save(self) -> None:
        store = paths.settings()
        for name, value in vars(self).items():
            store.setValue(f"prefs/{name}", value)
        store.sync()


def registered_models() -> list[tuple[str, str]]:
    """(label, value) of the models the app can offer: the shipped ones, by name."""
    try:
        from mpm_core.model.checkpoint import registered_models as registry  # the model registry, when present
    except ImportError:
        registry = None
    out = [("Shipped model (default)", "")]
    if registry is not None:
        for entry in registry():
            name = getattr(entry, "name", None) or str(entry)
            licence = getattr(entry, "licence", "")
            out.append((f"{name}" + (f" — {licence}" if licence else ""), name))
    return out


class PreferencesDialog(QDialog):
    def __init__(self, prefs: Preferences, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.model = QComboBox()
        self.model.setEditable(False)
        for label, value in registered_models():
            self.model.addItem(label, value)
        self.model_path = QLineEdit(prefs.model if self.model.findData(prefs.model) < 0 else "")
        self.model_path.setPlaceholderText("or a checkpoint file (.safetensors)")
        if self.model.findData(prefs.model) >= 0:
            self.model.setCurrentIndex(self.model.findData(prefs.model))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_path, 1)
        model_row.addWidget(browse)
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.device.setCurrentText(prefs.device)
        self.autosave = QSpinBox()
        self.autosave.setRange(0, 3600)
        self.autosave.setSuffix(" s (0 = off)")
        self.autosave.setValue(round(prefs.autosave_s))
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setValue(prefs.threshold)
        self.coords = QComboBox()
        self.coords.addItems(["world", "camera"])
        self.coords.setCurrentText(prefs.coords)
        self.fov = QDoubleSpinBox()
        self.fov.setRange(0.0, 170.0)
        self.fov.setSpecialValueText("library default (55°)")
        self.fov.setValue(prefs.fov_deg)
        form = QFormLayout()
        form.addRow("Model", self.model)
        form.addRow("", model_row)
        form.addRow("Device", self.device)
        form.addRow("Autosave every", self.autosave)
        form.addRow("Confidence threshold for new inputs", self.threshold)
        form.addRow("3D view coordinates", self.coords)
        form.addRow("Camera field of view", self.fov)
        self.models_dir = QLineEdit(prefs.models_dir)
        self.models_dir.setPlaceholderText("per-user models folder (default)")
        browse_dir = QPushButton("Browse…")
        browse_dir.clicked.connect(self._browse_models_dir)
        models_row = QHBoxLayout()
        models_row.addWidget(self.models_dir, 1)
        models_row.addWidget(browse_dir)
        form.addRow("Detector models folder", models_row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Model checkpoint", "", "Checkpoints (*.safetensors *.json)")
        if path:
            self.model_path.setText(path)

    def _browse_models_dir(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Detector models folder", self.models_dir.text())
        if path:
            self.models_dir.setText(path)

    def preferences(self) -> Preferences:
        return Preferences(
            model=self.model_path.text().strip() or self.model.currentData(),
            device=self.device.currentText(),
            autosave_s=float(self.autosave.value()),
            threshold=float(self.threshold.value()),
            coords=self.coords.currentText(),
            fov_deg=float(self.fov.value()),
            models_dir=self.models_dir.text().strip(),
        )


#: ``MPM_STUDIO_MODELS`` as the user's environment set it when the app started (it wins over the GUI setting).
_ENV_MODELS = os.environ.get("MPM_STUDIO_MODELS")


def apply_models_dir(prefs: Preferences) -> None:
    """Make the detector search (``mpm_core.video.models.search_dirs``) look in the chosen folder first, unless the
    user's environment names one (``MPM_STUDIO_MODELS``), which wins."""
    if _ENV_MODELS:
        return
    if prefs.models_dir:
        os.environ["MPM_STUDIO_MODELS"] = prefs.models_dir
    else:
        os.environ.pop("MPM_STUDIO_MODELS", None)
