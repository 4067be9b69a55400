"""Detection cache: a video's detected tracks stored under a key of the video's content and the detector.

File name: ``.<video name>.<key>.mpm-detections.npz`` beside the video, or ``<user cache>/detections/<key>.npz``
when the video's folder cannot be written (``$XDG_CACHE_HOME/mpm-studio`` or ``~/.cache/mpm-studio``). The key
is a hash of the video's SHA-256, the detector key (names, model hashes, settings) and the frame range, so a
changed video, model or setting never reuses a stale result. Both places are looked in; a damaged cache file is
ignored (and recomputed). Files are written atomically; plain arrays only (no pickles).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np

from mpm_core.atomic import atomic_write_bytes
from mpm_core.errors import PoseDataError
from mpm_core.sequence import PoseSequence2D
from mpm_core.video.detectors import LAYOUT
from mpm_core.video.models import sha256_of
from mpm_core.video.reader import VideoInfo

#: Bump when the stored layout or the pipeline's output changes meaning.
CACHE_VERSION = 1
SUFFIX = ".mpm-detections.npz"


def user_cache_dir() -> Path:
    from mpm_core.model.config import default_cache_dir

    return default_cache_dir() / "detections"


def cache_key(video: str | os.PathLike, detector_key: str, frame_range: tuple[int, int]) -> str:
    text = f"v{CACHE_VERSION}|{sha256_of(video)}|{detector_key}|{frame_range[0]}-{frame_range[1]}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def candidate_paths(video: str | os.PathLike, key: str) -> list[Path]:
    """Where a cached result may be: beside the video, then the user cache folder."""
    video = Path(video)
    return [video.parent / f".{video.name}.{key}{SUFFIX}", user_cache_dir() / f"{key}.npz"]


def load(video: str | os.PathLike, detector_key: str, frame_range: tuple[int, int], info: VideoInfo):
    """The cached ``DetectionResult``, or None."""
    from mpm_core.video.pipeline import DetectionResult

    key = cache_key(video, detector_key, frame_range)
    for path in candidate_paths(video, key):
        if not path.is_file():
            continue
        try:
            tracks = _read(path, info)
        except (OSError, ValueError, KeyError, PoseDataError):
            continue  # damaged or foreign file: detect again
        return DetectionResult(
            tracks=tracks,
            info=info,
            detector_key=detector_key,
            frame_range=frame_range,
            from_cache=True,
            detector_calls=0,
            cache_path=os.fspath(path),
        )
    return None


def store(video: str | os.PathLike, result) -> str:
    """Write ``result`` to the cache; the path written ("" when no place could be written)."""
    key = cache_key(video, result.detector_key, result.frame_range)
    data = _encode(result)
    beside, user = candidate_paths(video, key)
    if folder_writable(beside.parent):
        try:
            atomic_write_bytes(beside, data)
            return os.fspath(beside)
        except OSError:
            pass
    try:
        atomic_write_bytes(user, data)
        return os.fspath(user)
    except OSError:
        return ""


def folder_writable(folder: Path) -> bool:
    """True when we may write into ``folder``. A folder without any write permission bit counts as read-only
    even for root (who could write anyway): shared, read-only data is never written into."""
    try:
        mode = folder.stat().st_mode
    except OSError:
        return False
    return bool(mode & 0o222) and os.access(folder, os.W_OK)


def _encode(result) -> bytes:
    arrays: dict[str, np.ndarray] = {
        "meta": np.array(
            json.dumps(
                {
                    "version": CACHE_VERSION,
                    "detector": result.detector_key,
                    "range": list(result.frame_range),
                    "tracks": len(result.tracks),
                    "notes": result.notes,
                }
            )
        )
    }
    for i, t in enumerate(result.tracks):
        arrays[f"t{i}_keypoints"] = t.keypoints
        arrays[f"t{i}_scores"] = t.scores
        arrays[f"t{i}_visible"] = t.visible
        arrays[f"t{i}_start"] = np.array([t.start_frame, t.person_id or 0], np.int64)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _read(path: Path, info: VideoInfo) -> list[PoseSequence2D]:
    from mpm_core.io.limits import load_npz_arrays, parse_json_text  # bounded reading (issue 17)

    data = load_npz_arrays(path)
    meta = parse_json_text(str(data["meta"]), path)
    if not isinstance(meta, dict) or meta.get("version") != CACHE_VERSION:
        raise ValueError("other cache version")
    tracks = []
    for i in range(int(meta["tracks"])):
        start, pid = (int(v) for v in data[f"t{i}_start"])
        tracks.append(
            PoseSequence2D(
                keypoints=data[f"t{i}_keypoints"],
                scores=data[f"t{i}_scores"],
                visible=data[f"t{i}_visible"],
                fps=info.fps,
                layout=LAYOUT,
                person_id=pid,
                source=info.path,
                start_frame=start,
                image_size=info.image_size,
            )
        )
    return tracks
