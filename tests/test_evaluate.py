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
