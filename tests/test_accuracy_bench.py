"""Smoke version of the accuracy benchmark (``benchmarks/accuracy``): tiny data (the smallest clip per set), a few
training windows, two test windows per split. Checks that the table has every model x split x condition and every
ablation, that a rerun skips finished jobs (counted), that a job resumes from its checkpoint exactly, the split
definitions, and that the ablations train with the masks and windows they name and are scored on the same frames."""

from __future__ import annotations

import json
import re

import pytest
import torch

from benchmarks.accuracy import bench
from benchmarks.accuracy.__main__ import main as bench_main

SMOKE = dict(budget=bench.Budget.parse("4w"), batch_size=2, max_clips=1, max_test_windows=2)
JOB_COUNT = len(bench.MAIN_MODELS) * len(bench.SPLITS) + len(bench.ABLATIONS) * len(bench.ABLATION_SPLITS)


def _table_rows(table: str) -> set[tuple[str, str, str]]:
    """(split, model, condition) of every metric row of the generated markdown."""
    rows, split = set(), None
    for line in table.splitlines():
        m = re.match(r"### (\w+):", line)
        if m:
            split = m.group(1)
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if split and len(cells) >= 3 and cells[0] in bench.MAIN_MODELS and cells[1] in bench.CONDITIONS:
            rows.add((split, cells[0], cells[1]))
    return rows


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, shared_data):
    shared_data("mocap/README.md")  # the benchmark reads the shared mocap (a failure under CI when missing)
    torch_threads = torch.get_num_threads()
    out = tmp_path_factory.mktemp("accuracy")
    summary = bench.run(bench.Settings(**SMOKE), out, log=lambda *_: None)
    torch.set_num_threads(torch_threads)
    return out, summary


def test_table_has_every_model_split_and_condition(smoke_run) -> None:
    out, summary = smoke_run
    assert summary["ran"] == JOB_COUNT == 31 and summary["skipped"] == 0
    table = bench.write_table(summary["state"], out)
    expected = {(s, m, c) for s in bench.SPLITS for m in bench.MAIN_MODELS for c in bench.CONDITIONS}
    assert _table_rows(table) == expected
    # The ablation table: the reference and each ablation, a cell per condition (+ P-MPJPE), changes in brackets.
    section = table.split("### Ablations on lpo_cmu_dance", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| mpm_")]
    assert [r.split(":", 1)[0] for r in rows] == ["| mpm_pretrained", *(f"| {m}" for m in bench.ABLATIONS)]
    # With a windows budget the reference repeats mpm_pretrained step for step: the same seed, masks and figures.
    jobs = summary["state"]["jobs"]
    reference, pretrained = jobs["mpm_reference/lpo_cmu_dance"], jobs["mpm_pretrained/lpo_cmu_dance"]
    assert reference["conditions"] == pretrained["conditions"] and reference["steps"] == pretrained["steps"]
    assert "(mpm_reference)" in section and "(" not in rows[1].split("|", 6)[-1]  # the reference: no changes
    for row in rows[2:]:
        assert len(re.findall(r"\([+-]\d+\.\d\)", row)) == len(bench.CONDITIONS) + 1, row
    assert (out / "results.md").read_text(encoding="utf-8").strip() == table.strip()
    assert "Machine:" in table and "4 training windows of 81 frames per model" in table
    for key, result in summary["state"]["jobs"].items():
        assert result["conditions"]["clean"]["mpjpe"] > 0, key
        assert result["lift_frames_per_s"] > 0, key
        baseline = result["model"] in ("mlp", "tcn")
        assert (result["conditions"]["complete3d_limb"] is None) == baseline, key
        if result["model"] != "mpm_shipped":
            assert result["windows"] == 4 and result["steps"] == 2, key
    assert jobs_param(summary, "mpm_shipped") == jobs_param(summary, "mpm_scratch") > 500_000
    # The larger MPM: the shipped architecture made wider and deeper (3.8 M parameters against 0.59 M).
    assert jobs_param(summary, "mpm_large") > 6 * jobs_param(summary, "mpm_pretrained")
    # The shipped model is a trained model: far better than 4 windows of training, which shows the metrics work.
    jobs = summary["state"]["jobs"]
    assert (
        jobs["mpm_shipped/val_old"]["conditions"]["clean"]["mpjpe"]
        < jobs["mlp/val_old"]["conditions"]["clean"]["mpjpe"]
    )


def jobs_param(summary: dict, model: str) -> int:
    return summary["state"]["jobs"][f"{model}/val_old"]["parameters"]


def test_rerun_skips_finished_jobs_and_runs_a_removed_one(smoke_run, capsys) -> None:
    out, summary = smoke_run
    state_path = out / "state.json"
    before = json.loads(state_path.read_text(encoding="utf-8"))
    again = bench.run(bench.Settings(**SMOKE), out, log=lambda *_: None)
    assert again["ran"] == 0 and again["skipped"] == JOB_COUNT
    # A job missing from the state (never finished) runs again; the others are kept as they were.
    state = json.loads(state_path.read_text(encoding="utf-8"))
    del state["jobs"]["mlp/lpo_cmu_dance"]
    state_path.write_text(json.dumps(state), encoding="utf-8")
    code = bench_main(
        ["run", "--budget", "4w", "--batch-size", "2", "--max-clips", "1", "--max-test-windows", "2", "--out", str(out)]
    )
    assert code == 0
    assert f"ran 1 job(s), skipped {JOB_COUNT - 1} finished job(s)" in capsys.readouterr().out
    after = json.loads(state_path.read_text(encoding="utf-8"))
    assert after["jobs"]["tcn/val_old"] == before["jobs"]["tcn/val_old"]
    assert len(after["sittings"]) == len(before["sittings"]) + 2
    # Other settings in the same folder are refused: results must stay comparable.
    code = bench_main(["run", "--budget", "8w", "--max-clips", "1", "--out", str(out)])
    assert code == 2
    assert "other settings" in capsys.readouterr().err


def test_a_stopped_job_resumes_from_its_checkpoint_exactly(tmp_path, monkeypatch, shared_data) -> None:
    shared_data("mocap/README.md")
    settings = bench.Settings(budget=bench.Budget.parse("6w"), batch_size=2, max_clips=1)
    train, _ = bench.split_data("lpo_cmu_dance", settings)
    straight = bench.train_job("mpm_pretrained", "lpo_cmu_dance", train, settings, tmp_path / "a", log=print)
    # The same job killed right after its first checkpoint (saved after every step here), then run again.
    import mpm_core.model.train as train_mod

    original = train_mod.save_train_state

    class Killed(Exception):
        pass

    def save_then_die(*args, **kwargs):
        original(*args, **kwargs)
        raise Killed

    monkeypatch.setattr(bench, "CHECKPOINT_EVERY_S", 0.0)
    monkeypatch.setattr(train_mod, "save_train_state", save_then_die)
    with pytest.raises(Killed):
        bench.train_job("mlp", "lpo_cmu_dance", train, settings, tmp_path / "m", log=print)
    monkeypatch.setattr(train_mod, "save_train_state", original)
    messages = []
    resumed = bench.train_job("mlp", "lpo_cmu_dance", train, settings, tmp_path / "m", log=messages.append)
    assert messages == ["[mlp/lpo_cmu_dance] resumed at step 1"]
    fresh = bench.train_job("mlp", "lpo_cmu_dance", train, settings, tmp_path / "n", log=print)
    assert resumed["steps"] == fresh["steps"] == 3
    for key, value in fresh["network"].state_dict().items():
        assert torch.allclose(resumed["network"].state_dict()[key], value), key
    # Pretraining takes 25% of 6 windows: one step of 2; finetuning the remaining 4: two steps.
    assert straight["steps"] == 3 and straight["windows"] == 6
    # The loss curve survives the interruption: steps at 0, 2 and 4 of 6 windows, in tenths 0, 3 and 6.
    assert [v is None for v in resumed["loss_curve_mm"]] == [i not in (0, 3, 6) for i in range(10)]
    pairs = [(a, b) for a, b in zip(resumed["loss_curve_mm"], fresh["loss_curve_mm"]) if a is not None]
    assert len(pairs) == 3 and all(a == pytest.approx(b, rel=1e-5) for a, b in pairs)


def test_the_loss_curve_has_the_mean_loss_of_each_tenth_of_the_budget(tmp_path, shared_data) -> None:
    shared_data("mocap/README.md")
    settings = bench.Settings(budget=bench.Budget.parse("40w"), batch_size=2, max_clips=1)
    train, _ = bench.split_data("val_old", settings)
    result = bench.train_job("mlp", "val_old", train, settings, tmp_path, log=print)
    curve = result["loss_curve_mm"]
    # 20 steps of 2 windows, two per tenth; the last 20 steps make the final loss, so it is the curve's mean.
    assert result["steps"] == 20 and len(curve) == 10 and None not in curve
    assert sum(curve) / 10 == pytest.approx(result["final_train_loss_mm"], rel=1e-9)
    assert bench._second_half(curve) == f"{curve[4]:.0f} → {curve[9]:.0f} ({100 * (curve[9] / curve[4] - 1):+.0f}%)"
    assert bench._second_half([None] * 10) == "–"


def test_splits_hold_out_what_they_say(shared_data) -> None:
    from mpm_core.model.config import ALL_SETS
    from mpm_core.model.data import list_clips

    infos = list_clips(shared_data("mocap"), list(ALL_SETS))
    train, test = bench.split_keys("lolo_accad", infos)
    assert test and all(c.name.startswith("accad_") for c in test)
    assert not any(c.name.startswith("accad_") for c in train)
    assert {c.set_name for c in train} >= {"cmu_dance_corpus", "bandai_corpus"}
    train, test = bench.split_keys("lpo_cmu_dance", infos)
    assert {c.set_name for c in test} == {"cmu_dance_corpus"} and len(test) == 43
    assert "cmu_dance_corpus" not in {c.set_name for c in train}
    train, test = bench.split_keys("val_old", infos)
    assert sorted(c.key for c in test) == sorted(bench.val_old_keys()) and len(test) == 69
    assert "cmu_dance_corpus" not in {c.set_name for c in train + test}
    train, test = bench.split_keys("val_new", infos)
    assert not {c.key for c in train} & {c.key for c in test}
    assert {c.set_name for c in test} == {c.set_name for c in infos if sum(i.set_name == c.set_name for i in infos) > 1}


def test_the_shipped_models_seen_clips_follow_its_own_split(shared_data) -> None:
    """The table warns when the shipped model trained on a split's test clips: counted from its sidecar's own
    training sets and hash split (the library's ``split_clips``), not from the benchmark's splits."""
    from types import SimpleNamespace

    from mpm_core.model.checkpoint import default_model_path, read_sidecar
    from mpm_core.model.config import ALL_SETS
    from mpm_core.model.data import list_clips, split_clips

    infos = list_clips(shared_data("mocap"), list(ALL_SETS))
    meta = read_sidecar(default_model_path())
    data = meta["training"]["config"]["data"]
    assert "cmu_dance_corpus" in data["sets"]  # stage 5 trained on it
    mine = [i for i in infos if i.set_name in data["sets"]]
    _, val = split_clips([SimpleNamespace(info=i) for i in mine], data["val_fraction"], data["split_salt"])
    held = bench.hash_split_test_keys(mine, data["val_fraction"], data["split_salt"])
    assert held == {c.info.key for c in val} and 0 < len(held) < len(mine)
    settings = bench.Settings(budget=bench.Budget(1, "windows"), data_root=str(shared_data("mocap")))
    for split in bench.SPLITS:
        _, test = bench.split_keys(split, infos)
        seen = bench.shipped_overlap([SimpleNamespace(info=i) for i in test], meta, settings)
        assert seen == sum(i.key not in held for i in test), split
        # Its validation clips are the old split's; the dance performers were mostly in its training data.
        if split == "val_old":
            assert seen == 0
        if split == "lpo_cmu_dance":
            assert 0 < seen < len(test)


def test_ablations_train_with_the_masks_and_window_they_name(tmp_path, monkeypatch, shared_data) -> None:
    import mpm_core.model.train as train_mod
    from mpm_core.model import masking

    shared_data("mocap/README.md")
    settings = bench.Settings(budget=bench.Budget.parse("8w"), batch_size=2, max_clips=1)
    train, test = bench.split_data("lpo_cmu_dance", settings)
    calls, sampler = [], masking.spatio_temporal

    def spy(B, T, J, frame_ratio, joints_per_frame, rng):
        calls.append((T, frame_ratio, joints_per_frame))
        return sampler(B, T, J, frame_ratio, joints_per_frame, rng)

    monkeypatch.setattr(train_mod.masking, "spatio_temporal", spy)
    for model in ("mpm_temporal", "mpm_window27"):
        calls.clear()
        result = bench.train_job(model, "lpo_cmu_dance", train, settings, tmp_path / model, log=print)
        ablation = bench.ABLATIONS[model]
        assert result["network"].config.window == ablation.window
        # Pretraining (2 of 8 windows: one step, 2D and 3D masks) with the ablation's masks; finetuning's 3D
        # completion masks are the recipe's (the reference's).
        assert calls[:2] == [(ablation.window, ablation.frame_ratio, ablation.joints_per_frame)] * 2
        assert set(calls[2:]) == {(ablation.window, bench.REFERENCE.frame_ratio, bench.REFERENCE.joints_per_frame)}
    # The stated share of hidden inputs is what the sampler hides.
    for a in (bench.REFERENCE, *bench.ABLATIONS.values()):
        jm, fm = sampler(8, a.window, 17, a.frame_ratio, a.joints_per_frame, rng=0)
        assert float((jm | fm[..., None]).mean()) == pytest.approx(a.mask_ratio(), abs=1e-9), a.title
    assert bench.REFERENCE.mask_ratio() == pytest.approx(0.721, abs=1e-3)
    # Every window length scores the same frames of the test clips (windows of w frames tile each clip).
    frames = {w: int(bench.test_windows(test, settings, w).score.sum()) for w in (27, 81, 243)}
    assert len(set(frames.values())) == 1 and frames[81] > 243, frames


def test_budget_parsing() -> None:
    assert bench.Budget.parse("20m") == bench.Budget(1200.0, "cpu_s")
    assert bench.Budget.parse("1.5h").amount == 5400.0
    assert bench.Budget.parse("4000w") == bench.Budget(4000.0, "windows")
    with pytest.raises(bench.PoseDataError):
        bench.Budget.parse("ten minutes")


def test_check_evaluates_a_checkpoint_like_the_jobs(smoke_run, tmp_path, capsys) -> None:
    """``check`` gives the shipped model's figures on a split exactly as its ``mpm_shipped`` job did."""
    _, summary = smoke_run
    out = tmp_path / "check.json"
    argv = ["check", "--model", "mpm_h36m17", "--splits", "val_old", "--json", str(out)]
    assert bench_main([*argv, "--max-clips", "1", "--max-test-windows", "2"]) == 0
    printed = capsys.readouterr().out
    (result,) = json.loads(out.read_text(encoding="utf-8"))
    job = summary["state"]["jobs"]["mpm_shipped/val_old"]
    assert result["conditions"] == job["conditions"]
    assert f"{job['conditions']['clean']['mpjpe']:.3f}" in printed
    assert bench_main([*argv, "--max-clips", "1", "--max-test-windows", "2", "--flip"]) == 0
    (flipped,) = json.loads(out.read_text(encoding="utf-8"))
    assert flipped["flip"] and flipped["conditions"]["clean"] != job["conditions"]["clean"]
    assert flipped["conditions"]["complete3d_limb"] == job["conditions"]["complete3d_limb"]


def test_the_table_goes_between_its_run_folders_markers(smoke_run, tmp_path) -> None:
    out, summary = smoke_run
    other = "<!-- accuracy-table:begin other_run -->\nkept\n<!-- accuracy-table:end other_run -->"
    mine = f"<!-- accuracy-table:begin {out.name} -->\nstale table\n<!-- accuracy-table:end {out.name} -->"
    doc = tmp_path / "doc.md"
    doc.write_text(f"# Title\n\n{mine}\n\ntext\n\n{other}\n", encoding="utf-8")
    table = bench.write_table(summary["state"], out, doc)
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Title\n\n") and f"{table}\n<!-- accuracy-table:end {out.name} -->\n\ntext\n" in text
    assert "stale table" not in text and text.endswith(f"{other}\n")
    doc.write_text("no markers\n", encoding="utf-8")
    with pytest.raises(bench.PoseDataError, match="not found"):
        bench.write_table(summary["state"], out, doc)
    assert doc.read_text(encoding="utf-8") == "no markers\n"


def test_a_second_run_on_the_same_folder_is_refused(smoke_run) -> None:
    fcntl = pytest.importorskip("fcntl")
    out, _ = smoke_run
    before = (out / "state.json").read_bytes()
    with open(out / "run.lock", "a+b") as held:  # as a run in another process holds it
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(bench.PoseDataError, match="another run is using this folder"):
            bench.run(bench.Settings(**SMOKE), out, log=lambda *_: None)
        fcntl.flock(held, fcntl.LOCK_UN)
    assert (out / "state.json").read_bytes() == before
    assert bench.run(bench.Settings(**SMOKE), out, log=lambda *_: None)["skipped"] == JOB_COUNT
