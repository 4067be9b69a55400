"""MPMNetwork: shapes, masking semantics, finite outputs, and a short overfit on each task."""

from __future__ import annotations

import pytest
import torch

from mpm_core.model import masking
from mpm_core.model.network import MPMNetwork, NetworkConfig

TINY = dict(window=9, width=32, heads=4, encoder_layers=2, decoder_layers=1, decoder_width=32, decoder_heads=4)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _net(seed: int = 0, **overrides) -> MPMNetwork:
    torch.manual_seed(seed)
    return MPMNetwork(NetworkConfig(**{**TINY, **overrides}))


def test_output_shapes_and_root_relative_3d():
    net = _net()
    x2 = torch.randn(3, 9, 17, 2)
    out = net(x2, "2d")
    assert set(out) == {"2d", "3d"}
    assert out["2d"].shape == (3, 9, 17, 2) and out["3d"].shape == (3, 9, 17, 3)
    assert torch.equal(out["3d"][:, :, 0], torch.zeros(3, 9, 3))
    assert out["3d"][:, :, 1:].abs().sum() > 0
    only3 = net(torch.randn(2, 9, 17, 3), "3d", outputs=("3d",))
    assert set(only3) == {"3d"} and only3["3d"].shape == (2, 9, 17, 3)
    assert set(net(x2, "2d", outputs=("2d",))) == {"2d"}


def test_shorter_windows_are_accepted_longer_rejected():
    net = _net().eval()
    assert net(torch.randn(1, 5, 17, 2), "2d")["3d"].shape == (1, 5, 17, 3)
    with pytest.raises(ValueError, match="1..9"):
        net(torch.randn(1, 10, 17, 2), "2d")


def test_bad_inputs_are_rejected():
    net = _net()
    with pytest.raises(ValueError, match="modality"):
        net(torch.randn(1, 9, 17, 2), "4d")
    with pytest.raises(ValueError, match=r"\(B, T, 17, 3\)"):
        net(torch.randn(1, 9, 17, 2), "3d")
    with pytest.raises(ValueError, match="joint_mask"):
        net(torch.randn(1, 9, 17, 2), "2d", joint_mask=torch.zeros(1, 9, 16, dtype=torch.bool))
    with pytest.raises(ValueError, match="frame_mask"):
        net(torch.randn(1, 9, 17, 2), "2d", frame_mask=torch.zeros(1, 8, dtype=torch.bool))
    with pytest.raises(ValueError, match="unknown output"):
        net(torch.randn(1, 9, 17, 2), "2d", outputs=("rgb",))


def test_hidden_values_are_ignored():
    net = _net().eval()
    x = torch.randn(2, 9, 17, 2)
    jm = torch.zeros(2, 9, 17, dtype=torch.bool)
    jm[:, 2:5, [3, 11]] = True
    fm = torch.zeros(2, 9, dtype=torch.bool)
    fm[0, 6:] = True
    fm[1, :2] = True
    garbage = x.clone()
    garbage[jm] = 1e6
    garbage[fm] = -1e6
    with torch.no_grad():
        a = net(x, "2d", jm, fm)
        b = net(garbage, "2d", jm, fm)
        c = net(x, "2d")
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-5)
        assert not torch.allclose(a[k], c[k], atol=1e-3)  # the masks do change the result


def test_frame_masks_differ_per_sample_and_match_single_sample_runs():
    net = _net().eval()
    x = torch.randn(3, 9, 17, 3)
    fm = torch.tensor(masking.frame_block(3, 9, 17, min_frames=2, max_frames=5, rng=0)[1])
    with torch.no_grad():
        batched = net(x, "3d", frame_mask=fm)["3d"]
        single = torch.cat([net(x[i : i + 1], "3d", frame_mask=fm[i : i + 1])["3d"] for i in range(3)])
    assert torch.allclose(batched, single, atol=1e-5)


def test_all_hidden_sample_gives_finite_output_in_train_eval_and_inference():
    net = _net()
    x = torch.randn(2, 9, 17, 2)
    jm = torch.zeros(2, 9, 17, dtype=torch.bool)
    jm[1] = True  # every joint hidden in sample 1
    fm = torch.zeros(2, 9, dtype=torch.bool)
    fm[0] = True  # every frame hidden in sample 0
    out = net(x, "2d", jm, fm)
    assert all(torch.isfinite(v).all() for v in out.values())
    sum(v.sum() for v in out.values()).backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)
    net.eval()
    with torch.inference_mode():  # the fused fast path
        out = net(x, "2d", jm, fm)
    assert all(torch.isfinite(v).all() for v in out.values())


def test_eval_fast_path_matches_autograd_path():
    net = _net().eval()
    x = torch.randn(4, 9, 17, 2)
    jm, fm = (torch.from_numpy(m) for m in masking.spatio_temporal(4, 9, 17, rng=3))
    slow = net(x, "2d", jm, fm)
    with torch.inference_mode():
        fast = net(x, "2d", jm, fm)
    for k in slow:
        assert torch.allclose(slow[k], fast[k], atol=1e-5)


def test_config_round_trip_and_validation():
    cfg = NetworkConfig(**TINY)
    assert NetworkConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown key"):
        NetworkConfig.from_dict({**cfg.to_dict(), "depth": 3})
    with pytest.raises(ValueError, match="divisible"):
        NetworkConfig(width=30, heads=4)
    with pytest.raises(ValueError, match="window"):
        NetworkConfig(window=0)
    assert NetworkConfig().to_dict()["width"] == 256 and NetworkConfig().encoder_layers == 4


def _batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """4 windows of a smooth synthetic motion: 3D root-relative metres and its 2D projection."""
    g = torch.Generator().manual_seed(seed)
    rest = torch.randn(1, 1, 17, 3, generator=g) * 0.3
    rest[..., 0, :] = 0
    t = torch.linspace(0, 1, 9).view(1, 9, 1, 1)
    phase = torch.rand(4, 1, 17, 3, generator=g) * 6.28
    y3 = rest + 0.1 * torch.sin(6.0 * t + phase)
    y3 = y3 - y3[:, :, :1]
    depth = 4.0 + y3[..., 2:]
    x2 = y3[..., :2] / depth
    return x2, y3


@pytest.mark.parametrize("task", ["lift", "complete_3d", "complete_2d"])
def test_overfit_each_task_on_a_tiny_batch(task: str):
    net = _net(seed=1, dropout=0.0)
    x2, y3 = _batch()
    masks = masking.spatio_temporal(4, 9, 17, frame_ratio=0.3, joints_per_frame=3, rng=0)
    jm, fm = (torch.from_numpy(m) for m in masks)
    if task == "lift":
        inputs, modality, target, out = x2, "2d", y3, "3d"
    elif task == "complete_3d":
        inputs, modality, target, out = y3, "3d", y3, "3d"
    else:
        inputs, modality, target, out = x2, "2d", x2, "2d"
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        pred = net(inputs, modality, jm, fm, outputs=(out,))[out]
        loss = (pred - target).norm(dim=-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0], f"{task}: loss {losses[0]:.4f} -> {losses[-1]:.4f}"
