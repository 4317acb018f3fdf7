"""What the server shares between sessions: turns at the model and figure work, the kept
figures (`chart`), the training-job manager, and the class's training queue with its workers."""
from __future__ import annotations

import collections
import contextlib
import threading

import streamlit as st

from rnn_demo import i18n

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


@st.cache_resource(show_spinner=False)
def job_manager():
    """The server's one training-job manager (one training at a time, shared by every tab)."""
    from rnn_demo import jobs
    return jobs.JobManager()


@st.cache_resource(show_spinner=False)
def _train_queue(user_dir: str):
    from rnn_demo import queue
    return queue.TrainQueue(user_dir)


def train_queue():
    """The training queue of the models folder every replica shares (rnn_demo/queue.py). A
    server's first call starts its local worker pool (rnn_demo/worker.py; none under AppTest or
    with RNN_DEMO_WORKERS=0)."""
    from streamlit import runtime

    from rnn_demo import registry, worker
    worker.start_local_pool(serving=runtime.exists())
    return _train_queue(str(registry.USER_DIR))
