"""The Mask tools and Plots tabs: presets, the threshold drag, the counter, the plotted series against the library."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPointF, Qt  # noqa: E402

from app.state import LOW_CONFIDENCE, MISSING, USER_HIDDEN  # noqa: E402
from app.views.mask_tools import MaskToolsPanel  # noqa: E402
from app.views.plots import HIDDEN_SHADES, PlotsView  # noqa: E402
from mpm_core.engine.cleanup import bone_lengths, one_euro_filter  # noqa: E402
from mpm_core.engine.masks import JOINT_GROUPS, Mask, joint_indices  # noqa: E402
from mpm_core.engine.probe import probe_errors  # noqa: E402
from mpm_core.engine.series import limb_bones  # noqa: E402
from mpm_core.skeleton import H36M_JOINTS  # noqa: E402
from tests.conftest import wait_idle  # noqa: E402
from tests.test_app_window import _settled, make_window  # noqa: E402, F401 (the real window's fixture)

pytestmark = pytest.mark.gui
LW = H36M_JOINTS.index("left_wrist")


@pytest.fixture
def panel(qtbot, lifted_doc):
    widget = MaskToolsPanel(lifted_doc)
    qtbot.addWidget(widget)
    widget.show()
    wait_idle(qtbot, lifted_doc)
    return widget


@pytest.fixture
def plots(qtbot, lifted_doc):
    view = PlotsView(lifted_doc)
    qtbot.addWidget(view)
    view.resize(700, 800)
    view.show()
    qtbot.waitExposed(view)
    wait_idle(qtbot, lifted_doc)
    qtbot.waitUntil(lambda: not view._stale and view.raw_curves["x"].yData is not None, timeout=5000)
    return view


def _one_command(doc, action) -> tuple[Mask, Mask]:
    """Run ``action``; check it pushed exactly one undo command that undo reverts; return (before, after)."""
    before, count = doc.mask, doc.undo_stack.count()
    action()
    after = doc.mask
    assert doc.undo_stack.count() == count + 1 and after != before
    doc.undo_stack.undo()
    assert doc.mask == before
    doc.undo_stack.redo()
    assert doc.mask == after
    return before, after


def test_presets_hide_what_they_say_each_as_one_command(panel, lifted_doc, qtbot):
    doc = lifted_doc
    doc.set_selection(frames=(10, 40))
    assert (panel.first_spin.value(), panel.last_spin.value()) == (10, 39)  # the range follows the selection
    assert panel.frame_range() == (10, 40)
    panel.last_spin.setValue(44)
    doc.set_selection(joints=["head"])  # joints only: the range typed by hand stays
    assert panel.frame_range() == (10, 45)
    panel.last_spin.setValue(39)

    panel.ratio_spin.setValue(30)
    panel.seed_spin.setValue(7)
    before, after = _one_command(doc, panel.random_button.click)
    expected = before.with_random_joints(0.3, 7, 10, 40)
    np.testing.assert_array_equal(after.user, expected.user)
    added = after.user & ~before.user
    assert added[10:40].sum(axis=1).tolist() == [round(0.3 * 17)] * 30 and not added[:10].any() and not added[40:].any()

    panel.limb_combo.setCurrentIndex(panel.limb_combo.findData("right_leg"))
    panel.first_spin.setValue(50)
    panel.last_spin.setValue(99)
    before, after = _one_command(doc, panel.limb_button.click)
    legs = joint_indices("right_leg")
    assert len(legs) == len(JOINT_GROUPS["right_leg"])
    assert after.user[50:100, legs].all()
    changed = after.user != before.user
    assert not np.delete(changed, legs, axis=1).any() and not changed[:50].any() and not changed[100:].any()

    panel.all_frames_button.click()
    assert panel.frame_range() == (0, doc.num_frames)
    panel.first_spin.setValue(110)
    panel.last_spin.setValue(119)
    before, after = _one_command(doc, panel.block_button.click)
    assert after.user[110:120].all() and (after.user[:110] == before.user[:110]).all()
    assert after.combined[110:120].all()

    assert panel.clear_button.isEnabled()
    before, after = _one_command(doc, panel.clear_button.click)
    assert not after.user.any() and not after.forced.any()
    np.testing.assert_array_equal(after.low_confidence, before.low_confidence)
    assert not panel.clear_button.isEnabled()  # nothing left to clear

    before, after = _one_command(doc, panel.invert_button.click)
    np.testing.assert_array_equal(after.combined, ~before.combined | before.missing)
    wait_idle(qtbot, doc)


def test_threshold_slider_drag_is_one_command_hiding_joints_below_it(panel, lifted_doc, qtbot):
    doc = lifted_doc
    slider, spin = panel.threshold_slider, panel.threshold_spin
    assert slider.isEnabled() and slider.value() == round(doc.settings.threshold * 100)
    before, count = doc.mask, doc.undo_stack.count()
    slider.setSliderDown(True)  # what a mouse press on the handle does: sliderPressed
    assert doc.dragging
    for value in (30, 45, 60):
        slider.setValue(value)
        assert doc.mask.threshold == pytest.approx(value / 100) and spin.value() == pytest.approx(value / 100)
    slider.setSliderDown(False)  # sliderReleased
    assert not doc.dragging and doc.undo_stack.count() == count + 1
    seq = doc.input.h36m
    expected_low = seq.visible & (seq.scores < 0.6)
    np.testing.assert_array_equal(doc.mask.low_confidence, expected_low)
    assert expected_low.sum() > before.low_confidence.sum()  # a higher threshold hides more
    states = doc.states(0, doc.num_frames)
    assert (states[expected_low] == LOW_CONFIDENCE).all()
    assert panel.counts()["low_confidence"] == int(expected_low.sum())
    qtbot.waitUntil(lambda: _settled(doc), timeout=30000)
    assert doc.result.hidden[expected_low].all()  # the model did not see them

    doc.undo_stack.undo()
    assert doc.mask == before
    assert slider.value() == round(before.threshold * 100) and spin.value() == pytest.approx(before.threshold)

    # The spin box is one command per value.
    index = doc.undo_stack.index()
    spin.setValue(0.35)
    assert doc.undo_stack.index() == index + 1 and doc.mask.threshold == pytest.approx(0.35)
    assert slider.value() == 35
    wait_idle(qtbot, doc)


def test_counter_equals_the_masks_counts(panel, lifted_doc, qtbot):
    doc = lifted_doc
    doc.apply_preset("limb", limb="left_arm", lo=0, hi=60)
    doc.toggle_joint("head", "all")
    mask = doc.mask
    combined = mask.combined
    counts = panel.counts()
    assert counts["joint_frames"] == int(combined.sum()) and counts["frames"] == int(combined.any(axis=1).sum())
    assert counts["missing"] == int(mask.missing.sum())
    assert counts["user"] == int((mask.user & ~mask.missing).sum())
    assert counts["low_confidence"] == int((mask.low_confidence & ~mask.forced & ~mask.user & ~mask.missing).sum())
    assert counts["user"] + counts["low_confidence"] + counts["missing"] == counts["joint_frames"]
    assert f"{int(combined.sum()):,} joint-frames" in panel.count_label.text()
    assert f"by you {counts['user']:,}" in panel.breakdown_label.text()
    assert counts["missing"] > 0 and counts["user"] > 60  # the real OpenPose example has missing joints
    wait_idle(qtbot, doc)


def test_joint_curves_equal_the_scene_and_follow_a_mask_edit(plots, lifted_doc, qtbot):
    doc, view = lifted_doc, plots
    frames = np.arange(doc.num_frames)
    poses = doc.scene.poses
    for i, axis in enumerate("xyz"):
        np.testing.assert_array_equal(view.raw_curves[axis].xData, frames)
        np.testing.assert_allclose(view.raw_curves[axis].yData, poses[:, LW, i])
    smoothed = one_euro_filter(poses[:, LW : LW + 1].astype(np.float64), doc.input.fps)[:, 0]
    np.testing.assert_allclose(view.smooth_curves["y"].yData, smoothed[:, 1])
    assert not np.allclose(view.smooth_curves["y"].yData, view.raw_curves["y"].yData)

    # A drag: previews leave the series alone; the final result updates them.
    before = view.raw_curves["x"].yData.copy()
    doc.begin_drag()
    with qtbot.waitSignal(doc.sceneChanged, timeout=30000):
        doc.paint("left_arm", 40, 80, hide=True)
    qtbot.wait(20)
    np.testing.assert_array_equal(view.raw_curves["x"].yData, before)
    doc.end_drag()
    qtbot.waitUntil(lambda: _settled(doc), timeout=30000)
    wait_idle(qtbot, doc)
    qtbot.waitUntil(lambda: not view._stale, timeout=5000)
    new = doc.scene.poses[:, LW]
    assert np.abs(new[40:80] - poses[40:80, LW]).max() > 1e-3  # the wrist moved where it was hidden...
    for i, axis in enumerate("xyz"):
        np.testing.assert_allclose(view.raw_curves[axis].yData, new[:, i])  # ...and the curves with it
    # The hidden frames of the wrist are shaded in the user-hidden colour.
    image = view.hidden_image.image
    assert image.shape[:2] == (1, doc.num_frames)
    assert (image[0, 40:80] == HIDDEN_SHADES[USER_HIDDEN]).all()
    missing = np.nonzero(doc.states(0, doc.num_frames)[:, LW] == MISSING)[0]
    assert all((image[0, f] == HIDDEN_SHADES[MISSING]).all() for f in missing)
    shown = doc.states(0, doc.num_frames)[:, LW] != USER_HIDDEN
    shown &= doc.states(0, doc.num_frames)[:, LW] != MISSING
    shown &= doc.states(0, doc.num_frames)[:, LW] != LOW_CONFIDENCE
    assert (image[0, shown, 3] == 0).all()

    # Selecting a joint elsewhere plots that joint.
    knee = H36M_JOINTS.index("right_knee")
    doc.set_selection(joints=["right_knee"])
    assert view.joint_combo.currentData() == knee
    np.testing.assert_allclose(view.raw_curves["z"].yData, doc.scene.poses[:, knee, 2])
    view.relative_check.setChecked(True)  # the knee's offset from the pelvis: its own motion, not the path
    np.testing.assert_allclose(view.raw_curves["z"].yData, doc.scene.poses[:, knee, 2] - doc.scene.poses[:, 0, 2])
    assert "minus the pelvis" in view.key_label.text()


def test_bone_curves_equal_the_librarys_bone_lengths(plots, lifted_doc):
    doc, view = lifted_doc, plots
    lifted = np.asarray(doc.result.poses_3d, np.float64)
    medians = bone_lengths(lifted, symmetric=False)
    for name, (parent, child) in limb_bones().items():
        curve = view.bone_curves[name].yData
        np.testing.assert_allclose(curve, np.linalg.norm(lifted[:, child] - lifted[:, parent], axis=-1), rtol=1e-6)
        assert np.median(curve) == pytest.approx(medians[child], rel=1e-6)
    assert np.std(view.bone_curves["left forearm"].yData) > 1e-3  # the model's bones jitter
    view.bone_source_combo.setCurrentIndex(view.bone_source_combo.findData("drawn"))
    drawn = doc.scene.poses.astype(np.float64)
    shin = view.bone_curves["left shin"].yData
    ankle, knee = H36M_JOINTS.index("left_ankle"), H36M_JOINTS.index("left_knee")
    np.testing.assert_allclose(shin, np.linalg.norm(drawn[:, ankle] - drawn[:, knee], axis=-1), rtol=1e-5)
    view.bone_combo.setCurrentIndex(view.bone_combo.findData("all"))
    assert len(view.bone_curves) == 16
    assert not view.error_plot.isVisible()  # no probe errors for a 2D input


def test_playhead_follows_the_frame_and_a_click_sets_it(plots, lifted_doc, qtbot):
    doc, view = lifted_doc, plots
    doc.set_frame(70)
    assert all(line.value() == 70 for line in view.playheads)
    vb = view.joint_plot.vb
    (_x0, _x1), (y0, y1) = vb.viewRange()
    scene_pos = vb.mapViewToScene(QPointF(30.0, (y0 + y1) / 2))
    pos = view.graphics.mapFromScene(scene_pos)
    qtbot.mouseClick(view.graphics.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert abs(doc.frame - 30) <= 1
    assert all(abs(line.value() - doc.frame) < 1e-9 for line in view.playheads)


def test_bvh_through_a_virtual_camera_plots_the_joint_error(make_window, qtbot, shared_data):  # noqa: F811
    win = make_window(open_sample=False)
    assert isinstance(win.mask_tools, MaskToolsPanel) and isinstance(win.plots, PlotsView)
    win.open_path(shared_data("mocap/extra_corpus/accad_Female1_A03_Swing.bvh.gz"))
    qtbot.waitUntil(lambda: win.document.scene is not None and win.document.scene.errors is not None, timeout=60000)
    doc = win.document
    wait_idle(qtbot, doc)
    win.side_tabs.setCurrentWidget(win.plots)
    view = win.plots
    qtbot.waitUntil(lambda: view.error_plot.isVisible() and view.error_curve.yData is not None, timeout=10000)
    expected = probe_errors(np.asarray(doc.result.poses_3d), doc.projected)
    np.testing.assert_allclose(view.error_curve.yData, expected.joint_error_mm[:, LW], rtol=1e-5, equal_nan=True)
    np.testing.assert_allclose(view.mpjpe_curve.yData, expected.per_frame_mm, rtol=1e-5, equal_nan=True)
    assert np.nanmax(view.error_curve.yData) > 0
    np.testing.assert_allclose(view.raw_curves["x"].yData, doc.scene.poses[:, LW, 0])
    np.testing.assert_allclose(view.truth_curves["x"].yData, doc.scene.reference[:, LW, 0], equal_nan=True)
    # Hide the left arm from the virtual camera: the wrist's frames are shaded under its error curve too.
    doc.apply_preset("limb", limb="left_arm", lo=100, hi=200)
    shaded = HIDDEN_SHADES[USER_HIDDEN]
    qtbot.waitUntil(lambda: (view.error_hidden_image.image[0, 100:200] == shaded).all(), timeout=5000)
    assert (view.error_hidden_image.image[0, :100, 3] == 0).all()
    qtbot.waitUntil(lambda: _settled(doc), timeout=60000)
    wait_idle(qtbot, doc)
    qtbot.waitUntil(lambda: not view._stale, timeout=5000)
    expected = probe_errors(np.asarray(doc.result.poses_3d), doc.projected)
    np.testing.assert_allclose(view.error_curve.yData, expected.joint_error_mm[:, LW], rtol=1e-5, equal_nan=True)
    knee = H36M_JOINTS.index("left_knee")
    view.joint_combo.setCurrentIndex(knee)
    np.testing.assert_allclose(view.error_curve.yData, expected.joint_error_mm[:, knee], rtol=1e-5, equal_nan=True)
    # The mask tab: a 3D input has no confidences to threshold; the presets work.
    win.side_tabs.setCurrentWidget(win.mask_tools)
    panel = win.mask_tools
    assert not panel.threshold_slider.isEnabled() and panel.limb_button.isEnabled()
    assert panel.counts()["joint_frames"] == int(doc.mask.combined.sum())


def _handle_centre(slider):
    from PySide6.QtWidgets import QStyle, QStyleOptionSlider

    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    rect = slider.style().subControlRect(
        QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle, slider
    )
    return rect.center()


def test_a_mouse_drag_of_the_threshold_handle_is_one_command(panel, lifted_doc, qtbot):
    doc, slider = lifted_doc, panel.threshold_slider
    panel.resize(500, 500)
    index, before = doc.undo_stack.index(), doc.mask.threshold
    start = _handle_centre(slider)
    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=start)
    assert doc.dragging
    for dx in (20, 60, 120):
        qtbot.mouseMove(slider, start + type(start)(dx, 0))
    qtbot.mouseRelease(slider, Qt.MouseButton.LeftButton, pos=start + type(start)(120, 0))
    assert not doc.dragging
    assert doc.undo_stack.index() == index + 1 and doc.mask.threshold > before
    assert doc.mask.threshold == pytest.approx(slider.value() / 100)
    doc.undo_stack.undo()
    assert doc.mask.threshold == before
    wait_idle(qtbot, doc)


def test_a_refused_edit_surfaces_through_the_document(panel, lifted_doc, monkeypatch):
    from mpm_core.errors import PoseDataError

    doc = lifted_doc
    raised = []
    doc.errorRaised.connect(lambda title, message: raised.append((title, message)))

    def refuse(kind, **kw):
        raise PoseDataError(f"frame range {kw['lo']}-{kw['hi'] - 1} refused")

    monkeypatch.setattr(doc, "apply_preset", refuse)
    panel.first_spin.setValue(5)
    panel.last_spin.setValue(9)
    panel.limb_button.click()  # no exception escapes the click; the document reports it
    assert raised and "5-9" in raised[-1][1]


def test_without_input_the_tools_are_disabled_and_the_plots_empty(qtbot, app_env):
    from app.document import Document

    doc = Document()
    panel, view = MaskToolsPanel(doc), PlotsView(doc)
    for widget in (panel, view):
        qtbot.addWidget(widget)
        widget.show()
    qtbot.wait(60)
    buttons = (panel.random_button, panel.limb_button, panel.block_button, panel.clear_button, panel.invert_button)
    assert not any(b.isEnabled() for b in buttons) and not panel.threshold_slider.isEnabled()
    assert panel.count_label.text() == "no input"
    assert view.raw_curves["x"].yData is None or len(view.raw_curves["x"].yData) == 0
    assert not view.error_plot.isVisible()


def test_a_hidden_plots_tab_computes_nothing_until_shown(qtbot, lifted_doc):
    doc = lifted_doc
    view = PlotsView(doc)
    qtbot.addWidget(view)  # never shown yet
    wait_idle(qtbot, doc)
    doc.apply_preset("limb", limb="right_arm", lo=0, hi=30)
    qtbot.waitUntil(lambda: _settled(doc), timeout=30000)
    qtbot.wait(100)
    assert view._stale and view.raw_curves["x"].yData is None
    view.show()
    qtbot.waitUntil(lambda: not view._stale, timeout=5000)
    np.testing.assert_allclose(view.raw_curves["x"].yData, doc.scene.poses[:, LW, 0])


def test_a_long_sequence_is_smoothed_off_the_ui_thread(qtbot, lifted_doc, monkeypatch):
    import app.views.plots as plots_module

    monkeypatch.setattr(plots_module, "SYNC_SMOOTH_FRAMES", 0)  # every sequence counts as long
    doc = lifted_doc
    view = PlotsView(doc)
    qtbot.addWidget(view)
    view.show()
    wait_idle(qtbot, doc)
    qtbot.waitUntil(lambda: view.smooth_curves["x"].yData is not None, timeout=10000)
    smoothed = one_euro_filter(doc.scene.poses[:, LW : LW + 1].astype(np.float64), doc.input.fps)[:, 0]
    np.testing.assert_allclose(view.smooth_curves["x"].yData, smoothed[:, 0])
    # A newer request wins over a late answer to an older one.
    view._on_smoothed(view._smooth_token - 1, np.zeros((doc.num_frames, 3)))
    np.testing.assert_allclose(view.smooth_curves["x"].yData, smoothed[:, 0])


def test_the_documents_smoothing_setting_is_the_dashed_curves(plots, lifted_doc, qtbot):
    from mpm_core.engine.cleanup import lowpass_filter
    from mpm_core.engine.series import DEFAULT_LOWPASS_CUTOFF_HZ

    doc, view = lifted_doc, plots
    doc.set_setting("smoothing", "lowpass")
    qtbot.waitUntil(lambda: doc.scene is not None and "lowpass" in view.key_label.text(), timeout=30000)
    wait_idle(qtbot, doc)
    qtbot.waitUntil(lambda: not view._stale, timeout=5000)
    qtbot.wait(100)
    poses = doc.scene.poses[:, LW : LW + 1].astype(np.float64)
    expected = lowpass_filter(poses, doc.input.fps, DEFAULT_LOWPASS_CUTOFF_HZ)[:, 0]
    np.testing.assert_allclose(view.smooth_curves["z"].yData, expected[:, 2], atol=1e-9)
    np.testing.assert_allclose(view.raw_curves["z"].yData, doc.scene.poses[:, LW, 2])
    view.smoothed_check.setChecked(False)
    assert view.smooth_curves["z"].yData is None or len(view.smooth_curves["z"].yData) == 0
