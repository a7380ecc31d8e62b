"""What the hardware runs fast: the device to use and whether bf16 pays off."""

from __future__ import annotations

import ctypes
import functools
import os
import platform
from pathlib import Path

import torch

from vidgen.errors import ConfigError


@functools.lru_cache(maxsize=None)
def cpu_has_fast_bf16() -> bool:
    """True when the CPU computes bf16 natively (AMX or AVX512-BF16).

    Without these, PyTorch emulates bf16 and it runs slower than fp32, so it is not used.
    """
    try:
        capability = torch.backends.cpu.get_cpu_capability().upper()
    except Exception:  # older torch
        capability = ""
    if "AMX" in capability:
        return True
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(flag in flags for flag in ("amx_bf16", "avx512_bf16"))


@functools.cache
def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse instead of handing it back to the system.

    By default glibc serves every block over 32 MiB with its own ``mmap`` and unmaps it when
    freed, so each training step page-faults (and zeroes) its gigabytes of activations afresh:
    on the CPU that costs more than the compute (a 64x64 diffusion step: 16.0 s against 4.7 s).
    ``M_MMAP_MAX=0`` puts every block on the heap and a huge ``M_TRIM_THRESHOLD`` keeps the
    heap's free top, so the process holds its peak memory and reuses it, as PyTorch's CUDA
    allocator does. Applied once per process by the training engine and by ``vidgen sample``,
    ``predict`` and ``eval``, which allocate the same batches again and again (not by the
    streaming commands, ``upscale`` and ``post``, whose memory must stay bounded over any length
    of video); ``VIDGEN_MALLOC=system`` leaves glibc as it is. Returns whether it was applied (False off
    glibc, e.g. on macOS or Windows, which need nothing).
    """
    if os.environ.get("VIDGEN_MALLOC", "").lower() == "system" or platform.system() != "Linux":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # not glibc (e.g. musl)
    m_trim_threshold, m_mmap_max = -1, -4
    return bool(mallopt(m_mmap_max, 0)) and bool(mallopt(m_trim_threshold, 2 ** 31 - 1))


def cpu_name() -> str:
    """The CPU's model name (from ``/proc/cpuinfo`` on Linux), for benchmark tables."""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def resolve_device(name: str) -> torch.device:
    """``auto`` -> cuda when available, else cpu; otherwise the named device, checked."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}", hint="use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for, but no CUDA GPU is visible", hint="use the cpu device")
    return device


def resolve_precision(name: str, device: torch.device) -> torch.dtype:
    """``auto`` -> bf16 where the hardware runs it fast (fp16 on GPUs without bf16), else fp32."""
    explicit = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
    if name in explicit:
        if name == "fp16" and device.type != "cuda":
            raise ConfigError("fp16 training needs a CUDA GPU", hint="use train.precision=bf16 or fp32 on the CPU")
        return explicit[name]
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_has_fast_bf16() else torch.float32
