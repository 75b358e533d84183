"""Where signing runs: in this process, or in a pool of worker processes over batches.

Signing is the only stage whose cost grows with the corpus, and its kernels are CPU-bound, so
processes (not threads: tokenizing still spends a fifth of its time in Python) take one batch at a
time. With the fork start method the workers inherit the documents copy-on-write and receive only
batch ranges; they send back the compact per-unit arrays. Results come back in batch order, so the
report is the same for any number of workers.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

from .config import ScanConfig
from .model import Document
from .scan import UnitBatch, sign_batch

# Documents the forked workers read (set only around a pool's lifetime, in the parent).
_DOCUMENTS: list[Document] | None = None
# Fewer batches than this per worker and a pool costs more than it saves.
_MIN_BATCHES_PER_WORKER = 4


def available_cpus() -> int:
    """CPUs this process may run on (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _sign_range(task: tuple[int, int, ScanConfig]) -> dict[str, UnitBatch]:
    start, stop, config = task
    assert _DOCUMENTS is not None, "worker started without documents"
    return sign_batch([d.text for d in _DOCUMENTS[start:stop]], start, config)


def signed_batches(
    documents: list[Document], config: ScanConfig, workers: int
) -> Iterator[tuple[int, dict[str, UnitBatch]]]:
    """(documents in the batch, its units per level) for every batch, in order."""
    global _DOCUMENTS
    ranges = [
        (b, min(b + config.batch_size, len(documents))) for b in range(0, len(documents), config.batch_size)
    ]
    if not ranges:
        return
    # The first batch runs here: it compiles or loads the kernels once, before any fork, so the
    # workers inherit them instead of each loading them again.
    start, stop = ranges[0]
    yield stop - start, sign_batch([d.text for d in documents[start:stop]], start, config)
    rest = ranges[1:]
    workers = min(workers, len(rest) // _MIN_BATCHES_PER_WORKER)
    if workers <= 1 or "fork" not in mp.get_all_start_methods():
        for start, stop in rest:
            yield stop - start, sign_batch([d.text for d in documents[start:stop]], start, config)
        return
    _DOCUMENTS = documents
    try:
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
            tasks = [(start, stop, config) for start, stop in rest]
            for (start, stop), batch in zip(rest, pool.map(_sign_range, tasks, chunksize=2), strict=True):
                yield stop - start, batch
    finally:
        _DOCUMENTS = None
