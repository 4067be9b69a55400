"""Rig name matching, unit detection and the H36M-17 derivation from landmarks."""

from __future__ import annotations

import numpy as np
import pytest

from mpm_core.errors import PoseDataError
from mpm_core.io.bvh import load_bvh_h36m
from mpm_core.io.rig_mapping import (
    EYES_FORWARD_M,
    EYES_UP_M,
    NOSE_FORWARD_M,
    NOSE_UP_M,
    UNIT_SCALES,
    detect_scale,
    match_landmarks,
    points_to_h36m,
    split_side,
)
from mpm_core.skeleton import H36M_JOINTS

LIMBS = ["Thigh", "Shin", "Foot", "UpperArm", "ForeArm", "Hand"]

# name lists per rig family and the joints expected for some landmarks (left side shown; right mirrors it)
FAMILIES = {
    "cmu_3dsmax": (
        ["Hips", "LHipJoint", "LeftHip", "LeftKnee", "LeftAnkle", "LeftToe", "RHipJoint", "RightHip", "RightKnee",
         "RightAnkle", "lowerback", "Chest", "Neck", "Head", "LeftCollar", "LeftShoulder", "LeftElbow", "LeftWrist",
         "lhand", "RightCollar", "RightShoulder", "RightElbow", "RightWrist", "rhand"],
        {"left_hip": "LeftHip", "left_shoulder": "LeftShoulder", "left_wrist": "LeftWrist", "left_ankle": "LeftAnkle"},
    ),
    "daz": (
        ["hip", "abdomen", "chest", "neck", "head", "lCollar", "lShldr", "lForeArm", "lHand", "rCollar", "rShldr",
         "rForeArm", "rHand", "lButtock", "lThigh", "lShin", "lFoot", "rButtock", "rThigh", "rShin", "rFoot"],
        {"left_hip": "lThigh", "left_knee": "lShin", "left_shoulder": "lShldr", "right_elbow": "rForeArm"},
    ),
    "mixamo": (
        ["mixamorig:Hips", "mixamorig:Spine", "mixamorig:Neck", "mixamorig:Head", "mixamorig:HeadTop_End",
         "mixamorig:LeftShoulder", "mixamorig:LeftArm", "mixamorig:LeftForeArm", "mixamorig:LeftHand",
         "mixamorig:RightShoulder", "mixamorig:RightArm", "mixamorig:RightForeArm", "mixamorig:RightHand",
         "mixamorig:LeftUpLeg", "mixamorig:LeftLeg", "mixamorig:LeftFoot", "mixamorig:RightUpLeg",
         "mixamorig:RightLeg", "mixamorig:RightFoot"],
        {"left_shoulder": "mixamorig:LeftArm", "left_knee": "mixamorig:LeftLeg", "head_top": "mixamorig:HeadTop_End"},
    ),
    "reallusion_cc": (
        ["CC_Base_Hip", "CC_Base_Pelvis", "CC_Base_L_Thigh", "CC_Base_L_Calf", "CC_Base_L_Foot", "CC_Base_R_Thigh",
         "CC_Base_R_Calf", "CC_Base_R_Foot", "CC_Base_Head", "CC_Base_L_Clavicle", "CC_Base_L_Upperarm",
         "CC_Base_L_Forearm", "CC_Base_L_Hand", "CC_Base_R_Clavicle", "CC_Base_R_Upperarm", "CC_Base_R_Forearm",
         "CC_Base_R_Hand"],
        {"left_knee": "CC_Base_L_Calf", "left_shoulder": "CC_Base_L_Upperarm", "skull_base": "CC_Base_Head"},
    ),
    "rigify_def": (
        ["DEF-spine", "DEF-thigh.L", "DEF-thigh.L.001", "DEF-shin.L", "DEF-foot.L", "DEF-thigh.R", "DEF-shin.R",
         "DEF-foot.R", "DEF-head", "DEF-shoulder.L", "DEF-upper_arm.L", "DEF-forearm.L", "DEF-hand.L",
         "DEF-shoulder.R", "DEF-upper_arm.R", "DEF-forearm.R", "DEF-hand.R"],
        {"left_hip": "DEF-thigh.L", "left_shoulder": "DEF-upper_arm.L", "right_wrist": "DEF-hand.R"},
    ),
    "bandai": (
        ["joint_Root", "Hips", "Spine", "Chest", "Neck", "Head", "Shoulder_L", "UpperArm_L", "LowerArm_L", "Hand_L",
         "Shoulder_R", "UpperArm_R", "LowerArm_R", "Hand_R", "UpperLeg_L", "LowerLeg_L", "Foot_L", "UpperLeg_R",
         "LowerLeg_R", "Foot_R"],
        {"left_shoulder": "UpperArm_L", "left_elbow": "LowerArm_L", "right_knee": "LowerLeg_R"},
    ),
    "acclaim": (
        ["root", "lhipjoint", "lfemur", "ltibia", "lfoot", "rhipjoint", "rfemur", "rtibia", "rfoot", "lowerback",
         "upperback", "thorax", "lowerneck", "upperneck", "head", "lclavicle", "lhumerus", "lradius", "lwrist",
         "lhand", "rclavicle", "rhumerus", "rradius", "rwrist", "rhand"],
        {"left_hip": "lfemur", "left_ankle": "lfoot", "left_wrist": "lwrist", "right_elbow": "rradius"},
    ),
    "biped": (
        ["Bip01", "Bip01 Pelvis", "Bip01 L Thigh", "Bip01 L Calf", "Bip01 L Foot", "Bip01 R Thigh", "Bip01 R Calf",
         "Bip01 R Foot", "Bip01 Head", "Bip01 HeadNub", "Bip01 L Clavicle", "Bip01 L UpperArm", "Bip01 L Forearm",
         "Bip01 L Hand", "Bip01 R Clavicle", "Bip01 R UpperArm", "Bip01 R Forearm", "Bip01 R Hand"],
        {"left_knee": "Bip01 L Calf", "head_top": "Bip01 HeadNub", "right_shoulder": "Bip01 R UpperArm"},
    ),
}  # fmt: skip


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_rig_families_map_by_name(family: str) -> None:
    names, expected = FAMILIES[family]
    parents = [-1] + [0] * (len(names) - 1)
    found, _ = match_landmarks(names, parents)
    for landmark, joint in expected.items():
        assert names[found[landmark]] == joint, landmark
    for side in ("left", "right"):  # every limb landmark on the side its name says
        for part in ("hip", "knee", "ankle", "shoulder", "elbow", "wrist"):
            name = names[found[f"{side}_{part}"]]
            assert any(s == side for s, _ in split_side(name)), (side, part, name)


def test_wrist_falls_back_to_the_forearm_end() -> None:
    names = ["pelvis", "thigh.L", "shin.L", "foot.L", "thigh.R", "shin.R", "foot.R", "neck", "face",
             "upper_arm.L", "forearm.L", "forearm.L_End", "upper_arm.R", "forearm.R", "forearm.R_End"]  # fmt: skip
    parents = [-1, 0, 1, 2, 0, 4, 5, 0, 7, 7, 9, 10, 7, 12, 13]
    found, notes = match_landmarks(names, parents)
    assert names[found["left_wrist"]] == "forearm.L_End" and names[found["skull_base"]] == "face"
    assert any("left_wrist" in n for n in notes)


def test_unmappable_rig_lists_unmatched_landmarks_and_joints() -> None:
    names = ["Root", "BoneA", "BoneB", "LeftUpLeg", "LeftLeg", "LeftFoot"]
    with pytest.raises(PoseDataError) as err:
        match_landmarks(names, [-1, 0, 1, 0, 3, 4])
    msg = str(err.value)
    for missing in ("right_hip", "left_shoulder", "right_wrist", "skull_base"):
        assert missing in msg
    assert "left_hip," not in msg and "BoneA" in msg and "LeftUpLeg" in msg


@pytest.mark.parametrize("unit", sorted(UNIT_SCALES))
def test_detect_scale_recovers_each_unit(unit: str) -> None:
    for leg_m in (0.62, 0.85, 1.05):  # short, typical and tall adults
        name, scale = detect_scale(leg_m / UNIT_SCALES[unit])
        assert name == unit and scale == UNIT_SCALES[unit]


def test_detect_scale_rejects_implausible_legs() -> None:
    with pytest.raises(PoseDataError, match="cannot detect units"):
        detect_scale(0.0)
    with pytest.raises(PoseDataError, match="fits no known unit"):
        detect_scale(3.0e5)


def _tpose() -> tuple[np.ndarray, list[str], list[int]]:
    """A T-pose in centimetres facing +Z (left = +X), with a 10 cm head segment."""
    pts = {
        "Hips": (0, 95, 0), "LeftUpLeg": (9, 90, 0), "LeftLeg": (9, 50, 2), "LeftFoot": (9, 8, 0),
        "RightUpLeg": (-9, 90, 0), "RightLeg": (-9, 50, 2), "RightFoot": (-9, 8, 0), "Neck": (0, 145, 0),
        "Head": (0, 155, 0), "Head_End": (0, 165, 0), "LeftArm": (18, 140, 0), "LeftForeArm": (46, 140, 0),
        "LeftHand": (72, 140, 0), "RightArm": (-18, 140, 0), "RightForeArm": (-46, 140, 0), "RightHand": (-72, 140, 0),
    }  # fmt: skip
    names = list(pts)
    parent_of = {"Neck": "Hips", "Head": "Neck", "Head_End": "Head", "LeftArm": "Neck", "RightArm": "Neck",
                 "LeftForeArm": "LeftArm", "LeftHand": "LeftForeArm", "RightForeArm": "RightArm",
                 "RightHand": "RightForeArm", "LeftUpLeg": "Hips", "LeftLeg": "LeftUpLeg", "LeftFoot": "LeftLeg",
                 "RightUpLeg": "Hips", "RightLeg": "RightUpLeg", "RightFoot": "RightLeg"}  # fmt: skip
    parents = [names.index(parent_of[n]) if n in parent_of else -1 for n in names]
    arr = np.array([pts[n] for n in names], float)[None].repeat(3, axis=0)
    return arr, names, parents


def test_h36m_derivation_follows_the_convention() -> None:
    pos, names, parents = _tpose()
    seq, info = points_to_h36m(pos, names, parents, fps=50.0)
    assert info.unit == "cm" and info.scale == 0.01 and info.head_up_from == "head_top"
    k = seq.keypoints[0].astype(float)
    j = {n: i for i, n in enumerate(H36M_JOINTS)}
    m = pos[0] * 0.01
    n = {name: m[i] for i, name in enumerate(names)}
    np.testing.assert_allclose(k[j["pelvis"]], (n["LeftUpLeg"] + n["RightUpLeg"]) / 2, atol=1e-6)
    np.testing.assert_allclose(k[j["thorax"]], (n["LeftArm"] + n["RightArm"]) / 2, atol=1e-6)
    np.testing.assert_allclose(k[j["spine"]], (k[j["pelvis"]] + k[j["thorax"]]) / 2, atol=1e-6)
    np.testing.assert_allclose(k[j["left_knee"]], n["LeftLeg"], atol=1e-6)
    np.testing.assert_allclose(k[j["right_wrist"]], n["RightHand"], atol=1e-6)
    forward, up = np.array([0, 0, 1.0]), np.array([0, 1.0, 0])  # facing +Z: left shoulder at +X
    np.testing.assert_allclose(k[j["neck"]], n["Head"] + NOSE_FORWARD_M * forward + NOSE_UP_M * up, atol=1e-6)
    np.testing.assert_allclose(k[j["head"]], n["Head"] + EYES_FORWARD_M * forward + EYES_UP_M * up, atol=1e-6)
    assert seq.fps == 50.0 and seq.units == "m" and seq.coords == "world"


def test_degenerate_head_uses_the_neck_direction_and_z_up_is_rotated() -> None:
    pos, names, parents = _tpose()
    ref, _ = points_to_h36m(pos, names, parents, fps=30.0)
    flat = pos.copy()
    flat[:, names.index("Head_End")] = flat[:, names.index("Head")]  # zero-length End Site (most Bandai clips)
    seq, info = points_to_h36m(flat, names, parents, fps=30.0)
    assert info.head_up_from == "parent Neck"
    np.testing.assert_allclose(seq.keypoints, ref.keypoints, atol=1e-6)  # neck->head is vertical here too
    z_up = np.stack([pos[..., 0], -pos[..., 2], pos[..., 1]], axis=-1)  # the same body in a Z-up file
    rotated, _ = points_to_h36m(z_up, names, parents, fps=30.0, up_axis="z")
    np.testing.assert_allclose(rotated.keypoints, ref.keypoints, atol=1e-5)


def test_given_scale_is_checked() -> None:
    pos, names, parents = _tpose()
    with pytest.raises(PoseDataError, match="outside"):
        points_to_h36m(pos, names, parents, fps=30.0, scale=1.0)


@pytest.mark.parametrize(
    ("relpath", "unit"),
    [
        ("mocap/bandai/dataset-1_bow_normal_001.bvh", "cm"),
        ("mocap/reactidle/003_genuine.bvh", "m"),
        ("mocap/cmu_bvh/131_03.bvh", "cmu"),
        ("mocap/extra_corpus/accad_Female1_A01_Stand.bvh.gz", "cm"),
        ("mocap/extra_corpus/cmu_01_01.bvh.gz", "cm"),
    ],
)
def test_units_detected_per_rig_as_the_readme_states(shared_data, relpath: str, unit: str) -> None:
    _, info = load_bvh_h36m(shared_data(relpath), return_info=True)
    assert info.unit == unit


def test_our_own_h36m_bvh_export_reads_back_as_written(tmp_path, shared_data):
    """An H36M-named rig is taken as it is, not re-derived (spine, neck and head stay where they were written)."""
    from mpm_core.engine.cleanup import normalize_bone_lengths
    from mpm_core.export.bvh_writer import write_bvh
    from mpm_core.io.bvh import load_bvh_h36m

    seq = load_bvh_h36m(shared_data("mocap/bandai/dataset-1_walk_normal_001.bvh")).slice(0, 40)
    out = tmp_path / "ours.bvh"
    write_bvh(out, seq, units="cm")
    back = load_bvh_h36m(out)
    expected = normalize_bone_lengths(seq.joints)
    assert back.num_frames == 40 and back.fps == seq.fps
    assert np.abs(back.joints - expected).max() < 1e-3
