"""Gradient flow through time: ||dL/ds_t|| at every step, for real models and for an RNN whose
W_h is rescaled to a chosen spectral radius, plus the training run's gradient norms.

The picture is Pascanu et al. (2013), "On the difficulty of training recurrent neural
networks": dL/ds_t = dL/ds_T * prod_{k>t} ds_k/ds_{k-1}, and ds_k/ds_{k-1} = diag(f'(.)) W_h, so
the gradient reaching early rows shrinks or grows roughly like a power of W_h's largest
eigenvalue modulus (Bengio et al. 1994). Every number here comes from autograd on the
unrolled network: each state s_t is kept and the loss is differentiated with respect to it.

Pure functions: tensors in, numpy arrays and small dataclasses out; no streamlit.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from rnn_demo import cells, threads
from rnn_demo.i18n import N_, _
from rnn_demo.data import to_sequences
from rnn_demo.model import SequenceClassifier, build, initialise

ACTIVATIONS = tuple(cells.ACTIVATIONS)  # tanh, relu, identity
SEQUENCES = {  # sequence option -> what the page says about it (English, marked; shown with _())
    "rows": N_("the 28 rows"),
    "blank": N_("the 28 rows, then k blank rows"),
    "noise": N_("the 28 rows, then k rows of noise"),
    "pixels": N_("pixel by pixel: 784 steps of 1 pixel"),
}
MAX_EXTRA_ROWS = 500
# The unrolled loops do many small (B, H) x (H, H) products; on this app's small machines a
# second thread costs more in hand-offs than it gains (benchmarked in bench/gradient_speed.py),
# so they run on one thread. None leaves torch's setting alone.
LOOP_THREADS: int | None = 1


# --- per-step gradient norms --------------------------------------------------------------

def _per_sample_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # Summed, not averaged: samples do not interact, so dL/ds_t of sample b is then exactly
    # the gradient of b's own loss, and its norm does not depend on the batch size.
    return F.cross_entropy(logits, y, reduction="sum")


def _unroll_direction(model: SequenceClassifier, x: torch.Tensor, layer: int, reverse: bool,
                      path: str) -> dict[str, list[torch.Tensor]]:
    """One layer and direction, one step at a time, keeping every state as its own tensor so
    that autograd can give dL/ds_t for each. x: (B, T, F) in reading order for this direction."""
    cell = model.config.cell
    w = model.layer_weights(layer, reverse)
    B, T, _ = x.shape
    H = model.config.hidden_size
    h = x.new_zeros(B, H)
    c = x.new_zeros(B, H)
    out: dict[str, list[torch.Tensor]] = {"h": [], "c": []} if cell == "lstm" else {"h": []}
    if path == "fused":
        # The fused torch cell of the same layer, fed one step at a time: an independent
        # implementation of the recurrence, used by the tests against the from-scratch one.
        fused = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[cell]
        extra = {"nonlinearity": model.config.nonlinearity} if cell == "rnn" else {}
        step = fused(x.shape[-1], H, **extra).to(x.dtype)
        step.weight_ih, step.weight_hh = w["W_ih"], w["W_hh"]  # share the model's parameters
        step.bias_ih, step.bias_hh = w["b_ih"], w["b_hh"]
        for t in range(T):
            if cell == "lstm":
                h, c = step(x[:, t], (h, c))
                out["c"].append(c)
            else:
                h = step(x[:, t], h)
            out["h"].append(h)
        return out
    for t in range(T):  # the equations of cells.py, one step per call
        xt = x[:, t:t + 1]  # (B, 1, F)
        if cell == "rnn":
            h = cells.rnn(xt, w["W_ih"], w["W_hh"], w["b_ih"] + w["b_hh"], s_0=h,
                          activation=model.config.nonlinearity)["h"][:, 0]
        elif cell == "lstm":
            o = cells.lstm(xt, w["W_ih"], w["W_hh"], w["b_ih"], w["b_hh"], h_0=h, c_0=c)
            c = o["c"][:, 0]
            # h_t = o * tanh(c_t) again, from the kept c_t, so that dL/dc_t is the total derivative
            # (through h_t and through c_{t+1}), as the fused cell's graph has it.
            h = o["o"][:, 0] * torch.tanh(c)
            out["c"].append(c)
        else:
            h = cells.gru(xt, w["W_ih"], w["W_hh"], w["b_ih"], w["b_hh"], h_0=h)["h"][:, 0]
        out["h"].append(h)
    return out


def state_gradients(model: SequenceClassifier, x: torch.Tensor, y: torch.Tensor,
                    path: str = "scratch") -> dict[str, np.ndarray]:
    """||dL_b/ds_t|| for every digit b and step t, by autograd through the unrolled network.

    x: (B, T, F) float, y: (B,) labels. Returns numpy arrays (B, T): "h" for the top layer's
    hidden state (the forward direction), "c" for the LSTM's cell state, and for a
    bidirectional model "h_reverse" (the backward direction, indexed by row as well).
    path: "scratch" (cells.py's equations) or "fused" (torch's RNNCell/LSTMCell/GRUCell).
    """
    if path not in ("scratch", "fused"):
        raise ValueError(f"path must be scratch or fused, not {path!r}")
    cfg = model.config
    if x.shape[-1] != cfg.input_size:
        raise ValueError(f"this model reads {cfg.input_size} pixels per step, not {x.shape[-1]}")
    with torch.enable_grad(), threads.limit(LOOP_THREADS):
        inputs = x
        for layer in range(cfg.num_layers):
            fwd = _unroll_direction(model, inputs, layer, False, path)
            seq = torch.stack(fwd["h"], 1)  # (B, T, H)
            back = None
            if cfg.bidirectional:
                back = _unroll_direction(model, inputs.flip(1), layer, True, path)
                back = {k: v[::-1] for k, v in back.items()}  # back in row order
                seq = torch.cat([seq, torch.stack(back["h"], 1)], -1)  # (B, T, 2H)
            inputs = seq
        loss = _per_sample_loss(model.readout(model.final_state(seq)), y)
        wanted = {"h": fwd["h"]}
        if "c" in fwd:
            wanted["c"] = fwd["c"]
        if back is not None:
            wanted["h_reverse"] = back["h"]
        names = [(k, t) for k, v in wanted.items() for t in range(len(v))]
        grads = torch.autograd.grad(loss, [wanted[k][t] for k, t in names], allow_unused=True)
    out = {k: np.zeros((x.shape[0], x.shape[1])) for k in wanted}
    for (k, t), g in zip(names, grads):
        out[k][:, t] = 0.0 if g is None else g.detach().double().norm(dim=-1).numpy()
    return out


@dataclass
class NormCurve:
    """Median and inter-quartile range over a batch of ||dL/ds_t||, per step t (1-based)."""

    t: np.ndarray       # (T,) steps 1..T
    median: np.ndarray  # (T,) of ||dL/ds_t|| / ||dL/ds_T||, each digit divided by its own last step
    q1: np.ndarray      # (T,) 25th percentile of the same ratio
    q3: np.ndarray      # (T,) 75th percentile
    raw_median: np.ndarray  # (T,) of ||dL/ds_t|| itself
    raw_q1: np.ndarray
    raw_q3: np.ndarray
    factor: float       # fitted change per step going back in time (<1 vanishes, >1 explodes)
    reference: int = -1  # index of the step the ratio is taken against (-1: the last)
    # What to say about the batch, as (English message, its values): `notes` translates them when
    # read, so a curve kept in a cache speaks each reader's language.
    note_messages: list[tuple[str, dict]] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        return [_(message, **values) for message, values in self.note_messages]


def _quartiles(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with warnings_off():
        q = np.nanpercentile(a, [50, 25, 75], axis=0)
    return q[0], q[1], q[2]


@contextlib.contextmanager
def warnings_off():
    import warnings
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def fit_factor(t: np.ndarray, curve: np.ndarray) -> float:
    """The per-step factor by which the gradient changes going one step back in time, from a
    least-squares line through log(curve) against t: exp(-slope). NaN with under 2 points."""
    t, curve = np.asarray(t, float), np.asarray(curve, float)
    ok = np.isfinite(curve) & (curve > 0)
    if ok.sum() < 2:
        return float("nan")
    slope = np.polyfit(t[ok], np.log(curve[ok]), 1)[0]
    return float(np.exp(-slope))


def summarise(norms: np.ndarray, reference: int = -1) -> NormCurve:
    """norms (B, T) -> median and IQR per step, raw and divided by each digit's norm at the
    reference step (the last by default: the step nearest the loss)."""
    norms = np.asarray(norms, float)
    T = norms.shape[1]
    t = np.arange(1, T + 1)
    notes = []
    bad = ~np.isfinite(norms)
    finite = np.where(bad, np.nan, norms)  # overflowed steps are left out, not drawn as numbers
    with warnings_off():
        ref = finite[:, reference:reference + 1] if reference != -1 else finite[:, -1:]
        ratio = np.where(ref > 0, finite / ref, np.nan)
    if bad.any():
        notes.append((N_("{n} of {total} digits have an infinite or NaN gradient (the numbers overflowed); those "
                         "steps are left out."), {"n": int(bad.any(1).sum()), "total": len(norms)}))
    dead = (ref[:, 0] == 0)
    if dead.any():
        notes.append((N_("{n} of {total} digits have a zero gradient at the last step (their loss is flat there, "
                         "e.g. a saturated softmax); they are left out of the ratio."),
                      {"n": int(dead.sum()), "total": len(norms)}))
    zero = (norms == 0) & ~dead[:, None]
    if zero.any():
        notes.append((N_("For {n} digits the gradient is exactly 0 at some earlier steps: it underflowed (smaller "
                         "than the smallest number stored) or every ReLU was off."), {"n": int(zero.any(1).sum())}))
    med, q1, q3 = _quartiles(ratio)
    rmed, rq1, rq3 = _quartiles(finite)
    return NormCurve(t, med, q1, q3, rmed, rq1, rq3, fit_factor(t, med), reference, notes)


def norms_through_time(model: SequenceClassifier, x: torch.Tensor, y: torch.Tensor) -> dict[str, NormCurve]:
    """The per-step gradient-norm curves of a model on a batch of digits: "h" (||dL/ds_t||),
    and "c" (||dL/dc_t||) for an LSTM, "h_reverse" for a bidirectional model's backward
    direction (its ratio is taken against row 1, the last row it reads). For the Compare page:
    `curves["h"].median` against `curves["h"].t`, log scale."""
    norms = state_gradients(model, x, y)
    curves = {k: summarise(v, reference=0 if k == "h_reverse" else -1) for k, v in norms.items()}
    if "h_reverse" in curves:  # its time runs from row T to row 1: one step back is one row down
        back = curves["h_reverse"]
        back.factor = fit_factor(back.t, back.median[::-1])
    return curves


def digit_norms(model: SequenceClassifier, image) -> tuple[dict[str, NormCurve], int]:
    """norms_through_time for one digit (e.g. a drawing, which has no true class): the loss is
    taken against the model's own answer, which is returned beside the curves."""
    x = to_sequences(torch.as_tensor(image)).reshape(1, 28, 28)
    with torch.no_grad():
        answer = int(model(x).argmax(-1))
    return norms_through_time(model, x, torch.tensor([answer])), answer


def at_initialisation(model: SequenceClassifier, train_config: dict | None = None,
                      seed: int = 0) -> SequenceClassifier:
    """The same architecture with the weights it started training from (the checkpoint's
    initialisation scheme, seeded), without touching the global random state."""
    scheme = (train_config or {}).get("init", "default")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fresh = build(model.config)
        initialise(fresh, scheme, torch.Generator().manual_seed(seed))
    return fresh.eval()


# --- sequences ----------------------------------------------------------------------------

def make_sequences(images: torch.Tensor, kind: str = "rows", extra: int = 0, seed: int = 0) -> torch.Tensor:
    """uint8 or float images (B, 28, 28) -> float inputs (B, T, F) for a sequence option:
    rows (T=28, F=28); blank / noise: the rows then `extra` blank or uniform-noise rows
    (T=28+extra); pixels: one pixel per step in reading order (T=784, F=1; Le et al. 2015)."""
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    if kind not in SEQUENCES:
        raise ValueError(_("sequence must be one of {options}, not {value}", options=", ".join(SEQUENCES),
                           value=repr(kind)))
    if kind == "pixels":
        return x.reshape(len(x), -1, 1)
    if kind == "rows" or extra == 0:
        return x
    if not 0 <= extra <= MAX_EXTRA_ROWS:
        raise ValueError(_("extra rows must be between 0 and {limit}, not {value}", limit=MAX_EXTRA_ROWS, value=extra))
    if kind == "blank":
        pad = x.new_zeros(len(x), extra, x.shape[-1])
    else:
        pad = torch.rand(len(x), extra, x.shape[-1], generator=torch.Generator().manual_seed(seed))
    return torch.cat([x, pad], 1)


# --- the interactive RNN: W_h rescaled to a spectral radius --------------------------------

def finite_matrix(W: torch.Tensor, what: str = "W_h") -> torch.Tensor:
    """W as float64, or ValueError when it holds NaN or inf: LAPACK's eigenvalue and SVD routines
    must never see one (oneMKL's DGEBAL aborts the whole process on a NaN)."""
    W = W.detach().double()
    if not torch.isfinite(W).all():
        raise ValueError(_("{matrix} holds NaN or infinite values, so its eigenvalues cannot be computed",
                           matrix=_(what)))
    return W


def spectral_radius(W: torch.Tensor) -> float:
    """Largest |eigenvalue| of a square matrix."""
    with threads.limit(LOOP_THREADS):
        return float(torch.linalg.eigvals(finite_matrix(W)).abs().max())


def set_spectral_radius(W: torch.Tensor, rho: float) -> torch.Tensor:
    """W scaled so that its largest eigenvalue modulus is rho (eigenvalues scale with W)."""
    if not (math.isfinite(rho) and rho > 0):
        raise ValueError(_("the spectral radius must be a positive number, not {rho}", rho=rho))
    current = spectral_radius(W)
    if current == 0:
        raise ValueError(_("W_h has no non-zero eigenvalue, so it cannot be rescaled"))
    return W * (rho / current)


def fresh_rnn_weights(hidden: int = 128, inputs: int = 28, seed: int = 0,
                      dtype: torch.dtype = torch.float64) -> dict[str, torch.Tensor]:
    """Random weights for a tanh/ReLU/identity RNN: W_hh ~ N(0, 1/H), whose eigenvalues fill
    roughly the unit disc (the circular law), so rescaling sets rho cleanly; W_xh ~ N(0, 1/F),
    zero biases, read-out ~ N(0, 1/H)."""
    g = torch.Generator().manual_seed(seed)
    n = lambda *s: torch.randn(*s, generator=g, dtype=dtype)  # noqa: E731
    return {"W_xh": n(hidden, inputs) / math.sqrt(inputs), "W_hh": n(hidden, hidden) / math.sqrt(hidden),
            "b_h": torch.zeros(hidden, dtype=dtype), "W_out": n(10, hidden) / math.sqrt(hidden),
            "b_out": torch.zeros(10, dtype=dtype)}


def rnn_weights_from(model: SequenceClassifier, dtype: torch.dtype = torch.float64) -> dict[str, torch.Tensor]:
    """A trained one-layer, one-direction RNN's weights in the same form as fresh_rnn_weights."""
    cfg = model.config
    if cfg.cell != "rnn" or cfg.num_layers != 1 or cfg.bidirectional:
        raise ValueError(_("{model} is not a one-layer, one-direction RNN", model=cfg.label))
    w = model.layer_weights(0)
    return {"W_xh": w["W_ih"].detach().to(dtype), "W_hh": w["W_hh"].detach().to(dtype),
            "b_h": (w["b_ih"] + w["b_hh"]).detach().to(dtype),
            "W_out": model.readout.weight.detach().to(dtype), "b_out": model.readout.bias.detach().to(dtype)}


@dataclass
class Experiment:
    """What the 'make it vanish or explode' panel shows, for one setting."""

    curve: NormCurve
    rho: float                 # spectral radius of the W_h used
    sigma_max: float           # largest singular value of W_h
    mean_slope: float          # mean f'(.) over the batch, steps and units (tanh: 1 - s^2)
    eigenvalues: np.ndarray    # complex (H,) of W_h
    steps: int
    activation: str
    overflow_step: int | None  # first step whose states are not finite, if any
    W_hh: np.ndarray | None = None  # (H, H) the rescaled recurrent weights that were run


def rnn_experiment(weights: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor, rho: float | None,
                   activation: str = "tanh") -> Experiment:
    """Rescale W_h to spectral radius rho (None keeps it), run the RNN on x (B, T, F), and
    measure ||dL/ds_t|| at every step with autograd, with the statistics that explain it."""
    with threads.limit(LOOP_THREADS):
        return _rnn_experiment(weights, x, y, rho, activation)


def _rnn_experiment(weights, x, y, rho, activation) -> Experiment:
    if activation not in cells.ACTIVATIONS:
        raise ValueError(_("activation must be one of {options}, not {value}", options=", ".join(ACTIVATIONS),
                           value=repr(activation)))
    dtype = weights["W_hh"].dtype
    if x.shape[-1] != weights["W_xh"].shape[1]:
        raise ValueError(_("these weights read {n} pixels per step, not {value}", n=weights["W_xh"].shape[1],
                           value=x.shape[-1]))
    if rho is not None and not (math.isfinite(rho) and rho > 0):
        raise ValueError(_("the spectral radius must be a positive number, not {rho}", rho=rho))
    # One eigendecomposition: rescaling W scales its eigenvalues alike.
    eig = torch.linalg.eigvals(finite_matrix(weights["W_hh"]))
    current = float(eig.abs().max())
    if rho is not None and current == 0:
        raise ValueError(_("W_h has no non-zero eigenvalue, so it cannot be rescaled"))
    scale = 1.0 if rho is None else rho / current
    W_hh, eig = weights["W_hh"] * scale, (eig * scale).numpy()
    sigma_max = float(torch.linalg.svdvals(finite_matrix(W_hh, N_("the rescaled W_h")))[0])
    x = x.to(dtype)
    with torch.enable_grad():
        # s_0 = 0 as a leaf that asks for a gradient puts every s_t in the graph, without
        # autograd also working out gradients for the weights (a third of the cost).
        s = x.new_zeros(x.shape[0], W_hh.shape[0]).requires_grad_()
        states = []
        for t in range(x.shape[1]):
            s = cells.rnn(x[:, t:t + 1], weights["W_xh"], W_hh, weights["b_h"], s_0=s, activation=activation)["h"][:, 0]
            states.append(s)
        logits = s @ weights["W_out"].T + weights["b_out"]
        grads = torch.autograd.grad(_per_sample_loss(logits, y), states)
    norms = torch.stack([g.norm(dim=-1) for g in grads], 1).double().numpy()  # (B, T)
    S = torch.stack(states, 1).detach()  # (B, T, H)
    finite = torch.isfinite(S).flatten(2).all(-1).all(0)  # (T,)
    overflow = None if bool(finite.all()) else int(torch.nonzero(~finite)[0, 0]) + 1
    if activation == "tanh":
        slope = 1 - S[:, finite] ** 2
    elif activation == "relu":
        slope = (S[:, finite] > 0).to(S.dtype)
    else:
        slope = torch.ones(1)
    return Experiment(summarise(norms), float(np.abs(eig).max()), sigma_max,
                      float(slope.mean()) if slope.numel() else float("nan"),
                      eig, x.shape[1], activation, overflow, W_hh.detach().double().numpy())


# --- during training ----------------------------------------------------------------------

def training_norms(history: dict) -> dict:
    """The global gradient norm at every training step (before clipping) from a checkpoint's
    history, the clipping threshold, how many steps it clipped, and NaN/inf steps."""
    norms = np.asarray(history.get("grad_norm", []), float)
    if norms.size == 0:
        raise ValueError(_("this checkpoint's history has no gradient norms"))
    clip = float(history.get("clip") or 0.0)
    finite = np.isfinite(norms)
    clipped = finite & (norms > clip) if clip > 0 else np.zeros_like(finite)
    return {"step": np.arange(1, len(norms) + 1), "grad_norm": norms, "clip": clip,
            "clipped": int(clipped.sum()), "clipped_fraction": float(clipped.mean()),
            "bad_steps": np.flatnonzero(~finite) + 1, "steps_per_epoch": history.get("steps_per_epoch")}
