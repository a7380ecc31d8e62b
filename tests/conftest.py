from __future__ import annotations

from pathlib import Path

import pytest
import torch

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


@pytest.fixture(autouse=True)
def one_thread():
    # the tests' tensors are tiny: one thread is several times faster than two, and does not
    # fight the other work on the machine for the cores
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
