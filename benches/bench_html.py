"""The HTML report at growing sizes: file size, time to write it, and load time in headless Chromium.

Load time is from navigation to the page's ready marker (data parsed, overview drawn), median of 3.
Needs Debian's chromium and the playwright package (dev extras); without them it says so and stops.

    python benches/bench_html.py [--sizes 1000,10000] [--out benches/results/html.md]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_hashing import machine, write_results  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--out", type=Path, default=ROOT / "benches" / "results" / "html.md")
    args = ap.parse_args()
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sys.exit("bench_html: playwright is not installed (pip install -e '.[dev]')")
    if chromium is None:
        sys.exit("bench_html: chromium is not installed (apt-get install chromium)")
    from dedup.config import ScanConfig
    from dedup.html import render_html
    from dedup.report import build_report
    from dedup.scan import scan_documents
    from dedup.synth import make_corpus

    rows = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for n in [int(s) for s in args.sizes.split(",")]:
            docs = make_corpus(n, dup_fraction=0.05, seed=5).documents()
            config = ScanConfig()
            result = scan_documents(docs, config)
            report = build_report(docs, [], result, config, "bench")
            t0 = time.perf_counter()
            page_html = render_html(report, docs)
            write_s = time.perf_counter() - t0
            path = Path(tmp) / f"r{n}.html"
            path.write_text(page_html, encoding="utf-8")
            loads = []
            for _ in range(3):
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                t0 = time.perf_counter()
                page.goto(path.as_uri())
                page.wait_for_selector("body[data-ready='1']")
                loads.append(time.perf_counter() - t0)
                page.close()
            rows.append(
                (n, len(report["clusters"]), path.stat().st_size / 1e6, write_s, statistics.median(loads))
            )
            print(f"  {rows[-1]}", file=sys.stderr)
        browser.close()
    lines = [
        "# HTML report: size and load time",
        "",
        f"Machine: {machine().replace(', single thread per row', '')}. Generated ~450-word documents, 5% planted",
        "near-duplicates, all levels; load = navigation to the ready marker in headless Chromium, median of 3.",
        "",
        "| documents | clusters | file MB | write s | load s |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [f"| {n:,} | {c:,} | {mb:.1f} | {w:.2f} | {ld:.2f} |" for n, c, mb, w, ld in rows]
    write_results("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
    main()
