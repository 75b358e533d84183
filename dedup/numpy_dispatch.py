"""numpy's CPU dispatch for this machine: AVX2 sorts on AMD Zen 4, where AVX-512 ones are slow.

numpy sorts and argsorts 32- and 64-bit values with x86-simd-sort, whose AVX-512 partition stores
each vector with a memory-destination compress (`vpcompressq`). Zen 4 (AMD family 0x19 with
AVX-512) runs that instruction in microcode, over 100 cycles each (numpy/x86-simd-sort#6, and the
JDK turned its AVX-512 sort off on Zen 4 for it); Zen 5 fixed it. On a Zen 4 EPYC, numpy's
uint64 sort took 54-60 ns a key with AVX-512 and 12-14 ns with AVX2 (1.4M keys, the size of one
band of paragraph candidates at 200k documents), and a 200k-document scan at the document and
paragraph levels 10.2 -> 8.1 s on one worker, 5.9 -> 5.0 s on two (benches/bench_phases.py),
reports byte-identical: a sort's output does not depend on how it was sorted.

numpy reads NPY_DISABLE_CPU_FEATURES once, when it is first imported, so only the console script
sets it (before anything imports numpy), and never over a user's own value; a library must not
change an embedding program's numpy. The feature names changed in numpy 2.4 (x86-64 levels), and a
name numpy does not dispatch on makes it warn at import, so the names follow the installed numpy's
version, read from its version file without importing it.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import MutableMapping
from pathlib import Path

_ENV = "NPY_DISABLE_CPU_FEATURES"
# numpy's dispatch targets above AVX2, named as numpy 2.4 and later name them, and as before.
_AVX512_LEVELS = "X86_V4 AVX512_ICL AVX512_SPR"
_AVX512_BEFORE_2_4 = "AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR"
_ZEN4_FAMILY = 0x19


def slow_avx512_sort(cpuinfo: str) -> bool:
    """Whether /proc/cpuinfo's text describes an AMD Zen 4 core with AVX-512 (family 0x19: Zen 3
    has no AVX-512, so numpy never takes that path there)."""
    vendor = re.search(r"^vendor_id\s*:\s*(\S+)", cpuinfo, re.M)
    family = re.search(r"^cpu family\s*:\s*(\d+)", cpuinfo, re.M)
    flags = re.search(r"^flags\s*:(.*)$", cpuinfo, re.M)
    return (
        vendor is not None
        and vendor.group(1) == "AuthenticAMD"
        and family is not None
        and int(family.group(1)) == _ZEN4_FAMILY
        and flags is not None
        and "avx512f" in flags.group(1).split()
    )


def avx512_feature_names(numpy_version: str) -> str | None:
    """The NPY_DISABLE_CPU_FEATURES value that leaves numpy at AVX2, for this numpy version."""
    parts = re.match(r"(\d+)\.(\d+)", numpy_version)
    if parts is None:
        return None
    major, minor = int(parts.group(1)), int(parts.group(2))
    return _AVX512_LEVELS if (major, minor) >= (2, 4) else _AVX512_BEFORE_2_4


def _installed_numpy_version() -> str | None:
    try:
        spec = importlib.util.find_spec("numpy")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    try:
        text = (Path(next(iter(spec.submodule_search_locations))) / "version.py").read_text("utf-8")
    except OSError:
        return None
    found = re.search(r"""^version\s*(?::\s*str\s*)?=\s*["']([^"']+)["']""", text, re.M)
    return found.group(1) if found else None


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text("utf-8", errors="replace")
    except OSError:  # not Linux: nothing is known, nothing changes
        return ""


def avoid_slow_avx512_sort(environ: MutableMapping[str, str] | None = None) -> bool:
    """On Zen 4, keep numpy's sorts at AVX2 (see the module docstring). Call before numpy is
    imported; does nothing when the user set NPY_DISABLE_CPU_FEATURES (or NPY_ENABLE_CPU_FEATURES)
    or numpy's version cannot be read. Returns whether it set the variable."""
    env = os.environ if environ is None else environ
    if _ENV in env or "NPY_ENABLE_CPU_FEATURES" in env:
        return False
    if not slow_avx512_sort(_cpuinfo()):
        return False
    version = _installed_numpy_version()
    names = avx512_feature_names(version) if version else None
    if names is None:
        return False
    env[_ENV] = names
    return True
