"""A chain of post-processing operators: ``"denoise,deflicker,sharpen,interpolate:x2"``.

Each name is a registered operator (``vidgen.registry.POST_OPS``); ``name:VALUE`` sets the
operator's shorthand option (``interpolate:x2``, ``upscale:x4``: the factor; ``upscale:RUN``: a
trained upscaler), and
``name.key=value`` options (the CLI's extra arguments) set any other, strictly: an unknown
operator or option is an error that names the valid ones.

:func:`apply_chain` runs a chain on a clip in memory; :func:`stream_chain` runs it on a
stream of frames (a long video as it is decoded), op after op in chunks
(:func:`vidgen.utils.chunks.chunked`), holding only a few chunks of frames at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from vidgen import config as cfgmod
from vidgen.errors import ConfigError
from vidgen.registry import POST_OPS
from vidgen.utils.chunks import chunked


@dataclass
class Step:
    name: str
    config: Any
    fn: Callable[[np.ndarray, Any], np.ndarray]
    meta: dict[str, Any] | None = None  # the registration's radius, factor, settle

    def radius(self) -> int:
        """Frames the op reads on each side of an output frame."""
        return int((self.meta or {}).get("radius", lambda cfg: 0)(self.config))

    def factor(self) -> int:
        """Frames out per frame in (interpolation: more than 1)."""
        return int((self.meta or {}).get("factor", lambda cfg: 1)(self.config))


def parse_chain(text: str, options: list[str] | tuple[str, ...] = ()) -> list[Step]:
    """``"denoise,sharpen,interpolate:x2"`` and ``["sharpen.amount=1.2"]`` -> the steps, checked."""
    names = [part.strip() for part in str(text).split(",") if part.strip()]
    if not names:
        raise ConfigError("no post-processing op given", hint=f"ops: {', '.join(POST_OPS.names())}")
    per_op: dict[str, dict[str, Any]] = {}
    for option in options:
        keys, value = cfgmod.parse_override(option)
        if len(keys) != 2:
            raise ConfigError(f"post-processing option {option!r} is not of the form op.key=value",
                              hint="e.g. denoise.strength=12 sharpen.amount=1.0")
        per_op.setdefault(keys[0], {})[keys[1]] = value
    steps = []
    for item in names:
        name, _, short = item.partition(":")
        entry = POST_OPS.get(name)
        values = dict(per_op.get(name, {}))
        if short:
            key = entry.meta.get("shorthand")
            if key is None:
                raise ConfigError(f"{name} takes no ':' value", hint=f"set its options as {name}.key=value")
            if short.lstrip("x").isdigit():
                values[key] = int(short.lstrip("x"))
            else:  # upscale:RUN: a name, not a number, sets the op's text shorthand (its model)
                values[entry.meta.get("shorthand_text") or key] = short
        steps.append(Step(name, cfgmod.from_dict(entry.config, values, name), entry.obj, entry.meta))
    unused = sorted(set(per_op) - {s.name for s in steps})
    if unused:
        raise ConfigError(f"options for {', '.join(unused)}, which the chain does not run",
                          hint=f"the chain: {text}")
    return steps


def apply_chain(frames: np.ndarray, steps: list[Step], *, progress: Callable[[str], None] | None = None) -> np.ndarray:
    """Run ``steps`` in order on uint8 frames ``[T, H, W, C]``."""
    for step in steps:
        if progress is not None:
            progress(step.name)
        frames = step.fn(frames, step.config)
    return frames


def post_process(video: Any, ops: str, options: list[str] | tuple[str, ...] = ()) -> np.ndarray:
    """The Python entry point: ``video`` (uint8 ``[T, H, W, C]``, or float ``[T, C, H, W]`` in
    ``[-1, 1]``) through the chain ``ops``; uint8 frames back."""
    import torch

    from vidgen.convert import to_uint8

    frames = to_uint8(video) if isinstance(video, torch.Tensor) else np.asarray(video)
    if frames.dtype != np.uint8 or frames.ndim != 4:
        raise ConfigError(f"post-processing takes uint8 frames [T, H, W, C], got {frames.dtype} {list(frames.shape)}")
    return apply_chain(frames, parse_chain(ops, options))


def stream_chain(frames: Iterable[np.ndarray], steps: list[Step], *, chunk: int = 32) -> Iterator[np.ndarray]:
    """Run ``steps`` on a stream of uint8 frames ``[H, W, C]``, yielding the output frames in order.

    Each op runs in chunks of ``chunk`` frames with its radius of context on either side, so the
    result equals :func:`apply_chain` on the whole clip, except where an op estimates a setting
    from the video (the noise level of ``denoise``): streamed, it is estimated once, from the
    op's first chunk. At most a few chunks of frames per op are held at a time.
    """
    stream: Iterator[np.ndarray] = iter(frames)
    for step in steps:
        stream = chunked(_settled(step), stream, radius=step.radius(), chunk=chunk, factor=step.factor())
    return stream


def _settled(step: Step) -> Callable[[np.ndarray], np.ndarray]:
    settle = (step.meta or {}).get("settle")
    config = [step.config]

    def run(block: np.ndarray) -> np.ndarray:
        if settle is not None:
            config[0] = settle(config[0], block)
        return step.fn(block, config[0])

    return run
