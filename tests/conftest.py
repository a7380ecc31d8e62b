from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/helpers.py, shared by the model tests


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


# the colour of every pixel of the clips solid_colour_gan trains on
SOLID_COLOUR = torch.tensor([0.8, -0.6, 0.2]).view(1, 1, 3, 1, 1)


@pytest.fixture
def solid_colour_gan():
    """``run(cfg) -> (trainer, error before, error after)``: train a GAN config (batch 16 of
    4x3x8x8 clips) by the engine on clips of one solid colour; the error is the mean
    ``|G(z) - colour|`` of the EMA generator over 16 fixed latents."""

    def run(cfg):
        from vidgen.models.gan.sampling import generate
        from vidgen.train.loop import Trainer

        trainer = Trainer(cfg, echo=lambda line: None)
        real = SOLID_COLOUR.expand(16, 4, 3, 8, 8).contiguous()  # [B, T, C, H, W]

        def solid_colour_batches():
            while True:
                yield [{"video": real, "label": torch.zeros(16, dtype=torch.long)}]

        trainer.batches = solid_colour_batches
        z = trainer.model.latents(list(range(16)))

        def error() -> float:
            trainer.family.prepare_export(trainer.ema, batches=2)
            return (generate(trainer.ema["generator"], z) - SOLID_COLOUR).abs().mean().item()

        before = error()
        trainer.run()
        return trainer, before, error()

    return run
