"""Skeleton tables and the conversion to H36M-17."""

from __future__ import annotations

import numpy as np
import pytest

from mpm_core.errors import PoseDataError
from mpm_core.skeleton import (
    H36M_JOINTS,
    LAYOUTS,
    convert_arrays_to_h36m,
    get_layout,
    layouts_with_joint_count,
)


def test_h36m_order_is_the_public_contract():
    assert (
        list(H36M_JOINTS)
        == (
            "pelvis right_hip right_knee right_ankle left_hip left_knee left_ankle spine thorax neck head "
            "left_shoulder left_elbow left_wrist right_shoulder right_elbow right_wrist"
        ).split()
    )


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_layout_tables_are_consistent(name):
    layout = LAYOUTS[name]
    assert len(set(layout.joint_names)) == layout.num_joints
    for child, parent in enumerate(layout.parents):
        assert parent == -1 or 0 <= parent < layout.num_joints
        assert parent != child
    for left, right in layout.left_right:
        assert layout.joint_names[left].replace("left_", "") == layout.joint_names[right].replace("right_", "")
    perm = layout.flip_permutation()
    assert sorted(perm) == list(range(layout.num_joints))
    assert (perm[perm] == np.arange(layout.num_joints)).all()
    # every recipe source exists in the layout
    for sources in layout.to_h36m.values():
        for s in sources:
            layout.index(s)


@pytest.mark.parametrize("name", [n for n in LAYOUTS if n != "coco_wholebody133"])
def test_each_tree_has_one_root_and_no_cycles(name):
    layout = LAYOUTS[name]
    assert layout.parents.count(-1) == 1
    for j in range(layout.num_joints):
        seen, k = set(), j
        while k != -1:
            assert k not in seen
            seen.add(k)
            k = layout.parents[k]


def test_coco_conversion_derives_joints_with_lowest_confidence():
    coco = get_layout("coco17")
    rng = np.random.default_rng(1)
    kp = rng.uniform(0, 100, (3, 17, 2)).astype(np.float32)
    scores = rng.uniform(0.2, 1.0, (3, 17)).astype(np.float32)
    vis = np.ones((3, 17), bool)
    vis[2, coco.index("left_eye")] = False
    out, sc, ov = convert_arrays_to_h36m(kp, scores, vis, "coco")
    lh, rh = coco.index("left_hip"), coco.index("right_hip")
    ls, rs = coco.index("left_shoulder"), coco.index("right_shoulder")
    np.testing.assert_allclose(out[:, 0], (kp[:, lh] + kp[:, rh]) / 2, rtol=1e-6)
    np.testing.assert_allclose(sc[:, 0], np.minimum(scores[:, lh], scores[:, rh]))
    np.testing.assert_allclose(out[:, 8], (kp[:, ls] + kp[:, rs]) / 2, rtol=1e-6)
    np.testing.assert_allclose(out[:, 7], (out[:, 0] + out[:, 8]) / 2, rtol=1e-5)
    np.testing.assert_allclose(out[:, H36M_JOINTS.index("left_wrist")], kp[:, coco.index("left_wrist")])
    # a missing source makes the derived head missing, zeroed, with score 0
    head = H36M_JOINTS.index("head")
    assert ov[:2, head].all() and not ov[2, head]
    assert (out[2, head] == 0).all() and sc[2, head] == 0


def test_body25_and_coco17_agree_on_the_same_body():
    coco, body = get_layout("coco17"), get_layout("body25")
    rng = np.random.default_rng(2)
    kp17 = rng.uniform(0, 500, (4, 17, 2)).astype(np.float32)
    kp25 = np.zeros((4, 25, 2), np.float32)
    for i, n in enumerate(coco.joint_names):
        kp25[:, body.index(n)] = kp17[:, i]
    ones17, ones25 = np.ones((4, 17)), np.ones((4, 25))
    a = convert_arrays_to_h36m(kp17, ones17, ones17 > 0, coco)[0]
    b = convert_arrays_to_h36m(kp25, ones25, ones25 > 0, body)[0]
    np.testing.assert_allclose(a, b)


def test_lookup_errors_name_the_problem():
    with pytest.raises(PoseDataError, match="unknown layout 'cocoa'"):
        get_layout("cocoa")
    with pytest.raises(PoseDataError, match="unknown joint 'tail'"):
        get_layout("h36m").index("tail")
    with pytest.raises(PoseDataError, match="18 joints given for layout coco17"):
        convert_arrays_to_h36m(np.zeros((1, 18, 2)), np.zeros((1, 18)), np.zeros((1, 18), bool), "coco17")


def test_layouts_by_joint_count():
    names = {lay.name for lay in layouts_with_joint_count(17)}
    assert names == {"h36m17", "coco17", "mpi_inf_3dhp17"}
    assert [lay.name for lay in layouts_with_joint_count(25)] == ["body25"]
