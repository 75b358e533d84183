"""`dedup scan` end to end: formats, determinism, and one clear line for every kind of bad input."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

PARA = "The quick brown fox jumps over the lazy dog near the river bank today."
OTHER = "Completely different words appear here so nothing should match at all ever."


def _write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def test_json_is_byte_identical_across_runs(cli, seeds_dir, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert cli("scan", str(seeds_dir), "-f", "json", "-o", str(a))[0] == 0
    assert cli("scan", str(seeds_dir), "-f", "json", "-o", str(b))[0] == 0
    assert a.read_bytes() == b.read_bytes()
    for method in ("classic", "oph"):
        runs = {cli("scan", str(seeds_dir), "-f", "json", "--method", method)[1] for _ in range(2)}
        assert len(runs) == 1


def test_formats_carry_the_same_clusters(cli, seeds_dir):
    code, out, _ = cli("scan", str(seeds_dir), "-f", "json")
    report = json.loads(out)
    clusters = report["clusters"]
    code, out, _ = cli("scan", str(seeds_dir), "-f", "jsonl")
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == clusters
    code, out, _ = cli("scan", str(seeds_dir), "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == sum(len(c["members"]) for c in clusters)
    assert [(int(r["cluster"]), r["doc"], int(r["start"]), int(r["end"]), r["text"]) for r in rows] == [
        (c["id"], m["doc"], m["start"], m["end"], m["text"]) for c in clusters for m in c["members"]
    ]
    code, out, _ = cli("scan", str(seeds_dir))
    assert code == 0
    assert f"{len(clusters)} clusters" in out and "This news has been read 7484 times!" in out
    assert "15 paragraph" in out


def test_document_level_and_across_scope(cli, tmp_path):
    body = "\n\n".join(f"{PARA} Paragraph number {i} adds its own words here." for i in range(6))
    _write(tmp_path / "in" / "a.txt", body)
    _write(tmp_path / "in" / "b.txt", body.replace("river", "creek", 1))
    _write(tmp_path / "in" / "c.txt", OTHER)
    code, out, _ = cli("scan", str(tmp_path / "in"), "-f", "json")
    assert code == 0
    report = json.loads(out)
    docs = [c for c in report["clusters"] if c["level"] == "document"]
    assert len(docs) == 1
    (cluster,) = docs
    assert cluster["scope"] == "across" and [m["doc"] for m in cluster["members"]] == ["a.txt", "b.txt"]
    assert 0.8 <= cluster["similarity"] < 1.0 and cluster["exact"] is False
    # The shared paragraphs are explained by the document cluster and not repeated.
    assert not [c for c in report["clusters"] if c["level"] == "paragraph"]
    assert report["summary"]["suppressed_paragraph_clusters"] > 0
    _, out, _ = cli("scan", str(tmp_path / "in"), "-f", "json", "--level", "paragraph")
    paragraphs = json.loads(out)["clusters"]
    assert paragraphs and all(c["level"] == "paragraph" and c["scope"] == "across" for c in paragraphs)


def test_jsonl_ids_stdin_and_empty_documents(cli, tmp_path, monkeypatch):
    lines = [{"id": "x1", "text": PARA}, {"id": "x2", "text": ""}, {"id": "x3", "text": PARA}]
    data = "\n".join(json.dumps(r) for r in lines) + "\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data.encode())))
    code, out, _ = cli("scan", "-", "--id-field", "id", "-f", "json")
    assert code == 0
    report = json.loads(out)
    assert [d["id"] for d in report["documents"]] == ["x1", "x2", "x3"]
    assert report["documents"][1]["chars"] == 0 and report["summary"]["empty_documents"] == 1
    (cluster,) = [c for c in report["clusters"] if c["level"] == "document"]
    assert [m["doc"] for m in cluster["members"]] == ["x1", "x3"]
    path = _write(tmp_path / "d.jsonl", data)
    report = json.loads(cli("scan", str(path), "-f", "json")[1])
    assert [d["id"] for d in report["documents"]] == ["d.jsonl:1", "d.jsonl:2", "d.jsonl:3"]


BAD_CASES = {
    "missing": (None, "no such file or directory"),
    "binary.txt": (b"abc\x00def", "binary file"),
    "latin1.txt": ("first line\nsecond caf\xe9 line\n".encode("latin-1"), "invalid UTF-8"),
    "malformed.jsonl": ('{"text": "ok one two three four"}\n{"text": broken\n', "malformed.jsonl:2"),
    "nofield.jsonl": ('{"body": "no text here"}\n', "missing text field 'text'"),
    "notstring.jsonl": ('{"text": 42}\n', "not a string"),
    "bad.txt.gz": (b"\x1f\x8bnot really gzip", "gzip"),
}


@pytest.mark.parametrize("name", sorted(BAD_CASES))
def test_bad_input_is_one_line_exit_2_and_no_report(cli, tmp_path, name):
    data, needle = BAD_CASES[name]
    path = tmp_path / name if data is None else _write(tmp_path / name, data)
    good = _write(tmp_path / "good.txt", PARA)
    out_file = tmp_path / "report.json"
    code, out, err = cli("scan", str(good), str(path), "-f", "json", "-o", str(out_file))
    assert code == 2
    assert out == ""
    assert not out_file.exists()
    assert len(err.strip().splitlines()) == 1
    assert name in err and needle in err
    assert "Traceback" not in err


@pytest.mark.parametrize("name", sorted(BAD_CASES))
def test_skip_bad_warns_and_accounts_for_every_input(cli, tmp_path, name):
    data, needle = BAD_CASES[name]
    path = tmp_path / name if data is None else _write(tmp_path / name, data)
    good = _write(tmp_path / "good.txt", PARA)
    code, out, err = cli("scan", str(good), str(path), "-f", "json", "--skip-bad")
    assert code == 0
    report = json.loads(out)
    assert "good.txt" in [d["id"] for d in report["documents"]]
    summary = report["summary"]
    assert summary["skipped"] == len(summary["skipped_inputs"]) >= 1
    assert any(name in s["source"] for s in summary["skipped_inputs"])
    assert "warning" in err and needle in err


def test_bad_options_are_usage_errors(cli, seeds_dir):
    for args in (
        ["--threshold", "1.5"],
        ["--format", "xml"],
        ["--level", "sentence"],
        ["--method", "nope"],
        ["--ngram", "0"],
    ):
        code, out, err = cli("scan", str(seeds_dir), *args)
        assert code == 2, args
        assert out == "" and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_gzip_and_folder_recursion(cli, tmp_path):
    _write(tmp_path / "in" / "sub" / "a.txt.gz", gzip.compress(PARA.encode()))
    _write(tmp_path / "in" / "b.md", PARA)
    report = json.loads(cli("scan", str(tmp_path / "in"), "-f", "json")[1])
    assert [d["id"] for d in report["documents"]] == ["b.md", "sub/a.txt.gz"]
    assert report["clusters"][0]["level"] == "document"


@pytest.mark.slow
def test_console_script_runs_and_fails_cleanly(tmp_path, seeds_dir):
    exe = Path(sys.executable).parent / "dedup"
    done = subprocess.run(
        [str(exe), "scan", str(seeds_dir), "-f", "json"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0
    report = json.loads(done.stdout)
    assert report["summary"]["clusters_by_level"]["paragraph"] == 15
    done = subprocess.run(
        [str(exe), "scan", str(tmp_path / "nope")], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().count("\n") == 0 and "no such file or directory" in done.stderr
    # The process ends without tearing down (cli._end_process): what it printed is still all there
    # (a report larger than a pipe's buffer), with the command's own status.
    corpus = tmp_path / "many"
    for i in range(300):
        _write(corpus / f"{i:03}.txt", f"{PARA}\n\n{OTHER} Document {i} of the pile, its own words.")
    done = subprocess.run(
        [str(exe), "scan", str(corpus), "-f", "jsonl", "--fail-on-duplicates"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and done.stderr == ""
    assert len(done.stdout) > 1 << 16
    assert len([json.loads(line) for line in done.stdout.splitlines()]) >= 1
    if Path("/dev/full").exists():  # a full disk under the output: one line and status 2
        with open("/dev/full", "w") as full:
            done = subprocess.run(
                [str(exe), "scan", str(seeds_dir), "-f", "json"],
                stdout=full,
                stderr=subprocess.PIPE,
                timeout=120,
            )
        assert done.returncode == 2
        assert done.stderr.decode() == "dedup: error: writing to standard output: No space left on device\n"


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc")
def test_unreadable_file_even_as_root(cli, tmp_path):
    """/proc/self/mem opens but fails on read (EIO) for every user, root included."""
    good = _write(tmp_path / "good.txt", PARA)
    code, out, err = cli("scan", str(good), "/proc/self/mem", "-f", "json")
    assert code == 2 and out == ""
    assert err.strip() == "dedup: error: /proc/self/mem: Input/output error"
    code, out, err = cli("scan", str(good), "/proc/self/mem", "-f", "json", "--skip-bad")
    assert code == 0
    assert json.loads(out)["summary"]["skipped_inputs"] == [
        {"source": "/proc/self/mem", "reason": "Input/output error"}
    ]


def test_fail_on_duplicates_exit_status_and_quiet(cli, seeds_dir, tmp_path):
    code, out, err = cli("scan", str(seeds_dir), "--fail-on-duplicates", "-f", "json")
    assert code == 1 and json.loads(out)["summary"]["clusters"] > 0  # the report is still written
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "a.txt").write_text("one two three four five six seven eight nine ten")
    (clean / "b.txt").write_text("a completely different text with its own eleven words in it")
    code, out, _ = cli("scan", str(clean), "--fail-on-duplicates")
    assert code == 0 and "No duplicates found." in out
    (clean / "bad.jsonl").write_text("{oops\n")
    code, _, err = cli("scan", str(clean), "--skip-bad", "-q")
    assert code == 0 and err == ""
    code, _, err = cli("scan", str(clean), "--skip-bad")
    assert code == 0 and "warning: skipped" in err


def test_table_puts_the_summary_first_and_the_largest_clusters_first(cli, seeds_dir):
    code, out, err = cli("scan", str(seeds_dir), "--min-words", "6")
    assert code == 0 and err == ""  # no progress bar when stderr is not a terminal
    assert out.splitlines()[0].startswith("5 documents, ")
    table = out.split("Text shared with other documents")[0]
    rows = [line for line in table.splitlines() if line.startswith("│ ") and line[2:5].strip().isdigit()]
    ids = [int(r[2:5]) for r in rows]
    code, js, _ = cli("scan", str(seeds_dir), "--min-words", "6", "-f", "json")
    sizes = {c["id"]: len(c["members"]) for c in json.loads(js)["clusters"]}
    assert [sizes[i] for i in ids] == sorted(sizes.values(), reverse=True)
    assert "\x1b[" not in out  # no colour codes when stdout is not a terminal


def test_progress_bar_advances_to_the_total(capsys):
    from dedup.cli import _progress

    with _progress(10, enabled=True) as advance:
        for _ in range(10):
            advance(1)
    with _progress(10, enabled=False) as advance:
        assert advance is None


DEDUP = str(Path(sys.executable).parent / "dedup")


def _maps(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return ""


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc to see the imports")
def test_ctrl_c_while_still_importing_is_one_line_and_130(tmp_path):
    """SIGINT while the console script is still importing (numpy loaded, numba and the kernels not
    yet): one line on stderr and 130, never a KeyboardInterrupt traceback."""
    import signal
    import time

    for _ in range(3):
        proc = subprocess.Popen(
            [DEDUP, "scan", str(tmp_path), "-f", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 30
        while "_multiarray_umath" not in _maps(proc.pid) and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.0005)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert (proc.returncode, err.decode(), out) == (130, "dedup: interrupted\n", b"")


@pytest.mark.slow
def test_ctrl_c_after_the_report_is_written_is_never_silent(tmp_path, seeds_dir):
    """SIGINT just after the report was written (while the interpreter shuts down): the work is
    done, so the signal is ignored and the exit status is the run's; or, if it lands before the
    command returned, one line and 130. Never a traceback, never a silent death by signal (-2)."""
    import signal
    import time

    outcomes = set()
    for k, delay in enumerate((0, 0, 0.001, 0.002, 0.003, 0.005, 0.01, 0.02)):
        out = tmp_path / f"r{k}.json"
        proc = subprocess.Popen(
            [DEDUP, "scan", str(seeds_dir), "-f", "json", "-o", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        while not out.exists() and proc.poll() is None:
            time.sleep(0.0002)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        outcomes.add((proc.returncode, err.decode()))
        assert json.loads(out.read_text())["dedup_report"] == 1
    assert outcomes <= {(0, ""), (130, "dedup: interrupted\n")}, outcomes


@pytest.mark.parametrize("width", [60, 70, 80, 100, 120])
def test_table_stays_readable_in_narrow_terminals(cli, seeds_dir, width):
    """Every line fits the width; '#' and 'sim' are never cut, each row shows its first member's
    offsets and a snippet of useful length: the 'where' column is the one that gives way."""
    from dedup.report import render_table

    report = json.loads(cli("scan", str(seeds_dir), "-f", "json")[1])
    lines = render_table(report, width=width).splitlines()
    assert max(len(line) for line in lines) <= width
    snippet_chars = 15 if width < 80 else 25
    for c in report["clusters"]:
        first = c["members"][0]
        snippet = " ".join(first["text"].split())[:snippet_chars]
        row = rf"^\W*{c['id']} .*{c['similarity']:.3f} .*\[{first['start']}:{first['end']}\].* {re.escape(snippet)}"
        assert any(re.search(row, line) for line in lines), (width, c["id"], "\n".join(lines[:12]))


def test_table_names_the_skipped_inputs(cli, tmp_path):
    """The table says which inputs were skipped and why, not only how many (capped: the JSON
    report's summary.skipped_inputs has them all)."""
    _write(tmp_path / "in" / "a.txt", PARA)
    _write(tmp_path / "in" / "b.txt", PARA)
    _write(tmp_path / "in" / "zero.txt", b"abc\x00def")
    code, out, _ = cli("scan", str(tmp_path / "in"), "--skip-bad", "-q")
    assert code == 0 and "1 input skipped" in out
    assert re.search(r"skipped: .*zero\.txt.*binary file", out)
    for k in range(12):
        _write(tmp_path / "in" / f"bad{k:02}.txt", b"\x00")
    code, out, _ = cli("scan", str(tmp_path / "in"), "--skip-bad", "-q")
    assert code == 0 and "13 inputs skipped" in out
    named = [k for k in range(12) if f"bad{k:02}.txt" in out]
    assert named == list(range(len(named))) and 0 < len(named) < 12
    assert f"and {13 - len(named)} more" in out and "summary.skipped_inputs" in out


def test_table_lists_the_first_places_of_a_big_cluster_then_counts_the_rest(cli, tmp_path):
    """A paragraph in 25 documents: the table names its first ten places and says how many more
    (the JSON has all 25); a two-member cluster still lists both."""
    for k in range(25):
        _write(
            tmp_path / "in" / f"d{k:02}.txt",
            f"{PARA}\n\nOwn words of document {k}, nothing like the others {k}.",
        )
    _write(tmp_path / "in" / "x1.txt", "A pair of documents alike in every word they hold for this test.")
    _write(tmp_path / "in" / "x2.txt", "A pair of documents alike in every word they hold for this test.")
    code, out, _ = cli("scan", str(tmp_path / "in"), "-q")
    assert code == 0
    clusters = out.split("Text shared with other documents")[0]  # the reuse table names them all
    shown = [k for k in range(25) if f"d{k:02}.txt" in clusters]
    assert shown == list(range(10)), shown
    assert "+15 more" in clusters
    assert "x1.txt" in clusters and "x2.txt" in clusters
    code, out, _ = cli("scan", str(tmp_path / "in"), "-q", "-f", "json")
    sizes = sorted(len(c["members"]) for c in json.loads(out)["clusters"])
    assert sizes[-1] == 25


def _on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """stdout of the console script run on a pseudo-terminal (so it sees a terminal's width)."""
    import os
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([DEDUP, *args], stdout=slave, stderr=subprocess.DEVNULL, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the other side closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(120) == 0
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


@pytest.mark.slow
def test_terminal_output_fits_its_width_and_colour_can_be_turned_off(seeds_dir):
    """On a terminal the table is trimmed to its width (COLUMNS) and coloured; --no-color and
    NO_COLOR give the same table without a single ANSI escape."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | {"COLUMNS": "72", "LINES": "40"}
    coloured = _on_a_terminal(["scan", str(seeds_dir), "-q"], env)
    assert "\x1b[" in coloured
    plain = [
        _on_a_terminal(["scan", str(seeds_dir), "-q", "--no-color"], env),
        _on_a_terminal(["scan", str(seeds_dir), "-q"], env | {"NO_COLOR": "1"}),
    ]
    assert plain[0] == plain[1] and "\x1b" not in plain[0]
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain[0]
    lines = plain[0].splitlines()
    assert lines[0].startswith("5 documents") and max(len(x) for x in lines) <= 72
    assert any(x.startswith(" # level") for x in lines)  # the compact layout of a narrow terminal


def test_csv_neutralizes_a_leading_tab_and_carriage_return(cli, tmp_path):
    body = "The quick brown fox jumps over the lazy dog near the river bank today again"
    rows = [{"id": "\tTAB", "text": body}, {"id": "\rCR", "text": body}, {"id": "\t=both", "text": body}]
    src = _write(tmp_path / "ids.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    code, out, _ = cli("scan", str(src), "-f", "csv", "--level", "document", "--id-field", "id")
    assert code == 0
    docs = [r["doc"] for r in csv.DictReader(io.StringIO(out, newline=""))]
    assert sorted(docs) == sorted(["'\tTAB", "'\rCR", "'\t=both"])
    code, out, _ = cli("scan", str(src), "-f", "csv", "--level", "document", "--id-field", "id", "--csv-raw")
    assert sorted(r["doc"] for r in csv.DictReader(io.StringIO(out, newline=""))) == sorted(
        ["\tTAB", "\rCR", "\t=both"]
    )


@pytest.mark.parametrize("enabled_before", [True, False])
def test_scan_pauses_the_garbage_collector_and_restores_it(
    cli, seeds_dir, tmp_path, monkeypatch, enabled_before
):
    """The collector is off while documents are scanned and rendered, and left as it was found
    (on, or off when the caller had turned it off), also when the scan fails."""
    import gc

    import dedup.report as report_module
    import dedup.scan as scan_module

    seen = []
    real_scan, real_render = scan_module.scan_documents, report_module.render_chunks

    def scan_documents(*args, **kwargs):
        seen.append(("scan", gc.isenabled()))
        return real_scan(*args, **kwargs)

    def render(*args, **kwargs):
        seen.append(("render", gc.isenabled()))
        return real_render(*args, **kwargs)

    monkeypatch.setattr(scan_module, "scan_documents", scan_documents)
    monkeypatch.setattr(report_module, "render_chunks", render)
    bad = _write(tmp_path / "bad.jsonl", '{"text": "fine"}\n{"text": \n')
    (gc.enable if enabled_before else gc.disable)()
    try:
        assert cli("scan", str(seeds_dir), "-f", "json")[0] == 0
        assert seen == [("scan", False), ("render", False)]
        assert gc.isenabled() is enabled_before
        code, _, err = cli("scan", str(bad))  # fails while reading, inside the pause
        assert code != 0 and "bad.jsonl:2" in err
        assert gc.isenabled() is enabled_before
    finally:
        gc.enable()
