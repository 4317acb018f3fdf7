"""Checks of untrusted values, one problem named per refusal: what a checkpoint file holds is
read through these before any of it is used (rnn_demo/checkpoints.py). Messages are translated
when shown (`i18n.lazy`)."""
from __future__ import annotations

import math

from rnn_demo.i18n import N_
from rnn_demo.i18n import lazy as _
from rnn_demo.recipe import MAX_NUMBERS, MAX_STEPS  # noqa: F401

MAX_TEXT = 500                 # characters in one string value
MAX_KEYS = 64                  # entries in train_config, metrics or dataset


class Invalid(Exception):
    """One problem found in a file (the caller prefixes the file's name)."""


KINDS = {bool: N_("true/false"), int: N_("a whole number"), float: N_("a number"), str: N_("text"),
          list: N_("a list"), dict: N_("a table"), type(None): N_("empty")}


def kind(value) -> str:
    kind = KINDS.get(type(value))
    return _(kind) if kind else _("a {type}", type=type(value).__name__)


def table(value, where: str, max_keys: int | None = None) -> dict:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise Invalid(_("{where} should be a table of named values, but it is {kind}.", where=where,
                        kind=kind(value)))
    if max_keys is not None and len(value) > max_keys:
        raise Invalid(_("{where} has {n:,} entries; at most {limit} are allowed.",
                        where=where, n=len(value), limit=max_keys))
    return value


def number(value, where: str, lo: float = -math.inf, hi: float = math.inf, finite: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Invalid(_("{where} should be a number, but it is {kind}.", where=where, kind=kind(value)))
    if isinstance(value, int) and abs(value) > 2**63:
        raise Invalid(_("{where} is far too large ({digits}…).", where=where, digits=str(value)[:12]))
    if finite and not math.isfinite(value):
        raise Invalid(_("{where} is {value}, not a finite number.", where=where, value=value))
    if math.isfinite(value) and not lo <= value <= hi:
        raise Invalid(_("{where} is {value:g}, outside {lo:g} to {hi:g}.", where=where, value=value, lo=lo, hi=hi))
    return value


def whole(value, where: str, lo: int = 0, hi: int = 2**63 - 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(_("{where} should be a whole number, but it is {kind}.", where=where, kind=kind(value)))
    return int(number(value, where, lo, hi))


def text(value, where: str) -> str:
    if not isinstance(value, str):
        raise Invalid(_("{where} should be text, but it is {kind}.", where=where, kind=kind(value)))
    if len(value) > MAX_TEXT:
        raise Invalid(_("{where} is {n:,} characters long; at most {limit} are allowed.",
                        where=where, n=len(value), limit=MAX_TEXT))
    return value


def scalar(value, where: str):
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return text(value, where)
    return number(value, where)


def scalars(value, where: str) -> dict:
    return {k: scalar(v, f"{where}.{key(k)}") for k, v in table(value, where, MAX_KEYS).items()}


def key(k: str) -> str:
    return k if len(k) <= 40 else k[:40] + "…"


def listed(value, where: str, max_len: int) -> list:
    if not isinstance(value, list):
        raise Invalid(_("{where} should be a list, but it is {kind}.", where=where, kind=kind(value)))
    if len(value) > max_len:
        raise Invalid(_("{where} has {n:,} entries; at most {limit:,} are allowed.",
                        where=where, n=len(value), limit=max_len))
    return value


class Budget:
    """How many more numbers a history may hold: a pickle can reference one long list from many
    places for a few bytes each, so lengths alone do not bound the work or the memory."""

    def __init__(self, n: int = MAX_NUMBERS):
        self.left = n

    def take(self, n: int, where: str) -> None:
        self.left -= n
        if self.left < 0:
            raise Invalid(_("its history holds more than {limit:,} numbers in all (at {where}).",
                            limit=MAX_NUMBERS, where=where))


def numbers(value, where: str, budget: Budget, max_len: int = MAX_STEPS,
             last_may_be_bad: bool = False) -> list[float]:
    """A list of finite numbers; a diverged run records its one bad step last (loss, grad_norm)."""
    items = listed(value, where, max_len)
    n = len(items)
    budget.take(n, where)
    return [float(number(v, f"{where}[{i}]", finite=not (last_may_be_bad and i == n - 1)))
            for i, v in enumerate(items)]
