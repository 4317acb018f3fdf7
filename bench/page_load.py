"""Load: N learners open the same page at the same moment ("everyone open Compare now").

Starts its own Streamlit server on 127.0.0.1 and, for every page, opens N sessions that speak
Streamlit's websocket protocol (as bench/load.py does): each asks for the page at the same
moment, on a warm server (one visit to every page first, so models are loaded and caches
filled), and waits for the page's script to finish. Printed per page and N: p50 / p95 / max
of the time to the first chart and to the whole page, errors (an exception or error element,
a lost session), and the server's CPU seconds per visit (the figure that decides how many
learners one core holds). The baseline is the same page opened by one session alone.

Target (issue 13): N = 30 on 2 cores, p95 <= 1.5 s for every page, no errors.

    python -m bench.page_load [--sessions 1 10 30] [--pages Hidden_states Compare ...] [--lang ko]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import streamlit.logger
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench.load_browser import cpu_seconds, pct, start_server, stop_server
from rnn_demo import i18n

streamlit.logger.set_log_level("error")

PAGES = ["Hidden_states", "Gradient_flow", "Draw", "Train", "Compare", "Memory", "Inside_the_cell", ""]  # "": the home page
TIMEOUT_S = 180


async def visit(url: str, page: str, lang: str = "en") -> dict:
    """Open one session, ask for the page (in `lang`, as `?lang=` does), read until its script finished."""
    out = {"first_chart": None, "done": None, "errors": []}
    try:
        async with websockets.connect(f"{url}/_stcore/stream", subprotocols=["streamlit"], max_size=None,
                                      open_timeout=TIMEOUT_S) as ws:
            msg = BackMsg()
            msg.rerun_script.page_name = page
            msg.rerun_script.query_string = f"lang={lang}"
            sent = time.perf_counter()
            await ws.send(msg.SerializeToString())
            while True:
                m = ForwardMsg()
                m.ParseFromString(await asyncio.wait_for(ws.recv(), TIMEOUT_S))
                kind = m.WhichOneof("type")
                if kind == "delta" and m.delta.WhichOneof("type") == "new_element":
                    element = m.delta.new_element.WhichOneof("type")
                    if element in ("plotly_chart", "graphviz_chart") and out["first_chart"] is None:
                        out["first_chart"] = 1000 * (time.perf_counter() - sent)
                    if element == "exception":
                        out["errors"].append(f"exception: {m.delta.new_element.exception.message[:120]}")
                    if element == "alert" and m.delta.new_element.alert.format == 1:  # ERROR
                        out["errors"].append(f"error: {m.delta.new_element.alert.body[:120]}")
                if kind == "script_finished":
                    out["done"] = 1000 * (time.perf_counter() - sent)
                    return out
    except Exception as exc:  # a timeout or a lost connection is that visit's error
        out["errors"].append(f"{type(exc).__name__}: {str(exc)[:120]}")
        return out


async def measure(url: str, page: str, n: int, server_pid: int, lang: str = "en") -> dict:
    cpu0 = cpu_seconds([server_pid])
    visits = await asyncio.gather(*(visit(url, page, lang) for _ in range(n)))
    cpu = cpu_seconds([server_pid]) - cpu0
    return {"done": sorted(v["done"] for v in visits if v["done"] is not None),
            "first": sorted(v["first_chart"] for v in visits if v["first_chart"] is not None),
            "errors": [e for v in visits for e in v["errors"]], "cpu_per_visit": cpu / n}


async def run(args) -> int:
    with tempfile.TemporaryDirectory(prefix="rnn_page_load_") as tmp:
        server = start_server(args.port, str(Path(tmp) / "user_models"), Path(tmp) / "streamlit.log")
        url = f"ws://127.0.0.1:{args.port}"
        failed = 0
        try:
            for page in args.pages:  # warm: models loaded, caches filled, as after the teacher's own visit
                warm = await visit(url, page, args.lang)
                failed += len(warm["errors"])
                print(f"warm-up {page or 'Home'}: {warm['done'] or float('nan'):.0f} ms"
                      + (f" errors: {warm['errors'][:2]}" if warm["errors"] else ""), flush=True)
            print(f"server on {os.cpu_count()} cores; pages in {args.lang!r}; "
                  f"load average before: {os.getloadavg()[0]:.2f}")
            print(f"{'page':>14} {'N':>3} {'first p50':>9} {'first p95':>9} {'page p50':>9} {'page p95':>9} "
                  f"{'max ms':>7} {'errors':>6} {'CPU s/visit':>11}")
            for page in args.pages:
                for n in args.sessions:
                    r = await measure(url, page, n, server.pid, args.lang)
                    failed += len(r["errors"])
                    print(f"{page or 'Home':>14} {n:>3} {pct(r['first'], 50):9.0f} {pct(r['first'], 95):9.0f} "
                          f"{pct(r['done'], 50):9.0f} {pct(r['done'], 95):9.0f} "
                          f"{max(r['done'], default=float('nan')):7.0f} {len(r['errors']):>6} "
                          f"{r['cpu_per_visit']:11.3f}", flush=True)
                    for e in r["errors"][:3]:
                        print(f"      {e}")
                    await asyncio.sleep(0.5)
        finally:
            stop_server(server)
    print("first: request sent -> the page's first chart received; page: -> the page's script finished. "
          "CPU s/visit: the server's CPU seconds while the N visits ran, divided by N.")
    return 1 if failed else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.page_load", description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, nargs="+", default=[1, 10, 30])
    p.add_argument("--pages", nargs="+", default=PAGES)
    p.add_argument("--port", type=int, default=8618)
    p.add_argument("--lang", choices=sorted(i18n.LANGUAGES), default="en", help="the pages' language (?lang=)")
    return asyncio.run(run(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
