"""Scoring a loaded model on a registered metric against a test set built from its own run.

What ``vidgen eval RUN --metric NAME data.key=value ...`` and the web UI's evaluate tab do:
the test set is the run's data config (``config.json``'s ``data``) changed by ``data.key=value``
overrides; the metric is dispatched by what it needs (``predict``: a predictor on the test
set; ``generate``: generated clips against the real ones). Returns the record the one writer
(:func:`vidgen.metrics.records.append_record`) appends.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable

from vidgen import __version__
from vidgen import config as cfgmod
from vidgen.errors import VidgenError
from vidgen.registry import METRICS


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def build_test_set(meta: dict[str, Any], overrides: list[str], *, frames: int, where: str,
                   note: Callable[[str], None] = _stderr) -> tuple[Any, dict[str, Any]]:
    """The dataset of the run's data config with ``data.key=value`` overrides, and its resolved config.

    Clips get at least ``frames`` frames unless ``data.frames`` is overridden explicitly.
    """
    from vidgen.data import build_dataset
    from vidgen.registry import DATASETS

    data = meta.get("data")
    if not isinstance(data, dict) or "name" not in data:
        raise VidgenError(f"{where}: config.json holds no data config to build a test set from",
                          hint="export the run again with this vidgen ('vidgen train --resume RUN_DIR')")
    for text in overrides:
        if not text.startswith("data."):
            raise VidgenError(f"{text!r} does not change the test set",
                              hint="overrides of vidgen eval are data.key=value, e.g. data.seed=1 data.num_clips=1000")
    data = dict(cfgmod.apply_overrides({"data": data}, overrides)["data"])
    if not any(text.startswith("data.frames=") for text in overrides) and data.get("frames", frames) < frames:
        note(f"note: test clips of {frames} frames (the run's data.frames is {data['frames']})")
        data["frames"] = frames  # a longer horizon than training needs longer clips
    if not overrides:
        note("note: the test set is the run's own data config; give held-out clips with e.g. data.seed=1 "
             "(synthetic sets) or data.path=DIR (folder)")
    name = data.pop("name")
    config = cfgmod.from_dict(DATASETS.get(str(name)).config, data, "data")
    return build_dataset(config), {"name": name, **cfgmod.to_dict(config)}


def score_model(model: Any, metric: str, *, checkpoint: str, overrides: list[str] = (), detector: Any = None,
                protocol: str | None = None, num: int = 1000, batch_size: int = 16, seed: int = 0,
                context: int | None = None, future: int | None = None, device: str = "cpu",
                precision: str = "fp32", no_cache: bool = False, progress: bool = False,
                note: Callable[[str], None] = _stderr) -> dict[str, Any]:
    """Score ``model`` (what ``vidgen.load(checkpoint)`` returned) on ``metric``; the record (see module doc)."""
    from vidgen.io.checkpoint import find_export

    entry = METRICS.get(metric)
    needs = entry.meta.get("needs", ())
    meta = model.meta
    start = time.perf_counter()
    record: dict[str, Any] = {"metric": entry.name, "checkpoint": str(find_export(checkpoint).resolve()),
                              "model": meta["model"]["name"], "step": meta.get("step"), "kimg": meta.get("kimg")}
    if "predict" in needs:
        if "predict" not in model.capabilities:
            raise VidgenError(f"{entry.name} scores predictions; {model.name} does not predict")
        context = context if context is not None else model.context
        future = future if future is not None else model.future
        dataset, data = build_test_set(meta, list(overrides), frames=context + future, where=checkpoint, note=note)
        results = entry.obj(model, dataset, context=context, future=future, num=num, batch_size=batch_size,
                            seed=seed)
        if results["clips"] < num:
            note(f"note: the test set holds {results['clips']} clips, fewer than --num {num}")
        record.update(data=data, num=num, batch_size=batch_size, context=context, future=future)
    elif "upscale" in needs or "reconstruct" in needs:
        cap = "upscale" if "upscale" in needs else "reconstruct"
        if cap not in model.capabilities:
            raise VidgenError(f"{entry.name} scores {'an upscaler' if cap == 'upscale' else 'an autoencoder'}; "
                              f"{model.name} does not {cap}")
        dataset, data = build_test_set(meta, list(overrides), frames=int(model.frames), where=checkpoint, note=note)
        results = entry.obj(model, dataset, num=num, crop=entry.params.get("crop") or 0)
        if results["clips"] < num:
            note(f"note: the test set holds {results['clips']} clips, fewer than --num {num}")
        record.update(data=data, num=num)
    elif "generate" in needs:
        from vidgen.metrics import generative

        frames = entry.params.get("frames") or int(model.frames)
        dataset, data = build_test_set(meta, list(overrides), frames=frames, where=checkpoint, note=note)
        results = generative.evaluate_generator(
            model, entry.name, dataset, data_config=data, detector=detector, protocol=protocol, seed=seed,
            batch_size=batch_size, cache_dir=False if no_cache else None, progress=progress, device=device,
            precision=precision)
        record.update(data=data)
    else:
        from vidgen.metrics.generative import describe_needs

        raise VidgenError(f"{entry.name} scores {describe_needs(needs)}, not a model",
                          hint=f"vidgen eval --real A --fake B --metric {entry.name}")
    record.update(seed=seed, results=results, seconds=round(time.perf_counter() - start, 3),
                  vidgen_version=__version__)
    return record
