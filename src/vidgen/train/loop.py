"""The training engine every model family uses.

One loop (in the spirit of StyleGAN2-ADA's ``training_loop.py``): progress in clips seen
(kimg); each step runs the family's phases over ``accumulate`` micro-batches; a *tick*
every ``tick_kimg`` does the maintenance (stats record, sample grids, exports, training
states). The same code runs alone or under ``torchrun`` (DistributedDataParallel over every
trained network, rank 0 writes). Losses stay on the device between ticks: a step never
waits for the device.
"""

from __future__ import annotations

import copy
import logging
import math
import signal
import threading
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from torch import nn
from torch.utils.data import DataLoader

from vidgen.data import build_dataset
from vidgen.family import StepContext, StepEnv, family_of
from vidgen.errors import ConfigError, VidgenError
from vidgen.io.checkpoint import list_states, load_state, save_state
from vidgen.models import build_model
from vidgen.registry import MODELS
from vidgen.train import dist, maintenance, state
from vidgen.train.config import ExperimentConfig
from vidgen.train.scoring import MetricScorer
from vidgen.train.monitor import Monitor, peak_memory_mib
from vidgen.train.schedule import GlobalBatchSampler, lr_factor, schedule_progress, seed_everything  # noqa: F401
from vidgen.utils.hw import keep_freed_memory, resolve_precision

log = logging.getLogger("vidgen.train")


def _echo(line: str) -> None:
    print(line, flush=True)  # flushed: logs piped to a file or `tee` show up as they happen


def _to_channels_last(net: nn.Module) -> None:
    # only 5-D weights (Conv3d) have a channels_last_3d layout; 4-D and 1-D ones are left alone
    for p in net.parameters():
        if p.dim() == 5:
            p.data = p.data.contiguous(memory_format=torch.channels_last_3d)


class Trainer:
    """Builds everything a run needs from ``cfg`` and runs it; see :func:`train`."""

    def __init__(self, cfg: ExperimentConfig, *, echo: Callable[[str], None] = _echo):
        self.cfg = cfg
        tc = self.tc = cfg.train
        self.echo = echo
        self.info = dist.setup(tc.device)
        keep_freed_memory()  # every step allocates the same activations: reuse them
        self.device = self.info.device
        self.dtype = resolve_precision(tc.precision, self.device)
        self.run_dir = Path(cfg.run_dir)
        if tc.threads:
            torch.set_num_threads(tc.threads)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        seed_everything(cfg.seed)

        self.dataset = build_dataset(cfg.data)
        self.global_batch = tc.batch_size * self.info.world * tc.accumulate
        if len(self.dataset) < self.global_batch:
            raise VidgenError(
                f"the dataset has {len(self.dataset)} clips, fewer than one global batch of {self.global_batch} "
                f"(train.batch_size={tc.batch_size} x {self.info.world} processes x train.accumulate={tc.accumulate})",
                hint="lower train.batch_size or add clips (data.clips_per_video for folders)",
            )
        self.model = build_model(cfg.model, frames=cfg.data.frames, resolution=cfg.data.resolution,
                                 channels=self.dataset.channels, num_classes=self.dataset.num_classes).to(self.device)
        self.channels_last = tc.channels_last == "on" or (
            tc.channels_last == "auto" and self.device.type == "cpu" and self.dtype == torch.bfloat16)
        if self.channels_last:
            _to_channels_last(self.model)
        self.spec = family_of(cfg.model)
        self.family = self.spec.training_class()(model=self.model, objective=cfg.objective, dataset=self.dataset,
                                                 num_samples=tc.num_samples)
        self.nets = self.family.networks
        self.phases = self.family.phases()
        # whole EMA copies, made before any sharding (sampling, metrics and exports use them)
        self.ema = {name: copy.deepcopy(self.nets[name]).eval().requires_grad_(False)
                    for name in self.family.ema_networks}
        self.fsdp = tc.parallel == "fsdp" and self.info.distributed
        if tc.parallel == "fsdp":
            self._check_fsdp()
        self._ema_shards: dict[str, Any] = {}  # FSDP: name -> sharding.ShardedEma
        if self.fsdp:  # before the optimizers, which must hold the sharded parameters
            from vidgen.train import sharding  # (imports torch's FSDP only when asked for)

            for net in self.nets.values():
                sharding.shard(net, self.info)
            self._ema_shards = {name: sharding.ShardedEma(self.nets[name], ema) for name, ema in self.ema.items()}
        self.opts = self.family.optimizers(tc)
        for opt in self.opts.values():
            for group in opt.param_groups:
                group.setdefault("initial_lr", group["lr"])
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.dtype == torch.float16)
        self.scorer = MetricScorer(cfg=cfg, dataset=self.dataset, family=self.family, model=self.model,
                                   device=self.device, run_dir=self.run_dir, main=self.info.main)
        if tc.metrics:
            self.scorer.check()

        # views of each network: DDP-wrapped for the phase that trains it, plain elsewhere
        self._ddp: dict[str, nn.Module] = {}
        self._trained: dict[str, nn.Module] = {}
        self._plain: dict[str, nn.Module] = {}
        for name, net in self.nets.items():
            wrapped = net
            if self.info.distributed and not self.fsdp:
                wrapped = nn.parallel.DistributedDataParallel(
                    net, device_ids=[self.device.index] if self.device.type == "cuda" else None)
                self._ddp[name] = wrapped
            self._trained[name] = torch.compile(wrapped) if tc.compile else wrapped
            self._plain[name] = torch.compile(net) if tc.compile else net

        self.noise_gen = torch.Generator().manual_seed(cfg.seed)
        self.step = self.nimg = self.tick = self.epoch = self.batch_in_epoch = 0
        self.elapsed_s = 0.0
        self.lr_progress = 0.0  # how far the learning-rate decay has gone (see lr_schedule_by)
        self._clock: tuple[float, float, float] | None = None  # (start, budget in s, lr_progress at start)
        self._agreed_time_progress = 0.0
        self.total_nimg = int(round(tc.kimg * 1000))
        self._reset_tick_stats()
        self.stop_reason: str | None = None
        self.monitor: Monitor | None = None
        self._scored_step: int | None = None  # the step train.metrics last scored

    def _check_fsdp(self) -> None:
        family = MODELS.name_of_config(type(self.cfg.model))
        if len(self.nets) != 1 or not all(phase.ddp for phase in self.phases):
            why = (f"{family} trains {' and '.join(self.nets)}" if len(self.nets) != 1
                   else f"{family}'s loss does not run through the network's forward")
            raise ConfigError(f"train.parallel=fsdp shards a model that trains one network through its forward "
                              f"(diffusion, predictors, restorers, upscalers); {why}",
                              hint="use train.parallel=ddp for this model")
        if hasattr(self.model, "autoencoder"):
            raise ConfigError(f"train.parallel=fsdp shards a model's forward; {family} also encodes each batch with "
                              "its frozen autoencoder outside it", hint="use train.parallel=ddp for this model")
        if self.dtype == torch.float16:
            raise ConfigError("train.parallel=fsdp does not support fp16 loss scaling",
                              hint="use train.precision=bf16 (or fp32)")

    @torch.no_grad()
    def gather_ema(self) -> None:
        """With FSDP, write the EMA averaged on the shards into the whole EMA copies (a collective)."""
        for shards in self._ema_shards.values():
            shards.gather()

    # --- what phases see -----------------------------------------------------------------

    def view(self, name: str, *, trained: bool) -> nn.Module:
        return self._trained[name] if trained else self._plain[name]

    def rows_of(self, micro: int) -> slice:
        start = (micro * self.info.world + self.info.rank) * self.tc.batch_size
        return slice(start, start + self.tc.batch_size)

    def autocast(self):
        if self.dtype == torch.float32:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    # --- one step --------------------------------------------------------------------------

    def _reset_tick_stats(self) -> None:
        self.tick_sums: dict[str, torch.Tensor] = {}
        self.tick_counts: dict[str, int] = {}
        self.bad_step: dict[str, torch.Tensor] = {}  # first step whose loss was not finite, -1: none
        self.bad_value: dict[str, torch.Tensor] = {}

    def _record(self, key: str, value: torch.Tensor, *, check: bool) -> None:
        value = value.detach().float()
        self.tick_sums[key] = self.tick_sums[key] + value if key in self.tick_sums else value
        self.tick_counts[key] = self.tick_counts.get(key, 0) + 1
        if check:  # device-side bookkeeping: no sync here, read at the tick
            bad = ~torch.isfinite(value)
            first = self.bad_step.get(key, torch.full((), -1, dtype=torch.long, device=value.device))
            take = bad & (first < 0)
            self.bad_step[key] = torch.where(take, torch.full_like(first, self.step + 1), first)
            old = self.bad_value.get(key, torch.zeros((), device=value.device))
            self.bad_value[key] = torch.where(take, value, old)

    def run_step(self, micro_batches: list[dict[str, Any]]) -> None:
        """Every phase due at this step, each over all micro-batches, then the EMA."""
        env = StepEnv(seed=self.cfg.seed, rank=self.info.rank, step=self.step, nimg=self.nimg,
                      global_batch=self.global_batch, device=self.device, noise=self.noise_gen, rows=self.rows_of,
                      view=lambda name, trained: self.view(name, trained=trained))
        caches: list[dict[str, Any]] = [{} for _ in micro_batches]
        n_micro = len(micro_batches)
        for phase in self.phases:
            if self.step % phase.interval:
                continue
            net, opt = self.nets[phase.network], self.opts[phase.network]
            for name, other in self.nets.items():
                other.requires_grad_(name == phase.network)
            opt.zero_grad(set_to_none=True)
            ddp = self._ddp.get(phase.network) if phase.ddp else None
            sums: dict[str, torch.Tensor] = {}
            for m, batch in enumerate(micro_batches):
                ctx = StepContext(env=env, phase=phase, micro=m, batch=batch, cache=caches[m])
                if self.fsdp:
                    net.set_requires_gradient_sync(m == n_micro - 1)
                # gradients are all-reduced once, on the last micro-batch
                with ddp.no_sync() if ddp is not None and m < n_micro - 1 else nullcontext():
                    with self.autocast():
                        out = phase.loss(ctx)
                    self.scaler.scale(out["loss"].float() * (phase.interval / n_micro)).backward()
                for key, value in out.items():
                    sums[key] = sums[key] + value.detach() / n_micro if key in sums else value.detach() / n_micro
            params = [p for p in net.parameters() if p.requires_grad]
            if not phase.ddp:
                dist.average_gradients(self.info, params)
            if self.tc.grad_clip is not None:
                self.scaler.unscale_(opt)
                norm = torch.nn.utils.clip_grad_norm_(params, self.tc.grad_clip)
                sums["grad_norm"] = norm.full_tensor() if self.fsdp else norm
            self.scaler.step(opt)
            for key, value in sums.items():
                self._record(f"{phase.name}/{key}", value, check=key == "loss")
        self.scaler.update()
        for net in self.nets.values():
            net.requires_grad_(True)
        self.update_ema(self.nimg + self.global_batch)

    @torch.no_grad()
    def update_ema(self, nimg: int) -> None:
        """EMA with a half-life of ``ema_kimg``, ramped up early (StyleGAN2-ADA's schedule)."""
        ema_nimg = self.tc.ema_kimg * 1000
        if self.tc.ema_rampup is not None:
            ema_nimg = min(ema_nimg, nimg * self.tc.ema_rampup)
        beta = 0.5 ** (self.global_batch / ema_nimg) if ema_nimg > 0 else 0.0
        for name, ema in self.ema.items():
            live = self.nets[name]
            if self.fsdp:  # averaged on the shards, gathered into `ema` at ticks
                self._ema_shards[name].lerp(1.0 - beta)
            else:
                torch._foreach_lerp_(list(ema.parameters()), [p.detach() for p in live.parameters()], 1.0 - beta)
            for b_ema, b in zip(ema.buffers(), live.buffers()):
                b_ema.copy_(b)

    def time_progress(self) -> float:
        """With ``lr_schedule_by: time``, the decay progress the clock asks for: a resumed run goes
        on from where it stopped and ends its decay when this invocation's ``minutes`` run out."""
        if self.tc.lr_schedule_by != "time" or self._clock is None:
            return 0.0
        if self.info.distributed:  # every rank must step with the same rate: the clock agreed at the last tick
            return self._agreed_time_progress
        return self._clock_progress()

    def _clock_progress(self) -> float:
        start, budget_s, p0 = self._clock
        return p0 + (1.0 - p0) * min(1.0, (time.perf_counter() - start) / budget_s)

    def apply_lr(self) -> float:
        warmup_nimg = self.tc.warmup_kimg * 1000
        time_progress = self.time_progress()
        self.lr_progress = schedule_progress(self.nimg, total_nimg=self.total_nimg, warmup_nimg=warmup_nimg,
                                             time_progress=time_progress)
        factor = lr_factor(self.nimg, total_nimg=self.total_nimg, warmup_nimg=warmup_nimg,
                           schedule=self.tc.lr_schedule, min_ratio=self.tc.min_lr_ratio, time_progress=time_progress)
        for opt in self.opts.values():
            for group in opt.param_groups:
                group["lr"] = group["initial_lr"] * factor
        return factor

    # --- data ------------------------------------------------------------------------------

    def batches(self) -> Iterator[list[dict[str, Any]]]:
        """Endless steps of ``accumulate`` micro-batches; the position is ``(epoch, batch_in_epoch)``."""
        tc = self.tc
        while True:
            self.dataset.set_epoch(self.epoch)  # before the loader starts workers, which copy the dataset
            sampler = GlobalBatchSampler(size=len(self.dataset), batch_size=tc.batch_size, accumulate=tc.accumulate,
                                         rank=self.info.rank, world=self.info.world, seed=self.cfg.seed,
                                         epoch=self.epoch, start=self.batch_in_epoch)
            loader = DataLoader(self.dataset, batch_size=tc.batch_size, sampler=sampler, num_workers=tc.num_workers,
                                pin_memory=self.device.type == "cuda", persistent_workers=False)
            it = iter(loader)
            for _ in range(self.batch_in_epoch, sampler.batches):
                micro = []
                for _ in range(tc.accumulate):
                    batch = next(it)
                    micro.append({k: v.to(self.device, non_blocking=True) if torch.is_tensor(v) else v
                                  for k, v in batch.items()})
                yield micro
            self.epoch += 1
            self.batch_in_epoch = 0

    # --- checkpoints -----------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        return state.state_dict(self)

    def load_state_dict(self, saved: dict[str, Any], source: Path) -> None:
        state.load_state_dict(self, saved, source)

    def save_checkpoint(self) -> Path | None:
        dist.barrier(self.info)
        path = None
        saved = self.state_dict() if self.info.main or self.fsdp else None  # FSDP: every process gathers
        if self.info.main:
            path = save_state(self.run_dir, saved, step=self.step, keep=self.tc.keep_checkpoints)
        dist.barrier(self.info)
        return path

    # --- maintenance -----------------------------------------------------------------------

    def preview(self) -> torch.Tensor:
        """Fixed preview clips from the EMA networks, ready for export."""
        return maintenance.preview(self)

    def export(self) -> None:
        maintenance.export(self)

    def end_tick(self, tick_start: float, tick_nimg: int) -> None:
        """Read the tick's statistics (the one device sync), log them, write what is due."""
        tc = self.tc
        now = time.perf_counter()
        self.gather_ema()
        keys = sorted(self.tick_sums)
        means = torch.stack([self.tick_sums[k] / self.tick_counts[k] for k in keys]) if keys else torch.zeros(0)
        means = dist.reduce_mean(self.info, means.to(self.device)).tolist()
        bad = {k: (int(self.bad_step[k]), float(self.bad_value[k])) for k in self.bad_step if int(self.bad_step[k]) >= 0}
        if self.info.distributed:
            flag = dist.any_true(self.info, bool(bad))
            if flag and not bad:
                bad = {"a loss on another process": (self.step, float("nan"))}
        if bad:
            key, (step, value) = min(bad.items(), key=lambda kv: kv[1][0])
            raise VidgenError(f"{key} became {value} at step {step}; the last good checkpoint in "
                              f"{self.run_dir} is kept",
                              hint="lower the learning rates (train.lr, train.lr_d), set train.grad_clip, "
                                   "or use train.precision=fp32")
        self.tick += 1
        seconds = now - tick_start
        record: dict[str, Any] = {
            "tick": self.tick, "step": self.step, "kimg": round(self.nimg / 1000, 4),
            "seconds": round(self.elapsed_s, 2),
            "clips_per_s": round(tick_nimg / max(seconds, 1e-9), 2),
            "sec_per_kimg": round(seconds / max(tick_nimg / 1000, 1e-9), 3),
            "memory_mib": round(peak_memory_mib(self.device), 1),
        }
        for name, opt in self.opts.items():
            record[f"lr/{name}"] = opt.param_groups[0]["lr"]
        record.update({k: round(v, 6) for k, v in zip(keys, means)})
        self._reset_tick_stats()
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        if self.info.main:
            self.monitor.tick(record)
            if self.tick % tc.sample_ticks == 0:
                self.write_samples()
            if self.tick % tc.snapshot_ticks == 0:
                self.export()
        if self.tick % tc.checkpoint_ticks == 0:
            self.save_checkpoint()
        if tc.metrics and self.tick % (tc.metric_ticks or tc.snapshot_ticks) == 0:
            self.score_metrics()

    def score_metrics(self) -> None:
        """Score ``train.metrics`` on the EMA networks (see :mod:`vidgen.train.scoring`)."""
        self._scored_step = self.step
        self.scorer.score(self.ema, step=self.step, nimg=self.nimg, tick=self.tick,
                          write=self.monitor.write if self.monitor else lambda line: None)

    def write_samples(self) -> None:
        maintenance.write_samples(self)

    def write_final(self) -> None:
        maintenance.write_final(self)

    # --- the run ---------------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.stop_reason = signal.Signals(signum).name
        # a second signal stops at once (Python's default handlers again)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def run(self, *, resume: str | Path | None = None, on_tick: Callable[["Trainer"], None] | None = None) -> Path:
        tc, info = self.tc, self.info
        if resume == "latest":
            resume = self.run_dir if list_states(self.run_dir) else None
            if resume is None and info.main:
                self.echo(f"no training state in {self.run_dir} yet: starting afresh")
        resuming = resume is not None
        if resuming:
            saved = load_state(resume)
            self.load_state_dict(saved, Path(resume))
            del saved
        maintenance.prepare_run_dir(self, resuming)
        dist.barrier(info)
        n_params = sum(p.numel() for p in self.model.parameters())
        if info.main:
            self.monitor = Monitor(run_dir=self.run_dir, total_nimg=self.total_nimg, start_nimg=self.nimg,
                                   progress=tc.progress, tensorboard=tc.tensorboard, echo=self.echo,
                                   budget_s=tc.minutes * 60 if tc.minutes is not None else math.inf)
            self.echo(
                f"{'resuming' if resuming else 'training'} {MODELS.name_of_config(type(self.cfg.model))} "
                f"({n_params / 1e6:.2f}M parameters) on {len(self.dataset)} clips of "
                f"{self.cfg.data.frames}x{self.dataset.channels}x{self.cfg.data.resolution}x{self.cfg.data.resolution}"
                f" | {info.world} process(es){' (FSDP)' if self.fsdp else ''} on {self.device}, "
                f"{str(self.dtype).replace('torch.', '')}"
                f"{', channels-last' if self.channels_last else ''} | global batch {self.global_batch} | "
                f"run folder {self.run_dir}" + (f" | from step {self.step}, {self.nimg / 1000:.3f} kimg" if resuming else ""))
            if resuming and self.nimg >= self.total_nimg:  # the loop will not run a step: say why, and the way on
                self.echo(f"nothing to train: this run already finished at {self.nimg / 1000:g} kimg "
                          f"(train.kimg={tc.kimg:g}); to train longer, raise train.kimg, e.g. vidgen train --resume "
                          f"{self.run_dir} train.kimg={2 * self.nimg / 1000:g}")
        handlers = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                handlers[sig] = signal.signal(sig, self._on_signal)
        budget_s = tc.minutes * 60 if tc.minutes is not None else math.inf
        tick_nimg = max(1, int(round(tc.tick_kimg * 1000)))
        start = tick_start = time.perf_counter()
        self._clock = (start, budget_s, self.lr_progress)
        self._agreed_time_progress = self.lr_progress
        elapsed0, tick_start_nimg, saved_at = self.elapsed_s, self.nimg, self.step
        batches = self.batches()
        try:
            while self.nimg < self.total_nimg:
                if not info.distributed and (self.stop_reason or time.perf_counter() - start >= budget_s):
                    break
                micro = next(batches)
                self.apply_lr()
                self.run_step(micro)
                self.step += 1
                self.nimg += self.global_batch
                self.batch_in_epoch += 1
                self.elapsed_s = elapsed0 + time.perf_counter() - start
                if self.monitor:
                    self.monitor.advance(self.global_batch)
                if self.nimg // tick_nimg > (self.nimg - self.global_batch) // tick_nimg or self.nimg >= self.total_nimg:
                    self.end_tick(tick_start, self.nimg - tick_start_nimg)
                    if self.tick % tc.checkpoint_ticks == 0:
                        saved_at = self.step
                    tick_start, tick_start_nimg = time.perf_counter(), self.nimg
                    if on_tick is not None:
                        on_tick(self)
                    if info.distributed and tc.lr_schedule_by == "time":
                        self._agreed_time_progress = dist.max_value(info, self._clock_progress())
                    if info.distributed:  # every rank must agree to stop at the same step
                        over = time.perf_counter() - start >= budget_s
                        if dist.any_true(info, bool(self.stop_reason) or over):
                            self.stop_reason = self.stop_reason or "time budget"
                            break
        finally:  # a second Ctrl-C raises KeyboardInterrupt mid-step: no state is saved from a torn step
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        self.gather_ema()
        if self.step != saved_at:
            self.save_checkpoint()
        if tc.metrics and self.stop_reason in (None, "time budget") and self._scored_step != self.step:
            self.score_metrics()  # the final model is scored too (not after a Ctrl-C: the user wants out)
        if info.main:
            self.export()
            self.write_final()
            minutes = (time.perf_counter() - start) / 60
            how = f" (stopped by {self.stop_reason}; continue with --resume)" if self.stop_reason else ""
            self.monitor.finish(f"done: step {self.step}, {self.nimg / 1000:.3f} kimg, {minutes:.1f} min{how}")
            self.monitor.close()
        dist.barrier(info)  # the other ranks wait for rank 0's last writes, then all leave together
        return self.run_dir


def train(cfg: ExperimentConfig, *, resume: str | Path | None = None, echo: Callable[[str], None] = _echo,
          on_tick: Callable[[Trainer], None] | None = None) -> Path:
    """Train the model described by ``cfg``; returns the run folder.

    ``resume``: a training-state file or a run folder (its newest state), or ``"latest"``
    for the newest state in ``cfg.run_dir`` (a fresh start when there is none yet, so a
    preempted job can be relaunched with the same command). ``on_tick(trainer)`` is called
    after every tick on every process.
    """
    trainer = Trainer(cfg, echo=echo)
    try:
        return trainer.run(resume=resume, on_tick=on_tick)
    finally:
        if trainer.monitor is not None:
            trainer.monitor.close()
        dist.teardown(trainer.info)
