"""Code generation settings for dedup's numba kernels, applied before the first one compiles.

LLVM tunes Intel's AVX-512 server cores to prefer 256-bit vectors (the 512-bit units once cost
clock speed). The classic MinHash kernel is bound by 32-bit multiplies, which 512-bit vectors
issue at twice the lanes per cycle; letting LLVM use them made that kernel ~1.4x faster on a
Sapphire Rapids core (benches/bench_hashing.py). Only the vector width changes, never a result:
the kernels are integer code, tested bit for bit against their references.

numba reads its CPU features once, when it first compiles or loads a cached kernel, so this only
takes effect when dedup's kernels are the first numba code a process runs, and never overrides a
user's NUMBA_CPU_NAME / NUMBA_CPU_FEATURES. The features are part of numba's cache key, so cached
kernels stay valid for the machine they were built on.
"""

from __future__ import annotations

import os


def prefer_wide_vectors() -> None:
    from numba.core import config

    if os.environ.get("NUMBA_CPU_NAME") or os.environ.get("NUMBA_CPU_FEATURES"):
        return
    if config.CPU_FEATURES is not None:
        return
    import llvmlite.binding as llvm

    features = llvm.get_host_cpu_features().flatten()
    if "+avx512f" in features.split(","):
        config.CPU_FEATURES = features + ",-prefer-256-bit"


prefer_wide_vectors()


def load_cached_kernels_without_refresh() -> bool:
    """Load cached kernels without first refreshing numba's typing and lowering registries.

    numba refreshes them before every cache lookup (`Cache.load_overload`), and the first refresh
    of a process imports and installs every registry numba has (its numpy, random, typed containers,
    linalg...): 0.20 s of a 0.98 s `dedup scan seeds/`, and 0.2 s of a 200k-document scan's serial
    start before its workers fork. A kernel loaded from the cache is already compiled: it needs
    numba's runtime (NRT) for its allocations, which is initialized here, and no registry. A cache
    miss still compiles through numba's compiler, which refreshes both itself; a load that fails
    for any reason is retried the way numba does it. The console script's kernel-running commands
    call this; a library must not change an embedding program's numba, so importing dedup never does.
    The fallback imports numba's array routines with scipy.linalg (its refresh does), ~0.2 s, only
    after a failed load: blocking that import there, as the CLI does at start-up, would change
    sys.modules while another thread may be importing scipy. A load that failed after rebuilding
    part of a kernel loads it again, which numba's own path, having no retry, never does.
    Returns whether cached kernels now load this way.
    """
    from numba.core import caching
    from numba.core.runtime import rtsys

    cache = caching.Cache
    original = cache.load_overload
    needed = ("_load_overload", "_guard_against_spurious_io_errors")
    if getattr(original, "_dedup_light", False):
        return True
    if not all(hasattr(cache, n) for n in needed):
        return False

    def load_overload(self, sig, target_context):  # numba's own signature
        try:
            rtsys.initialize(target_context)
            with self._guard_against_spurious_io_errors():
                return self._load_overload(sig, target_context)
        except Exception:
            return original(self, sig, target_context)

    load_overload._dedup_light = True  # type: ignore[attr-defined]
    cache.load_overload = load_overload
    return True
