"""``mpm-studio-cli info FILE``: what a pose file or OpenPose folder holds.

Prints the format, layout, frame count, fps and where it came from, image size, the person tracks (count and
each one's frame span) and, per joint, the share of frames in which it is missing (for one person: ``--person``,
default the longest track). Works for 2D and 3D files.
"""

from __future__ import annotations

import argparse
import os

from mpm_core.errors import PoseDataError
from mpm_core.io import detect_format, load_2d, load_3d
from mpm_core.io.detect import FORMATS, is_3d_format
from mpm_core.sequence import PoseSequence
from mpm_core.tracking import select_track

#: Tracks listed one by one; the rest are summarised in one line.
MAX_TRACKS_LISTED = 20


def register(subparsers) -> None:
    p = subparsers.add_parser("info", help="describe a pose file or OpenPose folder", description=__doc__)
    p.add_argument("file", metavar="FILE", help="pose file (.json .csv .npz .npy .bvh .bvh.gz .amc) or OpenPose folder")
    p.add_argument("--layout", help="layout of the file when it cannot be told from the file (e.g. coco17)")
    p.add_argument("--fps", type=float, help="frame rate (overrides the file)")
    p.add_argument("--image-size", type=int, nargs=2, metavar=("W", "H"), help="video size in pixels")
    p.add_argument("--person", default="longest", help="track for the missing-joint table: id or 'longest'")
    p.set_defaults(func=run)


def _missing_table(seq: PoseSequence) -> list[str]:
    names = seq.layout_info.joint_names
    share = seq.missing_share()
    width = max(len(n) for n in names)
    lines = [f"  {'joint'.ljust(width)}  missing"]
    lines += [f"  {n.ljust(width)}  {100 * s:6.1f} %" for n, s in zip(names, share)]
    return lines


def describe(path: str, layout: str | None = None, fps: float | None = None, image_size=None, person="longest") -> str:
    """The text ``info`` prints."""
    from mpm_core.video.reader import is_video_path

    if is_video_path(path) and os.path.isfile(path):
        from mpm_core.cli.detect import describe_video

        return describe_video(path)
    fmt = detect_format(path)
    out = [f"file:        {path}", f"format:      {FORMATS[fmt]}"]
    if is_3d_format(fmt):
        loaded = load_3d(path, layout, fps)
        seq = loaded.sequence
        out += [
            f"layout:      {seq.layout} ({seq.num_joints} joints)",
            f"frames:      {seq.num_frames} (frame {seq.start_frame} to {seq.start_frame + seq.num_frames - 1})",
            f"fps:         {seq.fps:g} (from {loaded.fps_source})",
            f"duration:    {seq.num_frames / seq.fps:.2f} s",
            f"coordinates: {seq.coords}, {seq.units}",
            "people:      1",
            "missing joints:",
        ]
        return "\n".join(out + _missing_table(seq))
    loaded = load_2d(path, layout, fps, tuple(image_size) if image_size else None)
    tracks = loaded.tracks
    first, last = loaded.frames[0], loaded.frames[-1]
    size = f"{loaded.image_size[0]}x{loaded.image_size[1]}" if loaded.image_size else "unknown"
    ids = "track ids from the file" if loaded.tracked_by_file else "tracked by position"
    out += [
        f"layout:      {loaded.layout} ({tracks[0].num_joints} joints)",
        f"frames:      {last - first + 1} (frame {first} to {last}; {len(loaded.frames)} in the file)",
        f"fps:         {loaded.fps:g} (from {loaded.fps_source})",
        f"image size:  {size} (from {loaded.image_size_source})",
        f"detections:  {loaded.num_detections}",
        f"people:      {len(tracks)} track(s), {ids}",
    ]
    by_length = sorted(tracks, key=lambda t: (-int(t.visible.any(axis=1).sum()), t.person_id))
    for t in by_length[:MAX_TRACKS_LISTED]:
        seen = int(t.visible.any(axis=1).sum())
        out.append(
            f"  person {t.person_id}: frames {t.start_frame}-{t.start_frame + t.num_frames - 1}"
            f" ({t.num_frames} frames, seen in {seen})"
        )
    if len(tracks) > MAX_TRACKS_LISTED:
        out.append(f"  ... and {len(tracks) - MAX_TRACKS_LISTED} shorter tracks")
    try:
        chosen = select_track(tracks, person)
    except PoseDataError as exc:
        raise PoseDataError(exc.problem, path, "--person") from None
    out.append(f"missing joints (person {chosen.person_id}):")
    return "\n".join(out + _missing_table(chosen))


def run(args: argparse.Namespace) -> int:
    print(describe(args.file, args.layout, args.fps, args.image_size, args.person))
    return 0
