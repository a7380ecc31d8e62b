"""Inception-I3D (Kinetics-400), the detector of the Fréchet Video Distance.

:class:`InceptionI3d` is our own implementation of the network of Carreira & Zisserman
(2017) as published on tf.hub (``deepmind/i3d-kinetics-400/1``), which the original FVD
code (google-research ``frechet_video_distance``) embeds videos with. Every detail that
changes the numbers follows the references:

- TensorFlow ``"SAME"`` padding for every convolution and max-pool, computed from the
  input size at run time (total ``max(k - s, 0)`` when ``s`` divides the size, else
  ``max(k - size % s, 0)``; the odd extra element goes at the END), exactly as the
  ``pytorch_i3d.py`` port that VideoGPT and TATS use. Max-pools pad with zeros like that
  port; their inputs are ReLU outputs, so zeros never win against -inf padding either.
- Batch-norm ``eps`` is a constructor argument: 1e-3 is TensorFlow/Sonnet's (the
  original FVD, StyleGAN-V), 1e-5 is the PyTorch port's (VideoGPT, TATS).
- Features are the 400 logits before the softmax, averaged over the remaining time
  steps: tf.hub's ``RGB/inception_i3d/Mean:0`` tensor, which the TF code reads, and what
  ``InceptionI3d.forward`` of the PyTorch port returns.

Parameter and buffer names equal those of ``i3d_pretrained_400.pt`` (the VideoGPT/TATS
conversion of the tf.hub weights; 287 tensors, e.g. ``Conv3d_1a_7x7.conv3d.weight``,
``Mixed_5c.b3b.bn.running_var``, ``logits.conv3d.bias``), so that file loads strictly.
Batch norm is inference-only (no ``num_batches_tracked``, as in that file).

Shapes: the network reads float ``[B, 3, T, H, W]`` in ``[-1, 1]`` (channels first,
time before space) with ``H, W`` in ``193..224`` (224 in every protocol) and ``T >= 9``;
see :data:`MIN_FRAMES`. :mod:`vidgen.metrics.fvd` does the protocol's preprocessing.

Files users have (nothing is downloaded):

- ``i3d_pretrained_400.pt``: VideoGPT/TATS state dict, loaded with
  ``torch.load(weights_only=True)`` into :class:`InceptionI3d` (:func:`load_i3d_state_dict`).
- ``i3d_torchscript.pt``: StyleGAN-V's TorchScript export, loaded with ``torch.jit.load``
  and called as StyleGAN-V calls it (:func:`load_i3d_torchscript`).

:func:`find_i3d` resolves the path (argument > ``$VIDGEN_I3D`` > cache folder) and says
where to get a missing file. :func:`file_sha256` hashes a file once per
(path, size, mtime).
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import warnings
from pathlib import Path
from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from vidgen.errors import VidgenError

__all__ = [
    "I3D_FILES",
    "I3D_STATE_DICT",
    "I3D_TORCHSCRIPT",
    "I3DFile",
    "InceptionI3d",
    "MIN_FRAMES",
    "MIN_SIZE",
    "StyleGANVI3D",
    "calibrated_random_i3d",
    "check_sha256",
    "default_detector_dir",
    "detect_format",
    "file_sha256",
    "find_i3d",
    "fold_batch_norm",
    "load_i3d_state_dict",
    "load_i3d_torchscript",
    "save_i3d_torchscript",
]

log = logging.getLogger(__name__)

MIN_FRAMES = 9  # time is downsampled 8x (ceil); the final [2, 7, 7] average pool needs 2 steps
MIN_SIZE = 193  # space is downsampled 32x (ceil); the final average pool needs 7 x 7

# (name, in_channels, [b0, b1a, b1b, b2a, b2b, b3b] out channels), in network order
_MIXED = (
    ("Mixed_3b", 192, (64, 96, 128, 16, 32, 32)),
    ("Mixed_3c", 256, (128, 128, 192, 32, 96, 64)),
    ("Mixed_4b", 480, (192, 96, 208, 16, 48, 64)),
    ("Mixed_4c", 512, (160, 112, 224, 24, 64, 64)),
    ("Mixed_4d", 512, (128, 128, 256, 24, 64, 64)),
    ("Mixed_4e", 512, (112, 144, 288, 32, 64, 64)),
    ("Mixed_4f", 528, (256, 160, 320, 32, 128, 128)),
    ("Mixed_5b", 832, (256, 160, 320, 32, 128, 128)),
    ("Mixed_5c", 832, (384, 192, 384, 48, 128, 128)),
)


# ---------------------------------------------------------------------------------------
# the network
# ---------------------------------------------------------------------------------------


def _same_pad(size: int, kernel: int, stride: int) -> Tuple[int, int]:
    """TF "SAME" padding of one axis: (front, back); the odd element goes to the back."""
    if size % stride == 0:
        total = max(kernel - stride, 0)
    else:
        total = max(kernel - size % stride, 0)
    return total // 2, total - total // 2


class _FrozenBatchNorm(nn.Module):
    """Inference batch norm with the four tensors of the reference file and a settable eps.

    ``y = (x - running_mean) / sqrt(running_var + eps) * weight + bias``, through
    ``F.batch_norm`` (the same kernel as ``nn.BatchNorm3d.eval()``). No
    ``num_batches_tracked`` buffer: ``i3d_pretrained_400.pt`` has none.
    """

    def __init__(self, channels: int, eps: float):
        super().__init__()
        self.eps = float(eps)
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)


class _Unit3D(nn.Module):
    """Conv3d ("SAME" padding from the input size) -> optional batch norm -> optional ReLU."""

    def __init__(self, cin: int, cout: int, kernel: Tuple[int, int, int] = (1, 1, 1),
                 stride: Tuple[int, int, int] = (1, 1, 1), *, eps: float = 1e-3,
                 batch_norm: bool = True, bias: bool = False, relu: bool = True):
        super().__init__()
        self.kernel: List[int] = list(kernel)
        self.stride: List[int] = list(stride)
        self.relu = relu
        self.conv3d = nn.Conv3d(cin, cout, kernel, stride=stride, padding=0, bias=bias)
        self.bn = _FrozenBatchNorm(cout, eps) if batch_norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, C, T, H, W]
        pt0, pt1 = _same_pad(x.shape[2], self.kernel[0], self.stride[0])
        ph0, ph1 = _same_pad(x.shape[3], self.kernel[1], self.stride[1])
        pw0, pw1 = _same_pad(x.shape[4], self.kernel[2], self.stride[2])
        if pt0 == pt1 and ph0 == ph1 and pw0 == pw1:
            # symmetric: the convolution pads with zeros itself (no padded copy)
            x = F.conv3d(x, self.conv3d.weight, self.conv3d.bias, self.stride, [pt0, ph0, pw0])
        else:
            x = F.conv3d(F.pad(x, [pw0, pw1, ph0, ph1, pt0, pt1]), self.conv3d.weight, self.conv3d.bias, self.stride)
        bn = self.bn
        if bn is not None:
            x = bn(x)
        if self.relu:
            x = F.relu(x, inplace=True)
        return x


class _MaxPool3dSame(nn.Module):
    """Max-pool with TF "SAME" padding (zero-padded, as in the PyTorch port)."""

    def __init__(self, kernel: Tuple[int, int, int], stride: Tuple[int, int, int]):
        super().__init__()
        self.kernel: List[int] = list(kernel)
        self.stride: List[int] = list(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pt0, pt1 = _same_pad(x.shape[2], self.kernel[0], self.stride[0])
        ph0, ph1 = _same_pad(x.shape[3], self.kernel[1], self.stride[1])
        pw0, pw1 = _same_pad(x.shape[4], self.kernel[2], self.stride[2])
        if pt0 + pt1 + ph0 + ph1 + pw0 + pw1 > 0:
            x = F.pad(x, [pw0, pw1, ph0, ph1, pt0, pt1])
        return F.max_pool3d(x, self.kernel, self.stride)


class _Mixed(nn.Module):
    """Inception block: 1x1 | 1x1 -> 3x3 | 1x1 -> 3x3 | max-pool -> 1x1, concatenated."""

    def __init__(self, cin: int, outs: Tuple[int, int, int, int, int, int], eps: float):
        super().__init__()
        self.b0 = _Unit3D(cin, outs[0], eps=eps)
        self.b1a = _Unit3D(cin, outs[1], eps=eps)
        self.b1b = _Unit3D(outs[1], outs[2], (3, 3, 3), eps=eps)
        self.b2a = _Unit3D(cin, outs[3], eps=eps)
        self.b2b = _Unit3D(outs[3], outs[4], (3, 3, 3), eps=eps)
        self.b3a = _MaxPool3dSame((3, 3, 3), (1, 1, 1))
        self.b3b = _Unit3D(cin, outs[5], eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))], dim=1)


class InceptionI3d(nn.Module):
    """Inception-v1 I3D for RGB clips, with the names of ``i3d_pretrained_400.pt``.

    Args:
        num_classes: logits (400 for Kinetics-400).
        bn_eps: batch-norm epsilon: 1e-3 (TF, StyleGAN-V protocols) or 1e-5 (VideoGPT,
            TATS); :meth:`set_bn_eps` changes it later.

    ``forward(x)``: ``x`` float ``[B, 3, T, H, W]`` in ``[-1, 1]`` (``T >= 9``,
    ``193 <= H, W <= 224``) -> logits ``[B, num_classes]``, averaged over time. Weights
    start random (``nn.Conv3d``'s default init; batch norm as identity); load real ones
    with :func:`load_i3d_state_dict`.
    """

    __jit_unused_properties__ = ["bn_eps"]

    def __init__(self, *, num_classes: int = 400, bn_eps: float = 1e-3):
        super().__init__()
        self.num_classes = num_classes
        self.Conv3d_1a_7x7 = _Unit3D(3, 64, (7, 7, 7), (2, 2, 2), eps=bn_eps)
        self.MaxPool3d_2a_3x3 = _MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = _Unit3D(64, 64, eps=bn_eps)
        self.Conv3d_2c_3x3 = _Unit3D(64, 192, (3, 3, 3), eps=bn_eps)
        self.MaxPool3d_3a_3x3 = _MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Mixed_3b = _Mixed(192, _MIXED[0][2], bn_eps)
        self.Mixed_3c = _Mixed(256, _MIXED[1][2], bn_eps)
        self.MaxPool3d_4a_3x3 = _MaxPool3dSame((3, 3, 3), (2, 2, 2))
        self.Mixed_4b = _Mixed(480, _MIXED[2][2], bn_eps)
        self.Mixed_4c = _Mixed(512, _MIXED[3][2], bn_eps)
        self.Mixed_4d = _Mixed(512, _MIXED[4][2], bn_eps)
        self.Mixed_4e = _Mixed(512, _MIXED[5][2], bn_eps)
        self.Mixed_4f = _Mixed(528, _MIXED[6][2], bn_eps)
        self.MaxPool3d_5a_2x2 = _MaxPool3dSame((2, 2, 2), (2, 2, 2))
        self.Mixed_5b = _Mixed(832, _MIXED[7][2], bn_eps)
        self.Mixed_5c = _Mixed(832, _MIXED[8][2], bn_eps)
        # dropout of the reference is the identity at inference, so it is left out
        self.logits = _Unit3D(1024, num_classes, batch_norm=False, bias=True, relu=False)
        self.eval()

    @property
    def bn_eps(self) -> float:
        """The batch-norm epsilon in use."""
        return self.Conv3d_1a_7x7.bn.eps  # type: ignore[union-attr]

    def set_bn_eps(self, eps: float) -> "InceptionI3d":
        """Set every batch norm's epsilon (1e-3: TF/StyleGAN-V, 1e-5: VideoGPT/TATS)."""
        for m in self.modules():
            if isinstance(m, _FrozenBatchNorm):
                m.eps = float(eps)
        return self

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, 3, T, H, W]`` -> Mixed_5c activations ``[B, 1024, ceil(T/8), ceil(H/32), ceil(W/32)]``."""
        x = self.Conv3d_1a_7x7(x)
        x = self.MaxPool3d_2a_3x3(x)
        x = self.Conv3d_2b_1x1(x)
        x = self.Conv3d_2c_3x3(x)
        x = self.MaxPool3d_3a_3x3(x)
        x = self.Mixed_3c(self.Mixed_3b(x))
        x = self.MaxPool3d_4a_3x3(x)
        x = self.Mixed_4f(self.Mixed_4e(self.Mixed_4d(self.Mixed_4c(self.Mixed_4b(x)))))
        x = self.MaxPool3d_5a_2x2(x)
        return self.Mixed_5c(self.Mixed_5b(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5 or x.shape[1] != 3:
            raise ValueError("InceptionI3d expects [B, 3, T, H, W] (channels before time)")
        if x.shape[2] < 9 or x.shape[3] < 193 or x.shape[4] < 193:  # MIN_FRAMES, MIN_SIZE (literals for TorchScript)
            raise ValueError("InceptionI3d needs T >= 9 frames and H, W >= 193 (224 is standard)")
        x = self.trunk(x)
        if x.shape[3] != 7 or x.shape[4] != 7:
            raise ValueError("InceptionI3d needs H, W in 193..224 (224 is standard)")
        # VALID [2, 7, 7] average pool, 1x1x1 logits, then the mean over the time steps left
        x = F.avg_pool3d(x, [2, 7, 7], [1, 1, 1])  # [B, 1024, T', 1, 1]
        x = self.logits(x)  # [B, classes, T', 1, 1]
        return x.flatten(2).mean(dim=2)  # [B, classes]


def fold_batch_norm(model: InceptionI3d) -> InceptionI3d:
    """A copy of ``model`` with every batch norm folded into its convolution (inference only).

    ``w' = w * g / sqrt(v + eps)``, ``b' = beta - m * g / sqrt(v + eps)`` (computed in
    float64, stored in float32): the same function, one memory pass less per layer
    (about 20 % faster on a CPU). Only float rounding changes (features agree to about
    1e-6 relative). The copy has no ``bn`` tensors, so it cannot be saved as a reference
    state dict.
    """
    folded = copy.deepcopy(model)
    with torch.no_grad():
        for m in folded.modules():
            if isinstance(m, _Unit3D) and m.bn is not None:
                bn = m.bn
                scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
                w = m.conv3d.weight
                m.conv3d.weight = nn.Parameter((w.double() * scale.view(-1, 1, 1, 1, 1)).to(w.dtype))
                m.conv3d.bias = nn.Parameter((bn.bias.double() - bn.running_mean.double() * scale).to(w.dtype))
                m.bn = None
    return folded.eval().requires_grad_(False)


def calibrated_random_i3d(calibration: torch.Tensor, *, seed: int = 0, bn_eps: float = 1e-3) -> InceptionI3d:
    """Random I3D weights whose features vary from clip to clip, for checks and benchmarks.

    PyTorch's default initialisation shrinks the activations layer after layer, so the
    logits of a random I3D are almost constant and its FVDs are rounding noise. Here the
    convolutions get He-normal weights and every batch norm's running statistics are set
    to the per-channel mean and variance of its input on ``calibration`` (one forward
    pass), as if the network had been trained on such clips.

    Args:
        calibration: I3D input ``[B, 3, T, H, W]`` in ``[-1, 1]`` (e.g. ``fvd.preprocess``
            output of a few clips).
    """
    torch.manual_seed(seed)
    model = InceptionI3d(bn_eps=bn_eps)
    hooks = []

    def set_stats(bn: _FrozenBatchNorm, inputs: tuple[torch.Tensor, ...]) -> None:
        x = inputs[0]
        bn.running_mean.copy_(x.mean(dim=(0, 2, 3, 4)))
        bn.running_var.copy_(x.var(dim=(0, 2, 3, 4), unbiased=False))

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, _Unit3D) and m.bn is not None:
                nn.init.kaiming_normal_(m.conv3d.weight, nonlinearity="relu")
                m.bn.weight.uniform_(0.8, 1.2)
                m.bn.bias.normal_(0.0, 0.1)
                hooks.append(m.bn.register_forward_pre_hook(set_stats))
        try:
            model(calibration.float())
        finally:
            for h in hooks:
                h.remove()
    return model.eval()


# ---------------------------------------------------------------------------------------
# StyleGAN-V's TorchScript interface
# ---------------------------------------------------------------------------------------


class StyleGANVI3D(nn.Module):
    """An :class:`InceptionI3d` behind StyleGAN-V's TorchScript call signature.

    ``forward(x, rescale, resize, return_features)`` with ``x`` ``[B, 3, T, H, W]`` (uint8
    or float): ``rescale`` maps ``[0, 255]`` to ``[-1, 1]`` (``x / 127.5 - 1``);
    ``resize`` resizes every frame to ``size`` x ``size`` with half-pixel bilinear
    interpolation (PyTorch ``align_corners=False``); ``return_features`` returns the
    400 logits averaged over time, else their softmax. This is how StyleGAN-V's
    ``i3d_torchscript.pt`` is called (``rescale=True, resize=True, return_features=True``
    on uint8 clips); :func:`save_i3d_torchscript` writes one, e.g. as a stand-in with
    random weights for tests and benchmarks.
    """

    def __init__(self, model: InceptionI3d, *, size: int = 224):
        super().__init__()
        self.model = model
        self.size = int(size)

    def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False,
                return_features: bool = False) -> torch.Tensor:
        x = x.float()
        if rescale:
            x = x / 127.5 - 1.0
        if resize:
            x = F.interpolate(x, size=[x.shape[2], self.size, self.size], mode="trilinear", align_corners=False)
        logits = self.model(x)
        return logits if return_features else logits.softmax(dim=1)


def save_i3d_torchscript(model: InceptionI3d, path: str | os.PathLike, *, size: int = 224) -> Path:
    """Script ``StyleGANVI3D(model)`` and save it at ``path`` (StyleGAN-V's file format)."""
    path = Path(path)
    scripted = torch.jit.script(StyleGANVI3D(model, size=size).eval())
    scripted.save(str(path))
    return path


# ---------------------------------------------------------------------------------------
# files: where they are, what they hash to, how they load
# ---------------------------------------------------------------------------------------


class I3DFile:
    """A known detector file: its name, published sha256 and where public copies live."""

    def __init__(self, *, name: str, sha256: str, kind: str, sources: Tuple[str, ...], origin: str):
        self.name = name
        self.sha256 = sha256
        self.kind = kind  # "state_dict" | "torchscript"
        self.sources = sources
        self.origin = origin


I3D_STATE_DICT = I3DFile(
    name="i3d_pretrained_400.pt",
    sha256="55095f049e706479d48e221adcdb145b2b9dc930ba28b081ed72367ffaa32343",
    kind="state_dict",
    sources=(
        # the Google-Drive id in VideoGPT's videogpt/download.py and TATS' tats/download.py
        "https://drive.google.com/uc?id=1mQK8KD8G6UWRa5t87SRMm5PVXtlpneJT",
    ),
    origin="VideoGPT / TATS (tf.hub i3d-kinetics-400 converted to PyTorch)",
)
I3D_TORCHSCRIPT = I3DFile(
    name="i3d_torchscript.pt",
    sha256="bec6519f66ea534e953026b4ae2c65553c17bf105611c746d904657e5860a5e2",
    kind="torchscript",
    sources=("https://www.dropbox.com/s/ge9e5ujwgetktms/i3d_torchscript.pt?dl=1",),  # StyleGAN-V's compute_fvd
    origin="StyleGAN-V (TorchScript export of the tf.hub I3D)",
)
I3D_FILES = (I3D_TORCHSCRIPT, I3D_STATE_DICT)

ENV_I3D = "VIDGEN_I3D"


def default_detector_dir() -> Path:
    """``$VIDGEN_CACHE/detectors``, else ``~/.cache/vidgen/detectors``."""
    root = os.environ.get("VIDGEN_CACHE") or os.path.join("~", ".cache", "vidgen")
    return Path(root).expanduser() / "detectors"


def _missing_hint(preferred: Tuple[I3DFile, ...]) -> str:
    lines = []
    for f in preferred:
        lines.append(f"{f.name} ({f.origin}; sha256 {f.sha256}) from {' or '.join(f.sources)}")
    return (
        "get " + "; or ".join(lines) + f"; put it in {default_detector_dir()} (or set ${ENV_I3D} "
        "to its path, or pass the path explicitly)"
    )


def find_i3d(path: str | os.PathLike | None = None, *, prefer: str | None = None) -> Path:
    """The detector file to use: ``path`` > ``$VIDGEN_I3D`` > the cache folder.

    Args:
        path: an explicit file or folder (a domain-evaluator folder is returned as is).
        prefer: ``"torchscript"`` or ``"state_dict"``: which file to pick when the cache
            folder holds both (default: the TorchScript export, then the state dict).

    Raises:
        VidgenError: nothing found; the message names the file(s) to get, their sha256,
            where public copies are and where to put them.
    """
    order = I3D_FILES if prefer != "state_dict" else (I3D_STATE_DICT, I3D_TORCHSCRIPT)
    for given, origin in ((path, "the path given"), (os.environ.get(ENV_I3D) or None, f"${ENV_I3D}")):
        if given is None:
            continue
        p = Path(given).expanduser()
        if p.is_dir() and not (p / "evaluator.json").is_file():
            for f in order:
                if (p / f.name).is_file():
                    return p / f.name
            raise VidgenError(f"{origin} ({p}) is a folder without {' or '.join(f.name for f in order)}",
                              hint=_missing_hint(order))
        if p.exists():
            return p
        raise VidgenError(f"detector file {str(p)!r} ({origin}) does not exist", hint=_missing_hint(order))
    cache = default_detector_dir()
    for f in order:
        if (cache / f.name).is_file():
            return cache / f.name
    raise VidgenError(f"no I3D detector found (looked in {cache} and ${ENV_I3D})", hint=_missing_hint(order))


_SHA_CACHE: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, computed once per (absolute path, size, mtime)."""
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    if key not in _SHA_CACHE:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _SHA_CACHE[key] = h.hexdigest()
    return _SHA_CACHE[key]


def check_sha256(path: str | os.PathLike, expected: str | None = None) -> str:
    """Hash ``path``; warn (not fail) when it differs from the published ``expected``.

    A different file may be a legitimate re-export, but its numbers are not comparable
    with published ones; the hash goes into every result record either way.
    """
    digest = file_sha256(path)
    if expected is not None and digest != expected:
        msg = (f"{path}: sha256 {digest} differs from the published {expected}; FVD values computed "
               "with it are not comparable with published ones")
        warnings.warn(msg, stacklevel=3)
        log.warning(msg)
    return digest


def load_i3d_state_dict(path: str | os.PathLike, *, bn_eps: float = 1e-3,
                        map_location: str | torch.device = "cpu") -> InceptionI3d:
    """An :class:`InceptionI3d` with the weights of a VideoGPT/TATS-format state dict.

    Read with ``torch.load(weights_only=True)`` (nothing is unpickled) and loaded
    strictly: a file whose names differ is refused with the missing/unexpected keys.
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated zip, foreign pickle, TorchScript archive, ...
        raise VidgenError(f"{path} is not a readable PyTorch state dict ({str(e).splitlines()[0][:200]})",
                          hint=f"pass {I3D_STATE_DICT.name} (VideoGPT/TATS) or {I3D_TORCHSCRIPT.name} "
                               "(StyleGAN-V)") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise VidgenError(f"{path} does not hold a dict of tensors", hint=f"pass {I3D_STATE_DICT.name}")
    model = InceptionI3d(bn_eps=bn_eps)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        def show(keys: list[str]) -> str:
            return ", ".join(keys[:8]) + (f", ... ({len(keys)} in all)" if len(keys) > 8 else "") if keys else "none"

        raise VidgenError(
            f"{path} is not an Inception-I3D state dict in the VideoGPT/TATS layout: missing keys: "
            f"{show(missing)}; unexpected keys: {show(unexpected)}",
            hint=f"pass {I3D_STATE_DICT.name} (sha256 {I3D_STATE_DICT.sha256})",
        )
    wrong = [k for k, v in expected.items() if tuple(state[k].shape) != tuple(v.shape)]
    if wrong:
        k = wrong[0]
        raise VidgenError(f"{path}: {len(wrong)} tensors have the wrong shape, e.g. {k}: "
                          f"{tuple(state[k].shape)} instead of {tuple(expected[k].shape)}",
                          hint=f"pass {I3D_STATE_DICT.name} (Kinetics-400, 400 classes)")
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    return model.eval().requires_grad_(False)


def load_i3d_torchscript(path: str | os.PathLike, *,
                         map_location: str | torch.device = "cpu") -> torch.jit.ScriptModule:
    """StyleGAN-V's ``i3d_torchscript.pt`` (or any module with its call signature), in eval mode."""
    try:
        return torch.jit.load(str(path), map_location=map_location).eval()
    except Exception as e:
        raise VidgenError(f"{path} is not a readable TorchScript file ({str(e).splitlines()[0][:200]})",
                          hint=f"pass {I3D_TORCHSCRIPT.name} (StyleGAN-V) or {I3D_STATE_DICT.name} "
                               "(VideoGPT/TATS)") from None


def detect_format(path: str | os.PathLike) -> str:
    """``"torchscript"`` or ``"state_dict"``, from the archive's contents (not its name).

    Both are zip archives; a TorchScript archive holds ``<root>/code/`` and
    ``<root>/constants.pkl``. Old non-zip ``torch.save`` files count as state dicts.
    """
    import zipfile

    path = Path(path)
    if not zipfile.is_zipfile(path):
        return "state_dict"
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    if any(n.split("/", 1)[-1].startswith("code/") for n in names) or any(n.endswith("/constants.pkl") for n in names):
        return "torchscript"
    return "state_dict"
