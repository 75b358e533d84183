"""Where an index lives: the storage contract, and its SQLite implementation (the default).

An index is three things: its parameters; its documents (id, MinHash signature); and its LSH
band keys, kept as immutable sorted *segments* (an append-only log, merged now and then, the
LSM way). Adding a batch writes its documents and one new segment in one transaction, so a crash at
any moment leaves every batch either fully in or fully out, and a reader never sees half a batch.
Band keys as sorted arrays rather than one row per (band, document) keep adds at one blob write per
batch instead of 16 B-tree inserts per document, and queries at a binary search per segment.

Everything a caller supplies (ids, parameters) reaches SQL only through bound parameters.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .model import DedupError

SCHEMA = 1
BUSY_TIMEOUT_MS = 120_000  # a second writer waits this long for the first to commit


class DuplicateIdError(DedupError):
    """An id that is already in the index (add with replace=True to replace it)."""

    def __init__(self, ids: list[str]) -> None:
        shown = ", ".join(repr(i) for i in ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
        super().__init__(f"already in the index: {shown} (use replace to overwrite)")
        self.ids = ids


@dataclass(frozen=True, slots=True)
class Segment:
    """Sorted band keys and the document (rowid) each belongs to."""

    seg: int
    keys: np.ndarray  # uint64, sorted
    rowids: np.ndarray  # uint32, aligned with keys


class Store(Protocol):
    """What the index needs from a storage backend (SQLite here, Redis in store_redis)."""

    def read_params(self) -> dict[str, Any] | None: ...
    def create(self, params: dict[str, Any]) -> None: ...
    def version(self) -> Any: ...
    def segment_ids(self) -> list[int]: ...
    def load_segment(self, seg: int) -> Segment: ...
    def lookup(self, ids: list[str]) -> dict[str, tuple[int, bytes, int | None]]: ...
    def fetch(self, rowids: np.ndarray) -> dict[int, tuple[str, bytes, int | None]]: ...
    def add(
        self,
        ids: list[str],
        sigs: np.ndarray,
        keys: np.ndarray,
        replace: bool,
        origins: list[int] | None = None,
    ) -> np.ndarray: ...
    def remove(self, ids: list[str]) -> int: ...
    def replace_segments(self, old: list[int], keys: np.ndarray, rowids: np.ndarray) -> bool: ...
    def alive(self, rowids: np.ndarray) -> np.ndarray: ...
    def removals(self) -> int: ...
    def count(self) -> int: ...
    def size_bytes(self) -> int: ...
    def describe(self) -> str: ...
    def close(self) -> None: ...


def segment_of(rowids: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted keys, rowids) of a batch: every band key of every document, sorted by key."""
    bands = keys.shape[0]
    flat = np.ascontiguousarray(keys).reshape(-1)
    owner = np.tile(rowids.astype(np.uint32), bands)
    order = np.argsort(flat, kind="stable")
    return flat[order], owner[order]


class SQLiteStore:
    """One SQLite file in WAL mode: readers never block the writer or each other, a second writer
    waits (busy timeout), and every write is one transaction (synchronous=FULL: committed batches
    survive a power cut, not just a killed process)."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self.db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            self.db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as err:
            raise DedupError(f"{path}: cannot open the index: {err}") from None

    def describe(self) -> str:
        return self.path

    def _tables(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    def read_params(self) -> dict[str, Any] | None:
        try:
            if "meta" not in self._tables():
                return None
            row = self.db.execute("SELECT value FROM meta WHERE key = 'params'").fetchone()
        except sqlite3.DatabaseError as err:
            raise DedupError(f"{self.path}: not a dedup index ({err})") from None
        return json.loads(row[0]) if row else None

    def create(self, params: dict[str, Any]) -> None:
        with _write(self.db):
            if self._tables():
                raise DedupError(f"{self.path}: already exists and is not empty")
            self.db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self.db.execute(
                "CREATE TABLE docs (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, sig BLOB NOT NULL, origin INTEGER)"
            )
            self.db.execute(
                "CREATE TABLE segments (seg INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER NOT NULL, "
                "keys BLOB NOT NULL, rowids BLOB NOT NULL)"
            )
            self.db.execute("INSERT INTO meta VALUES ('params', ?)", (json.dumps(params, sort_keys=True),))

    def version(self) -> Any:
        """Changes whenever another connection commits (SQLite's data_version), cheap to ask."""
        return self.db.execute("PRAGMA data_version").fetchone()[0]

    def segment_ids(self) -> list[int]:
        return [r[0] for r in self.db.execute("SELECT seg FROM segments ORDER BY seg")]

    def load_segment(self, seg: int) -> Segment:
        row = self.db.execute("SELECT keys, rowids FROM segments WHERE seg = ?", (seg,)).fetchone()
        if row is None:
            raise KeyError(seg)
        return Segment(seg, np.frombuffer(row[0], dtype=np.uint64), np.frombuffer(row[1], dtype=np.uint32))

    def lookup(self, ids: list[str]) -> dict[str, tuple[int, bytes, int | None]]:
        out: dict[str, tuple[int, bytes, int | None]] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            for rowid, doc_id, sig, origin in self.db.execute(
                f"SELECT rowid, id, sig, origin FROM docs WHERE id IN ({marks})", chunk
            ):
                out[doc_id] = (rowid, sig, origin)
        return out

    def fetch(self, rowids: np.ndarray) -> dict[int, tuple[str, bytes, int | None]]:
        out: dict[int, tuple[str, bytes, int | None]] = {}
        for chunk in _chunks(rowids.tolist()):
            marks = ",".join("?" * len(chunk))
            for rowid, doc_id, sig, origin in self.db.execute(
                f"SELECT rowid, id, sig, origin FROM docs WHERE rowid IN ({marks})", chunk
            ):
                out[rowid] = (doc_id, sig, origin)
        return out

    def add(
        self,
        ids: list[str],
        sigs: np.ndarray,
        keys: np.ndarray,
        replace: bool,
        origins: list[int] | None = None,
    ) -> np.ndarray:
        """Insert documents and their segment in one transaction; rowids of the new documents.
        `origins` (optional, one int per document) records where in a stream each came from."""
        with _write(self.db):
            present = self.lookup(ids)
            if present and not replace:
                raise DuplicateIdError([i for i in ids if i in present])
            if present:
                self.db.executemany("DELETE FROM docs WHERE id = ?", [(i,) for i in present])
                self._count_removals(len(present))
            start = self.db.execute("SELECT COALESCE(MAX(rowid), 0) FROM docs").fetchone()[0] + 1
            start = max(start, self._high_water() + 1)  # never reuse a removed document's rowid
            rowids = np.arange(start, start + len(ids), dtype=np.int64)
            if rowids.size and rowids[-1] >= 2**32:
                raise DedupError(f"{self.path}: index full (2**32 documents added over its life)")
            self.db.executemany(
                "INSERT INTO docs (rowid, id, sig, origin) VALUES (?, ?, ?, ?)",
                zip(
                    rowids.tolist(),
                    ids,
                    (s.tobytes() for s in sigs),
                    origins if origins is not None else [None] * len(ids),
                    strict=True,
                ),
            )
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('high_water', ?)", (str(int(rowids[-1])),))
            seg_keys, seg_rowids = segment_of(rowids, keys)
            self.db.execute(
                "INSERT INTO segments (n, keys, rowids) VALUES (?, ?, ?)",
                (int(seg_keys.size), seg_keys.tobytes(), seg_rowids.tobytes()),
            )
        return rowids

    def _high_water(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'high_water'").fetchone()
        return int(row[0]) if row else 0

    def remove(self, ids: list[str]) -> int:
        """Delete documents; their band keys stay in segments until a merge, ignored by queries."""
        with _write(self.db):
            before = self.db.total_changes
            self.db.executemany("DELETE FROM docs WHERE id = ?", [(i,) for i in ids])
            removed = self.db.total_changes - before
            self._count_removals(removed)
            return removed

    def _count_removals(self, n: int) -> None:
        self.db.execute(
            "INSERT INTO meta VALUES ('removals', ?) ON CONFLICT(key) DO UPDATE SET value = value + ?",
            (str(n), n),
        )

    def removals(self) -> int:
        """Documents removed or replaced over the index's life (dead keys may sit in segments)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'removals'").fetchone()
        return int(row[0]) if row else 0

    def replace_segments(self, old: list[int], keys: np.ndarray, rowids: np.ndarray) -> bool:
        """Swap merged segments for their merge, if no other writer merged them first."""
        with _write(self.db):
            marks = ",".join("?" * len(old))
            have = self.db.execute(f"SELECT COUNT(*) FROM segments WHERE seg IN ({marks})", old).fetchone()[0]
            if have != len(old):
                return False
            self.db.execute(f"DELETE FROM segments WHERE seg IN ({marks})", old)
            self.db.execute(
                "INSERT INTO segments (n, keys, rowids) VALUES (?, ?, ?)",
                (int(keys.size), keys.tobytes(), rowids.tobytes()),
            )
        return True

    def alive(self, rowids: np.ndarray) -> np.ndarray:
        """Which of these rowids are still documents (for dropping dead keys in a merge)."""
        live = set()
        for chunk in _chunks(np.unique(rowids).tolist()):
            marks = ",".join("?" * len(chunk))
            live.update(
                r[0] for r in self.db.execute(f"SELECT rowid FROM docs WHERE rowid IN ({marks})", chunk)
            )
        return np.isin(rowids, np.fromiter(live, dtype=np.int64, count=len(live)))

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM docs").fetchone()[0]

    def size_bytes(self) -> int:
        return sum(os.path.getsize(p) for p in (self.path, self.path + "-wal") if os.path.exists(p))

    def close(self) -> None:
        self.db.close()


class _write:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on any error): takes the write lock up front, so two
    writers queue on the busy timeout instead of failing halfway with a lock upgrade error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, value, tb) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


def _chunks(values: list, size: int = 900) -> list[list]:
    """Slices small enough for SQLite's bound-parameter limit."""
    return [values[i : i + size] for i in range(0, len(values), size)]
