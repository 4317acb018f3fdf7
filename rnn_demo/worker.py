"""Workers: the processes that take runs from the training queue (rnn_demo/queue.py) and train them.

    python -m rnn_demo.worker            # RNN_DEMO_USER_MODELS, RNN_DEMO_QUEUE as the app's

runs Huey's consumer with WORKERS processes (RNN_DEMO_WORKERS overrides), each training one run
at a time on TRAIN_THREADS torch threads (RNN_DEMO_TRAIN_THREADS). A worker on another machine is
the same command, pointed at the same Redis (RNN_DEMO_QUEUE) and the same shared folder.
`streamlit run app.py` starts one such pool beside the server by itself (`start_local_pool`),
unless RNN_DEMO_WORKERS=0 (then only workers started elsewhere train).

Defaults, measured on 2 cores (2-core AMD EPYC; bench/class_training.py): one worker process with
one torch thread per core but one, so that the server keeps a core for the learners' drawings.
"""
from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

from rnn_demo import checkpoints, i18n, jobs, store, threads
from rnn_demo.i18n import N_, _
from rnn_demo.model import ModelConfig
from rnn_demo.queue import BEAT_S, TrainQueue, _in, _release_reservation, _reservation_lock, read_json, \
    recipe_key, write_json
from rnn_demo.train import TrainConfig, train

WORKERS_ENV = "RNN_DEMO_WORKERS"
THREADS_ENV = "RNN_DEMO_TRAIN_THREADS"


def default_workers() -> int:
    return max(1, (os.cpu_count() or 1) - 1)


def workers_wanted() -> int:
    raw = os.environ.get(WORKERS_ENV, "").strip()
    return int(raw) if raw.isdigit() else default_workers()


def threads_wanted() -> int:
    raw = os.environ.get(THREADS_ENV, "").strip()
    return max(1, int(raw)) if raw.isdigit() else jobs.TRAIN_THREADS


def user_dir() -> Path:
    root = Path(__file__).resolve().parent.parent
    return Path(os.environ.get("RNN_DEMO_USER_MODELS", root / "user_models"))


_queue: TrainQueue | None = None


def current_queue() -> TrainQueue:
    """This process's queue, as the environment says (made once)."""
    global _queue
    if _queue is None:
        _queue = TrainQueue(user_dir())
    return _queue


# --- one run --------------------------------------------------------------------------------

def execute(q: TrainQueue, run_id: str, loader=jobs.load_data) -> None:
    """Train one queued run, unless it was cancelled or another worker took it. Never raises."""
    rec = q.read(run_id)
    if rec is None or rec["status"] != "queued" or not q.claim(run_id):
        return
    _Run(q, rec, loader).run()


class _Run:
    def __init__(self, q: TrainQueue, rec: dict, loader):
        self.q, self.rec, self.loader = q, rec, loader
        self.lock = threading.Lock()
        self.pending: list[str] = []
        self.stop = threading.Event()
        self.done = threading.Event()
        self.stop_reason = ""
        self.dead = False

    def _set(self, **kw) -> None:
        with self.lock:
            self.rec.update(kw)

    def _flush(self) -> None:
        """Append the new steps to the .steps file and rewrite the record (the heartbeat)."""
        with self.lock:
            lines, self.pending = self.pending, []
            self.rec["beat"] = time.time()
            rec = dict(self.rec)
        with contextlib.suppress(OSError):  # a full disk: the run goes on, the curves wait
            if lines:
                with open(self.q.path(rec["id"], "steps"), "a") as f:
                    f.write("".join(lines))
            if not self.q.path(rec["id"], "dead").exists():
                self.q.write(rec)
        if self.q.path(rec["id"], "stop").exists() and not self.stop.is_set():
            self.stop_reason = _("Stopped by you")
            self.stop.set()
        if self.q.path(rec["id"], "dead").exists():  # another replica gave this worker up for dead
            self.dead = True
            self.stop.set()

    def _beat(self) -> None:
        while not self.done.wait(BEAT_S):
            self._flush()

    def _on_step(self, step: int, m: dict) -> None:
        with self.lock:
            self.pending.append(f"{m['loss']:.6g} {m['grad_norm']:.6g} {m['batch_acc']:.6g}\n")
            self.rec.update(step=step, total=m["total"], train_s=m["seconds"])
            if len(m["evals"]) != len(self.rec["evals"]):
                self.rec["evals"] = [dict(e) for e in m["evals"]]

    def run(self) -> None:
        i18n.set_language(self.rec.get("language"))
        self._set(status="loading", worker=store.me(), started=time.time())
        self._flush()
        beat = threading.Thread(target=self._beat, name=f"beat-{self.rec['id']}", daemon=True)
        beat.start()
        try:
            self._train()
        except Exception as exc:  # the page shows the message; the worker goes on to the next run
            self._set(status="failed", message=_("Training failed: {error}", error=exc))
        finally:
            self.done.set()
            beat.join()
            self._set(finished=time.time())
            self._flush()
            _release_reservation(self.q.user_dir, self.rec)

    def _adopt_name(self) -> Path:
        """The run's name, held by this worker now (it was reserved when the run was submitted)."""
        rec = self.rec
        lock = _reservation_lock(self.q.user_dir, rec)
        folder = lock.parent
        try:
            owner = lock.read_text()[:200].strip()
        except OSError:
            owner = None
        if owner is not None and (owner == rec["reserved_by"] or store._stale(lock)):
            tmp = folder / f".{os.getpid()}.{rec['id']}.lock"
            tmp.write_text(store.me())
            os.replace(tmp, lock)
        else:  # the submitting server died and its names were cleaned: reserve it again
            try:
                store.reserve(folder, rec["name"])
            except store.BadName as exc:
                raise jobs.JobError(str(exc)) from None
        self._set(reserved_by=store.me())
        return folder / f"{rec['name']}.pt"

    def _train(self) -> None:
        rec = self.rec
        path = self._adopt_name()
        model_cfg, cfg = ModelConfig(**rec["model_config"]), TrainConfig(**rec["train_config"])
        if rec.get("tensorboard"):
            cfg = replace(cfg, tensorboard=str(self.q.user_dir.parent / "runs" / rec["name"]))
        train_data, test_data = self.loader(rec["data"])
        total = cfg.total_steps(len(train_data))
        self._set(status="running", total=total, train_started=time.time())
        with threads.limit(threads_wanted()):
            result = train(model_cfg, cfg, train_data, test_data, on_step=self._on_step,
                           should_stop=self.stop.is_set)
        steps = len(result.history["batch_acc"])
        self._record_step_time(steps, result.history["seconds"])
        if self.dead:
            return
        message = result.message
        if result.status == "stopped":
            message = _("{reason} after {steps:,} of {total:,} steps.", reason=self.stop_reason or _("Stopped"),
                        steps=steps, total=total)
        if steps == 0:
            self._set(status=result.status if result.status != "done" else "failed",
                      message=_("{message} Nothing was saved.", message=message or _("No step was taken.")))
            return
        self._set(status="saving")
        dataset = {"train": train_data.source + (" (first 800)" if rec["data"] == "sample" else ""),
                   "test": test_data.source + (f" (last {len(test_data)}, held out)" if rec["data"] == "sample" else ""),
                   "n_train": len(train_data), "n_test": len(test_data), "kind": rec["data"]}
        args = (result.model, cfg, result.metrics, result.history, dataset)
        metrics = {k: v for k, v in result.metrics.items() if isinstance(v, (int, float, str)) or v is None}
        try:
            checkpoints.save(path, *args, overwrite=False)
        except OSError as exc:  # a full disk, a folder gone read-only: keep the model for a download
            kept = self._keep_unsaved(checkpoints.to_bytes_of(*args))
            note = _("The model could not be saved on the server ({error}). Download it now to keep it.",
                     error=exc.strerror or exc) if kept else _(
                "The model could not be saved on the server ({error}), nor kept for a download.",
                error=exc.strerror or exc)
            self._set(status=result.status, metrics=metrics, unsaved=kept,
                      message=(message + " " if message else "") + note)
            return
        self._set(status=result.status, message=message, metrics=metrics, saved=path.name)

    def _keep_unsaved(self, raw: bytes) -> bool:
        """The checkpoint where the page can fetch it: the queue's store (Redis: memory), else a file."""
        try:
            self.q.huey.put(f"unsaved:{self.rec['id']}", raw)
            return True
        except Exception:
            pass
        try:
            (self.q.dir / "unsaved" / f"{self.rec['id']}.pt").write_bytes(raw)
            return True
        except OSError:
            return False

    def _record_step_time(self, steps: int, seconds: float) -> None:
        """Remember this recipe's seconds per step (the ETA of runs like it): a running mean."""
        if steps < 5 or seconds <= 0:
            return
        with contextlib.suppress(OSError):
            path = self.q.dir / "step_times.json"
            times = read_json(path)
            times = times if isinstance(times, dict) else {}
            k, v = recipe_key(self.rec), seconds / steps
            times[k] = v if k not in times else 0.5 * times[k] + 0.5 * v
            write_json(path, times)


TrainQueue.executor = staticmethod(execute)


# --- the consumer ---------------------------------------------------------------------------

def _die_with_parent() -> None:
    """Linux: this process gets SIGKILL when the one that started it dies (no orphan trains on)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _watch_parent(parent: int) -> None:
    """Stop this consumer (its workers die with it) once the process that started it is gone."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)


def _worker_started() -> None:
    _die_with_parent()
    import torch
    torch.set_num_threads(threads_wanted())


def _announce(q: TrainQueue, slots: int, stop: threading.Event) -> None:
    """Tell the pages how many runs this machine trains at once (their ETA shares the line among
    them); meanwhile mark failed the runs of workers that died (whether or not a page looks) and
    keep the names of the runs in line reserved."""
    path = q.workers_dir / f"{store.me().replace(' ', '-')}.json"
    while True:
        with contextlib.suppress(OSError):
            write_json(path, {"worker": store.me(), "slots": slots, "beat": time.time()})
            q.keep_reservations()  # (reads every record: a dead worker's run is marked failed)
        if stop.wait(2.0):
            path.unlink(missing_ok=True)
            return


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rnn_demo.worker", description="Train the queued runs.")
    p.add_argument("--workers", type=int, default=None, help=f"processes (default ${WORKERS_ENV}, else cores - 1)")
    p.add_argument("--die-with-parent", action="store_true", help="exit when the process that started it exits")
    args = p.parse_args(argv)
    if args.die_with_parent:
        threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    workers = args.workers if args.workers is not None else workers_wanted()
    if workers < 1:
        print("rnn_demo.worker: 0 workers asked for; nothing to do", flush=True)
        return 0
    q = current_queue()
    where = q.url or f"SQLite in {q.dir}"
    print(f"rnn_demo.worker: {workers} worker process(es) x {threads_wanted()} torch thread(s), queue {where}, "
          f"models {q.user_dir} (set {WORKERS_ENV} / {THREADS_ENV} to change)", flush=True)
    q.huey.on_startup("rnn-demo")(_worker_started)
    consumer = q.huey.create_consumer(workers=workers, worker_type="process", periodic=False, initial_delay=0.1,
                                      backoff=1.15, max_delay=1.0, health_check_interval=2)
    stop = threading.Event()
    announcer = threading.Thread(target=_announce, args=(q, workers, stop), daemon=True)
    announcer.start()
    try:
        consumer.run()
    finally:
        stop.set()
        announcer.join(5)
    return 0


# --- the app's own pool ---------------------------------------------------------------------

_pool: subprocess.Popen | None = None
_pool_lock = threading.Lock()


def start_local_pool(serving: bool = True) -> subprocess.Popen | None:
    """Start `python -m rnn_demo.worker` beside this Streamlit server, once per server process;
    nothing when not serving (AppTest has no server runtime) or with RNN_DEMO_WORKERS=0. It
    stops when the server exits, however it exits."""
    global _pool
    if not serving or workers_wanted() == 0:
        return None
    with _pool_lock:
        if _pool is None or _pool.poll() is not None:
            _pool = subprocess.Popen([sys.executable, "-m", "rnn_demo.worker", "--die-with-parent"],
                                     cwd=Path(__file__).resolve().parent.parent)
            atexit.register(_stop_pool, _pool)
    return _pool


def _stop_pool(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)


if __name__ == "__main__":
    sys.exit(main())
