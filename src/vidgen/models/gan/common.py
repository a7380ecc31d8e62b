"""What every GAN architecture shares: the training options and the model contract.

Each architecture (one file each, no inheritance between the networks) has a config
dataclass that inherits :class:`GANOptions`, so the loss and stabilisers are chosen the same
way for all of them (``model.spectral_norm=true model.conditional=true ...``); the training
options (``objective.loss=hinge``, R1, DiffAugment) are the family objective's.

The contract the GAN family (``vidgen/models/gan/training.py``) and the sampling code rely on:

- ``model.generator(z, label=None, frames=None)`` -> ``[B, T, C, H, W]`` in ``[-1, 1]``.
  ``label`` ``[B]`` long is required when ``model.num_classes > 0``. ``frames`` asks for a
  clip length other than the training one; only models with ``model.any_length = True``
  accept it (others raise a ConfigError naming the models that do).
- ``model.discriminator(video, label=None)`` -> logits: a tensor ``[B]`` or a list of
  tensors (one per sub-discriminator, e.g. MoCoGAN's video and image discriminators, each
  ``[B]`` or ``[B, ...]``); losses are applied to each and summed.
- ``model.z_dim``, ``model.num_classes`` (0: unconditional), ``model.any_length``,
  ``model.latents(seeds, device)`` -> ``[N, z_dim]``, one vector per seed.

Helpers every architecture calls, so the options mean the same everywhere:

- :func:`class_count` turns ``(config.conditional, dataset classes)`` into ``num_classes``,
  refusing a conditional model on a dataset with fewer than 2 classes;
- :func:`check_frames` is the ``frames`` check of a fixed-length generator;
- :func:`apply_spectral_norm` puts spectral normalisation on a discriminator's weights
  (call it after initialising them);
- the GAN family applies :mod:`~vidgen.models.gan.augment` (DiffAugment) and the losses;
  an architecture does nothing for them.

Set ``any_length`` as a *class* attribute: :func:`any_length_models` reads it from the
registry to name the models that generate any clip length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from vidgen.errors import ConfigError


@dataclass
class GANOptions:
    """Conditioning, output and discriminator structure shared by every GAN architecture.

    The training options (loss, R1, DiffAugment, the instance-noise schedule, InfoGAN's
    weight) are the family's objective, :class:`vidgen.models.gan.training.GANObjective`.
    """

    spectral_norm: bool = False  # spectral normalisation on every discriminator weight layer
    conditional: bool = False  # class-conditional generator and projection discriminator
    # conditional only: weight of an auxiliary classification loss (AC-GAN, Odena et al. 2017). The
    # discriminator gets a linear class head on its pooled features, trained with cross-entropy on
    # real clips; the generator is trained to make its clips classified as the label it was given.
    # 0: off (the projection term alone carries the class)
    aux_class: float = 0.0
    # the generator's last activation. "tanh": DCGAN's. "linear": none while training, clamped to
    # [-1, 1] when sampling (StyleGAN's). On data whose background is exactly -1 (the synthetic
    # sets: 95% of shapes' pixels), a tanh generator pushes its pre-activations ever further below
    # -1 and its gradient fades with tanh'; a linear one has no such fade (it did not by itself
    # stop a losing mocogan on shapes, docs/training.md)
    g_output: Literal["tanh", "linear"] = "tanh"
    # InfoGAN's categorical code (Chen et al., 2016; the official MoCoGAN's --use_infogan, without
    # labels): K > 0 draws a category in 0..K-1 for every fake clip, which the generator reads as a
    # conditional one reads its class; the discriminator gets a K-way head (no projection: it
    # sees no labels) and both networks minimise info_weight x its cross-entropy on the fakes, so
    # the generator must make its K categories tell apart (objective.info_weight). Sampling and
    # --per-class treat the categories as classes. Unlabelled data; not with conditional. 0: off
    info_classes: int = 0

    def __post_init__(self) -> None:
        if self.info_classes < 0 or self.info_classes == 1:
            raise ConfigError(f"model.info_classes is a number of categories, >= 2 (0: off), got {self.info_classes}")
        if self.info_classes and self.conditional:
            raise ConfigError("model.info_classes learns categories without labels; model.conditional uses the "
                              "dataset's", hint="set one of them: model.conditional=false or model.info_classes=0")
        if self.aux_class < 0:
            raise ConfigError(f"model.aux_class is a loss weight, >= 0 (0: off), got {self.aux_class}")
        if self.aux_class > 0 and not self.conditional:
            raise ConfigError("model.aux_class trains a class head, which needs a conditional model",
                              hint="set model.conditional=true, or model.aux_class=0")


def to_pixels(x: torch.Tensor, kind: str, training: bool) -> torch.Tensor:
    """A generator's output activation (``model.g_output``): ``tanh``, or ``linear`` (the identity
    while training, so the discriminator sees what the generator made; clamped to ``[-1, 1]``
    otherwise, so samples and metrics get valid pixels)."""
    if kind == "tanh":
        return torch.tanh(x)
    return x if training else x.clamp(-1.0, 1.0)


def gaussian_like(x: torch.Tensor) -> torch.Tensor:
    """Standard normal noise of ``x``'s shape, dtype, device and memory layout, drawn fast.

    ``torch.randn_like`` keeps a ``channels_last`` layout and then fills the strided tensor
    element by element, ~6x slower on a CPU than a contiguous fill (on MoCoGAN's
    discriminators it took two thirds of a training step). The same layout filled through a
    flat view of its storage is the same distribution (every element independent).
    """
    out = torch.empty_like(x)  # dense, in x's layout when x is dense, else contiguous
    out.as_strided((out.numel(),), (1,)).normal_()
    return out


class InstanceNoise(nn.Module):
    """Adds ``sigma`` x standard normal noise to its input while training; identity in eval mode.

    Placed before a discriminator's layers (the official MoCoGAN's ``--use_noise
    --noise_sigma``; instance noise, Sønderby et al. 2016): real and fake distributions
    overlap a little, so the discriminator cannot separate them perfectly early on and the
    generator keeps a useful gradient. Draws from torch's global generator, which the
    training engine seeds and checkpoints.

    With ``objective.d_noise_kimg > 0`` the noise is annealed (as Sønderby et al. propose): the
    GAN family calls :meth:`anneal` with the clips seen before every phase and the schedule's
    length, and the std falls linearly from ``sigma`` to 0 at ``decay_nimg`` clips. The factor is a buffer (not saved:
    it is a function of the clips seen), so changing it recompiles nothing. Once it reaches 0
    the module is the identity and draws no noise: drawing it is not free (on a CPU, about a
    quarter of a MoCoGAN training step at 64x64), and after the schedule it would only be
    multiplied by 0.
    """

    def __init__(self, sigma: float):
        super().__init__()
        self.sigma = float(sigma)
        self.register_buffer("scale", torch.ones(()), persistent=False)
        self.done = self.sigma == 0.0  # no noise left to add (a Python flag: it flips once)

    def anneal(self, nimg: int, decay_nimg: float) -> None:
        """Scale the noise by ``1 - nimg / decay_nimg`` (floored at 0); ``decay_nimg <= 0``: constant."""
        if decay_nimg > 0:
            factor = max(0.0, 1.0 - nimg / decay_nimg)
            self.scale.fill_(factor)
            self.done = self.sigma == 0.0 or factor == 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.done:
            return x
        return x + (self.sigma * self.scale).to(x.dtype) * gaussian_like(x)

    def extra_repr(self) -> str:
        return f"sigma={self.sigma}"


def class_count(name: str, config: GANOptions, num_classes: int) -> int:
    """``model.num_classes``: the dataset's classes for a conditional model, ``model.info_classes``
    for an InfoGAN one (the generator's categories), else 0.

    Raises a ConfigError when ``config.conditional`` and the dataset has fewer than 2 classes.
    """
    if config.info_classes:
        return config.info_classes
    if not config.conditional:
        return 0
    if num_classes < 2:
        raise ConfigError(f"{name} with model.conditional=true needs a dataset with at least 2 classes, "
                          f"this one has {num_classes}",
                          hint="set model.conditional=false, or use a labelled dataset (shapes, moving_digits with "
                               "labels, a folder with one sub-folder per class)")
    return num_classes


def check_label(name: str, num_classes: int, label: torch.Tensor | None, batch: int) -> torch.Tensor | None:
    """``label`` as long ``[batch]`` for a conditional model (required), None for an unconditional one."""
    if not num_classes:
        return None
    if label is None:
        raise ConfigError(f"this {name} is class-conditional ({num_classes} classes): pass label [B]")
    label = torch.as_tensor(label).long().reshape(-1)
    if label.shape[0] != batch:
        raise ConfigError(f"{name}: label must hold one class per clip ({batch}), got {label.shape[0]}")
    return label


def any_length_models() -> list[str]:
    """The registered GAN architectures whose generator takes any ``frames``."""
    from vidgen.registry import MODELS

    return [n for n in MODELS.names()
            if MODELS.get(n).meta.get("family") == "gan" and getattr(MODELS.get(n).obj, "any_length", False)]


def check_frames(name: str, frames: int | None, training_frames: int) -> None:
    """The ``frames`` argument of a fixed-length generator: None or the training length."""
    if frames is None or frames == training_frames:
        return
    others = any_length_models()
    raise ConfigError(f"{name} generates clips of its training length ({training_frames} frames) only, "
                      f"not {frames}",
                      hint=(f"models that generate any length: {', '.join(others)}" if others
                            else "no registered GAN generates other lengths"))


def minibatch_stddev(x: torch.Tensor, group: int) -> torch.Tensor:
    """ProGAN's minibatch standard deviation (Karras et al., 2018): ``x [N, C, *S]`` -> ``[N, C + 1, *S]``.

    The batch is split into groups of ``group`` (the largest divisor of ``N`` that is <= it),
    member ``i`` of every group taken ``N / group`` apart; the extra channel holds, for every
    sample, the mean over channels and positions of the standard deviation of its group's
    features. A discriminator whose batch of fakes is all alike (mode collapse) sees it
    there, where BatchNorm, which normalises each batch by its own spread, hides it.
    """
    n = x.shape[0]
    g = max(d for d in range(1, min(group, n) + 1) if n % d == 0)
    y = x.float().reshape(g, n // g, *x.shape[1:])
    y = (y - y.mean(0)).square().mean(0).add(1e-8).sqrt()  # [N/g, C, *S]
    y = y.flatten(1).mean(1)  # [N/g]
    y = y.repeat(g).to(x.dtype).view(n, 1, *([1] * (x.ndim - 2))).expand(n, 1, *x.shape[2:])
    return torch.cat([x, y], dim=1)


def projection_classes(config: GANOptions, num_classes: int) -> int:
    """The classes a discriminator reads labels of (its projection term): the model's for a
    conditional model, 0 otherwise (an InfoGAN discriminator sees no labels, only its head)."""
    return num_classes if config.conditional else 0


def class_head(cfg: GANOptions, num_classes: int, channels: int) -> nn.Linear | None:
    """The class head of a discriminator: sum-pooled features ``[N, channels]`` -> logits ``[N, K]``.

    ``K`` is ``num_classes`` for AC-GAN's auxiliary classifier (``model.aux_class > 0``) or
    ``model.info_classes`` for InfoGAN's; None when the discriminator has no head.
    """
    k = cfg.info_classes or (num_classes if cfg.aux_class > 0 else 0)
    return nn.Linear(channels, k) if k else None


def classify(head: nn.Linear | None, pooled: torch.Tensor) -> torch.Tensor:
    """Class logits ``[N, num_classes]`` of a discriminator's :func:`class_head` on its pooled
    features ``[N, channels]``; a clear error when it was built without one."""
    if head is None:
        raise ConfigError("this discriminator has no class head: set model.aux_class > 0 "
                          "(conditional models) or model.info_classes to train one")
    return head(pooled)


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al., 2018) on every Conv/Linear/Embedding weight of ``module``.

    Each weight is divided by its largest singular value (of the weight reshaped to
    ``[out, -1]``), estimated by one power iteration per forward pass in training mode, which
    makes every layer (about) 1-Lipschitz. Call it after the weights are initialised:
    afterwards ``layer.weight`` is computed from ``layer.parametrizations.weight.original``.
    """
    kinds = (nn.modules.conv._ConvNd, nn.Linear, nn.Embedding)
    for layer in list(module.modules()):
        if isinstance(layer, kinds) and not _is_parametrized(layer):
            _spectral_norm(layer)
    return module


def _is_parametrized(layer: nn.Module) -> bool:
    return "weight" in getattr(layer, "parametrizations", {})


def spatial_stages(model: str, resolution: int) -> int:
    """Number of 2x spatial stages between 4x4 and ``resolution``, which must be 4 times a power of two (>= 8)."""
    stages = int(round(math.log2(resolution / 4))) if resolution >= 8 else 0
    if resolution < 8 or 4 * 2**stages != resolution:
        raise ConfigError(
            f"{model} needs a resolution of 4 x a power of two (8, 16, 32, 64, 128...), got {resolution}",
            hint="set data.resolution=32 or 64",
        )
    return stages


def seeded_latents(z_dim: int, seeds: list[int], device: torch.device | str = "cpu") -> torch.Tensor:
    """One standard-normal vector per seed, ``[len(seeds), z_dim]``: sample i depends on its seed only."""
    z = [torch.randn(z_dim, generator=torch.Generator().manual_seed(int(s))) for s in seeds]
    return torch.stack(z).to(device)


def check_at_least_one(config: object, names: tuple[str, ...]) -> None:
    """Each ``model.<name>`` must be >= 1 (sizes and counts of the config)."""
    for name in names:
        if getattr(config, name) < 1:
            raise ConfigError(f"model.{name} must be >= 1, got {getattr(config, name)}")
