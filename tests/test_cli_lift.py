"""``mpm-studio-cli lift`` / ``complete``: every real 2D input, every output type, folders, bad flags, atomic writes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mpm_core.cli import main
from mpm_core.io import load_3d, read_2d
from mpm_core.sequence import PoseSequence3D
from mpm_core.skeleton import H36M_JOINTS
from tests.engine_support import SHIPPED_MODEL, save_tiny_checkpoint, smooth_motion_3d

#: Every real 2D input under the shared inputs folder (files, and OpenPose folders as one sequence each).
REAL_INPUTS = [
    "openpose_raga/example_1person/output_json",
    "openpose_raga/example_3people/output_json",
    "alphapose/nba_multi_person/alphapose-results.json",
    "alphapose/motionbert_halpe26/alphapose-results.json",
    "alphapose/arnis_single_person/alphapose-results.json",
    "gastnet/data/keypoints/baseball.json",
    "gastnet/data/keypoints/baseball_wholebody.json",
    "videopose3d_custom/psychomugs/data_2d_custom_myvideos.npz",
    "videopose3d_custom/psychomugs/inference_output/floss_test.mp4.npz",
]
EXTENSIONS = (".csv", ".npz", ".json", ".bvh")


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> str:
    """The shipped model when it is in the repository, else a tiny random checkpoint."""
    torch.set_num_threads(1)
    if SHIPPED_MODEL.is_file():
        return str(SHIPPED_MODEL)
    return str(save_tiny_checkpoint(tmp_path_factory.mktemp("model")))


def run(capsys, *argv: str) -> tuple[int, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse rejects a flag value before main's own handling
        code = exc.code
    return code, capsys.readouterr().err


def frames_in(path: Path) -> int:
    """Number of frames an output file holds, read back by the project's readers (JSON by its schema)."""
    if path.suffix == ".json":
        return json.loads(path.read_text())["num_frames"]
    if path.suffix == ".bvh":  # read by its header: a random test network's skeleton may defeat unit detection
        text = path.read_text()
        assert text.startswith("HIERARCHY")
        line = next(x for x in text.splitlines() if x.startswith("Frames:"))
        return int(line.split()[1])
    return load_3d(path).sequence.num_frames


# -- every real input, every output type ---------------------------------------------------------------------------
@pytest.mark.parametrize("k,relpath", list(enumerate(REAL_INPUTS)))
def test_lift_every_real_input(shared_data, tmp_path, capsys, model, k, relpath):
    source = shared_data(f"inputs/{relpath}")
    ext = EXTENSIONS[k % len(EXTENSIONS)]  # spread the output types over the inputs; each is used twice or more
    out = tmp_path / f"out{ext}"
    code, err = run(capsys, "lift", source, "-o", out, "--model", model, "--threads", "1", "-q")
    assert code == 0, err
    assert frames_in(out) == read_2d(source).num_frames
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temp file left behind


@pytest.mark.parametrize("ext", EXTENSIONS)
def test_each_output_type_from_one_input(shared_data, tmp_path, capsys, model, ext):
    source = shared_data("inputs/alphapose/arnis_single_person/alphapose-results.json")
    out = tmp_path / f"arnis{ext}"
    code, err = run(capsys, "lift", source, "-o", out, "--model", model, "--units", "cm", "--smooth", "lowpass", "-q")
    assert code == 0, err
    assert frames_in(out) == 122


def test_camera_coords_are_root_relative_and_masks_are_recorded(shared_data, tmp_path, capsys, model):
    source = shared_data("inputs/gastnet/data/keypoints/baseball.json")
    out = tmp_path / "camera.npz"
    argv = ["lift", source, "-o", out, "--model", model, "--coords", "camera", "--mask", "left_wrist:10-20"]
    code, err = run(capsys, *argv, "--mask-below", "0", "-q")
    assert code == 0, err
    loaded = load_3d(out)
    assert loaded.sequence.coords == "camera"
    assert np.abs(loaded.sequence.keypoints[:, 0]).max() < 1e-5  # pelvis at the origin
    wrist = H36M_JOINTS.index("left_wrist")
    assert loaded.hidden[10:21, wrist].all()
    assert loaded.hidden.sum() == 11 + (~read_2d(source).to_h36m().visible).sum()


def test_flip_averages_the_mirrored_lift(shared_data, tmp_path, capsys, model):
    from mpm_core.engine import LiftingEngine

    source = shared_data("inputs/gastnet/data/keypoints/baseball.json")
    outs = {}
    for name, extra in (("plain", []), ("flip", ["--flip"])):
        outs[name] = tmp_path / f"{name}.npz"
        code, err = run(capsys, "lift", source, "-o", outs[name], "--model", model, "--coords", "camera", *extra, "-q")
        assert code == 0, err
    plain, flipped = (load_3d(outs[k]).sequence.keypoints for k in ("plain", "flip"))
    engine = LiftingEngine(model, device="cpu", threads=1)
    seq = read_2d(source).to_h36m()
    straight = engine.lift(seq).poses_3d
    both = engine.lift(seq, flip=True).poses_3d
    np.testing.assert_allclose(plain, straight, atol=1e-4)
    np.testing.assert_allclose(flipped, both, atol=1e-4)
    assert np.abs(flipped - plain).max() > 1e-3


def test_mask_below_hides_low_confidence_joints(shared_data, tmp_path, capsys, model):
    source = shared_data("inputs/openpose_raga/example_1person/output_json")
    hidden = {}
    for threshold in ("0", "0.6"):
        out = tmp_path / f"t{threshold}.npz"
        argv = ["lift", source, "-o", out, "--model", model, "--mask-below", threshold, "--coords", "camera", "-q"]
        assert run(capsys, *argv)[0] == 0
        hidden[threshold] = load_3d(out).hidden.sum()
    assert hidden["0.6"] > hidden["0"]


def test_world_coords_survive_a_mask_that_hides_most_joints(shared_data, tmp_path, capsys, model):
    """The trajectory fit falls back on the model's completed 2D where the input joints are hidden."""
    source = shared_data("inputs/openpose_raga/example_1person/output_json")
    out = tmp_path / "world.npz"
    code, err = run(capsys, "lift", source, "-o", out, "--model", model, "--mask-below", "0.95", "-q")
    assert code == 0, err
    loaded = load_3d(out)
    assert loaded.sequence.coords == "world"
    assert loaded.hidden.mean() > 0.8
    assert np.isfinite(loaded.sequence.joints).all()


def test_folder_input_writes_one_output_per_input(shared_data, tmp_path, capsys, model):
    """A folder of inputs: OpenPose folders inside count as one sequence each; the output tree mirrors the input."""
    root = shared_data("inputs/openpose_raga")
    out = tmp_path / "lifted"
    code, err = run(capsys, "lift", root, "-o", out, "--format", "csv", "--coords", "camera", "--model", model, "-q")
    assert code == 0, err
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    assert written == [
        "example_1person",
        "example_1person/output_json.csv",
        "example_3people",
        "example_3people/output_json.csv",
        "tests",
        "tests/test_json.csv",
    ]
    assert frames_in(out / "tests/test_json.csv") == read_2d(root / "tests/test_json").num_frames


def test_folder_with_a_bad_file_writes_the_others_and_exits_2(shared_data, tmp_path, capsys, model):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(shared_data("inputs/alphapose/arnis_single_person/alphapose-results.json"), folder / "good.json")
    (folder / "bad.json").write_text('{"people": [{"pose_keypoints_2d": [1, 2]}]}')  # OpenPose with 2 numbers
    (folder / "clip.mp4").write_bytes(b"\0" * 10)  # not a pose file: skipped
    code, err = run(capsys, "lift", folder, "-o", tmp_path / "out", "--model", model, "-q")
    assert code == 2
    assert "bad.json" in err and "1 of 2 inputs failed" in err
    assert (tmp_path / "out" / "good.npz").is_file() and not (tmp_path / "out" / "bad.npz").exists()


# -- 3D completion -------------------------------------------------------------------------------------------------
def _write_3d(path: Path, seq: PoseSequence3D) -> None:
    from mpm_core.export import ExportOptions, write_output

    write_output(path, seq, None, ExportOptions(coords=seq.coords))


@pytest.mark.parametrize("coords", ["camera", "world"])
def test_complete_fills_empty_cells(tmp_path, capsys, model, coords):
    joints = smooth_motion_3d(50)
    if coords == "world":
        joints = joints * np.array([1.0, -1.0, -1.0], np.float32)
    visible = np.ones((50, 17), bool)
    visible[10:30, H36M_JOINTS.index("right_wrist")] = False
    visible[:, 0] = False  # no pelvis at all: placed from the hips
    source = tmp_path / "gaps.csv"
    _write_3d(source, PoseSequence3D(joints, visible=visible, coords=coords))
    out = tmp_path / "filled.npz"
    code, err = run(capsys, "complete", source, "-o", out, "--model", model, "--mask", "head:0-4", "-q")
    assert code == 0, err
    got = load_3d(out)
    assert got.sequence.visible.all() and got.sequence.coords == coords
    np.testing.assert_allclose(got.sequence.keypoints[visible & ~got.hidden], joints[visible & ~got.hidden], atol=1e-4)
    assert got.hidden[10:30, 16].all() and got.hidden[:, 0].all() and got.hidden[:5, 10].all()
    assert got.hidden.sum() == 20 + 50 + 5


def test_lift_animator_options(shared_data, tmp_path, capsys, model):
    """--height, --output-fps, --in-place, --face-z and a BVH preset, as an animator would ask for them."""
    from mpm_core.engine.stature import stature
    from mpm_core.io.bvh import read_bvh
    from mpm_core.io.canonical import read_csv_3d

    source = shared_data("inputs/alphapose/arnis_single_person/alphapose-results.json")
    out = tmp_path / "tall.csv"
    flags = ["--height", "1.85", "--output-fps", "25", "--in-place", "--face-z", "--threads", "1", "-q"]
    code, err = run(capsys, "lift", source, "-o", out, "--model", model, *flags)
    assert code == 0, err
    back = read_csv_3d(out)  # the canonical reader gives the contacts too
    seq = back.sequence
    assert seq.fps == 25.0 and seq.num_frames == int(np.floor((read_2d(source).num_frames - 1) / 30 * 25)) + 1
    assert stature(seq.keypoints) == pytest.approx(1.85, rel=0.02)
    np.testing.assert_allclose(seq.keypoints[:, 0, [0, 2]], 0.0, atol=1e-5)
    assert back.contacts is not None and back.contacts.shape == (seq.num_frames, 2)
    text = out.read_text()
    assert "# height_m=1.85" in text and "# root_motion=in_place" in text and "# floor=up: " in text
    bvh = tmp_path / "rig.bvh"
    code, err = run(capsys, "lift", source, "-o", bvh, "--model", model, "--bvh-preset", "metarig", "-q")
    assert code == 0, err
    assert read_bvh(bvh).joint_names[:2] == ["spine", "thigh.L"]
    code, err = run(capsys, "lift", source, "-o", tmp_path / "free.npz", "--model", model, "--no-foot-lock", "-q")
    assert code == 0, err
    assert "foot_locking=off" in [str(n) for n in np.load(tmp_path / "free.npz")["notes"]]


# -- bad input: every flag -----------------------------------------------------------------------------------------
BAD_LIFT_FLAGS = [
    (["--fps", "-5"], "--fps"),
    (["--fps", "abc"], "--fps"),
    (["--image-size", "0", "0"], "--image-size"),
    (["--image-size", "a", "480"], "--image-size"),
    (["--person", "99"], "person"),
    (["--person", "someone"], "--person"),
    (["--person", "-1"], "--person"),
    (["--mask-below", "1.5"], "--mask-below"),
    (["--mask-below", "-0.1"], "--mask-below"),
    (["--mask", "left_wrist"], "--mask"),
    (["--mask", "left_pinky:1-2"], "--mask"),
    (["--mask", "left_wrist:9-3"], "--mask"),
    (["--mask", "left_wrist:5000-6000"], "--mask"),
    (["--layout", "nonsense"], "layout"),
    (["--coords", "sky"], "--coords"),
    (["--smooth", "gauss"], "--smooth"),
    (["--smooth-cutoff", "0"], "--smooth-cutoff"),
    (["--smooth-cutoff", "nan"], "--smooth-cutoff"),
    (["--fov", "0"], "--fov"),
    (["--fov", "200"], "--fov"),
    (["--units", "km"], "--units"),
    (["--up", "x"], "--up"),
    (["--device", "tpu"], "--device"),
    (["--batch-size", "0"], "--batch-size"),
    (["--threads", "0"], "--threads"),
    (["--format", "txt"], "--format"),
    (["--model", "/nonexistent/model.safetensors"], "--model"),
    (["--height", "0.2"], "--height"),
    (["--height", "tall"], "--height"),
    (["--output-fps", "0"], "--output-fps"),
    (["--bvh-preset", "unity"], "--bvh-preset"),
    (["--foot-lock", "yes"], "yes"),
]


@pytest.mark.parametrize("extra,flag", BAD_LIFT_FLAGS, ids=[" ".join(e) for e, _ in BAD_LIFT_FLAGS])
def test_bad_lift_flag_exits_2_with_one_line(shared_data, tmp_path, capsys, model, extra, flag):
    source = shared_data("inputs/alphapose/arnis_single_person/alphapose-results.json")
    argv = ["lift", source, "-o", tmp_path / "out.csv", "--model", model, "-q", *extra]
    code, err = run(capsys, *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and flag in err, err
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(
    "output,problem", [("out.txt", "unsupported output type"), ("out", "no extension"), ("out.bvh.tmp", "unsupported")]
)
def test_bad_output_name(shared_data, tmp_path, capsys, model, output, problem):
    source = shared_data("inputs/gastnet/data/keypoints/baseball.json")
    code, err = run(capsys, "lift", source, "-o", tmp_path / output, "--model", model, "-q")
    assert code == 2 and problem in err and len(err.strip().splitlines()) == 1


def test_bad_inputs(shared_data, tmp_path, capsys, model):
    bvh = next(iter(shared_data.glob("mocap/**/*.bvh")))
    cases = [
        ("lift", tmp_path / "missing.json", "no such file"),
        ("lift", bvh, "3D"),  # a 3D file given to lift
        ("complete", shared_data("inputs/gastnet/data/keypoints/baseball.json"), "2D"),  # and a 2D file to complete
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    cases.append(("lift", empty, "no 2D pose files"))
    for command, source, problem in cases:
        code, err = run(capsys, command, source, "-o", tmp_path / "o.csv", "--model", model, "-q")
        assert code == 2 and problem in err and len(err.strip().splitlines()) == 1, (command, source, err)


def test_missing_default_model_is_reported(shared_data, tmp_path, capsys, monkeypatch):
    import mpm_core.model.checkpoint as checkpoint

    monkeypatch.setattr(checkpoint, "default_model_path", lambda: tmp_path / "absent.safetensors")
    source = shared_data("inputs/gastnet/data/keypoints/baseball.json")
    code, err = run(capsys, "lift", source, "-o", tmp_path / "o.csv", "-q")
    assert code == 2 and "not found" in err and "absent.safetensors" in err


def test_device_cuda_without_cuda(shared_data, tmp_path, capsys, model):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    source = shared_data("inputs/gastnet/data/keypoints/baseball.json")
    code, err = run(capsys, "lift", source, "-o", tmp_path / "o.csv", "--model", model, "--device", "cuda", "-q")
    assert code == 2 and "CUDA" in err


# -- atomic writes -------------------------------------------------------------------------------------------------
class _DiesMidway:
    """A file proxy whose writes fail once ``limit`` bytes have gone through (a crash in the middle of a write)."""

    def __init__(self, f, limit: int):
        self._f, self._left = f, limit

    def write(self, data):
        self._left -= len(data)
        if self._left < 0:
            raise OSError(28, "No space left on device")
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


@pytest.mark.parametrize("ext", EXTENSIONS)
def test_write_dying_midway_leaves_old_output_and_no_temp(shared_data, tmp_path, capsys, model, monkeypatch, ext):
    import mpm_core.atomic as atomic

    source = shared_data("inputs/alphapose/motionbert_halpe26/alphapose-results.json")
    out = tmp_path / f"out{ext}"
    out.write_bytes(b"previous result")
    real_fdopen = os.fdopen
    monkeypatch.setattr(atomic.os, "fdopen", lambda *a, **k: _DiesMidway(real_fdopen(*a, **k), 2000))
    code, err = run(capsys, "lift", source, "-o", out, "--model", model, "-q")
    assert code == 2 and "cannot write" in err and "No space left" in err
    assert out.read_bytes() == b"previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_killed_process_leaves_no_partial_output(shared_data, tmp_path, model):
    """SIGKILL a CLI run while it writes (paused inside the write): no output, old file intact... by construction the
    temp file is the only thing written before ``os.replace``."""
    source = shared_data("inputs/alphapose/motionbert_halpe26/alphapose-results.json")
    out = tmp_path / "big.json"
    script = (
        "import os, signal, sys, mpm_core.atomic as a\n"
        "real = os.fdopen\n"
        "class F:\n"
        "    def __init__(s, f): s.f, s.n = f, 0\n"
        "    def write(s, d):\n"
        "        s.n += len(d)\n"
        "        if s.n > 4000: s.f.flush(); os.kill(os.getpid(), signal.SIGKILL)\n"
        "        return s.f.write(d)\n"
        "    def __getattr__(s, k): return getattr(s.f, k)\n"
        "    def __enter__(s): return s\n"
        "    def __exit__(s, *e): s.f.close()\n"
        "a.os.fdopen = lambda *x, **k: F(real(*x, **k))\n"
        "from mpm_core.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    argv = [sys.executable, "-c", script, "lift", str(source), "-o", str(out), "--model", model, "--threads", "1"]
    proc = subprocess.run(argv, capture_output=True, timeout=300, cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode == -9
    assert not out.exists()
    leftovers = [p.name for p in tmp_path.iterdir()]
    # A killed process cannot clean up: the only thing left is its hidden temp file, never the output name.
    assert all(name.startswith(".big.json.") and name.endswith(".part") for name in leftovers), leftovers


def test_console_script_smoke(shared_data, tmp_path, model):
    script = Path(sys.executable).with_name("mpm-studio-cli")
    if not script.exists():
        pytest.skip("console script not installed in this environment")
    source = shared_data("inputs/gastnet/data/keypoints/baseball.json")
    out = tmp_path / "baseball.bvh"
    proc = subprocess.run(
        [script, "lift", source, "-o", out, "--model", model, "--threads", "1"], capture_output=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert out.read_text().startswith("HIERARCHY")
