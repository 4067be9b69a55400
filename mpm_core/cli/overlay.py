"""``mpm-studio-cli overlay VIDEO KEYPOINTS -o OUT.mp4``: the video with the skeletons drawn over it.

KEYPOINTS is any 2D keypoint file the project reads (every person track in it is drawn), or ``detect`` to run the
detector (cached) first. Frame numbers of the keypoints are video frame numbers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mpm_core.errors import PoseDataError


def _run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from mpm_core.video.overlay import render_overlay
    from mpm_core.video.pipeline import parse_range
    from mpm_core.video.reader import probe

    video, output = Path(args.video), Path(args.output)
    if output.suffix.lower() not in (".mp4", ".mov", ".mkv", ".avi"):
        raise PoseDataError(f"unsupported output type {output.suffix!r}; use .mp4", where="--output")
    info = probe(video)
    if args.keypoints == "detect":
        from mpm_core.cli.detect import run_detection

        tracks = run_detection(args, video, args.people, args.quiet).tracks
    else:
        from mpm_core.io import read_2d_tracks

        tracks = read_2d_tracks(args.keypoints, fps=info.fps, image_size=info.image_size)
    rng = parse_range(args.range, info.num_frames, video)
    disable = True if args.quiet else None
    with tqdm(total=rng[1] - rng[0], desc=output.name, unit="frame", file=sys.stderr, disable=disable) as bar:
        render_overlay(video, tracks, output, rng, progress=lambda done, total: bar.update(done - bar.n))
    if not args.quiet:
        print(f"wrote {output} ({len(tracks)} person track(s), frames {rng[0]}-{rng[1] - 1})", file=sys.stderr)
    return 0


def register(subparsers) -> None:
    from mpm_core.cli.detect import add_detector_arguments

    p = subparsers.add_parser("overlay", help="draw skeletons over a video", description=__doc__)
    p.add_argument("video", metavar="VIDEO", help="video file")
    p.add_argument("keypoints", metavar="KEYPOINTS", help="2D keypoint file, or 'detect' to detect first")
    p.add_argument("-o", "--output", required=True, metavar="OUT.mp4", help="output video")
    add_detector_arguments(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=_run)
