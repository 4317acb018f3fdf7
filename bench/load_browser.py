"""Load: N learners draw a digit at the same moment on the Draw page; how long until each sees its prediction?

Starts its own Streamlit server on 127.0.0.1:8615 and one headless Chromium with N browser
contexts (each context is its own Streamlit session), for N = 5, 10, 20. In each round every
session opens the Draw page, all draw together (a 1, a 7 or a 0, with a little wobble of their
own so no two drawings are the same and no session is served another's cached result), and
the time from mouse-up to the prediction being on screen is measured with the page's own
clock (a mouseup listener and a MutationObserver on the metrics). It then checks isolation:
each session must be shown its own digit, and after "Use this drawing on the other pages" the
Hidden states page with "My drawing" must give the same answer as that session's Draw page.
Prints p50/p95 latency and error counts per N, and the CPU seconds the server and the browser
used in each round (both share the machine's cores). Target (issue 7): 20 sessions on 2
cores, p95 <= 500 ms, no errors.

    python -m bench.load_browser [--sessions 5 10 20] [--port 8615]

It stops by itself: every wait is bounded, and the server and the browser are stopped at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TAG = f"--rnn-demo-load-bench={os.getpid()}"  # marks our browser process, to sum its CPU time
TIMEOUT_MS = 180_000  # any single wait in a round
ROUND_S = 600         # a whole round
OPENING = 4           # pages opened at the same time before a round

# Strokes in canvas pixels (280 x 280), as in tests/browser/test_draw.py.
DIGITS = {"1": [[(140, 40), (140, 240)]],
          "7": [[(70, 50), (210, 50), (120, 245)]],
          "0": [[(140, 40), (190, 60), (210, 140), (190, 220), (140, 245), (90, 220), (70, 140), (90, 60), (140, 40)]]}

# Runs in the page before drawing: the time of the next pen-up (pointerup), and of the first moment after
# it that every model's metric shows a digit.
WATCH = """() => {
  window.__load = {up: null, shown: null};
  document.addEventListener('pointerup', () => { window.__load.up = performance.now(); }, {capture: true, once: true});
  const check = () => {
    if (window.__load.up === null || window.__load.shown !== null) return;
    const values = [...document.querySelectorAll('[data-testid="stMetricValue"]')];
    if (values.length && values.every(v => /^\\d$/.test(v.innerText.trim()))) {
      window.__load.shown = performance.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


# Installed before the app's scripts: timestamps of every websocket message sent and received,
# to split a latency into the browser's part before it asks for a rerun, the wait for the
# server's first answer, and the rest (the server's later messages and the browser drawing them).
WIRE = """(() => {
  const Orig = window.WebSocket;
  window.__ws = {sent: [], received: []};
  const send = Orig.prototype.send;
  Orig.prototype.send = function (d) { window.__ws.sent.push(performance.now()); return send.call(this, d); };
  function Wrapped(...args) {
    const ws = new Orig(...args);
    ws.addEventListener('message', () => window.__ws.received.push(performance.now()));
    return ws;
  }
  Wrapped.prototype = Orig.prototype;
  for (const k of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) Wrapped[k] = Orig[k];
  window.WebSocket = Wrapped;
})();"""

SPLIT = """() => {
  const up = window.__load.up, shown = window.__load.shown;
  const sent = window.__ws.sent.find(t => t >= up);
  const back = sent === undefined ? undefined : window.__ws.received.find(t => t >= sent);
  return [up, shown, sent ?? null, back ?? null];
}"""


def cpu_seconds(pids) -> float:
    """utime + stime of the given processes, in seconds (0 for those gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / tick


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB (nan when it is not ours to read)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def browser_pids() -> list[int]:
    """Our Chromium: the process started with TAG and all its descendants."""
    parents: dict[int, int] = {}
    roots = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            parents[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if TAG.encode() in (d / "cmdline").read_bytes():
                roots.append(int(d.name))
        except (OSError, IndexError, ValueError):
            continue
    found = set(roots)
    changed = True
    while changed:
        new = {p for p, pp in parents.items() if pp in found and p not in found}
        found |= new
        changed = bool(new)
    return sorted(found)


def start_server(port: int, user_dir: str, log: Path) -> subprocess.Popen:
    env = dict(os.environ, RNN_DEMO_USER_MODELS=user_dir)
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.address", "127.0.0.1", "--server.port", str(port),
                             "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env,
                            stdout=open(log, "w"), stderr=subprocess.STDOUT)
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited; see {log}")
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the server did not start within 90 s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def wobble(strokes, rng: random.Random, steps: int = 12):
    """The strokes, interpolated like a moving hand, each point moved a few pixels: every
    session's drawing differs a little, as learners' do."""
    out = []
    dx, dy, s = rng.uniform(-15, 15), rng.uniform(-10, 10), rng.uniform(0.85, 1.0)
    for points in strokes:
        pts = [(140 + (x - 140) * s + dx, 140 + (y - 140) * s + dy) for x, y in points]
        line = [pts[0]]
        for (xa, ya), (xb, yb) in zip(pts, pts[1:]):
            line += [(xa + (xb - xa) * k / steps + rng.uniform(-2, 2), ya + (yb - ya) * k / steps + rng.uniform(-2, 2))
                     for k in range(1, steps + 1)]
        out.append(line)
    return out


async def wait_idle(page) -> None:
    """Until Streamlit has finished running the script."""
    await page.wait_for_function("""() => {
        const s = document.querySelector('[data-testid="stStatusWidget"]');
        return !s || !s.innerText.toLowerCase().includes('running');
    }""", timeout=TIMEOUT_MS)


async def metrics(page) -> dict[str, str]:
    out = {}
    for m in await page.locator('[data-testid="stMetric"]').all():
        label = await m.locator('[data-testid="stMetricLabel"]').inner_text()
        out[label.split(" (")[0].strip()] = (await m.locator('[data-testid="stMetricValue"]').inner_text()).strip()
    return out


class Session:
    def __init__(self, index: int, digit: str, context):
        self.index, self.digit, self.context = index, digit, context
        self.page = None
        self.latency_ms: float | None = None
        self.errors: list[str] = []
        self.predictions: dict[str, str] = {}
        self.hidden_answer: str | None = None
        self.console: list[str] = []
        self.split: tuple[float, float, float] | None = None  # ms: up -> request, -> first answer, -> shown
        self.wire_ms: float | None = None  # rerun request sent -> last metric received, at the network layer
        self.frames: list[tuple[float, bool, bool]] = []  # (network time s, sent?, holds a metric?)
        self.armed = False

    async def open(self, url: str) -> None:
        self.page = await self.context.new_page()
        self.page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.console.append(str(e)))
        self.page.set_default_timeout(TIMEOUT_MS)
        # Straight to the Draw page; later the sidebar link to Hidden states keeps the same session.
        await self.page.goto(f"{url}/Draw", timeout=TIMEOUT_MS)
        await self.page.get_by_text("The canvas is empty").wait_for(timeout=TIMEOUT_MS)
        await self.page.locator("canvas.pad-canvas").wait_for(timeout=TIMEOUT_MS)
        # Websocket frames as the network layer sees them, timed there: not delayed by a renderer
        # that is busy drawing figures.
        cdp = await self.context.new_cdp_session(self.page)
        await cdp.send("Network.enable")
        cdp.on("Network.webSocketFrameSent", lambda e: self._frame(e, True))
        cdp.on("Network.webSocketFrameReceived", lambda e: self._frame(e, False))

    def _frame(self, event, sent: bool) -> None:
        if self.armed:
            payload = event["response"]["payloadData"]
            metric = not sent and b"sure" in base64.b64decode(payload + "==")  # a metric says "93% sure"
            self.frames.append((event["timestamp"], sent, metric))

    async def draw(self, start: asyncio.Event) -> None:
        page = self.page
        box = await page.locator("canvas.pad-canvas").bounding_box()
        strokes = wobble(DIGITS[self.digit], random.Random(self.index))
        await page.evaluate(WATCH)
        await start.wait()
        self.armed = True
        for line in strokes:
            await page.mouse.move(box["x"] + line[0][0], box["y"] + line[0][1])
            await page.mouse.down()
            for x, y in line[1:]:
                await page.mouse.move(box["x"] + x, box["y"] + y)
            await page.mouse.up()
        await page.wait_for_function("() => window.__load.shown !== null", timeout=TIMEOUT_MS, polling=50)
        up, shown, sent, back = await page.evaluate(SPLIT)
        self.latency_ms = shown - up
        if sent is not None and back is not None:
            self.split = (sent - up, back - sent, shown - back)
        await wait_idle(page)
        self.predictions = await metrics(page)
        sent = next((t for t, out, _ in self.frames if out), None)
        got = [t for t, out, metric in self.frames if metric and sent is not None and t >= sent]
        if sent is not None and len(got) >= len(self.predictions) > 0:
            self.wire_ms = 1000 * (got[len(self.predictions) - 1] - sent)
        right = sum(v == self.digit for v in self.predictions.values())
        if right * 2 < len(self.predictions):
            self.errors.append(f"drew a {self.digit}, was shown {self.predictions}")

    async def look_inside(self) -> None:
        """Send the drawing to the other pages, open Hidden states, pick My drawing: the answer
        must be this session's own (the rnn's answer on the Draw page)."""
        page = self.page
        await page.get_by_role("button", name="Use this drawing on the other pages").click()
        await page.get_by_text("Your digit is stored").wait_for(timeout=TIMEOUT_MS)
        await page.locator('[data-testid="stSidebarNav"] a', has_text="Hidden states").click()
        await page.get_by_text("Hidden states: watch the network read a digit").wait_for(timeout=TIMEOUT_MS)
        choice = page.locator('[data-testid="stRadio"] label', has_text="My drawing")
        await choice.wait_for(timeout=TIMEOUT_MS)
        await wait_idle(page)
        await choice.click()
        answer = page.get_by_text(re.compile(r"Reading your drawing"))
        await answer.wait_for(timeout=TIMEOUT_MS)
        text = await answer.inner_text()
        found = re.search(r"Final answer: (\d)", text)
        self.hidden_answer = found.group(1) if found else None
        own = self.predictions.get("rnn")
        if self.hidden_answer != own:
            self.errors.append(f"Hidden states read {self.hidden_answer} from 'my drawing', "
                               f"but this session's rnn said {own} on the Draw page")

    async def check_page(self) -> None:
        if await self.page.locator('[data-testid="stException"]').count():
            self.errors.append("an exception is shown on the page")
        if await self.page.locator('[data-testid="stAlertContentError"]').count():
            self.errors.append("an error message is shown on the page")
        real = [c for c in self.console if "404" not in c]  # base-path probes of Streamlit's start-up
        if real:
            self.errors.append(f"console errors: {real[:2]}")


async def guarded(session: Session, coro, what: str) -> None:
    try:
        await coro
    except Exception as exc:  # a timeout or a lost page counts as that session's error
        session.errors.append(f"{what}: {type(exc).__name__}: {str(exc).splitlines()[0][:150]}")


async def one_round(browser, url: str, n: int, server_pid: int) -> dict:
    sessions = []
    for i in range(n):
        context = await browser.new_context(viewport={"width": 1400, "height": 1000})
        await context.add_init_script(WIRE)
        sessions.append(Session(i, "170"[i % 3], context))
    t = time.perf_counter()
    gate = asyncio.Semaphore(OPENING)  # opening is not what is measured: a few at a time

    async def open_one(s):
        async with gate:
            await s.open(url)

    await asyncio.gather(*(guarded(s, open_one(s), "opening the Draw page") for s in sessions))
    open_s = time.perf_counter() - t
    ready = [s for s in sessions if not s.errors]
    start = asyncio.Event()
    cpu0 = (cpu_seconds([server_pid]), cpu_seconds(browser_pids()), time.perf_counter())
    tasks = [asyncio.create_task(guarded(s, s.draw(start), "drawing")) for s in ready]
    await asyncio.sleep(0.5)  # every session armed, then all draw at once
    start.set()
    await asyncio.gather(*tasks)
    cpu1 = (cpu_seconds([server_pid]), cpu_seconds(browser_pids()), time.perf_counter())
    drawn = [s for s in ready if not s.errors]
    await asyncio.gather(*(guarded(s, s.look_inside(), "Hidden states with my drawing") for s in drawn))
    for s in sessions:
        await guarded(s, s.check_page(), "checking the page")
    for s in sessions:
        await s.context.close()
    lat = sorted(s.latency_ms for s in sessions if s.latency_ms is not None)
    return {"n": n, "open_s": open_s, "latencies": lat, "sessions": sessions,
            "server_cpu": cpu1[0] - cpu0[0], "browser_cpu": cpu1[1] - cpu0[1], "wall": cpu1[2] - cpu0[2]}


def pct(values, q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def run(sizes, port: int) -> int:
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory(prefix="rnn_load_") as tmp:
        server = start_server(port, str(Path(tmp) / "user_models"), Path(tmp) / "streamlit.log")
        url = f"http://127.0.0.1:{port}"
        failed = 0
        try:
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + [TAG])
                try:
                    warm = await asyncio.wait_for(one_round(browser, url, 1, server.pid), ROUND_S)  # load models once
                    print(f"warm-up (1 session, loads the models): {warm['latencies'][0] if warm['latencies'] else float('nan'):.0f} ms"
                          f"{'' if not warm['sessions'][0].errors else ', errors: ' + str(warm['sessions'][0].errors)}")
                    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
                    print(f"{'N':>3} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'errors':>7} "
                          f"{'server CPU s':>13} {'browser CPU s':>14} {'wall s':>7} {'open s':>7} {'load':>5}")
                    for n in sizes:
                        r = await asyncio.wait_for(one_round(browser, url, n, server.pid), ROUND_S)
                        lat = r["latencies"]
                        errors = [(s.index, s.digit, e) for s in r["sessions"] for e in s.errors]
                        failed += len(errors)
                        print(f"{n:>3} {pct(lat, 50):8.0f} {pct(lat, 95):8.0f} {max(lat, default=float('nan')):8.0f} "
                              f"{len({i for i, _, _ in errors}):>7} {r['server_cpu']:13.1f} {r['browser_cpu']:14.1f} "
                              f"{r['wall']:7.1f} {r['open_s']:7.1f} {os.getloadavg()[0]:5.2f}", flush=True)
                        splits = [s.split for s in r["sessions"] if s.split is not None]
                        if splits:
                            parts = [statistics.median(x[k] for x in splits) for k in range(3)]
                            wire = sorted(s.wire_ms for s in r["sessions"] if s.wire_ms is not None)
                            print(f"      server side (request sent -> every model's prediction received, at the "
                                  f"network layer): p50 {pct(wire, 50):.0f} ms, p95 {pct(wire, 95):.0f} ms")
                            print(f"      median split: {parts[0]:.0f} ms in the browser before the rerun request, "
                                  f"{parts[1]:.0f} ms to the server's first answer, {parts[2]:.0f} ms more until "
                                  "the prediction is on screen")
                        for i, digit, e in errors[:10]:
                            print(f"      session {i} (drew a {digit}): {e}")
                finally:
                    await browser.close()
        finally:
            stop_server(server)
    print("errors: sessions with a failure (timeout, wrong digit, another session's drawing, a message "
          "or exception on the page). CPU s: CPU seconds used between the first mouse-down and the last "
          "prediction, by the Streamlit server and by Chromium (all its processes).")
    return 1 if failed else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.load_browser", description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, nargs="+", default=[5, 10, 20])
    p.add_argument("--port", type=int, default=8615)
    args = p.parse_args(argv)
    return asyncio.run(run(args.sessions, args.port))


if __name__ == "__main__":
    sys.exit(main())
