"""The HTML report: self-contained, safe by construction, and working in a real browser.

The browser tests drive Debian's Chromium headless through Playwright (the `browser` fixture in
conftest.py); they are skipped only when Chromium is absent (.ci/run installs it, and they fail in
CI if it is missing).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path

import pytest

from dedup.config import ScanConfig
from dedup.html import render_html
from dedup.model import Document
from dedup.report import build_report
from dedup.scan import scan_documents
from dedup.synth import make_corpus

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def _report_html(docs: list[Document], config: ScanConfig) -> str:
    result = scan_documents(docs, config)
    return render_html(build_report(docs, [], result, config, "test"), docs)


def test_seeds_report_is_one_self_contained_file(cli, seeds_dir, tmp_path):
    out = tmp_path / "r.html"
    code, _, _ = cli("scan", str(seeds_dir), "--min-words", "6", "-f", "html", "-o", str(out))
    assert code == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count("<script") == 2
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", page)  # nothing loaded from anywhere
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp
    script = re.search(r"<script>(.*)</script>", page, re.S).group(1)
    style = re.search(r"<style>(.*)</style>", page, re.S).group(1)
    for body in (script, style):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp


def test_hostile_text_cannot_leave_the_data_block():
    evil = '</script><script>alert(1)</script> "><img src=x onerror=alert(2)> </style> \u2028 & <!--'
    docs = [
        Document(id=f"</script>{i}", text=(evil + " shared words go here again and again. ") * 3, source="t")
        for i in range(2)
    ]
    page = _report_html(docs, ScanConfig(levels=("document", "paragraph")))
    data = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S).group(1)
    assert "<" not in data and ">" not in data and "\u2028" not in data
    assert page.count("</script>") == 2  # the data block's and the code's own


def _open(browser, path: Path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready='1']")
    return page, problems, requests


def _in_view(page, selector: str) -> bool:
    return page.evaluate(
        "(s) => { const r = document.querySelector(s).getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= innerHeight && r.height > 0; }",
        selector,
    )


@pytest.mark.slow
def test_clicking_a_highlight_brings_the_linked_copy_into_view(browser, cli, seeds_dir, tmp_path):
    out = tmp_path / "seeds.html"
    assert cli("scan", str(seeds_dir), "--min-words", "6", "-f", "html", "-o", str(out))[0] == 0
    page, problems, requests = _open(browser, out)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-seeds-overview.png"))
    # the Kerry quote: from 000 to its copy in 002 (across documents)
    page.click("nav button[data-view=clusters]")
    page.click("a.member >> text=000_bdc3c0136ee189f6.txt [1839:1878]")
    assert page.inner_text("mark.focused") == "US Secretary of State, John Kerry, said"
    page.click("mark.focused")
    links = page.query_selector_all("#pop a.member")
    assert [x.inner_text() for x in links] == ["002_4169fea512e4a6c0.txt [3170:3207]"]
    links[0].click()
    page.wait_for_function("document.body.dataset.focus === '0:1'")
    assert page.inner_text("h2") == "002_4169fea512e4a6c0.txt"
    assert page.inner_text("mark.focused") == "US Secretary of State John Kerry said"
    assert _in_view(page, "mark.focused")
    assert "across" in page.get_attribute("mark.focused", "class")
    page.screenshot(path=str(ARTIFACTS / "report-seeds-document.png"))
    # a repeat within one document jumps inside it, and is drawn differently (outlined)
    page.click("nav button[data-view=overview]")
    page.click("text=004_ec3000e04681081f.txt")
    within = page.query_selector("mark.within")
    within.click()
    page.query_selector_all("#pop a.member")[-1].click()
    assert page.inner_text("h2") == "004_ec3000e04681081f.txt" and _in_view(page, "mark.focused")
    assert problems == [] and requests == [out.as_uri()]


@pytest.mark.slow
def test_ten_thousand_documents_stay_usable(browser, tmp_path):
    corpus = make_corpus(10_000, dup_fraction=0.05, words=120, seed=3)
    page_html = _report_html(corpus.documents(), ScanConfig(levels=("document", "paragraph")))
    out = tmp_path / "big.html"
    out.write_text(page_html, encoding="utf-8")
    page, problems, _ = _open(browser, out)
    assert page.evaluate("document.querySelectorAll('tr').length") <= 51  # one page, not every document
    assert "page 1 of" in page.inner_text(".pager")
    page.click("nav button[data-view=clusters]")
    page.click(".pager button >> text=next ›")
    assert "page 2 of" in page.inner_text(".pager")
    page.click("a.member")
    assert page.query_selector("mark.focused") is not None and problems == []


FOOTER = (
    "This article was published by the Example Newswire syndication service and may not be "
    "reproduced without the permission of the copyright holders."
)


@pytest.mark.slow
def test_a_ten_thousand_member_cluster_stays_small_in_the_page(browser, tmp_path, monkeypatch):
    """One footer shared by 10,000 documents is one 10,000-member cluster: the Clusters view shows
    its first members with a "show more" button, and a highlight's popover the first copies and a
    count, instead of tens of thousands of elements."""
    # The page does not read the JSON report's "reuse" (it finds partners from the clusters), and
    # for this corpus reuse lists every other document for each one: 10^8 ids, 80 s. Skip it here.
    monkeypatch.setattr("dedup.report._reuse", lambda documents, clusters: [])
    texts = make_corpus(10_000, dup_fraction=0.0, words=60, seed=5).texts
    docs = [Document(id=f"d{i:05}.txt", text=t + "\n\n" + FOOTER, source="t") for i, t in enumerate(texts)]
    out = tmp_path / "footer.html"
    out.write_text(_report_html(docs, ScanConfig(levels=("paragraph",))), encoding="utf-8")
    page, problems, _ = _open(browser, out)
    page.click("nav button[data-view=clusters]")
    assert page.evaluate("document.querySelectorAll('main *').length") < 500
    assert len(page.query_selector_all("a.member")) == 10
    more = page.query_selector("button.more")
    assert more is not None and "9,990 more" in more.inner_text()
    more.click()
    assert len(page.query_selector_all("a.member")) == 110
    assert "9,890 more" in page.inner_text("button.more")
    page.click("a.member >> text=d00003.txt")
    assert page.inner_text("h2") == "d00003.txt"
    page.click("mark.focused")
    links = page.query_selector_all("#pop a.member")
    assert len(links) == 20 and "d00003.txt" not in [x.inner_text().split()[0] for x in links]
    assert "and 9,979 more copies" in page.inner_text("#pop")
    links[0].click()
    assert page.inner_text("h2") == "d00000.txt" and problems == []


@pytest.mark.slow
def test_the_overview_names_the_skipped_inputs(browser, cli, seeds_dir, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for f in sorted(seeds_dir.iterdir())[:3]:
        (src / f.name).write_bytes(f.read_bytes())
    for k in range(25):
        (src / f"bin{k:02}.txt").write_bytes(b"a\x00b")
    out = tmp_path / "skipped.html"
    assert cli("scan", str(src), "--skip-bad", "-q", "-f", "html", "-o", str(out))[0] == 0
    page, problems, _ = _open(browser, out)
    text = page.inner_text("main")
    assert "25 inputs skipped" in text and "bin00.txt" in text and "binary file" in text
    assert "bin19.txt" in text and "bin20.txt" not in text and "and 5 more" in text
    assert problems == []


def test_browser_tests_fail_in_ci_when_chromium_is_missing(tmp_path):
    """In CI a missing Chromium is a failure for every browser test (here and in test_hardening),
    never a skip: a green build must mean the page was really driven in a browser."""
    import subprocess
    import sys

    tests = Path(__file__).resolve().parent
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"{tests / 'test_hardening.py'}::test_hostile_corpus_runs_no_script_and_makes_no_request",
            f"{tests / 'test_html.py'}::test_clicking_a_highlight_brings_the_linked_copy_into_view",
        ],
        env={**os.environ, "CI": "true", "PATH": str(tmp_path)},  # no chromium on this PATH
        cwd=tests.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    summary = done.stdout.strip().splitlines()[-1]
    assert done.returncode == 1 and re.fullmatch(r"2 errors in [\d.]+s", summary), done.stdout
    assert done.stdout.count("chromium is not installed") >= 2
