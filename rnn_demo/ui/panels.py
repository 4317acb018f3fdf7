"""The training panel the Train and Memory pages share: who else is training (here or on another
server), and a run's live progress, redrawn every two seconds while it runs."""
from __future__ import annotations

from typing import Callable

import streamlit as st

from rnn_demo import jobs, registry
from rnn_demo.i18n import _
from rnn_demo.ui.session import keep_language, plain


def busy_elsewhere(running: jobs.Job | None, me: str) -> bool:
    """Say who else holds the one training (a run on another server sharing the model folder, or
    someone else's run on this one) and return whether anyone does: a new run cannot start then."""
    remote = None if running is not None else jobs.elsewhere(registry.USER_DIR)  # a run on another replica
    if remote is not None:
        st.warning(plain(jobs.busy_message(remote, _("someone on another server"))))
    if running is not None and running.owner != me:
        snap = running.snapshot()
        st.warning(plain(_("Someone else is training '{name}' ({model}) on this server, step {step} of {total}. Only "
                           "one training runs at a time: wait for it to finish (about {eta}).", name=snap["name"],
                           model=snap["model"], step=snap["step"], total=snap["total"] or "?",
                           eta=jobs.format_seconds(snap["eta_s"]))))
    return running is not None or remote is not None


def progress_text(s: dict, elapsed: bool = False) -> str:
    """The line under a run's progress bar: loading, how it ended, or how far it is (and, with
    `elapsed`, how long it has trained so far)."""
    if s["status"] in ("queued", "loading"):
        return _("Loading the digits…")
    if s["finished"]:
        return jobs.finished_line(s)
    if elapsed:
        return _("step {step:,} of {total:,} · {time} so far · about {eta} left", step=s["step"], total=s["total"] or 0,
                 time=jobs.format_seconds(s["train_s"]), eta=jobs.format_seconds(s["eta_s"]))
    return _("step {step:,} of {total:,} · about {eta} left", step=s["step"], total=s["total"] or 0,
             eta=jobs.format_seconds(s["eta_s"]))


def progress_panel(job: jobs.Job, draw: Callable[[dict], None], heartbeat: bool = True) -> None:
    """`draw(snapshot)` of the run, again every two seconds while it runs (a fragment: only the
    panel reruns); when it finishes, the whole page once, so the new model shows everywhere.
    heartbeat: this tab watches its own run (a run nobody watches stops itself)."""
    live = not job.finished_ok

    @st.fragment(run_every=2.0 if live else None)
    def panel():
        keep_language()  # a fragment's own rerun skips ui.setup
        if heartbeat:
            job.touch()
        s = job.snapshot()
        draw(s)
        if live and s["finished"]:
            st.rerun()

    panel()
