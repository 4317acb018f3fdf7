"""The Lesson page's cached queries, its projector-mode figures and its arrow keys."""
from __future__ import annotations

import streamlit as st

from rnn_demo import checkpoints
from rnn_demo.i18n import _
from rnn_demo.ui.cached import GRADIENT_DIGITS, _digit_trace, _draw_predictions
from rnn_demo.ui.models import _load, file_version, sample
from rnn_demo.ui.serving import chart

# The seed recipe's shipped run lives in models/lesson/ (lesson.SEED_RUN), never listed by the
# other pages; it is read and cached by its path, as the Memory page's checkpoints are.

def lesson_run() -> checkpoints.Checkpoint:
    """The shipped run of the post's recipe. Raises CheckpointError."""
    from rnn_demo import lesson
    return _load(*file_version(lesson.SEED_RUN))


def lesson_version() -> tuple[str, str]:
    from rnn_demo import lesson
    return file_version(lesson.SEED_RUN)


def lesson_trace(image, label: int | None = None) -> dict:
    """analysis.digit_trace of the seed run for one digit, cached like digit_trace."""
    import numpy as np
    return _digit_trace(*lesson_version(), np.asarray(image), None if label is None else int(label))


@st.cache_data(show_spinner=False, max_entries=16)
def _lesson_gradient(path: str, stamp: str, rho: float | None, n: int):
    from rnn_demo import gradients
    digits = sample()
    x = gradients.make_sequences(digits.images[:n], "rows", 0, 0)
    return gradients.rnn_experiment(gradients.rnn_weights_from(_load(path, stamp).model), x, digits.labels[:n],
                                    rho, "tanh")


def lesson_gradient(rho: float | None):
    """gradients.Experiment of the seed run on GRADIENT_DIGITS sample digits, W_h rescaled to
    spectral radius rho (None: its own)."""
    with st.spinner(_("Backpropagating through time…")):
        return _lesson_gradient(*lesson_version(), rho, GRADIENT_DIGITS)


def lesson_predict(digit) -> dict:
    """{"seed run": attribution.Prediction} for one uint8 (28, 28) digit."""
    import numpy as np
    return _draw_predictions(np.ascontiguousarray(digit, dtype=np.uint8).tobytes(), (("seed", *lesson_version()),))


def _presented(build, *args, **kw):
    from rnn_demo import lesson, plots
    return plots.Ready(lesson.projector(plots.spec(build(*args, **kw))))


def lesson_chart(build, *args, key: tuple, present: bool = False, **kw):
    """`chart`, and in projector mode the same figure with every font at least 18 px."""
    if present:
        return chart(_presented, build, *args, key=(build.__module__, build.__qualname__, *key), **kw)
    return chart(build, *args, key=key, **kw)


_ARROW_KEYS = """<script>
(() => {
  // ArrowLeft / ArrowRight press the Lesson page's Previous / Next buttons (Streamlit has no key
  // handler). One listener per page: a rerun replaces it.
  if (window.__lessonKeys) document.removeEventListener("keydown", window.__lessonKeys);
  window.__lessonKeys = (e) => {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    const t = e.target, tag = (t && t.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || (t && t.isContentEditable)) return;
    const which = {ArrowRight: "lesson_next", ArrowLeft: "lesson_prev"}[e.key];
    const button = which && document.querySelector(".st-key-" + which + " button");
    if (!button) return;  // another page: the listener stays idle
    e.preventDefault();
    if (!button.disabled) button.click();
  };
  document.addEventListener("keydown", window.__lessonKeys);
})();
</script>"""


def lesson_arrow_keys() -> None:
    """Let the keyboard's arrow keys press Previous and Next (buttons keyed lesson_prev/next)."""
    st.html(_ARROW_KEYS, unsafe_allow_javascript=True)
