"""The canonical CSV/NPZ formats: property-based round trips and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mpm_core.errors import PoseDataError
from mpm_core.io import load_2d, load_3d, read_2d, read_3d
from mpm_core.io.canonical import read_csv_3d, read_npz_3d, write_csv_2d, write_csv_3d, write_npz_2d, write_npz_3d
from mpm_core.sequence import PoseSequence2D, PoseSequence3D
from mpm_core.skeleton import LAYOUTS

LAYOUT_NAMES = ["h36m17", "coco17", "body25", "halpe26"]
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def sequences(draw, dims: int):
    layout = LAYOUTS[draw(st.sampled_from(LAYOUT_NAMES))]
    t = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    scale = 2000.0 if dims == 2 else 3.0
    kp = (rng.standard_normal((t, layout.num_joints, dims)) * scale).astype(np.float32)
    visible = rng.random((t, layout.num_joints)) > draw(st.sampled_from([0.0, 0.3, 1.0]))
    visible[0, 0] = True  # a file with no visible joint at all is refused (issue 17)
    scores = rng.random((t, layout.num_joints)).astype(np.float32)
    fps = draw(st.sampled_from([30.0, 29.97, 23.976, 1.0, 0.5, 120.0, 1000 / 7]))
    start = draw(st.integers(-5, 10_000))
    if dims == 2:
        size = draw(st.sampled_from([None, (1920, 1080), (1, 1)]))
        return PoseSequence2D(kp, scores, visible, fps, layout.name, draw(st.sampled_from([None, 3])), "", start, size)
    coords = draw(st.sampled_from(["camera", "world"]))
    return PoseSequence3D(kp, scores, visible, fps, layout.name, None, "", start, units="m", coords=coords)


def _same(a, b, with_scores=True):
    assert a.layout == b.layout and a.num_frames == b.num_frames and a.start_frame == b.start_frame
    assert a.fps == pytest.approx(b.fps, rel=1e-12)
    np.testing.assert_array_equal(a.visible, b.visible)
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    if with_scores:
        np.testing.assert_array_equal(a.scores, b.scores)


@SETTINGS
@given(seq=sequences(2))
def test_roundtrip_csv_2d(tmp_path, seq):
    path = tmp_path / "pose.csv"
    write_csv_2d(path, seq)
    back = read_2d(path)
    _same(seq, back)
    assert back.image_size == seq.image_size
    assert back.person_id == (0 if seq.person_id is None else seq.person_id)


@SETTINGS
@given(seq=sequences(2))
def test_roundtrip_npz_2d(tmp_path, seq):
    path = tmp_path / "pose.npz"
    write_npz_2d(path, seq)
    loaded = load_2d(path)
    assert loaded.fps_source == "file"
    _same(seq, loaded.tracks[0])
    assert loaded.tracks[0].image_size == seq.image_size
    with np.load(path, allow_pickle=False) as data:  # no object arrays
        assert data["keypoints"].dtype == np.float32


@SETTINGS
@given(seq=sequences(3), with_hidden=st.booleans())
def test_roundtrip_3d(tmp_path, seq, with_hidden):
    hidden = (np.arange(seq.visible.size).reshape(seq.visible.shape) % 3 == 0) if with_hidden else None
    for name, write, read in (("p.csv", write_csv_3d, read_csv_3d), ("p.npz", write_npz_3d, read_npz_3d)):
        write(tmp_path / name, seq, hidden)
        back = read(tmp_path / name)
        _same(seq, back.sequence, with_scores=name.endswith(".npz"))
        assert back.sequence.coords == seq.coords and back.sequence.units == "m"
        if with_hidden:
            np.testing.assert_array_equal(back.hidden, hidden)
        else:
            assert back.hidden is None
        assert read_3d(tmp_path / name).num_frames == seq.num_frames


def test_3d_csv_units_and_time_fps(tmp_path):
    p = tmp_path / "mm.csv"
    p.write_text("# coords=world\n# units=mm\nframe,time_s,pelvis_x,pelvis_y,pelvis_z\n0,0,1000,0,0\n1,0.04,2000,,\n")
    # a 1-joint file matches no layout: name it
    with pytest.raises(PoseDataError, match="match no known layout"):
        read_3d(p)
    names = LAYOUTS["h36m17"].joint_names
    header = "frame,time_s," + ",".join(f"{n}_{c}" for n in names for c in "xyz")
    rows = ["0,0," + ",".join(["1000"] * 51), "1,0.04," + ",".join(["2000"] * 48 + ["", "", ""])]
    p.write_text("# coords=world\n# units=mm\n" + header + "\n" + "\n".join(rows) + "\n")
    loaded = load_3d(p)
    seq = loaded.sequence
    assert seq.units == "m" and seq.keypoints[0, 0, 0] == pytest.approx(1.0)
    assert seq.fps == pytest.approx(25.0) and loaded.fps_source == "file"  # from time_s
    assert not seq.visible[1, 16] and seq.visible[1, 15]


def _csv2d(tmp_path, rows, meta="# fps=25\n", layout="coco17"):
    names = LAYOUTS[layout].joint_names
    header = "frame," + ",".join(f"{n}_{c}" for n in names for c in ("x", "y", "score"))
    p = tmp_path / "pose.csv"
    p.write_text(meta + header + "\n" + "".join(r + "\n" for r in rows))
    return p


def _row(frame, value="1.5", joints=17):
    return f"{frame}," + ",".join([value] * joints * 3)


def test_csv_non_numeric_names_line_and_column(tmp_path):
    bad = _row(1).split(",")
    bad[5] = "abc"  # left_eye_y
    p = _csv2d(tmp_path, [_row(0), ",".join(bad)])
    with pytest.raises(PoseDataError, match=r"pose.csv: line 4 column 'left_eye_y': 'abc' is not a number"):
        read_2d(p)


def test_csv_missing_cell_and_gap(tmp_path):
    cells = _row(2).split(",")
    cells[1:4] = ["", "", ""]
    seq = read_2d(_csv2d(tmp_path, [_row(0), ",".join(cells)]))
    assert seq.num_frames == 3 and not seq.visible[1].any()
    assert not seq.visible[2, 0] and seq.visible[2, 1:].all()
    assert seq.fps == 25.0


def test_csv_bad_inputs(tmp_path):
    cases = [
        ([_row(0), _row(0)], "# fps=25\n", r"line 4: duplicate frame number 0"),
        ([_row(0), _row(1)[:-4]], "# fps=25\n", r"line 4: 51 cells but the header has 52"),
        ([], "# fps=25\n", "zero frames"),
        ([_row(0)], "# fps=-3\n", r"'# fps=' line: fps -3.0 is not in"),
        ([_row(0)], "# fps=100000\n", r"fps 100000.0 is not in"),
        ([_row(0)], "# fps=abc\n", r"fps='abc' is not a number"),
        ([_row(0)], "# person_id=2.5\n", r"'# person_id=' line: person_id='2.5' is not a whole number"),
        ([_row(0)], "# layout=nosuch\n", r"unknown layout 'nosuch'"),
        ([_row(0)], "# layout=body25\n", r"columns do not match layout body25"),
        ([_row(0)], "# width=640\n", r"width=' and '# height=' must be given together"),
        (["x" + _row(0)], "", r"line 2 column 'frame': frame 'x0' is not a whole number"),
    ]
    for rows, meta, message in cases:
        with pytest.raises(PoseDataError, match=message):
            read_2d(_csv2d(tmp_path, rows, meta))
    p = tmp_path / "empty.csv"
    p.write_text("")
    with pytest.raises(PoseDataError, match="empty.csv: file is empty"):
        read_2d(p)


def test_csv_half_a_joint(tmp_path):
    cells = _row(0).split(",")
    cells[1] = ""
    with pytest.raises(PoseDataError, match=r"line 3: joint 'nose' has only one of x and y"):
        read_2d(_csv2d(tmp_path, [",".join(cells)]))


def test_npz_bad_inputs(tmp_path):
    p = tmp_path / "pose.npz"
    kp = np.zeros((3, 17, 2), np.float32)
    np.savez(p, keypoints=kp, scores=np.ones((3, 17)), fps=-1.0, layout="coco17")
    with pytest.raises(PoseDataError, match="key 'fps': fps -1.0 is not in"):
        read_2d(p)
    np.savez(p, keypoints=kp, fps=30.0, layout="body25")
    with pytest.raises(PoseDataError, match="layout body25 has 25 joints but the arrays have 17"):
        read_2d(p)
    np.savez(p, keypoints=np.zeros((0, 17, 2)), fps=30.0, layout="coco17")
    with pytest.raises(PoseDataError, match="zero frames"):
        read_2d(p)
    np.savez(p, keypoints=np.array([[None]], dtype=object), fps=30.0, layout="coco17")
    with pytest.raises(PoseDataError, match="pose.npz: key .keypoints.: cannot read arrays"):
        read_2d(p)
    write_npz_2d(p, PoseSequence2D(kp, layout="coco17"))
    p.write_bytes(p.read_bytes()[:300])
    with pytest.raises(PoseDataError, match="pose.npz: not a valid .npz"):
        read_2d(p)


def test_writers_are_atomic(tmp_path):
    seq = PoseSequence3D(np.zeros((2, 17, 3)), layout="h36m17")
    p = tmp_path / "out.csv"
    p.write_text("old")
    with pytest.raises(PoseDataError, match="hidden flags"):
        write_csv_3d(p, seq, hidden=np.zeros((3, 17), bool))
    assert p.read_text() == "old"
    assert [f.name for f in tmp_path.iterdir()] == ["out.csv"]


def test_fps_priority_file_name_then_default(tmp_path):
    seq = PoseSequence2D(np.ones((3, 17, 2)), layout="coco17", fps=30)
    named = tmp_path / "clip_60fps.csv"
    write_csv_2d(named, seq)
    named.write_text("\n".join(line for line in named.read_text().splitlines() if not line.startswith("# fps")) + "\n")
    loaded = load_2d(named)
    assert loaded.fps == 60 and loaded.fps_source == "file name"
    assert load_2d(named, fps=12.5).fps_source == "argument"
    plain = tmp_path / "clip.csv"
    plain.write_text(named.read_text())
    loaded = load_2d(plain)
    assert loaded.fps == 30 and loaded.fps_source == "default"
    write_csv_2d(plain, seq.replace(fps=48))
    assert load_2d(plain).fps_source == "file"
