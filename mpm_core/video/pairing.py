"""Pairing a video with a keypoint file made from it (the app opens that instead of detecting again)."""

from __future__ import annotations

import os
from pathlib import Path

from mpm_core.errors import PoseDataError

#: File endings tried after the video's stem, in order (canonical files first).
KEYPOINT_SUFFIXES = (".npz", ".csv", ".json")
#: Folder names of OpenPose per-frame JSON beside a video; ``{stem}`` is the video's name without extension.
OPENPOSE_FOLDERS = ("{stem}_json", "{stem}_keypoints", "{stem}", "output_json", "json")


def keypoints_beside(video: str | os.PathLike) -> Path | None:
    """A 2D keypoint file or OpenPose folder beside ``video`` that was probably made from it, or None.

    Tried in order: ``<stem>.npz|.csv|.json``, ``<name>.npz|.csv|.json`` (``clip.mp4.csv``), then the OpenPose
    folders of ``OPENPOSE_FOLDERS``. Only files whose format is a 2D keypoint format count.
    """
    from mpm_core.io.detect import detect_format, is_3d_format

    video = Path(video)
    candidates = [video.with_suffix(s) for s in KEYPOINT_SUFFIXES]
    candidates += [video.with_name(video.name + s) for s in KEYPOINT_SUFFIXES]
    candidates += [video.parent / f.format(stem=video.stem) for f in OPENPOSE_FOLDERS]
    for path in candidates:
        if not path.exists() or path == video:
            continue
        try:
            if not is_3d_format(detect_format(path)):
                return path
        except PoseDataError:
            continue
    return None
