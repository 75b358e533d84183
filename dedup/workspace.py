"""Grow-only scratch arrays that the hot path reuses from batch to batch.

Each batch needs a dozen arrays (bytes, token spans, hashes, shingles, signatures). Allocating
them fresh per batch looks free but is not: fresh memory is mapped lazily, and first-touching a
4 KiB page cost ~8 us on the machines this runs on (measured: 50x a write to a warm page), more
than tokenizing the bytes in it. Whether an allocation gets warm or fresh pages depends on the
allocator's state, so throughput also swung by 30-50% between harnesses that ran the same code.
Writing every batch into the same memory removes both the cost and the noise.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import numpy as np

_GROWTH = 1.25
T = TypeVar("T")
R = TypeVar("R")


class Workspace:
    """Named arrays that only grow. Arrays handed out stay valid until the same name is asked for
    again, so a caller keeps a result across batches only by copying it."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def array(self, name: str, size: int, dtype: type | np.dtype) -> np.ndarray:
        """A 1-D array of at least `size` elements (the first `size` returned), contents undefined."""
        dtype = np.dtype(dtype)
        have = self._arrays.get(name)
        if have is None or have.size < size or have.dtype != dtype:
            have = np.empty(int(size * _GROWTH) + 64, dtype=dtype)
            self._arrays[name] = have
        return have[:size]

    def matrix(self, name: str, rows: int, cols: int, dtype: type | np.dtype) -> np.ndarray:
        """A C-contiguous (rows, cols) array carved from the named buffer."""
        return self.array(name, rows * cols, dtype).reshape(rows, cols)


_local = threading.local()


def thread_workspace() -> Workspace:
    """This thread's workspace (kernels release the GIL, so threads must not share one)."""
    ws = getattr(_local, "ws", None)
    if ws is None:
        ws = _local.ws = Workspace()
    return ws


def thread_map(fn: Callable[[T], R], items: Sequence[T], threads: int) -> list[R]:
    """fn over items on up to `threads` threads (in order), or in this thread when one would do.
    Worth it around the compiled kernels, which release the GIL; each thread gets its own workspace."""
    if threads <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(min(threads, len(items))) as pool:
        return list(pool.map(fn, items))


def ordered_thread_map(fn: Callable[[T], R], items: Sequence[T], threads: int) -> Iterator[R]:
    """thread_map as a stream: fn over items in order, on up to `threads` threads, with at most two
    calls per thread ahead of the one consumed (so a corpus's worth of results never waits in memory)."""
    if threads <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(threads) as pool:
        pending: deque[Future[R]] = deque()
        try:
            for x in items:
                pending.append(pool.submit(fn, x))
                if len(pending) > 2 * threads:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()
