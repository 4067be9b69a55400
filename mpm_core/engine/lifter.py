"""The lifting engine: the only caller of the network at inference (the CLI and the app both go through it).

It lifts 2D sequences of any length (one frame to hours) in overlapping windows blended without seams
(``windows.py``), runs windows in batches, and caches each window's output keyed by its inputs and mask
(``cache.py``) so a mask edit re-runs only the windows it touches (``relift``). Windows are streamed batch by
batch into ``(T, 17, C)`` accumulators, so memory follows the sequence, not the number of windows.

Thread safety: one lock around the network; the cache has its own lock. Long calls report progress
``(windows done, windows total)`` and stop between batches when a ``threading.Event`` is set, raising
``LiftCancelled`` (no partial result).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mpm_core.engine.cache import DEFAULT_CACHE_BYTES, WindowCache, window_key
from mpm_core.engine.masks import Mask
from mpm_core.engine.result import Reconstruction
from mpm_core.engine.windows import WindowPlan
from mpm_core.errors import PoseDataError
from mpm_core.model.augment import mean_with_mirror_images, with_mirror_images
from mpm_core.model.normalization import denormalize_screen, normalize_screen
from mpm_core.sequence import PoseSequence2D, PoseSequence3D

#: Windows per network call when not told otherwise (a good CPU/GPU compromise; see benchmarks/README.md).
DEFAULT_BATCH_SIZE = 64
#: Frames shared by neighbouring windows, as a share of the window (81 frames -> 10): enough for a smooth
#: cross-fade (a third of a second at 30 fps) while costing only ~14% more network time than no overlap.
DEFAULT_OVERLAP_SHARE = 0.125

ProgressCallback = Callable[[int, int], None]


class LiftCancelled(Exception):
    """Raised when the caller's cancel event is set during a lift; no partial result is returned."""


@dataclass
class EngineStats:
    """Counters since the engine was made: network calls, windows run through the network, windows from cache."""

    network_calls: int = 0
    windows_computed: int = 0
    windows_cached: int = 0


@dataclass
class _Job:
    """One sequence prepared for the network (all arrays cover the whole sequence, T rows).

    values: ``(T, 17, C)`` float32 model-space coordinates, or pixels when ``to_model`` is set (applied per batch).
    hidden: ``(T, 17)`` bool joints the model must not see; frame_hidden ``(T,)`` bool whole frames hidden.
    """

    modality: str
    values: np.ndarray
    hidden: np.ndarray
    frame_hidden: np.ndarray
    plan: WindowPlan
    to_model: Callable[[np.ndarray], np.ndarray] | None = None
    complete_first: bool = True
    flip: bool = False


def _resolve_threads(threads: int | None) -> int:
    count = (os.cpu_count() or 1) if threads is None else int(threads)
    if count < 1:
        raise PoseDataError(f"thread count must be >= 1, got {threads}")
    return count


class LiftingEngine:
    """Lifts H36M-17 2D sequences to root-relative 3D, and completes 3D sequences, with a checkpoint.

    Args:
        model_path: checkpoint (``.safetensors``/``.json``/stem); None = the shipped model.
        device: "auto" (CUDA, then Apple MPS, then CPU), "cpu", "cuda", "mps"; half precision on CUDA.
        batch_size: windows per network call (>= 1).
        overlap: frames shared by neighbouring windows (0 <= overlap < window); None = a quarter window.
        threads: torch CPU threads; None = every core. Note: torch's thread count is process-wide.
        cache_bytes: bound on the per-window cache (0 disables it).
        model: an already loaded ``LoadedModel`` (then ``model_path`` and ``device`` are ignored).
        complete_first: lift windows with hidden joints in two passes, completing the hidden 2D first
            (``LoadedModel.lift``; measured far better on occluded input, see the model card); False = one masked
            pass (half the network time for such windows).
    """

    def __init__(
        self,
        model_path: str | os.PathLike | None = None,
        device: str = "auto",
        batch_size: int = DEFAULT_BATCH_SIZE,
        overlap: int | None = None,
        threads: int | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        model=None,
        complete_first: bool = True,
    ):
        if isinstance(batch_size, bool) or int(batch_size) < 1:
            raise PoseDataError(f"batch size must be >= 1, got {batch_size}")
        torch.set_num_threads(_resolve_threads(threads))
        if model is None:
            from mpm_core.model.checkpoint import default_model_path, load_model

            model = load_model(default_model_path() if model_path is None else model_path, device=device)
        self.model = model
        self.window = int(model.config.window)
        if int(model.config.num_joints) != 17:
            raise PoseDataError(f"model has {model.config.num_joints} joints; the engine needs H36M-17", model.path)
        overlap = round(self.window * DEFAULT_OVERLAP_SHARE) if overlap is None else int(overlap)
        if not 0 <= overlap < self.window:
            raise PoseDataError(f"overlap {overlap} must be in [0, {self.window})")
        self.overlap = overlap
        self.batch_size = int(batch_size)
        self.complete_first = bool(complete_first)
        self.cache = WindowCache(cache_bytes)
        self.stats = EngineStats()
        self._network_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        param = next(model.network.parameters())
        self._device, self._dtype = param.device, param.dtype

    @property
    def model_name(self) -> str:
        name = self.model.meta.get("name") if isinstance(self.model.meta, dict) else None
        return str(name or Path(self.model.path).stem)

    @property
    def device(self) -> torch.device:
        return self._device

    # -- public API ----------------------------------------------------------------------------------------------
    def lift(
        self,
        seq2d: PoseSequence2D,
        mask: Mask | None = None,
        threshold: float | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        complete_first: bool | None = None,
        flip: bool = False,
    ) -> Reconstruction:
        """Lift a 2D sequence (any layout; converted to H36M-17) to 3D for every frame.

        ``mask``: what to hide (None = the automatic mask at ``threshold``). Given both, the mask's automatic parts
        are recomputed at ``threshold`` and its user edits kept. Raises ``LiftCancelled`` when ``cancel`` is set.
        ``complete_first``: None = the engine's setting; False = one masked pass for this call (faster, less
        accurate on hidden joints: e.g. a live preview while the user drags a mask).
        ``flip``: test-time flip averaging: every window is also lifted mirrored (left and right swapped, image
        mirrored about its centre) and the two answers averaged; twice the network time, for batch lifting only
        (``relift`` never flips, so a flipped result is not a base for ``relift``).
        """
        seq = seq2d.to_h36m()
        if mask is None:
            mask = Mask.from_sequence(seq, threshold)
        elif threshold is not None:
            mask = mask.with_threshold(seq, threshold)
        hidden = self._hidden_for(seq, mask)
        job = self._job_2d(seq, hidden, complete_first=complete_first, flip=flip)
        out3d, out2d = self._run_range(job, 0, seq.num_frames, progress, cancel)
        w, h = self._image_size(seq)
        model_2d = denormalize_screen(out2d, w, h)
        return self._reconstruction(seq, mask, hidden, out3d, model_2d)

    def relift(
        self,
        previous: Reconstruction,
        new_mask: Mask,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        complete_first: bool | None = None,
    ) -> Reconstruction:
        """``previous`` re-lifted under ``new_mask``, recomputing only the windows whose hidden joints changed.

        Frames outside those windows keep ``previous``'s values; the result equals a full ``lift`` with
        ``new_mask`` (up to floating-point batch effects). ``previous`` is not changed. ``complete_first`` as in
        ``lift``: a fast one-pass preview during a drag, then the final relift from the reconstruction before the
        drag (not from the preview, whose windows would count as unchanged).
        """
        seq = previous.input
        hidden = self._hidden_for(seq, new_mask)
        changed = np.nonzero((hidden != previous.hidden).any(axis=1))[0]
        poses_3d, model_2d, completed = previous.poses_3d, previous.model_2d, previous.completed_2d
        if len(changed):
            job = self._job_2d(seq, hidden, previous.image_size, complete_first)
            plan = job.plan
            touched = plan.windows_touching(int(changed[0]), int(changed[-1]) + 1)
            # Only windows that contain a changed row change; their spans must be re-blended.
            touched = [i for i in touched if self._window_has_change(plan, i, changed)]
            lo = min(plan.span(i)[0] for i in touched)
            hi = max(plan.span(i)[1] for i in touched)
            out3d, out2d = self._run_range(job, lo, hi, progress, cancel)
            w, h = previous.image_size
            poses_3d, model_2d, completed = poses_3d.copy(), model_2d.copy(), completed.copy()
            poses_3d[lo:hi] = out3d
            model_2d[lo:hi] = denormalize_screen(out2d, w, h)
            # Every changed row lies in lo:hi, so the completed 2D changes only there (an O(T) np.where over the
            # whole sequence would cost more than the network for one window).
            completed[lo:hi] = self._completed_2d(hidden[lo:hi], model_2d[lo:hi], seq.keypoints[lo:hi])
        elif progress is not None:
            progress(0, 0)
        return self._reconstruction(seq, new_mask, hidden, poses_3d, model_2d, previous.image_size, completed)

    def complete(
        self,
        seq3d: PoseSequence3D,
        hidden: np.ndarray | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> tuple[PoseSequence3D, np.ndarray]:
        """Fill the missing joints of a 3D sequence with the model (3D completion).

        ``seq3d``: any layout with an H36M-17 conversion, any units, camera or world (y up) coordinates.
        ``hidden``: ``(T, 17)`` bool extra joints to re-estimate (e.g. a user mask); missing joints always are.
        Returns ``(sequence, filled)``: the H36M-17 sequence in metres in the input's frame, every joint visible,
        the input kept where it was seen; and ``filled (T, 17)`` bool, the joints the model filled.
        The model works root-relative: the root is the pelvis, else the mid-hip, else interpolated over time.
        """
        from mpm_core.engine.completion import from_model_space, to_model_space

        seq = seq3d.to_h36m().in_metres()
        to_fill = ~seq.visible
        if hidden is not None:
            hidden = np.asarray(hidden, bool)
            if hidden.shape != to_fill.shape:
                raise PoseDataError(f"hidden has shape {hidden.shape}, expected {to_fill.shape}", seq.source or None)
            to_fill = to_fill | hidden
        if to_fill.all():
            raise PoseDataError("nothing to complete from: every joint of every frame is missing", seq.source or None)
        rel, root = to_model_space(seq, to_fill)
        rel[to_fill] = 0.0
        job = _Job("3d", rel, to_fill, to_fill.all(axis=1), WindowPlan(seq.num_frames, self.window, self.overlap))
        out3d, _ = self._run_range(job, 0, seq.num_frames, progress, cancel)
        filled_rel = np.where(to_fill[..., None], out3d, rel)
        joints = from_model_space(filled_rel, root, seq.coords)
        out = seq.replace(
            keypoints=joints,
            scores=np.where(to_fill, 0.0, seq.scores).astype(np.float32),
            visible=np.ones(to_fill.shape, bool),
        )
        return out, to_fill

    def clear_cache(self) -> None:
        self.cache.clear()

    # -- preparation ---------------------------------------------------------------------------------------------
    @staticmethod
    def _image_size(seq: PoseSequence2D) -> tuple[int, int]:
        return seq.guess_image_size()

    def _job_2d(
        self,
        seq: PoseSequence2D,
        hidden: np.ndarray,
        image_size: tuple[int, int] | None = None,
        complete_first: bool | None = None,
        flip: bool = False,
    ) -> _Job:
        w, h = image_size or self._image_size(seq)

        def to_model(px: np.ndarray) -> np.ndarray:
            return normalize_screen(px, w, h)

        return _Job(
            "2d",
            seq.keypoints,
            hidden,
            hidden.all(axis=1),
            WindowPlan(seq.num_frames, self.window, self.overlap),
            to_model,
            self.complete_first if complete_first is None else bool(complete_first),
            bool(flip),
        )

    @staticmethod
    def _hidden_for(seq: PoseSequence2D, mask: Mask) -> np.ndarray:
        """``(T, 17)`` bool: what the model does not see; the mask must fit the sequence and leave something."""
        if mask.num_frames != seq.num_frames:
            raise PoseDataError(f"mask has {mask.num_frames} frames, sequence {seq.num_frames}", seq.source or None)
        hidden = mask.combined
        if hidden.all():
            raise PoseDataError(
                "nothing to lift: every joint of every frame is missing, below the confidence threshold or masked",
                seq.source or None,
            )
        return hidden

    @staticmethod
    def _completed_2d(hidden: np.ndarray, model_2d: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
        """``(T, 17, 2)`` pixels: the input where the model saw a joint, the model's 2D where it was hidden."""
        return np.where(hidden[..., None], model_2d, keypoints).astype(np.float32, copy=False)

    @staticmethod
    def _window_has_change(plan: WindowPlan, i: int, changed: np.ndarray) -> bool:
        lo, hi, _ = plan.span(i)
        k = np.searchsorted(changed, lo)
        return bool(k < len(changed) and changed[k] < hi)

    def _reconstruction(
        self,
        seq: PoseSequence2D,
        mask: Mask,
        hidden: np.ndarray,
        poses_3d: np.ndarray,
        model_2d: np.ndarray,
        image_size: tuple[int, int] | None = None,
        completed: np.ndarray | None = None,
    ) -> Reconstruction:
        if completed is None:
            completed = self._completed_2d(hidden, model_2d, seq.keypoints)
        return Reconstruction(
            poses_3d=poses_3d.astype(np.float32, copy=False),
            completed_2d=completed,
            model_2d=model_2d.astype(np.float32, copy=False),
            hidden=hidden,
            mask=mask,
            input=seq,
            fps=seq.fps,
            image_size=tuple(image_size or self._image_size(seq)),
            model_name=self.model_name,
        )

    # -- windows -------------------------------------------------------------------------------------------------
    def _run_range(
        self,
        job: _Job,
        lo: int,
        hi: int,
        progress: ProgressCallback | None,
        cancel: threading.Event | None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Blend every window touching rows ``lo:hi``; returns ``(hi-lo, 17, 3)`` 3D and ``(hi-lo, 17, 2)`` 2D
        (model space; 2D None for the 3D modality). Windows are streamed in batches into the accumulators."""
        plan = job.plan
        windows = plan.windows_touching(lo, hi)
        # Accumulate over the union of the windows' spans so each row sums every window that covers it.
        a = min(plan.span(i)[0] for i in windows)
        b = max(plan.span(i)[1] for i in windows)
        joints = job.hidden.shape[1]
        acc3d = np.zeros((b - a, joints, 3), np.float32)
        acc2d = np.zeros((b - a, joints, 2), np.float32) if job.modality == "2d" else None
        weight_sum = np.zeros(b - a, np.float32)
        total = len(windows)
        for first in range(0, total, self.batch_size):
            if cancel is not None and cancel.is_set():
                raise LiftCancelled("lifting cancelled")
            batch = windows[first : first + self.batch_size]
            outputs = self._batch_outputs(job, batch)
            for i, out in zip(batch, outputs):
                s_lo, s_hi, offset = plan.span(int(i))
                wts = plan.weights[s_lo + offset : s_hi + offset]
                acc3d[s_lo - a : s_hi - a] += wts[:, None, None] * out[0][s_lo + offset : s_hi + offset]
                if acc2d is not None:
                    acc2d[s_lo - a : s_hi - a] += wts[:, None, None] * out[1][s_lo + offset : s_hi + offset]
                weight_sum[s_lo - a : s_hi - a] += wts
            if progress is not None:
                progress(min(first + self.batch_size, total), total)
        norm = 1.0 / weight_sum[lo - a : hi - a, None, None]
        out3d = acc3d[lo - a : hi - a] * norm
        out2d = None if acc2d is None else acc2d[lo - a : hi - a] * norm
        return out3d, out2d

    def _batch_outputs(self, job: _Job, batch: np.ndarray) -> list[tuple[np.ndarray, ...]]:
        """Outputs of the windows ``batch``: from the cache where their key is known, else one network call."""
        index, padding = job.plan.frame_indices(batch)
        x = job.values[index]
        if job.to_model is not None:
            x = job.to_model(x)
        hidden = job.hidden[index]
        frame_hidden = job.frame_hidden[index] | padding
        hidden = hidden | frame_hidden[..., None]
        x[hidden] = 0.0  # values under the mask are ignored by the model; zero them so keys ignore them too
        # The inference mode is part of the key: one-pass and two-pass outputs of a window differ.
        mode = f"{job.modality}:{'two-pass' if job.complete_first else 'one-pass'}{':flip' if job.flip else ''}"
        keys = [window_key(mode, x[k], hidden[k], frame_hidden[k]) for k in range(len(batch))]
        outputs: list[tuple[np.ndarray, ...] | None] = [self.cache.get(key) for key in keys]
        todo = [k for k, out in enumerate(outputs) if out is None]
        if todo:
            computed = self._infer(
                job.modality, x[todo], hidden[todo], frame_hidden[todo], job.complete_first, job.flip
            )
            for n, k in enumerate(todo):
                value = tuple(np.ascontiguousarray(c[n]) for c in computed)
                self.cache.put(keys[k], value)
                outputs[k] = value
        with self._stats_lock:
            self.stats.windows_cached += len(batch) - len(todo)
        return outputs

    def _infer(
        self,
        modality: str,
        x: np.ndarray,
        hidden: np.ndarray,
        frame_hidden: np.ndarray,
        complete_first: bool = True,
        flip: bool = False,
    ) -> tuple[np.ndarray, ...]:
        """One network call on ``x (B, W, 17, C)``; returns float32 ``(3d,)`` or ``(3d, 2d)`` numpy arrays.

        ``flip``: the batch is run together with its mirror image (x negated: model space is centred on the image
        or the root; left/right joints swapped) and each output averaged with its mirrored twin's, mirrored back.
        """
        batch = len(x)
        if flip:
            x, hidden, frame_hidden = with_mirror_images(x, hidden, frame_hidden)
        xt = torch.from_numpy(np.ascontiguousarray(x)).to(self._device, self._dtype)
        ht = torch.from_numpy(hidden).to(self._device)
        # No hidden frame in the batch: pass no frame mask, which lets torch take its faster attention path.
        ft = torch.from_numpy(frame_hidden).to(self._device) if frame_hidden.any() else None
        with self._network_lock:
            if modality == "2d":
                out = self.model.lift(xt, ht, ft, complete_first=complete_first)
            else:
                out = (self.model.complete_3d(xt, ht, ft),)
        with self._stats_lock:
            self.stats.network_calls += 1
            self.stats.windows_computed += batch
        arrays = tuple(o.detach().float().cpu().numpy() for o in out)
        if flip:
            arrays = tuple(mean_with_mirror_images(a, batch) for a in arrays)
        return arrays
