"""Writing reports: UTF-8 always, atomically for regular files, never clobbering special files.

A report is often written over the previous one; a crash half-way must leave the old one intact,
so regular files are written to a temporary file beside the target and renamed over it. Anything
that is not a regular file (a terminal, /dev/stdout, a FIFO, a device) is written in place instead:
renaming over it would replace the device with a file.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from . import interrupt
from .model import DedupError

_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub_surrogates(text: str) -> str:
    """Replace lone surrogates (legal in JSON input, not encodable as UTF-8) with U+FFFD for display."""
    return _SURROGATE.sub("\ufffd", text)


def write_output(text: str | bytes | Iterable[bytes], output: Path | None) -> None:
    """Write `text` (UTF-8 bytes, or pieces of them each ending on a whole character) to stdout
    or to `output`; OS errors become one-line DedupErrors."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    chunks: Iterable[bytes] = (text,) if isinstance(text, bytes) else text
    interrupt.check()
    if output is None:
        buffer = getattr(sys.stdout, "buffer", None)  # absent when stdout was replaced by a StringIO
        try:
            sys.stdout.flush()
            if buffer is None:
                for data in chunks:
                    sys.stdout.write(data.decode("utf-8"))
            else:  # bytes, so the report is UTF-8 whatever the locale's encoding is
                for data in chunks:
                    buffer.write(data)
                buffer.flush()
        except BrokenPipeError:
            raise  # the reader left: pipe_closed_is_quiet's business, not an error
        except OSError as exc:  # a full disk under `> file`: the user's to fix, not a bug of ours
            raise DedupError(f"writing to standard output: {exc.strerror or exc}") from None
        return
    with replacing(output) as fh:
        try:
            for data in chunks:
                fh.write(data)
        except OSError as exc:
            raise DedupError(f"--output {output}: {exc.strerror or exc}") from None


@contextmanager
def replacing(output: Path, option: str = "--output") -> Iterator[BinaryIO]:
    """A binary file to write `output` through: a regular file (or a new one) is written to a
    temporary file beside it and renamed over it when the block ends without an exception, keeping
    an existing file's permissions; on any exception (Ctrl-C included) the temporary is removed and
    the old file is left as it was. A device, FIFO or terminal is written in place. OS errors of
    opening, closing and renaming become one-line DedupErrors naming `option`."""
    try:
        st = os.stat(output)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise DedupError(f"{option} {output}: {exc.strerror}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise DedupError(f"{option} {output}: is a directory")
    if st is not None and not stat.S_ISREG(st.st_mode):
        try:  # a device, FIFO or terminal: write through it
            fh = open(output, "wb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise DedupError(f"{option} {output}: {exc.strerror or exc}") from None
        try:
            yield fh
        except BaseException:
            with suppress(OSError):
                fh.close()
            raise
        try:
            fh.close()
        except OSError as exc:
            raise DedupError(f"{option} {output}: {exc.strerror or exc}") from None
        return
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.is_dir():
        raise DedupError(f"{option} {output}: no such directory: {parent}")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise DedupError(f"{option} {output}: {exc.strerror or exc}") from None
    fh = os.fdopen(fd, "wb")
    try:
        yield fh
        interrupt.check()  # a Ctrl-C a finalizer swallowed while writing: keep the old file
    except BaseException:
        with suppress(OSError):
            fh.close()
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        fh.close()
        if st is not None:
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, output)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise DedupError(f"{option} {output}: {exc.strerror or exc}") from None
        raise


class PipeClosed(DedupError):
    """The reader of our standard output went away (`dedup ... | head`): not an error to report."""


@contextmanager
def pipe_closed_is_quiet() -> Iterator[None]:
    """Turn a broken stdout pipe into PipeClosed, and point stdout at /dev/null so the interpreter's
    final flush does not raise again."""
    try:
        yield
    except BrokenPipeError:
        with suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        raise PipeClosed("output pipe closed") from None


def stderr_line(message: str) -> None:
    """One line on stderr, prefixed with the program's name: every warning and error says it so."""
    sys.stderr.write(f"dedup: {message}\n")
    sys.stderr.flush()
