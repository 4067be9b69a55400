"""The model registry: models known by name (the shipped ones and those in the per-user models folder).

A registered model is a checkpoint (``<name>.safetensors`` + ``<name>.json``, see ``checkpoint``) that the CLI's
``--model`` and the app's preferences accept by its name:

- **shipped**: ``resources/models/<name>.safetensors`` for each name in ``SHIPPED_MODELS`` whose files are there
  (``mpm_h36m17``, the default, and ``mpm_h36m17_commercial``, both in the repository);
- **user**: every checkpoint in the per-user models folder (``user_models_dir``), named by its file stem. A user model
  with a shipped model's name is not listed (the shipped one keeps the name); a folder entry whose sidecar cannot be
  read is left out, so one broken file never hides the others.

``resolve_model(name_or_path)`` turns what a user typed into a checkpoint path: an existing checkpoint path wins,
then a registered name; anything else raises ``PoseDataError`` listing the registered names.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from mpm_core.errors import PoseDataError

log = logging.getLogger(__name__)

#: Shipped models (in ``resources/models``), in the order they are offered, with their card's file name.
SHIPPED_MODELS: dict[str, str] = {
    "mpm_h36m17": "MODEL_CARD.md",
    "mpm_h36m17_commercial": "MODEL_CARD_commercial.md",
}
#: Environment variable naming the per-user models folder (else ``$MPM_STUDIO_DATA_DIR/models``, else the platform's).
MODELS_DIR_ENV = "MPM_STUDIO_MODELS"
DATA_DIR_ENV = "MPM_STUDIO_DATA_DIR"
APP_FOLDER = "mpm-studio"
#: Words in a data licence group that make a model trained on it non-commercial.
_NON_COMMERCIAL_MARKERS = ("non-commercial", "by-nc")


@dataclass(frozen=True)
class RegisteredModel:
    """One model that can be chosen by name.

    ``path``: the weights (``.safetensors``; the sidecar lies beside). ``licence``: one line saying what the model
    may be used for (from the sidecar's ``licence``, else from the licences of its training data). ``card``: its
    model card, or None. ``size_bytes``: weights + sidecar. ``origin``: "shipped" or "user".
    """

    name: str
    path: Path
    licence: str
    card: Path | None
    size_bytes: int
    origin: str

    @property
    def size_mb(self) -> float:
        return self.size_bytes / 1e6


def shipped_models_dir() -> Path:
    from mpm_core.model.checkpoint import REPO_ROOT

    return REPO_ROOT / "resources" / "models"


def user_models_dir() -> Path:
    """The per-user models folder (not created here): ``$MPM_STUDIO_MODELS``, else the ``models`` folder of the
    per-user data folder (``$MPM_STUDIO_DATA_DIR`` overrides it; the same folder the app and the detectors use:
    ``mpm_core.video.models.user_data_dir``)."""
    env = os.environ.get(MODELS_DIR_ENV)
    if env:
        return Path(env).expanduser()
    from mpm_core.video.models import user_data_dir

    return user_data_dir() / "models"


def licence_line(meta: dict) -> str:
    """What a checkpoint may be used for, in one line: the sidecar's ``licence`` if it states one, else derived from
    the licence groups of its training data (``data`` manifest): any non-commercial set makes the model
    non-commercial."""
    stated = meta.get("licence")
    if isinstance(stated, str) and stated.strip():
        return stated.strip().splitlines()[0]
    groups: list[str] = []
    manifest = meta.get("data")
    if isinstance(manifest, dict):
        for entry in manifest.values():
            for group in (entry.get("licences") or []) if isinstance(entry, dict) else []:
                if isinstance(group, str) and group not in groups:
                    groups.append(group)
    if not groups:
        return "licence unknown (the sidecar names no training data)"
    restricted = [g for g in groups if any(m in g.lower() for m in _NON_COMMERCIAL_MARKERS)]
    if restricted:
        return "non-commercial use only (trained on " + "; ".join(restricted) + ")"
    return "commercial use allowed with attribution (trained on " + "; ".join(groups) + ")"


def _entry(name: str, weights: Path, card: Path | None, origin: str) -> RegisteredModel:
    from mpm_core.model.checkpoint import checkpoint_paths, read_sidecar

    _, sidecar = checkpoint_paths(weights)
    meta = read_sidecar(sidecar)
    card_name = meta.get("card")
    if isinstance(card_name, str) and (weights.parent / card_name).is_file():
        card = weights.parent / card_name
    elif card is None and (weights.parent / f"{name}.md").is_file():
        card = weights.parent / f"{name}.md"
    size = weights.stat().st_size + sidecar.stat().st_size
    return RegisteredModel(name, weights, licence_line(meta), card if card and card.is_file() else None, size, origin)


def registered_models() -> list[RegisteredModel]:
    """The shipped models present (in ``SHIPPED_MODELS`` order), then the user's, sorted by name."""
    from mpm_core.model.checkpoint import SIDECAR_SUFFIX, WEIGHTS_SUFFIX

    out: list[RegisteredModel] = []
    shipped = shipped_models_dir()
    for name, card_name in SHIPPED_MODELS.items():
        weights = shipped / f"{name}{WEIGHTS_SUFFIX}"
        if not (weights.is_file() and weights.with_suffix(SIDECAR_SUFFIX).is_file()):
            continue
        try:
            out.append(_entry(name, weights, shipped / card_name, "shipped"))
        except (PoseDataError, OSError) as exc:  # a broken shipped file shows up when it is loaded, not here
            log.warning("model %s left out of the registry: %s", name, exc)
    folder = user_models_dir()
    if folder.is_dir() and folder.resolve() != shipped.resolve():
        taken = {m.name for m in out}
        for weights in sorted(folder.glob(f"*{WEIGHTS_SUFFIX}")):
            name = weights.name[: -len(WEIGHTS_SUFFIX)]
            if name in taken:
                log.warning("user model %s has a shipped model's name: left out of the registry", weights)
                continue
            try:
                out.append(_entry(name, weights, None, "user"))
            except (PoseDataError, OSError) as exc:
                log.warning("user model %s left out of the registry: %s", weights, exc)
                continue
            taken.add(name)
    return out


def resolve_model(name_or_path: str | os.PathLike | None) -> Path:
    """The weights path (``.safetensors``) for a registered name or a checkpoint path (``.safetensors``, ``.json`` or
    the stem).

    None or "" -> the shipped default model. A path whose weights or sidecar exist is taken first (so a file
    named like a registered model in the current folder is taken as the file). Else a registered name -> its
    weights. Else ``PoseDataError``: "checkpoint not found" for something that looks like a path (a folder part or a
    checkpoint suffix), "unknown model" with the registered names for a bare name.
    """
    from mpm_core.model.checkpoint import SIDECAR_SUFFIX, WEIGHTS_SUFFIX, checkpoint_paths, default_model_path

    if name_or_path is None or (isinstance(name_or_path, str) and not name_or_path.strip()):
        return default_model_path()
    text = os.fspath(name_or_path)
    path = Path(text).expanduser()
    weights, sidecar = checkpoint_paths(path)
    if weights.is_file() or sidecar.is_file():
        return weights
    models = registered_models()
    for model in models:
        if model.name == text:
            return model.path
    if (
        isinstance(name_or_path, os.PathLike)
        or os.sep in text
        or "/" in text
        or path.suffix
        in (
            WEIGHTS_SUFFIX,
            SIDECAR_SUFFIX,
        )
    ):
        raise PoseDataError("model checkpoint not found (neither .safetensors nor .json exists)", weights)
    known = ", ".join(m.name for m in models) or "none"
    raise PoseDataError(
        f"unknown model {text!r}: not a registered name and no checkpoint file of that name; registered models: "
        f"{known} (user models go in {user_models_dir()})",
        where="model",
    )
