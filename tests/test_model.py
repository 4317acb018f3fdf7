import pytest
import torch

from rnn_demo.model import GATES, ModelConfig, build, count_params, initialise

CONFIGS = [ModelConfig("rnn"), ModelConfig("lstm", 32), ModelConfig("gru", 32),
           ModelConfig("rnn", 32, bidirectional=True), ModelConfig("lstm", 16, 2, True),
           ModelConfig("gru", 16, 2), ModelConfig("rnn", 16, nonlinearity="relu")]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: c.label)
def test_fused_and_from_scratch_paths_agree(cfg):
    model = build(cfg).eval()
    x = torch.rand(3, 28, 28)
    fused, scratch = model.trace(x), model.trace(x, internals=True)
    D, H = cfg.directions, cfg.hidden_size
    assert fused.states.shape == (3, 28, D * H) and fused.step_logits.shape == (3, 28, 10)
    for a, b in [(fused.states, scratch.states), (fused.logits, scratch.logits),
                 (fused.step_logits, scratch.step_logits)]:
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    torch.testing.assert_close(fused.logits, model(x))
    assert set(scratch.internals) == set(GATES[cfg.cell])
    for v in scratch.internals.values():
        assert v.shape == (3, 28, D * H)


def test_read_out_of_last_step_is_the_prediction():
    model = build(ModelConfig("lstm", 32)).eval()
    tr = model.trace(torch.rand(5, 28, 28))
    torch.testing.assert_close(tr.step_logits[:, -1], tr.logits)
    torch.testing.assert_close(tr.step_probs.sum(-1), torch.ones(5, 28))


def test_bidirectional_reads_backward_state_at_first_row():
    model = build(ModelConfig("rnn", 8, bidirectional=True)).eval()
    x = torch.rand(2, 28, 28)
    _, h_n = model.rnn(x)  # (D, B, H): final state of each direction
    torch.testing.assert_close(model.final_state(model.trace(x).states), torch.cat([h_n[0], h_n[1]], -1))


def test_the_seed_architecture_has_the_seed_parameter_count():
    # W_x 128x28, W_h 128x128, two torch biases of 128, read-out 10x128 + 10
    assert count_params(build(ModelConfig("rnn", 128))) == 128 * 28 + 128 * 128 + 2 * 128 + 1290


@pytest.mark.parametrize("bad, message", [({"cell": "transformer"}, "cell must be"),
                                          ({"hidden_size": 0}, "hidden size"),
                                          ({"hidden_size": 100_000}, "hidden size"),
                                          ({"num_layers": 3}, "layers")])
def test_bad_configs_say_why(bad, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**bad)


def test_orthogonal_init_gives_orthogonal_recurrent_weights():
    model = build(ModelConfig("lstm", 16))
    initialise(model, "orthogonal", torch.Generator().manual_seed(0))
    for block in model.rnn.weight_hh_l0.split(16):
        torch.testing.assert_close(block @ block.T, torch.eye(16), atol=1e-5, rtol=0)
    assert model.rnn.bias_ih_l0[16:32].eq(1).all() and model.rnn.bias_hh_l0.eq(0).all()


def test_zeros_init_zeroes_biases_only():
    model = build(ModelConfig("rnn", 16))
    initialise(model, "zeros")
    assert model.rnn.bias_ih_l0.eq(0).all() and model.readout.bias.eq(0).all()
    assert model.rnn.weight_hh_l0.abs().sum() > 0
