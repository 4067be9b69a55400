"""Shared fixtures. The shared data folder is found here only: ``MPM_SHARED_DATA`` overrides ``../shared/data``.

Under CI (``CI=true``) a missing shared file fails the test instead of skipping it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _shared_root() -> Path:
    env = os.environ.get("MPM_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


class SharedData:
    """Finds files under the shared data folder; a missing one skips locally and fails under CI."""

    def __init__(self, root: Path):
        self.root = root

    def __call__(self, relpath: str) -> Path:
        path = self.root / relpath
        if not path.exists():
            message = f"shared data file missing: {path}"
            if _in_ci():
                pytest.fail(message)
            pytest.skip(message)
        return path

    def glob(self, pattern: str) -> list[Path]:
        found = sorted(self.root.glob(pattern))
        if not found:
            message = f"no shared data matches {self.root / pattern}"
            if _in_ci():
                pytest.fail(message)
            pytest.skip(message)
        return found


@pytest.fixture(scope="session")
def shared_data() -> SharedData:
    """``shared_data("inputs/...")`` gives a path; ``shared_data.glob("mocap/**/*.bvh")`` a list."""
    return SharedData(_shared_root())


@pytest.fixture
def one_torch_thread():
    """torch on one thread during the test (tiny networks run faster without thread hand-offs); restored after."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# -- the desktop app ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def loaded_model():
    """The shipped model, loaded once per test session on the CPU (the app's tests share it)."""
    from mpm_core.model.checkpoint import default_model_path, load_model

    return load_model(default_model_path(), device="cpu")


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    """Per-user data folder and preferences in ``tmp_path`` (no leftover autosave reaches another test)."""
    data, config = tmp_path / "user_data", tmp_path / "user_config"
    monkeypatch.setenv("MPM_STUDIO_DATA_DIR", str(data))
    monkeypatch.setenv("MPM_STUDIO_CONFIG_DIR", str(config))
    return data


@pytest.fixture
def lifted_doc(qtbot, loaded_model, app_env, shared_data):
    """A ``Document`` with a running ``LiftingService`` (one engine thread) and the real OpenPose example
    (125 frames) lifted and placed in the world; the service is stopped and joined after the test."""
    from app.document import Document
    from app.services.lifting import LiftingService

    service = LiftingService(threads=1, model=loaded_model)
    doc = Document(service)
    service.start()
    doc.open(shared_data("inputs/openpose_raga/example_1person/output_json"))
    qtbot.waitUntil(lambda: doc.scene is not None and doc.committed is not None, timeout=60000)
    yield doc
    service.stop()


def wait_idle(qtbot, doc, timeout: int = 30000) -> None:
    """Wait until the document's service has nothing pending or running and every result has been delivered."""
    qtbot.waitUntil(lambda: doc.service.idle(), timeout=timeout)
    qtbot.wait(20)  # let queued result signals reach the document
