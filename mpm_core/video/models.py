"""Detector model files: the shipped ones, where others are looked for, verification, ONNX Runtime sessions.

Search order for a detector file name: an explicit path (``--detector-model PATH``), ``$MPM_STUDIO_MODELS``, the
per-user data folder's ``models/`` (``$MPM_STUDIO_DATA_DIR`` overrides the folder, as in the app), then the
project's ``resources/detectors/``. ``install_model`` verifies a file (it loads in ONNX Runtime and its input and
output shapes are those of a known kind) and copies it into the per-user ``models/`` folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from mpm_core.errors import PoseDataError

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_DIR = REPO_ROOT / "resources" / "detectors"
#: Folder names used by the app (QStandardPaths AppDataLocation = <data>/<organisation>/<application>).
_ORGANIZATION, _APPLICATION = "MPM Studio", "mpm-studio"
#: ONNX Runtime threads per session when not given. One: decoding runs on its own thread beside inference, and
#: on the 2-core machine one inference thread was faster end to end than two (single person 39 against 30
#: frames/s, two people 24 against 10, same runs interleaved on the shared machine).
DEFAULT_THREADS = 1


@dataclass(frozen=True)
class ModelKind:
    """A kind of detector model and the tensor shapes that identify it (None: any size on that axis)."""

    name: str
    input_shape: tuple[int | None, ...]
    output_shape: tuple[int | None, ...]
    description: str


POSE_KIND = ModelKind("pose", (1, 192, 192, 3), (1, 1, 17, 3), "MoveNet-style single pose, COCO-17, NHWC uint8")
PERSON_KIND = ModelKind("person", (1, 3, 416, 416), (1, 3549, 85), "YOLOX-style COCO-80 boxes, 416x416 NCHW")
KINDS = {k.name: k for k in (POSE_KIND, PERSON_KIND)}


@dataclass(frozen=True)
class ShippedModel:
    file: str
    kind: str
    licence: str
    source: str


SHIPPED_MODELS = (
    ShippedModel(
        "movenet_singlepose_lightning_4_int8_qdq.onnx",
        "pose",
        "Apache-2.0",
        "Google MoveNet SinglePose Lightning v4 int8 TFLite (TF Hub), converted with tf2onnx 1.17 (QDQ)",
    ),
    ShippedModel(
        "yolox_nano.onnx",
        "person",
        "Apache-2.0",
        "Megvii YOLOX-Nano 0.1.1rc0 export (Kazuhito00/YOLOX-ONNX-TFLite-Sample)",
    ),
)
DEFAULT_POSE_MODEL = SHIPPED_MODELS[0].file
DEFAULT_PERSON_MODEL = SHIPPED_MODELS[1].file


def user_data_dir() -> Path:
    """The per-user data folder the app uses (``$MPM_STUDIO_DATA_DIR`` overrides); not created here."""
    env = os.environ.get("MPM_STUDIO_DATA_DIR")
    if env:
        return Path(env)
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / _ORGANIZATION / _APPLICATION


def user_models_dir() -> Path:
    return user_data_dir() / "models"


def search_dirs() -> list[tuple[str, Path]]:
    """``(label, folder)`` searched for model files by name, first match wins."""
    dirs = []
    env = os.environ.get("MPM_STUDIO_MODELS")
    if env:
        dirs.append(("MPM_STUDIO_MODELS", Path(env)))
    dirs.append(("per-user models folder", user_models_dir()))
    dirs.append(("shipped", SHIPPED_DIR))
    return dirs


def find_model(name_or_path: str | os.PathLike) -> Path:
    """A model file: an existing path as given, else the first folder of ``search_dirs`` holding that name."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    if p.parent == Path("."):
        for _, folder in search_dirs():
            if (folder / p.name).is_file():
                return folder / p.name
    where = ", ".join(str(f) for _, f in search_dirs())
    raise PoseDataError(f"model file not found (looked in: {where})", name_or_path)


_HASHES: dict[tuple[str, int, int], str] = {}


def sha256_of(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file (remembered per path, size and modification time)."""
    p = Path(path)
    st = p.stat()
    key = (os.fspath(p.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


# -- sessions ------------------------------------------------------------------------------------------------------
_SESSIONS: dict[tuple[str, int], object] = {}
_SESSIONS_LOCK = threading.Lock()
#: Sessions created in this process (tests check that sessions are made once).
sessions_created = 0


def default_threads() -> int:
    return DEFAULT_THREADS


def onnx_session(path: str | os.PathLike, threads: int | None = None):
    """An ONNX Runtime CPU session for ``path``, made once per (file, threads) and shared (``run`` is
    thread-safe). Unloadable files raise ``PoseDataError``."""
    global sessions_created
    import onnxruntime as ort

    threads = threads or default_threads()
    key = (os.fspath(Path(path).resolve()), int(threads))
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            try:
                session = ort.InferenceSession(key[0], options, providers=["CPUExecutionProvider"])
            except Exception as exc:  # onnxruntime raises its own exception types for bad files
                raise PoseDataError(f"not a loadable ONNX model ({str(exc).splitlines()[0][:200]})", path) from None
            _SESSIONS[key] = session
            sessions_created += 1
    return session


def model_kind(session) -> str | None:
    """The kind (``KINDS`` key) whose input and output shapes a session has, or None."""
    ins, outs = session.get_inputs(), session.get_outputs()
    if len(ins) != 1 or not outs:
        return None
    for kind in KINDS.values():
        if _shape_matches(ins[0].shape, kind.input_shape) and _shape_matches(outs[0].shape, kind.output_shape):
            return kind.name
    return None


def _shape_matches(shape, wanted) -> bool:
    if len(shape) != len(wanted):
        return False
    return all(w is None or not isinstance(s, int) or s == w for s, w in zip(shape, wanted))


def verify_model(path: str | os.PathLike, kind: str | None = None) -> str:
    """Load ``path`` in ONNX Runtime and check its shapes; the kind found. Raises ``PoseDataError``."""
    session = onnx_session(path)
    found = model_kind(session)
    if found is None:
        ins = [(i.name, i.shape) for i in session.get_inputs()]
        outs = [(o.name, o.shape) for o in session.get_outputs()]
        known = "; ".join(f"{k.name}: in {k.input_shape} out {k.output_shape}" for k in KINDS.values())
        raise PoseDataError(f"inputs {ins} / outputs {outs} match no known detector kind ({known})", path)
    if kind is not None and found != kind:
        raise PoseDataError(f"is a {found} model, a {kind} model is needed", path)
    return found


def install_model(path: str | os.PathLike) -> Path:
    """Verify a model file and copy it into the per-user models folder; the installed path."""
    src = Path(path)
    if not src.is_file():
        raise PoseDataError("no such file", src)
    if src.suffix.lower() != ".onnx":
        raise PoseDataError("only ONNX detector files (.onnx) can be installed", src)
    verify_model(src)
    folder = user_models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / src.name
    tmp = folder / f".{src.name}.part"
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)
    return dest


@dataclass
class ModelEntry:
    """One model file for ``models`` listings."""

    name: str
    role: str
    path: Path
    size: int
    sha256: str
    licence: str
    where: str


def list_models() -> list[ModelEntry]:
    """Every detector and lifting model found: shipped, per-user and ``MPM_STUDIO_MODELS`` files."""
    shipped = {m.file: m for m in SHIPPED_MODELS}
    entries: list[ModelEntry] = []
    seen: set[Path] = set()
    for label, folder in search_dirs():
        if not folder.is_dir():
            continue
        for p in sorted(folder.glob("*.onnx")):
            if p.resolve() in seen:
                continue
            seen.add(p.resolve())
            meta = shipped.get(p.name)
            try:
                role = f"detector ({model_kind(onnx_session(p)) or 'unknown kind'})"
            except PoseDataError:
                role = "detector (not loadable)"
            licence = meta.licence if meta and label == "shipped" else "see the file's source"
            entries.append(ModelEntry(p.name, role, p, p.stat().st_size, sha256_of(p), licence, label))
    lifting_dirs = [("shipped", REPO_ROOT / "resources" / "models")] + [(lab, f) for lab, f in search_dirs()[:-1]]
    for label, folder in lifting_dirs:
        if not folder.is_dir():
            continue
        for p in sorted(folder.glob("*.safetensors")):
            if p.resolve() in seen:
                continue
            seen.add(p.resolve())
            licence = _lifting_licence(p)
            entries.append(ModelEntry(p.stem, "lifting (MPM)", p, p.stat().st_size, sha256_of(p), licence, label))
    return entries


def _lifting_licence(path: Path) -> str:
    from mpm_core.io.limits import load_json_file  # bounded; a FIFO is refused, not opened (issue 17)

    sidecar = path.with_suffix(".json")
    try:
        meta = load_json_file(sidecar)
    except (OSError, ValueError):
        return "unknown"
    for key in ("licence", "license"):
        value = meta.get(key) if isinstance(meta, dict) else None
        if value:
            return str(value)
    return "CC BY-NC 4.0 (trained with Bandai Namco data; see resources/models/MODEL_CARD.md)"
