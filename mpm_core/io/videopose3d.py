"""VideoPose3D ``.npz`` files, read without trusting their pickles.

- Custom 2D dataset (``prepare_data_2d_custom.py``): ``positions_2d`` = {video name: {'custom': [(T, 17, 2)]}},
  ``metadata`` = {layout_name, num_joints, keypoints_symmetry, video_metadata: {video name: {w, h}}}.
  No confidences (score 1). fps only from a hint in the video name (``..._30fps.mp4``).
- ``infer_video_d2.py`` (Detectron2) output: ``boxes`` (T, 2) and ``keypoints`` (T, 2) object arrays; per frame
  ``boxes[t][1]`` is (n, 5) x1, y1, x2, y2, score and ``keypoints[t][1]`` is (n, 4, 17): rows x, y, logit
  (a dummy 0), score. As ``prepare_data_2d_custom.py`` does, the box with the best score is the person; a frame
  without one is a missing frame. Detectron2's keypoint score is a heatmap logit (it exceeds 1), so it is mapped
  through a sigmoid to 0..1.

Both store Python objects with pickle. They are loaded by :class:`RestrictedUnpickler`, which builds only plain
containers, numbers, strings and numpy arrays/dtypes; any other global (``os.system``, ``builtins.eval``, ...)
raises ``PoseDataError`` before anything runs. ``allow_pickle=True`` is never used.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
from pathlib import Path

import numpy as np

from mpm_core.errors import PoseDataError
from mpm_core.io.common import (
    Detection,
    RawPoses,
    check_image_size,
    fps_from_name,
    resolve_layout,
    sigmoid,
)
from mpm_core.io.limits import (
    MAX_FRAMES,
    array_from_header,
    check_count,
    npz_members,
    open_npz,
    read_npz_member,
)

#: VideoPose3D layout names -> ours.
_VP3D_LAYOUTS = {"coco": "coco17", "h36m": "h36m17", "detectron2": "coco17"}


def _numpy_reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    return _reconstruct, scalar


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles only containers, numbers, strings and numpy arrays; every other global is refused."""

    def find_class(self, module: str, name: str):
        reconstruct, scalar = _numpy_reconstruct()
        allowed = {
            ("numpy.core.multiarray", "_reconstruct"): reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): reconstruct,
            ("numpy.core.multiarray", "scalar"): scalar,
            ("numpy._core.multiarray", "scalar"): scalar,
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
            ("collections", "OrderedDict"): collections.OrderedDict,
        }
        if (module, name) == ("_codecs", "encode"):  # protocol-2 pickles of bytes: str -> bytes only
            return _codecs_encode
        if (module, name) in allowed:
            return allowed[(module, name)]
        raise pickle.UnpicklingError(f"refused to load {module}.{name} (only plain data and numpy arrays allowed)")


def _codecs_encode(text: str, encoding: str = "utf-8") -> bytes:
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        raise pickle.UnpicklingError("refused _codecs.encode with unexpected arguments")
    return text.encode(encoding)


def load_npz_restricted(path: str | os.PathLike) -> dict[str, object]:
    """Every array of an ``.npz``; object arrays are unpickled by :class:`RestrictedUnpickler`."""
    path = Path(path)
    out: dict[str, object] = {}
    with open_npz(path) as z:
        for info in npz_members(path, z):
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            header, data = read_npz_member(z, info, path, key)
            if header.dtype.hasobject:
                out[key] = _unpickle(data, path, key)
            else:
                out[key] = array_from_header(header, data.getvalue(), path, f"key {key!r}")
    return out


def _unpickle(f: io.BytesIO, path: Path, key: str):
    try:
        return RestrictedUnpickler(f).load()
    except pickle.UnpicklingError as exc:
        raise PoseDataError(f"unsafe or broken pickled data: {exc}", path, f"key {key!r}") from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, OverflowError) as exc:
        raise PoseDataError(f"broken pickled data ({type(exc).__name__}: {exc})", path, f"key {key!r}") from None
    except (MemoryError, RecursionError) as exc:
        raise PoseDataError(f"pickled data too large or deep ({type(exc).__name__})", path, f"key {key!r}") from None


def _item(value, path: Path, key: str):
    """The Python object inside a 0-d object array (how np.savez stores a dict)."""
    if isinstance(value, np.ndarray) and value.dtype == object and value.shape == ():
        return value.item()
    if isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        return value.reshape(()).item()
    raise PoseDataError(f"expected a pickled object, got an array {getattr(value, 'shape', '')}", path, f"key {key!r}")


def read_videopose3d_custom(path: str | os.PathLike, layout: str | None = None, video: str | None = None) -> RawPoses:
    """Read a VideoPose3D custom 2D dataset ``.npz`` (one video: the only one, or ``video``)."""
    path = Path(path)
    data = load_npz_restricted(path)
    for key in ("positions_2d", "metadata"):
        if key not in data:
            raise PoseDataError(f"key {key!r} is missing", path)
    positions = _item(data["positions_2d"], path, "positions_2d")
    meta = _item(data["metadata"], path, "metadata")
    if not isinstance(positions, dict) or not positions:
        raise PoseDataError("'positions_2d' is not a non-empty dict of videos", path, "key 'positions_2d'")
    if not isinstance(meta, dict):
        raise PoseDataError("'metadata' is not a dict", path, "key 'metadata'")
    names = list(positions)
    if video is None:
        if len(names) > 1:
            raise PoseDataError(f"{len(names)} videos in the file; choose one with video=: {', '.join(names)}", path)
        video = names[0]
    if video not in positions:
        raise PoseDataError(f"no video {video!r}; videos: {', '.join(names)}", path)
    entry = positions[video]
    where = f"positions_2d[{video!r}]"
    if not isinstance(entry, dict) or "custom" not in entry or not entry["custom"]:
        raise PoseDataError("expected {'custom': [array]}", path, where)
    arr = entry["custom"][0]
    if not isinstance(arr, np.ndarray) or arr.ndim != 3 or arr.shape[2] != 2 or arr.dtype.kind not in "fiu":
        shape = getattr(arr, "shape", type(arr).__name__)
        raise PoseDataError(f"expected a (T, J, 2) number array, got {shape}", path, where)
    if len(arr) == 0:
        raise PoseDataError("zero frames", path, where)
    file_layout = _VP3D_LAYOUTS.get(str(meta.get("layout_name", "")).lower())
    name = resolve_layout(arr.shape[1], layout, path, where, default=None if layout else file_layout)
    kp = arr.astype(np.float64)
    visible = np.isfinite(kp).all(axis=2)
    detections = {
        t: [Detection(np.where(visible[t][:, None], kp[t], 0.0), visible[t].astype(float), visible[t], None, 0)]
        for t in range(len(kp))
    }
    raw = RawPoses(layout=name, frames=list(range(len(kp))), detections=detections, tracked=True, format="vp3d")
    size = (meta.get("video_metadata") or {}).get(video)
    if isinstance(size, dict) and "w" in size and "h" in size:
        raw.image_size = check_image_size((size["w"], size["h"]), path, f"metadata video_metadata[{video!r}]")
        raw.image_size_source = "file"
    hinted = fps_from_name(video)
    if hinted is not None:
        raw.fps, raw.fps_source = hinted, "file (video name)"
    return raw


def read_detectron2_npz(path: str | os.PathLike, layout: str | None = None) -> RawPoses:
    """Read VideoPose3D's ``infer_video_d2.py`` output: the best-scoring person per frame."""
    path = Path(path)
    data = load_npz_restricted(path)
    for key in ("boxes", "keypoints"):
        if key not in data:
            raise PoseDataError(f"key {key!r} is missing", path)
    boxes, keypoints = data["boxes"], data["keypoints"]
    for key, value in (("boxes", boxes), ("keypoints", keypoints)):
        if not isinstance(value, np.ndarray) or value.ndim < 1:
            shape = getattr(value, "shape", type(value).__name__)
            raise PoseDataError(f"'{key}' is not a per-frame array (got {shape})", path, f"key {key!r}")
    check_count(len(boxes), MAX_FRAMES, "frames", path, "key 'boxes'")
    if len(boxes) != len(keypoints):
        raise PoseDataError(f"{len(boxes)} frames of boxes but {len(keypoints)} of keypoints", path)
    if len(boxes) == 0:
        raise PoseDataError("zero frames", path)
    detections: dict[int, list[Detection]] = {}
    count = None
    for t in range(len(boxes)):
        where = f"frame {t}"
        try:
            if np.iscomplexobj(boxes[t][1]) or np.iscomplexobj(keypoints[t][1]):
                raise PoseDataError("complex numbers in boxes/keypoints", path, where)
            frame_boxes = np.asarray(boxes[t][1], dtype=np.float64)
            frame_kp = np.asarray(keypoints[t][1], dtype=np.float64)
        except PoseDataError:
            raise
        except (IndexError, TypeError, ValueError, OverflowError, KeyError) as exc:
            raise PoseDataError(f"unexpected boxes/keypoints entry ({str(exc)[:80]})", path, where) from None
        if frame_boxes.size == 0 or frame_kp.size == 0:
            detections[t] = []  # nobody detected: a missing frame
            continue
        if frame_boxes.ndim != 2 or frame_boxes.shape[1] != 5 or frame_kp.ndim != 3 or frame_kp.shape[1] != 4:
            raise PoseDataError(
                f"boxes {frame_boxes.shape} / keypoints {frame_kp.shape}, expected (n, 5) / (n, 4, J)", path, where
            )
        if len(frame_boxes) != len(frame_kp):
            raise PoseDataError(f"{len(frame_boxes)} boxes but {len(frame_kp)} keypoint sets", path, where)
        if count is None:
            count = frame_kp.shape[2]
        elif frame_kp.shape[2] != count:
            raise PoseDataError(f"mixed layouts: {frame_kp.shape[2]} joints here, {count} before", path, where)
        best = int(np.argmax(frame_boxes[:, 4]))
        kp = frame_kp[best]
        xy = kp[:2].T
        score = sigmoid(kp[3])
        visible = np.isfinite(xy).all(axis=1) & np.isfinite(score)
        detections[t] = [
            Detection(
                np.where(visible[:, None], xy, 0.0), np.where(visible, score, 0.0), visible, frame_boxes[best, :4], 0
            )
        ]
    if count is None:
        raise PoseDataError("no person detected in any frame", path)
    raw = RawPoses(
        layout=resolve_layout(count, layout, path),
        frames=list(range(len(boxes))),
        detections=detections,
        tracked=True,
        format="detectron2-npz",
    )
    if "metadata" in data:
        meta = _item(data["metadata"], path, "metadata")
        if isinstance(meta, dict) and "w" in meta and "h" in meta:
            raw.image_size = check_image_size((meta["w"], meta["h"]), path, "metadata w/h")
            raw.image_size_source = "file"
    return raw
