"""Config and clip-shape checks that every predictor of this family makes the same way.

Plain functions, called from each architecture's config and constructor (the architectures
do not inherit from each other). Every error is a :class:`~vidgen.errors.ConfigError` that
names the key to change; the rollout itself lives in :func:`vidgen.nn.recurrent.rollout`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from vidgen.errors import ConfigError

_HIDDEN_HINT = "for example model.hidden=[64,64,64,64]"


def is_int(value: object) -> bool:
    """True for a Python integer that is not a bool (YAML's ``true`` must not pass as 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_hidden(hidden: Any) -> tuple[int, ...]:
    """``model.hidden`` as a tuple of positive channel counts (a Python or YAML list is accepted)."""
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, (list, tuple)):
        raise ConfigError(f"model.hidden must be a list of channel counts, got {hidden!r}", hint=_HIDDEN_HINT)
    hidden = tuple(hidden)
    if not hidden or not all(is_int(h) and h >= 1 for h in hidden):
        raise ConfigError(f"model.hidden must be a non-empty list of positive integers, got {list(hidden)}",
                          hint=_HIDDEN_HINT)
    return hidden


def check_kernel_size(kernel_size: Any, name: str = "kernel_size") -> None:
    """``model.kernel_size`` (or the ``name`` given) must be odd: the kernels are centred ('same' padding)."""
    if not is_int(kernel_size) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ConfigError(f"model.{name} must be an odd integer >= 1, got {kernel_size!r}",
                          hint="the kernels are centred on each pixel; use e.g. 3, 5 (or 9 for filter_size)")


def check_motion(config: Any) -> None:
    """``model.motion_radius`` (0: no motion input) and ``model.motion_stride``, a divisor of it and of the patch."""
    radius, stride = config.motion_radius, config.motion_stride
    if not is_int(radius) or radius < 0:
        raise ConfigError(f"model.motion_radius must be an integer >= 0, got {radius!r}",
                          hint="0 turns the motion input off; 4 covers Moving MNIST's 3.6-pixel steps")
    if not is_int(stride) or stride < 1:
        raise ConfigError(f"model.motion_stride must be an integer >= 1, got {stride!r}")
    if radius and (radius % stride or config.patch_size % stride):
        raise ConfigError(f"model.motion_stride={stride} must divide model.motion_radius={radius} and "
                          f"model.patch_size={config.patch_size}", hint="use model.motion_stride=1 or 2")


def check_positive(config: Any, names: tuple[str, ...]) -> None:
    """Each of ``config.<name>`` must be an integer >= 1 (e.g. ``patch_size``, ``context``, ``future``)."""
    for name in names:
        value = getattr(config, name)
        if not is_int(value) or value < 1:
            raise ConfigError(f"model.{name} must be an integer >= 1, got {value!r}")


def check_clip(
    model: str, *, context: int, future: int, frames: int, resolution: int, channels: int, patch_size: int = 1,
    uses: str = "trains on",
) -> None:
    """Check that training clips ``[frames, channels, resolution, resolution]`` suit a predictor.

    Args:
        model: the registry name, for the messages.
        context, future: the model's training split; a clip needs ``context + future`` frames.
        frames, resolution, channels: the clip shape the data gives.
        patch_size: the space-to-depth factor, which must divide ``resolution`` (1: any size).
        uses: how the model uses the clips, for the message ("trains on", "is evaluated on").
    """
    if resolution % patch_size:
        raise ConfigError(
            f"{model}: resolution {resolution} is not divisible by model.patch_size={patch_size}",
            hint=f"set model.patch_size to a divisor of {resolution} (OpenSTL uses 4 at 64x64) "
            f"or change data.resolution",
        )
    if frames < context + future:
        raise ConfigError(
            f"{model} {uses} clips of model.context + model.future = "
            f"{context} + {future} frames, but data.frames is {frames}",
            hint=f"set data.frames={context + future} or lower model.context / model.future",
        )
    if channels < 1:
        raise ConfigError(f"{model}: frames need at least one channel, got {channels}")


def setup(module: Any, name: str, config: Any, *, frames: int, resolution: int, channels: int) -> int:
    """Check the clip shape and set what every predictor exposes: ``config``, ``context``,
    ``future``, ``frames``, ``resolution``, ``channels``, ``patch_size``; returns the patch size."""
    p = config.patch_size
    check_clip(name, context=config.context, future=config.future, frames=frames, resolution=resolution,
               channels=channels, patch_size=p)
    module.config = config
    module.context, module.future = config.context, config.future
    module.frames, module.resolution, module.channels = frames, resolution, channels
    module.patch_size = p
    return p


def recurrent_parts(cell: type, config: Any, channels: int) -> tuple[Any, Any, Any]:
    """``(motion, cells, head)`` of a stacked recurrent predictor on patchified frames: the optional
    motion input read beside every frame, the cell stack, and the head from the top state to
    the next frame."""
    from vidgen.nn.recurrent import FrameCorrelation, FrameHead, stack_cells

    p = config.patch_size
    motion = FrameCorrelation(channels, p, config.motion_radius, config.motion_stride) if config.motion_radius else None
    in_channels = channels * p * p + (motion.out_channels if motion is not None else 0)
    cells = stack_cells(cell, in_channels=in_channels, hidden=config.hidden, kernel_size=config.kernel_size,
                        layer_norm=config.layer_norm)
    return motion, cells, FrameHead(config.hidden[-1], channels, p, config.output, config.filter_size)


@dataclass
class RecurrentOptions:
    """What the stacked recurrent predictors (convlstm, predrnn) share: widths, patching, the
    training split, the output head and the optional motion input. Each architecture's config
    derives from it (as the GAN configs do from ``GANOptions``); the networks share nothing."""

    hidden: tuple[int, ...] = (64, 64, 64, 64)  # channels of each recurrent layer, bottom to top
    kernel_size: int = 5  # odd kernel of the gate convolutions
    patch_size: int = 4  # space-to-depth factor; the resolution must be divisible by it
    context: int = 10  # frames the model reads (training split)
    future: int = 10  # frames it predicts (training split)
    layer_norm: bool = False  # normalise each gate's pre-activation (GroupNorm, one group per gate)
    # "linear": no squashing while training (tanh's gradient vanishes at the background value
    # -1, which slows learning on dark clips), clamped to [-1, 1] outside training; "tanh": squashed;
    # "filter": the previous frame moved by per-pixel dynamic filters; "warp": moved by a dense flow
    # field, bilinear (see vidgen.nn.recurrent.FrameHead)
    output: Literal["linear", "tanh", "filter", "warp"] = "linear"
    filter_size: int = 9  # kernel of the "filter" output: content moves up to filter_size // 2 pixels a frame
    # > 0: every step also reads the correlation of its frame with the previous one over
    # displacements up to motion_radius pixels, in steps of motion_stride pixels (frames pooled by
    # motion_stride first; it must divide motion_radius and patch_size); see vidgen.nn.recurrent.FrameCorrelation
    motion_radius: int = 0
    motion_stride: int = 2

    def __post_init__(self) -> None:
        self.hidden = check_hidden(self.hidden)  # a list (Python or YAML) is stored as a tuple
        check_kernel_size(self.kernel_size)
        check_kernel_size(self.filter_size, "filter_size")
        check_positive(self, ("patch_size", "context", "future"))
        check_motion(self)
