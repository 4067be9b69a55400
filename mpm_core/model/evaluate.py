"""Evaluation of a checkpoint on the deterministic validation split (``mpm_core.model.data.build_validation``).

Conditions (all errors root-relative, camera frame, mm, over the validation frames that count):

- ``clean``: the exact 2D projection, nothing hidden.
- ``noisy``: detector-like 2D noise (jitter, outliers, limb swaps, dropped joints hidden).
- ``mask30``: clean 2D with 30% of joints hidden at random (independently per frame and joint).
- ``limb``: clean 2D with one whole limb (arm or leg: 3 joints) hidden in every frame of the window.
- ``frames50``: clean 2D with 50% of the frames hidden entirely (errors over all frames, hidden ones included).
- ``mask30_direct``, ``limb_direct``: the same masks lifted in one masked pass (``complete_first=False``) instead
  of the default two passes (complete the hidden 2D, then lift; ``LoadedModel.lift``), to show what each buys.
- ``complete3d``: masked 3D modelling: ground-truth 3D with 30% of joints hidden, completed by the network; errors
  on the hidden joints only (``complete3d_hidden``) and on all joints (``complete3d_all``).

Masks come from a generator seeded by ``config.evaluate.seed``: the same checkpoint and config give the same
numbers. Without a config, the one stored in the checkpoint's sidecar (its training recipe) is used, so the
validation split is the one the model was validated on during training.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from mpm_core import metrics
from mpm_core.errors import PoseDataError
from mpm_core.model.checkpoint import LoadedModel, default_model_path, load_model, portable_path
from mpm_core.model.config import TrainConfig, config_from_dict
from mpm_core.model.data import ValidationSet, build_validation, prepare_clips, split_clips
from mpm_core.model.masking import LIMB_INDICES, random_joints

CONDITIONS = (
    "clean",
    "noisy",
    "mask30",
    "limb",
    "frames50",
    "mask30_direct",
    "limb_direct",
    "complete3d_hidden",
    "complete3d_all",
)
#: Conditions of 2D -> 3D lifting with the default inference (the others: single-pass variants, 3D completion).
LIFT_CONDITIONS = CONDITIONS[:5]
#: Single masked pass (``complete_first=False``) variants: condition name -> the mask condition it reuses.
DIRECT_CONDITIONS = {"mask30_direct": "mask30", "limb_direct": "limb"}


def _masks(val: ValidationSet, config: TrainConfig) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(joint_mask (B, T, J), frame_mask (B, T)) per condition, pads always hidden as frames."""
    rng = np.random.default_rng(config.evaluate.seed)
    B, T, J, _ = val.clean.x2d.shape
    none = np.zeros((B, T, J), bool)
    pad = val.clean.pad
    random30, _ = random_joints(B, T, J, config.evaluate.mask_joint_ratio, rng)
    limbs = list(LIMB_INDICES.values())
    limb_mask = np.zeros((B, T, J), bool)
    for b, which in enumerate(rng.integers(len(limbs), size=B)):
        limb_mask[b, :, list(limbs[which])] = True
    frames = rng.random((B, T)) < config.evaluate.mask_frame_ratio
    return {
        "clean": (none, pad),
        "noisy": (val.noisy.hidden, pad),
        "mask30": (random30, pad),
        "limb": (limb_mask, pad),
        "frames50": (none, pad | frames),
        "complete3d": (random_joints(B, T, J, config.evaluate.mask_joint_ratio, rng)[0], pad),
    }


def predict(
    model: LoadedModel,
    x: np.ndarray,
    modality: str,
    joint_mask: np.ndarray,
    frame_mask: np.ndarray,
    batch_size: int = 64,
    progress=None,
    complete_first: bool = True,
) -> np.ndarray:
    """Run the network over windows in batches: ``x`` (B, T, J, 2|3) -> 3D (B, T, J, 3) metres root-relative.

    ``complete_first``: for 2D input, the two-pass lift of ``LoadedModel.lift`` (the engine's inference)."""
    out = []
    for s in range(0, len(x), batch_size):
        rows = slice(s, s + batch_size)
        xt = torch.from_numpy(np.ascontiguousarray(x[rows]))
        jm = torch.from_numpy(np.ascontiguousarray(joint_mask[rows]))
        fm = torch.from_numpy(np.ascontiguousarray(frame_mask[rows]))
        if modality == "2d":
            y = model.lift_3d_only(xt, jm, fm, complete_first=complete_first)
        else:
            y = model.complete_3d(xt, jm, fm)
        out.append(y.numpy())
        if progress is not None:
            progress.update(1)
    return np.concatenate(out)


def _scores(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, fps: np.ndarray) -> dict[str, float]:
    """Metric block over the selected (window, frame, joint) entries; mpjve in mm/s (windows grouped by fps)."""
    out = {
        "mpjpe": metrics.mpjpe(pred, gt, mask),
        "p_mpjpe": metrics.p_mpjpe(pred, gt, mask),
        "n_mpjpe": metrics.n_mpjpe(pred, gt, mask),
        "pck150": metrics.pck(pred, gt, mask),
        "auc": metrics.auc(pred, gt, mask),
    }
    total, weight = 0.0, 0.0
    for f in np.unique(fps):
        rows = fps == f
        w = float(np.logical_and(mask[rows][:, 1:], mask[rows][:, :-1]).sum())
        if w > 0:
            total += metrics.mpjve(pred[rows], gt[rows], mask[rows], fps=float(f)) * w
            weight += w
    out["mpjve_mm_s"] = total / weight if weight else float("nan")
    return out


def config_for_model(model: LoadedModel) -> TrainConfig:
    """The training config stored in the checkpoint's sidecar (defaults when absent)."""
    raw = (model.meta.get("training") or {}).get("config")
    if not isinstance(raw, dict):
        return TrainConfig()
    raw = {k: v for k, v in raw.items() if k not in ("run_dir", "output")}
    try:
        return config_from_dict(raw, None)
    except PoseDataError as exc:
        raise PoseDataError(f"training config in the sidecar is not usable: {exc}", model.path) from None


def evaluate_model(
    model_path: str | os.PathLike | None,
    config: TrainConfig | None = None,
    data_root: str | os.PathLike | None = None,
    progress: bool = True,
    device: str = "cpu",
) -> dict:
    """Evaluate a checkpoint (default: the shipped model) on the validation split; returns the report dict.

    ``config`` None: the config stored in the checkpoint. The network window comes from the checkpoint.
    """
    path = model_path or default_model_path()
    model = load_model(path, device=device)
    if config is None:
        config = config_for_model(model)
    clips = prepare_clips(config.data, progress=progress, root=data_root)
    _, val_clips = split_clips(clips, config.data.val_fraction, config.data.split_salt)
    if not val_clips:
        raise PoseDataError("the validation split is empty (data.val_fraction is 0 or too few clips)")
    val = build_validation(
        val_clips, config.data, config.cameras, config.augment, model.config.window, config.evaluate.seed
    )
    masks = _masks(val, config)
    gt = val.clean.y3d
    bs = config.evaluate.batch_size
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(
            total=(len(LIFT_CONDITIONS) + len(DIRECT_CONDITIONS) + 1) * -(-len(val) // bs),
            desc="evaluate",
            unit="batch",
            leave=False,
        )
    preds = {}
    for name in LIFT_CONDITIONS:
        x = val.noisy.x2d if name == "noisy" else val.clean.x2d
        preds[name] = predict(model, x, "2d", *masks[name], batch_size=bs, progress=bar)
    for name, source in DIRECT_CONDITIONS.items():
        x = val.clean.x2d
        preds[name] = predict(model, x, "2d", *masks[source], batch_size=bs, progress=bar, complete_first=False)
    hidden3d = masks["complete3d"][0]
    x3d = np.where(hidden3d[..., None], 0.0, gt).astype(np.float32)
    completed = predict(model, x3d, "3d", *masks["complete3d"], batch_size=bs, progress=bar)
    if bar is not None:
        bar.close()

    counts = np.broadcast_to(val.score[..., None], gt.shape[:-1])
    fps = val.clean.fps
    conditions = {name: _scores(preds[name], gt, counts, fps) for name in (*LIFT_CONDITIONS, *DIRECT_CONDITIONS)}
    conditions["complete3d_hidden"] = _scores(completed, gt, counts & hidden3d, fps)
    conditions["complete3d_all"] = _scores(completed, gt, counts, fps)

    def grouped(labels: list[str]) -> dict[str, dict]:
        out = {}
        labels_arr = np.array(labels)
        for label in sorted(set(labels)):
            rows = labels_arr == label
            sel = counts[rows]
            if not sel.any():
                continue
            entry = {
                "frames": int(val.score[rows].sum()),
                "clips": len({val.clip_keys[i] for i in np.flatnonzero(rows)}),
            }
            for name in LIFT_CONDITIONS:
                entry[name] = metrics.mpjpe(preds[name][rows], gt[rows], sel)
            out[label] = entry
        return out

    clean = conditions["clean"]["mpjpe"]
    return {
        "model": portable_path(model.path),
        "clips": len(set(val.clip_keys)),
        "windows": len(val),
        "frames": int(val.score.sum()),
        "window": model.config.window,
        "conditions": conditions,
        "mask30_rise_pct": 100.0 * (conditions["mask30"]["mpjpe"] - clean) / clean,
        "mask30_direct_rise_pct": 100.0 * (conditions["mask30_direct"]["mpjpe"] - clean) / clean,
        "per_category": grouped(val.categories),
        "per_set": grouped(val.sets),
        "seed": config.evaluate.seed,
        "mask_joint_ratio": config.evaluate.mask_joint_ratio,
        "mask_frame_ratio": config.evaluate.mask_frame_ratio,
    }


def format_report(report: dict) -> str:
    """The report as plain-text tables (what ``mpm-studio-cli evaluate`` prints)."""
    lines = [
        f"model: {report['model']}",
        f"validation: {report['clips']} clips, {report['windows']} windows of {report['window']} frames, "
        f"{report['frames']} frames (root-relative camera frame; mm)",
        "",
        f"{'condition':<18}{'MPJPE':>8}{'P-MPJPE':>9}{'N-MPJPE':>9}{'MPJVE/s':>9}{'PCK150':>8}{'AUC':>7}",
    ]
    for name, m in report["conditions"].items():
        lines.append(
            f"{name:<18}{m['mpjpe']:>8.1f}{m['p_mpjpe']:>9.1f}{m['n_mpjpe']:>9.1f}{m['mpjve_mm_s']:>9.1f}"
            f"{m['pck150']:>8.3f}{m['auc']:>7.3f}"
        )
    lines.append(f"MPJPE rise with {report['mask_joint_ratio']:.0%} joints masked: {report['mask30_rise_pct']:+.1f}%")
    if "mask30_direct_rise_pct" in report:
        lines.append(
            f"  (in one masked pass, without completing the 2D first: {report['mask30_direct_rise_pct']:+.1f}%)"
        )
    for title, key in (("category", "per_category"), ("set", "per_set")):
        lines += [
            "",
            f"MPJPE per {title}:",
            f"{title:<18}{'clips':>6}{'frames':>8}" + "".join(f"{c:>10}" for c in LIFT_CONDITIONS),
        ]
        for label, e in report[key].items():
            lines.append(
                f"{label:<18}{e['clips']:>6}{e['frames']:>8}" + "".join(f"{e[c]:>10.1f}" for c in LIFT_CONDITIONS)
            )
    return "\n".join(lines)


__all__ = [
    "CONDITIONS",
    "DIRECT_CONDITIONS",
    "LIFT_CONDITIONS",
    "config_for_model",
    "evaluate_model",
    "format_report",
    "predict",
]
