"""Which rows mattered, and what several models say about one digit.

`row_attribution` is the "connectivity" of Madsen (2019), "Visualizing memorization in RNNs",
Distill: the size of the gradient of the predicted class's logit with respect to each input
row, ||d logit_pred / d x_t||. A large value means that changing row t would change the
prediction a lot. `predict` reads one digit with several models at once, from `model.trace`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rnn_demo import threads
from rnn_demo.data import to_sequences
from rnn_demo.model import SequenceClassifier


@dataclass(frozen=True)
class Prediction:
    """What one model says about one digit; every number is the model's own."""

    digit: int               # the predicted class
    probs: np.ndarray        # (C,) softmax of the final logits
    step_probs: np.ndarray   # (T, C) softmax of the read-out applied after each row

    @property
    def confidence(self) -> float:
        return float(self.probs[self.digit])


def _as_batch(digits) -> torch.Tensor:
    """uint8 (28, 28) or (B, 28, 28) images, or float rows, -> float (B, T, F)."""
    if isinstance(digits, torch.Tensor) and digits.is_floating_point():
        x = digits  # already rows; keep the dtype (tests run in float64)
    else:
        x = to_sequences(np.asarray(digits))
    return x.unsqueeze(0) if x.dim() == 2 else x


def row_attribution(model: SequenceClassifier, digits, target=None) -> np.ndarray:
    """||d logit_target / d x_t||_2 for every row t: (T,) for one digit, (B, T) for a batch.

    `target` defaults to each digit's predicted class. The digits are independent, so one
    backward pass through the sum of their target logits gives every digit's own gradient.
    """
    single = (digits.dim() if isinstance(digits, torch.Tensor) else np.ndim(digits)) == 2
    with torch.enable_grad(), threads.limit(1):
        x = _as_batch(digits).detach().clone().requires_grad_(True)
        logits = model(x)  # (B, C)
        if target is None:
            target = logits.argmax(-1)
        target = torch.as_tensor(target).reshape(-1).expand(len(x))
        grad, = torch.autograd.grad(logits.gather(1, target[:, None]).sum(), x)  # (B, T, F)
        norms = grad.norm(dim=-1).numpy()  # (B, T)
    return norms[0] if single else norms


@torch.inference_mode()
def predict(models: dict[str, SequenceClassifier], digit) -> dict[str, Prediction]:
    """One digit (uint8 (28, 28)) read by every model: name -> Prediction."""
    out = {}
    with threads.limit(1):  # the softmax too: even it wakes a second thread
        x = _as_batch(digit)[:1]
        for name, model in models.items():
            trace = model.trace(x)
            probs = trace.probs[0].numpy()
            out[name] = Prediction(int(probs.argmax()), probs, trace.step_probs[0].numpy())
    return out


# Below this for every model, the drawing is probably not an MNIST-like digit. Calibrated on real
# digits: the largest threshold at which every shipped model is below it for at most 0.5% of MNIST's
# 10,000 test digits (0.888 for the models of issue 12; bench/drawn_digits.py prints it,
# tests/test_shipped_models.py pins it).
LOW_CONFIDENCE = 0.88


def unlike_mnist(predictions: dict[str, Prediction], threshold: float | None = None) -> bool:
    """True when no model gives its own prediction a probability of at least `threshold`
    (default LOW_CONFIDENCE)."""
    threshold = LOW_CONFIDENCE if threshold is None else threshold
    return bool(predictions) and all(p.confidence < threshold for p in predictions.values())


def late_share(row_attribution: np.ndarray, last: int = 7) -> float:
    """Fraction of the total attribution that falls on the last `last` rows: near 1 when a model
    only looks at what it read last (a fading gradient), lower when earlier rows still count."""
    a = np.asarray(row_attribution, dtype=float)
    total = a.sum()
    return float(a[-last:].sum() / total) if total > 0 else 0.0
