"""Checkpoint round trip and every way a checkpoint can be broken."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from mpm_core.errors import PoseDataError
from mpm_core.model import checkpoint
from mpm_core.model.checkpoint import load_model, save_checkpoint
from mpm_core.model.network import MPMNetwork, NetworkConfig
from mpm_core.skeleton import H36M_JOINTS

TINY = dict(window=9, width=32, heads=4, encoder_layers=1, decoder_width=16, decoder_heads=4)


def _net(seed: int = 0, **overrides) -> MPMNetwork:
    torch.manual_seed(seed)
    return MPMNetwork(NetworkConfig(**{**TINY, **overrides})).eval()


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, MPMNetwork]:
    net = _net()
    meta = {"training": {"steps": 3, "lr": 1e-3}, "metrics": {"mpjpe": np.float32(41.5)}, "data": [tmp_path / "a.bvh"]}
    return save_checkpoint(tmp_path / "model", net, meta), net


def test_save_writes_both_files_and_sidecar_contents(saved):
    weights, net = saved
    assert weights.name == "model.safetensors" and weights.is_file()
    meta = json.loads(weights.with_suffix(".json").read_text())
    assert meta["format_version"] == checkpoint.FORMAT_VERSION
    assert meta["architecture"] == net.config.to_dict()
    assert meta["layout"] == "h36m17" and meta["joint_names"] == list(H36M_JOINTS)
    assert meta["window"] == 9 and meta["normalisation"]["screen"] == "videopose3d"
    assert meta["metrics"] == {"mpjpe": 41.5} and meta["training"]["steps"] == 3
    assert meta["data"] == [str(weights.parent / "a.bvh")]
    assert not list(weights.parent.glob("*.part"))  # no temp files left


@pytest.mark.parametrize("which", ["safetensors", "json", "stem"])
def test_round_trip_gives_identical_outputs(saved, which):
    weights, net = saved
    path = {"safetensors": weights, "json": weights.with_suffix(".json"), "stem": weights.with_suffix("")}[which]
    loaded = load_model(path, device="cpu")
    assert loaded.config == net.config and loaded.device.type == "cpu" and loaded.path == weights
    assert not loaded.network.training
    g = torch.Generator().manual_seed(1)
    x2 = torch.randn(2, 9, 17, 2, generator=g)
    x3 = torch.randn(2, 9, 17, 3, generator=g)
    hidden = torch.rand(2, 9, 17, generator=g) < 0.2
    frames = torch.zeros(2, 9, dtype=torch.bool)
    frames[1, 3:6] = True
    with torch.no_grad():
        ref = net(x2, "2d", hidden, frames)
        ref3 = net(x3, "3d", hidden, frames)["3d"]
    y3, y2 = loaded.lift(x2, hidden, frames, complete_first=False)
    assert torch.equal(y3, ref["3d"]) and torch.equal(y2, ref["2d"])
    assert torch.equal(loaded.complete_2d(x2, hidden, frames), ref["2d"])
    assert torch.equal(loaded.complete_3d(x3, hidden, frames), ref3)
    assert torch.equal(loaded.lift_3d_only(x2, hidden, frames, complete_first=False), ref["3d"])


def test_two_pass_lift_completes_the_hidden_2d_then_lifts_it(saved):
    weights, net = saved
    loaded = load_model(weights, device="cpu")
    g = torch.Generator().manual_seed(2)
    x2 = torch.randn(3, 9, 17, 2, generator=g)
    hidden = torch.rand(3, 9, 17, generator=g) < 0.3
    hidden[2] = False  # a window with nothing hidden takes one pass
    frames = torch.zeros(3, 9, dtype=torch.bool)
    frames[0, 2:4] = True
    with torch.no_grad():
        first = net(x2, "2d", hidden, frames, ("2d",))["2d"]
        filled = torch.where(hidden.unsqueeze(-1), first, x2)
        # The second pass sees the completed joints as ordinary input; hidden frames stay hidden.
        second = net(filled, "2d", torch.zeros_like(hidden), frames)
        direct = net(x2, "2d", hidden, frames)["3d"]
    y3, y2 = loaded.lift(x2, hidden, frames)
    assert torch.allclose(y3, second["3d"], atol=1e-6)
    assert torch.allclose(y2[:2], first[:2], atol=1e-6)  # completed 2D of windows with hidden joints: pass one
    assert torch.allclose(y2[2], second["2d"][2], atol=1e-6)
    assert torch.allclose(loaded.lift_3d_only(x2, hidden, frames), y3, atol=1e-6)
    assert not torch.allclose(y3[:2], direct[:2], atol=1e-4)  # differs from one masked pass where joints hide
    assert torch.allclose(y3[2], direct[2], atol=1e-6)


def test_missing_files(tmp_path, saved):
    with pytest.raises(PoseDataError, match="not found") as e:
        load_model(tmp_path / "nothing.safetensors")
    assert "nothing.safetensors" in str(e.value)
    weights, _ = saved
    weights.unlink()
    with pytest.raises(PoseDataError, match=r"weights \(.safetensors\) not found"):
        load_model(weights.with_suffix(".json"))


def test_missing_sidecar(saved):
    weights, _ = saved
    weights.with_suffix(".json").unlink()
    with pytest.raises(PoseDataError, match="sidecar") as e:
        load_model(weights)
    assert "model.json" in str(e.value)


def test_truncated_weights(saved):
    weights, _ = saved
    blob = weights.read_bytes()
    for cut in (len(blob) // 2, 4):
        weights.write_bytes(blob[:cut])
        with pytest.raises(PoseDataError, match="corrupt or truncated") as e:
            load_model(weights)
        assert str(weights) in str(e.value)


def test_bad_json(saved):
    weights, _ = saved
    sidecar = weights.with_suffix(".json")
    sidecar.write_text('{"format_version": 1,\n "architecture": {')
    with pytest.raises(PoseDataError, match="bad JSON") as e:
        load_model(weights)
    assert "model.json" in str(e.value) and "line 2" in str(e.value)
    sidecar.write_text("[1, 2]")
    with pytest.raises(PoseDataError, match="JSON object"):
        load_model(weights)


def _edit_sidecar(weights: Path, **changes) -> None:
    sidecar = weights.with_suffix(".json")
    meta = json.loads(sidecar.read_text())
    meta.update(changes)
    sidecar.write_text(json.dumps(meta))


def test_wrong_format_version(saved):
    weights, _ = saved
    _edit_sidecar(weights, format_version=99)
    with pytest.raises(PoseDataError, match="format_version 99") as e:
        load_model(weights)
    assert "model.json" in str(e.value)


def test_architecture_errors(saved):
    weights, net = saved
    _edit_sidecar(weights, architecture={**net.config.to_dict(), "flux": 1})
    with pytest.raises(PoseDataError, match="architecture: network config: unknown key"):
        load_model(weights)


def test_architecture_and_weights_disagree(saved):
    weights, net = saved
    # Sidecar describes a wider network than the weights hold: a shape mismatch named by key.
    _edit_sidecar(weights, architecture={**net.config.to_dict(), "width": 64, "heads": 4}, weights_sha256=None)
    with pytest.raises(PoseDataError, match="shape mismatch") as e:
        load_model(weights)
    assert "model.safetensors" in str(e.value)
    # Sidecar describes more encoder layers than stored: missing keys.
    _edit_sidecar(weights, architecture={**net.config.to_dict(), "encoder_layers": 2})
    with pytest.raises(PoseDataError, match="missing keys: encoder.layers.1"):
        load_model(weights)
    # Fewer: unexpected keys.
    _edit_sidecar(weights, architecture={**net.config.to_dict(), "encoder_layers": 1, "decoder_layers": 0})
    with pytest.raises(PoseDataError, match="unexpected keys: decoder_2d.blocks"):
        load_model(weights)


def test_foreign_weights_fail_the_checksum(saved):
    weights, net = saved
    other = _net(seed=5)
    save_file({k: v.contiguous() for k, v in other.state_dict().items()}, str(weights))
    with pytest.raises(PoseDataError, match="checksum"):
        load_model(weights)


def test_non_finite_weights_are_rejected(saved):
    weights, net = saved
    state = {k: v.clone().contiguous() for k, v in net.state_dict().items()}
    state["pos"][0, 0, 0] = float("nan")
    save_file(state, str(weights))
    _edit_sidecar(weights, weights_sha256=None)
    with pytest.raises(PoseDataError, match="non-finite") as e:
        load_model(weights)
    assert "pos" in str(e.value)


def test_meta_may_not_contradict_reserved_keys(tmp_path):
    net = _net()
    with pytest.raises(ValueError, match="'window' is reserved"):
        save_checkpoint(tmp_path / "m", net, {"window": 81})
    save_checkpoint(tmp_path / "m", net, {"window": 9, "layout": "h36m17"})  # same values are fine
    with pytest.raises(ValueError, match="metrics.bad: object is not JSON-serialisable"):
        save_checkpoint(tmp_path / "n", net, {"metrics": {"bad": object()}})
    assert not (tmp_path / "n.safetensors").exists()


def test_device_resolution():
    assert checkpoint.resolve_device("cpu").type == "cpu"
    assert checkpoint.resolve_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(PoseDataError, match="unknown device"):
        checkpoint.resolve_device("toaster")


def test_default_model_path():
    path = checkpoint.default_model_path()
    assert path.name == "mpm_h36m17.safetensors" and path.parent.name == "models"
    assert path.parent.parent.parent == Path(checkpoint.__file__).resolve().parents[2]


def test_non_finite_metrics_are_saved_as_null(tmp_path):
    metrics = {"auc": float("nan"), "pck": np.array([0.5, np.inf])}
    weights = save_checkpoint(tmp_path / "m", _net(), {"metrics": metrics})
    meta = json.loads(weights.with_suffix(".json").read_text())
    assert meta["metrics"] == {"auc": None, "pck": [0.5, None]}


def test_update_sidecar_adds_entries_and_keeps_the_weights(saved):
    path, _ = saved
    weights_before = path.read_bytes()
    checkpoint.update_sidecar(path, {"evaluation": {"clean": {"mpjpe": 61.3}}})
    model = load_model(path, device="cpu")  # the checksum still matches: weights untouched
    assert model.meta["evaluation"] == {"clean": {"mpjpe": 61.3}}
    assert path.read_bytes() == weights_before
    with pytest.raises(ValueError, match="reserved"):
        checkpoint.update_sidecar(path, {"weights_sha256": "0"})


def test_two_pass_lift_when_every_window_has_hidden_joints(saved):
    weights, net = saved
    loaded = load_model(weights, device="cpu")
    g = torch.Generator().manual_seed(3)
    x2 = torch.randn(2, 9, 17, 2, generator=g)
    hidden = torch.zeros(2, 9, 17, dtype=torch.bool)
    hidden[0, 4, 13] = hidden[1, 0:3, 5] = True
    with torch.no_grad():
        first = net(x2, "2d", hidden, None, ("2d",))["2d"]
        second = net(torch.where(hidden.unsqueeze(-1), first, x2), "2d", torch.zeros_like(hidden))["3d"]
    y3, y2 = loaded.lift(x2, hidden)
    assert torch.allclose(y3, second, atol=1e-6) and torch.allclose(y2, first, atol=1e-6)


def test_hidden_frames_alone_take_one_pass(saved):
    weights, _ = saved
    loaded = load_model(weights, device="cpu")
    calls = []
    run = loaded._run

    def counted(x, *args, **kwargs):
        calls.append(int(x.shape[0]))
        return run(x, *args, **kwargs)

    loaded._run = counted
    x2 = torch.randn(2, 9, 17, 2)
    frames = torch.zeros(2, 9, dtype=torch.bool)
    frames[:, 6:] = True  # padding / missing frames: every joint of those frames hidden
    hidden = frames.unsqueeze(-1).expand(2, 9, 17).clone()
    loaded.lift(x2, hidden, frames)
    assert calls == [2]  # no completion pass: the encoder never sees those frames
    hidden[1, 2, 4] = True  # a joint hidden in a seen frame: that window alone gets the first pass
    calls.clear()
    loaded.lift(x2, hidden, frames)
    assert calls == [1, 2]
