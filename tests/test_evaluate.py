"""Evaluation report on a tiny trained model: conditions, reproducibility, per-category tables, CLI output."""

from __future__ import annotations

import json

import pytest
import torch

from mpm_core.cli import main
from mpm_core.model.config import load_config
from mpm_core.model.evaluate import CONDITIONS, evaluate_model, format_report
from mpm_core.model.train import run_phase

from .test_train import tiny_config  # noqa: F401  (fixture)


@pytest.fixture
def tiny_model(tiny_config):  # noqa: F811
    torch.set_num_threads(1)
    config = load_config(tiny_config)
    config.finetune.steps = 2
    run_phase(config, "finetune", progress=False)
    return tiny_config, tiny_config.parent / "out" / "model"


def test_report_has_every_condition_and_is_reproducible(tiny_model):
    config_path, model = tiny_model
    config = load_config(config_path)
    report = evaluate_model(model, config, progress=False)
    assert set(report["conditions"]) == set(CONDITIONS)
    for name, block in report["conditions"].items():
        assert block["mpjpe"] > 0, name
        assert block["p_mpjpe"] <= block["mpjpe"] + 1e-6, name
        assert 0 <= block["pck150"] <= 1 and 0 <= block["auc"] <= 1
    clean, masked = report["conditions"]["clean"]["mpjpe"], report["conditions"]["mask30"]["mpjpe"]
    assert report["mask30_rise_pct"] == pytest.approx(100 * (masked - clean) / clean)
    assert report["frames"] > 0 and report["window"] == 9
    assert set(report["per_set"]) == {"bandai"}
    assert set(report["per_category"]) <= {"walk", "run", "gesture"}
    again = evaluate_model(model, config, progress=False)
    assert again["conditions"] == report["conditions"]
    text = format_report(report)
    assert "clean" in text and "MPJPE per category" in text and f"{clean:.1f}" in text
    # Without a config the one stored with the model is used: same split, same numbers.
    stored = evaluate_model(model, None, progress=False)
    assert stored["conditions"]["clean"] == report["conditions"]["clean"]


def test_cli_evaluate_prints_table_and_writes_json(tiny_model, tmp_path, capsys):
    config_path, model = tiny_model
    out = tmp_path / "report.json"
    assert (
        main(["evaluate", "--model", str(model), "--config", str(config_path), "--json", str(out), "--no-progress"])
        == 0
    )
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    assert f"{report['conditions']['clean']['mpjpe']:>8.1f}" in printed
    assert "MPJPE rise with 30% joints masked" in printed


def test_cli_evaluate_missing_model_exits_2(tmp_path, capsys):
    assert main(["evaluate", "--model", str(tmp_path / "none.safetensors"), "--no-progress"]) == 2
    assert "not found" in capsys.readouterr().err


def test_world_report_is_complete_reproducible_and_printed(tiny_model, tmp_path, capsys):
    """World-frame figures through the engine and the export pipeline (a tiny model: the figures are poor, the
    report's structure and reproducibility are what is checked here; the shipped model's are in the README)."""
    from mpm_core.model.evaluate import WORLD_VARIANTS, evaluate_world, format_world_report

    config_path, model = tiny_model
    config = load_config(config_path)
    report = evaluate_world(model, config, progress=False)
    assert report["clips"] >= 1 and report["frames"] > 0
    s = report["summary"]
    for name in WORLD_VARIANTS:
        block = s[name]
        assert block["root_mm"] > 0 and block["mpjpe_world_mm"] > 0 and 0 <= block["up_error_deg"] <= 180
        assert block["skate_mm_s"] >= 0 and block["penetration_mm"] >= 0
    assert s["truth"]["skate_mm_s"] >= 0 and s["mpjpe_rel_mm"] > 0 and s["mpjpe_rel_height_mm"] > 0
    clip = report["per_clip"][0]
    assert 1.0 < clip["stature_m"] < 2.2 and clip["truth"]["penetration_mm"] < 5.0
    assert report["per_performer"] and {"mpjpe_rel_mm", "mpjpe_rel_height_mm"} <= set(report["per_performer"][0])
    again = evaluate_world(model, config, progress=False)
    assert again["summary"] == report["summary"]
    text = format_world_report(report)
    assert "ground truth" in text and "--height" in text
    out = tmp_path / "world.json"
    argv = ["evaluate", "--world", "--model", str(model), "--config", str(config_path), "--json", str(out)]
    assert main([*argv, "--no-progress"]) == 0
    assert "locking" in capsys.readouterr().out and json.loads(out.read_text())["clips"] == report["clips"]


def test_flip_averaging_changes_the_lift_but_not_the_completion(tiny_model, capsys):
    config_path, model = tiny_model
    config = load_config(config_path)
    plain = evaluate_model(model, config, progress=False)
    flipped = evaluate_model(model, config, progress=False, flip=True)
    assert flipped["flip"] is True and plain["flip"] is False
    assert flipped["conditions"]["clean"]["mpjpe"] != pytest.approx(plain["conditions"]["clean"]["mpjpe"], abs=1e-4)
    assert flipped["conditions"]["complete3d_all"] == plain["conditions"]["complete3d_all"]
    assert main(["evaluate", "--model", str(model), "--config", str(config_path), "--flip", "--no-progress"]) == 0
    assert "test-time flip averaging" in capsys.readouterr().out
