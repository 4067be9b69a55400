"""The export dialog: format, coordinates, units, up axis, bone lengths, smoothing, field of view, frame range.

It builds ``ExportOptions`` (the library validates them) and runs the export on a worker with a progress bar;
an error is shown in the dialog and nothing is written.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.services.export import ExportRequest, ExportTask
from app.state import CompletionResult
from mpm_core.errors import PoseDataError

FORMATS = (("BVH (animation)", ".bvh"), ("CSV (joints per frame)", ".csv"), ("NPZ (numpy)", ".npz"), ("JSON", ".json"))
SMOOTHING = (("None", None), ("One-euro (adaptive)", "one_euro"), ("Low-pass (zero phase)", "lowpass"))
BVH_PRESET_LABELS = (
    ("H36M names", "h36m"),
    ("Mixamo (mixamorig:, T-pose, cm)", "mixamo"),
    ("Blender metarig names", "metarig"),
)
UNITS = (("Default (BVH cm, others m)", None), ("metres", "m"), ("centimetres", "cm"), ("millimetres", "mm"))


class ExportDialog(QDialog):
    """Export the document's current result. ``exported(path)`` after a successful write."""

    def __init__(self, document, parent: QWidget | None = None, default_dir: str = ""):
        super().__init__(parent)
        self.setWindowTitle("Export 3D motion")
        self.document = document
        self.task: ExportTask | None = None
        self.written: str | None = None
        self.error: str | None = None
        settings = document.settings
        stem = document.input.path.stem if document.input and document.input.path else "motion"
        if stem.endswith(".bvh"):
            stem = stem[:-4]

        self.format = QComboBox()
        for text, ext in FORMATS:
            self.format.addItem(text, ext)
        self.path_edit = QLineEdit(str(Path(default_dir or Path.home()) / f"{stem}.bvh"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)
        self.coords = QComboBox()
        self.coords.addItem("World (y up, floor, trajectory)", "world")
        self.coords.addItem("Camera (root-relative)", "camera")
        self.coords.setCurrentIndex(0 if settings.coords == "world" else 1)
        self.units = QComboBox()
        for text, value in UNITS:
            self.units.addItem(text, value)
        self.up_axis = QComboBox()
        self.up_axis.addItem("Y up", "y")
        self.up_axis.addItem("Z up", "z")
        self.bone_normalize = QCheckBox("Constant bone lengths (always on for BVH)")
        self.bone_normalize.setChecked(settings.bone_normalize is not False)
        self.foot_locking = QCheckBox("Lock planted feet (world)")
        self.foot_locking.setChecked(settings.foot_locking is not False)
        self.height = QDoubleSpinBox()
        self.height.setRange(0.0, 2.5)
        self.height.setDecimals(2)
        self.height.setSingleStep(0.01)
        self.height.setSpecialValueText("as lifted")
        self.height.setSuffix(" m")
        self.height.setValue(settings.height_m or 0.0)
        self.root_motion = QComboBox()
        self.root_motion.addItem("Travel through the world", "travel")
        self.root_motion.addItem("In place", "in_place")
        self.face_z = QCheckBox("Start facing +Z")
        self.preset = QComboBox()
        for text, value in BVH_PRESET_LABELS:
            self.preset.addItem(text, value)
        self.output_fps = QDoubleSpinBox()
        self.output_fps.setRange(0.0, 240.0)
        self.output_fps.setSpecialValueText("the input's")
        self.output_fps.setSuffix(" fps")
        self.smoothing = QComboBox()
        for text, value in SMOOTHING:
            self.smoothing.addItem(text, value)
        self.smoothing.setCurrentIndex([v for _, v in SMOOTHING].index(settings.smoothing))
        self.cutoff = QDoubleSpinBox()
        self.cutoff.setRange(0.5, 30.0)
        self.cutoff.setValue(6.0)
        self.cutoff.setSuffix(" Hz")
        self.fov = QDoubleSpinBox()
        self.fov.setRange(5.0, 170.0)
        self.fov.setValue(settings.fov_deg or 55.0)
        self.fov.setSuffix(" °")
        n = document.num_frames
        self.first = QSpinBox()
        self.last = QSpinBox()
        for box in (self.first, self.last):
            box.setRange(0, max(0, n - 1))
        lo, hi = document.selected_frames or (0, n)
        self.first.setValue(lo)
        self.last.setValue(hi - 1)
        range_row = QHBoxLayout()
        range_row.addWidget(self.first)
        range_row.addWidget(QLabel("to"))
        range_row.addWidget(self.last)
        whole = QPushButton("All")
        whole.clicked.connect(lambda: (self.first.setValue(0), self.last.setValue(max(0, n - 1))))
        range_row.addWidget(whole)

        form = QFormLayout()
        form.addRow("Format", self.format)
        form.addRow("File", path_row)
        form.addRow("Coordinates", self.coords)
        form.addRow("Units", self.units)
        form.addRow("BVH up axis", self.up_axis)
        form.addRow("BVH skeleton", self.preset)
        form.addRow("", self.bone_normalize)
        form.addRow("", self.foot_locking)
        form.addRow("Performer's height", self.height)
        form.addRow("Root motion", self.root_motion)
        form.addRow("", self.face_z)
        form.addRow("Frame rate", self.output_fps)
        form.addRow("Smoothing", self.smoothing)
        form.addRow("Low-pass cut-off", self.cutoff)
        form.addRow("Camera field of view", self.fov)
        form.addRow("Frames (in / out)", range_row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 3)
        self.progress.setValue(0)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.rejected.connect(self.reject)
        self.export_button.clicked.connect(self.start_export)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.format.currentIndexChanged.connect(self._format_changed)
        self.smoothing.currentIndexChanged.connect(
            lambda: self.cutoff.setEnabled(self.smoothing.currentData() == "lowpass")
        )
        self.cutoff.setEnabled(settings.smoothing == "lowpass")
        if isinstance(document.result, CompletionResult):
            self.coords.setEnabled(False)  # a completion stays in its input's frame
            self.fov.setEnabled(False)

    def _format_changed(self) -> None:
        ext = self.format.currentData()
        path = Path(self.path_edit.text())
        name = path.name[: -len(".bvh.gz")] if path.name.endswith(".bvh.gz") else path.stem
        self.path_edit.setText(str(path.with_name(name + ext)))
        self.up_axis.setEnabled(ext == ".bvh")
        self.preset.setEnabled(ext == ".bvh")

    def _browse(self) -> None:
        ext = self.format.currentData()
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path_edit.text(), f"*{ext}")
        if path:
            self.path_edit.setText(path if path.lower().endswith(ext) else path + ext)

    def request(self) -> ExportRequest:
        """The request the dialog's fields describe (``PoseDataError`` for a bad combination)."""
        from mpm_core.export.options import ExportOptions

        path = Path(self.path_edit.text()).expanduser()
        if not path.name:
            raise PoseDataError("no file name given", where="File")
        options = ExportOptions(
            coords=self.coords.currentData(),
            bone_normalize=self.bone_normalize.isChecked(),
            foot_locking=self.foot_locking.isChecked(),
            height_m=float(self.height.value()) or None,
            root_motion=self.root_motion.currentData(),
            face_z=self.face_z.isChecked(),
            output_fps=float(self.output_fps.value()) or None,
            bvh_preset=self.preset.currentData(),
            smooth=self.smoothing.currentData(),
            smooth_cutoff_hz=float(self.cutoff.value()),
            units=self.units.currentData(),
            up_axis=self.up_axis.currentData(),
            fov_deg=float(self.fov.value()),
            model_name=self.document.model_name,
        )
        lo, hi = self.first.value(), self.last.value() + 1
        if hi <= lo:
            raise PoseDataError(f"the last frame {hi - 1} is before the first {lo}", where="Frames")
        return ExportRequest(self.document.result, path, options, lo, hi)

    def start_export(self) -> None:
        if self.document.result is None:
            self._fail("nothing to export yet: the model has not lifted this input")
            return
        try:
            request = self.request()
        except PoseDataError as exc:
            self._fail(str(exc))
            return
        self.export_button.setEnabled(False)
        self.status.setText(f"Writing {request.path}…")
        self.task = ExportTask(request)
        self.task.signals.progress.connect(lambda done, total: self.progress.setValue(done))
        self.task.signals.finished.connect(self._done)
        self.task.signals.failed.connect(self._fail)
        self.task.start()

    def _done(self, path: str) -> None:
        self.written = path
        self.status.setText(f"Wrote {path}")
        self.accept()

    def _fail(self, message: str) -> None:
        self.error = message
        self.export_button.setEnabled(True)
        self.status.setText(message)
        QMessageBox.critical(self, "Export failed", message)
