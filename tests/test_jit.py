"""The console script's faster loading of cached kernels (jit.load_cached_kernels_without_refresh).

Each case runs in a fresh interpreter: the loader patches numba for the whole process, which a
test must not do to the others, and only a process's first kernel load shows the refresh.
"""

from __future__ import annotations

import json
import subprocess
import sys

_RUN = r"""
import json, sys
import numba.core.base as base
mode = sys.argv[1]
refreshes = []
full = base.BaseContext.refresh
def counted(self):
    refreshes.append(1)
    return full(self)
base.BaseContext.refresh = counted
if mode != "numba":
    from dedup.jit import load_cached_kernels_without_refresh
    assert load_cached_kernels_without_refresh()
if mode == "failing":  # the first cached load fails: numba's own way loads it instead
    from numba.core import caching
    load = caching.Cache._load_overload
    failed = []
    def flaky(self, sig, ctx):
        if not failed:
            failed.append(1)
            raise RuntimeError("a load that fails")
        return load(self, sig, ctx)
    caching.Cache._load_overload = flaky
import dedup
texts = ["the quick brown fox jumps over the lazy dog " * 3, "a b c d e f g h i j", "short"]
out = {m: dedup.signatures(texts, method=m).tolist() for m in ("classic", "oph")}
print(json.dumps({"refreshes": len(refreshes), "signatures": out}))
"""


def _run(mode: str) -> dict:
    done = subprocess.run([sys.executable, "-c", _RUN, mode], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_cached_kernels_load_without_refreshing_numba_and_give_the_same_signatures() -> None:
    _run("light")  # compiles into the cache whatever is not there yet
    light, numba = _run("light"), _run("numba")
    assert light["refreshes"] == 0  # every kernel came from the cache, none refreshed the registries
    assert numba["refreshes"] >= 1  # numba's own load refreshes them (the check can fail)
    assert light["signatures"] == numba["signatures"]


def test_a_cached_load_that_fails_is_retried_the_way_numba_does_it() -> None:
    _run("light")
    failing, numba = _run("failing"), _run("numba")
    assert failing["refreshes"] >= 1  # the retry went through numba's refreshing load
    assert failing["signatures"] == numba["signatures"]
