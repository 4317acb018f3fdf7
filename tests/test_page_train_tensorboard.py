"""The Train page writes TensorBoard logs by default, into runs/<name>/ beside the user's models,
offers them as a zip, and a folder it cannot write costs a warning, never the model."""
import io
import zipfile

from tensorboard.backend.event_processing import event_accumulator as ea

from rnn_demo import checkpoints, export, tblog, ui
from tests.conftest import poll
from tests.test_page_train import at, small_run  # noqa: F401 (the page, and no run left going)


def test_a_run_logs_to_its_folder_by_default(at, user_models):  # noqa: F811
    assert at.checkbox(key="train_tensorboard").value is True
    small_run(at, "tb-rnn", 5)
    poll(at, lambda a: a.success)
    run = user_models.parent / "runs" / "tb-rnn"
    assert ui.run_dir("tb-rnn") == run and len(tblog.event_files(run)) == 1
    acc = ea.EventAccumulator(str(run))
    acc.Reload()
    history = checkpoints.load(user_models / "tb-rnn.pt").history
    assert [round(e.value, 5) for e in acc.Scalars("train/loss")] == [round(v, 5) for v in history["loss"]]
    assert "TensorBoard logs of tb-rnn (zip)" in str(at.get("download_button"))
    names = zipfile.ZipFile(io.BytesIO(export.zip_folder(run, tblog.EVENTS_GLOB))).namelist()
    assert names == [f"tb-rnn/{tblog.event_files(run)[0].name}"]


def test_logs_off(at, user_models):  # noqa: F811
    at.checkbox(key="train_tensorboard").uncheck().run()
    small_run(at, "no-tb", 3)
    poll(at, lambda a: a.success)
    assert not (user_models.parent / "runs" / "no-tb").exists()
    assert (user_models / "no-tb.pt").exists()


def test_an_unwritable_log_folder_warns_and_saves_the_model(at, user_models):  # noqa: F811
    (user_models.parent / "runs").write_text("a file where the runs folder would be")
    small_run(at, "tb-blocked", 3)
    poll(at, lambda a: a.success)
    assert "TensorBoard logging" in at.warning[0].value and "training went on" in at.warning[0].value
    assert len(checkpoints.load(user_models / "tb-blocked.pt").history["loss"]) == 3
