"""Fuzzing the readers (issue 17): samples of every format, hypothesis mutations, and a limited worker process.

Used by ``tests/test_fuzz_readers.py`` (short, derandomized in CI) and ``scripts/fuzz_readers.py`` (long runs).

Each format has one worker process (``multiprocessing`` forkserver) that reads mutated files the way
``mpm-studio-cli info`` does (``mpm_core.cli.info.describe``). The worker runs under an address-space limit
(``RLIMIT_AS``) of its own baseline + 1 GiB and, per case, a CPU-time limit (``RLIMIT_CPU``); a case that
dies (SIGXCPU, a segfault, ...) is recorded and the worker is restarted. A wall-clock guard, many times the
CPU limit, only catches a read that blocks without using CPU (a FIFO opened for reading).
"""

from __future__ import annotations

import os

# Before numpy loads in a worker: one BLAS thread (its buffers would count against the address-space limit).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import io  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import multiprocessing  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import warnings  # noqa: E402
import zipfile  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

#: Memory a reader may use above the worker's baseline (the issue's bound).
MEMORY_LIMIT_BYTES = 1 << 30
#: CPU seconds one read may use before SIGXCPU ends it (small samples read in milliseconds).
CPU_LIMIT_S = 10
#: Mutated files are cut to this size: the fuzzer looks for bad-input handling, and Python's JSON objects take
#: ~20x the text (a one-hour 109 MB AlphaPose file peaks at 2.4 GiB), which the 1 GiB bound is not about.
MAX_FUZZ_FILE_BYTES = 16 * 1024 * 1024
#: Wall-clock guard for a read that blocks without using CPU; not a speed target.
WALL_GUARD_S = 120

# -- samples -------------------------------------------------------------------------------------------------------


@dataclass
class Sample:
    """One format's sample: ``files`` (name -> bytes) written into a fresh folder; ``main`` is the one read."""

    fmt: str
    main: str
    files: dict[str, bytes]
    kind: str  # "json", "text" (CSV, BVH, AMC), "npz", "npy"


def _json_bytes(data) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def _npy_bytes(value, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, value, allow_pickle=allow_pickle)
    return buf.getvalue()


def _npz_bytes(arrays: dict[str, object], compressed: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED) as z:
        for key, value in arrays.items():
            z.writestr(f"{key}.npy", _npy_bytes(value, allow_pickle=True))
    return buf.getvalue()


def _small_sequences():
    from mpm_core.sequence import PoseSequence2D, PoseSequence3D

    rng = np.random.default_rng(17)
    t = 6
    kp2 = rng.uniform(50, 600, (t, 17, 2)).astype(np.float32)
    vis = np.ones((t, 17), bool)
    vis[2, 3] = False
    seq2 = PoseSequence2D(kp2, rng.uniform(0.3, 1, (t, 17)), vis, 30.0, "coco17", None, "", 4, (640, 480))
    kp3 = rng.uniform(-1, 1, (t, 17, 3)).astype(np.float32)
    seq3 = PoseSequence3D(kp3, None, vis, 30.0, "h36m17", None, "", 0, units="m", coords="camera")
    return seq2, seq3


def _trim_bvh(text: str, frames: int = 4) -> str:
    head, _, motion = text.partition("MOTION")
    lines = [ln for ln in motion.splitlines() if ln.strip()]
    data = lines[2 : 2 + frames]
    body = "\n".join(data)
    return head + f"MOTION\nFrames: {len(data)}\n{lines[1].strip()}\n{body}\n"


def _trim_amc(text: str, frames: int = 3) -> str:
    out, seen = [], 0
    for line in text.splitlines():
        if line.strip().isdigit():
            seen += 1
            if seen > frames:
                break
        out.append(line)
    return "\n".join(out) + "\n"


def build_samples(shared: Path) -> dict[str, Sample]:
    """Small samples of every format: real shared files (trimmed to a few frames) where the shared data has
    the format, otherwise written by the project's writers or in the documented layout."""
    from mpm_core.io.canonical import write_csv_2d, write_csv_3d, write_npz_2d, write_npz_3d
    from mpm_core.io.videopose3d import load_npz_restricted

    inputs, mocap = shared / "inputs", shared / "mocap"
    samples: dict[str, Sample] = {}

    def add(fmt, main, files, kind):
        samples[fmt] = Sample(fmt, main, files, kind)

    op_dir = inputs / "openpose_raga/example_3people/output_json"
    op = sorted(op_dir.glob("*.json"))[5]
    add("openpose", op.name, {op.name: op.read_bytes()}, "json")
    coco = json.loads((inputs / "alphapose/nba_multi_person/alphapose-results.json").read_text())
    add("coco-results", "alphapose-results.json", {"alphapose-results.json": _json_bytes(coco[:8])}, "json")
    kin = json.loads((inputs / "gastnet/data/keypoints/baseball.json").read_text())
    kin["data"] = kin["data"][:4]
    add("kinetics", "baseball.json", {"baseball.json": _json_bytes(kin)}, "json")
    vp = load_npz_restricted(inputs / "videopose3d_custom/psychomugs/data_2d_custom_myvideos.npz")
    positions = vp["positions_2d"].item()
    name = sorted(positions)[0]
    trimmed = {name: {"custom": [positions[name]["custom"][0][:5]]}}
    meta = vp["metadata"].item()
    meta = dict(meta, video_metadata={name: meta["video_metadata"][name]})
    vp_npz = _npz_bytes({"positions_2d": np.array(trimmed, dtype=object), "metadata": np.array(meta, dtype=object)})
    add("videopose3d-custom", "data_2d_custom.npz", {"data_2d_custom.npz": vp_npz}, "npz")
    d2 = load_npz_restricted(inputs / "videopose3d_custom/psychomugs/inference_output/floss_test.mp4.npz")
    d2_arrays = {k: (v[:4] if k in ("boxes", "keypoints", "segments") and len(v) > 4 else v) for k, v in d2.items()}
    add("detectron2-npz", "floss.mp4.npz", {"floss.mp4.npz": _npz_bytes(d2_arrays)}, "npz")
    bvh = sorted((mocap / "cmu_bvh").glob("*.bvh"))[0]
    add("bvh", "clip.bvh", {"clip.bvh": _trim_bvh(bvh.read_text(encoding="latin-1")).encode("latin-1")}, "text")
    asf = mocap / "cmu_asfamc/pirouette.asf"
    amc = mocap / "cmu_asfamc/pirouette.amc"
    add(
        "amc",
        "pirouette.amc",
        {"pirouette.amc": _trim_amc(amc.read_text(encoding="latin-1")).encode(), "pirouette.asf": asf.read_bytes()},
        "text",
    )

    rng = np.random.default_rng(3)
    mm = {
        "meta_info": {"dataset_name": "coco", "num_keypoints": 17},
        "instance_info": [
            {
                "frame_id": f,
                "instances": [
                    {
                        "keypoints": rng.uniform(0, 500, (17, 2)).round(2).tolist(),
                        "keypoint_scores": rng.uniform(0, 1, 17).round(3).tolist(),
                        "bbox": [[10.0, 20.0, 300.0, 400.0]],
                        "bbox_score": 0.9,
                    }
                    for _ in range(2)
                ],
            }
            for f in range(1, 4)
        ],
    }
    add("mmpose", "results.json", {"results.json": _json_bytes(mm)}, "json")
    lms = lambda: [  # noqa: E731
        {"x": round(float(x), 4), "y": round(float(y), 4), "z": 0.0, "visibility": 0.9}
        for x, y in rng.uniform(0, 1, (33, 2))
    ]
    mp = {"width": 640, "height": 480, "fps": 30, "frames": [{"frame": f, "landmarks": lms()} for f in range(3)]}
    add("mediapipe-json", "pose.json", {"pose.json": _json_bytes(mp)}, "json")
    from mpm_core.skeleton import MEDIAPIPE33

    cols = ["frame"] + [f"{n}_{c}" for n in MEDIAPIPE33.joint_names for c in ("x", "y", "z", "visibility")]
    rows = ["# width=640", "# height=480", ",".join(cols)]
    for f in range(3):
        vals = rng.uniform(0, 1, (33, 4)).round(4)
        rows.append(",".join([str(f)] + [str(v) for v in vals.ravel()]))
    add("mediapipe-csv", "pose.csv", {"pose.csv": ("\n".join(rows) + "\n").encode()}, "text")
    arr = np.concatenate([rng.uniform(0, 600, (5, 25, 2)), rng.uniform(0, 1, (5, 25, 1))], axis=2)
    add("npy", "body25.npy", {"body25.npy": _npy_bytes(arr.astype(np.float32))}, "npy")

    seq2, seq3 = _small_sequences()
    tmp = Path(tempfile.mkdtemp(prefix="fuzz-samples-"))
    try:
        for fmt, name, write, seq in (
            ("csv-2d", "pose2d.csv", write_csv_2d, seq2),
            ("npz-2d", "pose2d.npz", write_npz_2d, seq2),
            ("csv-3d", "pose3d.csv", write_csv_3d, seq3),
            ("npz-3d", "pose3d.npz", write_npz_3d, seq3),
        ):
            write(tmp / name, seq)
            add(fmt, name, {name: (tmp / name).read_bytes()}, "npz" if name.endswith(".npz") else "text")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return samples


# -- mutations -----------------------------------------------------------------------------------------------------

#: Tokens spliced into files: huge, non-finite, negative, long, nesting and encoding trouble.
NASTY_TOKENS = [
    b"1e400",
    b"-1e308",
    b"1e308",
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"nan",
    b"inf",
    b"9" * 400,
    b"-5",
    b"-1",
    b"0",
    b"1000000000000000",
    b"20000000",
    b"19999999",
    b"2147483648",
    b"1e-320",
    b"[" * 300,
    b"{" * 300,
    b"\x00",
    b"\xff\xfe",
    b'"',
    b",",
    b"null",
    b"true",
    b"{}",
    b"[]",
    b"\n",
    b"\r\n",
    b"#",
]

#: Values put into parsed JSON.
NASTY_VALUES = st.one_of(
    st.sampled_from(
        [
            None,
            True,
            0,
            -1,
            -5,
            10**12,
            10**15,
            10**400,
            1e308,
            -1e308,
            math.nan,
            math.inf,
            -math.inf,
            1.07,
            1.6,
            -0.5,
            "",
            "x",
            "frame_99999999999.png",
            [],
            {},
            [[]],
            [None],
            [1.0, 2.0],
            [0.0] * 51,
            [1e308] * 51,
        ]
    ),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.integers(10, 400).map(lambda n: json.loads("[" * n + "]" * n)),
)


def _nested_json_value(depth: int):
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def _json_paths(node, prefix=()):
    """Every path (tuple of keys/indices) in a parsed JSON document, lists sampled to keep it small."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _json_paths(v, prefix + (k,))
    elif isinstance(node, list):
        picks = range(len(node)) if len(node) <= 6 else [0, 1, len(node) // 2, len(node) - 1]
        for i in picks:
            yield from _json_paths(node[i], prefix + (i,))


def _get_parent(doc, path):
    node = doc
    for key in path[:-1]:
        node = node[key]
    return node


def _mutate_json(data: st.DataObject, raw: bytes) -> tuple[bytes, str]:
    doc = json.loads(raw)
    paths = list(_json_paths(doc))[1:]
    if not paths:
        return raw, "no paths"
    path = data.draw(st.sampled_from(paths), label="path")
    parent = _get_parent(doc, path)
    op = data.draw(st.sampled_from(["replace", "delete", "repeat", "nest", "retype"]), label="json op")
    key = path[-1]
    if op == "replace":
        parent[key] = data.draw(NASTY_VALUES, label="value")
    elif op == "delete":
        del parent[key]
    elif op == "repeat" and isinstance(parent, list):
        times = data.draw(st.sampled_from([2, 50, 1001, 3000]), label="times")
        if len(raw) * times > MAX_FUZZ_FILE_BYTES * 4:  # the whole document would be too large to write
            times = 2
        parent[key : key + 1] = [parent[key]] * times
    elif op == "nest":
        parent[key] = _nested_json_value(data.draw(st.sampled_from([255, 257, 5000]), label="depth"))
    else:  # retype: a number as a string, a list as a dict, ...
        value = parent[key]
        parent[key] = (
            str(value) if isinstance(value, (int, float)) else {"0": value} if isinstance(value, list) else [value]
        )
    text = json.dumps(doc, allow_nan=True, separators=(",", ":"))
    return text.encode(), f"json {op} at {list(path)[:8]}"


_NUMBER_RE = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _mutate_text_numbers(data: st.DataObject, raw: bytes) -> tuple[bytes, str]:
    spans = [m.span() for m in _NUMBER_RE.finditer(raw[:200_000])]
    if not spans:
        return raw, "no numbers"
    count = data.draw(st.integers(1, 4), label="numbers replaced")
    out = raw
    done = []
    for _ in range(count):
        spans = [m.span() for m in _NUMBER_RE.finditer(out[:200_000])]
        a, b = spans[data.draw(st.integers(0, len(spans) - 1), label="number index")]
        token = data.draw(st.sampled_from(NASTY_TOKENS[:18]), label="token")
        out = out[:a] + token + out[b:]
        done.append(token[:12].decode("latin-1"))
    return out, f"numbers -> {done}"


def _mutate_bvh_nesting(data: st.DataObject, raw: bytes) -> tuple[bytes, str]:
    depth = data.draw(st.sampled_from([100, 255, 300, 5000]), label="bvh depth")
    text = raw.decode("latin-1")
    head, sep, rest = text.partition("MOTION")
    chain = "".join(f"JOINT n{i}\n{{\nOFFSET 0 1 0\nCHANNELS 1 Xrotation\n" for i in range(depth)) + "}\n" * depth
    at = head.rfind("}")
    return (head[:at] + chain + head[at:] + sep + rest).encode("latin-1"), f"bvh nest {depth}"


def _rewrite_npy_header(member: bytes, data: st.DataObject) -> tuple[bytes, str]:
    """A member whose header claims another shape or dtype than the bytes behind it."""
    try:
        f = io.BytesIO(member)
        version = np.lib.format.read_magic(f)
        shape, fortran, dtype = np.lib.format._read_array_header(f, version)
    except Exception:  # noqa: BLE001 - already broken: leave it
        return member, "header unreadable"
    body = member[f.tell() :]
    choice = data.draw(
        st.sampled_from(["giant", "zero", "extra dim", "dtype", "negative", "object", "fortran"]), label="header"
    )
    if choice == "giant":
        shape = (10**9,) + tuple(shape[1:])
    elif choice == "zero":
        shape = (0,) + tuple(shape[1:])
    elif choice == "extra dim":
        shape = tuple(shape) + (3,)
    elif choice == "negative":
        shape = (-1,) + tuple(shape[1:])
    elif choice == "fortran":
        fortran = not fortran
    descr = {"dtype": "<c16", "object": "|O"}.get(choice, np.lib.format.dtype_to_descr(dtype))
    header = {"descr": descr, "fortran_order": fortran, "shape": tuple(shape)}
    text = repr(header).encode("latin-1")
    pad = 64 - (10 + len(text) + 1) % 64
    text = text + b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + body, f"npy header {choice}"


def _npz_members(raw: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        return {n: z.read(n) for n in z.namelist()}


def _mutate_npz(data: st.DataObject, raw: bytes) -> tuple[bytes, str]:
    members = _npz_members(raw)
    name = data.draw(st.sampled_from(sorted(members)), label="member")
    op = data.draw(st.sampled_from(["header", "values", "replace", "drop", "bytes"]), label="npz op")
    desc = f"npz {op} {name}"
    if op == "header":
        members[name], what = _rewrite_npy_header(members[name], data)
        desc += f" ({what})"
    elif op == "drop":
        del members[name]
    elif op == "bytes":
        members[name], what = _mutate_bytes(data, members[name])
        desc += f" ({what})"
    else:
        try:
            value = np.load(io.BytesIO(members[name]), allow_pickle=False)
        except ValueError:
            value = None  # an object member: replaced below
        if op == "values" and value is not None and value.dtype.kind == "f" and value.size:
            value = value.copy()
            flat = value.reshape(-1)
            idx = data.draw(st.integers(0, flat.size - 1), label="index")
            flat[idx] = data.draw(st.sampled_from([np.nan, np.inf, -np.inf, 1e308, -1e38, 3e38, 1e7]), label="v")
            if data.draw(st.booleans(), label="all"):
                flat[:] = flat[idx]
        else:
            value = data.draw(
                st.sampled_from(
                    [
                        np.zeros((0, 17, 2)),
                        np.ones((3, 17)),
                        np.ones((2, 17, 2), np.float16),
                        np.full((2, 17, 2), 2**62, np.int64),
                        np.ones((2, 17, 2), complex),
                        np.array(["a", "b"]),
                        np.array(b"\xff\xfe"),
                        np.array(1e308),
                        np.array(-5),
                        np.array(10**18),
                        np.ones((1000, 1, 2)),
                        np.ones((2, 1001, 2)),
                        np.array(True),
                    ]
                ),
                label="array",
            )
        members[name] = _npy_bytes(value)
    buf = io.BytesIO()
    compressed = data.draw(st.booleans(), label="compressed")
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED) as z:
        for n, b in members.items():
            z.writestr(n, b)
    return buf.getvalue(), desc


def _mutate_bytes(data: st.DataObject, raw: bytes) -> tuple[bytes, str]:
    n = len(raw)
    op = data.draw(st.sampled_from(["truncate", "flip", "insert", "delete", "duplicate", "empty"]), label="byte op")
    if op == "empty" or n == 0:
        return b"", "empty"
    pos = data.draw(st.integers(0, n - 1), label="pos")
    if op == "truncate":
        return raw[:pos], f"truncate at {pos}"
    if op == "flip":
        bit = data.draw(st.integers(0, 7), label="bit")
        return raw[:pos] + bytes([raw[pos] ^ (1 << bit)]) + raw[pos + 1 :], f"flip bit {bit} at {pos}"
    if op == "insert":
        token = data.draw(st.sampled_from(NASTY_TOKENS), label="token")
        return raw[:pos] + token + raw[pos:], f"insert {token[:12]!r} at {pos}"
    length = data.draw(st.integers(1, max(1, min(4096, n - pos))), label="length")
    if op == "delete":
        return raw[:pos] + raw[pos + length :], f"delete {length} at {pos}"
    return raw[: pos + length] + raw[pos : pos + length] * 3 + raw[pos + length :], f"duplicate {length} at {pos}"


def mutate(data: st.DataObject, sample: Sample) -> tuple[dict[str, bytes], str]:
    """Mutated files of ``sample`` and a one-line description of what was done (drawn from ``data``)."""
    # casting 1e308 into float32 or reading a header numpy finds odd is the point, not a problem
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _mutate(data, sample)


def _mutate(data: st.DataObject, sample: Sample) -> tuple[dict[str, bytes], str]:
    files = dict(sample.files)
    raw = files[sample.main]
    kinds = ["bytes"]
    if sample.kind == "json":
        kinds += ["json", "json", "numbers"]
    elif sample.kind == "text":
        kinds += ["numbers", "numbers"] + (["bvh nest"] if sample.fmt == "bvh" else [])
    elif sample.kind in ("npz",):
        kinds += ["npz", "npz"]
    elif sample.kind == "npy":
        kinds += ["npy header", "npy values"]
    rounds = data.draw(st.integers(1, 2), label="rounds")
    descs = []
    for _ in range(rounds):
        kind = data.draw(st.sampled_from(kinds), label="kind")
        try:
            if kind == "json":
                raw, desc = _mutate_json(data, raw)
            elif kind == "numbers":
                raw, desc = _mutate_text_numbers(data, raw)
            elif kind == "bvh nest":
                raw, desc = _mutate_bvh_nesting(data, raw)
            elif kind == "npz":
                raw, desc = _mutate_npz(data, raw)
            elif kind == "npy header":
                raw, desc = _rewrite_npy_header(raw, data)
            elif kind == "npy values":
                value = np.load(io.BytesIO(raw)).copy()
                flat = value.reshape(-1)
                flat[data.draw(st.integers(0, flat.size - 1))] = data.draw(
                    st.sampled_from([np.nan, np.inf, 1e308, -1e30, 3e38])
                )
                raw, desc = _npy_bytes(value), "npy value"
            else:
                raw, desc = _mutate_bytes(data, raw)
        except Exception:  # noqa: BLE001 - an earlier round broke the structure numpy/json parse
            raw, desc = _mutate_bytes(data, raw)  # an earlier round broke the structure: fall back to bytes
        if len(raw) > MAX_FUZZ_FILE_BYTES:
            raw, desc = raw[:MAX_FUZZ_FILE_BYTES], desc + f" (cut to {MAX_FUZZ_FILE_BYTES >> 20} MiB)"
        descs.append(desc)
    files[sample.main] = raw
    return files, "; ".join(descs)


# -- the worker ----------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one read gave: ``kind`` "ok", "bad-input" (PoseDataError), "exception", "died" or "hang"."""

    kind: str
    detail: str = ""
    peak_rss: int = 0  # bytes, the worker's high-water mark so far

    @property
    def failed(self) -> bool:
        return self.kind not in ("ok", "bad-input")


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _worker_main(conn, memory_limit: int, cpu_limit_s: float, warmup: tuple[dict[str, bytes], str] | None) -> None:
    import resource
    import traceback

    from mpm_core.cli.info import describe
    from mpm_core.errors import PoseDataError

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    folder = Path(tempfile.mkdtemp(prefix="fuzz-worker-"))
    if warmup is not None:  # the clean sample once: the lazy imports of a read belong to the baseline
        for name, data in warmup[0].items():
            (folder / name).write_bytes(data)
        describe(str(folder / warmup[1]))
        for name in warmup[0]:
            (folder / name).unlink()
    baseline = _vm_size()
    _, hard_as = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (baseline + memory_limit, hard_as))
    _, hard_cpu = resource.getrlimit(resource.RLIMIT_CPU)
    conn.send(("ready", baseline, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024))
    try:
        while True:
            msg = conn.recv()
            if msg is None:
                break
            files, main = msg
            case = folder / "case"
            shutil.rmtree(case, ignore_errors=True)
            case.mkdir()
            for name, data in files.items():
                (case / name).write_bytes(data)
            usage = resource.getrusage(resource.RUSAGE_SELF)
            used = usage.ru_utime + usage.ru_stime
            resource.setrlimit(resource.RLIMIT_CPU, (math.ceil(used + cpu_limit_s), hard_cpu))
            try:
                describe(str(case / main))
                kind, detail = "ok", ""
            except PoseDataError as exc:
                kind, detail = "bad-input", str(exc)[:300]
            except BaseException as exc:  # noqa: BLE001 - exactly what the fuzzer looks for
                kind = "exception"
                detail = f"{type(exc).__name__}: {str(exc)[:300]}\n" + "".join(traceback.format_exc()[-3000:])
            finally:
                resource.setrlimit(resource.RLIMIT_CPU, (hard_cpu, hard_cpu))
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            conn.send((kind, detail, rss))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class ReaderWorker:
    """One worker process for one format; restarted after a case that killed it."""

    memory_limit: int = MEMORY_LIMIT_BYTES
    cpu_limit_s: float = CPU_LIMIT_S
    wall_guard_s: float = WALL_GUARD_S
    restarts: int = 0
    baseline_vm: int = 0
    baseline_rss: int = 0
    warmup: tuple[dict[str, bytes], str] | None = None
    _proc: multiprocessing.Process | None = field(default=None, repr=False)
    _conn: object = field(default=None, repr=False)

    def _start(self) -> None:
        ctx = multiprocessing.get_context(
            "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "fork"
        )
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_worker_main, args=(child, self.memory_limit, self.cpu_limit_s, self.warmup), daemon=True
        )
        self._proc.start()
        child.close()
        self._conn = parent
        if not parent.poll(self.wall_guard_s):
            raise RuntimeError("fuzz worker did not start")
        _, self.baseline_vm, self.baseline_rss = parent.recv()

    def run(self, files: dict[str, bytes], main: str) -> Outcome:
        if self._proc is None or not self._proc.is_alive():
            self._start()
        try:
            self._conn.send((files, main))
            if not self._conn.poll(self.wall_guard_s):
                self._kill()
                return Outcome("hang", f"no answer within {self.wall_guard_s:g} s of wall time (blocked?)")
            kind, detail, rss = self._conn.recv()
            return Outcome(kind, detail, rss)
        except (EOFError, OSError, BrokenPipeError):
            code = self._proc.exitcode if self._proc is not None else None
            self._proc.join(5)
            code = self._proc.exitcode
            self._kill()
            reason = {-24: "SIGXCPU: CPU limit", -9: "SIGKILL", -11: "SIGSEGV", -6: "SIGABRT"}.get(code, "")
            return Outcome("died", f"worker exit code {code} {reason}".strip())

    def _kill(self) -> None:
        if self._proc is not None:
            if self._proc.is_alive():
                self._proc.kill()
            self._proc.join(10)
        self._proc = None
        self.restarts += 1

    def close(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            try:
                self._conn.send(None)
                self._proc.join(10)
            except (OSError, BrokenPipeError):
                pass
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(5)
        self._proc = None
