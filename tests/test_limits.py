"""Resource bounds: hostile inputs are handled in bounded memory (peak RSS measured per run, in a
fresh process: the scan and its workers, via RUSAGE_CHILDREN of a wrapper) and nothing is lost
silently: an oversized document is listed as skipped, or stops the run with one clear line."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

DEDUP = str(Path(sys.executable).parent / "dedup")
GIB = 1 << 30
_WRAPPER = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stdout.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024) + "\\n")
sys.stdout.write(str(done.returncode) + "\\n" + done.stderr + "\\0" + done.stdout)
"""


def scan(*args: str) -> tuple[int, int, str, str]:
    """(peak RSS bytes, exit code, stderr, stdout) of one `dedup scan` in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, DEDUP, "scan", *args], capture_output=True, text=True
    )
    rss, code, rest = done.stdout.split("\n", 2)
    err, out = rest.split("\0", 1)
    return int(rss), int(code), err, out


BODY = "Four Russian warships in the Caspian Sea launched rockets at targets in Syria on Wednesday. "


@pytest.mark.slow
def test_a_500_mb_jsonl_line_is_skipped_in_bounded_memory(tmp_path):
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as fh:
        fh.write(json.dumps({"text": BODY}).encode() + b"\n")
        fh.write(b'{"text": "')
        chunk = b"word " * (1 << 20)  # 5 MiB
        for _ in range(100):
            fh.write(chunk)
        fh.write(b'"}\n')
        fh.write(json.dumps({"text": BODY}).encode() + b"\n")
    rss, code, err, _ = scan(str(path), "-f", "json", "-o", str(tmp_path / "r.json"))
    assert code == 2 and err.count("\n") == 1 and f"{path}:2: document is" in err and "max-doc-bytes" in err
    rss, code, err, _ = scan(str(path), "-f", "json", "-o", str(tmp_path / "r.json"), "--skip-bad")
    report = json.loads((tmp_path / "r.json").read_text())
    assert code == 0 and report["summary"]["documents"] == 2
    assert report["summary"]["skipped_inputs"] == [
        {"source": f"{path}:2", "reason": "document is 524,288,013 bytes, over --max-doc-bytes (50,000,000)"}
    ]
    assert rss < GIB


@pytest.mark.slow
def test_a_2_gb_text_file_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.txt"
    with open(path, "wb") as fh:
        fh.truncate(2 * GIB)  # sparse: no disk, but a 2 GiB file all the same
    (tmp_path / "ok.txt").write_text(BODY)
    rss, code, err, _ = scan(str(tmp_path), "--skip-bad", "-f", "json")
    assert code == 0 and "huge.txt: document is 2,147,483,648 bytes" in err and rss < GIB


@pytest.mark.slow
def _gzip_member(data: bytes) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    return comp.compress(data) + comp.flush()


def test_a_gzip_bomb_stops_at_the_cap(tmp_path):
    # 2 GiB of text as 1,024 gzip members of 2 MiB each (a gzip file may hold many members, and
    # readers decompress them all): the same bomb as one stream, without compressing 2 GiB twice.
    block = _gzip_member(b"a " * (1 << 20))
    path = tmp_path / "bomb.txt.gz"
    path.write_bytes(block * 1024)
    assert path.stat().st_size < 5_000_000
    assert len(gzip.decompress(block)) * 1024 == 2 << 30
    rss, code, err, _ = scan(str(path))
    assert code == 2 and "once decompressed" in err and rss < GIB
    jsonl = tmp_path / "bomb.jsonl.gz"
    jsonl.write_bytes(_gzip_member(b'{"text": "') + block * 1024 + _gzip_member(b'"}\n'))
    rss, code, err, _ = scan(str(jsonl), "--skip-bad")
    assert code == 0 and "bomb.jsonl.gz:1: document is" in err and rss < GIB


@pytest.mark.slow
def test_a_10_mb_word_is_one_token(tmp_path):
    word = "x" * 10_000_000
    for k in range(2):
        (tmp_path / f"{k}.txt").write_text(f"{BODY}\n\n{word} and more words after the long one here")
    rss, code, _, out = scan(str(tmp_path), "-f", "json", "--level", "document,paragraph")
    report = json.loads(out)
    assert code == 0 and report["summary"]["documents"] == 2 and rss < GIB
    assert any(m["end"] - m["start"] > 10_000_000 for c in report["clusters"] for m in c["members"])


@pytest.mark.slow
def test_a_hundred_thousand_tiny_files_and_a_symlink_loop(tmp_path):
    root = tmp_path / "many"
    for d in range(100):
        sub = root / f"d{d:03d}"
        sub.mkdir(parents=True)
        for f in range(1000):
            (sub / f"{f:04d}.txt").write_text(f"note {d} {f}")
    os.symlink(root, root / "d000" / "loop")  # a folder that contains itself
    rss, code, err, out = scan(str(root), "-f", "json", "--level", "document")
    report = json.loads(out)
    assert code == 0 and err == "" and report["summary"]["documents"] == 100_000 and rss < GIB


def test_filter_reports_an_oversized_line_and_keeps_every_other_line(tmp_path):
    index = str(tmp_path / "i.dedup")
    subprocess.run([DEDUP, "index", "create", index], check=True, capture_output=True)
    from dedup.synth import make_corpus

    texts = make_corpus(3, dup_fraction=0.0, seed=2).texts
    lines = [json.dumps({"id": f"d{k}", "text": t}).encode() + b"\n" for k, t in enumerate(texts)]
    big = b'{"id": "big", "text": "' + b"w " * 200_000 + b'"}\n'
    src = tmp_path / "in.jsonl"
    src.write_bytes(lines[0] + big + lines[1] + lines[2])
    rejects = tmp_path / "rej.jsonl"
    with open(src, "rb") as fh:
        done = subprocess.run(
            [
                DEDUP,
                "filter",
                "--index",
                index,
                "--max-doc-bytes",
                "100000",
                "--skip-bad",
                "--rejects",
                str(rejects),
            ],
            stdin=fh,
            capture_output=True,
            check=False,
        )
    assert done.returncode == 0
    assert done.stdout == lines[0] + lines[1] + lines[2]
    (rej,) = [json.loads(x) for x in rejects.read_bytes().splitlines()]
    assert rej == {
        "dedup_error": "line is 400,026 bytes, over --max-doc-bytes (100,000)",
        "line": 2,
        "raw_omitted": True,
    }
    with open(src, "rb") as fh:
        done = subprocess.run(
            [DEDUP, "filter", "--index", index, "--max-doc-bytes", "100000"],
            stdin=fh,
            capture_output=True,
            check=False,
        )
    assert done.returncode == 2 and b"-:2: line is 400,026 bytes" in done.stderr and done.stdout == lines[0]


@pytest.mark.slow
def test_ctrl_c_during_a_scan_exits_130_with_one_line_and_no_report(tmp_path):
    import signal
    import time

    from dedup.synth import make_corpus

    src = tmp_path / "c.jsonl"
    # 60,000 documents to sign (generating that many distinct ones took 17 s; copies sign as slowly).
    src.write_text("".join(json.dumps({"text": t}) + "\n" for t in make_corpus(6_000, seed=1).texts * 10))
    out = tmp_path / "report.json"
    out.write_text("previous report")
    proc = subprocess.Popen(
        [DEDUP, "scan", str(src), "-f", "json", "-o", str(out), "--workers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(4)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.strip() == "dedup: interrupted"
    assert out.read_text() == "previous report"  # never truncated or clobbered
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".report.json")]  # no temporary left


def test_a_ctrl_c_that_a_finalizer_swallows_is_not_lost():
    """Python hands a Ctrl-C to whatever runs when the signal is handled; in a finalizer (here a
    __del__, in CI multiprocessing closing a pool's pipes) the KeyboardInterrupt is printed as
    "Exception ignored" and dropped, and a scan went on to write its report with status 0. Once
    installed, the handler remembers it: no traceback, and `check` raises it afterwards."""
    code = """if True:
        import gc, os, signal, time
        from dedup import interrupt
        interrupt.install()
        interrupt.check()  # nothing yet
        class Closes:
            def __del__(self):
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)  # the handler runs here, inside the finalizer
        Closes()
        gc.collect()
        print("went on", interrupt.pending())
        try:
            interrupt.check()
        except KeyboardInterrupt:
            print("raised")
    """
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "went on True\nraised\n", "")


@pytest.mark.slow
@pytest.mark.parametrize("when", ["signing", "clustering"])
def test_ctrl_c_at_a_terminal_with_workers_prints_one_line(tmp_path, when):
    """A terminal's Ctrl-C signals the whole process group, workers included. While the workers
    sign a large JSONL file, or after they signed it and left (the scan is clustering), the scan
    must end with status 130 and one line (no worker's traceback), and leave no spooled result."""
    import signal
    import time

    from dedup.synth import make_corpus

    src = tmp_path / "c.jsonl"
    src.write_text("".join(json.dumps({"text": t}) + "\n" for t in make_corpus(3_000, seed=2).texts * 10))
    spool = tmp_path / "spool"  # where results are spooled when /dev/shm is not used
    spool.mkdir()
    env = {**os.environ, "TMPDIR": str(spool)}
    in_shm = set(Path("/dev/shm").glob("dedup-*"))
    cmd = [DEDUP, "scan", str(src), "-f", "json", "-o", os.devnull, "--workers", "2"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, start_new_session=True, env=env)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")

    def workers_cpu() -> int | None:  # clock ticks the workers used so far; None: no worker
        try:
            pids = children.read_text().split()
            return sum(int(Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[11]) for p in pids) if pids else None
        except (OSError, IndexError):
            return None

    deadline = time.monotonic() + 60
    started = False
    while proc.poll() is None and time.monotonic() < deadline:
        cpu = workers_cpu()
        if when == "signing" and cpu:
            break
        if when == "clustering" and started and cpu is None:
            break
        started = started or cpu is not None
        time.sleep(0.005)
    assert proc.poll() is None, f"the scan ended before it was seen {when}"
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.strip() == "dedup: interrupted"
    assert list(spool.iterdir()) == [] and set(Path("/dev/shm").glob("dedup-*")) == in_shm


def test_stdin_over_the_cap_and_truncated_gzip_are_input_errors(tmp_path):
    import gzip

    done = subprocess.run(
        [DEDUP, "scan", "-", "--max-doc-bytes", "1000"], input=b"word " * 400, capture_output=True
    )
    assert done.returncode == 2 and b"-: document is more than 1,000 bytes" in done.stderr
    blob = gzip.compress(("plain text words " * 20_000).encode())
    done = subprocess.run([DEDUP, "scan", "-"], input=blob[: len(blob) // 2], capture_output=True)
    assert done.returncode == 2 and b"cannot decompress gzip" in done.stderr
