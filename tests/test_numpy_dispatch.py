"""The console script keeps numpy's sorts at AVX2 on AMD Zen 4 (dedup.numpy_dispatch)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from dedup import numpy_dispatch
from dedup.numpy_dispatch import avoid_slow_avx512_sort, avx512_feature_names, slow_avx512_sort


def _cpuinfo(vendor: str, family: int, flags: str) -> str:
    block = f"processor\t: 0\nvendor_id\t: {vendor}\ncpu family\t: {family}\nmodel\t\t: 17\nflags\t\t: {flags}\n"
    return block + "\n" + block.replace("processor\t: 0", "processor\t: 1")


AVX512 = "fpu sse2 avx avx2 avx512f avx512dq avx512bw avx512vl"
AVX2 = "fpu sse2 avx avx2 fma"


@pytest.mark.parametrize(
    ("vendor", "family", "flags", "slow"),
    [
        ("AuthenticAMD", 25, AVX512, True),  # Zen 4
        ("AuthenticAMD", 25, AVX2, False),  # Zen 3: no AVX-512, numpy never takes that path
        ("AuthenticAMD", 26, AVX512, False),  # Zen 5 fixed the compress store
        ("GenuineIntel", 6, AVX512, False),  # Intel: the AVX-512 sort is numpy's fastest
        ("AuthenticAMD", 25, "fpu avx512fp16", False),  # a flag that only starts with avx512f
    ],
)
def test_only_zen4_with_avx512_counts_as_slow(vendor: str, family: int, flags: str, slow: bool) -> None:
    assert slow_avx512_sort(_cpuinfo(vendor, family, flags)) is slow


def test_no_cpuinfo_is_not_slow() -> None:
    assert not slow_avx512_sort("")


@pytest.mark.parametrize(
    ("version", "names"),
    [
        ("1.26.4", "AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR"),
        ("2.3.5", "AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR"),
        ("2.4.0rc1", "X86_V4 AVX512_ICL AVX512_SPR"),
        ("2.5.5", "X86_V4 AVX512_ICL AVX512_SPR"),
        ("3.0.0", "X86_V4 AVX512_ICL AVX512_SPR"),
        ("unknown", None),
    ],
)
def test_feature_names_follow_numpy_version(version: str, names: str | None) -> None:
    assert avx512_feature_names(version) == names


def test_the_installed_numpy_version_is_read_without_importing_it() -> None:
    assert numpy_dispatch._installed_numpy_version() == np.__version__


def _zen4(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(numpy_dispatch, "_cpuinfo", lambda: _cpuinfo("AuthenticAMD", 25, AVX512))


def test_sets_the_variable_on_zen4_only(monkeypatch: pytest.MonkeyPatch) -> None:
    env: dict[str, str] = {}
    monkeypatch.setattr(numpy_dispatch, "_cpuinfo", lambda: _cpuinfo("GenuineIntel", 6, AVX512))
    assert not avoid_slow_avx512_sort(env)
    assert env == {}
    _zen4(monkeypatch)
    assert avoid_slow_avx512_sort(env)
    assert env == {"NPY_DISABLE_CPU_FEATURES": avx512_feature_names(np.__version__)}


@pytest.mark.parametrize("name", ["NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES"])
def test_a_users_own_setting_wins(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    _zen4(monkeypatch)
    env = {name: ""}
    assert not avoid_slow_avx512_sort(env)
    assert env == {name: ""}


# A fresh interpreter told it runs on Zen 4, as the console script sets up: numpy must import with
# no warning about the names (a name it does not dispatch on makes it warn, an error under -W error)
# and report its AVX-512 targets off.
_PROBE = """
import sys
from dedup import numpy_dispatch
numpy_dispatch._cpuinfo = lambda: sys.argv[1]
assert numpy_dispatch.avoid_slow_avx512_sort()
import numpy
from numpy._core._multiarray_umath import __cpu_features__ as features
print(" ".join(sorted(k for k, on in features.items() if on and (k.startswith("AVX512") or k == "X86_V4"))))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="numpy feature names are x86 Linux ones here")
def test_numpy_accepts_the_names_and_leaves_avx512_off() -> None:
    if np.lib.NumpyVersion(np.__version__) < "2.0.0":
        pytest.skip("numpy 1.x keeps __cpu_features__ elsewhere")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NPY_")}
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", _PROBE, _cpuinfo("AuthenticAMD", 25, AVX512)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    dispatched = done.stdout.split()
    # Feature flags of the CPU itself (AVX512F, AVX512BW ...) stay as detected; the dispatch levels
    # numpy would pick its AVX-512 loops by are off.
    assert not {"X86_V4", "AVX512_SKX", "AVX512_ICL", "AVX512_SPR"} & set(dispatched)
