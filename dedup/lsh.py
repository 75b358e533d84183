"""LSH banding: choose (bands, rows), hash each band of each signature, pair units by sorting keys.

Bands are chosen for recall, not for datasketch's balanced error: a pair 0.05 above the threshold
(or halfway to 1 when the threshold is above 0.9, so the promise never degenerates to "identical
sets only") must become a candidate with probability >= 0.99, because verification removes false positives
exactly while a missed candidate is lost for good. Among the layouts that meet that, the one with
the fewest expected false candidates below the threshold wins.

Candidates come from sorting each band's keys (numpy's SIMD sort of key bits packed with unit
indices, numba for the runs), never from a Python dict per band.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit

from .arrays import sorted_unique
from .hashing import P64_1, U64, fmix64, rotl64
from .workspace import thread_map

RECALL_MARGIN = 0.05
RECALL_TARGET = 0.99
# A bucket with more members than this is linked as a star plus a chain instead of all pairs, so
# one hot bucket cannot produce a quadratic number of candidates. Exact duplicates never reach LSH
# (one member per group does), so only a family of >256 distinct near-variants sharing one band
# takes this path; a member then meets the others through the star centre, its chain neighbours
# and its other bands, and can be missed only when it is close to none of those.
MAX_BUCKET_PAIRS = 256


def candidate_probability(similarity: float | np.ndarray, bands: int, rows: int) -> float | np.ndarray:
    """P(a pair with this Jaccard shares at least one band): the S-curve 1 - (1 - s^r)^b."""
    return 1.0 - (1.0 - np.power(similarity, rows)) ** bands


def recall_target(threshold: float) -> float:
    """The similarity at which the layout promises RECALL_TARGET."""
    return min(threshold + RECALL_MARGIN, (1.0 + threshold) / 2)


def optimal_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) with bands*rows <= num_perm meeting the recall target at min(t + margin, (1 + t) / 2)."""
    target_sim = recall_target(threshold)
    below = np.linspace(0.0, threshold, 201)
    best: tuple[float, int, int] | None = None
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if candidate_probability(target_sim, bands, rows) < RECALL_TARGET:
            continue
        false_pos = float(np.trapezoid(candidate_probability(below, bands, rows), below))
        key = (false_pos, -bands * rows, rows)
        if best is None or key < (best[0], -best[1] * best[2], best[2]):
            best = (false_pos, bands, rows)
    if best is None:  # too few permutations for the target: one row per band is the best there is
        return num_perm, 1
    return best[1], best[2]


@njit(cache=True, nogil=True)
def band_keys(sig, bands, rows):
    """(bands, n_units) uint64 keys, band-major so each band is one contiguous row to sort; the
    band index is mixed in so bands never collide."""
    n = sig.shape[0]
    keys = np.empty((bands, n), np.uint64)
    for u in range(n):
        for bi in range(bands):
            h = fmix64(U64(bi + 1) * U64(0x9E3779B97F4A7C15))
            base = bi * rows
            for j in range(rows):
                h = rotl64((h ^ U64(sig[u, base + j])) * P64_1, 29)
            keys[bi, u] = fmix64(h)
    return keys


def _pair_count(sizes: np.ndarray, max_bucket: int) -> int:
    """Exact allocation: all pairs for a normal bucket, 2g-3 links (star + chain) for a hot one."""
    return int(np.where(sizes <= max_bucket, sizes * (sizes - 1) // 2, 2 * sizes - 3).sum())


@njit(cache=True, nogil=True)
def run_end(packed, i, bits):
    """The end of the run of equal top bits that starts at i in sorted packed values."""
    top = packed[i] >> U64(bits)
    j = i + 1
    while j < packed.size and (packed[j] >> U64(bits)) == top:
        j += 1
    return j


@njit(cache=True, nogil=True)
def run_mixed(packed, i, j, keys, bits):
    """Whether the members of run [i, j) differ in their full keys (rows of `keys`, one or more
    words): a collision of the top bits, which alone were sorted."""
    mask = (U64(1) << U64(bits)) - U64(1)
    lead = packed[i] & mask
    for x in range(i + 1, j):
        row = packed[x] & mask
        for w in range(keys.shape[1]):
            if keys[row, w] != keys[lead, w]:
                return True
    return False


@njit(cache=True, nogil=True)
def packed_runs(packed, keys, bits):
    """Runs of two or more equal top bits in sorted packed values (pack_index): (starts, sizes,
    mixed), where mixed marks a run whose members' full keys (rows of `keys`, one or more words)
    are not all equal (a truncation collision)."""
    m = packed.size
    starts = np.empty(m // 2 + 1, np.int64)
    sizes = np.empty(m // 2 + 1, np.int64)
    mixed = np.zeros(m // 2 + 1, np.bool_)
    k = 0
    i = 0
    while i < m:
        j = run_end(packed, i, bits)
        if j - i > 1:
            mixed[k] = run_mixed(packed, i, j, keys, bits)
            starts[k] = i
            sizes[k] = j - i
            k += 1
        i = j
    return starts[:k], sizes[:k], mixed[:k]


@njit(cache=True, nogil=True)
def pure_run_groups(packed, keys, bits):
    """scan._exact_duplicates' pass over sorted packed rows (pack_index): (is_rep, dup, dup_rep,
    groups) of the runs whose full keys are equal, and (starts, sizes) of the runs whose are not,
    left out. Beside run_end and run_mixed, which it calls: numba's on-disk cache of a kernel
    checks only its own file, so a kernel in another file could keep running their old code."""
    mask = (U64(1) << U64(bits)) - U64(1)
    m = packed.size
    is_rep = np.zeros(m, np.bool_)
    dup = np.empty(m, np.int64)  # pages beyond the duplicates are never touched
    dup_rep = np.empty(m, np.int64)
    m_starts = np.empty(m // 2 + 1, np.int64)
    m_sizes = np.empty(m // 2 + 1, np.int64)
    k = 0
    km = 0
    groups = 0
    i = 0
    while i < m:
        j = run_end(packed, i, bits)
        lead = np.int64(packed[i] & mask)
        if run_mixed(packed, i, j, keys, bits):
            m_starts[km] = i
            m_sizes[km] = j - i
            km += 1
        else:
            is_rep[lead] = True
            if j - i > 1:
                groups += 1
            for x in range(i + 1, j):
                dup[k] = np.int64(packed[x] & mask)
                dup_rep[k] = lead
                k += 1
        i = j
    return is_rep, dup[:k].copy(), dup_rep[:k].copy(), groups, m_starts[:km].copy(), m_sizes[:km].copy()


def hash_sort(keys: np.ndarray) -> np.ndarray:
    """Sorted copy of uint64 keys (the passage index's n-gram keys, up to tens of millions).

    numpy sorts plain uint64 with its SIMD quicksort: 0.46 s for 22M keys here, against 1.36 s for
    a counting sort on the top 16 bits with insertion sort in each bucket, and 1.8 s for numpy's
    stable (radix) sort.
    """
    return np.sort(keys)


def _band_pairs(col: np.ndarray, max_bucket: int) -> np.ndarray:
    """Pair codes (lo * n + hi) of units sharing a key in one band.

    Each key's top bits and its unit's index are packed into one uint64 and sorted by value:
    numpy sorts plain uint64 with its SIMD sort (~10 ns a key here) where an argsort, or a
    counting sort, took 40-50 ns. Equal truncated keys then form runs with their members already
    in index order (what the pairing needs for determinism). A run whose full keys differ (a
    collision of the top 64 - log2(n) bits, ~0.1 per band of a million keys) is split by its full
    keys, so the candidates are exactly those of sorting the full keys. Packing and pairing are
    one pass each in a kernel (whole-array numpy made four temporaries of every key: 27.8 ->
    16-20 ms a band of 1.4M random keys, medians of 20).
    """
    n = col.size
    bits = max(1, (n - 1).bit_length())
    packed = pack_index(col, bits)
    packed.sort()
    starts, sizes, mixed = packed_runs(packed, col.reshape(-1, 1), bits)
    pure_starts, pure_sizes = starts[~mixed], sizes[~mixed]
    total = _pair_count(pure_sizes, max_bucket)
    left, right = _run_pairs(packed, bits, pure_starts, pure_sizes, total, max_bucket)
    codes = left * n + right
    if not mixed.any():
        return codes
    # Members of the mixed runs, regrouped by (run, full key) with index order kept in a group.
    m_starts, m_sizes = starts[mixed], sizes[mixed]
    run = np.repeat(np.arange(m_starts.size), m_sizes)
    at = np.repeat(m_starts - np.cumsum(np.r_[0, m_sizes[:-1]]), m_sizes) + np.arange(m_sizes.sum())
    idx = (packed[at] & np.uint64((1 << bits) - 1)).astype(np.int64)
    key = col[idx]
    o = np.lexsort((idx, key, run))
    idx, key, run = idx[o], key[o], run[o]
    first = np.flatnonzero(np.r_[True, (key[1:] != key[:-1]) | (run[1:] != run[:-1])])
    g_sizes = np.diff(np.r_[first, idx.size])
    g_starts, g_sizes = first[g_sizes > 1], g_sizes[g_sizes > 1]
    total = _pair_count(g_sizes, max_bucket)
    left, right = _run_pairs(idx.astype(np.uint64), 63, g_starts, g_sizes, total, max_bucket)
    return np.concatenate([codes, left * n + right])


@njit(cache=True, nogil=True)
def pack_index(col, bits):
    """Each value with its low `bits` bits replaced by its index: sorted, equal top bits form runs
    in index order, and the index comes back as the low bits (n <= 2**bits)."""
    high = ~((U64(1) << U64(bits)) - U64(1))
    out = np.empty(col.size, np.uint64)
    for i in range(col.size):
        out[i] = (col[i] & high) | U64(i)
    return out


@njit(cache=True, nogil=True)
def _run_pairs(packed, bits, starts, sizes, total, max_bucket):
    """Pairs within each run of sorted packed values (a bucket), the indices their low `bits`
    bits: all pairs, or for a bucket over max_bucket a star plus a chain."""
    mask = (U64(1) << U64(bits)) - U64(1)
    left = np.empty(total, np.int64)
    right = np.empty(total, np.int64)
    p = 0
    for b in range(starts.size):
        i, g = starts[b], sizes[b]
        j = i + g
        if g <= max_bucket:
            for x in range(i, j):
                for y in range(x + 1, j):
                    left[p] = np.int64(packed[x] & mask)
                    right[p] = np.int64(packed[y] & mask)
                    p += 1
        else:
            for x in range(i + 1, j):
                left[p] = np.int64(packed[i] & mask)
                right[p] = np.int64(packed[x] & mask)
                p += 1
            for x in range(i + 2, j):
                left[p] = np.int64(packed[x - 1] & mask)
                right[p] = np.int64(packed[x] & mask)
                p += 1
    return left, right


def candidate_pairs(keys: np.ndarray, max_bucket: int = MAX_BUCKET_PAIRS, threads: int = 1) -> np.ndarray:
    """Unique unit pairs (i < j) sharing at least one band key, as an (m, 2) int64 array, sorted.

    `keys` is band-major, (bands, n_units).
    """
    keys = np.ascontiguousarray(keys)
    return candidate_pairs_by_band(lambda b: keys[b], keys.shape[0], keys.shape[1], max_bucket, threads)


def candidate_pairs_by_band(
    column: Callable[[int], np.ndarray],
    bands: int,
    n: int,
    max_bucket: int = MAX_BUCKET_PAIRS,
    threads: int = 1,
) -> np.ndarray:
    """candidate_pairs with each band's keys (n of them) produced on demand by column(band).

    Bands are independent and the kernels release the GIL, so with `threads` > 1 bands (and the
    gathering of their keys) run on a thread pool.
    """
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)

    def one(band: int) -> np.ndarray:
        return _band_pairs(np.ascontiguousarray(column(band)), max_bucket)

    chunks = thread_map(one, range(bands), threads)
    codes = sorted_unique(np.concatenate(chunks))
    return np.stack([codes // n, codes % n], axis=1)
