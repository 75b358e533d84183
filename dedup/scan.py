"""The scan pipeline: documents -> units -> signatures -> candidates -> verified pairs -> clusters.

Named stages over batches of documents. Across batches only what LSH needs is kept per unit (band
keys, an exact-duplicate key, and where the unit is), so memory grows with the number of units, not
with their text or their signatures. Verification re-tokenizes only the documents that hold a
candidate, which are few, once for all levels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from . import interrupt
from .arrays import sorted_unique
from .cluster import component_labels, edge_components
from .config import LEVELS, ScanConfig
from .lsh import band_keys, candidate_pairs_by_band, pack_index, pure_run_groups
from .minhash import shingle_values, signatures_from_parts, unit_signatures
from .model import Cluster, Document
from .passage import PassageStats, find_passages
from .segment import paragraphs_batch
from .shingle import shingle_sets
from .text import Tokens, tokenize_batch, unit_keys
from .verify import jaccard_pairs
from .workspace import thread_map, thread_workspace

# Jaccard values are ratios of integers; this keeps 4/5 >= 0.8 true whatever the float rounding.
_EPS = 1e-12
_THREADED_SPANS = 2_000  # documents needing paragraph offsets before unit_offsets uses threads


@dataclass(slots=True)
class LevelStats:
    units: int = 0
    exact_groups: int = 0
    candidates: int = 0
    verified: int = 0


@dataclass(slots=True)
class ScanResult:
    clusters: list[Cluster]
    stats: dict[str, LevelStats] = field(default_factory=dict)
    suppressed: int = 0  # paragraph clusters already explained by a document cluster
    passages: PassageStats | None = None


@dataclass(slots=True)
class _Units:
    """Units of one level, accumulated over batches, and read in place: clustering needs every
    unit's exact key and band keys, but the other fields only of the few units in a candidate pair
    or a cluster. Concatenating all of them first made a dozen arrays as long as the units (11 MB
    apiece at 1.4M paragraphs), each on pages new to this process."""

    parts: list[UnitBatch] = field(default_factory=list)

    def __len__(self) -> int:
        return sum(p.doc.size for p in self.parts)

    def concat(self, name: str, empty: np.ndarray, axis: int = 0) -> np.ndarray:
        arrays = [getattr(p, name) for p in self.parts]
        return np.concatenate(arrays, axis=axis) if arrays else empty

    def _local(self, rows: np.ndarray) -> list[np.ndarray]:
        """Sorted global unit indices, split by part, as indices within each part."""
        bounds = np.cumsum([0] + [p.doc.size for p in self.parts])
        cut = np.searchsorted(rows, bounds)
        return [rows[cut[i] : cut[i + 1]] - bounds[i] for i in range(len(self.parts))]

    def take(self, name: str, rows: np.ndarray) -> np.ndarray:
        """One field (a 1-D one) of the units at sorted global indices `rows`."""
        pieces = [getattr(p, name)[ix] for p, ix in zip(self.parts, self._local(rows), strict=True)]
        return np.concatenate(pieces) if pieces else np.empty(0, dtype=np.int64)


def _level_units(level: str, tk: Tokens) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(doc, line, tok_a, tok_b) of every unit of a level in a batch; tok_* are batch-global.

    A paragraph is a run of tokens on one line of one document, found from the tokenizer's line
    numbers alone: character offsets are worked out later, only for the units that end up in a
    cluster (segmenting every document here cost a quarter of signing). A line without tokens is
    never a unit, so nothing is lost. A document unit has line -1.
    """
    n = tk.doc_start.size - 1
    if level == "document":
        return (
            np.arange(n, dtype=np.int64),
            np.full(n, -1, dtype=np.int64),
            tk.doc_start[:-1].copy(),
            tk.doc_start[1:].copy(),
        )
    return _line_runs(tk.doc_start, tk.line)


@njit(cache=True, nogil=True)
def _line_runs(doc_start, line):
    """(doc, line, tok_a, tok_b) of each run of tokens on one line of one document."""
    cap = line.size
    doc = np.empty(cap, np.int64)
    out_line = np.empty(cap, np.int64)
    tok_a = np.empty(cap, np.int64)
    tok_b = np.empty(cap, np.int64)
    k = 0
    for d in range(doc_start.size - 1):
        t = doc_start[d]
        stop = doc_start[d + 1]
        while t < stop:
            a = t
            while t < stop and line[t] == line[a]:
                t += 1
            doc[k] = d
            out_line[k] = line[a]
            tok_a[k] = a
            tok_b[k] = t
            k += 1
    return doc[:k], out_line[:k], tok_a[:k], tok_b[:k]


def unit_offsets(
    level: str, documents: list[Document], doc: np.ndarray, line: np.ndarray, threads: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """[start, end) character offsets into the original text of units given as (document, line).

    Both levels come from the paragraphs of the documents, found in `threads` chunks (the kernel
    releases the GIL): at 200k documents this was a quarter of the paragraph level, run on one
    core. A document's span (its text without surrounding whitespace, segment.document_span) runs
    from its first paragraph's start to its last one's end, since every line break is whitespace;
    found per document in Python, it held the GIL for 0.17 s beside the paragraph level's threads.
    """
    needed = sorted_unique(doc)
    chunks = np.array_split(needed, threads) if threads > 1 and needed.size >= _THREADED_SPANS else [needed]
    parts = thread_map(lambda ds: paragraphs_batch([documents[d].text for d in ds.tolist()]), chunks, threads)
    # sorted: documents in order, lines in order
    p_doc = np.concatenate([ds[part[0]] for ds, part in zip(chunks, parts, strict=True)])
    p_line = np.concatenate([part[1] for part in parts])
    p_start = np.concatenate([part[2] for part in parts])
    p_end = np.concatenate([part[3] for part in parts])
    if level == "document":
        first = np.searchsorted(p_doc, doc, side="left")
        last = np.searchsorted(p_doc, doc, side="right") - 1
        blank = last < first  # no paragraph: only whitespace, the span (0, 0)
        start = np.where(blank, 0, p_start[np.minimum(first, p_doc.size - 1)] if p_doc.size else 0)
        end = np.where(blank, 0, p_end[np.maximum(last, 0)] if p_doc.size else 0)
        return start.astype(np.int64), end.astype(np.int64)
    p_key = (p_doc << 32) | p_line
    at = np.searchsorted(p_key, (doc << 32) | line)
    if at.size and (at.max() >= p_key.size or np.any(p_key[at] != ((doc << 32) | line))):
        raise AssertionError("a tokenized line is not a paragraph of its document")
    return p_start[at], p_end[at]


@dataclass(frozen=True, slots=True)
class UnitBatch:
    """What signing one batch leaves for LSH and verification, per unit of one level."""

    doc: np.ndarray  # global document index
    line: np.ndarray  # line of a paragraph within its document (-1 for a document unit)
    rel_a: np.ndarray  # token range relative to the document's first token
    rel_b: np.ndarray
    exact: np.ndarray  # (n, 2) uint64: identity key of the normalized unit (text.unit_keys)
    keys: np.ndarray  # (bands, n) uint64, band-major

    @classmethod
    def joined(cls, parts: list[UnitBatch]) -> UnitBatch:
        """One batch of the units of consecutive batches, in order."""
        if len(parts) == 1:
            return parts[0]
        fields = ("doc", "line", "rel_a", "rel_b", "exact")
        columns = {f: np.concatenate([getattr(p, f) for p in parts]) for f in fields}
        return cls(**columns, keys=np.concatenate([p.keys for p in parts], axis=1))

    def shifted(self, by: int) -> UnitBatch:
        """The units with `by` added to their document indices (a batch signed apart from the rest)."""
        return UnitBatch(self.doc + by, self.line, self.rel_a, self.rel_b, self.exact, self.keys)

    def renumbered(self, new_doc: np.ndarray) -> UnitBatch:
        """The units with their documents renumbered by new_doc (old index -> new, or -1: dropped)."""
        doc = new_doc[self.doc]
        keep = doc >= 0
        return UnitBatch(
            doc=doc[keep],
            line=self.line[keep],
            rel_a=self.rel_a[keep],
            rel_b=self.rel_b[keep],
            exact=self.exact[keep],
            keys=self.keys[:, keep],
        )


def sign_batch(texts: list[str], base: int, config: ScanConfig) -> dict[str, UnitBatch]:
    """Stages segment -> tokenize -> shingle -> sign -> band keys for one batch of documents.

    A pure function of its arguments (the workspace is scratch), so batches can run in any process.
    With classic MinHash at both levels, documents are signed from their paragraphs' signatures
    (minhash.signatures_from_parts: the same signatures, without signing each shingle twice).
    """
    ws = thread_workspace()
    tk = tokenize_batch(texts, ws, hashes_only=True)
    shingled = shingle_values(tk.hash, ngram=config.ngram, method=config.method, ws=ws)
    units = {}
    for level in config.unit_levels:
        doc, line, tok_a, tok_b = _level_units(level, tk)
        keep = (tok_b - tok_a) >= config.unit_min_words
        units[level] = doc[keep], line[keep], tok_a[keep], tok_b[keep]
    from_parts = config.method == "classic" and "document" in units and "paragraph" in units
    sigs: dict[str, np.ndarray] = {}
    for level in sorted(units, key=lambda lv: lv == "document"):  # paragraphs first
        _, _, tok_a, tok_b = units[level]
        out = ws.matrix(f"signatures_{level}", tok_a.size, config.num_perm, np.uint32)
        common = dict(
            ngram=config.ngram, num_perm=config.num_perm, seed=config.seed, ws=ws, shingled=shingled, out=out
        )
        if level == "document" and from_parts:
            _, _, part_a, part_b = units["paragraph"]
            sig = signatures_from_parts(tk.hash, tok_a, tok_b, part_a, part_b, sigs["paragraph"], **common)
        else:
            sig = unit_signatures(tk.hash, tok_a, tok_b, method=config.method, **common)
        sigs[level] = sig
    out = {}
    for level, (doc, line, tok_a, tok_b) in units.items():
        first_tok = tk.doc_start[doc]
        out[level] = UnitBatch(
            doc=doc + base,
            line=line,
            rel_a=tok_a - first_tok,
            rel_b=tok_b - first_tok,
            exact=unit_keys(tk.hash, tok_a, tok_b),
            keys=band_keys(sigs[level], config.bands, config.rows),
        )
    return out


@dataclass(slots=True)
class _Candidates:
    """One level's units after LSH: exact-duplicate groups and the candidate pairs to verify."""

    is_rep: np.ndarray  # per unit: the first (smallest) unit of its exact-duplicate group
    dup: np.ndarray  # the other units of groups of two or more (sorted) ...
    dup_rep: np.ndarray  # ... with the first unit of their group
    pairs: np.ndarray  # (m, 2) candidate unit pairs


def _verify_levels(
    documents: list[Document], found: dict[str, tuple[_Units, np.ndarray]], config: ScanConfig, threads: int = 1
) -> dict[str, np.ndarray]:
    """Exact Jaccard of each level's candidate pairs, re-tokenizing only the documents involved,
    each of them once for every level.

    The levels' candidates mostly lie in the same documents: at 200k generated documents, 11,549
    of the 11,629 documents the document level verifies hold paragraph candidates too, and each
    level tokenizing them apart made that work twice. Chunks of the documents any level needs are
    tokenized on `threads` threads (the kernels release the GIL); from each chunk's token hashes,
    every level's units in it become shingle sets, written into that level's own array at the
    chunk's slice of it (room for a value per token), which the pairwise merge reads in place.
    """
    if not found:
        return {}
    sets = {level: _LevelSets.of(units, pairs) for level, (units, pairs) in found.items()}
    all_docs = sorted_unique(np.concatenate([ls.doc for ls in sets.values()]))
    bounds = [*range(0, all_docs.size, config.batch_size), all_docs.size]
    for ls in sets.values():
        ls.place(all_docs[bounds[:-1]])

    def shingle_chunk(i: int) -> None:
        chunk = all_docs[bounds[i] : bounds[i + 1]]
        tk = tokenize_batch([documents[d].text for d in chunk.tolist()], thread_workspace(), hashes_only=True)
        for ls in sets.values():
            ls.shingle(i, chunk, tk.hash, tk.doc_start, config.ngram)

    thread_map(shingle_chunk, range(len(bounds) - 1), threads)

    def merge(level: str) -> np.ndarray:  # the levels' pairwise merges side by side (nogil)
        ls, pairs = sets[level], found[level][1]
        left, right = np.searchsorted(ls.needed, pairs[:, 0]), np.searchsorted(ls.needed, pairs[:, 1])
        return jaccard_pairs(ls.starts, ls.ends, ls.values, left, right)

    return dict(zip(found, thread_map(merge, list(found), threads), strict=True))


@dataclass(slots=True)
class _LevelSets:
    """One level's units in candidate pairs (sorted, hence by document), and where verification
    puts their shingle sets: chunk i's units are cut[i]:cut[i + 1], its values room[i]:room[i + 1]
    of `values` (a value per token), unit u's set values[starts[u]:ends[u]]."""

    needed: np.ndarray
    doc: np.ndarray
    rel_a: np.ndarray
    rel_b: np.ndarray
    cut: np.ndarray = field(init=False)
    room: np.ndarray = field(init=False)
    values: np.ndarray = field(init=False)
    starts: np.ndarray = field(init=False)
    ends: np.ndarray = field(init=False)

    @classmethod
    def of(cls, units: _Units, pairs: np.ndarray) -> _LevelSets:
        needed = sorted_unique(pairs)
        return cls(needed, units.take("doc", needed), units.take("rel_a", needed), units.take("rel_b", needed))

    def place(self, first_docs: np.ndarray) -> None:
        """Lay the units out by chunk, the chunks starting at these documents."""
        self.cut = np.append(np.searchsorted(self.doc, first_docs), self.doc.size)
        self.room = np.concatenate([[0], np.cumsum(self.rel_b - self.rel_a)])[self.cut]
        self.values = np.empty(int(self.room[-1]), dtype=np.uint64)
        self.starts = np.empty(self.needed.size, dtype=np.int64)
        self.ends = np.empty(self.needed.size, dtype=np.int64)

    def shingle(self, i: int, chunk: np.ndarray, tok_hash: np.ndarray, doc_start: np.ndarray, ngram: int) -> None:
        """The shingle sets of chunk i's units, from the chunk's tokens."""
        a, b = self.cut[i], self.cut[i + 1]
        if a == b:
            return
        first = doc_start[np.searchsorted(chunk, self.doc[a:b])]
        out = self.values[self.room[i] : self.room[i + 1]]
        offsets, _ = shingle_sets(tok_hash, first + self.rel_a[a:b], first + self.rel_b[a:b], ngram, out=out)
        self.starts[a:b] = offsets[:-1] + self.room[i]
        self.ends[a:b] = offsets[1:] + self.room[i]


def _read_texts(documents: list[Document], units: _Units, pairs: np.ndarray) -> None:
    """Read back (and keep) the texts of the documents holding these pairs' units."""
    if pairs.size:
        for d in sorted_unique(units.take("doc", sorted_unique(pairs))).tolist():
            documents[d].text  # noqa: B018 - read for its side effect: Document keeps the text


def _exact_duplicates(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Rows with equal keys of two uint64 words (a 128-bit key), as (is_rep, dup, dup_rep,
    groups): whether each row is the first (smallest) row of its group, the other rows of groups
    of two or more (sorted) with the first row of their group, and how many such groups there are.

    The first word's top bits are packed with the row index and sorted by numpy's SIMD sort, and
    runs of equal top bits found, as for an LSH band (lsh._band_pairs): nearly always a run is of
    equal full keys (exact duplicates), in index order. A run whose full keys differ (a collision
    of the top bits, or crafted input) is regrouped by (full key, index). np.unique (axis=0), a
    lexsort, then a counting sort were the slowest steps of clustering in turn: 131 -> 45-50 ms
    at 1.4M random rows (medians of 10). One kernel pass over the sorted rows then gives only
    arrays as long as the duplicates: a group label and an order for every row, with their
    cumulative sums, were six arrays as long as the rows, on pages new to the process.
    """
    n = keys.shape[0]
    bits = max(1, (n - 1).bit_length())
    packed = pack_index(keys[:, 0], bits)
    packed.sort()
    is_rep, dup, dup_rep, groups, m_starts, m_sizes = pure_run_groups(packed, keys, bits)
    if m_starts.size:
        mask = np.uint64((1 << bits) - 1)
        more_dup, more_rep = [dup], [dup_rep]
        for lo, size in zip(m_starts.tolist(), m_sizes.tolist(), strict=True):
            rows = (packed[lo : lo + size] & mask).astype(np.int64)
            rows = rows[np.lexsort((rows, keys[rows, 1], keys[rows, 0]))]
            new = np.r_[True, np.any(keys[rows[1:]] != keys[rows[:-1]], axis=1)]
            starts = np.flatnonzero(new)
            lengths = np.diff(np.r_[starts, rows.size])
            is_rep[rows[new]] = True
            more_dup.append(rows[~new])
            more_rep.append(np.repeat(rows[starts], lengths)[~new])
            groups += int(np.count_nonzero(lengths > 1))
        dup, dup_rep = np.concatenate(more_dup), np.concatenate(more_rep)
    order = np.argsort(dup, kind="stable")
    return is_rep, dup[order], dup_rep[order], groups


def _candidates(level: str, units: _Units, config: ScanConfig, stats: LevelStats, threads: int = 1) -> _Candidates:
    """Stages exact duplicates -> LSH candidates for one level."""
    n = len(units)
    stats.units = n
    if n < 2:
        empty = np.empty(0, dtype=np.int64)
        return _Candidates(np.ones(n, dtype=bool), empty, empty, np.empty((0, 2), dtype=np.int64))
    # Exact duplicates: group equal 128-bit keys; only the first of each group goes through LSH.
    is_rep, dup, dup_rep, stats.exact_groups = _exact_duplicates(units.concat("exact", np.empty((0, 2), np.uint64)))
    reps = np.flatnonzero(is_rep)
    pairs = reps[
        candidate_pairs_by_band(_band_columns(units, reps), config.bands, reps.size, threads=threads)
    ]
    stats.candidates = int(pairs.shape[0])
    return _Candidates(is_rep, dup, dup_rep, pairs)


def _cluster_level(
    level: str,
    documents: list[Document],
    units: _Units,
    config: ScanConfig,
    stats: LevelStats,
    cand: _Candidates,
    sims: np.ndarray,
    threads: int = 1,
) -> _Found:
    """Stage cluster for one level, from its candidates and their verified similarities."""
    if len(units) < 2:
        return _Found.empty(level)
    is_rep, dup, dup_rep = cand.is_rep, cand.dup, cand.dup_rep
    ok = sims >= config.threshold - _EPS
    pairs, sims = cand.pairs[ok], sims[ok]
    stats.verified = int(pairs.shape[0])
    pairs, sims = pairs[pairs[:, 0] != pairs[:, 1]], sims[pairs[:, 0] != pairs[:, 1]]  # no evidence
    left = np.concatenate([dup, pairs[:, 0]])
    right = np.concatenate([dup_rep, pairs[:, 1]])
    weight = np.concatenate([np.ones(dup.size), sims])
    # The units in a cluster are those some edge touches (sorted), labelled by component.
    nodes, node_label, n_clusters = edge_components(left, right)
    if n_clusters == 0:
        return _Found.empty(level)
    at_left, at_right = np.searchsorted(nodes, left), np.searchsorted(nodes, right)
    # All clusters at once, as whole-array operations; each cluster is then slices of the results.
    doc, line = units.take("doc", nodes), units.take("line", nodes)
    order = np.lexsort((line, doc, node_label))
    members, labels = nodes[order], node_label[order]
    cuts = np.searchsorted(labels, np.arange(n_clusters + 1))
    position = np.empty(nodes.size, dtype=np.int64)  # a node's index among its cluster's sorted members
    position[order] = np.arange(members.size) - cuts[labels]
    a, b = position[at_left], position[at_right]
    lo, hi, edge_label = np.minimum(a, b), np.maximum(a, b), node_label[at_left]
    eo = np.lexsort((hi, lo, edge_label))
    edges = np.stack([lo[eo], hi[eo]], axis=1)
    edge_weight = weight[eo]
    ecuts = np.searchsorted(edge_label[eo], np.arange(n_clusters + 1))
    similarity = np.minimum.reduceat(edge_weight, ecuts[:-1]).tolist()
    rep = members.copy()  # each member's exact-duplicate group, named by its first unit
    copy = ~is_rep[members]
    rep[copy] = dup_rep[np.searchsorted(dup, members[copy])]
    exact_all = (np.minimum.reduceat(rep, cuts[:-1]) == np.maximum.reduceat(rep, cuts[:-1])).tolist()
    # Offsets only for the units in a cluster (a paragraph's line orders it within its document).
    doc, line = doc[order], line[order]
    start, end = unit_offsets(level, documents, doc, line, threads)
    return _Found(level, doc, start, end, cuts, edges, edge_weight, ecuts, similarity, exact_all)


@dataclass(frozen=True, slots=True)
class _Found:
    """One level's clusters as arrays (cluster c is members cuts[c]:cuts[c + 1] and edges
    ecuts[c]:ecuts[c + 1]), made into Cluster objects only for those kept: at 200k documents,
    making all 34,000 of them first held the GIL for 0.3 s beside the other level's threads, and
    most were paragraph clusters that a document cluster explains, dropped right after."""

    level: str
    doc: np.ndarray
    start: np.ndarray
    end: np.ndarray
    cuts: np.ndarray
    edges: np.ndarray
    edge_similarity: np.ndarray
    ecuts: np.ndarray
    similarity: list[float]
    exact: list[bool]

    @classmethod
    def empty(cls, level: str) -> _Found:
        i64, one_cut = np.empty(0, dtype=np.int64), np.zeros(1, dtype=np.int64)
        no_edges = np.empty((0, 2), dtype=np.int64)
        return cls(level, i64, i64, i64, one_cut, no_edges, np.empty(0), one_cut, [], [])

    def __len__(self) -> int:
        return self.cuts.size - 1

    def clusters(self, keep: np.ndarray | None = None) -> list[Cluster]:
        """The clusters (those where `keep` is true, when given), in order."""
        chosen = np.arange(len(self)) if keep is None else np.flatnonzero(keep)
        c0, c1 = self.cuts[chosen].tolist(), self.cuts[chosen + 1].tolist()
        e0, e1 = self.ecuts[chosen].tolist(), self.ecuts[chosen + 1].tolist()
        return [
            Cluster(
                level=self.level,
                doc=self.doc[a:b],
                start=self.start[a:b],
                end=self.end[a:b],
                similarity=float(self.similarity[c]),
                exact=bool(self.exact[c]),
                edges=self.edges[ea:eb],
                edge_similarity=self.edge_similarity[ea:eb],
            )
            for c, a, b, ea, eb in zip(chosen.tolist(), c0, c1, e0, e1, strict=True)
        ]


def _band_columns(units: _Units, rows: np.ndarray):
    """band -> that band's keys of the given units (sorted global indices), gathered batch by batch
    (in the caller's worker threads) instead of concatenating and copying the whole key matrix."""
    local = units._local(rows)

    def column(band: int) -> np.ndarray:
        return np.concatenate([p.keys[band][ix] for p, ix in zip(units.parts, local, strict=True)])

    return column


@dataclass(frozen=True, slots=True)
class _DocumentPairs:
    """Which documents a document-level cluster verified as near-duplicates of each other.

    Documents with identical shingle sets (Jaccard 1.0, a transitive relation) share a class; a
    verified edge joins two classes. Connected components alone are not enough: A~C and B~C do not
    make A and B near-duplicates.
    """

    cluster_of: np.ndarray  # document -> index of its document cluster, or -1
    klass: np.ndarray  # document -> id of its identical-copy class
    pair_codes: np.ndarray  # sorted lo * n_docs + hi of every verified pair of classes (lo < hi)

    @classmethod
    def build(cls, found: _Found, n_docs: int) -> _DocumentPairs:
        """All document clusters at once: one components pass over the identical-copy edges (a
        components call per cluster took a second at 200k documents)."""
        cluster_of = np.full(n_docs, -1, dtype=np.int64)
        klass = np.arange(n_docs, dtype=np.int64)
        if not len(found):
            return cls(cluster_of, klass, np.empty(0, dtype=np.int64))
        docs = found.doc
        cluster_of[docs] = np.repeat(np.arange(len(found)), np.diff(found.cuts))
        base = np.repeat(found.cuts[:-1], np.diff(found.ecuts))
        edges = docs[found.edges + base[:, None]]
        same = found.edge_similarity >= 1.0
        labels, n_labels = component_labels(n_docs, edges[same, 0], edges[same, 1])
        grouped = np.flatnonzero(labels >= 0)
        smallest = np.full(n_labels, n_docs, dtype=np.int64)
        np.minimum.at(smallest, labels[grouped], grouped)
        klass[grouped] = smallest[labels[grouped]]
        a, b = klass[edges[~same, 0]], klass[edges[~same, 1]]
        codes = sorted_unique(np.minimum(a, b) * n_docs + np.maximum(a, b))
        return cls(cluster_of, klass, codes)

    def explained(self, pars: _Found) -> np.ndarray:
        """Per cross-document paragraph cluster: are every two of its documents verified
        near-duplicates? All clusters in one kernel call (a Python check per cluster was a
        quarter of a second at 200k documents)."""
        if not len(pars):
            return np.zeros(0, dtype=bool)
        return _explained_by_pairs(
            pars.cuts, pars.doc, self.cluster_of, self.klass, self.pair_codes, self.klass.size
        )


@njit(cache=True, nogil=True)
def _explained_by_pairs(starts, docs, cluster_of, klass, pair_codes, n_docs):
    """_DocumentPairs.explained's kernel: cluster c holds docs[starts[c]:starts[c + 1]]."""
    out = np.zeros(starts.size - 1, np.bool_)
    for c in range(starts.size - 1):
        a, b = starts[c], starts[c + 1]
        owner = cluster_of[docs[a]]
        ok = owner >= 0
        for i in range(a, b):
            if not ok:
                break
            ok = cluster_of[docs[i]] == owner
            for j in range(i + 1, b):  # a repeat within a document is news of its own
                if docs[j] == docs[i]:
                    ok = False
                    break
        for i in range(a, b):
            if not ok:
                break
            for j in range(i + 1, b):
                ki, kj = klass[docs[i]], klass[docs[j]]
                if ki == kj:
                    continue
                code = min(ki, kj) * n_docs + max(ki, kj)
                at = np.searchsorted(pair_codes, code)
                if at >= pair_codes.size or pair_codes[at] != code:
                    ok = False
                    break
        out[c] = ok
    return out


_PART_DOCS = 1024


def _join_into(acc: dict[str, _Units], batches: list[dict[str, UnitBatch]]) -> None:
    for level, units in acc.items():
        units.parts.append(UnitBatch.joined([b[level] for b in batches]))


def scan_documents(
    documents: list[Document],
    config: ScanConfig,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
    signed: Iterable[tuple[int, dict[str, UnitBatch]]] | None = None,
) -> ScanResult:
    """Run the whole pipeline over documents held in memory.

    Signing (the cost that grows with the corpus) runs on `workers` processes; everything after
    it runs here, its sorts and verification on `workers` threads. The result does not depend on
    `workers`. `signed` takes batches already signed (by an engine.Signer fed while reading).
    """
    from .engine import signed_batches

    acc = {level: _Units() for level in config.unit_levels}
    if acc:
        if signed is None:
            signed = signed_batches(documents, config, workers)
        # Batches of fewer than _PART_DOCS documents are joined as they come (a pool's workers join
        # a range's batches before sending them): clustering gathers every band's keys and every
        # unit field part by part, holding the GIL beside the other level's threads; 800 parts
        # of 256 documents made clustering 200k documents 1.22 -> 1.10 s on two workers against
        # 100 parts, 1.98 -> 1.83 s of CPU (medians of 7, /tmp/s17cmp.py).
        small: list[dict[str, UnitBatch]] = []
        small_docs = 0
        for n_docs, batch in signed:
            if n_docs >= _PART_DOCS and not small:
                for level, units in batch.items():
                    acc[level].parts.append(units)
            else:
                small.append(batch)
                small_docs += n_docs
                if small_docs >= _PART_DOCS:
                    _join_into(acc, small)
                    small, small_docs = [], 0
            if progress is not None:
                progress(n_docs)
        if small:
            _join_into(acc, small)
    result = ScanResult(clusters=[])
    by_level: dict[str, list[Cluster]] = {}
    levels = list(config.unit_levels)
    stats = {level: LevelStats() for level in levels}
    units = {level: acc.pop(level) for level in levels}

    # Candidates, then one verification of every level's pairs (each document tokenized once for
    # all levels, see _verify_levels: 200k documents on two workers, 4.18 -> 4.11 s a scan, medians
    # of 5 alternating runs), then each level's clusters. The levels' candidates and clusters are
    # independent, mostly sorts and kernels that release the GIL, so with more than one worker
    # they run side by side. The level with the most units is the critical path and gets every
    # thread for its bands; the others get one each, and finish beside it. Clustering 200k
    # documents on two workers, both levels on two threads against the documents on one: medians
    # 0.86 -> 0.80 s and 0.88 -> 0.83 s in two sets of alternating in-process runs (5 and 6 each).
    lead = max(levels, key=lambda lv: len(units[lv])) if levels else None

    def threads_of(level: str) -> int:
        return workers if level == lead else 1

    def candidates(level: str) -> _Candidates:
        found = _candidates(level, units[level], config, stats[level], threads=threads_of(level))
        if workers > 1 and level != lead:
            # Done before the lead level, whose bands release the GIL: read back the texts this
            # level's pairs will verify (Python that holds the GIL; most of them the lead level's
            # pairs need too) while the lead's bands still sort, not in verification's threads.
            _read_texts(documents, units[level], found.pairs)
        return found

    cands = dict(zip(levels, thread_map(candidates, levels, workers), strict=True))
    to_verify = {lv: (units[lv], c.pairs) for lv, c in cands.items() if c.pairs.size}
    sims = _verify_levels(documents, to_verify, config, workers)

    def cluster(level: str) -> _Found:
        got = sims.get(level, np.empty(0))
        return _cluster_level(
            level, documents, units[level], config, stats[level], cands[level], got, threads=threads_of(level)
        )

    found = dict(zip(levels, thread_map(cluster, levels, workers), strict=True))
    interrupt.check()  # a Ctrl-C a finalizer swallowed while the levels clustered: stop here
    result.stats = {level: stats[level] for level in levels}
    keep = {level: None for level in levels}
    if "document" in found and "paragraph" in found:
        known = _DocumentPairs.build(found["document"], len(documents))
        keep["paragraph"] = ~known.explained(found["paragraph"])
        result.suppressed = len(found["paragraph"]) - int(np.count_nonzero(keep["paragraph"]))
    for level in levels:
        by_level[level] = found[level].clusters(keep[level])
    if "passage" in config.levels:
        result.passages = PassageStats()
        units_found = [c for lv in config.unit_levels for c in by_level[lv]]
        by_level["passage"] = find_passages(documents, config, units_found, result.passages, threads=workers)
    level_rank = {lv: i for i, lv in enumerate(LEVELS)}
    clusters = [c for lv in config.levels for c in by_level[lv]]
    clusters.sort(key=lambda c: (int(c.doc[0]), int(c.start[0]), level_rank[c.level], int(c.end[0])))
    result.clusters = clusters
    return result
