from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The official MNIST test split kept beside the repository (see shared/data/README.md)."""
    path = REPO.parent / "shared" / "data" / "mnist"
    if not path.is_dir():
        pytest.skip(f"MNIST idx files not found at {path}")
    return path
