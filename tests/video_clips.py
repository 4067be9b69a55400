"""Generated test clips (PyAV, libx264): each frame shows its number as text and as a bar code of bits.

The bar code (``BITS`` blocks of ``BLOCK`` pixels along the top row, white = 1) survives compression, so a test
reads the frame number back from the pixels (``read_number``).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

BITS = 11
BLOCK = 16


def frame_image(number: int, width: int, height: int) -> np.ndarray:
    """``(H, W, 3)`` uint8 BGR: a grey gradient, the number as text, its bits as blocks in the top band."""
    img = np.full((height, width, 3), 40, np.uint8)
    img[:, :, 1] = np.linspace(30, 90, width, dtype=np.uint8)[None, :]
    for bit in range(BITS):
        if number >> bit & 1:
            img[0:BLOCK, bit * BLOCK : (bit + 1) * BLOCK] = 255
    cv2.putText(img, str(number), (8, height - 12), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2)
    return img


def read_number(image: np.ndarray) -> int:
    """The frame number from the bar code of an upright ``frame_image``."""
    band = image[2 : BLOCK - 2, : BITS * BLOCK].mean(axis=(0, 2)).reshape(BITS, BLOCK).mean(axis=1)
    return int(sum(1 << b for b in range(BITS) if band[b] > 128))


def write_clip(
    path: Path,
    frames: int,
    width: int = 192,
    height: int = 96,
    fps: int = 30,
    gop: int = 50,
    rotation: int = 0,
    times_s: np.ndarray | None = None,
    codec: str = "libx264",
    faststart: bool = False,
) -> Path:
    """Write an H.264 MP4 (keyframe every ``gop`` frames, no B-frames reordering surprises kept: default x264).

    ``rotation``: display rotation tag, degrees counter-clockwise. ``times_s``: per-frame times for a
    variable-frame-rate clip (time base 1/1000 s). ``faststart``: the MP4 index at the front (so that a truncated
    file still opens and declares more frames than it holds).
    """
    import av

    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = gop
        if codec == "libx264":
            stream.codec_context.options = {"x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0"}
        if times_s is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        if rotation:
            stream.set_display_rotation(rotation)
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(frame_image(i, width, height), format="bgr24")
            if times_s is not None:
                frame.pts = int(round(times_s[i] * 1000))
                frame.time_base = Fraction(1, 1000)
            else:
                frame.pts = i
                frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path
