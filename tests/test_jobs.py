"""The training-job manager: one run at a time, stop, heartbeat, divergence, safe names, uploads."""
import threading
import time

import pytest
import torch

from rnn_demo import checkpoints, jobs, store, train
from rnn_demo.model import ModelConfig, build

TINY = ModelConfig(hidden_size=8)


def tiny_cfg(**kw) -> train.TrainConfig:
    base = dict(batch_size=32, iterations=4, eval_every=2, schedule="constant")
    return train.TrainConfig(**(base | kw))


@pytest.fixture
def dirs(tmp_path):
    """The user's model folder, and the names of the shipped models (never taken by a user)."""
    return tmp_path / "user", ("rnn", "lstm")


@pytest.fixture
def small_loader(sample):
    """A quick data choice: 256 sample digits to train on, the held-out 200 to test on."""
    tr, te = jobs.split_sample(sample)
    return lambda which: (tr.subset(slice(0, 256)), te)


def test_names_are_cleaned_and_shipped_names_refused(dirs):
    user, shipped = dirs
    assert store.clean_name("  my model!.pt ") == "my-model-pt"
    assert store.clean_name("../../etc/passwd") == "etc-passwd"
    assert store.clean_name("café") == "café" and store.clean_name("модель") == "модель"
    assert store.clean_name("모델 하나") == "모델-하나"
    with pytest.raises(store.BadName, match="Give the model a name"):
        store.clean_name(" !! ")
    with pytest.raises(store.BadName, match="shipped model"):
        store.reserve(user, "RNN", shipped)  # case-insensitive
    with store.reserve(user, "../mine", shipped) as r:
        assert r.path == user / "mine.pt"
        checkpoints.save(r.path, build(TINY), overwrite=False)
    for other in ("mine", "MINE", "Mine"):  # one model, whatever the case
        with pytest.raises(store.BadName, match="already a model called 'mine'"):
            store.reserve(user, other, shipped)
    assert store.reserve_free(user, "Mine", shipped).name == "Mine-2"


def test_sample_split_holds_out_test_digits(sample):
    tr, te = jobs.split_sample(sample)
    assert len(tr) == len(sample) - jobs.SAMPLE_TEST and len(te) == jobs.SAMPLE_TEST
    assert torch.equal(torch.cat([tr.images, te.images]), sample.images)


def test_a_job_trains_saves_and_the_checkpoint_predicts(dirs, small_loader):
    user, shipped = dirs
    mgr = jobs.JobManager(loader=small_loader)
    job = mgr.start("first try", TINY, tiny_cfg(), "sample", user, shipped, owner="me")
    assert job.wait(60)
    s = job.snapshot()
    assert s["status"] == "done", s["message"]
    assert (s["step"], s["total"]) == (4, 4) and len(s["loss"]) == len(s["grad_norm"]) == 4
    assert s["saved"] == user / "first-try.pt" and mgr.current() is None
    ckpt = checkpoints.load(s["saved"])
    test = small_loader("sample")[1]
    acc, preds = train.accuracy(ckpt.model, test)
    assert acc == pytest.approx(ckpt.metrics["test_acc"]) == pytest.approx(s["evals"][-1]["test_acc"])
    assert preds.shape == (200,)
    assert ckpt.history["loss"] == s["loss"] and ckpt.dataset["n_test"] == 200


def test_one_training_at_a_time(dirs, sample):
    user, shipped = dirs
    release = threading.Event()

    def slow_loader(which):
        release.wait(30)
        return sample.subset(slice(0, 64)), sample.subset(slice(900, 1000))

    mgr = jobs.JobManager(loader=slow_loader)
    first = mgr.start("a", TINY, tiny_cfg(iterations=2), "sample", user, shipped, owner="tab1")
    with pytest.raises(jobs.Busy, match="Only one training runs at a time.*someone else is training 'a'"):
        mgr.start("b", TINY, tiny_cfg(), "sample", user, shipped, owner="tab2")
    release.set()
    assert first.wait(60) and first.snapshot()["status"] == "done"
    second = mgr.start("b", TINY, tiny_cfg(iterations=2), "sample", user, shipped, owner="tab2")
    assert second.wait(60) and second.snapshot()["status"] == "done"


def test_stop_ends_the_run_and_keeps_what_was_learned(dirs, small_loader):
    user, shipped = dirs
    mgr = jobs.JobManager(loader=small_loader)
    job = mgr.start("stopped", TINY, tiny_cfg(batch_size=4, iterations=32_000), "sample", user, shipped)
    deadline = time.time() + 30
    while job.snapshot()["step"] < 3 and time.time() < deadline:
        job.touch()
        time.sleep(0.05)
    assert job.snapshot()["eta_s"] is not None  # running: an estimate of the time left
    job.stop("Stopped by you")
    assert job.wait(30)
    s = job.snapshot()
    assert s["status"] == "stopped" and s["message"].startswith("Stopped by you after")
    assert 3 <= s["step"] < 32_000
    ckpt = checkpoints.load(s["saved"])
    assert ckpt.history["status"] == "stopped" and len(ckpt.history["loss"]) == s["step"]


def test_a_run_nobody_watches_stops_itself(dirs, small_loader):
    user, shipped = dirs
    mgr = jobs.JobManager(heartbeat_s=0.3, loader=small_loader)
    job = mgr.start("orphan", TINY, tiny_cfg(batch_size=4, iterations=32_000), "sample", user, shipped)
    assert job.wait(30)
    s = job.snapshot()
    assert s["status"] == "stopped" and "No page has watched this run" in s["message"]
    # ...but a tab that is still connected keeps it going, even when it polls rarely
    job = mgr.start("watched", TINY, tiny_cfg(iterations=20), "sample", user, shipped, alive=lambda: True)
    assert job.wait(60) and job.snapshot()["status"] == "done"


def test_divergence_stops_with_the_message_and_keeps_the_last_good_weights(dirs, small_loader):
    user, shipped = dirs
    cfg = tiny_cfg(optimizer="sgd", lr=1e3, clip=0.0, init="default", iterations=30)
    job = jobs.JobManager(loader=small_loader).start("boom", ModelConfig(hidden_size=8, nonlinearity="relu"), cfg,
                                                    "sample", user, shipped)
    assert job.wait(60)
    s = job.snapshot()
    assert s["status"] == "diverged" and s["message"].startswith("Training diverged at step")
    ckpt = checkpoints.load(s["saved"])
    assert all(torch.isfinite(p).all() for p in ckpt.model.parameters())


def test_bad_requests_get_clear_messages(dirs, small_loader, monkeypatch):
    user, shipped = dirs
    mgr = jobs.JobManager(loader=small_loader)
    with pytest.raises(jobs.JobError, match="data must be one of"):
        mgr.start("x", TINY, tiny_cfg(), "imagenet", user, shipped)
    monkeypatch.setattr(jobs.data, "mnist_available", lambda root=None: False)
    with pytest.raises(jobs.JobError, match="RNN_DEMO_DATA"):
        mgr.start("x", TINY, tiny_cfg(), "mnist", user, shipped)

    def broken(which):
        raise OSError("disk on fire")

    job = jobs.JobManager(loader=broken).start("x", TINY, tiny_cfg(), "sample", user, shipped)
    assert job.wait(10) and job.snapshot()["status"] == "failed"
    assert "disk on fire" in job.snapshot()["message"] and not (user / "x.pt").exists()


def test_import_checkpoint(dirs, tmp_path, sample):
    user, shipped = dirs
    model = build(TINY)
    good = checkpoints.save(tmp_path / "theirs.pt", model, tiny_cfg(), {"test_acc": 0.5}).read_bytes()
    saved = jobs.import_checkpoint(good, "theirs.pt", user, shipped)
    assert saved == user / "theirs.pt"
    x = sample.sequences(slice(0, 5))
    assert torch.allclose(checkpoints.load(saved).model(x), model.eval()(x))
    with pytest.raises(checkpoints.CheckpointError, match="junk.pt: this is not a torch checkpoint file"):
        jobs.import_checkpoint(b"hello, not torch", "junk.pt", user, shipped)
    # a taken name (a shipped model's, or another upload's) gets the next free one, never an overwrite
    assert jobs.import_checkpoint(good, "rnn.pt", user, shipped) == user / "rnn-2.pt"
    assert jobs.import_checkpoint(good, "THEIRS.pt", user, shipped) == user / "THEIRS-2.pt"
    assert checkpoints.load(user / "theirs.pt").metrics["test_acc"] == 0.5


def test_sample_runs_evaluate_about_twenty_times():
    cfg = jobs.config_for("sample", tiny_cfg(iterations=400, eval_every=0), 800)
    assert cfg.eval_every == 20
    assert jobs.config_for("mnist", tiny_cfg(eval_every=0)).eval_every == 0
    assert jobs.format_seconds(75) == "1 min 15 s" and jobs.format_seconds(None) == "?"
    assert jobs.format_seconds(4.4) == "4 s"


def test_a_finished_run_reads_the_same_on_the_train_and_memory_pages_in_either_language():
    from rnn_demo import i18n
    snap = {"status": "stopped", "step": 1234, "total": 1876, "train_s": 65.2}
    assert jobs.finished_line(snap) == "stopped: 1,234 of 1,876 steps in 1 min 05 s"
    try:
        i18n.set_language("ko")
        korean = jobs.finished_line(snap)
    finally:
        i18n.set_language("en")
    assert korean.startswith("중지됨: ") and "1,876" in korean and "1,234" in korean


def test_look_alike_names_are_refused_and_real_words_of_any_script_kept(dirs):
    """Issue 24: 'lѕtm' (a Cyrillic ѕ) and 'гnn' would sit beside the shipped lstm and rnn."""
    user, shipped = dirs
    for fake in ("lѕtm", "гnn", "rnn-ѕmall", "асе"):  # mixed scripts; Cyrillic letters that all look Latin
        with pytest.raises(store.BadName, match="mixes letters of different alphabets"):
            store.clean_name(fake)
        with pytest.raises(store.BadName, match="mixes letters"):
            store.reserve(user, fake, shipped)
    for fake in ("ｒｎｎ", "ℓstm"):  # compatibility forms of Latin letters: NFKC makes them 'rnn', 'lstm'
        with pytest.raises(store.BadName, match="mixes letters"):
            store.clean_name(fake)
    for real in ("модель", "내-lstm", "lstm-연습", "日本語テスト", "Ελλάδα", "café", "ﷺ"):  # one script, or an East Asian mix
        assert store.clean_name(real) == real


def test_a_name_too_long_for_the_file_system_is_refused_and_training_stays_free(dirs, small_loader):
    """'ﷺ' x 8 is 8 letters but its folded key is 144 (264 bytes): the reservation's file name
    failed 'File name too long' and the lease stayed held until a restart."""
    user, shipped = dirs
    with pytest.raises(store.BadName, match=r"too long once stored as a file \(274 bytes; at most 255\)"):
        store.clean_name("ﷺ" * 8)
    assert store.clean_name("ﷺ" * 7) == "ﷺ" * 7  # 7 x 18 letters: 240 bytes, fits
    mgr = jobs.JobManager(loader=small_loader)
    with pytest.raises(jobs.JobError, match="too long once stored"):
        mgr.start("ﷺ" * 8, TINY, tiny_cfg(), "sample", user, shipped, owner="me")
    assert store.lease_holder(user) is None and not list(user.glob(".*.reserved"))
    job = mgr.start("ﷺ" * 7, TINY, tiny_cfg(), "sample", user, shipped, owner="me")  # training is free
    assert job.wait(60) and job.status == "done" and (user / ("ﷺ" * 7 + ".pt")).exists()
    assert store.lease_holder(user) is None and not list(user.glob(".*.reserved"))


def test_a_full_disk_at_start_holds_nothing(dirs, small_loader, monkeypatch):
    """Whichever write fails (the lease, the reservation), the learner gets one sentence and the
    next Start works: no lease, no reservation, no temporary file left behind."""
    import errno
    import os

    user, shipped = dirs
    mgr = jobs.JobManager(loader=small_loader)

    def full(*args, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    for what in ("link", "replace"):  # os.link: the reservation; os.replace: the lease
        with monkeypatch.context() as m:
            m.setattr(os, what, full)
            with pytest.raises(jobs.JobError, match=r"cannot write in its model folder \(No space left on device\)"):
                mgr.start("full", TINY, tiny_cfg(), "sample", user, shipped, owner="me")
        assert store.lease_holder(user) is None, what
        assert sorted(p.name for p in user.iterdir() if p.name != ".training.lock") == [], what
    job = mgr.start("full", TINY, tiny_cfg(), "sample", user, shipped, owner="me")
    assert job.wait(60) and job.status == "done"
    assert store.lease_holder(user) is None and not list(user.glob(".*.reserved"))
