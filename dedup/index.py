"""A persistent near-duplicate index: the pre-ingest filter's Python API.

    from dedup import Index
    idx = Index.create("news.dedup", threshold=0.8, num_perm=128, ngram=5)   # or Index.open(path|url)
    idx.query(text)                  # [(doc_id, jaccard_estimate), ...] best first
    idx.add(doc_id, text)            # raises DuplicateIdError on a known id unless replace=True
    idx.check_and_add(docs)          # batch of (id, text); duplicates within the batch count too
    idx.remove(doc_id); len(idx); idx.stats()

Signatures come from the same compiled hot path as `dedup scan`; band keys are the scan's LSH
layout (recall >= 0.99 at threshold + 0.05); a candidate is a match when its MinHash estimate
is at or above the threshold. Storage (store.py, store_redis.py) holds parameters, documents with
their signatures, and sorted segments of band keys; this class keeps the segments in memory and
follows other writers' commits before every query.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import NORMALIZATION, SHINGLE_HASH, ScanConfig
from .lsh import band_keys, candidate_pairs
from .minhash import EMPTY
from .model import DedupError
from .segments import LoadedSegment, candidates, load
from .store import SCHEMA, DuplicateIdError, Store
from .workspace import thread_map

_PARALLEL_MIN = 128  # texts per signing thread below which one thread is faster
_TIER = 4  # segments of one size tier merged together: each key is rewritten ~log4(N/batch) times
# A stream position as one integer: (stream fingerprint << ORIGIN_LINE_BITS) | line number.
ORIGIN_LINE_BITS = 40
_PARAMS = ("threshold", "num_perm", "ngram", "method", "seed")


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What check_and_add decided for one document."""

    id: str
    duplicate_of: list[tuple[str, float]]  # best first; empty when the document is new
    added: bool  # stored by this call
    already_indexed: bool = False  # its id was already in the index with the same text (a re-run)
    conflict: bool = False  # its id is in the index (or earlier in the batch) with other text

    @property
    def is_new(self) -> bool:
        return not self.duplicate_of and not self.conflict


@dataclass(slots=True)
class _Batch:
    ids: list[str]
    sigs: np.ndarray
    keys: np.ndarray  # (bands, n)
    origins: list[int] | None = None  # where each came from in a stream (see ORIGIN_LINE_BITS)
    matches: list[list[tuple[str, float]]] = field(default_factory=list)
    # The documents with words. A text without any has the all-EMPTY signature: it is a copy of
    # nothing (as in scan, where two empty sets have Jaccard 0), not of every other empty text, so
    # it is neither looked up nor paired. All such texts share every band key: each lookup fetched
    # every empty text stored before it (quadratic; the fuzz target's index of tiny inputs hung).
    worded: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.worded = np.flatnonzero(~np.all(self.sigs == EMPTY, axis=1))


def _open_store(location: str, *, create: bool = False) -> Store:
    if location.startswith(("redis://", "rediss://", "unix://")):
        from .store_redis import RedisStore

        return RedisStore(location)
    import os

    from .store import SQLiteStore

    if not create and not os.path.exists(location):  # opening must not leave an empty file behind
        raise DedupError(f"{location}: no dedup index here (create it with `dedup index create`)")
    return SQLiteStore(location)


class Index:
    """See the module docstring. Not thread-safe: use one Index per thread or process."""

    def __init__(self, store: Store, params: dict[str, Any]) -> None:
        self._store = store
        self.params = params
        self.config = ScanConfig(
            threshold=params["threshold"],
            num_perm=params["num_perm"],
            ngram=params["ngram"],
            method=params["method"],
            seed=params["seed"],
            bands=params["bands"],
            rows=params["rows"],
            levels=("document",),
        )
        self._segments: dict[int, LoadedSegment] = {}
        self._version: Any = object()
        from .engine import available_cpus

        self._threads = min(available_cpus(), 4)
        self._refresh()

    # --- opening -------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        location: str,
        *,
        threshold: float = 0.8,
        num_perm: int = 128,
        ngram: int = 5,
        method: str = "classic",
        seed: int = 1,
    ) -> Index:
        """A new, empty index at `location` (a file path, or redis://host:port/db?prefix=name)."""
        config = ScanConfig(threshold=threshold, num_perm=num_perm, ngram=ngram, method=method, seed=seed)  # type: ignore[arg-type]
        params = {
            "schema": SCHEMA,
            "threshold": threshold,
            "num_perm": num_perm,
            "ngram": ngram,
            "method": method,
            "seed": seed,
            "bands": config.bands,
            "rows": config.rows,
            "normalization": NORMALIZATION,
            "shingle_hash": SHINGLE_HASH,
        }
        store = _open_store(location, create=True)
        try:
            store.create(params)
        except BaseException:
            store.close()
            raise
        return cls(store, params)

    @classmethod
    def open(cls, location: str, **expected: Any) -> Index:
        """An existing index. Parameters given here must equal the stored ones (a clear error
        otherwise: signatures made with other parameters are not comparable)."""
        store = _open_store(location)
        try:
            params = store.read_params()
            if params is None:
                raise DedupError(
                    f"{store.describe()}: no dedup index here (create it with `dedup index create`)"
                )
            if params.get("schema") != SCHEMA:
                raise DedupError(
                    f"{store.describe()}: index schema {params.get('schema')}, this dedup reads {SCHEMA}"
                )
            for name in ("normalization", "shingle_hash"):
                ours = {"normalization": NORMALIZATION, "shingle_hash": SHINGLE_HASH}[name]
                if params.get(name) != ours:
                    raise DedupError(
                        f"{store.describe()}: built with {name} {params.get(name)!r}, this dedup uses {ours!r}"
                    )
            for name, value in expected.items():
                if name not in _PARAMS:
                    raise TypeError(f"unknown index parameter {name!r}")
                if value is not None and params[name] != value:
                    raise DedupError(
                        f"{store.describe()}: the index was created with {name}={params[name]!r}, not {value!r}"
                    )
        except BaseException:
            store.close()
            raise
        return cls(store, params)

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._store.count()

    def stats(self) -> dict[str, Any]:
        self._refresh()
        return {
            "location": self._store.describe(),
            "documents": len(self),
            "segments": len(self._segments),
            "band_keys": int(sum(s.keys.size for s in self._segments.values())),
            "size_bytes": self._store.size_bytes(),
            "params": dict(self.params),
        }

    def query(self, text: str) -> list[tuple[str, float]]:
        """Indexed documents whose estimated Jaccard with text is at or above the threshold, best first."""
        return self.query_batch([text])[0]

    def query_batch(self, texts: list[str]) -> list[list[tuple[str, float]]]:
        """query() for many texts at once (one signature batch, one lookup per segment)."""
        batch = self._sign([""] * len(texts), texts)
        self._refresh()
        self._match(batch)
        return batch.matches

    # --- writing -------------------------------------------------------------------------------

    def add(self, doc_id: str, text: str, *, replace: bool = False) -> None:
        """Store one document (whatever it duplicates). A known id raises DuplicateIdError unless replace."""
        batch = self._sign([doc_id], [text])
        self._store.add(batch.ids, batch.sigs, batch.keys, replace)
        self._after_write()

    def add_many(self, docs: Iterable[tuple[str, str]], *, replace: bool = False) -> int:
        """Store a batch of (id, text) in one transaction, duplicates or not; returns how many."""
        docs = list(docs)
        if not docs:
            return 0
        batch = self._sign([d[0] for d in docs], [d[1] for d in docs])
        if len(set(batch.ids)) != len(batch.ids):
            seen: set[str] = set()
            raise DuplicateIdError([i for i in batch.ids if i in seen or seen.add(i)])  # type: ignore[func-returns-value]
        self._store.add(batch.ids, batch.sigs, batch.keys, replace)
        self._after_write()
        return len(docs)

    def remove(self, doc_id: str) -> bool:
        removed = self._store.remove([doc_id]) > 0
        self._after_write()
        return removed

    def check_and_add(
        self, docs: Iterable[tuple[str, str]], *, add: bool = True, origins: list[int] | None = None
    ) -> list[CheckResult]:
        """For each (id, text), in order: what it duplicates among the indexed documents and the
        new documents before it in the batch; new ones are then stored in one transaction (unless
        add=False). A document whose id is already indexed with the same text is reported as new
        and not stored again, so re-running an interrupted stream gives the same answers (with
        `origins`, only when it was stored from the same stream position; otherwise it is a
        duplicate of the stored copy); one whose id is indexed (or stored earlier in the batch) with
        other text is a conflict and is not stored. With add=False the batch is checked against the
        index only.

        `origins` (see ORIGIN_LINE_BITS) place each document in a stream. They are stored, and a
        document is never reported as a duplicate of one stored from a later line of the same
        stream: replaying a stream (after a crash, or twice) then lists exactly what the first
        pass listed, even though the index now also holds the documents that came after."""
        docs = list(docs)
        batch = self._sign([d[0] for d in docs], [d[1] for d in docs])
        batch.origins = origins
        while True:
            self._refresh()
            known = self._store.lookup(batch.ids)
            results = self._decide(batch, known, add)
            new = [r.added for r in results]
            if not add or not any(new):
                return [_not_added(r) for r in results] if not add else results
            keep = np.flatnonzero(new)
            try:
                self._store.add(
                    [batch.ids[i] for i in keep],
                    batch.sigs[keep],
                    batch.keys[:, keep],
                    False,
                    [origins[i] for i in keep.tolist()] if origins is not None else None,
                )
            except DuplicateIdError:
                continue  # another writer stored one of these ids meanwhile: decide again
            self._after_write()
            return results

    # --- internals -----------------------------------------------------------------------------

    def _sign(self, ids: list[str], texts: list[str]) -> _Batch:
        from . import signatures

        for i in ids:
            if not isinstance(i, str):
                raise DedupError(f"document ids are strings, got {type(i).__name__}")
            if not i.isascii():
                try:
                    i.encode("utf-8")
                except UnicodeEncodeError:
                    raise DedupError(f"document id {i!r} is not valid Unicode (a lone surrogate)") from None
        cfg = self.config

        def sign(part: list[str]) -> np.ndarray:
            return signatures(part, num_perm=cfg.num_perm, ngram=cfg.ngram, method=cfg.method, seed=cfg.seed)

        # The kernels release the GIL: parts of a large batch sign on several threads at once.
        threads = min(self._threads, len(texts) // _PARALLEL_MIN) or 1
        step = -(-len(texts) // threads) if texts else 1
        parts = [texts[i : i + step] for i in range(0, len(texts), step)] or [texts]
        sigs = np.concatenate(thread_map(sign, parts, threads))
        return _Batch(ids=ids, sigs=sigs, keys=band_keys(sigs, cfg.bands, cfg.rows))

    def _refresh(self) -> None:
        """Follow commits of other writers: load new segments, forget merged-away ones."""
        version = self._store.version()
        if version == self._version:
            return
        live = self._store.segment_ids()
        for seg in list(self._segments):
            if seg not in live:
                del self._segments[seg]
        for seg in live:
            if seg not in self._segments:
                try:
                    self._segments[seg] = load(self._store.load_segment(seg))
                except KeyError:  # merged away between listing and loading: list again next time
                    version = None
        self._version = version

    def _after_write(self) -> None:
        self._version = object()  # our own commits do not change SQLite's data_version
        self._refresh()
        self._merge()

    def _merge(self) -> None:
        """Size-tiered merging: when _TIER segments share a size tier, they become one."""
        while True:
            tiers: dict[int, list[LoadedSegment]] = {}
            for seg in sorted(self._segments.values(), key=lambda s: s.seg):
                tiers.setdefault(int(np.log(max(seg.keys.size, 1)) / np.log(_TIER)), []).append(seg)
            group = next((g[:_TIER] for g in tiers.values() if len(g) >= _TIER), None)
            if group is None:
                return
            keys = np.concatenate([s.keys for s in group])
            rowids = np.concatenate([s.rowids for s in group])
            order = np.argsort(keys, kind="stable")  # timsort: merging sorted runs is linear
            keys, rowids = keys[order], rowids[order]
            if self._store.removals():
                alive = self._store.alive(rowids)
                keys, rowids = keys[alive], rowids[alive]
            self._store.replace_segments([s.seg for s in group], keys, rowids)
            self._version = object()
            self._refresh()

    def _match(self, batch: _Batch) -> None:
        """batch.matches: indexed documents at or above the threshold for each document, best first."""
        batch.matches = [[] for _ in batch.ids]
        asked = batch.worded
        if not asked.size:
            return
        qi, rowids = candidates(list(self._segments.values()), batch.keys[:, asked])
        qi = asked[qi]
        if not rowids.size:
            return
        found = self._store.fetch(np.unique(rowids))
        live = np.array([r in found for r in rowids.tolist()], dtype=bool)
        if batch.origins is not None:  # nothing from a later line of the same stream
            for k, (q, r) in enumerate(zip(qi.tolist(), rowids.tolist(), strict=True)):
                if live[k] and _later_in_stream(found[r][2], batch.origins[q]):
                    live[k] = False
        qi, rowids = qi[live], rowids[live]
        if not rowids.size:
            return
        uniq, inverse = np.unique(rowids, return_inverse=True)
        stored = np.frombuffer(b"".join(found[r][1] for r in uniq.tolist()), dtype=np.uint32)
        stored = stored.reshape(uniq.size, -1)
        scores = np.mean(stored[inverse] == batch.sigs[qi], axis=1)
        ok = scores >= self.config.threshold - 1e-12
        for q, r, s in zip(qi[ok].tolist(), rowids[ok].tolist(), scores[ok].tolist(), strict=True):
            batch.matches[q].append((found[r][0], float(s)))
        for m in batch.matches:
            m.sort(key=lambda x: (-x[1], x[0]))

    def _decide(
        self, batch: _Batch, known: dict[str, tuple[int, bytes, int | None]], add: bool = True
    ) -> list[CheckResult]:
        """Per document, in batch order: already indexed (a replay), duplicate, conflict, or new.

        An id already stored is a replay when it was stored from this very stream position (or,
        without origins, with the same text); otherwise the same text is a duplicate of the stored
        copy and other text is a conflict. The same id earlier in the batch, stored by this call,
        is judged the same way, so the answer never depends on where a batch boundary falls.
        Without `add`, only the index is consulted (nothing of the batch will be stored).
        """
        n = len(batch.ids)
        self._match(batch)
        # Within the batch: pairs sharing a band, estimated like index matches.
        within: dict[int, list[int]] = {}
        if add and n > 1:
            worded = batch.worded
            for i, j in worded[candidate_pairs(batch.keys[:, worded])].tolist():
                within.setdefault(j, []).append(i)
        threshold = self.config.threshold - 1e-12
        results: list[CheckResult] = []
        stored_here: dict[str, int] = {}
        for j, doc_id in enumerate(batch.ids):
            sig = batch.sigs[j].tobytes()
            origin = batch.origins[j] if batch.origins is not None else None
            if doc_id in known:
                _, stored_sig, stored_origin = known[doc_id]
                replay = stored_origin == origin if origin is not None else stored_sig == sig
                if replay and stored_sig == sig:
                    results.append(CheckResult(doc_id, [], False, already_indexed=True))
                    continue
                if stored_sig != sig:
                    results.append(CheckResult(doc_id, [], False, conflict=True))
                    continue
            elif doc_id in stored_here and batch.sigs[stored_here[doc_id]].tobytes() != sig:
                results.append(CheckResult(doc_id, [], False, conflict=True))
                continue
            dups = list(batch.matches[j])  # a stored copy under the same id is among them
            for i in within.get(j, []):
                if results[i].added:
                    score = float(np.mean(batch.sigs[i] == batch.sigs[j]))
                    if score >= threshold:
                        dups.append((batch.ids[i], score))
            # An id stored with this text (by now, or earlier in this batch) is a duplicate of that
            # copy, also where matching left it out (from a later line of this stream, or a text
            # without words): answered new, it would be stored again and refused, forever.
            if (doc_id in known or doc_id in stored_here) and not any(d[0] == doc_id for d in dups):
                dups.append((doc_id, 1.0))
            dups.sort(key=lambda x: (-x[1], x[0]))
            is_new = not dups
            if is_new and add:
                stored_here[doc_id] = j
            results.append(CheckResult(doc_id, dups, added=is_new))
        return results


def _later_in_stream(stored: int | None, current: int | None) -> bool:
    if stored is None or current is None:
        return False
    return stored >> ORIGIN_LINE_BITS == current >> ORIGIN_LINE_BITS and stored > current


def _not_added(r: CheckResult) -> CheckResult:
    return CheckResult(r.id, r.duplicate_of, False, r.already_indexed, r.conflict)
