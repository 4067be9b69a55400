"""The lifting service: one worker thread owns the ``LiftingEngine`` and the model; the UI thread never waits.

Jobs come from the document; results go back by signal (queued to the UI thread). Scheduling:

* the newest job wins: submitting a lift job cancels the running one (the engine stops between batches) and
  replaces any pending one, except that a live preview of the very mask a final job is for still runs first
  (a click gives a quick preview, then the two-pass result);
* a preview (``complete_first=False``, while a drag is in progress) never becomes the base of a later re-lift:
  only final, two-pass results are returned as ``committed``;
* after a final result the worker refits the scene (trajectory and floor over the whole sequence) unless a
  newer job is waiting; a preview is placed with the last full scene's placement (``Scene.with_rows``).

The model is loaded on the worker when the service starts, so the window appears before torch is imported.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal

from mpm_core.errors import PoseDataError

log = logging.getLogger(__name__)

#: Job kinds. lift: a whole 2D lift; relift: a mask edit (preview or final); complete: 3D completion;
#: probe: project 3D motion through a virtual camera and lift it; scene: refit the 3D view only.
LIFT, RELIFT, COMPLETE, PROBE, SCENE = "lift", "relift", "complete", "probe", "scene"


def default_engine_threads() -> int:
    """Engine threads: every core but one (the UI thread keeps one), at least one."""
    return max(1, (os.cpu_count() or 1) - 1)


@dataclass
class Job:
    """One request from the document. Arrays and results are shared, never modified.

    Fields:
        kind: one of LIFT, RELIFT, COMPLETE, PROBE, SCENE.
        token: the document's input generation (results for an older input are dropped by the document).
        mask: the mask to lift with.
        preview: RELIFT only: one masked pass, for display while a drag is in progress.
        base: RELIFT: the committed (two-pass) result to re-lift from; SCENE: the result to draw.
        sequence: LIFT: the H36M-17 2D input; COMPLETE/PROBE: the H36M-17 3D input (metres).
        camera: PROBE: the ``VirtualCamera``.
        projected: PROBE re-lifts and SCENE of a probe: the ``ProjectedMotion`` the 2D came from.
        options: ``ExportOptions`` for the scene (smoothing, bone lengths, coords).
        coords: "world" or "camera" for the scene.
        scene: RELIFT previews: the last full scene, whose placement a preview reuses.
        reference: the ghost: for a 2D input ``(T, 17, 3)`` truth in the camera frame (or None); for a 3D
            completion the input itself in its own frame, NaN where it has no joint.
        submitted: ``time.perf_counter()`` when the user's edit happened (for latency figures).
    """

    kind: str
    token: int
    mask: object = None
    preview: bool = False
    base: object = None
    sequence: object = None
    camera: object = None
    projected: object = None
    options: object = None
    coords: str = "world"
    scene: object = None
    reference: np.ndarray | None = None
    submitted: float = field(default_factory=time.perf_counter)
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)


@dataclass
class Outcome:
    """What a job produced.

    Fields:
        job: the job.
        result: a ``Reconstruction`` or a ``CompletionResult`` (None for SCENE).
        committed: True when ``result`` is a final, two-pass result (it may serve as a re-lift base).
        scene: the ``Scene`` to draw (a full refit, or a preview placed with the previous placement).
        full_scene: True when ``scene`` is a full refit.
        rows: ``(lo, hi)`` rows of the result that changed (the whole sequence for a full lift).
        projected: PROBE: the new ``ProjectedMotion``.
        latency_s: from the user's edit to this outcome, seconds.
        compute_s: time the worker spent on it, seconds.
    """

    job: Job
    result: object = None
    committed: bool = False
    scene: object = None
    full_scene: bool = False
    rows: tuple[int, int] = (0, 0)
    projected: object = None
    latency_s: float = 0.0
    compute_s: float = 0.0


def changed_rows(new: np.ndarray, old: np.ndarray) -> tuple[int, int]:
    """``(lo, hi)`` the first and one past the last row where two ``(T, ...)`` arrays differ ((0, 0) if none)."""
    diff = np.nonzero((new != old).reshape(len(new), -1).any(axis=1))[0]
    return (int(diff[0]), int(diff[-1]) + 1) if len(diff) else (0, 0)


class _Worker(QThread):
    """Runs jobs one at a time; owns the engine."""

    def __init__(self, service: LiftingService):
        super().__init__()
        self.service = service

    def run(self) -> None:
        self.service._work()


class LiftingService(QObject):
    """Owns a worker thread with the ``LiftingEngine``; the document submits jobs and listens to the signals.

    Args:
        model_path: checkpoint path or None for the shipped model.
        device: "auto", "cpu", "cuda" or "mps".
        threads: engine threads (None: ``default_engine_threads()``).
        model: an already loaded ``LoadedModel`` (tests load one per session); then ``model_path``/``device``
            are only reported.
    """

    modelLoading = Signal(str)  # what is being loaded
    modelReady = Signal(str, str)  # model name, device ("cpu", "cuda:0", ...)
    modelFailed = Signal(str)
    outcomeReady = Signal(object)  # Outcome
    jobFailed = Signal(str, object)  # message, Job
    progressChanged = Signal(int, int)  # windows done, total (whole lifts)

    def __init__(self, model_path=None, device: str = "auto", threads: int | None = None, model=None, parent=None):
        super().__init__(parent)
        self._model_path = model_path
        self._device = device
        self._threads = default_engine_threads() if threads is None else int(threads)
        self._model = model
        self.engine = None
        self._cond = threading.Condition()
        self._pending: list[Job] = []
        self._running: Job | None = None
        self._reload: tuple | None = None
        self._stopping = False
        self._worker = _Worker(self)
        self.model_name = ""
        self.device_name = ""
        self.jobs_done = 0

    # -- life cycle (UI thread) -------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker; it loads the model first."""
        with self._cond:
            self._reload = (self._model_path, self._device, self._model)
        self._worker.start()

    def stop(self) -> None:
        """Cancel everything and join the worker (the window calls this when it closes)."""
        with self._cond:
            self._stopping = True
            for job in self._pending:
                job.cancel.set()
            self._pending.clear()
            if self._running is not None:
                self._running.cancel.set()
            self._cond.notify_all()
        if self._worker.isRunning():
            self._worker.wait()

    @property
    def ready(self) -> bool:
        return self.engine is not None

    def set_model(self, model_path, device: str = "auto") -> None:
        """Load another checkpoint (or device) on the worker; pending jobs wait for it."""
        with self._cond:
            self._reload = (model_path, device, None)
            if self._running is not None:
                self._running.cancel.set()
            self._cond.notify_all()

    # -- scheduling (UI thread) -------------------------------------------------------------------------------------
    def submit(self, job: Job) -> None:
        """Queue ``job``; the newest wins (see the module docstring)."""
        with self._cond:
            keep: list[Job] = []
            for old in self._pending:
                same_mask_preview = old.kind == RELIFT and old.preview and job.kind == RELIFT and not job.preview
                same_mask_preview = same_mask_preview and old.mask is job.mask
                if same_mask_preview:
                    keep.append(old)
                else:
                    old.cancel.set()
            running = self._running
            if running is not None and not (running.kind == RELIFT and running.preview and running.mask is job.mask):
                # A scene refit or a lift for an older state is no longer wanted.
                running.cancel.set()
            self._pending = keep + [job]
            self._cond.notify_all()

    def cancel_all(self) -> None:
        with self._cond:
            for job in self._pending:
                job.cancel.set()
            self._pending.clear()
            if self._running is not None:
                self._running.cancel.set()

    def idle(self) -> bool:
        """True when no job is pending or running (tests and benchmarks wait for this)."""
        with self._cond:
            return not self._pending and self._running is None and self._reload is None

    # -- worker thread ----------------------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and self._reload is None and (not self._pending or self.engine is None):
                    self._cond.wait()
                if self._stopping:
                    return
                if self._reload is not None:
                    reload, self._reload = self._reload, None
                    job = None
                else:
                    job = self._pending.pop(0)
                    self._running = job
            if job is None:
                self._load(*reload)
                with self._cond:
                    self._cond.notify_all()
                continue
            try:
                self._run_job(job)
            finally:
                with self._cond:
                    self._running = None
                    self.jobs_done += 1
                    self._cond.notify_all()

    def _load(self, model_path, device: str, model) -> None:
        name = "the shipped model" if model_path in (None, "") else str(model_path)
        self.modelLoading.emit(name)
        try:
            from mpm_core.engine.lifter import LiftingEngine  # imports torch: on the worker, never the UI thread

            engine = LiftingEngine(
                None if model_path in (None, "") else model_path, device=device, threads=self._threads, model=model
            )
        except PoseDataError as exc:
            self.modelFailed.emit(str(exc))
            return
        except Exception as exc:  # a broken checkpoint must not take the app down
            log.error("model load failed:\n%s", traceback.format_exc())
            self.modelFailed.emit(f"{name}: could not load the model: {exc!r}")
            return
        self.engine = engine
        self.model_name = engine.model_name
        self.device_name = str(engine.device)
        self.modelReady.emit(self.model_name, self.device_name)

    def _run_job(self, job: Job) -> None:
        from mpm_core.engine.lifter import LiftCancelled

        start = time.perf_counter()
        try:
            outcome = self._compute(job)
        except LiftCancelled:
            return
        except PoseDataError as exc:
            if not job.cancel.is_set():
                self.jobFailed.emit(str(exc), job)
            return
        except Exception as exc:  # a bug must not take the app down: report it, keep the worker alive
            log.error("job %s failed:\n%s", job.kind, traceback.format_exc())
            if not job.cancel.is_set():
                self.jobFailed.emit(f"unexpected error while lifting: {exc!r}", job)
            return
        if outcome is None or job.cancel.is_set():
            return
        now = time.perf_counter()
        outcome.latency_s = now - job.submitted
        outcome.compute_s = now - start
        self.outcomeReady.emit(outcome)
        if outcome.committed and not outcome.full_scene:
            self._refit_scene_after(job, outcome)

    def _refit_scene_after(self, job: Job, outcome: Outcome) -> None:
        """After a final re-lift, the full scene refit, unless a newer job is already waiting."""
        with self._cond:
            if self._pending or self._stopping:
                return
        follow = Job(
            SCENE,
            job.token,
            mask=job.mask,
            base=outcome.result,
            projected=job.projected,
            options=job.options,
            coords=job.coords,
            reference=job.reference,
            submitted=job.submitted,
            cancel=job.cancel,
        )
        start = time.perf_counter()
        try:
            scene_outcome = self._compute(follow)
        except PoseDataError as exc:
            self.jobFailed.emit(str(exc), follow)
            return
        if job.cancel.is_set():
            return
        scene_outcome.latency_s = time.perf_counter() - job.submitted
        scene_outcome.compute_s = time.perf_counter() - start
        self.outcomeReady.emit(scene_outcome)

    def _progress(self, done: int, total: int) -> None:
        self.progressChanged.emit(done, total)

    def _compute(self, job: Job) -> Outcome | None:
        from mpm_core.engine import scene as scenes

        engine = self.engine
        if job.kind == LIFT:
            recon = engine.lift(job.sequence, job.mask, progress=self._progress, cancel=job.cancel)
            scene = scenes.scene_for_reconstruction(recon, job.options, job.reference, job.coords)
            return Outcome(job, recon, True, scene, True, (0, recon.num_frames))
        if job.kind == PROBE:
            from mpm_core.engine.masks import Mask
            from mpm_core.engine.probe import project_motion

            projected = project_motion(job.sequence, job.camera)
            seq2d = projected.seq2d
            # The projection decides what is missing (joints behind the camera); the user's edits are kept.
            mask = Mask.from_sequence(seq2d, 0.0)
            if job.mask is not None and job.mask.num_frames == mask.num_frames:
                mask = mask.with_user(job.mask.user)
            recon = engine.lift(seq2d, mask, progress=self._progress, cancel=job.cancel)
            scene = scenes.scene_for_probe(recon, projected, job.coords)
            return Outcome(job, recon, True, scene, True, (0, recon.num_frames), projected=projected)
        if job.kind == RELIFT:
            base = job.base
            recon = engine.relift(base, job.mask, cancel=job.cancel, complete_first=not job.preview)
            rows = changed_rows(recon.poses_3d, base.poses_3d)
            if job.projected is not None:  # a probe: errors need the whole sequence; cheap (no fitting)
                return Outcome(job, recon, not job.preview, scenes.scene_for_probe(recon, job.projected, job.coords),
                               True, rows)  # fmt: skip
            scene = job.scene
            if scene is not None and scene.root_camera is not None and scene.num_frames == recon.num_frames:
                scene = scenes.preview_scene(scene, recon, rows[0], rows[1], job.options)
                return Outcome(job, recon, not job.preview, scene, False, rows)
            scene = scenes.scene_for_reconstruction(recon, job.options, job.reference, job.coords)
            return Outcome(job, recon, not job.preview, scene, True, rows)
        if job.kind == COMPLETE:
            from app.state import CompletionResult

            hidden = job.mask.combined
            seq, filled = engine.complete(job.sequence, hidden, progress=self._progress, cancel=job.cancel)
            result = CompletionResult(seq, filled, job.mask)
            scene = scenes.scene_for_3d(seq.keypoints, seq.coords, job.coords, job.reference)
            return Outcome(job, result, True, scene, True, (0, seq.num_frames))
        if job.kind == SCENE:
            recon = job.base
            if job.projected is not None:
                scene = scenes.scene_for_probe(recon, job.projected, job.coords)
            elif hasattr(recon, "poses_3d"):
                scene = scenes.scene_for_reconstruction(recon, job.options, job.reference, job.coords)
            else:
                scene = scenes.scene_for_3d(recon.sequence.keypoints, recon.sequence.coords, job.coords, job.reference)
            return Outcome(job, None, False, scene, True, (0, 0))
        raise PoseDataError(f"unknown job kind {job.kind!r}")
