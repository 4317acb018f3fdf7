"""Page set-up and the session: the page list, the language (URL, session, sidebar switch),
plain text for anything a user typed, errors as messages, the figure download format, the
session's id, and the Draw page's pen. Pages call `setup` first."""
from __future__ import annotations

import contextlib
import contextvars
import functools
import gc
import json
import re
from pathlib import Path

import streamlit as st

from rnn_demo import checkpoints, data, i18n, registry, store
from rnn_demo.i18n import N_, _

# Pages, in the order the home page lists them: (file, title, one line on what it shows), in
# English; `pages()` gives them in the session's language.
PAGES = [
    ("pages/0_Lesson.py", N_("Lesson"), N_("a lesson for a class: the seed blog post, one idea per screen, with a projector mode")),
    # Titles match the names Streamlit derives from the file names, so the sidebar reads the same
    # whether a page is first opened from the home page or by its own URL (the page's URL path
    # comes from the file name, whatever the language).
    ("pages/1_Hidden_states.py", N_("Hidden states"), N_("watch s_t evolve row by row as the network reads a digit")),
    ("pages/2_Gradient_flow.py", N_("Gradient flow"), N_("see gradients vanish or explode through time")),
    ("pages/3_Draw.py", N_("Draw"), N_("draw with the mouse and get live predictions from every model")),
    ("pages/4_Train.py", N_("Train"), N_("train an RNN, LSTM or GRU in the browser and watch the curves")),
    ("pages/5_Compare.py", N_("Compare"), N_("RNN vs LSTM side by side: accuracy, confidence over time, gradients")),
    ("pages/6_Memory.py", N_("Memory"), N_("how long can it remember? digits followed by a gap of blank rows")),
    ("pages/7_Inside_the_cell.py", N_("Inside the cell"), N_("stop at one step and see its equation computed, term by term")),
]


def pages() -> list[tuple[str, str, str]]:
    """The entries of PAGES whose file is there, title and blurb in the session's language."""
    return [(path, _(title), _(blurb)) for path, title, blurb in PAGES if (registry.ROOT / path).exists()]


# Session-state keys shared between pages.
DRAWN_DIGIT = "drawn_digit"  # uint8 (28, 28) array: the last digit drawn on the Draw page


def drawn_digit():
    """The digit last drawn on the Draw page, a uint8 (28, 28) array; without one (or with one of
    another shape), a note saying what to do and the page stops here."""
    import numpy as np
    drawn = st.session_state.get(DRAWN_DIGIT)
    if drawn is None:
        st.info(_("No drawing yet: draw a digit on the **Draw** page, then come back here. "
                  "Meanwhile choose a digit from the sample."))
        st.stop()
    image = np.asarray(drawn)
    if image.shape != (28, 28):
        st.warning(_("The drawing is {shape} instead of 28 × 28 pixels; draw it again on the Draw page.",
                     shape=image.shape))
        st.stop()
    return image


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


def setup(title: str, sidebar: str = "auto") -> None:
    """Call first on every page, with its title in English (translated here); `sidebar`:
    Streamlit's initial_sidebar_state ("collapsed" for the Lesson's projector mode)."""
    choose_language()
    st.set_page_config(page_title=f"{_(title)} · RNN Explorer", page_icon="🔁", layout="wide",
                       initial_sidebar_state=sidebar)
    language_switch()
    accessibility()
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
    store.clean(registry.USER_DIR)
    from rnn_demo.ui.serving import train_queue
    train_queue()  # the local worker pool starts with the server, and says what it chose
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


@contextlib.contextmanager
def friendly_errors(what: str | None = None):
    """Turn an expected failure (bad checkpoint, missing data, bad setting) into a message:
    `what` (a whole translated sentence, e.g. "The hidden states could not be shown"), then why."""
    try:
        yield
    except (checkpoints.CheckpointError, data.DataUnavailable, ValueError) as exc:
        st.error(_("{what}: {why}", what=what or _("This could not be shown"), why=plain(exc)))
        st.stop()


def narrow() -> bool:
    """Is this learner on a phone? Its browser says "Mobi" in its user agent, the test MDN
    recommends; figures that cannot shrink then take a stacked layout."""
    try:
        return "Mobi" in (st.context.headers.get("User-Agent") or "")
    except Exception:  # no request headers (AppTest, bare mode)
        return False


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
    filename = re.sub(r"[^A-Za-z0-9_-]+", "-", filename).strip("-") or "figure"
    fmt = st.session_state.get(FIGURE_FORMAT, "png")
    return {"displaylogo": False,
            "toImageButtonOptions": {"format": fmt if fmt in FIGURE_FORMATS else "png", "scale": 2,
                                     "filename": filename}}


def in_language(lang: str, fn, *args):
    """fn(*args) with `_()` reading `lang`, leaving the caller's own language as it was."""
    def run():
        i18n.set_language(lang)
        return fn(*args)
    return contextvars.copy_context().run(run)


# --- The Draw page's pen ---------------------------------------------------------------------

_PAD_DIR = Path(__file__).resolve().parent.parent / "assets" / "draw_pad"
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
    labels = {"undo": _("Undo"), "clear": _("Clear"), "pad": _("Drawing pad: draw a digit"),
              "empty": _("The pad is empty."), "one": _("The pad holds 1 stroke."),
              "many": _("The pad holds {n} strokes.")}  # the pad puts the number in
    result = _DRAW_PAD(key=key, data={"seq": seq, "labels": labels}, width="content", on_drawing_change=lambda: None)
    return result.get("drawing") if hasattr(result, "get") else getattr(result, "drawing", None)


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


# --- "Clear cache" from a browser --------------------------------------------------------------
# Any tab may send BackMsg(clear_cache=True) (Streamlit's developer menu sends it; a script can send
# it any time): Streamlit then empties st.cache_data and st.cache_resource for every session (the
# loaded models, the kept figures, the training queue's handle), and a tab sending it twice a
# second held every learner's answers at p95 4.8 s (issue 24). A served class has no use for it:
# the request clears the sender's own session state and nothing shared. (A teacher who must empty
# the caches restarts the server.)

def _clear_own_session_only(app_session) -> None:
    app_session._session_state.clear()


def _refuse_shared_cache_clearing() -> None:
    from streamlit.runtime.app_session import AppSession
    if AppSession._handle_clear_cache_request is not _clear_own_session_only:  # once per process
        AppSession._handle_clear_cache_request = _clear_own_session_only


_refuse_shared_cache_clearing()


# --- Accessibility (issue 32) ------------------------------------------------------------------

_A11Y = Path(__file__).resolve().parent.parent / "assets" / "a11y"


@functools.cache
def _a11y_assets() -> tuple[str, str]:
    return (_A11Y / "a11y.css").read_text(encoding="utf-8"), (_A11Y / "a11y.js").read_text(encoding="utf-8")


def accessibility() -> None:
    """The app's WCAG 2.1 AA fixes to Streamlit's own elements: contrast, focus rings, and
    keyboard access to sideways-scrolling regions and Plotly's Play (see assets/a11y/)."""
    css, js = _a11y_assets()
    st.html(f"<style>{css}</style>")
    js = js.replace("__LANG__", i18n.language()).replace("__CSS__", json.dumps(css).replace("</", "<\\/"))
    st.html(f"<script>{js}</script>", unsafe_allow_javascript=True)
