"""Shared passages: maximal spans of text that occur in two or more places, with small edits.

Paragraph MinHash finds whole copied paragraphs; a quote or a syndicated paragraph reprinted inside
different words needs alignment. The stages, each over whole arrays:

1. index: every word n-gram of every document, as one uint64 sort key (the top 32 bits of its
   64-bit hash, then its global token position) plus the low 32 hash bits by position, so two
   n-grams match only when all 64 bits do. 12 bytes per word, sorted once.
2. seeds: an n-gram in two or more places and in at most `max_df` documents pairs those places.
   One in more documents is boilerplate: it seeds nothing (see 6).
3. runs: seed pairs on one diagonal (the same offset between the two places) whose n-grams are
   at most `max_gap` words apart form a run; a changed word leaves such a gap.
4. alignments: runs of one pair of documents on nearby diagonals that follow each other (a dropped
   or inserted clause shifts the diagonal) merge into one alignment. A banded, gapped X-drop
   extension then carries each end past its first and last seed, across a changed, inserted or
   dropped word near the end that left too few matching words for a seed (see _extend_one).
5. places and clusters: per document, aligned spans that mostly overlap (the same passage found by
   several alignments) are one place; a short passage inside a longer repeated stretch is a place
   of its own. Alignments link places; connected places form a passage cluster. An alignment that
   a document or paragraph cluster already covers (both of its sides lie in members of one such
   cluster) is dropped, so nothing is reported twice.
6. boilerplate: runs of consecutive boilerplate n-grams form spans, and spans with identical words
   form one `boilerplate` cluster each: reported once, and never counted as reuse.

Passage search grows with the number of words and of matching places, not with the number of
document pairs: no pair of documents is looked at unless it shares seeds.
"""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from numba import njit

from .arrays import sorted_unique
from .cluster import component_labels
from .config import ScanConfig
from .hashing import MASK32, P64_1, U64, _xxh64_avalanche, xxh64_round
from .lsh import hash_sort
from .model import Cluster, DedupError, Document
from .shingle import batch_shingles
from .text import token_char_spans, token_char_spans_batch, tokenize_batch, tokens
from .workspace import ordered_thread_map, thread_map, thread_workspace

# Places of one n-gram that are paired all against all; more are linked as a star plus a chain.
_ALL_PAIRS_UP_TO = 64
# Memory for the n-gram sort keys in memory at once; a larger corpus's keys wait in temporary files,
# one per hash partition, and are sorted a partition at a time.
_KEY_BUDGET = 384 << 20
_MAX_SPILL_FILES = 128  # open temporary files the thread count may multiply the partitions up to
# An alignment counts as already reported when this share of each side lies in unit-cluster members.
_EXPLAINED = 0.9
# Extension past the seeds: match, mismatch and gap scores, and the drop below the best that ends
# it (see _extend_one); _BAND: the most words one side may gain on the other while extending.
_SCORE = np.array([1, -1, -1, 4], dtype=np.int64)
_BAND = 3
_EXTEND_SLACK = 3  # words an alignment may lack before extension and still be extended


@dataclass(frozen=True, slots=True)
class Alignment:
    """Two places holding the same passage: token ranges [a0, a1) of doc_a and [b0, b1) of doc_b."""

    doc_a: int
    a0: int
    a1: int
    doc_b: int
    b0: int
    b1: int
    identity: float  # words covered by matching n-grams / the longer side
    exact: bool  # one diagonal, fully covered, equal lengths: the same words


@dataclass(slots=True)
class PassageStats:
    words: int = 0
    seed_pairs: int = 0
    alignments: int = 0
    explained: int = 0  # alignments dropped as already reported by a document or paragraph cluster
    boilerplate_ngrams: int = 0


# --- 1. index ---------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _seed_keys(shingles, doc_start, n, parts, keys, part_of, low):
    """Keys (hash top 32 bits << 32 | position in the batch) of every full n-gram of a batch, the
    hash partition (of `parts`) of each, and the low 32 hash bits of every position. Returns the
    number of keys written."""
    k = 0
    for d in range(doc_start.size - 1):
        a = doc_start[d]
        b = doc_start[d + 1]
        for i in range(a, b):
            h = shingles[i]
            low[i] = np.uint32(h & MASK32)
            top = h >> U64(32)
            if i + n <= b:
                keys[k] = (top << U64(32)) | U64(i)
                part_of[k] = np.int64((top * U64(parts)) >> U64(32))
                k += 1
    return k


@njit(cache=True, nogil=True)
def _group_by_part(keys, part_of, parts, out):
    """keys grouped by partition into out (a counting sort, order kept within a partition);
    returns the bounds of each partition's keys in out."""
    bounds = np.zeros(parts + 1, np.int64)
    for i in range(keys.size):
        bounds[part_of[i] + 1] += 1
    for p in range(parts):
        bounds[p + 1] += bounds[p]
    at = bounds[:-1].copy()
    for i in range(keys.size):
        p = part_of[i]
        out[at[p]] = keys[i]
        at[p] += 1
    return bounds


def _index(
    documents: list[Document], config: ScanConfig, spill: list[BinaryIO] | None = None, threads: int = 1
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """(sorted n-gram keys, low hash bits by global position, first global token of each document),
    in one pass over the documents (reading and tokenizing every text is most of this stage).

    With `spill` (one temporary file per hash partition, for a corpus whose keys would not fit
    _KEY_BUDGET at once) each batch's keys are appended to their partition's file instead, and
    None is returned for the keys: an n-gram's places all fall in one partition, so seeds are then
    found partition by partition, each read back and sorted alone. A pass per partition re-read
    and re-tokenized every text: 200k documents in four partitions took 15.8 s to index, in one.

    Batches are keyed on `threads` threads (the kernels release the GIL), a few ahead of the one
    this thread places: keys hold batch-local positions until the batch's place is known.
    """
    parts = len(spill) if spill is not None else 1
    doc_start = np.zeros(len(documents) + 1, dtype=np.int64)
    key_parts, low_parts = [], []
    base = 0
    starts = range(0, len(documents), config.batch_size)
    work = lambda i: _batch_index(documents[i : i + config.batch_size], config.ngram, parts)  # noqa: E731
    for i, (keys, bounds, low, batch_start) in zip(starts, ordered_thread_map(work, starts, threads), strict=True):
        if base + low.size >= 2**32:
            raise DedupError("the passage level handles up to 2**32 words in one scan; scan fewer documents")
        keys += np.uint64(base)  # the low 32 bits hold the position: base + position < 2**32
        if spill is None:
            key_parts.append(keys)
        else:
            for p, f in enumerate(spill):
                _write_keys(f, keys[bounds[p] : bounds[p + 1]])
        low_parts.append(low)
        doc_start[i + 1 : i + batch_start.size] = base + batch_start[1:]
        base += low.size
    low = np.concatenate(low_parts) if low_parts else np.empty(0, np.uint32)
    if spill is not None:
        return None, low, doc_start
    keys = np.concatenate(key_parts) if key_parts else np.empty(0, np.uint64)
    del key_parts
    return hash_sort(keys), low, doc_start


def _batch_index(chunk: list[Document], n: int, parts: int):
    """One batch's (n-gram keys with batch-local positions, grouped by partition; the bounds of
    each partition's keys; low hash bits by position; first token of each document)."""
    ws = thread_workspace()
    tk = tokenize_batch([d.text for d in chunk], ws, hashes_only=True)
    shingles = ws.array("passage_shingles", tk.hash.size, np.uint64)
    batch_shingles(tk.hash, n, shingles)
    keys = ws.array("passage_keys", tk.hash.size, np.uint64)
    part_of = ws.array("passage_part", tk.hash.size, np.int64)
    low = np.empty(tk.hash.size, dtype=np.uint32)
    k = _seed_keys(shingles, tk.doc_start, n, parts, keys, part_of, low)
    grouped = np.empty(k, np.uint64)
    bounds = _group_by_part(keys[:k], part_of[:k], parts, grouped)
    return grouped, bounds, low, tk.doc_start.copy()


def _spill_file() -> BinaryIO:
    try:
        return tempfile.TemporaryFile()
    except OSError as err:
        raise DedupError(f"passage index: cannot make a temporary file: {err.strerror or err}") from None


def _write_keys(f: BinaryIO, keys: np.ndarray) -> None:
    try:
        f.write(keys.data)  # ndarray.tofile cost ~14 us a call against ~2 us, per partition per batch
    except OSError as err:
        raise DedupError(f"passage index: cannot write its temporary file: {err.strerror or err}") from None


def _read_keys(f: BinaryIO) -> np.ndarray:
    """One partition's keys back from its file, sorted (in place: no second copy)."""
    try:
        f.flush()
        f.seek(0)
        keys = np.fromfile(f, dtype=np.uint64)
        f.truncate(0)  # its disk space is free again as soon as it is read
    except OSError as err:
        raise DedupError(f"passage index: cannot read its temporary file back: {err.strerror or err}") from None
    keys.sort()
    return keys


# --- 2. seeds ---------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _doc_of(doc_start, pos):
    """The document holding global token position pos (binary search; numba's searchsorted on a
    scalar allocated an array per call)."""
    lo = 0
    hi = doc_start.size - 1
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if doc_start[mid] <= pos:
            lo = mid
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def _groups(keys, low, i, j, scratch):
    """Positions of keys[i:j] (equal top hash bits) ordered by (low bits, position) into scratch.
    Nearly always the low bits agree too (one n-gram) and the positions are already in order."""
    m = j - i
    mixed = False
    first_low = low[keys[i] & MASK32]
    for t in range(m):
        p = keys[i + t] & MASK32
        lo = low[p]
        mixed |= lo != first_low
        scratch[t] = (U64(lo) << U64(32)) | p
    if mixed:
        scratch[:m].sort()
    return m


@njit(inline="always", cache=True)
def _run_end(keys, i):
    """End of the run of keys sharing keys[i]'s top 32 hash bits (keys are sorted)."""
    top = keys[i] >> U64(32)
    j = i + 1
    while j < keys.size and (keys[j] >> U64(32)) == top:
        j += 1
    return j


@njit(cache=True, nogil=True)
def _shared_count(keys):
    """Keys whose top 32 hash bits occur more than once (an upper bound on the shared n-grams)."""
    n_keys = keys.size
    total = 0
    i = 0
    while i < n_keys:
        j = _run_end(keys, i)
        if j - i >= 2:
            total += j - i
        i = j
    return total


@njit(cache=True, nogil=True)
def _shared_ngrams(keys, low, doc_start, pos, doc, group_start, group_hash):
    """The places of every n-gram (all 64 hash bits) that occurs more than once: global positions
    `pos` (ascending within a group) and their documents `doc`, grouped from group_start[g], with
    each group's 64-bit n-gram hash. Returns (places written, groups written)."""
    n_keys = keys.size
    k = 0
    n_groups = 0
    i = 0
    while i < n_keys:
        top = keys[i] >> U64(32)
        j = _run_end(keys, i)
        if j - i >= 2:
            base = k  # the run's places go to pos[base:], then each repeated n-gram is compacted to pos[k:]
            m = _groups(keys, low, i, j, pos[base:])
            g0 = 0
            while g0 < m:
                lo = U64(pos[base + g0]) >> U64(32)
                g1 = g0 + 1
                while g1 < m and (U64(pos[base + g1]) >> U64(32)) == lo:
                    g1 += 1
                if g1 - g0 >= 2:
                    group_start[n_groups] = k
                    group_hash[n_groups] = (top << U64(32)) | lo
                    n_groups += 1
                    for t in range(g0, g1):
                        p = np.int64(U64(pos[base + t]) & MASK32)
                        pos[k] = p
                        doc[k] = _doc_of(doc_start, p)
                        k += 1
                g0 = g1
        i = j
    group_start[n_groups] = k
    return k, n_groups


@njit(cache=True, nogil=True)
def _emit_pairs(pos, doc, doc_start, group_start, seeding, dense, n, out_da, out_a, out_db, out_b):
    """Seed pairs (a < b) of the seeding groups: all pairs of a dense group, else a star from its
    first place plus a chain through consecutive places. Overlapping places of one repetitive
    stretch of a document are skipped. Each pair is written as (document, position in it) of both
    places. Returns the number of pairs written."""
    k = 0
    for g in range(group_start.size - 1):
        if not seeding[g]:
            continue
        a = group_start[g]
        b = group_start[g + 1]
        for s in range(a, b):
            t_end = b if (dense[g] or s == a) else min(s + 2, b)
            for t in range(s + 1, t_end):
                if pos[t] - pos[s] < n and doc[s] == doc[t]:
                    continue
                out_da[k] = doc[s]
                out_a[k] = pos[s] - doc_start[doc[s]]
                out_db[k] = doc[t]
                out_b[k] = pos[t] - doc_start[doc[t]]
                k += 1
    return k


def _seed_pairs(
    keys: np.ndarray, low: np.ndarray, doc_start: np.ndarray, n: int, max_df: int, all_pairs_up_to: int
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray, np.ndarray, int]:
    """(seed pairs as (doc_a, position in doc_a, doc_b, position in doc_b); boilerplate global
    positions and their n-gram hashes; boilerplate n-grams).

    An n-gram in 2+ places and at most max_df documents seeds pairs; one in more documents is
    boilerplate. An n-gram in up to `all_pairs_up_to` places pairs them all; a more common one
    links each place to its first (a star) and to the one before it (a chain), so a passage copied
    a thousand times costs linear, not quadratic, work, and every copy still aligns with the first.
    """
    size = _shared_count(keys)
    pos = np.empty(size, np.int64)
    doc = np.empty(size, np.int64)
    group_start = np.empty(size // 2 + 1, np.int64)
    group_hash = np.empty(size // 2 + 1, np.uint64)
    used, n_groups = _shared_ngrams(keys, low, doc_start, pos, doc, group_start, group_hash)
    pos, doc, group_start = pos[:used], doc[:used], group_start[: n_groups + 1]
    sizes = np.diff(group_start)
    first = group_start[:-1]
    new_doc = np.ones(used, dtype=np.int64)
    new_doc[1:] = doc[1:] != doc[:-1]
    new_doc[first] = 1
    df = np.add.reduceat(new_doc, first) if n_groups else np.empty(0, np.int64)
    boiler_group = df > max_df
    dense = sizes <= all_pairs_up_to
    bound = int(np.where(dense, sizes * (sizes - 1) // 2, 2 * sizes)[~boiler_group].sum())
    out = [np.empty(bound, np.int64) for _ in range(4)]
    k = _emit_pairs(pos, doc, doc_start, group_start, ~boiler_group, dense, n, *out)
    in_boiler = np.repeat(boiler_group, sizes)
    b_pos = pos[in_boiler]
    b_hash = np.repeat(group_hash[:n_groups], sizes)[in_boiler]
    da, la, db, lb = (x[:k] for x in out)
    return (da, la, db, lb), b_pos, b_hash, int(boiler_group.sum())


def _by_diagonal(da: np.ndarray, la: np.ndarray, db: np.ndarray, lb: np.ndarray, n_docs: int):
    """The seed pairs sorted by (doc_a, doc_b, diagonal lb - la, la), as _diagonal_runs reads them
    (and in its argument order: da, db, la, lb).

    The four fields are packed into one uint64 whenever they fit (documents of up to ~2**13 words
    at 200k documents; always for smaller corpora) and the packed keys sorted by value, numpy's
    SIMD sort, then unpacked: np.lexsort of the four took 3.7 s for 4.3M seed pairs here.
    """
    if da.size == 0:
        return da, db, la, lb
    bd = max(1, (n_docs - 1).bit_length())
    bl = max(1, int(max(la.max(), lb.max())).bit_length())  # 0 <= la, lb < 2**bl
    if 2 * bd + 2 * bl + 1 > 64:
        order = np.lexsort((la, lb - la, db, da))
        return da[order], db[order], la[order], lb[order]
    u = np.uint64
    key = da.astype(u) << u(bd + 2 * bl + 1)
    key |= db.astype(u) << u(2 * bl + 1)
    key |= (lb - la + (1 << bl)).astype(u) << u(bl)  # the diagonal, offset to be non-negative
    key |= la.astype(u)
    key.sort()
    la = (key & u((1 << bl) - 1)).astype(np.int64)
    diag = ((key >> u(bl)) & u((1 << (bl + 1)) - 1)).astype(np.int64) - (1 << bl)
    db = ((key >> u(2 * bl + 1)) & u((1 << bd) - 1)).astype(np.int64)
    da = (key >> u(bd + 2 * bl + 1)).astype(np.int64)
    return da, db, la, la + diag


# --- 3, 4. runs and alignments ----------------------------------------------------------------


@njit(cache=True, nogil=True)
def _diagonal_runs(da, db, la, lb, n, gap):
    """Seed pairs sorted by (doc_a, doc_b, diagonal, la) -> runs: seeds on one diagonal with at
    most `gap` unmatched words between consecutive n-grams. Returns (doc_a, doc_b, a0, a1, diag,
    covered words)."""
    m = da.size
    r_da = np.empty(m, np.int64)
    r_db = np.empty(m, np.int64)
    r_a0 = np.empty(m, np.int64)
    r_a1 = np.empty(m, np.int64)
    r_dg = np.empty(m, np.int64)
    r_cov = np.empty(m, np.int64)
    k = 0
    i = 0
    while i < m:
        diag = lb[i] - la[i]
        a0 = la[i]
        a1 = la[i] + n
        cov = n
        j = i + 1
        while j < m and da[j] == da[i] and db[j] == db[i] and lb[j] - la[j] == diag and la[j] - a1 <= gap:
            end = la[j] + n
            if end > a1:
                cov += end - max(la[j], a1)
                a1 = end
            j += 1
        r_da[k] = da[i]
        r_db[k] = db[i]
        r_a0[k] = a0
        r_a1[k] = a1
        r_dg[k] = diag
        r_cov[k] = cov
        k += 1
        i = j
    return r_da[:k], r_db[:k], r_a0[:k], r_a1[:k], r_dg[:k], r_cov[:k]


_OPEN = 16  # alignments of one document pair still open to extension


@njit(inline="always", cache=True)
def _emit(out, k, al, da, db, min_words):
    """Write alignment `al` (a0, a1, b0, b1, diag, covered, runs) as row k if both sides are long
    enough and, within one document, do not overlap; return the next free row."""
    if al[1] - al[0] < min_words or al[3] - al[2] < min_words:
        return k
    if da == db and al[2] < al[1]:
        return k
    out[k, 0] = da
    out[k, 1] = al[0]
    out[k, 2] = al[1]
    out[k, 3] = db
    out[k, 4] = al[2]
    out[k, 5] = al[3]
    out[k, 6] = al[5]
    out[k, 7] = al[6]
    return k + 1


@njit(cache=True, nogil=True)
def _merge_runs(r_da, r_db, r_a0, r_a1, r_dg, r_cov, gap, min_words):
    """Runs sorted by (doc_a, doc_b, a0) -> alignments: a run joins an open alignment of the same
    document pair when it starts at most `gap` words after it on both sides, moves forward on both,
    and its diagonal is within `gap` of the alignment's last one. Returns rows of
    (doc_a, a0, a1, doc_b, b0, b1, covered, runs), both sides at least min_words long."""
    m = r_da.size
    out = np.empty((m, 8), np.int64)
    k = 0
    op = np.empty((_OPEN, 8), np.int64)  # a0, a1, b0, b1, last diag, covered, runs, unused
    n_open = 0
    i = 0
    while i < m:
        j = i
        while j < m and r_da[j] == r_da[i] and r_db[j] == r_db[i]:
            j += 1
        n_open = 0
        for r in range(i, j + 1):
            flush_all = r == j
            a0 = r_a0[r] if not flush_all else 0
            # close (emit) alignments no later run can reach
            c = 0
            while c < n_open:
                if flush_all or op[c, 1] + gap < a0:
                    k = _emit(out, k, op[c], r_da[i], r_db[i], min_words)
                    op[c, :] = op[n_open - 1, :]
                    n_open -= 1
                else:
                    c += 1
            if flush_all:
                break
            a1 = r_a1[r]
            dg = r_dg[r]
            b0 = a0 + dg
            b1 = a1 + dg
            joined = False
            for c in range(n_open - 1, -1, -1):
                if (
                    a0 >= op[c, 0]
                    and b0 >= op[c, 2]
                    and a0 - op[c, 1] <= gap
                    and b0 - op[c, 3] <= gap
                    and abs(dg - op[c, 4]) <= gap
                    and a1 > op[c, 1]
                    and b1 > op[c, 3]
                ):
                    overlap = max(0, op[c, 1] - a0)
                    op[c, 5] += max(r_cov[r] - overlap, 0)
                    op[c, 1] = a1
                    op[c, 3] = b1
                    op[c, 4] = dg
                    op[c, 6] += 1
                    joined = True
                    break
                if a0 >= op[c, 0] and a1 <= op[c, 1] and b0 >= op[c, 2] and b1 <= op[c, 3]:
                    joined = True  # inside an alignment already: nothing new
                    break
            if not joined:
                if n_open == _OPEN:  # the oldest open alignment gives way
                    k = _emit(out, k, op[0], r_da[i], r_db[i], min_words)
                    op[0 : n_open - 1, :] = op[1:n_open, :]
                    n_open -= 1
                op[n_open, 0] = a0
                op[n_open, 1] = a1
                op[n_open, 2] = b0
                op[n_open, 3] = b1
                op[n_open, 4] = dg
                op[n_open, 5] = r_cov[r]
                op[n_open, 6] = 1
                n_open += 1
        i = j
    return out[:k]


def _partitions(documents: list[Document], threads: int = 1) -> int:
    """Hash partitions of the n-gram keys, so that the keys of the partitions `threads` work on at
    once (8 bytes per word, twice while gathered in memory) stay within _KEY_BUDGET; words
    estimated from characters. More partitions cost no more indexing (one pass makes them all),
    but each past the first is an open temporary file: past _MAX_SPILL_FILES, partitions are only
    as many as one thread needs (171 at the 2**32-word limit), and the threads working at once may
    hold up to `threads` times the budget."""
    words = sum(d.chars for d in documents) / 5
    alone = max(1, int(np.ceil(words * 16 / _KEY_BUDGET)))
    shared = max(1, int(np.ceil(words * 16 * max(1, threads) / _KEY_BUDGET)))
    return min(shared, max(alone, _MAX_SPILL_FILES))


def _seeds_by_partition(documents: list[Document], config: ScanConfig, threads: int):
    """(_seed_pairs' result for each hash partition, first global token of each document): the
    index and its keys live only in here."""
    max_df = config.max_df(len(documents))
    parts = _partitions(documents, threads)
    with ExitStack() as stack:
        spill = [stack.enter_context(_spill_file()) for _ in range(parts)] if parts > 1 else None
        keys, low, doc_start = _index(documents, config, spill, threads)

        def seeds(part: int):
            part_keys = keys if spill is None else _read_keys(spill[part])
            return _seed_pairs(part_keys, low, doc_start, config.ngram, max_df, _ALL_PAIRS_UP_TO)

        return thread_map(seeds, range(parts), threads), doc_start


def _alignments(
    documents: list[Document], config: ScanConfig, stats: PassageStats, threads: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(alignment rows as in _merge_runs, boilerplate n-gram global positions sorted, their hashes,
    first global token of each document). Partitions find their seeds on `threads` threads: the
    sorts and kernels release the GIL, and each partition reads only its own file."""
    n = config.ngram
    found, doc_start = _seeds_by_partition(documents, config, threads)
    pair_parts = [f[0] for f in found]
    b_parts, bh_parts = [f[1] for f in found], [f[2] for f in found]
    stats.boilerplate_ngrams += sum(f[3] for f in found)
    del found
    stats.words = int(doc_start[-1])
    da, la, db, lb = (np.concatenate([p[f] for p in pair_parts]) for f in range(4))
    boiler, boiler_hash = np.concatenate(b_parts), np.concatenate(bh_parts)
    del pair_parts
    stats.seed_pairs = int(da.size)
    runs = _diagonal_runs(*_by_diagonal(da, la, db, lb, len(documents)), n, config.max_gap)
    del da, db, la, lb
    r_da, r_db, r_a0, r_a1, r_dg, r_cov = runs
    order = np.lexsort((r_a1, r_a0, r_db, r_da))
    # Alignments a little short of min_words may still reach it by extension (see _extend).
    rows = _merge_runs(
        r_da[order],
        r_db[order],
        r_a0[order],
        r_a1[order],
        r_dg[order],
        r_cov[order],
        config.max_gap,
        max(n, config.passage_min_words - _EXTEND_SLACK),
    )
    order = np.argsort(boiler, kind="stable")
    return rows, boiler[order], boiler_hash[order], doc_start


# --- 4b. extension past the seeds ---------------------------------------------------------------


_NONE = -(1 << 40)  # score of a cell no alignment reaches


@njit(inline="always", cache=True)
def _usable(boiler, x, lim, step):
    """Whether token x lies inside the limit (exclusive, in direction step) and is not boilerplate
    (boilerplate is reported once, on its own, never as part of a passage)."""
    if step > 0:
        return x < lim and not boiler[x]
    return x >= lim and not boiler[x]


@njit(cache=True, nogil=True)
def _extend_one(tok, boiler, a, b, a_lim, b_lim, step, band, score, prev, prev_m, cur, cur_m):
    """Banded, gapped X-drop extension from token a (side A) and b (side B) in direction `step`,
    up to the limits (exclusive). score = (match, mismatch, gap, xdrop): a cell (i words of A, j of
    B, |i - j| <= band) scores its best path of matches, mismatches and one-sided gaps (an inserted
    or dropped word); cells more than xdrop below the best so far are dropped, and the extension
    stops when a whole row is. It ends at the first best cell: with +1, -1, -1 a changed, inserted or
    dropped word is bridged when two matching words follow it, while a lone word matching past it
    (as likely a frequent word matching by chance) is left out. prev, prev_m, cur, cur_m: scratch
    rows of 2 * band + 1. Returns (words of A, words of B, words matched)."""
    match, mismatch, gap, xdrop = score[0], score[1], score[2], score[3]
    width = 2 * band + 1
    best, bi, bj, bm = 0, 0, 0, 0
    ok_b = 0  # B words known usable
    for o in range(width):  # row 0: only gaps in A (j = o - band words of B)
        prev[o] = _NONE
        prev_m[o] = 0
    prev[band] = 0
    for j in range(1, band + 1):
        if not _usable(boiler, b + step * (j - 1), b_lim, step):
            break
        ok_b = j
        prev[band + j] = gap * j if gap * j >= -xdrop else _NONE
    i = 0
    while True:
        i += 1
        x = a + step * (i - 1)
        if not _usable(boiler, x, a_lim, step):
            break
        alive = False
        for o in range(width):
            j = i + o - band
            cur[o] = _NONE
            cur_m[o] = 0
            if j < 0:
                continue
            if j > ok_b:
                if j == ok_b + 1 and _usable(boiler, b + step * (j - 1), b_lim, step):
                    ok_b = j
                else:
                    break
            h = _NONE
            m = 0
            if j >= 1 and prev[o] > _NONE:  # word i of A against word j of B
                same = tok[x] == tok[b + step * (j - 1)]
                h = prev[o] + (match if same else mismatch)
                m = prev_m[o] + (1 if same else 0)
            if o + 1 < width and prev[o + 1] > _NONE:  # word i of A against nothing
                c = prev[o + 1] + gap
                if c > h or (c == h and prev_m[o + 1] > m):
                    h, m = c, prev_m[o + 1]
            if j >= 1 and o >= 1 and cur[o - 1] > _NONE:  # word j of B against nothing
                c = cur[o - 1] + gap
                if c > h or (c == h and cur_m[o - 1] > m):
                    h, m = c, cur_m[o - 1]
            if h < best - xdrop:
                continue
            cur[o] = h
            cur_m[o] = m
            alive = True
            if h > best:
                best, bi, bj, bm = h, i, j, m
        if not alive:
            break
        for o in range(width):
            prev[o] = cur[o]
            prev_m[o] = cur_m[o]
    return bi, bj, bm


@njit(cache=True, nogil=True)
def _extend(rows, tok, boiler, first, count, local, band, score):
    """Extend every alignment past its first and last seed (a changed word just before the end of a
    passage leaves fewer than n matching words after it, so no seed; an inserted or dropped one
    also shifts the diagonal); token hashes of document d are tok[first[local[d]] :
    first[local[d]] + count[local[d]]]."""
    width = 2 * band + 1
    prev = np.empty(width, np.int64)
    prev_m = np.empty(width, np.int64)
    cur = np.empty(width, np.int64)
    cur_m = np.empty(width, np.int64)
    for k in range(rows.shape[0]):
        da, a0, a1, db, b0, b1 = rows[k, 0], rows[k, 1], rows[k, 2], rows[k, 3], rows[k, 4], rows[k, 5]
        fa, fb = first[local[da]], first[local[db]]
        na, nb = count[local[da]], count[local[db]]
        same = da == db
        # forward: side A may not run into side B of the same document
        a_lim = fa + (b0 if same else na)
        ia, jb, m_fwd = _extend_one(
            tok, boiler, fa + a1, fb + b1, a_lim, fb + nb, 1, band, score, prev, prev_m, cur, cur_m
        )
        # backward: side B may not run back into side A of the same document
        b_lim = fb + (a1 + ia if same else 0)
        ia0, jb0, m_bwd = _extend_one(
            tok, boiler, fa + a0 - 1, fb + b0 - 1, fa, b_lim, -1, band, score, prev, prev_m, cur, cur_m
        )
        rows[k, 1] = a0 - ia0
        rows[k, 2] = a1 + ia
        rows[k, 4] = b0 - jb0
        rows[k, 5] = b1 + jb
        rows[k, 6] += m_fwd + m_bwd


def _extend_alignments(
    rows: np.ndarray,
    documents: list[Document],
    config: ScanConfig,
    doc_start: np.ndarray,
    boiler: np.ndarray,
) -> None:
    """Re-tokenize the documents that hold an alignment (few) and extend the alignments in place,
    never into a word covered by a boilerplate n-gram (global positions `boiler`)."""
    if rows.shape[0] == 0:
        return
    involved = sorted_unique(np.concatenate([rows[:, 0], rows[:, 3]]))
    local = np.full(len(documents), -1, dtype=np.int64)
    local[involved] = np.arange(involved.size)
    parts, firsts, counts, base = [], [], [], 0
    ws = thread_workspace()
    for i in range(0, involved.size, config.batch_size):
        chunk = involved[i : i + config.batch_size].tolist()
        tk = tokenize_batch([documents[d].text for d in chunk], ws, hashes_only=True)
        parts.append(tk.hash.copy())
        firsts.append(tk.doc_start[:-1] + base)
        counts.append(np.diff(tk.doc_start))
        base += tk.hash.size
    tok, first = np.concatenate(parts), np.concatenate(firsts)
    flags = np.zeros(tok.size, dtype=np.bool_)
    b_doc = np.searchsorted(doc_start, boiler, side="right") - 1
    mine = local[b_doc] >= 0
    at = first[local[b_doc[mine]]] + (boiler[mine] - doc_start[b_doc[mine]])
    for j in range(config.ngram):  # an n-gram covers its n words (all inside its document)
        flags[at + j] = True
    band = min(_BAND, config.max_gap)
    _extend(rows, tok, flags, first, np.concatenate(counts), local, band, _SCORE)


# --- 5. places and clusters -------------------------------------------------------------------


class _Offsets:
    """Character offsets of tokens, worked out per document on first need (only documents that
    hold a passage are ever looked at)."""

    def __init__(self, documents: list[Document], doc_start: np.ndarray) -> None:
        self.documents = documents
        self.doc_start = doc_start
        self._spans: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def prepare(self, docs: np.ndarray) -> None:
        """Work out the offsets of many documents at once (vectorized for ASCII text)."""
        todo = [d for d in sorted_unique(docs).tolist() if d not in self._spans]
        for d, spans in zip(
            todo, token_char_spans_batch([self.documents[d].text for d in todo]), strict=True
        ):
            self._spans[d] = spans

    def chars(self, doc: int, t0: int, t1: int) -> tuple[int, int]:
        """[start, end) in characters of the document's tokens [t0, t1)."""
        spans = self._spans.get(doc)
        if spans is None:
            spans = self._spans[doc] = token_char_spans(self.documents[doc].text)
        starts, ends = spans
        if starts.size == 0:
            return 0, 0
        # The kernel and token_char_spans agree on the token count except for exotic NFKC
        # compositions; clamping then keeps offsets inside the text and on word boundaries.
        last = starts.size - 1
        return int(starts[min(t0, last)]), int(ends[min(max(t1 - 1, t0), last)])


def _explained(
    rows: np.ndarray, offsets: _Offsets, unit_clusters: list[Cluster]
) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """(mask of alignments not already covered by a unit cluster, their character spans)."""
    members: dict[int, list[tuple[int, int, int]]] = {}
    for ci, c in enumerate(unit_clusters):
        for d, s, e in zip(c.doc.tolist(), c.start.tolist(), c.end.tolist(), strict=True):
            members.setdefault(d, []).append((s, e, ci))
    keep = np.ones(rows.shape[0], dtype=bool)
    chars = []
    for k, (da, a0, a1, db, b0, b1, _, _) in enumerate(rows.tolist()):
        sa, ea = offsets.chars(da, a0, a1)
        sb, eb = offsets.chars(db, b0, b1)
        chars.append((sa, ea, sb, eb))
        if da not in members or db not in members:
            continue
        over_a = {ci for s, e, ci in members[da] if s < ea and e > sa}
        over_b = {ci for s, e, ci in members[db] if s < eb and e > sb}
        common = over_a & over_b
        if not common:
            continue
        cov_a = _covered(sa, ea, [(s, e) for s, e, ci in members[da] if ci in common])
        cov_b = _covered(sb, eb, [(s, e) for s, e, ci in members[db] if ci in common])
        if cov_a >= _EXPLAINED * (ea - sa) and cov_b >= _EXPLAINED * (eb - sb):
            keep[k] = False
    return keep, chars


def _covered(start: int, end: int, intervals: list[tuple[int, int]]) -> int:
    """Characters of [start, end) inside the union of the intervals."""
    total, reach = 0, start
    for s, e in sorted(intervals):
        s, e = max(s, reach), min(e, end)
        if e > s:
            total += e - s
            reach = e
    return total


# Two aligned spans of one document are the same place (one passage) when their overlap is at least
# this share of the longer one. A short quote inside a long repeated stretch overlaps it, but is a
# passage of its own: merging on any overlap chained every small shared span into the big one.
_SAME_PLACE = 0.5


@njit(cache=True, nogil=True)
def _place_kernel(doc, start, end, order, same):
    """Spans visited in `order` (by doc, start, longest first) -> (place of each span, place doc,
    start, end). A span joins the open place of its document it overlaps most if that overlap is at
    least `same` of the longer of the two, else it opens a place; a place's extent is the union of
    its spans. Open places are those reaching past the current start (few: nested passages)."""
    m = order.size
    place_of = np.empty(m, np.int64)
    p_doc = np.empty(m, np.int64)
    p_start = np.empty(m, np.int64)
    p_end = np.empty(m, np.int64)
    open_ = np.empty(m, np.int64)
    n_open = 0
    k = 0
    for t in range(m):
        i = order[t]
        d, s, e = doc[i], start[i], end[i]
        c = 0
        best = -1
        best_over = 0
        while c < n_open:
            q = open_[c]
            if p_doc[q] != d or p_end[q] <= s:
                open_[c] = open_[n_open - 1]  # closed: no later span (later start) reaches it
                n_open -= 1
                continue
            over = min(e, p_end[q]) - max(s, p_start[q])
            if over >= same * max(e - s, p_end[q] - p_start[q]) and over > best_over:
                best, best_over = q, over
            c += 1
        if best < 0:
            p_doc[k], p_start[k], p_end[k] = d, s, e
            open_[n_open] = k
            n_open += 1
            best = k
            k += 1
        else:
            p_start[best] = min(p_start[best], s)
            p_end[best] = max(p_end[best], e)
        place_of[i] = best
    return place_of, p_doc[:k], p_start[:k], p_end[:k]


def _places(spans: list[tuple[int, int, int]]) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """Spans (doc, start, end) -> (place of each span, places as (doc, start, end)): in one document,
    spans that mostly overlap (_SAME_PLACE) are one place, the same passage found by several
    alignments with slightly different ends. A text repeated back to back aligns in several
    overlapping ways; members of one cluster that still overlap are merged in _clusters_of_places."""
    arr = np.array(spans, dtype=np.int64).reshape(-1, 3)
    order = np.lexsort((-arr[:, 2], arr[:, 1], arr[:, 0]))
    place_of, p_doc, p_start, p_end = _place_kernel(arr[:, 0], arr[:, 1], arr[:, 2], order, _SAME_PLACE)
    return place_of, list(zip(p_doc.tolist(), p_start.tolist(), p_end.tolist(), strict=True))


def _clusters_of_places(
    documents: list[Document],
    places: list[tuple[int, int, int]],
    left: np.ndarray,
    right: np.ndarray,
    weight: np.ndarray,
    exact: np.ndarray,
    boilerplate: bool,
) -> list[Cluster]:
    """Connected places as passage clusters, members sorted by (doc, start), edges de-duplicated.
    Places of one cluster that overlap in one document (text repeated back to back) are one
    member, so members never overlap; a cluster left with one member is no cluster."""
    n = len(places)
    labels, n_clusters = component_labels(n, left, right)
    if n_clusters == 0:
        return []
    by_cluster: list[list[int]] = [[] for _ in range(n_clusters)]
    for i in np.flatnonzero(labels >= 0).tolist():
        by_cluster[labels[i]].append(i)
    member_of = np.full(n, -1, dtype=np.int64)  # place -> member index within its cluster
    spans_of: list[list[list[int]]] = []
    for members in by_cluster:
        spans: list[list[int]] = []
        for i in sorted(members, key=lambda i: places[i]):
            d, s, e = places[i]
            if spans and spans[-1][0] == d and s < spans[-1][2]:
                spans[-1][2] = max(spans[-1][2], e)
            else:
                spans.append([d, s, e])
            member_of[i] = len(spans) - 1
        spans_of.append(spans)
    edges_of: list[dict[tuple[int, int], tuple[float, bool]]] = [{} for _ in range(n_clusters)]
    for a, b, w, x in zip(left.tolist(), right.tolist(), weight.tolist(), exact.tolist(), strict=True):
        i, j = sorted((int(member_of[a]), int(member_of[b])))
        if i == j:
            continue
        book = edges_of[labels[a]]
        best = book.get((i, j))
        if best is None or w > best[0]:
            book[(i, j)] = (w, bool(x))
    out = []
    for spans, book in zip(spans_of, edges_of, strict=True):
        if len(spans) < 2 or not book:
            continue
        m = np.array(spans, dtype=np.int64)
        edges = sorted((i, j, w, x) for (i, j), (w, x) in book.items())
        e = np.array([[i, j] for i, j, _, _ in edges], dtype=np.int64).reshape(-1, 2)
        sims = np.array([w for _, _, w, _ in edges], dtype=np.float64)
        out.append(
            Cluster(
                level="passage",
                doc=m[:, 0].copy(),
                start=m[:, 1].copy(),
                end=m[:, 2].copy(),
                similarity=float(sims.min()),
                exact=all(x for _, _, _, x in edges) and _same_words(documents, m[:, 0], m[:, 1], m[:, 2]),
                edges=e,
                edge_similarity=sims,
                boilerplate=boilerplate,
            )
        )
    return out


def _same_words(documents: list[Document], doc: np.ndarray, start: np.ndarray, end: np.ndarray) -> bool:
    """Whether every member has the same normalized words (what `exact` promises)."""
    first = tokens(documents[int(doc[0])].text[int(start[0]) : int(end[0])])
    return all(
        tokens(documents[d].text[s:e]) == first
        for d, s, e in zip(doc[1:].tolist(), start[1:].tolist(), end[1:].tolist(), strict=True)
    )


@njit(cache=True, nogil=True)
def _boilerplate_spans(pos, hashes, doc_start, n):
    """Runs of consecutive boilerplate n-gram positions in one document -> (doc, t0, t1, key):
    token range [t0, t1) local to the document, key identifying the run's words."""
    m = pos.size
    doc = np.empty(m, np.int64)
    t0 = np.empty(m, np.int64)
    t1 = np.empty(m, np.int64)
    key = np.empty(m, np.uint64)
    k = 0
    i = 0
    while i < m:
        d = np.searchsorted(doc_start, pos[i], side="right") - 1
        acc = P64_1
        j = i
        while True:
            acc = xxh64_round(acc, hashes[j])
            if j + 1 < m and pos[j + 1] == pos[j] + 1 and pos[j + 1] < doc_start[d + 1]:
                j += 1
            elif j + 1 < m and pos[j + 1] == pos[j]:
                j += 1  # the same position twice cannot happen; kept for safety
            else:
                break
        doc[k] = d
        t0[k] = pos[i] - doc_start[d]
        t1[k] = pos[j] + n - doc_start[d]
        key[k] = _xxh64_avalanche(acc ^ U64(j - i + 1))
        k += 1
        i = j + 1
    return doc[:k], t0[:k], t1[:k], key[:k]


def _boilerplate_clusters(
    pos: np.ndarray, hashes: np.ndarray, doc_start: np.ndarray, offsets: _Offsets, config: ScanConfig
) -> list[Cluster]:
    """Spans made of boilerplate n-grams, one cluster per distinct run of words."""
    if pos.size == 0:
        return []
    doc, t0, t1, key = _boilerplate_spans(pos, hashes, doc_start, config.ngram)
    keep = (t1 - t0) >= config.passage_min_words
    doc, t0, t1, key = doc[keep], t0[keep], t1[keep], key[keep]
    order = np.lexsort((t0, doc, key))
    doc, t0, t1, key = doc[order], t0[order], t1[order], key[order]
    cuts = np.flatnonzero(np.r_[True, key[1:] != key[:-1], True])
    places: list[tuple[int, int, int]] = []
    left, right = [], []
    for a, b in zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True):
        if b - a < 2:
            continue
        first = len(places)
        for i in range(a, b):
            s, e = offsets.chars(int(doc[i]), int(t0[i]), int(t1[i]))
            places.append((int(doc[i]), s, e))
        left += [first] * (b - a - 1)
        right += list(range(first + 1, first + b - a))
    if not places:
        return []
    ones = np.ones(len(left))
    return _clusters_of_places(
        offsets.documents,
        places,
        np.array(left, np.int64),
        np.array(right, np.int64),
        ones,
        np.ones(len(left), bool),
        True,
    )


def find_passages(
    documents: list[Document],
    config: ScanConfig,
    unit_clusters: list[Cluster],
    stats: PassageStats,
    threads: int = 1,
) -> list[Cluster]:
    """Passage clusters (reuse and boilerplate) of the documents; see the module docstring. The
    result does not depend on `threads`."""
    rows, boiler, boiler_hash, doc_start = _alignments(documents, config, stats, threads)
    _extend_alignments(rows, documents, config, doc_start, boiler)
    long_enough = np.minimum(rows[:, 2] - rows[:, 1], rows[:, 5] - rows[:, 4]) >= config.passage_min_words
    rows = rows[long_enough]
    stats.alignments = int(rows.shape[0])
    offsets = _Offsets(documents, doc_start)
    offsets.prepare(np.concatenate([rows[:, 0], rows[:, 3]]))
    keep, chars = _explained(rows, offsets, unit_clusters)
    stats.explained = int(np.count_nonzero(~keep))
    spans: list[tuple[int, int, int]] = []
    kept = np.flatnonzero(keep)
    for k in kept.tolist():
        sa, ea, sb, eb = chars[k]
        spans.append((int(rows[k, 0]), sa, ea))
        spans.append((int(rows[k, 3]), sb, eb))
    clusters: list[Cluster] = []
    if spans:
        place_of, places = _places(spans)
        r = rows[kept]
        len_a, len_b = r[:, 2] - r[:, 1], r[:, 5] - r[:, 4]
        identity = np.minimum(r[:, 6] / np.maximum(len_a, len_b), 1.0)
        exact = (r[:, 7] == 1) & (r[:, 6] == len_a) & (len_a == len_b)
        left, right = place_of[0::2], place_of[1::2]
        distinct = left != right
        clusters = _clusters_of_places(
            documents, places, left[distinct], right[distinct], identity[distinct], exact[distinct], False
        )
    clusters += _boilerplate_clusters(boiler, boiler_hash, doc_start, offsets, config)
    return clusters


@dataclass(frozen=True, slots=True)
class AlignedPassage:
    """One passage of `dedup compare`: character ranges in each of the two documents."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    words_a: int
    words_b: int
    identity: float
    exact: bool


def compare_documents(a: Document, b: Document, config: ScanConfig) -> list[AlignedPassage]:
    """The passages two documents share, in the order they appear in `a` (nothing is boilerplate
    between two documents, and repeats inside one of them are not part of the comparison)."""
    from dataclasses import replace

    config = replace(config, boilerplate_df=3)
    documents = [a, b]
    rows, boiler, _, doc_start = _alignments(documents, config, PassageStats())
    rows = rows[(rows[:, 0] == 0) & (rows[:, 3] == 1)]
    _extend_alignments(rows, documents, config, doc_start, boiler)
    rows = rows[np.minimum(rows[:, 2] - rows[:, 1], rows[:, 5] - rows[:, 4]) >= config.passage_min_words]
    offsets = _Offsets(documents, doc_start)
    out = []
    for _, a0, a1, _, b0, b1, covered, runs in sorted(rows.tolist(), key=lambda r: (r[1], r[4])):
        sa, ea = offsets.chars(0, a0, a1)
        sb, eb = offsets.chars(1, b0, b1)
        longer = max(a1 - a0, b1 - b0)
        out.append(
            AlignedPassage(
                a_start=sa,
                a_end=ea,
                b_start=sb,
                b_end=eb,
                words_a=a1 - a0,
                words_b=b1 - b0,
                identity=min(covered / longer, 1.0),
                exact=runs == 1 and covered == a1 - a0 == b1 - b0,
            )
        )
    return out
