"""The package as users import it: every promised name, the typed marker, a cheap `import dedup`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_every_public_name_imports_from_the_package():
    import dedup
    from dedup import DuplicateIdError, Index
    from dedup.model import DedupError
    from dedup.store import DuplicateIdError as Stored

    assert DuplicateIdError is Stored and issubclass(DuplicateIdError, DedupError)
    assert all(getattr(dedup, name) is not None for name in dedup.__all__)
    assert "DuplicateIdError" in dedup.__all__ and "Index" in dir(dedup) and Index.__module__ == "dedup.index"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        dedup.nope  # noqa: B018


def test_the_package_is_marked_typed():
    tomllib = pytest.importorskip("tomllib")
    assert (ROOT / "dedup" / "py.typed").is_file()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["dedup"]


def test_importing_dedup_loads_no_numerics():
    """The console script installs its Ctrl-C handling after `import dedup` and before the heavy
    imports: the package itself must stay cheap to import."""
    code = "import sys, dedup, dedup.__main__; print(sorted({'numpy', 'numba'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


_NUMBA_PROBE = """
import sys
if sys.argv[1] == "main":
    from dedup.cli import _numba_without_scipy_blas
    _numba_without_scipy_blas()
import numba.np.arraymath as am
print(am._HAVE_BLAS, "scipy.linalg" in sys.modules)
import dedup, scipy.sparse.csgraph
sig = dedup.signatures(["one two three four five six seven", "one two three four five six eight"])
print("scipy.linalg" in sys.modules, sig.shape[0], int((sig[0] == sig[1]).sum()) > 0)
"""


def test_console_script_loads_numba_without_scipy_linalg():
    """The console script's scan keeps numba's BLAS probe from importing scipy.linalg before the
    fork; the kernels still run, and scipy.sparse (which needs scipy.linalg) still imports after.
    Other commands, and `--version`, never import numba at all."""

    def probe(mode: str) -> list[str]:
        done = subprocess.run([sys.executable, "-c", _NUMBA_PROBE, mode], capture_output=True, text=True, check=True)
        return done.stdout.split()

    assert probe("main") == ["False", "False", "True", "2", "True"]
    assert probe("plain") == ["True", "True", "True", "2", "True"]  # numba alone imports it
    code = "import sys; from dedup.cli import main; sys.argv = ['dedup', '--version']; main()"
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip()
    assert " numba" not in done.stderr  # importtime lists every module imported
