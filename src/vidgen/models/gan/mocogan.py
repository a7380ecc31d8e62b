"""``mocogan``: motion and content decomposed (MoCoGAN, Tulyakov et al., CVPR 2018).

A clip is a path in a latent space: one content code ``z_c`` for the whole clip and one
motion code ``z_m(t)`` per frame, the hidden states of a GRU driven by per-frame noise
``e_t``. A 2D image generator turns every frame's ``[z_c, z_m(t)]`` into that frame; all
the frames of a batch go through it at once (``[B*T, ...]``), only the GRU loops over time.

Two discriminators judge the result: ``D_I`` on single frames (``image_batch`` frames
picked at random in every clip: is each frame a plausible image?) and ``D_V`` on whole
clips (3D convolutions: is the motion plausible?). ``pair_batch > 0`` adds a third,
``D_P``, on pairs of frames of a clip stacked along channels (do they show the same object?),
in the spirit of the sparse-frame discriminators of DIGAN and StyleGAN-V. They live in one
module, :class:`Discriminators`, so the training engine sees one network with one optimizer;
it returns the list of logits ``[video [B], image [B, k] (, pair [B, p])]`` (``k =
min(image_batch, T)``) and the GAN family sums the losses over the list.

Conditional (``conditional=True``): a learned class embedding is appended to ``z_c`` (the
categorical variant's role of the one-hot category), and both discriminators add a
projection term ``<embed(y), sum-pooled features>`` to their logits (``aux_class > 0`` also
gives each discriminator an auxiliary class head, AC-GAN's). With ``cond_norm=True``
every BatchNorm of the image generator is also class-conditional (a gain and a shift per
class, as in the projection discriminator's paper, Miyato & Koyama 2018, and BigGAN): the
class then steers every layer, not only the input code. ``content_norm=True`` does the same
with the clip's whole content code (``z_c``, with the class embedding when conditional): a
gain and a shift per channel computed from it in every BatchNorm, so that what is constant
over a clip (an object's colour and shape) reaches every layer rather than competing with
the motion code at the first one.

The noise vector ``z`` of a clip holds everything random, so a seed gives one clip::

    z = [ z_c (content_dim) | h_0 (motion_dim) | b_1 .. b_W | e_1 .. e_K ]

(``K = max_frames`` slots of ``noise_dim`` for the frames, ``W = motion_burnin`` slots for the
burn-in, below.)

Clips of up to ``K`` frames read ``e_t`` from ``z``. Longer clips (``frames=`` past ``K``)
continue with noise drawn from a generator seeded by a hash of ``z`` itself: the same
``z`` gives the same clip at every length, and the first frames of a long clip are the
clip of the training length.

``motion_burnin = W > 0`` runs the GRU for ``W`` steps on the noise ``b_1 .. b_W`` before the
first frame and drops those codes. ``h_0`` is standard normal, outside the ``(-1, 1)`` range
a GRU's state lives in, so without burn-in every clip's motion code starts from the same
broad distribution and contracts towards the GRU's own: ``z_m(t)`` then has a different
distribution at every ``t``, which a generator can read as a clock (the same change at the
same frame in every clip, a colour that drifts with the frame index). After a burn-in the
first frame starts from the GRU's stationary regime (so it does at initialisation; training can
still slow the GRU down, ``docs/training.md``), and a code that forgets its past holds no
information about ``t``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from vidgen.errors import ConfigError
from vidgen.models.gan.common import (
    GANOptions,
    InstanceNoise,
    apply_spectral_norm,
    check_at_least_one,
    check_label,
    class_count,
    class_head,
    classify,
    minibatch_stddev,
    projection_classes,
    seeded_latents,
    spatial_stages,
    to_pixels,
)
from vidgen.nn.init import dcgan_init
from vidgen.registry import MODELS


@dataclass
class MoCoGANConfig(GANOptions):
    """Latent sizes, widths and options of MoCoGAN (loss and stabilisers: :class:`GANOptions`)."""

    content_dim: int = 50  # z_c, one per clip
    motion_dim: int = 10  # z_m(t): the GRU's hidden state, one per frame
    noise_dim: int = 10  # e_t: the GRU's input noise, one per frame
    max_frames: int = 0  # per-frame noise slots carried in z (0: the training clip length)
    # GRU steps run on noise (W more slots in z) before the first frame, their codes dropped, so
    # that z_m(t) starts in the GRU's stationary regime instead of at h_0 (module docstring). 0: off
    motion_burnin: int = 0
    embed_dim: int = 16  # class embedding appended to z_c (conditional only)
    # conditional only: class-conditional BatchNorm (per-class gain and shift) in every layer of
    # the image generator, besides the embedding in z_c; needs g_norm=batch
    cond_norm: bool = False
    # content-conditional BatchNorm: every BatchNorm of the image generator takes a gain and a shift
    # computed from the clip's content code (z_c, with the class embedding when conditional), so
    # what stays fixed over a clip (colour, shape) steers every layer, not only the input; needs
    # g_norm=batch, and replaces cond_norm (whose class it already reads)
    content_norm: bool = False
    # widths at the finest stage, doubling per coarser stage up to max_channels. g_channels=32 has
    # the official generator's widths (ngf=64) from 8x8 on; the defaults (half of them, and narrow
    # discriminators that stride time) make a step ~17x cheaper (benchmarks/mocogan_speed.py)
    g_channels: int = 16
    d_channels: int = 16
    max_channels: int = 256
    # how the image generator doubles the resolution at each stage: "transposed" (DCGAN's and the
    # official code's 4x4 stride-2 transposed convolution) or "nearest" (nearest-neighbour 2x then a
    # 3x3 convolution, Odena et al. 2016): the transposed kernel's uneven overlap paints a
    # checkerboard, which at the last, RGB layer shows as speckle and colour fringes; the resize
    # convolution cannot, at 2.25x the FLOPs of those layers
    g_upsample: Literal["transposed", "nearest"] = "transposed"
    g_norm: Literal["batch", "none"] = "batch"
    d_norm: Literal["batch", "none"] = "batch"  # ignored (none) with spectral_norm; objective.loss=wgan-gp sets none
    image_batch: int = 1  # frames per clip that the image discriminator judges
    # pairs of frames per clip that a third, pair discriminator judges (two frames of one clip stacked
    # along channels: same object, same colour?). 0: none, the paper's two discriminators
    pair_batch: int = 0
    # minibatch standard deviation (ProGAN) before every discriminator's head: one extra channel with
    # the spread of the features over groups of this many clips (frames for D_I), which lets the
    # discriminators see a batch of fakes that are all alike. 0: off
    mbstd_group: int = 0
    # std of the Gaussian noise added to the input of every discriminator layer while training
    # (the official code's --use_noise --noise_sigma; its examples use 0.1). 0: off
    # (objective.d_noise_kimg anneals it to 0)
    d_noise: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_at_least_one(self, ("content_dim", "motion_dim", "noise_dim", "embed_dim", "g_channels", "d_channels",
                                  "max_channels", "image_batch"))
        if self.mbstd_group < 0:
            raise ConfigError(f"model.mbstd_group must be >= 0 (0: off), got {self.mbstd_group}")
        if self.pair_batch < 0:
            raise ConfigError(f"model.pair_batch must be >= 0 (0: no pair discriminator), got {self.pair_batch}")
        if self.d_noise < 0:
            raise ConfigError(f"model.d_noise is a standard deviation, >= 0 (0: off), got {self.d_noise}")
        if self.max_frames < 0:
            raise ConfigError(f"model.max_frames must be >= 0 (0: the training clip length), got {self.max_frames}")
        if self.motion_burnin < 0:
            raise ConfigError(f"model.motion_burnin must be >= 0 (0: no burn-in), got {self.motion_burnin}")
        if self.cond_norm and self.g_norm != "batch":
            raise ConfigError("model.cond_norm=true makes the generator's BatchNorm class-conditional, "
                              f"but model.g_norm is {self.g_norm!r}", hint="set model.g_norm=batch or cond_norm=false")
        if self.content_norm and self.g_norm != "batch":
            raise ConfigError("model.content_norm=true makes the generator's BatchNorm content-conditional, "
                              f"but model.g_norm is {self.g_norm!r}", hint="set model.g_norm=batch or content_norm=false")
        if self.content_norm and self.cond_norm:
            raise ConfigError("model.content_norm and model.cond_norm are both set; content_norm already reads "
                              "the class (its code includes the class embedding)", hint="keep one of them")


def plan_stages(resolution: int) -> int:
    """Number of 2x spatial stages between 4x4 and ``resolution`` (4 times a power of two, >= 8)."""
    return spatial_stages("mocogan", resolution)


def _width(base: int, level: int, cap: int) -> int:
    return min(cap, base * 2**level)


def _d_norm(cfg: MoCoGANConfig) -> str:
    """The discriminators' normalisation: none under spectral norm (its Lipschitz control replaces
    BatchNorm) or wgan-gp (whose per-clip gradient BatchNorm would couple to the batch)."""
    return "none" if cfg.spectral_norm else cfg.d_norm


def _projection(num_classes: int, channels: int) -> nn.Embedding | None:
    """The class vectors of a projection discriminator (Miyato & Koyama, 2018), Glorot-initialised."""
    if not num_classes:
        return None
    embed = nn.Embedding(num_classes, channels)
    nn.init.xavier_uniform_(embed.weight)
    return embed


def _noise_from_hash(z: torch.Tensor, count: int, dim: int) -> torch.Tensor:
    """``[B, count, dim]`` standard normal noise, a deterministic function of each row of ``z [B, D]``.

    Each clip's generator is seeded with a hash of its own ``z`` (float32 bytes), so the
    noise does not depend on the batch, the device or the other clips.
    """
    rows = []
    for zi in z.detach().float().cpu():
        seed = int.from_bytes(hashlib.blake2b(zi.numpy().tobytes(), digest_size=8).digest(), "little") % 2**63
        rows.append(torch.randn(count, dim, generator=torch.Generator().manual_seed(seed)))
    return torch.stack(rows).to(device=z.device, dtype=z.dtype)


class ClassBatchNorm2d(nn.Module):
    """BatchNorm without its own affine part, then a gain and a shift looked up by class: ``[N, C, H, W]``, ``[N]``."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Embedding(num_classes, channels)
        self.shift = nn.Embedding(num_classes, channels)
        nn.init.ones_(self.gain.weight)  # every class starts as plain BatchNorm
        nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        gain = self.gain(label).to(x.dtype)[:, :, None, None]
        return self.norm(x) * gain + self.shift(label).to(x.dtype)[:, :, None, None]


class ContentBatchNorm2d(nn.Module):
    """BatchNorm without its own affine part, then a gain and a shift computed from a code:
    ``[N, C, H, W]``, ``code [N, code_dim]``. Starts as plain BatchNorm (the projections are zero)."""

    def __init__(self, channels: int, code_dim: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.affine = nn.Linear(code_dim, 2 * channels)

    def reset_parameters(self) -> None:
        """Zero projections: gain 1, shift 0 for every code (called after the generator's init)."""
        nn.init.zeros_(self.affine.weight)
        nn.init.zeros_(self.affine.bias)

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        gain, shift = self.affine(code).to(x.dtype)[:, :, None, None].chunk(2, dim=1)
        return self.norm(x) * (1 + gain) + shift


class ImageGenerator(nn.Module):
    """Frame codes ``[N, code_dim]`` (and, with class-conditional norms, ``label [N]``; with
    content-conditional norms, the clip's content ``[N, content_dim]``) -> frames ``[N, C, H, W]``
    in ``[-1, 1]`` (2D DCGAN)."""

    def __init__(self, *, cfg: MoCoGANConfig, code_dim: int, resolution: int, channels: int, num_classes: int = 0,
                 content_dim: int = 0):
        super().__init__()
        stages = plan_stages(resolution)
        self.c0 = _width(cfg.g_channels, stages, cfg.max_channels)
        self.class_norm = bool(num_classes and cfg.cond_norm)
        self.content_norm = bool(cfg.content_norm)
        self.output = cfg.g_output

        def norm(c: int) -> nn.Module:
            if self.class_norm:
                return ClassBatchNorm2d(c, num_classes)
            if self.content_norm:
                return ContentBatchNorm2d(c, content_dim)
            return nn.BatchNorm2d(c) if cfg.g_norm == "batch" else nn.Identity()

        # a linear layer to 4x4 is DCGAN's first 4x4 transposed convolution of a 1x1 input
        self.project = nn.Linear(code_dim, self.c0 * 16, bias=cfg.g_norm == "none")
        self.project_norm = nn.Sequential(norm(self.c0), nn.ReLU(inplace=True))
        blocks = []
        for i in range(stages):  # coarse -> fine
            c_in = _width(cfg.g_channels, stages - i, cfg.max_channels)
            last = i == stages - 1
            c_out = channels if last else _width(cfg.g_channels, stages - i - 1, cfg.max_channels)
            bias = last or cfg.g_norm == "none"
            if cfg.g_upsample == "nearest":
                conv = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                     nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias))
            else:
                conv = nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=bias)
            blocks.append(conv if last else nn.Sequential(conv, norm(c_out), nn.ReLU(inplace=True)))
        self.blocks = nn.Sequential(*blocks)

    def _run(self, layers: nn.Sequential, x: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        for layer in layers:
            x = layer(x, cond) if isinstance(layer, (ClassBatchNorm2d, ContentBatchNorm2d)) else layer(x)
        return x

    def forward(self, code: torch.Tensor, label: torch.Tensor | None = None,
                content: torch.Tensor | None = None) -> torch.Tensor:
        if self.class_norm and label is None:
            raise ValueError("this image generator has class-conditional norms: pass label [N]")
        if self.content_norm and content is None:
            raise ValueError("this image generator has content-conditional norms: pass content [N, content_dim]")
        cond = label if self.class_norm else content
        x = self.project(code).view(code.shape[0], self.c0, 4, 4)  # [N, C, H, W]
        x = self._run(self.project_norm, x, cond).contiguous(memory_format=torch.channels_last)  # mkldnn's fast layout
        if not (self.class_norm or self.content_norm):
            return to_pixels(self.blocks(x), self.output, self.training)
        for block in self.blocks:
            x = self._run(block, x, cond) if isinstance(block, nn.Sequential) else block(x)
        return to_pixels(x, self.output, self.training)


class Generator(nn.Module):
    """``z [B, z_dim]`` (and ``label [B]``) -> video ``[B, T, C, H, W]`` in ``[-1, 1]``."""

    def __init__(self, *, cfg: MoCoGANConfig, frames: int, resolution: int, channels: int, num_classes: int):
        super().__init__()
        self.cfg = cfg
        self.frames = frames
        self.slots = cfg.max_frames or frames
        self.burnin = cfg.motion_burnin
        self.z_dim = cfg.content_dim + cfg.motion_dim + (self.burnin + self.slots) * cfg.noise_dim
        self.num_classes = num_classes
        self.embed = nn.Embedding(num_classes, cfg.embed_dim) if num_classes else None
        self.gru = nn.GRUCell(cfg.noise_dim, cfg.motion_dim)
        content_dim = cfg.content_dim + (cfg.embed_dim if num_classes else 0)
        self.image = ImageGenerator(cfg=cfg, code_dim=content_dim + cfg.motion_dim, resolution=resolution,
                                    channels=channels, num_classes=num_classes, content_dim=content_dim)

    def motion(self, h: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Motion codes ``z_m [B, T, motion_dim]`` from ``h_0 [B, motion_dim]`` and ``noise [B, T, noise_dim]``."""
        codes = []
        for t in range(noise.shape[1]):
            h = self.gru(noise[:, t], h)
            codes.append(h)
        return torch.stack(codes, 1)

    def motion_codes(self, z: torch.Tensor, frames: int) -> torch.Tensor:
        """The motion codes ``z_m [B, frames, motion_dim]`` that ``z [B, z_dim]`` holds (module docstring)."""
        cfg, B = self.cfg, z.shape[0]
        h0, burn, slots = z[:, cfg.content_dim:].split(
            [cfg.motion_dim, self.burnin * cfg.noise_dim, self.slots * cfg.noise_dim], dim=1)
        noise = slots.reshape(B, self.slots, cfg.noise_dim)[:, :frames]
        if frames > self.slots:
            noise = torch.cat([noise, _noise_from_hash(z, frames - self.slots, cfg.noise_dim)], dim=1)
        if self.burnin:  # run the GRU into its stationary regime, keep only the frames' codes
            noise = torch.cat([burn.reshape(B, self.burnin, cfg.noise_dim), noise], dim=1)
        return self.motion(h0, noise)[:, self.burnin:]

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None, frames: int | None = None) -> torch.Tensor:
        T = self.frames if frames is None else int(frames)
        if T < 1:
            raise ConfigError(f"mocogan generates clips of >= 1 frame, asked for {T}")
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must be [B, {self.z_dim}] (model.z_dim), got {tuple(z.shape)}")
        cfg = self.cfg
        B = z.shape[0]
        content = z[:, :cfg.content_dim]
        label = check_label("mocogan", self.num_classes, label, B)
        frame_label = None
        if self.embed is not None:
            label = label.to(z.device)
            content = torch.cat([content, self.embed(label).to(z.dtype)], dim=1)
            frame_label = label.repeat_interleave(T)  # [B*T], the order of the frames below
        z_m = self.motion_codes(z, T)  # [B, T, motion_dim]
        codes = torch.cat([content[:, None].expand(-1, T, -1), z_m], dim=2)  # [B, T, code_dim]
        frame_content = content.repeat_interleave(T, dim=0) if cfg.content_norm else None  # [B*T, content]
        frames_out = self.image(codes.reshape(B * T, -1), frame_label, frame_content)  # [B*T, C, H, W]
        return frames_out.reshape(B, T, *frames_out.shape[1:])


def _noisy(features: nn.Sequential, noise: InstanceNoise, x: torch.Tensor) -> torch.Tensor:
    """Run ``features`` with ``noise`` added before every convolution (the official code's placement).

    Applied here rather than as layers of the Sequential, so the weights' names, and with
    them the checkpoints, are the same with and without ``model.d_noise``.
    """
    for layer in features:
        x = layer(noise(x) if isinstance(layer, nn.modules.conv._ConvNd) else x)
    return x


def _with_stddev(h: torch.Tensor, group: int) -> torch.Tensor:
    """``h`` with the minibatch standard deviation channel appended (``model.mbstd_group``), or as is."""
    return minibatch_stddev(h, group) if group else h


class ImageDiscriminator(nn.Module):
    """frames ``[N, C, H, W]`` (and ``label [N]``) -> one logit per frame ``[N]`` (2D DCGAN)."""

    def __init__(self, *, cfg: MoCoGANConfig, resolution: int, channels: int, num_classes: int):
        super().__init__()
        stages = plan_stages(resolution)
        layers: list[nn.Module] = []
        c_in = channels
        for i in range(stages):  # fine -> coarse
            c_out = _width(cfg.d_channels, i, cfg.max_channels)
            norm = i > 0 and _d_norm(cfg) == "batch"  # no normalisation on the input layer, as in DCGAN
            layers.append(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=not norm))
            if norm:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.noise = InstanceNoise(cfg.d_noise)
        self.mbstd = cfg.mbstd_group
        self.head = nn.Conv2d(c_in + (1 if self.mbstd else 0), 1, 4)
        self.embed = _projection(num_classes, c_in)
        self.classifier = class_head(cfg, num_classes, c_in)

    def forward(self, frames: torch.Tensor, label: torch.Tensor | None = None,
                classes: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Logits ``[N]``; with ``classes=True`` also the class head's logits ``[N, classes]``."""
        h = _noisy(self.features, self.noise, frames.contiguous(memory_format=torch.channels_last))  # [N, C, 4, 4]
        logits = self.head(self.noise(_with_stddev(h, self.mbstd))).flatten(1).mean(1)
        pooled = h.sum((2, 3))  # [N, C]: the projection's and the class head's input
        if self.embed is not None:
            logits = logits + (self.embed(label).to(h.dtype) * pooled).sum(1)
        return (logits, classify(self.classifier, pooled)) if classes else logits


class VideoDiscriminator(nn.Module):
    """video ``[B, T, C, H, W]`` (and ``label [B]``) -> one logit per clip ``[B]`` (3D convolutions)."""

    def __init__(self, *, cfg: MoCoGANConfig, frames: int, resolution: int, channels: int, num_classes: int):
        super().__init__()
        stages = plan_stages(resolution)
        layers: list[nn.Module] = []
        c_in, t = channels, frames
        for i in range(stages):  # fine -> coarse
            c_out = _width(cfg.d_channels, i, cfg.max_channels)
            down_t = t % 2 == 0  # time is halved while it can be, from the finest stage on: that is where it costs
            norm = i > 0 and _d_norm(cfg) == "batch"
            layers.append(nn.Conv3d(c_in, c_out, kernel_size=(4 if down_t else 3, 4, 4),
                                    stride=(2 if down_t else 1, 2, 2), padding=1, bias=not norm))
            if norm:
                layers.append(nn.BatchNorm3d(c_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            c_in, t = c_out, t // 2 if down_t else t
        self.features = nn.Sequential(*layers)
        self.noise = InstanceNoise(cfg.d_noise)
        self.mbstd = cfg.mbstd_group
        self.head = nn.Conv3d(c_in + (1 if self.mbstd else 0), 1, kernel_size=(t, 4, 4))
        self.embed = _projection(num_classes, c_in)
        self.classifier = class_head(cfg, num_classes, c_in)

    def forward(self, video: torch.Tensor, label: torch.Tensor | None = None,
                classes: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Logits ``[B]``; with ``classes=True`` also the class head's logits ``[B, classes]``."""
        x = video.transpose(1, 2)  # [B, C, T, H, W]
        h = _noisy(self.features, self.noise, x.contiguous(memory_format=torch.channels_last_3d))
        logits = self.head(self.noise(_with_stddev(h, self.mbstd))).flatten(1).mean(1)
        pooled = h.sum((2, 3, 4))  # [B, C]: the projection's and the class head's input
        if self.embed is not None:
            logits = logits + (self.embed(label).to(h.dtype) * pooled).sum(1)
        return (logits, classify(self.classifier, pooled)) if classes else logits


class Discriminators(nn.Module):
    """``D_V``, ``D_I`` (and ``D_P``) as one network: video ``[B, T, C, H, W]`` -> ``[video [B], image [B, k]
    (, pair [B, p])]``.

    ``D_I`` judges ``k = min(image_batch, T)`` distinct frames per clip, chosen afresh at
    every call with torch's random generator (seeded, and saved and restored, by the engine).
    With ``pair_batch = p > 0``, ``D_P`` (the image discriminator's architecture on two frames
    stacked along channels) judges ``p`` pairs of distinct frames per clip, the earlier one
    first: whether two frames can belong to one clip (same object, same colour, a plausible
    displacement), the check that a slowly drifting colour fails and that ``D_V``'s 3D
    kernels, which see a few neighbouring frames at a time, miss.

    With ``classes=True`` (``model.aux_class > 0``) it returns ``(logits, class_logits)``, the
    class logits a list in the same order (``[B, K]``, ``[B*k, K]`` (, ``[B*p, K]``)).
    """

    def __init__(self, *, cfg: MoCoGANConfig, frames: int, resolution: int, channels: int, num_classes: int):
        super().__init__()
        self.image_batch = cfg.image_batch
        self.pair_batch = cfg.pair_batch if frames > 1 else 0
        self.num_classes = num_classes
        self.video = VideoDiscriminator(cfg=cfg, frames=frames, resolution=resolution, channels=channels,
                                        num_classes=num_classes)
        self.image = ImageDiscriminator(cfg=cfg, resolution=resolution, channels=channels, num_classes=num_classes)
        self.pair = (ImageDiscriminator(cfg=cfg, resolution=resolution, channels=2 * channels,
                                        num_classes=num_classes) if self.pair_batch else None)

    def forward(self, video: torch.Tensor, label: torch.Tensor | None = None,
                classes: bool = False) -> list[torch.Tensor] | tuple[list[torch.Tensor], list[torch.Tensor]]:
        B, T = video.shape[:2]
        label = check_label("mocogan", self.num_classes, label, B)
        if label is not None:
            label = label.to(video.device)
        rows = torch.arange(B, device=video.device)[:, None]
        k = min(self.image_batch, T)
        pick = torch.rand(B, T, device=video.device).argsort(dim=1)[:, :k]  # [B, k] distinct frames
        frames = video[rows, pick]  # [B, k, C, H, W]
        outs = [self.video(video, label, classes=classes),
                self.image(frames.flatten(0, 1), _repeat(label, k), classes=classes)]
        if self.pair is not None:
            p = self.pair_batch
            # p pairs per clip: two distinct frames each, in time order
            two = torch.rand(B * p, T, device=video.device).argsort(dim=1)[:, :2].sort(dim=1).values.view(B, p * 2)
            pairs = video[rows, two].reshape(B * p, 2 * video.shape[2], *video.shape[3:])  # [B*p, 2C, H, W]
            outs.append(self.pair(pairs, _repeat(label, p), classes=classes))
        per_clip = [k, self.pair_batch]  # the per-frame and per-pair logits as [B, k], [B, p]
        if not classes:
            return [outs[0]] + [o.view(B, n) for o, n in zip(outs[1:], per_clip)]
        logits = [outs[0][0]] + [o[0].view(B, n) for o, n in zip(outs[1:], per_clip)]
        return logits, [o[1] for o in outs]


def _repeat(label: torch.Tensor | None, n: int) -> torch.Tensor | None:
    """Each clip's label ``n`` times, clip-major (``[B] -> [B*n]``), for per-frame discriminators."""
    return None if label is None else label.repeat_interleave(n)


@MODELS.register("mocogan", config=MoCoGANConfig, family="gan")
class MoCoGAN(nn.Module):
    """MoCoGAN: a GRU of motion codes and a 2D image generator; image and video discriminators.

    Args:
        config: latent sizes, widths and options.
        frames, resolution, channels: the clip shape ``[T, C, H, W]`` it trains on; the
            generator makes clips of any length (``generator(z, frames=N)``).
        num_classes: classes of the dataset; used (>= 2 needed) when ``config.conditional``.

    ``z_dim`` is ``content_dim + motion_dim + (W + K) * noise_dim`` (see the module docstring);
    ``num_classes`` is the number of labels the model reads (0 when unconditional).
    """

    any_length = True

    def __init__(self, *, config: MoCoGANConfig, frames: int, resolution: int, channels: int, num_classes: int = 0):
        super().__init__()
        if config.max_frames and config.max_frames < frames:
            raise ConfigError(f"model.max_frames ({config.max_frames}) must be 0 or >= data.frames ({frames}): "
                              "the training clips read all their noise from z",
                              hint=f"set model.max_frames=0 or >= {frames}")
        self.config = config
        self.num_classes = class_count("mocogan", config, num_classes)
        shape = dict(cfg=config, frames=frames, resolution=resolution, channels=channels, num_classes=self.num_classes)
        self.generator = Generator(**shape)
        self.discriminator = Discriminators(**{**shape, "num_classes": projection_classes(config, self.num_classes)})
        self.z_dim = self.generator.z_dim
        self.apply(dcgan_init)
        for m in self.generator.modules():
            if isinstance(m, ContentBatchNorm2d):
                m.reset_parameters()
        if config.spectral_norm:
            apply_spectral_norm(self.discriminator)

    def latents(self, seeds: list[int], device: torch.device | str = "cpu") -> torch.Tensor:
        """One noise vector per seed, ``[len(seeds), z_dim]``: sample i depends on its seed only."""
        return seeded_latents(self.z_dim, seeds, device)
