"""What a run shows while it trains: progress bar, stats.jsonl, TensorBoard, tick lines.

Only rank 0 creates a Monitor. ``stats.jsonl`` gets one JSON record per tick (appended,
so a resumed run continues the file); TensorBoard gets the same scalars and the sample
grids as animated GIFs under ``RUN_DIR/tensorboard``.
"""

from __future__ import annotations

import io
import json
import logging
import math
import resource
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from tqdm import tqdm

log = logging.getLogger("vidgen.train")


def peak_memory_mib(device: torch.device) -> float:
    """Peak memory of this process: GPU memory allocated on CUDA, resident set size on the CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _gif_bytes(video: np.ndarray, fps: int) -> bytes:
    from PIL import Image

    frames = [Image.fromarray(f) for f in video]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:],
                   duration=max(1, round(1000 / fps)), loop=0)
    return buf.getvalue()


class Monitor:
    def __init__(self, *, run_dir: Path, total_nimg: int, start_nimg: int, progress: bool | None, tensorboard: bool,
                 echo: Callable[[str], None], budget_s: float = math.inf):
        self.echo = echo
        # with a time budget the run ends at whichever comes first, the clips or the minutes: the bar's
        # total is the clips the budget will reach at the rate so far, so its ETA is the real one
        self.total_nimg, self.start_nimg, self.budget_s = total_nimg, start_nimg, budget_s
        self.started = time.perf_counter()
        self.stats_file = open(run_dir / "stats.jsonl", "a")
        show_bar = progress if progress is not None else sys.stderr.isatty()
        self.bar = tqdm(total=total_nimg, initial=start_nimg, unit="clip", unit_scale=True, dynamic_ncols=True,
                        smoothing=0.1, disable=not show_bar, leave=True)
        self.tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(run_dir / "tensorboard"))
            except ImportError:
                log.warning("TensorBoard is not installed; 'pip install tensorboard' or set train.tensorboard=false")

    def advance(self, clips: int) -> None:
        self.bar.update(clips)
        if math.isfinite(self.budget_s):
            elapsed = time.perf_counter() - self.started
            if elapsed > 0:
                projected = self.start_nimg + (self.bar.n - self.start_nimg) / elapsed * self.budget_s
                self.bar.total = int(min(self.total_nimg, max(self.bar.n, projected)))

    def tick(self, record: dict[str, Any]) -> None:
        """Write one tick's record everywhere."""
        self.stats_file.write(json.dumps(record) + "\n")
        self.stats_file.flush()
        losses = {k: v for k, v in record.items() if "/" in k and not k.startswith("lr/")}
        self.bar.set_postfix({k.split("/")[0] + "." + k.split("/")[1][:4]: f"{v:.3g}" for k, v in losses.items()},
                             refresh=False)
        line = (f"tick {record['tick']:<4d} kimg {record['kimg']:<8.3f} step {record['step']:<7d} "
                f"{record['clips_per_s']:7.1f} clips/s  {record['sec_per_kimg']:6.2f} s/kimg  "
                f"mem {record['memory_mib']:.0f} MiB  "
                + "  ".join(f"{k} {v:.4g}" for k, v in losses.items()))
        if self.bar.disable:
            self.echo(line)
        else:
            self.bar.write(line)
        if self.tb is not None:
            for key, value in record.items():
                if isinstance(value, (int, float)) and key not in ("tick", "step"):
                    self.tb.add_scalar(key if "/" in key else f"progress/{key}", value, record["step"])
            self.tb.flush()

    def video(self, tag: str, grid: np.ndarray, *, step: int, fps: int) -> None:
        """A uint8 ``[T, H, W, 3]`` grid as an animated image in TensorBoard."""
        if self.tb is None:
            return
        from tensorboard.compat.proto.summary_pb2 import Summary

        image = Summary.Image(height=grid.shape[1], width=grid.shape[2], colorspace=3,
                              encoded_image_string=_gif_bytes(grid, fps))
        self.tb.file_writer.add_summary(Summary(value=[Summary.Value(tag=tag, image=image)]), step)
        self.tb.flush()

    def write(self, line: str) -> None:
        if self.bar.disable:
            self.echo(line)
        else:
            self.bar.write(line)

    def finish(self, line: str) -> None:
        """End the bar where the run ended (a time budget ends it before ``train.kimg``), then say ``line``."""
        if not self.bar.disable:
            self.bar.total = self.bar.n
            self.bar.close()  # draws the final state once
        self.echo(line)

    def close(self) -> None:
        if self.stats_file.closed:
            return
        self.bar.close()
        self.stats_file.close()
        if self.tb is not None:
            self.tb.close()
