"""The `dedup` console script (and `python -m dedup`).

A Ctrl-C while the command is still starting up (importing numpy, numba and the compiled kernels
takes a noticeable fraction of a second) ends it like a Ctrl-C at any later point: one line on
stderr and exit status 130, never a traceback. Nothing has been read or written yet, so it exits
at once. Once the CLI is imported, `dedup.cli.run` turns a Ctrl-C into the same line and status.
"""

from __future__ import annotations

import os
import signal

from .numpy_dispatch import avoid_slow_avx512_sort


def _interrupted_while_starting(signum: int, frame: object) -> None:
    os.write(2, b"dedup: interrupted\n")
    os._exit(130)


def _no_blas_threads() -> None:
    """One BLAS thread unless the user says otherwise: dedup calls no BLAS routine, yet numpy's and
    scipy's OpenBLAS each start a thread per CPU when imported, and each spun for ~0.1 s right away
    (perf, 200k-document scan), the second one just as the workers forked. Set before numpy loads,
    so the library (which never runs this) leaves an embedding program's BLAS alone."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main() -> None:
    _no_blas_threads()
    avoid_slow_avx512_sort()
    try:
        previous = signal.signal(signal.SIGINT, _interrupted_while_starting)
    except ValueError:  # not the main thread: signals are not ours to handle
        previous = None
    from .cli import main as cli_main

    if previous is not None:
        signal.signal(signal.SIGINT, previous)
    cli_main()


if __name__ == "__main__":
    main()
