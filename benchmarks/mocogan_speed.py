"""MoCoGAN training speed at the official implementation's default size, against that implementation.

    .venv/bin/python benchmarks/mocogan_speed.py [--steps 10] [--reference] [--precision bf16] [--threads N] [key=value ...]

The size is the official code's default (``train.py``: ``--video_batch 3 --image_batch 10
--video_length 16 --image_size 64``): a step on 3 clips of 16 x 64 x 64, RGB. Ours
times real engine steps (every phase, forward and backward, optimizers and EMA), built and
timed exactly as ``benchmarks/train_throughput.py`` does, with ``model.image_batch=4`` (the
image discriminator judges 12 frames, the official code 10). ``key=value`` overrides are
applied on top (e.g. ``model.g_channels=32``).

``--reference`` also times, in the same run and so under the same load, a replica of the
official training step: the networks of its ``models.py`` at its defaults (ngf = ndf = 64;
``VideoGenerator`` with a GRUCell, ``PatchImageDiscriminator``, ``VideoDiscriminator``) and
the passes of its ``trainers.py`` (D_I on 10 real and 10 fake frames, D_V on 3 real and 3
fake clips, then G through both on fresh fakes; Adam with weight decay 1e-5; its Gaussian
input-noise layers are left out, they cost nothing). Prints a Markdown table; asserts nothing.

``--precision bf16`` (or ``auto``) trains ours in bf16 autocast, as ``train.precision: auto`` does on
CPUs with AVX512-BF16 or AMX; the replica stays in fp32, as the official code runs.

``--threads N`` runs both with N CPU threads. On a machine that other jobs keep busy, one
thread gives steadier figures than two: with more runnable threads than cores, the many
small kernels of a narrow network lose far more to threads waiting for each other than the
few large ones of a wide network.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

from vidgen.utils.flops import flop_counter

SIZE = ["model.name=mocogan", "data.name=shapes", "data.frames=16", "data.resolution=64", "data.num_clips=64",
        "train.batch_size=3", "model.image_batch=4"]


def _throughput_module():
    path = Path(__file__).with_name("train_throughput.py")
    spec = importlib.util.spec_from_file_location("train_throughput", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ReferenceStep:
    """One training iteration of the official MoCoGAN code (video batch 3, image batch 10, 16 x 64 x 64)."""

    def __init__(self, *, ngf: int = 64, ndf: int = 64, content: int = 50, motion: int = 10, frames: int = 16):
        torch.manual_seed(0)
        self.frames, self.content, self.motion = frames, content, motion
        self.gru = nn.GRUCell(motion, motion)
        up = [nn.ConvTranspose2d(content + motion, ngf * 8, 4, 1, 0, bias=False)]
        for c in (ngf * 8, ngf * 4, ngf * 2):
            up += [nn.BatchNorm2d(c), nn.ReLU(True), nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False)]
        up += [nn.BatchNorm2d(ngf), nn.ReLU(True), nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.image_generator = nn.Sequential(*up)
        self.d_image = nn.Sequential(
            nn.Conv2d(3, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 4, 1, 4, 2, 1, bias=False))
        video: list[nn.Module] = []
        c_in = 3
        for i, c in enumerate((ndf, ndf * 2, ndf * 4, ndf * 8)):  # time is never strided: 16 -> 13 -> 10 -> 7 -> 4
            video.append(nn.Conv3d(c_in, c, 4, stride=(1, 2, 2), padding=(0, 1, 1), bias=False))
            video += ([nn.BatchNorm3d(c)] if i else []) + [nn.LeakyReLU(0.2, True)]
            c_in = c
        self.d_video = nn.Sequential(*video, nn.Conv3d(c_in, 1, 4, 1, 0, bias=False))
        generator = nn.ModuleList([self.gru, self.image_generator])

        def adam(net: nn.Module) -> torch.optim.Optimizer:
            return torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999), weight_decay=1e-5)

        self.opt_g, self.opt_i, self.opt_v = adam(generator), adam(self.d_image), adam(self.d_video)
        self.nets = [generator, self.d_image, self.d_video]
        self.real_videos = torch.rand(3, 3, frames, 64, 64) * 2 - 1  # [B, C, T, H, W]
        self.real_images = torch.rand(10, 3, 64, 64) * 2 - 1

    def _codes(self, clips: int) -> torch.Tensor:
        h, hs = torch.randn(clips, self.motion), []
        for _ in range(self.frames):
            h = self.gru(torch.randn(clips, self.motion), h)
            hs.append(h)
        z_m = torch.stack(hs, 1).reshape(clips * self.frames, self.motion)
        z_c = torch.randn(clips, 1, self.content).expand(-1, self.frames, -1).reshape(-1, self.content)
        return torch.cat([z_c, z_m], 1)[..., None, None]

    def videos(self, clips: int) -> torch.Tensor:
        x = self.image_generator(self._codes(clips))
        return x.view(clips, self.frames, 3, 64, 64).transpose(1, 2)  # [B, C, T, H, W]

    def images(self, count: int) -> torch.Tensor:
        codes = self._codes(count * 2)  # the official code runs the GRU for many clips and keeps `count` frames
        return self.image_generator(codes[torch.randperm(codes.shape[0])[:count]])

    @staticmethod
    def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
        return nn.functional.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))

    def _d_step(self, D: nn.Module, opt: torch.optim.Optimizer, real: torch.Tensor, fake: torch.Tensor) -> None:
        opt.zero_grad()
        (self._bce(D(real), 1.0) + self._bce(D(fake.detach()), 0.0)).backward()
        opt.step()

    def __call__(self) -> None:
        self._d_step(self.d_image, self.opt_i, self.real_images, self.images(10))
        self._d_step(self.d_video, self.opt_v, self.real_videos, self.videos(3))
        self.opt_g.zero_grad()
        (self._bce(self.d_image(self.images(10)), 1.0) + self._bce(self.d_video(self.videos(3)), 1.0)).backward()
        self.opt_g.step()


def time_reference(steps: int, warmup: int) -> dict:
    step = ReferenceStep()
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        step()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    with flop_counter() as counter:
        step()
    s = statistics.median(times)
    params = sum(p.numel() for net in step.nets for p in net.parameters())
    flops = counter.get_total_flops()
    return {"model": "official MoCoGAN (replica)", "params_m": params / 1e6, "ms_step": s * 1000, "clips_s": 3 / s,
            "gflop_step": flops / 1e9, "gflops": flops / s / 1e9}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("overrides", nargs="*", metavar="key=value", help="applied after the benchmark's size")
    p.add_argument("--steps", type=int, default=10, help="timed steps of ours")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    p.add_argument("--reference", action="store_true", help="also time the replica of the official step")
    p.add_argument("--reference-steps", type=int, default=3, help="timed steps of the replica (~10x slower)")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "auto"],
                   help="ours: fp32 (default), bf16 autocast, or auto (bf16 where the CPU runs it natively)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for both (default: PyTorch's choice)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = [f"train.threads={args.threads}"] if args.threads else []

    tp = _throughput_module()
    peak = tp.matmul_peak(torch.float32, torch.device("cpu"), 2048)
    size = [*SIZE, f"train.precision={args.precision}"]
    ours = tp.bench_model("mocogan", [*size, *threads, *args.overrides], None, args.steps, args.warmup)
    ours["model"] = "vidgen mocogan"
    print("measured mocogan", file=sys.stderr, flush=True)
    rows = [ours]
    if args.reference:
        rows.append(time_reference(args.reference_steps, 1))
        print("measured the reference", file=sys.stderr, flush=True)

    print(f"Machine: {tp.cpu_name()}, {os.cpu_count()} logical cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; fp32 2048x2048 matmul peak {peak / 1e9:.1f} GFLOP/s")
    print(f"Size: 3 clips of 16x3x64x64 per step; overrides: {' '.join(args.overrides) or 'none'}")
    print()
    print("| implementation | dtype | params (M) | ms/iteration | clips/s | GFLOP/iteration | GFLOP/s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r.get('dtype', 'float32')} | {r['params_m']:.2f} | {r['ms_step']:.0f} | {r['clips_s']:.2f} "
              f"| {r['gflop_step']:.1f} | {r['gflops']:.1f} |")
    if args.reference:
        print(f"\nspeed-up in clips/s: {ours['clips_s'] / rows[1]['clips_s']:.1f}x")


if __name__ == "__main__":
    main()
