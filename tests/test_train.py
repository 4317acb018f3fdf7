import io
import json
import math
from dataclasses import replace

import pytest
import torch

from rnn_demo import checkpoints, data, train
from rnn_demo.model import ModelConfig
from rnn_demo.train import PRESETS, TrainConfig


@pytest.fixture(scope="module")
def halves():
    s = data.load_sample()
    return s.subset(slice(0, 800)), s.subset(slice(800, 1000))


def test_a_small_lstm_learns(halves):
    tr, te = halves
    result = train.train(ModelConfig("lstm", 64), TrainConfig(lr=1e-2, batch_size=50, epochs=6), tr, te)
    assert result.status == "done"
    assert result.metrics["test_acc"] > 0.6  # chance is 0.1; held-out digits
    h = result.history
    assert len(h["loss"]) == len(h["grad_norm"]) == 6 * 16
    assert h["loss"][-1] < h["loss"][0] / 2
    assert [ev["epoch"] for ev in h["evals"]] == [1, 2, 3, 4, 5, 6]
    assert len(h["param_summaries"]) == 7  # before training and after each epoch
    w = h["param_summaries"][-1]["params"]["rnn.weight_hh_l0"]
    weight = result.model.rnn.weight_hh_l0.detach()
    assert w["mean"] == pytest.approx(weight.mean().item()) and w["max"] == pytest.approx(weight.max().item())
    assert sum(w["hist"]) == weight.numel()


def test_grad_norm_is_the_unclipped_global_norm(halves):
    tr, _ = halves
    h = train.train(ModelConfig("rnn", 16), TrainConfig(iterations=3, clip=1e-3, batch_size=800,
                                                         schedule="constant"), tr).history
    assert all(g > 1e-3 for g in h["grad_norm"])  # the norm before clipping is recorded


def test_stop_ends_a_run_and_keeps_what_was_learned(halves):
    tr, te = halves
    calls: list[int] = []
    result = train.train(ModelConfig("rnn", 16), TrainConfig(epochs=5, batch_size=20), tr, te,
                         should_stop=lambda: len(calls) >= 7, on_step=lambda s, m: calls.append(s))
    assert result.status == "stopped" and len(result.history["loss"]) == 7
    assert result.history["evals"][-1]["step"] == 7


def test_nan_stops_training_with_the_last_good_weights(halves, monkeypatch):
    tr, _ = halves
    snapshots = []
    real_step = torch.optim.SGD.step

    def step(self, *a, **k):  # remember the weights after every good step
        out = real_step(self, *a, **k)
        snapshots.append({k: v.clone() for k, v in model_ref[0].state_dict().items()})
        return out

    model_ref = []
    real_build = train.build
    monkeypatch.setattr(train, "build", lambda cfg: model_ref.append(real_build(cfg)) or model_ref[0])
    monkeypatch.setattr(torch.optim.SGD, "step", step)
    result = train.train(ModelConfig("rnn", 16, nonlinearity="relu"),
                         TrainConfig(optimizer="sgd", lr=1e3, clip=0, epochs=3, schedule="constant",
                                     init="default"), tr)
    assert result.status == "diverged" and "lower learning rate" in result.message
    final = result.model.state_dict()
    assert all(torch.isfinite(v).all() for v in final.values())
    if snapshots:
        assert all(torch.equal(final[k], snapshots[-1][k]) for k in final)


def test_seed_preset_is_the_blogs_recipe():
    p = PRESETS["seed"]
    assert (p.optimizer, p.lr, p.batch_size, p.iterations, p.init) == ("rmsprop", 1e-3, 128, 10_000, "zeros")
    opt = train.make_optimizer([torch.nn.Parameter(torch.zeros(1))], p)
    assert isinstance(opt, torch.optim.RMSprop) and opt.defaults["alpha"] == 0.9
    assert p.augment == 0 and p.non_digits == 0 and p.rotate == 0  # the seed's digits, undistorted


def test_augmented_training_is_seeded_and_leaves_plain_batches_alone(halves):
    tr, te = halves
    cfg = TrainConfig(lr=1e-2, batch_size=50, iterations=12, augment=1.0, non_digits=0.2)
    a = train.train(ModelConfig("rnn", 32), cfg, tr, te)
    b = train.train(ModelConfig("rnn", 32), cfg, tr, te)
    assert a.status == "done" and a.history["loss"] == b.history["loss"]  # the same seed, the same run
    assert all(0 <= acc <= 1 for acc in a.history["batch_acc"])  # the 50 digits, not the 10 non-digits
    plain = train.train(ModelConfig("rnn", 32), replace(cfg, augment=0.0, non_digits=0.0), tr, te)
    assert plain.history["loss"] != a.history["loss"]
    # the augmentation draws from its own generator: the batches' order is the plain run's
    again = train.train(ModelConfig("rnn", 32), replace(cfg, augment=0.0, non_digits=0.0), tr, te)
    assert plain.history["loss"] == again.history["loss"]


@pytest.mark.parametrize("bad, message", [({"lr": 0}, "learning rate"), ({"lr": float("nan")}, "learning rate"),
                                          ({"batch_size": 0}, "batch size"), ({"optimizer": "lbfgs"}, "optimizer"),
                                          ({"epochs": 0, "iterations": 0}, "at least one step"),
                                          ({"warmup": 0}, "warm-up"), ({"warmup": 1.5}, "warm-up"),
                                          ({"label_smoothing": -0.1}, "label smoothing"),
                                          ({"label_smoothing": 1}, "label smoothing"),
                                          ({"augment": -1}, "augmentation"), ({"non_digits": 0.9}, "non-digits"),
                                          ({"rotate": -5}, "rotation"), ({"rotate": 120}, "rotation")])
def test_bad_train_settings_say_why(bad, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**bad)


def test_cli_trains_saves_and_evaluates(tmp_path, capsys, monkeypatch):
    out = tmp_path / "tiny.pt"
    assert train.main(["--sample", "--cell", "gru", "--hidden", "32", "--epochs", "2", "--lr", "0.01",
                       "--out", str(out)]) == 0
    assert "saved" in capsys.readouterr().out
    ckpt = checkpoints.load(out)
    assert ckpt.model_config.cell == "gru" and ckpt.train_config["epochs"] == 2
    assert ckpt.dataset["n_train"] == 1000 and len(ckpt.history["grad_norm"]) == 8

    from rnn_demo import evaluate
    monkeypatch.setattr(data, "load_mnist", lambda train=False, root=None: data.load_sample())
    assert evaluate.main([str(out)]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["n"] == 1000 and line["cell"] == "gru" and set(line["per_class"]) == set("0123456789")
    assert line["params"] == ckpt.metrics["params"]


def test_training_goes_on_from_a_checkpoint_with_its_whole_history(tmp_path, capsys):
    base = tmp_path / "base.pt"
    assert train.main(["--sample", "--hidden", "16", "--epochs", "2", "--batch-size", "250", "--lr", "0.01",
                       "--out", str(base)]) == 0
    before, base_bytes = checkpoints.load(base), base.read_bytes()
    out = tmp_path / "tuned.pt"
    assert train.main(["--sample", "--start-from", str(base), "--epochs", "1", "--batch-size", "500", "--lr", "0.001",
                       "--rotate", "15", "--out", str(out)]) == 0  # no --hidden: the checkpoint's architecture
    assert "from " + str(base) in capsys.readouterr().out
    after = checkpoints.load(out)
    assert base.read_bytes() == base_bytes  # the checkpoint it went on from is left alone
    assert after.model_config == before.model_config and after.model_config.hidden_size == 16
    tc = after.train_config
    assert (tc["start_from"], tc["start_from_steps"], tc["rotate"]) == ("base.pt", 8, 15)
    h, b = after.history, before.history
    assert len(h["loss"]) == len(h["lr"]) == h["total_steps"] == after.metrics["steps"] == 8 + 2
    assert h["loss"][:8] == b["loss"] and h["lr"][8:] != b["lr"][:2]
    assert [e["step"] for e in h["evals"]] == [4, 8, 10] and [e["epoch"] for e in h["evals"]] == [1, 2, 3]
    assert [(s["epoch"], s["step"]) for s in h["param_summaries"]] == [(0, 0), (1, 4), (2, 8), (3, 10)]
    assert h["seconds"] > b["seconds"] and h["evals"][-1]["seconds"] > b["evals"][-1]["seconds"]
    assert after.metrics["test_acc"] == h["evals"][-1]["test_acc"]


def test_going_on_changes_only_what_the_new_steps_learn(halves):
    tr, te = halves
    start = train.train(ModelConfig("gru", 16), TrainConfig(lr=1e-2, batch_size=100, epochs=1), tr, te)
    ckpt = checkpoints.Checkpoint(start.model, start.model.config, {}, start.metrics, start.history, {}, "")
    on = train.train(ModelConfig("gru", 16), TrainConfig(lr=1e-9, batch_size=100, iterations=2,
                                                          schedule="constant"), tr, te, start=ckpt)
    for k, v in on.model.state_dict().items():  # a learning rate of 1e-9: the checkpoint's weights, barely moved
        assert torch.allclose(v, start.model.state_dict()[k], atol=1e-7)
    assert on.model is not start.model and on.history["evals"][-1]["test_acc"] == pytest.approx(
        start.history["evals"][-1]["test_acc"], abs=0.01)


@pytest.mark.parametrize("extra, message", [(["--hidden", "32"], "continue it with its own architecture"),
                                            (["--cell", "lstm"], "continue it with its own architecture"),
                                            (["--iterations", str(train.MAX_STEPS)], "fit in a checkpoint")])
def test_going_on_refuses_what_cannot_continue_before_a_step(tmp_path, capsys, extra, message):
    base = tmp_path / "base.pt"
    assert train.main(["--sample", "--hidden", "16", "--iterations", "2", "--out", str(base)]) == 0
    capsys.readouterr()
    out = tmp_path / "x.pt"
    assert train.main(["--sample", "--start-from", str(base), *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and not out.exists()


def test_a_joined_history_numbers_on_from_what_was_recorded_not_from_forged_numbers(halves):
    tr, te = halves
    start = train.train(ModelConfig("rnn", 16), TrainConfig(batch_size=400, epochs=2), tr, te)
    forged = dict(start.history, param_summaries=[dict(s, epoch=2**63 - 1) for s in start.history["param_summaries"]])
    ckpt = checkpoints.Checkpoint(start.model, start.model.config, {}, start.metrics, forged, {}, "")
    on = train.train(ModelConfig("rnn", 16), TrainConfig(batch_size=400, epochs=1), tr, te, start=ckpt)
    assert [s["epoch"] for s in on.history["param_summaries"]][-1] == 3  # two epochs, then one more
    checkpoints.load(io.BytesIO(checkpoints.to_bytes_of(on.model, {}, on.metrics, on.history)))  # it still loads


def test_going_on_from_a_broken_file_is_a_clean_error(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert train.main(["--sample", "--start-from", str(bad), "--out", str(tmp_path / "x.pt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: bad.pt") and "not a torch checkpoint" in err


def test_cli_reports_bad_settings(tmp_path, capsys):
    assert train.main(["--sample", "--lr", "-1", "--out", str(tmp_path / "x.pt")]) == 2
    assert "learning rate" in capsys.readouterr().err


def test_bf16_autocast_trains_and_keeps_fp32_weights(halves):
    tr, te = halves
    result = train.train(ModelConfig("lstm", 64), TrainConfig(lr=1e-2, batch_size=50, epochs=4, precision="bf16"),
                         tr, te)
    assert result.status == "done" and result.metrics["test_acc"] > 0.5
    assert all(p.dtype == torch.float32 for p in result.model.parameters())
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(precision="fp8")


def test_the_rnn_recipe_trains_a_tanh_rnn_with_its_warmup_and_label_smoothing(halves):
    """train.FAST['rnn'] (shortened): the one-cycle schedule peaks after `warmup` of the steps, the
    loss is cross-entropy against smoothed targets, and the tanh RNN (kernels.py's BPTT) learns."""
    tr, te = halves
    cfg = replace(train.FAST["rnn"], epochs=8, batch_size=50, lr=1e-2)
    result = train.train(ModelConfig("rnn", 64), cfg, tr, te)
    assert result.status == "done" and result.metrics["test_acc"] > 0.6
    lrs = result.history["lr"]
    assert lrs.index(max(lrs)) == pytest.approx(cfg.warmup * len(lrs), abs=2)
    # against smoothed targets no loss goes below their entropy (about 0.50 nats for e = 0.1)
    e = cfg.label_smoothing
    floor = -(1 - e + e / 10) * math.log(1 - e + e / 10) - 9 * (e / 10) * math.log(e / 10)
    assert min(result.history["loss"]) >= floor - 1e-4
    # the same recipe without smoothing goes below it (trained longer: how soon it gets there
    # depends on the CPU's kernels; 8 epochs reached 0.52 on one CPU and below 0.50 on another)
    plain = train.train(ModelConfig("rnn", 64), replace(cfg, label_smoothing=0.0, epochs=16), tr, te)
    assert min(plain.history["loss"]) < floor


def test_auto_precision_is_chosen_by_the_machine_and_recorded(halves, monkeypatch):
    """precision='auto': a CPU with AMX takes bf16 without timing; any other CPU times a step each
    way and takes bf16 only when it is clearly faster; the run records what it used."""
    from rnn_demo import precision
    from rnn_demo.model import build
    tr, te = halves
    lstm, cpu = ModelConfig("lstm", 16), torch.device("cpu")
    real_step_ms = precision.step_ms
    times = real_step_ms(build(lstm), 32, steps=2, warmup=1)  # the real timing, each way
    assert set(times) == {"fp32", "bf16"} and all(t > 0 for t in times.values())
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx512f", "amx_bf16", "amx_tile"})
    monkeypatch.setattr(precision, "step_ms", lambda *a, **k: pytest.fail("AMX needs no timing"))
    assert precision.resolve("auto", build(lstm), 64, cpu) == "bf16"
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx512f", "avx512_bf16"})
    for fp32, bf16, chosen in [(10.0, 16.0, "fp32"), (10.0, 9.5, "fp32"), (10.0, 6.0, "bf16")]:
        precision._timed_choice.cache_clear()
        monkeypatch.setattr(precision, "step_ms", lambda *a, _t={"fp32": fp32, "bf16": bf16}, **k: _t)
        assert precision.resolve("auto", build(lstm), 64, cpu) == chosen
        result = train.train(lstm, TrainConfig(batch_size=100, iterations=2, precision="auto"), tr, te)
        assert result.history["precision"] == chosen
    assert precision.resolve("fp32", build(lstm), 64, cpu) == "fp32"  # a forced choice is kept
    precision._timed_choice.cache_clear()


@pytest.mark.parametrize("cfg", [TrainConfig(batch_size=32, iterations=7, eval_every=3),   # 4 steps an epoch
                                 TrainConfig(batch_size=32, epochs=2),
                                 TrainConfig(batch_size=50, epochs=1.5, eval_every=4),
                                 TrainConfig(batch_size=100, iterations=4)])
def test_record_sizes_counts_what_a_run_records(cfg, halves):
    """The Train page's and the CLI's limits are checkpoints': record_sizes must count a run's
    history exactly as checkpoints.load does (issue 24: 1,003 summaries got past a step count)."""
    tr = halves[0].subset(slice(0, 100))
    result = train.train(ModelConfig("lstm", 8), cfg, tr, halves[1].subset(slice(0, 20)))
    h = result.history
    numbers = 4 * len(h["loss"]) + 5 * len(h["evals"]) + sum(
        len(p["edges"]) + len(p["hist"]) + 4 for s in h["param_summaries"] for p in s["params"].values())
    assert train.record_sizes(cfg, len(tr), ModelConfig("lstm", 8)) == {
        "steps": len(h["loss"]), "evals": len(h["evals"]), "summaries": len(h["param_summaries"]),
        "numbers": numbers}


def test_limits_are_the_checkpoints_own():
    sample_800 = 800  # the bundled sample's training part: 50 steps an epoch at batch 16
    with pytest.raises(ValueError, match=r"1,003 weight summaries .*at most 1,001 fit in a checkpoint"):
        TrainConfig(batch_size=16, iterations=50_100).check_length(sample_800)
    TrainConfig(batch_size=16, iterations=50_000).check_length(sample_800)  # 1,001 summaries: loads
    big = ModelConfig("lstm", 256, num_layers=2, bidirectional=True)  # 18 tensors: 1,170 numbers a summary; 800,000 + 5,000 + 1,171,170 in all
    cfg = TrainConfig(batch_size=300, epochs=1000)  # full MNIST: 200,000 steps, 1,001 summaries
    cfg.check_length(60_000)  # each list fits ...
    with pytest.raises(ValueError, match=r"1,976,170 numbers in its history; at most 1,500,000"):
        cfg.check_length(60_000, big)  # ... but not all of them together
    with pytest.raises(ValueError, match=r"test evaluations; at most 20,000"):
        TrainConfig(batch_size=16, iterations=20_001, eval_every=1).check_length(sample_800)


def test_the_cli_never_replaces_a_file(tmp_path, capsys):
    """--out that exists (the --start-from file itself, a shipped model) is refused before a step."""
    base = tmp_path / "base.pt"
    assert train.main(["--sample", "--hidden", "8", "--iterations", "2", "--out", str(base)]) == 0
    before = base.read_bytes()
    capsys.readouterr()
    for argv in (["--start-from", str(base)], ["--hidden", "8"]):
        assert train.main(["--sample", *argv, "--iterations", "2", "--out", str(base)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: --out") and "exists" in err and err.count("\n") == 1 and "Traceback" not in err
    assert base.read_bytes() == before
