"""The only module that imports streamlit: cached loaders, shared widgets, session-state keys.

Models load once per file version (`st.cache_resource`); arrays derived from them are cached
with `st.cache_data` by the pages' calls into here. Pages stay thin: widgets in, rnn_demo
calls, figures out.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

import streamlit as st

from rnn_demo import checkpoints, data

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_DIR = ROOT / "models"
USER_DIR = Path(os.environ.get("RNN_DEMO_USER_MODELS", ROOT / "user_models"))
SHIPPED = ("rnn", "lstm", "gru", "birnn")  # the order pages offer them in

# Pages, in the order the home page lists them: (file, title, one line on what it shows).
PAGES = [
    ("pages/1_Hidden_states.py", "Hidden states", "watch s_t evolve row by row as the network reads a digit"),
    ("pages/2_Gradient_flow.py", "Gradient flow", "see gradients vanish or explode through time"),
    ("pages/3_Draw.py", "Draw a digit", "draw with the mouse and get live predictions from every model"),
    ("pages/4_Train.py", "Train", "train an RNN, LSTM or GRU in the browser and watch the curves"),
    ("pages/5_Compare.py", "Compare", "RNN vs LSTM side by side: accuracy, confidence over time, gradients"),
]

# Session-state keys shared between pages.
DRAWN_DIGIT = "drawn_digit"  # uint8 (28, 28) array: the last digit drawn on the Draw page


def setup(title: str) -> None:
    """Call first on every page."""
    st.set_page_config(page_title=f"{title} · RNN Explorer", page_icon="🔁", layout="wide")


def model_paths() -> dict[str, Path]:
    """Name -> checkpoint file: shipped models first (fixed order), then the user's."""
    found = {p.stem: p for p in checkpoints.list_checkpoints(SHIPPED_DIR)}
    ordered = {n: found.pop(n) for n in SHIPPED if n in found} | found
    for p in checkpoints.list_checkpoints(USER_DIR):
        ordered.setdefault(p.stem if p.stem not in ordered else f"{p.stem} (yours)", p)
    return ordered


@st.cache_resource(show_spinner=False, max_entries=32)
def _load(path: str, mtime: float) -> checkpoints.Checkpoint:
    return checkpoints.load(path)


def load_model(name: str) -> checkpoints.Checkpoint:
    """The named checkpoint, loaded once per file version. Raises CheckpointError."""
    path = model_paths().get(name)
    if path is None:
        raise checkpoints.CheckpointError(f"No model called {name!r}.")
    return _load(str(path), path.stat().st_mtime)


def model_picker(label: str = "Model", key: str = "model", default: str = "rnn", multi: bool = False,
                 defaults: tuple[str, ...] = ("rnn", "lstm")):
    """A select box (or multiselect) over every available model."""
    names = list(model_paths())
    if not names:
        st.error("No models found: the shipped models should be in models/. "
                 "Train one on the Train page, or reinstall the app.")
        st.stop()
    if multi:
        return st.multiselect(label, names, default=[n for n in defaults if n in names], key=key)
    return st.selectbox(label, names, index=names.index(default) if default in names else 0, key=key)


@st.cache_resource(show_spinner=False)
def sample() -> data.Digits:
    """The bundled sample of MNIST test digits."""
    return data.load_sample()


@contextlib.contextmanager
def friendly_errors(what: str = "This"):
    """Turn an expected failure (bad checkpoint, missing data, bad setting) into a message."""
    try:
        yield
    except (checkpoints.CheckpointError, data.DataUnavailable, ValueError) as exc:
        st.error(f"{what} could not be shown: {exc}")
        st.stop()
