"""BVH writer: forward kinematics of the written file (read back with the project's BVH reader) reproduces the
bone-normalised positions on every joint and frame; Euler angles stay continuous; Blender's importer agrees."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mpm_core.engine.cleanup import normalize_bone_lengths
from mpm_core.engine.world import LEVEL_CAMERA
from mpm_core.errors import PoseDataError
from mpm_core.export.bvh_presets import BVH_PRESETS, PRESETS
from mpm_core.export.bvh_writer import BVH_JOINT_NAMES, EULER_ORDER, Y_TO_Z_UP, build_bvh, write_bvh
from mpm_core.io.bvh import load_bvh_h36m, read_bvh
from mpm_core.sequence import PoseSequence3D
from mpm_core.skeleton import H36M_JOINTS
from tests.synthetic_motion import planted_walk, walk_world

TOLERANCE_M = 1e-3  # the bound: 1 mm on every joint and frame
REPO = Path(__file__).resolve().parent.parent


def _read_back(path: Path) -> tuple[np.ndarray, np.ndarray, object]:
    """``(joints (T, 17, 3), end sites (T, 5, 3), motion)`` from the file, in its units."""
    motion = read_bvh(path)
    pos, _ = motion.forward_kinematics()
    names = motion.point_names
    ends = [n for n in names if n.endswith("_End")]
    return pos[:, [names.index(n) for n in H36M_JOINTS]], pos[:, [names.index(n) for n in ends]], motion


def _roundtrip_error(tmp_path: Path, seq: PoseSequence3D, units: str = "cm", up_axis: str = "y") -> float:
    anim = write_bvh(tmp_path / "out.bvh", seq, units, up_axis)
    joints, _, motion = _read_back(tmp_path / "out.bvh")
    assert motion.num_frames == seq.num_frames
    assert motion.frame_time == pytest.approx(1.0 / seq.fps, rel=1e-8)
    scale = {"cm": 100.0, "m": 1.0}[units]
    return float(np.abs(joints - anim.target_positions).max() / scale)


def test_noisy_synthetic_roundtrip_within_1mm(tmp_path):
    world = walk_world(90) + np.random.default_rng(0).normal(0.0, 0.01, (90, 17, 3))
    seq = PoseSequence3D(world, fps=30.0, coords="world")
    for units, up in (("cm", "y"), ("m", "y"), ("cm", "z")):
        err = _roundtrip_error(tmp_path, seq, units, up)
        print(f"BVH round trip ({units}, {up} up), noisy synthetic: max error {err * 1e6:.2f} um")
        assert err < TOLERANCE_M
    # The targets are the input with bone lengths normalised (here in cm, Y up): nothing else changed.
    anim = build_bvh(seq, "cm", "y")
    np.testing.assert_allclose(anim.target_positions / 100.0, normalize_bone_lengths(world), atol=1e-5)


@pytest.mark.parametrize(
    "clip_name",
    ["reactidle/003_genuine.bvh", "bandai/dataset-1_dash_normal_001.bvh"],  # idle 24 fps; sprint 30 fps
)
def test_real_mocap_roundtrip_within_1mm(tmp_path, shared_data, clip_name):
    clip = load_bvh_h36m(shared_data(f"mocap/{clip_name}"))
    seq = clip.slice(0, min(150, clip.num_frames))
    err = _roundtrip_error(tmp_path, seq)
    print(f"BVH round trip, {clip_name} ({seq.num_frames} frames): max error {err * 1e6:.2f} um")
    assert err < TOLERANCE_M
    anim = build_bvh(seq, "m")
    # Bone normalisation moves real mocap joints by little (their bones are rigid already, up to the H36M recipe).
    assert np.abs(anim.target_positions - seq.keypoints).max() < 0.05


def test_camera_frame_sequence_exports_y_up(tmp_path):
    cam = walk_world(40) @ LEVEL_CAMERA.T  # the world seen by a level camera: y down, z forward
    cam = cam - cam[:, :1]  # root-relative, as the model gives it
    seq = PoseSequence3D(cam, fps=25.0, coords="camera")
    assert _roundtrip_error(tmp_path, seq) < TOLERANCE_M
    anim = build_bvh(seq, "m")
    # Y up: the head is above the pelvis and the ankles below it.
    assert (anim.target_positions[:, 10, 1] > 0.5).all() and (
        anim.target_positions[:, [3, 6], 1].min(axis=1) < -0.8
    ).all()


def test_z_up_and_units_are_the_y_up_file_turned_and_scaled(tmp_path):
    seq = PoseSequence3D(walk_world(30), fps=30.0, coords="world")
    y_cm = build_bvh(seq, "cm", "y")
    z_m = build_bvh(seq, "m", "z")
    np.testing.assert_allclose(z_m.target_positions * 100.0, y_cm.target_positions @ Y_TO_Z_UP.T, atol=1e-9)
    np.testing.assert_allclose(z_m.offsets * 100.0, y_cm.offsets @ Y_TO_Z_UP.T, atol=1e-9)
    assert (z_m.target_positions[:, 10, 2] > 1.3).all()  # head high on +Z


def test_hierarchy_channels_and_end_sites(tmp_path):
    seq = PoseSequence3D(walk_world(10), fps=50.0, coords="world")
    write_bvh(tmp_path / "h.bvh", seq)
    joints, ends, motion = _read_back(tmp_path / "h.bvh")
    assert tuple(motion.joint_names) == BVH_JOINT_NAMES
    assert set(H36M_JOINTS) <= set(motion.joint_names)
    assert motion.channels[0] == ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")
    assert all(ch == ("Zrotation", "Xrotation", "Yrotation") for ch in motion.channels[1:])
    # End Sites after the head and both wrists and ankles, each some cm beyond its joint.
    parents = sorted(motion.joint_names[p] for p, _ in motion.end_sites)
    assert parents == sorted(["head", "left_wrist", "right_wrist", "left_ankle", "right_ankle"])
    for k, (p, _) in enumerate(motion.end_sites):
        gap = np.linalg.norm(ends[:, k] - joints[:, H36M_JOINTS.index(motion.joint_names[p])], axis=-1)
        assert (gap > 3.0).all() and (gap < 30.0).all()  # cm
    # The feet point forward of the ankles (toward the walking direction, +Z at the start).
    foot = motion.end_site_names.index("left_ankle_End")
    assert ends[0, foot, 2] > joints[0, 6, 2]
    # Rest pose: a T-pose (arms out along X, legs down), symmetric.
    off = dict(zip(motion.joint_names, motion.offsets))
    assert off["left_shoulder"][0] > 0 and off["right_shoulder"][0] == pytest.approx(-off["left_shoulder"][0])
    assert off["left_knee"][1] < 0 and off["spine"][1] > 0


def test_euler_angles_have_no_flips():
    world = walk_world(120)
    anim = build_bvh(PoseSequence3D(world, fps=30.0, coords="world"))
    e = anim.euler_deg
    rot = Rotation.from_euler(EULER_ORDER, e.reshape(-1, 3), degrees=True).as_matrix().reshape(e.shape[:2] + (3, 3))
    cos = (np.einsum("tjab,tjab->tj", rot[1:], rot[:-1]) - 1.0) / 2.0
    geodesic = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    steps = np.abs(np.diff(e, axis=0)).max(axis=2)
    print(f"largest Euler step {steps.max():.1f} deg, largest rotation step {geodesic.max():.1f} deg")
    assert steps.max() < 20.0  # a smooth walk at 30 fps
    assert (steps <= 2.0 * geodesic + 0.05).all()  # no wraps: angles change about as much as the rotation
    # A spin about the vertical axis past 180 deg keeps counting instead of wrapping to -180.
    turn = np.array(
        [Rotation.from_euler("y", a, degrees=True).apply(world[0] - world[0, 0]) for a in np.linspace(0, 350, 36)]
    )
    spun = build_bvh(PoseSequence3D(turn, fps=30.0, coords="world"))
    yaw = spun.euler_deg[:, 0, 2]  # pelvis Yrotation
    assert np.abs(np.diff(yaw)).max() < 15.0 and abs(yaw[-1] - yaw[0]) > 300.0


def test_bad_input_raises(tmp_path):
    world = walk_world(5)
    visible = np.ones((5, 17), bool)
    visible[2, 13] = False
    seq = PoseSequence3D(world, visible=visible, fps=30.0, coords="world")
    with pytest.raises(PoseDataError, match="left_wrist is missing in frame 2"):
        write_bvh(tmp_path / "x.bvh", seq)
    assert not (tmp_path / "x.bvh").exists()
    good = PoseSequence3D(world, fps=30.0, coords="world")
    with pytest.raises(PoseDataError, match="units"):
        build_bvh(good, units="mm")
    with pytest.raises(PoseDataError, match="up axis"):
        build_bvh(good, up_axis="x")


# -- skeleton presets -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", BVH_PRESETS)
def test_presets_reproduce_the_positions(tmp_path, preset):
    world, _ = planted_walk(60)
    world = world + np.random.default_rng(2).normal(0.0, 0.01, world.shape)
    anim = write_bvh(tmp_path / "p.bvh", PoseSequence3D(world, fps=30.0, coords="world"), "cm", "y", preset)
    motion = read_bvh(tmp_path / "p.bvh")
    pos, _ = motion.forward_kinematics()
    spec = PRESETS[preset]
    assert tuple(motion.joint_names) == spec.joint_names == anim.joint_names
    joints = [motion.point_names.index(n) for n in spec.joint_names]
    err = np.abs(pos[:, joints] - anim.target_positions[:, [j.h36m for j in spec.joints]]).max() / 100.0
    moved = np.abs(anim.target_positions / 100.0 - normalize_bone_lengths(world)).max()
    print(
        f"BVH preset {preset}: FK error {err * 1e6:.2f} um; targets off the normalised input by {moved * 1000:.1f} mm"
    )
    assert err < TOLERANCE_M
    assert moved < 0.05  # only the hips are made symmetric (character presets; here with 1 cm noise on each)


def test_character_presets_have_the_rig_names_and_hierarchy():
    mixamo = PRESETS["mixamo"]
    parent = {j.name: (mixamo.joints[j.parent].name if j.parent >= 0 else None) for j in mixamo.joints}
    assert parent["mixamorig:Hips"] is None
    assert parent["mixamorig:LeftUpLeg"] == "mixamorig:Hips" and parent["mixamorig:LeftFoot"] == "mixamorig:LeftLeg"
    assert parent["mixamorig:Spine1"] == "mixamorig:Spine" and parent["mixamorig:Neck"] == "mixamorig:Spine2"
    assert (
        parent["mixamorig:LeftShoulder"] == "mixamorig:Spine2"
        and parent["mixamorig:LeftHand"] == "mixamorig:LeftForeArm"
    )
    metarig = PRESETS["metarig"]
    parent = {j.name: (metarig.joints[j.parent].name if j.parent >= 0 else None) for j in metarig.joints}
    assert parent["thigh.L"] == "spine" and parent["upper_arm.R"] == "shoulder.R" and parent["spine.006"] == "spine.004"
    # The neutral neck leans forward at rest, so an upright character neck stays upright after retargeting.
    neck = mixamo.joints[mixamo.index("mixamorig:Neck")]
    assert neck.rest_dir[2] > 0.5 and PRESETS["h36m"].joints[PRESETS["h36m"].index("neck")].rest_dir[2] == 0.0


def _blender_available() -> bool:
    if shutil.which("blender"):
        return True
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail("Blender is not installed (scripts/bootstrap.sh installs Debian's blender); CI needs it")
    pytest.skip("Blender is not installed (optional check locally; CI installs it)")
    return False


def _blender_import(tmp_path: Path, bvh: Path) -> dict:
    out = tmp_path / (bvh.stem + ".json")
    cmd = ["blender", "-b", "--factory-startup", "--python", str(REPO / "tests" / "blender_import_bvh.py")]
    subprocess.run([*cmd, "--", str(bvh), str(out)], check=True, capture_output=True, timeout=180)
    return json.loads(out.read_text())


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1.0, 1.0))))


@pytest.mark.slow
@pytest.mark.parametrize("preset", BVH_PRESETS)
def test_blender_imports_each_preset(tmp_path, preset):
    """Blender's own BVH importer: names, parents, a T-pose rest (arms out along X, legs down) and the motion."""
    _blender_available()
    world = walk_world(24) + np.random.default_rng(1).normal(0.0, 0.005, (24, 17, 3))
    anim = write_bvh(tmp_path / "b.bvh", PoseSequence3D(world, fps=30.0, coords="world"), "cm", "y", preset)
    motion = read_bvh(tmp_path / "b.bvh")
    points, _ = motion.forward_kinematics()
    ends = points[:, [motion.point_names.index(n) for n in motion.point_names if n.endswith("_End")]]
    dump = _blender_import(tmp_path, tmp_path / "b.bvh")
    spec = PRESETS[preset]
    bones = dump["bones"]
    assert sorted(bones) == sorted(spec.joint_names)
    for joint in spec.joints:
        want = spec.joints[joint.parent].name if joint.parent >= 0 else None
        assert dump["parents"][bones.index(joint.name)] == want, joint.name
    # Rest pose in Blender's Z-up world: BVH +X stays +X, BVH +Y (up) becomes +Z.
    rest = {n: np.array(t) - np.array(h) for n, h, t in zip(bones, dump["rest_heads"], dump["rest_tails"])}
    arm_bones = {
        "h36m": ("left_shoulder", "left_elbow", "right_shoulder", "right_elbow"),
        "mixamo": ("mixamorig:LeftArm", "mixamorig:LeftForeArm", "mixamorig:RightArm", "mixamorig:RightForeArm"),
        "metarig": ("upper_arm.L", "forearm.L", "upper_arm.R", "forearm.R"),
    }[preset]
    worst = 0.0
    for name, sign in zip(arm_bones, (1, 1, -1, -1)):
        worst = max(worst, _angle_deg(rest[name], np.array([sign, 0.0, 0.0])))
    leg = {"h36m": "left_hip", "mixamo": "mixamorig:LeftUpLeg", "metarig": "thigh.L"}[preset]
    thigh = _angle_deg(rest[leg], np.array([0.0, 0.0, -1.0]))
    print(f"Blender rest pose ({preset}): arms {worst:.2f} deg from the T-pose, thigh {thigh:.2f} deg from down")
    assert worst < 5.0 and thigh < 5.0
    # Forward kinematics: every joint's head where the file says, within 1 mm.
    heads, tails = np.array(dump["heads"]), np.array(dump["tails"])
    assert dump["frames"] == 24
    target = anim.target_positions @ Y_TO_Z_UP.T  # (x, y, z) -> (x, -z, y), units kept (cm)
    err = np.abs(heads[:, [bones.index(j.name) for j in spec.joints]] - target[:, [j.h36m for j in spec.joints]]).max()
    leaf_tails = tails[:, [bones.index(motion.joint_names[p]) for p, _ in motion.end_sites]]
    err_ends = np.abs(leaf_tails - ends @ Y_TO_Z_UP.T).max()
    print(f"Blender import ({preset}): max joint error {err * 10:.4f} mm, End Sites {err_ends * 10:.4f} mm")
    assert err < TOLERANCE_M * 100 and err_ends < TOLERANCE_M * 100
