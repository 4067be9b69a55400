"""The model registry: shipped and per-user models by name, ``resolve_model``, ``--model NAME`` in the CLI, and the
names the app's preferences offer loading through the engine the app uses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mpm_core.cli import main
from mpm_core.errors import PoseDataError
from mpm_core.model.checkpoint import (
    checkpoint_paths,
    default_model_path,
    load_model,
    registered_models,
    resolve_model,
    save_checkpoint,
)
from mpm_core.model.registry import licence_line, user_models_dir
from tests.engine_support import tiny_network

COMMERCIAL_DATA = {
    "cmu_bvh": {"licences": ["CMU Graphics Lab mocap terms"], "train_clips": 2, "val_clips": 1, "train_minutes": 0.3},
    "extra_corpus": {"licences": ["ACCAD, CC BY 3.0"], "train_clips": 3, "val_clips": 1, "train_minutes": 1.0},
}


@pytest.fixture
def user_models(tmp_path, monkeypatch) -> Path:
    """An empty per-user models folder for the test (``MPM_STUDIO_MODELS``)."""
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv("MPM_STUDIO_MODELS", str(folder))
    return folder


def _save_user_model(folder: Path, name: str, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    return save_checkpoint(folder / name, tiny_network(seed), {"data": COMMERCIAL_DATA})


def test_the_shipped_model_is_registered_with_its_licence_card_and_size(user_models) -> None:
    models = {m.name: m for m in registered_models()}
    shipped = models["mpm_h36m17"]
    assert shipped.path == default_model_path()
    assert shipped.origin == "shipped"
    assert shipped.licence.startswith("non-commercial")
    assert "CC BY-NC 4.0" in shipped.licence
    assert shipped.card is not None and shipped.card.name == "MODEL_CARD.md"
    assert "NON-COMMERCIAL" in shipped.card.read_text(encoding="utf-8")
    weights, sidecar = checkpoint_paths(shipped.path)
    assert shipped.size_bytes == weights.stat().st_size + sidecar.stat().st_size
    commercial = default_model_path().with_name("mpm_h36m17_commercial.safetensors")
    assert ("mpm_h36m17_commercial" in models) == commercial.is_file()


def test_resolve_names_paths_and_the_default(user_models, tmp_path, monkeypatch) -> None:
    assert resolve_model(None) == default_model_path()
    assert resolve_model("") == default_model_path()
    assert resolve_model("mpm_h36m17") == default_model_path()
    assert resolve_model(str(default_model_path())) == default_model_path()
    # A checkpoint file in the current folder named like a registered model is taken as the file.
    monkeypatch.chdir(tmp_path)
    local = _save_user_model(tmp_path, "mpm_h36m17")
    assert Path(resolve_model("mpm_h36m17")).resolve() == local.resolve()


def test_unknown_name_lists_the_registered_ones(user_models) -> None:
    _save_user_model(user_models, "mine")
    with pytest.raises(PoseDataError) as err:
        resolve_model("mpm_h36m17_typo")
    text = str(err.value)
    assert "unknown model 'mpm_h36m17_typo'" in text
    assert "mpm_h36m17," in text and "mine" in text
    with pytest.raises(PoseDataError, match="not found"):
        resolve_model("some/folder/missing.safetensors")
    with pytest.raises(PoseDataError, match="unknown model"):
        load_model("nope", device="cpu")


def test_user_models_are_registered_and_load_by_name(user_models) -> None:
    path = _save_user_model(user_models, "studio_b", seed=3)
    (user_models / "broken.safetensors").write_bytes(b"not a checkpoint")
    (user_models / "broken.json").write_text("{not json", encoding="utf-8")
    _save_user_model(user_models, "mpm_h36m17", seed=4)  # a shipped model's name: the shipped one keeps it
    models = registered_models()
    names = [m.name for m in models]
    assert names[0] == "mpm_h36m17" and names.count("mpm_h36m17") == 1
    assert models[0].path == default_model_path()
    assert "broken" not in names
    mine = next(m for m in models if m.name == "studio_b")
    assert mine.origin == "user" and mine.path == path
    assert mine.licence.startswith("commercial use allowed") and "ACCAD, CC BY 3.0" in mine.licence
    loaded = load_model("studio_b", device="cpu")
    reference = tiny_network(3)
    for key, value in reference.state_dict().items():
        assert torch.equal(loaded.network.state_dict()[key], value), key


def test_user_models_dir_follows_the_app_data_folder(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("MPM_STUDIO_MODELS", raising=False)
    monkeypatch.setenv("MPM_STUDIO_DATA_DIR", str(tmp_path / "data"))
    assert user_models_dir() == tmp_path / "data" / "models"


def test_licence_line_from_the_sidecar() -> None:
    assert licence_line({"licence": "MIT\nmore text"}) == "MIT"
    assert licence_line({}).startswith("licence unknown")
    nc = {"data": {**COMMERCIAL_DATA, "bandai": {"licences": ["Bandai Namco Research, CC BY-NC 4.0"]}}}
    assert licence_line(nc) == "non-commercial use only (trained on Bandai Namco Research, CC BY-NC 4.0)"


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_models_lists_names_and_licences(user_models, capsys) -> None:
    _save_user_model(user_models, "studio_b")
    code, out, _ = _run(capsys, "models", "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["mpm_h36m17"]["origin"] == "shipped" and rows["studio_b"]["origin"] == "user"
    assert rows["studio_b"]["licence"].startswith("commercial")


def test_cli_model_flag_takes_a_name(user_models, tmp_path, capsys) -> None:
    """``complete --model NAME`` fills a 3D file with the named user model; an unknown name exits 2 listing the
    registered ones (lift and complete share the flag)."""
    from mpm_core.export import ExportOptions, write_output
    from mpm_core.sequence import PoseSequence3D
    from tests.engine_support import smooth_motion_3d

    _save_user_model(user_models, "studio_b")
    joints = smooth_motion_3d(60)
    visible = np.ones(joints.shape[:2], bool)
    visible[10:30, 13] = False
    seq = PoseSequence3D(joints, visible=visible, coords="camera")
    src = tmp_path / "partial.csv"
    write_output(src, seq, None, ExportOptions(coords="camera"))
    out = tmp_path / "done.csv"
    code, _, err = _run(capsys, "complete", src, "-o", out, "--model", "studio_b", "--device", "cpu", "-q")
    assert code == 0, err
    assert out.is_file()
    code, _, err = _run(capsys, "lift", src, "-o", tmp_path / "x.csv", "--model", "studio_c")
    assert code == 2
    assert err.count("\n") == 1 and "unknown model 'studio_c'" in err and "studio_b" in err


def test_app_preferences_names_load_through_the_engine(user_models, loaded_model) -> None:
    """Every value the preferences offer is something ``Settings.model`` can hold and the lifting service can load
    (``LiftingEngine(model_path)`` is what the service builds)."""
    from app.dialogs.preferences import registered_models as offered
    from mpm_core.engine.lifter import LiftingEngine

    _save_user_model(user_models, "studio_b")
    values = [value for _, value in offered()]
    assert values[0] == "" and "mpm_h36m17" in values and "studio_b" in values
    for value in values:
        engine = LiftingEngine(value or None, device="cpu", threads=1)
        assert engine.model.path == resolve_model(value or None)
    assert LiftingEngine("mpm_h36m17", device="cpu", threads=1).model_name == "mpm_h36m17"
