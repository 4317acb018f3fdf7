"""The Train page in AppTest: a short run gives a checkpoint that loads and predicts; Stop ends a
run; uploads are checked."""

import pytest
from streamlit.testing.v1 import AppTest

from rnn_demo import checkpoints, jobs, train, ui
from rnn_demo.model import ModelConfig, build
from tests.conftest import poll, shown

PAGE = str(ui.ROOT / "pages" / "4_Train.py")


@pytest.fixture
def at(user_models):
    yield AppTest.from_file(PAGE, default_timeout=60).run()
    job = ui.job_manager().current()  # never leave a run going for the next test
    if job is not None:
        job.stop("test over")
        job.wait(30)


def small_run(at, name: str, iterations: int):
    at.select_slider(key="train_hidden").set_value(8)
    at.radio(key="train_length").set_value("iterations").run()
    at.number_input(key="train_iterations").set_value(iterations)
    at.text_input(key="train_name").set_value(name)
    at.button(key="train_start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]


def test_train_a_few_steps_gives_a_checkpoint_that_predicts(at, user_models, sample):
    assert not at.exception
    small_run(at, "tiny rnn", 6)
    poll(at, lambda a: a.success)
    assert "Saved as tiny-rnn: test accuracy" in shown(at.success[0].value) and not at.exception
    ckpt = checkpoints.load(user_models / "tiny-rnn.pt")
    assert ckpt.model_config == ModelConfig(hidden_size=8) and len(ckpt.history["loss"]) == 6
    held_out = jobs.split_sample(sample)[1]
    acc, preds = train.accuracy(ckpt.model, held_out)  # it predicts, and the saved metric is its own
    assert preds.shape == (200,) and acc == pytest.approx(ckpt.metrics["test_acc"])
    assert f"{acc:.1%}" in shown(at.success[0].value)
    assert "tiny-rnn" in ui.model_paths()  # selectable on every page at once
    assert at.selectbox(key="train_show").value == "tiny-rnn"  # and its weight summaries are shown
    assert len(at.get("plotly_chart")) == 4


def test_stop_ends_a_run(at, user_models):
    small_run(at, "stop-me", 50_000)  # 1,000 epochs at batch 16
    job = ui.job_manager().current()
    assert job is not None and job.name == "stop-me"
    poll(at, lambda a: job.snapshot()["step"] >= 2)
    at.button(key="train_stop").click().run()
    poll(at, lambda a: a.warning)
    message = shown(at.warning[0].value)
    assert message.startswith("Stopped by you after") and message.endswith("Saved as stop-me.")
    assert job.snapshot()["status"] == "stopped" and ui.job_manager().current() is None
    assert checkpoints.load(user_models / "stop-me.pt").history["status"] == "stopped"


def test_shipped_names_are_refused(at):
    small_run_name = "RNN"
    at.text_input(key="train_name").set_value(small_run_name)
    at.button(key="train_start").click().run()
    assert "name of a shipped model" in at.error[0].value and ui.job_manager().current() is None


def test_upload_a_broken_then_a_good_checkpoint(at, user_models, tmp_path):
    at.file_uploader(key="train_upload").upload("broken.pt", b"PK\x03\x04 not really a checkpoint").run()
    assert not at.exception
    assert shown(at.error[0].value).startswith("That file was not loaded. broken.pt: the file is cut short or damaged")
    assert not (user_models / "broken.pt").exists()
    good = checkpoints.save(tmp_path / "friend.pt", build(ModelConfig(cell="gru", hidden_size=8))).read_bytes()
    at.file_uploader(key="train_upload").set_value(("friend.pt", good, "application/octet-stream")).run()
    assert not at.exception and not at.error
    assert shown(at.success[0].value).startswith("Loaded friend: it is now in every page's model list")
    assert checkpoints.load(user_models / "friend.pt").model_config.cell == "gru"
    assert at.selectbox(key="train_show").value == "friend"


def test_a_full_disk_offers_the_model_as_a_download(at, user_models, monkeypatch):
    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoints, "save", full)
    small_run(at, "no-room", 4)
    poll(at, lambda a: a.warning)
    assert "could not be saved on the server (No space left on device). Download it now" in shown(at.warning[0].value)
    button = at.get("download_button")
    assert any("no-room.pt (not saved on the server)" in b.proto.label for b in button)
    assert [p.name for p in user_models.iterdir()] == [".training.lock"]  # the name and the lease are free again


def test_a_reloaded_tab_finds_its_run_again(at, user_models, monkeypatch):
    tab = ["first-session"]  # AppTest gives every script the same session id: set them here
    monkeypatch.setattr(ui, "session_id", lambda: tab[0])
    small_run(at, "keep-me", 50_000)
    job = ui.job_manager().current()
    assert job.owner == "first-session"
    token = at.query_params["run"]
    token = token[0] if isinstance(token, list) else token
    assert token == job.token
    tab[0] = "after-reload"  # the reloaded tab is a new session with the same URL
    reloaded = AppTest.from_file(PAGE, default_timeout=60)
    reloaded.query_params["run"] = token
    reloaded.run()
    assert not reloaded.exception and job.owner == "after-reload"
    assert any("Training your model: 'keep-me'" in shown(h.value) for h in reloaded.subheader)
    assert reloaded.button(key="train_stop")  # it is this tab's run again: it can stop it
    tab[0] = "another-learner"  # without the token: someone else's run, no Stop
    stranger = AppTest.from_file(PAGE, default_timeout=60).run()
    assert any("(someone else's run)" in shown(h.value) for h in stranger.subheader)
    assert not [b for b in stranger.button if b.key == "train_stop"] and job.owner == "after-reload"
    tab[0] = "after-reload"
    reloaded.button(key="train_stop").click().run()
    assert job.wait(30) and job.snapshot()["status"] == "stopped"


def test_a_run_whose_checkpoint_would_be_refused_cannot_start(at):
    """Issue 24: batch 16 x 50,100 iterations on the sample (50 steps an epoch) records 1,003 weight
    summaries, two more than a checkpoint may hold: refused before Start, not after the run."""
    at.select_slider(key="train_batch").set_value(16)
    at.radio(key="train_length").set_value("iterations").run()
    at.number_input(key="train_iterations").set_value(50_100).run()
    assert "1,003 weight summaries" in at.error[0].value and "at most 1,001" in at.error[0].value
    assert at.button(key="train_start").disabled
    at.number_input(key="train_iterations").set_value(50_000).run()  # 1,001: the checkpoint's own limit
    assert not at.error and not at.button(key="train_start").disabled
