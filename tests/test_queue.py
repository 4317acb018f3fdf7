"""The training queue (rnn_demo/queue.py, rnn_demo/worker.py) with real Huey: on SQLite in a
temporary shared folder, and on a real redis-server started on a free port. Runs are tiny
(an RNN 8 on the bundled sample, a few dozen steps)."""
from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnn_demo import checkpoints, queue, store, train
from rnn_demo.model import ModelConfig
from tests.conftest import ROOT, Workers, _free_port

TINY = ModelConfig(hidden_size=8)
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"


def tiny(**kw) -> train.TrainConfig:
    return train.TrainConfig(**({"batch_size": 32, "iterations": 30, "eval_every": 10, "schedule": "constant"} | kw))


def wait_for(check, timeout: float = 90, every: float = 0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    pytest.fail("the queue did not reach the expected state in time")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    if not Path(REDIS).exists():
        if os.environ.get("CI"):
            pytest.fail("redis-server not found; .ci/run must install it (apt-get install redis-server)")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = _free_port()
    proc = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path_factory.mktemp("redis"))],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis
    client = redis.Redis(port=port)
    wait_for(lambda: _pings(client), timeout=20)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


def _pings(client) -> bool:
    try:
        return client.ping()
    except Exception:
        return False


@pytest.fixture(params=["sqlite", "redis"])
def q(request, tmp_path):
    """A queue on each storage, in its own shared folder (Redis: emptied first)."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else ""
    tq = queue.TrainQueue(tmp_path / "shared" / "user_models", url=url)
    tq.huey.flush()
    return tq


@pytest.fixture
def sqlite_q(tmp_path):
    return queue.TrainQueue(tmp_path / "shared" / "user_models", url="")


def submit(tq, name, learner, cfg=None, **kw):
    return tq.submit(name, TINY, cfg or tiny(), "sample", learner=learner, secret=learner + "-secret", **kw)


def test_runs_are_trained_saved_and_their_curves_reach_any_reader(q):
    workers = Workers(q)
    try:
        recs = [submit(q, f"run {i}", f"learner{i}") for i in range(3)]
        done = wait_for(lambda: all(q.get(r["id"])["status"] == "done" for r in recs))
        assert done
    finally:
        workers.stop()
    for r in recs:
        rec = q.get(r["id"])
        assert rec["saved"] == f"run-{r['name'][4:]}.pt" and (q.user_dir / rec["saved"]).exists()
        view = q.view(rec, secret=rec["learner"] + "-secret")
        # the curves a page draws: every step, from the worker's file, equal to the checkpoint's history
        ckpt = checkpoints.load(q.user_dir / rec["saved"])
        assert len(view["loss"]) == len(view["grad_norm"]) == len(view["batch_acc"]) == 30 == view["step"]
        assert view["loss"] == pytest.approx(ckpt.history["loss"], rel=1e-5)
        assert view["evals"][-1]["test_acc"] == pytest.approx(ckpt.metrics["test_acc"])
        assert view["owner"] and view["finished"] and view["eta_s"] is None
        assert not q.view(rec, secret="someone else")["owner"]
    # no name is left reserved, and the learner may submit again
    assert not list(q.user_dir.glob(f".*{store.RESERVED}"))
    assert submit(q, "again", "learner0")["status"] == "queued"


def test_one_run_per_learner_and_a_full_queue_refuses(sqlite_q, monkeypatch):
    first = submit(sqlite_q, "mine", "ann")
    with pytest.raises(queue.QueueError, match=r"^You already have a run in the queue or training \('mine'\)"):
        submit(sqlite_q, "another", "ann")
    assert not (sqlite_q.user_dir / ".another.reserved").exists()  # refused before its name was taken
    with pytest.raises(queue.QueueError, match="fit in a checkpoint"):
        submit(sqlite_q, "too-long", "zed", tiny(iterations=200_000))  # settings checked before it waits in line
    monkeypatch.setattr(queue, "MAX_WAITING", 3)
    submit(sqlite_q, "b", "bob")
    submit(sqlite_q, "c", "cy")
    with pytest.raises(queue.QueueError, match=r"^The queue is full \(3 runs waiting\): try again in a few minutes\.$"):
        submit(sqlite_q, "d", "dee")
    sqlite_q.cancel(first["id"], "ann-secret")
    with pytest.raises(queue.QueueError, match="'B' is being used right now by a training or an upload"):
        submit(sqlite_q, "B", "eve")  # bob's queued run holds its name from submission on, in any case
    assert submit(sqlite_q, "d", "dee")["status"] == "queued"  # a place came free
    assert sqlite_q.huey.pending_count() == 4  # in Huey: the 4 submitted (the cancelled one revoked, skipped)


def test_place_in_line_and_eta_from_measured_step_times(sqlite_q):
    q = sqlite_q
    (q.dir / "step_times.json").write_text(json.dumps({"rnn8x1g0|32": 0.02, "rnn8x1g0|64": 0.05}))
    (q.workers_dir / "w.json").write_text(json.dumps({"slots": 2, "beat": time.time()}))
    a = submit(q, "a", "ann", tiny(iterations=100))                   # 100 x 0.02 = 2 s
    b = submit(q, "b", "bob", tiny(iterations=100, batch_size=64))    # 100 x 0.05 = 5 s
    c = submit(q, "c", "cy", tiny(iterations=50))                     # 50 x 0.02 = 1 s
    d = submit(q, "d", "dee", tiny(iterations=10, batch_size=128))    # never measured: 0.05 / 64 x 128 per step
    line = q.line()
    assert [line[r["id"]]["place"] for r in (a, b, c, d)] == [1, 2, 3, 4]
    # two slots: a and b start at once; c follows a (at 2 s), d follows c (at 3 s, before b ends at 5 s)
    assert [line[r["id"]]["start_s"] for r in (a, b, c, d)] == pytest.approx([0, 0, 2, 3])
    # d's recipe was never measured: the same network's step times, scaled to its batch (0.08 and 0.1 s)
    assert line[d["id"]]["end_s"] == pytest.approx(3 + 10 * 0.09)
    # a runs, 60 of 100 steps done in 0.9 s: its own step time from now on; the others move up
    rec = q.read(a["id"])
    rec.update(status="running", step=60, total=100, train_s=0.9, worker=store.me(), beat=time.time())
    q.write(rec)
    line = q.line()
    assert line[a["id"]] == pytest.approx({"place": 0, "start_s": 0, "end_s": 40 * 0.015})
    assert [line[r["id"]]["place"] for r in (b, c, d)] == [1, 2, 3]
    assert line[c["id"]]["start_s"] == pytest.approx(0.6)
    # with no worker alive, the line is shared by one slot (the ETA never divides by zero)
    (q.workers_dir / "w.json").unlink()
    assert q.line()[c["id"]]["start_s"] == pytest.approx(0.6 + 5)


def test_cancel_while_queued_or_running_only_by_its_owner(q):
    queued = submit(q, "waiting", "ann")
    link = q.find(queued["token"])  # anyone with the link sees the run...
    assert link["id"] == queued["id"] and not q.view(link, secret=None)["owner"]
    with pytest.raises(queue.QueueError, match="Only the learner who started this run can cancel it"):
        q.cancel(queued["id"], "bob-secret")  # ...and controls nothing
    for forged in ("", "é" * 300, "../../etc", queued["token"][:-1], None):  # an address's ?run= of any kind
        assert q.find(forged) is None
    with pytest.raises(queue.QueueError, match="There is no such run"):
        q.cancel("../" + queued["id"], "ann-secret")
    rec = q.cancel(queued["id"], "ann-secret")
    assert rec["status"] == "cancelled" and rec["message"] == "Cancelled before it started; nothing was trained."
    store.reserve(q.user_dir, "waiting").release()  # its name is free again
    long = submit(q, "long", "bob", tiny(iterations=20_000))
    workers = Workers(q, 1)
    try:
        wait_for(lambda: q.get(long["id"])["step"] >= 5)
        q.cancel(long["id"], "bob-secret")
        rec = wait_for(lambda: (r := q.get(long["id"]))["status"] in queue.FINISHED and r)
    finally:
        workers.stop()
    assert rec["status"] == "stopped" and rec["message"].startswith("Stopped by you after")
    ckpt = checkpoints.load(q.user_dir / "long.pt")  # what it learned is saved, as Stop always did
    assert 5 <= len(ckpt.history["loss"]) == rec["step"] < 20_000
    assert q.get(queued["id"])["status"] == "cancelled" and not (q.user_dir / "waiting.pt").exists()


def test_a_full_disk_at_save_keeps_the_model_for_its_download(q, monkeypatch):
    def full(*a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoints, "save", full)
    workers = Workers(q, 1)
    try:
        r = submit(q, "unlucky", "ann")
        rec = wait_for(lambda: (x := q.get(r["id"]))["status"] in queue.FINISHED and x)
    finally:
        workers.stop()
    assert rec["status"] == "done" and rec["unsaved"] and rec["saved"] is None
    assert "could not be saved on the server (No space left on device). Download it now" in rec["message"]
    raw = q.unsaved(r["id"])
    import io
    ckpt = checkpoints.load(io.BytesIO(raw), name="unlucky.pt")
    assert len(ckpt.history["loss"]) == 30 and not list(q.user_dir.glob("*.pt"))


def worker_process(tq: queue.TrainQueue, n: int = 1) -> subprocess.Popen:
    env = dict(os.environ, RNN_DEMO_USER_MODELS=str(tq.user_dir), RNN_DEMO_QUEUE=tq.url or "",
               RNN_DEMO_WORKERS=str(n))
    env.pop("RNN_DEMO_DATA", None)
    return subprocess.Popen([sys.executable, "-m", "rnn_demo.worker"], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_killed_worker_fails_its_run_with_one_sentence_and_saves_nothing(q):
    proc = worker_process(q)
    try:
        assert "1 worker process(es) x 1 torch thread(s)" in proc.stdout.readline()
        r = submit(q, "doomed", "ann", tiny(iterations=20_000))
        wait_for(lambda: q.get(r["id"])["step"] >= 20, timeout=120)
        os.killpg(proc.pid, signal.SIGKILL)  # the consumer and its worker process, mid-run
        proc.wait(10)
        rec = wait_for(lambda: (x := q.get(r["id"]))["status"] == "failed" and x, timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert rec["message"].startswith("The worker training this run stopped (its process or machine went away) at "
                                     "step ") and rec["message"].endswith("nothing was saved. Start it again.")
    assert not list(q.user_dir.glob("*.pt")) and not list(q.user_dir.glob(".*.tmp"))  # no model, whole or half
    assert not list(q.user_dir.glob(f".*{store.RESERVED}"))
    assert submit(q, "doomed", "ann")["status"] == "queued"  # the learner and the name are free again


def test_a_run_on_a_machine_that_went_silent_is_failed_after_stale_s(sqlite_q):
    q = queue.TrainQueue(sqlite_q.user_dir, url="", stale_s=2)
    r = submit(q, "far", "ann")
    assert q.claim(r["id"])
    rec = q.read(r["id"])
    rec.update(status="running", step=7, total=30, worker="another-host 12345", beat=time.time())
    q.write(rec)
    assert q.get(r["id"])["status"] == "running"  # another host: judged by its heartbeat's age
    rec["beat"] = time.time() - 3
    q.write(rec)
    failed = q.get(r["id"])
    assert failed["status"] == "failed" and "at step 7 of 30" in failed["message"]
    assert q.read(r["id"])["status"] == "failed"  # written once, for every replica


def test_runs_keep_their_order_and_a_restart_keeps_the_queue(sqlite_q):
    recs = [submit(sqlite_q, f"r{i}", f"l{i}", tiny(iterations=5)) for i in range(4)]
    again = queue.TrainQueue(sqlite_q.user_dir, url="")  # a restarted server: same folder
    assert [r["id"] for r in again.records()] == [r["id"] for r in recs]
    assert again.huey.pending_count() == 4
    workers = Workers(again, 1)  # one worker: strictly in the order submitted
    try:
        wait_for(lambda: all(again.get(r["id"])["status"] == "done" for r in recs))
    finally:
        workers.stop()
    started = [again.get(r["id"])["started"] for r in recs]
    assert started == sorted(started)
