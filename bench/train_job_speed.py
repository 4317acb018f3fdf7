"""How much does training in the background, watched by a polling page, cost against a plain loop?

Prints seconds per step for `train.train` called directly (baseline) and for the same run inside
a JobManager job while a poller reads its snapshot and builds the live figures every second (what
the Train page's fragment does), and the ratio. Also prints the time to build the live figures.

    python -m bench.train_job_speed
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from rnn_demo import jobs, train
from rnn_demo.model import ModelConfig
from rnn_demo.plots import training as plots

MODEL = ModelConfig(cell="rnn", hidden_size=64)
CFG = train.TrainConfig(batch_size=64, iterations=60, eval_every=10)


def baseline(threads: int | None = None) -> float:
    tr, te = jobs.split_sample(jobs.data.load_sample())
    before = torch.get_num_threads()
    torch.set_num_threads(threads or before)
    t0 = time.perf_counter()
    train.train(MODEL, CFG, tr, te)
    torch.set_num_threads(before)
    return (time.perf_counter() - t0) / CFG.iterations


def watched_job() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        mgr = jobs.JobManager()
        t0 = time.perf_counter()
        job = mgr.start("bench", MODEL, CFG, "sample", Path(tmp) / "user", Path(tmp) / "models")
        builds = []
        while not job.finished_ok:
            job.touch()
            s = job.snapshot()
            b0 = time.perf_counter()
            plots.training_curves(s["loss"], s["batch_acc"], s["evals"], s["total"]).to_json()
            plots.grad_norm_steps(s["grad_norm"], s["clip"], s["total"]).to_json()
            builds.append(time.perf_counter() - b0)
            time.sleep(1.0)
        job.wait()
        return (time.perf_counter() - t0) / CFG.iterations, sum(builds) / max(1, len(builds))


def main() -> None:
    base = baseline()
    one = baseline(jobs.TRAIN_THREADS)
    per_step, build = watched_job()
    print(f"plain train():          {base * 1000:7.1f} ms/step  ({MODEL.label}, batch {CFG.batch_size}, "
          f"{CFG.iterations} steps, bundled sample, {torch.get_num_threads()} torch threads)")
    print(f"plain train(), {jobs.TRAIN_THREADS} thread:  {one * 1000:7.1f} ms/step")
    print(f"background job, polled: {per_step * 1000:7.1f} ms/step  (includes loading and saving)")
    print(f"ratio job / plain:      {per_step / base:7.2f} (against {jobs.TRAIN_THREADS} thread: {per_step / one:.2f})")
    print(f"live figures per poll:  {build * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
