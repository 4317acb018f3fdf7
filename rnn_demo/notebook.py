"""Three lines in a notebook: load a model, read a digit, get every step's numbers as numpy arrays.

    from rnn_demo import load, trace
    t = trace(load("lstm"), 7)      # digit no. 7 of the bundled sample, or any 28 x 28 array
    t["states"].shape               # (28, 128): the hidden state after each row

`trace` returns `analysis.digit_trace`'s dict, the arrays every page draws from.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from rnn_demo import analysis, checkpoints, data, registry
from rnn_demo.model import SequenceClassifier

ROOT, SHIPPED_DIR = registry.ROOT, registry.SHIPPED_DIR


def load(model: str | os.PathLike = "rnn") -> SequenceClassifier:
    """A model by name (a shipped one: rnn, lstm, gru, birnn; or one trained in the app) or by
    the path of a checkpoint file; loaded safely (weights_only), in eval mode. For its training
    history and settings, `rnn_demo.checkpoints.load(path)`. Raises CheckpointError."""
    path = Path(model)
    if not path.is_file():
        path = registry.find(str(model), registry.env_user_dir())
    return checkpoints.load(path).model


def sample() -> data.Digits:
    """The bundled 1,000 MNIST test digits (`.images` (N, 28, 28) uint8, `.labels` (N,))."""
    return data.load_sample()


def trace(model: SequenceClassifier | checkpoints.Checkpoint | str, digit=0, label: int | None = None) -> dict:
    """What `model` computes while it reads one digit, as numpy arrays: rows (28, 28) as fed,
    states (28, D*H), step_probs (28, 10) = softmax(o_t) after each row, probs (10,), the
    prediction, and for an LSTM or GRU its gates and cell state in internals (28, D*H each).

    digit: an index into the bundled sample (its label comes along), or a 28 x 28 array (uint8
    0-255, or floats in [0, 1]); model: a model, a checkpoint, or a name for `load`."""
    if isinstance(model, (str, os.PathLike)):
        model = load(model)
    model = getattr(model, "model", model)  # a Checkpoint
    if isinstance(digit, (int, np.integer)):
        digits = sample()
        image, label = digits.images[int(digit)].numpy(), int(digits.labels[int(digit)])
    else:
        image = np.asarray(digit)
    return analysis.digit_trace(model, image, label)
