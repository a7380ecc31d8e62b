"""The experiment config: data x model x training, the unit a YAML recipe describes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from vidgen.config import choice
from vidgen.data.base import DataConfig
from vidgen.errors import ConfigError
from vidgen.registry import DATASETS, MODELS


@dataclass
class TrainConfig:
    """How long and how to train. Progress is counted in clips seen (kimg = 1000 clips)."""

    batch_size: int = 16
    kimg: float = 100.0  # stop after this many thousand training clips...
    minutes: float | None = None  # ...or after this many minutes, whichever comes first
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    ema_kimg: float = 10.0  # half-life of the generator's EMA in kimg (0 disables it), as in StyleGAN2
    ema_rampup: float | None = 0.05  # half-life <= this fraction of the clips seen so far
    log_every: int = 20  # steps between log lines
    snapshot_every: int = 200  # steps between sample grids and exports
    num_samples: int = 16  # clips in the sample grids
    num_workers: int = 0  # data-loader worker processes
    device: str = "auto"  # auto, cpu, cuda, cuda:N
    precision: Literal["auto", "fp32", "bf16"] = "auto"  # auto: bf16 where the hardware runs it fast
    threads: int | None = None  # CPU threads (default: PyTorch's choice, one per core)

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ConfigError(f"train.batch_size must be >= 1, got {self.batch_size}")
        if not 0 < self.kimg < 1e9:
            raise ConfigError(f"train.kimg must be a positive number of thousand clips, got {self.kimg}",
                              hint="use train.minutes to stop on time instead")
        for name in ("lr_g", "lr_d"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"train.{name} must be > 0, got {getattr(self, name)}")
        if self.ema_kimg < 0:
            raise ConfigError(f"train.ema_kimg must be >= 0 (0 disables the EMA), got {self.ema_kimg}")
        if self.num_samples < 1 or self.num_workers < 0:
            raise ConfigError("train.num_samples must be >= 1 and train.num_workers >= 0")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"train.threads must be >= 1, got {self.threads}")
        if self.minutes is not None and self.minutes <= 0:
            raise ConfigError(f"train.minutes must be > 0, got {self.minutes}")
        if self.log_every < 1 or self.snapshot_every < 1:
            raise ConfigError("train.log_every and train.snapshot_every must be >= 1")


@dataclass
class ExperimentConfig:
    """A whole run: what data, what model, how to train it, where to write."""

    run_dir: str = "runs/default"
    seed: int = 0
    data: DataConfig = choice(DATASETS, "shapes")
    model: Any = choice(MODELS, "dcgan3d")
    train: TrainConfig = field(default_factory=TrainConfig)
