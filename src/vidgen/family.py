"""The family contract: what a model family gives the rest of vidgen.

A *family* (``gan``, ``vae``, ``predictor``, ...) is one package under ``vidgen/models/``:
its architectures, its training (``training.py``), its inference wrapper (``inference.py``)
and one registration, ``FAMILIES.register(name, config=Objective)(FamilySpec(...))``. The
training engine, :func:`vidgen.load`, the metrics and the CLI ask the registry what a
family does; nothing outside the family's package names it.

What a family declares (:class:`FamilySpec`):

- ``objective``: the dataclass of its training options (losses, regularisers,
  augmentation, schedules), the ``objective:`` section of a recipe. They are not part of
  the model config, so exports do not carry them and a resume may change them.
- ``training``: the class the engine builds for a run,
  ``training(model=, objective=, dataset=, num_samples=)`` -> :class:`TrainingFamily`
  (its networks, optimizers, phases, previews and export).
- ``wrapper``: the class :func:`vidgen.load` returns (a subclass of
  :class:`vidgen.inference.LoadedModel`), whose ``capabilities`` say what it can do.
- ``export_modules(model)``: the sub-modules an export holds, by prefix
  (``{"generator": model.generator}`` for a GAN, ``{"model": model}`` elsewhere).
- ``check(model_config, objective)``: refuses combinations the two configs cannot train.
- ``migrate``: model-config keys that older versions kept in the model config and that now
  belong to the objective (read from old recipes, run folders and exports).

``training`` and ``wrapper`` may be given as ``"module:attribute"`` strings, imported on
first use, so that registering a family imports neither its training nor its inference code.

Capabilities (:data:`CAPABILITIES`) are what a loaded model can do; the CLI commands and
the metrics check them instead of the model's type.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol

import torch
from torch import nn

from vidgen.registry import FAMILIES, MODELS

# what a loaded model can do, and the command line that does it
CAPABILITIES = {
    "generate": "makes clips from noise (vidgen sample)",
    "class": "takes a class label (vidgen sample --label K / --per-class)",
    "predict": "continues a clip (vidgen predict)",
    "reconstruct": "encodes and decodes a clip (vidgen reconstruct)",
    "interpolate": "walks between two latents (vidgen interpolate)",
    "restore": "restores a video: denoise, deflicker or new frames between (vidgen post --ops OP OP.model=RUN)",
    "upscale": "upscales a video x2 or x4 (vidgen upscale RUN --input VIDEO --out OUT; --ops upscale:RUN)",
}


def _resolve(ref: Any) -> Any:
    """``"package.module:attribute"`` -> the attribute (imported on first use); objects pass through."""
    if not isinstance(ref, str):
        return ref
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class FamilySpec:
    """One model family, as the registry holds it (see the module docstring)."""

    name: str
    summary: str
    objective: type
    training: Any  # class or "module:attribute"
    wrapper: Any  # class or "module:attribute"
    export_modules: Callable[[nn.Module], dict[str, nn.Module]] = lambda model: {"model": model}
    check: Callable[[Any, Any], None] = lambda model_config, objective: None
    migrate: tuple[str, ...] = ()  # model-config keys older versions held, now objective keys

    def training_class(self) -> type:
        return _resolve(self.training)

    def wrapper_class(self) -> type:
        return _resolve(self.wrapper)


def family_of(model: Any) -> FamilySpec:
    """The family of a model: its registry name, its config dataclass instance, or the network."""
    if isinstance(model, str):
        name = model
    else:
        config = getattr(model, "config", model)
        name = MODELS.name_of_config(type(config))
    return FAMILIES.get(MODELS.get(name).meta["family"]).obj


def families() -> list[FamilySpec]:
    return [entry.obj for entry in FAMILIES]


# ------------------------------------------------------------------ the training contract


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


class TrainingFamily(Protocol):
    """The per-family part of training (see ``vidgen/models/gan/training.py`` for the GAN one)."""

    networks: dict[str, nn.Module]  # every trained network by name
    ema_networks: tuple[str, ...]  # the networks that get an EMA copy (sampling uses it)

    def optimizers(self, cfg: Any) -> dict[str, torch.optim.Optimizer]:
        """One optimizer per trained network, keyed like ``networks``."""

    def phases(self) -> list[Phase]:
        """The phases of a step, in order."""

    def sample(self, nets: dict[str, nn.Module], count: int) -> torch.Tensor:
        """``count`` fixed preview clips ``[count, T, C, H, W]`` from ``nets`` (EMA copies)."""

    generates: bool  # whether it makes clips from noise (train.metrics can score it)

    def sampler(self, nets: dict[str, nn.Module]) -> Callable[[int, int, "int | None"], torch.Tensor]:
        """``sample(seed, n, frames)``: clips of seeds ``seed .. seed + n - 1`` from ``nets``, as the
        inference wrapper draws them (generating families; the others raise)."""

    def prepare_export(self, nets: dict[str, nn.Module]) -> None:
        """Make the EMA networks ready for export (e.g. recompute BatchNorm statistics)."""

    def export_state(self, nets: dict[str, nn.Module]) -> dict[str, torch.Tensor]:
        """The tensors of the inference export (``model.safetensors``)."""


@dataclass
class StepEnv:
    """What the engine tells the phases of one training step (the same for every micro-batch).

    ``draws`` caches the step's random draws, made once for the whole global batch;
    ``rows(micro)`` is this process's slice of the global batch for micro-batch ``micro``;
    ``view(name, trained)`` is network ``name``, DistributedDataParallel-wrapped when ``trained``.
    """

    seed: int  # the run's seed
    rank: int  # this process
    step: int  # steps done before this one
    nimg: int  # clips seen before this step
    global_batch: int
    device: torch.device
    noise: torch.Generator  # the run's seeded generator of noise, labels and augmentation draws
    rows: Callable[[int], slice]
    view: Callable[[str, bool], nn.Module]
    draws: dict[Any, torch.Tensor] = field(default_factory=dict)


class StepContext:
    """What a phase's loss function sees for one micro-batch.

    ``batch`` holds ``"video"`` ``[B, T, C, H, W]`` (and ``"label"`` ``[B]``) on the device;
    ``cache`` is shared by the phases of this step for this micro-batch (a GAN's G phase
    leaves its fake clips there for the D phase).
    """

    def __init__(self, *, env: StepEnv, phase: Phase, micro: int, batch: dict[str, Any], cache: dict[str, Any]):
        self._env = env
        self._phase = phase
        self._micro = micro
        self._draws = 0
        self.batch = batch
        self.cache = cache
        self.device: torch.device = env.device
        self.step: int = env.step  # steps done before this one
        self.nimg: int = env.nimg  # clips seen before this step
        self._generator: torch.Generator | None = None

    @property
    def generator(self) -> torch.Generator:
        """A CPU generator for the model's own draws (e.g. scheduled sampling) in this micro-batch.

        Seeded from (seed, step, rank, micro-batch): reproducible and resumable without state.
        """
        if self._generator is None:
            seed = self._env.seed
            for part in (self.step, self._env.rank, self._micro):
                seed = (seed * 1_000_003 + part) % 2**63
            self._generator = torch.Generator().manual_seed(seed)
        return self._generator

    def net(self, name: str) -> nn.Module:
        """The network ``name``: the DistributedDataParallel wrapper when this phase trains it."""
        return self._env.view(name, name == self._phase.network and self._phase.ddp)

    def randn(self, *shape: int) -> torch.Tensor:
        """Standard normal noise ``[B, *shape]`` for this micro-batch.

        Drawn once per step for the whole global batch from the run's seeded generator
        and sliced, so a run's noise is the same whatever the split into processes and
        micro-batches, and a resumed run draws what an uninterrupted one would.
        """
        return self._slice(lambda rows: torch.randn(rows, *shape, generator=self._env.noise))

    def randint(self, high: int) -> torch.Tensor:
        """Integers in ``[0, high)``, ``[B]``, drawn like :meth:`randn`."""
        return self._slice(lambda rows: torch.randint(high, (rows,), generator=self._env.noise))

    def _slice(self, draw: Callable[[int], torch.Tensor]) -> torch.Tensor:
        key = (self._phase.name, self._draws)
        self._draws += 1
        draws = self._env.draws
        if key not in draws:
            draws[key] = draw(self._env.global_batch)
        return draws[key][self._env.rows(self._micro)].to(self.device, non_blocking=True)


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
