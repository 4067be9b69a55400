"""Training loops: MPM pretraining (masked 2D + masked 3D modelling) and supervised finetuning (2D -> 3D).

Both phases share one loop (``run_phase``): batches from ``WindowSampler``, AdamW with warmup + cosine decay,
gradient clipping, periodic validation on the deterministic validation windows, resumable checkpoints and a tqdm
progress bar. Distributed data parallel runs under ``torchrun`` (gloo on CPU, NCCL on GPU): each rank draws its
own windows, gradients are averaged, rank 0 validates and writes files.

Checkpoints in ``run_dir``: ``<phase>_last`` (weights + sidecar, ``mpm_core.model.checkpoint``) and
``<phase>_state`` (optimizer moments, step and random states: safetensors + JSON, never pickle).
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from mpm_core.atomic import atomic_write, atomic_write_bytes
from mpm_core.errors import PoseDataError
from mpm_core.model import masking
from mpm_core.model.checkpoint import checkpoint_paths, load_state_dict, portable_path, save_checkpoint
from mpm_core.model.config import PhaseConfig, TrainConfig
from mpm_core.model.data import Batch, ValidationSet, WindowSampler, build_validation, data_manifest, prepare_clips
from mpm_core.model.data import split_clips as _split
from mpm_core.model.network import MPMNetwork, count_parameters

PHASES = ("pretrain", "finetune")
STATE_FORMAT = 1


# -- distributed ----------------------------------------------------------------------------------------------


def _dist_info() -> tuple[int, int]:
    """(rank, world size); world size 1 when not launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    return rank, world


def _dist_initialized() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def _init_distributed(world: int) -> torch.device:
    if world <= 1:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    import torch.distributed as dist

    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        if not dist.is_initialized():
            dist.init_process_group("nccl")
        return torch.device("cuda", local)
    if not dist.is_initialized():
        dist.init_process_group("gloo")
    return torch.device("cpu")


# -- masks and losses -----------------------------------------------------------------------------------------


def finetune_masks(mix: dict[str, float], B: int, T: int, J: int, rng: np.random.Generator):
    """Per window one mask kind drawn from ``mix``: "clean" or a ``masking.SAMPLERS`` name."""
    names = [n for n, w in mix.items() if w > 0] or ["clean"]
    p = np.array([mix.get(n, 1.0) for n in names], float)
    pick = rng.choice(len(names), size=B, p=p / p.sum())
    joint_mask, frame_mask = np.zeros((B, T, J), bool), np.zeros((B, T), bool)
    for i, name in enumerate(names):
        rows = np.flatnonzero(pick == i)
        if not rows.size or name == "clean":
            continue
        jm, fm = masking.SAMPLERS[name](B=rows.size, T=T, J=J, rng=rng)
        joint_mask[rows], frame_mask[rows] = jm, fm
    return joint_mask, frame_mask


def _masked_mean(values: Tensor, weights: Tensor) -> Tensor:
    return (values * weights).sum() / weights.sum().clamp_min(1.0)


def mpjpe_loss(pred: Tensor, gt: Tensor, frames: Tensor) -> Tensor:
    """Mean per-joint position error over the frames where ``frames`` (B, T) is 1 (metres)."""
    err = torch.linalg.vector_norm(pred - gt, dim=-1).mean(-1)
    return _masked_mean(err, frames)


def velocity_loss(pred: Tensor, gt: Tensor, frames: Tensor) -> Tensor:
    """Mean per-joint velocity error (per frame step) over consecutive valid frame pairs (metres/frame)."""
    dv = torch.linalg.vector_norm((pred[:, 1:] - pred[:, :-1]) - (gt[:, 1:] - gt[:, :-1]), dim=-1).mean(-1)
    return _masked_mean(dv, frames[:, 1:] * frames[:, :-1])


class _LossModule(nn.Module):
    """Wraps the network so one ``forward`` returns the losses (one forward per backward, as DDP wants)."""

    def __init__(self, network: MPMNetwork):
        super().__init__()
        self.network = network

    def forward(self, t: dict[str, Tensor], phase: str, weights: dict[str, float]) -> dict[str, Tensor]:
        frames = (~t["pad"]).float()
        losses: dict[str, Tensor] = {}
        out = self.network(t["x2d"], "2d", t["mask2d"], t["fmask2d"], ("2d", "3d"))
        losses["lift3d"] = mpjpe_loss(out["3d"], t["y3d"], frames)
        losses["recon2d"] = mpjpe_loss(out["2d"], t["x2d_clean"], frames)
        if weights.get("velocity", 0) > 0:
            losses["velocity"] = velocity_loss(out["3d"], t["y3d"], frames)
        if weights.get("recon3d", 0) > 0:
            out3 = self.network(t["y3d"], "3d", t["mask3d"], t["fmask3d"], ("3d",))
            losses["recon3d"] = mpjpe_loss(out3["3d"], t["y3d"], frames)
        losses["total"] = sum(weights.get(k, 0.0) * v for k, v in losses.items())
        return losses


def batch_tensors(
    batch: Batch, phase: str, phase_cfg: PhaseConfig, rng: np.random.Generator, device: torch.device
) -> dict[str, Tensor]:
    """Masks for one training batch and everything as tensors on ``device``.

    Pretraining: the paper's spatio-temporal masks on the 2D input and (independently) on the 3D input.
    Finetuning: ``mask_mix`` on the 2D input, and the paper's masks on the 3D input when the ``recon3d`` loss is on
    (keeps 3D completion trained). Both add the detector's dropped joints and the padding frames to the input masks.
    """
    B, T, J, _ = batch.x2d.shape
    if phase == "pretrain":
        jm, fm = masking.spatio_temporal(B, T, J, phase_cfg.frame_ratio, phase_cfg.joints_per_frame, rng)
        jm3, fm3 = masking.spatio_temporal(B, T, J, phase_cfg.frame_ratio, phase_cfg.joints_per_frame, rng)
    else:
        jm, fm = finetune_masks(phase_cfg.mask_mix, B, T, J, rng)
        if phase_cfg.loss.get("recon3d", 0) > 0:
            jm3, fm3 = masking.spatio_temporal(B, T, J, phase_cfg.frame_ratio, phase_cfg.joints_per_frame, rng)
        else:
            jm3, fm3 = np.zeros_like(jm), np.zeros_like(fm)
    jm = jm | batch.hidden
    fm = fm | batch.pad
    fm3 = fm3 | batch.pad
    arrays = {
        "x2d": batch.x2d,
        "x2d_clean": batch.x2d_clean,
        "y3d": batch.y3d,
        "pad": batch.pad,
        "mask2d": jm,
        "fmask2d": fm,
        "mask3d": jm3,
        "fmask3d": fm3,
    }
    return {k: torch.from_numpy(np.ascontiguousarray(v)).to(device) for k, v in arrays.items()}


# -- validation -----------------------------------------------------------------------------------------------


def quick_validation(network: MPMNetwork, val: ValidationSet, device: torch.device, seed: int = 0) -> dict[str, float]:
    """MPJPE (mm, root-relative camera frame) on the validation windows with clean 2D, and with 30% of joints
    hidden (fixed seed); the full report is ``mpm_core.model.evaluate``."""
    was_training = network.training
    network.eval()
    rng = np.random.default_rng(seed)
    B, T, J, _ = val.clean.x2d.shape
    hide, _ = masking.random_joints(B, T, J, rng=rng)
    sums = {"val_mpjpe_mm": 0.0, "val_mpjpe_masked30_mm": 0.0}
    count = 0.0
    with torch.inference_mode():
        for s in range(0, B, 64):
            rows = slice(s, s + 64)
            x = torch.from_numpy(val.clean.x2d[rows]).to(device)
            gt = torch.from_numpy(val.clean.y3d[rows]).to(device)
            w = torch.from_numpy(val.score[rows]).to(device).float()
            pad = torch.from_numpy(val.clean.pad[rows]).to(device)
            for name, m in (("val_mpjpe_mm", np.zeros_like(hide[rows])), ("val_mpjpe_masked30_mm", hide[rows])):
                pred = network(x, "2d", torch.from_numpy(m).to(device), pad, ("3d",))["3d"]
                err = torch.linalg.vector_norm(pred - gt, dim=-1).mean(-1)
                sums[name] += float((err * w).sum()) * 1000
            count += float(w.sum())
    network.train(was_training)
    return {k: v / max(count, 1.0) for k, v in sums.items()}


# -- checkpoint state -----------------------------------------------------------------------------------------


def save_train_state(
    path_stem: Path, optimizer: torch.optim.Optimizer, step: int, rng: np.random.Generator, extra: dict
) -> None:
    """Optimizer moments + step + random states: ``<stem>.safetensors`` (tensors) + ``<stem>.json`` (the rest)."""
    from safetensors.torch import save as save_bytes

    tensors: dict[str, Tensor] = {}
    state = optimizer.state_dict()
    for pid, pstate in state["state"].items():
        for key, value in pstate.items():
            tensors[f"opt.{pid}.{key}"] = torch.as_tensor(value).detach().cpu().contiguous()
    tensors["torch_rng"] = torch.get_rng_state()
    meta = {
        "format": STATE_FORMAT,
        "step": step,
        "param_groups": state["param_groups"],
        "numpy_rng": rng.bit_generator.state,
        **extra,
    }
    atomic_write_bytes(path_stem.with_suffix(".safetensors"), save_bytes(tensors))
    with atomic_write(path_stem.with_suffix(".json")) as f:
        json.dump(meta, f, indent=1)


def load_train_state(path_stem: Path, optimizer: torch.optim.Optimizer, rng: np.random.Generator) -> dict:
    """Restore what ``save_train_state`` wrote; returns the JSON part (with ``step``)."""
    from safetensors import SafetensorError
    from safetensors.torch import load as load_bytes

    json_path, weights_path = path_stem.with_suffix(".json"), path_stem.with_suffix(".safetensors")
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
        tensors = load_bytes(weights_path.read_bytes())
    except FileNotFoundError as exc:
        raise PoseDataError("training state to resume from is missing", exc.filename) from None
    except (json.JSONDecodeError, SafetensorError) as exc:
        raise PoseDataError(f"corrupt training state: {exc}", path_stem) from None
    if meta.get("format") != STATE_FORMAT:
        raise PoseDataError(f"training state format {meta.get('format')!r}, expected {STATE_FORMAT}", json_path)
    opt_state: dict = {"state": {}, "param_groups": meta["param_groups"]}
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, pid, name = key.split(".", 2)
            opt_state["state"].setdefault(int(pid), {})[name] = value
    try:
        optimizer.load_state_dict(opt_state)
    except (ValueError, KeyError) as exc:
        raise PoseDataError(f"training state does not match this model/optimizer: {exc}", weights_path) from None
    if "torch_rng" in tensors:
        torch.set_rng_state(tensors["torch_rng"])
    rng.bit_generator.state = meta["numpy_rng"]
    return meta


# -- the loop -------------------------------------------------------------------------------------------------


def lr_at(step: int, cfg: PhaseConfig, elapsed_s: float = 0.0) -> float:
    """Linear warmup, then cosine decay to 5% of ``cfg.lr``.

    With ``cfg.time_limit_min`` the decay follows whichever is further along, steps or wall time, so a run cut
    by its time limit still ends at a low learning rate (such a run is reproducible only up to where it stopped).
    """
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    if cfg.time_limit_min:
        progress = max(progress, elapsed_s / (cfg.time_limit_min * 60))
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def portable_config(config: TrainConfig) -> dict:
    """The config as stored in a checkpoint: run folders relative to the repository (or just their names), so a
    sidecar does not record the layout of the machine it was trained on."""
    out = config.to_dict()
    for key in ("run_dir", "output"):
        out[key] = portable_path(out[key])
    return out


def _log(message: str, rank: int) -> None:
    if rank == 0:
        print(message, flush=True)


def run_phase(
    config: TrainConfig,
    phase: str,
    init: str | os.PathLike | None = None,
    resume: bool = False,
    data_root: str | os.PathLike | None = None,
    output: str | os.PathLike | None = None,
    progress: bool = True,
) -> dict:
    """Run one phase ("pretrain" or "finetune"); returns a summary (steps, seconds, last validation metrics).

    ``init``: checkpoint to start from (finetune: the pretrained model; default ``run_dir/pretrain_last`` if it
    exists). ``resume``: continue from ``run_dir/<phase>_last`` + ``<phase>_state``. ``output``: where the final
    model goes (default ``config.output`` for finetune; always also ``run_dir/<phase>_last``).
    """
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}")
    rank, world = _dist_info()
    owns_group = world > 1 and not _dist_initialized()
    device = _init_distributed(world)
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    phase_cfg: PhaseConfig = getattr(config, phase)
    run_dir = Path(config.run_dir)
    last = run_dir / f"{phase}_last"
    state_stem = run_dir / f"{phase}_state"
    torch.manual_seed(config.seed)

    clips = prepare_clips(config.data, progress=progress and rank == 0, root=data_root)
    train_clips, val_clips = _split(clips, config.data.val_fraction, config.data.split_salt)
    _log(f"[{phase}] clips: {len(train_clips)} train, {len(val_clips)} validation", rank)
    rng = np.random.default_rng([config.seed, rank, PHASES.index(phase)])
    window = config.network.window
    sampler = WindowSampler(train_clips, config.data, config.cameras, config.augment, window, rng)
    val = (
        build_validation(val_clips, config.data, config.cameras, config.augment, window, config.evaluate.seed)
        if val_clips and rank == 0
        else None
    )

    network = MPMNetwork(config.network)
    start_step = 0
    if resume:
        weights, _ = checkpoint_paths(last)
        network.load_state_dict(load_state_dict(weights))
    elif init is not None or (phase == "finetune" and checkpoint_paths(run_dir / "pretrain_last")[0].is_file()):
        init_path = init if init is not None else run_dir / "pretrain_last"
        weights, _ = checkpoint_paths(init_path)
        state = load_state_dict(weights)
        missing, unexpected = network.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise PoseDataError(
                f"initial checkpoint does not fit the configured network (missing {missing[:4]}, "
                f"unexpected {unexpected[:4]})",
                weights,
            )
        _log(f"[{phase}] initialised from {weights}", rank)
    network.to(device)
    module = _LossModule(network).to(device)
    if world > 1:
        module = nn.parallel.DistributedDataParallel(module, find_unused_parameters=True)
    optimizer = torch.optim.AdamW(network.parameters(), lr=phase_cfg.lr, weight_decay=phase_cfg.weight_decay)
    if resume:
        meta = load_train_state(state_stem, optimizer, rng)
        start_step = int(meta["step"])
        _log(f"[{phase}] resumed at step {start_step}", rank)
    weights = dict(phase_cfg.loss)
    _log(f"[{phase}] network {count_parameters(network) / 1e6:.2f} M parameters, world size {world}", rank)

    recipe = {"config": portable_config(config), "phase": phase, "world_size": world}
    manifest = data_manifest(train_clips, val_clips)
    history: list[dict] = []
    metrics: dict[str, float] = {}
    t_start = time.time()
    bar = None
    if progress and rank == 0:
        from tqdm import tqdm

        bar = tqdm(total=phase_cfg.steps, initial=start_step, desc=phase, unit="step", dynamic_ncols=True)

    def checkpoint(step: int) -> None:
        if rank != 0:
            return
        meta = {"training": {**recipe, "step": step}, "data": manifest, "metrics": metrics, "history": history}
        save_checkpoint(last, network, meta)
        save_train_state(state_stem, optimizer, step, rng, {"phase": phase})

    step = start_step
    batch_fingerprint = 0.0
    network.train()
    running: dict[str, float] = {}
    while step < phase_cfg.steps:
        if phase_cfg.time_limit_min is not None and time.time() - t_start > phase_cfg.time_limit_min * 60:
            _log(f"[{phase}] time limit reached at step {step}", rank)
            break
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, phase_cfg, time.time() - t_start)
        batch = sampler.sample(phase_cfg.batch_size)
        batch_fingerprint += float(np.abs(batch.x2d_clean).sum())
        tensors = batch_tensors(batch, phase, phase_cfg, rng, device)
        losses = module(tensors, phase, weights)
        optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()
        if phase_cfg.grad_clip > 0:
            nn.utils.clip_grad_norm_(network.parameters(), phase_cfg.grad_clip)
        optimizer.step()
        step += 1
        for k, v in losses.items():
            running[k] = running.get(k, 0.0) + float(v.detach())
        if bar is not None:
            bar.update(1)
        if step % phase_cfg.log_every == 0 or step == phase_cfg.steps:
            n = phase_cfg.log_every if step % phase_cfg.log_every == 0 else step % phase_cfg.log_every
            avg = {k: v / max(n, 1) for k, v in running.items()}
            running = {}
            if bar is not None:
                bar.set_postfix({k: f"{v:.4f}" for k, v in avg.items()})
            else:
                _log(f"[{phase}] step {step} " + " ".join(f"{k}={v:.4f}" for k, v in avg.items()), rank)
        if val is not None and (step % phase_cfg.val_every == 0 or step == phase_cfg.steps):
            metrics = quick_validation(network, val, device, config.evaluate.seed)
            history.append({"step": step, "seconds": round(time.time() - t_start, 1), **metrics})
            _log(
                f"[{phase}] step {step} ({time.time() - t_start:.0f} s) "
                + " ".join(f"{k}={v:.1f}" for k, v in metrics.items()),
                rank,
            )
        if step % phase_cfg.ckpt_every == 0:
            checkpoint(step)
    if bar is not None:
        bar.close()
    if val is not None and (not history or history[-1]["step"] != step):  # stopped early: validate the final weights
        metrics = quick_validation(network, val, device, config.evaluate.seed)
        history.append({"step": step, "seconds": round(time.time() - t_start, 1), **metrics})
    seconds = time.time() - t_start
    recipe["seconds"] = round(seconds, 1)
    checkpoint(step)
    final = output if output is not None else (config.output if phase == "finetune" else None)
    if final is not None and rank == 0:
        meta = {"training": {**recipe, "step": step}, "data": manifest, "metrics": metrics, "history": history}
        save_checkpoint(final, network, meta)
        _log(f"[{phase}] model written to {checkpoint_paths(final)[0]}", rank)
    fingerprint = float(sum(float(p.detach().double().pow(2).sum()) for p in network.parameters()))
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
        if owns_group:
            dist.destroy_process_group()
    return {
        "phase": phase,
        "steps": step,
        "seconds": seconds,
        "metrics": metrics,
        "rank": rank,
        "world": world,
        "param_fingerprint": fingerprint,  # equal on every rank when gradients were synchronised
        "batch_fingerprint": batch_fingerprint,  # differs between ranks: each draws its own windows
    }


def phase_summary(config: TrainConfig) -> str:
    """One line describing the recipe (for logs)."""
    return json.dumps({"network": asdict(config.network), "pretrain_steps": config.pretrain.steps})
