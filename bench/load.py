"""Load: N learners draw digits on the Draw page at once; how long until each has its prediction?

Starts its own Streamlit server on 127.0.0.1:8616 and opens N sessions that speak Streamlit's
own websocket protocol, as the browser does (BackMsg rerun requests carrying the canvas's
widget state, ForwardMsg deltas back): the machine's 2 cores serve the app alone, as a class
server does, instead of also rendering N browsers' charts (`bench/load_browser.py` does that,
with real Chromium pages on the same cores). Each drawing is a digit rendered as the canvas
sends it (a PNG data URL of the 280 x 280 canvas), with a wobble of its own, so no two drawings
are alike and no session can be served another's cached result.

Latency: from sending the drawing to receiving every model's prediction (the metric elements),
on this side of the socket. Two ways of drawing:
- together: every session sends its drawing at the same moment, a few rounds (the worst case);
- class:    each session draws, looks for 2 to 8 s (uniform), draws again, for --seconds.
Checked for every prediction: the 28 x 28 digit the page shows is exactly this session's own
drawing preprocessed here (`canvas.to_mnist`), every model's digit and "NN% sure" equal the
models' own answer computed here, and no error or exception element appears.
Target (issue 7): 20 sessions on 2 cores, p95 <= 500 ms, no errors.

    python -m bench.load [--sessions 5 10 20] [--rounds 3] [--seconds 40]
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import json
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import streamlit.logger
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench.load_browser import DIGITS, cpu_seconds, pct, rss_mb, start_server, stop_server, wobble

streamlit.logger.set_log_level("error")  # ui's caches warn that there is no runtime here: none is needed
from rnn_demo import attribution, canvas, checkpoints, ui  # noqa: E402

TIMEOUT_S = 120  # any single wait
THINK_S = (2.0, 8.0)


def plotly_z(spec: str) -> np.ndarray:
    z = json.loads(spec)["data"][0]["z"]
    if isinstance(z, dict):  # plotly's binary array encoding
        return np.frombuffer(base64.b64decode(z["bdata"]), z["dtype"]).reshape(28, 28)
    return np.asarray(z)


class Session:
    """One learner's tab: a websocket to the server, its own Streamlit session."""

    def __init__(self, index: int, url: str, models: dict):
        self.index, self.url, self.models = index, url, models
        self.rng = random.Random(index)
        self.latencies: list[float] = []  # ms, drawing sent -> every prediction received
        self.runs: list[float] = []       # ms, drawing sent -> the page's script finished
        self.errors: list[str] = []
        self.ws = None
        self.canvas_id = self.page_hash = None
        self.replica = ""  # behind a load balancer: which replica served this session

    async def open(self) -> None:
        # A cookie of its own, as a browser has: nginx's sticky routing (deploy/) hashes on it.
        self.ws = await websockets.connect(f"{self.url}/_stcore/stream", subprotocols=["streamlit"],
                                           max_size=None, open_timeout=TIMEOUT_S,
                                           additional_headers={"Cookie": f"rnn_route=learner-{self.index}"})
        self.replica = self.ws.response.headers.get("X-Replica", "")
        msg = BackMsg()
        msg.rerun_script.page_name = "Draw"
        await self.ws.send(msg.SerializeToString())
        for m in await self._until_finished():
            if m.WhichOneof("type") == "delta" and m.delta.WhichOneof("type") == "new_element":
                if m.delta.new_element.WhichOneof("type") == "bidi_component":
                    self.canvas_id, self.page_hash = m.delta.new_element.bidi_component.id, m.metadata.active_script_hash
        if self.canvas_id is None:
            raise RuntimeError("the Draw page showed no canvas")

    async def _until_finished(self, marks: list | None = None) -> list[ForwardMsg]:
        out = []
        while True:
            m = ForwardMsg()
            m.ParseFromString(await asyncio.wait_for(self.ws.recv(), TIMEOUT_S))
            out.append(m)
            if marks is not None and m.WhichOneof("type") == "delta" and \
                    m.delta.new_element.WhichOneof("type") == "metric":
                marks.append(time.perf_counter())
            if m.WhichOneof("type") == "script_finished":
                return out

    async def draw(self) -> None:
        """Draw a digit, wait for the whole page, check what came back."""
        digit = self.rng.choice(sorted(DIGITS))
        image = canvas.render(*wobble(DIGITS[digit], self.rng))
        msg = BackMsg()
        msg.rerun_script.page_name = "Draw"
        msg.rerun_script.page_script_hash = self.page_hash
        state = msg.rerun_script.widget_states.widgets.add()
        state.id, state.json_value = self.canvas_id, json.dumps(canvas.widget_value(image))
        marks: list[float] = []
        sent = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        reply = await self._until_finished(marks)
        self.runs.append(1000 * (time.perf_counter() - sent))
        self.check(image, digit, reply)
        if marks and not self.errors:
            self.latencies.append(1000 * (marks[-1] - sent))

    def check(self, image, digit: str, reply: list[ForwardMsg]) -> None:
        elements = [m.delta.new_element for m in reply if m.WhichOneof("type") == "delta"
                    and m.delta.WhichOneof("type") == "new_element"]
        for e in elements:
            if e.WhichOneof("type") == "exception":
                self.errors.append(f"an exception element: {e.exception.message[:120]}")
        mine = canvas.to_mnist(image)
        charts = [e.plotly_chart.spec for e in elements if e.WhichOneof("type") == "plotly_chart"]
        if not charts or not np.array_equal(plotly_z(charts[0]), mine):
            self.errors.append("the digit shown is not this session's drawing")
        metrics = {e.metric.label.split(" (")[0]: e.metric for e in elements if e.WhichOneof("type") == "metric"}
        shown = {name: m.body for name, m in metrics.items()}
        sure = {name: m.delta for name, m in metrics.items()}
        expected = attribution.predict(self.models, mine)
        if set(shown) != set(expected):
            self.errors.append(f"predictions from {sorted(shown)}, expected {sorted(expected)}")
            return
        for name, p in expected.items():
            got = re.match(r"(\d+)% sure", sure[name] or "")
            if shown[name] != str(p.digit) or not got or abs(int(got.group(1)) - 100 * p.confidence) > 0.51:
                self.errors.append(f"{name} said {shown[name]} ({sure[name]}), its own answer is "
                                   f"{p.digit} ({p.confidence:.1%})")
        if sum(v == digit for v in shown.values()) * 2 < len(shown):
            self.errors.append(f"drew a {digit}, the models said {shown}")

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


async def guarded(s: Session, coro, what: str) -> None:
    try:
        await coro
    except Exception as exc:  # a timeout or a lost connection counts as that session's error
        s.errors.append(f"{what}: {type(exc).__name__}: {str(exc)[:150]}")


async def together(sessions: list[Session], rounds: int) -> None:
    for _ in range(rounds):
        await asyncio.gather(*(guarded(s, s.draw(), "drawing") for s in sessions if not s.errors))
        await asyncio.sleep(1.0)


async def classroom(sessions: list[Session], seconds: float) -> None:
    end = time.perf_counter() + seconds

    async def learner(s: Session):
        await asyncio.sleep(s.rng.uniform(0, THINK_S[1]))  # they do not start in step
        while time.perf_counter() < end and not s.errors:
            await guarded(s, s.draw(), "drawing")
            await asyncio.sleep(s.rng.uniform(*THINK_S))

    await asyncio.gather(*(learner(s) for s in sessions))


async def measure(url: str, n: int, mode: str, args, models, server_pid: int) -> dict:
    sessions = [Session(i, url, models) for i in range(n)]
    for s in sessions:  # opening is not what is measured
        await guarded(s, s.open(), "opening the Draw page")
    rss0 = rss_mb(server_pid)
    cpu0 = cpu_seconds([server_pid]), time.process_time(), time.perf_counter()
    if mode == "together":
        await together(sessions, args.rounds)
    else:
        await classroom(sessions, args.seconds)
    cpu1 = cpu_seconds([server_pid]), time.process_time(), time.perf_counter()
    rss1 = rss_mb(server_pid)  # every session still open, each having drawn
    for s in sessions:
        await s.close()
    lat = sorted(x for s in sessions for x in s.latencies)
    replicas = collections.Counter(s.replica for s in sessions if s.replica)
    return {"lat": lat, "replicas": dict(sorted(replicas.items())), "runs": sorted(x for s in sessions for x in s.runs),
            "errors": [(s.index, e) for s in sessions for e in s.errors],
            "server_cpu": cpu1[0] - cpu0[0], "client_cpu": cpu1[1] - cpu0[1], "wall": cpu1[2] - cpu0[2],
            "rss": rss1, "rss_per_session": (rss1 - rss0) / n}


async def run(args) -> int:
    # the server gets an empty folder of its own for trained models: it shows the shipped ones
    models = {n: checkpoints.load(ui.SHIPPED_DIR / f"{n}.pt").model.eval() for n in ui.SHIPPED}
    with tempfile.TemporaryDirectory(prefix="rnn_load_") as tmp:
        # --url: an app already running (e.g. replicas behind nginx, deploy/); else our own server
        server = None if args.url else start_server(args.port, str(Path(tmp) / "user_models"),
                                                    Path(tmp) / "streamlit.log")
        url = args.url.replace("http", "ws", 1) if args.url else f"ws://127.0.0.1:{args.port}"
        pid = server.pid if server else -1  # the server's CPU is measured only when it is ours
        failed = 0
        try:
            warm = await measure(url, 1, "together", argparse.Namespace(rounds=2), models, pid)
            print(f"warm-up (1 session, loads the models): {warm['lat'][-1] if warm['lat'] else float('nan'):.0f} ms"
                  + (f", errors: {warm['errors']}" if warm["errors"] else ""))
            print(f"server {os.cpu_count()} cores; load average before: {os.getloadavg()[0]:.2f}")
            print(f"{'mode':>8} {'N':>3} {'draws':>6} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'errors':>6} "
                  f"{'page p95':>9} {'server CPU s':>12} {'client CPU s':>12} {'wall s':>7} {'RSS MB':>7} "
                  f"{'MB/session':>10}")
            for mode in args.modes:
                for n in args.sessions:
                    r = await measure(url, n, mode, args, models, pid)
                    lat, failed = r["lat"], failed + len(r["errors"])
                    print(f"{mode:>8} {n:>3} {len(lat):>6} {pct(lat, 50):7.0f} {pct(lat, 95):7.0f} "
                          f"{max(lat, default=float('nan')):7.0f} {len(r['errors']):>6} {pct(r['runs'], 95):9.0f} "
                          f"{r['server_cpu']:12.1f} {r['client_cpu']:12.1f} {r['wall']:7.1f} {r['rss']:7.0f} "
                          f"{r['rss_per_session']:10.1f}", flush=True)
                    if r["replicas"]:
                        print(f"      sessions per replica: " + ", ".join(f"{k} {v}" for k, v in r["replicas"].items()))
                    for i, e in r["errors"][:5]:
                        print(f"      session {i}: {e}")
        finally:
            if server is not None:
                stop_server(server)
    print("p50/p95/max: drawing sent -> every model's prediction received. page p95: -> the whole page "
          "(figures, row attribution) received. errors: failed checks or lost sessions. CPU s: the server's "
          "and this client's CPU seconds while measuring.")
    return 1 if failed else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, nargs="+", default=[5, 10, 20])
    p.add_argument("--modes", nargs="+", default=["together", "class"], choices=["together", "class"])
    p.add_argument("--rounds", type=int, default=3, help="together: drawings per session, all at once")
    p.add_argument("--seconds", type=float, default=40, help="class: how long the class draws")
    p.add_argument("--port", type=int, default=8616)
    p.add_argument("--url", default=None, help="measure an app already running there (e.g. nginx in front of "
                                               "replicas, http://127.0.0.1:8080) instead of starting one")
    return asyncio.run(run(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
