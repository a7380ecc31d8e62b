"""The super-resolution family's training: degrade high-resolution clips on the fly, learn to undo it.

Any clip set trains an upscaler: each step makes the batch's clips low-resolution with the
model's ``degradation`` (:mod:`vidgen.models.vsr.degrade`; the random draws of ``realistic``
come from the step's seeded generator) and regresses the high-resolution clips with the
Charbonnier loss (BasicVSR's). Two optional terms:

- ``flow_weight``: a photometric loss on the low-resolution frames warped by the flow network
  (how far ``warp(frame i + 1, flow)`` is from frame ``i``), an unsupervised signal that teaches
  the from-scratch flow pyramid to follow motion faster than the upscaling loss alone;
- ``flow_supervision``: the mean end-point error of the flow network against the exact flows
  of clips that carry them (``photo_pans`` with ``data.with_flow: true``), brought to the low
  resolution (each ``scale`` x ``scale`` block's mean flow over ``scale``: exact for its centre,
  the flow being affine there); the flow network learns from a known answer instead of
  discovering motion on its own;
- ``gan_weight`` (the GAN variant): a per-frame patch discriminator, trained with the GAN
  family's losses (``gan_loss``) on the high-resolution frames against the upscaled ones, and
  its generator loss added to the upscaler's, for sharper output on real footage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from vidgen.errors import ConfigError, VidgenError
from vidgen.family import Phase, StepContext
from vidgen.models.vsr.basicvsr import downscale_flow
from vidgen.models.vsr.degrade import degrade
from vidgen.nn.unet import backward_warp


@dataclass
class VSRObjective:
    """How an upscaler trains (the ``objective:`` section of its recipe); not exported."""

    loss: Literal["charbonnier", "l1", "mse"] = "charbonnier"
    flow_weight: float = 0.1  # photometric loss of the flow network (0: it learns from the upscaling loss alone)
    align_with: Literal["network", "exact"] = "network"  # exact: the clips' exact flows (an oracle, for measurement)
    flow_supervision: float = 0.0  # > 0: end-point error against the clips' exact flows (photo_pans, data.with_flow)
    gan_weight: float = 0.0  # > 0: the GAN variant (a patch discriminator)
    gan_loss: Literal["nonsaturating", "lsgan", "hinge"] = "hinge"
    disc_width: int = 32
    disc_lr_ratio: float = 1.0  # the discriminator's learning rate over the upscaler's

    def __post_init__(self) -> None:
        if min(self.flow_weight, self.flow_supervision, self.gan_weight) < 0 or self.disc_lr_ratio <= 0:
            raise ConfigError("objective.flow_weight, objective.flow_supervision and objective.gan_weight must be "
                              ">= 0, objective.disc_lr_ratio > 0")
        if self.disc_width < 4:
            raise ConfigError(f"objective.disc_width must be >= 4, got {self.disc_width}")


def charbonnier(pred: torch.Tensor, target: torch.Tensor, kind: str = "charbonnier") -> torch.Tensor:
    diff = pred.float() - target.float()
    if kind == "mse":
        return diff.square().mean()
    if kind == "l1":
        return diff.abs().mean()
    return torch.sqrt(diff.square() + 1e-6).mean()


class PatchDiscriminator(nn.Module):
    """Per-frame patch discriminator: ``[N, C, H, W] -> logits [N, 1, H / 4, W / 4]`` (spectral norm)."""

    def __init__(self, channels: int, width: int):
        super().__init__()
        sn = nn.utils.spectral_norm
        self.net = nn.Sequential(
            sn(nn.Conv2d(channels, width, 4, stride=2, padding=1)), nn.LeakyReLU(0.2, inplace=True),
            sn(nn.Conv2d(width, 2 * width, 4, stride=2, padding=1)), nn.LeakyReLU(0.2, inplace=True),
            sn(nn.Conv2d(2 * width, 2 * width, 3, padding=1)), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * width, 1, 3, padding=1))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.net(frames)


class VSRFamily:
    """Training of an upscaler (``scale``, ``config.degradation``, ``flows``, ``forward``)."""

    ema_networks: tuple[str, ...] = ("model",)
    generates = False  # it transforms videos: train.metrics (distribution metrics) do not apply

    def __init__(self, *, model: nn.Module, objective: VSRObjective | None = None, dataset: Any,
                 num_samples: int = 16):
        self.model = model
        self.objective = objective if objective is not None else VSRObjective()
        self.networks: dict[str, nn.Module] = {"model": model}
        if self.objective.gan_weight > 0:
            self.networks["disc"] = PatchDiscriminator(model.channels, self.objective.disc_width)
        count = min(num_samples, len(dataset))
        self.preview_clips = torch.stack([dataset[i]["video"] for i in range(count)])  # [N, T, C, H, W]
        h, w = self.preview_clips.shape[-2:]
        if h % model.scale or w % model.scale:
            raise VidgenError(f"the training clips are {h}x{w}, not a multiple of model.scale {model.scale}",
                              hint=f"set data.resolution to a multiple of {model.scale}")
        self._fake: torch.Tensor | None = None
        if self.objective.flow_supervision > 0 or self.objective.align_with == "exact":
            if not model.aligned:
                raise ConfigError("objective.flow_supervision and objective.align_with=exact need a model that aligns "
                                  "by flow",
                                  hint="leave model.alignment and model.propagation at their defaults")
            if self.objective.flow_supervision > 0 and model.spynet is None:
                raise ConfigError("objective.flow_supervision teaches a learned flow network: model.flow=dis has none",
                                  hint="set model.flow=spynet")
            if "flow" not in dataset[0]:
                raise ConfigError("objective.flow_supervision and objective.align_with=exact need clips that carry "
                                  "their exact flow",
                                  hint="train on photo_pans with data.with_flow=true")

    def optimizers(self, cfg: Any) -> dict[str, torch.optim.Optimizer]:
        out = {"model": torch.optim.Adam(self.model.parameters(), lr=cfg.lr, betas=cfg.betas,
                                         weight_decay=cfg.weight_decay)}
        if "disc" in self.networks:
            out["disc"] = torch.optim.Adam(self.networks["disc"].parameters(), lr=cfg.lr * self.objective.disc_lr_ratio,
                                           betas=cfg.betas)
        return out

    def phases(self) -> list[Phase]:
        phases = [Phase("main", "model", self.main)]
        if "disc" in self.networks:
            phases.append(Phase("D_main", "disc", self.disc))
        return phases

    def low_res(self, hr: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        with torch.autocast(device_type=hr.device.type, enabled=False):  # the degradations are defined in float32
            return degrade(hr.float(), self.model.config.degradation, self.model.scale, g).to(hr.dtype)

    def exact_flows(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """The clips' exact flows at the low resolution, as the model's ``(backward, forward)`` ``[B, T - 1, 2, h, w]``."""
        return tuple(downscale_flow(batch[k], self.model.scale) for k in ("flow_reverse", "flow"))

    def main(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        hr = ctx.batch["video"]
        lr = self.low_res(hr, ctx.generator)
        exact = self.exact_flows(ctx.batch) if "flow" in ctx.batch else None
        if self.objective.align_with == "exact":  # the oracle: the network's own flows are not used
            pred, flows = ctx.net("model")(lr, flows=exact), None
        else:
            pred, flows = ctx.net("model")(lr, return_flows=True)
        loss = charbonnier(pred, hr, self.objective.loss)
        out: dict[str, torch.Tensor] = {}
        if flows is not None and self.objective.flow_weight > 0 and self.model.spynet is not None:
            a, z = lr[:, :-1].flatten(0, 1), lr[:, 1:].flatten(0, 1)
            photo = (charbonnier(backward_warp(z, flows[0].flatten(0, 1)), a)
                     + charbonnier(backward_warp(a, flows[1].flatten(0, 1)), z)) / 2
            loss = loss + self.objective.flow_weight * photo
            out["photometric"] = photo.detach()
        if flows is not None and exact is not None:  # logged wherever the clips carry their flow
            epe = torch.stack([(f.float() - e).norm(dim=2).mean() for f, e in zip(flows, exact)]).mean()
            if self.objective.flow_supervision > 0:
                loss = loss + self.objective.flow_supervision * epe
            out["flow_epe"] = epe.detach()
        if "disc" in self.networks:
            from vidgen.models.gan.losses import g_loss

            adv = g_loss(self.objective.gan_loss, ctx.net("disc")(pred.flatten(0, 1)))
            loss = loss + self.objective.gan_weight * adv
            out["adv"] = adv.detach()
            self._fake = pred.detach()
        mse = F.mse_loss(pred.detach().float().clamp(-1, 1), hr.float())
        out.update(loss=loss, psnr=10 * torch.log10(4.0 / mse.clamp_min(1e-10)))
        return out

    def disc(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        from vidgen.models.gan.losses import d_loss

        hr = ctx.batch["video"]
        fake = self._fake
        if fake is None or fake.shape != hr.shape:
            with torch.no_grad():
                fake = ctx.net("model")(self.low_res(hr, ctx.generator))
        d = ctx.net("disc")
        real_logits, fake_logits = d(hr.flatten(0, 1)), d(fake.flatten(0, 1))
        self._fake = None
        return {"loss": d_loss(self.objective.gan_loss, real_logits, fake_logits),
                "real": real_logits.detach().float().mean(), "fake": fake_logits.detach().float().mean()}

    @torch.no_grad()
    def sample(self, nets: dict[str, nn.Module], count: int) -> torch.Tensor:
        """Preview ``[N, 2 T, C, H, W]``: each clip's low-resolution input (bicubic-upscaled to the size),
        then the network's upscale."""
        model = nets.get("model", self.model)
        was_training = model.training
        model.eval()
        device = next(iter(model.parameters())).device
        hr = self.preview_clips[:count].to(device)
        try:
            lr = self.low_res(hr, torch.Generator().manual_seed(0))
            out = model(lr).clamp(-1, 1)
        finally:
            model.train(was_training)
        seen = F.interpolate(lr.flatten(0, 1).float(), size=hr.shape[-2:], mode="bicubic",
                             align_corners=False).clamp(-1, 1).view(hr.shape)
        return torch.cat([seen, out.float()], dim=1).cpu()

    def sampler(self, nets: dict[str, nn.Module]) -> Any:
        raise VidgenError("an upscaler makes no clips from noise",
                          hint="score it with vidgen eval RUN --metric vsr_psnr_y data.split=test")

    def prepare_export(self, nets: dict[str, nn.Module]) -> None:
        pass

    def export_state(self, nets: dict[str, nn.Module]) -> dict[str, Any]:
        model = nets.get("model", self.model)
        return {f"model.{k}": v for k, v in model.state_dict().items()}
