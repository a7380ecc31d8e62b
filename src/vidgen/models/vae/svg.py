"""``svg``: Stochastic Video Generation with a learned prior (SVG-LP, Denton & Fergus, ICML 2018).

A frame at a time:

- a DCGAN-style 2D encoder maps frame ``x_t`` to a vector ``h_t`` (``g_dim``) and keeps its
  feature maps for skip connections; the decoder mirrors it, reading the skips of the last
  context frame (SVG's default: the background comes from the last frame it saw);
- the *posterior* LSTM reads ``h_t`` and gives ``q(z_t | x_{1:t})``, a diagonal Gaussian
  over a small per-frame latent (``z_dim``); the *learned prior* LSTM reads ``h_{t-1}`` and
  gives ``p(z_t | x_{1:t-1})``;
- the *frame predictor* LSTM reads ``[h_{t-1}, z_t]`` and outputs ``g_t``, decoded (with the
  skips) into the frame ``x_t``.

Training (:meth:`SVG.loss_terms`) is teacher-forced as in the paper: the predictor reads the
true previous frame, ``z_t`` is drawn from the posterior on the true frame ``x_t``, and the
loss is ``sum_t mse(x_t) + beta * sum_t KL(q(z_t) || p(z_t))`` over every frame after the
first. Prediction (:meth:`SVG.forward`, the predictor interface) reads the context frames
with posterior latents, then draws each future ``z_t`` from the learned prior with noise
from the caller's generator: one seed, one plausible future; another seed, another.
With ``norm=batch`` (SVG's layers) the statistics pool every frame of a batch in training
mode; eval mode (previews, prediction) uses the running statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Literal

import torch
from torch import Tensor, nn

from vidgen.errors import ConfigError
from vidgen.models.predictor.common import check_clip, check_positive
from vidgen.models.vae.losses import frame_mse, gaussian_kl, reparameterize
from vidgen.nn.init import dcgan_init
from vidgen.nn.recurrent import check_rollout_args, mix_inputs, teacher_forcing_mask
from vidgen.registry import MODELS

LSTMState = tuple[Tensor, Tensor]


@dataclass
class SVGConfig:
    """Sizes of SVG-LP's networks, its KL weight and its training split.

    The defaults are the paper's Moving-MNIST/KTH settings (``g_dim`` 128, ``z_dim`` 10,
    LSTMs of 256 units, ``beta = 1e-4``); ``context`` and ``future`` are the split it trains
    on (clips need ``context + future`` frames), any lengths work at prediction time.
    """

    g_dim: int = 128  # size of the per-frame encoding h_t and of the predictor's output
    z_dim: int = 10  # size of the per-frame latent z_t
    rnn_size: int = 256  # units of every LSTM layer
    predictor_layers: int = 2
    posterior_layers: int = 1
    prior_layers: int = 1
    width: int = 64  # channels of the first encoder stage (doubles per stage)
    max_channels: int = 512  # width cap of the deep stages
    norm: Literal["batch", "group"] = "batch"  # batch: as in SVG; group: every clip independent of its batch
    context: int = 10  # frames the model reads (training split)
    future: int = 10  # frames it predicts (training split)
    last_frame_skip: bool = False  # skips from the previous frame at every step instead of the last context frame

    def __post_init__(self) -> None:
        check_positive(self, ("g_dim", "z_dim", "rnn_size", "predictor_layers", "posterior_layers", "prior_layers",
                              "width", "max_channels", "context", "future"))
        if self.norm not in ("batch", "group"):
            raise ConfigError(f"unknown model.norm {self.norm!r}", hint="valid: batch, group")


def _norm(kind: str, channels: int) -> nn.Module:
    return nn.BatchNorm2d(channels) if kind == "batch" else nn.GroupNorm(min(8, channels), channels)


def _stages(resolution: int) -> int:
    """Stride-2 stages from ``resolution`` down to 4x4."""
    if resolution < 8 or resolution & (resolution - 1):
        raise ConfigError(f"svg needs a power-of-two resolution >= 8 (8, 16, 32, 64, 128...), got {resolution}",
                          hint="set data.resolution=64 (SVG's) or 32")
    return resolution.bit_length() - 3  # log2(resolution / 4)


class FrameEncoder(nn.Module):
    """Frames ``[N, C, H, W]`` -> ``(h [N, g_dim] in [-1, 1], skips)``, the feature map of every stage.

    DCGAN's encoder: conv 4/2/1 + norm + LeakyReLU per stage down to 4x4, then a 4x4 valid
    convolution to ``g_dim`` and ``tanh``.
    """

    def __init__(self, *, cfg: SVGConfig, widths: list[int], channels: int):
        super().__init__()
        c_in = channels
        self.stages = nn.ModuleList()
        for c_out in widths:
            self.stages.append(nn.Sequential(nn.Conv2d(c_in, c_out, 4, 2, 1), _norm(cfg.norm, c_out),
                                             nn.LeakyReLU(0.2)))
            c_in = c_out
        # no group norm on the 1x1 code: groups of a few scalars would be normalised to ~0
        self.head = nn.Sequential(nn.Conv2d(c_in, cfg.g_dim, 4, 1, 0),
                                  nn.BatchNorm2d(cfg.g_dim) if cfg.norm == "batch" else nn.Identity(), nn.Tanh())

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        skips = []
        for stage in self.stages:
            x = stage(x)
            skips.append(x)
        return self.head(x).flatten(1), skips


class FrameDecoder(nn.Module):
    """``(g [N, g_dim], skips)`` -> frames ``[N, C, H, W]`` in ``[-1, 1]``.

    The mirror of :class:`FrameEncoder`: a 4x4 transposed convolution from the vector, then
    per stage the encoder's feature map of the same size is concatenated and upsampled.
    """

    def __init__(self, *, cfg: SVGConfig, widths: list[int], channels: int):
        super().__init__()
        self.head = nn.Sequential(nn.ConvTranspose2d(cfg.g_dim, widths[-1], 4, 1, 0), _norm(cfg.norm, widths[-1]),
                                  nn.LeakyReLU(0.2))
        self.stages = nn.ModuleList()
        for i in reversed(range(len(widths))):  # deep -> shallow, each reading [x, skip]
            if i == 0:
                self.stages.append(nn.ConvTranspose2d(2 * widths[0], channels, 4, 2, 1))
            else:
                self.stages.append(nn.Sequential(nn.ConvTranspose2d(2 * widths[i], widths[i - 1], 4, 2, 1),
                                                 _norm(cfg.norm, widths[i - 1]), nn.LeakyReLU(0.2)))

    def forward(self, g: Tensor, skips: list[Tensor]) -> Tensor:
        x = self.head(g[:, :, None, None])  # [N, C', 4, 4]
        for stage, skip in zip(self.stages, reversed(skips)):
            x = stage(torch.cat([x, skip], dim=1))
        return torch.tanh(x)


class SequenceLSTM(nn.Module):
    """SVG's fully connected LSTM: linear embedding, stacked LSTM, linear read-out.

    ``x [B, T, in_dim]`` and an optional state -> ``(y [B, T, out_dim], state)``; the state
    is ``nn.LSTM``'s ``(h, c)``, each ``[layers, B, hidden]``. Training runs whole
    (teacher-forced) sequences at once; prediction runs one step at a time.
    """

    def __init__(self, *, in_dim: int, out_dim: int, hidden: int, layers: int):
        super().__init__()
        self.embed = nn.Linear(in_dim, hidden)
        self.lstm = nn.LSTM(hidden, hidden, num_layers=layers, batch_first=True)
        self.out = nn.Linear(hidden, out_dim)

    def forward(self, x: Tensor, state: LSTMState | None = None) -> tuple[Tensor, LSTMState]:
        y, state = self.lstm(self.embed(x), state)
        return self.out(y), state


@MODELS.register("svg", config=SVGConfig, family="vae")
class SVG(nn.Module):
    """SVG-LP: a stochastic next-frame predictor with per-frame latents and a learned prior.

    Built like every model (``frames, resolution, channels`` are the training clip shape;
    clips need ``context + future`` frames; the resolution is a power of two >= 8) and
    called like a predictor: ``model(context, future=n, generator=g) -> [B, n, C, H, W]``.
    ``num_classes`` is 0 (unconditional); ``z_dim`` is the size of the per-frame latent.
    """

    trainable = True

    default_beta = 1e-4  # objective.beta when the recipe sets none (the paper's value)

    def __init__(self, *, config: SVGConfig, frames: int, resolution: int, channels: int, num_classes: int = 0):
        super().__init__()
        check_clip("svg", context=config.context, future=config.future, frames=frames, resolution=resolution,
                   channels=channels)
        self.config = config
        self.context, self.future = config.context, config.future
        self.frames, self.resolution, self.channels = frames, resolution, channels
        self.z_dim = config.z_dim
        self.num_classes = 0
        widths = [min(config.max_channels, config.width * 2**i) for i in range(_stages(resolution))]
        self.encoder = FrameEncoder(cfg=config, widths=widths, channels=channels)
        self.decoder = FrameDecoder(cfg=config, widths=widths, channels=channels)
        rnn = config.rnn_size
        self.predictor = SequenceLSTM(in_dim=config.g_dim + config.z_dim, out_dim=config.g_dim, hidden=rnn,
                                      layers=config.predictor_layers)
        self.posterior = SequenceLSTM(in_dim=config.g_dim, out_dim=2 * config.z_dim, hidden=rnn,
                                      layers=config.posterior_layers)
        self.prior = SequenceLSTM(in_dim=config.g_dim, out_dim=2 * config.z_dim, hidden=rnn,
                                  layers=config.prior_layers)
        # DCGAN initialisation of the convolutional parts, as in SVG's code
        self.encoder.apply(partial(dcgan_init, linear=False))
        self.decoder.apply(partial(dcgan_init, linear=False))

    # --- pieces ------------------------------------------------------------------------------

    def encode(self, video: Tensor) -> tuple[Tensor, list[Tensor]]:
        """Every frame of ``video [B, T, C, H, W]`` -> ``(h [B, T, g_dim], skips [B, T, C_i, H_i, W_i] per stage)``."""
        b, t = video.shape[:2]
        h, skips = self.encoder(video.flatten(0, 1))  # frames as one batch [B*T, C, H, W]
        return h.view(b, t, -1), [s.view(b, t, *s.shape[1:]) for s in skips]

    def decode(self, g: Tensor, skips: list[Tensor]) -> Tensor:
        """``g [B, T, g_dim]`` and per-step skips ``[B, T, C_i, H_i, W_i]`` -> frames ``[B, T, C, H, W]``."""
        b, t = g.shape[:2]
        frames = self.decoder(g.flatten(0, 1), [s.flatten(0, 1) for s in skips])
        return frames.view(b, t, *frames.shape[1:])

    def _predict(self, h: Tensor, z: Tensor, state: LSTMState | None) -> tuple[Tensor, LSTMState]:
        g, state = self.predictor(torch.cat([h, z.to(h.dtype)], dim=-1), state)
        return torch.tanh(g), state  # SVG's predictor ends in tanh, like the encoder's code

    # --- training ------------------------------------------------------------------------------

    def loss_terms(self, video: Tensor, label: Tensor | None, generator: torch.Generator | None) -> dict[str, Tensor]:
        """Teacher-forced ELBO terms on clips of ``context + future`` frames (SVG-LP's training step).

        Args:
            video: ``[B, T, C, H, W]`` in ``[-1, 1]`` with ``T >= context + future`` (the first
                ``context + future`` frames are used).
            label: ignored (SVG is unconditional).
            generator: the RNG of the posterior noise (a CPU generator is moved to the device).

        Returns:
            ``recon``: per-frame MSE summed over the frames after the first; ``kl``: the KL of
            posterior to learned prior summed over frames and ``z``, batch mean; ``mse``: the
            mean per-pixel error (detached).
        """
        t = self.context + self.future
        if video.dim() != 5 or video.shape[1] < t:
            raise ValueError(f"svg trains on clips [B, >= {t}, C, H, W], got {tuple(video.shape)}")
        video = video[:, :t]
        h, skips = self.encode(video)
        mu_q, logvar_q = self.posterior(h[:, 1:])[0].chunk(2, dim=-1)  # q(z_t | x_{1:t}), t = 1..T-1
        mu_p, logvar_p = self.prior(h[:, :-1])[0].chunk(2, dim=-1)  # p(z_t | x_{1:t-1})
        z = reparameterize(mu_q, logvar_q, generator)
        g, _ = self._predict(h[:, :-1], z, None)
        # frame t reads the skips of frame t-1 during the context, then those of the last context frame
        source = torch.arange(t - 1, device=video.device)
        if not self.config.last_frame_skip:
            source = source.clamp(max=self.context - 1)
        pred = self.decode(g, [s[:, source] for s in skips])
        target = video[:, 1:]
        with torch.no_grad():
            mse = (pred.float() - target.float()).square().mean()
        return {"recon": frame_mse(pred, target), "kl": gaussian_kl(mu_q, logvar_q, mu_p, logvar_p), "mse": mse}

    # --- prediction ----------------------------------------------------------------------------

    def forward(
        self,
        context: Tensor,
        *,
        future: int,
        target: Tensor | None = None,
        teacher_forcing: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Predict ``future`` frames after ``context [B, Tc, C, H, W]``: ``[B, future, C, H, W]`` in ``[-1, 1]``.

        The context frames are read with posterior latents (as SVG's generation does); each
        future ``z_t`` is drawn from the learned prior, with noise from ``generator`` (CPU or
        the input's device; None: the global RNG). ``future`` may exceed ``self.future``.
        With ``teacher_forcing > 0`` each future step reads, per sample with that
        probability, the true previous frame from ``target [B, >= future - 1, C, H, W]``
        instead of the model's own prediction (see :func:`vidgen.nn.recurrent.rollout`).
        """
        check_rollout_args(context, future=future, target=target, teacher_forcing=teacher_forcing,
                           channels=self.channels)
        h_ctx, skips_ctx = self.encode(context)
        state_pred = state_prior = None
        if context.shape[1] > 1:  # warm the LSTMs up on the context, as in training
            mu_q, logvar_q = self.posterior(h_ctx[:, 1:])[0].chunk(2, dim=-1)
            _, state_prior = self.prior(h_ctx[:, :-1])
            _, state_pred = self._predict(h_ctx[:, :-1], reparameterize(mu_q, logvar_q, generator), None)
        h = h_ctx[:, -1:]  # [B, 1, g_dim]
        skips = [s[:, -1:] for s in skips_ctx]  # the last context frame's
        preds: list[Tensor] = []
        for k in range(future):
            if k > 0:
                mask = teacher_forcing_mask(context.shape[0], teacher_forcing, generator=generator,
                                            device=context.device)
                x = preds[-1] if mask is None else mix_inputs(mask, target[:, k - 1:k], preds[-1])
                h, new_skips = self.encode(x)
                if self.config.last_frame_skip:
                    skips = new_skips
            stats, state_prior = self.prior(h, state_prior)
            mu_p, logvar_p = stats.chunk(2, dim=-1)
            g, state_pred = self._predict(h, reparameterize(mu_p, logvar_p, generator), state_pred)
            preds.append(self.decode(g, skips))  # [B, 1, C, H, W]
        return torch.cat(preds, dim=1)
