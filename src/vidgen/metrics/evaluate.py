"""The ``frames`` metric: a predictor, a test set -> frame metrics of its predictions, one JSON-able result.

It is registered in ``vidgen.registry.METRICS`` under the name ``vidgen eval --metric``
takes, with ``needs`` (a predictor and a test set), ``summary`` (for the help) and
``table`` (the rows ``vidgen eval`` prints); the metrics of generated clips are in
:mod:`vidgen.metrics.generative`. ``frames`` streams a predictor over a test set through
:class:`~vidgen.metrics.frame.FrameMetrics`::

    from vidgen.metrics.evaluate import evaluate_predictor
    result = evaluate_predictor(vidgen.load("runs/convlstm"), test_set, context=10, future=10, num=1000)
    result["mse"], result["ssim"], result["per_frame"]["psnr"]

Benchmarks call these functions directly; ``vidgen eval`` adds the test set from the run's
own data config and the JSONL record.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from vidgen.convert import check_count
from vidgen.errors import VidgenError
from vidgen.inference import run_predictor  # the one runner of predictor networks (no vidgen.api)
from vidgen.metrics.frame import SSIM_WINDOW, FrameMetrics
from vidgen.registry import METRICS
from vidgen.utils.progress import progress


# what ``vidgen eval`` prints: (label, key of the result, format)
FRAMES_TABLE = (("MSE per frame", "mse", "{:.4f}"), ("MAE per frame", "mae", "{:.4f}"), ("SSIM", "ssim", "{:.4f}"),
                ("PSNR", "psnr", "{:.2f} dB"), ("MSE per pixel", "mse_pixel", "{:.6f}"))


@METRICS.register("frames", needs=("predict", "test set"), table=FRAMES_TABLE,
                  summary="MSE, MAE (per frame), SSIM and PSNR of predicted future frames")
def evaluate_predictor(
    predictor: Any,
    dataset: Any,
    *,
    context: int | None = None,
    future: int | None = None,
    num: int = 1000,
    batch_size: int = 16,
    seed: int = 0,
) -> dict[str, Any]:
    """Frame metrics of ``predictor`` on the first ``num`` clips of ``dataset``.

    Each clip ``[T, C, H, W]`` (``dataset[i]["video"]``, ``T >= context + future``) is split
    into its first ``context`` frames, which the predictor reads, and the ``future`` frames
    after them, which its prediction is scored against. Clips stream through in batches of
    ``batch_size``; nothing but per-frame sums is kept.

    Args:
        predictor: a loaded model that predicts (``vidgen.load``: its network is ``.model``)
            or a module with the predictor interface (``model(context, future=n, generator=g)``),
            run in eval mode on its own device.
        dataset: a map-style dataset of ``{"video": float [T, C, H, W] in [-1, 1]}`` items.
        context, future: the split; default the model's training split.
        num: clips to score (all of them when the dataset is smaller).
        batch_size: clips predicted at once.
        seed: seeds the one CPU ``torch.Generator`` a stochastic predictor draws from, batch
            after batch (so its draws depend on ``batch_size`` too).

    Returns:
        :meth:`FrameMetrics.compute`'s dictionary (``mse``, ``mae``, ``mse_pixel``,
        ``mae_pixel``, ``psnr``, ``psnr_of_mean_mse``, ``ssim`` when the frames are at least
        11x11, ``per_frame`` curves, ``clips``) plus the ``context`` and ``future`` used.
    """
    # a model that predicts by other means than one network call (diffusion) gives a module that does
    model = predictor if isinstance(predictor, nn.Module) else getattr(predictor, "predictor_module", predictor.model)
    context = check_count("context", context if context is not None else model.context)
    future = check_count("future", future if future is not None else model.future)
    check_count("num", num)
    check_count("batch_size", batch_size)
    count = min(num, len(dataset))
    if count < 1:
        raise VidgenError("the test set is empty")
    generator = torch.Generator().manual_seed(int(seed))
    metrics: FrameMetrics | None = None
    for start in progress(range(0, count, batch_size), desc="scoring predictions"):
        clips = torch.stack([dataset[i]["video"] for i in range(start, min(start + batch_size, count))])
        if clips.shape[1] < context + future:
            raise VidgenError(f"the test clips have {clips.shape[1]} frames, context + future = {context} + {future} "
                              "need more", hint=f"build the test set with data.frames={context + future}")
        _check_clips(model, clips)
        # scored where the model runs: a GPU computes SSIM far faster than the host
        pred = run_predictor(model, clips[:, :context], frames=future, generator=generator, batch_size=batch_size,
                             cpu=False)
        if metrics is None:  # SSIM's 11x11 window needs frames at least that large
            metrics = FrameMetrics(ssim=min(clips.shape[-2:]) >= SSIM_WINDOW)
        metrics.update(pred, clips[:, context:context + future].to(pred.device))
    return {**metrics.compute(), "context": context, "future": future}


def _check_clips(model: nn.Module, clips: torch.Tensor) -> None:
    """The test clips ``[B, T, C, H, W]`` must have the frame size and channels the model was trained on."""
    c, h, w = clips.shape[2:]
    want = (getattr(model, "channels", c), getattr(model, "resolution", h), getattr(model, "resolution", w))
    if (c, h, w) != want:
        raise VidgenError(f"the test clips' frames are {c}x{h}x{w} (CxHxW), the model's {want[0]}x{want[1]}x{want[2]}",
                          hint=f"build the test set at data.resolution={want[1]} from a dataset with {want[0]} "
                               "channel(s)")
