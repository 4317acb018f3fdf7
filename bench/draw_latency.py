"""Draw page latency in a real browser: pen-up -> the models' answer painted, and -> every figure painted.

Starts its own Streamlit server on 127.0.0.1:8618 and headless Chromium (both on this
machine's cores, as for a learner running the app on a laptop), opens the Draw page and draws
digits with real input events on the pad: mouse strokes in a desktop window (1400 x 1000) and
touch strokes (CDP Input.dispatchTouchEvent) in a phone viewport (390 x 844, 2x). Strokes
move at a hand's pace (--pace ms between moves), so the page's live answers run while the pen
is down, as they do for a learner.

Each try: Clear, then draw one digit; times from the pen lifted (the pointerup event, page
clock) to
- send:     the pad's value leaving on the websocket (the rerun request);
- answer msg: the first model's answer (a metric) of the run for that value, received;
- finished: that run's script_finished message received;
- answer:   the first animation frame, once every answer of that run has been received, at
            which every answer on the page is fresh (not marked stale by that run);
- figures:  the first animation frame at which every figure of that run is there and drawn.
The websocket trace is taken in the page (a wrapper around WebSocket) and decoded here with
Streamlit's own protobufs. The first drawing after the server starts loads the models and is
reported apart. Targets (issue 19): answer p50 <= 300 ms, figures p50 <= 700 ms.

    python -m bench.draw_latency [--tries 7] [--pace 25] [--only desktop phone]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench.load_browser import CHROMIUM, CHROMIUM_ARGS, pct, start_server, stop_server

TIMEOUT_MS = 60_000
FIGURES = 4  # on the Draw page after pen-up: the prediction after every row, the digit seen, the bars, the rows
MODELS = 4   # the shipped models: the server gets an empty folder for trained ones

# Strokes in canvas pixels (280 x 280); a 7, a 2 and a 0, one stroke each, interpolated below.
DIGITS = {"7": [(70, 50), (210, 50), (120, 245)],
          "2": [(80, 80), (110, 45), (160, 40), (200, 75), (195, 120), (80, 240), (215, 240)],
          "0": [(140, 40), (190, 60), (210, 140), (190, 220), (140, 245), (90, 220), (70, 140), (90, 60), (140, 40)]}

# Before the app's scripts: every websocket message sent and received, with its time (page clock);
# once a try is armed (WATCH), the pad's pen-up value is found in what is sent (its "seq"), the
# run answering it in what comes back (the pad's data echoes that seq), and that run's answers.
WIRE = """(() => {
  const Orig = window.WebSocket;
  window.__ws = {sent: [], received: [], on: false};
  const text = (d) => typeof d === 'string' ? d : new TextDecoder('latin1').decode(d);
  const send = Orig.prototype.send;
  Orig.prototype.send = function (d) {
    const t = window.__lat;
    if (window.__ws.on) {
      window.__ws.sent.push([performance.now(), d]);
      if (t && t.up !== null && t.seq === null) {
        const s = text(d), m = /"down":false,"seq":(\\d+)/.exec(s);
        if (m) t.seq = m[1];
      }
    }
    return send.call(this, d);
  };
  function Wrapped(...args) {
    const ws = new Orig(...args);
    ws.addEventListener('message', (e) => {
      if (!window.__ws.on) return;
      const now = performance.now(), t = window.__lat;
      window.__ws.received.push([now, e.data]);
      if (!t || t.seq === null) return;
      const s = text(e.data);
      if (s.includes('{"seq": ' + t.seq + '}')) t.run = true;
      else if (t.run && s.includes('% sure') && ++t.metrics === t.models) t.received = now;
    });
    return ws;
  }
  Wrapped.prototype = Orig.prototype;
  for (const k of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) Wrapped[k] = Orig[k];
  window.WebSocket = Wrapped;
})();"""

# Armed before each stroke. answer: the first animation frame, once every model's answer of the
# pen-up run has been received, at which the page shows every answer fresh (not marked stale by
# a newer run). figures: the first frame at which every figure is there, fresh and drawn (the
# row-by-row strip is re-sent by the pen-up run, the three others come only with it).
WATCH = """([figures, models]) => {
  window.__ws.sent = []; window.__ws.received = []; window.__ws.on = true;
  const t = window.__lat = {up: null, seq: null, run: false, metrics: 0, models, received: null,
                            answer: null, figures: null};
  document.addEventListener('pointerup', () => { t.up = performance.now(); }, {capture: true, once: true});
  const containers = (sel) => [...document.querySelectorAll('[data-testid="stElementContainer"]')]
    .filter(c => c.querySelector(sel));
  const frame = () => {
    if (t.up !== null && t.received !== null && t.answer === null) {
      const metrics = containers('[data-testid="stMetric"]');
      if (metrics.length >= models && metrics.every(c => c.dataset.stale === 'false' &&
          /^\\d$/.test(c.querySelector('[data-testid="stMetricValue"]').innerText.trim()))) t.answer = performance.now();
    }
    if (t.up !== null && t.figures === null) {
      const plots = containers('.js-plotly-plot');
      if (plots.length >= figures && plots.every(c => c.dataset.stale === 'false' &&
          c.querySelector('.js-plotly-plot')._fullLayout)) t.figures = performance.now();
    }
    if (t.answer === null || t.figures === null) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}"""

STATE = """() => ({lat: window.__lat,
  metrics: [...document.querySelectorAll('[data-testid="stElementContainer"]')]
    .filter(c => c.querySelector('[data-testid="stMetric"]')).map(c => c.dataset.stale),
  plots: [...document.querySelectorAll('[data-testid="stElementContainer"]')]
    .filter(c => c.querySelector('.js-plotly-plot')).map(c => c.dataset.stale + (c.querySelector('.js-plotly-plot')._fullLayout ? '' : ' (not drawn)'))})"""

TRACE = """() => {
  const b64 = (d) => { const u = new Uint8Array(d); let s = ''; for (let i = 0; i < u.length; i += 8192)
    s += String.fromCharCode.apply(null, u.subarray(i, i + 8192)); return btoa(s); };
  window.__ws.on = false;
  return {up: window.__lat.up, answer: window.__lat.answer, figures: window.__lat.figures,
          sent: window.__ws.sent.map(([t, d]) => [t, b64(d)]),
          received: window.__ws.received.map(([t, d]) => [t, b64(d)])};
}"""


def stroke_points(points, steps: int = 10):
    out = [points[0]]
    for (xa, ya), (xb, yb) in zip(points, points[1:]):
        out += [(xa + (xb - xa) * k / steps, ya + (yb - ya) * k / steps) for k in range(1, steps + 1)]
    return out


def split(trace: dict) -> dict:
    """Times after pen-up (ms) from the page's websocket trace, decoded with Streamlit's protobufs."""
    import base64
    up = trace["up"]
    out = {"answer": trace["answer"] - up if trace["answer"] else None,
           "figures": trace["figures"] - up if trace["figures"] else None}
    send = None
    for t, data in trace["sent"]:
        msg = BackMsg()
        msg.ParseFromString(base64.b64decode(data))
        if t >= up and msg.WhichOneof("type") == "rerun_script":
            send = t
            break
    if send is None:
        return out
    out["send"] = send - up
    started = False
    for t, data in trace["received"]:
        if t < send:
            continue
        msg = ForwardMsg()
        msg.ParseFromString(base64.b64decode(data))
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            started = True
        elif started and kind == "delta" and msg.delta.new_element.WhichOneof("type") == "metric":
            out.setdefault("answer_msg", t - up)
        elif started and kind == "script_finished" and msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
            out["finished"] = t - up
            break
    return out


class Draw:
    """One tab on the Draw page, drawing with the mouse (desktop) or a finger (phone)."""

    def __init__(self, browser, url: str, phone: bool, pace_ms: float):
        self.phone, self.pace = phone, pace_ms / 1000
        if phone:
            self.context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                               is_mobile=True, has_touch=True)
        else:
            self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.context.add_init_script(WIRE)
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(f"{url}/Draw")
        self.page.get_by_text("The canvas is empty").wait_for()
        self.pad = self.page.locator("canvas.pad-canvas")
        self.pad.wait_for()
        self.cdp = self.context.new_cdp_session(self.page) if phone else None

    def idle(self) -> None:
        self.page.wait_for_function("""() => {
            const s = document.querySelector('[data-testid="stStatusWidget"]');
            return !s || !s.innerText.toLowerCase().includes('running');
        }""")

    def clear(self) -> None:
        button = self.page.locator("button.pad-clear")
        button.scroll_into_view_if_needed()
        if self.phone:
            button.tap()
        else:
            button.click()
        self.page.get_by_text("The canvas is empty").wait_for()
        self.page.locator('[data-testid="stMetric"]').first.wait_for(state="detached")
        self.idle()

    def stroke(self, points) -> None:
        self.pad.scroll_into_view_if_needed()
        box = self.pad.bounding_box()
        scale = box["width"] / 280
        xy = [(box["x"] + x * scale, box["y"] + y * scale) for x, y in stroke_points(points)]
        if self.phone:
            touch = lambda kind, pts: self.cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": pts})
            touch("touchStart", [{"x": xy[0][0], "y": xy[0][1], "id": 1}])
            for x, y in xy[1:]:
                time.sleep(self.pace)
                touch("touchMove", [{"x": x, "y": y, "id": 1}])
            touch("touchEnd", [])
        else:
            self.page.mouse.move(*xy[0])
            self.page.mouse.down()
            for x, y in xy[1:]:
                time.sleep(self.pace)
                self.page.mouse.move(x, y)
            self.page.mouse.up()

    def one(self, digit: str) -> dict:
        self.page.evaluate(WATCH, [FIGURES, MODELS])
        self.stroke(DIGITS[digit])
        try:
            self.page.wait_for_function("() => window.__lat.answer !== null && window.__lat.figures !== null",
                                        polling=50)
        except Exception as exc:  # a try that never paints counts as an error, and the run goes on
            state = self.page.evaluate(STATE)
            self.errors.append(f"drew a {digit}: {type(exc).__name__}; page state {state}")
            self.idle()
            return {}
        self.idle()
        got = split(self.page.evaluate(TRACE))
        values = [v.strip() for v in self.page.locator('[data-testid="stMetricValue"]').all_inner_texts()]
        if sum(v == digit for v in values) * 2 < len(values) or not values:
            self.errors.append(f"drew a {digit}, the models said {values}")
        return got


def report(name: str, rows: list[dict]) -> None:
    def cell(key, q):
        vals = sorted(r[key] for r in rows if r.get(key) is not None)
        return f"{pct(vals, q):6.0f}" if vals else f"{'-':>6}"
    print(f"{name:>8} {len(rows):>5} " + " ".join(f"{cell(k, 50)} {cell(k, 95)}"
                                                  for k in ("send", "answer_msg", "finished", "answer", "figures")),
          flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.draw_latency", description=__doc__.splitlines()[0])
    p.add_argument("--tries", type=int, default=7)
    p.add_argument("--pace", type=float, default=25, help="ms between the pen's moves (a stroke of ~0.5-0.7 s)")
    p.add_argument("--only", nargs="+", default=["desktop", "phone"], choices=["desktop", "phone"])
    p.add_argument("--port", type=int, default=8618)
    args = p.parse_args(argv)
    from playwright.sync_api import sync_playwright

    failed = []
    with tempfile.TemporaryDirectory(prefix="rnn_latency_") as tmp:
        server = start_server(args.port, str(Path(tmp) / "user_models"), Path(tmp) / "streamlit.log")
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    results = {}
                    for kind in args.only:
                        tab = Draw(browser, f"http://127.0.0.1:{args.port}", kind == "phone", args.pace)
                        if not results:  # the first drawing after the server starts loads the models
                            cold = tab.one("7")
                            print(f"first drawing after start (loads the models): answer {cold.get('answer') or 0:.0f} ms, "
                                  f"figures {cold.get('figures') or 0:.0f} ms")
                            tab.clear()
                        rows = []
                        for i in range(args.tries):
                            rows.append(tab.one("720"[i % 3]))
                            tab.clear()
                        results[kind] = rows
                        failed += tab.errors
                        tab.context.close()
                    print(f"{os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
                          f"strokes at {args.pace:.0f} ms per move; ms after pen-up, p50 and p95:")
                    print(f"{'':>8} {'tries':>5} " + " ".join(f"{h:>13}" for h in
                                                           ("send", "answer msg", "finished", "ANSWER", "FIGURES")))
                    for kind, rows in results.items():
                        report(kind, rows)
                finally:
                    browser.close()
        finally:
            stop_server(server)
    print("send: the pad's value on the websocket. answer msg: the first model's answer received. finished: "
          "the run's script_finished received. ANSWER: every model's answer painted (target p50 <= 300 ms). "
          "FIGURES: every figure painted (target p50 <= 700 ms).")
    for e in failed[:10]:
        print("error:", e)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
