"""Accessibility audit: axe-core (WCAG 2.0/2.1 A and AA rules) in a real browser, on every page.

Starts its own Streamlit server on 127.0.0.1 (or audits --url), opens every page (Home and
pages/*.py) in headless Chromium in English and Korean, on a desktop (1400x1000) and a phone
(390x844, touch), waits until the page has finished computing, injects axe-core (the copy that
ships inside the PyPI package axe-playwright-python) and prints every violation by page view and
rule: impact, node count and the first few nodes' selectors. The last lines count violations
(rule x page view) and nodes by impact. Exit status 1 when any serious or critical one is left.

    python -m bench.a11y [--pages Draw Train ...] [--langs en ko] [--views desktop phone] [--url URL]
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGES = ["", "Hidden_states", "Gradient_flow", "Draw", "Train", "Compare", "Memory"]  # "": Home
VIEWS = {"desktop": dict(viewport={"width": 1400, "height": 1000}),
         "phone": dict(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                       has_touch=True)}
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
TIMEOUT_MS = 120_000

# Every run: Streamlit has finished the script, no spinner is turning, and late parts (the
# drawing pad, Plotly figures) have had their moment to draw.
WAIT_JS = """() => {
    const s = document.querySelector('[data-testid="stStatusWidget"]');
    const running = s && s.innerText.toLowerCase().includes('running');
    const spinning = [...document.querySelectorAll('[data-testid="stSpinner"]')]
        .some(e => e.offsetParent !== null || e.getClientRects().length > 0);
    const stale = document.querySelector('[data-stale="true"]');
    return document.querySelector('[data-testid="stMain"] h1') && !running && !spinning && !stale;
}"""


def axe_script() -> str:
    """axe.min.js as axe-playwright-python ships it (no network, no npm)."""
    from axe_playwright_python.base import AXE_SCRIPT
    return AXE_SCRIPT


def settle(page) -> None:
    page.wait_for_function(WAIT_JS, timeout=TIMEOUT_MS)
    page.wait_for_timeout(1500)
    page.wait_for_function(WAIT_JS, timeout=TIMEOUT_MS)


def audit_page(page, script: str) -> list[dict]:
    """axe-core's violations on the page as it stands: [{id, impact, help, nodes: [selector]}]."""
    page.evaluate(script)
    result = page.evaluate("opts => axe.run(document, opts)",
                           {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]})
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [_node(n) for n in v["nodes"]]} for v in result["violations"]]


def _node(n: dict) -> str:
    """The node's selector, with axe's first reason (for contrast: the colours and the ratio)."""
    why = [c["message"] for c in n.get("any", []) + n.get("all", []) + n.get("none", []) if c.get("message")]
    text = n.get("html", "")[:80].replace("\n", " ")
    return f"{' '.join(map(str, n['target']))[-90:]}  <- {text}  ## {why[0] if why else ''}"


def audit(browser, url: str, pages=PAGES, langs=("en", "ko"), views=tuple(VIEWS), log=print) -> dict:
    """{(page, lang, view): violations} for every page view, one browser context per view."""
    script = axe_script()
    out = {}
    for view in views:
        context = browser.new_context(**VIEWS[view])
        tab = context.new_page()
        for lang in langs:
            for name in pages:
                tab.goto(f"{url}/{name}?lang={lang}")
                settle(tab)
                found = audit_page(tab, script)
                out[(name or "Home", lang, view)] = found
                log(f"{name or 'Home':14s} {lang} {view:8s} {len(found)} rules, "
                    f"{sum(v['impact'] in BLOCKING for v in found)} serious/critical")
        context.close()
    return out


def blocking(results: dict) -> list[str]:
    """One line per serious or critical violation: 'page lang view: rule (impact, n nodes)'."""
    return [f"{p} {lang} {view}: {v['id']} ({v['impact']}, {len(v['nodes'])} nodes: {v['nodes'][:3]})"
            for (p, lang, view), found in results.items() for v in found if v["impact"] in BLOCKING]


def report(results: dict) -> str:
    lines = []
    for (p, lang, view), found in results.items():
        lines.append(f"== {p} [{lang}, {view}]: {len(found)} rules violated")
        for v in sorted(found, key=lambda v: (BLOCKING.index(v["impact"]) * -1 if v["impact"] in BLOCKING else 1, v["id"])):
            lines.append(f"   {v['impact']:9s} {v['id']} ({len(v['nodes'])} nodes): {v['help']}")
            for n in v["nodes"][:4]:
                lines.append(f"             {n}")
    rules = Counter(v["impact"] for found in results.values() for v in found)
    nodes = Counter()
    for found in results.values():
        for v in found:
            nodes[v["impact"]] += len(v["nodes"])
    views_bad = sum(any(v["impact"] in BLOCKING for v in found) for found in results.values())
    lines.append(f"page views audited: {len(results)}; with a serious or critical violation: {views_bad}")
    lines.append("violations (rule x page view) by impact: " + ", ".join(f"{k} {rules[k]}" for k in
                                                                      ("critical", "serious", "moderate", "minor")))
    lines.append("nodes by impact: " + ", ".join(f"{k} {nodes[k]}" for k in ("critical", "serious", "moderate", "minor")))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", nargs="+", default=PAGES, help="URL paths (Home is '' or Home)")
    ap.add_argument("--langs", nargs="+", default=["en", "ko"])
    ap.add_argument("--views", nargs="+", default=list(VIEWS), choices=list(VIEWS))
    ap.add_argument("--url", help="audit a running server instead of starting one")
    args = ap.parse_args(argv)
    pages = ["" if p.lower() == "home" else p for p in args.pages]
    from playwright.sync_api import sync_playwright

    from bench.load_browser import start_server, stop_server
    proc = None
    with tempfile.TemporaryDirectory(prefix="rnn_a11y_") as tmp:
        url = args.url
        if not url:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            proc = start_server(port, os.path.join(tmp, "user_models"), Path(tmp) / "server.log")
            url = f"http://127.0.0.1:{port}"
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                results = audit(browser, url, pages, args.langs, args.views,
                                log=lambda s: print(s, file=sys.stderr, flush=True))
                browser.close()
        finally:
            if proc:
                stop_server(proc)
    print(report(results))
    return 1 if blocking(results) else 0


if __name__ == "__main__":
    sys.exit(main())
