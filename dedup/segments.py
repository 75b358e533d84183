"""Band-key segments held in memory for lookups: each sorted segment gets a bucket directory.

Band keys are fmix64 outputs, uniform over 64 bits, so a directory of 2^b bucket starts on the
top b bits (about 8 keys per bucket) finds a key's run with one directory read and one or two
cache lines of keys. A binary search over a 16M-key segment missed the cache ~10 times per
probe and made lookups, not hashing, the cost of a batch at a million documents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from .arrays import sorted_unique
from .hashing import U64
from .store import Segment

_KEYS_PER_BUCKET = 8
_MAX_BITS = 26


@dataclass(frozen=True, slots=True)
class LoadedSegment:
    seg: int
    keys: np.ndarray  # uint64 sorted
    rowids: np.ndarray  # uint32
    starts: np.ndarray  # int64, 2^bits + 1: first key of each top-bits bucket
    shift: int  # 64 - bits


def load(segment: Segment) -> LoadedSegment:
    n = segment.keys.size
    bits = int(min(_MAX_BITS, max(1, np.ceil(np.log2(max(n, 2) / _KEYS_PER_BUCKET)))))
    shift = 64 - bits
    counts = np.bincount((segment.keys >> np.uint64(shift)).astype(np.int64), minlength=1 << bits)
    starts = np.zeros((1 << bits) + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    return LoadedSegment(segment.seg, segment.keys, segment.rowids, starts, shift)


@njit(cache=True, nogil=True)
def _probe(keys, rowids, starts, shift, needles, owner, out_q, out_r, fill):
    """Matches of needles in one segment: (owner of the needle, rowid of the key). With fill False
    only counts them."""
    k = 0
    sh = U64(shift)
    for i in range(needles.size):
        x = needles[i]
        b = x >> sh
        for j in range(starts[b], starts[b + U64(1)]):
            if keys[j] == x:
                if fill:
                    out_q[k] = owner[i]
                    out_r[k] = rowids[j]
                k += 1
            elif keys[j] > x:
                break
    return k


def candidates(segments: list[LoadedSegment], keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(query index, rowid), unique and sorted, of every stored key equal to one of the queries'
    band keys; `keys` is (bands, n_queries)."""
    bands = keys.shape[0]
    flat = np.ascontiguousarray(keys.T).reshape(-1)  # query i owns flat[i*bands:(i+1)*bands]
    order = np.argsort(flat, kind="stable")  # sorted needles walk the directory in order
    needles = flat[order]
    owner = (order // bands).astype(np.int64)
    q_parts, r_parts = [], []
    empty_q, empty_r = np.empty(0, np.int64), np.empty(0, np.uint32)
    for s in segments:
        n = _probe(s.keys, s.rowids, s.starts, s.shift, needles, owner, empty_q, empty_r, False)
        if not n:
            continue
        out_q, out_r = np.empty(n, np.int64), np.empty(n, np.uint32)
        _probe(s.keys, s.rowids, s.starts, s.shift, needles, owner, out_q, out_r, True)
        q_parts.append(out_q)
        r_parts.append(out_r.astype(np.int64))
    if not q_parts:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    code = sorted_unique(np.concatenate(q_parts) * (1 << 32) + np.concatenate(r_parts))
    return code >> 32, code & 0xFFFFFFFF
