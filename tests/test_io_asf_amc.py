"""ASF/AMC reader: Acclaim kinematics against scipy, units, ASF pairing, real files and malformed input."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mpm_core.errors import PoseDataError
from mpm_core.io.asf_amc import find_asf, load_amc_h36m, parse_amc, parse_asf, read_amc, read_asf

CHARLESTON_AMC = "mocap/cmu_asfamc/charleston1.amc"
CHARLESTON_ASF = "mocap/cmu_asfamc/charleston.asf"
HDM_AMC = "mocap/hdm05/HDM_dg_06-03_03_120.amc"
HDM_ASF = "mocap/hdm05/HDM_dg.asf"

TOY_ASF = """\
# toy skeleton
:version 1.10
:name toy
:units
  mass 1.0
  length {mult}
  angle {angle}
:documentation
  two bones
:root
   order TX TY TZ RX RY RZ
   axis XYZ
   position 0 0 0
   orientation 0 0 0
:bonedata
  begin
     id 1
     name upper
     direction 0 -1 0
     length {l1}
     axis {a1} XYZ
    dof rx ry rz
    limits (-160.0 20.0)
           (-70.0 70.0)
           (-60.0 70.0)
  end
  begin
     id 2
     name lower
     direction 0.6 -0.8 0
     length {l2}
     axis {a2} ZYX
    dof rz rx
  end
:hierarchy
  begin
    root upper
    upper lower
  end
"""


def _toy(mult=1.0, angle="deg", scale=1.0, a1=(10.0, 20.0, 30.0), a2=(-15.0, 40.0, 5.0)) -> str:
    conv = (lambda v: v) if angle == "deg" else np.radians
    fmt = lambda a: " ".join(f"{conv(v):.12g}" for v in a)  # noqa: E731
    return TOY_ASF.format(mult=mult, angle=angle, l1=2.0 * scale, l2=3.0 * scale, a1=fmt(a1), a2=fmt(a2))


def _toy_amc(root: np.ndarray, upper: np.ndarray, lower: np.ndarray, radians: bool = False) -> str:
    out = [":FULLY-SPECIFIED", ":RADIANS" if radians else ":DEGREES"]
    for i in range(len(root)):
        out.append(str(i + 1))
        out.append("root " + " ".join(f"{v:.12g}" for v in root[i]))
        out.append("upper " + " ".join(f"{v:.12g}" for v in upper[i]))
        out.append("lower " + " ".join(f"{v:.12g}" for v in lower[i]))
    return "\n".join(out) + "\n"


def _toy_motion(seed: int = 0, t: int = 5):
    rng = np.random.default_rng(seed)
    root = np.hstack([rng.uniform(-10, 10, (t, 3)), rng.uniform(-170, 170, (t, 3))])
    return root, rng.uniform(-120, 120, (t, 3)), rng.uniform(-120, 120, (t, 2))


def test_acclaim_kinematics_match_scipy() -> None:
    root, upper, lower = _toy_motion()
    motion = parse_amc(_toy_amc(root, upper, lower), parse_asf(_toy()))
    pts, rots = motion.forward_kinematics()
    assert motion.point_names == ["root", "upper", "lower", "lower_End"]

    # ASF "XYZ" = rotate about fixed X, then Y, then Z: scipy's lower-case (extrinsic) sequence.
    def ext(order, angles):
        return Rotation.from_euler(order.lower(), angles, degrees=True).as_matrix()

    c1, c2 = ext("XYZ", [10, 20, 30]), ext("ZYX", [-15, 40, 5])
    r_root = ext("XYZ", root[:, 3:])
    r_upper = r_root @ c1 @ ext("XYZ", upper) @ c1.T
    r_lower = r_upper @ c2 @ ext("ZX", lower) @ c2.T
    knee = root[:, :3] + np.einsum("tab,b->ta", r_upper, [0, -2.0, 0])
    foot = knee + np.einsum("tab,b->ta", r_lower, [1.8, -2.4, 0])
    np.testing.assert_allclose(pts[:, 0], root[:, :3], atol=1e-9)
    np.testing.assert_allclose(pts[:, 1], root[:, :3], atol=1e-9)  # a bone's point is its START
    np.testing.assert_allclose(pts[:, 2], knee, atol=1e-9)
    np.testing.assert_allclose(pts[:, 3], foot, atol=1e-9)
    np.testing.assert_allclose(rots["lower"], r_lower, atol=1e-9)


def test_radians_and_length_multiplier_give_the_same_pose() -> None:
    root, upper, lower = _toy_motion(seed=3)
    ref, _ = parse_amc(_toy_amc(root, upper, lower), parse_asf(_toy())).forward_kinematics()
    rad_root = np.hstack([root[:, :3], np.radians(root[:, 3:])])
    rad, _ = parse_amc(
        _toy_amc(rad_root, np.radians(upper), np.radians(lower), radians=True), parse_asf(_toy(angle="rad"))
    ).forward_kinematics()
    np.testing.assert_allclose(rad, ref, atol=1e-9)
    # Same body in units twice as small (length 0.5 -> 1 unit = 2 inches): metres must agree.
    sk1, sk2 = parse_asf(_toy(mult=1.0)), parse_asf(_toy(mult=2.0, scale=2.0))
    doubled = np.hstack([root[:, :3] * 2, root[:, 3:]])
    p1, _ = parse_amc(_toy_amc(root, upper, lower), sk1).forward_kinematics()
    p2, _ = parse_amc(_toy_amc(doubled, upper, lower), sk2).forward_kinematics()
    np.testing.assert_allclose(p1 * sk1.metres_per_unit, p2 * sk2.metres_per_unit, atol=1e-12)
    assert sk1.metres_per_unit == pytest.approx(0.0254)


def test_real_cmu_and_hdm05(shared_data) -> None:
    seq, info = load_amc_h36m(shared_data(CHARLESTON_AMC), return_info=True)
    assert seq.num_frames == 506 and seq.fps == 120.0 and seq.units == "m" and seq.layout == "h36m17"
    assert info.scale == pytest.approx(0.0254 / 0.45)
    assert info.landmarks["left_hip"] == "lfemur" and info.landmarks["head_top"] == "head_End"
    hdm_asf = read_asf(shared_data(HDM_ASF))  # has a Latin-1 byte in a comment
    assert len(hdm_asf.bones) == 30 and hdm_asf.length_multiplier == pytest.approx(0.45)
    hdm = load_amc_h36m(shared_data(HDM_AMC), fps=60.0)
    assert hdm.num_frames == 202 and hdm.fps == 60.0


def test_find_asf_pairing_rules(shared_data, tmp_path) -> None:
    assert find_asf(shared_data(CHARLESTON_AMC)).name == "charleston.asf"  # trailing digits stripped
    assert find_asf(shared_data("mocap/cmu_asfamc/zombie.amc")).name == "zombie.asf"  # same stem
    assert find_asf(shared_data(HDM_AMC)).name == "HDM_dg.asf"  # single .asf in the folder
    amc = tmp_path / "HDM_dg_01.amc"
    amc.write_text("1\n")
    for name in ("HDM_dg.asf", "HDM.asf", "other.asf"):
        (tmp_path / name).write_text("")
    assert find_asf(amc).name == "HDM_dg.asf"  # longest stem prefix
    lonely = tmp_path / "x" / "walk.amc"
    lonely.parent.mkdir()
    lonely.write_text("1\n")
    (lonely.parent / "a.asf").write_text("")
    (lonely.parent / "b.asf").write_text("")
    with pytest.raises(PoseDataError, match=r"a\.asf, b\.asf"):
        find_asf(lonely)


# -- malformed input, built from the real charleston files -----------------------------------------------------


@pytest.fixture
def pair(shared_data, tmp_path):
    asf = tmp_path / "charleston.asf"
    shutil.copy(shared_data(CHARLESTON_ASF), asf)
    lines = shared_data(CHARLESTON_AMC).read_text(encoding="latin-1").splitlines()
    lines = lines[: lines.index("13")]  # the first 12 frames
    return asf, lines


def _expect_amc(tmp_path, asf, lines: list[str], *fragments: str) -> None:
    amc = tmp_path / "bad.amc"
    amc.write_text("\n".join(lines) + "\n")
    with pytest.raises(PoseDataError) as err:
        read_amc(amc, asf)
    msg = str(err.value)
    assert str(amc) in msg
    for frag in fragments:
        assert frag in msg, msg


def _line_of(lines: list[str], prefix: str, nth: int = 0) -> int:
    return [i for i, s in enumerate(lines) if s.startswith(prefix)][nth]


def test_the_trimmed_real_pair_reads(tmp_path, pair) -> None:
    asf, lines = pair
    amc = tmp_path / "ok.amc"
    amc.write_text("\n".join(lines) + "\n")
    motion = read_amc(amc, asf)
    assert motion.num_frames == 12 and list(motion.frame_numbers) == list(range(1, 13))


def test_amc_bone_not_in_asf(tmp_path, pair) -> None:
    asf, lines = pair
    k = _line_of(lines, "lhumerus", 3)
    lines[k] = lines[k].replace("lhumerus", "lupperarm")
    _expect_amc(tmp_path, asf, lines, "bone 'lupperarm' is not in the ASF", f"line {k + 1}")


def test_amc_value_count_mismatch_names_frame(tmp_path, pair) -> None:
    asf, lines = pair
    k = _line_of(lines, "ltibia", 4)
    lines[k] += " 1.0"
    _expect_amc(tmp_path, asf, lines, "frame 5", "'ltibia' has 2 values, the ASF gives it 1 dof")


def test_amc_bone_missing_from_one_frame(tmp_path, pair) -> None:
    asf, lines = pair
    del lines[_line_of(lines, "rfoot", 6)]
    _expect_amc(tmp_path, asf, lines, "frame 7", "'rfoot' is missing")


def test_amc_bone_missing_from_every_frame_keeps_rest_pose(tmp_path, pair) -> None:
    asf, lines = pair
    lines = [s for s in lines if not s.startswith("lthumb")]
    amc = tmp_path / "nothumb.amc"
    amc.write_text("\n".join(lines) + "\n")
    motion = read_amc(amc, asf)
    assert "lthumb" not in motion.bones and any("lthumb" in n for n in motion.notes)


def test_amc_non_numeric_and_frame_gap(tmp_path, pair) -> None:
    asf, lines = pair
    bad = list(lines)
    k = _line_of(bad, "head", 2)
    bad[k] = "head 1.0 x2 3.0"
    _expect_amc(tmp_path, asf, bad, "'x2' is not a number", "frame 3")
    gap = list(lines)
    k = _line_of(gap, "4")
    gap[k] = "5"
    _expect_amc(tmp_path, asf, gap, "frame number 5 follows 3", f"line {k + 1}")


def test_amc_zero_frames_and_empty(tmp_path, pair) -> None:
    asf, lines = pair
    _expect_amc(tmp_path, asf, lines[:3], "zero frames")
    _expect_amc(tmp_path, asf, [""], "empty AMC file")


def test_asf_errors(tmp_path, shared_data) -> None:
    text = shared_data(CHARLESTON_ASF).read_text(encoding="latin-1")
    cut = tmp_path / "nohier.asf"
    cut.write_text(text.split(":hierarchy")[0])
    with pytest.raises(PoseDataError, match="no :hierarchy section"):
        read_asf(cut)
    unknown = tmp_path / "unknown.asf"
    unknown.write_text(text.replace("lfemur ltibia", "lfemur lshin"))
    with pytest.raises(PoseDataError, match="'lshin', which :bonedata does not define"):
        read_asf(unknown)
    bad_num = tmp_path / "badnum.asf"
    bad_num.write_text(re.sub(r"length 7\.75596", "length seven", text, count=1))
    with pytest.raises(PoseDataError, match=r"length.*line \d+|line \d+: length"):
        read_asf(bad_num)
    with pytest.raises(PoseDataError, match="empty ASF"):
        parse_asf("# only a comment\n")
