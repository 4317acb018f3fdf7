"""Cached queries, one pattern: a public function takes a model's name (or a file) and passes
its version key (path, stamp) to a private cached one, which loads the model by that key
(`_load`), so a retrained file is never served stale numbers."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from rnn_demo import checkpoints, i18n, registry
from rnn_demo.i18n import _
from rnn_demo.ui.models import _load, _read, memory_user_dir, model_paths, model_version, sample
from rnn_demo.ui.session import in_language


# --- Compare page ------------------------------------------------------------------------------

@st.cache_resource(show_spinner=False)
def _test_set(lang: str):
    from rnn_demo import compare
    return compare.test_digits()


def test_set():
    """(digits, which) for comparisons: the full MNIST test set when present, else the sample;
    `which` says so in the session's language."""
    return _test_set(i18n.language())


def _stored(path: str, what: str, digits):
    """A shipped model's result stored beside it (compare.precomputed), else None."""
    from rnn_demo import compare
    return compare.precomputed(path, what, digits.source) if Path(path).parent == registry.SHIPPED_DIR else None


@st.cache_data(show_spinner=False, max_entries=64)
def _evaluation(path: str, stamp: str) -> dict:
    from rnn_demo import compare
    digits = test_set()[0]
    stored = _stored(path, "evaluation", digits)
    return stored if stored is not None else compare.evaluate(_load(path, stamp).model, digits)


def evaluation(name: str) -> dict:
    """Accuracy, confusion matrix and per-class accuracy on the test digits, per file version."""
    return _evaluation(*model_version(name))


@st.cache_data(show_spinner=False, max_entries=64)
def _when_knows(path: str, stamp: str):
    from rnn_demo import compare
    stored = _stored(path, "when_it_knows", sample())
    return stored if stored is not None else compare.when_it_knows(_load(path, stamp).model, sample())


def when_it_knows(name: str):
    """Mean P(true class) after each row over the bundled sample, per file version."""
    return _when_knows(*model_version(name))


@st.cache_data(show_spinner=False, max_entries=64)
def _grad_curve(path: str, stamp: str) -> dict:
    from rnn_demo import compare
    stored = _stored(path, "gradient_curve", sample())
    return stored if stored is not None else compare.gradient_curve(_load(path, stamp).model, sample())


def gradient_curve(name: str) -> dict:
    """||dL/ds_t|| / ||dL/ds_T|| over 200 sample digits, per file version."""
    return _grad_curve(*model_version(name))


@st.cache_data(show_spinner=False, max_entries=256)
def _reading(path: str, stamp: str, index: int) -> dict:
    from rnn_demo import compare
    s = sample()
    return compare.reading_trace(_load(path, stamp).model, s.images[index], int(s.labels[index]))


def reading_trace(name: str, index: int) -> dict:
    """States and per-step probabilities of one model reading sample digit `index`."""
    return _reading(*model_version(name), int(index))


# --- Gradient flow ---------------------------------------------------------------------------
# Each result is cached per setting (and per checkpoint file version), so moving a control back
# to a setting it had shows the stored numbers at once.

GRADIENT_DIGITS = 256  # digits of the bundled sample behind every gradient curve


@st.cache_data(show_spinner=False, max_entries=64)
def _gradient_curves(path: str, stamp: str, n: int, at_init: bool):
    from rnn_demo import gradients

    ckpt = _load(path, stamp)
    model = gradients.at_initialisation(ckpt.model, ckpt.train_config) if at_init else ckpt.model
    digits = sample()
    return gradients.norms_through_time(model, digits.sequences(slice(0, n)), digits.labels[:n])


def gradient_curves(name: str, at_init: bool = False, n: int | None = None) -> dict:
    """Per-step gradient-norm curves (gradients.NormCurve by state: "h", LSTM "c", ...) of a
    model on n sample digits (default GRADIENT_DIGITS); at_init=True: the same architecture at
    its initialisation."""
    with st.spinner(_("Backpropagating through time…")):  # shown only if it takes over half a second
        return _gradient_curves(*model_version(name), n or GRADIENT_DIGITS, at_init)


@st.cache_data(show_spinner=False, max_entries=128)
def _gradient_experiment(source: str, version: tuple | None, rho: float | None, activation: str,
                         sequence: str, extra: int, n: int, seed: int):
    # No language in the key: the result's notes are translated when read (gradients.NormCurve.notes)
    from rnn_demo import gradients

    digits = sample()
    x = gradients.make_sequences(digits.images[:n], sequence, extra, seed)
    if source == "fresh":
        weights = gradients.fresh_rnn_weights(inputs=x.shape[-1], seed=seed)
    else:
        if sequence == "pixels":
            raise ValueError(_("a trained model reads 28 pixels per step; pick a fresh RNN to read pixel by pixel"))
        weights = gradients.rnn_weights_from(_load(*version).model)
    return gradients.rnn_experiment(weights, x, digits.labels[:n], rho, activation)


def gradient_experiment(source: str, rho: float | None, activation: str, sequence: str, extra: int = 0,
                        n: int | None = None, seed: int = 0):
    """gradients.Experiment for an RNN ("fresh" random weights, or a trained RNN's by name) with
    W_h rescaled to spectral radius rho (None keeps it)."""
    version = None if source == "fresh" else model_version(source)
    with st.spinner(_("Backpropagating through time…")):
        return _gradient_experiment(source, version, rho, activation, sequence, extra, n or GRADIENT_DIGITS, seed)


@st.cache_data(show_spinner=False, max_entries=64)
def _digit_gradient_curves(path: str, stamp: str, digit_bytes: bytes):
    import numpy as np

    from rnn_demo import gradients
    digit = np.frombuffer(digit_bytes, np.uint8).reshape(28, 28).copy()
    return gradients.digit_norms(_load(path, stamp).model, digit)


def digit_gradient_curves(name: str, digit) -> tuple[dict, int]:
    """(curves, the model's answer) for one uint8 (28, 28) digit, e.g. the drawn one."""
    import numpy as np
    return _digit_gradient_curves(*model_version(name), np.ascontiguousarray(digit, dtype=np.uint8).tobytes())


@st.cache_data(show_spinner=False, max_entries=32)
def _training_norms(path: str, stamp: str):
    from rnn_demo import gradients

    return gradients.training_norms(_load(path, stamp).history)


def training_gradient_norms(name: str) -> dict:
    """The checkpoint's per-training-step gradient norms, clip threshold, clipped and bad steps."""
    return _training_norms(*model_version(name))


# --- Hidden states page ---
# A digit's trace is cached per model file version and digit; the sample's PCA once per model
# file version. Changing the digit recomputes only the one-digit trace (milliseconds): the
# model stays loaded (`_load`) and the PCA stays fitted.


@st.cache_data(show_spinner=False, max_entries=256)
def _digit_trace(path: str, stamp: str, image, label: int | None) -> dict:
    from rnn_demo import analysis
    return analysis.digit_trace(_load(path, stamp).model, image, label)


def digit_trace(name: str, image, label: int | None = None) -> dict:
    """What the named model computes for one digit (`analysis.digit_trace`), cached."""
    import numpy as np
    return _digit_trace(*model_version(name), np.asarray(image), None if label is None else int(label))


@st.cache_data(show_spinner=False, max_entries=16)
def _sample_pca(path: str, stamp: str) -> dict:
    from rnn_demo import analysis
    return analysis.sample_pca(_load(path, stamp).model, sample())


def sample_pca(name: str) -> dict:
    """PCA of the named model's hidden states over the bundled sample, with a few hundred
    projected paths (`analysis.sample_pca`), computed once per model file version."""
    with st.spinner(_("Mapping the sample's hidden states (once per model)…")):
        return _sample_pca(*model_version(name))


# --- Draw page ---
# Predictions and attributions for a drawn digit are cached per digit and per model file
# version, so a rerun that does not change the drawing (a button, a resize) costs nothing.

def _draw_versions(names) -> tuple[tuple[str, str, float], ...]:
    paths = model_paths()
    return tuple((n, *model_version(n)) for n in names if n in paths)


@st.cache_data(show_spinner=False, max_entries=128)
def _draw_predictions(digit_bytes: bytes, versions: tuple) -> dict:
    import numpy as np

    from rnn_demo import attribution
    digit = np.frombuffer(digit_bytes, np.uint8).reshape(28, 28).copy()
    return attribution.predict({n: _load(p, s).model for n, p, s in versions}, digit)


def draw_predictions(digit, names) -> dict:
    """name -> attribution.Prediction for one uint8 (28, 28) digit, for each named model.
    Raises CheckpointError if a model cannot be read; `readable_models` filters first."""
    import numpy as np
    return _draw_predictions(np.ascontiguousarray(digit, dtype=np.uint8).tobytes(), _draw_versions(names))


@st.cache_data(show_spinner=False, max_entries=128)
def _draw_attribution(digit_bytes: bytes, versions: tuple) -> dict:
    import numpy as np

    from rnn_demo import attribution
    digit = np.frombuffer(digit_bytes, np.uint8).reshape(28, 28).copy()
    return {n: attribution.row_attribution(_load(p, s).model, digit) for n, p, s in versions}


def draw_attribution(digit, names) -> dict:
    """name -> (28,) ||d logit_pred / d x_t|| per row for one digit, for each named model."""
    import numpy as np
    return _draw_attribution(np.ascontiguousarray(digit, dtype=np.uint8).tobytes(), _draw_versions(names))


# --- Downloads (rnn_demo/export.py) ---
# The GIF, the one export that takes a moment, is cached per model file version, digit and quantity.

@st.cache_data(show_spinner=False, max_entries=16)
def _digit_gif(path: str, stamp: str, image, label: int | None, quantity: str, quantity_name: str,
               lang: str) -> bytes:  # lang: the figure's titles are painted into the frames
    from rnn_demo import export
    from rnn_demo.plots import explorer
    figure = explorer.explorer_figure(_digit_trace(path, stamp, image, label), quantity, quantity_name)
    return export.animation_gif(figure)


def digit_gif(name: str, image, label: int | None, quantity: str, quantity_name: str):
    """A function giving the Hidden states animation of this model, digit and quantity as GIF
    bytes: the same figure the page shows (same cached trace, same builder), painted by export."""
    import numpy as np
    version, image = model_version(name), np.asarray(image)
    label = None if label is None else int(label)
    lang = i18n.language()  # the button's function runs later, outside this run: it says the language itself
    return lambda: in_language(lang, _digit_gif, *version, image, label, quantity, quantity_name, lang)


# --- Memory page ---------------------------------------------------------------------------
# The shipped results and checkpoints live in models/memory/ (never listed by the other pages:
# they read digits without a gap); models trained on the Memory page go to USER_DIR/memory.

@st.cache_data(show_spinner=False, max_entries=4)
def _memory_results(path: str, stamp: str) -> dict:
    from rnn_demo import memory
    results = memory.load_results(path)
    return {"results": results, "summary": memory.summary(results)}


def memory_results() -> tuple[dict, dict, tuple]:
    """(results.json, memory.summary of it, its version key), read once per file version."""
    from rnn_demo import memory
    version = registry.version(memory.RESULTS)
    found = _memory_results(*version)
    return found["results"], found["summary"], version


@st.cache_data(show_spinner=False, max_entries=32)
def _memory_view(path: str, stamp: str, gap: int) -> dict:
    from rnn_demo import memory
    return memory.gap_view(_load(path, stamp).model, sample(), gap)


def memory_view(path: Path, gap: int) -> dict:
    """memory.gap_view of a memory checkpoint on the bundled sample, per file version and gap."""
    with st.spinner(_("Reading the sample through the gap (once per model)…")):
        return _memory_view(*registry.version(Path(path)), int(gap))


@st.cache_data(show_spinner=False, max_entries=8)
def _memory_user_points(folder: str, stamp: int | None) -> list[dict]:
    points = []
    for p in checkpoints.list_checkpoints(folder):
        path, stamp = registry.version(p)
        if registry.problem(p, stamp, _read) is not None:  # unreadable, or a name the app could not have given it
            continue
        found = _read(path, stamp)
        if found.metrics.get("test_acc") is None:
            continue
        points.append({"name": p.stem, "gap": int(found.train_config.get("gap", 0)), "acc": found.metrics["test_acc"],
                       "cell": found.model_config.cell,
                       "forget_init": found.train_config.get("forget_init", "standard"),
                       "steps": found.metrics.get("steps"), "data": found.dataset.get("kind", ""),
                       "noise": float(found.train_config.get("gap_noise", 0.0))})
    return points


def memory_user_points() -> list[dict]:
    """The models trained on the Memory page: name, gap, test accuracy, cell, data."""
    folder = memory_user_dir()
    return _memory_user_points(str(folder), registry.folder_stamp(folder))


# --- Inside the cell page ----------------------------------------------------------------
# Every term of every step is computed once per model file version, digit and layer (a few
# milliseconds); moving the step slider only picks a step out of it (`cellstep.at_step`).

@st.cache_data(show_spinner=False, max_entries=64)
def _cell_walk(path: str, stamp: str, digit_bytes: bytes, layer: int) -> dict:
    import numpy as np

    from rnn_demo import cellstep
    digit = np.frombuffer(digit_bytes, np.uint8).reshape(28, 28).copy()
    return cellstep.walk(_load(path, stamp).model, digit, layer)


def cell_walk(name: str, digit, layer: int = 0) -> dict:
    """cellstep.walk of the named model for one uint8 (28, 28) digit and one layer, cached."""
    import numpy as np
    return _cell_walk(*model_version(name), np.ascontiguousarray(digit, dtype=np.uint8).tobytes(), int(layer))
