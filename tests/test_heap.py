"""heap.keep_freed_memory: freed arrays come back warm (no page faults), and the user's own malloc
settings win. Each case runs in a fresh interpreter, since the setting is process-wide; so does
the check of the console script's one BLAS thread."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# Four 12 MB arrays at once (like one LSH band's keys, packed keys and orders), filled and freed,
# a few rounds; the page faults of the last round, when the memory could be warm.
_PROBE = """
import resource, sys
import numpy as np
from dedup.heap import keep_freed_memory
kept = keep_freed_memory() if sys.argv[1] == "on" else False
for _ in range(4):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    arrays = [np.empty(12 << 20, np.uint8) for _ in range(4)]
    for a in arrays:
        a.fill(1)
    del arrays, a
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(int(kept), faults)
"""

def _run(script: str, *args: str, **env: str) -> list[str]:
    """The words a script prints, run in a fresh interpreter without the caller's malloc or BLAS
    thread settings."""
    ours = ("GLIBC_TUNABLES", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k not in ours}
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=True, env={**clean, **env}
    )
    return done.stdout.split()


def _probe(mode: str, **env: str) -> tuple[bool, int]:
    kept, faults = _run(_PROBE, mode, **env)
    return kept == "1", int(faults)


def _is_glibc() -> bool:
    try:
        return bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError, AttributeError):
        return False


pytestmark = pytest.mark.skipif(not _is_glibc(), reason="the setting is glibc's")


def test_freed_memory_is_reused_without_faults() -> None:
    kept, faults_kept = _probe("on")
    _, faults_default = _probe("off")
    assert kept
    # by default glibc trims the freed 48 MB off its heap each round (~2,000 faults here, with
    # huge pages); kept, every round after the first reuses the same warm memory
    assert faults_default > 1_000
    assert faults_kept < 100


@pytest.mark.parametrize(
    "env",
    [
        {"MALLOC_TRIM_THRESHOLD_": "131072"},
        {"MALLOC_MMAP_THRESHOLD_": "131072"},
        {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=131072"},
    ],
)
def test_the_users_own_thresholds_win(env: dict[str, str]) -> None:
    kept, faults = _probe("on", **env)
    assert not kept
    assert faults > 1_000  # the user's threshold, not ours, decides


def test_other_malloc_settings_do_not_turn_it_off() -> None:
    kept, faults = _probe("on", MALLOC_PERTURB_="0")
    assert kept
    assert faults < 100


# The same rounds on threads started one after another, as clustering starts them for each stage,
# once the main thread has warmed the memory: the faults of each thread's round.
_THREADS = """
import resource, sys, threading
import numpy as np
from dedup.heap import keep_freed_memory
kept = keep_freed_memory()
def work(out):
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    arrays = [np.empty(12 << 20, np.uint8) for _ in range(4)]
    for a in arrays:
        a.fill(1)
    del arrays, a
    out.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)
work([])
out = []
for _ in range(3):
    t = threading.Thread(target=work, args=(out,))
    t.start()
    t.join()
print(int(kept), *out)
"""


def _thread_probe(**env: str) -> tuple[bool, list[int]]:
    kept, *faults = _run(_THREADS, **env)
    return kept == "1", [int(f) for f in faults]


def test_a_new_thread_reuses_what_the_main_thread_freed() -> None:
    kept, faults = _thread_probe()
    assert kept
    assert max(faults) < 100
    # with arenas of their own (the user's MALLOC_ARENA_MAX wins), new threads fault it all in
    kept, faults = _thread_probe(MALLOC_ARENA_MAX="8")
    assert not kept
    assert faults[0] > 1_000


# Threads of a process that ran the console script's set-up, then imported what a scan imports.
_BLAS_PROBE = """
import os, sys
if sys.argv[1] == "main":
    from dedup.__main__ import _no_blas_threads
    _no_blas_threads()
import numpy, scipy.sparse.csgraph
print(len(os.listdir("/proc/self/task")))
"""


def _threads(mode: str, **env: str) -> int:
    return int(_run(_BLAS_PROBE, mode, **env)[0])


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
def test_console_script_starts_no_blas_threads_unless_asked() -> None:
    assert _threads("main") == 1
    assert _threads("main", OPENBLAS_NUM_THREADS="2") > 1  # the user's setting wins
