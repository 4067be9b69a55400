"""The state of one open session, as a QObject with signals. Views read it and send edits back through it.

The document holds the input (2D or 3D, path, person track), the engine's ``Mask`` with its origins, the current
result (a ``Reconstruction`` of a 2D lift or a ``CompletionResult`` of a 3D completion), the 3D ``Scene`` drawn,
the current frame, the selection and the settings. Every edit is a command on ``undo_stack``; results come from
the ``LiftingService`` by signal. Views never call each other: they subscribe to these signals.

One edit, end to end: a click in the 2D view -> ``toggle_joint`` pushes a ``MaskEdit`` -> ``maskChanged`` and a
job for the service (a one-pass preview, then the two-pass final) -> ``_on_outcome`` on the UI thread ->
``resultChanged`` / ``sceneChanged`` -> the views redraw. Undo pops the command: mask and result come back from
its stored rows without a model call.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QUndoStack

from app.commands import MaskEdit, ProbeEdit, SettingEdit
from app.state import (
    FORCED,
    LOW_CONFIDENCE,
    MISSING,
    MODE_COMPLETE,
    MODE_PROBE,
    SCOPE_ALL,
    SCOPE_FRAME,
    SCOPE_SELECTION,
    USER_HIDDEN,
    VISIBLE,
    CompletionResult,
    InputData,
    ProbeSettings,
    Settings,
    joint_states,
)
from mpm_core.engine.masks import Mask, joint_indices
from mpm_core.errors import PoseDataError
from mpm_core.sequence import PoseSequence2D, PoseSequence3D
from mpm_core.skeleton import H36M_JOINTS

log = logging.getLogger(__name__)

#: Cap on the memory the undo stack's stored rows may take; past it the oldest commands re-lift on undo.
DEFAULT_UNDO_MEMORY_BYTES = 256 * 1024 * 1024
#: Settings whose change is an undoable display edit (the others are preferences).
DISPLAY_SETTINGS = ("smoothing", "bone_normalize", "foot_locking", "height_m", "coords", "fov_deg")


def content_hash(path: Path) -> str:
    """SHA-256 of a file's bytes, or of a folder's files (names and bytes, sorted), hex."""
    if not path.is_dir():
        from mpm_core.video.models import sha256_of

        # Remembered per path, size and mtime: a video hashed for its detection cache is not read again.
        return sha256_of(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode())
        with open(file, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def read_input(path: str | Path, person: int | str | None = None, reference: str | Path | None = None) -> InputData:
    """Read a pose file or folder into ``InputData`` (2D: every track, one chosen; 3D: metres). Raises
    ``PoseDataError`` naming the file and the problem. Runs on a worker thread.

    ``reference``: a 3D file (camera frame, the input's frames and joints) drawn as the ghost of a 2D input.
    """
    data = _read_input(path, person)
    if reference is not None:
        from mpm_core.io import read_3d

        reference = Path(reference)
        ref = read_3d(reference).to_h36m().in_metres()
        if data.kind != "2d" or ref.coords != "camera" or ref.num_frames != data.num_frames:
            raise PoseDataError(
                f"a reference must be camera-frame 3D with the input's {data.num_frames} frames "
                f"(got {ref.coords}, {ref.num_frames} frames)",
                reference,
            )
        data.reference_camera = np.where(ref.visible[..., None], ref.keypoints, np.nan).astype(np.float32)
        data.reference_path, data.reference_hash = reference, content_hash(reference)
    return data


def automatic_mask(data: InputData, threshold: float) -> Mask:
    """The automatic mask of an input: missing joints, and (2D) joints scored below ``threshold``."""
    if data.kind == "2d":
        return Mask.from_sequence(data.h36m, threshold)
    missing = ~data.h36m.visible
    return Mask(np.zeros_like(missing), np.zeros_like(missing), missing, None)


def input_from_tracks(path: Path, tracks: list, person: int | str | None, video: Path | None = None) -> InputData:
    """``InputData`` of one of several 2D tracks (``person``: a track id, or None for the longest)."""
    from mpm_core.tracking import select_track

    try:
        track = select_track(tracks, "longest" if person is None else person)
    except PoseDataError as exc:
        raise PoseDataError(exc.problem, path, "person") from None
    ids = [t.person_id if t.person_id is not None else i for i, t in enumerate(tracks)]
    digest = content_hash(path) if path.exists() else ""
    return InputData(path, track, track.to_h36m(), ids, track.person_id, digest, None, video=video)


def read_paired_input(keypoints: Path, video: Path, person: int | str | None) -> InputData:
    """A keypoint file (or OpenPose folder) shown over ``video``."""
    data = _read_input(keypoints, person)
    data.video = video
    return data


def read_video_input(path: Path, person: int | str | None, people: int | None = 1) -> InputData:
    """A video's 2D: the keypoint file beside it when there is one, else its detection (from the detection
    cache when it was detected before: instant; otherwise detected here, on the caller's worker thread)."""
    from mpm_core.video.detectors import make_detector
    from mpm_core.video.pairing import keypoints_beside
    from mpm_core.video.pipeline import detect_video_cached

    beside = keypoints_beside(path)
    if beside is not None:
        return read_paired_input(beside, path, person)
    result = detect_video_cached(path, make_detector(people))
    if not result.tracks:
        raise PoseDataError("nobody was detected in the video", path)
    return input_from_tracks(path, result.tracks, person, video=path)


def _read_input(path: str | Path, person: int | str | None) -> InputData:
    from mpm_core.io import load_2d, load_3d
    from mpm_core.io.detect import detect_format, is_3d_format
    from mpm_core.video import is_video_path

    path = Path(path)
    if is_video_path(path):
        return read_video_input(path, person)
    if is_3d_format(detect_format(path)):
        seq = load_3d(path).sequence
        h36m = seq.to_h36m().in_metres()
        return InputData(path, seq, h36m, [], None, content_hash(path))
    return input_from_tracks(path, load_2d(path).tracks, person)


def load_project_session(path: str | Path) -> tuple[InputData, dict]:
    """Read a project file and its input: ``(InputData, {mask, settings, probe, frame, notes})``. A changed
    input with the same frame count opens with a note; a different frame count is an error."""
    from app.services.project import read_project

    project = read_project(path)
    if not project.input_path.exists():
        raise PoseDataError(f"the project's input {project.input_path} is missing", project.path, "input.path")
    data = read_input(project.input_path, project.person, project.reference_path)
    notes = []
    if data.content_hash != project.input_hash:
        notes.append(f"{project.input_path.name} changed since the project was saved")
    settings = project.settings
    if project.threshold is not None:
        settings = settings.replace(threshold=project.threshold)
    mask = project.mask_for(automatic_mask(data, settings.threshold))
    restore = {"mask": mask, "settings": settings, "probe": project.probe, "frame": project.frame, "notes": notes}
    return data, restore


class _LoadSignals(QObject):
    loaded = Signal(object, object)  # InputData, extra (dict)
    failed = Signal(str, str)  # message, path


class _LoadTask(QRunnable):
    """Reads a file off the UI thread with ``reader(path)``."""

    def __init__(self, path: str, reader, extra: dict | None = None):
        super().__init__()
        self.path, self.reader, self.extra = path, reader, extra or {}
        self.signals = _LoadSignals()

    def run(self) -> None:
        try:
            data = self.reader(self.path)
        except PoseDataError as exc:
            self.signals.failed.emit(str(exc), self.path)
        except OSError as exc:
            self.signals.failed.emit(f"{self.path}: {exc.strerror or exc}", self.path)
        except Exception as exc:  # an unexpected reader bug must not take the app down
            log.exception("reading %s failed", self.path)
            self.signals.failed.emit(f"{self.path}: unexpected error: {exc!r}", self.path)
        else:
            self.signals.loaded.emit(data, self.extra)


class Document(QObject):
    """One session. Read the attributes; change them through the methods (they push undo commands)."""

    inputChanged = Signal()
    maskChanged = Signal(int, int)  # rows lo, hi changed
    resultChanged = Signal(int, int)  # rows of the shown result that changed
    sceneChanged = Signal()
    frameChanged = Signal(int)
    selectionChanged = Signal()
    settingsChanged = Signal(str)  # key
    probeChanged = Signal()
    modelChanged = Signal(str, str)  # model name, device
    loadingChanged = Signal(bool)
    busyChanged = Signal(bool)  # a lift is running
    progressChanged = Signal(int, int)
    statusMessage = Signal(str)
    errorRaised = Signal(str, str)  # title, message
    latencyMeasured = Signal(str, float)  # "preview" / "final" / "scene" / "lift", seconds
    tracksAvailable = Signal(list)  # person ids, when the input has several
    detectingChanged = Signal(bool)  # a video's detection is running: mask edits wait until it ends

    def __init__(self, service=None, parent: QObject | None = None, undo_memory_bytes: int = DEFAULT_UNDO_MEMORY_BYTES):
        super().__init__(parent)
        self.input: InputData | None = None
        self.mask: Mask | None = None
        self.result = None
        self.committed = None
        self.scene = None
        self.projected = None
        self.probe = ProbeSettings()
        self.settings = Settings()
        self.frame = 0
        self.selected_joints: tuple[int, ...] = ()
        self.selected_frames: tuple[int, int] | None = None
        self.undo_stack = QUndoStack(self)
        self.undo_memory_bytes = int(undo_memory_bytes)
        self.model_name = ""
        self.device_name = ""
        self.last_latency: dict[str, float] = {}
        self.busy = False
        self.detecting = False
        self._token = 0
        self._drag_ids = itertools.count(1)
        self._drag_id: int | None = None
        self._loading: _LoadTask | None = None
        self.service = None
        if service is not None:
            self.attach_service(service)

    # -- the service --------------------------------------------------------------------------------------------
    def attach_service(self, service) -> None:
        self.service = service
        service.outcomeReady.connect(self._on_outcome)
        service.jobFailed.connect(self._on_job_failed)
        service.modelReady.connect(self._on_model_ready)
        service.modelFailed.connect(lambda msg: self.errorRaised.emit("Could not load the model", msg))
        service.modelLoading.connect(lambda name: self.statusMessage.emit(f"Loading {name}…"))
        service.progressChanged.connect(self.progressChanged)

    def _on_model_ready(self, name: str, device: str) -> None:
        self.model_name, self.device_name = name, device
        self.modelChanged.emit(name, device)
        if self.input is not None:
            self._request_full()

    # -- reading ------------------------------------------------------------------------------------------------
    @property
    def num_frames(self) -> int:
        return 0 if self.input is None else self.input.num_frames

    @property
    def kind(self) -> str | None:
        return None if self.input is None else self.input.kind

    @property
    def lifts_2d(self) -> bool:
        """True when the result is a 2D lift (a 2D input, or a 3D input in the virtual-camera mode)."""
        return self.input is not None and (self.input.kind == "2d" or self.probe.mode == MODE_PROBE)

    def open(self, path: str | Path, person: int | str | None = None, reader=None, extra: dict | None = None) -> None:
        """Start reading ``path`` on the thread pool; ``inputChanged`` or ``errorRaised`` follows."""
        task = _LoadTask(str(path), reader or (lambda p: read_input(p, person)), extra)
        task.signals.loaded.connect(self._on_loaded)
        task.signals.failed.connect(self._on_load_failed)
        self._loading = task
        self.loadingChanged.emit(True)
        QThreadPool.globalInstance().start(task)

    def open_project(self, path: str | Path) -> None:
        """Reopen a saved project (input, person, reference, mask, settings, 3D mode, frame) on the thread pool."""
        self.open(path, reader=load_project_session)

    def _on_loaded(self, data, extra: dict) -> None:
        if isinstance(data, tuple):  # a project: (InputData, dict of what to restore)
            data, extra = data
        for note in extra.pop("notes", []):
            self.statusMessage.emit(note)
        self._loading = None
        self.loadingChanged.emit(False)
        self.set_input(data, **extra)

    def _on_load_failed(self, message: str, path: str) -> None:
        self._loading = None
        self.loadingChanged.emit(False)
        self.errorRaised.emit("Could not open file", message)

    def set_input(
        self,
        data: InputData,
        mask: Mask | None = None,
        settings: Settings | None = None,
        probe: ProbeSettings | None = None,
        frame: int = 0,
        person_chosen: bool = False,
    ) -> None:
        """Show a new input (clears the undo history); ``mask``/``settings``/``probe`` restore a project.
        ``tracksAvailable`` announces several people unless the user just chose one (``person_chosen``)."""
        if self.service is not None:
            self.service.cancel_all()
        self._token += 1
        self.input = data
        if settings is not None:
            self.settings = settings
        if probe is not None:
            self.probe = probe
        elif data.kind == "3d":
            self.probe = ProbeSettings(MODE_PROBE if data.h36m.coords == "world" else MODE_COMPLETE)
        self.undo_stack.clear()
        self.mask = mask if mask is not None else self._automatic_mask()
        self.result = self.committed = self.scene = self.projected = None
        self.frame = max(0, min(int(frame), data.num_frames - 1))
        self.selected_joints, self.selected_frames = (), None
        self.inputChanged.emit()
        self.maskChanged.emit(0, data.num_frames)
        self.frameChanged.emit(self.frame)
        self.selectionChanged.emit()
        if len(data.tracks) > 1 and not person_chosen:
            self.tracksAvailable.emit(list(data.tracks))
        self._request_full()

    def _automatic_mask(self) -> Mask:
        return automatic_mask(self.input, self.settings.threshold)

    def choose_person(self, person: int) -> None:
        """Re-read the input with another person track."""
        if self.input is None or self.input.path is None:
            return
        # A reference belongs to one person: it is not carried over; a paired video is. The picker is not offered
        # again.
        video = self.input.video

        def reader(path):
            data = read_input(path, person)
            data.video = data.video or video
            return data

        self.open(self.input.path, reader=reader, extra={"person_chosen": True})

    # -- what the views draw ------------------------------------------------------------------------------------
    def states(self, lo: int, hi: int) -> np.ndarray:
        """``(hi-lo, 17)`` joint state codes (``app.state.VISIBLE`` ...)."""
        return joint_states(self.mask, lo, hi)

    def input_2d(self) -> PoseSequence2D | None:
        """The 2D the model lifts: the input's H36M-17 2D, or a virtual camera's view of a 3D input."""
        if self.input is None:
            return None
        if self.input.kind == "2d":
            return self.input.h36m
        return None if self.projected is None else self.projected.seq2d

    def hidden_count(self) -> tuple[int, int]:
        """(hidden joint-frames, frames with any hidden joint) of the current mask."""
        if self.mask is None:
            return 0, 0
        combined = self.mask.combined
        return int(combined.sum()), int(combined.any(axis=1).sum())

    # -- frame and selection ------------------------------------------------------------------------------------
    def set_frame(self, frame: int) -> None:
        if self.input is None:
            return
        frame = max(0, min(int(frame), self.num_frames - 1))
        if frame != self.frame:
            self.frame = frame
            self.frameChanged.emit(frame)

    def set_selection(self, joints=None, frames: tuple[int, int] | None | str = "keep") -> None:
        """Select joints (indices or names; None keeps them) and a frame range ``(lo, hi)`` (None clears it)."""
        if joints is not None:
            self.selected_joints = tuple(joint_indices(joints)) if len(joints) else ()
        if frames != "keep":
            if frames is not None:
                lo, hi = sorted((int(frames[0]), int(frames[1])))
                lo, hi = max(0, lo), min(self.num_frames, hi)
                frames = (lo, hi) if hi > lo else None
            self.selected_frames = frames
        self.selectionChanged.emit()

    def scope_rows(self, scope: str) -> tuple[int, int]:
        """Rows ``(lo, hi)`` an edit with ``scope`` covers (the selection falls back to the current frame)."""
        if scope == SCOPE_ALL:
            return 0, self.num_frames
        if scope == SCOPE_SELECTION and self.selected_frames is not None:
            return self.selected_frames
        return self.frame, self.frame + 1

    # -- mask edits ---------------------------------------------------------------------------------------------
    def set_detecting(self, detecting: bool) -> None:
        """While a video is being detected the input grows; mask edits wait until detection ends."""
        if detecting != self.detecting:
            self.detecting = detecting
            self.detectingChanged.emit(detecting)

    def _edits_wait(self) -> bool:
        if self.detecting:
            self.statusMessage.emit("Detection is running: mask edits wait until it ends")
        return self.detecting

    def begin_drag(self) -> None:
        """Edits until ``end_drag`` are one undo command and lifted as one-pass previews."""
        self._drag_id = next(self._drag_ids)

    def end_drag(self) -> None:
        """The drag is over: compact its command and ask for the two-pass result."""
        if self._drag_id is None:
            return
        self._drag_id = None
        top = self._top_mask_edit()
        if top is not None:
            top.compact()
        self._request_relift(preview=False)

    @property
    def dragging(self) -> bool:
        return self._drag_id is not None

    def _push_mask(self, after: Mask, text: str) -> None:
        if self.mask is None or after == self.mask:
            return
        command = MaskEdit(self, self.mask, after, text, self._drag_id)
        self.undo_stack.push(command)
        if self._drag_id is None:
            command.compact()
        self._cap_undo_memory()

    def toggle_joint(self, joint: int | str, scope: str = SCOPE_FRAME) -> None:
        """A click on a joint: hide a seen joint, show a joint the user hid, force a low-confidence joint visible
        (or un-force it). A joint missing from the input cannot be shown: the status bar says so."""
        if self._edits_wait():
            return
        if self.mask is None:
            return
        j = joint_indices(joint)[0]
        name = H36M_JOINTS[j]
        lo, hi = self.scope_rows(scope)
        state = int(self.states(self.frame, self.frame + 1)[0, j])
        user, forced = self.mask.user.copy(), self.mask.forced.copy()
        if state == MISSING:
            self.statusMessage.emit(f"{name} is missing from the input in frame {self.frame}: it cannot be forced")
            return
        if state == VISIBLE:
            user[lo:hi, j], text = True, f"Hide {name}"
        elif state == USER_HIDDEN:
            user[lo:hi, j], text = False, f"Show {name}"
        elif state == LOW_CONFIDENCE:
            forced[lo:hi, j], text = True, f"Force {name} visible"
        elif state == FORCED:
            forced[lo:hi, j], text = False, f"Un-force {name}"
        else:  # pragma: no cover - every state is handled above
            return
        after = self.mask.with_user(user).with_forced(forced)
        if state == LOW_CONFIDENCE and not after.forced[lo:hi, j].any():
            self.statusMessage.emit(f"{name} is not below the confidence threshold in frames {lo}-{hi - 1}")
        self._push_mask(after, text + _scope_text(lo, hi))
        if self._drag_id is None:
            self._request_relift(preview=True)
            self._request_relift(preview=False)

    def paint(self, joints, lo: int, hi: int, hide: bool) -> None:
        """Hide (``hide``) or show joints over rows ``lo:hi`` (the heatmap's brush). Showing also forces
        low-confidence joints visible. Inside a drag, the edits merge and are previewed."""
        if self._edits_wait():
            return
        if self.mask is None:
            return
        lo, hi = max(0, int(lo)), min(self.num_frames, int(hi))
        if hi <= lo:
            return
        idx = joint_indices(joints)
        user, forced = self.mask.user.copy(), self.mask.forced.copy()
        for j in idx:
            user[lo:hi, j] = hide
            forced[lo:hi, j] = not hide
        after = self.mask.with_user(user).with_forced(forced)
        names = ", ".join(H36M_JOINTS[j] for j in idx) if len(idx) <= 3 else f"{len(idx)} joints"
        self._push_mask(after, f"{'Hide' if hide else 'Show'} {names}" + _scope_text(lo, hi))
        self._request_relift(preview=self._drag_id is not None)

    def set_threshold(self, threshold: float) -> None:
        """Recompute the automatic mask at ``threshold`` (user edits kept). Inside a drag, merged and previewed."""
        if self._edits_wait():
            return
        if self.mask is None or self.input is None or not self.lifts_2d or self.input.kind != "2d":
            self.settings = self.settings.replace(threshold=float(threshold))
            self.settingsChanged.emit("threshold")
            return
        after = self.mask.with_threshold(self.input.h36m, threshold)
        self._push_mask(after, f"Confidence threshold {threshold:.2f}")
        self._request_relift(preview=self._drag_id is not None)

    def apply_preset(self, kind: str, **kw) -> None:
        """Mask presets: ``random`` (ratio, seed, lo, hi), ``limb`` (limb, lo, hi), ``frames`` (lo, hi)."""
        if self._edits_wait():
            return
        if self.mask is None:
            return
        lo, hi = int(kw.get("lo", 0)), int(kw.get("hi", self.num_frames))
        if kind == "random":
            ratio, seed = float(kw["ratio"]), int(kw.get("seed", 0))
            after = self.mask.with_random_joints(ratio, seed, lo, hi)
            text = f"Hide {ratio:.0%} random joints (seed {seed})"
        elif kind == "limb":
            after = self.mask.with_user_range(kw["limb"], lo, hi)
            text = f"Hide {kw['limb'].replace('_', ' ')}"
        elif kind == "frames":
            after = self.mask.with_user_range("all", lo, hi)
            text = "Hide frames"
        else:
            raise PoseDataError(f"unknown mask preset {kind!r}")
        self._push_mask(after, text + _scope_text(lo, hi))
        self._request_relift(preview=False)

    def clear_mask(self) -> None:
        if self._edits_wait():
            return
        if self.mask is not None:
            self._push_mask(self.mask.cleared(), "Clear mask")
            self._request_relift(preview=False)

    def invert_mask(self) -> None:
        if self._edits_wait():
            return
        if self.mask is not None:
            self._push_mask(self.mask.inverted(), "Invert mask")
            self._request_relift(preview=False)

    def _apply_mask(self, mask: Mask, result_rows, from_push: bool = False) -> None:
        """Commands call this. At the push, only set the mask (the editing method asks for the lift). On undo and
        redo, restore the result from the command's stored rows when the current committed result is the one
        those rows were taken against (no model call); otherwise re-lift."""
        old = self.mask
        self.mask = mask
        lo, hi = _mask_span(old, mask)
        if mask.threshold is not None and self.settings.threshold != mask.threshold:
            self.settings = self.settings.replace(threshold=float(mask.threshold))
            self.settingsChanged.emit("threshold")
        self.maskChanged.emit(lo, hi)
        if from_push:
            return
        committed = self.committed
        if result_rows is not None and committed is not None and committed.mask == old:
            restored = result_rows.apply(committed, mask)
            self._show_result(restored, committed=True, rows=(result_rows.lo, result_rows.lo + _rows_len(result_rows)))
            self._request_scene_for_restore(result_rows)
        else:
            self._request_relift(preview=False)

    def _top_mask_edit(self) -> MaskEdit | None:
        index = self.undo_stack.index() - 1
        command = self.undo_stack.command(index) if index >= 0 else None
        return command if isinstance(command, MaskEdit) else None

    def _cap_undo_memory(self) -> None:
        """Past the cap, drop the stored result rows of the oldest commands (they re-lift on undo)."""
        stack = self.undo_stack
        commands = [stack.command(i) for i in range(stack.count())]
        total = sum(getattr(c, "nbytes", 0) for c in commands)
        for command in commands:
            if total <= self.undo_memory_bytes:
                break
            if isinstance(command, MaskEdit):
                before = command.nbytes
                command.drop_results()
                total -= before - command.nbytes

    def undo_memory(self) -> int:
        """Bytes the undo stack's stored rows take."""
        stack = self.undo_stack
        return sum(getattr(stack.command(i), "nbytes", 0) for i in range(stack.count()))

    # -- settings and the 3D input's mode -----------------------------------------------------------------------
    def set_setting(self, key: str, value, merge: bool = False) -> None:
        """Change a setting. Display settings are undoable edits; the threshold is a mask edit; model and device
        reload the model."""
        if key == "threshold":
            self.set_threshold(float(value))
            return
        before = getattr(self.settings, key)
        if before == value:
            return
        if key in DISPLAY_SETTINGS:
            self.undo_stack.push(SettingEdit(self, key, before, value, f"Set {key.replace('_', ' ')}", merge))
            return
        self._apply_setting(key, value)
        if key in ("model", "device") and self.service is not None:
            self.service.set_model(self.settings.model or None, self.settings.device)

    def _apply_setting(self, key: str, value) -> None:
        self.settings = self.settings.replace(**{key: value})
        self.settingsChanged.emit(key)
        if key in DISPLAY_SETTINGS and self.result is not None:
            self._request_scene()

    def set_probe(self, mode: str | None = None, camera=None, merge: bool = False) -> None:
        """Switch the 3D input between completion and the virtual camera, or move the camera."""
        if self.input is None or self.input.kind != "3d":
            return
        after = self.probe
        if mode is not None:
            if mode not in (MODE_COMPLETE, MODE_PROBE):
                raise PoseDataError(f"unknown 3D mode {mode!r}")
            if mode == MODE_PROBE and self.input.h36m.coords != "world":
                self.statusMessage.emit("camera-frame 3D has no world to place a virtual camera in")
                return
            after = ProbeSettings(mode, after.camera)
        if camera is not None:
            after = ProbeSettings(after.mode, camera)
        if after != self.probe:
            self.undo_stack.push(ProbeEdit(self, self.probe, after, "Virtual camera", merge))

    def _apply_probe(self, probe: ProbeSettings) -> None:
        mode_changed = probe.mode != self.probe.mode
        self.probe = probe
        if mode_changed:
            # The other task works on other data: its own automatic mask, no stale result.
            self.mask = self._automatic_mask()
            self.result = self.committed = self.scene = None
            self.projected = None
            self.maskChanged.emit(0, self.num_frames)
        self.probeChanged.emit()
        self._request_full()

    # -- requests to the service ----------------------------------------------------------------------------------
    def _options(self):
        from mpm_core.export.options import ExportOptions

        s = self.settings
        return ExportOptions(
            coords=s.coords,
            bone_normalize=s.bone_normalize,
            foot_locking=s.foot_locking,
            height_m=s.height_m,
            smooth=s.smoothing,
            fov_deg=s.fov_deg,
        )

    def _job(self, kind: str, **kw):
        from app.services.lifting import Job

        return Job(kind, self._token, options=self._options(), coords=self.settings.coords, **kw)

    def _reference(self):
        data = self.input
        if data.kind == "3d":
            return np.where(data.h36m.visible[..., None], data.h36m.keypoints, np.nan)
        return data.reference_camera

    def _request_full(self) -> None:
        """Lift (or complete) the whole input with the current mask."""
        from app.services.lifting import COMPLETE, LIFT, PROBE

        if self.service is None or self.input is None:
            return
        data = self.input
        if data.kind == "2d":
            job = self._job(LIFT, mask=self.mask, sequence=data.h36m, reference=data.reference_camera)
        elif self.probe.mode == MODE_PROBE:
            job = self._job(PROBE, mask=self.mask, sequence=data.h36m, camera=self.probe.camera)
        else:
            job = self._job(COMPLETE, mask=self.mask, sequence=data.h36m, reference=self._reference())
        self._set_busy(True)
        self.service.submit(job)

    def _request_relift(self, preview: bool) -> None:
        """Re-lift the committed result under the current mask (preview: one pass, for display only)."""
        from app.services.lifting import COMPLETE, RELIFT

        if self.service is None or self.input is None:
            return
        if self.committed is None or not self.lifts_2d:
            if not self.lifts_2d and not preview:  # 3D completion: the window cache makes it incremental
                self._set_busy(True)
                job = self._job(COMPLETE, mask=self.mask, sequence=self.input.h36m, reference=self._reference())
                self.service.submit(job)
            elif self.committed is None and self.lifts_2d and not preview:
                self._request_full()
            return
        job = self._job(
            RELIFT,
            mask=self.mask,
            preview=preview,
            base=self.committed,
            projected=self.projected,
            scene=self.scene if self.scene is not None and self.scene.coords == self.settings.coords else None,
            reference=self.input.reference_camera if self.input.kind == "2d" else None,
        )
        self._set_busy(True)
        self.service.submit(job)

    def _request_scene_for_restore(self, rows) -> None:
        """After an undo or redo restored result rows: place them at once with the current placement, then refit."""
        scene = self.scene
        lo = rows.lo
        hi = lo + _rows_len(rows)
        if (
            hi > lo
            and scene is not None
            and scene.root_camera is not None
            and self.projected is None
            and hasattr(self.result, "poses_3d")
            and scene.coords == self.settings.coords
        ):
            from mpm_core.engine.scene import preview_scene

            self.scene = preview_scene(scene, self.result, lo, hi, self._options())
            self.sceneChanged.emit()
        self._request_scene()

    def _request_scene(self) -> None:
        from app.services.lifting import SCENE

        if self.service is None or self.result is None:
            return
        reference = self._reference() if self.input.kind == "3d" else self.input.reference_camera
        job = self._job(SCENE, mask=self.mask, base=self.result, projected=self.projected, reference=reference)
        self.service.submit(job)

    def _set_busy(self, busy: bool) -> None:
        if busy != self.busy:
            self.busy = busy
            self.busyChanged.emit(busy)

    # -- results ------------------------------------------------------------------------------------------------
    def _on_outcome(self, outcome) -> None:
        job = outcome.job
        if job.token != self._token:
            return  # an older input's
        from app.services.lifting import PROBE, SCENE

        if job.kind == SCENE:
            if job.base is self.result:
                self.scene = outcome.scene
                self._record_latency("scene", outcome.latency_s)
                self.sceneChanged.emit()
            return
        result = outcome.result
        if job.kind == PROBE:
            self.projected = outcome.projected
            self.probeChanged.emit()  # the 2D view now shows the virtual camera's image
            if self.mask is None or result.mask.num_frames != self.mask.num_frames or job.mask is self.mask:
                self.mask = result.mask
                self.maskChanged.emit(0, self.num_frames)
        if result.mask != self.mask:
            if outcome.committed and job.kind != PROBE:
                self.committed = result  # still a valid base for the next re-lift
            return
        top = self._top_mask_edit()
        if outcome.committed and top is not None and top.is_after(self.mask):
            top.record_results(result)
            self._cap_undo_memory()
        kind = "preview" if job.preview else ("final" if job.kind == "relift" else "lift")
        self._record_latency(kind, outcome.latency_s)
        self._show_result(result, outcome.committed, outcome.rows)
        self.scene = outcome.scene
        self.sceneChanged.emit()
        if outcome.committed:
            self._set_busy(False)

    def _show_result(self, result, committed: bool, rows: tuple[int, int]) -> None:
        self.result = result
        if committed:
            self.committed = result
        lo, hi = rows
        self.resultChanged.emit(lo, hi)

    def _record_latency(self, kind: str, seconds: float) -> None:
        self.last_latency[kind] = seconds
        self.latencyMeasured.emit(kind, seconds)

    def _on_job_failed(self, message: str, job) -> None:
        if job.token != self._token:
            return
        self._set_busy(False)
        self.errorRaised.emit("Lifting failed", message)

    # -- per-frame data for the views -------------------------------------------------------------------------------
    def completed_2d(self, frame: int) -> np.ndarray | None:
        """``(17, 2)`` pixels: the model's 2D for hidden joints, the input elsewhere (None before a result)."""
        result = self.result
        if result is None or isinstance(result, CompletionResult) or not hasattr(result, "completed_2d"):
            return None
        return result.completed_2d[frame]

    def hidden_rows(self) -> np.ndarray | None:
        return None if self.mask is None else self.mask.combined

    def time_text(self, frame: int | None = None) -> str:
        frame = self.frame if frame is None else frame
        if self.input is None:
            return ""
        return f"{frame + 1} / {self.num_frames}  ({frame / self.input.fps:.2f} s)"

    def now(self) -> float:
        return time.perf_counter()


def _scope_text(lo: int, hi: int) -> str:
    return f" (frame {lo})" if hi - lo == 1 else f" (frames {lo}-{hi - 1})"


def _mask_span(a: Mask | None, b: Mask) -> tuple[int, int]:
    if a is None or a.num_frames != b.num_frames:
        return 0, b.num_frames
    from app.commands import mask_span

    lo, hi = mask_span(a, b)
    return (lo, hi) if hi > lo else (0, 0)


def _rows_len(rows) -> int:
    return len(next(iter(rows.arrays.values())))


__all__ = ["Document", "InputData", "PoseSequence3D", "read_input"]
