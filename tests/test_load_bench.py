"""bench/load.py against a real server, small: two sessions draw at once and each gets its own
digit and the models' own answers (the isolation half of issue 7; the speed half is the bench)."""
import re
import threading

from bench import load


def test_two_sessions_drawing_at_once_each_get_their_own_answers(capsys):
    # In a thread of its own: the browser tests' Playwright keeps an event loop running in this one.
    done = {}
    run = threading.Thread(target=lambda: done.setdefault("rc", load.main(
        ["--sessions", "2", "--modes", "together", "--rounds", "2", "--port", "8617"])))
    run.start()
    run.join(300)
    out = capsys.readouterr().out
    assert done.get("rc") == 0, out
    row = re.search(r"together\s+2\s+(\d+)\s+\d+\s+\d+\s+\d+\s+(\d+)", out)
    assert row, out
    assert int(row.group(1)) == 4 and int(row.group(2)) == 0  # 4 drawings checked, no errors
