"""``vidgen pipeline PIPELINE.yaml [key=value ...]``: input -> pre-processing -> model -> post-processing -> output."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser(
        "pipeline", help="run input -> pre-processing -> model -> post-processing -> output from a YAML file",
        description="Run the whole chain described in a YAML file (see vidgen.pipeline for its keys: input, pre, "
                    "model, post, post_options, output, fps). Writes the output and OUTPUT-side-by-side.mp4 (the "
                    "input beside the output) and prints the temporal metrics of both.",
        epilog="Example: vidgen pipeline clean.yaml input=clip.mp4 output=out.mp4 post=denoise,sharpen")
    p.add_argument("config", nargs="?", default=None, help="the pipeline's YAML file (or give every key as key=value)")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="e.g. post=deflicker model.run=mnist-simvp")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vidgen.pipeline import load_pipeline, run_pipeline

    config, overrides = args.config, list(args.overrides)
    if config is not None and "=" in config:  # no file, only key=value
        overrides.insert(0, config)
        config = None
    result = run_pipeline(load_pipeline(config, overrides))
    print(f"{' -> '.join(result['stages'])}: {result['frames'][0]} frames in, {result['frames'][1]} out")
    for name, values in result["metrics"].items():
        print(f"  {name:<7} warping error {values['warp_error']:.6f}  flicker index {values['flicker']:.6f}")
    print(f"wrote {result['output']} and {result['side_by_side']}")
    return 0
