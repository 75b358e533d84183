"""atheris target: any bytes on stdin, read as dedup reads input, and through `dedup filter`.

What must hold: the reader returns documents or raises InputError (a one-line, located message),
never anything else; the filter accounts for every line (stdout + rejects = input lines) or stops
with InputError. Run: python fuzz/fuzz_readers.py -runs=20000 (tests/test_fuzz.py runs it briefly).
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile

import atheris

# The numba kernels must be imported uninstrumented (atheris rewrites bytecode numba compiles from);
# coverage is collected on the pure-Python readers and the filter.
import dedup
import dedup.index  # noqa: F401

with atheris.instrument_imports(include=["dedup.io", "dedup.filter"]):
    from dedup.filter import run_filter
    from dedup.io import read_documents
    from dedup.model import InputError

_INDEX = None


def _index():
    global _INDEX
    if _INDEX is None:
        from dedup import Index

        path = os.path.join(tempfile.mkdtemp(prefix="dedup-fuzz-"), "i.dedup")
        _INDEX = Index.create(path, num_perm=32)
    return _INDEX


def one(data: bytes) -> None:
    try:
        result = read_documents(["-"], stdin=io.BytesIO(data), skip_bad=data[:1] == b"s", max_doc_bytes=4096)
    except InputError as err:
        assert "\n" not in str(err), err
    else:
        assert all(isinstance(d.text, str) for d in result.documents)
    lines = data.split(b"\n")
    n_lines = len(lines) - (lines[-1] == b"")
    with tempfile.TemporaryFile() as src:
        src.write(data)
        src.seek(0)
        out, rejects = io.BytesIO(), io.BytesIO()
        stats = run_filter(_index(), src.fileno(), out, rejects, add=True, mode="drop", skip_bad=True)
        assert stats.lines == n_lines, (stats, n_lines)
        assert _records(out.getvalue()) + _records(rejects.getvalue()) == n_lines


def _records(b: bytes) -> int:
    return b.count(b"\n") + (1 if b and not b.endswith(b"\n") else 0)


def main() -> None:
    # Compile (or load) the numba kernels before fuzzing: a first compile inside the fuzz loop is
    # slow enough to eat the whole time budget on a loaded machine (one input took 81 s in a clean
    # clone). numba compiles a kernel once per argument type, and a text's code points are stored
    # in 1, 2 or 4 bytes, so every width is warmed, in JSONL and as plain text.
    for text in ("one two three four five six seven", "café crème brûlée au lait", "日本語 の 文 です", "a 😀 b c d"):
        one(json.dumps({"id": "warm", "text": text}, ensure_ascii=False).encode() + b"\n")
        one(f"{text}\n\n{text}\n".encode())
    atheris.Setup(sys.argv, lambda data: one(bytes(data)))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
