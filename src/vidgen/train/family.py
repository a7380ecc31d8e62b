"""What a model family gives the training engine: networks, optimizers, phases, sampling.

The engine owns devices, precision, distribution, EMA, schedules, checkpoints and logs; a
family only says which networks it trains and how to compute each phase's loss. A GAN's
step is the explicit list ``G_main, G_reg, D_main, D_reg`` (StyleGAN2-ADA's phases), each
updating one network, the regularisation phases running every ``interval`` steps (lazy
regularisation: the loss is multiplied by the interval so the average pull is unchanged).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol

import torch
from torch import nn

if TYPE_CHECKING:
    from vidgen.train.config import TrainConfig


@dataclass
class Phase:
    """One optimizer step of one network within a training step.

    ``loss(ctx)`` returns a dict of scalar tensors; its ``"loss"`` entry is minimised, the
    other entries are logged (averaged over the tick) as ``<phase>/<key>``.
    """

    name: str  # e.g. "G_main", "D_reg"
    network: str  # key of Family.networks this phase updates
    loss: Callable[["StepContext"], dict[str, torch.Tensor]]
    interval: int = 1  # run every N steps; the loss is scaled by N (lazy regularisation)
    ddp: bool = True  # False where the loss differentiates twice (R1): gradients are averaged by hand


class Family(Protocol):
    """The per-family part of training (see ``vidgen/train/gan.py`` for the GAN one)."""

    networks: dict[str, nn.Module]  # every trained network by name
    ema_networks: tuple[str, ...]  # the networks that get an EMA copy (sampling uses it)

    def optimizers(self, cfg: "TrainConfig") -> dict[str, torch.optim.Optimizer]:
        """One optimizer per trained network, keyed like ``networks``."""

    def phases(self) -> list[Phase]:
        """The phases of a step, in order."""

    def sample(self, nets: dict[str, nn.Module], count: int) -> torch.Tensor:
        """``count`` fixed preview clips ``[count, T, C, H, W]`` from ``nets`` (EMA copies)."""

    def prepare_export(self, nets: dict[str, nn.Module]) -> None:
        """Make the EMA networks ready for export (e.g. recompute BatchNorm statistics)."""

    def export_state(self, nets: dict[str, nn.Module]) -> dict[str, torch.Tensor]:
        """The tensors of the inference export (``model.safetensors``)."""


class StepContext:
    """What a phase's loss function sees for one micro-batch.

    ``batch`` holds ``"video"`` ``[B, T, C, H, W]`` (and ``"label"`` ``[B]``) on the device;
    ``cache`` is shared by the phases of this step for this micro-batch (a GAN's G phase
    leaves its fake clips there for the D phase).
    """

    def __init__(self, *, engine: Any, phase: Phase, micro: int, batch: dict[str, Any], cache: dict[str, Any]):
        self._engine = engine
        self._phase = phase
        self._micro = micro
        self._draws = 0
        self.batch = batch
        self.cache = cache
        self.device: torch.device = engine.device
        self.step: int = engine.step  # steps done before this one
        self.nimg: int = engine.nimg  # clips seen before this step
        self._generator: torch.Generator | None = None

    @property
    def generator(self) -> torch.Generator:
        """A CPU generator for the model's own draws (e.g. scheduled sampling) in this micro-batch.

        Seeded from (seed, step, rank, micro-batch): reproducible and resumable without state.
        """
        if self._generator is None:
            e = self._engine
            seed = e.cfg.seed
            for part in (self.step, e.info.rank, self._micro):
                seed = (seed * 1_000_003 + part) % 2**63
            self._generator = torch.Generator().manual_seed(seed)
        return self._generator

    def net(self, name: str) -> nn.Module:
        """The network ``name``: the DistributedDataParallel wrapper when this phase trains it."""
        return self._engine.view(name, trained=(name == self._phase.network and self._phase.ddp))

    def randn(self, *shape: int) -> torch.Tensor:
        """Standard normal noise ``[B, *shape]`` for this micro-batch.

        Drawn once per step for the whole global batch from the engine's seeded generator
        and sliced, so a run's noise is the same whatever the split into processes and
        micro-batches, and a resumed run draws what an uninterrupted one would.
        """
        return self._slice(lambda rows: torch.randn(rows, *shape, generator=self._engine.noise_gen))

    def randint(self, high: int) -> torch.Tensor:
        """Integers in ``[0, high)``, ``[B]``, drawn like :meth:`randn`."""
        return self._slice(lambda rows: torch.randint(high, (rows,), generator=self._engine.noise_gen))

    def _slice(self, draw: Callable[[int], torch.Tensor]) -> torch.Tensor:
        key = (self._phase.name, self._draws)
        self._draws += 1
        draws = self._engine.step_draws
        if key not in draws:
            draws[key] = draw(self._engine.global_batch)
        rows = self._engine.rows_of(self._micro)
        return draws[key][rows].to(self.device, non_blocking=True)


@torch.no_grad()
def recompute_batchnorm(model: nn.Module, passes: Iterable[Callable[[], Any]]) -> None:
    """Recompute ``model``'s BatchNorm statistics for its own weights (no BatchNorm: no-op).

    Running statistics copied from the live network do not match EMA weights; running each
    of ``passes`` (callables that feed ``model`` a batch) in train mode with a cumulative
    average gives the statistics of the weights themselves. The mode is restored after.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average over the passes
    was_training = model.training
    model.train()
    try:
        for run in passes:
            run()
    finally:
        model.train(was_training)
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
