"""Bad input at the level of the page a user sees: every case gets a plain st.error / st.warning /
st.info, no exception, and nothing is lost (no file written or overwritten, the rest of the page
still shown). The library-level checks live in test_checkpoints, test_train, test_data,
test_canvas and test_jobs; the Draw page's empty canvas, single dot and canvas full of ink are in
test_page_draw (test_empty_canvas_shows_a_friendly_message, test_bad_drawings_say_why)."""
import io
import os
import time
import tomllib

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from rnn_demo import checkpoints, data, gradients, jobs, model, threads, train, ui
from rnn_demo.model import ModelConfig, build
from tests.conftest import poll, shown

TRAIN = str(ui.ROOT / "pages" / "4_Train.py")
GRADIENT = str(ui.ROOT / "pages" / "2_Gradient_flow.py")
HIDDEN = str(ui.ROOT / "pages" / "1_Hidden_states.py")


@pytest.fixture
def train_page(train_workers):
    return AppTest.from_file(TRAIN, default_timeout=60).run()


def errors(at) -> list[str]:
    return [shown(e.value) for e in at.error]


# --- uploads on the Train page -------------------------------------------------------------

def _good_bytes(tmp_path) -> bytes:
    return checkpoints.save(tmp_path / "good.pt", build(ModelConfig("lstm", 8))).read_bytes()


def _evil_bytes(tmp_path, marker) -> bytes:
    class Evil:  # a pickle that runs a shell command when loaded with plain pickle
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    buf = io.BytesIO()
    torch.save({"format": checkpoints.FORMAT, "model_config": {"cell": "rnn"}, "model": Evil()}, buf)
    return buf.getvalue()


def _other_architecture(tmp_path) -> bytes:
    payload = torch.load(io.BytesIO(_good_bytes(tmp_path)), weights_only=True)
    payload["model_config"]["hidden_size"] = 32  # says LSTM 32, holds the weights of an LSTM 8
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


def _foreign(tmp_path) -> bytes:
    buf = io.BytesIO()
    torch.save({"state_dict": {"fc.weight": torch.zeros(10, 28)}}, buf)  # someone else's torch file
    return buf.getvalue()


UPLOADS = {  # file -> (bytes maker, words the message must hold)
    "notes.pt": (lambda tmp: "just some text, not a checkpoint\n".encode(),
                 "this is not a torch checkpoint file (it is a text file)."),
    "cut.pt": (lambda tmp: _good_bytes(tmp)[: len(_good_bytes(tmp)) // 2], "the file is cut short or damaged"),
    "foreign.pt": (_foreign, "it is a torch file but not an rnn-demo checkpoint"),
    "wrong-arch.pt": (_other_architecture, "weight rnn.weight_ih_l0 has shape (32, 28), but a LSTM 32 needs (128, 28)."),
}


@pytest.mark.parametrize("filename", list(UPLOADS))
def test_a_bad_upload_is_refused_with_a_message_and_nothing_is_lost(train_page, user_models, tmp_path, filename):
    at = train_page
    models_before = list(ui.model_paths())
    make, words = UPLOADS[filename]
    at.file_uploader(key="train_upload").upload(filename, make(tmp_path)).run()
    assert not at.exception
    assert len(at.error) == 1 and errors(at)[0].startswith(f"That file was not loaded. {filename}: ")
    assert words in errors(at)[0]
    assert "Traceback" not in errors(at)[0]
    assert list(ui.model_paths()) == models_before and not list(user_models.glob("*.pt"))
    # the rest of the page is still there and still works: the model list, the download button
    assert at.selectbox(key="train_show").value == models_before[0]
    assert at.get("download_button") and at.button(key="train_start")


def test_a_pickle_that_would_run_code_never_runs(train_page, user_models, tmp_path):
    marker = tmp_path / "pwned"
    raw = _evil_bytes(tmp_path, marker)
    # The bytes really are armed: plain pickle loading would run the command.
    with pytest.raises(Exception):
        torch.load(io.BytesIO(raw), weights_only=True)
    at = train_page
    at.file_uploader(key="train_upload").upload("evil.pt", raw).run()
    at.run()  # and once more, as a rerun of the page would
    assert not at.exception
    assert errors(at) == ["That file was not loaded. evil.pt: it asks to run code (posix.system), which this "
                          "app never does, so it was not loaded."]
    assert not marker.exists(), "the upload's code ran"
    assert not list(user_models.glob("*.pt"))
    # the proof that the marker test can fail: unsafe loading runs the code and makes the file
    torch.load(io.BytesIO(raw), weights_only=False)
    assert marker.exists()


def test_a_too_large_upload_is_refused_with_a_message(train_page, user_models, tmp_path, monkeypatch):
    # The browser's uploader refuses files over server.maxUploadSize (5 MB) itself, before sending
    # them (test_uploads_are_limited_and_the_app_binds_localhost); the page checks the size again,
    # in case a file reaches it by another way. Lower the page's limit below a real checkpoint.
    good = _good_bytes(tmp_path)
    monkeypatch.setattr(checkpoints, "MAX_BYTES", len(good) - 1)
    at = train_page
    at.file_uploader(key="train_upload").upload("big.pt", good).run()
    assert not at.exception
    assert errors(at) == [f"That file was not loaded. big.pt is more than {len(good) - 1:,} bytes, too large for a "
                          "checkpoint."]
    assert not list(user_models.glob("*.pt"))


def test_uploads_are_limited_and_the_app_binds_localhost(train_page):
    config = tomllib.loads((ui.ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"  # nobody else on the network sees it by default
    assert 0 < config["server"]["maxUploadSize"] <= 5  # MB
    assert config["client"]["showErrorDetails"] in ("none", False)  # no stack traces in the browser
    # what the browser is told: the uploader itself refuses bigger files, and takes only .pt
    uploader = train_page.file_uploader(key="train_upload").proto
    assert uploader.max_upload_size_mb == config["server"]["maxUploadSize"]
    assert list(uploader.type) == [".pt"]
    # the library refuses anything larger before parsing it, whatever the server allows
    assert checkpoints.MAX_BYTES >= config["server"]["maxUploadSize"] * 1024 * 1024


# --- training that goes wrong ---------------------------------------------------------------

def test_a_loss_that_becomes_nan_stops_training_keeps_the_last_good_weights(train_page, user_models,
                                                                            monkeypatch, sample):
    """The page's learning rate is capped at 1.0, and no recipe the page offers diverged in 40
    steps (tanh and gated states are bounded); so the NaN is injected: after GOOD steps the loss
    becomes NaN, as it does when a run blows up."""
    good_steps, total = 4, 20
    real = torch.nn.CrossEntropyLoss

    class BlowsUp(real):
        calls = 0

        def forward(self, logits, target):
            BlowsUp.calls += 1
            loss = super().forward(logits, target)
            return loss * float("nan") if BlowsUp.calls > good_steps else loss

    at = train_page
    at.select_slider(key="train_hidden").set_value(8)
    at.selectbox(key="train_schedule").set_value("constant")
    at.radio(key="train_length").set_value("iterations").run()
    at.number_input(key="train_iterations").set_value(total)
    at.text_input(key="train_name").set_value("blows-up")
    monkeypatch.setattr(torch.nn, "CrossEntropyLoss", BlowsUp)
    at.button(key="train_start").click().run()
    poll(at, lambda a: a.error)
    monkeypatch.setattr(torch.nn, "CrossEntropyLoss", real)
    assert not at.exception
    message = errors(at)[0]
    assert message.startswith(f"Training diverged at step {good_steps + 1} (loss nan")
    assert "kept the weights from the step before" in message and message.endswith("Saved as blows-up.")
    assert [r["status"] for r in ui.train_queue().records()] == ["diverged"]  # nothing left in line

    ckpt = checkpoints.load(user_models / "blows-up.pt")
    assert ckpt.history["status"] == "diverged" and len(ckpt.history["batch_acc"]) == good_steps
    weights = ckpt.model.state_dict()
    assert all(torch.isfinite(v).all() for v in weights.values())
    # ...and they are the weights after exactly `good_steps` steps of the same run
    batch = int(at.select_slider(key="train_batch").value)  # the page's own setting (Quick start's)
    cfg = jobs.config_for("sample", train.TrainConfig(optimizer="adam", lr=0.003, batch_size=batch, iterations=total,
                                                      clip=1.0, init="orthogonal", schedule="constant"))
    tr, te = jobs.split_sample(sample)
    steps: list[int] = []
    with threads.limit(jobs.TRAIN_THREADS):
        ref = train.train(ModelConfig(hidden_size=8), cfg, tr, te, on_step=lambda s, m: steps.append(s),
                          should_stop=lambda: len(steps) >= good_steps).model.state_dict()
    start = build(ModelConfig(hidden_size=8)).state_dict()
    for k, v in weights.items():
        torch.testing.assert_close(v, ref[k], atol=1e-6, rtol=1e-5)
    assert any(not torch.allclose(weights[k], start[k]) for k in start if "weight" in k)


def test_full_mnist_missing_offline(train_page, monkeypatch):
    monkeypatch.setattr(data, "mnist_available", lambda root=None: False)
    at = train_page
    at.radio(key="train_data").set_value("mnist").run()
    assert not at.exception and not at.error
    assert any("The full MNIST is not on this machine" in i.value and data.ENV_VAR in i.value for i in at.info)
    assert any("Choose the bundled sample" in w.value for w in at.warning)
    assert at.button(key="train_start").disabled  # nothing to start, so nothing can fail half-way
    at.radio(key="train_data").set_value("sample").run()
    assert not at.button(key="train_start").disabled and not at.warning


# --- settings out of range ------------------------------------------------------------------

def test_train_settings_cannot_leave_their_range(train_page):
    at = train_page
    assert at.select_slider(key="train_hidden").options == ["8", "16", "32", "64", "128", "256"]
    lr = at.number_input(key="train_lr")
    assert (lr.min, lr.max) == (1e-5, 1.0)
    for bad in (0.0, 1000.0, -1.0):  # a value past the bounds is not taken (the browser clamps it too)
        at.number_input(key="train_lr").set_value(bad).run()
        assert not at.exception
        assert 1e-5 <= at.number_input(key="train_lr").value <= 1.0
    at.radio(key="train_length").set_value("iterations").run()
    it = at.number_input(key="train_iterations")
    assert (it.min, it.max) == (1, 100_000)
    at.number_input(key="train_iterations").set_value(0).run()
    assert not at.exception and at.number_input(key="train_iterations").value >= 1
    assert not at.error


def test_a_recipe_the_library_refuses_gets_a_message(train_page, monkeypatch):
    """Hidden size too large for the library (its limit lowered below a page option): the page
    says why and the start button is off."""
    monkeypatch.setattr(model, "MAX_HIDDEN", 100)
    at = train_page
    at.select_slider(key="train_hidden").set_value(128).run()
    assert not at.exception
    assert errors(at) == ["This recipe cannot run: hidden size must be between 1 and 100, not 128."]
    assert at.button(key="train_start").disabled
    at.select_slider(key="train_hidden").set_value(64).run()
    assert not at.error and not at.button(key="train_start").disabled


def test_hidden_size_zero_or_huge_is_refused_by_the_library():
    for bad in (0, -3, model.MAX_HIDDEN + 1, 10**9):
        with pytest.raises(ValueError, match="hidden size must be between 1 and"):
            ModelConfig(hidden_size=bad)


def test_extra_rows_out_of_range_on_the_gradient_page(user_models, monkeypatch):
    """The page offers 25 to 300 extra rows; the library takes 0 to MAX_EXTRA_ROWS. Lower the
    library's limit: the page shows its message instead of a stack trace."""
    import streamlit as st
    st.cache_data.clear()  # the limit is checked where the result is computed, not on a stored one
    monkeypatch.setattr(gradients, "MAX_EXTRA_ROWS", 50)
    at = AppTest.from_file(GRADIENT, default_timeout=90)
    at.session_state["grad_sequence"] = "noise"
    at.session_state["grad_extra"] = 100
    at.run()
    assert not at.exception
    assert "This setting could not be shown: extra rows must be between 0 and 50, not 100" in errors(at)
    with pytest.raises(ValueError, match="extra rows must be between 0 and 50"):
        gradients.make_sequences(sample_images(), "blank", -1)


def sample_images():
    return data.load_sample().images[:2]


@pytest.mark.parametrize("shape", [(0, 28), (28, 0), (10, 10)])
def test_a_drawing_of_the_wrong_length_is_skipped_with_a_warning(user_models, shape):
    """A sequence of 0 rows (or a wrong size) where the drawn digit should be: both pages that use
    the drawing say so and show the rest of the page."""
    bad = np.zeros(shape, np.uint8)
    at = AppTest.from_file(HIDDEN, default_timeout=90)
    at.session_state["hs_source"] = "My drawing"
    at.session_state[ui.DRAWN_DIGIT] = bad
    at.run()
    assert not at.exception and not at.error
    assert f"{shape} instead of 28 × 28" in at.warning[0].value

    at = AppTest.from_file(GRADIENT, default_timeout=90)
    at.session_state[ui.DRAWN_DIGIT] = bad
    at.run()
    assert not at.exception and not at.error, errors(at)
    assert any(f"{shape} instead of 28 × 28" in w.value for w in at.warning)
    assert [h.value for h in at.header] == ["1. Gradient norm through time", "2. Make it vanish or explode",
                                            "3. During training", "4. Why it happens"]


def test_a_sequence_of_no_rows_is_refused_by_the_library(user_models):
    from rnn_demo import analysis
    ckpt = ui.load_model("rnn")
    with pytest.raises(ValueError, match="28 x 28"):
        analysis.digit_trace(ckpt.model, np.zeros((0, 28), np.uint8), None)


# --- faults -------------------------------------------------------------------------------

def test_a_closed_tab_frees_the_server(tmp_path, sample):
    """The Train page passes `alive` = "is this browser session still connected"
    (Runtime.is_active_session). When the tab closes it turns False: the run stops within the
    heartbeat, saves what it learned, and the next user can start a run."""
    shipped = ("rnn",)
    tr, te = jobs.split_sample(sample)
    mgr = jobs.JobManager(heartbeat_s=0.5, loader=lambda which: (tr.subset(slice(0, 128)), te))
    connected = [True]
    job = mgr.start("left-open", ModelConfig(hidden_size=8),
                    train.TrainConfig(batch_size=2, iterations=64_000, schedule="constant"),  # 1,000 epochs: fits a checkpoint
                    "sample", tmp_path / "user", shipped, owner="tab1", alive=lambda: connected[0])
    deadline = time.time() + 30
    while job.snapshot()["step"] < 5 and time.time() < deadline:
        time.sleep(0.05)  # the page is not polling (no touch): only `alive` keeps it going
    time.sleep(1.0)  # longer than the heartbeat: still running while the tab is connected
    assert not job.finished_ok and mgr.current() is job
    connected[0] = False  # the tab is closed
    closed = time.time()
    assert job.wait(10)
    assert time.time() - closed < 5
    s = job.snapshot()
    assert s["status"] == "stopped" and "was the tab closed?" in s["message"]
    assert mgr.current() is None
    assert checkpoints.load(s["saved"]).history["status"] == "stopped"  # what it learned is kept
    nxt = mgr.start("next", ModelConfig(hidden_size=8), train.TrainConfig(batch_size=32, iterations=2),
                    "sample", tmp_path / "user", shipped, owner="tab2")
    assert nxt.wait(30) and nxt.snapshot()["status"] == "done"
