"""The HTML report: one self-contained file (inline CSS and JS, no network) to look at the copies.

The report data is embedded once as JSON and the page renders from it: an overview (counts, and
a bar per document showing where its copied text is), a paginated cluster list, and one document
at a time with its copied spans highlighted (a colour per cluster; cross-document copies filled,
repeats within a document outlined), each span linking to the other copies. Only the visible page
of lists and the open document are in the DOM, so 10,000 documents load like 10; and of a big
cluster only its first members (then a hundred per "show more"), of a highlight's other copies the
first twenty and a count. The overview names the skipped inputs.

Safety: every text reaches the page through textContent (never markup), the JSON block escapes
`<`, `>`, `&` and the JS line separators, and a Content-Security-Policy allows only this page's own
script and style (by hash) and no request at all.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import numpy as np

from .model import Document
from .output import _SURROGATE

_CSS = """
:root { --fg:#1d232b; --muted:#5d6b7a; --line:#dde3ea; --bg:#fbfcfd; --card:#fff; --accent:#2f6fde; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--fg); background:var(--bg); }
header { padding:14px 24px; background:#16202c; color:#fff; display:flex; gap:24px; align-items:baseline; flex-wrap:wrap; }
header h1 { font-size:18px; margin:0; }
header .params { color:#aab6c4; font-size:12px; }
nav { display:flex; gap:4px; padding:8px 24px; background:#fff; border-bottom:1px solid var(--line); position:sticky; top:0; z-index:5; }
nav button { border:0; background:none; padding:6px 12px; border-radius:6px; cursor:pointer; font:inherit; color:var(--muted); }
nav button.on { background:#e8effc; color:var(--accent); font-weight:600; }
main { padding:16px 24px 80px; max-width:1200px; }
.cards { display:flex; gap:12px; flex-wrap:wrap; margin-bottom:16px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:10px 14px; min-width:150px; }
.card b { display:block; font-size:22px; }
.card span { color:var(--muted); font-size:12px; }
table { border-collapse:collapse; width:100%; background:#fff; border:1px solid var(--line); border-radius:8px; }
th, td { text-align:left; padding:6px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-size:12px; color:var(--muted); font-weight:600; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
a, .link { color:var(--accent); cursor:pointer; text-decoration:none; }
a:hover, .link:hover { text-decoration:underline; }
.bar { position:relative; height:12px; background:#eef1f5; border-radius:3px; min-width:220px; overflow:hidden; cursor:pointer; }
.bar i { position:absolute; top:0; bottom:0; background:var(--c); }
.bar i.within { top:3px; bottom:3px; opacity:.75; }
.badge { display:inline-block; font-size:11px; padding:0 6px; border-radius:9px; background:#eef1f5; color:var(--muted); margin-right:4px; }
.badge.across { background:#fde8d8; color:#9a4310; }
.badge.within { background:#e3eefc; color:#1f5fbf; }
.badge.boilerplate { background:#eee; color:#777; }
.swatch { display:inline-block; width:10px; height:10px; border-radius:2px; background:var(--c); margin-right:6px; vertical-align:middle; }
.members { margin:4px 0 0; padding:0; list-style:none; }
.members li { margin:2px 0; }
.snippet { color:var(--muted); }
.pager, .filters { margin:10px 0; display:flex; gap:8px; align-items:center; }
.pager button { font:inherit; padding:3px 10px; border:1px solid var(--line); background:#fff; border-radius:6px; cursor:pointer; }
.pager button:disabled { opacity:.4; cursor:default; }
select, input[type=search] { font:inherit; padding:3px 6px; border:1px solid var(--line); border-radius:6px; }
.doc { background:#fff; border:1px solid var(--line); border-radius:8px; padding:18px 22px; white-space:pre-wrap; word-wrap:break-word; font:15px/1.65 Georgia,serif; }
mark { color:inherit; cursor:pointer; border-radius:2px; padding:0 1px; }
mark.across { background:color-mix(in srgb, var(--c) 38%, white); }
mark.within { background:color-mix(in srgb, var(--c) 12%, white); outline:2px dashed var(--c); outline-offset:-1px; }
mark.boilerplate { background:#ececec; color:#666; }
mark.flash { animation:flash 1.4s ease-out; }
@keyframes flash { 0% { box-shadow:0 0 0 6px #ffd84d; } 100% { box-shadow:0 0 0 0 transparent; } }
#pop { position:absolute; display:none; background:#fff; border:1px solid var(--line); border-radius:8px; box-shadow:0 6px 24px rgba(0,0,0,.15); padding:8px 12px; max-width:520px; z-index:20; font-size:13px; }
#pop h4 { margin:0 0 4px; font-size:12px; color:var(--muted); font-weight:600; }
#pop ul { margin:0; padding-left:16px; }
.legend { color:var(--muted); font-size:12px; margin:6px 0 12px; }
.legend mark { cursor:default; }
.empty { color:var(--muted); padding:20px 0; }
.skipped { background:#fff8e6; border:1px solid #f0dca8; border-radius:8px; padding:8px 14px; margin-bottom:16px; }
.skipped h3 { margin:0 0 4px; font-size:13px; }
.skipped ul { margin:0; padding-left:18px; font-size:13px; }
button.more { font:inherit; font-size:12px; margin-top:4px; padding:1px 8px; border:1px solid var(--line); background:#fff; border-radius:6px; cursor:pointer; color:var(--accent); }
"""

_JS = r"""
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("report-data").textContent);
  const main = document.querySelector("main"), pop = document.getElementById("pop");
  const PAGE = 50, MEMBERS = 10, MORE = 100, POP = 20, SKIPPED = 20;  // list sizes: a 10,000-copy cluster stays light
  const num = (n) => n.toLocaleString("en-US");
  const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };
  const colour = (c) => "hsl(" + Math.round((c * 137.508) % 360) + ",70%,48%)";
  const kind = (c) => c.boilerplate ? "boilerplate" : c.scope;
  // members of each document: [cluster, member index, start, end] (UTF-16 offsets)
  const byDoc = new Map();
  D.clusters.forEach((c, ci) => c.members.forEach((m, mi) => {
    if (!byDoc.has(m[0])) byDoc.set(m[0], []);
    byDoc.get(m[0]).push([ci, mi, m[1], m[2]]);
  }));
  const shared = D.docs.map((d, i) => {
    const spans = (byDoc.get(i) || []).map(x => [x[2], x[3]]).sort((a, b) => a[0] - b[0]);
    let total = 0, s = -1, e = -1;
    for (const [a, b] of spans) { if (a > e) { total += e - s; s = a; e = b; } else if (b > e) e = b; }
    total += e - s;
    return d.chars ? total / d.chars : 0;
  });
  const state = { view: "overview", page: 0, level: "all", query: "" };
  let firsts = new Map();

  function nav() {
    document.querySelectorAll("nav button").forEach(b => b.classList.toggle("on", b.dataset.view === state.view));
  }
  function pager(total, draw) {
    const p = el("div", "pager"), pages = Math.max(1, Math.ceil(total / PAGE));
    const prev = el("button", "", "‹ prev"), next = el("button", "", "next ›");
    prev.disabled = state.page === 0; next.disabled = state.page >= pages - 1;
    prev.onclick = () => { state.page--; draw(); }; next.onclick = () => { state.page++; draw(); };
    p.append(prev, el("span", "", "page " + (state.page + 1) + " of " + pages + " (" + total + ")"), next);
    return p;
  }
  function memberLink(ci, mi) {
    const m = D.clusters[ci].members[mi], d = D.docs[m[0]];
    const a = el("a", "member", d.id + " [" + m[3] + ":" + m[4] + "]");
    a.href = "#m-" + ci + "-" + mi;
    a.onclick = (ev) => { ev.preventDefault(); hidePop(); openDoc(m[0], ci, mi); };
    return a;
  }
  function overview() {
    main.replaceChildren();
    const s = D.summary, cards = el("div", "cards");
    const card = (n, t) => { const c = el("div", "card"); c.append(el("b", "", n), el("span", "", t)); return c; };
    cards.append(card(s.documents, "documents"), card(s.clusters, "clusters"),
      card(s.across_clusters, "across documents"), card(s.within_clusters, "within a document"),
      card((100 * s.duplicated_fraction).toFixed(1) + "%", "of all text duplicated"));
    Object.entries(s.clusters_by_level).forEach(([lv, n]) => cards.append(card(n, lv + " clusters")));
    main.append(cards);
    const sk = s.skipped_inputs || [];
    if (sk.length) {  // inputs that are not in this report, and why
      const box = el("div", "skipped"), ul = el("ul");
      box.append(el("h3", "", num(sk.length) + (sk.length === 1 ? " input" : " inputs") + " skipped (not in this report)"));
      sk.slice(0, SKIPPED).forEach(x => { const li = el("li"); li.append(el("code", "", x.source), document.createTextNode(": " + x.reason)); ul.append(li); });
      box.append(ul);
      if (sk.length > SKIPPED) box.append(el("div", "snippet", "and " + num(sk.length - SKIPPED) + " more (all in the JSON report's summary.skipped_inputs)"));
      main.append(box);
    }
    const legend = el("div", "legend", "Each bar is a document; coloured marks show where its copied text is (one colour per cluster; full height: shared with other documents, thin: repeated inside the document). Click a bar to read the document.");
    main.append(legend);
    const order = D.docs.map((_, i) => i).filter(i => byDoc.has(i)).sort((a, b) => shared[b] - shared[a] || a - b);
    if (!order.length) { main.append(el("div", "empty", "No duplicated text found.")); return; }
    const draw = () => {
      main.querySelectorAll(".pager, table").forEach(x => x.remove());
      const t = el("table"), head = el("tr");
      ["document", "copied", "where (one mark per copied span)", "shares text with"].forEach(h => head.append(el("th", "", h)));
      t.append(head);
      for (const i of order.slice(state.page * PAGE, (state.page + 1) * PAGE)) {
        const d = D.docs[i], tr = el("tr"), name = el("td"), bar = el("div", "bar");
        const a = el("a", "", d.id); a.onclick = () => openDoc(i); name.append(a);
        for (const [ci, , s0, e0] of byDoc.get(i)) {
          const m = el("i", kind(D.clusters[ci]));
          m.style.setProperty("--c", D.clusters[ci].boilerplate ? "#bbb" : colour(ci));
          m.style.left = (100 * s0 / d.chars) + "%"; m.style.width = Math.max(0.4, 100 * (e0 - s0) / d.chars) + "%";
          bar.append(m);
        }
        bar.onclick = () => openDoc(i);
        const partners = new Set();
        for (const [ci] of byDoc.get(i)) if (!D.clusters[ci].boilerplate) D.clusters[ci].members.forEach(m => { if (m[0] !== i) partners.add(D.docs[m[0]].id); });
        const barCell = el("td"); barCell.append(bar);
        tr.append(name, el("td", "num", (100 * shared[i]).toFixed(1) + "%"), barCell, el("td", "snippet", [...partners].slice(0, 6).join(", ") + (partners.size > 6 ? " …" : "")));
        t.append(tr);
      }
      main.append(pager(order.length, draw), t);
    };
    draw();
  }
  function clusters() {
    main.replaceChildren();
    const bar = el("div", "filters"), sel = el("select"), search = el("input");
    ["all", "document", "paragraph", "passage"].forEach(v => { const o = el("option", "", v); o.value = v; sel.append(o); });
    sel.value = state.level; search.type = "search"; search.placeholder = "filter by document id"; search.value = state.query;
    bar.append(el("span", "", "level"), sel, search); main.append(bar);
    const list = el("div"); main.append(list);
    const chosen = () => D.clusters.map((c, i) => i).filter(i => (state.level === "all" || D.clusters[i].level === state.level)
      && (!state.query || D.clusters[i].members.some(m => D.docs[m[0]].id.includes(state.query))))
      .sort((a, b) => D.clusters[b].members.length - D.clusters[a].members.length || a - b);
    const draw = () => {
      const ids = chosen(); list.replaceChildren(pager(ids.length, draw));
      const t = el("table"), head = el("tr");
      ["#", "level", "similarity", "copies"].forEach(h => head.append(el("th", "", h))); t.append(head);
      for (const ci of ids.slice(state.page * PAGE, (state.page + 1) * PAGE)) {
        const c = D.clusters[ci], tr = el("tr"), id = el("td", "num"), sw = el("span", "swatch");
        sw.style.setProperty("--c", c.boilerplate ? "#bbb" : colour(ci)); id.append(sw, document.createTextNode(String(c.id)));
        const lv = el("td"); lv.append(el("span", "badge " + kind(c), kind(c)), document.createTextNode(c.level + (c.exact ? " · exact" : "")));
        const mem = memberList(ci);
        tr.append(id, lv, el("td", "num", c.similarity.toFixed(3)), mem); t.append(tr);
      }
      list.append(t);
    };
    sel.onchange = () => { state.level = sel.value; state.page = 0; draw(); };
    search.oninput = () => { state.query = search.value; state.page = 0; draw(); };
    draw();
  }
  function memberList(ci) {  // the first MEMBERS copies, then MORE per click of "show more"
    const c = D.clusters[ci], td = el("td"), ul = el("ul", "members"), more = el("button", "more");
    let shown = 0;
    const grow = (n) => {
      for (const end = Math.min(c.members.length, shown + n); shown < end; shown++) {
        const li = el("li"); li.append(memberLink(ci, shown), el("span", "snippet", "  " + snippet(c.members[shown]))); ul.append(li);
      }
      const left = c.members.length - shown;
      if (left > 0) more.textContent = "show " + num(Math.min(left, MORE)) + " of " + num(left) + " more";
      else more.remove();
    };
    more.onclick = (ev) => { ev.stopPropagation(); grow(MORE); };
    td.append(ul, more); grow(MEMBERS);
    return td;
  }
  function snippet(m) {
    const t = D.docs[m[0]].text.slice(m[1], m[2]).replace(/\s+/g, " ");
    return t.length > 140 ? t.slice(0, 137) + "…" : t;
  }
  function openDoc(i, ci, mi) {
    state.view = "doc"; state.doc = i; nav(); hidePop();
    main.replaceChildren();
    const d = D.docs[i], h = el("h2", "", d.id);
    main.append(h, el("div", "legend", d.source + " · " + d.chars + " characters · " + (100 * shared[i]).toFixed(1) + "% copied. "
      + "Filled: shared with other documents; outlined: repeated inside this document. Click a highlight for its other copies."));
    const box = el("div", "doc"), spans = byDoc.get(i) || [];
    firsts = new Map();  // "cluster:member" -> the mark where that member starts
    // Split the text at every member boundary; each piece is covered by zero or more members.
    const cuts = new Set([0, d.text.length]);
    spans.forEach(([, , a, b]) => { cuts.add(a); cuts.add(b); });
    const pts = [...cuts].sort((a, b) => a - b);
    for (let k = 0; k + 1 < pts.length; k++) {
      const a = pts[k], b = pts[k + 1], piece = d.text.slice(a, b);
      const cover = spans.filter(([, , s0, e0]) => s0 <= a && e0 >= b);
      if (!cover.length) { box.append(document.createTextNode(piece)); continue; }
      cover.sort((x, y) => (x[3] - x[2]) - (y[3] - y[2]));  // the innermost member styles the piece
      const [c0, m0] = cover[0], c = D.clusters[c0], mk = el("mark", kind(c), piece);
      mk.style.setProperty("--c", colour(c0));
      mk.dataset.cover = cover.map(x => x[0] + ":" + x[1]).join(" ");
      for (const [cj, mj, s0] of cover) if (s0 === a && !firsts.has(cj + ":" + mj)) {
        firsts.set(cj + ":" + mj, mk);
        if (!mk.id) mk.id = "m-" + cj + "-" + mj;
      }
      mk.onclick = (ev) => { ev.stopPropagation(); showPop(mk, cover); };
      box.append(mk);
    }
    main.append(box);
    if (ci !== undefined) focus(ci, mi);
    else window.scrollTo(0, 0);
  }
  function focus(ci, mi) {
    const target = firsts.get(ci + ":" + mi);
    if (!target) return;
    target.scrollIntoView({ block: "center" });
    document.querySelectorAll("mark.flash, mark.focused").forEach(x => x.classList.remove("flash", "focused"));
    target.classList.add("flash", "focused");
    document.body.dataset.focus = ci + ":" + mi;
  }
  function showPop(mk, cover) {
    pop.replaceChildren();
    for (const [ci, mi] of cover) {
      const c = D.clusters[ci];
      pop.append(el("h4", "", "cluster " + c.id + " · " + c.level + " · " + kind(c) + " · similarity " + c.similarity.toFixed(3)));
      const ul = el("ul"), others = c.members.length - 1;
      let n = 0;
      for (let k = 0; k < c.members.length && n < POP; k++) if (k !== mi) { const li = el("li"); li.append(memberLink(ci, k)); ul.append(li); n++; }
      pop.append(ul);
      if (others > n) pop.append(el("div", "snippet", "and " + num(others - n) + " more copies (all in the Clusters view)"));
    }
    const r = mk.getBoundingClientRect();
    pop.style.left = (window.scrollX + r.left) + "px"; pop.style.top = (window.scrollY + r.bottom + 6) + "px";
    pop.style.display = "block";
  }
  function hidePop() { pop.style.display = "none"; }
  document.addEventListener("click", (ev) => { if (!pop.contains(ev.target)) hidePop(); });
  document.querySelectorAll("nav button").forEach(b => b.onclick = () => { state.view = b.dataset.view; state.page = 0; nav(); hidePop(); (state.view === "clusters" ? clusters : overview)(); });
  nav(); overview();
  document.body.dataset.ready = "1";
})();
"""


def _utf16(text: str) -> np.ndarray | None:
    """Code point offset -> UTF-16 offset (JS strings count UTF-16 units), or None if equal."""
    if text.isascii() or all(ord(c) < 0x10000 for c in text):
        return None
    wide = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32) >= 0x10000
    return np.concatenate([[0], np.cumsum(1 + wide)])


def _data(report: dict[str, Any], documents: list[Document]) -> dict[str, Any]:
    index = {d.id: i for i, d in enumerate(documents)}
    used = sorted({index[m["doc"]] for c in report["clusters"] for m in c["members"]})
    local = {d: k for k, d in enumerate(used)}
    maps = {d: _utf16(documents[d].text) for d in used}
    docs = []
    for d in used:
        doc = documents[d]
        m = maps[d]
        docs.append(
            {
                "id": doc.id,
                "source": doc.source,
                "chars": int(m[-1]) if m is not None else len(doc.text),
                "text": doc.text,
            }
        )
    clusters = []
    for c in report["clusters"]:
        members = []
        for mem in c["members"]:
            d = index[mem["doc"]]
            m = maps[d]
            s, e = mem["start"], mem["end"]
            members.append(
                [local[d], int(m[s]) if m is not None else s, int(m[e]) if m is not None else e, s, e]
            )
        clusters.append(
            {
                "id": c["id"],
                "level": c["level"],
                "scope": c["scope"],
                "similarity": c["similarity"],
                "exact": c["exact"],
                "boilerplate": bool(c.get("boilerplate", False)),
                "members": members,
            }
        )
    return {"summary": report["summary"], "params": report["params"], "docs": docs, "clusters": clusters}


def _json_for_html(obj: Any) -> str:
    """JSON safe inside <script type="application/json">: no `<`, `>` or `&` (so no `</script>`
    or comment can end the block), no U+2028/2029, lone surrogates as escapes."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    for ch, esc in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(ch, esc)
    return text


def _sha256(source: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii")


def render_html(report: dict[str, Any], documents: list[Document]) -> str:
    """The whole report page as one string."""
    data = _json_for_html(_data(report, documents))
    p = report["params"]
    csp = (
        f"default-src 'none'; script-src '{_sha256(_JS)}'; style-src '{_sha256(_CSS)}'; "
        "img-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'"
    )
    levels = ", ".join(p.get("levels", []))
    title = (
        f"dedup report: {report['summary']['documents']} documents, {report['summary']['clusters']} clusters"
    )
    params = f"threshold {p['threshold']} · {p['ngram']}-word shingles · {p['num_perm']} permutations · levels {levels}"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f'<header><h1>{_escape(title)}</h1><span class="params">{_escape(params)}</span></header>\n'
        '<nav><button data-view="overview">Overview</button><button data-view="clusters">Clusters</button></nav>\n'
        '<main></main>\n<div id="pop"></div>\n'
        f'<script type="application/json" id="report-data">{data}</script>\n'
        f"<script>{_JS}</script>\n</body>\n</html>\n"
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
