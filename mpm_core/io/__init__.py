"""Reading pose files: one entry point per kind, the format detected from the file.

- :func:`read_2d_tracks` -- every person track of a 2D file (``PoseSequence2D`` each, ``person_id`` set).
- :func:`read_2d` -- one person (``person="longest"`` or a track id).
- :func:`read_3d` -- a 3D file (canonical CSV/NPZ, BVH, ASF/AMC) as ``PoseSequence3D`` in metres.
- :func:`read_any` -- 2D or 3D, whichever the file holds.
- :func:`load_2d` -- like ``read_2d_tracks`` but also says where fps and image size came from.

Readers return sequences in the file's own layout; call ``.to_h36m()`` for the canonical skeleton.
fps: explicit ``fps=`` > value in the file > ``NNfps`` in the file name > video beside the keypoints > 30.
Image size: explicit > file > video beside > None.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mpm_core.errors import PoseDataError, check_fps
from mpm_core.io.common import Detection, RawPoses, check_image_size, resolve_fps_and_size
from mpm_core.io.detect import FORMATS, detect_format, is_3d_format
from mpm_core.io.limits import (
    MAX_ABS_PIXELS,
    MAX_FRAMES,
    MAX_JOINTS,
    MAX_PEOPLE,
    check_count,
    check_dense,
    check_frame_number,
    check_pixels,
    clip_scores,
)
from mpm_core.sequence import PoseSequence2D, PoseSequence3D

__all__ = [
    "FORMATS",
    "Loaded2D",
    "Loaded3D",
    "detect_format",
    "load_2d",
    "load_3d",
    "read_2d",
    "read_2d_tracks",
    "read_3d",
    "read_any",
]


@dataclass
class Loaded2D:
    """What a 2D file holds: its person tracks and where fps / image size came from.

    ``fps_source`` / ``image_size_source``: "argument", "file", "file name", "video <name>", "default", "unknown".
    """

    tracks: list[PoseSequence2D]
    format: str
    layout: str
    fps: float
    fps_source: str
    image_size: tuple[int, int] | None
    image_size_source: str
    frames: list[int] = field(default_factory=list)
    tracked_by_file: bool = False
    num_detections: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class Loaded3D:
    """A 3D file: the sequence (metres), where fps came from, and ``hidden`` flags when the file has them."""

    sequence: PoseSequence3D
    format: str
    fps_source: str
    hidden: np.ndarray | None = None


def _read_raw(path: Path, fmt: str, layout: str | None, image_size, video: str | None) -> RawPoses:
    """Call the reader for ``fmt``; canonical single-person files come back as one tracked detection list."""
    if fmt == "openpose":
        from mpm_core.io.openpose import read_openpose

        return read_openpose(path, layout)
    if fmt == "coco-results":
        from mpm_core.io.coco_results import read_coco_results

        return read_coco_results(path, layout)
    if fmt == "mmpose":
        from mpm_core.io.mmpose import read_mmpose

        return read_mmpose(path, layout)
    if fmt == "kinetics":
        from mpm_core.io.kinetics import read_kinetics

        return read_kinetics(path, layout, image_size)
    if fmt in ("mediapipe-json", "mediapipe-csv"):
        from mpm_core.io.mediapipe import read_mediapipe

        return read_mediapipe(path, layout, image_size)
    if fmt == "videopose3d-custom":
        from mpm_core.io.videopose3d import read_videopose3d_custom

        return read_videopose3d_custom(path, layout, video)
    if fmt == "detectron2-npz":
        from mpm_core.io.videopose3d import read_detectron2_npz

        return read_detectron2_npz(path, layout)
    if fmt == "npy":
        from mpm_core.io.npy import read_npy

        return read_npy(path, layout)
    if fmt in ("csv-2d", "npz-2d"):
        from mpm_core.io.canonical import read_csv_2d, read_npz_2d

        if fmt == "csv-2d":
            seq, meta = read_csv_2d(path, layout)
            has_fps, has_size = "fps" in meta, seq.image_size is not None
        else:
            seq = read_npz_2d(path, layout)
            has_fps, has_size = True, seq.image_size is not None
        return _raw_from_sequence(seq, fmt, has_fps, has_size)
    raise PoseDataError(f"{FORMATS.get(fmt, fmt)} is a 3D format; use read_3d", path)


def _raw_from_sequence(seq: PoseSequence2D, fmt: str, has_fps: bool, has_size: bool) -> RawPoses:

    frames = seq.frame_numbers.tolist()
    pid = 0 if seq.person_id is None else int(seq.person_id)
    dets = {
        f: [Detection(seq.keypoints[t].astype(np.float64), seq.scores[t], seq.visible[t], None, pid)]
        for t, f in enumerate(frames)
    }
    return RawPoses(
        layout=seq.layout,
        frames=frames,
        detections=dets,
        tracked=True,
        fps=seq.fps if has_fps else None,
        fps_source="file" if has_fps else "",
        image_size=seq.image_size if has_size else None,
        image_size_source="file" if has_size else "",
        format=fmt,
    )


#: Largest distance of a 3D joint from the origin, in metres (a mocap stage is tens of metres).
MAX_ABS_METRES = 1e5
#: Track ids from a file must fit a 32-bit int (they become ``person_id``).
MAX_TRACK_ID = 2**31
#: Bytes per (frame, joint) cell of a dense 2D track: float32 x, y, score and a bool.
_CELL_BYTES_2D = 13


def check_raw(raw: RawPoses, path: Path) -> None:
    """Limits every 2D reader's output must meet, checked before dense arrays are built: frame numbers and
    counts, people per frame, joints, visible coordinates finite and within ``MAX_ABS_PIXELS``, scores in
    ``[0, MAX_SCORE]`` (clipped to 1 in place). Names the frame and the joint of the first bad value.

    Checked on all detections at once (one array per field); a failure is then located detection by detection.
    """
    check_count(len(raw.frames), MAX_FRAMES, "frames", path)
    for frame in (raw.frames[0], raw.frames[-1]) if raw.frames else ():
        check_frame_number(frame, path, None, allow_negative=True)
    located: list[tuple[str, Detection]] = []
    for frame, dets in raw.detections.items():
        check_frame_number(frame, path, None, allow_negative=True)
        check_count(len(dets), MAX_PEOPLE, "people in one frame", path, f"frame {frame}")
        located += [(f"frame {frame} person {k}", det) for k, det in enumerate(dets)]
    for where, det in located:
        check_count(len(det.visible), MAX_JOINTS, "joints", path, where)
        if det.track_id is not None and not -MAX_TRACK_ID <= det.track_id < MAX_TRACK_ID:
            raise PoseDataError(f"track id {det.track_id:.3g} is out of range", path, where)
        if det.box is not None:
            box = np.asarray(det.box, np.float64)
            det.box = box if np.isfinite(box).all() and (np.abs(box) <= MAX_ABS_PIXELS).all() else None
    if not located:
        return
    if len({len(det.visible) for _, det in located}) != 1:  # readers keep one count; check each otherwise
        for where, det in located:
            check_pixels(det.keypoints, det.visible, path, where)
            det.scores = clip_scores(det.scores, det.visible, path, where)
        return
    kp = np.stack([det.keypoints for _, det in located])
    vis = np.stack([det.visible for _, det in located])
    sc = np.stack([det.scores for _, det in located])
    try:
        check_pixels(kp, vis, path, "")
        clipped = clip_scores(sc, vis, path, "")
    except PoseDataError:  # name the detection: the same checks one by one
        for where, det in located:
            check_pixels(det.keypoints, det.visible, path, where)
            clip_scores(det.scores, det.visible, path, where)
        raise
    for i, (_, det) in enumerate(located):
        det.scores = clipped[i]


def _sequences(raw: RawPoses, path: Path) -> list[PoseSequence2D]:
    from mpm_core.tracking import track_detections, tracks_from_ids

    tracks = tracks_from_ids(raw.detections) if raw.tracked else track_detections(raw.detections)
    cells = backed = 0
    for track in tracks:
        sample = next(iter(track.detections.values()))
        cells += (track.last_frame - track.first_frame + 1) * len(sample.visible)
        backed += len(track.detections) * len(sample.visible)
    check_dense(cells, _CELL_BYTES_2D, f"{len(tracks)} person track(s)", path, backed)
    out = []
    for track in tracks:
        kp, sc, vis = track.dense()
        out.append(
            PoseSequence2D(
                keypoints=kp,
                scores=sc,
                visible=vis,
                fps=raw.fps,
                layout=raw.layout,
                person_id=track.track_id,
                source=os.fspath(path),
                start_frame=track.first_frame,
                image_size=raw.image_size,
            )
        )
    return out


def _name_the_file(read):
    """Every ``PoseDataError`` out of ``read`` names the file (a layout or sequence check deep down may not)."""

    @functools.wraps(read)
    def wrapper(path, *args, **kwargs):
        try:
            return read(path, *args, **kwargs)
        except PoseDataError as exc:
            if exc.path is not None:
                raise
            raise PoseDataError(exc.problem, path, exc.where) from None

    return wrapper


@_name_the_file
def load_2d(
    path: str | os.PathLike,
    layout: str | None = None,
    fps: float | None = None,
    image_size: tuple[int, int] | None = None,
    video: str | None = None,
) -> Loaded2D:
    """Read every person track of a 2D file and say where fps / image size came from.

    ``video`` picks one video of a VideoPose3D custom ``.npz`` holding several.
    """
    path = Path(path)
    fmt = detect_format(path)
    if is_3d_format(fmt):
        raise PoseDataError(f"this is a 3D file ({FORMATS[fmt]}), not 2D keypoints", path)
    if fps is not None:
        fps = check_fps(fps, path, "fps argument")
    if image_size is not None:
        image_size = check_image_size(image_size, path, "image size argument")
    raw = _read_raw(path, fmt, layout, image_size, video)
    check_raw(raw, path)
    resolve_fps_and_size(raw, path, fps, image_size)
    tracks = _sequences(raw, path)
    if not tracks or not any(t.visible.any() for t in tracks):
        raise PoseDataError("no visible joint in any frame (all missing, NaN or zero-confidence)", path)
    return Loaded2D(
        tracks=tracks,
        format=fmt,
        layout=raw.layout,
        fps=raw.fps,
        fps_source=raw.fps_source,
        image_size=raw.image_size,
        image_size_source=raw.image_size_source,
        frames=raw.frames,
        tracked_by_file=raw.tracked,
        num_detections=raw.num_detections,
        notes=raw.notes,
    )


def read_2d_tracks(
    path: str | os.PathLike,
    layout: str | None = None,
    fps: float | None = None,
    image_size: tuple[int, int] | None = None,
    video: str | None = None,
) -> list[PoseSequence2D]:
    """Every person track of a 2D file (ids 0, 1, ... unless the file has its own), each over its first..last
    frame with the frames it was not seen in as invisible rows. Layout: the file's own."""
    return load_2d(path, layout, fps, image_size, video).tracks


def read_2d(
    path: str | os.PathLike,
    layout: str | None = None,
    fps: float | None = None,
    image_size: tuple[int, int] | None = None,
    person: str | int = "longest",
    video: str | None = None,
) -> PoseSequence2D:
    """One person of a 2D file: ``person="longest"`` (most frames seen) or a track id."""
    from mpm_core.tracking import select_track

    tracks = read_2d_tracks(path, layout, fps, image_size, video)
    try:
        return select_track(tracks, person)
    except PoseDataError as exc:
        raise PoseDataError(exc.problem, path, "person") from None


@_name_the_file
def load_3d(path: str | os.PathLike, layout: str | None = None, fps: float | None = None) -> Loaded3D:
    """Read a 3D file (canonical CSV/NPZ, BVH, ASF/AMC) in metres, with where its fps came from.

    ``layout`` applies to canonical files (checked against their columns); BVH/AMC come back as H36M-17.
    """
    path = Path(path)
    fmt = detect_format(path)
    with np.errstate(all="ignore"):  # overflow in a mocap file's kinematics: its result is checked below
        seq, hidden, fps_source = _read_3d(path, fmt, layout)
    if not seq.visible.any():
        raise PoseDataError("no visible joint in any frame (all missing or NaN)", path)
    with np.errstate(invalid="ignore"):
        too_far = seq.visible & ~(np.abs(seq.keypoints) <= MAX_ABS_METRES).all(axis=-1)
    if too_far.any():
        t, j = (int(i) for i in np.argwhere(too_far)[0])
        raise PoseDataError(
            f"joint {seq.layout_info.joint_names[j]} is {float(np.abs(seq.keypoints[t, j]).max()):.3g} m away:"
            f" beyond {MAX_ABS_METRES:g} m (corrupt offsets or units?)",
            path,
            f"frame {seq.start_frame + t}",
        )
    if fps is not None:
        seq = seq.replace(fps=check_fps(fps, path, "fps argument"))
        fps_source = "argument"
    return Loaded3D(seq, fmt, fps_source, hidden)


def _read_3d(path: Path, fmt: str, layout: str | None):
    hidden = None
    if fmt in ("csv-3d", "npz-3d"):
        from mpm_core.io.canonical import read_csv_3d, read_npz_3d

        canon = read_csv_3d(path, layout) if fmt == "csv-3d" else read_npz_3d(path, layout)
        seq, hidden = canon.sequence, canon.hidden
        fps_source = "file" if canon.fps_in_file else "default"
    elif fmt == "bvh":
        from mpm_core.io.bvh import load_bvh_h36m

        seq, fps_source = load_bvh_h36m(path), "file"
    elif fmt == "amc":
        from mpm_core.io.asf_amc import load_amc_h36m

        seq, fps_source = load_amc_h36m(path), "file"
    else:
        raise PoseDataError(f"this is a 2D file ({FORMATS[fmt]}); use read_2d", path)
    return seq, hidden, fps_source


def read_3d(path: str | os.PathLike, layout: str | None = None, fps: float | None = None) -> PoseSequence3D:
    """A 3D file as ``PoseSequence3D`` (metres)."""
    return load_3d(path, layout, fps).sequence


def read_any(
    path: str | os.PathLike,
    layout: str | None = None,
    fps: float | None = None,
    image_size: tuple[int, int] | None = None,
    person: str | int = "longest",
) -> PoseSequence2D | PoseSequence3D:
    """Whatever the file holds: 3D formats as ``read_3d``, 2D formats as ``read_2d``."""
    if is_3d_format(detect_format(path)):
        return read_3d(path, layout, fps)
    return read_2d(path, layout, fps, image_size, person)
