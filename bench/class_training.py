"""A class trains together: N learners press Start on the Train page's Quick start at the same moment.

Starts its own Streamlit server on 127.0.0.1 (with its own worker pool, as `streamlit run app.py`
does: RNN_DEMO_WORKERS processes, one torch thread each) and an empty shared folder. Every learner
is a websocket session speaking Streamlit's protocol (as bench/page_load.py does), with a browser
cookie of its own. First the serial baseline: one learner's run alone. Then the class: N learners
press Start at once, and D other learners draw on the Draw page (bench/load.py's class mode) until
the last run has finished. Printed: how long each learner waited to see a place in line, the
makespan (the first Start to the last run saved), p50/p95 wait before a run starts, time per run,
runs lost (not saved), the Draw page's answer p50/p95 meanwhile, and the makespan against the
serial baseline (one run alone x N) and against the best the cores allow (that / cores used).

Targets (issue 26), 2 cores: 0 runs lost; a place in line within 2 s; Draw p95 <= 500 ms;
makespan within 1.15x of (serial / cores used).

    python -m bench.class_training [--learners 30] [--drawers 20] [--workers N] [--iterations 5000]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import streamlit.logger
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench.load_browser import pct, start_server, stop_server

streamlit.logger.set_log_level("error")
from bench import load  # noqa: E402
from rnn_demo import checkpoints, ui  # noqa: E402

TIMEOUT_S = 180


class Learner:
    """One learner's Train page: open it, press Start, keep reading what the page sends."""

    def __init__(self, index: int, url: str):
        self.index, self.url = index, url
        self.widgets: dict[str, str] = {}
        self.values: dict = {}  # widget values set so far, sent with every rerun as a browser does
        self.progress_at: float | None = None
        self.page_hash = ""
        self.place_s: float | None = None  # Start pressed -> the page showed the run's place or progress
        self.errors: list[str] = []
        self.ws = None
        self.reader: asyncio.Task | None = None

    async def _rerun(self, widgets: dict | None = None) -> list:
        msg = BackMsg()
        msg.rerun_script.page_name = "Train"
        msg.rerun_script.page_script_hash = self.page_hash
        for key, value in {**self.values, **(widgets or {})}.items():
            state = msg.rerun_script.widget_states.widgets.add()
            state.id = self.widgets[key]
            if value is True:  # a button press
                state.trigger_value = True
            elif isinstance(value, str):  # a text box
                state.string_value = value
            else:  # a number box
                state.double_value = value
        await self.ws.send(msg.SerializeToString())
        elements = []
        while True:
            m = ForwardMsg()
            m.ParseFromString(await asyncio.wait_for(self.ws.recv(), TIMEOUT_S))
            kind = m.WhichOneof("type")
            if kind == "delta" and m.delta.WhichOneof("type") == "new_element":
                el = m.delta.new_element
                elements.append(el)
                body = getattr(el, el.WhichOneof("type"))
                if getattr(body, "id", ""):
                    self.widgets[body.id.rsplit("-", 1)[-1]] = body.id
                self.page_hash = m.metadata.active_script_hash or self.page_hash
                if el.WhichOneof("type") == "progress" and self.progress_at is None:
                    self.progress_at = time.perf_counter()  # the page streams: seen before the run ends
                if el.WhichOneof("type") == "exception":
                    self.errors.append(el.exception.message[:150])
                if el.WhichOneof("type") == "alert" and el.alert.format == 1:
                    self.errors.append(el.alert.body[:150])
            if kind == "script_finished" and m.script_finished != ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
                return elements

    async def open(self) -> None:
        self.ws = await websockets.connect(f"{self.url}/_stcore/stream", subprotocols=["streamlit"], max_size=None,
                                           open_timeout=TIMEOUT_S, close_timeout=2,
                                           additional_headers={"Cookie": f"rnn_route=trainer-{self.index}"})
        await self._rerun()

    async def start(self, name: str, iterations: int) -> None:
        self.values.update(train_name=name, train_iterations=iterations)
        await self._rerun()
        sent, self.progress_at = time.perf_counter(), None
        elements = await self._rerun({"train_start": True})
        if any(e.WhichOneof("type") == "progress" for e in elements):
            self.place_s = self.progress_at - sent
        elif not self.errors:
            self.errors.append("no place in line shown after Start")
        self.reader = asyncio.create_task(self._drain())  # the live panel's updates, as a tab receives them

    async def _drain(self) -> None:
        try:
            while True:
                await self.ws.recv()
        except Exception:
            return

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
        await self.ws.close()


class Drawer(load.Session):
    """A learner on the Draw page (bench/load.py's), who also sees the class's new models in the
    lists: every answer is checked against the shipped models and those, read here."""

    def __init__(self, index: int, url: str, models: dict, user_dir: Path):
        super().__init__(index, url, dict(models))
        self.shipped, self.user_dir, self.trained = dict(models), user_dir, {}

    def check(self, image, digit, reply) -> None:
        shown = {m.delta.new_element.metric.label.split(" (")[0] for m in reply if m.WhichOneof("type") == "delta"
                 and m.delta.new_element.WhichOneof("type") == "metric"}
        for name in shown - set(self.shipped) - set(self.trained):  # a model saved since: read it here too
            path = self.user_dir / f"{name}.pt"
            if path.exists():
                self.trained[name] = checkpoints.load(path).model.eval()
        # expected: the shipped models, and those of the class's models saved when the page ran
        self.models = {**self.shipped, **{k: v for k, v in self.trained.items() if k in shown}}
        before = len(self.errors)
        super().check(image, digit, reply)
        # the class's models train for seconds on 800 digits: their answers are their own, but
        # most of them may be wrong, so the "most models read the drawn digit" check is left out
        self.errors[before:] = [e for e in self.errors[before:] if not e.startswith("drew a ")]


def records(shared: Path) -> list[dict]:
    out = []
    for p in (shared / "training_queue" / "runs").glob("*.json"):
        try:
            out.append(json.loads(p.read_text()))
        except (OSError, ValueError):
            pass
    return out


async def wait_finished(shared: Path, n: int, timeout: float) -> list[dict]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        recs = records(shared)
        if len(recs) >= n and all(r["status"] in ("done", "stopped", "diverged", "failed", "cancelled") for r in recs):
            return recs
        await asyncio.sleep(0.5)
    return records(shared)


async def session_set(url: str, n: int, first: int = 0) -> list[Learner]:
    learners = [Learner(first + i, url) for i in range(n)]
    await asyncio.gather(*(s.open() for s in learners))
    return learners


async def run(args) -> int:
    models = {n: checkpoints.load(ui.SHIPPED_DIR / f"{n}.pt").model.eval() for n in ui.SHIPPED}
    with tempfile.TemporaryDirectory(prefix="rnn_class_") as tmp:
        shared = Path(tmp)
        os.environ["RNN_DEMO_WORKERS"] = str(args.workers)
        os.environ.pop("RNN_DEMO_QUEUE", None)
        os.environ.pop("RNN_DEMO_DATA", None)  # the Quick start trains on the bundled sample
        server = start_server(args.port, str(shared / "user_models"), shared / "streamlit.log")
        url = f"ws://127.0.0.1:{args.port}"
        failed = 0
        try:
            threads = int(os.environ.get("RNN_DEMO_TRAIN_THREADS", "1") or 1)
            cores = min(args.workers * threads, os.cpu_count() or 1)
            print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; {args.workers} worker process(es) "
                  f"x {threads} torch thread(s); Quick start ({args.iterations:,} steps, RNN 128, batch 16, "
                  f"bundled sample)", flush=True)
            # the serial baseline: one run alone, the second of two (the first warms the worker up)
            for k in range(2):
                alone = (await session_set(url, 1, 1000 + k))[0]
                await alone.start(f"alone-{k}", args.iterations)
                recs = await wait_finished(shared, 1, TIMEOUT_S * 10)
                await alone.close()
                one = recs[0]
                for p in (shared / "training_queue" / "runs").glob("*"):
                    p.unlink()
            t1 = one["finished"] - one["started"]
            print(f"one run alone: {t1:.1f} s ({one['train_s']:.1f} s in training steps), {one['status']}", flush=True)
            # the class: N learners press Start at once while D others draw
            learners = await session_set(url, args.learners)
            drawers = [Drawer(100 + i, url, models, shared / "user_models") for i in range(args.drawers)]
            for s in drawers:
                await load.guarded(s, s.open(), "opening the Draw page")
            t0 = time.time()
            await asyncio.gather(*(s.start(f"learner-{s.index}", args.iterations) for s in learners))
            drawing = asyncio.create_task(_draw_until(drawers, shared, args.learners))
            recs = await wait_finished(shared, args.learners, TIMEOUT_S * 20)
            await drawing
            await asyncio.gather(*(s.close() for s in [*learners, *drawers]), return_exceptions=True)
            saved = [r for r in recs if r["status"] == "done" and r.get("saved")]
            lost = args.learners - len(saved)
            waits = sorted(r["started"] - r["submitted"] for r in recs if r.get("started"))
            per_run = sorted(r["finished"] - r["started"] for r in recs if r.get("started") and r.get("finished"))
            makespan = max((r.get("finished") or time.time()) for r in recs) - t0 if recs else float("nan")
            places = sorted(s.place_s for s in learners if s.place_s is not None)
            draws = sorted(x for s in drawers for x in s.latencies)
            errors = [e for s in learners for e in s.errors] + [e for s in drawers for e in s.errors]
            serial = args.learners * t1
            best = serial / cores
            failed = lost + len(errors)
            print(f"learners: {args.learners}; place in line shown after Start: p50 {pct(places, 50):.2f} s, "
                  f"max {max(places, default=float('nan')):.2f} s ({len(places)} of {args.learners})")
            print(f"makespan {makespan:.1f} s; serial baseline (one run alone x {args.learners}) {serial:.1f} s; "
                  f"best the {cores} core(s) used allow {best:.1f} s; makespan / best = {makespan / best:.2f}")
            print(f"wait before a run starts: p50 {pct(waits, 50):.1f} s, p95 {pct(waits, 95):.1f} s; time per run: "
                  f"p50 {pct(per_run, 50):.1f} s, p95 {pct(per_run, 95):.1f} s (alone {t1:.1f} s)")
            print(f"runs lost: {lost} (saved {len(saved)} of {args.learners})")
            print(f"Draw page meanwhile, {args.drawers} learners drawing every 2-8 s: {len(draws)} answers, "
                  f"p50 {pct(draws, 50):.0f} ms, p95 {pct(draws, 95):.0f} ms")
            for e in errors[:5]:
                print(f"  error: {e}")
        finally:
            stop_server(server)
    return 1 if failed else 0


async def _draw_until(drawers, shared: Path, n: int) -> None:
    """bench/load.py's class mode, round after round, until every run has finished."""
    if not drawers:
        return
    while True:
        await load.classroom(drawers, 10)
        recs = records(shared)
        if len(recs) >= n and all(r["status"] in ("done", "stopped", "diverged", "failed", "cancelled") for r in recs):
            return


def main(argv=None) -> int:
    from rnn_demo import worker
    p = argparse.ArgumentParser(prog="python -m bench.class_training", description=__doc__.splitlines()[0])
    p.add_argument("--learners", type=int, default=30)
    p.add_argument("--drawers", type=int, default=20)
    p.add_argument("--workers", type=int, default=worker.default_workers())
    p.add_argument("--iterations", type=int, default=5000, help="steps of each run (Quick start: 5,000)")
    p.add_argument("--port", type=int, default=8671)
    saved = os.environ.copy()  # run() sets the server's environment; a caller in the same process keeps its own
    try:
        return asyncio.run(run(p.parse_args(argv)))
    finally:
        os.environ.clear()
        os.environ.update(saved)


if __name__ == "__main__":
    sys.exit(main())
