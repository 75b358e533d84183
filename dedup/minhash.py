"""MinHash signatures for a batch of units: a (n_units, num_perm) uint32 matrix.

Two methods:
- classic: k permutations in datasketch 2.0's "affine32" scheme (fmix32 pre-mix, then
  a_k * h + b_k mod 2^32 with odd a_k, parameters drawn exactly as datasketch draws them from
  `seed`), so a row converts to a `datasketch.LeanMinHash` that datasketch's LSH accepts.
- oph: one-permutation hashing with optimal densification (Shrivastava 2017): one hash per shingle
  picks a bin and a value, empty bins borrow from a non-empty bin chosen by a seeded probe
  sequence shared by all units, so estimates stay unbiased. O(shingles + k) instead of O(shingles*k).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

from .hashing import MASK32, U64, fmix32, fmix64
from .shingle import batch_shingles, shingle_span, short_shingle
from .workspace import Workspace

EMPTY = np.uint32(0xFFFFFFFF)
NOT_FILLED = np.uint64(1 << 32)


@lru_cache(maxsize=16)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) as datasketch.MinHash(scheme="affine32") draws them for this seed."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    a.setflags(write=False)
    b.setflags(write=False)
    return a, b


@njit(cache=True, nogil=True)
def _mixed32(h, out):
    """datasketch's affine32 input: fmix32 of the low 32 bits of each shingle hash (vectorized)."""
    for i in range(h.size):
        out[i] = fmix32(np.uint32(h[i] & MASK32))


# OPH units with at least this many shingles mix them in a separate, vectorized pass.
_SPLIT_FROM = 64


@njit(cache=True, nogil=True)
def _classic(tok_hash, unit_a, unit_b, n, perm_a, perm_b, hv, sig):
    """Per unit, per permutation: a minimum over the unit's slice of pre-mixed shingle hashes
    (hv: the batch's shingles pre-mixed, from shingle_values).

    Values outer, permutations inner: each pass takes eight of the unit's values and updates the
    whole signature row, a loop over the permutations that LLVM vectorizes (16 lanes with 512-bit
    vectors, see jit.py), the row kept in a local array. Per value that is a multiply-add and a
    min per 16 permutations, with no horizontal reduction and no padding. The other order (a
    vectorized min-reduction over the values, eight permutations at a time, which this replaced)
    paid one horizontal reduction per permutation and a vector's padding per unit: on the
    generated corpus at k=128, 6.85 -> 3.86 us per document for its ~7 paragraph units, 3.3-4.2 ->
    3.0-3.9 us for whole documents (k=256: 11.2-13.6 -> 6.9-7.5 and 6.6-7.3 -> 5.9-6.4).
    """
    n_units = unit_a.size
    k = perm_a.size
    row = np.empty(k, np.uint32)
    for u in range(n_units):
        first, cnt = shingle_span(unit_a[u], unit_b[u], n)
        if cnt == 0:
            sig[u, :] = 0xFFFFFFFF
            continue
        if first < 0:  # a unit shorter than n: its one shingle
            one = fmix32(np.uint32(short_shingle(tok_hash, unit_a[u], unit_b[u]) & MASK32))
            for j in range(k):
                sig[u, j] = np.uint32(perm_a[j] * one + perm_b[j])
            continue
        # A slice indexed from 0: the index is provably non-negative, so numba emits no
        # wraparound check (indexing hv[first + s] kept the old loop from vectorizing).
        vals = hv[first : first + cnt]
        row[:] = 0xFFFFFFFF
        s = 0
        while s + 8 <= cnt:
            v0, v1, v2, v3 = vals[s], vals[s + 1], vals[s + 2], vals[s + 3]
            v4, v5, v6, v7 = vals[s + 4], vals[s + 5], vals[s + 6], vals[s + 7]
            for j in range(k):
                aj = perm_a[j]
                bj = perm_b[j]
                m0 = min(np.uint32(aj * v0 + bj), np.uint32(aj * v1 + bj))
                m1 = min(np.uint32(aj * v2 + bj), np.uint32(aj * v3 + bj))
                m2 = min(np.uint32(aj * v4 + bj), np.uint32(aj * v5 + bj))
                m3 = min(np.uint32(aj * v6 + bj), np.uint32(aj * v7 + bj))
                row[j] = min(row[j], min(min(m0, m1), min(m2, m3)))
            s += 8
        while s < cnt:
            v0 = vals[s]
            for j in range(k):
                row[j] = min(row[j], np.uint32(perm_a[j] * v0 + perm_b[j]))
            s += 1
        sig[u, :] = row


@njit(cache=True, nogil=True)
def _oph(tok_hash, unit_a, unit_b, n, k, seed, probes, h, bin_of, value, sig):
    n_units = unit_a.size
    bins = np.empty(k, np.uint64)
    left = np.empty(k + 1, np.int64)
    kk = U64(k)
    s64 = _oph_seed(seed)
    one = np.empty(1, np.uint64)
    for u in range(n_units):
        first, cnt = shingle_span(unit_a[u], unit_b[u], n)
        if cnt == 0:
            sig[u, :] = 0xFFFFFFFF
            continue
        if first < 0:
            one[0] = short_shingle(tok_hash, unit_a[u], unit_b[u])
            vals = one
        else:
            vals = h[first : first + cnt]
        # 64-bit bins with an out-of-range sentinel: the update is a branch-free min, and a bin is
        # filled exactly when it holds a value below the sentinel.
        bins[:] = NOT_FILLED
        m = vals.size
        if m >= _SPLIT_FROM:
            # Mixing in a loop of its own, which vectorizes, and only the scatter left scalar
            # (450-shingle units at k=128: 1.10 -> 0.79 us); short units gain nothing from the pass.
            for s in range(m):
                v = fmix64(vals[s] ^ s64)
                bin_of[s] = ((v >> U64(32)) * kk) >> U64(32)
                value[s] = v & MASK32
            for s in range(m):
                b = bin_of[s]
                bins[b] = min(bins[b], value[s])
        else:
            for s in range(m):
                v = fmix64(vals[s] ^ s64)
                b = ((v >> U64(32)) * kk) >> U64(32)
                bins[b] = min(bins[b], v & MASK32)
        # Densify: an empty bin takes the value of the first filled bin in its probe sequence, a
        # function of the seed alone (the same for every unit, which keeps estimates unbiased), so
        # the probes come from a table made once per (k, seed), and each probe is one branch-free
        # pass over the bins still empty (a branch per probe was mispredicted about once a bin:
        # paragraph units, most of whose bins are empty, cost half again as much as with classic).
        row = sig[u]
        n_left = 0
        for j in range(k):
            own = bins[j]
            row[j] = np.uint32(own & MASK32)
            left[n_left] = j
            n_left += own == NOT_FILLED
        a = 0  # compacting the list of empty bins in place, pass by pass
        while n_left > 0 and a < probes.shape[0]:
            n_next = 0
            probe = probes[a]  # every bin's a-th probe: one row, which stays in L1 from unit to unit
            for q in range(n_left):
                j = left[q]
                v = bins[probe[j]]
                row[j] = np.uint32(v & MASK32)
                left[n_next] = j
                n_next += v == NOT_FILLED
            n_left = n_next
            a += 1
        for q in range(n_left):  # past the table (units of fewer than k / 32 shingles)
            j = left[q]
            attempt = probes.shape[0] + 1
            while True:
                v = bins[_probe(s64, kk, j, attempt)]
                if v != NOT_FILLED:
                    row[j] = np.uint32(v)
                    break
                attempt += 1


@njit(inline="always", cache=True)
def _oph_seed(seed):
    """The 64-bit key that seeds both OPH's shingle mix and its probe sequence."""
    return fmix64(U64(seed) + U64(0x9E3779B97F4A7C15))


@njit(inline="always", cache=True)
def _probe(s64, kk, j, attempt):
    """The bin that empty bin j borrows from at its attempt-th try (1, 2, ...)."""
    r = fmix64(s64 ^ (U64(j) * U64(0xD6E8FEB86659FD93)) ^ (U64(attempt) * U64(0xA0761D6478BD642F)))
    return np.int64(((r >> U64(32)) * kk) >> U64(32))


@njit(cache=True)
def _probe_table(k, seed, attempts):
    s64 = _oph_seed(seed)
    out = np.empty((attempts, k), np.int32)
    for a in range(attempts):
        for j in range(k):
            out[a, j] = _probe(s64, U64(k), j, a + 1)
    return out


# Probes per bin in the table. A unit of m shingles leaves about k * exp(-m / k) bins empty, each
# needing about k / m probes: 32 cover every unit of k / 32 shingles or more.
_TABLE_PROBES = 32


@lru_cache(maxsize=16)
def probe_table(k: int, seed: int) -> np.ndarray:
    """(_TABLE_PROBES, k): row a holds the bin each bin borrows from at its (a + 1)-th probe.

    Attempt-major: a unit's empty bins all read row 0 first, so a pass touches one row of k int32
    (1 KiB at k=256) instead of a 128-byte line per empty bin across the whole 32 KiB table."""
    table = _probe_table(k, seed, _TABLE_PROBES)
    table.setflags(write=False)
    return table


def shingle_values(
    tok_hash: np.ndarray, *, ngram: int, method: str, ws: Workspace
) -> tuple[np.ndarray, np.ndarray | None]:
    """A batch's shingle hashes (and for classic their affine32 pre-mix), in the workspace's
    memory: computed once per batch and shared by every level's units, which are slices of them."""
    shingles = ws.array("shingles", tok_hash.size, np.uint64)
    batch_shingles(tok_hash, ngram, shingles)
    if method != "classic":
        return shingles, None
    mixed = ws.array("mixed32", tok_hash.size, np.uint32)
    _mixed32(shingles, mixed)
    return shingles, mixed


def unit_signatures(
    tok_hash: np.ndarray,
    unit_a: np.ndarray,
    unit_b: np.ndarray,
    *,
    ngram: int,
    num_perm: int,
    method: str,
    seed: int,
    out: np.ndarray | None = None,
    ws: Workspace | None = None,
    shingled: tuple[np.ndarray, np.ndarray | None] | None = None,
) -> np.ndarray:
    """Signatures of units given as token ranges [unit_a, unit_b) over `tok_hash`.

    Written into `out` when given (a (n_units, num_perm) uint32 array), else into the workspace's
    memory (valid until its next use) or, with neither, a fresh array. `shingled` is
    shingle_values' result for this tok_hash when the caller signs several levels of one batch.
    """
    if method not in ("classic", "oph"):
        raise ValueError(f"unknown MinHash method {method!r}")
    ws = ws if ws is not None else Workspace()
    if out is None:
        out = ws.matrix("signatures", unit_a.size, num_perm, np.uint32)
    shingles, mixed = (
        shingled if shingled is not None else shingle_values(tok_hash, ngram=ngram, method=method, ws=ws)
    )
    if method == "classic":
        a, b = permutations(num_perm, seed)
        _classic(tok_hash, unit_a, unit_b, ngram, a, b, mixed, out)
    else:
        bin_of = ws.array("oph_bin", tok_hash.size, np.uint64)
        value = ws.array("oph_value", tok_hash.size, np.uint64)
        _oph(
            tok_hash,
            unit_a,
            unit_b,
            ngram,
            num_perm,
            seed,
            probe_table(num_perm, seed),
            shingles,
            bin_of,
            value,
            out,
        )
    return out


def signatures_from_parts(
    tok_hash: np.ndarray,
    unit_a: np.ndarray,
    unit_b: np.ndarray,
    part_a: np.ndarray,
    part_b: np.ndarray,
    part_sig: np.ndarray,
    *,
    ngram: int,
    num_perm: int,
    seed: int,
    ws: Workspace,
    shingled: tuple[np.ndarray, np.ndarray | None],
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Classic signatures of units, given the classic signatures of parts of them (a document's
    paragraphs): bit for bit what unit_signatures gives.

    A classic signature is a minimum per permutation over the unit's shingles, and a minimum over
    a union is the minimum of the minima. So a document's signature is the element-wise minimum of
    its paragraphs' signatures and of the signature of its remaining shingles: those that cross a
    paragraph break (n - 1 per break) and those of paragraphs too short to be units, gathered into
    one run per document (signed as separate runs of four, they cost as much as the whole
    document).

    Parts are token ranges sorted by start, each inside one unit; a part shorter than n tokens
    contributes nothing (its one shingle is not one of the unit's), nor does a part overlapping
    one before it.
    """
    mixed = shingled[1]
    assert mixed is not None, "classic shingles come pre-mixed"
    gathered = ws.array("gap_values", tok_hash.size, np.uint32)
    gap_a, gap_b, took_at, took = _gather_gaps(unit_a, unit_b, part_a, part_b, ngram, mixed, gathered)
    gap_sig = ws.matrix("gap_signatures", unit_a.size, num_perm, np.uint32)
    a, b = permutations(num_perm, seed)
    _classic(tok_hash, gap_a, gap_b, ngram, a, b, gathered, gap_sig)
    if out is None:
        out = ws.matrix("signatures", unit_a.size, num_perm, np.uint32)
    _min_of_parts(took_at, took, part_sig, gap_sig, out)
    return out


@njit(cache=True, nogil=True)
def _gather_gaps(unit_a, unit_b, part_a, part_b, n, mixed, gathered):
    """Per unit, the pre-mixed values of its shingles that none of its parts holds, copied into one
    run of `gathered`, and the parts it takes whole (took[took_at[u]:took_at[u + 1]]).

    Returns (gap_a, gap_b, took_at, took): token ranges that _classic reads as those runs (an empty
    range for a unit with none), except that a unit shorter than n tokens keeps its own range, so
    _classic signs its one shingle from the tokens."""
    gap_a = np.empty(unit_a.size, np.int64)
    gap_b = np.empty(unit_a.size, np.int64)
    took_at = np.empty(unit_a.size + 1, np.int64)
    took = np.empty(part_a.size, np.int64)
    g = 0
    t = 0
    p = 0
    for u in range(unit_a.size):
        a, b = unit_a[u], unit_b[u]
        took_at[u] = t
        while p < part_a.size and part_a[p] < a:
            p += 1
        if b - a < n:
            gap_a[u], gap_b[u] = a, b
            continue
        first = g
        cur = a  # the first shingle start not yet covered
        while p < part_a.size and part_a[p] < b:
            pa, pb = part_a[p], part_b[p]
            p += 1
            if pb - pa < n or pa < cur:
                continue
            for s in range(cur, pa):
                gathered[g] = mixed[s]
                g += 1
            cur = pb - n + 1
            took[t] = p - 1
            t += 1
        for s in range(cur, b - n + 1):
            gathered[g] = mixed[s]
            g += 1
        gap_a[u] = first
        gap_b[u] = first + (g - first + n - 1 if g > first else 0)
    took_at[unit_a.size] = t
    return gap_a, gap_b, took_at, took[:t]


@njit(cache=True, nogil=True)
def _min_of_parts(took_at, took, part_sig, gap_sig, sig):
    """sig[u] = the element-wise minimum of gap_sig[u] and the signatures of the parts unit u took."""
    k = sig.shape[1]
    for u in range(sig.shape[0]):
        row = sig[u]
        row[:] = gap_sig[u]
        for q in range(took_at[u], took_at[u + 1]):
            src = part_sig[took[q]]
            for j in range(k):
                row[j] = min(row[j], src[j])


def to_lean_minhash(signature: np.ndarray, seed: int = 1):
    """One classic signature row as a datasketch LeanMinHash (for datasketch's LSH and storage)."""
    from datasketch import LeanMinHash

    return LeanMinHash(seed=seed, hashvalues=np.asarray(signature, dtype=np.uint32), scheme="affine32")


def estimate_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Fraction of equal slots: the MinHash estimate of Jaccard similarity.

    Two empty sketches (all slots unset) estimate 0, as exact Jaccard of two empty sets is 0 here.
    """
    a, b = np.asarray(sig_a), np.asarray(sig_b)
    if np.all(a == EMPTY) and np.all(b == EMPTY):
        return 0.0
    return float(np.count_nonzero(a == b)) / len(a)
