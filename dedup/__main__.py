"""The `dedup` console script (and `python -m dedup`).

A Ctrl-C while the command is still starting up (importing numpy, numba and the compiled kernels
takes a noticeable fraction of a second) ends it like a Ctrl-C at any later point: one line on
stderr and exit status 130, never a traceback. Nothing has been read or written yet, so it exits
at once. Once the CLI is imported, `dedup.cli.run` turns a Ctrl-C into the same line and status.
"""

from __future__ import annotations

import os
import signal
import sys


def _interrupted_while_starting(signum: int, frame: object) -> None:
    os.write(2, b"dedup: interrupted\n")
    os._exit(130)


def _no_blas_threads() -> None:
    """One BLAS thread unless the user says otherwise: dedup calls no BLAS routine, yet numpy's and
    scipy's OpenBLAS each start a thread per CPU when imported, and each spun for ~0.1 s right away
    (perf, 200k-document scan), the second one just as the workers forked. Set before numpy loads,
    so the library (which never runs this) leaves an embedding program's BLAS alone."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _numba_without_scipy_blas() -> None:
    """Load numba's array routines without scipy.linalg. When they load (in the first batch a
    scan signs, before its workers fork), numba imports scipy.linalg only to learn whether np.dot
    may call BLAS, and dedup's kernels call no np.dot: that import was half of the serial time
    before the fork (first range 0.25 -> 0.12 s at 200k documents, one core idle meanwhile).
    Clustering still imports scipy.linalg (scipy.sparse needs it), on a thread while the workers
    sign. Only here, in the console script: a library must not change an embedding program's
    numba."""
    if "scipy.linalg" in sys.modules or "numba.np.arraymath" in sys.modules:
        return
    sys.modules["scipy.linalg"] = None  # type: ignore[assignment]  # makes its import fail
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        del sys.modules["scipy.linalg"]


def main() -> None:
    _no_blas_threads()
    try:
        previous = signal.signal(signal.SIGINT, _interrupted_while_starting)
    except ValueError:  # not the main thread: signals are not ours to handle
        previous = None
    _numba_without_scipy_blas()
    from .cli import main as cli_main

    if previous is not None:
        signal.signal(signal.SIGINT, previous)
    cli_main()


if __name__ == "__main__":
    main()
