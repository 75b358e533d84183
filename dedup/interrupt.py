"""Ctrl-C that cannot be lost.

Python raises KeyboardInterrupt wherever the main thread is when the signal is handled; if that is
a finalizer (a weakref callback, a `__del__`, multiprocessing closing a worker's pipes as the pool
shuts down), the interpreter prints "Exception ignored in ..." and goes on. A scan interrupted just
as its workers left did that: a traceback on stderr, then the whole report written and status 0
(seen in CI). So the command-line entry point installs a handler that also remembers the signal;
`check` re-raises it at the points where going on would be wrong (before a report is written or
committed), and the swallowed traceback is not printed. A program that imports the library and
never calls `install` keeps Python's own handling; `check` is then a no-op.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

_pending = False


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    global _pending
    _pending = True
    raise KeyboardInterrupt


def _quiet_about_interrupts(unraisable: sys.UnraisableHookArgs, previous=sys.unraisablehook) -> None:
    """A KeyboardInterrupt swallowed by a finalizer is remembered (see _on_sigint), not printed."""
    if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
        return
    previous(unraisable)


def install() -> None:
    """Handle SIGINT for a process that is ours (the CLI's main thread)."""
    signal.signal(signal.SIGINT, _on_sigint)
    sys.unraisablehook = _quiet_about_interrupts


def pending() -> bool:
    """Whether a Ctrl-C arrived (and may have been swallowed) since `install`."""
    return _pending


def check() -> None:
    """Raise the Ctrl-C that arrived, if one did, wherever it was handled."""
    if _pending:
        raise KeyboardInterrupt
