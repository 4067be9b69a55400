"""The accuracy benchmark: baselines and MPM variants trained and tested on the same data, splits and augmentation.

One job = one (model, split): train the model on the split's training clips for the stated budget, then evaluate it
on the split's test clips under every condition. Jobs are seeded, checkpoint while they train (a killed job
continues where it stopped) and record their result in ``<out>/state.json``; a rerun skips finished jobs. The
results table (``<out>/results.md``; ``--doc`` pastes it into a document between markers) is generated from the
state file, with the machine, the budget and the wall times.

Models (``MODELS``):
- ``mlp``: single-frame residual MLP, Martinez et al. 2017 style (``mpm_core.model.baselines.ResidualMLP``);
- ``tcn``: dilated temporal convolutions, VideoPose3D style, receptive field 81 (``DilatedTCN``);
- ``mpm_scratch``: MPM (the shipped architecture) trained on 2D -> 3D lifting with masked inputs, no pretraining;
- ``mpm_pretrained``: MPM pretrained by masked 2D + masked 3D pose modelling (``PRETRAIN_SHARE`` of the budget),
  then trained like ``mpm_scratch`` for the rest of the budget;
- ``mpm_large``: ``mpm_pretrained`` with a larger network (``LARGE_NETWORK``: width 256, 6 encoder layers, 3.8 M
  parameters against 0.59 M), the candidate "accurate" model; same seed, so the same training windows;
- ``mpm_shipped``: the shipped model (``resources/models/mpm_h36m17``), not trained here: its own recipe (about
  2 h 40 min on this CPU) on its own training data, which includes ACCAD, the old training clips and (its last
  stage) most of ``cmu_dance_corpus``; the table says how many of each split's test clips were in its training data
  (``shipped_overlap``, from its sidecar's sets and split).

Ablations (``ABLATIONS``, the paper's, on ``ABLATION_SPLITS``): ``mpm_pretrained`` with one thing changed: the
pretraining mask ratio (about 50% or 90% instead of 71.8%), temporal-only or spatial-only pretraining masks, or a
window of 27 or 243 frames instead of 81 (network, training windows and test windows). Same seed, budget and
finetuning as ``mpm_pretrained``; their reference row is ``mpm_reference``, which is ``mpm_pretrained`` trained again
beside them (a CPU-time budget buys a different number of steps in another sitting on a shared machine, so the
comparison is made within one sitting; with a windows budget it repeats ``mpm_pretrained`` step for step). A
window-``w`` model is tested on windows of ``w``
frames that tile every test clip (stride ``w``), so every window length is scored on the same frames.

Every trained model gets the same budget (CPU seconds of its training process, or training windows), the same
batches (windows of 81 frames from ``WindowSampler``: random frame rate, 3D augmentation, random camera,
detector-like noise; the shipped recipe's last stage, ``configs/refine_limbs.json``) and the same masks on its 2D
input (the recipe's ``mask_mix``). Baselines see hidden joints as zeros plus a visibility flag. Losses: 3D MPJPE +
velocity (0.5) for all; MPM also trains its 2D-completion (0.3) and 3D-completion (0.5) heads, as its recipe does.
Learning rate 1e-3 for all (both baseline papers use 1e-3 with Adam), 50 warm-up steps, cosine to 5% over the
budget, AdamW (weight decay 0.01), gradient clipping 1.

Splits (``SPLITS``): ``val_old``: the shipped model's validation clips (fixed by ``val_old_clips.txt``), trained on
the old training clips; ``val_new``: a new hash split (salt ``accuracy-split-v2``, 10% per set) over every set
including ``cmu_dance_corpus``; ``lolo_accad``: leave one lab out: train without ACCAD, test on every
``extra_corpus/accad_*`` clip; ``lpo_cmu_dance``: leave performers out: train without ``cmu_dance_corpus``, test on
it (four CMU performers seen nowhere else). Leave-out splits train on every other set.

Conditions (``CONDITIONS``; errors root-relative, camera frame, mm, over the test frames that count):
``clean`` exact 2D; ``noisy`` detector-like 2D noise; ``mask30`` 30% of joints hidden; ``limb`` one limb hidden in
every frame of the window; ``frames50`` half the frames hidden (errors over every frame); ``complete3d_limb``
ground-truth 3D with one limb hidden for the whole window, completed (errors on the hidden joints; MPM only: the
baselines cannot take 3D input). MPM lifts masked windows in two passes, as the library does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import platform
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mpm_core.atomic import atomic_write
from mpm_core.errors import PoseDataError
from mpm_core.skeleton import H36M_JOINTS

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
VAL_OLD_LIST = HERE / "val_old_clips.txt"
#: The recipe the benchmark trains with (data, cameras, augmentation, network, finetuning masks and losses).
RECIPE = REPO / "configs" / "refine_limbs.json"
#: Pretraining settings (masks, losses) of the shipped recipe's stage 1.
PRETRAIN_RECIPE = REPO / "configs" / "default.json"


@dataclass(frozen=True)
class Ablation:
    """``mpm_pretrained`` with one thing changed: pretraining masks (the paper's sampler: ``frame_ratio`` of the
    frames hidden, ``joints_per_frame`` of 17 joints hidden in each other frame) or the window length (frames)."""

    title: str
    frame_ratio: float = 0.6
    joints_per_frame: int = 5
    window: int = 81

    def mask_ratio(self) -> float:
        """Share of (frame, joint) inputs hidden by these pretraining masks (as ``masking.spatio_temporal``)."""
        hidden = min(round(self.frame_ratio * self.window), self.window - 1) / self.window
        return hidden + (1 - hidden) * self.joints_per_frame / len(H36M_JOINTS)


#: What ``mpm_pretrained`` is (the shipped recipe's pretraining masks and window); the ablations' reference.
REFERENCE = Ablation("reference: spatio-temporal masks (60% of frames + 5 joints), window 81")
ABLATIONS: dict[str, Ablation] = {
    "mpm_reference": dataclasses.replace(REFERENCE, title="mpm_pretrained again, trained beside the ablations"),
    "mpm_mask50": Ablation("pretraining masks hiding about 50% (30% of frames + 5 joints)", frame_ratio=0.3),
    "mpm_mask90": Ablation("pretraining masks hiding about 90% (86% of frames + 5 joints)", frame_ratio=0.86),
    "mpm_temporal": Ablation("temporal-only pretraining masks (72% of frames)", frame_ratio=0.72, joints_per_frame=0),
    "mpm_spatial": Ablation("spatial-only pretraining masks (12 of 17 joints)", frame_ratio=0.0, joints_per_frame=12),
    "mpm_window27": Ablation("window 27 frames", window=27),
    "mpm_window243": Ablation("window 243 frames", window=243),
}
#: The splits the ablations run on: performers the models never saw.
ABLATION_SPLITS = ("lpo_cmu_dance",)
#: ``mpm_large``'s network: the shipped architecture's fields changed (the rest is the recipe's).
LARGE_NETWORK = {"width": 256, "encoder_layers": 6, "decoder_width": 128, "decoder_heads": 8}
MAIN_MODELS = ("mlp", "tcn", "mpm_scratch", "mpm_pretrained", "mpm_large", "mpm_shipped")
MODELS = (*MAIN_MODELS, *ABLATIONS)
#: A trained model's index here seeds its data stream (appended names keep the earlier models' draws).
TRAINED_MODELS = ("mlp", "tcn", "mpm_scratch", "mpm_pretrained", *ABLATIONS, "mpm_large")
#: Models that draw the training windows of ``mpm_pretrained`` (same seed): they differ from it in one thing.
PRETRAINED_VARIANTS = (*ABLATIONS, "mpm_large")
MODEL_TITLES = {
    "mlp": "MLP (Martinez et al. 2017 style, residual, width 1024)",
    "tcn": "TCN (VideoPose3D style, dilated, receptive field 81)",
    "mpm_scratch": "MPM, no pretraining",
    "mpm_pretrained": "MPM, masked 2D+3D pretraining",
    "mpm_large": "MPM, pretrained, larger network (width 256, 6 layers)",
    "mpm_shipped": "MPM shipped model (its own recipe and data)",
}
SPLITS = ("val_old", "val_new", "lolo_accad", "lpo_cmu_dance")
SPLIT_TITLES = {
    "val_old": "old validation split (69 clips, fixed list; same labs as training)",
    "val_new": "new validation split (hash, every set incl. cmu_dance_corpus)",
    "lolo_accad": "leave one lab out: trained without ACCAD, tested on every ACCAD clip",
    "lpo_cmu_dance": "leave performers out: trained without cmu_dance_corpus, tested on it",
}
#: Splits whose test motion comes from labs / performers the trained models never saw.
UNSEEN_SPLITS = ("lolo_accad", "lpo_cmu_dance")
CONDITIONS = ("clean", "noisy", "mask30", "limb", "frames50", "complete3d_limb")
LIFT_CONDITIONS = CONDITIONS[:5]
METRICS = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve_mm_s", "bone_std_mm", "pck150")

NEW_SPLIT_SALT = "accuracy-split-v2"
NEW_SPLIT_FRACTION = 0.1
#: Share of ``mpm_pretrained``'s budget spent on pretraining (the rest trains the lifting like ``mpm_scratch``).
PRETRAIN_SHARE = 0.25
LEARNING_RATE = 1e-3
WARMUP_STEPS = 50
FINAL_LR_SHARE = 0.05
BASELINE_LOSS = {"lift3d": 1.0, "velocity": 0.5}
#: Training steps whose loss makes the "final training loss" figure.
FINAL_LOSS_STEPS = 20
#: The lifting training loss is also kept as its mean over each tenth of the (finetuning) budget: how much it still
#: fell in the second half tells whether a model was still learning when its budget ran out.
CURVE_POINTS = 10
#: A job saves its training state at most this often (CPU seconds of training).
CHECKPOINT_EVERY_S = 60.0
EVAL_BATCH = 64
STATE_FORMAT = 1
#: A run's table goes between these markers of a document (``{name}``: the run folder's name), so one document can
#: hold the tables of several runs.
DOC_BEGIN = "<!-- accuracy-table:begin {name} -->"
DOC_END = "<!-- accuracy-table:end {name} -->"


# -- settings and budget ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """Training budget per model: ``amount`` CPU seconds of the training process (``unit`` "cpu_s") or training
    windows of 81 frames (``unit`` "windows")."""

    amount: float
    unit: str

    @staticmethod
    def parse(text: str) -> Budget:
        """``"20m"`` / ``"1200s"`` / ``"1.5h"`` (CPU time) or ``"4000w"`` (windows)."""
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([smhw])\s*", str(text).lower())
        if not m:
            raise PoseDataError(f"budget {text!r}: use CPU time (90s, 20m, 1.5h) or windows (4000w)", where="--budget")
        value, unit = float(m.group(1)), m.group(2)
        if value <= 0:
            raise PoseDataError(f"budget {text!r} must be > 0", where="--budget")
        if unit == "w":
            return Budget(value, "windows")
        return Budget(value * {"s": 1, "m": 60, "h": 3600}[unit], "cpu_s")

    def describe(self) -> str:
        if self.unit == "windows":
            return f"{self.amount:.0f} training windows of 81 frames per model"
        return f"{self.amount / 60:.1f} CPU-minutes of training per model"


@dataclass
class Settings:
    """What defines a run (stored in the state file; a resumed run must use the same).

    ``max_clips``: per set, keep only this many training clips and test clips (the smallest files; smoke runs).
    ``max_test_windows``: evaluate on at most this many test windows per split (seeded choice; reduced runs).
    """

    budget: Budget
    batch_size: int = 32
    seed: int = 0
    threads: int = 1
    models: tuple[str, ...] = MODELS
    splits: tuple[str, ...] = SPLITS
    max_clips: int | None = None
    max_test_windows: int | None = None
    data_root: str | None = None
    pretrain_share: float = PRETRAIN_SHARE

    def key(self) -> dict:
        """The fields that make results comparable (models and splits may be added on a resume)."""
        d = dataclasses.asdict(self)
        for name in ("models", "splits", "data_root", "threads"):
            d.pop(name)
        d["budget"] = dataclasses.asdict(self.budget)
        return d


def job_key(model: str, split: str) -> str:
    return f"{model}/{split}"


def planned_jobs(settings: Settings) -> list[tuple[str, str]]:
    """Every (model, split) job of a run: each main model on each split, each ablation on ``ABLATION_SPLITS``."""
    return [(m, s) for s in settings.splits for m in settings.models if m not in ABLATIONS or s in ABLATION_SPLITS]


def ablation_of(model: str) -> Ablation:
    """The pretraining masks and window of an MPM model of the benchmark (``REFERENCE`` unless an ablation)."""
    return ABLATIONS.get(model, REFERENCE)


# -- data -----------------------------------------------------------------------------------------------------


def _recipe():
    from mpm_core.model.config import load_config

    return load_config(RECIPE), load_config(PRETRAIN_RECIPE)


def val_old_keys() -> list[str]:
    lines = VAL_OLD_LIST.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def hash_split_test_keys(infos: list, fraction: float, salt: str) -> set[str]:
    """The keys ``mpm_core.model.data.split_clips`` puts in validation, from the clip list (``ClipInfo``) alone: a
    clip is held out when the hash of ``salt + key`` < ``fraction``; a set of 2+ clips keeps at least one on each
    side, a set of one clip trains on it."""
    from mpm_core.model.data import _unit_hash

    test = {c.key for c in infos if _unit_hash(salt + "|" + c.key) < fraction}
    for set_name in {c.set_name for c in infos}:
        score = {c.key: _unit_hash(salt + "|" + c.key) for c in infos if c.set_name == set_name}
        if len(score) < 2:
            test.difference_update(score)
            continue
        if not any(k in test for k in score):
            test.add(min(score, key=score.get))
        if all(k in test for k in score):
            test.discard(max(score, key=score.get))
    return test


def split_keys(split: str, infos: list) -> tuple[list, list]:
    """``(train infos, test infos)`` of a split over every listed clip (``ClipInfo``)."""
    from mpm_core.model.config import DEFAULT_SETS

    if split == "val_old":
        held = set(val_old_keys())
        pool = [c for c in infos if c.set_name in DEFAULT_SETS]
        return [c for c in pool if c.key not in held], [c for c in pool if c.key in held]
    if split == "val_new":
        test = hash_split_test_keys(infos, NEW_SPLIT_FRACTION, NEW_SPLIT_SALT)
        return [c for c in infos if c.key not in test], [c for c in infos if c.key in test]
    if split == "lolo_accad":
        is_test = [c.set_name == "extra_corpus" and c.name.startswith("accad_") for c in infos]
    elif split == "lpo_cmu_dance":
        is_test = [c.set_name == "cmu_dance_corpus" for c in infos]
    else:
        raise PoseDataError(f"unknown split {split!r}; known: {', '.join(SPLITS)}", where="--splits")
    return [c for c, t in zip(infos, is_test) if not t], [c for c, t in zip(infos, is_test) if t]


def _smallest_per_set(infos: list, k: int) -> list:
    out = []
    for set_name in dict.fromkeys(c.set_name for c in infos):
        members = sorted((c for c in infos if c.set_name == set_name), key=lambda c: (c.path.stat().st_size, c.key))
        out.extend(members[:k])
    return out


_CLIP_CACHE: dict[str, object] = {}


def load_clips(infos: list, settings: Settings) -> list:
    """Prepared clips (``mpm_core.model.data.Clip``) of ``infos``: whole sets through the pipeline's cache, or (with
    ``max_clips``) only the chosen files, read directly. Exact duplicates keep their first occurrence."""
    from mpm_core.model.config import DataConfig
    from mpm_core.model.data import Clip, content_hash, prepare_clips, read_clip

    wanted = {c.key for c in infos}
    if settings.max_clips is None:
        sets = list(dict.fromkeys(c.set_name for c in infos))
        missing = [s for s in sets if s not in _CLIP_CACHE]
        if missing:
            data = DataConfig(root=settings.data_root, sets=missing, min_frames=1)
            by_set: dict[str, list] = {}
            for clip in prepare_clips(data, progress=False):
                by_set.setdefault(clip.info.set_name, []).append(clip)
            for s in missing:
                _CLIP_CACHE[s] = by_set.get(s, [])
        return [clip for s in sets for clip in _CLIP_CACHE[s] if clip.info.key in wanted]
    out = []
    for info in infos:
        if info.key not in _CLIP_CACHE:
            joints, fps = read_clip(info)
            _CLIP_CACHE[info.key] = Clip(info, joints, fps, content_hash(info.path))
        out.append(_CLIP_CACHE[info.key])
    return out


def split_data(split: str, settings: Settings) -> tuple[list, list]:
    """``(train clips, test clips)`` of a split."""
    from mpm_core.model.config import ALL_SETS, default_mocap_root
    from mpm_core.model.data import list_clips

    root = Path(settings.data_root) if settings.data_root else default_mocap_root()
    infos = list_clips(root, list(ALL_SETS))
    train, test = split_keys(split, infos)
    if settings.max_clips is not None:
        train, test = _smallest_per_set(train, settings.max_clips), _smallest_per_set(test, settings.max_clips)
    if not train or not test:
        raise PoseDataError(f"split {split}: {len(train)} training and {len(test)} test clips", root)
    return load_clips(train, settings), load_clips(test, settings)


def test_windows(test_clips: list, settings: Settings, window: int = REFERENCE.window):
    """The split's deterministic test windows of ``window`` frames (``build_validation``: fixed cameras and noise
    per clip; stride ``window``, so every frame of every clip counts once whatever the window), at most
    ``max_test_windows`` of them (a seeded choice)."""
    from mpm_core.model.data import ValidationSet, build_validation

    recipe, _ = _recipe()
    data = dataclasses.replace(recipe.data, min_frames=1, val_stride=window)
    val = build_validation(test_clips, data, recipe.cameras, recipe.augment, window, recipe.evaluate.seed)
    limit = settings.max_test_windows
    if limit is None or len(val) <= limit:
        return val
    rows = np.sort(np.random.default_rng([settings.seed, 77]).choice(len(val), size=limit, replace=False))
    return ValidationSet(
        clean=val.clean.subset(rows),
        noisy=val.noisy.subset(rows),
        score=val.score[rows],
        clip_keys=[val.clip_keys[i] for i in rows],
        categories=[val.categories[i] for i in rows],
        sets=[val.sets[i] for i in rows],
    )


# -- models and training --------------------------------------------------------------------------------------


def build_model(model: str):
    from mpm_core.model.baselines import DilatedTCN, ResidualMLP
    from mpm_core.model.network import MPMNetwork

    if model == "mlp":
        return ResidualMLP()
    if model == "tcn":
        return DilatedTCN()
    recipe, _ = _recipe()
    sizes = LARGE_NETWORK if model == "mpm_large" else {}
    return MPMNetwork(dataclasses.replace(recipe.network, window=ablation_of(model).window, **sizes))


def _lr(step: int, progress: float) -> float:
    if step < WARMUP_STEPS:
        return LEARNING_RATE * (step + 1) / WARMUP_STEPS
    return LEARNING_RATE * (FINAL_LR_SHARE + (1 - FINAL_LR_SHARE) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def _phases(model: str, settings: Settings) -> list[tuple[str, float]]:
    if model == "mpm_pretrained" or model in PRETRAINED_VARIANTS:
        return [("pretrain", settings.pretrain_share), ("finetune", 1.0 - settings.pretrain_share)]
    return [("finetune", 1.0)]


def _save_weights(path: Path, network) -> None:
    from safetensors.torch import save as save_bytes

    from mpm_core.atomic import atomic_write_bytes

    state = {k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
    atomic_write_bytes(path, save_bytes(state))


def _load_weights(path: Path, network) -> None:
    from safetensors.torch import load as load_bytes

    network.load_state_dict(load_bytes(path.read_bytes()))


def train_job(model: str, split: str, train_clips: list, settings: Settings, job_dir: Path, log=print) -> dict:
    """Train one model for the budget; resumes from ``job_dir`` when a checkpoint is there. Returns the training
    record (steps, windows, CPU and wall seconds, final training loss, parameters)."""
    import torch
    from torch import nn

    from mpm_core.model.data import WindowSampler
    from mpm_core.model.train import _LossModule, batch_tensors, load_train_state, save_train_state, velocity_loss

    recipe, pre_recipe = _recipe()
    ablation = ablation_of(model)
    pretrain = dataclasses.replace(
        pre_recipe.pretrain, frame_ratio=ablation.frame_ratio, joints_per_frame=ablation.joints_per_frame
    )
    phase_cfgs = {"pretrain": pretrain, "finetune": recipe.finetune}
    # A variant starts from its reference's seed: the same training windows as mpm_pretrained.
    seed_model = "mpm_pretrained" if model in PRETRAINED_VARIANTS else model
    rng = np.random.default_rng([settings.seed, TRAINED_MODELS.index(seed_model), SPLITS.index(split)])
    torch.manual_seed(settings.seed)
    network = build_model(model)
    is_mpm = model.startswith("mpm")
    loss_module = _LossModule(network) if is_mpm else None
    optimizer = torch.optim.AdamW(network.parameters(), lr=LEARNING_RATE, weight_decay=0.01)
    sampler = WindowSampler(train_clips, recipe.data, recipe.cameras, recipe.augment, ablation.window, rng)
    device = torch.device("cpu")
    # "used": budget spent so far (CPU s or windows); each phase ends at its cumulative share of the budget, so a
    # phase that overshoots by part of a step leaves that much less to the next one.
    record = {"steps": 0, "windows": 0, "cpu_s": 0.0, "wall_s": 0.0, "used": 0.0, "phase": 0, "phase_step": 0}
    record.update({"phase_start": 0.0, "losses": [], "curve_sum": [0.0] * CURVE_POINTS, "curve_n": [0] * CURVE_POINTS})
    weights_path, state_stem = job_dir / "weights.safetensors", job_dir / "train_state"
    if weights_path.is_file() and state_stem.with_suffix(".json").is_file():
        _load_weights(weights_path, network)
        meta = load_train_state(state_stem, optimizer, rng)
        record = meta["record"]
        record.setdefault("curve_sum", [0.0] * CURVE_POINTS)  # checkpoints written before the curve was kept
        record.setdefault("curve_n", [0] * CURVE_POINTS)
        log(f"[{job_key(model, split)}] resumed at step {record['steps']}")
    phases = _phases(model, settings)
    budget = settings.budget
    last_save = record["cpu_s"]
    network.train()
    while record["phase"] < len(phases):
        phase, _ = phases[record["phase"]]
        phase_end = budget.amount * sum(share for _, share in phases[: record["phase"] + 1])
        span = max(phase_end - record["phase_start"], 1e-9)
        cfg = phase_cfgs[phase]
        weights = dict(cfg.loss) if is_mpm else dict(BASELINE_LOSS)
        if is_mpm and phase == "finetune":
            weights = dict(recipe.finetune.loss)
        while record["used"] < phase_end:
            t_cpu, t_wall = time.process_time(), time.perf_counter()
            for group in optimizer.param_groups:
                group["lr"] = _lr(record["phase_step"], (record["used"] - record["phase_start"]) / span)
            batch = sampler.sample(settings.batch_size)
            t = batch_tensors(batch, phase, cfg, rng, device)
            if is_mpm:
                losses = loss_module(t, phase, weights)
            else:
                pred = network(t["x2d"], t["mask2d"], t["fmask2d"])
                frames = (~t["pad"]).float()
                err = torch.linalg.vector_norm(pred - t["y3d"], dim=-1).mean(-1)
                losses = {"lift3d": (err * frames).sum() / frames.sum().clamp_min(1.0)}
                losses["velocity"] = velocity_loss(pred, t["y3d"], frames)
                losses["total"] = sum(weights[k] * losses[k] for k in ("lift3d", "velocity"))
            optimizer.zero_grad(set_to_none=True)
            losses["total"].backward()
            nn.utils.clip_grad_norm_(network.parameters(), 1.0)
            optimizer.step()
            record["phase_step"] += 1
            cpu = time.process_time() - t_cpu
            record["steps"] += 1
            record["windows"] += settings.batch_size
            record["cpu_s"] += cpu
            record["wall_s"] += time.perf_counter() - t_wall
            if phase == "finetune":  # the step counts in the tenth of the budget where it started
                loss_mm = float(losses["lift3d"].detach()) * 1000
                record["losses"] = (record["losses"] + [loss_mm])[-FINAL_LOSS_STEPS:]
                tenth = min(CURVE_POINTS - 1, int(CURVE_POINTS * (record["used"] - record["phase_start"]) / span))
                record["curve_sum"][tenth] += loss_mm
                record["curve_n"][tenth] += 1
            record["used"] += cpu if budget.unit == "cpu_s" else settings.batch_size
            if record["cpu_s"] - last_save >= CHECKPOINT_EVERY_S:
                _save_weights(weights_path, network)
                save_train_state(state_stem, optimizer, record["steps"], rng, {"record": record})
                last_save = record["cpu_s"]
        record["phase"] += 1
        record["phase_start"], record["phase_step"] = record["used"], 0
    # The trained state is kept: a job stopped during its evaluation does not train again.
    _save_weights(weights_path, network)
    save_train_state(state_stem, optimizer, record["steps"], rng, {"record": record})
    from mpm_core.model.network import count_parameters

    return {
        "steps": record["steps"],
        "windows": record["windows"],
        "train_cpu_s": round(record["cpu_s"], 1),
        "train_wall_s": round(record["wall_s"], 1),
        "final_train_loss_mm": float(np.mean(record["losses"])) if record["losses"] else None,
        "loss_curve_mm": [t / n if n else None for t, n in zip(record["curve_sum"], record["curve_n"])],
        "parameters": count_parameters(network),
        "network": network,
    }


# -- evaluation -----------------------------------------------------------------------------------------------


def condition_masks(val, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(joint mask (B, T, J), frame mask (B, T)) per condition; padding frames are always hidden."""
    from mpm_core.model.masking import LIMB_INDICES, random_joints

    rng = np.random.default_rng([seed, 1234])
    B, T, J, _ = val.clean.x2d.shape
    none = np.zeros((B, T, J), bool)
    pad = val.clean.pad
    mask30, _ = random_joints(B, T, J, 0.3, rng)
    limbs = list(LIMB_INDICES.values())

    def limb_masks() -> np.ndarray:
        out = np.zeros((B, T, J), bool)
        for b, which in enumerate(rng.integers(len(limbs), size=B)):
            out[b, :, list(limbs[which])] = True
        return out

    limb = limb_masks()
    frames = rng.random((B, T)) < 0.5
    return {
        "clean": (none, pad),
        "noisy": (val.noisy.hidden, pad),
        "mask30": (mask30, pad),
        "limb": (limb, pad),
        "frames50": (none, pad | frames),
        "complete3d_limb": (limb_masks(), pad),
    }


def _predict(
    model: str, network, x: np.ndarray, jm: np.ndarray, fm: np.ndarray, modality: str = "2d", flip: bool = False
) -> np.ndarray:
    import torch

    if model.startswith("mpm"):
        from mpm_core.model.checkpoint import LoadedModel
        from mpm_core.model.evaluate import predict

        network.eval()
        loaded = LoadedModel(network, network.config, {}, torch.device("cpu"), Path(model))
        return predict(loaded, x, modality, jm, fm, batch_size=EVAL_BATCH, flip=flip)
    network.eval()
    out = []
    with torch.inference_mode():
        for s in range(0, len(x), EVAL_BATCH):
            rows = slice(s, s + EVAL_BATCH)
            y = network(torch.from_numpy(x[rows]), torch.from_numpy(jm[rows]), torch.from_numpy(fm[rows]))
            out.append(y.numpy())
    return np.concatenate(out)


def _scores(pred: np.ndarray, gt: np.ndarray, counts: np.ndarray, fps: np.ndarray) -> dict[str, float]:
    from mpm_core import metrics
    from mpm_core.model.evaluate import _scores as base_scores

    out = base_scores(pred, gt, counts, fps)
    stds = []
    for b in range(len(pred)):  # bone-length std within each window (one performer), then the mean
        frames = counts[b].any(-1)
        if frames.sum() >= 2:
            stds.append(metrics.bone_length_std(pred[b][frames], mask=counts[b][frames]))
    out["bone_std_mm"] = float(np.nanmean(np.concatenate(stds))) if stds else float("nan")
    return {k: float(out[k]) for k in METRICS}


def evaluate_job(model: str, network, val, seed: int, flip: bool = False) -> dict:
    """Every condition's metrics, and lifting throughput (frames/s on the clean windows). ``flip``: MPM lifts with
    test-time flip averaging (3D completion never flips)."""
    import torch

    masks = condition_masks(val, seed)
    gt = val.clean.y3d
    counts = np.broadcast_to(val.score[..., None], gt.shape[:-1])
    fps = val.clean.fps
    out: dict[str, dict] = {}
    speed = None
    for name in LIFT_CONDITIONS:
        x = val.noisy.x2d if name == "noisy" else val.clean.x2d
        t0 = time.perf_counter()
        pred = _predict(model, network, x, *masks[name], flip=flip)
        if name == "clean":
            speed = val.clean.x2d.shape[0] * val.clean.x2d.shape[1] / (time.perf_counter() - t0)
        out[name] = _scores(pred, gt, counts, fps)
    hidden = masks["complete3d_limb"][0]
    if model.startswith("mpm"):
        x3d = np.where(hidden[..., None], 0.0, gt).astype(np.float32)
        completed = _predict(model, network, x3d, *masks["complete3d_limb"], modality="3d")
        out["complete3d_limb"] = _scores(completed, gt, counts & hidden, fps)
    else:
        out["complete3d_limb"] = None  # a lifter has no 3D input
    return {"conditions": out, "lift_frames_per_s": speed, "threads": torch.get_num_threads()}


def evaluate_checkpoint(checkpoint: str, split: str, settings: Settings, flip: bool = False) -> dict:
    """Evaluate any MPM checkpoint (a registered name or a path) on one split's test windows, under every condition,
    exactly as the jobs are evaluated: what a recipe change buys on the unseen splits. Not stored in the state."""
    import torch

    from mpm_core.model.checkpoint import load_model
    from mpm_core.model.registry import resolve_model

    torch.set_num_threads(settings.threads)
    path = resolve_model(checkpoint)
    network = load_model(path, device="cpu").network
    _, test_clips = split_data(split, settings)
    val = test_windows(test_clips, settings, network.config.window)
    result = evaluate_job("mpm_checkpoint", network, val, settings.seed, flip=flip)
    return {"checkpoint": str(path), "split": split, "flip": flip, "test_clips": len(test_clips), **result}


def format_check(result: dict) -> str:
    """One checkpoint's figures on one split, a line per condition (mm; velocity mm/s)."""
    lines = [
        f"{result['checkpoint']} on {result['split']} ({result['test_clips']} clips)"
        + (", flip-averaged" if result["flip"] else ""),
        f"{'condition':<16}" + "".join(f"{m:>13}" for m in METRICS),
    ]
    for name, block in result["conditions"].items():
        if block:
            lines.append(f"{name:<16}" + "".join(f"{block[m]:>13.3f}" for m in METRICS))
    lines.append(f"lifting speed: {result['lift_frames_per_s']:.0f} frames/s")
    return "\n".join(lines)


def shipped_overlap(test_clips: list, meta: dict, settings: Settings) -> int:
    """How many of the test clips a shipped model trained on. ``meta``: its sidecar, whose last stage's data
    settings (sets, validation fraction and salt; every stage of the recipe splits with the same salt, and the
    last one trains on every set an earlier one did) give its training clips."""
    from mpm_core.model.config import DataConfig, default_mocap_root
    from mpm_core.model.data import list_clips

    data = meta.get("training", {}).get("config", {}).get("data")
    if not data or "sets" not in data:
        raise PoseDataError("the shipped model's sidecar names no training sets (training.config.data.sets)")
    root = Path(settings.data_root) if settings.data_root else default_mocap_root()
    infos = list_clips(root, list(data["sets"]))
    defaults = DataConfig()
    fraction, salt = data.get("val_fraction", defaults.val_fraction), data.get("split_salt", defaults.split_salt)
    held = hash_split_test_keys(infos, float(fraction), str(salt))
    trained = {c.key for c in infos} - held
    return sum(1 for c in test_clips if c.info.key in trained)


def run_job(model: str, split: str, settings: Settings, out_dir: Path, log=print) -> dict:
    """Train (or load, for ``mpm_shipped``) and evaluate one (model, split); writes
    ``jobs/<model>__<split>/result.json`` and returns the result."""
    import torch

    torch.set_num_threads(settings.threads)
    job_dir = out_dir / "jobs" / f"{model}__{split}"
    job_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    train_clips, test_clips = split_data(split, settings)
    val = test_windows(test_clips, settings, ablation_of(model).window)
    if model == "mpm_shipped":
        from mpm_core.model.checkpoint import default_model_path, load_model

        loaded = load_model(default_model_path(), device="cpu")
        network = loaded.network
        training = {"steps": None, "windows": None, "train_cpu_s": None, "train_wall_s": None}
        # Every parameter (a loaded model's parameters are frozen, which count_parameters would skip).
        training.update({"final_train_loss_mm": None, "parameters": sum(p.numel() for p in network.parameters())})
        training["test_clips_seen_in_training"] = shipped_overlap(test_clips, loaded.meta, settings)
    else:
        training = train_job(model, split, train_clips, settings, job_dir, log)
        network = training.pop("network")
    evaluation = evaluate_job(model, network, val, settings.seed)
    result = {
        "model": model,
        "split": split,
        "train_clips": len(train_clips),
        "test_clips": len(test_clips),
        "test_windows": len(val),
        "test_frames": int(val.score.sum()),
        **training,
        **evaluation,
        "job_wall_s": round(time.perf_counter() - t0, 1),
        "finished_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }
    with atomic_write(job_dir / "result.json") as f:
        json.dump(result, f, indent=1)
    return result


# -- state and the run ----------------------------------------------------------------------------------------


def _read_state(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PoseDataError(f"corrupt benchmark state: {exc}", path) from None
    if state.get("format") != STATE_FORMAT:
        raise PoseDataError(f"state format {state.get('format')!r}, expected {STATE_FORMAT}", path)
    return state


def _write_state(path: Path, state: dict) -> None:
    with atomic_write(path) as f:
        json.dump(state, f, indent=1)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    system = f"{platform.system()}, Python {platform.python_version()}, torch {torch.__version__}"
    return f"{cpu}, {os.cpu_count()} cores, {system}"


def _job_entry(args: tuple) -> dict:
    model, split, settings, out_dir = args
    return run_job(model, split, settings, out_dir)


@contextlib.contextmanager
def _folder_lock(out_dir: Path):
    """Hold ``<out>/run.lock`` for a run: a second run on the same folder would overwrite the first one's results
    with its own copy of the state, so it is refused. (No locking where ``fcntl`` is missing, i.e. on Windows.)"""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(out_dir / "run.lock", "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PoseDataError("another run is using this folder; wait for it or use another --out", out_dir) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run(settings: Settings, out_dir: Path, jobs: int = 1, stop_after_s: float | None = None, log=print) -> dict:
    """Run every (model, split) job not finished yet; returns ``{"ran": n, "skipped": n, "state": state}``. One run
    per folder at a time (``_folder_lock``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with _folder_lock(out_dir):
        return _run_locked(settings, out_dir, jobs, stop_after_s, log)


def _run_locked(settings: Settings, out_dir: Path, jobs: int, stop_after_s: float | None, log) -> dict:
    state_path = out_dir / "state.json"
    state = _read_state(state_path)
    if state is None:
        state = {"format": STATE_FORMAT, "settings": settings.key(), "machine": machine(), "jobs": {}, "sittings": []}
    elif state["settings"] != settings.key():
        raise PoseDataError(
            f"made with other settings ({json.dumps(state['settings'])}); use another --out or the same settings",
            state_path,
        )
    planned = planned_jobs(settings)
    todo = [(m, s) for m, s in planned if job_key(m, s) not in state["jobs"]]
    skipped = len(planned) - len(todo)
    log(f"{len(todo)} job(s) to run, {skipped} finished job(s) skipped")
    sitting = {"started_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()), "jobs": 0}
    state["sittings"].append(sitting)
    t0 = time.perf_counter()
    ran = 0
    failed: list[str] = []

    def record(result: dict) -> None:
        nonlocal ran
        state["jobs"][job_key(result["model"], result["split"])] = result
        ran += 1
        sitting["jobs"] = ran
        sitting["wall_s"] = round(time.perf_counter() - t0, 1)
        _write_state(state_path, state)
        c = result["conditions"]["clean"]
        log(f"[{result['model']}/{result['split']}] clean MPJPE {c['mpjpe']:.1f} mm ({result['job_wall_s']:.0f} s)")

    if jobs <= 1:
        for model, split in todo:
            if stop_after_s is not None and time.perf_counter() - t0 > stop_after_s:
                log("stop-after reached: the remaining jobs wait for the next sitting")
                break
            try:
                record(run_job(model, split, settings, out_dir, log))
            except (PoseDataError, RuntimeError, ValueError) as exc:  # one broken job must not stop the others
                failed.append(job_key(model, split))
                log(f"[{job_key(model, split)}] failed: {exc}")
    else:
        import multiprocessing as mp
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
            pending, names = set(), {}
            queue = list(todo)
            while queue or pending:
                while queue and len(pending) < jobs:
                    if stop_after_s is not None and time.perf_counter() - t0 > stop_after_s:
                        queue.clear()
                        break
                    model, split = queue.pop(0)
                    fut = pool.submit(_job_entry, (model, split, settings, out_dir))
                    names[fut] = job_key(model, split)
                    pending.add(fut)
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    try:
                        record(fut.result())
                    except (PoseDataError, RuntimeError, ValueError) as exc:
                        failed.append(names[fut])
                        log(f"[{names[fut]}] failed: {exc}")
    sitting["wall_s"] = round(time.perf_counter() - t0, 1)
    _write_state(state_path, state)
    return {"ran": ran, "skipped": skipped, "failed": failed, "state": state}


# -- the table ------------------------------------------------------------------------------------------------


def _fmt(value, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}"


def _second_half(curve: list | None) -> str:
    """The lifting training loss over the middle tenth of the budget and over the last, and the change: a model
    whose loss still falls steeply at the end was still learning when its budget ran out."""
    if not curve or curve[CURVE_POINTS // 2 - 1] is None or curve[-1] is None:
        return "–"
    half, end = curve[CURVE_POINTS // 2 - 1], curve[-1]
    return f"{half:.0f} → {end:.0f} ({100 * (end - half) / half:+.0f}%)"


def _verdict(state: dict, split: str) -> list[str]:
    """The issue's targets on an unseen split: MPM >= 20% below the MLP and >= 10% below the TCN on clean 2D."""
    jobs = state["jobs"]
    lines = []
    mpm = [jobs.get(job_key(m, split)) for m in ("mpm_pretrained", "mpm_scratch", "mpm_large")]
    mpm = [r for r in mpm if r]
    if not mpm:
        return lines
    best = min(mpm, key=lambda r: r["conditions"]["clean"]["mpjpe"])
    for base, need in (("mlp", 20.0), ("tcn", 10.0)):
        other = jobs.get(job_key(base, split))
        if not other:
            continue
        for cond in ("clean", "mask30", "limb"):
            a, b = best["conditions"][cond]["mpjpe"], other["conditions"][cond]["mpjpe"]
            gain = 100.0 * (b - a) / b
            target = (
                f" (target ≥ {need:.0f}% lower: **{'met' if gain >= need else 'missed'}**)" if cond == "clean" else ""
            )
            relation = f"{gain:.1f}% lower" if gain >= 0 else f"{-gain:.1f}% higher"
            lines.append(f"- {best['model']} vs {base}, {cond}: {a:.1f} vs {b:.1f} mm, {relation}{target}")
    return lines


def make_table(state: dict, settings_note: str = "") -> str:
    """The results as markdown, from the state file."""
    s = state["settings"]
    budget = Budget(s["budget"]["amount"], s["budget"]["unit"])
    jobs = state["jobs"]
    total_wall = sum(r.get("job_wall_s") or 0 for r in jobs.values())
    sittings = state.get("sittings", [])
    elapsed = sum(x.get("wall_s") or 0 for x in sittings)
    lines = [
        "## Results",
        "",
        f"- Machine: {state['machine']}.",
        f"- Budget: {budget.describe()}; batch {s['batch_size']} windows; seed {s['seed']}"
        + f"; MPM with pretraining spends {s['pretrain_share']:.0%} of it pretraining"
        + ".",
        f"- Test windows: {'all' if s['max_test_windows'] is None else 'at most ' + str(s['max_test_windows'])}"
        f" per split; training clips: {'all' if s['max_clips'] is None else str(s['max_clips']) + ' per set'}.",
        f"- Wall time: {elapsed / 60:.1f} min in {len(sittings)} sitting(s) for {len(jobs)} job(s)"
        f" ({total_wall / 60:.1f} min of job wall time summed over parallel jobs; data loading and evaluation"
        " included). Lift frames/s: one thread, measured while the jobs ran (indicative on a shared machine).",
    ]
    if settings_note:
        lines.append(f"- {settings_note}")
    lines.append("")
    for split in SPLITS:
        rows = [jobs.get(job_key(m, split)) for m in MAIN_MODELS]
        if not any(rows):
            continue
        first = next(r for r in rows if r)
        lines += [
            f"### {split}: {SPLIT_TITLES[split]}",
            "",
            f"{first['train_clips']} training clips, {first['test_clips']} test clips, {first['test_windows']} test "
            f"windows ({first['test_frames']} frames).",
            "",
            "| model | parameters | steps | windows | train CPU s | train wall s | final train loss (mm) "
            "| train loss, half → end | lift frames/s | job wall s |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for model, r in zip(MAIN_MODELS, rows):
            if not r:
                continue
            note = ""
            if model == "mpm_shipped" and r.get("test_clips_seen_in_training"):
                note = (
                    f" ⚠ {r['test_clips_seen_in_training']} of {r['test_clips']} test clips were in its training data"
                )
            lines.append(
                f"| {MODEL_TITLES[model]}{note} | {r['parameters'] / 1e6:.2f} M | {_fmt(r['steps'], 0)} "
                f"| {_fmt(r['windows'], 0)} | {_fmt(r['train_cpu_s'], 0)} | {_fmt(r['train_wall_s'], 0)} "
                f"| {_fmt(r['final_train_loss_mm'])} | {_second_half(r.get('loss_curve_mm'))} "
                f"| {_fmt(r['lift_frames_per_s'], 0)} | {_fmt(r['job_wall_s'], 0)} |"
            )
        lines += [
            "",
            "| model | condition | MPJPE | P-MPJPE | N-MPJPE | velocity error (mm/s) | bone-length std (mm) | PCK150 |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for model, r in zip(MAIN_MODELS, rows):
            if not r:
                continue
            for cond in CONDITIONS:
                m = r["conditions"].get(cond)
                if m is None:
                    lines.append(f"| {model} | {cond} | n/a (no 3D input) | | | | | |")
                    continue
                lines.append(
                    f"| {model} | {cond} | {_fmt(m['mpjpe'])} | {_fmt(m['p_mpjpe'])} | {_fmt(m['n_mpjpe'])} "
                    f"| {_fmt(m['mpjve_mm_s'])} | {_fmt(m['bone_std_mm'])} | {_fmt(m['pck150'], 3)} |"
                )
        verdict = _verdict(state, split) if split in UNSEEN_SPLITS else []
        if verdict:
            lines += ["", "Targets (unseen split; best trained MPM against each baseline):", *verdict]
        lines.append("")
    for split in ABLATION_SPLITS:
        lines += _ablation_table(jobs, split)
    return "\n".join(lines)


def _ablation_table(jobs: dict, split: str) -> list[str]:
    """The paper's ablations on one split: each variant's MPJPE per condition beside its reference's."""
    rows = [(m, jobs.get(job_key(m, split))) for m in ("mpm_pretrained", *ABLATIONS)]
    rows = [(m, r) for m, r in rows if r]
    if not any(m in ABLATIONS for m, _ in rows):
        return []
    ref_name = next(m for m in ("mpm_reference", "mpm_pretrained") if jobs.get(job_key(m, split)))
    reference = jobs[job_key(ref_name, split)]
    lines = [
        f"### Ablations on {split} (MPM with pretraining, one thing changed)",
        "",
        "MPJPE (mm) per condition; P-MPJPE for clean 2D; in brackets the change against the reference"
        f" ({ref_name}). Same seed, budget and finetuning; a window-w model is tested on windows of w frames that"
        " tile every test clip, so every row scores the same frames (the cameras differ per window).",
        "",
        "| variant | pretraining masks hide | window | steps | test frames | "
        + " | ".join(CONDITIONS)
        + " | clean P-MPJPE |",
        "|---|---|---|---|---|" + "---|" * (len(CONDITIONS) + 1),
    ]
    for model, r in rows:
        a = ablation_of(model)
        cells = []
        for cond in (*CONDITIONS, "p_mpjpe"):
            metric, cond = ("p_mpjpe", "clean") if cond == "p_mpjpe" else ("mpjpe", cond)
            value = r["conditions"][cond][metric]
            cell = _fmt(value)
            if model not in ("mpm_pretrained", ref_name):
                cell += f" ({value - reference['conditions'][cond][metric]:+.1f})"
            cells.append(cell)
        lines.append(
            f"| {model}: {a.title} | {a.mask_ratio():.1%} | {a.window} | {_fmt(r['steps'], 0)} "
            f"| {r['test_frames']} | " + " | ".join(cells) + " |"
        )
    return [*lines, ""]


def write_table(state: dict, out_dir: Path, doc: Path | None = None, note: str = "") -> str:
    """Write ``<out>/results.md`` (and the section between the markers of ``doc``); returns the markdown."""
    table = make_table(state, note)
    with atomic_write(out_dir / "results.md") as f:
        f.write(table + "\n")
    if doc is not None:
        begin, end = DOC_BEGIN.format(name=out_dir.name), DOC_END.format(name=out_dir.name)
        text = doc.read_text(encoding="utf-8") if doc.is_file() else f"{begin}\n{end}\n"
        if begin not in text or end not in text:
            raise PoseDataError(f"markers {begin} / {end} not found (one pair per run folder)", doc)
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        with atomic_write(doc) as f:
            f.write(f"{head}{begin}\n{table}\n{end}{tail}")
    return table
