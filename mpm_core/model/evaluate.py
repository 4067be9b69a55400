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

World-frame figures (``evaluate_world``, a separate report so the stored lifting evaluation stays as it was):
each whole validation clip, resampled to one of ``data.val_fps``, is seen by one seeded random camera with
detector-like 2D noise and goes through the lifting engine and the export pipeline as a user's file would
(``engine.placement.place_in_world``); see ``evaluate_world``.

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
from mpm_core.model.augment import mean_with_mirror_images, with_mirror_images
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
    flip: bool = False,
) -> np.ndarray:
    """Run the network over windows in batches: ``x`` (B, T, J, 2|3) -> 3D (B, T, J, 3) metres root-relative.

    ``complete_first``: for 2D input, the two-pass lift of ``LoadedModel.lift`` (the engine's inference).
    ``flip``: test-time flip averaging, as the engine's ``lift(flip=True)``: the windows are run together with
    their mirror images and each output averaged with its mirror image's, mirrored back."""
    if flip:
        xs, jm, fm = with_mirror_images(x, joint_mask, frame_mask)
        return mean_with_mirror_images(
            predict(model, xs, modality, jm, fm, batch_size, progress, complete_first), len(x)
        )
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
    flip: bool = False,
) -> dict:
    """Evaluate a checkpoint (default: the shipped model) on the validation split; returns the report dict.

    ``config`` None: the config stored in the checkpoint. The network window comes from the checkpoint.
    ``flip``: test-time flip averaging on the 2D -> 3D conditions (3D completion never flips).
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
            # A flip-averaged 2D condition runs its windows and their mirror images: twice the rows.
            total=(len(LIFT_CONDITIONS) + len(DIRECT_CONDITIONS)) * -(-len(val) * (2 if flip else 1) // bs)
            + -(-len(val) // bs),
            desc="evaluate",
            unit="batch",
            leave=False,
        )
    preds = {}
    for name in LIFT_CONDITIONS:
        x = val.noisy.x2d if name == "noisy" else val.clean.x2d
        preds[name] = predict(model, x, "2d", *masks[name], batch_size=bs, progress=bar, flip=flip)
    for name, source in DIRECT_CONDITIONS.items():
        x = val.clean.x2d
        preds[name] = predict(
            model, x, "2d", *masks[source], batch_size=bs, progress=bar, complete_first=False, flip=flip
        )
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
        "flip": bool(flip),
        "conditions": conditions,
        "mask30_rise_pct": 100.0 * (conditions["mask30"]["mpjpe"] - clean) / clean,
        "mask30_direct_rise_pct": 100.0 * (conditions["mask30_direct"]["mpjpe"] - clean) / clean,
        "per_category": grouped(val.categories),
        "per_set": grouped(val.sets),
        "seed": config.evaluate.seed,
        "mask_joint_ratio": config.evaluate.mask_joint_ratio,
        "mask_frame_ratio": config.evaluate.mask_frame_ratio,
    }


#: Validation performers are told apart by set and stature, to this step (metres).
PERFORMER_STATURE_STEP_M = 0.05
#: World evaluation: option sets compared (name -> ExportOptions keywords besides the camera).
WORLD_VARIANTS = {"no_locking": {"foot_locking": False}, "locking": {"foot_locking": True}}


def _world_clip_inputs(clip, config: TrainConfig, seed: int):
    """``(truth world (T, 17, 3) floor at the soles, camera, 2D sequence, fps, truth stature)`` of one clip."""
    import zlib
    from dataclasses import replace

    from mpm_core.engine.stature import ANKLE_HEIGHT_RATIO, stature
    from mpm_core.engine.world import floor_height
    from mpm_core.model.augment import detector_noise
    from mpm_core.model.cameras import random_camera
    from mpm_core.model.data import resample
    from mpm_core.sequence import PoseSequence2D

    rng = np.random.default_rng([seed, zlib.crc32(clip.info.key.encode())])
    fps = float(config.data.val_fps[int(rng.integers(len(config.data.val_fps)))])
    n = int(np.floor(clip.duration_s * fps + 1e-9)) + 1
    truth = resample(clip.joints, clip.fps, np.arange(n) / fps).astype(np.float64)
    true_stature = stature(truth)
    floor, _ = floor_height(truth, np.array([0.0, 1.0, 0.0]), fps, ANKLE_HEIGHT_RATIO * true_stature, False)
    truth[..., 1] -= floor
    camera = random_camera(rng, truth, config.cameras)
    clean = camera.project(camera.world_to_camera(truth))
    noisy = detector_noise(rng, clean, replace(config.augment, noise_prob=1.0))
    seq = PoseSequence2D(
        keypoints=noisy.keypoints,
        scores=noisy.scores,
        visible=~noisy.hidden,
        fps=fps,
        layout="h36m17",
        source=clip.info.key,
        image_size=camera.image_size,
    )
    return truth, camera, seq, fps, true_stature


def evaluate_world(
    model_path: str | os.PathLike | None,
    config: TrainConfig | None = None,
    data_root: str | os.PathLike | None = None,
    progress: bool = True,
    max_clips: int | None = None,
) -> dict:
    """World-frame figures of whole validation clips through the engine and the export pipeline.

    Per clip (one seeded camera, detector-like 2D noise; the camera's field of view known, as a user who gives
    it): root trajectory error and world MPJPE (mm, after a turn about up and a shift on the floor), up error
    (degrees), foot skate (horizontal ankle speed in the truth's contact frames, mm/s; contacts by the same
    detector on the truth) and ground penetration, with and without foot locking and for the truth itself;
    root-relative MPJPE (camera frame, mm) without and with ``height_m`` set to the clip's true stature
    (``engine.stature``); the root trajectory error with the default field of view too (camera unknown).
    Frame-weighted means over clips in ``summary``; ``per_performer`` groups clips by set and true stature.
    """
    from mpm_core.engine.contacts import detect_contacts
    from mpm_core.engine.lifter import LiftingEngine
    from mpm_core.engine.placement import place_in_world
    from mpm_core.engine.stature import ANKLE_HEIGHT_RATIO
    from mpm_core.engine.trajectory import CameraIntrinsics
    from mpm_core.engine.world_metrics import align_on_floor, foot_skate, penetration, up_error_deg
    from mpm_core.export.options import ExportOptions

    path = model_path or default_model_path()
    engine = LiftingEngine(path, device="cpu")
    if config is None:
        config = config_for_model(engine.model)
    clips = prepare_clips(config.data, progress=progress, root=data_root)
    _, val_clips = split_clips(clips, config.data.val_fraction, config.data.split_salt)
    val_clips = [c for c in val_clips if c.duration_s * min(config.data.val_fps) >= config.data.min_frames]
    if max_clips is not None:
        val_clips = val_clips[:max_clips]
    if not val_clips:
        raise PoseDataError("the validation split is empty (data.val_fraction is 0 or too few clips)")
    seed = config.evaluate.seed
    rows = []
    iterator = val_clips
    if progress:
        from tqdm import tqdm

        iterator = tqdm(val_clips, desc="evaluate world", unit="clip", leave=False)
    for clip in iterator:
        truth, camera, seq, fps, true_stature = _world_clip_inputs(clip, config, seed)
        recon = engine.lift(seq)
        k = CameraIntrinsics(camera.focal, camera.focal, *camera.center)
        gt_cam = camera.world_to_camera(truth).astype(np.float64)
        gt_rel = gt_cam - gt_cam[:, :1]
        true_up = camera.rotation @ np.array([0.0, 1.0, 0.0])
        gt_ankle_h = ANKLE_HEIGHT_RATIO * true_stature
        gt_contacts = detect_contacts(truth, fps, gt_ankle_h)
        row = {
            "clip": clip.info.key,
            "set": clip.info.set_name,
            "category": clip.info.category,
            "frames": int(len(truth)),
            "fps": fps,
            "stature_m": true_stature,
            "contact_frames": int(gt_contacts.any(axis=1).sum()),
            "truth": {
                "skate_mm_s": foot_skate(truth, gt_contacts, fps),
                "penetration_mm": penetration(truth, gt_ankle_h)[0],
            },
        }
        for name, extra in WORLD_VARIANTS.items():
            placement = place_in_world(recon, ExportOptions(coords="world", intrinsics=k, **extra))
            aligned = align_on_floor(placement.poses, truth)
            depth, share = penetration(placement.poses, placement.ankle_height)
            row[name] = {
                "root_mm": float(np.linalg.norm(aligned[:, 0] - truth[:, 0], axis=-1).mean() * 1000),
                "mpjpe_world_mm": float(np.linalg.norm(aligned - truth, axis=-1).mean() * 1000),
                "up_error_deg": up_error_deg(placement.transform.up_camera, true_up),
                "skate_mm_s": foot_skate(placement.poses, gt_contacts, fps),
                "penetration_mm": depth,
                "penetration_share": share,
                "stature_m": placement.stature_m,
            }
            if name == "no_locking":
                row["mpjpe_rel_mm"] = float(np.linalg.norm(placement.relative - gt_rel, axis=-1).mean() * 1000)
        tall = place_in_world(recon, ExportOptions(coords="world", intrinsics=k, height_m=true_stature))
        row["mpjpe_rel_height_mm"] = float(np.linalg.norm(tall.relative - gt_rel, axis=-1).mean() * 1000)
        unknown = place_in_world(recon, ExportOptions(coords="world"))
        row["root_default_fov_mm"] = float(
            np.linalg.norm(align_on_floor(unknown.poses, truth)[:, 0] - truth[:, 0], axis=-1).mean() * 1000
        )
        rows.append(row)
    return {
        "model": portable_path(engine.model.path),
        "clips": len(rows),
        "frames": int(sum(r["frames"] for r in rows)),
        "seed": seed,
        "summary": _world_summary(rows),
        "per_performer": _per_performer(rows),
        "per_clip": rows,
    }


def _weighted(rows: list[dict], get, weight: str = "frames") -> float:
    pairs = [(get(r), r[weight]) for r in rows if r[weight] > 0 and np.isfinite(get(r))]
    total = sum(w for _, w in pairs)
    return float(sum(v * w for v, w in pairs) / total) if total else float("nan")


def _world_summary(rows: list[dict]) -> dict:
    """Frame-weighted means (skate: weighted by contact frames)."""
    out = {
        "truth": {
            "skate_mm_s": _weighted(rows, lambda r: r["truth"]["skate_mm_s"], "contact_frames"),
            "penetration_mm": _weighted(rows, lambda r: r["truth"]["penetration_mm"]),
        },
        "mpjpe_rel_mm": _weighted(rows, lambda r: r["mpjpe_rel_mm"]),
        "mpjpe_rel_height_mm": _weighted(rows, lambda r: r["mpjpe_rel_height_mm"]),
        "root_default_fov_mm": _weighted(rows, lambda r: r["root_default_fov_mm"]),
    }
    for name in WORLD_VARIANTS:
        block = {}
        for key in ("root_mm", "mpjpe_world_mm", "up_error_deg", "penetration_mm", "penetration_share"):
            block[key] = _weighted(rows, lambda r, k=key, n=name: r[n][k])
        block["skate_mm_s"] = _weighted(rows, lambda r, n=name: r[n]["skate_mm_s"], "contact_frames")
        out[name] = block
    return out


def _per_performer(rows: list[dict]) -> list[dict]:
    """Clips grouped by set and true stature (to ``PERFORMER_STATURE_STEP_M``; the sets do not name their
    performers): root-relative MPJPE without and with the height given."""
    groups: dict[tuple[str, int], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["set"], int(round(r["stature_m"] / PERFORMER_STATURE_STEP_M))), []).append(r)
    return [
        {
            "set": key[0],
            "stature_m": _weighted(group, lambda r: r["stature_m"]),
            "clips": len(group),
            "frames": int(sum(r["frames"] for r in group)),
            "estimated_stature_m": _weighted(group, lambda r: r["no_locking"]["stature_m"]),
            "mpjpe_rel_mm": _weighted(group, lambda r: r["mpjpe_rel_mm"]),
            "mpjpe_rel_height_mm": _weighted(group, lambda r: r["mpjpe_rel_height_mm"]),
        }
        for key, group in sorted(groups.items())
    ]


def format_world_report(report: dict) -> str:
    """The world report as plain-text tables (``mpm-studio-cli evaluate --world``)."""
    s = report["summary"]
    lines = [
        f"model: {report['model']}",
        f"world evaluation: {report['clips']} whole validation clips, {report['frames']} frames, one seeded camera "
        "each, detector-like 2D noise, camera field of view known",
        "",
        f"{'':<22}{'root mm':>9}{'MPJPE mm':>10}{'up deg':>8}{'skate mm/s':>12}{'penetr. mm':>12}",
        f"{'ground truth':<22}{'':>9}{'':>10}{'':>8}{s['truth']['skate_mm_s']:>12.1f}"
        f"{s['truth']['penetration_mm']:>12.1f}",
    ]
    for name in WORLD_VARIANTS:
        b = s[name]
        lines.append(
            f"{name.replace('_', ' '):<22}{b['root_mm']:>9.0f}{b['mpjpe_world_mm']:>10.0f}{b['up_error_deg']:>8.1f}"
            f"{b['skate_mm_s']:>12.1f}{b['penetration_mm']:>12.1f}"
        )
    lines += [
        f"root trajectory error with the default field of view (camera unknown): {s['root_default_fov_mm']:.0f} mm",
        "",
        "root-relative MPJPE (camera frame, mm) without and with --height set to the true stature:",
        f"{'set':<18}{'stature':>8}{'estimated':>10}{'clips':>6}{'frames':>8}{'without':>9}{'with':>7}",
    ]
    for p in report["per_performer"]:
        lines.append(
            f"{p['set']:<18}{p['stature_m']:>8.2f}{p['estimated_stature_m']:>10.2f}{p['clips']:>6}{p['frames']:>8}"
            f"{p['mpjpe_rel_mm']:>9.1f}{p['mpjpe_rel_height_mm']:>7.1f}"
        )
    lines.append(
        f"{'all':<18}{'':>8}{'':>10}{report['clips']:>6}{report['frames']:>8}{s['mpjpe_rel_mm']:>9.1f}"
        f"{s['mpjpe_rel_height_mm']:>7.1f}"
    )
    return "\n".join(lines)


def format_report(report: dict) -> str:
    """The report as plain-text tables (what ``mpm-studio-cli evaluate`` prints)."""
    lines = [
        f"model: {report['model']}",
        f"validation: {report['clips']} clips, {report['windows']} windows of {report['window']} frames, "
        f"{report['frames']} frames (root-relative camera frame; mm)"
        + ("; test-time flip averaging on the 2D conditions" if report.get("flip") else ""),
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
    "WORLD_VARIANTS",
    "evaluate_world",
    "format_world_report",
    "DIRECT_CONDITIONS",
    "LIFT_CONDITIONS",
    "config_for_model",
    "evaluate_model",
    "format_report",
    "predict",
]
