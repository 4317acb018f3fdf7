"""bench/page_load.py against a real server, small: three sessions open every page at once, and
each page finishes with no error or exception element for any of them (the speed half is the
bench itself: python -m bench.page_load)."""
import re
import threading

import pytest

from bench import page_load
from tests.conftest import _free_port


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_three_sessions_open_every_page_at_once_without_errors(capsys, lang):
    done = {}  # in a thread of its own: the browser tests' Playwright loop runs in this one
    run = threading.Thread(target=lambda: done.setdefault("rc", page_load.main(
        ["--sessions", "3", "--port", str(_free_port()), "--lang", lang])))
    run.start()
    run.join(600)
    out = capsys.readouterr().out
    assert done.get("rc") == 0, out
    assert f"pages in '{lang}'" in out
    rows = re.findall(r"^\s*(\w+)\s+3\s+(\S+)\s+\S+\s+(\d+)\s+(\d+)\s+\d+\s+(\d+)\s+([\d.]+)$", out, re.M)
    assert sorted(r[0] for r in rows) == sorted(p or "Home" for p in page_load.PAGES), out
    for page, first, p50, p95, errors, cpu in rows:
        assert int(errors) == 0 and int(p95) > 0 and float(cpu) > 0, (page, out)
        assert page in ("Draw", "Home") or first != "nan", f"{page} sent no chart"
