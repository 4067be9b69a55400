"""The main window: docks and menus around the document; wires views to the document. No logic of its own
beyond files, dialogs and the status bar."""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QWidget,
)

from app.dialogs.export_dialog import ExportDialog
from app.dialogs.preferences import Preferences, PreferencesDialog, apply_models_dir
from app.document import Document, input_from_tracks, read_input, read_paired_input
from app.services import paths
from app.services.autosave import Autosaver, leftover_autosaves
from app.services.detection import DetectionService
from app.services.lifting import LiftingService
from app.services.project import SUFFIX, save_project
from app.state import InputData
from app.views.pose2d_view import Pose2DView
from app.views.probe_panel import ProbePanel
from mpm_core.video import VIDEO_EXTENSIONS, is_video_path

log = logging.getLogger(__name__)

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
SAMPLE_2D = RESOURCES / "sample" / "accad_walk_turn_2d.npz"
SAMPLE_TRUTH = RESOURCES / "sample" / "accad_walk_turn_truth_camera.npz"
ICON = RESOURCES / "icons" / "mpm-studio.png"
_VIDEO_GLOBS = " ".join(f"*{ext}" for ext in VIDEO_EXTENSIONS)
FILE_FILTER = (
    f"Videos, pose files and projects ({_VIDEO_GLOBS} *.json *.csv *.npz *.npy *.bvh *.bvh.gz *.amc *.mpmproj);;"
    f"Videos ({_VIDEO_GLOBS});;"
    "MPM Studio projects (*.mpmproj);;OpenPose / COCO / MMPose / Kinetics JSON (*.json);;"
    "Canonical CSV / NPZ (*.csv *.npz);;Motion capture (*.bvh *.bvh.gz *.amc);;All files (*)"
)
MAX_RECENT = 10
#: A partial detection is shown (and lifted) once it holds this many frames.
MIN_PARTIAL_FRAMES = 10


@dataclass
class AppConfig:
    """How the window is set up (tests and the benchmark change these).

    Fields:
        model: an already loaded ``LoadedModel`` (tests load one per session), else the preferences' model.
        threads: engine threads (None: every core but one).
        autosave_s: autosave interval (None: the preferences'); 0 turns it off.
        recovery: what to do with an autosave a crash left: "ask", "recover" or "discard".
        person: when the input has several people: "ask" or "longest".
        open_sample: open the bundled sample when started without a file.
    """

    model: object = None
    threads: int | None = None
    autosave_s: float | None = None
    recovery: str = "ask"
    person: str = "ask"
    open_sample: bool = True


#: Starting sizes of the docks (pixels): the 2D and 3D views get the rest.
TIMELINE_DOCK_HEIGHT = 330
TOOLS_DOCK_WIDTH = 470


def _optional_view(module: str, name: str, *args):
    """A view from a module that may not be there yet; a placeholder label otherwise."""
    try:
        mod = __import__(module, fromlist=[name])
        return getattr(mod, name)(*args)
    except (ImportError, AttributeError):
        label = QLabel(f"({module} is not built yet)")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        return label


class MainWindow(QMainWindow):
    """Owns the document, the lifting service, the views and the dialogs."""

    closed = Signal()

    def __init__(self, config: AppConfig | None = None, document: Document | None = None):
        super().__init__()
        self.config = config or AppConfig()
        self.prefs = Preferences.load()
        apply_models_dir(self.prefs)
        self.setWindowTitle("MPM Studio")
        if ICON.exists():
            self.setWindowIcon(QIcon(str(ICON)))
        self.resize(1600, 960)
        self.setAcceptDrops(True)
        self.service = LiftingService(
            model_path=self.prefs.model or None,
            device=self.prefs.device,
            threads=self.config.threads,
            model=self.config.model,
            parent=self,
        )
        self.document = document or Document(parent=self)
        self.document.attach_service(self.service)
        self.detection = DetectionService(self)
        self._detecting_path: Path | None = None
        self._video_tracks: list | None = None
        settings = self.document.settings.replace(
            threshold=self.prefs.threshold,
            coords=self.prefs.coords,
            fov_deg=self.prefs.fov_deg or None,
            model=self.prefs.model,
            device=self.prefs.device,
        )
        self.document.settings = settings
        self.project_path: Path | None = None
        self._recovered: Path | None = None
        self.last_dir = str(Path.home())

        # The model loads on the worker (torch imported there) while the views are built here: the window shows
        # before torch has loaded, and the two overlap.
        self.service.start()
        self._build_views()
        self._build_status_bar()
        self._build_menus()
        self._connect_document()
        interval = self.prefs.autosave_s if self.config.autosave_s is None else self.config.autosave_s
        self.autosaver = Autosaver(self.document, interval, self)
        self.autosaver.failed.connect(lambda msg: self.statusBar().showMessage(msg, 10000))
        geometry = paths.settings().value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)

    # -- layout -------------------------------------------------------------------------------------------------
    def _build_views(self) -> None:
        doc = self.document
        self.playback = _optional_view("app.services.playback", "Playback", doc)
        if isinstance(self.playback, QLabel):
            self.playback = None
        self.view2d = Pose2DView(doc)
        self.viewport = _optional_view("app.views.viewport3d", "Viewport3D", doc)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.view2d)
        splitter.addWidget(self.viewport)
        splitter.setSizes([1000, 1000])  # the 2D and 3D views share the width equally
        self.setCentralWidget(splitter)
        args = (doc, self.playback) if self.playback is not None else (doc,)
        self.timeline = _optional_view("app.views.timeline", "TimelineView", *args)
        self.mask_tools = _optional_view("app.views.mask_tools", "MaskToolsPanel", doc)
        self.plots = _optional_view("app.views.plots", "PlotsView", doc)
        self.probe_panel = ProbePanel(doc)
        self.timeline_dock = self._dock("Timeline and mask", self.timeline, Qt.DockWidgetArea.BottomDockWidgetArea)
        side = QTabWidget()
        side.addTab(self.mask_tools, "Mask")
        side.addTab(self.plots, "Plots")
        side.addTab(self.probe_panel, "3D input")
        self.side_tabs = side
        self.side_dock = self._dock("Tools", side, Qt.DockWidgetArea.RightDockWidgetArea)
        # The views get most of the window; the timeline and tools docks start compact (the user can drag them).
        self.resizeDocks([self.timeline_dock], [TIMELINE_DOCK_HEIGHT], Qt.Orientation.Vertical)
        self.resizeDocks([self.side_dock], [TOOLS_DOCK_WIDTH], Qt.Orientation.Horizontal)
        if hasattr(self.viewport, "set_follow"):
            self.viewport.set_follow(True)  # a walking performer stays in view; the Follow button turns it off

    def _dock(self, title: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.model_label = QLabel("model: loading…")
        self.latency_label = QLabel("")
        self.fps_label = QLabel("")
        self.hidden_label = QLabel("")
        self.error_label = QLabel("")
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(160)
        self.progress_bar.hide()
        for widget in (self.error_label, self.hidden_label, self.latency_label, self.fps_label, self.model_label):
            bar.addPermanentWidget(widget)
        bar.addPermanentWidget(self.progress_bar)
        self.detect_bar = QProgressBar()
        self.detect_bar.setMaximumWidth(220)
        self.detect_bar.hide()
        self.cancel_detect_button = QPushButton("Cancel detection")
        self.cancel_detect_button.clicked.connect(self.cancel_detection)
        self.cancel_detect_button.hide()
        bar.addPermanentWidget(self.detect_bar)
        bar.addPermanentWidget(self.cancel_detect_button)
        det = self.detection
        det.progress.connect(self._on_detect_progress)
        det.partial.connect(self._on_detect_partial)
        det.result.connect(self._on_detect_result)
        det.finished.connect(self._on_detect_finished)
        det.failed.connect(self._on_detect_failed)
        det.cancelled.connect(self._on_detect_cancelled)

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self._action(file, "&Open…", self.open_dialog, QKeySequence.StandardKey.Open)
        self._action(file, "Open OpenPose &folder…", self.open_folder_dialog)
        self._action(file, "Open the &sample", self.open_sample)
        self.recent_menu = file.addMenu("Open &recent")
        file.addSeparator()
        self._action(file, "&Save project", self.save_project, QKeySequence.StandardKey.Save)
        self._action(file, "Save project &as…", self.save_project_as, QKeySequence.StandardKey.SaveAs)
        file.addSeparator()
        self.export_action = self._action(file, "&Export 3D motion…", self.export_dialog, QKeySequence("Ctrl+E"))
        self._action(file, "Export 3D view as &MP4…", self.export_video)
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        edit = bar.addMenu("&Edit")
        self.undo_action = self.document.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence("Ctrl+Z"))
        self.redo_action = self.document.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        edit.addAction(self.undo_action)
        edit.addAction(self.redo_action)
        edit.addSeparator()
        self._action(edit, "&Clear mask", self.document.clear_mask)
        self._action(edit, "&Invert mask", self.document.invert_mask)
        edit.addSeparator()
        self._action(edit, "&Preferences…", self.preferences_dialog)
        person = bar.addMenu("&Person")
        self._action(person, "&Choose person…", self.choose_person)
        self._action(person, "&Detect everyone in the video", self.detect_everyone)
        file.insertAction(self.export_action, self._action(file, "&Pair a video with this input…", self.pair_video))
        view = bar.addMenu("&View")
        view.addAction(self.timeline_dock.toggleViewAction())
        view.addAction(self.side_dock.toggleViewAction())
        for action in getattr(self.playback, "actions", lambda: [])() if self.playback is not None else []:
            view.addAction(action)
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&About MPM Studio", self.about)
        self._refresh_recent()

    def _connect_document(self) -> None:
        doc = self.document
        doc.inputChanged.connect(self._on_input)
        doc.errorRaised.connect(self.show_error)
        doc.statusMessage.connect(lambda msg: self.statusBar().showMessage(msg, 8000))
        doc.loadingChanged.connect(lambda busy: self.statusBar().showMessage("Reading…" if busy else "", 0))
        doc.modelChanged.connect(self._on_model)
        doc.latencyMeasured.connect(self._on_latency)
        doc.maskChanged.connect(lambda *_: self._update_hidden())
        doc.sceneChanged.connect(self._on_scene)
        doc.busyChanged.connect(self._on_busy)
        doc.progressChanged.connect(self._on_progress)
        doc.tracksAvailable.connect(self._on_tracks)
        doc.undo_stack.cleanChanged.connect(self._update_title)
        doc.undo_stack.indexChanged.connect(self._update_title)
        if self.playback is not None and hasattr(self.playback, "fpsMeasured"):
            self.playback.fpsMeasured.connect(lambda fps: self.fps_label.setText(f"{fps:.0f} fps"))

    # -- startup ------------------------------------------------------------------------------------------------
    def start(self, files: list[str] | None = None) -> None:
        """After the window is shown: offer recovery, then open ``files`` or the sample."""
        if self._offer_recovery():
            return
        if files:
            self.open_path(files[0])
        elif self.config.open_sample:
            self.open_sample()

    def _offer_recovery(self) -> bool:
        leftovers = leftover_autosaves()
        if not leftovers or self.config.recovery == "discard":
            for path in leftovers:
                path.unlink(missing_ok=True)
            return False
        newest = leftovers[0]
        if self.config.recovery == "ask":
            answer = QMessageBox.question(
                self,
                "Recover your work?",
                "MPM Studio did not close properly last time. Recover the session it saved automatically?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                for path in leftovers:
                    path.unlink(missing_ok=True)
                return False
        self.document.open_project(newest)
        self.statusBar().showMessage(f"Recovered the autosave {newest.name}", 10000)
        for path in leftovers[1:]:
            path.unlink(missing_ok=True)
        self._recovered = newest  # deleted once the session is open again (this session autosaves anew)
        return True

    # -- files --------------------------------------------------------------------------------------------------
    def open_path(self, path: str | Path) -> None:
        path = Path(path)
        self.last_dir = str(path.parent)
        self._remember(path)
        self.detection.stop()
        self.document.set_detecting(False)
        self._video_tracks = None
        if is_video_path(path):
            self.project_path = None
            self.open_video(path)
        elif path.suffix == SUFFIX:
            self.project_path = path
            self.document.open_project(path)
        else:
            self.project_path = None
            self.document.open(path)

    # -- videos -------------------------------------------------------------------------------------------------
    def open_video(self, path: Path, people: int | None = 1) -> None:
        """A video: its keypoint file when one lies beside it, else detection in the background (cached results
        come back at once); the detected part is lifted about every 2 s while detection goes on."""
        from mpm_core.video.pairing import keypoints_beside

        beside = keypoints_beside(path) if people == 1 else None
        if beside is not None:
            self.document.open(path, reader=lambda _path: read_paired_input(beside, path, None))
            return
        self._detecting_path = path
        self.document.set_detecting(True)
        self.detect_bar.setRange(0, 0)
        self.detect_bar.show()
        self.cancel_detect_button.show()
        self.statusBar().showMessage(f"Detecting people in {path.name}…")
        self.detection.start(path, people=people)

    def detect_everyone(self) -> None:
        """Detect every person in the current video (YOLOX-nano boxes + MoveNet per box), then pick one."""
        data = self.document.input
        video = data.video if data is not None else None
        if video is None:
            self.statusBar().showMessage("Open a video first.", 5000)
            return
        self._video_tracks = None
        self.open_video(video, people=None)

    def cancel_detection(self) -> None:
        self.detection.cancel()

    def pair_video(self) -> None:
        """Show a video under a keypoint file's skeleton (its frames are the keypoint file's frame numbers)."""
        data = self.document.input
        if data is None or data.kind != "2d":
            self.statusBar().showMessage("Open a 2D keypoint file first.", 5000)
            return
        path, _ = QFileDialog.getOpenFileName(self, "Pair a video", self.last_dir, f"Videos ({_VIDEO_GLOBS})")
        if path:
            self.pair_video_path(Path(path))

    def pair_video_path(self, path: Path) -> None:
        data = self.document.input
        if data is None or data.kind != "2d":
            return
        data.video = Path(path)
        self.document.inputChanged.emit()

    def _input_from_detection(self, seq) -> InputData:
        tracks = self._video_tracks or [seq]
        return input_from_tracks(self._detecting_path, tracks, seq.person_id, video=self._detecting_path)

    def _on_detect_progress(self, done: int, total: int) -> None:
        self.detect_bar.setRange(0, max(1, total))
        self.detect_bar.setValue(done)
        self.detect_bar.setFormat("detecting %v / %m")

    def _on_detect_partial(self, seq) -> None:
        if seq.num_frames < MIN_PARTIAL_FRAMES:
            return
        doc = self.document
        doc.set_input(self._input_from_detection(seq), frame=doc.frame)

    def _on_detect_result(self, result) -> None:
        self._video_tracks = list(result.tracks) if len(result.tracks) > 1 else None
        for note in result.notes:
            self.statusBar().showMessage(note, 10000)

    def _on_detect_finished(self, seq) -> None:
        self._end_detection()
        doc = self.document
        frame = doc.frame if doc.input is not None and doc.input.video == self._detecting_path else 0
        doc.set_input(self._input_from_detection(seq), frame=frame)
        self.statusBar().showMessage(f"Detected {seq.num_frames} frames of {self._detecting_path.name}", 8000)

    def _on_detect_failed(self, message: str) -> None:
        self._end_detection()
        self.show_error("Could not detect people in the video", message)

    def _on_detect_cancelled(self) -> None:
        self._end_detection()
        self.statusBar().showMessage("Detection cancelled: the frames detected so far are kept", 8000)

    def _end_detection(self) -> None:
        self.document.set_detecting(False)
        self.detect_bar.hide()
        self.cancel_detect_button.hide()

    def open_sample(self) -> None:
        self.project_path = None
        self.document.open(SAMPLE_2D, reader=lambda p: read_input(p, None, SAMPLE_TRUTH))

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open pose file or project", self.last_dir, FILE_FILTER)
        if path:
            self.open_path(path)

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open OpenPose JSON folder", self.last_dir)
        if path:
            self.open_path(path)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_path(urls[0])

    def _remember(self, path: Path) -> None:
        store = paths.settings()
        recent = [p for p in (store.value("recent", []) or []) if isinstance(p, str) and p != str(path)]
        store.setValue("recent", [str(path)] + recent[: MAX_RECENT - 1])
        self._refresh_recent()

    def recent_files(self) -> list[str]:
        value = paths.settings().value("recent", []) or []
        return [value] if isinstance(value, str) else [v for v in value if isinstance(v, str)]

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_files():
            action = QAction(path, self)
            action.triggered.connect(lambda _=False, p=path: self.open_path(p))
            self.recent_menu.addAction(action)
        self.recent_menu.setEnabled(bool(self.recent_files()))

    def save_project(self) -> bool:
        if self.project_path is None:
            return self.save_project_as()
        return self._save_to(self.project_path)

    def save_project_as(self) -> bool:
        doc = self.document
        if doc.input is None or doc.input.path is None:
            self.show_error("Nothing to save", "Open a file first.")
            return False
        suggestion = str(Path(self.last_dir) / (doc.input.path.stem + SUFFIX))
        path, _ = QFileDialog.getSaveFileName(self, "Save project", suggestion, f"MPM Studio project (*{SUFFIX})")
        if not path:
            return False
        path = Path(path if path.endswith(SUFFIX) else path + SUFFIX)
        return self._save_to(path)

    def _save_to(self, path: Path) -> bool:
        try:
            save_project(self.document, path)
        except Exception as exc:  # PoseDataError or OSError: a dialog, the app keeps running
            self.show_error("Could not save the project", f"{path}: {exc}")
            return False
        self.project_path = path
        self.document.undo_stack.setClean()
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def export_dialog(self) -> ExportDialog | None:
        if self.document.result is None:
            self.show_error("Nothing to export", "Open a file and wait for the 3D first.")
            return None
        dialog = ExportDialog(self.document, self, self.last_dir)
        dialog.accepted.connect(lambda: self.statusBar().showMessage(f"Exported {dialog.written}", 8000))
        dialog.open()
        return dialog

    def export_video(self) -> None:
        try:
            from app.services.recorder import record_mp4
        except ImportError:
            self.show_error("Not available", "The MP4 recorder is not built in this version.")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export 3D view as MP4", self.last_dir, "MP4 video (*.mp4)")
        if path:
            record_mp4(self, self.viewport, self.document, path)

    # -- dialogs ------------------------------------------------------------------------------------------------
    def show_error(self, title: str, message: str = "") -> None:
        """Every reader or writer error is a dialog naming the file and the problem; the app keeps running."""
        if not message:
            title, message = "Error", title
        self.statusBar().showMessage(message, 10000)
        QMessageBox.critical(self, title, message)

    def preferences_dialog(self) -> None:
        dialog = PreferencesDialog(self.prefs, self)
        if dialog.exec():
            old = self.prefs
            self.prefs = dialog.preferences()
            self.prefs.save()
            apply_models_dir(self.prefs)
            self.autosaver.set_interval(self.prefs.autosave_s)
            if (old.model, old.device) != (self.prefs.model, self.prefs.device):
                self.document.set_setting("model", self.prefs.model)
                self.document.set_setting("device", self.prefs.device)

    def choose_person(self) -> None:
        data = self.document.input
        if data is None or len(data.tracks) < 2:
            self.statusBar().showMessage("This input has one person.", 5000)
            return
        self._pick_person(data.tracks)

    def _on_tracks(self, tracks: list) -> None:
        if self.config.person == "ask":
            QTimer.singleShot(0, lambda: self._pick_person(tracks))
        else:
            self.statusBar().showMessage(f"{len(tracks)} people in this file: Person > Choose person…", 8000)

    def _pick_person(self, tracks: list) -> None:
        current = self.document.input.person
        items = [f"person {t}" + ("  (shown: the longest track)" if t == current else "") for t in tracks]
        item, ok = QInputDialog.getItem(self, "Choose a person", "This file has several people:", items, 0, False)
        if ok:
            chosen = tracks[items.index(item)]
            if chosen == current:
                return
            data = self.document.input
            if self._video_tracks is not None and data.video is not None and data.path == data.video:
                # Tracks of a video's detection: no file to re-read, the tracks are kept.
                data = input_from_tracks(data.path, self._video_tracks, chosen, video=data.video)
                self.document.set_input(data, person_chosen=True)
            else:
                self.document.choose_person(chosen)

    def about(self) -> None:
        QMessageBox.about(
            self,
            "About MPM Studio",
            "MPM Studio turns 2D human pose sequences into 3D motion with MPM (masked pose modeling, "
            "arXiv 2306.17201).\nThe bundled sample uses ACCAD motion capture (CC BY 3.0).",
        )

    # -- status -------------------------------------------------------------------------------------------------
    def _on_input(self) -> None:
        if self._recovered is not None:
            self._recovered.unlink(missing_ok=True)
            self._recovered = None
        self._update_title()
        self._update_hidden()
        doc = self.document
        self.side_tabs.setCurrentWidget(self.probe_panel if doc.kind == "3d" else self.mask_tools)
        seq = doc.input.sequence
        self.statusBar().showMessage(
            f"{doc.input.name}: {seq.layout}, {seq.num_frames} frames at {seq.fps:g} fps", 8000
        )

    def _update_title(self, *_args) -> None:
        doc = self.document
        name = doc.input.name if doc.input else ""
        dirty = "" if doc.undo_stack.isClean() else " *"
        self.setWindowTitle(f"MPM Studio — {name}{dirty}" if name else "MPM Studio")

    def _update_hidden(self) -> None:
        hidden, frames = self.document.hidden_count()
        self.hidden_label.setText(f"hidden: {hidden} in {frames} frames")

    def _on_latency(self, kind: str, seconds: float) -> None:
        self.latency_label.setText(f"{kind} {seconds * 1000:.0f} ms")

    def _on_scene(self) -> None:
        scene = self.document.scene
        if scene is not None and scene.errors is not None:
            e = scene.errors
            self.error_label.setText(f"MPJPE {e.mpjpe_mm:.1f} mm · P-MPJPE {e.p_mpjpe_mm:.1f} mm")
        else:
            self.error_label.setText("")

    def _on_busy(self, busy: bool) -> None:
        if not busy:
            self.progress_bar.hide()

    def _on_model(self, name: str, device: str) -> None:
        self.model_label.setText(f"{device.upper()} · {name}")
        # The ~300,000 long-lived objects torch and Qt leave behind would make every full garbage collection stall
        # the UI thread 100-250 ms (late frames in playback); frozen, collections skip them. Once per process.
        if not gc.get_freeze_count():
            gc.collect()
            gc.freeze()

    def _on_progress(self, done: int, total: int) -> None:
        if total > 1 and done < total:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(done)
            self.progress_bar.show()
        else:
            self.progress_bar.hide()

    # -- closing ------------------------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:  # noqa: N802
        """Stop and join every worker; a clean exit deletes the autosave."""
        if self.playback is not None and hasattr(self.playback, "pause"):
            self.playback.pause()
        self.document.undo_stack.blockSignals(True)  # the stack is destroyed with the window
        self.detection.stop()
        self.view2d.video.close()
        self.service.stop()
        self.autosaver.discard()
        paths.settings().setValue("window/geometry", self.saveGeometry())
        self.closed.emit()
        super().closeEvent(event)
