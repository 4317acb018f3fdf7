"""TensorBoard logging: the event files a run writes, read back with TensorBoard's own reader, hold
the run's history (the same numbers, as float32), and a writer that fails never loses the run."""
import errno

import numpy as np
import pytest

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing import event_accumulator as ea  # noqa: E402

from rnn_demo import checkpoints, data, tblog, train  # noqa: E402
from rnn_demo.model import ModelConfig  # noqa: E402
from rnn_demo.train import TrainConfig  # noqa: E402

PARAMS = ["W_x", "W_h", "b_x", "b_h", "W_l", "b_l"]


def read(folder) -> ea.EventAccumulator:
    acc = ea.EventAccumulator(str(folder), size_guidance={ea.SCALARS: 0, ea.HISTOGRAMS: 0})
    acc.Reload()
    return acc


def f32(values) -> list[float]:
    return [float(np.float32(v)) for v in values]


@pytest.fixture(scope="module")
def digits():
    s = data.load_sample()
    return s.subset(slice(0, 200)), s.subset(slice(900, 1000))


def test_the_cli_run_writes_what_tensorboard_reads(tmp_path):
    # The issue's own command: python -m rnn_demo.train --sample --epochs 1 --tensorboard runs/x
    logdir, out = tmp_path / "runs" / "x", tmp_path / "x.pt"
    assert train.main(["--sample", "--epochs", "1", "--tensorboard", str(logdir), "--out", str(out)]) == 0
    h = checkpoints.load(out).history
    acc = read(logdir)
    tags = acc.Tags()
    expected = {"train/loss", "train/batch_accuracy", "train/learning_rate", "train/gradient_norm",
                "eval/test_accuracy", "eval/train_accuracy"}
    expected |= {f"{stat}/{p}" for stat in ("mean", "stddev", "min", "max") for p in PARAMS}
    assert set(tags["scalars"]) == expected
    assert set(tags["histograms"]) == set(PARAMS)

    steps = list(range(1, len(h["loss"]) + 1))
    for key, tag in tblog.SCALARS.items():
        events = acc.Scalars(tag)
        assert [e.step for e in events] == steps
        assert [e.value for e in events] == f32(h[key]), tag
    test = acc.Scalars("eval/test_accuracy")
    assert [(e.step, e.value) for e in test] == [(ev["step"], f32([ev["test_acc"]])[0]) for ev in h["evals"]]

    # before training and after the epoch, as the seed's variable_summaries
    summaries = h["param_summaries"]
    assert [e.step for e in acc.Scalars("mean/W_h")] == [s["step"] for s in summaries] == [0, len(steps)]
    for name, tag in (("rnn.weight_ih_l0", "W_x"), ("rnn.weight_hh_l0", "W_h"), ("readout.bias", "b_l")):
        for key, stat in tblog.STATS.items():
            assert [e.value for e in acc.Scalars(f"{stat}/{tag}")] == f32(s["params"][name][key] for s in summaries)
        hists = acc.Histograms(tag)
        for event, s in zip(hists, summaries, strict=True):
            hv, mine = event.histogram_value, s["params"][name]
            assert hv.bucket == [float(c) for c in mine["hist"]]
            assert hv.bucket_limit == pytest.approx(mine["edges"][1:])
            assert hv.num == sum(mine["hist"]) and hv.min == pytest.approx(mine["min"])
    w_h = checkpoints.load(out).model.rnn.weight_hh_l0.detach().double()
    assert acc.Histograms("W_h")[-1].histogram_value.sum == pytest.approx(float(w_h.sum()))
    # the checkpoint keeps the recipe, not a path on this machine
    assert "tensorboard" not in checkpoints.load(out).train_config


def test_a_new_run_replaces_the_folders_old_events(tmp_path, digits):
    tr, te = digits
    cfg = TrainConfig(iterations=2, batch_size=100, tensorboard=str(tmp_path / "run"))
    train.train(ModelConfig("gru", 8), cfg, tr, te)
    train.train(ModelConfig("gru", 8), cfg, tr, te)
    assert len(tblog.event_files(tmp_path / "run")) == 1
    assert [e.step for e in read(tmp_path / "run").Scalars("train/loss")] == [1, 2]


def test_an_unwritable_folder_warns_and_the_run_goes_on(tmp_path, digits):
    tr, te = digits
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    cfg = TrainConfig(iterations=3, batch_size=100, tensorboard=str(blocker / "run"))
    with pytest.warns(RuntimeWarning, match="TensorBoard"):
        result = train.train(ModelConfig("rnn", 8), cfg, tr, te)
    assert result.status == "done" and len(result.history["loss"]) == 3
    assert "TensorBoard" in result.message


def test_a_full_disk_mid_run_warns_and_the_run_goes_on(tmp_path, digits, monkeypatch):
    from torch.utils.tensorboard import SummaryWriter

    tr, te = digits
    real, calls = SummaryWriter.add_scalar, []

    def add_scalar(self, *a, **k):
        calls.append(a[0])
        if len(calls) > 30:  # after the first summaries and a step or two
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *a, **k)

    monkeypatch.setattr(SummaryWriter, "add_scalar", add_scalar)
    cfg = TrainConfig(iterations=6, batch_size=50, tensorboard=str(tmp_path / "run"))
    with pytest.warns(RuntimeWarning, match="No space left"):
        result = train.train(ModelConfig("rnn", 8), cfg, tr, te)
    assert result.status == "done" and len(result.history["batch_acc"]) == 6
    assert len(calls) == 31  # it stopped writing at the failure, once
    assert "No space left" in result.message


def test_param_tags_use_the_seeds_names():
    assert [tblog.param_tag(n) for n in ("rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0",
                                         "rnn.bias_hh_l0", "readout.weight", "readout.bias")] == PARAMS
    assert tblog.param_tag("rnn.weight_hh_l1_reverse") == "W_h_layer2_backward"
