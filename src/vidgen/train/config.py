"""The experiment config: data x model x training, the unit a YAML recipe describes."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from vidgen.config import SWITCHED, choice, depends
from vidgen.data.base import DataConfig
from vidgen.errors import ConfigError
from vidgen.registry import DATASETS, MODELS

log = logging.getLogger("vidgen.config")


@dataclass
class TrainConfig:
    """How long and how to train. Progress is counted in clips seen (kimg = 1000 clips).

    The global batch is ``batch_size x processes x accumulate``: ``batch_size`` clips per
    process and micro-batch, ``accumulate`` micro-batches per optimizer step.
    """

    batch_size: int = 16
    accumulate: int = 1  # micro-batches whose gradients are summed before each optimizer step
    kimg: float = 100.0  # stop after this many thousand training clips...
    minutes: float | None = None  # ...or after this many minutes of this invocation, whichever comes first

    # optimisation
    lr: float = 2e-4  # the generator's / the model's learning rate
    lr_d: float | None = None  # the discriminator's (GANs); None: the same as lr
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 0.0
    lr_schedule: Literal["constant", "cosine"] = "constant"  # cosine: from lr down to lr x min_lr_ratio at kimg
    warmup_kimg: float = 0.0  # linear warm-up from 0 over this many kimg (either schedule)
    min_lr_ratio: float = 0.0
    # kimg: the cosine ends at train.kimg; time: at train.kimg or when train.minutes run out,
    # whichever comes first, so a run stopped on a time budget still ends its decay
    lr_schedule_by: Literal["kimg", "time"] = "kimg"
    grad_clip: float | None = None  # clip each network's gradient norm to this (None: no clipping)
    ema_kimg: float = 10.0  # half-life of the EMA weights in kimg (0: no averaging), as in StyleGAN2
    ema_rampup: float | None = 0.05  # half-life <= this fraction of the clips seen so far

    # maintenance, every `tick_kimg`
    tick_kimg: float = 2.0  # a tick: stats.jsonl record, TensorBoard scalars, progress line
    sample_ticks: int = 1  # sample grids (mp4 + gif) every N ticks
    snapshot_ticks: int = 5  # inference export (model.safetensors + config.json) every N ticks
    checkpoint_ticks: int = 5  # training state (for --resume) every N ticks
    keep_checkpoints: int = 3  # keep the newest K training states
    num_samples: int = 16  # clips in the sample grids
    tensorboard: bool = True  # write TensorBoard scalars and sample videos to RUN_DIR/tensorboard
    # distribution metrics scored while training (GANs, clip VAEs), e.g. [fvd256_16f, cond_acc500]:
    # every metric_ticks ticks (default: every snapshot) one JSON line in RUN_DIR/metric-<name>.jsonl
    metrics: tuple[str, ...] = ()
    metric_ticks: int | None = None
    metric_detector: str | None = None  # I3D file, evaluator folder or shipped evaluator name (e.g. shapes)
    metric_protocol: Literal["styleganv", "tf", "videogpt", "tats"] = "styleganv"
    metric_precision: Literal["fp32", "bf16"] = "fp32"  # bf16: a faster, approximate detector for monitoring
    progress: bool | None = None  # a progress bar (None: when stderr is a terminal)

    # hardware
    num_workers: int = 0  # data-loader worker processes per training process
    device: str = "auto"  # auto, cpu, cuda, cuda:N (under torchrun: cuda:LOCAL_RANK)
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"  # auto: bf16 where the hardware runs it fast
    channels_last: Literal["auto", "on", "off"] = "auto"  # auto: on with bf16 on the CPU
    compile: bool = False  # torch.compile the networks
    # under torchrun: ddp (a whole copy of the model per process) or fsdp (PyTorch's FSDP2: parameters,
    # gradients and optimizer state split over the processes, for models that outgrow one device)
    parallel: Literal["ddp", "fsdp"] = "ddp"
    threads: int | None = None  # CPU threads (default: PyTorch's choice, one per core)

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.accumulate < 1:
            raise ConfigError(f"train.batch_size and train.accumulate must be >= 1, "
                              f"got {self.batch_size} and {self.accumulate}")
        if not 0 < self.kimg < 1e9:
            raise ConfigError(f"train.kimg must be a positive number of thousand clips, got {self.kimg}",
                              hint="use train.minutes to stop on time instead")
        for name in ("lr", "lr_d"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ConfigError(f"train.{name} must be > 0, got {value}")
        if self.weight_decay < 0 or self.warmup_kimg < 0 or not 0 <= self.min_lr_ratio <= 1:
            raise ConfigError("train.weight_decay and train.warmup_kimg must be >= 0, train.min_lr_ratio in [0, 1]")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ConfigError(f"train.grad_clip must be > 0 (or null for no clipping), got {self.grad_clip}")
        if self.ema_kimg < 0:
            raise ConfigError(f"train.ema_kimg must be >= 0 (0 disables the EMA), got {self.ema_kimg}")
        if not self.tick_kimg > 0:
            raise ConfigError(f"train.tick_kimg must be > 0, got {self.tick_kimg}")
        for name in ("sample_ticks", "snapshot_ticks", "checkpoint_ticks", "keep_checkpoints", "num_samples"):
            if getattr(self, name) < 1:
                raise ConfigError(f"train.{name} must be >= 1, got {getattr(self, name)}")
        if self.metrics:
            from vidgen.registry import METRICS

            # the names vidgen eval takes (unknown ones: a ConfigError listing them); the run checks what they need
            self.metrics = tuple(METRICS.get(str(m).strip()).name for m in self.metrics)
        if self.metric_ticks is not None and self.metric_ticks < 1:
            raise ConfigError(f"train.metric_ticks must be >= 1 (or null: every snapshot), got {self.metric_ticks}")
        if self.num_workers < 0:
            raise ConfigError(f"train.num_workers must be >= 0, got {self.num_workers}")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"train.threads must be >= 1, got {self.threads}")
        if self.minutes is not None and self.minutes <= 0:
            raise ConfigError(f"train.minutes must be > 0, got {self.minutes}")
        if self.lr_schedule_by == "time" and self.minutes is None:
            raise ConfigError("train.lr_schedule_by=time needs a time budget",
                              hint="set train.minutes, or use train.lr_schedule_by=kimg")


def _objective_class(parsed: dict[str, Any]) -> type:
    """The objective dataclass of the model's family (the model parsed, or the default one)."""
    from vidgen.family import family_of

    model = parsed.get("model")
    return family_of(model if model is not None else DEFAULT_MODEL).objective


DEFAULT_MODEL = "dcgan3d"
_warned: set[str] = set()


@dataclass
class ExperimentConfig:
    """A whole run: what data, what model, how to train it (``train``: the engine's settings;
    ``objective``: the model family's losses, regularisers, augmentation and schedules),
    where to write."""

    run_dir: str = "runs/default"
    seed: int = 0
    data: DataConfig = choice(DATASETS, "shapes")
    model: Any = choice(MODELS, DEFAULT_MODEL)
    train: TrainConfig = field(default_factory=TrainConfig)
    objective: Any = depends(_objective_class)

    def __post_init__(self) -> None:
        from vidgen.family import family_of

        spec = family_of(self.model)
        if self.objective is None:
            self.objective = spec.objective()
        elif not isinstance(self.objective, spec.objective):
            raise ConfigError(f"objective: {type(self.objective).__name__} is not the training objective of the "
                              f"{spec.name} family ({spec.objective.__name__})")
        spec.check(self.model, self.objective)

    @staticmethod
    def migrate_dict(data: dict[str, Any]) -> dict[str, Any]:
        """Read recipes and run folders of older versions, which kept the training options in ``model``.

        Each such key (``model.r1_gamma``, ``model.beta``, ...) moves to ``objective``, with one
        warning per key; it wins over the same ``objective`` key (the old spelling is only ever
        written on purpose, e.g. a command-line override of an older habit).
        """
        from vidgen.family import family_of

        model = data.get("model")
        if not isinstance(model, dict):
            return data
        try:
            spec = family_of(str(model.get("name", DEFAULT_MODEL)))
        except ConfigError:
            return data  # an unknown model name: the parser says so
        switched = model.get(SWITCHED)
        if switched is not None and isinstance(data.get("objective"), dict):
            # model.name=... switched the family: the recipe's objective keys of the old one go
            valid = {f.name for f in dataclasses.fields(spec.objective)}
            dropped = sorted(k for k in data["objective"] if k not in valid)
            if dropped:
                log.warning("model.name=%s is a %s model: dropped objective keys it does not take: %s",
                            model.get("name"), spec.name, ", ".join(dropped))
                data = {**data, "objective": {k: v for k, v in data["objective"].items() if k in valid}}
        moved = [k for k in spec.migrate if k in model]
        if not moved:
            return data
        model = dict(model)
        objective = dict(data.get("objective") or {})
        for key in moved:
            objective[key] = model.pop(key)
            if key not in _warned:
                _warned.add(key)
                log.warning("model.%s is a training option of the %s family now: read as objective.%s "
                            "(write it there in new recipes)", key, spec.name, key)
        return {**data, "model": model, "objective": objective}
