"""Pure analysis of what a trained model computes while it reads a digit: numpy arrays in dicts.

Everything here reads the model's own `trace` (the same tensors the classifier computes), so
the pictures built from these arrays show the model's real numbers. No streamlit, no plotting.
"""
from __future__ import annotations

import numpy as np
import torch

from rnn_demo import data, threads
from rnn_demo.i18n import N_, _
from rnn_demo.model import SequenceClassifier

# What the explorer can show per unit, by cell: key in `digit_trace(...)["internals"]` -> plain name
# (in English, marked for the catalog: translate with `_()` where it is shown).
QUANTITIES = {
    "rnn": {"h": N_("hidden state s_t")},
    "lstm": {"h": N_("hidden state h_t"), "c": N_("cell state c_t"), "i": N_("input gate i_t"),
             "f": N_("forget gate f_t"), "o": N_("output gate o_t")},
    "gru": {"h": N_("hidden state h_t"), "r": N_("reset gate r_t"), "z": N_("update gate z_t")},
}


def _as_batch(image) -> torch.Tensor:
    """A (28, 28) uint8 or float image -> (1, T, F) float rows in [0, 1]."""
    x = data.to_sequences(np.asarray(image) if not isinstance(image, torch.Tensor) else image)
    if x.shape[-2:] != (data.ROWS, data.COLS):
        raise ValueError(_("a digit must be 28 x 28 pixels, not {shape}", shape=tuple(x.shape[-2:])))
    return x.reshape(1, data.ROWS, data.COLS)


def _first_layer_states(model: SequenceClassifier, x: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
    """Hidden states of the layer that reads the pixels, (B, T, D*H). For a one-layer model these
    are the trace's states; a deeper model's first layer is unrolled with the from-scratch cells."""
    if model.config.num_layers == 1:
        return states
    outs = [model._cell(x, model.layer_weights(0))["h"]]
    if model.config.bidirectional:
        outs.append(model._cell(x.flip(1), model.layer_weights(0, reverse=True))["h"].flip(1))
    return torch.cat(outs, dim=-1)


@torch.no_grad()
def drive_norms(model: SequenceClassifier, x: torch.Tensor, states: torch.Tensor) -> dict[str, np.ndarray]:
    """Per step, the size of the input term against the recurrent term (first layer).

    The seed's cell is s_t = tanh(W_x x_t + W_h s_{t-1} + b): "input" is ||W_x x_t|| and
    "recurrent" is ||W_h s_{t-1}|| (s_0 = 0). For an LSTM or GRU the same two products are the
    input and recurrent parts of all gates' pre-activations stacked (W_ih x_t: 4H or 3H values,
    W_hh h_{t-1}). Biases are left out of both. A bidirectional model's backward direction reads
    the rows bottom-up, so its previous state at row t is its state at row t + 1.

    Returns {"input": (D, T), "recurrent": (D, T)}, direction 0 forward, 1 backward.
    """
    H = model.config.hidden_size
    first = _first_layer_states(model, x, states)[0]  # (T, D*H)
    inputs, recurrents = [], []
    for d in range(model.config.directions):
        w = model.layer_weights(0, reverse=bool(d))
        s = first[:, d * H:(d + 1) * H]  # (T, H)
        zero = s.new_zeros(1, H)
        prev = torch.cat([zero, s[:-1]]) if d == 0 else torch.cat([s[1:], zero])  # (T, H)
        inputs.append((x[0] @ w["W_ih"].T).norm(dim=-1))
        recurrents.append((prev @ w["W_hh"].T).norm(dim=-1))
    return {"input": torch.stack(inputs).numpy(), "recurrent": torch.stack(recurrents).numpy()}


def knows_from(step_probs: np.ndarray, target: int) -> int | None:
    """The first step (1-based) from which the per-step prediction equals `target` and stays so
    to the last step; None when the prediction at the last step is not `target`."""
    correct = np.asarray(step_probs).argmax(-1) == target
    if not correct[-1]:
        return None
    wrong = np.flatnonzero(~correct)
    return int(wrong[-1]) + 2 if wrong.size else 1


@torch.no_grad()
def digit_trace(model: SequenceClassifier, image, label: int | None = None) -> dict:
    """Everything the explorer shows for one digit, as numpy arrays.

    image: (28, 28) uint8 or float in [0, 1]; label: the true class when known.
    Returns rows (T, F) as fed, states (T, D*H), step_probs (T, C) = softmax(o_t), probs (C,)
    from the final state, prediction, internals {"c", "i", "f", ...: (T, D*H)} for LSTM/GRU,
    drive {"input", "recurrent": (D, T)}, the reference class for "when does it know" (the true
    label, else the model's own final answer) and knows_from (1-based step or None).
    """
    model.eval()
    x = _as_batch(image)
    with threads.limit(1):
        trace = model.trace(x)
        internals = {}
        if model.config.cell != "rnn":  # gates and cell state come from the from-scratch cells
            internals = {k: v[0].numpy() for k, v in model.trace(x, internals=True).internals.items()}
        drive = drive_norms(model, x, trace.states)
    step_probs = trace.step_probs[0].numpy()  # (T, C)
    probs = trace.probs[0].numpy()
    prediction = int(probs.argmax())
    target = prediction if label is None else int(label)
    return {
        "rows": x[0].numpy(),
        "states": trace.states[0].numpy(),
        "step_probs": step_probs,
        "probs": probs,
        "prediction": prediction,
        "label": None if label is None else int(label),
        "target": target,
        "knows_from": knows_from(step_probs, target),
        "internals": internals,
        "drive": drive,
        "cell": model.config.cell,
        "nonlinearity": model.config.nonlinearity if model.config.cell == "rnn" else "tanh",
        "hidden_size": model.config.hidden_size,
        "directions": model.config.directions,
    }


@torch.no_grad()
def sample_traces(model: SequenceClassifier, digits: data.Digits, batch_size: int = 500):
    """Hidden states (N, T, D*H) and per-step probabilities (N, T, C) for a set of digits."""
    model.eval()
    states, probs = [], []
    for start in range(0, len(digits), batch_size):
        trace = model.trace(digits.sequences(slice(start, start + batch_size)))
        states.append(trace.states.numpy())
        probs.append(trace.step_probs.numpy())
    return np.concatenate(states), np.concatenate(probs)


def true_class_prob_by_step(model: SequenceClassifier, digits: data.Digits, batch_size: int = 500) -> np.ndarray:
    """Mean over the digits of the read-out's probability for the true class at each step, (T,)."""
    _, probs = sample_traces(model, digits, batch_size)
    labels = digits.labels.numpy()
    return probs[np.arange(len(labels)), :, labels].mean(0)


def fit_pca(states: np.ndarray, k: int = 2) -> dict[str, np.ndarray]:
    """Principal components of a cloud of hidden states (..., D): eigenvectors of the covariance
    (the right singular vectors of the centred data, found from the small D x D matrix, which
    is much faster than an SVD of the N x D data).

    Each component's sign is fixed so that its largest-magnitude entry is positive, so the
    picture does not flip between runs. Returns mean (D,), components (k, D) and explained,
    the fraction of the variance along each component (k,).
    """
    X = np.asarray(states, dtype=np.float64).reshape(-1, np.shape(states)[-1])
    if not np.isfinite(X).all():  # LAPACK must never see a NaN (see gradients.finite_matrix)
        raise ValueError(_("the hidden states hold NaN or infinite values, so they cannot be mapped"))
    mean = X.mean(0)
    Xc = X - mean
    var, vecs = np.linalg.eigh(Xc.T @ Xc)  # ascending eigenvalues
    var, vecs = np.clip(var[::-1], 0, None), vecs[:, ::-1]
    comps = vecs[:, :k].T.copy()
    comps *= np.sign(comps[np.arange(len(comps)), np.abs(comps).argmax(1)])[:, None]
    return {"mean": mean, "components": comps, "explained": var[:k] / var.sum()}


def project(states: np.ndarray, pca: dict[str, np.ndarray]) -> np.ndarray:
    """Hidden states (..., D) -> their coordinates on the principal components (..., k)."""
    return (np.asarray(states, dtype=np.float64) - pca["mean"]) @ pca["components"].T


def sample_pca(model: SequenceClassifier, digits: data.Digits, per_class: int = 30) -> dict:
    """PCA fitted on every hidden state of `digits` (all N x T), and the projected paths
    s_1..s_T of the first `per_class` digits of each class (a few hundred paths to draw).

    Returns pca (see fit_pca), paths (M, T, 2), labels (M,) and the chosen indices (M,).
    """
    states, _ = sample_traces(model, digits)
    pca = fit_pca(states)
    labels = digits.labels.numpy()
    chosen = np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in range(10)])
    return {"pca": pca, "paths": project(states[chosen], pca), "labels": labels[chosen], "index": chosen}
