"""The index on Redis, for indexes shared across machines: the same contract as the SQLite store.

`redis://[:password@]host:port/db?prefix=name` (default prefix `dedup`): every key lives under
`name:`. A batch (documents + its segment), a removal and a merge are each one Lua script, which
Redis runs atomically: a killed client leaves every batch fully in or fully out, concurrent writers
never interleave inside one, and an id check cannot race the write it guards. Rowids and segment
numbers come from counters (INCRBY) before the script; a batch that then fails leaves only a gap.
The password never appears in a message, `stats` or a report.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import numpy as np

from .model import DedupError
from .store import DuplicateIdError, Segment, segment_of

_ADD = """
local replace = ARGV[1] == '1'
local n = tonumber(ARGV[2])
local taken = {}
for i = 0, n - 1 do
  local id = ARGV[3 + 3 * i]
  if redis.call('HEXISTS', KEYS[1], id) == 1 then table.insert(taken, id) end
end
if #taken > 0 and not replace then return {0, taken} end
for _, id in ipairs(taken) do
  local old = redis.call('HGET', KEYS[1], id)
  redis.call('HDEL', KEYS[2], old)
  redis.call('HDEL', KEYS[3], old)
  redis.call('HDEL', KEYS[9], old)
end
if #taken > 0 then redis.call('INCRBY', KEYS[6], #taken) end
for i = 0, n - 1 do
  local id, rowid, sig = ARGV[3 + 3 * i], ARGV[4 + 3 * i], ARGV[5 + 3 * i]
  redis.call('HSET', KEYS[1], id, rowid)
  redis.call('HSET', KEYS[2], rowid, id)
  redis.call('HSET', KEYS[3], rowid, sig)
end
local base = 3 + 3 * n
local n_origins = tonumber(ARGV[base + 3])
for i = 0, n_origins - 1 do
  redis.call('HSET', KEYS[9], ARGV[base + 4 + 2 * i], ARGV[base + 5 + 2 * i])
end
redis.call('SET', KEYS[7], ARGV[base + 1])
redis.call('SET', KEYS[8], ARGV[base + 2])
redis.call('SADD', KEYS[4], ARGV[base])
redis.call('INCR', KEYS[5])
return {1, taken}
"""

_REMOVE = """
local count = 0
for _, id in ipairs(ARGV) do
  local rowid = redis.call('HGET', KEYS[1], id)
  if rowid then
    redis.call('HDEL', KEYS[1], id)
    redis.call('HDEL', KEYS[2], rowid)
    redis.call('HDEL', KEYS[3], rowid)
    redis.call('HDEL', KEYS[6], rowid)
    count = count + 1
  end
end
if count > 0 then
  redis.call('INCRBY', KEYS[4], count)
  redis.call('INCR', KEYS[5])
end
return count
"""

# KEYS: segs, version, new keys, new rowids, then (keys, rowids) of each old segment.
# ARGV: the new segment number, then the old ones. Swaps only if every old one is still listed.
_REPLACE = """
for i = 2, #ARGV do
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 0 then return 0 end
end
for i = 2, #ARGV do
  redis.call('SREM', KEYS[1], ARGV[i])
  redis.call('DEL', KEYS[3 + 2 * (i - 1)], KEYS[4 + 2 * (i - 1)])
end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('INCR', KEYS[2])
return 1
"""


def safe_url(url: str) -> str:
    """The URL without its password (or user name), for messages and stats. A URL that does not
    parse is an error that quotes none of it (its password may be what broke the parse)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        raise DedupError(
            "malformed redis:// URL (percent-encode special characters in the password, e.g. # as %23)"
        ) from None
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


class RedisStore:
    def __init__(self, url: str) -> None:
        import redis

        self.url = safe_url(url)
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        prefix = query.pop("prefix", ["dedup"])[0]
        if not prefix or any(c in prefix for c in "*?[] "):
            raise DedupError(f"{safe_url(url)}: prefix must be a plain name, got {prefix!r}")
        self.url = safe_url(url)
        clean = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query, doseq=True), ""))
        try:
            self.r = redis.Redis.from_url(clean, socket_timeout=60)
            self.r.ping()
        except ValueError:
            raise DedupError(f"{self.url}: malformed redis:// URL") from None
        except redis.RedisError as err:
            raise DedupError(f"{self.url}: cannot reach Redis ({type(err).__name__})") from None
        self.p = prefix + ":"
        self._add = self.r.register_script(_ADD)
        self._remove = self.r.register_script(_REMOVE)
        self._replace = self.r.register_script(_REPLACE)

    def _k(self, name: str) -> str:
        return self.p + name

    def _seg_keys(self, seg: int) -> tuple[str, str]:
        return self._k(f"seg:{seg}:k"), self._k(f"seg:{seg}:r")

    def describe(self) -> str:
        return self.url

    def read_params(self) -> dict[str, Any] | None:
        raw = self._call(self.r.get, self._k("params"))
        return json.loads(raw) if raw else None

    def create(self, params: dict[str, Any]) -> None:
        if not self._call(self.r.set, self._k("params"), json.dumps(params, sort_keys=True), nx=True):
            raise DedupError(f"{self.url}: an index already exists under prefix {self.p[:-1]!r}")

    def version(self) -> Any:
        return self._call(self.r.get, self._k("version"))

    def segment_ids(self) -> list[int]:
        return sorted(int(s) for s in self._call(self.r.smembers, self._k("segs")))

    def load_segment(self, seg: int) -> Segment:
        keys, rowids = self._call(self.r.mget, list(self._seg_keys(seg)))
        if keys is None or rowids is None:
            raise KeyError(seg)
        return Segment(seg, np.frombuffer(keys, dtype=np.uint64), np.frombuffer(rowids, dtype=np.uint32))

    def lookup(self, ids: list[str]) -> dict[str, tuple[int, bytes, int | None]]:
        if not ids:
            return {}
        rowids = self._call(self.r.hmget, self._k("ids"), ids)
        have = [(i, int(r)) for i, r in zip(ids, rowids, strict=True) if r is not None]
        if not have:
            return {}
        pipe = self.r.pipeline(transaction=True)
        pipe.hmget(self._k("sigs"), [r for _, r in have])
        pipe.hmget(self._k("origin"), [r for _, r in have])
        sigs, origins = self._call(pipe.execute)
        return {
            i: (r, s, int(o) if o is not None else None)
            for (i, r), s, o in zip(have, sigs, origins, strict=True)
            if s is not None
        }

    def fetch(self, rowids: np.ndarray) -> dict[int, tuple[str, bytes, int | None]]:
        keys = rowids.tolist()
        if not keys:
            return {}
        pipe = self.r.pipeline(transaction=True)
        pipe.hmget(self._k("names"), keys)
        pipe.hmget(self._k("sigs"), keys)
        pipe.hmget(self._k("origin"), keys)
        names, sigs, origins = self._call(pipe.execute)
        return {
            r: (n.decode("utf-8", "surrogatepass"), s, int(o) if o is not None else None)
            for r, n, s, o in zip(keys, names, sigs, origins, strict=True)
            if n is not None and s is not None
        }

    def add(
        self,
        ids: list[str],
        sigs: np.ndarray,
        keys: np.ndarray,
        replace: bool,
        origins: list[int] | None = None,
    ) -> np.ndarray:
        n = len(ids)
        last = int(self._call(self.r.incrby, self._k("next_rowid"), n))
        if last >= 2**32:
            raise DedupError(f"{self.url}: index full (2**32 documents added over its life)")
        rowids = np.arange(last - n + 1, last + 1, dtype=np.int64)
        seg = int(self._call(self.r.incr, self._k("next_seg")))
        seg_keys, seg_rowids = segment_of(rowids, keys)
        args: list[Any] = ["1" if replace else "0", n]
        for doc_id, rowid, sig in zip(ids, rowids.tolist(), sigs, strict=True):
            args += [doc_id, rowid, sig.tobytes()]
        args += [seg, seg_keys.tobytes(), seg_rowids.tobytes()]
        args.append(len(ids) if origins is not None else 0)
        if origins is not None:
            for rowid, origin in zip(rowids.tolist(), origins, strict=True):
                args += [rowid, origin]
        k = [self._k(x) for x in ("ids", "names", "sigs", "segs", "version", "removals")]
        ok, taken = self._call(self._add, keys=[*k, *self._seg_keys(seg), self._k("origin")], args=args)
        if not ok:
            raise DuplicateIdError([t.decode("utf-8", "surrogatepass") for t in taken])
        return rowids

    def remove(self, ids: list[str]) -> int:
        if not ids:
            return 0
        k = [self._k(x) for x in ("ids", "names", "sigs", "removals", "version", "origin")]
        return int(self._call(self._remove, keys=k, args=ids))

    def replace_segments(self, old: list[int], keys: np.ndarray, rowids: np.ndarray) -> bool:
        seg = int(self._call(self.r.incr, self._k("next_seg")))
        new_k, new_r = self._seg_keys(seg)
        # Write the merged segment first (not yet listed, so invisible), then swap in one script.
        pipe = self.r.pipeline(transaction=True)
        pipe.set(new_k, keys.tobytes())
        pipe.set(new_r, rowids.tobytes())
        self._call(pipe.execute)
        old_keys = [k for s in old for k in self._seg_keys(s)]
        done = self._call(
            self._replace,
            keys=[self._k("segs"), self._k("version"), new_k, new_r, *old_keys],
            args=[seg, *old],
        )
        if not done:
            self._call(self.r.delete, new_k, new_r)
        return bool(done)

    def alive(self, rowids: np.ndarray) -> np.ndarray:
        uniq = np.unique(rowids)
        names = self._call(self.r.hmget, self._k("names"), uniq.tolist()) if uniq.size else []
        live = uniq[np.array([n is not None for n in names], dtype=bool)] if uniq.size else uniq
        return np.isin(rowids, live)

    def removals(self) -> int:
        return int(self._call(self.r.get, self._k("removals")) or 0)

    def count(self) -> int:
        return int(self._call(self.r.hlen, self._k("ids")))

    def size_bytes(self) -> int:
        """Memory Redis reports for the index's keys (MEMORY USAGE, sampled for the hashes)."""
        total = 0
        names = ["params", "ids", "names", "sigs", "origin", "segs", "version"]
        for seg in self.segment_ids():
            names += [k[len(self.p) :] for k in self._seg_keys(seg)]
        for name in names:
            total += int(self._call(self.r.memory_usage, self._k(name), samples=0) or 0)
        return total

    def close(self) -> None:
        self.r.close()

    def _call(self, fn, *args, **kwargs):
        import redis

        try:
            return fn(*args, **kwargs)
        except redis.RedisError as err:
            raise DedupError(f"{self.url}: Redis error ({type(err).__name__}: {_scrub(str(err))})") from None


def _scrub(message: str) -> str:
    """Redis error texts name hosts, never passwords; keep them to one line all the same."""
    return " ".join(message.split())[:200]


@contextmanager
def throwaway_server(work_dir: str, password: str | None = None) -> Iterator[str]:
    """A private redis-server on a free loopback port for tests and benchmarks, stopped on exit;
    yields its URL. Raises FileNotFoundError when redis-server is not installed."""
    import shutil
    import socket
    import subprocess
    import time

    import redis

    exe = shutil.which("redis-server")
    if exe is None:
        raise FileNotFoundError("redis-server")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [
        exe,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        work_dir,
    ]
    if password:
        args += ["--requirepass", password]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis(port=port, password=password)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        auth = f":{password}@" if password else ""
        yield f"redis://{auth}127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)
