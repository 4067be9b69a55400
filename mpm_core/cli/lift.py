"""``mpm-studio-cli lift`` (2D file -> 3D file) and ``mpm-studio-cli complete`` (3D with gaps -> filled 3D).

INPUT is a file or an OpenPose folder; a folder of several inputs processes each (OpenPose folders inside count
as one sequence each) and OUTPUT is then a folder mirroring the input tree. The output type follows OUTPUT's
extension (``--format`` for folders). Bad input exits 2 with one line on stderr; an input that fails inside a
folder run is reported and the others are still written.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from mpm_core.engine.masks import Mask, apply_mask_specs, parse_mask_spec
from mpm_core.errors import PoseDataError, check_fps
from mpm_core.export.bvh_presets import BVH_PRESETS
from mpm_core.export.pipeline import OUTPUT_SUFFIXES as OUTPUT_EXTENSIONS

#: 2D file types looked at inside an input folder (others, e.g. videos, are skipped).
INPUT_EXTENSIONS_2D = (".json", ".csv", ".npz", ".npy")
#: 3D file types looked at inside an input folder for ``complete``.
INPUT_EXTENSIONS_3D = (".csv", ".npz", ".bvh", ".gz", ".amc")
#: Field of view bounds for ``--fov`` (degrees, exclusive).
FOV_RANGE = (0.0, 180.0)
SMOOTHERS = ("none", "one_euro", "lowpass")


# -- argument checks -----------------------------------------------------------------------------------------------
def _fail(flag: str, problem: str) -> PoseDataError:
    return PoseDataError(problem, where=flag)


def _check_output_ext(ext: str, flag: str = "OUTPUT") -> str:
    ext = ext.lower() if ext.startswith(".") else "." + ext.lower()
    if ext not in OUTPUT_EXTENSIONS:
        raise _fail(flag, f"unsupported output type {ext!r}; use one of {', '.join(OUTPUT_EXTENSIONS)}")
    return ext


def _check_args(args: argparse.Namespace) -> None:
    """Validate flag values before any work, each error naming its flag."""
    if getattr(args, "fps", None) is not None:
        args.fps = check_fps(args.fps, where="--fps")
    size = getattr(args, "image_size", None)
    if size is not None and (size[0] <= 0 or size[1] <= 0):
        raise _fail("--image-size", f"image size {size[0]} x {size[1]} must be positive")
    below = getattr(args, "mask_below", None)
    if below is not None and not (0.0 <= below <= 1.0):
        raise _fail("--mask-below", f"confidence threshold {below} is not in [0, 1]")
    for spec in args.mask or ():
        parse_mask_spec(spec)
    cutoff = getattr(args, "smooth_cutoff", None)
    if cutoff is not None and not (math.isfinite(cutoff) and cutoff > 0):
        raise _fail("--smooth-cutoff", f"cutoff {cutoff} Hz must be a positive number")
    height = getattr(args, "height", None)
    if height is not None:
        from mpm_core.engine.stature import check_height

        args.height = check_height(height, where="--height")
    out_fps = getattr(args, "output_fps", None)
    if out_fps is not None:
        args.output_fps = check_fps(out_fps, where="--output-fps")
    fov = getattr(args, "fov", None)
    if fov is not None and not (FOV_RANGE[0] < fov < FOV_RANGE[1]):
        raise _fail("--fov", f"field of view {fov} degrees is not in ({FOV_RANGE[0]:g}, {FOV_RANGE[1]:g})")
    if args.batch_size < 1:
        raise _fail("--batch-size", f"batch size {args.batch_size} must be >= 1")
    if args.threads is not None and args.threads < 1:
        raise _fail("--threads", f"thread count {args.threads} must be >= 1")
    person = getattr(args, "person", "longest")
    if person != "longest":
        try:
            args.person = int(person)
        except ValueError:
            raise _fail("--person", f"person {person!r} is not a track id or 'longest'") from None
        if args.person < 0:
            raise _fail("--person", f"person id {person} must be >= 0")
    if args.format is not None:
        args.format = _check_output_ext(args.format, "--format")
    if args.model is not None:
        from mpm_core.model.checkpoint import resolve_model

        try:  # a registered name (mpm_h36m17, ...) or a checkpoint path
            args.model = str(resolve_model(args.model))
        except PoseDataError as exc:
            raise _fail("--model", exc.problem if exc.path is None else f"{exc.path}: {exc.problem}") from None


# -- inputs --------------------------------------------------------------------------------------------------------
@dataclass
class _Job:
    source: Path  # a file or an OpenPose folder
    output: Path


def _is_openpose_folder(folder: Path) -> bool:
    """A folder whose JSON files are OpenPose per-frame files (judged by the first and the last, which keeps a
    folder of assorted JSON results, e.g. one OpenPose file beside AlphaPose ones, a folder of inputs)."""
    from mpm_core.io.detect import detect_format

    jsons = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".json")
    if not jsons:
        return False
    try:
        return detect_format(jsons[0]) == "openpose" and detect_format(jsons[-1]) == "openpose"
    except PoseDataError:
        return False


def _wanted(path: Path, three_d: bool) -> bool:
    from mpm_core.io.detect import detect_format, is_3d_format

    name = path.name.lower()
    exts = INPUT_EXTENSIONS_3D if three_d else INPUT_EXTENSIONS_2D
    if not name.endswith(exts) or name.startswith("."):
        return False
    try:
        return is_3d_format(detect_format(path)) == three_d
    except PoseDataError:
        return False  # not a pose file of a known kind: skipped, like a video


def _collect(folder: Path, out_root: Path, ext: str, three_d: bool) -> list[_Job]:
    """Every input inside ``folder`` (sorted), each with its output path under ``out_root`` (same tree)."""
    sources: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        here = Path(root)
        if not three_d and here != folder and _is_openpose_folder(here):
            sources.append(here)
            dirs.clear()  # an OpenPose folder is one sequence
            continue
        sources.extend(here / f for f in sorted(files) if _wanted(here / f, three_d))
    jobs = []
    stems: dict[Path, int] = {}
    for src in sources:
        key = src.parent / _stem(src)
        stems[key] = stems.get(key, 0) + 1
    for src in sources:
        rel = src.relative_to(folder)
        # Two inputs with one stem in one folder (a.json, a.csv) keep their own extension in the name.
        name = _stem(src) if stems[src.parent / _stem(src)] == 1 else src.name
        jobs.append(_Job(src, out_root / rel.parent / (name + ext)))
    return jobs


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".bvh.gz", ".gz"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem if path.is_file() else name


def _plan(args: argparse.Namespace, three_d: bool) -> tuple[list[_Job], bool]:
    """``(jobs, batch)``: one job for a file or OpenPose folder, else one per input inside the folder."""
    source, output = Path(args.input), Path(args.output)
    if not source.exists():
        raise PoseDataError("no such file or folder", source)
    if not source.is_dir():
        from mpm_core.io.limits import check_regular_file

        check_regular_file(source)  # a FIFO or device: refused at once, never opened
    single = source.is_file() or (not three_d and _is_openpose_folder(source))
    if single:
        if not output.suffix:
            raise _fail("OUTPUT", f"{output} has no extension; use one of {', '.join(OUTPUT_EXTENSIONS)}")
        _check_output_ext(output.suffix)
        return [_Job(source, output)], False
    if output.exists() and not output.is_dir():
        raise _fail("OUTPUT", f"{output} is a file; a folder input needs a folder output")
    jobs = _collect(source, output, args.format or ".npz", three_d)
    if not jobs:
        kind = "3D" if three_d else "2D"
        raise PoseDataError(f"no {kind} pose files found in the folder", source)
    return jobs, True


# -- commands ------------------------------------------------------------------------------------------------------
def _engine(args: argparse.Namespace):
    from mpm_core.engine.lifter import LiftingEngine

    return LiftingEngine(args.model, device=args.device, batch_size=args.batch_size, threads=args.threads)


def _export_options(args: argparse.Namespace, coords: str, model_name: str):
    from mpm_core.export import ExportOptions

    return ExportOptions(
        coords=coords,
        bone_normalize=getattr(args, "bone_normalize", None),
        smooth=None if getattr(args, "smooth", "none") == "none" else args.smooth,
        smooth_cutoff_hz=getattr(args, "smooth_cutoff", None) or ExportOptions.smooth_cutoff_hz,
        units=args.units,
        up_axis=args.up,
        fov_deg=getattr(args, "fov", None),
        csv_long=args.csv_long,
        model_name=model_name,
        height_m=getattr(args, "height", None),
        foot_locking=getattr(args, "foot_lock", None),
        root_motion="in_place" if getattr(args, "in_place", False) else "travel",
        face_z=getattr(args, "face_z", False),
        output_fps=getattr(args, "output_fps", None),
        bvh_preset=getattr(args, "bvh_preset", "h36m"),
    )


def _write(path: Path, seq3d, hidden, options, contacts=None, notes=None) -> None:
    from mpm_core.export import write_output

    try:
        write_output(path, seq3d, hidden, options, contacts=contacts, notes=notes)
    except OSError as exc:
        raise PoseDataError(f"cannot write: {exc.strerror or exc}", path) from None


def _lift_one(engine, job: _Job, args: argparse.Namespace, progress) -> None:
    from mpm_core.export import build_output
    from mpm_core.io import read_2d

    size = tuple(args.image_size) if args.image_size else None
    if job.source.is_file() and _is_video(job.source):
        seq = _detect_video(job.source, args).to_h36m()
    else:
        seq = read_2d(job.source, layout=args.layout, fps=args.fps, image_size=size, person=args.person).to_h36m()
    mask = _with_specs(Mask.from_sequence(seq, args.mask_below), args.mask, job.source)
    recon = engine.lift(seq, mask, progress=progress, flip=args.flip)
    options = _export_options(args, args.coords, recon.model_name)
    out = build_output(recon, options)
    _write(job.output, out.sequence, out.hidden, options, out.contacts, out.notes)


def _is_video(path: Path) -> bool:
    from mpm_core.video.reader import is_video_path

    return is_video_path(path)


def _detect_video(video: Path, args: argparse.Namespace):
    """A video's 2D keypoints (detected, or from the detection cache), with its fps and image size."""
    from mpm_core.cli.detect import run_detection

    people = 1 if args.person == "longest" else None  # a track id asks for every person
    seq = run_detection(args, video, people, quiet=args.quiet).person(args.person)
    return seq.replace(fps=args.fps) if args.fps else seq


def _complete_one(engine, job: _Job, args: argparse.Namespace, progress) -> None:
    from mpm_core.io import read_3d

    seq = read_3d(job.source, fps=args.fps).to_h36m()
    user = _with_specs(Mask.empty(seq.num_frames), args.mask, job.source).user
    completed, filled = engine.complete(seq, hidden=user, progress=progress)
    options = _export_options(args, completed.coords, engine.model_name)
    _write(job.output, completed, filled, options)


def _with_specs(mask: Mask, specs: list[str] | None, source: Path) -> Mask:
    try:
        return apply_mask_specs(mask, specs or ())
    except PoseDataError as exc:
        raise PoseDataError(exc.problem, source, exc.where) from None


def _run(args: argparse.Namespace, three_d: bool) -> int:
    from tqdm import tqdm

    _check_args(args)
    jobs, batch = _plan(args, three_d)
    engine = _engine(args)
    work = _complete_one if three_d else _lift_one
    disable = True if args.quiet else None  # None: tqdm shows the bar only on a terminal
    if not batch:
        with tqdm(desc=jobs[0].source.name, unit="window", file=sys.stderr, disable=disable) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            work(engine, jobs[0], args, progress)
        return 0
    failures = 0
    with tqdm(total=len(jobs), unit="file", file=sys.stderr, disable=disable) as bar:
        for job in jobs:
            bar.set_postfix_str(job.source.name, refresh=False)
            try:
                work(engine, job, args, None)
            except PoseDataError as exc:
                failures += 1
                bar.write(f"mpm-studio-cli {args.command}: error: {exc}", file=sys.stderr)
            bar.update(1)
    if failures:
        print(
            f"mpm-studio-cli {args.command}: {failures} of {len(jobs)} inputs failed; the others were written",
            file=sys.stderr,
        )
        return 2
    return 0


def _cmd_lift(args: argparse.Namespace) -> int:
    return _run(args, three_d=False)


def _cmd_complete(args: argparse.Namespace) -> int:
    return _run(args, three_d=True)


# -- parsers -------------------------------------------------------------------------------------------------------
def _image_size(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"image size {text!r} is not an integer") from None


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", required=True, help="output file (.csv .npz .json .bvh) or folder")
    p.add_argument(
        "--mask",
        action="append",
        metavar="JOINT:START-END",
        help="hide JOINT (name, group such as left_arm, or all) in rows START..END (0-based, END inclusive; "
        "START- runs to the end); repeatable",
    )
    p.add_argument("--format", metavar="EXT", help="output type for a folder input (csv, npz, json, bvh; default npz)")
    p.add_argument("--units", choices=("cm", "m"), help="output units (default: cm for BVH, m otherwise)")
    p.add_argument("--up", choices=("y", "z"), default="y", help="BVH up axis (default y)")
    p.add_argument(
        "--bvh-preset",
        choices=BVH_PRESETS,
        default="h36m",
        help="BVH joint names and rest pose: h36m (default), mixamo (mixamorig: names) or metarig (Blender)",
    )
    p.add_argument("--csv-long", action="store_true", help="CSV in long form (one row per frame and joint)")
    p.add_argument(
        "--model", metavar="NAME|PATH", help="registered model name or checkpoint path (default: the shipped model)"
    )
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")
    p.add_argument("--batch-size", type=int, default=64, metavar="N", help="windows per network call (default 64)")
    p.add_argument("--threads", type=int, metavar="N", help="CPU threads for the network (default: all cores)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def register(subparsers) -> None:
    lift = subparsers.add_parser(
        "lift",
        help="lift a 2D pose file to 3D",
        description="Lift 2D keypoints (any supported format, or an OpenPose folder) to 3D. A folder of inputs "
        "writes one output per input into the OUTPUT folder.",
    )
    lift.add_argument("input", metavar="INPUT", help="2D keypoint file, OpenPose folder, a folder of them, or a video")
    lift.add_argument("--layout", help="input skeleton layout when the file does not say (e.g. coco17, body25)")
    lift.add_argument("--fps", type=float, help="frames per second (overrides the file)")
    lift.add_argument("--image-size", nargs=2, type=_image_size, metavar=("W", "H"), help="image size in pixels")
    lift.add_argument("--person", default="longest", metavar="ID|longest", help="which person track to lift")
    lift.add_argument(
        "--mask-below",
        type=float,
        metavar="S",
        help="hide joints whose confidence is below S (0-1; default: the engine's measured threshold)",
    )
    lift.add_argument(
        "--coords",
        choices=("camera", "world"),
        default="world",
        help="camera: root-relative camera frame (pelvis at origin, x right, y down, z forward, metres); "
        "world: y up with the estimated trajectory (default)",
    )
    lift.add_argument(
        "--bone-normalize",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="constant, left/right symmetric bone lengths (default: on for world output, off for camera)",
    )
    lift.add_argument("--smooth", choices=SMOOTHERS, default="none", help="temporal smoothing of the 3D output")
    lift.add_argument("--smooth-cutoff", type=float, metavar="HZ", help="smoothing cutoff in Hz")
    lift.add_argument("--fov", type=float, metavar="DEG", help="camera horizontal field of view for the trajectory")
    lift.add_argument(
        "--height",
        type=float,
        metavar="METRES",
        help="the performer's stature (sole to head top): the 3D and the trajectory are scaled to it",
    )
    lift.add_argument(
        "--output-fps",
        type=float,
        metavar="HZ",
        help="resample the output to this frame rate (--fps sets the input's rate)",
    )
    lift.add_argument(
        "--foot-lock",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="hold planted feet on the floor with leg IK (default: on for world output)",
    )
    lift.add_argument("--in-place", action="store_true", help="keep the root above the origin (no travel)")
    lift.add_argument(
        "--flip",
        action="store_true",
        help="test-time flip averaging: also lift the mirrored input and average (twice the network time)",
    )
    lift.add_argument("--face-z", action="store_true", help="turn the world so the performer starts facing +Z")
    _common(lift)
    from mpm_core.cli.detect import add_detector_arguments

    add_detector_arguments(lift.add_argument_group("video input"), with_people=False)
    lift.set_defaults(func=_cmd_lift)

    complete = subparsers.add_parser(
        "complete",
        help="fill missing joints of a 3D pose file",
        description="Fill the missing joints (empty cells) of a 3D file, and any --mask ranges, with the model.",
    )
    complete.add_argument("input", metavar="INPUT3D", help="3D file (.csv .npz .bvh .amc) or a folder of them")
    complete.add_argument("--fps", type=float, help="frames per second (overrides the file)")
    _common(complete)
    complete.set_defaults(func=_cmd_complete)
