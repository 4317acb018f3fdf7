"""Keep the translation catalogs in step with the code (Babel's extract and update, per domain).

    python -m scripts.i18n extract   # templates (.pot) from the code, then every .po updated
    python -m scripts.i18n check     # untranslated, fuzzy or obsolete messages, placeholders

Domains (rnn_demo/i18n.py): `app` is app.py, pages/ and rnn_demo/ui/; `rnn_demo` is the rest
of rnn_demo/. New messages appear in each .po with an empty translation; write it, then run
`check` (tests/test_i18n.py runs the same check).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

from rnn_demo import i18n

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "ngettext": (1, 2), "N_": None}
PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)(?:[^{}]*)\}(?!\})")


def sources(domain: str) -> list[Path]:
    ui = ROOT / "rnn_demo" / "ui"
    if domain == "app":
        return [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted(ui.glob("*.py"))]
    return [p for p in sorted((ROOT / "rnn_demo").rglob("*.py")) if ui not in p.parents and "locale" not in p.parts]


def template(domain: str) -> Catalog:
    cat = Catalog(project="RNN Explorer", domain=domain, charset="utf-8", fuzzy=False)
    for path in sources(domain):
        rel = path.relative_to(ROOT).as_posix()
        for lineno, message, comments, context in extract_from_file("python", str(path), keywords=KEYWORDS,
                                                                     comment_tags=("TRANSLATORS:",)):
            cat.add(message, None, [(rel, lineno)], auto_comments=comments, context=context)
    return cat


def po_path(code: str, domain: str) -> Path:
    return i18n.LOCALE_DIR / code / "LC_MESSAGES" / f"{domain}.po"


def extract() -> None:
    for domain in i18n.DOMAINS:
        pot = template(domain)
        i18n.LOCALE_DIR.mkdir(parents=True, exist_ok=True)
        with (i18n.LOCALE_DIR / f"{domain}.pot").open("wb") as f:
            write_po(f, pot, sort_by_file=True, omit_header=False, width=100)
        for code in i18n.LANGUAGES:
            if code == i18n.DEFAULT:
                continue
            path = po_path(code, domain)
            if path.exists():
                with path.open("rb") as f:
                    cat = read_po(f, locale=code, domain=domain)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                cat = Catalog(locale=code, domain=domain, project="RNN Explorer", charset="utf-8", fuzzy=False)
            cat.update(pot, no_fuzzy_matching=True)
            cat.obsolete.clear()
            with path.open("wb") as f:
                write_po(f, cat, sort_by_file=True, width=100, ignore_obsolete=True)
        print(f"{domain}: {len(pot)} messages")


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text.replace("{{", "").replace("}}", "")))


def problems() -> list[str]:
    """Everything wrong with the catalogs against the code, one line each (empty: all good)."""
    out = []
    for domain in i18n.DOMAINS:
        wanted = {m.id for m in template(domain) if m.id}
        for code in i18n.LANGUAGES:
            if code == i18n.DEFAULT:
                continue
            path = po_path(code, domain)
            if not path.exists():
                out.append(f"{path.relative_to(ROOT)}: missing")
                continue
            with path.open("rb") as f:
                cat = read_po(f, locale=code, domain=domain)
            have = {m.id: m for m in cat if m.id}
            for mid in sorted(wanted - set(have), key=str):
                out.append(f"{domain}/{code}: not in the catalog (run extract): {mid!r}")
            for mid, m in have.items():
                if mid not in wanted:
                    out.append(f"{domain}/{code}: no longer in the code: {mid!r}")
                    continue
                sources_ = mid if isinstance(mid, tuple) else (mid,)
                targets = m.string if isinstance(m.string, (tuple, list)) else (m.string,)
                if m.fuzzy or not all(targets):
                    out.append(f"{domain}/{code}: untranslated: {sources_[0]!r}")
                    continue
                need = set().union(*(placeholders(s) for s in sources_))
                for t in targets:
                    if placeholders(t) != need:
                        out.append(f"{domain}/{code}: placeholders {sorted(placeholders(t))} but the source has "
                                   f"{sorted(need)}: {sources_[0]!r}")
    return out


def main(argv: list[str]) -> int:
    if argv[:1] == ["extract"]:
        extract()
        return 0
    if argv[:1] == ["check"]:
        found = problems()
        for line in found:
            print(line)
        print(f"{len(found)} problems")
        return 1 if found else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
