"""Training configuration: typed dataclasses loaded from a JSON or TOML file.

A config file has the sections ``data``, ``cameras``, ``augment``, ``network``, ``pretrain``, ``finetune`` and
``evaluate`` plus a few top-level keys (``seed``, ``run_dir``, ``output``, ``threads``). Every section and key is
optional (defaults below); keys starting with "_" are comments; an unknown key raises ``PoseDataError``
naming the file and the key, so a typo never silently falls back to a default. Relative paths in the file are
relative to the file's folder.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib

from mpm_core.errors import PoseDataError
from mpm_core.model import masking
from mpm_core.model.network import NetworkConfig

#: Every mocap set the data pipeline knows (folder names under the mocap root).
ALL_SETS: tuple[str, ...] = (
    "bandai",
    "bandai_corpus",
    "reactidle",
    "reactidle_corpus",
    "cmu_bvh",
    "cmu_asfamc",
    "hdm05",
    "extra_corpus",
    "cmu_dance_corpus",
)
#: Sets a model is trained on when a config names none: every set known before ``cmu_dance_corpus`` was added, so the
#: default recipe stays the shipped model's (``cmu_dance_corpus`` holds out four performers for the accuracy
#: benchmark's leave-performers-out split; name it in ``data.sets`` to train on it).
DEFAULT_SETS: tuple[str, ...] = (
    "bandai",
    "bandai_corpus",
    "reactidle",
    "reactidle_corpus",
    "cmu_bvh",
    "cmu_asfamc",
    "hdm05",
    "extra_corpus",
)


@dataclass
class DataConfig:
    """Which motion to train on and how windows are cut from it.

    ``root``: the mocap folder (None: ``$MPM_SHARED_DATA/mocap`` or ``<repo>/../shared/data/mocap``).
    ``sets``: folder names from ``ALL_SETS`` (default ``DEFAULT_SETS``). ``set_weights``: relative sampling weight
    per set (default 1), multiplied by each clip's duration. ``cache_dir``: where prepared 3D data is cached (None:
    ``~/.cache/mpm-studio``). ``fps_range``: each window is resampled to a frame rate drawn uniformly from it.
    ``val_fps``: fixed frame rate of validation windows. Clips shorter than ``min_frames`` (after resampling)
    are dropped; shorter than the window, they are padded with edge frames marked hidden.
    """

    root: str | None = None
    sets: list[str] = field(default_factory=lambda: list(DEFAULT_SETS))
    set_weights: dict[str, float] = field(default_factory=dict)
    cache_dir: str | None = None
    val_fraction: float = 0.1
    split_salt: str = "mpm-split-v1"
    fps_range: list[float] = field(default_factory=lambda: [24.0, 60.0])
    val_fps: list[float] = field(default_factory=lambda: [25.0, 30.0, 50.0])
    min_frames: int = 10
    val_stride: int = 81
    max_clips_per_set: int | None = None


@dataclass
class CameraConfig:
    """Random virtual pinhole cameras (see ``mpm_core.model.cameras``).

    ``fov_deg``: horizontal field of view range. ``height_m``: camera height above the floor. ``pitch_deg``:
    downward tilt (negative looks up). ``roll_deg``: max absolute roll. ``fill``: fraction of the image height
    the person's bounding box may fill at most / at least (sets the distance). ``image_sizes``: (width,
    height) pairs drawn uniformly.
    """

    fov_deg: list[float] = field(default_factory=lambda: [35.0, 100.0])
    height_m: list[float] = field(default_factory=lambda: [0.3, 2.6])
    pitch_deg: list[float] = field(default_factory=lambda: [-10.0, 35.0])
    roll_deg: float = 5.0
    fill: list[float] = field(default_factory=lambda: [0.25, 0.9])
    image_sizes: list[list[int]] = field(
        default_factory=lambda: [[1920, 1080], [1280, 720], [1080, 1920], [640, 480], [1000, 1000]]
    )


@dataclass
class AugmentConfig:
    """3D and 2D augmentation (see ``mpm_core.model.augment``); probabilities are per window unless noted.

    ``seated_prob``: share of windows whose legs are replaced by seated, kneeling or floor legs
    (``mpm_core.model.seated``; 0 in the first recipe stages).
    """

    mirror_prob: float = 0.5
    bone_scale_std: float = 0.06
    body_scale: list[float] = field(default_factory=lambda: [0.85, 1.15])
    noise_prob: float = 0.8
    jitter_rel: list[float] = field(default_factory=lambda: [0.0, 0.012])
    outlier_prob: float = 0.005
    swap_prob: float = 0.1
    dropout_prob: float = 0.02
    seated_prob: float = 0.0


@dataclass
class PhaseConfig:
    """One training phase (pretrain or finetune).

    ``mask_mix``: for finetuning, the share of windows with no mask ("clean") and with each structured mask
    (``random_joints``: 30% random joints; ``limb_window``: one limb hidden in every frame; the others are
    ``mpm_core.model.masking`` samplers). Pretraining uses
    the paper's spatio-temporal sampler (``frame_ratio``, ``joints_per_frame``).
    ``loss``: weights of ``lift3d`` (2D->3D MPJPE), ``recon2d`` (2D completion), ``recon3d`` (masked 3D->3D
    completion; on by default in pretraining, optional in finetuning to keep 3D completion), ``velocity`` (3D
    velocity error).
    ``time_limit_min``: stop early (with a checkpoint) after this many minutes; None = run all steps.
    """

    steps: int = 2000
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 100
    grad_clip: float = 1.0
    val_every: int = 250
    ckpt_every: int = 250
    log_every: int = 10
    frame_ratio: float = 0.6
    joints_per_frame: int = 5
    mask_mix: dict[str, float] = field(default_factory=dict)
    loss: dict[str, float] = field(default_factory=dict)
    time_limit_min: float | None = None


def _default_pretrain() -> PhaseConfig:
    return PhaseConfig(loss={"lift3d": 1.0, "recon2d": 1.0, "recon3d": 1.0})


def _default_finetune() -> PhaseConfig:
    return PhaseConfig(
        lr=5e-4,
        mask_mix={
            "clean": 0.5,
            "random_joints": 0.15,
            "spatio_temporal": 0.1,
            "limb": 0.1,
            "held_joints": 0.05,
            "frame_block": 0.1,
        },
        loss={"lift3d": 1.0, "recon2d": 0.1, "velocity": 0.5},
    )


@dataclass
class EvaluateConfig:
    """Evaluation conditions: ``mask_joint_ratio`` of random joints hidden, ``mask_frame_ratio`` of frames."""

    mask_joint_ratio: float = 0.3
    mask_frame_ratio: float = 0.5
    batch_size: int = 64
    seed: int = 1234


@dataclass
class TrainConfig:
    """The whole recipe. ``run_dir``: checkpoints and logs; ``output``: where ``finetune`` writes the final
    model (a checkpoint stem or ``.safetensors`` path). ``threads``: torch CPU threads (0: torch's default)."""

    seed: int = 0
    run_dir: str = "runs/default"
    output: str | None = None
    threads: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    cameras: CameraConfig = field(default_factory=CameraConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    pretrain: PhaseConfig = field(default_factory=_default_pretrain)
    finetune: PhaseConfig = field(default_factory=_default_finetune)
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)
    source: str = ""

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("source")
        return d


_SECTIONS = {
    "data": DataConfig,
    "cameras": CameraConfig,
    "augment": AugmentConfig,
    "network": NetworkConfig,
    "pretrain": PhaseConfig,
    "finetune": PhaseConfig,
    "evaluate": EvaluateConfig,
}
_PATH_KEYS = {("data", "root"), ("data", "cache_dir"), ("", "run_dir"), ("", "output")}


def _check_value(value: Any, hint: Any, where: str, path: str | None) -> Any:
    """Light type check of one value against its annotation (numbers, strings, lists, dicts, Optional)."""
    text = str(hint)
    if value is None:
        if "None" in text or hint is type(None):
            return None
        raise PoseDataError(f"{where} may not be null", path)
    if hint is bool or text == "bool":
        if not isinstance(value, bool):
            raise PoseDataError(f"{where} must be true or false, got {value!r}", path)
        return value
    if hint is int or text.startswith("int"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise PoseDataError(f"{where} must be an integer, got {value!r}", path)
        return value
    if hint is float or text.startswith("float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise PoseDataError(f"{where} must be a number, got {value!r}", path)
        return float(value)
    if hint is str or text.startswith("str"):
        if not isinstance(value, str):
            raise PoseDataError(f"{where} must be a string, got {value!r}", path)
        return value
    if text.startswith("list") and not isinstance(value, list):
        raise PoseDataError(f"{where} must be a list, got {value!r}", path)
    if text.startswith("dict") and not isinstance(value, dict):
        raise PoseDataError(f"{where} must be a table/object, got {value!r}", path)
    return value


def _build(cls: type, values: dict, section: str, path: str | None, base: Path | None):
    if not isinstance(values, dict):
        raise PoseDataError(f"section [{section}] must be a table/object", path)
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init and f.name != "source"}
    values = {k: v for k, v in values.items() if not str(k).startswith("_")}  # "_comment" keys are notes
    unknown = sorted(set(values) - names)
    if unknown:
        raise PoseDataError(
            f"unknown key(s) {', '.join(unknown)} in [{section or 'top level'}]; known: {', '.join(sorted(names))}",
            path,
        )
    kwargs = {}
    for key, value in values.items():
        where = f"{section}.{key}" if section else key
        if section == "" and key in _SECTIONS:
            continue
        value = _check_value(value, hints[key], where, path)
        if (section, key) in _PATH_KEYS and value is not None and base is not None:
            value = str((base / os.path.expanduser(value)).resolve())
        kwargs[key] = value
    return kwargs


def config_from_dict(raw: dict, path: str | None = None) -> TrainConfig:
    """Build a ``TrainConfig`` from parsed JSON/TOML; ``path`` names the file in errors and anchors relative paths."""
    base = Path(path).resolve().parent if path else None
    top = _build(TrainConfig, raw, "", path, base)
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        if name not in raw:
            continue
        kwargs = _build(cls, raw[name], name, path, base)
        if name in ("pretrain", "finetune"):
            default = _default_pretrain() if name == "pretrain" else _default_finetune()
            merged = dataclasses.asdict(default)
            merged.update(kwargs)
            kwargs = merged
        try:
            sections[name] = cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise PoseDataError(f"section [{name}]: {exc}", path) from None
    config = TrainConfig(**top, **sections, source=path or "")
    validate_config(config)
    return config


def validate_config(config: TrainConfig) -> None:
    """Cross-field checks that the type checks cannot express."""
    path = config.source or None
    unknown = sorted(set(config.data.sets) - set(ALL_SETS))
    if unknown:
        raise PoseDataError(f"data.sets: unknown set(s) {', '.join(unknown)}; known: {', '.join(ALL_SETS)}", path)
    if not config.data.sets:
        raise PoseDataError("data.sets is empty", path)
    if not 0 <= config.data.val_fraction < 1:
        raise PoseDataError(f"data.val_fraction must be in [0, 1), got {config.data.val_fraction}", path)
    lo, hi = config.data.fps_range
    if not 0 < lo <= hi:
        raise PoseDataError(f"data.fps_range must be [low, high] with 0 < low <= high, got {[lo, hi]}", path)
    for w, h in config.cameras.image_sizes:
        if w <= 0 or h <= 0:
            raise PoseDataError(f"cameras.image_sizes: {w}x{h} is not a valid image size", path)
    lo, hi = config.cameras.fov_deg
    if not 1 <= lo <= hi < 179:
        raise PoseDataError(f"cameras.fov_deg must lie in [1, 179) degrees, got {[lo, hi]}", path)
    for name in ("pretrain", "finetune"):
        phase: PhaseConfig = getattr(config, name)
        known_losses = {"lift3d", "recon2d", "recon3d", "velocity"}
        bad = sorted(set(phase.loss) - known_losses)
        if bad:
            raise PoseDataError(f"{name}.loss: unknown term(s) {', '.join(bad)}; known: {sorted(known_losses)}", path)
        known_masks = {"clean", *masking.SAMPLERS}
        bad = sorted(set(phase.mask_mix) - known_masks)
        if bad:
            raise PoseDataError(
                f"{name}.mask_mix: unknown mask(s) {', '.join(bad)}; known: {sorted(known_masks)}", path
            )
        if phase.steps < 0 or phase.batch_size < 1:
            raise PoseDataError(f"{name}: steps must be >= 0 and batch_size >= 1", path)


def load_config(path: str | os.PathLike | None) -> TrainConfig:
    """Read a ``.json`` or ``.toml`` config (None: all defaults)."""
    if path is None:
        return TrainConfig()
    from mpm_core.io.limits import MAX_SMALL_JSON_BYTES, parse_json_text, read_bytes_bounded

    p = Path(path)
    data = read_bytes_bounded(p, MAX_SMALL_JSON_BYTES)  # regular file, bounded size (issue 17)
    try:
        if p.suffix.lower() == ".toml":
            raw = tomllib.loads(data.decode("utf-8"))
        else:
            raw = parse_json_text(data.decode("utf-8"), p)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise PoseDataError(f"not valid {'TOML' if p.suffix.lower() == '.toml' else 'JSON'}: {exc}", p) from None
    if not isinstance(raw, dict):
        raise PoseDataError("config must be a JSON object / TOML table at the top level", p)
    return config_from_dict(raw, os.fspath(p))


def default_mocap_root() -> Path:
    """``$MPM_SHARED_DATA/mocap`` if set, else ``<repo>/../shared/data/mocap`` (same rule as the tests)."""
    env = os.environ.get("MPM_SHARED_DATA")
    if env:
        return Path(env) / "mocap"
    return Path(__file__).resolve().parents[3] / "shared" / "data" / "mocap"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/mpm-studio`` or ``~/.cache/mpm-studio``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mpm-studio"
