"""Checkpoint I/O: safetensors weights + a JSON sidecar; loading never unpickles.

A checkpoint ``<name>`` is two files side by side:

- ``<name>.safetensors``: the ``MPMNetwork`` state dict, float32.
- ``<name>.json``: ``format_version``, ``architecture`` (``NetworkConfig.to_dict()``), ``layout`` ("h36m17"),
  ``joint_names``, ``normalisation``, ``window``, ``weights_sha256`` and whatever the trainer adds (training recipe,
  data manifest, validation metrics).

Both are written atomically. Loading checks everything and raises ``PoseDataError`` naming the file and the problem
(missing file, bad JSON, wrong format version, corrupt weights, missing / unexpected keys, shape mismatches).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes
from torch import Tensor

from mpm_core.atomic import atomic_write, atomic_write_bytes
from mpm_core.errors import PoseDataError
from mpm_core.model.network import MPMNetwork, NetworkConfig
from mpm_core.skeleton import H36M_JOINTS

if TYPE_CHECKING:
    from mpm_core.model.registry import RegisteredModel

#: Version of the sidecar layout; bump on any incompatible change.
FORMAT_VERSION = 1
WEIGHTS_SUFFIX = ".safetensors"
SIDECAR_SUFFIX = ".json"
LAYOUT = "h36m17"
NORMALISATION = {"screen": "videopose3d", "output_3d": "root-relative metres camera frame"}
#: Keys the sidecar always has; ``meta`` may repeat them only with the same value.
RESERVED_KEYS = ("format_version", "architecture", "layout", "joint_names", "normalisation", "window", "weights_sha256")
#: The shipped model, relative to the repository root.
DEFAULT_MODEL_RELPATH = Path("resources") / "models" / "mpm_h36m17.safetensors"
#: How many key names an error message lists before "...".
_LIST_LIMIT = 6


#: The repository root (the shipped model and run folders are named relative to it in sidecars).
REPO_ROOT = Path(__file__).resolve().parents[2]


def default_model_path() -> Path:
    """The shipped model: ``resources/models/mpm_h36m17.safetensors`` at the repository root."""
    return REPO_ROOT / DEFAULT_MODEL_RELPATH


def portable_path(path: str | os.PathLike) -> str:
    """A path as recorded in a sidecar: relative to the repository when inside it, else just its name, so a
    checkpoint does not carry the folder layout of the machine that made it."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return resolved.name


def checkpoint_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """``(weights, sidecar)`` paths for a ``.safetensors`` path, a ``.json`` path or the stem."""
    p = Path(path)
    if p.suffix in (WEIGHTS_SUFFIX, SIDECAR_SUFFIX):
        p = p.with_suffix("")
    return p.with_name(p.name + WEIGHTS_SUFFIX), p.with_name(p.name + SIDECAR_SUFFIX)


def _jsonable(value: object, key: str = "meta") -> object:
    """Plain JSON data from trainer values: numpy scalars/arrays, tensors and paths converted; NaN/inf -> null
    (JSON has no NaN, and a NaN metric must not stop a checkpoint from being saved)."""
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"checkpoint {key}: key {k!r} is not a string")
            out[k] = _jsonable(v, f"{key}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, f"{key}[{i}]") for i, v in enumerate(value)]
    raise ValueError(f"checkpoint {key}: {type(value).__name__} is not JSON-serialisable")


def save_checkpoint(path: str | os.PathLike, network: MPMNetwork, meta: dict | None = None) -> Path:
    """Write ``<name>.safetensors`` + ``<name>.json`` atomically; returns the ``.safetensors`` path.

    ``meta``: extra sidecar entries (e.g. ``training`` recipe, ``data`` manifest, ``metrics``), JSON-serialisable
    after conversion (numpy scalars/arrays, tensors and paths are converted; NaN/inf become null). It may not
    contradict the reserved keys (``RESERVED_KEYS``).
    """
    weights_path, sidecar_path = checkpoint_paths(path)
    meta = _jsonable(dict(meta or {}))
    state = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in network.state_dict().items()}
    blob = save_safetensors_bytes(state, metadata={"format": "pt", "mpm_format_version": str(FORMAT_VERSION)})
    config = network.config
    sidecar = {
        "format_version": FORMAT_VERSION,
        "architecture": config.to_dict(),
        "layout": LAYOUT,
        "joint_names": list(H36M_JOINTS),
        "normalisation": dict(NORMALISATION),
        "window": config.window,
        "weights_sha256": hashlib.sha256(blob).hexdigest(),
    }
    if config.num_joints != len(H36M_JOINTS):
        raise ValueError(f"checkpoint: network has {config.num_joints} joints; the layout {LAYOUT} has 17")
    for key, value in meta.items():
        if key in sidecar and key != "weights_sha256":
            if value != sidecar[key]:
                raise ValueError(f"checkpoint meta: {key!r} is reserved and differs from the network's value")
        elif key == "weights_sha256":
            raise ValueError("checkpoint meta: 'weights_sha256' is computed on save")
        else:
            sidecar[key] = value
    text = json.dumps(sidecar, indent=2, allow_nan=False) + "\n"
    # Weights first: a sidecar never points at weights that are not there yet.
    atomic_write_bytes(weights_path, blob)
    with atomic_write(sidecar_path) as f:
        f.write(text)
    return weights_path


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: cuda, then mps, then cpu; otherwise the named device (PoseDataError if unknown/unavailable)."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise PoseDataError(f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or mps", where="device") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise PoseDataError("device cuda requested but CUDA is not available", where="device")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise PoseDataError("device mps requested but MPS is not available", where="device")
    return dev


def _short_list(items: list[str]) -> str:
    shown = ", ".join(items[:_LIST_LIMIT])
    return shown + (f", ... ({len(items)} in all)" if len(items) > _LIST_LIMIT else "")


def read_sidecar(path: str | os.PathLike) -> dict:
    """Read and check a checkpoint's JSON sidecar (format version, architecture, layout); PoseDataError if bad."""
    _, sidecar_path = checkpoint_paths(path)
    if not sidecar_path.is_file():
        raise PoseDataError("checkpoint sidecar (.json) not found", sidecar_path)
    from mpm_core.io.limits import load_json_file  # bounded: size, regular file, nesting (issue 17)

    try:
        meta = load_json_file(sidecar_path)
    except PoseDataError as e:
        raise PoseDataError(e.problem.replace("invalid JSON", "bad JSON"), sidecar_path, e.where) from None
    if not isinstance(meta, dict):
        raise PoseDataError(f"top level must be a JSON object, got {type(meta).__name__}", sidecar_path)
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise PoseDataError(
            f"unsupported format_version {version!r}; this version of MPM Studio reads {FORMAT_VERSION}",
            sidecar_path,
            "format_version",
        )
    if "architecture" not in meta:
        raise PoseDataError("missing key", sidecar_path, "architecture")
    try:
        NetworkConfig.from_dict(meta["architecture"])
    except (ValueError, TypeError) as e:
        raise PoseDataError(str(e), sidecar_path, "architecture") from None
    if meta.get("layout", LAYOUT) != LAYOUT:
        raise PoseDataError(f"layout {meta['layout']!r} is not supported (expected {LAYOUT})", sidecar_path, "layout")
    names = meta.get("joint_names")
    if names is not None and list(names) != list(H36M_JOINTS):
        raise PoseDataError("joint_names differ from the canonical H36M-17 order", sidecar_path, "joint_names")
    return meta


def update_sidecar(path: str | os.PathLike, entries: dict) -> Path:
    """Add or replace non-reserved keys of a checkpoint's sidecar (e.g. its evaluation report); the weights are not
    touched. Written atomically; returns the sidecar path."""
    _, sidecar_path = checkpoint_paths(path)
    meta = read_sidecar(path)
    for key, value in entries.items():
        if key in RESERVED_KEYS:
            raise ValueError(f"checkpoint meta: {key!r} is reserved")
        meta[key] = _jsonable(value, key)
    with atomic_write(sidecar_path) as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    return sidecar_path


def _read_weights(weights_path: Path) -> bytes:
    if not weights_path.is_file():
        raise PoseDataError("checkpoint weights (.safetensors) not found", weights_path)
    try:
        return weights_path.read_bytes()
    except OSError as e:
        raise PoseDataError(f"cannot read: {e.strerror or e}", weights_path) from None


def _parse_weights(blob: bytes, weights_path: Path) -> dict[str, Tensor]:
    try:
        return load_safetensors_bytes(blob)
    except (SafetensorError, ValueError, RuntimeError, OSError) as e:
        raise PoseDataError(f"corrupt or truncated safetensors file ({e})", weights_path) from None


def load_state_dict(path: str | os.PathLike) -> dict[str, Tensor]:
    """Read a ``.safetensors`` file (no unpickling) into CPU tensors; PoseDataError if missing or corrupt."""
    weights_path, _ = checkpoint_paths(path)
    return _parse_weights(_read_weights(weights_path), weights_path)


def _check_state(state: dict[str, Tensor], network: MPMNetwork, weights_path: Path) -> None:
    expected = network.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing keys: {_short_list(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {_short_list(unexpected)}")
        raise PoseDataError(
            "weights do not match the architecture in the sidecar (" + "; ".join(parts) + ")", weights_path
        )
    for key, ref in expected.items():
        got = state[key]
        if tuple(got.shape) != tuple(ref.shape):
            raise PoseDataError(
                f"shape mismatch: {tuple(got.shape)} in the file, {tuple(ref.shape)} for the sidecar's architecture",
                weights_path,
                key,
            )
        if not got.is_floating_point():
            raise PoseDataError(f"dtype {got.dtype} is not floating point", weights_path, key)
        if not bool(torch.isfinite(got).all()):
            raise PoseDataError("non-finite values (NaN/inf) in the weights", weights_path, key)


@dataclass
class LoadedModel:
    """A network ready for inference (eval mode; half precision on CUDA) with its checkpoint metadata.

    The methods run under ``torch.inference_mode`` and return float32 tensors on the device of their input.
    """

    network: MPMNetwork
    config: NetworkConfig
    meta: dict
    device: torch.device
    path: Path

    @property
    def dtype(self) -> torch.dtype:
        return self.network.pos.dtype

    def _run(
        self, x: Tensor, modality: str, hidden: Tensor, frame_hidden: Tensor | None, outputs: tuple[str, ...]
    ) -> dict[str, Tensor]:
        out_device = x.device
        with torch.inference_mode():
            x = x.to(self.device, self.dtype)
            hidden = hidden.to(self.device, torch.bool)
            if frame_hidden is not None:
                frame_hidden = frame_hidden.to(self.device, torch.bool)
            result = self.network(x, modality, hidden, frame_hidden, outputs)
            return {k: v.to(out_device, torch.float32) for k, v in result.items()}

    def lift(
        self, x2d: Tensor, hidden: Tensor, frame_hidden: Tensor | None = None, complete_first: bool = True
    ) -> tuple[Tensor, Tensor]:
        """``x2d`` (B, T, J, 2) normalised screen, ``hidden`` (B, T, J) bool, ``frame_hidden`` (B, T) bool ->
        ``(3D (B, T, J, 3) metres root-relative camera frame, completed 2D (B, T, J, 2) normalised)``.

        ``complete_first`` (the default): windows with hidden joints go through the network twice, first to
        complete their 2D (masked 2D -> 2D), then to lift the completed 2D with nothing hidden but the hidden
        frames. One checkpoint does both (the point of MPM's shared representation), and on the validation split
        this lifts occluded 2D far better than a single masked pass (see the model card). Hidden whole frames stay
        hidden in the second pass: filling them first was measured worse. The completed 2D returned for such
        windows is the first pass's.
        """
        out = self._lift(x2d, hidden, frame_hidden, complete_first, with_2d=True)
        return out["3d"], out["2d"]

    def lift_3d_only(
        self, x2d: Tensor, hidden: Tensor, frame_hidden: Tensor | None = None, complete_first: bool = True
    ) -> Tensor:
        """Like ``lift`` but returns only the 3D (skips the 2D decoder where it can)."""
        return self._lift(x2d, hidden, frame_hidden, complete_first, with_2d=False)["3d"]

    def _lift(
        self, x2d: Tensor, hidden: Tensor, frame_hidden: Tensor | None, complete_first: bool, with_2d: bool
    ) -> dict[str, Tensor]:
        """``lift``'s work: {"3d", and "2d" when ``with_2d``}."""
        if not complete_first:
            return self._run(x2d, "2d", hidden, frame_hidden, ("2d", "3d") if with_2d else ("3d",))
        with torch.inference_mode():
            x2d, rows, first = self._complete_hidden_2d(x2d, hidden, frame_hidden)
            # The second pass needs the 2D decoder only for windows the first pass did not complete.
            decode_2d = with_2d and not (first is not None and bool(rows.all()))
            nothing_hidden = torch.zeros_like(hidden, dtype=torch.bool)
            out = self._run(x2d, "2d", nothing_hidden, frame_hidden, ("2d", "3d") if decode_2d else ("3d",))
            if with_2d and first is not None:
                if decode_2d:
                    out["2d"][rows.to(out["2d"].device)] = first
                else:
                    out["2d"] = first
            return out

    def _complete_hidden_2d(
        self, x2d: Tensor, hidden: Tensor, frame_hidden: Tensor | None
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """First pass of ``lift``: the windows with hidden joints get them completed by the 2D decoder.

        Returns (x2d with hidden joints replaced, (B,) bool rows that had hidden joints, those rows' completed 2D
        (R, T, J, 2) or None when no joint was hidden)."""
        hidden = hidden.to(torch.bool)
        seen = hidden if frame_hidden is None else hidden & ~frame_hidden.to(torch.bool).unsqueeze(-1)
        # Joints hidden only because their whole frame is hidden (padding, missing frames) stay hidden in the
        # second pass anyway: a window needs the first pass only for joints hidden in frames the encoder sees.
        rows = seen.flatten(1).any(dim=1)
        if not bool(rows.any()):
            return x2d, rows, None
        fh = None if frame_hidden is None else frame_hidden[rows]
        first = self._run(x2d[rows], "2d", hidden[rows], fh, ("2d",))["2d"]
        filled = x2d.clone()
        filled[rows] = torch.where(hidden[rows].unsqueeze(-1), first.to(x2d.dtype), x2d[rows])
        return filled, rows, first

    def complete_3d(self, x3d: Tensor, hidden: Tensor, frame_hidden: Tensor | None = None) -> Tensor:
        """``x3d`` (B, T, J, 3) metres root-relative camera frame with ``hidden`` joints -> completed (B, T, J, 3)."""
        return self._run(x3d, "3d", hidden, frame_hidden, ("3d",))["3d"]

    def complete_2d(self, x2d: Tensor, hidden: Tensor, frame_hidden: Tensor | None = None) -> Tensor:
        """``x2d`` (B, T, J, 2) normalised screen with ``hidden`` joints -> completed (B, T, J, 2)."""
        return self._run(x2d, "2d", hidden, frame_hidden, ("2d",))["2d"]


def registered_models() -> list[RegisteredModel]:
    """The models known by name (``mpm_core.model.registry.RegisteredModel``: the shipped ones present, then those
    in the per-user models folder)."""
    from mpm_core.model.registry import registered_models as _registered

    return _registered()


def resolve_model(name_or_path: str | os.PathLike | None) -> Path:
    """A checkpoint path for a registered model name or a path (None / "": the shipped model); PoseDataError naming
    the registered models for an unknown name. See ``mpm_core.model.registry.resolve_model``."""
    from mpm_core.model.registry import resolve_model as _resolve

    return _resolve(name_or_path)


def load_model(path: str | os.PathLike, device: str | torch.device = "auto") -> LoadedModel:
    """Load a checkpoint (``.safetensors``, ``.json`` or the stem, or a registered model name such as
    ``mpm_h36m17``) for inference; see the module docstring."""
    path = resolve_model(path)
    weights_path, sidecar_path = checkpoint_paths(path)
    if not weights_path.is_file() and not sidecar_path.is_file():
        raise PoseDataError("model checkpoint not found (neither .safetensors nor .json exists)", weights_path)
    meta = read_sidecar(sidecar_path)
    config = NetworkConfig.from_dict(meta["architecture"])
    blob = _read_weights(weights_path)
    state = _parse_weights(blob, weights_path)
    expected_sha = meta.get("weights_sha256")
    if expected_sha is not None:
        if hashlib.sha256(blob).hexdigest() != expected_sha:
            raise PoseDataError(
                f"weights checksum differs from the sidecar's weights_sha256 ({sidecar_path.name}): the two files "
                "do not belong together or the weights were modified",
                weights_path,
            )
    network = MPMNetwork(config)
    _check_state(state, network, weights_path)
    network.load_state_dict({k: v.to(torch.float32) for k, v in state.items()})
    dev = resolve_device(device)
    network = network.to(dev)
    if dev.type == "cuda":
        network = network.half()
    network.eval()
    for p in network.parameters():
        p.requires_grad_(False)
    return LoadedModel(network=network, config=config, meta=meta, device=dev, path=weights_path)
