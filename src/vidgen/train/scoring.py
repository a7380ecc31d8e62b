"""``train.metrics``: distribution metrics scored on the EMA networks while a run trains.

The metrics are those of ``vidgen eval`` (``vidgen.registry.METRICS``) that score generated
clips. The engine checks them before it trains (:meth:`MetricScorer.check`: a metric of
something else, a missing detector or a metric the model cannot be scored on stops the run
before its first step) and scores them every ``metric_ticks`` ticks and at the end
(:meth:`MetricScorer.score`, through :func:`vidgen.metrics.generative.score_sampler`), one
JSON line per score in ``RUN_DIR/metric-<name>.jsonl``. Every process takes part (the
statistics are summed across processes); rank 0 writes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from vidgen.config import to_dict
from vidgen.errors import ConfigError
from vidgen.registry import DATASETS, METRICS


class MetricScorer:
    """Scores ``cfg.train.metrics`` for one run (see the module docstring)."""

    def __init__(self, *, cfg: Any, dataset: Any, family: Any, model: Any, device: Any, run_dir: Path,
                 main: bool):
        self.cfg, self.tc = cfg, cfg.train
        self.dataset, self.family, self.model = dataset, family, model
        self.device, self.run_dir, self.main = device, Path(run_dir), main
        self._detectors: dict[str, Any] = {}  # loaded once per kind ("detector" or "evaluator")

    def check(self) -> None:
        """Refuse, before training, metrics this model or dataset cannot be scored on."""
        if not getattr(self.family, "generates", False):
            raise ConfigError(f"train.metrics scores models that generate clips from noise (GANs, clip VAEs), "
                              f"not {self.cfg.model.__class__.__name__}",
                              hint="remove train.metrics; score predictors with 'vidgen eval RUN --metric frames'")
        for metric in map(METRICS.get, self.tc.metrics):
            needs = metric.meta.get("needs", ())
            clips, frames = metric.params.get("clips"), metric.params.get("frames")
            if "generate" not in needs:
                scored = [e.form for e in METRICS if "generate" in e.meta.get("needs", ())]
                raise ConfigError(f"train.metrics: {metric.name} does not score generated clips "
                                  f"({metric.meta.get('summary', '')})",
                                  hint=f"train.metrics takes {', '.join(scored)}; score it after training with "
                                       f"'vidgen eval RUN --metric {metric.name}'")
            if frames is not None and frames > self.cfg.data.frames:
                raise ConfigError(f"train.metrics: {metric.name} needs clips of {frames} frames, the data has "
                                  f"{self.cfg.data.frames}", hint=f"use e.g. fvd{clips}_{self.cfg.data.frames}f")
            if "class" in needs and not self._label_classes():
                raise ConfigError(f"train.metrics: {metric.name} needs a class-conditional model on a labelled "
                                  "dataset (an InfoGAN's categories are no classes of the data)")
            if "detector" in needs and clips > len(self.dataset):
                raise ConfigError(f"train.metrics: {metric.name} needs {clips} real clips, the dataset has "
                                  f"{len(self.dataset)}")
            # load the detector now: a missing file or a misfit evaluator stops the run before it trains
            detector = self._detector(metric)
            reads = int(getattr(getattr(detector, "module", detector), "frames", 0) or 0)
            if reads > self.cfg.data.frames:
                raise ConfigError(f"train.metrics: the detector {detector.name!r} reads clips of {reads} frames, "
                                  f"the model makes {self.cfg.data.frames}",
                                  hint="train an evaluator for these clips (vidgen evaluator train DATASET "
                                       f"frames={self.cfg.data.frames}) and pass it as train.metric_detector")

    def _label_classes(self) -> int:
        """The dataset classes the model's labels mean (0 for unconditional and InfoGAN models)."""
        if getattr(getattr(self.model, "config", None), "info_classes", 0):
            return 0
        return int(getattr(self.model, "num_classes", 0))

    def score(self, nets: dict[str, Any], *, step: int, nimg: int, tick: int,
              write: Callable[[str], None]) -> None:
        """Score every metric on ``nets`` (the EMA networks); rank 0 appends the records."""
        from vidgen.metrics.generative import score_sampler
        from vidgen.metrics.records import append_record

        tc = self.tc
        self.family.prepare_export(nets)
        sample = self.family.sampler(nets)
        data_config = {"name": DATASETS.name_of_config(type(self.cfg.data)), **to_dict(self.cfg.data)}
        for name in tc.metrics:
            start = time.perf_counter()
            result = score_sampler(sample, name, real=self.dataset, data_config=data_config,
                                   detector=self._detector(METRICS.get(name)), protocol=tc.metric_protocol,
                                   num_classes=self._label_classes(),
                                   class_names=getattr(self.dataset, "class_names", None), progress=False,
                                   device=self.device, precision=tc.metric_precision)
            seconds = time.perf_counter() - start
            if self.main:
                append_record(self.run_dir / f"metric-{name}.jsonl",
                              {"metric": name, "step": step, "kimg": round(nimg / 1000, 4), "tick": tick,
                               "results": result, "seconds": round(seconds, 2)})
                write(f"{name} {result['value']:.4f} ({seconds:.0f} s)")

    def _detector(self, metric: Any) -> Any:
        """What ``metric`` (a registry entry) measures with, loaded once per kind: the domain
        evaluator of a metric that needs an ``evaluator``, else the Fréchet ``detector``."""
        from vidgen.metrics.detectors import load_evaluator_for, resolve_detector

        kind = "evaluator" if "evaluator" in metric.meta.get("needs", ()) else "detector"
        if kind not in self._detectors:
            tc = self.tc
            self._detectors[kind] = (
                load_evaluator_for(tc.metric_detector, device=self.device) if kind == "evaluator" else
                resolve_detector(tc.metric_detector, protocol=tc.metric_protocol, device=self.device,
                                 precision=tc.metric_precision))
        return self._detectors[kind]
