"""How many CPU threads torch may use for one piece of the app's work.

The app's computations are small (one digit, or a few hundred digits stepped 28 times) and a
classroom server has few cores shared by many sessions: there, torch's threads waiting on each
other cost more than they gain (a 1 ms one-digit trace took 0.5 s on a busy 2-core machine;
bench/explorer_speed.py, bench/draw_speed.py and bench/gradient_speed.py print the figures).
With OpenMP the setting belongs to the calling thread, and it is restored afterwards.
"""
from __future__ import annotations

import contextlib

import torch


@contextlib.contextmanager
def limit(n: int | None = 1):
    """Run the block on at most n torch threads (None: leave torch's setting alone)."""
    before = torch.get_num_threads()
    if n is None or n >= before:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
