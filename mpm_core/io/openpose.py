"""OpenPose ``--write_json`` output: a folder of per-frame files ``<name>_<frame:012d>_keypoints.json``, or one file.

Each file is ``{"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": [x0, y0, c0, ...], ...}]}``
(OpenPose < 1.2 writes ``pose_keypoints``). A joint with confidence 0 is missing (OpenPose writes x=y=c=0).
Frame numbers come from the file names; numbers absent from the folder are missing frames. ``person_id`` is
[-1] unless OpenPose ran with tracking; only then are the ids used as track ids.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mpm_core.errors import PoseDataError
from mpm_core.io.common import Detection, RawPoses, frame_number_from_name, keypoint_triples, load_json, resolve_layout

#: Layouts OpenPose writes, by joints per person (BODY_25 default, COCO-18 with --model_pose COCO).
OPENPOSE_LAYOUTS = {25: "body25", 18: "coco18"}
#: Person ids at or above this are not track ids (a corrupt file; the people are tracked by position instead).
MAX_TRACK_ID = 2**31
_KEYPOINT_KEYS = ("pose_keypoints_2d", "pose_keypoints")


def list_frame_files(folder: str | os.PathLike) -> list[tuple[int, Path]]:
    """``(frame number, file)`` for every ``.json`` in ``folder``, sorted; empty folder or duplicates raise."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".json" and p.is_file())
    if not files:
        raise PoseDataError("folder has no .json files", folder)
    numbered = []
    seen: dict[int, Path] = {}
    for p in files:
        stem = p.name[: -len(".json")]
        if stem.endswith("_keypoints"):
            stem = stem[: -len("_keypoints")]
        frame = frame_number_from_name(stem, folder, p.name)
        if frame in seen:
            raise PoseDataError(
                f"duplicate frame number {frame} ({seen[frame].name} and {p.name}); files of two videos?", folder
            )
        seen[frame] = p
        numbered.append((frame, p))
    numbered.sort()
    return numbered


def _people(data, path: Path) -> list:
    if not isinstance(data, dict) or "people" not in data:
        raise PoseDataError("not an OpenPose file: no 'people' key", path)
    people = data["people"]
    if not isinstance(people, list):
        raise PoseDataError(f"'people' is a {type(people).__name__}, expected a list", path, "key 'people'")
    return people


def parse_frame(
    data, path: Path, layout: str | None, expected_count: int | None
) -> tuple[list[Detection], int | None, bool]:
    """Detections of one OpenPose file; returns (detections, joints per person or None, all ids real)."""
    people = _people(data, path)
    detections = []
    count = expected_count
    tracked = True
    for i, person in enumerate(people):
        where = f"people[{i}]"
        if not isinstance(person, dict):
            raise PoseDataError(f"a person is a {type(person).__name__}, expected an object", path, where)
        key = next((k for k in _KEYPOINT_KEYS if k in person), None)
        if key is None:
            raise PoseDataError("no 'pose_keypoints_2d'", path, where)
        arr = keypoint_triples(person[key], path, f"{where}.{key}")
        joints = len(arr)
        if count is None:
            count = joints
            if layout is None and joints not in OPENPOSE_LAYOUTS:
                raise PoseDataError(
                    f"{joints} joints (from {3 * joints} values) is neither BODY_25 (75 values) nor COCO-18 (54)",
                    path,
                    f"{where}.{key}",
                )
        elif joints != count:
            raise PoseDataError(
                f"mixed layouts: {joints} joints here, {count} joints in earlier people/frames", path, f"{where}.{key}"
            )
        conf = arr[:, 2]
        visible = np.isfinite(arr).all(axis=1) & (conf > 0)
        kp = np.where(visible[:, None], arr[:, :2], 0.0)
        track = _track_id(person.get("person_id"))
        tracked &= track is not None
        detections.append(Detection(kp, np.where(visible, conf, 0.0), visible, None, track))
    return detections, count, tracked


def _track_id(value) -> int | None:
    """OpenPose writes person_id as [-1] (untracked) or [id] with --tracking."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value < MAX_TRACK_ID else None
    if isinstance(value, float) and value.is_integer() and 0 <= value < MAX_TRACK_ID:
        return int(value)
    return None


def read_openpose(path: str | os.PathLike, layout: str | None = None) -> RawPoses:
    """Read an OpenPose JSON folder or single file into per-frame detections (file's layout)."""
    path = Path(path)
    if path.is_dir():
        files = list_frame_files(path)
    else:
        stem = path.name.rsplit(".", 1)[0].removesuffix("_keypoints")
        try:
            frame = frame_number_from_name(stem, path, "file name")
        except PoseDataError:
            frame = 0  # a lone file with no number in its name is frame 0
        files = [(frame, path)]
    detections: dict[int, list[Detection]] = {}
    count = None
    tracked = True
    for frame, file in files:
        dets, count, frame_tracked = parse_frame(load_json(file), file, layout, count)
        tracked &= frame_tracked
        detections[frame] = dets
    if count is None:
        raise PoseDataError("no person in any frame", path)
    name = resolve_layout(count, layout, path, default=None if layout else OPENPOSE_LAYOUTS.get(count))
    if tracked:
        _check_unique_ids(detections, path)
    else:
        for dets in detections.values():
            for d in dets:
                d.track_id = None
    return RawPoses(
        layout=name,
        frames=[f for f, _ in files],
        detections=detections,
        tracked=tracked,
        format="openpose",
    )


def _check_unique_ids(detections: dict[int, list[Detection]], path: Path) -> None:
    for frame, dets in detections.items():
        ids = [d.track_id for d in dets]
        if len(ids) != len(set(ids)):
            raise PoseDataError(f"person_id repeated within one frame: {ids}", path, f"frame {frame}")
