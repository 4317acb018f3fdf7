"""The only module that imports streamlit: cached loaders, shared widgets, session-state keys.

Models load once per file version (`st.cache_resource`); arrays derived from them are cached
with `st.cache_data` by the pages' calls into here. Pages stay thin: widgets in, rnn_demo
calls, figures out.
"""
from __future__ import annotations

import collections
import contextlib
import contextvars
import functools
import gc
import os
import re
import threading
from pathlib import Path

import streamlit as st

from rnn_demo import checkpoints, data, i18n, store
from rnn_demo.i18n import N_, _, ngettext

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_DIR = ROOT / "models"
USER_DIR = Path(os.environ.get("RNN_DEMO_USER_MODELS", ROOT / "user_models"))
SHIPPED = ("rnn", "lstm", "gru", "birnn")  # the order pages offer them in

# Pages, in the order the home page lists them: (file, title, one line on what it shows), in
# English; `pages()` gives them in the session's language.
PAGES = [
    # Titles match the names Streamlit derives from the file names, so the sidebar reads the same
    # whether a page is first opened from the home page or by its own URL (the page's URL path
    # comes from the file name, whatever the language).
    ("pages/1_Hidden_states.py", N_("Hidden states"), N_("watch s_t evolve row by row as the network reads a digit")),
    ("pages/2_Gradient_flow.py", N_("Gradient flow"), N_("see gradients vanish or explode through time")),
    ("pages/3_Draw.py", N_("Draw"), N_("draw with the mouse and get live predictions from every model")),
    ("pages/4_Train.py", N_("Train"), N_("train an RNN, LSTM or GRU in the browser and watch the curves")),
    ("pages/5_Compare.py", N_("Compare"), N_("RNN vs LSTM side by side: accuracy, confidence over time, gradients")),
    ("pages/6_Memory.py", N_("Memory"), N_("how long can it remember? digits followed by a gap of blank rows")),
]


def pages() -> list[tuple[str, str, str]]:
    """The entries of PAGES whose file is there, title and blurb in the session's language."""
    return [(path, _(title), _(blurb)) for path, title, blurb in PAGES if (ROOT / path).exists()]


# Session-state keys shared between pages.
DRAWN_DIGIT = "drawn_digit"  # uint8 (28, 28) array: the last digit drawn on the Draw page


# --- Language ------------------------------------------------------------------------------
# The session's language lives in three places that must agree: the URL (`?lang=ko`, so a
# teacher can share a Korean link), the session state (Streamlit may drop the query string when
# the sidebar switches pages) and the i18n context variable that `_()` reads during a run.

LANG = "lang"  # the URL's query parameter and the session-state key
_LANG_SWITCH = "lang_switch"  # the sidebar switch's widget key (a widget's own state dies with its page)


def choose_language() -> str:
    """Set this run's language and return it: the URL's `?lang=` when it names a language we
    have, else the session's earlier choice, else the browser's language, else English. Anything
    else in `?lang=` (a typo, a hostile value) means English and is never shown back. Called by
    app.py before the navigation is built, so that the sidebar's page titles are translated."""
    asked = st.query_params.get(LANG)
    if asked is not None:
        code = i18n.normalise(asked) or i18n.DEFAULT
    else:
        code = i18n.normalise(st.session_state.get(LANG)) or _browser_language() or i18n.DEFAULT
    st.session_state[LANG] = code
    if st.query_params.get(LANG) != code:
        st.query_params[LANG] = code
    return i18n.set_language(code)


def _browser_language() -> str | None:
    try:
        return i18n.normalise(st.context.locale)
    except Exception:  # no browser behind this run (AppTest, bare mode)
        return None


def keep_language() -> None:
    """Set the session's language in a run that skipped `setup`: a fragment's own rerun
    (`st.fragment(run_every=...)`) runs in a fresh thread, where `_()` would read English."""
    i18n.set_language(st.session_state.get(LANG))


def _switched() -> None:
    code = (i18n.normalise(st.session_state.get(_LANG_SWITCH)) or i18n.normalise(st.session_state.get(LANG))
            or i18n.DEFAULT)
    st.session_state[LANG] = code
    st.query_params[LANG] = code


def language_switch() -> None:
    """The sidebar's language switch; a change is kept in the session and in the URL."""
    code = i18n.language()
    st.session_state[_LANG_SWITCH] = code  # shows the language this run uses, whatever the widget held
    st.sidebar.segmented_control("Language / 언어", list(i18n.LANGUAGES), format_func=i18n.LANGUAGES.get,
                                 key=_LANG_SWITCH, on_change=_switched, required=True,
                                 label_visibility="collapsed")


def setup(title: str) -> None:
    """Call first on every page, with its title in English (translated here)."""
    choose_language()
    st.set_page_config(page_title=f"{_(title)} · RNN Explorer", page_icon="🔁", layout="wide")
    language_switch()
    if i18n.language() == "ko":
        # Korean wraps between words, as it is written, not between any two syllables (a title's
        # last syllable alone on a line); a long token may still break rather than overflow a phone.
        st.html("<style>[data-testid='stMain'] *, [data-testid='stSidebar'] * "
                "{word-break: keep-all !important; overflow-wrap: anywhere;}</style>")
    _once_per_server()


@st.cache_resource(show_spinner=False)
def _once_per_server() -> None:
    """Remove what a server that died left in the model folder (reservations, temporary files),
    then freeze the long-lived objects."""
    store.clean(USER_DIR)
    _freeze_long_lived()


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:^=&\"'])")


def plain(text) -> str:
    """Text that Streamlit's Markdown shows exactly as written: every character Markdown, LaTeX,
    emoji shortcodes or colour directives could read is escaped, and lines are joined. Use it for
    anything a user typed or uploaded (file names, model names, messages that quote them)."""
    return _MARKDOWN.sub(r"\\\1", " ".join(str(text).split()))


def _freeze_long_lived() -> None:
    """Once per server: move what is alive now (torch, plotly, streamlit: ~270k objects, there for
    the server's lifetime) out of the garbage collector's reach. A full collection then scans
    only what sessions create since, instead of taking ~130 ms while every session waits on the
    GIL (.streamlit/config.toml also turns off Streamlit's forced collection after each run)."""
    # pandas too, once, before any page needs it: st.table and st.dataframe import it on first
    # use, and a click to another page during that import (seconds on a busy server) started
    # the next page while pandas was half imported, and plotly failed on it.
    import pandas  # noqa: F401
    gc.collect()
    gc.freeze()


class _Turns:
    """One holder at a time; a waiting answer goes before waiting details, and an urgent answer
    (the pen lifted) before an answer to a pen still moving."""

    def __init__(self):
        self._cond = threading.Condition()
        self._busy = False
        self._waiting = [0, 0, 0]  # by level: details, answers, urgent answers

    @contextlib.contextmanager
    def turn(self, answer: bool, urgent: bool = False):
        level = 2 if answer and urgent else int(bool(answer))
        with self._cond:
            self._waiting[level] += 1
            try:
                while self._busy or any(self._waiting[level + 1:]):
                    self._cond.wait()
            finally:
                self._waiting[level] -= 1
            self._busy = True
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()


_TURNS = _Turns()


def one_at_a_time(answer: bool = False, urgent: bool = False):
    """Let one session at a time through a page's model and figure work, and let a waiting
    `answer` (a prediction) go before waiting details (figures). That work holds Python's GIL,
    so sessions running it side by side gain nothing: 20 drawings at once spent most of their
    time handing the GIL back and forth, starving the thread that sends everyone's results.
    Taking turns, answers first, every learner sees the prediction after the others' answers
    only, not after their figures (bench/load.py: 20 drawings sent together). An `urgent` answer
    (to a lifted pen) goes before answers to pens still moving: those come a few times a second
    per learner, and a late one is soon replaced by the next (bench/load.py, live)."""
    return _TURNS.turn(answer, urgent)


def model_paths() -> dict[str, Path]:
    """Name -> checkpoint file of every model that loads: shipped models first (fixed order),
    then the user's. The folders are listed again only when they change, and each file is read
    and checked once per version (`_read`), so a page may ask many times per run."""
    return dict(_sorted(_stamps())[0])


def unreadable_models() -> dict[str, str]:
    """Name -> why, for every checkpoint file in the model folders that cannot be used."""
    return dict(_sorted(_stamps())[1])


def _stamps() -> tuple:
    return tuple((n, *_version(p)) for n, p in _all_paths().items())


def _sorted(stamps: tuple) -> tuple[dict[str, Path], dict[str, str]]:
    return _sorted_out(stamps, i18n.language())  # the reasons are sentences: one list per language


@functools.lru_cache(maxsize=8)
def _sorted_out(stamps: tuple, lang: str) -> tuple[dict[str, Path], dict[str, str]]:
    usable, unusable = {}, {}
    for name, path, stamp in stamps:
        why = _problem(Path(path), stamp)
        if why is None:
            usable[name] = Path(path)
        else:
            unusable[name] = why
    return usable, unusable


def _problem(path: Path, stamp: str) -> str | None:
    """Why a model file cannot be offered, or None. Its name is shown on every page, so it must
    be a name the app could have given it (a file copied in by hand may be called anything)."""
    try:
        named_well = store.clean_name(path.stem) == path.stem
    except store.BadName:
        named_well = False
    if not named_well:
        return _("{file}: its file name has characters a model name cannot have (only letters, digits, "
                 "'-' and '_'); rename the file to use it.", file=path.name)
    found = _read(str(path), stamp)
    return None if isinstance(found, checkpoints.Checkpoint) else str(found)


def _all_paths() -> dict[str, Path]:
    return dict(_model_paths(*((str(d), _stamp(d)) for d in (SHIPPED_DIR, USER_DIR))))


def _stamp(folder: Path) -> int | None:
    """Changes whenever a file is added to, removed from or renamed into the folder."""
    try:
        return folder.stat().st_mtime_ns
    except OSError:
        return None


@functools.lru_cache(maxsize=8)
def _model_paths(shipped: tuple[str, int | None], user: tuple[str, int | None]) -> dict[str, Path]:
    found = {p.stem: p for p in checkpoints.list_checkpoints(shipped[0])}
    ordered = {n: found.pop(n) for n in SHIPPED if n in found} | found
    for p in checkpoints.list_checkpoints(user[0]):
        ordered.setdefault(p.stem if p.stem not in ordered else f"{p.stem} (yours)", p)
    return ordered


def _version(path: Path) -> tuple[str, str]:
    """(path, stamp): the stamp changes whenever the file is rewritten (mtime and size)."""
    try:
        st_ = path.stat()
        return str(path), f"{st_.st_mtime_ns}-{st_.st_size}"
    except OSError:
        return str(path), "gone"


@st.cache_resource(show_spinner=False, max_entries=64)
def _read(path: str, stamp: str) -> checkpoints.Checkpoint | i18n.Message | str:
    """The checkpoint, or why it cannot be used (kept, so a bad file is read once, not per rerun;
    the reason is translated each time it is shown, `str(...)`, into the reader's language). The
    reason alone is kept, not the exception, whose frames hold the file's bytes."""
    try:
        return checkpoints.load(path)
    except checkpoints.CheckpointError as exc:
        return exc.args[0]


def _load(path: str, stamp: str) -> checkpoints.Checkpoint:
    found = _read(path, stamp)
    if not isinstance(found, checkpoints.Checkpoint):
        raise checkpoints.CheckpointError(str(found))
    return found


def model_version(name: str) -> tuple[str, str]:
    """(path, stamp) of the named checkpoint: the key every cached result of a model is stored
    under, so a retrained file is never served stale numbers. Raises CheckpointError."""
    path = _all_paths().get(name)
    if path is None:
        raise checkpoints.CheckpointError(_("No model called {name}.", name=repr(name)))
    return _version(path)


def load_model(name: str) -> checkpoints.Checkpoint:
    """The named checkpoint, loaded and checked once per file version. Raises CheckpointError."""
    return _load(*model_version(name))


def unreadable_note() -> None:
    """One caption naming the model files that are not offered, and why (as plain text)."""
    bad = unreadable_models()
    if bad:
        st.caption(plain(ngettext("Not offered ({n} file that cannot be used): {why}",
                                  "Not offered ({n} files that cannot be used): {why}", len(bad),
                                  why="; ".join(bad.values()))))


def shipped_names() -> tuple[str, ...]:
    """Names no user model may take: the shipped models' (those in models/ and the usual four)."""
    return tuple(dict.fromkeys((*SHIPPED, *(p.stem for p in checkpoints.list_checkpoints(SHIPPED_DIR)))))


def model_picker(label: str | None = None, key: str = "model", default: str = "rnn", multi: bool = False,
                 defaults: tuple[str, ...] = ("rnn", "lstm")):
    """A select box (or multiselect) over every available model (label: already translated)."""
    label = label or _("Model")
    names = list(model_paths())
    if not names:
        st.error(_("No models found: the shipped models should be in models/. "
                   "Train one on the Train page, or reinstall the app."))
        st.stop()
    if multi:
        chosen = st.multiselect(label, names, default=[n for n in defaults if n in names], key=key)
    else:
        chosen = st.selectbox(label, names, index=names.index(default) if default in names else 0, key=key)
    unreadable_note()
    return chosen


@st.cache_resource(show_spinner=False)
def sample() -> data.Digits:
    """The bundled sample of MNIST test digits."""
    return data.load_sample()


@contextlib.contextmanager
def friendly_errors(what: str | None = None):
    """Turn an expected failure (bad checkpoint, missing data, bad setting) into a message:
    `what` (a whole translated sentence, e.g. "The hidden states could not be shown"), then why."""
    try:
        yield
    except (checkpoints.CheckpointError, data.DataUnavailable, ValueError) as exc:
        st.error(_("{what}: {why}", what=what or _("This could not be shown"), why=plain(exc)))
        st.stop()


# --- figures, built once per model version and setting ---------------------------------------

CHARTS = 160  # figures kept (a two-model reading with its 28 frames is the largest, ~1.5 MB)


@st.cache_resource(show_spinner=False)
def _charts() -> tuple[collections.OrderedDict, threading.Lock]:
    return collections.OrderedDict(), threading.Lock()


def chart(build, *args, key: tuple, **kw):
    """`build(*args, **kw)`, a figure, built once for `key` and then served from its kept plain
    spec (`plots.Ready`): a class opening a page at once costs one build, not thirty. The key
    must hold everything the figure depends on: the model versions (`model_version`) and the
    settings; the builder's name is added to it."""
    from rnn_demo import plots

    kept, lock = _charts()
    # The figure's titles, axes and hover texts are in the session's language: one spec per language.
    key = (build.__module__, build.__qualname__, i18n.language(), *key)
    with lock:
        found = kept.get(key)
        if found is not None:
            kept.move_to_end(key)
    if found is None:
        found = plots.spec(build(*args, **kw))
        with lock:
            kept[key] = found
            while len(kept) > CHARTS:
                kept.popitem(last=False)
    return plots.Ready(found)


def narrow() -> bool:
    """Is this learner on a phone? Its browser says "Mobi" in its user agent, the test MDN
    recommends; figures that cannot shrink then take a stacked layout."""
    try:
        return "Mobi" in (st.context.headers.get("User-Agent") or "")
    except Exception:  # no request headers (AppTest, bare mode)
        return False


def versions(names) -> tuple:
    """The version key of several models at once (for a figure that shows them all)."""
    return tuple((n, *model_version(n)) for n in names)


# --- Train and Compare pages ---------------------------------------------------------------

@st.cache_resource(show_spinner=False)
def job_manager():
    """The server's one training-job manager (one training at a time, shared by every tab)."""
    from rnn_demo import jobs
    return jobs.JobManager()


def session_id() -> str:
    """This browser tab's Streamlit session id ('' outside a running app)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else ""


def session_alive(sid: str):
    """A callable telling a background thread whether this tab is still connected, or None when
    there is no server runtime (AppTest); the job then relies on the page's polls alone."""
    from streamlit import runtime
    if not sid or not runtime.exists():
        return None
    rt = runtime.get_instance()
    return lambda: rt.is_active_session(sid)



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
    return compare.precomputed(path, what, digits.source) if Path(path).parent == SHIPPED_DIR else None


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


def model_bytes(name: str) -> bytes:
    """The checkpoint file's bytes, for a download button."""
    return checkpoints.to_bytes(model_paths()[name])


# --- Gradient flow ---------------------------------------------------------------------------
# Each result is cached per setting (and per checkpoint file version), so moving a control back
# to a setting it had shows the stored numbers at once.

GRADIENT_DIGITS = 256  # digits of the bundled sample behind every gradient curve



@st.cache_data(show_spinner=False, max_entries=64)
def _gradient_curves(name: str, path: str, stamp: str, n: int, at_init: bool):
    from rnn_demo import gradients

    ckpt = load_model(name)
    model = gradients.at_initialisation(ckpt.model, ckpt.train_config) if at_init else ckpt.model
    digits = sample()
    return gradients.norms_through_time(model, digits.sequences(slice(0, n)), digits.labels[:n])


def gradient_curves(name: str, at_init: bool = False, n: int | None = None) -> dict:
    """Per-step gradient-norm curves (gradients.NormCurve by state: "h", LSTM "c", ...) of a
    model on n sample digits (default GRADIENT_DIGITS); at_init=True: the same architecture at
    its initialisation."""
    with st.spinner(_("Backpropagating through time…")):  # shown only if it takes over half a second
        return _gradient_curves(name, *model_version(name), n or GRADIENT_DIGITS, at_init)


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
        weights = gradients.rnn_weights_from(load_model(source).model)
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
def _training_norms(name: str, path: str, stamp: str):
    from rnn_demo import gradients

    return gradients.training_norms(load_model(name).history)


def training_gradient_norms(name: str) -> dict:
    """The checkpoint's per-training-step gradient norms, clip threshold, clipped and bad steps."""
    return _training_norms(name, *model_version(name))


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


def readable_models() -> dict[str, str]:
    """Name -> cell ("rnn", "lstm", "gru", "birnn") of every model that loads."""
    cells = {}
    for name in model_paths():
        cfg = load_model(name).model_config
        cells[name] = "birnn" if cfg.bidirectional and cfg.cell == "rnn" else cfg.cell
    return cells


# --- Downloads (rnn_demo/export.py) ---
# A download button is given a function, which st.download_button runs only when the button is
# pressed (deferred data): placing the buttons costs a rerun nothing. The GIF, the one export
# that takes a moment, is cached per model file version, digit and quantity.


FIGURE_FORMAT = "figure_format"  # session-state key: what a figure's camera button saves, png or svg
FIGURE_FORMATS = {"png": N_("PNG (twice the screen's size)"), "svg": N_("SVG (vector)")}


def figure_format_picker() -> None:
    """In the sidebar: what the camera button in every figure's mode bar saves. The browser's
    own Plotly draws both, offline; nothing is computed on the server."""
    shown = {f: _(text) for f, text in FIGURE_FORMATS.items()}  # translated now: format_func may run later
    st.sidebar.radio(_("Figures download as"), list(FIGURE_FORMATS), format_func=shown.get,
                     key=FIGURE_FORMAT, help=_("Hover over a figure and press the camera in its top-right corner. SVG "
                                               "stays sharp at any size (slides, posters)."))


def plot_config(filename: str) -> dict:
    """st.plotly_chart's config: the mode bar's camera saves the figure, named after it, as a PNG
    at twice the screen's size (sharp on slides) or as an SVG (`figure_format_picker`)."""
    import re
    filename = re.sub(r"[^A-Za-z0-9_-]+", "-", filename).strip("-") or "figure"
    fmt = st.session_state.get(FIGURE_FORMAT, "png")
    return {"displaylogo": False,
            "toImageButtonOptions": {"format": fmt if fmt in FIGURE_FORMATS else "png", "scale": 2,
                                     "filename": filename}}


@st.cache_data(show_spinner=False, max_entries=16)
def _digit_gif(path: str, mtime: float, image, label: int | None, quantity: str, quantity_name: str,
               lang: str) -> bytes:  # lang: the figure's titles are painted into the frames
    from rnn_demo import export
    from rnn_demo.plots import explorer
    figure = explorer.explorer_figure(_digit_trace(path, mtime, image, label), quantity, quantity_name)
    return export.animation_gif(figure)


def digit_gif(name: str, image, label: int | None, quantity: str, quantity_name: str):
    """A function giving the Hidden states animation of this model, digit and quantity as GIF
    bytes: the same figure the page shows (same cached trace, same builder), painted by export."""
    import numpy as np
    version, image = model_version(name), np.asarray(image)
    label = None if label is None else int(label)
    lang = i18n.language()  # the button's function runs later, outside this run: it says the language itself
    return lambda: in_language(lang, _digit_gif, *version, image, label, quantity, quantity_name, lang)


def in_language(lang: str, fn, *args):
    """fn(*args) with `_()` reading `lang`, leaving the caller's own language as it was."""
    def run():
        i18n.set_language(lang)
        return fn(*args)
    return contextvars.copy_context().run(run)


def runs_dir() -> Path:
    """Where the Train page's runs write their TensorBoard logs, one folder per model: runs/,
    beside the user's models folder."""
    return USER_DIR.parent / "runs"


def run_dir(model_file_stem: str) -> Path:
    """The folder of a model's TensorBoard logs when the Train page trained it: runs/<name>."""
    return runs_dir() / model_file_stem

# --- The Draw page's pen ---------------------------------------------------------------------

_PAD_DIR = Path(__file__).resolve().parent / "assets" / "draw_pad"
# Registered once, at import: a component of the project's own (st.components.v2) that sends the
# strokes as point lists, while drawing and at pen-up (rnn_demo/assets/draw_pad/pad.js).
_DRAW_PAD = st.components.v2.component(
    "rnn_demo.draw_pad", html='<div class="pad-host"></div>',
    css=(_PAD_DIR / "pad.css").read_text(encoding="utf-8"), js=(_PAD_DIR / "pad.js").read_text(encoding="utf-8"))


def draw_pad(key: str):
    """Show the drawing pad; return what it sent last (untrusted: `canvas.parse_strokes` checks
    it), or None before anything is drawn. The pad is told which of its values this run reads
    (`seq`), so a client can match an answer to the drawing it is for (bench/load.py)."""
    sent = st.session_state.get(key)
    sent = sent.get("drawing") if isinstance(sent, dict) else None
    seq = sent.get("seq") if isinstance(sent, dict) and type(sent.get("seq")) is int else 0
    seq = seq if 0 <= seq < 2 ** 53 else 0  # echoed as is only when it is a sane counter
    labels = {"undo": _("Undo"), "clear": _("Clear"), "pad": _("Drawing pad: draw a digit")}
    result = _DRAW_PAD(key=key, data={"seq": seq, "labels": labels}, width="content", on_drawing_change=lambda: None)
    return result.get("drawing") if hasattr(result, "get") else getattr(result, "drawing", None)

# --- Memory page ---------------------------------------------------------------------------
# The shipped results and checkpoints live in models/memory/ (never listed by the other pages:
# they read digits without a gap); models trained on the Memory page go to USER_DIR/memory.

def memory_user_dir() -> Path:
    return USER_DIR / "memory"


@st.cache_data(show_spinner=False, max_entries=4)
def _memory_results(path: str, stamp: str) -> dict:
    from rnn_demo import memory
    results = memory.load_results(path)
    return {"results": results, "summary": memory.summary(results)}


def memory_results() -> tuple[dict, dict, tuple]:
    """(results.json, memory.summary of it, its version key), read once per file version."""
    from rnn_demo import memory
    version = _version(memory.RESULTS)
    found = _memory_results(*version)
    return found["results"], found["summary"], version


@st.cache_data(show_spinner=False, max_entries=32)
def _memory_view(path: str, stamp: str, gap: int) -> dict:
    from rnn_demo import memory
    return memory.gap_view(_load(path, stamp).model, sample(), gap)


def memory_view(path: Path, gap: int) -> dict:
    """memory.gap_view of a memory checkpoint on the bundled sample, per file version and gap."""
    with st.spinner(_("Reading the sample through the gap (once per model)…")):
        return _memory_view(*_version(Path(path)), int(gap))


@st.cache_data(show_spinner=False, max_entries=8)
def _memory_user_points(folder: str, stamp: int | None) -> list[dict]:
    points = []
    for p in checkpoints.list_checkpoints(folder):
        path, stamp = _version(p)
        if _problem(p, stamp) is not None:  # unreadable, or a name the app could not have given it
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
    return _memory_user_points(str(folder), _stamp(folder))


# --- Widget values Streamlit cannot decode ---------------------------------------------------
# Streamlit decodes a component's JSON value itself, before any page code runs
# (streamlit.runtime.state.common.unpack_widget_state_value). JSON that is not JSON, or nested
# deeper than Python's recursion limit (a 200 KB frame of '[' does it), raised there: the
# sender saw a redacted error on every later run of its session. Their size is bounded before
# decoding (`server.maxWidgetStateSize` in .streamlit/config.toml); this decodes what is left
# to a value the pad's own check refuses with one sentence (canvas.parse_strokes). The draw pad
# is this app's only JSON widget.
UNREADABLE_WIDGET_VALUE = {"drawing": "unreadable"}


def _decode_widget_value(widget_state, _decode=None):
    try:
        return _decode(widget_state)
    except (RecursionError, ValueError):
        return dict(UNREADABLE_WIDGET_VALUE)


def _guard_widget_values() -> None:
    from streamlit.runtime.state import session_state
    decode = session_state.unpack_widget_state_value
    if getattr(decode, "func", None) is not _decode_widget_value:  # once per process
        session_state.unpack_widget_state_value = functools.partial(_decode_widget_value, _decode=decode)


_guard_widget_values()
