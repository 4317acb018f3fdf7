"""Translations: English is the source language, Korean has a catalog.

Every user-visible string is written in English inside `_()` (or `ngettext()` for counts), as
one whole sentence with named placeholders, and looked up in the session's language:

    from rnn_demo.i18n import _
    st.caption(_("Trained on {n:,} digits.", n=len(digits)))

The catalogs are standard gettext `.po` files managed with Babel, one per domain, so that the
app's pages and the library keep their own: `rnn_demo/locale/ko/LC_MESSAGES/app.po` (app.py,
pages/, rnn_demo/ui/) and `.../rnn_demo.po` (the rest of rnn_demo/). `python -m scripts.i18n
extract` refreshes the templates and catalogs from the code; `python -m scripts.i18n check`
lists what is missing. They are read once, at first use, with Babel's own `.po` reader (no
compiled `.mo` to go stale).

The language is per session, not per process: `set_language` (called by `ui.setup` at the top of
every page run) sets a context variable that `_` reads, so two learners on one server each read
their own language. Code that runs outside a page (the CLI, a training thread) reads English
unless it sets the language itself. `N_()` marks a string for the catalog without translating
it, for constants defined at import time; translate them with `_()` where they are shown.
"""
from __future__ import annotations

import contextvars
import functools
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAINS = ("app", "rnn_demo")
LANGUAGES = {"en": "English", "ko": "한국어"}  # code -> the language's own name (the switch shows these)
DEFAULT = "en"

_language: contextvars.ContextVar[str] = contextvars.ContextVar("rnn_demo_language", default=DEFAULT)


def normalise(code: str | None) -> str | None:
    """'ko', 'ko-KR', 'KO_kr' -> 'ko'; anything we have no catalog for (or not text) -> None."""
    if not isinstance(code, str):
        return None
    base = code.strip().replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else None


def set_language(code: str | None) -> str:
    """Use this language for the rest of this context (a page run); returns the one chosen."""
    chosen = normalise(code) or DEFAULT
    _language.set(chosen)
    return chosen


def language() -> str:
    return _language.get()


@functools.cache
def catalog(code: str) -> dict:
    """msgid -> translation (a str, or a tuple of plural forms) for one language, every domain
    merged. English has none: the source strings are English."""
    if code == DEFAULT:
        return {}
    from babel.messages.pofile import read_po

    merged: dict = {}
    for domain in DOMAINS:
        path = LOCALE_DIR / code / "LC_MESSAGES" / f"{domain}.po"
        if not path.exists():
            continue
        with path.open("rb") as f:
            for msg in read_po(f, locale=code):
                if not msg.id or msg.fuzzy:
                    continue
                if isinstance(msg.id, tuple):  # plural: key by the singular
                    forms = tuple(msg.string) if isinstance(msg.string, (tuple, list)) else (msg.string,)
                    if all(forms):
                        merged[msg.id[0]] = forms
                elif msg.string:
                    merged[msg.id] = msg.string
    return merged


def _(message: str, /, **values) -> str:
    """The message in the session's language, with {placeholders} filled from `values`."""
    text = catalog(language()).get(message, message)
    if isinstance(text, tuple):
        text = text[0]
    return text.format(**values) if values else text


def ngettext(singular: str, plural: str, n: int, /, **values) -> str:
    """The form for n (Korean has one form; English two), with {n} and `values` filled."""
    forms = catalog(language()).get(singular)
    if isinstance(forms, tuple):
        text = forms[0]  # every language we ship besides English has a single plural form
    else:
        text = singular if n == 1 else plural
    return text.format(n=n, **values)


class Message:
    """A sentence translated when it is shown, not when it is made: `str()` gives it in the
    language of that moment, its values filled (a value that is itself a Message, or an exception
    holding one, is shown in the same language). For text kept across sessions, such as the
    reason a checkpoint file was refused, read once and shown to learners of either language."""

    __slots__ = ("msgid", "values")

    def __init__(self, msgid: str, values: dict):
        self.msgid, self.values = msgid, values

    def __str__(self) -> str:
        return _(self.msgid, **{k: str(v) if isinstance(v, (Message, BaseException)) else v
                                for k, v in self.values.items()})

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __repr__(self) -> str:
        return f"Message({self.msgid!r})"


def lazy(message: str, /, **values) -> Message:
    """`_()` deferred: the message is translated each time it is turned into text."""
    return Message(message, values)


def N_(message: str, /) -> str:
    """Mark a string for the catalog; it is translated later, with `_()`, where it is shown."""
    return message


def a_digit(digit: int) -> str:
    """"a 7", "an 8" (the English article follows how the number is said: eight, eleven, eighteen,
    eighty-...); in Korean, which has no articles, "숫자 8"."""
    said_with_a_vowel = str(digit).startswith("8") or str(digit) in ("11", "18")
    return _("an {digit}", digit=digit) if said_with_a_vowel else _("a {digit}", digit=digit)
