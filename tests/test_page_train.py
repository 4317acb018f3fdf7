"""The Train page in AppTest: a short run, through the class's training queue and its workers,
gives a checkpoint that loads and predicts; the place in line shows; Cancel and Stop end a run;
a reloaded tab finds its run, a shared link shows it without its controls; uploads are checked."""

import pytest
from streamlit.testing.v1 import AppTest

from rnn_demo import checkpoints, jobs, queue, train, ui
from rnn_demo.model import ModelConfig, build
from tests.conftest import poll, shown

PAGE = str(ui.ROOT / "pages" / "4_Train.py")


@pytest.fixture
def at(train_workers):
    return AppTest.from_file(PAGE, default_timeout=60).run()


def the_run(tq, name):
    """The latest run of that name."""
    return [r for r in tq.records() if r["name"] == name][-1]


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


def test_stop_ends_a_run(at, user_models, train_workers):
    small_run(at, "stop-me", 50_000)  # 1,000 epochs at batch 16
    poll(at, lambda a: the_run(train_workers, "stop-me")["step"] >= 2)
    at.button(key="train_stop").click().run()
    poll(at, lambda a: a.warning)
    message = shown(at.warning[0].value)
    assert message.startswith("Stopped by you after") and message.endswith("Saved as stop-me.")
    assert the_run(train_workers, "stop-me")["status"] == "stopped"
    assert checkpoints.load(user_models / "stop-me.pt").history["status"] == "stopped"


def test_a_run_waits_in_line_with_its_place_and_can_be_cancelled(at, user_models, train_workers):
    # two other learners' long runs take both workers; ours waits third in line
    others = [train_workers.submit(f"other{i}", ModelConfig(hidden_size=8),
                                   train.TrainConfig(batch_size=32, iterations=20_000), "sample",
                                   learner=f"other{i}", secret=f"s{i}") for i in range(2)]
    poll(at, lambda a: all(train_workers.get(r["id"])["step"] > 0 for r in others))
    small_run(at, "patient", 50)
    bar = at.get("progress")[0].proto.text
    assert bar.startswith("Place 1 in line · starts in about ") and " · done in about " in bar
    assert any(shown(c.value).startswith("The class's training queue: 1 run waiting · 2 training · 2 workers.")
               for c in at.caption)
    with pytest.raises(KeyError):
        at.button(key="train_stop")  # waiting: Cancel, not Stop
    at.button(key="train_cancel").click().run()
    poll(at, lambda a: a.warning)
    assert shown(at.warning[0].value).startswith("Cancelled before it started; nothing was trained.")
    assert the_run(train_workers, "patient")["status"] == "cancelled" and not (user_models / "patient.pt").exists()
    small_run(at, "patient", 5)  # the learner may start again at once, under the same name
    assert the_run(train_workers, "patient")["status"] in queue.ACTIVE


def test_shipped_names_are_refused(at):
    small_run_name = "RNN"
    at.text_input(key="train_name").set_value(small_run_name)
    at.button(key="train_start").click().run()
    assert "name of a shipped model" in at.error[0].value and not ui.train_queue().records()


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
    assert not list(user_models.iterdir())  # nothing half-written, and the name is free again


def test_a_reloaded_tab_finds_its_run_and_a_shared_link_controls_nothing(at, train_workers, monkeypatch):
    browser = ["first-browser"]  # the browser's secret (its cookie in a real one): a reload keeps it
    monkeypatch.setattr(ui, "learner_keys", lambda: (browser[0], "learner-" + browser[0]))
    small_run(at, "keep-me", 50_000)
    rec = the_run(train_workers, "keep-me")
    token = at.query_params["run"]
    token = token[0] if isinstance(token, list) else token
    assert token == rec["token"] and rec["learner"] == "learner-first-browser"
    reloaded = AppTest.from_file(PAGE, default_timeout=60)  # a new session, same address, same browser
    reloaded.query_params["run"] = token
    reloaded.run()
    assert not reloaded.exception
    assert any("Training your model: 'keep-me'" in shown(h.value) for h in reloaded.subheader)
    poll(reloaded, lambda a: [b for b in a.button if b.key == "train_stop"])  # its own run: it can stop it
    browser[0] = "a-friend"  # the link, opened in another browser: the run is shown, never its controls
    friend = AppTest.from_file(PAGE, default_timeout=60)
    friend.query_params["run"] = token
    friend.run()
    assert any("(someone else's run): 'keep-me'" in shown(h.value) for h in friend.subheader)
    assert not [b for b in friend.button if b.key in ("train_stop", "train_cancel")]
    browser[0] = "first-browser"
    without_link = AppTest.from_file(PAGE, default_timeout=60).run()  # even without the address: its run
    assert any("Training your model: 'keep-me'" in shown(h.value) for h in without_link.subheader)
    without_link.button(key="train_stop").click().run()
    poll(without_link, lambda a: the_run(train_workers, "keep-me")["status"] == "stopped")


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
