"""The scan pipeline: documents -> units -> signatures -> candidates -> verified pairs -> clusters.

Named stages over batches of documents. Across batches only what LSH needs is kept per unit (band
keys, an exact-duplicate key, and where the unit is), so memory grows with the number of units, not
with their text or their signatures. Verification re-tokenizes only the documents that hold a
candidate, which are few.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from .cluster import components
from .config import ScanConfig
from .lsh import band_keys, candidate_pairs, hash_argsort
from .minhash import unit_signatures
from .model import Document
from .segment import document_span, paragraphs_batch
from .shingle import shingle_sets
from .text import Tokens, tokenize_batch, unit_keys
from .verify import jaccard_pairs
from .workspace import thread_workspace

# Jaccard values are ratios of integers; this keeps 4/5 >= 0.8 true whatever the float rounding.
_EPS = 1e-12


@dataclass(frozen=True, slots=True)
class Cluster:
    """Units found to be copies of each other at one level."""

    level: str
    doc: np.ndarray  # int64 document index per member, sorted by (doc, start)
    start: np.ndarray
    end: np.ndarray
    similarity: float  # lowest verified Jaccard among the pairs that joined the cluster
    exact: bool  # every member has the same normalized text
    edges: np.ndarray  # (m, 2) member-index pairs that joined the cluster: exact copies or verified LSH pairs
    edge_similarity: np.ndarray  # exact Jaccard of each edge


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


@dataclass(slots=True)
class _Units:
    """Units of one level, accumulated over batches."""

    parts: list[UnitBatch] = field(default_factory=list)

    def concat(self, name: str, empty: np.ndarray, axis: int = 0) -> np.ndarray:
        arrays = [getattr(p, name) for p in self.parts]
        return np.concatenate(arrays, axis=axis) if arrays else empty


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
    level: str, documents: list[Document], doc: np.ndarray, line: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """[start, end) character offsets into the original text of units given as (document, line)."""
    if level == "document":
        spans = np.array([document_span(documents[d].text) for d in doc.tolist()], dtype=np.int64)
        spans = spans.reshape(doc.size, 2)
        return spans[:, 0], spans[:, 1]
    needed = np.unique(doc)
    p_doc, p_line, p_start, p_end = paragraphs_batch([documents[d].text for d in needed.tolist()])
    p_key = (needed[p_doc] << 32) | p_line  # sorted: documents in order, lines in order
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


def sign_batch(texts: list[str], base: int, config: ScanConfig) -> dict[str, UnitBatch]:
    """Stages segment -> tokenize -> shingle -> sign -> band keys for one batch of documents.

    A pure function of its arguments (the workspace is scratch), so batches can run in any process.
    """
    ws = thread_workspace()
    tk = tokenize_batch(texts, ws, hashes_only=True)
    out = {}
    for level in config.levels:
        doc, line, tok_a, tok_b = _level_units(level, tk)
        keep = (tok_b - tok_a) >= config.min_words
        doc, line, tok_a, tok_b = doc[keep], line[keep], tok_a[keep], tok_b[keep]
        sig = unit_signatures(
            tk.hash,
            tok_a,
            tok_b,
            ngram=config.ngram,
            num_perm=config.num_perm,
            method=config.method,
            seed=config.seed,
            ws=ws,
        )
        first_tok = tk.doc_start[doc]
        out[level] = UnitBatch(
            doc=doc + base,
            line=line,
            rel_a=tok_a - first_tok,
            rel_b=tok_b - first_tok,
            exact=unit_keys(tk.hash, tok_a, tok_b),
            keys=band_keys(sig, config.bands, config.rows),
        )
    return out


def _verify(
    documents: list[Document],
    doc: np.ndarray,
    rel_a: np.ndarray,
    rel_b: np.ndarray,
    pairs: np.ndarray,
    config: ScanConfig,
) -> np.ndarray:
    """Exact Jaccard of each candidate pair, re-tokenizing only the documents involved."""
    needed = np.unique(pairs.ravel())
    needed_docs = np.unique(doc[needed])
    local = np.full(doc.max() + 1 if doc.size else 0, -1, dtype=np.int64)
    local[needed_docs] = np.arange(needed_docs.size)
    tok_hash_parts, base = [], 0
    # Tokenize the needed documents in batches; unit token ranges become global over the concatenation.
    doc_first = np.empty(needed_docs.size, dtype=np.int64)
    for i in range(0, needed_docs.size, config.batch_size):
        chunk = needed_docs[i : i + config.batch_size]
        tk = tokenize_batch([documents[d].text for d in chunk.tolist()], thread_workspace())
        doc_first[i : i + chunk.size] = tk.doc_start[:-1] + base
        tok_hash_parts.append(tk.hash.copy())  # the workspace is reused by the next chunk
        base += tk.hash.size
    tok_hash = np.concatenate(tok_hash_parts) if tok_hash_parts else np.empty(0, np.uint64)
    first = doc_first[local[doc[needed]]]
    offsets, values = shingle_sets(tok_hash, first + rel_a[needed], first + rel_b[needed], config.ngram)
    position = np.full(doc.size, -1, dtype=np.int64)
    position[needed] = np.arange(needed.size)
    return jaccard_pairs(offsets, values, position[pairs[:, 0]], position[pairs[:, 1]])


def _group_equal_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group of each row, first row of each group) for rows of two uint64 words (a 128-bit hash):
    sorted by the first word with the hash sort, then by the second within equal first words
    (np.unique(axis=0) sorts a structured view and was the slowest step of clustering)."""
    order, _ = hash_argsort(np.ascontiguousarray(keys[:, 0]))
    order = order[np.lexsort((keys[order, 1], keys[order, 0]))]  # already sorted: only fixes ties
    ordered = keys[order]
    new = np.r_[True, np.any(ordered[1:] != ordered[:-1], axis=1)]
    group = np.empty(keys.shape[0], dtype=np.int64)
    group[order] = np.cumsum(new) - 1
    first = np.full(int(new.sum()), keys.shape[0], dtype=np.int64)
    np.minimum.at(first, group, np.arange(keys.shape[0]))
    return group, first


def _cluster_level(
    level: str,
    documents: list[Document],
    units: _Units,
    config: ScanConfig,
    stats: LevelStats,
    threads: int = 1,
) -> list[Cluster]:
    """Stages candidates -> verify -> cluster for one level."""
    i64 = np.empty(0, dtype=np.int64)
    doc, line = units.concat("doc", i64), units.concat("line", i64)
    rel_a, rel_b = units.concat("rel_a", i64), units.concat("rel_b", i64)
    exact = units.concat("exact", np.empty((0, 2), dtype=np.uint64))
    keys = units.concat("keys", np.empty((config.bands, 0), dtype=np.uint64), axis=1)
    n = doc.size
    stats.units = n
    if n < 2:
        return []
    # Exact duplicates: group equal 128-bit keys; only the first of each group goes through LSH.
    group, first = _group_equal_rows(exact)
    sizes = np.bincount(group)
    stats.exact_groups = int(np.count_nonzero(sizes > 1))
    rep_of = first[group]
    dup = np.flatnonzero(rep_of != np.arange(n))
    reps = np.sort(first)
    # np.take keeps the band-major result C-contiguous (keys[:, reps] does not, and each band
    # would then be copied again).
    pairs = reps[candidate_pairs(np.take(keys, reps, axis=1), threads=threads)]
    stats.candidates = int(pairs.shape[0])
    if pairs.size:
        sims = _verify(documents, doc, rel_a, rel_b, pairs, config)
        ok = sims >= config.threshold - _EPS
        pairs, sims = pairs[ok], sims[ok]
    else:
        sims = np.empty(0)
    stats.verified = int(pairs.shape[0])
    left = np.concatenate([dup, pairs[:, 0]])
    right = np.concatenate([rep_of[dup], pairs[:, 1]])
    weight = np.concatenate([np.ones(dup.size), sims])
    labels = np.full(n, -1, dtype=np.int64)
    groups = components(n, left, right)
    for gi, members in enumerate(groups):
        labels[members] = gi
    position = np.zeros(n, dtype=np.int64)  # a unit's index among its cluster's sorted members
    edge_order = np.argsort(labels[left], kind="stable")
    edge_cuts = np.searchsorted(labels[left][edge_order], np.arange(len(groups) + 1))
    # Offsets only for the units in a cluster (a paragraph's line orders it within its document).
    start = np.zeros(n, dtype=np.int64)
    end = np.zeros(n, dtype=np.int64)
    if groups:
        in_cluster = np.concatenate(groups)
        start[in_cluster], end[in_cluster] = unit_offsets(level, documents, doc[in_cluster], line[in_cluster])
    clusters = []
    for gi, members in enumerate(groups):
        m = members[np.lexsort((line[members], doc[members]))]
        position[m] = np.arange(m.size)
        e = edge_order[edge_cuts[gi] : edge_cuts[gi + 1]]
        a, b = position[left[e]], position[right[e]]
        edges = np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1)
        order = np.lexsort((edges[:, 1], edges[:, 0]))
        clusters.append(
            Cluster(
                level=level,
                doc=doc[m],
                start=start[m],
                end=end[m],
                similarity=float(weight[e].min()),
                exact=bool(np.all(group[m] == group[m[0]])),
                edges=edges[order],
                edge_similarity=weight[e][order],
            )
        )
    return clusters


@dataclass(frozen=True, slots=True)
class _DocumentPairs:
    """Which documents a document-level cluster verified as near-duplicates of each other.

    Documents with identical shingle sets (Jaccard 1.0, a transitive relation) share a class; a
    verified edge joins two classes. Connected components alone are not enough: A~C and B~C do not
    make A and B near-duplicates.
    """

    cluster_of: np.ndarray  # document -> index of its document cluster, or -1
    klass: np.ndarray  # document -> id of its identical-copy class
    pairs: frozenset[tuple[int, int]]

    @classmethod
    def build(cls, clusters: list[Cluster], n_docs: int) -> _DocumentPairs:
        cluster_of = np.full(n_docs, -1, dtype=np.int64)
        klass = np.arange(n_docs, dtype=np.int64)
        pairs: set[tuple[int, int]] = set()
        for ci, c in enumerate(clusters):
            cluster_of[c.doc] = ci
            same = c.edge_similarity >= 1.0
            roots = components(c.doc.size, c.edges[same, 0], c.edges[same, 1])
            for group in roots:
                klass[c.doc[group]] = c.doc[group[0]]
            for i, j in c.edges[~same].tolist():
                a, b = int(klass[c.doc[i]]), int(klass[c.doc[j]])
                pairs.add((min(a, b), max(a, b)))
        return cls(cluster_of, klass, frozenset(pairs))

    def explain(self, par: Cluster) -> bool:
        """True when every two documents of a cross-document paragraph cluster are verified near-duplicates."""
        docs = np.unique(par.doc)
        if docs.size != par.doc.size:  # a repeat within a document is news of its own
            return False
        owners = self.cluster_of[docs]
        if owners[0] < 0 or np.any(owners != owners[0]):
            return False
        ks = self.klass[docs].tolist()
        return all(
            a == b or (min(a, b), max(a, b)) in self.pairs for x, a in enumerate(ks) for b in ks[x + 1 :]
        )


def scan_documents(
    documents: list[Document],
    config: ScanConfig,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
) -> ScanResult:
    """Run the whole pipeline over documents held in memory.

    Signing (the cost that grows with the corpus) runs on `workers` processes; everything after
    it runs here. The result does not depend on `workers`.
    """
    from .engine import signed_batches

    acc = {level: _Units() for level in config.levels}
    for n_docs, batch in signed_batches(documents, config, workers):
        for level, units in batch.items():
            acc[level].parts.append(units)
        if progress is not None:
            progress(n_docs)
    result = ScanResult(clusters=[])
    by_level: dict[str, list[Cluster]] = {}
    for level in config.levels:
        stats = LevelStats()
        by_level[level] = _cluster_level(level, documents, acc.pop(level), config, stats, threads=workers)
        result.stats[level] = stats
    if "document" in by_level and "paragraph" in by_level:
        known = _DocumentPairs.build(by_level["document"], len(documents))
        kept = [c for c in by_level["paragraph"] if not known.explain(c)]
        result.suppressed = len(by_level["paragraph"]) - len(kept)
        by_level["paragraph"] = kept
    level_rank = {lv: i for i, lv in enumerate(("document", "paragraph"))}
    clusters = [c for lv in config.levels for c in by_level[lv]]
    clusters.sort(key=lambda c: (int(c.doc[0]), int(c.start[0]), level_rank[c.level], int(c.end[0])))
    result.clusters = clusters
    return result
