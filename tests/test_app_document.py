"""The app's document and lifting service on the real model: edits, previews, finals, undo without a model call."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from app.state import FORCED, LOW_CONFIDENCE, SCOPE_ALL, USER_HIDDEN, VISIBLE  # noqa: E402
from mpm_core.skeleton import H36M_JOINTS  # noqa: E402
from tests.conftest import wait_idle  # noqa: E402

pytestmark = pytest.mark.gui
LW = H36M_JOINTS.index("left_wrist")


def _final(doc) -> bool:
    return doc.committed is doc.result and doc.result.mask == doc.mask and not doc.busy


def test_click_hides_a_joint_previews_then_lifts_and_undo_restores_without_the_model(qtbot, lifted_doc):
    doc = lifted_doc
    wait_idle(qtbot, doc)
    before_3d, before_mask = doc.result.poses_3d.copy(), doc.mask
    doc.set_frame(40)
    assert doc.states(40, 41)[0, LW] == VISIBLE
    kinds = []
    doc.latencyMeasured.connect(lambda kind, _s: kinds.append(kind))
    doc.toggle_joint("left_wrist")
    assert doc.states(40, 41)[0, LW] == USER_HIDDEN and doc.mask.user[40, LW] and doc.mask.user.sum() == 1
    qtbot.waitUntil(lambda: _final(doc), timeout=30000)
    assert kinds[:2] == ["preview", "final"]
    after_3d = doc.result.poses_3d.copy()
    changed = np.nonzero(np.abs(after_3d - before_3d).sum(axis=(1, 2)) > 0)[0]
    assert 40 in changed and len(changed) < doc.num_frames  # only the windows around frame 40
    # The hidden joint's 3D moved (the model now guesses it) and its completed 2D is the model's own.
    assert np.linalg.norm(after_3d[40, LW] - before_3d[40, LW]) > 1e-4
    np.testing.assert_array_equal(doc.result.completed_2d[40, LW], doc.result.model_2d[40, LW])
    wait_idle(qtbot, doc)
    calls = doc.service.engine.stats.network_calls
    doc.undo_stack.undo()
    assert doc.mask == before_mask
    np.testing.assert_array_equal(doc.result.poses_3d, before_3d)
    doc.undo_stack.redo()
    np.testing.assert_array_equal(doc.result.poses_3d, after_3d)
    assert doc.mask.user[40, LW]
    wait_idle(qtbot, doc)
    assert doc.service.engine.stats.network_calls == calls  # undo and redo never ran the model


def test_low_confidence_joint_is_forced_and_missing_cannot_be(qtbot, lifted_doc):
    doc = lifted_doc
    states = doc.states(0, doc.num_frames)
    low = np.argwhere(states == LOW_CONFIDENCE)
    assert len(low), "the OpenPose example has joints below the default threshold"
    frame, joint = (int(v) for v in low[0])
    doc.set_frame(frame)
    doc.toggle_joint(joint)
    assert doc.states(frame, frame + 1)[0, joint] == FORCED
    qtbot.waitUntil(lambda: _final(doc), timeout=30000)
    assert not doc.result.hidden[frame, joint]
    messages = []
    doc.statusMessage.connect(messages.append)
    missing = np.argwhere(doc.mask.missing)
    if len(missing):
        f, j = (int(v) for v in missing[0])
        doc.set_frame(f)
        mask = doc.mask
        doc.toggle_joint(j)
        assert doc.mask is mask and "cannot be forced" in messages[-1]


def test_a_drag_is_one_command_previewed_then_final(qtbot, lifted_doc):
    doc = lifted_doc
    wait_idle(qtbot, doc)
    count = doc.undo_stack.count()
    doc.begin_drag()
    for hi in range(30, 60, 5):
        doc.paint(["right_knee", "right_ankle"], 20, hi, hide=True)
    assert doc.undo_stack.count() == count + 1
    doc.end_drag()
    qtbot.waitUntil(lambda: _final(doc), timeout=30000)
    assert doc.result.hidden[20:55, H36M_JOINTS.index("right_knee")].all()
    doc.undo_stack.undo()
    assert not doc.mask.user.any()


def test_scope_all_and_undo_memory_is_counted(qtbot, lifted_doc):
    doc = lifted_doc
    doc.toggle_joint("head", SCOPE_ALL)
    assert doc.mask.user[:, H36M_JOINTS.index("head")].all()
    qtbot.waitUntil(lambda: _final(doc), timeout=30000)
    wait_idle(qtbot, doc)
    used = doc.undo_memory()
    assert used > 0
    doc.undo_memory_bytes = 1  # over the cap: stored result rows go, the mask stays
    doc._cap_undo_memory()
    assert doc.undo_memory() < used
    stats = doc.service.engine.stats
    windows = stats.windows_computed + stats.windows_cached
    doc.undo_stack.undo()  # no stored rows: the undo re-lifts (the engine's window cache may serve it)
    assert not doc.mask.user.any()
    qtbot.waitUntil(lambda: _final(doc), timeout=30000)
    assert stats.windows_computed + stats.windows_cached > windows
