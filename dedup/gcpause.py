"""Pause Python's cyclic garbage collector for the length of a scan.

A scan allocates a few objects per document (the Document, its id and source strings, the
per-batch arrays) and frees almost none of them until it ends, and none of them form cycles.
Each time the count of new objects grows by a quarter, the collector walks every live object
again: at 200,000 documents that was 8 full passes, 0.7-0.9 s, holding the GIL while the
clustering threads and the thread receiving the workers' results waited
(`benches/results/scale.md`). Reference counting still frees everything that is not in a cycle,
so memory is unchanged (the peak RSS of the same scan moved by under 1%); the collector runs
again as soon as the scan is over.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collection_paused(resume: bool = True) -> Iterator[None]:
    """No automatic cyclic collection inside the block; the collector's prior state after it
    (a caller that had already disabled it keeps it disabled).

    `resume=False` leaves it off, for a process that ends with the block: turned back on, its first
    pass walks every object the scan made (0.13 s at 200k documents) just before they are freed."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled and resume:
            gc.enable()
