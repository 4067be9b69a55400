"""Bad input never takes the program down (issue 17): one test per case the issue lists.

Each case goes through the public entry points (``read_any``, the CLI's ``main``, ``atomic_write``) so that the
same file also runs against the code before the change (``/work/notes/issue17_before_after.md``). Memory and
work are measured by counting (tracemalloc peaks, bytes decompressed), never by timing; a subprocess timeout is
only a guard against a hang.
"""

from __future__ import annotations

import io
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from mpm_core.errors import PoseDataError
from mpm_core.io import read_2d, read_any

REPO = Path(__file__).resolve().parent.parent
#: A reader that refuses a file from its header uses less than this, first imports included (the claims are GiB).
HEADER_CHECK_MEMORY = 64 * 1024 * 1024
#: Guard against a hang (not a speed target): a refused FIFO answers in well under a second.
HANG_GUARD_S = 60
KP17 = [100.0, 200.0, 0.9] * 17


def _cli(*argv: str) -> tuple[int, str]:
    """Run ``mpm-studio-cli`` in-process; ``(exit code, stderr)``."""
    import contextlib

    from mpm_core.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(list(argv))
    return code, err.getvalue()


def _peak_bytes(fn) -> tuple[int, BaseException | None]:
    """``(peak traced bytes, exception)`` of ``fn()``; numpy's array memory is traced too."""
    tracemalloc.start()
    error = None
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        error = exc
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, error


def _npy_bytes(value) -> bytes:
    buf = io.BytesIO()
    np.save(buf, value)
    return buf.getvalue()


# -- exceptions that escaped as tracebacks -----------------------------------------------------------------------
def test_bvh_nested_5000_joints_deep(tmp_path):
    depth = 5000
    lines = ["HIERARCHY", "ROOT Hips", "{", "OFFSET 0 0 0", "CHANNELS 3 Xrotation Yrotation Zrotation"]
    for i in range(depth):
        lines += [f"JOINT j{i}", "{", "OFFSET 0 1 0", "CHANNELS 3 Xrotation Yrotation Zrotation"]
    lines += ["}"] * (depth + 1) + ["MOTION", "Frames: 1", "Frame Time: 0.0333333", " ".join(["0"] * 3 * (depth + 1))]
    path = tmp_path / "deep.bvh"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(PoseDataError, match=r"deep\.bvh: line \d+: .*nested 257 levels deep"):
        read_any(path)


def test_json_nested_200000_deep(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(PoseDataError, match=r"deep\.json: JSON nested 200000 levels deep, over the limit of 256"):
        read_any(path)


def test_coco_image_id_of_10_to_15(tmp_path):
    path = tmp_path / "alphapose-results.json"
    entries = [{"image_id": 0, "category_id": 1, "keypoints": KP17, "score": 1.0}]
    entries.append({"image_id": 10**15, "category_id": 1, "keypoints": KP17, "score": 1.0})
    path.write_text(json.dumps(entries))
    peak, error = _peak_bytes(lambda: read_any(path))
    assert isinstance(error, PoseDataError), repr(error)
    assert "alphapose-results.json: entry 1.image_id: frame number 1,000,000,000,000,000 is not in" in str(error)
    assert peak < HEADER_CHECK_MEMORY


def test_keypoint_integer_of_400_digits(tmp_path):
    path = tmp_path / "alphapose-results.json"
    path.write_text(json.dumps([{"image_id": 0, "category_id": 1, "keypoints": [10**400] + KP17[1:], "score": 1}]))
    with pytest.raises(PoseDataError, match=r"entry 0 \(image 0\)\.keypoints: value 0 is an integer of 401 digits"):
        read_any(path)


def test_npz_header_claiming_a_giant_shape(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10**9, 17, 4)})
    path = tmp_path / "giant.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("keypoints.npy", header.getvalue() + b"\0" * 64)
        z.writestr("layout.npy", _npy_bytes(np.array("coco17")))
    peak, error = _peak_bytes(lambda: read_any(path))
    assert isinstance(error, PoseDataError), repr(error)
    assert "giant.npz: key 'keypoints': array 1000000000x17x4 float32 needs 272,000,000,000 bytes" in str(error)
    assert peak < HEADER_CHECK_MEMORY


def test_npy_header_claiming_a_giant_shape(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**10, 17, 3)})
    path = tmp_path / "giant.npy"
    path.write_bytes(header.getvalue() + b"\0" * 1000)
    peak, error = _peak_bytes(lambda: read_any(path))
    assert isinstance(error, PoseDataError), repr(error)
    assert "giant.npy: array 10000000000x17x3 float64 needs" in str(error) and "(truncated)" in str(error)
    assert peak < HEADER_CHECK_MEMORY


# -- FIFOs -----------------------------------------------------------------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_info_on_a_fifo_named_json_does_not_block(tmp_path):
    fifo = tmp_path / "poses.json"
    os.mkfifo(fifo)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "mpm_core", "info", str(fifo)],
            capture_output=True,
            text=True,
            timeout=HANG_GUARD_S,
            cwd=REPO,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"info on a FIFO still blocked after {HANG_GUARD_S} s")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"mpm-studio-cli info: error: {fifo}: is a FIFO (named pipe), expected a regular file"
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_lift_on_a_fifo_is_bad_input_not_notadirectoryerror(tmp_path):
    fifo = tmp_path / "poses.json"
    os.mkfifo(fifo)
    code, err = _cli("lift", str(fifo), "-o", str(tmp_path / "out.csv"))
    assert code == 2
    assert err.strip() == f"mpm-studio-cli lift: error: {fifo}: is a FIFO (named pipe), expected a regular file"


# -- a zip bomb --------------------------------------------------------------------------------------------------
def _zip_member(name: str, data: bytes, method: int, crc: int, size: int, offset: int) -> tuple[bytes, bytes]:
    """Local header + data and the central directory entry of one member (no zip64: size < 4 GiB)."""
    fields = (20, 0, method, 0, 0, crc, len(data), size, len(name), 0)
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields) + name.encode() + data
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, *fields, 0, 0, 0, 0, offset) + name.encode()
    return local, central


def _write_bomb(path: Path) -> int:
    """A ~4 MB ``.npz`` whose ``keypoints`` member inflates to ~4 GiB of zeros (T, 17, 2) float64.

    Built from one compressed MiB of zeros repeated (a full flush makes each block independent), so writing
    it costs 4 MB, not 4 GiB. Returns the claimed uncompressed size.
    """
    mib = 1 << 20
    frames = (4095 * mib) // (17 * 2 * 8)
    data_bytes = frames * 17 * 2 * 8
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (frames, 17, 2)})
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(b"\0" * mib) + comp.flush(zlib.Z_FULL_FLUSH)
    head = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = head.compress(header.getvalue()) + head.flush(zlib.Z_FULL_FLUSH)
    whole, rest = divmod(data_bytes, mib)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15)
    last = tail.compress(b"\0" * rest) + tail.flush(zlib.Z_FINISH)
    deflated = first + block * whole + last
    size = len(header.getvalue()) + data_bytes
    layout = _npy_bytes(np.array("coco17"))
    # CRC left 0: a reader that checks sizes first never gets to the CRC, one that inflates it all fails there
    local1, central1 = _zip_member("keypoints.npy", deflated, zipfile.ZIP_DEFLATED, 0, size, 0)
    local2, central2 = _zip_member(
        "layout.npy", layout, zipfile.ZIP_STORED, zlib.crc32(layout), len(layout), len(local1)
    )
    directory = central1 + central2
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 2, 2, len(directory), len(local1) + len(local2), 0)
    path.write_bytes(local1 + local2 + directory + end)
    return size


def test_4mb_npz_expanding_to_4gib_fails_fast(tmp_path, monkeypatch):
    path = tmp_path / "bomb.npz"
    claimed = _write_bomb(path)
    assert path.stat().st_size < 5 * 10**6 and claimed > 4 * 10**9
    inflated = [0]
    original = zipfile.ZipExtFile.read

    def counting_read(self, n=-1):
        data = original(self, n)
        inflated[0] += len(data)
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting_read)
    peak, error = _peak_bytes(lambda: read_any(path))
    assert isinstance(error, PoseDataError), repr(error)
    assert "bomb.npz: member 'keypoints.npy': expands" in str(error) and "a zip bomb?" in str(error)
    assert inflated[0] < 1024 * 1024  # counted: nothing near the 4 GiB was inflated
    assert peak < HEADER_CHECK_MEMORY


# -- files that loaded but should not ----------------------------------------------------------------------------
def test_info_refuses_an_all_nan_npz(tmp_path):
    path = tmp_path / "pose.npz"
    np.savez(path, keypoints=np.full((10, 17, 2), np.nan, np.float32), fps=30.0, layout="coco17")
    code, err = _cli("info", str(path))
    assert code == 2
    assert (
        err.strip()
        == f"mpm-studio-cli info: error: {path}: no visible joint in any frame (all missing, NaN or zero-confidence)"
    )


def test_info_refuses_an_all_inf_npy(tmp_path):
    path = tmp_path / "pose.npy"
    np.save(path, np.full((10, 17, 3), np.inf))
    code, err = _cli("info", str(path))
    assert code == 2
    assert f"{path}: array: value" in err and "inf" in err and "is not finite" in err


def test_info_refuses_keypoints_of_1e308_without_a_warning(tmp_path):
    path = tmp_path / "alphapose-results.json"
    entries = [{"image_id": i, "category_id": 1, "keypoints": [1e308, 1e308, 0.9] * 17, "score": 1} for i in range(3)]
    path.write_text(json.dumps(entries))
    done = subprocess.run(
        [sys.executable, "-W", "default", "-m", "mpm_core", "info", str(path)],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        cwd=REPO,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"mpm-studio-cli info: error: {path}: entry 0 (image 0).keypoints: value 0 is 1e+308:"
        " not finite or beyond ±1e+06"
    ]


@pytest.mark.parametrize("frames", [[-5, -4, -3], [1, 10**12]], ids=["negative", "10^12"])
def test_info_refuses_kinetics_frame_index_out_of_range(tmp_path, frames):
    path = tmp_path / "kinetics.json"
    skeleton = {"pose": [100.0, 200.0] * 18, "score": [0.9] * 18}
    path.write_text(json.dumps({"data": [{"frame_index": f, "skeleton": [skeleton]} for f in frames]}))
    code, err = _cli("info", str(path))
    assert code == 2
    bad = frames.index(next(f for f in frames if not 0 <= f < 20_000_000))
    assert f"{path}: data[{bad}].frame_index: frame number {frames[bad]:,} is not in 0..19,999,999" in err


# -- messages name the file --------------------------------------------------------------------------------------
def test_npz_with_an_unknown_layout_names_the_file(tmp_path):
    path = tmp_path / "pose.npz"
    np.savez(path, keypoints=np.full((10, 17, 2), 100, np.float32), fps=30.0, layout="nosuchlayout")
    with pytest.raises(PoseDataError) as info:
        read_any(path)
    assert str(info.value).startswith(f"{path}: key 'layout': unknown layout 'nosuchlayout'")


def test_kinetics_whose_frames_cannot_be_placed_names_the_file(tmp_path):
    """A layout that does not fit the skeletons (so the frames cannot be placed on a skeleton) names the file."""
    path = tmp_path / "kinetics.json"
    skeleton = {"pose": [100.0, 200.0] * 18, "score": [0.9] * 18}
    path.write_text(json.dumps({"data": [{"frame_index": 1, "skeleton": [skeleton]}]}))
    with pytest.raises(PoseDataError) as info:
        read_2d(path, layout="nosuchlayout")
    assert str(info.value).startswith(f"{path}: ")


# -- stale temp files ----------------------------------------------------------------------------------------------
_WRITER = textwrap.dedent(
    """
    import sys, time
    from mpm_core.atomic import atomic_write
    with atomic_write(sys.argv[1], binary=True) as f:
        f.write(b"x" * (1 << 20)); f.flush()
        print("writing", flush=True)
        time.sleep(600)
    """
)


def _start_writer(target: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(target)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout.readline().strip() == "writing"
    return proc


def _temp_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".part"))


def test_a_killed_writer_leaves_a_temp_file_that_the_next_write_removes(tmp_path):
    from mpm_core.atomic import atomic_write_bytes

    proc = _start_writer(tmp_path / "big.npz")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = _temp_files(tmp_path)
    assert len(left) == 1 and left[0].stat().st_size == 1 << 20
    atomic_write_bytes(tmp_path / "other.csv", b"frame\n")
    assert _temp_files(tmp_path) == []
    assert (tmp_path / "other.csv").read_bytes() == b"frame\n" and not (tmp_path / "big.npz").exists()


def test_a_live_writers_temp_file_is_never_removed(tmp_path):
    from mpm_core.atomic import atomic_write_bytes

    proc = _start_writer(tmp_path / "big.npz")
    try:
        theirs = _temp_files(tmp_path)
        assert len(theirs) == 1
        atomic_write_bytes(tmp_path / "mine.csv", b"frame\n")
        assert _temp_files(tmp_path) == theirs and theirs[0].stat().st_size == 1 << 20
    finally:
        proc.kill()
        proc.wait()


def test_cleanup_takes_only_our_own_pattern(tmp_path):
    from mpm_core.atomic import atomic_write_bytes

    others = [tmp_path / ".notes.part", tmp_path / ".data.csv.123.part", tmp_path / "keep.part"]
    for p in others:
        p.write_text("someone else's")
    atomic_write_bytes(tmp_path / "out.csv", b"frame\n")
    assert all(p.exists() for p in others)


# -- one error path ------------------------------------------------------------------------------------------------
def test_debug_shows_the_traceback(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 1000 + "]" * 1000)
    code, err = _cli("info", str(path))
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    code, err = _cli("--debug", "info", str(path))
    assert code == 2 and "Traceback (most recent call last)" in err and "PoseDataError" in err
    assert (
        err.strip().splitlines()[-1]
        == f"mpm-studio-cli info: error: {path}: JSON nested 1000 levels deep, over the limit of 256"
    )


# -- limits that real files need ---------------------------------------------------------------------------------
def test_scores_up_to_1_5_are_clipped_to_1_and_negative_coordinates_kept(tmp_path):
    path = tmp_path / "alphapose-results.json"
    kp = [-12.5, 200.0, 1.07] + [100.0, 200.0, 0.9] * 16
    path.write_text(json.dumps([{"image_id": i, "category_id": 1, "keypoints": kp, "score": 1} for i in range(3)]))
    seq = read_2d(path)
    assert seq.visible[:, 0].all() and seq.keypoints[0, 0, 0] == pytest.approx(-12.5)
    assert seq.scores[0, 0] == 1.0 and seq.scores[0, 1] == pytest.approx(0.9)
    kp[2] = 1.6
    path.write_text(json.dumps([{"image_id": 0, "category_id": 1, "keypoints": kp, "score": 1}]))
    with pytest.raises(
        PoseDataError, match=r"alphapose-results.json: frame 0 person 0: joint 0: score 1.6 is not in \[0, 1.5\]"
    ):
        read_2d(path)


def test_every_real_shared_input_still_loads(shared_data):
    from mpm_core.io import detect_format, load_2d, load_3d

    inputs = shared_data("inputs")
    found = [p for p in sorted(inputs.rglob("*")) if p.suffix in (".json", ".npz") and "output_json" not in p.parts]
    found += sorted({p.parent for p in inputs.rglob("output_json/*.json")})
    loaded = 0
    for path in found:
        try:
            fmt = detect_format(path)
        except PoseDataError:
            continue  # not a pose file (e.g. a COCO annotation list with no keypoints is not among them)
        if fmt == "videopose3d-custom":
            from mpm_core.io.videopose3d import load_npz_restricted

            videos = list(load_npz_restricted(path)["positions_2d"].item())
            tracks = [load_2d(path, video=v).tracks for v in videos]
            assert all(tracks)
        elif fmt in ("kinetics",) and "wholebody" not in path.name:
            assert load_2d(path).tracks
        else:
            assert load_2d(path).tracks if fmt not in ("bvh", "amc") else load_3d(path)
        loaded += 1
    assert loaded >= 8


def test_a_one_hour_file_still_loads(tmp_path):
    """One hour at 30 fps, 17 joints, as an .npy (the reader path every format ends in)."""
    frames = 3600 * 30
    rng = np.random.default_rng(17)
    arr = np.concatenate([rng.uniform(0, 1920, (frames, 17, 2)), rng.uniform(0, 1.07, (frames, 17, 1))], axis=2)
    path = tmp_path / "one_hour.npy"
    np.save(path, arr.astype(np.float32))
    seq = read_2d(path, fps=30)
    assert seq.num_frames == frames and seq.num_frames / seq.fps == pytest.approx(3600)
    assert float(seq.scores.max()) == 1.0


# -- found by the fuzzer (scripts/fuzz_readers.py), pinned as examples ------------------------------------------
def test_fuzz_mediapipe_width_of_400_digits(tmp_path):
    """OverflowError converting the image width to float."""
    path = tmp_path / "pose.json"
    lms = [{"x": 0.5, "y": 0.5, "visibility": 0.9}] * 33
    path.write_text(json.dumps({"width": 10**400, "height": 480, "frames": [{"frame": 0, "landmarks": lms}]}))
    with pytest.raises(PoseDataError, match=r"pose\.json: width/height: image size \(1000.*is not \(width, height\)"):
        read_any(path)


def test_fuzz_openpose_person_id_of_400_digits(tmp_path):
    """OverflowError in the track id check: a huge id is not a track id (people tracked by position)."""
    path = tmp_path / "video_000000000003_keypoints.json"
    person = {"person_id": [10**400], "pose_keypoints_2d": [100.0, 200.0, 0.9] * 25}
    path.write_text(json.dumps({"version": 1.3, "people": [person]}))
    seq = read_2d(path)
    assert seq.start_frame == 3 and seq.visible.all()


def test_fuzz_detectron2_boxes_not_an_array(tmp_path):
    """TypeError: len() of unsized object, for a 0-d ``boxes`` array."""
    path = tmp_path / "clip.mp4.npz"
    kp = np.zeros((1, 4, 17))
    keypoints = np.empty((1, 2), dtype=object)
    keypoints[0, 0], keypoints[0, 1] = [], kp
    np.savez(path, boxes=np.array(3.0), keypoints=keypoints)
    with pytest.raises(PoseDataError, match=r"clip\.mp4\.npz: key 'boxes': 'boxes' is not a per-frame array"):
        read_any(path)


def test_fuzz_npz_text_with_invalid_code_points(tmp_path):
    """SystemError (invalid maximum character) turning a corrupt ``<U`` array into a string."""
    path = tmp_path / "pose.npz"
    from mpm_core.io.canonical import write_npz_3d
    from mpm_core.sequence import PoseSequence3D

    write_npz_3d(path, PoseSequence3D(np.zeros((2, 17, 3), np.float32), layout="h36m17", fps=30.0))
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    layout = bytearray(members["layout.npy"])
    layout[-2] = 0x7F  # the high byte of the last UTF-32 character: code point 0x7F00xxxx
    members["layout.npy"] = bytes(layout)
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(PoseDataError, match=r"pose\.npz: key 'layout': text array holds invalid characters"):
        read_any(path)


def test_fuzz_detectron2_complex_keypoints_are_refused_without_a_warning(tmp_path, recwarn):
    path = tmp_path / "clip.mp4.npz"
    boxes = np.empty((1, 2), dtype=object)
    boxes[0, 0], boxes[0, 1] = [], np.array([[0.0, 0.0, 10.0, 10.0, 0.9]])
    keypoints = np.empty((1, 2), dtype=object)
    keypoints[0, 0], keypoints[0, 1] = [], np.ones((1, 4, 17), complex)
    np.savez(path, boxes=boxes, keypoints=keypoints)
    with pytest.raises(PoseDataError, match=r"clip\.mp4\.npz: frame 0: complex numbers in boxes/keypoints"):
        read_any(path)
    assert not [w for w in recwarn if "complex" in str(w.message).lower()]


def test_fuzz_mediapipe_csv_value_of_1e308(tmp_path):
    """An overflow warning scaling 1e308 by the image width, then an infinite coordinate."""
    from mpm_core.skeleton import MEDIAPIPE33

    cols = ["frame"] + [f"{n}_{c}" for n in MEDIAPIPE33.joint_names for c in ("x", "y")]
    row = ["0"] + ["0.5"] * 66
    row[1] = "1e308"
    path = tmp_path / "pose.csv"
    path.write_text("# width=640\n# height=480\n" + ",".join(cols) + "\n" + ",".join(row) + "\n")
    with pytest.raises(PoseDataError, match=r"pose\.csv: line 4 column 'nose_x': '1e308' is not finite"):
        read_any(path)


def test_fuzz_3d_joints_beyond_100_km_are_refused(tmp_path):
    """Mocap kinematics that overflow (a warning, then float32 infinities) end in one check: every visible
    3D joint within ``MAX_ABS_METRES`` of the origin, named by frame and joint."""
    from mpm_core.io.canonical import write_csv_3d
    from mpm_core.sequence import PoseSequence3D

    kp = np.zeros((3, 17, 3), np.float32)
    kp[1, 5, 0] = 999_999.0  # metres: within the per-value limit of 1e6, 1,000 km from the origin
    path = tmp_path / "far.csv"
    write_csv_3d(path, PoseSequence3D(kp, layout="h36m17", fps=30.0))
    with pytest.raises(PoseDataError, match=r"far\.csv: frame 1: joint .* is 1e\+06 m away: beyond 100000 m"):
        read_any(path)


def test_two_detections_far_apart_are_refused_before_allocating(tmp_path):
    """Frame numbers within the limit but 15 M apart with nothing between: the dense track (3.3 GB) is not built,
    while a long file whose frames hold data may exceed ``MAX_DENSE_BYTES``."""
    path = tmp_path / "alphapose-results.json"
    entries = [{"image_id": f, "category_id": 1, "keypoints": KP17, "score": 1.0} for f in (0, 15_000_000)]
    path.write_text(json.dumps(entries))
    peak, error = _peak_bytes(lambda: read_any(path))
    assert isinstance(error, PoseDataError), repr(error)
    assert "alphapose-results.json: frames 0 to 15000000 would need 3,161 MiB, over the limit of 512 MiB" in str(error)
    assert peak < HEADER_CHECK_MEMORY


def test_fuzz_npy_header_with_a_dtype_numpy_parses_as_python(tmp_path):
    """SyntaxError from numpy's dtype parser for the descr ',U1' (found by the 10-minute run)."""
    path = tmp_path / "pose.npz"
    from mpm_core.io.canonical import write_npz_3d
    from mpm_core.sequence import PoseSequence3D

    write_npz_3d(path, PoseSequence3D(np.zeros((2, 17, 3), np.float32), layout="h36m17", fps=30.0))
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["units.npy"] = members["units.npy"].replace(b"'<U1'", b"',U1'")
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(PoseDataError, match=r"pose\.npz: key 'units': bad dtype ',U1' in the \.npy header"):
        read_any(path)


def test_fuzz_amc_frame_number_of_5000_digits(tmp_path, shared_data):
    """ValueError from int() of an AMC frame number over Python's 4,300-digit limit (found by a 10-minute run)."""
    asf = shared_data("mocap/cmu_asfamc/pirouette.asf")
    amc = shared_data("mocap/cmu_asfamc/pirouette.amc").read_text(encoding="latin-1").splitlines()
    first = next(i for i, line in enumerate(amc) if line.strip().isdigit())
    amc[first] = "9" * 5000
    (tmp_path / "pirouette.asf").write_bytes(asf.read_bytes())
    path = tmp_path / "pirouette.amc"
    path.write_text("\n".join(amc[: first + 40]) + "\n")
    with pytest.raises(PoseDataError, match=rf"pirouette\.amc: line {first + 1}: frame number '9+' is not a frame"):
        read_any(path)


def test_fuzz_json_nesting_scan_memory_is_counted(tmp_path):
    """The nesting scan of a large JSON text ran out of memory under the fuzzer's 1 GiB bound (int32 arrays of
    the whole text, four at a time: 623 MiB each for a 163 MB file). It now scans in chunks: counted by
    tracemalloc, it needs about three times the text (the string-free copy while it is built), not 16."""
    from mpm_core.io.limits import nesting_depth

    text = b"[" + b"[1.5,2.5,0.9]," * 2_400_000 + b"[]]"  # 34 MB, depth 2
    peak, error = _peak_bytes(lambda: nesting_depth(text))
    assert error is None and nesting_depth(text) == 2
    assert peak < 4 * len(text), peak
