"""The engine keeps freed memory for reuse (glibc's mallopt) unless VIDGEN_MALLOC=system."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from vidgen.utils.hw import keep_freed_memory

# allocate and free a 64 MiB tensor 30 times: with glibc's defaults every one is a fresh mmap,
# page-faulted in afresh; kept memory settles after a few rounds and is then reused without a
# fault. The faults of the last 10 rounds are counted.
PROBE = """
import resource, torch
from vidgen.utils.hw import keep_freed_memory
print(keep_freed_memory())
for _ in range(20):
    torch.ones(16 * 2 ** 20)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    torch.ones(16 * 2 ** 20)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(platform.system() != "Linux", reason="glibc only")
def test_freed_memory_is_reused_instead_of_faulted_in_again():
    runs = {}
    for mode in ("keep", "system"):
        env = {**os.environ, "VIDGEN_MALLOC": mode}
        out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True)
        applied, faults = out.stdout.split()
        runs[mode] = (applied == "True", int(faults))
    assert runs["keep"][0] and not runs["system"][0]
    page_per_tensor = 16 * 2 ** 20 * 4 // 4096
    assert runs["system"][1] > 9 * page_per_tensor  # faulted in again and again
    assert runs["keep"][1] < page_per_tensor // 2  # reused


def test_it_is_applied_once_per_process():
    assert keep_freed_memory() is keep_freed_memory()
