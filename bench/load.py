"""Load: N learners draw digits on the Draw page at once; how long until each has its prediction?

Starts its own Streamlit server on 127.0.0.1:8616 and opens N sessions that speak Streamlit's
own websocket protocol, as the browser does (BackMsg rerun requests carrying the drawing pad's
widget state, ForwardMsg deltas back): the machine's 2 cores serve the app alone, as a class
server does, instead of also rendering N browsers' charts (`bench/load_browser.py` does that,
with real Chromium pages on the same cores). Each drawing is a digit's strokes as the pad sends
them (point lists, `canvas.pad_value`), with a wobble of its own, so no two drawings are alike
and no session can be served another's cached result.

Latency: from sending the drawing to receiving every model's prediction (the metric elements),
on this side of the socket. Three ways of drawing:
- together: every session sends its drawing at the same moment, a few rounds (the worst case);
- class:    each session draws, looks for 2 to 8 s (uniform), draws again, for --seconds;
- live:     each session draws continuously for --seconds, as the pad does: every stroke takes
            0.6 to 1 s, the strokes so far are sent every 200 ms while the pen is down and at
            once at pen-up; after the pen-up answer the learner looks 0.3 to 1 s and draws the
            next digit. The page tells which value each run answers (the pad's `seq`); a value
            overtaken by a newer one before its turn is never computed (the server drops it),
            so "answered" counts the values that got their own answer. p50/p95 cover every
            answer, pen-up p95 the pen-up values alone (each must be answered).
Checked for every pen-up prediction: the 28 x 28 digit the page shows is exactly this
session's own drawing preprocessed here (`canvas.to_mnist`), every model's digit and "NN% sure"
equal the models' own answer computed here, and no error or exception element appears.
Targets (issues 7 and 19): 20 sessions on 2 cores, p95 <= 500 ms, no errors, also drawing live.

    python -m bench.load [--sessions 5 10 20] [--modes together class live] [--rounds 3] [--seconds 40]
    python -m bench.load --attack 0 1 8 --sessions 5 --seconds 30   # honest learners under a flood (bench/attack.py)
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
from rnn_demo import attribution, canvas, checkpoints, registry  # noqa: E402

TIMEOUT_S = 120  # any single wait
THINK_S = (2.0, 8.0)
LIVE_S = 0.2            # the pad's update interval while the pen is down (rnn_demo/assets/draw_pad/pad.js)
STROKE_S = (0.6, 1.0)   # live: how long a digit takes to draw
LOOK_S = (0.3, 1.0)     # live: looking at the answer before the next digit


def pad_strokes(strokes):
    """Strokes as the pad sends them (points to 0.1 px), so the digit expected here is the server's."""
    return canvas.parse_strokes(canvas.pad_value(*strokes)).strokes


def plotly_z(spec: str) -> np.ndarray | None:
    """The 28 x 28 digit of a chart that shows one (the digit the models see), else None."""
    z = json.loads(spec)["data"][0].get("z")
    if isinstance(z, dict):  # plotly's binary array encoding
        z = np.frombuffer(base64.b64decode(z["bdata"]), z["dtype"])
    z = np.asarray(z) if z is not None else None
    return z.reshape(28, 28) if z is not None and z.size == 28 * 28 else None


class Session:
    """One learner's tab: a websocket to the server, its own Streamlit session."""

    def __init__(self, index: int, url: str, models: dict):
        self.index, self.url, self.models = index, url, models
        self.rng = random.Random(index)
        self.latencies: list[float] = []  # ms, drawing sent -> every prediction received
        self.runs: list[float] = []       # ms, drawing sent -> the page's script finished
        self.pen_up: list[float] = []     # live: ms, pen-up value sent -> its answer
        self.sent = self.answered = 0     # live: values sent, values that got their own answer
        self.seq = 0
        self.errors: list[str] = []
        self.ws = None
        self.canvas_id = self.page_hash = None
        self.replica = ""  # behind nginx (--access-log): which replica served this session

    async def open(self) -> None:
        # A cookie of its own, as a browser has: nginx's sticky routing (deploy/) hashes on it.
        self.ws = await websockets.connect(f"{self.url}/_stcore/stream", subprotocols=["streamlit"],
                                           max_size=None, open_timeout=TIMEOUT_S,
                                           additional_headers={"Cookie": f"rnn_route=learner-{self.index}"})
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

    async def send(self, strokes, down: bool = False) -> float:
        """The pad's value for these strokes, as the browser sends it; returns when it was sent."""
        self.seq += 1
        msg = BackMsg()
        msg.rerun_script.page_name = "Draw"
        msg.rerun_script.page_script_hash = self.page_hash
        state = msg.rerun_script.widget_states.widgets.add()
        state.id = self.canvas_id
        state.json_value = json.dumps({"drawing": canvas.pad_value(*strokes, down=down, seq=self.seq)},
                                      separators=(",", ":"))
        await self.ws.send(msg.SerializeToString())
        return time.perf_counter()

    async def draw(self) -> None:
        """Draw a digit, wait for the whole page, check what came back."""
        digit = self.rng.choice(sorted(DIGITS))
        strokes = pad_strokes(wobble(DIGITS[digit], self.rng))
        marks: list[float] = []
        sent = await self.send(strokes)
        reply = await self._until_finished(marks)
        self.runs.append(1000 * (time.perf_counter() - sent))
        self.check(canvas.render(*strokes), digit, reply)
        if marks and not self.errors:
            self.latencies.append(1000 * (marks[-1] - sent))

    async def draw_live(self, end: float) -> None:
        """Draw digits back to back until `end`, as the pad sends them while the pen moves."""
        runs: dict[int, list] = {}   # seq -> [elements of its run, time of its last metric, finished?]
        current = [None]
        done = asyncio.Event()

        async def read():  # every message of every run, matched to the value it answers
            while True:
                m = ForwardMsg()
                m.ParseFromString(await asyncio.wait_for(self.ws.recv(), TIMEOUT_S))
                kind = m.WhichOneof("type")
                if kind == "new_session":
                    current[0] = None
                elif kind == "delta" and m.delta.WhichOneof("type") == "new_element":
                    e = m.delta.new_element
                    if e.WhichOneof("type") == "bidi_component":
                        data = e.bidi_component.json or e.bidi_component.mixed.json or "{}"
                        current[0] = json.loads(data).get("seq")
                        runs[current[0]] = [[], None, False]
                    elif current[0] in runs:
                        runs[current[0]][0].append(e)
                        if e.WhichOneof("type") == "metric":
                            runs[current[0]][1] = time.perf_counter()
                elif kind == "script_finished" and current[0] in runs:
                    runs[current[0]][2] = m.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY
                    done.set()

        reader = asyncio.create_task(read())
        try:
            while time.perf_counter() < end and not self.errors:
                digit = self.rng.choice(sorted(DIGITS))
                strokes = pad_strokes(wobble(DIGITS[digit], self.rng))
                total = sum(len(s) for s in strokes)
                duration = self.rng.uniform(*STROKE_S)
                sent: dict[int, float] = {}
                t0 = time.perf_counter()
                while (t := time.perf_counter() - t0) < duration:  # the pen is down
                    await asyncio.sleep(LIVE_S)
                    n = max(1, int(total * min(1.0, (t + LIVE_S) / duration)))
                    so_far, left = [], n
                    for s in strokes:
                        so_far.append(s[:left])
                        left -= len(so_far[-1])
                        if left <= 0:
                            break
                    at = await self.send(so_far, down=True)
                    sent[self.seq] = at
                at = await self.send(strokes, down=False)
                final = self.seq
                sent[final] = at
                deadline = time.perf_counter() + TIMEOUT_S
                while not (final in runs and runs[final][2]):
                    if reader.done() or time.perf_counter() > deadline:
                        raise RuntimeError("no answer to the pen-up value")
                    done.clear()
                    await asyncio.wait_for(done.wait(), TIMEOUT_S)
                self.check(canvas.render(*strokes), digit, [_as_delta(e) for e in runs[final][0]])
                for seq, at in sent.items():
                    self.sent += 1
                    if seq in runs and runs[seq][1] is not None:
                        self.answered += 1
                        self.latencies.append(1000 * (runs[seq][1] - at))
                self.pen_up.append(1000 * (runs[final][1] - sent[final]))
                runs.clear()
                await asyncio.sleep(self.rng.uniform(*LOOK_S))
        finally:
            reader.cancel()

    def check(self, image, digit: str, reply: list[ForwardMsg]) -> None:
        elements = [m.delta.new_element for m in reply if m.WhichOneof("type") == "delta"
                    and m.delta.WhichOneof("type") == "new_element"]
        for e in elements:
            if e.WhichOneof("type") == "exception":
                self.errors.append(f"an exception element: {e.exception.message[:120]}")
        mine = canvas.to_mnist(image)
        seen = [z for e in elements if e.WhichOneof("type") == "plotly_chart"
                and (z := plotly_z(e.plotly_chart.spec)) is not None]
        if not seen or not np.array_equal(seen[0], mine):
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


def _as_delta(element) -> ForwardMsg:
    m = ForwardMsg()
    m.delta.new_element.CopyFrom(element)
    return m


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


async def live(sessions: list[Session], seconds: float) -> None:
    end = time.perf_counter() + seconds

    async def learner(s: Session):
        await asyncio.sleep(s.rng.uniform(0, STROKE_S[1]))  # they do not start in step
        await guarded(s, s.draw_live(end), "drawing live")

    await asyncio.gather(*(learner(s) for s in sessions))


async def read_replicas(sessions: list[Session], log: Path, timeout: float = 10) -> None:
    """Which replica served each (closed) session, from nginx's access log in deploy/'s format
    (`route=COOKIE upstream=ADDR`; a websocket is logged when it closes): answers never say."""
    end = time.perf_counter() + timeout
    while True:
        lines = [ln for ln in log.read_text().splitlines() if '"GET /_stcore/stream' in ln and " upstream=" in ln]
        for s in sessions:
            found = [ln.rsplit(" upstream=", 1)[1] for ln in lines if f" route=learner-{s.index} " in ln]
            s.replica = found[-1] if found else ""
        if all(s.replica for s in sessions) or time.perf_counter() > end:
            return
        await asyncio.sleep(0.2)


async def measure(url: str, n: int, mode: str, args, models, server_pid: int) -> dict:
    sessions = [Session(i, url, models) for i in range(n)]
    for s in sessions:  # opening is not what is measured
        await guarded(s, s.open(), "opening the Draw page")
    rss0 = rss_mb(server_pid)
    cpu0 = cpu_seconds([server_pid]), time.process_time(), time.perf_counter()
    if mode == "together":
        await together(sessions, args.rounds)
    elif mode == "live":
        await live(sessions, args.seconds)
    else:
        await classroom(sessions, args.seconds)
    cpu1 = cpu_seconds([server_pid]), time.process_time(), time.perf_counter()
    rss1 = rss_mb(server_pid)  # every session still open, each having drawn
    for s in sessions:
        await s.close()
    if getattr(args, "access_log", None):
        await read_replicas(sessions, Path(args.access_log))
    lat = sorted(x for s in sessions for x in s.latencies)
    replicas = collections.Counter(s.replica for s in sessions if s.replica)
    return {"lat": lat, "replicas": dict(sorted(replicas.items())), "runs": sorted(x for s in sessions for x in s.runs),
            "errors": [(s.index, e) for s in sessions for e in s.errors],
            "server_cpu": cpu1[0] - cpu0[0], "client_cpu": cpu1[1] - cpu0[1], "wall": cpu1[2] - cpu0[2],
            "rss": rss1, "rss_per_session": (rss1 - rss0) / n,
            "pen_up": sorted(x for s in sessions for x in s.pen_up),
            "sent": sum(s.sent for s in sessions), "answered": sum(s.answered for s in sessions)}


async def run(args) -> int:
    # the server gets an empty folder of its own for trained models: it shows the shipped ones
    models = {n: checkpoints.load(registry.SHIPPED_DIR / f"{n}.pt").model.eval() for n in registry.SHIPPED}
    with tempfile.TemporaryDirectory(prefix="rnn_load_") as tmp:
        # --url: an app already running (e.g. replicas behind nginx, deploy/); else our own server
        server = None if args.url else start_server(args.port, str(Path(tmp) / "user_models"),
                                                    Path(tmp) / "streamlit.log")
        url = args.url.replace("http", "ws", 1) if args.url else f"ws://127.0.0.1:{args.port}"
        pid = server.pid if server else -1  # the server's CPU is measured only when it is ours
        failed = 0
        try:
            warm = await measure(url, 1, "together", argparse.Namespace(rounds=2, access_log=None), models, pid)
            print(f"warm-up (1 session, loads the models): {warm['lat'][-1] if warm['lat'] else float('nan'):.0f} ms"
                  + (f", errors: {warm['errors']}" if warm["errors"] else ""))
            print(f"server {os.cpu_count()} cores; load average before: {os.getloadavg()[0]:.2f}")
            if args.attack:  # bench/attack.py: honest learners while N tabs flood the Draw page
                from bench import attack
                return await attack.run(args, url, models, pid)
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
                    if mode == "live":
                        print(f"      live: {r['answered']} of {r['sent']} values answered "
                              f"({r['sent'] / max(r['wall'], 1e-9):.0f} sent a second), "
                              f"pen-up answers p50 {pct(r['pen_up'], 50):.0f} ms, p95 {pct(r['pen_up'], 95):.0f} ms, "
                              f"max {max(r['pen_up'], default=float('nan')):.0f} ms ({len(r['pen_up'])} digits)",
                              flush=True)
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
    p.add_argument("--modes", nargs="+", default=["together", "class", "live"], choices=["together", "class", "live"])
    p.add_argument("--rounds", type=int, default=3, help="together: drawings per session, all at once")
    p.add_argument("--seconds", type=float, default=40, help="class, live: how long the class draws")
    p.add_argument("--port", type=int, default=8616)
    p.add_argument("--url", default=None, help="measure an app already running there (e.g. nginx in front of "
                                               "replicas, http://127.0.0.1:8080) instead of starting one")
    p.add_argument("--attack", type=int, nargs="+", default=None, metavar="N",
                   help="attacker mode (bench/attack.py): for each N, N tabs flood the Draw page while "
                        "--sessions' first number of learners draw; e.g. --attack 0 1 8 --seconds 30")
    p.add_argument("--settle", type=float, default=60, help="--attack: seconds after the attack before RSS is read")
    p.add_argument("--access-log", default=None, metavar="FILE",
                   help="with --url behind deploy/'s nginx: its access log, to count sessions per replica")
    return asyncio.run(run(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
