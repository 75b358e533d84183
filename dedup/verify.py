"""Exact Jaccard of candidate pairs, on sorted 64-bit shingle sets (a merge per pair, in numba).

Every reported pair is verified here, so a reported similarity is the true set similarity (up to a
2^-64 chance of a shingle-hash collision), never a MinHash estimate.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import jit  # noqa: F401 - numba code generation settings, before any kernel compiles


@njit(cache=True, nogil=True)
def jaccard_pairs(starts, ends, values, left, right):
    """Jaccard of sets left[i] and right[i], set u being values[starts[u]:ends[u]] (sorted, no
    repeats; the sets need not be contiguous); two empty sets have similarity 0."""
    out = np.empty(left.size, np.float64)
    for p in range(left.size):
        a0, a1 = starts[left[p]], ends[left[p]]
        b0, b1 = starts[right[p]], ends[right[p]]
        inter = 0
        i, j = a0, b0
        while i < a1 and j < b1:
            if values[i] == values[j]:
                inter += 1
                i += 1
                j += 1
            elif values[i] < values[j]:
                i += 1
            else:
                j += 1
        union = (a1 - a0) + (b1 - b0) - inter
        out[p] = inter / union if union > 0 else 0.0
    return out


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard of two hash arrays (any order, duplicates allowed)."""
    sa, sb = np.unique(a), np.unique(b)
    union = np.union1d(sa, sb).size
    return float(np.intersect1d(sa, sb, assume_unique=True).size / union) if union else 0.0
