"""Keep freed memory in the process, in one heap, instead of handing it back to the kernel (glibc).

Clustering and the report allocate and free the same few large arrays over and over (each LSH
band's keys, packed keys and orders: 11 MB apiece for 1.4M paragraphs, ~50 MB a band). glibc
maps a block above its mmap threshold on its own and unmaps it on free, and trims the top of its
heap once more than twice that threshold is free there (the threshold follows the largest block
freed so far, so a band's 50 MB working set is handed back to the kernel band after band). The
memory then comes back as fresh pages, and first-touching a page is the expensive part of memory
here: ~8 us a 4 KiB page on the virtual machines this was measured on, where freed guest memory
is reported to the host and its next touch faults on the host too (free page reporting).

With both limits raised, freed blocks stay mapped and are reused warm: candidate pairs over
16 bands of 1.4M random keys went 0.71-0.95 -> 0.42-0.57 s (its page faults 30-46k -> 0).
Clustering runs on threads started for each stage, and glibc gives a new thread
an arena of its own, whose memory the next stage's threads do not see: with a single arena,
clustering a 200k scan's units on two threads went 1.16-1.35 -> 0.98-1.07 s, its page faults
19-29k -> 2-4k a run (in-process, the units of a 200k scan; the allocations are few and large,
so threads hardly wait for the arena's lock). The cost is that the process keeps its high-water mark of heap until
it ends.

Only the command line calls this: a library should not change its host program's allocator.
"""

from __future__ import annotations

import ctypes
import os

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
# glibc refuses an mmap threshold above half its largest heap (32 MiB on 64-bit); blocks at least
# this big (a whole report's bytes, a 200k-document matrix) are still mapped and unmapped alone.
_MMAP_THRESHOLD = 32 << 20
_TRIM_THRESHOLD = 1 << 30
# (mallopt parameter, value, environment variable, GLIBC_TUNABLES name) of each setting
_SETTINGS = (
    (_M_MMAP_THRESHOLD, _MMAP_THRESHOLD, "MALLOC_MMAP_THRESHOLD_", "mmap_threshold"),
    (_M_TRIM_THRESHOLD, _TRIM_THRESHOLD, "MALLOC_TRIM_THRESHOLD_", "trim_threshold"),
    (_M_ARENA_MAX, 1, "MALLOC_ARENA_MAX", "arena_max"),
)


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds and use one arena, for this process and the workers
    it forks.

    Does nothing on another C library. A setting the user made through the environment
    (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, MALLOC_ARENA_MAX or GLIBC_TUNABLES) is left
    as it is; so are both thresholds if either was set, since glibc then fixes the other too.
    Returns whether every setting was made.
    """
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
    except (ValueError, OSError, AttributeError):  # not glibc, or not a POSIX system
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own symbols, libc's among them
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    users = {param for param, _, env, tunable in _SETTINGS if env in os.environ or tunable in tunables}
    if users & {_M_MMAP_THRESHOLD, _M_TRIM_THRESHOLD}:
        users |= {_M_MMAP_THRESHOLD, _M_TRIM_THRESHOLD}
    # mallopt returns 1 on success; the mmap threshold first, as setting it pins both thresholds
    made = [bool(mallopt(param, value)) for param, value, _, _ in _SETTINGS if param not in users]
    return not users and all(made)
