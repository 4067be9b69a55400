"""Video benchmarks (figures, not tests): decoding, single-person detection, video -> BVH, two people.

    .venv/bin/python benchmarks/bench_video.py [--repeats 3] [--frames 300] [--threads N]

Clips: a 30 fps 1080p H.264 clip made once from the shared OpenPose example (``short_video.mp4``, 1080p 25 fps,
125 frames, played forwards and backwards to ``--frames`` frames and re-timed to 30 fps; kept in the temp
folder), and the shared two-person ``apart.avi`` (1080p 30 fps MPEG-4, 87 frames). Every figure is end to end:
decode, crop, inference, decoding the output (and, for video -> BVH, lifting, world placement and writing the
file); no cache. Prints a Markdown table for benchmarks/README.md, with the load average before and after (the
machine is shared).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mpm_core.video.detectors import MoveNet, MoveNetSingle, MultiPerson, YoloxPersons  # noqa: E402
from mpm_core.video.pipeline import detect_video  # noqa: E402
from mpm_core.video.reader import VideoReader  # noqa: E402

SHARED = Path(os.environ.get("MPM_SHARED_DATA") or REPO.parent / "shared" / "data")
SHORT_VIDEO = SHARED / "inputs/openpose_raga/example_1person/short_video.mp4"
APART = SHARED / "inputs/gastnet/data/video/apart.avi"
TARGET_SINGLE, TARGET_BVH, TARGET_TWO = 40.0, 30.0, 15.0


def make_clip_30fps(frames: int) -> Path:
    """The OpenPose example re-timed to 30 fps, ping-ponged to ``frames`` frames (made once, cached in /tmp)."""
    import av

    path = Path(tempfile.gettempdir()) / f"mpm_bench_1080p30_{frames}.mp4"
    if path.is_file():
        return path
    with VideoReader(SHORT_VIDEO) as r:
        src = [img.copy() for _, img in r.frames()]
    order = list(range(len(src))) + list(range(len(src) - 2, 0, -1))
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(30, 1))
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        stream.codec_context.options = {"preset": "veryfast", "crf": "20"}
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(src[order[i % len(order)]], format="bgr24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    os.replace(tmp, path)
    return path


def timed(fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


def rate(frames: int, times: list[float]) -> str:
    fps = [frames / t for t in times]
    return f"median {statistics.median(fps):.1f}, best {max(fps):.1f} frames/s"


def decode_opencv(path: Path) -> int:
    import cv2

    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def decode_pyav(path: Path) -> int:
    with VideoReader(path) as r:
        return sum(1 for _ in r.frames())


def video_to_bvh(path: Path, movenet: MoveNet, engine, out: Path) -> None:
    from mpm_core.engine.masks import Mask
    from mpm_core.export import ExportOptions, build_output, write_output

    result = detect_video(path, MoveNetSingle(movenet))
    seq = result.person().to_h36m()
    recon = engine.lift(seq, Mask.from_sequence(seq))
    options = ExportOptions(coords="world", model_name=recon.model_name)
    built = build_output(recon, options)
    write_output(out, built.sequence, built.hidden, options, contacts=built.contacts, notes=built.notes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--frames", type=int, default=300, help="frames of the 30 fps 1080p clip")
    ap.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads per model (default 1)")
    args = ap.parse_args()

    load_before = os.getloadavg()
    clip = make_clip_30fps(args.frames)
    movenet, yolox = MoveNet(threads=args.threads), YoloxPersons(threads=args.threads)
    with VideoReader(clip) as r:
        n_clip = r.num_frames
    with VideoReader(APART) as r:
        n_apart = r.num_frames
    rows: list[tuple[str, str, str]] = []

    # warm up the sessions (first runs allocate)
    detect_video(APART, MultiPerson(movenet, yolox), (0, 5))

    rows.append(("decode 1080p H.264, PyAV (the reader)", rate(n_clip, timed(lambda: decode_pyav(clip), 2)), ""))
    rows.append(("decode 1080p H.264, OpenCV VideoCapture", rate(n_clip, timed(lambda: decode_opencv(clip), 2)), ""))

    t = timed(lambda: detect_video(clip, MoveNetSingle(movenet)), args.repeats)
    fps = statistics.median(n_clip / x for x in t)
    rows.append(
        (
            f"single person, 1080p30 clip ({n_clip} frames), end to end",
            rate(n_clip, t),
            f"≥ {TARGET_SINGLE:g}: {'met' if fps >= TARGET_SINGLE else '**missed**'}",
        )
    )

    from mpm_core.engine.lifter import LiftingEngine

    engine = LiftingEngine(None, device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "motion.bvh"
        t = timed(lambda: video_to_bvh(clip, movenet, engine, out), args.repeats)
    fps = statistics.median(n_clip / x for x in t)
    rows.append(
        (
            f"video -> BVH, 1080p30 clip ({n_clip} frames = {n_clip / 30:.0f} s): detect + lift + world + write",
            rate(n_clip, t) + f" ({statistics.median(t):.1f} s)",
            f"≥ {TARGET_BVH:g} (real time): {'met' if fps >= TARGET_BVH else '**missed**'}",
        )
    )

    for every in (5, 1):
        t = timed(lambda e=every: detect_video(APART, MultiPerson(movenet, yolox, detect_every=e)), args.repeats)
        fps = statistics.median(n_apart / x for x in t)
        target = f"≥ {TARGET_TWO:g}: {'met' if fps >= TARGET_TWO else '**missed**'}" if every == 5 else ""
        label = "default" if every == 5 else "every frame"
        rows.append(
            (
                f"two people, apart.avi 1080p30 ({n_apart} frames), YOLOX every {every} ({label})",
                rate(n_apart, t),
                target,
            )
        )

    load_after = os.getloadavg()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; ONNX Runtime threads: "
        f"{movenet.session.get_session_options().intra_op_num_threads}; repeats {args.repeats}"
    )
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")
    print()
    print("| measure | value | target |")
    print("|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} |")


if __name__ == "__main__":
    main()
