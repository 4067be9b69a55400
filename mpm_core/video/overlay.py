"""Skeletons drawn over video frames, and overlay videos for checking and sharing.

Colours (BGR): the person's left side blue, right side orange, the middle grey; a joint's dot is darker where its
confidence is low. Missing joints and bones to them are not drawn.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from mpm_core.errors import PoseDataError
from mpm_core.sequence import PoseSequence2D
from mpm_core.video.reader import VideoReader

LEFT_COLOUR, RIGHT_COLOUR, MIDDLE_COLOUR = (235, 140, 40), (40, 140, 255), (200, 200, 200)
#: Line width and dot radius at 1080p; scaled with the frame's height.
LINE_WIDTH_1080, DOT_RADIUS_1080 = 4, 6
#: Colours for several people's labels (cycled).
PERSON_COLOURS = ((60, 220, 60), (60, 60, 230), (230, 200, 40), (200, 60, 200), (40, 200, 220))
#: Output codec preference: H.264 when the FFmpeg build has it, else MPEG-4 part 2.
CODECS = ("libx264", "h264", "mpeg4")


def _side(name: str) -> tuple[int, int, int]:
    if name.startswith("left"):
        return LEFT_COLOUR
    if name.startswith("right"):
        return RIGHT_COLOUR
    return MIDDLE_COLOUR


def draw_pose(
    image: np.ndarray,
    keypoints: np.ndarray,
    visible: np.ndarray,
    layout: str,
    scores: np.ndarray | None = None,
    label: str | None = None,
) -> np.ndarray:
    """Draw one person's skeleton on ``image`` (BGR, modified in place and returned).

    ``keypoints`` ``(J, 2)`` pixels, ``visible`` ``(J,)``; ``layout`` names the bones (``mpm_core.skeleton``).
    """
    from mpm_core.skeleton import get_layout

    lay = get_layout(layout)
    scale = image.shape[0] / 1080.0
    width = max(1, int(round(LINE_WIDTH_1080 * scale)))
    radius = max(2, int(round(DOT_RADIUS_1080 * scale)))
    pts = np.round(keypoints).astype(np.int32)
    for parent, child in lay.bones:
        if visible[parent] and visible[child]:
            colour = _side(lay.joint_names[child])
            cv2.line(image, tuple(pts[parent]), tuple(pts[child]), colour, width, cv2.LINE_AA)
    for j in np.flatnonzero(visible):
        conf = 1.0 if scores is None else float(np.clip(scores[j], 0.0, 1.0))
        colour = tuple(int(c * (0.4 + 0.6 * conf)) for c in _side(lay.joint_names[j]))
        cv2.circle(image, tuple(pts[j]), radius, colour, -1, cv2.LINE_AA)
    if label and visible.any():
        x, y = pts[visible].min(axis=0)
        cv2.putText(image, label, (int(x), max(int(y) - 10, 20)), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 2)
    return image


def draw_frame(image: np.ndarray, tracks: list[PoseSequence2D], frame: int) -> np.ndarray:
    """Draw every track's pose at video frame ``frame`` (tracks without that frame are skipped)."""
    for t in tracks:
        row = frame - t.start_frame
        if 0 <= row < t.num_frames and t.visible[row].any():
            label = f"person {t.person_id}" if len(tracks) > 1 else None
            draw_pose(image, t.keypoints[row], t.visible[row], t.layout, t.scores[row], label)
    return image


def _open_encoder(path: Path, width: int, height: int, fps: float):
    import av

    container = av.open(os.fspath(path), "w", format="mp4" if path.suffix.lower() in (".mp4", ".m4v", ".mov") else None)
    rate = Fraction(fps).limit_denominator(1001)
    last_error: Exception | None = None
    for codec in CODECS:
        try:
            stream = container.add_stream(codec, rate=rate)
        except Exception as exc:  # codec missing from this FFmpeg build
            last_error = exc
            continue
        stream.width, stream.height, stream.pix_fmt = width - width % 2, height - height % 2, "yuv420p"
        if codec == "libx264":
            stream.codec_context.options = {"preset": "veryfast", "crf": "20"}
        return container, stream
    container.close()
    raise PoseDataError(f"no video encoder available ({last_error})", path)


def render_overlay(
    video: str | os.PathLike,
    tracks: list[PoseSequence2D],
    output: str | os.PathLike,
    frame_range: tuple[int, int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write ``output`` (MP4): the video with every track's skeleton drawn, at the video's frame rate.

    Written to a temp file beside ``output`` and renamed when complete (never a half file).
    """
    import av

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.part{output.suffix}")
    with VideoReader(video, cache_frames=1) as reader:
        info = reader.info
        start, stop = frame_range or (0, info.num_frames)
        try:
            container, stream = _open_encoder(tmp, info.width, info.height, info.fps)
            with container:
                for done, (index, image) in enumerate(reader.frames(start, stop), 1):
                    canvas = draw_frame(image.copy(), tracks, index)[: stream.height, : stream.width]
                    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(canvas), format="bgr24")
                    for packet in stream.encode(frame):
                        container.mux(packet)
                    if progress is not None:
                        progress(done, stop - start)
                for packet in stream.encode():
                    container.mux(packet)
            os.replace(tmp, output)
        except BaseException:
            if tmp.exists():
                tmp.unlink()
            raise
    return output
