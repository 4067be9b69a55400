"""The main window: open a pose file, see its skeleton, scrub and play through the frames."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.document import Document
from app.views.pose2d_view import Pose2DView

FILE_FILTER = (
    "Pose files (*.json *.csv *.npz *.npy *.bvh *.bvh.gz *.amc);;"
    "OpenPose / COCO / MMPose / Kinetics JSON (*.json);;Canonical CSV / NPZ (*.csv *.npz);;"
    "Motion capture (*.bvh *.bvh.gz *.amc);;All files (*)"
)


class MainWindow(QMainWindow):
    """Owns the document and the views; views talk to the document only."""

    def __init__(self, document: Document | None = None):
        super().__init__()
        self.document = document or Document(parent=self)
        self.setWindowTitle("MPM Studio")
        self.resize(1100, 750)
        self.setAcceptDrops(True)

        self.view2d = Pose2DView(self.document)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setEnabled(False)
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.setEnabled(False)
        self.frame_label = QLabel("no file")
        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.frame_label)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.view2d, 1)
        layout.addLayout(controls)
        self.setCentralWidget(central)

        self.timer = QTimer(self)
        self.timer.timeout.connect(self._advance)
        self.play_button.toggled.connect(self._toggle_play)
        self.slider.valueChanged.connect(self.document.set_frame)
        self.document.inputChanged.connect(self._on_sequence)
        self.document.frameChanged.connect(self._on_frame)
        self.document.errorRaised.connect(lambda _title, message: self.show_error(message))
        self.document.loadingChanged.connect(
            lambda busy: self.statusBar().showMessage("Loading…" if busy else "", 0 if busy else 1)
        )
        self._build_menu()

    def _build_menu(self) -> None:
        menu = self.menuBar().addMenu("&File")
        open_file = QAction("&Open file…", self, shortcut=QKeySequence.StandardKey.Open)
        open_file.triggered.connect(self.open_dialog)
        open_folder = QAction("Open OpenPose &folder…", self)
        open_folder.triggered.connect(self.open_folder_dialog)
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        for action in (open_file, open_folder, quit_action):
            menu.addAction(action)

    # -- files ------------------------------------------------------------------------------------------------
    def open_path(self, path: str | Path) -> None:
        self.document.open(path)

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open pose file", "", FILE_FILTER)
        if path:
            self.open_path(path)

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open OpenPose JSON folder")
        if path:
            self.open_path(path)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_path(urls[0])

    def show_error(self, message: str) -> None:
        """Every reader error appears as a dialog; the app keeps running."""
        self.statusBar().showMessage(message, 10000)
        QMessageBox.critical(self, "Could not open file", message)

    # -- playback ---------------------------------------------------------------------------------------------
    def _on_sequence(self) -> None:
        seq = self.document.input.sequence
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, seq.num_frames - 1))
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self.slider.setEnabled(True)
        self.play_button.setEnabled(True)
        self.timer.setInterval(max(1, round(1000.0 / seq.fps)))
        name = self.document.input.name
        self.setWindowTitle(f"MPM Studio — {name}")
        self.statusBar().showMessage(
            f"{name}: {seq.layout}, {seq.num_frames} frames at {seq.fps:g} fps, "
            f"{100 * (1 - seq.visible.mean()):.0f}% joints missing"
        )

    def _on_frame(self, frame: int) -> None:
        if self.slider.value() != frame:
            self.slider.setValue(frame)
        self.frame_label.setText(f"{frame + 1} / {self.document.num_frames}")

    def _toggle_play(self, playing: bool) -> None:
        self.play_button.setText("Pause" if playing else "Play")
        self.timer.start() if playing else self.timer.stop()

    def _advance(self) -> None:
        n = self.document.num_frames
        if n:
            self.document.set_frame((self.document.frame + 1) % n)
