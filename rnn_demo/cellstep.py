"""Inside the cell: every term of one step's equations, with one digit's numbers.

For a checkpoint's model and a digit, `walk` computes, at every step t and for one layer, each
term the cell's equations name: for the seed's tanh RNN x_t, W_x x_t, W_h s_{t-1}, b, their
sum and s_t = tanh(sum); for the LSTM the gates f, i, g, o, c_{t-1}, the two products that make
c_t, tanh(c_t) and h_t (colah's "Understanding LSTM Networks" names); for the GRU r, z, n and
the two parts of h_t. The states and gates come from the from-scratch cells (`cells.py`, the
same code `model.trace(internals=True)` runs); the linear terms and products are formed here
from the same weights. `at_step` picks one step and adds what it changed. tests/test_cellstep.py
recomputes every term with torch's own nn.RNN / nn.LSTM / nn.GRU, one step at a time.
"""
from __future__ import annotations

import numpy as np
import torch

from rnn_demo import analysis, threads
from rnn_demo.i18n import _
from rnn_demo.model import SequenceClassifier

# Each cell's terms in the order they are computed (plots/cell.py names and draws them). "x" is the
# layer's input at step t: the row's 28 pixels for the first layer.
TERMS = {
    "rnn": ("x", "s_prev", "Wx_x", "Wh_s", "b", "pre", "s"),
    "lstm": ("x", "h_prev", "c_prev", "f", "i", "g", "o", "f_c", "i_g", "c", "tanh_c", "h"),
    "gru": ("x", "h_prev", "r", "z", "n", "z_h", "zn", "h"),
}
STATE = {"rnn": "s", "lstm": "h", "gru": "h"}  # the term that is the step's new state
PREVIOUS = {"rnn": "s_prev", "lstm": "h_prev", "gru": "h_prev"}
TOP_CHANGES = 5  # units listed as the step's largest changes


def _previous(states: torch.Tensor, reverse: bool) -> torch.Tensor:
    """The state each step starts from, (T, H): s_{t-1} (s_0 = 0); reading bottom-up, the state
    at row t + 1 (zero at the last row, where that direction starts)."""
    zero = states.new_zeros(1, states.shape[1])
    return torch.cat([states[1:], zero]) if reverse else torch.cat([zero, states[:-1]])


def _direction_terms(model: SequenceClassifier, inputs: torch.Tensor, layer: int, reverse: bool) -> dict:
    """Every term of one layer and direction at every step: name -> (T, n) tensor, rows in the
    digit's order (a backward direction's results are flipped back)."""
    cell = model.config.cell
    w = model.layer_weights(layer, reverse=reverse)
    seq = inputs.flip(1) if reverse else inputs
    out = {k: v[0].flip(0) if reverse else v[0] for k, v in model._cell(seq, w).items()}  # (T, H) each
    x = inputs[0]  # (T, F): step t of either direction reads row t
    h_prev = _previous(out["h"], reverse)
    if cell == "rnn":
        b = (w["b_ih"] + w["b_hh"]).expand_as(out["h"])
        Wx_x, Wh_s = x @ w["W_ih"].T, h_prev @ w["W_hh"].T  # (T, H)
        return {"x": x, "s_prev": h_prev, "Wx_x": Wx_x, "Wh_s": Wh_s, "b": b, "pre": Wx_x + Wh_s + b, "s": out["h"]}
    if cell == "lstm":
        c_prev = _previous(out["c"], reverse)
        return {"x": x, "h_prev": h_prev, "c_prev": c_prev, "f": out["f"], "i": out["i"], "g": out["g"],
                "o": out["o"], "f_c": out["f"] * c_prev, "i_g": out["i"] * out["g"], "c": out["c"],
                "tanh_c": torch.tanh(out["c"]), "h": out["h"]}
    return {"x": x, "h_prev": h_prev, "r": out["r"], "z": out["z"], "n": out["n"], "z_h": out["z"] * h_prev,
            "zn": (1 - out["z"]) * out["n"], "h": out["h"]}


@torch.no_grad()
def walk(model: SequenceClassifier, image, layer: int = 0) -> dict:
    """Every term of layer `layer` at every step for one digit, and the read-out around each step.

    image: (28, 28) uint8 (or float in [0, 1]). Returns:
      terms:      name -> (D, T, n) array (the model's float32), direction 0 forward, 1 backward (TERMS);
      step_probs: (T + 1, C) softmax of the read-out: row 0 for the zero state before any row,
                  row t after step t (the top layer's states; both directions for a
                  bidirectional model, as the Hidden states page reads them);
      prediction, cell, nonlinearity, layer, layers, directions, hidden_size, steps.
    """
    cfg = model.config
    if not 0 <= int(layer) < cfg.num_layers:
        raise ValueError(_("this model has {n} layer(s); there is no layer {layer}", n=cfg.num_layers,
                           layer=int(layer) + 1))
    model.eval()
    x = analysis._as_batch(image).to(model.readout.weight.dtype)  # float32, or float64 in the tests
    inputs, chosen = x, None
    with threads.limit(1):
        for k in range(cfg.num_layers):
            dirs = [_direction_terms(model, inputs, k, reverse=bool(d)) for d in range(cfg.directions)]
            if k == layer:
                chosen = dirs
            inputs = torch.cat([d[STATE[cfg.cell]] for d in dirs], dim=-1)[None]  # (1, T, D*H)
        top = inputs[0]  # (T, D*H)
        states = torch.cat([top.new_zeros(1, top.shape[1]), top])  # (T + 1, D*H): the zero state first
        step_probs = model.readout(states).softmax(-1)
    terms = {name: torch.stack([d[name] for d in chosen]).numpy() for name in TERMS[cfg.cell]}
    return {"terms": terms, "step_probs": step_probs.numpy(), "prediction": int(step_probs[-1].argmax()),
            "cell": cfg.cell, "nonlinearity": cfg.nonlinearity if cfg.cell == "rnn" else "tanh",
            "layer": int(layer), "layers": cfg.num_layers, "directions": cfg.directions,
            "hidden_size": cfg.hidden_size, "steps": x.shape[1]}


def at_step(walked: dict, t: int, top: int = TOP_CHANGES) -> dict:
    """Step t (1-based) of a `walk`: each term's values and size, and what the step changed.

    Returns terms name -> (D, n), norms name -> (D,) Euclidean sizes, changes: per direction the
    `top` units whose state moved most in this step (unit, before, after), largest first;
    probs_before / probs_after: the read-out's probabilities before and after the step.
    """
    T = walked["steps"]
    if not 1 <= int(t) <= T:
        raise ValueError(_("the step must be between 1 and {T}, not {t}", T=T, t=t))
    t = int(t)
    terms = {k: v[:, t - 1] for k, v in walked["terms"].items()}
    cell = walked["cell"]
    before, after = terms[PREVIOUS[cell]], terms[STATE[cell]]
    changes = []
    for d in range(walked["directions"]):
        delta = after[d] - before[d]
        order = np.argsort(-np.abs(delta), kind="stable")[:top]
        changes.append([{"unit": int(j), "before": float(before[d, j]), "after": float(after[d, j])} for j in order])
    return {"t": t, "steps": T, "cell": cell, "nonlinearity": walked["nonlinearity"],
            "directions": walked["directions"], "layer": walked["layer"], "layers": walked["layers"],
            "terms": terms, "norms": {k: np.linalg.norm(v, axis=-1) for k, v in terms.items()},
            "changes": changes, "probs_before": walked["step_probs"][t - 1], "probs_after": walked["step_probs"][t]}


def step(model: SequenceClassifier, image, t: int, layer: int = 0) -> dict:
    """`at_step(walk(model, image, layer), t)`: one step's terms for one digit."""
    return at_step(walk(model, image, layer), t)
