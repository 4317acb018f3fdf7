"""The memory task: the padded input, chance for a model that ignores it, the gap in the training
loop, the forget-gate initialisations, and the shipped results against their own records."""
import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from rnn_demo import checkpoints, data, memory, train
from rnn_demo.model import ModelConfig, build, init_forget_gate, initialise
from rnn_demo.train import TrainConfig
from tests.conftest import full_mnist


def test_the_padded_input_is_the_digit_then_n_blank_rows(sample):
    x = sample.sequences(slice(0, 5))  # (5, 28, 28)
    padded = data.with_gap(x, 13)
    assert padded.shape == (5, 28 + 13, 28)
    assert torch.equal(padded[:, :28], x)
    assert torch.count_nonzero(padded[:, 28:]) == 0
    assert data.with_gap(x, 0) is x


def test_noise_rows_have_the_chosen_strength(sample):
    x = sample.sequences(slice(0, 50))
    gen = torch.Generator().manual_seed(0)
    padded = data.with_gap(x, 40, noise=0.3, generator=gen)
    assert torch.equal(padded[:, :28], x)
    rows = padded[:, 28:]
    assert rows.min() >= 0 and rows.max() <= 0.3
    assert rows.mean().item() == pytest.approx(0.15, abs=0.005)  # uniform on [0, 0.3]
    again = data.with_gap(x, 40, noise=0.3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(padded, again)  # seeded: the test set's noise is the same every time


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_model_that_ignores_the_input_scores_chance(sample, cell):
    model = build(ModelConfig(cell, 32))
    with torch.no_grad():
        model.rnn.weight_ih_l0.zero_()  # the rows never reach the state: one answer for every digit
    for gap in (0, 30):
        acc, preds = train.accuracy(model, sample, gap=gap)
        assert len(set(preds.tolist())) == 1
        assert acc == pytest.approx(0.1)  # the sample holds 100 digits of each class


def test_the_gap_changes_the_sequence_length_not_the_labels(sample, monkeypatch):
    seen = []

    class Recording(torch.nn.CrossEntropyLoss):
        def forward(self, logits, y):
            seen.append(y.clone())
            return super().forward(logits, y)

    lengths = []
    monkeypatch.setattr(train.nn, "CrossEntropyLoss", Recording)
    digits = sample.subset(slice(0, 64))
    orig_build = train.build

    def build_and_watch(c):
        m = orig_build(c)
        m.rnn.register_forward_pre_hook(lambda mod, args: lengths.append(args[0].shape[1]))
        return m

    monkeypatch.setattr(train, "build", build_and_watch)
    for gap in (0, 17):
        seen.clear()
        model_cfg, cfg = ModelConfig("gru", 16), TrainConfig(iterations=2, batch_size=64, gap=gap, schedule="constant")
        train.train(model_cfg, cfg, digits, digits)
        # the same seed shuffles the same way: the labels of each batch are the same at every gap
        assert [sorted(y.tolist()) for y in seen] == [sorted(digits.labels.tolist())] * 2
    assert set(lengths[:3]) == {28} and set(lengths[-3:]) == {28 + 17}  # training steps and the evaluation


def test_standard_forget_init_is_todays_orthogonal_init():
    a = build(ModelConfig("lstm", 16))
    b = build(ModelConfig("lstm", 16))
    b.load_state_dict(a.state_dict())  # the read-out is torch's default init, not `initialise`'s
    initialise(a, "orthogonal", torch.Generator().manual_seed(3))
    initialise(b, "orthogonal", torch.Generator().manual_seed(3))
    init_forget_gate(b, "standard", 5.0, 100, torch.Generator().manual_seed(3))
    for (n, p), q in zip(a.named_parameters(), b.parameters()):
        assert torch.equal(p, q), n
    assert torch.all(a.rnn.bias_ih_l0[16:32] == 1.0)  # sigmoid(1) = 0.73 kept per step


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_constant_forget_bias_sets_the_keep_gate(cell):
    m = build(ModelConfig(cell, 16))
    initialise(m, "orthogonal")
    init_forget_gate(m, "constant", 3.0)
    keep = (m.rnn.bias_ih_l0 + m.rnn.bias_hh_l0)[16:32]  # LSTM f, GRU z: the second block
    assert torch.all(keep == 3.0)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_chrono_biases_have_the_documented_distribution(cell):
    """Tallec & Ollivier 2018: b_f = log(u), u ~ U[1, T_max - 1]; the LSTM's b_i = -b_f."""
    H, span = 512, 228
    m = build(ModelConfig(cell, H))
    initialise(m, "orthogonal", torch.Generator().manual_seed(0))
    init_forget_gate(m, "chrono", span=span, generator=torch.Generator().manual_seed(0))
    b = m.rnn.bias_ih_l0.detach() + m.rnn.bias_hh_l0.detach()
    u = b[H:2 * H].exp().numpy()
    assert u.min() >= 1 - 1e-5 and u.max() <= span - 1 + 1e-3
    # uniform on [1, span - 1]: mean (span) / 2, quartiles at a quarter and three quarters
    assert u.mean() == pytest.approx(span / 2, rel=0.06)
    q1, q3 = np.quantile(u, [0.25, 0.75])
    assert q1 == pytest.approx(1 + (span - 2) / 4, rel=0.12) and q3 == pytest.approx(1 + 3 * (span - 2) / 4, rel=0.06)
    if cell == "lstm":
        assert torch.allclose(b[:H], -b[H:2 * H])
    # the memory it buys: a unit with bias b keeps sigmoid(b)^t of its state, about 1/e after ~exp(b) steps
    keep_50 = torch.sigmoid(b[H:2 * H]) ** 50
    assert (keep_50 > 0.5).float().mean() > 0.5


def test_the_gap_and_forget_init_are_checked_and_travel_in_checkpoints(tmp_path, sample):
    for bad in ({"gap": -1}, {"gap": 1.5}, {"gap_noise": 2.0}, {"forget_init": "huge"}, {"forget_bias": math.nan}):
        with pytest.raises(ValueError):
            TrainConfig(**bad)
    cfg = TrainConfig(iterations=2, batch_size=50, gap=5, forget_init="chrono")
    res = train.train(ModelConfig("lstm", 8), cfg, sample.subset(slice(0, 100)))
    checkpoints.save(tmp_path / "m.pt", res.model, cfg, res.metrics, res.history)
    back = checkpoints.load(tmp_path / "m.pt")
    assert back.train_config["gap"] == 5 and back.train_config["forget_init"] == "chrono"


def test_run_one_writes_a_record_that_reproduces_its_accuracy(tmp_path, sample, monkeypatch):
    monkeypatch.setattr(memory, "load_budget_data", lambda root=None: (sample.subset(slice(0, 800)),
                                                                       sample.subset(slice(800, 1000))))
    tiny = replace(memory.RECIPE, iterations=6, eval_every=3)
    rec = memory.run_one("lstm-chrono", 50, 0, folder=tmp_path, recipe=tiny, verbose=False)
    assert rec["gap"] == 50 and rec["train_config"]["gap"] == 50 and rec["train_config"]["forget_init"] == "chrono"
    assert [e["step"] for e in rec["evals"]] == [3, 6]
    assert rec["command"] == "python -m rnn_demo.memory run --variant lstm-chrono --gap 50 --seed 0"
    ckpt = checkpoints.load(tmp_path / rec["checkpoint"])
    acc, _ = train.accuracy(ckpt.model, sample.subset(slice(800, 1000)), gap=50)
    assert acc == pytest.approx(rec["test_acc"])
    results = memory.collect(tmp_path)
    assert json.loads((tmp_path / "results.json").read_text())["runs"][0]["name"] == "lstm-chrono-gap50-seed0"
    assert memory.summary(results)["lstm-chrono"]["gaps"] == [50]


# --- the shipped results ------------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped():
    return memory.load_results()


def test_the_shipped_results_cover_the_grid_with_one_recipe(shipped):
    runs = shipped["runs"]
    for variant in ("rnn", "lstm", "gru", "lstm-chrono"):
        gaps = {r["gap"] for r in runs if r["variant"] == variant}
        assert set(memory.GAPS) <= gaps, variant
    for r in runs:
        model_cfg, cfg = memory.variant_configs(r["variant"], r["gap"], r["seed"])
        # the recipe as recorded; fields TrainConfig gained since (e.g. augment) are at their defaults
        now, default = cfg.to_dict(), train.TrainConfig().to_dict()
        assert {k: now[k] for k in r["train_config"]} == r["train_config"]
        assert all(now[k] == default[k] for k in set(now) - set(r["train_config"]))
        assert r["model_config"] == model_cfg.to_dict()
        assert r["command"] == memory.command(r["variant"], r["gap"], r["seed"])
        assert r["status"] == "done" and 0 <= r["test_acc"] <= 1
    s = memory.summary(shipped)
    assert all(lo <= m <= hi for v in s.values() for lo, m, hi in zip(v["min"], v["mean"], v["max"]))


@pytest.mark.skipif(not full_mnist(), reason="needs the full MNIST (RNN_DEMO_DATA)")
def test_a_shipped_checkpoint_scores_what_its_record_says(shipped):
    _, test = memory.load_budget_data()
    for r in shipped["runs"]:
        if r.get("checkpoint") and r["variant"] in ("rnn", "lstm-chrono") and r["gap"] == 50:
            ckpt = checkpoints.load(memory.FOLDER / r["checkpoint"])
            assert ckpt.train_config["gap"] == r["gap"]
            acc, _ = train.accuracy(ckpt.model, test, gap=r["gap"])
            assert acc == pytest.approx(r["test_acc"], abs=1.5e-3), r["name"]  # 2 of 2,000 digits: thread-count rounding
