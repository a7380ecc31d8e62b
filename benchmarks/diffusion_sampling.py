"""Seconds per clip of a diffusion model's samplers, for each step count.

    .venv/bin/python benchmarks/diffusion_sampling.py RUN [--steps 10 18 35] [--samplers heun ddim]
        [--num 8] [--batch-size 8] [--device cpu]

Draws ``--num`` clips (seeds 0..num-1) with each sampler and step count and prints a table of
seconds per clip and network calls per clip (Heun: ``2N - 1``, DDIM: ``N``), on this machine
(say which when quoting it).
"""

from __future__ import annotations

import argparse
import time

import torch

import vidgen
from vidgen.utils.hw import cpu_has_fast_bf16, cpu_name, keep_freed_memory


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run")
    p.add_argument("--steps", type=int, nargs="+", default=[10, 18, 35])
    p.add_argument("--samplers", nargs="+", default=["heun", "ddim"])
    p.add_argument("--num", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    keep_freed_memory()  # as vidgen sample does
    model = vidgen.load(args.run, device=args.device)
    where = (torch.cuda.get_device_name() if args.device.startswith("cuda") else
             f"{cpu_name()}, {torch.get_num_threads()} threads, {'avx512_bf16' if cpu_has_fast_bf16() else 'no fast bf16'}")
    print(f"{model!r} on {where}; {args.num} clips, batch {args.batch_size}, float32\n")
    print("| sampler | steps | network calls per clip | seconds per clip |\n|---|---:|---:|---:|")
    model.sample(1, sampling_steps=1)  # warm-up
    for sampler in args.samplers:
        for steps in args.steps:
            start = time.perf_counter()
            model.sample(args.num, sampling_steps=steps, sampler=sampler, batch_size=args.batch_size)
            seconds = (time.perf_counter() - start) / args.num
            calls = 2 * steps - 1 if sampler == "heun" else steps
            print(f"| {sampler} | {steps} | {calls} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
