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
