"""Inside the cell (cellstep.py): every term of every step equals what torch's own nn.RNN / nn.LSTM /
nn.GRU compute, one step at a time, with the checkpoint's weights, to 1e-6.

torch's modules return only the new state, so each other term is read off a copy of the module
whose weights are changed so that the term becomes its output: the pre-activation W_x x_t of a
ReLU RNN with only W_x kept, minus the same with -W_x (one of the two is zero); an LSTM gate by
fixing the other parts of c_t = f c_(t-1) + i g (e.g. g = 0 and c_(t-1) = 1 leave c_t = f);
a GRU gate by fixing its candidate at +-1 or 0 (tanh(100) and sigmoid(100) are exactly 1 in float32).
"""
import numpy as np
import pytest
import torch
from torch import nn

from rnn_demo import cellstep, checkpoints, data
from rnn_demo.model import ModelConfig, build
from tests.conftest import ROOT

SHIPPED = ["rnn", "lstm", "gru", "birnn"]
BIG = 100.0  # sigmoid(100) == 1 and tanh(100) == 1 in float32
TOL = 1e-6


def one_layer(model, layer, reverse, kind=None, nonlinearity="tanh", edit=None):
    """A one-layer torch module with one layer and direction of `model`'s weights, optionally
    changed by edit(W_ih, W_hh, b_ih, b_hh, H) in place."""
    cfg = model.config
    kind = kind or {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cfg.cell]
    w = model.layer_weights(layer, reverse)
    extra = {"nonlinearity": nonlinearity} if kind is nn.RNN else {}
    m = kind(w["W_ih"].shape[1], cfg.hidden_size, 1, batch_first=True, **extra).to(w["W_ih"].dtype)
    with torch.no_grad():
        for name, key in (("weight_ih_l0", "W_ih"), ("weight_hh_l0", "W_hh"), ("bias_ih_l0", "b_ih"),
                          ("bias_hh_l0", "b_hh")):
            getattr(m, name).copy_(w[key])
        if edit is not None:
            edit(m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0, cfg.hidden_size)
    return m


def block(k):
    """An edit setting gate block k (torch's order: LSTM i f g o, GRU r z n) to a constant pre-activation."""
    def set_to(value, hh_bias=0.0):
        def edit(W_ih, W_hh, b_ih, b_hh, H):
            rows = slice(k * H, (k + 1) * H)
            W_ih[rows], W_hh[rows], b_ih[rows], b_hh[rows] = 0, 0, value, hh_bias
        return edit
    return set_to


def chain(*edits):
    def edit(*args):
        for e in edits:
            e(*args)
    return edit


def scale(factor, keep_x=True, keep_h=True, keep_b=True):
    """An RNN edit keeping some of W_x, W_h, b (times factor) and zeroing the rest."""
    def edit(W_ih, W_hh, b_ih, b_hh, H):
        for p, keep in ((W_ih, keep_x), (W_hh, keep_h), (b_ih, keep_b), (b_hh, keep_b)):
            p.mul_(factor if keep else 0)
    return edit


@torch.no_grad()
def torch_terms(model, image, layer):
    """name -> (D, T, n) from torch's modules, one step at a time; the layers below `layer` are
    stepped by torch too. Returns (terms, top states (T, D*H))."""
    cfg = model.config
    dtype = model.readout.weight.dtype
    inputs = data.to_sequences(torch.as_tensor(image)).reshape(1, 28, 28).to(dtype)
    T, H = inputs.shape[1], cfg.hidden_size
    for k in range(cfg.num_layers):
        per_dir, states = [], []
        for d in range(cfg.directions):
            rev = bool(d)
            mods = {}

            def mod(name, **kw):
                if name not in mods:
                    mods[name] = one_layer(model, k, rev, **kw)
                return mods[name]

            out = {n: [None] * T for n in cellstep.TERMS[cfg.cell]}
            h = torch.zeros(1, 1, H, dtype=dtype)
            c = torch.zeros(1, 1, H, dtype=dtype)
            for t in (range(T - 1, -1, -1) if rev else range(T)):
                x = inputs[:, t:t + 1]
                put = {"x": x[0, 0]}
                if cfg.cell == "rnn":
                    def lin(name, **keep):
                        pos = mod(name + "+", nonlinearity="relu", edit=scale(1.0, **keep))(x, h)[0]
                        neg = mod(name + "-", nonlinearity="relu", edit=scale(-1.0, **keep))(x, h)[0]
                        return (pos - neg)[0, 0]
                    put |= {"s_prev": h[0, 0], "Wx_x": lin("Wx", keep_h=False, keep_b=False),
                            "Wh_s": lin("Wh", keep_x=False, keep_b=False),
                            "b": lin("b", keep_x=False, keep_h=False), "pre": lin("all")}
                    h = mod("real", nonlinearity=cfg.nonlinearity)(x, h)[1]
                    put["s"] = h[0, 0]
                elif cfg.cell == "lstm":
                    i_, f_, g_, o_ = (block(j) for j in range(4))
                    ones, zeros = torch.ones_like(c), torch.zeros_like(c)
                    cell_out = lambda name, edit, c0: mod(name, edit=edit)(x, (h, c0))[1][1][0, 0]  # noqa: E731
                    put |= {"h_prev": h[0, 0], "c_prev": c[0, 0],
                            "f": cell_out("f", g_(0.0), ones),                       # c = f * 1 + i * 0
                            "i": cell_out("i", g_(BIG), zeros),                      # c = i * tanh(100)
                            "g": cell_out("g", i_(BIG), zeros),                      # c = sigmoid(100) * g
                            "o": mod("o", edit=chain(f_(BIG), i_(-BIG)))(x, (h, ones * BIG))[1][0][0, 0],
                            "f_c": cell_out("fc", i_(-BIG), c),                      # c = f c_(t-1) + 0
                            "i_g": cell_out("ig", None, zeros),                      # c = 0 + i g
                            "tanh_c": mod("tc", edit=o_(BIG))(x, (h, c))[1][0][0, 0]}  # h = 1 * tanh(c)
                    h, c = mod("real")(x, (h, c))[1]
                    put |= {"c": c[0, 0], "h": h[0, 0]}
                else:
                    r_, z_, n_ = (block(j) for j in range(3))
                    up = mod("n+", edit=n_(BIG))(x, h)[1][0, 0]    # (1 - z) + z h
                    down = mod("n-", edit=n_(-BIG))(x, h)[1][0, 0]  # -(1 - z) + z h
                    half = mod("r", edit=chain(n_(0.0, hh_bias=0.5), z_(-BIG)))(x, h)[1][0, 0].double()  # tanh(0.5 r)
                    z_h = mod("zh", edit=n_(0.0))(x, h)[1][0, 0]    # n = 0: z h
                    new = mod("real")(x, h)[1]
                    put |= {"h_prev": h[0, 0], "r": (2 * torch.atanh(half)).float(), "z": 1 - (up - down) / 2,
                            "n": mod("n", edit=z_(-BIG))(x, h)[1][0, 0],  # z = 0: h = n
                            "z_h": z_h, "zn": new[0, 0] - z_h, "h": new[0, 0]}
                    h = new
                for name, v in put.items():
                    out[name][t] = v
            per_dir.append({n: torch.stack(v) for n, v in out.items()})
            states.append(per_dir[-1][cellstep.STATE[cfg.cell]])
        if k == layer:
            chosen = {n: torch.stack([p[n] for p in per_dir]).numpy() for n in per_dir[0]}
        inputs = torch.cat(states, -1)[None]
    return chosen, inputs[0]


def assert_terms_equal(ours, theirs, tol):
    assert set(ours["terms"]) == set(theirs)
    for name, expected in theirs.items():
        got = ours["terms"][name]
        assert got.shape == expected.shape, name
        err = np.abs(got.astype(np.float64) - expected).max()
        assert err <= tol, f"{name}: differs from torch by {err:.2e}"


def shipped(name):
    return checkpoints.load(ROOT / "models" / f"{name}.pt").model.eval()


@pytest.fixture(scope="module")
def digits():
    return data.load_sample()


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("index", [0, 7])
def test_every_term_of_every_step_equals_torch(name, index, digits):
    """In float64 on both sides, to 1e-6: the same numbers, whatever the order of the sums."""
    model = shipped(name).double()
    image = digits.images[index].numpy()
    ours = cellstep.walk(model, image)
    theirs, top = torch_terms(model, image, 0)
    assert_terms_equal(ours, theirs, TOL)
    D = model.config.directions
    assert ours["terms"]["x"].shape == (D, 28, 28) and ours["directions"] == D
    np.testing.assert_array_equal(ours["terms"]["x"][0], image / np.float32(255))  # the rows the model reads
    # the read-out around every step: softmax(b_l) before the first row, then torch's fused trace
    with torch.no_grad():
        fused = model.trace(data.to_sequences(torch.as_tensor(image)).reshape(1, 28, 28).double()).step_probs[0]
        np.testing.assert_allclose(ours["step_probs"][0], model.readout.bias.softmax(-1).numpy(), atol=TOL)
        np.testing.assert_allclose(ours["step_probs"][1:], fused.numpy(), atol=TOL)
        np.testing.assert_allclose(ours["step_probs"][1:], model.readout(top).softmax(-1).numpy(), atol=TOL)
    assert ours["prediction"] == int(fused[-1].argmax())


@pytest.mark.parametrize("name", SHIPPED)
def test_the_float32_numbers_the_page_shows_equal_torch(name, digits):
    """As shipped (float32): two float32 computations summing in other orders drift apart by
    float rounding over 28 steps, up to ~5e-6 on a term of size 10 (measured), so 1e-5 here."""
    model = shipped(name)
    image = digits.images[7].numpy()
    ours = cellstep.walk(model, image)
    assert ours["terms"]["s" if model.config.cell == "rnn" else "h"].dtype == np.float32
    assert_terms_equal(ours, torch_terms(model, image, 0)[0], 1e-5)


def test_the_bidirectional_backward_direction_reads_bottom_up(digits):
    model = shipped("birnn")
    walked = cellstep.walk(model, digits.images[0].numpy())
    s, prev = walked["terms"]["s"], walked["terms"]["s_prev"]
    np.testing.assert_array_equal(prev[1, -1], 0)          # backward starts at row 28 from zero
    np.testing.assert_array_equal(prev[1, :-1], s[1, 1:])  # and row t follows row t + 1
    np.testing.assert_array_equal(prev[0, 0], 0)
    np.testing.assert_array_equal(prev[0, 1:], s[0, :-1])
    assert not np.allclose(s[0], s[1])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_chosen_layer_of_a_two_layer_bidirectional_model(cell):
    torch.manual_seed(1)
    model = build(ModelConfig(cell=cell, hidden_size=12, num_layers=2, bidirectional=True)).double().eval()
    image = (torch.rand(28, 28) * 255).to(torch.uint8).numpy()
    for layer in (0, 1):
        ours = cellstep.walk(model, image, layer=layer)
        theirs, top = torch_terms(model, image, layer)
        assert_terms_equal(ours, theirs, TOL)
        assert ours["terms"]["x"].shape[-1] == (28 if layer == 0 else 24)
    with pytest.raises(ValueError, match="no layer 3"):
        cellstep.walk(model, image, layer=2)


def test_a_step_names_its_largest_changes_and_the_readout_around_it(digits):
    model = shipped("lstm")
    walked = cellstep.walk(model, digits.images[3].numpy())
    t = 14
    s = cellstep.at_step(walked, t)
    assert s["t"] == t and s["terms"]["f"].shape == (1, 128)
    h, h_prev = walked["terms"]["h"][0, t - 1], walked["terms"]["h"][0, t - 2]
    np.testing.assert_array_equal(s["terms"]["h_prev"][0], h_prev)
    moved = np.abs(h - h_prev)
    units = [c["unit"] for c in s["changes"][0]]
    assert len(units) == cellstep.TOP_CHANGES and units[0] == int(moved.argmax())
    assert list(moved[units]) == sorted(moved[units], reverse=True) and moved[units[-1]] >= np.sort(moved)[-5]
    assert s["changes"][0][0]["after"] == pytest.approx(float(h[units[0]]))
    np.testing.assert_array_equal(s["probs_before"], walked["step_probs"][t - 1])
    np.testing.assert_array_equal(s["probs_after"], walked["step_probs"][t])
    assert s["norms"]["c"][0] == pytest.approx(float(np.linalg.norm(walked["terms"]["c"][0, t - 1])))
    first = cellstep.at_step(walked, 1)
    np.testing.assert_array_equal(first["terms"]["c_prev"], 0)  # the cell starts empty


@pytest.mark.parametrize("bad", [0, 29, -1])
def test_a_step_outside_the_digit_is_refused_in_one_sentence(bad, digits):
    walked = cellstep.walk(shipped("rnn"), digits.images[0].numpy())
    with pytest.raises(ValueError, match="between 1 and 28"):
        cellstep.at_step(walked, bad)


def test_a_digit_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="28 x 28"):
        cellstep.walk(shipped("rnn"), np.zeros((20, 28), np.uint8))
