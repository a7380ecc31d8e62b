"""What the web UI does, without the web: pick models, run them, check uploads, write outputs.

:class:`Service` is the UI's whole logic over the Python API, so it is tested without a
browser; :mod:`vidgen.ui.app` only lays it out in Gradio. Every output is an H.264 mp4
(yuv420p, even sizes, the index at the front: every browser plays it while it loads) shown
at least :data:`DISPLAY` pixels high, plus a still strip of frames (png). Every refusal is
a :class:`~vidgen.errors.VidgenError` with a short message and a hint; the app shows it in
the page.
"""

from __future__ import annotations

import tempfile
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from vidgen.errors import VidgenError

DISPLAY = 256  # outputs are shown at least this many pixels high (nearest-neighbour upscaling)
EVERY_CLASS = "every class (one row each)"
ProgressFn = Callable[[float, str], None]


@dataclass
class UISettings:
    """The server's limits (``vidgen ui --help`` sets them)."""

    host: str = "127.0.0.1"
    port: int = 7860
    runs: str = "runs"  # run folders under it are offered beside the shipped models
    max_upload_mb: float = 50.0  # refuse bigger uploads
    max_frames: int = 256  # refuse longer uploads, and cap frames asked for
    max_resolution: int = 512  # refuse uploads with a larger side
    max_clips: int = 64  # the most clips one request may make
    queue_size: int = 16  # requests waiting beyond this are turned away
    concurrency: int = 1  # model jobs at a time (1 on a CPU; raise it on GPUs)
    device: str = "cpu"
    output_dir: str | None = None  # where outputs go (default: a temporary folder)


def _quiet(fraction: float, text: str) -> None:
    pass


class Service:
    """The UI's actions over :mod:`vidgen`'s API (see the module docstring)."""

    def __init__(self, settings: UISettings | None = None):
        self.settings = settings or UISettings()
        self.out = Path(self.settings.output_dir or tempfile.mkdtemp(prefix="vidgen-ui-"))
        self.out.mkdir(parents=True, exist_ok=True)
        self._models: OrderedDict[str, Any] = OrderedDict()  # a few loaded models, least recently used first
        self._lock = threading.Lock()

    # --- models ------------------------------------------------------------------------

    def model_choices(self, capability: str) -> list[str]:
        """Shipped model names and run folders whose model has ``capability``."""
        from vidgen.zoo import shipped_models

        names = [m.name for m in shipped_models() if capability in m.card.get("capabilities", ())]
        runs = Path(self.settings.runs)
        if runs.is_dir():
            newest = sorted(runs.glob("**/config.json"), key=lambda p: p.stat().st_mtime, reverse=True)[:50]
            for config in sorted(newest):
                if (config.parent / "model.safetensors").is_file() and capability in self._capabilities(config):
                    names.append(str(config.parent))
        return names

    @staticmethod
    def _capabilities(config: Path) -> frozenset[str]:
        import vidgen

        try:
            return vidgen.load(config.parent).capabilities
        except Exception:  # an export this version cannot read is not offered
            return frozenset()

    def load(self, name: str) -> Any:
        """The model ``name`` (a shipped name or a run folder), loaded once and kept (a few at most)."""
        import vidgen

        if not name:
            raise VidgenError("pick a model first")
        with self._lock:
            if name in self._models:
                self._models.move_to_end(name)
                return self._models[name]
        model = vidgen.load(name, device=self.settings.device)
        with self._lock:
            self._models[name] = model
            while len(self._models) > 4:
                self._models.popitem(last=False)
        return model

    def classes(self, name: str) -> list[str]:
        """The class choices of a model: its class names, and a row per class (empty: unconditional)."""
        if not name:
            return []
        model = self.load(name)
        if "class" not in model.capabilities:
            return []
        return [EVERY_CLASS, *model.class_names]

    # --- uploads -----------------------------------------------------------------------

    def read_upload(self, path: str | Path | None) -> np.ndarray:
        """An uploaded clip as uint8 ``[T, H, W, C]``, within the server's limits, or a clear refusal."""
        from vidgen.io.video import read_clip

        s = self.settings
        if path is None or str(path) == "":
            raise VidgenError("upload a clip (or pick an example) first")
        path = Path(path)
        size_mb = path.stat().st_size / 2**20
        if size_mb > s.max_upload_mb:
            raise VidgenError(f"the upload is {size_mb:.1f} MB, more than this server takes ({s.max_upload_mb:g} MB)",
                              hint="trim or downscale it, or start vidgen ui with a larger --max-upload-mb")
        try:
            frames = read_clip(path, num_frames=s.max_frames + 1)
        except VidgenError:
            if path.suffix.lower() == ".npy":
                raise  # its own message: what the array holds
            raise VidgenError(f"{path.name} is not a video this server can read",
                              hint="upload an .mp4, .webm, .mov, .avi, .mkv or .gif file") from None
        if frames.ndim == 3:
            frames = frames[..., None]
        if len(frames) > s.max_frames:
            raise VidgenError(f"the clip is longer than {s.max_frames} frames, the most this server takes",
                              hint="trim it, or start vidgen ui with a larger --max-frames")
        if max(frames.shape[1:3]) > s.max_resolution:
            raise VidgenError(f"the clip is {frames.shape[2]}x{frames.shape[1]}, larger than this server takes "
                              f"({s.max_resolution} pixels a side)",
                              hint="downscale it, or start vidgen ui with a larger --max-resolution")
        return frames

    # --- outputs -----------------------------------------------------------------------

    def _write(self, grid: np.ndarray, strip: np.ndarray, fps: float) -> tuple[str, str]:
        """An mp4 of the grid (upscaled for display) and a png of the strip; their paths."""
        from vidgen.io import write_video

        stem = self.out / uuid.uuid4().hex[:12]
        video = write_video(stem.with_suffix(".mp4"), _upscale(grid), fps=fps)
        still = write_video(stem.with_suffix(".png"), _upscale(strip, DISPLAY // 2))
        return str(video), str(still)

    def _check_count(self, what: str, value: Any, most: int) -> int:
        try:
            n = int(value)
        except (TypeError, ValueError):
            raise VidgenError(f"{what} must be a whole number, got {value!r}") from None
        if not 1 <= n <= most:
            raise VidgenError(f"{what} must be between 1 and {most}, got {n}")
        return n

    # --- actions -----------------------------------------------------------------------

    def generate(self, name: str, *, seed: int = 0, num: int = 8, label: str | None = None, frames: int | None = None,
                 truncation: float = 1.0, sampling_steps: int = 18, guidance: float = 1.0,
                 progress: ProgressFn = _quiet) -> tuple[str, str, str]:
        """Clips from noise: ``(mp4, png, a line saying what was made)``; ``sampling_steps`` and
        ``guidance`` apply to diffusion models (``truncation`` to GANs)."""
        from vidgen.io import frame_strips, make_grid

        model = self.load(name)
        if "generate" not in model.capabilities:
            raise VidgenError(f"{name} does not generate clips (it can: {', '.join(sorted(model.capabilities))})")
        num = self._check_count("the number of clips", num, self.settings.max_clips)
        options: dict[str, Any] = {}
        if frames and "frames" in model.sample_options and int(frames) != model.frames:
            options["frames"] = self._check_count("frames", frames, self.settings.max_frames)
        if "truncation" in model.sample_options:
            options["truncation"] = float(truncation)
        if "sampling_steps" in model.sample_options:
            options["sampling_steps"] = self._check_count("sampler steps", sampling_steps, 200)
        if "guidance" in model.sample_options and guidance != 1.0:
            options["guidance"] = float(guidance)
        progress(0.1, "sampling")
        labels = None
        if "class" in model.capabilities and label == EVERY_CLASS:
            rows = []
            for k in range(model.num_classes):
                progress(0.1 + 0.8 * k / model.num_classes, f"class {model.class_names[k]}")
                rows.append(model.sample(num, seed=int(seed), label=k, **options))
            videos, nrow, labels = torch.cat(rows), num, [model.class_names[k] for k in range(model.num_classes)]
            what = f"{num} clips of each of {model.num_classes} classes"
        else:
            k = model.class_names.index(label) if label and label in model.class_names else None
            videos, nrow = model.sample(num, seed=int(seed), label=k, **options), None
            what = f"{num} clips" + (f" of class {label}" if k is not None else "")
        progress(0.9, "writing the video")
        video, still = self._write(make_grid(videos, nrow=nrow, labels=labels), frame_strips(videos[:8]), model.fps)
        return video, still, f"{model.name}: {what}, seeds {int(seed)}..{int(seed) + num - 1}, {videos.shape[1]} frames"

    def continue_clip(self, name: str, upload: str | Path | None, *, context: int | None = None, frames: int = 10,
                      samples: int = 1, seed: int = 0, progress: ProgressFn = _quiet) -> tuple[str, str, str]:
        """Futures of an uploaded clip: the input beside each prediction, ``(mp4, png, line)``."""
        from vidgen.io import frame_strips, make_grid, side_by_side

        model = self.load(name)
        if "predict" not in model.capabilities:
            raise VidgenError(f"{name} does not continue clips (it can: {', '.join(sorted(model.capabilities))})")
        raw = self.read_upload(upload)
        clip = model.resize(raw)  # [1, T, C, H, W] at the model's size
        context = self._check_count("context", context or model.context, clip.shape[1])
        frames = self._check_count("frames to predict", frames, self.settings.max_frames)
        samples = self._check_count("futures", samples, 8)
        futures = []
        for k in range(samples):
            progress(0.1 + 0.8 * k / samples, f"future {k + 1} of {samples}")
            futures.append(model.predict(clip[:, :context], frames=frames, seed=int(seed) + k))
        total = context + frames
        truth = torch.full((1, total, *clip.shape[2:]), -1.0)
        shown = min(total, clip.shape[1])
        truth[:, :shown] = clip[:, :shown]
        preds = torch.cat([torch.cat([clip[:, :context], f], dim=1) for f in futures])  # [K, total, C, H, W]
        grid = side_by_side(make_grid(truth), make_grid(preds, nrow=1), titles=("input", "continued"))
        video, still = self._write(grid, frame_strips(torch.cat([truth, preds])), model.fps)
        return video, still, (f"{model.name}: {context} frames in, {frames} predicted, {samples} future(s)"
                              + ("" if raw.shape[1:3] == clip.shape[-2:] else
                                 f"; the clip was resized to {model.resolution}x{model.resolution}"))

    def reconstruct(self, name: str, upload: str | Path | None, *, label: str | None = None,
                    progress: ProgressFn = _quiet) -> tuple[str, str, str]:
        """A clip VAE's reconstruction of an uploaded clip beside it, ``(mp4, png, line)``."""
        from vidgen.io import frame_strips, make_grid, side_by_side

        model = self.load(name)
        if "reconstruct" not in model.capabilities:
            raise VidgenError(f"{name} does not reconstruct clips (clip VAEs do)")
        clip = model.resize(self.read_upload(upload))
        if clip.shape[1] < model.frames:
            raise VidgenError(f"{name} encodes clips of {model.frames} frames, the upload has {clip.shape[1]}")
        clip = clip[:, :model.frames]
        k = model.class_names.index(label) if label and label in model.class_names else None
        progress(0.3, "encoding and decoding")
        recon = model.reconstruct(clip, label=k)
        mse = float(((recon - clip) / 2).square().sum(dim=(2, 3, 4)).mean())
        grid = side_by_side(make_grid(clip), make_grid(recon), titles=("input", "reconstruction"))
        video, still = self._write(grid, frame_strips(torch.cat([clip, recon])), model.fps)
        return video, still, f"{model.name}: reconstruction, per-frame MSE {mse:.2f}"

    def interpolate(self, name: str, *, seed_a: int = 0, seed_b: int = 1, steps: int = 8, label: str | None = None,
                    progress: ProgressFn = _quiet) -> tuple[str, str, str]:
        """Clips along the latent path from seed a's to seed b's, ``(mp4, png, line)``."""
        from vidgen.io import frame_strips, make_grid

        model = self.load(name)
        if "interpolate" not in model.capabilities:
            raise VidgenError(f"{name} does not interpolate between latents")
        steps = self._check_count("steps", steps, self.settings.max_clips)
        k = model.class_names.index(label) if label and label in model.class_names else None
        progress(0.3, "interpolating")
        videos = model.interpolate(int(seed_a), int(seed_b), steps, label=k)
        video, still = self._write(make_grid(videos, nrow=steps), frame_strips(videos), model.fps)
        return video, still, f"{model.name}: {steps} clips from seed {int(seed_a)} to seed {int(seed_b)}"

    def evaluate(self, name: str, metric: str, *, detector: str | None = None, num: int = 256,
                 overrides: str = "", progress: ProgressFn = _quiet) -> str:
        """Score a model with a registered metric (as ``vidgen eval`` does); a markdown table of the results."""
        from vidgen.metrics.records import append_record
        from vidgen.metrics.runs import score_model

        if not name or not metric:
            raise VidgenError("pick a model and a metric first")
        model = self.load(name)
        notes: list[str] = []
        progress(0.1, "scoring")
        record = score_model(model, metric, checkpoint=name, overrides=overrides.split(), detector=detector,
                             num=self._check_count("clips", num, 10_000), device=self.settings.device,
                             note=notes.append)
        append_record(self.out / "metrics.jsonl", record)
        rows = [(k, v) for k, v in record["results"].items() if isinstance(v, (int, float, str)) and k != "metric"]
        table = "\n".join(f"| {k} | {v:.5g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in rows)
        said = "".join(f"\n\n_{n}_" for n in notes)
        return f"**{record['metric']}** of `{record['model']}` on {record['data']['name']}{said}\n\n" \
               f"| result | value |\n|---|---|\n{table}"

    def post_process(self, upload: str | Path | None, ops: str, options: str = "", *, networks: list[str] = (),
                     progress: ProgressFn = _quiet) -> tuple[str, str, str]:
        """An uploaded clip through a chain of post-processing ops, beside the input: ``(mp4, png, line)``.

        ``networks``: trained restoration networks or upscalers (shipped names or run folders); each
        runs its op (``denoise``, ``deflicker``, ``interpolate`` or ``upscale``, which the chain must
        hold) in place of the classical method."""
        import cv2

        from vidgen.io import frame_strips, side_by_side
        from vidgen.metrics.temporal import flicker_index, warping_error
        from vidgen.post import apply_chain, parse_chain

        extra = []
        for name in networks:
            model = self.load(name)
            task = getattr(model, "task", None)
            if task is None:
                raise VidgenError(f"{name} is no restoration network (it can: {', '.join(sorted(model.capabilities))})")
            if task not in [part.split(":")[0].strip() for part in ops.split(",")]:
                raise VidgenError(f"{name} is a {task} network, and the ops hold no {task}",
                                  hint=f"add {task} to the ops, or leave the network out")
            extra.append(f"{task}.model={name}")
        steps = parse_chain(ops, options.split() + extra)  # a bad chain is refused before the upload is read
        frames = self.read_upload(upload)
        if frames.shape[-1] == 1:
            frames = frames.repeat(3, axis=-1)
        done: list[str] = []

        def said(name: str) -> None:
            done.append(name)
            progress(len(done) / (len(steps) + 1), name)

        result = apply_chain(frames, steps, progress=said)
        shown_in = frames  # the input at the output's size and frame count, to show them side by side
        if result.shape[1:3] != frames.shape[1:3] or len(result) != len(frames):
            nearest = frames[np.linspace(0, len(frames) - 1, len(result)).round().astype(int)]
            shown_in = np.stack([cv2.resize(f, (result.shape[2], result.shape[1]), interpolation=cv2.INTER_NEAREST)
                                 for f in nearest])
        grid = side_by_side(shown_in, result, titles=("input", "processed"))
        strip = side_by_side(frame_strips([shown_in]), frame_strips([result]))
        video, still = self._write(grid, strip, 8.0 * len(result) / len(frames))
        names = [s.name + (f" [network {s.config.model}]" if getattr(s.config, "model", None) else "") for s in steps]
        line = f"{', '.join(names)}: {len(frames)} -> {len(result)} frames"
        if len(frames) > 1 and len(result) > 1:
            line += (f"; warping error {warping_error(frames):.5f} -> {warping_error(result):.5f}, "
                     f"flicker index {flicker_index(frames):.5f} -> {flicker_index(result):.5f}")
        return video, still, line

    def example_clip(self) -> str:
        """A Moving MNIST clip (digits rendered from Pillow's font), written once, for the continue tab."""
        from vidgen.convert import to_uint8
        from vidgen.data import build_dataset
        from vidgen.data.digits import MovingDigitsConfig
        from vidgen.io import write_video

        path = self.out / "example-moving-digits.mp4"
        if not path.is_file():
            dataset = build_dataset(MovingDigitsConfig(source="font", frames=20, resolution=64, seed=7))
            write_video(path, to_uint8(dataset[0]["video"]), fps=8, crf=10)
        return str(path)


def _upscale(frames: np.ndarray, height: int = DISPLAY) -> np.ndarray:
    """uint8 ``[T, H, W, C]`` enlarged by a whole factor (nearest) to at least ``height`` rows."""
    factor = max(1, -(-height // frames.shape[1]))
    if factor == 1:
        return frames
    return frames.repeat(factor, axis=1).repeat(factor, axis=2)
