"""The shipped model on real detector output: the OpenPose example (BODY_25, 1920x1080, 25 fps, one person facing
the camera) lifted over sliding windows must give a plausible body: steady bone lengths and the performer's left
limbs on the left side of the body. And ``evaluate`` reproduces the numbers stored with the model (its card).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mpm_core.engine.lifter import LiftingEngine
from mpm_core.io import read_2d
from mpm_core.metrics import bone_lengths
from mpm_core.model.checkpoint import default_model_path, load_model
from mpm_core.model.evaluate import CONDITIONS
from mpm_core.skeleton import H36M_JOINTS, get_layout

#: Bone-length steadiness: std over time under this share of the bone's mean length.
MAX_BONE_STD_RATIO = 0.10
#: Shipped model size limit (bytes).
MAX_MODEL_BYTES = 50 * 1024 * 1024
#: The models shipped in resources/models (both must be there).
SHIPPED_NAMES = ("mpm_h36m17", "mpm_h36m17_commercial")


@pytest.fixture(scope="module")
def model():
    path = default_model_path()
    if not path.is_file():
        pytest.fail(f"shipped model missing: {path}")
    torch.set_num_threads(1)
    return load_model(path, device="cpu")


def test_shipped_model_files(model):
    weights = default_model_path()
    assert weights.stat().st_size <= MAX_MODEL_BYTES
    assert weights.with_suffix(".json").is_file()
    assert (weights.parent / "MODEL_CARD.md").is_file()
    assert model.meta["layout"] == "h36m17"
    assert "data" in model.meta and "training" in model.meta


def test_openpose_example_gives_a_plausible_body(model, shared_data):
    seq = read_2d(shared_data("inputs/openpose_raga/example_1person/output_json")).to_h36m()
    assert seq.image_size == (1920, 1080)
    kp, vis = seq.keypoints, seq.visible
    idx = H36M_JOINTS.index
    left = [idx(n) for n in ("left_shoulder", "left_elbow", "left_hip")]
    right = [idx(n) for n in ("right_shoulder", "right_elbow", "right_hip")]
    # The 2D says the person faces the camera: the performer's left joints are on the image's right.
    both = vis[:, left].all(axis=1) & vis[:, right].all(axis=1)
    assert both.sum() > 100
    assert (kp[both][:, left, 0].mean(axis=1) > kp[both][:, right, 0].mean(axis=1)).mean() > 0.9

    # Through the engine, the one inference path of the CLI and the app (overlapping windows, blending).
    recon = LiftingEngine(model=model, threads=1).lift(seq, threshold=0.0)
    poses = recon.poses_3d.astype(np.float64)
    assert np.isfinite(poses).all()
    np.testing.assert_allclose(poses[:, 0], 0.0, atol=1e-5)

    # Bone lengths steady over time (hidden joints are completed by the model; they count too).
    lengths = bone_lengths(poses, "h36m17")  # (T, B) mm
    ratio = lengths.std(axis=0) / lengths.mean(axis=0)
    bones = get_layout("h36m17").bones
    report = {f"{H36M_JOINTS[p]}-{H36M_JOINTS[c]}": round(float(r), 3) for (p, c), r in zip(bones, ratio)}
    print("bone length std / mean:", report)
    assert (ratio < MAX_BONE_STD_RATIO).all(), report
    # Plausible size: thigh and upper arm 0.2-0.6 m, shoulders wider than 0.2 m.
    mean = dict(zip([f"{H36M_JOINTS[p]}-{H36M_JOINTS[c]}" for p, c in bones], lengths.mean(axis=0) / 1000))
    assert 0.2 < mean["left_hip-left_knee"] < 0.6 and 0.2 < mean["right_shoulder-right_elbow"] < 0.5
    # Left limbs on the left: facing the camera, the performer's left side has larger camera x.
    assert (poses[:, left, 0].mean(axis=1) > poses[:, right, 0].mean(axis=1)).mean() > 0.9
    # Upright: the head above the pelvis (camera y points down).
    assert (poses[:, idx("head"), 1] < poses[:, 0, 1]).mean() > 0.9


def _shipped(name: str):
    from mpm_core.model.registry import SHIPPED_MODELS, shipped_models_dir

    weights = shipped_models_dir() / f"{name}.safetensors"
    if not weights.is_file():
        pytest.fail(f"shipped model missing: {weights}")
    return weights, shipped_models_dir() / SHIPPED_MODELS[name]


def _card_table(card: Path) -> dict[str, tuple[float, float]]:
    """condition -> (MPJPE, P-MPJPE) as printed in the card's "Validation metrics" block."""
    text = card.read_text(encoding="utf-8")
    block = text.split("## Validation metrics", 1)[1].split("```", 2)[1]
    rows = {}
    for line in block.splitlines():
        cells = line.split()
        if len(cells) == 7 and cells[0] in CONDITIONS:
            rows[cells[0]] = (float(cells[1]), float(cells[2]))
    return rows


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_each_shipped_model_has_its_files_card_and_licence(name):
    from mpm_core.model.registry import registered_models

    weights, card = _shipped(name)
    assert weights.stat().st_size <= MAX_MODEL_BYTES
    entry = {m.name: m for m in registered_models()}[name]
    assert entry.card == card and card.is_file()
    commercial = name.endswith("_commercial")
    assert entry.licence.startswith("commercial use allowed" if commercial else "non-commercial")
    meta = load_model(weights, device="cpu").meta
    sets = set(meta["data"])
    if commercial:  # neither the non-commercial Bandai sets nor the share-alike HDM05
        assert not sets & {"bandai", "bandai_corpus", "hdm05"}, sets
    assert set(_card_table(card)) == set(CONDITIONS)


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_evaluate_reproduces_the_model_card_numbers(name, shared_data):
    """The card's table is the sidecar's evaluation report, and it comes back from the checkpoint."""
    from mpm_core.model.evaluate import evaluate_model

    weights, card = _shipped(name)
    root = shared_data("mocap/README.md").parent
    stored = load_model(weights, device="cpu").meta["evaluation"]
    for condition, (mpjpe, p_mpjpe) in _card_table(card).items():
        assert (mpjpe, p_mpjpe) == (
            round(stored["conditions"][condition]["mpjpe"], 1),
            round(stored["conditions"][condition]["p_mpjpe"], 1),
        ), condition
    fresh = evaluate_model(weights, data_root=root, progress=False)
    assert fresh["frames"] == stored["frames"] and fresh["windows"] == stored["windows"]
    for condition, values in stored["conditions"].items():
        for metric, value in values.items():
            assert fresh["conditions"][condition][metric] == pytest.approx(value, rel=1e-3, abs=0.05), (
                condition,
                metric,
            )
    assert fresh["mask30_rise_pct"] == pytest.approx(stored["mask30_rise_pct"], abs=0.1)
