"""Hostile and careless input, file by file: every checkpoint, upload, name, setting and data file
that can be wrong is refused with one plain sentence before anything large is allocated, never
crashes the server, and never loses a model. Page-level behaviour of the older cases is in
test_bad_input.py; the real-browser upload in tests/browser/test_hostile_upload.py."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from rnn_demo import checkpoints, data, evaluate, gradients, jobs, store, train, ui
from rnn_demo.checkpoints import CheckpointError
from rnn_demo.model import ModelConfig, build
from tests.conftest import shown

ROOT = Path(__file__).resolve().parent.parent
TINY = ModelConfig("rnn", 8)


def payload() -> dict:
    """A real checkpoint's contents (a tiny RNN with a short history), to spoil one field at a time."""
    result = train.train(TINY, train.TrainConfig(batch_size=50, iterations=3, schedule="constant"),
                         data.load_sample().subset(slice(0, 100)), data.load_sample().subset(slice(900, 1000)))
    return checkpoints.to_payload(result.model, train.TrainConfig(batch_size=50, iterations=3), result.metrics,
                                  result.history, {"train": "sample", "n_train": 100, "n_test": 100})


@pytest.fixture(scope="module")
def good() -> dict:
    return payload()


def dump(p: dict) -> bytes:
    buf = io.BytesIO()
    torch.save(p, buf)
    return buf.getvalue()


def spoil(good: dict, path: str, value) -> bytes:
    """The good payload with one field (path: keys joined by '/') replaced."""
    import copy
    p = copy.deepcopy(good)
    *head, last = path.split("/")
    target = p
    for k in head:
        target = target[int(k)] if isinstance(target, list) else target[k]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return dump(p)


def refused(raw: bytes, name: str = "x.pt") -> str:
    with pytest.raises(CheckpointError) as info:
        checkpoints.load(io.BytesIO(raw), name=name)
    message = str(info.value)
    assert message.startswith(name) and "\n" not in message and "Traceback" not in message
    return message


def files(folder: Path) -> list[str]:
    """What a folder of models holds, but the lease's lock file (always there once a run started)."""
    return sorted(p.name for p in folder.iterdir() if p.name != ".training.lock")


def test_the_good_payload_loads(good):
    ckpt = checkpoints.load(io.BytesIO(dump(good)))
    assert ckpt.model_config == TINY and len(ckpt.history["loss"]) == 3


NAN = torch.full((8, 8), float("nan"))
CASES = {  # field -> (value, the sentence's words)
    "model/rnn.weight_hh_l0": (NAN, "weight rnn.weight_hh_l0 holds NaN or infinite values"),
    "model/readout.bias": (torch.tensor([float("inf")] * 10), "weight readout.bias holds NaN or infinite values"),
    "model/rnn.weight_ih_l0": (torch.zeros(8, 14), "weight rnn.weight_ih_l0 has shape (8, 14), but a RNN 8 needs (8, 28)"),
    "model/rnn.bias_ih_l0": (torch.zeros(8, dtype=torch.int64), "should be a tensor of floating-point numbers"),
    "model/readout.weight": (torch.zeros(1).expand(10, 8), "weight readout.weight is not a plain dense tensor"),
    "model_config/input_size": (250_000, "model_config.input_size is 250000; every model here reads MNIST, so it must be 28"),
    "model_config/num_classes": (3, "model_config.num_classes is 3; every model here reads MNIST, so it must be 10"),
    "model_config/hidden_size": (10**9, "model_config.hidden_size is 1e+09, outside 1 to 512"),
    "model_config/cell": ("transformer", "model_config.cell should be one of rnn, lstm, gru"),
    "model_config/bidirectional": ("yes", "model_config.bidirectional should be true or false"),
    "model_config/layers": (3, "model_config has a field this app does not know: 'layers'"),
    "metrics": (5, "metrics should be a table of named values, but it is a whole number"),
    "metrics/test_acc": ("99%", "metrics.test_acc should be a number, but it is text"),
    "history": ([1, 2], "history should be a table of named values, but it is a list"),
    "history/loss": (torch.zeros(1).expand(10**8), "history.loss should be a list, but it is a Tensor"),
    "history/batch_acc": ([0.5, "high"], "history.batch_acc[1] should be a number, but it is text"),
    "history/grad_norm": ([float("nan"), 1.0], "history.grad_norm[0] is nan, not a finite number"),
    "history/evals/0/test_acc": (7.0, "history.evals[0].test_acc is 7, outside 0 to 1"),
    "history/param_summaries/0/params": ({}, "history.param_summaries[0].params should summarise exactly"),
    "history/param_summaries/0/params/readout.bias": (
        {"mean": 0.0}, "history.param_summaries[0].params.readout.bias.std should be a number, but it is empty"),
    "history/param_summaries/0/params/rnn.bias_hh_l0/hist": ([1, 2], "should have one more edge than it has"),
    "train_config/seed": (10**23, "train_config.seed is far too large"),
    "train_config/lr": (-1.0, "train_config is not a recipe this app can use: learning rate must be"),
    "train_config": ({"x": [1, 2]}, "train_config.x should be a number, but it is a list"),
    "dataset/train": ("x" * 10_000, "dataset.train is 10,000 characters long"),
    "format": ("rnn-demo/0", "it is a torch file but not an rnn-demo checkpoint"),
}


@pytest.mark.parametrize("field", list(CASES))
def test_every_field_is_checked_and_named(good, field):
    value, words = CASES[field]
    assert words in refused(spoil(good, field, value))


def test_a_diverged_runs_last_bad_step_is_kept(good):
    raw = spoil(good, "history/loss", [2.3, 1.9, float("nan")])
    assert np.isnan(checkpoints.load(io.BytesIO(raw)).history["loss"][-1])  # on record, as train.py leaves it


def test_one_list_repeated_many_times_is_refused_not_expanded(good):
    """A pickle can point at one summary from every entry for a few bytes each."""
    summary = dict(good["history"]["param_summaries"][0])
    big = {n: {"mean": 0.0, "std": 0.0, "min": 0.0, "max": 1.0, "edges": [0.0] * 1001, "hist": [0] * 1000}
           for n in summary["params"]}
    p = dict(good, history=dict(good["history"], param_summaries=[dict(summary, params=big)] * 1001))
    raw = dump(p)
    assert len(raw) < 200_000
    assert "its history holds more than 1,500,000 numbers in all" in refused(raw)


def test_archives_that_are_not_ours(good, tmp_path):
    raw = dump(good)
    deflated = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    assert "its archive is compressed" in refused(deflated.getvalue())
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as z:
        for i in range(checkpoints.MAX_MEMBERS + 1):
            z.writestr(f"archive/data/{i}", b"")
    assert f"its archive holds {checkpoints.MAX_MEMBERS + 1:,} files" in refused(many.getvalue())
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("notes.txt", "hello")
    assert "it is a zip archive without a checkpoint in it" in refused(other.getvalue())
    legacy = io.BytesIO()
    torch.save(good, legacy, _use_new_zipfile_serialization=False)
    assert "an old-style torch or pickle file" in refused(legacy.getvalue())
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
    assert refused(png, "cat.pt") == "cat.pt: this is not a torch checkpoint file (it is a PNG image)."
    assert refused(b"", "empty.pt") == "empty.pt: this is not a torch checkpoint file (it is an empty file)."


def test_a_large_record_is_refused_before_it_is_parsed(good, monkeypatch):
    monkeypatch.setattr(checkpoints, "MAX_PICKLE", 1000)
    assert "its record is" in refused(dump(good)) and "at most 1,000 bytes" in refused(dump(good))


def test_code_is_refused_and_named(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    message = refused(dump({"format": checkpoints.FORMAT, "model": Evil()}), "evil.pt")
    assert message == "evil.pt: it asks to run code (posix.system), which this app never does, so it was not loaded."
    assert not marker.exists()


HOSTILE = {  # uploads of at most 5 MB that once took seconds and gigabytes
    "stretched history": lambda g: spoil(g, "history/loss", torch.zeros(1).expand(10**10)),
    "huge input size": lambda g: spoil(g, "model_config/input_size", 250_000),
    "repeated summaries": lambda g: dump(dict(g, history=dict(g["history"], param_summaries=[
        {"epoch": 0, "step": 0, "params": {n: {"mean": 0.0, "std": 0.0, "min": 0.0, "max": 1.0,
                                             "edges": [0.0] * 1001, "hist": [0] * 1000} for n in g["model"]}}]
        * 1001))),
    "many floats": lambda g: dump(dict(g, history=dict(g["history"], loss=list(np.random.rand(400_000).tolist())))),
}


def test_no_hostile_upload_costs_more_than_200_mb_or_a_few_seconds(good, tmp_path):
    """Each file is loaded in a fresh process; its peak memory (VmHWM) grows by less than 200 MB."""
    files = {}
    for name, make in HOSTILE.items():
        raw = make(good)
        assert len(raw) <= 5 * 2**20, name
        files[name] = tmp_path / f"{name.replace(' ', '-')}.pt"
        files[name].write_bytes(raw)
    script = textwrap.dedent("""
        import sys, time
        from rnn_demo import checkpoints
        def hwm():
            return int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) // 1024
        before, t = hwm(), time.perf_counter()
        try:
            checkpoints.load(sys.argv[1])
            print("loaded", end=" ")
        except checkpoints.CheckpointError as exc:
            print("refused", end=" ")
        print(hwm() - before, round(time.perf_counter() - t, 2))
    """)
    for name, path in files.items():
        out = subprocess.run([sys.executable, "-c", script, str(path)], cwd=ROOT, capture_output=True, text=True,
                             timeout=120)
        verdict, mb, seconds = out.stdout.split()
        assert verdict == "refused", (name, out.stdout, out.stderr[-500:])
        assert int(mb) < 200 and float(seconds) < 10, (name, mb, seconds)


# --- the numerics guard ---------------------------------------------------------------------

def test_linear_algebra_never_sees_a_nan():
    """oneMKL's eigenvalue routine aborts the process on a NaN: it must never be called with one."""
    W = torch.eye(4, dtype=torch.float64)
    W[1, 2] = float("nan")
    with pytest.raises(ValueError, match="W_h holds NaN or infinite values"):
        gradients.spectral_radius(W)
    weights = gradients.fresh_rnn_weights(hidden=4, seed=0)
    weights["W_hh"] = W
    x = torch.rand(2, 28, 28, dtype=torch.float64)
    with pytest.raises(ValueError, match="W_h holds NaN or infinite values"):
        gradients.rnn_experiment(weights, x, torch.tensor([1, 2]), 0.9)
    from rnn_demo import analysis
    with pytest.raises(ValueError, match="hidden states hold NaN"):
        analysis.fit_pca(np.array([[0.0, np.inf], [1.0, 2.0]]))


# --- model files on disk: listed as unreadable, read once, never crash a page -----------------

@pytest.fixture
def bad_files(user_models, good):
    user_models.mkdir(parents=True, exist_ok=True)
    nan = dict(good, model=dict(good["model"], **{"rnn.weight_hh_l0": NAN}))
    (user_models / "nan.pt").write_bytes(dump(nan))
    (user_models / "narrow.pt").write_bytes(spoil(good, "model_config/input_size", 14))
    (user_models / "percent.pt").write_bytes(spoil(good, "metrics/test_acc", "99%"))
    (user_models / "three.pt").write_bytes(spoil(good, "model_config/num_classes", 3))
    (user_models / "[click](javascript:alert(1))_a_.pt").write_bytes(dump(good))  # fine, but named to harm
    (user_models / "fine.pt").write_bytes(dump(good))
    return user_models


def test_bad_files_are_listed_as_unreadable_and_read_once(bad_files, monkeypatch):
    calls = []
    real = checkpoints.load
    monkeypatch.setattr(checkpoints, "load", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    ui._read.clear()
    for _ in range(3):
        names, bad = ui.model_paths(), ui.unreadable_models()
    assert "fine" in names and not {"nan", "narrow", "percent", "three"} & set(names)
    assert "weight rnn.weight_hh_l0 holds NaN" in bad["nan"] and "must be 28" in bad["narrow"]
    assert "metrics.test_acc should be a number" in bad["percent"] and "must be 10" in bad["three"]
    assert "its file name has characters a model name cannot have" in bad["[click](javascript:alert(1))_a_"]
    assert len(calls) == len(set(calls)) == 9  # 4 shipped + 5 well-named user files, each read once


PAGES = ["app.py", "pages/1_Hidden_states.py", "pages/2_Gradient_flow.py", "pages/3_Draw.py",
         "pages/4_Train.py", "pages/5_Compare.py"]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_beside_bad_files_and_names_them_as_plain_text(bad_files, page):
    ui._read.clear()
    at = AppTest.from_file(str(ROOT / page), default_timeout=120)
    if page.endswith("Compare.py"):
        at.session_state["compare_models"] = ["rnn", "fine"]
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    notes = [c.value for c in at.caption if "cannot be used" in shown(c.value)]
    if page in ("app.py", "pages/1_Hidden_states.py", "pages/5_Compare.py"):  # the pages with a model list
        assert len(notes) == 1, "the page does not say which files it left out"
    for note in notes:  # a file's name is shown as written, never as a link
        assert r"\[click\]\(javascript\:alert\(1\)\)\_a\_" in note
        assert "[click](javascript:alert(1))_a_.pt" in shown(note)


def test_plain_escapes_everything_markdown_could_read():
    text = "[x](http://e.com) ![i](http://127.0.0.1/a.png) $x^2$ :red[hi] *b* <b>x</b> a_b_c\nnew `c` ~~s~~ # h"
    out = ui.plain(text)
    assert shown(out) == " ".join(text.split())
    specials = set("\\`*_{}[]()#+-.!|<>~$:^=&\"'")
    unescaped = [c for i, c in enumerate(out) if c in specials and (i == 0 or out[i - 1] != "\\")
                 and not (c == "\\" and i + 1 < len(out) and out[i + 1] in specials)]
    assert not unescaped


# --- no model is ever lost ------------------------------------------------------------------

def test_two_uploads_of_one_name_at_the_same_moment_keep_both(tmp_path, good):
    raw = dump(good)
    for round_ in range(50):
        folder = tmp_path / f"round{round_}"
        start, saved, errors = threading.Barrier(2), [], []

        def upload(name):
            start.wait()
            try:
                saved.append(jobs.import_checkpoint(raw, name, folder, shipped=("rnn",)))
            except Exception as exc:  # noqa: BLE001 - any failure is a lost upload
                errors.append(exc)

        threads = [threading.Thread(target=upload, args=(n,)) for n in ("mine.pt", "MINE.pt")]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert not errors and len(set(saved)) == 2
        assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in saved)  # no .tmp, no lock


def test_an_upload_during_a_training_of_the_same_name_gets_another_name(tmp_path, good, sample):
    tr, te = jobs.split_sample(sample)
    release = threading.Event()

    def loader(which):
        release.wait(30)
        return tr.subset(slice(0, 64)), te

    user = tmp_path / "user"
    mgr = jobs.JobManager(loader=loader)
    job = mgr.start("Mine", TINY, train.TrainConfig(batch_size=32, iterations=2), "sample", user, ("rnn",))
    with pytest.raises(store.BadName, match="being used right now by a training or an upload"):
        store.reserve(user, "mine")  # the running training holds it
    uploaded = jobs.import_checkpoint(dump(good), "mine.pt", user, ("rnn",))
    assert uploaded.name == "mine-2.pt"
    release.set()
    assert job.wait(60) and job.snapshot()["saved"] == user / "Mine.pt"
    assert files(user) == ["Mine.pt", "mine-2.pt"]  # and no reservation, lease or temporary file


def test_a_full_disk_keeps_the_trained_model_for_a_download(tmp_path, sample, monkeypatch):
    tr, te = jobs.split_sample(sample)

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoints, "save", full)
    user = tmp_path / "user"
    job = jobs.JobManager(loader=lambda w: (tr.subset(slice(0, 64)), te)).start(
        "kept", TINY, train.TrainConfig(batch_size=32, iterations=2), "sample", user, ())
    assert job.wait(60)
    s = job.snapshot()
    assert s["status"] == "done" and s["saved"] is None and s["unsaved"]
    assert "could not be saved on the server (No space left on device). Download it now" in s["message"]
    ckpt = checkpoints.load(io.BytesIO(job.unsaved))
    assert ckpt.history["loss"] == s["loss"]
    assert files(user) == []  # the name and the lease are free again


def test_a_reloaded_tab_finds_its_run_by_the_token_in_its_url(tmp_path, sample):
    tr, te = jobs.split_sample(sample)
    mgr = jobs.JobManager(heartbeat_s=0.5, loader=lambda w: (tr.subset(slice(0, 64)), te))
    job = mgr.start("mine", TINY, train.TrainConfig(batch_size=32, iterations=100_000), "sample", tmp_path, (),
                    owner="old-tab", alive=lambda: False)
    assert mgr.find(job.token) is job and mgr.find("guess") is None and mgr.find(None) is None
    job.adopt("new-tab", lambda: True)
    time.sleep(1.5)  # past the heartbeat: the new tab is connected, so the run goes on
    assert not job.finished_ok and job.snapshot()["owner"] == "new-tab"
    job.stop("test over")
    assert job.wait(30) and job.snapshot()["saved"] == tmp_path / "mine.pt"


def test_what_dead_processes_left_is_cleaned_at_start(tmp_path):
    dead = 2**22 + 12345  # above any pid this machine hands out
    host = os.uname().nodename
    half = tmp_path / f".mine.pt.{dead}.abc123.tmp"
    half.write_bytes(b"half")
    os.utime(half, (time.time() - 3600,) * 2)  # an hour old: no save takes that long
    (tmp_path / f".mine.pt.{os.getpid()}.def456.tmp").write_bytes(b"being written")
    (tmp_path / ".gone.reserved").write_text(f"{host} {dead}")
    (tmp_path / ".held.reserved").write_text(f"{host} {os.getpid()}")
    elsewhere = tmp_path / ".far.reserved"  # another host's: judged by age
    elsewhere.write_text("other-host 1")
    (tmp_path / ".near.reserved").write_text("other-host 2")
    os.utime(elsewhere, (time.time() - store.LEASE_S - 5,) * 2)
    gone = store.clean(tmp_path)
    assert sorted(p.name for p in gone) == [".far.reserved", ".gone.reserved", half.name]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".held.reserved", f".mine.pt.{os.getpid()}.def456.tmp",
                                                          ".near.reserved"]
    store.reserve(tmp_path, "gone").release()  # a dead process's reservation does not block the name


# --- the command line -------------------------------------------------------------------------

@pytest.mark.parametrize("args, words", [
    (["--epochs", "inf"], "epochs must be a number from 0 to 1,000"),
    (["--seed", str(10**23)], "seed must be a whole number"),
    (["--lr", "1e6"], "learning rate must be a number above 0 and at most 1,000"),
    (["--hidden", "100000"], "hidden size must be between 1 and 512"),
    (["--iterations", "300000"], "iterations must be a whole number from 0 to 200,000"),
    (["--out", "{tmp}"], "is a folder"),
    (["--out", "{tmp}/no/such/folder/x.pt"], "does not exist"),
    (["--out", "/proc/x.pt"], "cannot write in '/proc'"),
])
def test_the_cli_refuses_bad_arguments_before_training(tmp_path, capsys, args, words):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    out = [] if "--out" in args else ["--out", str(tmp_path / "x.pt")]
    assert train.main(["--sample", *args, *out]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err and "Traceback" not in err
    assert not (tmp_path / "x.pt").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_the_cli_refuses_a_gpu_it_does_not_have(tmp_path, capsys):
    assert train.main(["--sample", "--device", "cuda", "--out", str(tmp_path / "x.pt")]) == 2
    assert "torch sees no GPU" in capsys.readouterr().err


def test_an_exploding_loss_counts_as_divergence(sample):
    result = train.train(TINY, train.TrainConfig(optimizer="sgd", lr=500.0, clip=0.0, batch_size=50, iterations=20,
                                                 schedule="constant", init="default"),
                         sample.subset(slice(0, 500)), sample.subset(slice(500, 600)))
    assert result.status == "diverged", result.history["loss"]
    bad = result.history["loss"][-1]
    assert not bad <= min(train.EXPLODED, 100 * result.history["loss"][0])


def test_a_save_that_fails_after_training_is_a_clean_error(tmp_path, capsys, monkeypatch):
    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoints, "save", full)
    assert train.main(["--sample", "--iterations", "2", "--out", str(tmp_path / "x.pt")]) == 1
    err = capsys.readouterr().err
    assert "error: the trained model could not be written to" in err and "No space left on device" in err


# --- corrupt MNIST files ----------------------------------------------------------------------

def write_mnist(root: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for split in ("train", "t10k"):
        (raw / f"{split}-images-idx3-ubyte").write_bytes(
            (2051).to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in images.shape) + images.tobytes())
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(
            (2049).to_bytes(4, "big") + len(labels).to_bytes(4, "big") + labels.tobytes())
    return raw


def damaged(raw: Path, how: str) -> None:
    f = raw / "t10k-images-idx3-ubyte"
    lab = raw / "t10k-labels-idx1-ubyte"
    if how == "truncated":
        f.write_bytes(f.read_bytes()[:-100])
    elif how == "wrong magic":
        f.write_bytes(b"\0\0\0\0" + f.read_bytes()[4:])
    elif how == "empty labels":
        lab.write_bytes(b"")
    elif how == "one label short":
        b = lab.read_bytes()
        lab.write_bytes(b[:4] + (int.from_bytes(b[4:8], "big") - 1).to_bytes(4, "big") + b[8:-1])
    elif how == "label out of range":
        lab.write_bytes(lab.read_bytes()[:-1] + bytes([200]))
    elif how == "garbage in processed":
        (raw.parent / "processed").mkdir()
        (raw.parent / "processed" / "test.pt").write_bytes(b"garbage")


@pytest.mark.parametrize("how, words", [
    ("truncated", "cut short or damaged"), ("wrong magic", "is not an MNIST image file"),
    ("empty labels", "too short to be an MNIST file"), ("one label short", "holds 20 images but"),
    ("label out of range", "holds the label 200; digits are 0 to 9"), ("garbage in processed", None),
])
def test_corrupt_mnist_names_the_file_and_the_problem(tmp_path, capsys, how, words):
    s = data.load_sample()
    some = np.flatnonzero(s.labels.numpy() < 5)[:20]  # 20 digits, none of them 5 to 9
    raw = write_mnist(tmp_path, s.images.numpy()[some], s.labels.numpy()[some].astype(np.uint8))
    damaged(raw, how)
    data._load_mnist.cache_clear()
    ckpt = ROOT / "models" / "rnn.pt"
    if words is None:  # processed/ is never read: the raw files are fine
        assert len(data.load_mnist(False, tmp_path, download=False)) == 20
        assert evaluate.main([str(ckpt), "--data", str(tmp_path)]) == 0
        line = json.loads(capsys.readouterr().out)  # valid JSON, with no NaN in it
        assert line["n"] == 20 and set(line["per_class"]) == set("0123456789")
        assert any(v is None for v in line["per_class"].values())  # a digit not in these 20: no NaN
        return
    with pytest.raises(data.DataCorrupt, match=words):
        data.load_mnist(False, tmp_path, download=False)
    assert evaluate.main([str(ckpt), "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "t10k-" in err and words in err and "Traceback" not in err
