"""``vidgen eval CHECKPOINT --metric NAME [options] [data.key=value ...]`` and ``vidgen eval --real A --fake B``.

The test set is built by the dataset registry from the run's own data config
(``config.json``'s ``"data"``) with the overrides applied. The metrics are those registered
in ``vidgen.registry.METRICS`` (the help lists them with what each needs): one that needs a
predictor is run on the loaded predictor and the test set (see
:mod:`vidgen.metrics.evaluate`), one that needs a generator on the loaded generator (see
:mod:`vidgen.metrics.generative`), one that takes clips on ``--real`` and ``--fake``. Each
run appends one JSON record to ``RUN_DIR/metric-<name>.jsonl`` (or ``--out FILE``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from vidgen import __version__
from vidgen.cli.predict import Given, given
from vidgen.errors import VidgenError
from vidgen.registry import METRICS, Entry

# vidgen.metrics (torch) is imported by the functions that need it: building this parser for
# another command's help costs nothing


def metrics_help() -> str:
    """Every registered metric: its name (or name pattern), what it needs, what it measures."""
    from vidgen.metrics.generative import describe_needs

    lines = []
    for entry in METRICS:
        example = f" (e.g. {entry.meta['example']})" if "example" in entry.meta else ""
        lines.append(f"  {entry.form:<12} {entry.meta.get('summary', '')}")
        lines.append(f"  {'':<12}   needs {describe_needs(entry.meta.get('needs', ()))}{example}")
    return "\n".join(lines)


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help="score a trained model on a test set, or two sets of clips",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    # the metrics' listing imports their registry (and torch): built after the name and help above
    p.description = (
        "Score a trained model on a test set built from the run's own data config, changed by\n"
        "data.key=value overrides, or two sets of clips (--real A --fake B: .npy/.npz arrays or\n"
        "folders of videos, searched recursively). Prints a table and appends a JSON record to\n"
        "RUN_DIR/metric-<metric>.jsonl or --out.\n\nmetrics:\n"
        + metrics_help() + "\n\n"
        "Detectors (--detector): the I3D files i3d_torchscript.pt (StyleGAN-V) or i3d_pretrained_400.pt\n"
        "(VideoGPT/TATS), found by path, $VIDGEN_I3D or the cache folder ~/.cache/vidgen/detectors; a\n"
        "domain-evaluator folder ('vidgen evaluator train'); or a shipped evaluator by name (shapes...).")
    p.epilog = ("Examples:\n"
                "  vidgen eval runs/convlstm --metric frames data.seed=1 data.num_clips=1000\n"
                "  vidgen eval runs/gan --metric fvd2048_16f --detector ~/i3d_torchscript.pt\n"
                "  vidgen eval runs/gan --metric fvd256_16f --protocol videogpt --detector ~/i3d_pretrained_400.pt\n"
                "  vidgen eval runs/gan --metric fvd1000_16f --detector shapes data.seed=1\n"
                "  vidgen eval runs/cond_gan --metric cond_acc1000 --detector shapes\n"
                "  vidgen eval --real real.npy --fake fake.npy --metric fvd256_16f --detector shapes")
    p.add_argument("checkpoint", nargs="?", default=None,
                   help="run folder (or its model.safetensors) written by 'vidgen train'")
    p.add_argument("overrides", nargs="*", metavar="data.key=value",
                   help="changes to the run's data config for the test set, e.g. data.seed=1 data.num_clips=1000")
    p.add_argument("--metric", required=True, help=f"what to measure: {', '.join(METRICS.names())} (see above)")
    p.add_argument("--real", default=None, help="with --fake: real clips (.npy/.npz array or a folder of videos)")
    p.add_argument("--fake", default=None, help="with --real: generated clips (.npy/.npz array or a folder of videos)")
    p.add_argument("--detector", default=None,
                   help="I3D file, domain-evaluator folder or shipped evaluator name (default: $VIDGEN_I3D / cache)")
    p.add_argument("--protocol", default=None, choices=("styleganv", "tf", "videogpt", "tats"),
                   help="FVD lineage to reproduce (default styleganv); see docs/metrics.md")
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16"),
                   help="detector precision: fp32 (exact, default) or bf16 (fast, for monitoring)")
    p.add_argument("--no-cache", action="store_true", help="recompute the real-data statistics (no disk cache)")
    p.add_argument("--num", type=int, default=1000, action=Given,
                   help="predictor and upscaler metrics: clips to score (default 1000, or the whole test set); the others "
                        "count their clips in their name (fvd256_16f: 256)")
    p.add_argument("--batch-size", type=int, default=16, help="clips per batch (default 16)")
    p.add_argument("--context", type=int, default=None,
                   help="predictor metrics: context frames (default: the model's training split)")
    p.add_argument("--future", type=int, default=None,
                   help="predictor metrics: frames predicted and scored (default: the model's)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of a stochastic model's draws; generated clip i uses seed SEED+i (default 0)")
    p.add_argument("--out", default=None,
                   help="JSONL file to append the record to (default RUN_DIR/metric-<metric>.jsonl)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.set_defaults(func=run)


def record_path(checkpoint: str, metric: str) -> Path:
    """Where a run's record goes: ``RUN_DIR/metric-<metric>.jsonl``; for a shipped model (whose folder
    is inside the package) ``./metric-<model>-<metric>.jsonl`` instead."""
    from vidgen.io.checkpoint import find_export
    from vidgen.zoo import find_shipped

    if not Path(checkpoint).exists() and find_shipped(checkpoint) is not None:
        return Path(f"metric-{checkpoint}-{metric}.jsonl")
    return find_export(checkpoint) / f"metric-{metric}.jsonl"


def _check_context(args: argparse.Namespace, metric: Entry) -> None:
    """Refuse the options of a predictor metric (--num, --context, --future) for one that would ignore them."""
    needs = metric.meta.get("needs", ())
    if "predict" in needs:
        return
    scored = ", ".join(e.form for e in METRICS if "predict" in e.meta.get("needs", ()))
    for name in (("context", "future") if {"upscale", "reconstruct"} & set(needs) else ("num", "context", "future")):
        used = given(args, name) if name == "num" else getattr(args, name) is not None  # --num has a default
        if used:
            why = f"{metric.name} does not score a predictor"
            hint = f"leave --{name} out"
            if name == "num" and metric.params.get("clips"):
                why = f"{metric.name} scores {metric.params['clips']} clips"
                hint += f"; the number in the metric's name sets the clips ({metric.form})"
            raise VidgenError(f"--{name} applies only with a predictor metric ({scored}): {why}", hint=hint)


def run(args: argparse.Namespace) -> int:
    from vidgen.cli.predict import check_flags
    from vidgen.metrics.generative import describe_needs

    check_flags(args, ("num", "batch_size", "context", "future"))
    metric = METRICS.get(args.metric)  # an unknown name: the valid ones
    _check_context(args, metric)
    if args.real is not None or args.fake is not None:
        return run_files(args, metric)
    if args.checkpoint is None:
        raise VidgenError("vidgen eval needs a run folder, or --real and --fake",
                          hint="e.g. vidgen eval runs/gan --metric fvd256_16f --detector shapes")
    needs = metric.meta.get("needs", ())
    if "predict" in needs:
        return run_predictor_metric(args, metric)
    if "generate" in needs:
        return run_generative(args, metric)
    if "upscale" in needs:
        return run_upscaler_metric(args, metric)
    if "reconstruct" in needs:
        return run_autoencoder_metric(args, metric)
    raise VidgenError(f"{metric.name} scores {describe_needs(needs)}, not a run",
                      hint=f"vidgen eval --real A --fake B --metric {metric.name}")


def run_predictor_metric(args: argparse.Namespace, metric: Entry) -> int:
    """A metric of a predictor (``frames``) on the run's own (or overridden) test set."""
    from vidgen.cli.predict import load_predictor
    from vidgen.metrics.records import append_record
    from vidgen.metrics.runs import score_model

    predictor = load_predictor(args.checkpoint, device=args.device, command=f"--metric {metric.name}")
    record = score_model(predictor, metric.name, checkpoint=args.checkpoint, overrides=list(args.overrides),
                         num=args.num, batch_size=args.batch_size, seed=args.seed, context=args.context,
                         future=args.future)
    results, data = record["results"], record["data"]
    out = Path(args.out) if args.out else record_path(args.checkpoint, metric.name)
    print(f"{metric.name}: {record['model']} (step {record['step']}) on {results['clips']} clips of {data['name']}, "
          f"{record['context']} context -> {record['future']} predicted frames")
    for label, key, fmt in metric.meta.get("table", ()):
        print(f"  {label:<14} {fmt.format(results[key]) if key in results else '-'}")
    print(f"record appended to {append_record(out, record)}")
    return 0


def run_upscaler_metric(args: argparse.Namespace, metric: Entry) -> int:
    """A super-resolution metric (``vsr_psnr_y``, ...) of an upscaler on the run's own (or overridden) test set."""
    record, out = _score_on_test_set(args, metric, "upscale", "an upscaler")
    results, data = record["results"], record["data"]
    print(f"{metric.name}: {record['model']} x{results['scale']} {results['degradation']} (step {record['step']}) "
          f"on {results['clips']} clips of {data['name']}, border crop {results['crop']}")
    print(f"  {'':<10} {'PSNR-Y':>8} {'SSIM-Y':>8} {'PSNR-RGB':>9} {'SSIM-RGB':>9} {'tOF':>7}")
    for label, row in (("bicubic", results["bicubic"]), (record["model"], results)):
        print(f"  {label:<10} {row['psnr_y']:8.2f} {row['ssim_y']:8.4f} {row['psnr_rgb']:9.2f} {row['ssim_rgb']:9.4f} "
              f"{row.get('tof', float('nan')):7.3f}")
    print(f"record appended to {out}")
    return 0


def run_autoencoder_metric(args: argparse.Namespace, metric: Entry) -> int:
    """``recon``: how well an autoencoder gives back the run's own (or overridden) test clips."""
    record, out = _score_on_test_set(args, metric, "reconstruct", "an autoencoder")
    results, data = record["results"], record["data"]
    print(f"{metric.name}: {record['model']} (step {record['step']}) on {results['clips']} clips of {data['name']}")
    print(f"  PSNR-RGB {results['psnr_rgb']:.2f}  SSIM-RGB {results['ssim_rgb']:.4f}  PSNR-Y {results['psnr_y']:.2f}  "
          f"tOF {results.get('tof', float('nan')):.3f}")
    print(f"record appended to {out}")
    return 0


def _score_on_test_set(args: argparse.Namespace, metric: Entry, capability: str, needs: str) -> tuple[dict, Path]:
    """Load the run as a model that can ``capability``, score ``metric`` on its test set, append the record."""
    from vidgen.cli.loading import load_for
    from vidgen.metrics.records import append_record
    from vidgen.metrics.runs import score_model

    model = load_for(args.checkpoint, capability, device=args.device, command=f"--metric {metric.name}", needs=needs)
    record = score_model(model, metric.name, checkpoint=args.checkpoint, overrides=list(args.overrides),
                         num=args.num, seed=args.seed)
    out = append_record(Path(args.out) if args.out else record_path(args.checkpoint, metric.name), record)
    return record, out


def _print_results(results: dict[str, Any]) -> None:
    print(f"  {results['metric']:<14} {results['value']:.4f}")
    for key in ("protocol", "detector", "detector_sha256", "precision", "real_clips", "fake_clips", "clips", "frames"):
        if results.get(key) is not None:
            print(f"  {key:<14} {results[key]}")
    for cls, acc in (results.get("per_class") or {}).items():
        print(f"    class {cls:<10} {acc:.3f}")


def run_generative(args: argparse.Namespace, metric: Entry) -> int:
    """A metric of a generator (FVD, KVD, cond_acc) against the run's own (or overridden) data."""
    import vidgen
    from vidgen.metrics.records import append_record
    from vidgen.metrics.runs import score_model

    model = vidgen.load(args.checkpoint, device=args.device)
    record = score_model(model, metric.name, checkpoint=args.checkpoint, overrides=list(args.overrides),
                         detector=args.detector, protocol=args.protocol, batch_size=args.batch_size, seed=args.seed,
                         device=args.device, precision=args.precision, no_cache=args.no_cache,
                         progress=sys.stderr.isatty())
    print(f"{metric.name}: {record['model']} (step {record['step']}) against {record['data']['name']}")
    _print_results(record["results"])
    out = Path(args.out) if args.out else record_path(args.checkpoint, metric.name)
    print(f"record appended to {append_record(out, record)}")
    return 0


def run_video(args: argparse.Namespace, metric: Entry) -> int:
    """A temporal metric of one video (``--fake``), against its reference (``--real``) where it takes one."""
    from vidgen.io.video import read_clip
    from vidgen.metrics.records import append_record

    if args.fake is None:
        raise VidgenError(f"{metric.name} scores one video: give it as --fake (and its reference as --real)",
                          hint=f"vidgen eval --fake out.mp4 --metric {metric.name}")
    if args.checkpoint is not None or args.overrides:
        raise VidgenError(f"{metric.name} scores a video file, not a run", hint="give the video as --fake")
    video = read_clip(args.fake)
    reference = read_clip(args.real) if args.real is not None else None
    start = time.perf_counter()
    results = metric.obj(video, reference)
    record = {"metric": metric.name, "fake": str(Path(args.fake).resolve()),
              "real": str(Path(args.real).resolve()) if args.real else None, "results": results,
              "seconds": round(time.perf_counter() - start, 3), "vidgen_version": __version__}
    print(f"{metric.name}: {args.fake}" + (f" against {args.real}" if args.real else ""))
    print(f"  {metric.name:<14} {results['value']:.6f}")
    if args.out:
        print(f"record appended to {append_record(args.out, record)}")
    return 0


def run_files(args: argparse.Namespace, metric: Entry) -> int:
    """``--real A --fake B``: a distance between two sets of clips on disk."""
    from vidgen.metrics import generative
    from vidgen.metrics.records import append_record

    if "video" in metric.meta.get("needs", ()):
        return run_video(args, metric)
    if args.real is None or args.fake is None:
        raise VidgenError("--real and --fake go together", hint="vidgen eval --real real.npy --fake fake.npy --metric fvd256_16f")
    if args.checkpoint is not None or args.overrides:
        raise VidgenError("give either a run folder or --real/--fake, not both")
    start = time.perf_counter()
    results = generative.score_files(args.real, args.fake, metric.name, detector=args.detector, protocol=args.protocol,
                                     batch_size=args.batch_size, progress=sys.stderr.isatty(), device=args.device,
                                     precision=args.precision)
    record = {"metric": results["metric"], "real": str(Path(args.real).resolve()), "fake": str(Path(args.fake).resolve()),
              "results": results, "seconds": round(time.perf_counter() - start, 3), "vidgen_version": __version__}
    print(f"{results['metric']}: {args.real} vs {args.fake}")
    _print_results(results)
    if args.out:
        print(f"record appended to {append_record(args.out, record)}")
    return 0
