"""A tiny GAN actually learns a tiny problem through the engine: every clip is one solid colour."""

from __future__ import annotations

import json

import pytest
import torch

from vidgen import config as cfgmod
from vidgen.models.gan.sampling import generate
from vidgen.train.config import ExperimentConfig
from vidgen.train.loop import Trainer



def test_generator_moves_towards_the_data(tmp_path, solid_colour_gan):
    cfg = cfgmod.load(ExperimentConfig, None, [
        f"run_dir={tmp_path}", "data.resolution=8", "data.frames=4", "data.num_clips=64", "model.z_dim=8",
        "model.g_channels=8", "model.d_channels=8", "model.max_channels=16", "train.batch_size=16",
        "train.kimg=1.92", "train.tick_kimg=0.96", "train.lr=1e-3", "train.ema_kimg=0", "train.precision=fp32",
        "train.tensorboard=false", "train.num_samples=16"])
    trainer, before, after = solid_colour_gan(cfg)
    assert trainer.step == 120
    assert after < 0.5 * before, (before, after)
    assert after < 0.25


COLOURS = torch.tensor([[0.8, -0.6, 0.2], [-0.7, 0.5, 0.9]]).view(2, 1, 3, 1, 1)  # class 0, class 1


def train_two_colours(tmp_path, options: list[str]) -> tuple[Trainer, float, float, float]:
    """Train a tiny conditional GAN on two classes, each one solid colour. Returns the trainer and the
    mean distance to the clip's own class colour before and after, and to the other class's after."""
    cfg = cfgmod.load(ExperimentConfig, None, [
        f"run_dir={tmp_path}", "data.resolution=8", "data.frames=4", "data.num_clips=64", "data.kinds=[circle,square]",
        "model.z_dim=8", "model.g_channels=8", "model.d_channels=8", "model.max_channels=16", "model.embed_dim=8",
        "model.conditional=true", "train.batch_size=16", "train.kimg=1.92", "train.tick_kimg=0.96", "train.lr=1e-3",
        "train.ema_kimg=0", "train.precision=fp32", "train.tensorboard=false", "train.num_samples=16", *options])
    trainer = Trainer(cfg, echo=lambda line: None)
    assert trainer.model.num_classes == 2
    labels = torch.arange(16) % 2
    real = COLOURS[labels].expand(16, 4, 3, 8, 8).contiguous()  # [B, T, C, H, W]

    def two_colour_batches():
        while True:
            yield [{"video": real, "label": labels}]

    trainer.batches = two_colour_batches
    z = trainer.model.latents(list(range(16)))

    def errors() -> tuple[float, float]:
        """Mean distance to the colour of the clip's own class, and to the other class's colour."""
        trainer.family.prepare_export(trainer.ema, batches=2)
        video = generate(trainer.ema["generator"], z, labels=labels)
        return ((video - COLOURS[labels]).abs().mean().item(), (video - COLOURS[1 - labels]).abs().mean().item())

    own_before, _ = errors()
    trainer.run()
    own, other = errors()
    assert trainer.step == 120
    return trainer, own_before, own, other


@pytest.mark.parametrize("options", [
    ["objective.loss=hinge", "model.spectral_norm=true", "objective.diffaugment=color,translation,cutout"],
    ["objective.loss=wgan-gp", "train.betas=[0.0,0.9]", "objective.r1_gamma=0.1", "objective.r1_interval=4"],
], ids=["hinge-sn-diffaugment", "wgan-gp-r1"])
def test_conditional_generator_learns_each_class(tmp_path, options):
    """Two classes, each one solid colour: the generator learns to draw the colour of the label it is given."""
    _, own_before, own, other = train_two_colours(tmp_path, options)
    assert own < 0.6 * own_before, (own_before, own)
    assert other > own + 0.4, (own, other)  # the label decides the colour


def test_auxiliary_classifier_trains_the_class_head_and_separates_the_classes(tmp_path):
    """AC-GAN's class head (model.aux_class): the discriminator learns to classify real clips, the
    generator to draw clips it classifies as their label."""
    _, own_before, own, other = train_two_colours(tmp_path, ["model.aux_class=1.0"])
    assert own < 0.7 * own_before, (own_before, own)  # 0.63 -> 0.41 (0.51 without the class head)
    assert other > own + 0.3, (own, other)
    ticks = [json.loads(line) for line in (tmp_path / "stats.jsonl").read_text().splitlines()]
    first, last = ticks[0], ticks[-1]
    assert last["D_main/class_acc"] == 1.0  # the two colours are told apart on real clips
    assert last["G_main/class_loss"] < first["G_main/class_loss"]
    assert last["G_main/class_acc"] > 0.9  # the fakes are drawn in their class's colour


def test_info_gan_learns_categories_without_labels(tmp_path):
    """InfoGAN's code (model.info_classes): on unlabelled clips of two solid colours, the discriminator's
    head learns to tell the generator's two categories apart and the generator makes them differ."""
    cfg = cfgmod.load(ExperimentConfig, None, [
        f"run_dir={tmp_path}", "data.resolution=8", "data.frames=4", "data.num_clips=64", "model.z_dim=8",
        "model.g_channels=8", "model.d_channels=8", "model.max_channels=16", "model.embed_dim=8",
        "model.info_classes=2", "train.batch_size=16", "train.kimg=1.92", "train.tick_kimg=0.96", "train.lr=1e-3",
        "train.ema_kimg=0", "train.precision=fp32", "train.tensorboard=false", "train.num_samples=16"])
    trainer = Trainer(cfg, echo=lambda line: None)
    assert trainer.model.num_classes == 2 and trainer.family.info
    real = COLOURS[torch.arange(16) % 2].expand(16, 4, 3, 8, 8).contiguous()

    def unlabelled_batches():  # the label is never read: poison it
        while True:
            yield [{"video": real, "label": torch.full((16,), -1)}]

    trainer.batches = unlabelled_batches
    z = trainer.model.latents(list(range(16)))

    def gap() -> float:
        """Mean distance between the clips of category 0 and 1 for the same noise."""
        trainer.family.prepare_export(trainer.ema, batches=2)
        G = trainer.ema["generator"]
        a, b = (generate(G, z, labels=torch.full((16,), k)) for k in (0, 1))
        return (a - b).abs().mean().item()

    gap_before = gap()
    trainer.run()
    ticks = [json.loads(line) for line in (tmp_path / "stats.jsonl").read_text().splitlines()]
    first, last = ticks[0], ticks[-1]
    assert last["D_main/info_loss"] < 0.5 * first["D_main/info_loss"], (first, last)  # 0.20 -> 0.05
    assert last["G_main/info_acc"] > 0.9  # the head tells the fakes' categories apart
    after = gap()
    assert after > max(0.15, 2.5 * gap_before), (gap_before, after)  # the category changes what is drawn: 0.07 -> 0.21
