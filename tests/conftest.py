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
