"""Server-wide training jobs: one training at a time, run off the script thread, watched by polling.

The Train page starts a `Job` through the `JobManager` (one per server, cached by rnn_demo.ui) and a
fragment polls `Job.snapshot()` every second; the loop itself is `rnn_demo.train.train`, so
progress leaves through its `on_step` callback and Stop is its `should_stop`. Streamlit must
only be touched from the script thread, so nothing here imports it: the shared state is plain
Python guarded by a lock. A page that stops polling (a closed tab) stops the run within
`heartbeat_s` seconds, and what was learned is still saved.
"""
from __future__ import annotations

import contextlib
import itertools
import math
import secrets
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from rnn_demo import checkpoints, data, i18n, recipe, store, threads
from rnn_demo.i18n import N_, _
from rnn_demo.model import ModelConfig
from rnn_demo.recipe import TrainConfig
from rnn_demo.train import train

MAX_NAME = store.MAX_NAME
HEARTBEAT_S = 30.0
RENEW_S = 2.0  # how often a run renews its lease (store.LEASE_S: when others may take it)
# Intra-op threads while a job trains. The demo's models are small: a second thread gains little,
# and on a busy server a spinning OpenMP pool made each step 10 times slower (20 ms vs 280 ms
# for an RNN 64, batch 64; bench/train_job_speed.py). Set for the run, restored after.
TRAIN_THREADS = 1
SAMPLE_TEST = 200  # bundled-sample runs hold back this many digits to test on
DATASETS = ("sample", "mnist")
FINISHED = ("done", "stopped", "diverged", "failed")


class JobError(ValueError):
    """A training request that cannot start; the message says why in plain words."""


class Busy(JobError):
    """Another training is running on this server."""


def split_sample(sample: data.Digits, n_test: int = SAMPLE_TEST) -> tuple[data.Digits, data.Digits]:
    """The bundled sample split into training digits and held-out test digits (the last n_test),
    so the test accuracy of a sample run is measured on digits it never trained on."""
    n = len(sample)
    return sample.subset(slice(0, n - n_test)), sample.subset(slice(n - n_test, n))


def load_data(which: str, root=None) -> tuple[data.Digits, data.Digits]:
    """(train, test) digits for a data choice: 'sample' or 'mnist' (raises DataUnavailable)."""
    if which == "sample":
        return split_sample(data.load_sample())
    if which == "mnist":
        return data.load_mnist(True, root, download=False), data.load_mnist(False, root, download=False)
    raise JobError(_("data must be one of {options}, not {value}", options=", ".join(DATASETS), value=repr(which)))


@dataclass
class Job:
    """One training run and its shared progress. Read it through `snapshot()`."""

    id: int
    reservation: store.Reservation  # the name, held from the start until the file is saved
    lease: store.Lease               # this server's turn to train, renewed while the run goes on
    model_config: ModelConfig
    train_config: TrainConfig
    data: str
    owner: str = ""
    heartbeat_s: float = HEARTBEAT_S
    alive: Callable[[], bool] | None = None  # is the owner's browser session still connected?
    loader: Callable[[str], tuple] = load_data
    runs_dir: Path | None = None  # TensorBoard logs go to runs_dir/<the model's name> (tblog.py)
    status: str = "queued"  # queued | loading | running | saving | done | stopped | diverged | failed
    message: str = ""
    step: int = 0
    total: int = 0
    started: float = field(default_factory=time.time)
    train_started: float | None = None
    finished: float | None = None
    # The run's history so far (recipe.History's per-step lists and evaluations), then all of it
    loss: list[float] = field(default_factory=list)
    batch_acc: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    evals: list[recipe.Eval] = field(default_factory=list)
    history: recipe.History | None = None
    metrics: dict | None = None
    saved: Path | None = None
    unsaved: bytes | None = None  # the checkpoint, when it could not be written (a full disk)
    stop_reason: str = ""
    token: str = field(default_factory=lambda: secrets.token_urlsafe(16))  # finds the run after a reload
    # The language of the page that started the run: its thread writes its messages in it (a new
    # thread starts with the default, English).
    language: str = field(default_factory=i18n.language)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _last_poll: float = field(default_factory=time.monotonic, repr=False)
    _last_renew: float = field(default=0.0, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.reservation.name

    @property
    def path(self) -> Path:
        return self.reservation.path

    # --- called from the page -------------------------------------------------------------
    def adopt(self, owner: str, alive: Callable[[], bool] | None) -> None:
        """The owner's tab was reloaded (a new session): it owns and watches the run now."""
        with self._lock:
            self.owner, self.alive, self._last_poll = owner, alive, time.monotonic()

    def touch(self) -> None:
        """The page is still watching (called on every poll)."""
        with self._lock:
            self._last_poll = time.monotonic()

    def stop(self, reason: str = "") -> None:
        """Ask the loop to stop after the current step; what it learned is kept and saved."""
        with self._lock:
            if not self.stop_reason:
                self.stop_reason = reason or _("Stopped by the user")
        self._stop.set()

    @property
    def finished_ok(self) -> bool:
        return self.status in FINISHED

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run has finished (for tests and the command line)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.finished_ok

    def snapshot(self) -> dict:
        """A consistent copy of the progress, safe to read from any thread."""
        with self._lock:
            now = time.time()
            running_s = (now if self.finished is None else self.finished) - (self.train_started or now)
            eta = None
            if self.status == "running" and self.step > 0 and self.total:
                eta = running_s / self.step * (self.total - self.step)
            return {"id": self.id, "name": self.name, "status": self.status, "message": self.message,
                    "step": self.step, "total": self.total, "eta_s": eta, "elapsed_s": now - self.started,
                    "train_s": running_s, "loss": list(self.loss), "batch_acc": list(self.batch_acc),
                    "grad_norm": list(self.grad_norm), "evals": [dict(e) for e in self.evals],
                    "clip": self.train_config.clip, "model": self.model_config.label, "data": self.data,
                    "owner": self.owner, "saved": self.saved, "unsaved": self.unsaved is not None,
                    "metrics": dict(self.metrics or {}),
                    "history": self.history, "finished": self.finished_ok}

    # --- the training thread --------------------------------------------------------------
    def _should_stop(self) -> bool:
        if self._stop.is_set():
            return True
        with self._lock:
            idle = time.monotonic() - self._last_poll
        if idle > self.heartbeat_s and (self.alive is None or not self._alive()):
            self.stop(_("No page has watched this run for {seconds:.0f} s (was the tab closed?), so it stopped",
                        seconds=idle))
            return True
        return False

    def _alive(self) -> bool:
        try:
            return bool(self.alive())
        except Exception:  # a runtime that has gone away counts as a closed tab
            return False

    def _on_step(self, step: int, m: dict) -> None:
        with self._lock:
            if self.train_started is None:
                self.train_started = time.time() - m["seconds"]
            self.step, self.total = step, m["total"]
            self.loss.append(m["loss"])
            self.grad_norm.append(m["grad_norm"])
            self.batch_acc.append(m["batch_acc"])
            if len(m["evals"]) != len(self.evals):
                self.evals = [dict(e) for e in m["evals"]]
        if time.monotonic() - self._last_renew > RENEW_S:
            self.renew()

    def renew(self) -> None:
        """Tell the other servers sharing the model folder that this run is alive, and how far.
        A write that fails (a full disk) is skipped: the run goes on, the lease ages meanwhile."""
        self._last_renew = time.monotonic()
        with self._lock:
            elapsed = time.time() - (self.train_started or time.time())
            eta = elapsed / self.step * (self.total - self.step) if self.step and self.total else None
            note = {"name": self.name, "model": self.model_config.label, "step": self.step, "total": self.total,
                    "eta_s": eta}
        with contextlib.suppress(OSError):
            self.lease.renew(note)
            self.reservation.renew()

    def _set(self, **kw) -> None:
        with self._lock:
            for k, v in kw.items():
                setattr(self, k, v)

    def run(self) -> None:
        """The whole job, on its own thread: load data, train, save. Never raises; the name stays
        reserved until the file is saved, and a model that cannot be saved is kept in memory."""
        i18n.set_language(self.language)
        try:
            self._run()
        except Exception as exc:  # the page shows the message; the server keeps running
            self._set(status="failed", message=_("Training failed: {error}", error=exc))
        finally:
            with contextlib.suppress(OSError):  # each on its own: one failing must not keep the other
                self.reservation.release()
            with contextlib.suppress(OSError):
                self.lease.release()
            self._set(finished=time.time())

    def _run(self) -> None:
        self._set(status="loading")
        self.renew()
        train_data, test_data = self.loader(self.data)
        cfg = self.train_config
        if self.runs_dir is not None:  # the name is final once reserved: the logs' folder is named after it
            cfg = replace(cfg, tensorboard=str(Path(self.runs_dir) / self.name))
        total = cfg.total_steps(len(train_data))
        self._set(status="running", total=total, train_started=time.time())
        with threads.limit(TRAIN_THREADS):
            result = train(self.model_config, cfg, train_data, test_data,
                           on_step=self._on_step, should_stop=self._should_stop)
        steps = len(result.history["batch_acc"])
        message = result.message
        if result.status == "stopped":
            message = _("{reason} after {steps:,} of {total:,} steps.", reason=self.stop_reason or _("Stopped"),
                        steps=steps, total=total)
        if steps == 0:
            self._set(status=result.status if result.status != "done" else "failed", history=result.history,
                      message=_("{message} Nothing was saved.", message=message or _("No step was taken.")))
            return
        self._set(status="saving", history=result.history)
        dataset = {"train": train_data.source + (" (first 800)" if self.data == "sample" else ""),
                   "test": test_data.source + (f" (last {len(test_data)}, held out)" if self.data == "sample" else ""),
                   "n_train": len(train_data), "n_test": len(test_data), "kind": self.data}
        args = (result.model, cfg, result.metrics, result.history, dataset)
        try:
            saved = checkpoints.save(self.path, *args, overwrite=False)
        except OSError as exc:  # a full disk, a folder gone read-only: keep the model for a download
            self._set(status=result.status, metrics=result.metrics, unsaved=checkpoints.to_bytes_of(*args),
                      message=(message + " " if message else "") + _(
                          "The model could not be saved on the server ({error}). Download it now to keep it; it is "
                          "kept only until the next run.", error=exc.strerror or exc))
            return
        self._set(status=result.status, message=message, metrics=result.metrics, saved=saved)


class JobManager:
    """At most one training at a time on this server; the latest job stays readable."""

    def __init__(self, heartbeat_s: float = HEARTBEAT_S, loader: Callable[[str], tuple] = load_data):
        self.heartbeat_s = heartbeat_s
        self.loader = loader
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._jobs: dict[int, Job] = {}
        self._current: Job | None = None

    def current(self) -> Job | None:
        """The job running now, or None."""
        with self._lock:
            job = self._current
        return job if job is not None and not job.finished_ok else None

    def get(self, job_id: int | None) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def find(self, token: str | None) -> Job | None:
        """The job a reloaded tab was watching (its token is in the page's URL)."""
        with self._lock:
            return next((j for j in self._jobs.values() if token and secrets.compare_digest(j.token, token)), None)

    def start(self, name: str, model_config: ModelConfig, train_config: TrainConfig, which: str,
              user_dir, shipped=(), owner: str = "", alive: Callable[[], bool] | None = None,
              free_name: bool = False, runs_dir=None, lease_dir=None) -> Job:
        """Start a training run on a background thread, its name reserved until it is saved
        (free_name: the first free one of name, name-2, ...). Raises Busy when another run is
        going, JobError for a taken name or a bad data choice. runs_dir: write TensorBoard logs
        into runs_dir/<name>. lease_dir: the folder whose training lease is taken (default
        user_dir), so that a run saving into a subfolder (the Memory page's) still counts against
        the one training of every replica."""
        if which not in DATASETS:
            raise JobError(_("data must be one of {options}, not {value}", options=", ".join(DATASETS),
                             value=repr(which)))
        if which == "mnist" and not data.mnist_available():
            raise JobError(_("The full MNIST is not on this machine. Set RNN_DEMO_DATA to a folder holding "
                             "MNIST/raw/*-ubyte and restart the app, or train on the bundled sample."))
        with self._lock:
            running = self._current
            if running is not None and not running.finished_ok:
                s = running.snapshot()
                raise Busy(busy_message(s, "you" if owner and owner == running.owner else "someone else"))
            try:  # a name that cannot be used is refused before anything is held
                store.clean_name(name)
            except store.BadName as exc:
                raise JobError(str(exc)) from None
            try:
                lease = store.take_lease(lease_dir or user_dir, {"name": "?", "model": model_config.label, "step": 0})
            except store.Busy as exc:  # a run on another server sharing the model folder
                raise Busy(busy_message(exc.holder, "someone on another server")) from None
            except OSError as exc:  # a full disk, a folder gone read-only: nothing is held
                raise JobError(_cannot_start(exc)) from None
            reservation = None
            try:
                reservation = (store.reserve_free if free_name else store.reserve)(user_dir, name, shipped)
                job = Job(next(self._ids), reservation, lease, model_config, train_config, which, owner,
                          self.heartbeat_s, alive, self.loader, runs_dir=runs_dir)
                job._thread = threading.Thread(target=job.run, name=f"train-{job.id}", daemon=True)
                job._thread.start()
            except BaseException as exc:  # every way out before the run's thread owns them lets both go
                for held in (reservation, lease):
                    with contextlib.suppress(OSError):
                        if held is not None:
                            held.release()
                if isinstance(exc, store.BadName):
                    raise JobError(str(exc)) from None
                if isinstance(exc, OSError):
                    raise JobError(_cannot_start(exc)) from None
                raise
            self._jobs[job.id] = job
            self._current = job
        return job


def _cannot_start(exc: OSError) -> str:
    return _("The training could not start: the server cannot write in its model folder ({error}). Tell "
             "the teacher; nothing was kept.", error=exc.strerror or exc)


# busy_message's sentences, whole, for each `who` a page passes: (without, with the time left).
BUSY = {
    "you": (N_("Only one training runs at a time, and you are training '{name}' ({model}, step {step} of "
               "{total}). Wait for it to finish, then start yours."),
            N_("Only one training runs at a time, and you are training '{name}' ({model}, step {step} of "
               "{total}, about {eta} left). Wait for it to finish, then start yours.")),
    "someone else": (N_("Only one training runs at a time, and someone else is training '{name}' ({model}, step "
                        "{step} of {total}). Wait for it to finish, then start yours."),
                     N_("Only one training runs at a time, and someone else is training '{name}' ({model}, step "
                        "{step} of {total}, about {eta} left). Wait for it to finish, then start yours.")),
    "someone on another server": (
        N_("Only one training runs at a time, and someone on another server is training '{name}' ({model}, "
           "step {step} of {total}). Wait for it to finish, then start yours."),
        N_("Only one training runs at a time, and someone on another server is training '{name}' ({model}, "
           "step {step} of {total}, about {eta} left). Wait for it to finish, then start yours.")),
    None: (N_("Only one training runs at a time, and {who} is training '{name}' ({model}, step {step} of "
              "{total}). Wait for it to finish, then start yours."),
           N_("Only one training runs at a time, and {who} is training '{name}' ({model}, step {step} of "
              "{total}, about {eta} left). Wait for it to finish, then start yours.")),
}


def busy_message(s: dict, who: str) -> str:
    """'Only one training runs at a time ...' from a run's snapshot or a lease holder's note. who:
    "you", "someone else" or "someone on another server" (in English, or as `_()` translates it),
    each with a sentence of its own; anything else is put into a general sentence."""
    key = next((k for k in BUSY if k is not None and who in (k, _(k))), None)
    without, with_eta = BUSY[key]
    eta = s.get("eta_s")
    return _(without if eta is None else with_eta, who=who, name=s.get("name", "?"), model=s.get("model", "?"),
             step=format(s.get("step", 0), ","), total=format(s["total"], ",") if s.get("total") else "?", eta=format_seconds(eta))


def elsewhere(user_dir) -> dict | None:
    """What a training on another server sharing the model folder last reported, or None."""
    holder = store.lease_holder(user_dir)
    return None if holder is None or holder.get("owner") == store.me() else holder


# A run's status, in words (the Train and Memory pages show it).
STATUS_WORDS = {"queued": N_("queued"), "loading": N_("loading"), "running": N_("running"), "saving": N_("saving"),
                "done": N_("done"), "stopped": N_("stopped"), "failed": N_("failed"), "diverged": N_("diverged")}


def finished_line(snapshot: dict) -> str:
    """What became of a finished run (`Job.snapshot()`), its steps and training time, in one line."""
    return _("{status}: {step:,} of {total:,} steps in {time}",
             status=_(STATUS_WORDS.get(snapshot["status"], snapshot["status"])), step=snapshot["step"],
             total=snapshot["total"] or 0, time=format_seconds(snapshot["train_s"]))


def format_seconds(s: float | None) -> str:
    if s is None or not math.isfinite(s):
        return "?"
    s = int(round(s))
    return _("{m} min {s:02d} s", m=s // 60, s=s % 60) if s >= 60 else _("{s} s", s=s)


def config_for(which: str, cfg: TrainConfig, n_train: int | None = None) -> TrainConfig:
    """Evaluate often enough for a live test-accuracy curve: about 20 points per run on the
    bundled sample (200 test digits are cheap), once per epoch on the full set."""
    if which == "sample" and cfg.eval_every == 0:
        n = n_train if n_train is not None else len(data.load_sample()) - SAMPLE_TEST
        return replace(cfg, eval_every=max(1, cfg.total_steps(n) // 20))
    return cfg


def upload_name(filename: str) -> str:
    """The name an uploaded file asks for: its file name without .pt, cleaned ('uploaded' if
    nothing is left of it)."""
    try:
        return store.clean_name(Path(filename).stem)
    except store.BadName:
        return "uploaded"


def import_checkpoint(raw: bytes, filename: str, user_dir, shipped=()) -> Path:
    """Check an uploaded file completely (checkpoints.load), then save it into the user's folder
    under its file name, or the first free variant of it (name-2, ...): never over another model.
    Raises CheckpointError for a file that is not a usable checkpoint."""
    import io

    ckpt = checkpoints.load(io.BytesIO(raw), name=filename)
    try:
        with store.reserve_free(user_dir, upload_name(filename), shipped) as reservation:
            return checkpoints.save(reservation.path, ckpt.model, ckpt.train_config, ckpt.metrics, ckpt.history,
                                    ckpt.dataset, overwrite=False)
    except store.BadName as exc:
        raise JobError(str(exc)) from None
