"""The class's training queue: every learner's run waits in line and is trained by workers.

The queue itself is Huey's (https://huey.readthedocs.io): its SQLite storage in the shared
folder by default (nothing to install or start), its Redis storage when RNN_DEMO_QUEUE is set
to a redis:// address, so that workers on other machines take runs too. Huey carries only a
run's id; what a run is and how far it got is a small JSON record in the shared folder (the
user models folder's parent, beside runs/), written whole and atomically, which every replica
and every worker reads:

    <shared>/training_queue/runs/<id>.json    the record: settings, owner, status, progress
    <shared>/training_queue/runs/<id>.steps   loss, gradient norm and batch accuracy, one line a step
    <shared>/training_queue/runs/<id>.claim   created once (O_EXCL): a worker took it, or it was cancelled
    <shared>/training_queue/runs/<id>.stop    the owner asked a running run to stop
    <shared>/training_queue/workers/*.json    each worker process's heartbeat (the ETA counts them)

Models are saved where the models live, so every worker needs the shared folder anyway.
A worker renews its run's record every second; a run whose worker is gone (the same host sees
its process gone; any host sees its record not renewed for STALE_S) is marked failed with one
sentence, and nothing of it is saved: checkpoints are written to a temporary file and renamed.
Control of a run (cancel, stop, the unsaved model) needs the owner's secret, which the page
keeps in the session, never in the address: a link to a run shows it to anyone, controls nothing.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import socket
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from rnn_demo import data, store
from rnn_demo.i18n import N_, _
from rnn_demo.jobs import DATASETS, JobError
from rnn_demo.model import ModelConfig
from rnn_demo.train import TrainConfig

QUEUE_ENV = "RNN_DEMO_QUEUE"
MAX_WAITING = 200
STALE_S = float(os.environ.get("RNN_DEMO_QUEUE_STALE_S", 20))  # a running record not renewed this long: dead
BEAT_S = 1.0  # how often a worker renews its run's record
ACTIVE = ("queued", "loading", "running", "saving")
FINISHED = ("done", "stopped", "diverged", "failed", "cancelled")
DEFAULT_STEP_S = 0.01  # seconds per step for a recipe never measured here (an RNN 128, batch 16, one core)


class QueueError(JobError):
    """A run that cannot be submitted or controlled; the message says why in one sentence."""


def shared_root(user_dir) -> Path:
    return Path(user_dir).resolve().parent


def write_json(path: Path, obj) -> None:
    """Replace `path` with obj as JSON in one rename: a reader sees the old file or the new one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def make_huey(folder: Path, url: str | None = None):
    """Huey on Redis (url redis://...) or on SQLite in `folder`."""
    from huey import RedisHuey, SqliteHuey
    if url:
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"{QUEUE_ENV} must be a redis:// address, not {url!r}")
        return RedisHuey("rnn-demo", url=url, results=False)
    folder.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("rnn-demo", filename=str(folder / "huey.db"), results=False, timeout=30)


def _hash(secret: str) -> str:
    return hashlib.sha256(("rnn-demo run " + (secret or "")).encode()).hexdigest()


class TrainQueue:
    """One shared folder's queue, as seen by a page or a worker (cheap to make, thread-safe)."""

    executor = None  # trains one run: worker.execute, set when rnn_demo.worker is imported (workers only)

    def __init__(self, user_dir, url: str | None = None, stale_s: float | None = None):
        self.user_dir = Path(user_dir)
        self.dir = shared_root(user_dir) / "training_queue"
        self.runs_dir = self.dir / "runs"
        self.workers_dir = self.dir / "workers"
        for d in (self.runs_dir, self.workers_dir, self.dir / "unsaved"):
            d.mkdir(parents=True, exist_ok=True)
        self.url = url if url is not None else os.environ.get(QUEUE_ENV) or None
        self.stale_s = STALE_S if stale_s is None else stale_s
        self.huey = make_huey(self.dir, self.url)

        def train_run(run_id: str) -> None:  # what a worker runs: rnn_demo/worker.py sets `executor`
            if TrainQueue.executor is None:
                raise RuntimeError("import rnn_demo.worker to train queued runs")
            TrainQueue.executor(self, run_id)

        self.task = self.huey.task(name="train_run")(train_run)

    # --- files ------------------------------------------------------------------------------
    def path(self, run_id: str, ext: str = "json") -> Path:
        if not isinstance(run_id, str) or not run_id or not all(c in "0123456789abcdef" for c in run_id):
            raise QueueError(_("There is no such run."))
        return self.runs_dir / f"{run_id}.{ext}"

    def read(self, run_id: str) -> dict | None:
        try:
            return read_json(self.path(run_id))
        except QueueError:
            return None

    def write(self, rec: dict) -> None:
        write_json(self.path(rec["id"]), rec)

    @contextlib.contextmanager
    def _locked(self):
        """Serialise submissions and cancellations between every replica sharing the folder."""
        with open(self.dir / ".lock", "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def claim(self, run_id: str) -> bool:
        """Take a run, once: a worker to train it, or its owner to cancel it before it starts."""
        try:
            os.close(os.open(self.path(run_id, "claim"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            return True
        except FileExistsError:
            return False

    def records(self) -> list[dict]:
        """Every run's record, oldest first, with dead workers' runs marked failed."""
        recs = [r for r in (read_json(p) for p in self.runs_dir.glob("*.json")) if isinstance(r, dict)]
        recs = [self._reap(r) for r in recs]
        return sorted(recs, key=lambda r: (r["submitted"], r["id"]))

    def _reap(self, rec: dict) -> dict:
        """A run whose worker is gone, marked failed (once, by whoever sees it first)."""
        if not self._dead(rec):
            return rec
        rec = {**rec, "status": "failed", "finished": time.time(), "message": _in(
            rec, N_("The worker training this run stopped (its process or machine went away) at step {step:,} of "
                    "{total:,}; nothing was saved. Start it again."), step=rec.get("step", 0), total=rec.get("total") or 0)}
        try:
            os.close(os.open(self.path(rec["id"], "dead"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return rec  # another reader is writing it
        with contextlib.suppress(OSError):
            self.write(rec)
            _release_reservation(self.user_dir, rec)
        return rec

    def _dead(self, rec: dict) -> bool:
        """Its worker's process is gone (this host), or its record has not been renewed for
        stale_s (any host); a queued run whose claim is that old was taken by a worker that died
        before it could say so."""
        if rec["status"] == "queued":
            try:
                return time.time() - self.path(rec["id"], "claim").stat().st_mtime > self.stale_s
            except OSError:
                return False
        if rec["status"] not in ACTIVE:
            return False
        worker = rec.get("worker") or ""
        if worker and worker.split(" ")[0] == socket.gethostname() and not store._alive(worker):
            return True
        return time.time() - rec.get("beat", rec["submitted"]) > self.stale_s

    # --- submitting and controlling ---------------------------------------------------------
    def submit(self, name: str, model_config: ModelConfig, train_config: TrainConfig, which: str, *,
               learner: str, secret: str, shipped=(), free_name: bool = False, folder: str = "",
               tensorboard: bool = False, language: str | None = None) -> dict:
        """Put a run in line; its name is reserved now (free_name: the first free one of name,
        name-2, ...). Raises QueueError when the learner has a run queued or training, when the
        queue is full, for a taken name or a data choice this machine lacks."""
        from rnn_demo import i18n
        if which not in DATASETS:
            raise QueueError(_("data must be one of {options}, not {value}", options=", ".join(DATASETS),
                               value=repr(which)))
        if which == "mnist" and not data.mnist_available():
            raise QueueError(_("The full MNIST is not on this machine. Set RNN_DEMO_DATA to a folder holding "
                               "MNIST/raw/*-ubyte and restart the app, or train on the bundled sample."))
        if folder not in ("", "memory"):
            raise QueueError(_("There is no such run."))
        try:  # a run whose history would not fit a checkpoint is refused now, not after it trained
            train_config.check_length(1000 - 200 if which == "sample" else 60_000)
        except ValueError as exc:
            raise QueueError(str(exc)) from None
        with self._locked():
            recs = self.records()
            theirs = [r for r in recs if r["learner"] == learner and r["status"] in ACTIVE]
            if theirs:
                raise QueueError(_("You already have a run in the queue or training ('{name}'): cancel it or wait "
                                   "for it to finish, then start another.", name=theirs[0]["name"]))
            waiting = sum(r["status"] == "queued" for r in recs)
            if waiting >= MAX_WAITING:
                raise QueueError(_("The queue is full ({n} runs waiting): try again in a few minutes.", n=waiting))
            target = self.user_dir / folder if folder else self.user_dir
            try:
                reservation = (store.reserve_free if free_name else store.reserve)(target, name, shipped)
            except store.BadName as exc:
                raise QueueError(str(exc)) from None
            now = time.time()
            rec = {"id": secrets.token_hex(8), "token": secrets.token_urlsafe(16), "owner_hash": _hash(secret),
                   "learner": learner, "name": reservation.name, "folder": folder, "reserved_by": store.me(),
                   "model_config": asdict(model_config), "train_config": asdict(train_config), "data": which,
                   "tensorboard": bool(tensorboard), "language": language or i18n.language(),
                   "status": "queued", "message": "", "submitted": now, "beat": now, "step": 0, "total": 0,
                   "train_s": 0.0, "evals": [], "metrics": {}, "saved": None, "unsaved": False, "worker": ""}
            task = self.task.s(rec["id"])
            rec["task"] = task.id
            self.write(rec)
            try:
                self.huey.enqueue(task)
            except Exception:
                self.path(rec["id"]).unlink(missing_ok=True)
                reservation.release()
                raise
        return rec

    def owns(self, rec: dict | None, secret: str | None) -> bool:
        return bool(rec and secret and secrets.compare_digest(rec["owner_hash"], _hash(secret)))

    def cancel(self, run_id: str, secret: str) -> dict:
        """Cancel a queued run (it never starts), or stop a running one after its current step
        (what it learned is saved, as Stop always did). Only with the owner's secret."""
        rec = self.read(run_id)
        if rec is None:
            raise QueueError(_("There is no such run."))
        if not self.owns(rec, secret):
            raise QueueError(_("Only the learner who started this run can cancel it."))
        with self._locked():
            rec = self.read(run_id)
            if rec["status"] == "queued" and self.claim(run_id):
                rec.update(status="cancelled", finished=time.time(),
                           message=_in(rec, N_("Cancelled before it started; nothing was trained.")))
                self.write(rec)
                with contextlib.suppress(Exception):
                    self.huey.revoke_by_id(rec.get("task", ""))
                _release_reservation(self.user_dir, rec)
                return rec
        if rec["status"] in ACTIVE:
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.path(run_id, "stop"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return rec

    def find(self, token: str | None) -> dict | None:
        """The run a tab's address points at (its token), whoever opens it."""
        if not token:
            return None
        token = str(token).encode("utf-8", "replace")[:200]  # whatever an address holds
        return next((r for r in self.records() if secrets.compare_digest(r["token"].encode(), token)), None)

    def get(self, run_id: str | None) -> dict | None:
        rec = self.read(run_id) if run_id else None
        return self._reap(rec) if rec else None

    def unsaved(self, run_id: str) -> bytes | None:
        """The checkpoint of a run that could not be saved (a full disk), kept for its download."""
        with contextlib.suppress(Exception):
            raw = self.huey.get(f"unsaved:{run_id}", peek=True)
            if raw:
                return raw
        with contextlib.suppress(OSError, QueueError):
            return (self.dir / "unsaved" / f"{self.path(run_id).stem}.pt").read_bytes()
        return None

    # --- what the pages show ----------------------------------------------------------------
    def curves(self, run_id: str) -> dict:
        """Loss, gradient norm and batch accuracy at every step so far (the worker's .steps file)."""
        loss, grad, acc = [], [], []
        with contextlib.suppress(OSError):
            for line in self.path(run_id, "steps").read_text().splitlines():
                parts = line.split()
                if len(parts) == 3:  # a line being written is skipped until it is whole
                    try:
                        a, b, c = map(float, parts)
                    except ValueError:
                        continue
                    loss.append(a)
                    grad.append(b)
                    acc.append(c)
        return {"loss": loss, "grad_norm": grad, "batch_acc": acc}

    def workers(self) -> int:
        """Training slots of the workers alive now (each worker process writes its heartbeat)."""
        now, slots = time.time(), 0
        for p in self.workers_dir.glob("*.json"):
            w = read_json(p)
            if isinstance(w, dict) and now - w.get("beat", 0) < self.stale_s:
                slots += int(w.get("slots", 1))
        return slots

    def step_time(self, rec: dict, times: dict | None = None) -> float:
        """Seconds per step for this run's recipe: measured on this run, else on earlier runs of
        the same recipe, else on any recipe (scaled by batch size), else DEFAULT_STEP_S."""
        if rec.get("step") and rec.get("train_s"):
            return rec["train_s"] / rec["step"]
        times = read_json(self.dir / "step_times.json") if times is None else times
        times = times if isinstance(times, dict) else {}
        k = recipe_key(rec)
        if k in times:
            return float(times[k])
        batch = rec["train_config"]["batch_size"]
        same = [v / int(key.split("|")[1]) * batch for key, v in times.items() if key.split("|")[0] == k.split("|")[0]]
        return sum(same) / len(same) if same else DEFAULT_STEP_S * batch / 16

    def line(self, recs: list[dict] | None = None) -> dict[str, dict]:
        """Each unfinished run's place in line (1 = next to start; 0 = training), and the seconds
        until it starts and until it ends: the running runs' remaining steps and every queued
        run's steps at their measured step times, shared among the live workers' slots in order."""
        recs = self.records() if recs is None else recs
        times = read_json(self.dir / "step_times.json")
        slots = [0.0] * max(1, self.workers())
        out = {}
        for r in [r for r in recs if r["status"] in ACTIVE[1:]] + [r for r in recs if r["status"] == "queued"]:
            total = r.get("total") or _total_steps(r)
            left = max(total - r.get("step", 0), 0) * self.step_time(r, times)
            i = min(range(len(slots)), key=slots.__getitem__)
            start = slots[i] if r["status"] == "queued" else 0.0
            slots[i] = start + left
            out[r["id"]] = {"start_s": start, "end_s": start + left}
        queued = [r["id"] for r in recs if r["status"] == "queued"]
        for place, rid in enumerate(queued, 1):
            out[rid]["place"] = place
        for r in recs:
            if r["status"] in ACTIVE[1:]:
                out[r["id"]]["place"] = 0
        return out

    def view(self, rec: dict, secret: str | None = None, line: dict | None = None) -> dict:
        """What a page shows of a run: Job.snapshot()'s fields, plus its place in line and ETA
        and whether this viewer owns it."""
        pos = (line if line is not None else self.line()).get(rec["id"], {})
        now = time.time()
        eta = pos.get("end_s") if rec["status"] in ACTIVE else None
        return {**rec, **self.curves(rec["id"]), "model": ModelConfig(**rec["model_config"]).label,
                "clip": rec["train_config"]["clip"], "place": pos.get("place"), "start_in_s": pos.get("start_s"),
                "eta_s": eta, "elapsed_s": (rec.get("finished") or now) - rec["submitted"],
                "finished": rec["status"] in FINISHED, "owner": self.owns(rec, secret)}

    def keep_reservations(self) -> None:
        """Renew the names held by queued runs (other hosts judge a reservation by its age)."""
        for rec in self.records():
            if rec["status"] == "queued":
                with contextlib.suppress(OSError):
                    os.utime(_reservation_lock(self.user_dir, rec))


def recipe_key(rec: dict) -> str:
    m, t = rec["model_config"], rec["train_config"]
    arch = f"{m['cell']}{m['hidden_size']}x{m['num_layers']}{'bi' if m['bidirectional'] else ''}g{t.get('gap', 0)}"
    return f"{arch}|{t['batch_size']}"


def _total_steps(rec: dict) -> int:
    n_train = 1000 - 200 if rec["data"] == "sample" else 60_000  # jobs.split_sample; MNIST's training set
    return TrainConfig(**rec["train_config"]).total_steps(n_train)


def _in(rec: dict, message: str, **values) -> str:
    """A message in the language of the page that submitted the run."""
    from rnn_demo import i18n
    before = i18n.language()
    try:
        i18n.set_language(rec.get("language", "en"))
        return _(message, **values)
    finally:
        i18n.set_language(before)


def _reservation_lock(user_dir: Path, rec: dict) -> Path:
    folder = Path(user_dir) / rec["folder"] if rec["folder"] else Path(user_dir)
    return folder / f".{store.key(rec['name'])}{store.RESERVED}"


def _release_reservation(user_dir: Path, rec: dict) -> None:
    """Give the run's name back, unless someone else holds it now."""
    lock = _reservation_lock(user_dir, rec)
    with contextlib.suppress(OSError):
        owner = lock.read_text()[:200].strip()
        if owner in (rec.get("reserved_by"), rec.get("worker")):
            lock.unlink(missing_ok=True)
