"""``mpm-studio-cli detect VIDEO -o KEYPOINTS``: 2D keypoints from a video, on the CPU, offline.

One person (default): MoveNet SinglePose Lightning on a crop that follows the body. ``--people N|all``: YOLOX-nano
person boxes every ``--detect-every`` frames plus MoveNet per person, linked into tracks; one file per person,
``<out>.person<ID>.<ext>``. Output: canonical 2D CSV or NPZ (COCO-17 pixels, the video's fps and image size).
Results are cached by the video's content and the detector (beside the video, or the user cache folder when
that folder is read-only), so a second run is instant. Ctrl-C cancels.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mpm_core.errors import PoseDataError

OUTPUT_SUFFIXES_2D = (".csv", ".npz")


def _people(text: str) -> int | None:
    if text.strip().lower() == "all":
        return None
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--people {text!r} is not a number or 'all'") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"--people {n} must be >= 1")
    return n


def add_detector_arguments(p: argparse.ArgumentParser, with_people: bool = True) -> None:
    """Detector flags shared by ``detect`` and ``lift VIDEO``."""
    if with_people:
        p.add_argument("--people", type=_people, default=1, metavar="N|all", help="people to detect (default 1; 'all')")
    p.add_argument(
        "--detector",
        choices=("auto", "movenet", "multi"),
        default="auto",
        help="movenet: one person, crop following the body; multi: YOLOX-nano boxes + MoveNet per person "
        "(auto: movenet for one person, multi for several)",
    )
    p.add_argument("--detect-every", type=int, default=5, metavar="N", help="multi: person boxes every N frames")
    p.add_argument("--detector-model", metavar="PATH", help="pose model file (default: shipped MoveNet)")
    p.add_argument("--person-detector-model", metavar="PATH", help="person box model (default: shipped YOLOX)")
    p.add_argument("--range", metavar="A-B", help="video frames A to B (0-based, B inclusive; 'A-' to the end)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the detection cache")
    p.add_argument("--detector-threads", type=int, metavar="N", help="ONNX Runtime threads per model (default 1)")


def build_detector(args: argparse.Namespace, people: int | None):
    """The ``FrameDetector`` the flags ask for."""
    from mpm_core.video.detectors import MoveNetSingle, MultiPerson
    from mpm_core.video.models import find_model, verify_model

    if args.detect_every < 1:
        raise PoseDataError(f"{args.detect_every} must be >= 1", where="--detect-every")
    threads = args.detector_threads
    if threads is not None and threads < 1:
        raise PoseDataError(f"thread count {threads} must be >= 1", where="--detector-threads")
    pose_model = person_model = None
    if args.detector_model:
        pose_model = find_model(args.detector_model)
        verify_model(pose_model, "pose")
    if args.person_detector_model:
        person_model = find_model(args.person_detector_model)
        verify_model(person_model, "person")
    kind = args.detector
    if kind == "auto":
        kind = "movenet" if people == 1 else "multi"
    if kind == "movenet":
        if people != 1:
            raise PoseDataError("the movenet detector finds one person; use --detector multi", where="--people")
        return MoveNetSingle(model=pose_model, threads=threads)
    return MultiPerson(
        detect_every=args.detect_every,
        max_people=people,
        pose_model=pose_model,
        person_model=person_model,
        threads=threads,
    )


def run_detection(args: argparse.Namespace, video: Path, people: int | None, quiet: bool = False):
    """Detect with a progress bar on stderr; the ``DetectionResult``."""
    from tqdm import tqdm

    from mpm_core.video.pipeline import detect_video_cached, parse_range
    from mpm_core.video.reader import probe

    info = probe(video)
    rng = parse_range(args.range, info.num_frames, video)
    detector = build_detector(args, people)
    with tqdm(
        total=rng[1] - rng[0], desc=video.name, unit="frame", file=sys.stderr, disable=True if quiet else None
    ) as bar:

        def progress(done: int, total: int) -> None:
            bar.update(done - bar.n)

        result = detect_video_cached(video, detector, rng, progress=progress, use_cache=not args.no_cache)
    if not quiet:
        how = "from the cache" if result.from_cache else f"{(rng[1] - rng[0]) / max(result.seconds, 1e-9):.1f} frames/s"
        print(
            f"{video.name}: {len(result.tracks)} person track(s) in frames {rng[0]}-{rng[1] - 1} ({how})",
            file=sys.stderr,
        )
        for note in result.notes:
            print(f"{video.name}: {note}", file=sys.stderr)
    return result


def describe_video(path: str | Path) -> str:
    """The text ``info VIDEO`` prints."""
    from mpm_core.video.reader import probe

    info = probe(path)
    rate = f"{info.fps:.3f}".rstrip("0").rstrip(".")
    declared = f"{info.container_fps:.3f}".rstrip("0").rstrip(".") if info.container_fps else "none"
    header = info.header_frames if info.header_frames is not None else "not declared"
    lines = [
        f"file:        {path}",
        "format:      video",
        f"codec:       {info.codec}",
        f"image size:  {info.width}x{info.height}" + (f" (rotated {info.rotation} degrees)" if info.rotation else ""),
        f"frames:      {info.num_frames} (container declares {header})",
        f"fps:         {rate} from the timestamps (container declares {declared})"
        + (", variable frame rate" if info.variable_frame_rate else ""),
        f"duration:    {info.duration_s:.2f} s",
        f"keyframes:   {info.keyframes} (longest group of pictures: {info.max_gop} frames)",
        "keypoints:   none yet; `mpm-studio-cli detect VIDEO -o OUT.csv` or `lift VIDEO -o OUT.bvh` detects them",
    ]
    return "\n".join(lines)


def output_paths(output: Path, person_ids: list[int], several: bool) -> list[Path]:
    """One path per track: ``output`` itself for one person, ``<stem>.person<ID><suffix>`` for several."""
    if not several:
        return [output]
    return [output.with_name(f"{output.stem}.person{pid}{output.suffix}") for pid in person_ids]


def _run(args: argparse.Namespace) -> int:
    from mpm_core.io.canonical import write_csv_2d, write_npz_2d

    video, output = Path(args.video), Path(args.output)
    if output.suffix.lower() not in OUTPUT_SUFFIXES_2D:
        raise PoseDataError(f"unsupported output type {output.suffix!r}; use .csv or .npz", where="OUTPUT")
    result = run_detection(args, video, args.people, args.quiet)
    if not result.tracks:
        raise PoseDataError("nobody was detected in the video", video)
    several = args.people != 1
    writer = write_csv_2d if output.suffix.lower() == ".csv" else write_npz_2d
    for track, path in zip(result.tracks, output_paths(output, [t.person_id for t in result.tracks], several)):
        try:
            writer(path, track)
        except OSError as exc:
            raise PoseDataError(f"cannot write: {exc.strerror or exc}", path) from None
        if not args.quiet:
            seen = int(track.visible.any(axis=1).sum())
            print(
                f"wrote {path} (person {track.person_id}, {track.num_frames} frames, seen in {seen})", file=sys.stderr
            )
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "detect",
        help="detect 2D keypoints in a video",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("video", metavar="VIDEO", help="video file (.mp4 .avi .mov .mkv ...)")
    p.add_argument("-o", "--output", required=True, metavar="KEYPOINTS", help="output .csv or .npz")
    add_detector_arguments(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=_run)
