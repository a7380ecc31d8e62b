"""The training loop and its configuration."""

from vidgen.train.config import ExperimentConfig, TrainConfig  # noqa: F401
