"""``train.metrics``: distribution metrics scored on the EMA networks while a run trains.

The engine checks the metrics before it trains (:meth:`MetricScorer.check`: a missing
detector or a metric the model cannot be scored on stops the run before its first step) and
scores them every ``metric_ticks`` ticks and at the end (:meth:`MetricScorer.score`), one
JSON line per score in ``RUN_DIR/metric-<name>.jsonl``. Every process takes part (the
statistics are summed across processes); rank 0 writes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from vidgen.config import to_dict
from vidgen.errors import ConfigError
from vidgen.registry import DATASETS


class MetricScorer:
    """Scores ``cfg.train.metrics`` for one run (see the module docstring)."""

    def __init__(self, *, cfg: Any, dataset: Any, family: Any, model: Any, device: Any, run_dir: Path,
                 main: bool):
        self.cfg, self.tc = cfg, cfg.train
        self.dataset, self.family, self.model = dataset, family, model
        self.device, self.run_dir, self.main = device, Path(run_dir), main
        self._detectors: dict[str, Any] = {}  # loaded once per kind

    def check(self) -> None:
        """Refuse, before training, metrics this model or dataset cannot be scored on."""
        from vidgen.metrics.generative import parse_name

        if not getattr(self.family, "generates", False):
            raise ConfigError(f"train.metrics scores models that generate clips from noise (GANs, clip VAEs), "
                              f"not {self.cfg.model.__class__.__name__}",
                              hint="remove train.metrics; score predictors with 'vidgen eval RUN --metric frames'")
        for name in map(parse_name, self.tc.metrics):
            if name.frames is not None and name.frames > self.cfg.data.frames:
                raise ConfigError(f"train.metrics: {name.name} needs clips of {name.frames} frames, the data has "
                                  f"{self.cfg.data.frames}", hint=f"use e.g. fvd{name.clips}_{self.cfg.data.frames}f")
            if name.kind == "cond_acc" and not getattr(self.model, "num_classes", 0):
                raise ConfigError(f"train.metrics: {name.name} needs a class-conditional model on a labelled dataset")
            if name.kind != "cond_acc" and name.clips > len(self.dataset):
                raise ConfigError(f"train.metrics: {name.name} needs {name.clips} real clips, the dataset has "
                                  f"{len(self.dataset)}")
            # load the detector now: a missing file or a misfit evaluator stops the run before it trains
            detector = self._detector(name.name)
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
        from vidgen.metrics.generative import append_record, score_sampler

        tc = self.tc
        self.family.prepare_export(nets)
        sample = self.family.sampler(nets)
        data_config = {"name": DATASETS.name_of_config(type(self.cfg.data)), **to_dict(self.cfg.data)}
        for name in tc.metrics:
            start = time.perf_counter()
            result = score_sampler(sample, name, real=self.dataset, data_config=data_config,
                                   detector=self._detector(name), protocol=tc.metric_protocol,
                                   num_classes=self._label_classes(),
                                   class_names=getattr(self.dataset, "class_names", None), progress=False,
                                   device=self.device, precision=tc.metric_precision)
            seconds = time.perf_counter() - start
            if self.main:
                append_record(self.run_dir / f"metric-{name}.jsonl",
                              {"metric": name, "step": step, "kimg": round(nimg / 1000, 4), "tick": tick,
                               "results": result, "seconds": round(seconds, 2)})
                write(f"{name} {result['value']:.4f} ({seconds:.0f} s)")

    def _detector(self, metric: str) -> Any:
        """The detector of ``metric``, loaded once (an evaluator for cond_acc, else a Fréchet detector)."""
        from vidgen.metrics.generative import load_evaluator_for, parse_name, resolve_detector

        cache = self._detectors
        kind = "cond_acc" if parse_name(metric).kind == "cond_acc" else "features"
        if kind not in cache:
            tc = self.tc
            cache[kind] = (load_evaluator_for(tc.metric_detector, device=self.device) if kind == "cond_acc" else
                           resolve_detector(tc.metric_detector, protocol=tc.metric_protocol, device=self.device,
                                            precision=tc.metric_precision))
        return cache[kind]
