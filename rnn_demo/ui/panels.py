"""The training panel the Train and Memory pages share: this browser's place in the class's
training queue (rnn_demo/queue.py), and a run's live progress, redrawn every two seconds while it
waits or trains, whichever worker trains it."""
from __future__ import annotations

import hashlib
import secrets
from typing import Callable

import streamlit as st

from rnn_demo import jobs, queue
from rnn_demo.i18n import _, ngettext
from rnn_demo.ui.serving import train_queue
from rnn_demo.ui.session import keep_language

_SECRET = "_learner_secret"


def learner_keys() -> tuple[str, str]:
    """(secret, learner id) of this browser. The secret controls its runs (cancel, stop, the
    unsaved model): a browser cookie when there is one (a reload keeps it; a copied link opened
    in another browser does not carry it), else one kept in this session. Never in the address."""
    try:
        cookies = st.context.cookies
        raw = cookies.get("_streamlit_xsrf") or cookies.get("rnn_route") or ""
    except Exception:  # no request (AppTest)
        raw = ""
    if not isinstance(raw, str) or not raw:
        raw = st.session_state.setdefault(_SECRET, secrets.token_urlsafe(24))
    return raw, hashlib.sha256(("learner " + raw).encode()).hexdigest()[:24]


def my_run(state_key: str, folder: str = "") -> dict | None:
    """The run this tab follows: the one it started; else (a reloaded tab) the one whose token is
    in the address (the Train page's: a shared link shows it to anyone), else this browser's
    run in line or training for this page."""
    tq = train_queue()
    rec = tq.get(st.session_state.get(state_key))
    if rec is None and not folder:
        rec = tq.find(st.query_params.get("run"))
    if rec is None:
        learner = learner_keys()[1]
        rec = next((r for r in reversed(tq.records()) if r["learner"] == learner and r["folder"] == folder
                    and r["status"] in queue.ACTIVE), None)
    if rec is not None:
        st.session_state[state_key] = rec["id"]
    return rec


def queue_note() -> None:
    """One line on the class's queue: how many runs wait and train, on how many workers."""
    tq = train_queue()
    recs = tq.records()
    waiting = sum(r["status"] == "queued" for r in recs)
    training = sum(r["status"] in queue.ACTIVE[1:] for r in recs)
    workers = tq.workers()
    parts = [ngettext("{n} run waiting", "{n} runs waiting", waiting),
             ngettext("{n} training", "{n} training", training),
             ngettext("{n} worker", "{n} workers", workers)]
    st.caption(_("The class's training queue: {parts}. Everyone's runs are trained in the order they were started.",
                 parts=" · ".join(parts)))


def progress_text(s: dict, elapsed: bool = False) -> str:
    """The line under a run's progress bar: its place in line and when it should start and end,
    loading, how it ended, or how far it is (with `elapsed`, how long it has trained so far)."""
    if s["status"] == "queued":
        return _("Place {place} in line · starts in about {start} · done in about {eta}",
                 place=s.get("place") or "?", start=jobs.format_seconds(s.get("start_in_s")),
                 eta=jobs.format_seconds(s.get("eta_s")))
    if s["status"] == "loading":
        return _("Loading the digits…")
    if s["finished"]:
        return jobs.finished_line(s)
    if elapsed:
        return _("step {step:,} of {total:,} · {time} so far · about {eta} left", step=s["step"], total=s["total"] or 0,
                 time=jobs.format_seconds(s["train_s"]), eta=jobs.format_seconds(s["eta_s"]))
    return _("step {step:,} of {total:,} · about {eta} left", step=s["step"], total=s["total"] or 0,
             eta=jobs.format_seconds(s["eta_s"]))


def control(s: dict, key: str) -> None:
    """The owner's button: Cancel while the run waits, Stop while it trains."""
    if not s["owner"] or s["finished"]:
        return
    tq = train_queue()
    secret = learner_keys()[0]
    if s["status"] == "queued":
        if st.button(_("Cancel"), key=f"{key}_cancel", help=_("Leave the queue; nothing is trained.")):
            tq.cancel(s["id"], secret)
            st.toast(_("Cancelled."))
    elif st.button(_("Stop"), key=f"{key}_stop", help=_("Stop after this step; what was learned is kept and saved.")):
        tq.cancel(s["id"], secret)
        st.toast(_("Stopping after the current step…"))


def progress_panel(run: dict, draw: Callable[[dict], None]) -> dict:
    """`draw(view)` of the run (queue.TrainQueue.view: its record, curves, place in line, ETA,
    whether this browser owns it), again every two seconds while it waits or trains (a fragment:
    only the panel reruns); when it finishes, the whole page once, so the new model shows
    everywhere. Returns the view drawn first."""
    tq = train_queue()
    live = run["status"] not in queue.FINISHED

    @st.fragment(run_every=2.0 if live else None)
    def panel():
        keep_language()  # a fragment's own rerun skips ui.setup
        queue_note()
        rec = tq.get(run["id"]) or run
        s = tq.view(rec, learner_keys()[0])
        draw(s)
        if live and s["finished"]:
            st.rerun()

    panel()
    return tq.view(tq.get(run["id"]) or run, learner_keys()[0])
