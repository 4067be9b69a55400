"""Training loops on a tiny network and a handful of clips: CLI phases, checkpoints, resume, DDP with gloo."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from mpm_core.cli import main
from mpm_core.errors import PoseDataError
from mpm_core.model.checkpoint import load_model, load_state_dict
from mpm_core.model.config import load_config
from mpm_core.model.masking import LIMB_INDICES
from mpm_core.model.train import finetune_masks, lr_at, run_phase

CLIPS = ["dataset-1_walk_normal_001.bvh", "dataset-1_run_happy_001.bvh", "dataset-1_bow_normal_001.bvh"]
TINY_NETWORK = {
    "window": 9,
    "width": 16,
    "heads": 2,
    "encoder_layers": 1,
    "decoder_layers": 1,
    "decoder_width": 16,
    "decoder_heads": 2,
    "dropout": 0.0,
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def tiny_config(shared_data, tmp_path) -> Path:
    root = tmp_path / "mocap"
    (root / "bandai").mkdir(parents=True)
    for name in CLIPS:
        (root / "bandai" / name).symlink_to(shared_data(f"mocap/bandai/{name}"))
    phase = {"steps": 3, "batch_size": 4, "val_every": 2, "ckpt_every": 2, "log_every": 1, "warmup_steps": 100}
    config = {
        "seed": 7,
        "run_dir": "run",
        "output": "out/model",
        "data": {"root": str(root), "sets": ["bandai"], "cache_dir": str(tmp_path / "cache"), "val_fraction": 0.34},
        "network": TINY_NETWORK,
        "pretrain": phase,
        "finetune": phase,
        "evaluate": {"batch_size": 8},
    }
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(config))
    return path


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_state_dict(path)


def test_pretrain_then_finetune_via_cli(tiny_config, capsys):
    assert main(["pretrain", "--config", str(tiny_config), "--no-progress"]) == 0
    run = tiny_config.parent / "run"
    for name in (
        "pretrain_last.safetensors",
        "pretrain_last.json",
        "pretrain_state.safetensors",
        "pretrain_state.json",
    ):
        assert (run / name).is_file(), name
    assert main(["finetune", "--config", str(tiny_config), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "initialised from" in out and "finetune: 3 steps" in out
    model = load_model(tiny_config.parent / "out" / "model", device="cpu")
    assert model.config.width == 16
    meta = model.meta
    assert meta["training"]["phase"] == "finetune" and meta["training"]["step"] == 3
    # Run folders are stored without this machine's absolute paths.
    stored = meta["training"]["config"]
    assert stored["run_dir"] == "run" and stored["output"] == "model", stored
    assert meta["data"]["bandai"]["train_clips"] + meta["data"]["bandai"]["val_clips"] == 3
    assert meta["data"]["bandai"]["licences"] == ["Bandai Namco Research, CC BY-NC 4.0 (non-commercial)"]
    assert meta["metrics"]["val_mpjpe_mm"] > 0
    # Finetuning started from the pretrained weights, and changed them.
    pre = _weights(run / "pretrain_last.safetensors")
    fin = _weights(run / "finetune_last.safetensors")
    assert any(not torch.equal(pre[k], fin[k]) for k in pre)
    # A state file is JSON + safetensors (no pickle).
    state = json.loads((run / "finetune_state.json").read_text())
    assert state["step"] == 3 and "numpy_rng" in state


def test_resume_continues_exactly(tiny_config):
    config = load_config(tiny_config)
    config.finetune.steps = 4
    config.run_dir = str(tiny_config.parent / "straight")
    run_phase(config, "finetune", progress=False)
    straight = _weights(Path(config.run_dir) / "finetune_last.safetensors")

    config.run_dir = str(tiny_config.parent / "split")
    config.finetune.steps = 2
    run_phase(config, "finetune", progress=False)
    config.finetune.steps = 4
    summary = run_phase(config, "finetune", resume=True, progress=False)
    assert summary["steps"] == 4
    resumed = _weights(Path(config.run_dir) / "finetune_last.safetensors")
    for k in straight:
        torch.testing.assert_close(resumed[k], straight[k], rtol=0, atol=1e-6)


def test_resume_without_state_is_a_clear_error(tiny_config):
    config = load_config(tiny_config)
    config.run_dir = str(tiny_config.parent / "empty")
    with pytest.raises(PoseDataError):
        run_phase(config, "finetune", resume=True, progress=False)


def test_seeded_runs_are_identical(tiny_config):
    config = load_config(tiny_config)
    config.finetune.steps = 2
    results = []
    for name in ("a", "b"):
        config.run_dir = str(tiny_config.parent / name)
        run_phase(config, "finetune", progress=False)
        results.append(_weights(Path(config.run_dir) / "finetune_last.safetensors"))
    for k in results[0]:
        assert torch.equal(results[0][k], results[1][k]), k


def test_schedule_and_masks():
    from mpm_core.model.config import PhaseConfig

    cfg = PhaseConfig(steps=100, lr=1.0, warmup_steps=10)
    assert lr_at(0, cfg) == pytest.approx(0.1)
    assert lr_at(10, cfg) == pytest.approx(1.0)
    assert lr_at(100, cfg) == pytest.approx(0.05)
    timed = PhaseConfig(steps=10_000, lr=1.0, warmup_steps=0, time_limit_min=1.0)
    assert lr_at(5, timed, elapsed_s=60.0) == pytest.approx(0.05)  # time limit reached: schedule at its end
    rng = np.random.default_rng(0)
    jm, fm = finetune_masks({"clean": 1.0}, 8, 9, 17, rng)
    assert not jm.any() and not fm.any()
    jm, fm = finetune_masks({"random_joints": 1.0}, 64, 27, 17, rng)
    assert 0.25 < jm.mean() < 0.35 and not fm.any()
    jm, fm = finetune_masks({"frame_block": 1.0}, 8, 27, 17, rng)
    assert fm.any(axis=1).all()
    jm, fm = finetune_masks({"limb_window": 1.0}, 16, 27, 17, rng)
    limbs = [list(v) for v in LIMB_INDICES.values()]
    for sample in jm:  # exactly one whole limb hidden in every frame, nothing else
        hidden_limbs = [idx for idx in limbs if sample[:, idx].all()]
        assert len(hidden_limbs) == 1 and sample.sum() == 27 * len(hidden_limbs[0])
    assert not fm.any()


def test_finetune_can_keep_3d_completion_trained():
    from mpm_core.model.config import PhaseConfig
    from mpm_core.model.data import Batch
    from mpm_core.model.network import MPMNetwork, NetworkConfig
    from mpm_core.model.train import _LossModule, batch_tensors

    rng = np.random.default_rng(0)
    B, T, J = 4, 9, 17
    batch = Batch(
        x2d=rng.normal(size=(B, T, J, 2)).astype(np.float32),
        x2d_clean=rng.normal(size=(B, T, J, 2)).astype(np.float32),
        hidden=np.zeros((B, T, J), bool),
        scores=np.ones((B, T, J), np.float32),
        y3d=rng.normal(size=(B, T, J, 3)).astype(np.float32),
        pad=np.zeros((B, T), bool),
        fps=np.full(B, 30.0, np.float32),
        image_size=np.tile([640, 480], (B, 1)),
        focal=np.full(B, 500.0, np.float32),
    )
    module = _LossModule(MPMNetwork(NetworkConfig(**TINY_NETWORK)))
    plain = PhaseConfig(mask_mix={"clean": 1.0}, loss={"lift3d": 1.0})
    t = batch_tensors(batch, "finetune", plain, rng, torch.device("cpu"))
    assert not t["fmask3d"].any() and "recon3d" not in module(t, "finetune", plain.loss)
    keep = PhaseConfig(mask_mix={"clean": 1.0}, loss={"lift3d": 1.0, "recon3d": 0.5})
    t = batch_tensors(batch, "finetune", keep, rng, torch.device("cpu"))
    assert t["fmask3d"].any() and t["mask3d"].any()
    losses = module(t, "finetune", keep.loss)
    assert "recon3d" in losses
    torch.testing.assert_close(losses["total"], losses["lift3d"] + 0.5 * losses["recon3d"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, config_path: str, result_dir: str) -> None:
    os.environ.update(
        {"RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank), "MASTER_ADDR": "127.0.0.1"}
    )
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    config = load_config(config_path)
    config.finetune.steps = 3
    summary = run_phase(config, "finetune", progress=False)
    Path(result_dir, f"rank{rank}.json").write_text(json.dumps(summary))


def test_ddp_two_processes_gloo(tiny_config, tmp_path):
    # Warm the data cache in this process so the two workers only read it.
    from mpm_core.model.data import prepare_clips

    prepare_clips(load_config(tiny_config).data, progress=False)
    results = tmp_path / "ddp"
    results.mkdir()
    torch.multiprocessing.spawn(
        _ddp_worker, args=(2, _free_port(), str(tiny_config), str(results)), nprocs=2, join=True
    )
    summaries = [json.loads((results / f"rank{r}.json").read_text()) for r in range(2)]
    assert [s["world"] for s in summaries] == [2, 2]
    assert [s["rank"] for s in summaries] == [0, 1]
    # Each rank saw different windows, yet gradients were averaged: identical weights on both ranks.
    assert summaries[0]["param_fingerprint"] == summaries[1]["param_fingerprint"]
    assert summaries[0]["batch_fingerprint"] != summaries[1]["batch_fingerprint"]
    assert (tiny_config.parent / "run" / "finetune_last.safetensors").is_file()


def test_config_names_unknown_masks_and_losses(tmp_path):
    from mpm_core.model.config import config_from_dict

    path = str(tmp_path / "recipe.json")
    ok = config_from_dict({"finetune": {"mask_mix": {"clean": 0.5, "limb_window": 0.3, "random_joints": 0.2}}}, path)
    assert ok.finetune.mask_mix["limb_window"] == 0.3
    with pytest.raises(PoseDataError, match=r"recipe.json.*finetune.mask_mix: unknown mask\(s\) limbs_window"):
        config_from_dict({"finetune": {"mask_mix": {"limbs_window": 1.0}}}, path)
    with pytest.raises(PoseDataError, match=r"pretrain.loss: unknown term\(s\) recon4d"):
        config_from_dict({"pretrain": {"loss": {"recon4d": 1.0}}}, path)


def test_toml_config_is_read_and_a_broken_one_named(tmp_path):
    good = tmp_path / "recipe.toml"
    good.write_text("seed = 3\n[finetune]\nsteps = 7\n[finetune.mask_mix]\nclean = 1.0\n")
    config = load_config(good)
    assert config.seed == 3 and config.finetune.steps == 7 and config.finetune.mask_mix == {"clean": 1.0}
    bad = tmp_path / "broken.toml"
    bad.write_text("seed = = 3\n")
    with pytest.raises(PoseDataError, match="broken.toml"):
        load_config(bad)
