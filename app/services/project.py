"""Project files: a session saved as JSON and reopened to the identical mask and 3D.

Format (``format: "mpm-studio-project"``, ``version: 1``):

    {"format": "mpm-studio-project", "version": 1,
     "input": {"path": "walk.json", "sha256": "...", "person": 0, "frames": 300},
     "reference": {"path": "truth.npz", "sha256": "..."} | null,
     "mask": {"frames": 300, "threshold": 0.2,
              "user": {"left_wrist": [[10, 51]], ...}, "forced": {"right_knee": [[3, 4]]}},
     "settings": {...}, "probe": {"mode": "probe", "camera": {...}} | null, "frame": 12}

Paths are relative to the project file (absolute when they are on another drive); the content hash tells when the
input changed since. Masks are stored as half-open frame runs per joint. Project files are untrusted input: every
field is checked and a bad one raises ``PoseDataError`` naming the file and the field.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.state import MODE_COMPLETE, MODE_PROBE, ProbeSettings, Settings
from mpm_core.atomic import atomic_write
from mpm_core.engine.masks import Mask
from mpm_core.engine.probe import VirtualCamera
from mpm_core.errors import PoseDataError
from mpm_core.skeleton import H36M_JOINTS

FORMAT = "mpm-studio-project"
VERSION = 1
SUFFIX = ".mpmproj"
#: A project file is small; anything bigger is not one (checked before parsing).
MAX_PROJECT_BYTES = 64 * 1024 * 1024
#: Runs per joint in a mask (a mask alternating every frame of a 20 M-frame input would have 10 M).
MAX_RUNS_PER_JOINT = 10_000_000


@dataclass
class Project:
    """A project read from disk (paths resolved, nothing loaded yet).

    Fields:
        path: the project file.
        input_path / input_hash / person / frames: the input and what it was when saved.
        reference_path / reference_hash: the ghost's 3D file, or None.
        user / forced: ``(frames, 17)`` bool user edits.
        threshold: the confidence threshold (None for 3D input).
        settings, probe, frame: as saved.
    """

    path: Path
    input_path: Path
    input_hash: str
    person: int | None
    frames: int
    reference_path: Path | None
    reference_hash: str
    user: np.ndarray
    forced: np.ndarray
    threshold: float | None
    settings: Settings
    probe: ProbeSettings | None
    frame: int

    def mask_for(self, automatic: Mask) -> Mask:
        """The saved user edits over the automatic mask of the input as read now (at the saved threshold)."""
        if automatic.num_frames != self.frames:
            raise PoseDataError(
                f"the project's mask has {self.frames} frames but the input now has {automatic.num_frames}",
                self.path,
                "mask",
            )
        return automatic.with_user(self.user).with_forced(self.forced)


def _runs(column: np.ndarray) -> list[list[int]]:
    """Half-open ``[start, stop)`` runs of True in a ``(T,)`` bool column."""
    padded = np.concatenate([[False], column.astype(bool), [False]])
    edges = np.nonzero(np.diff(padded.astype(np.int8)))[0]
    return [[int(a), int(b)] for a, b in zip(edges[0::2], edges[1::2])]


def _encode(mask: np.ndarray) -> dict[str, list[list[int]]]:
    return {H36M_JOINTS[j]: _runs(mask[:, j]) for j in range(mask.shape[1]) if mask[:, j].any()}


def _decode(data, frames: int, path: Path, where: str) -> np.ndarray:
    out = np.zeros((frames, len(H36M_JOINTS)), bool)
    if not isinstance(data, dict):
        raise PoseDataError(f"expected an object of joint names, got {type(data).__name__}", path, where)
    for name, runs in data.items():
        if name not in H36M_JOINTS:
            raise PoseDataError(f"unknown joint {name!r}", path, where)
        if not isinstance(runs, list) or len(runs) > MAX_RUNS_PER_JOINT:
            raise PoseDataError(f"{name}: expected a list of [start, stop] runs", path, where)
        j = H36M_JOINTS.index(name)
        for run in runs:
            ok = isinstance(run, list) and len(run) == 2 and all(type(v) is int for v in run)
            if not ok or not 0 <= run[0] < run[1] <= frames:
                raise PoseDataError(f"{name}: run {run!r} is not [start, stop) within 0-{frames}", path, where)
            out[run[0] : run[1], j] = True
    return out


def _relative(target: Path, base: Path) -> str:
    try:
        return os.path.relpath(target.resolve(), base.resolve())
    except ValueError:  # another drive (Windows)
        return str(target.resolve())


def project_dict(doc, project_path: Path, absolute_paths: bool = False) -> dict:
    """The JSON object of a document's session (``absolute_paths`` for autosaves, which live elsewhere)."""
    data = doc.input
    if data is None or data.path is None:
        raise PoseDataError("nothing to save: no input file is open")
    base = project_path.parent

    def where(p: Path) -> str:
        return str(p.resolve()) if absolute_paths else _relative(p, base)

    reference = None
    if getattr(data, "reference_path", None) is not None:
        reference = {"path": where(data.reference_path), "sha256": data.reference_hash}
    probe = None
    if data.kind == "3d":
        cam = doc.probe.camera
        probe = {
            "mode": doc.probe.mode,
            "camera": {
                "azimuth_deg": cam.azimuth_deg,
                "elevation_deg": cam.elevation_deg,
                "distance_m": cam.distance_m,
                "fov_deg": cam.fov_deg,
                "image_size": list(cam.image_size),
            },
        }
    mask = doc.mask
    return {
        "format": FORMAT,
        "version": VERSION,
        "input": {
            "path": where(data.path),
            "sha256": data.content_hash,
            "person": data.person,
            "frames": data.num_frames,
        },
        "reference": reference,
        "mask": {
            "frames": mask.num_frames,
            "threshold": mask.threshold,
            "user": _encode(mask.user),
            "forced": _encode(mask.forced),
        },
        "settings": doc.settings.to_dict(),
        "probe": probe,
        "frame": int(doc.frame),
    }


def save_project(doc, path: str | os.PathLike, absolute_paths: bool = False) -> Path:
    """Write the document's session to ``path`` (atomic)."""
    path = Path(path)
    text = json.dumps(project_dict(doc, path, absolute_paths), indent=1)
    with atomic_write(path) as fh:
        fh.write(text)
    return path


def _field(obj: dict, key: str, kind, path: Path, where: str, optional: bool = False):
    if key not in obj:
        if optional:
            return None
        raise PoseDataError(f"missing field {key!r}", path, where)
    value = obj[key]
    if value is None and optional:
        return None
    if kind is int and type(value) is not int or kind is not int and not isinstance(value, kind):
        raise PoseDataError(f"field {key!r} should be {getattr(kind, '__name__', kind)}", path, where)
    return value


def _read_json(path: Path):
    try:
        from mpm_core.io.limits import load_json_file  # bounded reader (issue 17), when present
    except ImportError:  # pragma: no cover - before the hardening work lands
        load_json_file = None
    if load_json_file is not None:
        return load_json_file(path, max_bytes=MAX_PROJECT_BYTES)
    if not path.is_file():
        raise PoseDataError("no such project file (or not a regular file)", path)
    if path.stat().st_size > MAX_PROJECT_BYTES:
        raise PoseDataError(f"larger than {MAX_PROJECT_BYTES} bytes: not a project file", path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise PoseDataError(f"not valid JSON: {exc}", path) from None


def read_project(path: str | os.PathLike) -> Project:
    """Read and check a project file (no input is loaded)."""
    path = Path(path)
    data = _read_json(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise PoseDataError(f'not an MPM Studio project (no "format": "{FORMAT}")', path)
    version = data.get("version")
    if type(version) is not int or version > VERSION or version < 1:
        raise PoseDataError(f"project version {version!r} is not supported (this app reads 1-{VERSION})", path)
    base = path.parent
    inp = _field(data, "input", dict, path, "input")
    input_path = base / _field(inp, "path", str, path, "input.path")
    input_hash = _field(inp, "sha256", str, path, "input.sha256")
    person = _field(inp, "person", int, path, "input.person", optional=True)
    mask = _field(data, "mask", dict, path, "mask")
    frames = _field(mask, "frames", int, path, "mask.frames")
    if not 0 < frames <= 20_000_000:
        raise PoseDataError(f"mask.frames {frames} is not in 1-20000000", path, "mask.frames")
    threshold = _field(mask, "threshold", (int, float), path, "mask.threshold", optional=True)
    if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
        raise PoseDataError(f"threshold {threshold} is not in [0, 1]", path, "mask.threshold")
    user = _decode(mask.get("user", {}), frames, path, "mask.user")
    forced = _decode(mask.get("forced", {}), frames, path, "mask.forced")
    raw_settings = data.get("settings", {})
    if not isinstance(raw_settings, dict):
        raise PoseDataError("settings should be an object", path, "settings")
    try:
        settings = Settings.from_dict(raw_settings)
        settings.replace()  # validate types early
    except TypeError as exc:
        raise PoseDataError(f"bad settings: {exc}", path, "settings") from None
    if settings.coords not in ("world", "camera") or settings.smoothing not in (None, "one_euro", "lowpass"):
        raise PoseDataError("settings coords or smoothing has an unknown value", path, "settings")
    probe = None
    raw_probe = data.get("probe")
    if raw_probe is not None:
        if not isinstance(raw_probe, dict) or raw_probe.get("mode") not in (MODE_COMPLETE, MODE_PROBE):
            raise PoseDataError("probe.mode must be 'complete' or 'probe'", path, "probe")
        cam = raw_probe.get("camera", {})
        try:
            camera = VirtualCamera(
                float(cam["azimuth_deg"]),
                float(cam["elevation_deg"]),
                float(cam["distance_m"]),
                float(cam["fov_deg"]),
                tuple(int(v) for v in cam["image_size"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PoseDataError(f"bad virtual camera: {exc!r}", path, "probe.camera") from None
        probe = ProbeSettings(raw_probe["mode"], camera)
    reference = data.get("reference")
    reference_path, reference_hash = None, ""
    if reference is not None:
        if not isinstance(reference, dict):
            raise PoseDataError("reference should be an object or null", path, "reference")
        reference_path = base / _field(reference, "path", str, path, "reference.path")
        reference_hash = _field(reference, "sha256", str, path, "reference.sha256")
    frame = data.get("frame", 0)
    frame = frame if type(frame) is int and 0 <= frame < frames else 0
    return Project(
        path,
        input_path,
        input_hash,
        person,
        frames,
        reference_path,
        reference_hash,
        user,
        forced,
        None if threshold is None else float(threshold),
        settings,
        probe,
        frame,
    )
