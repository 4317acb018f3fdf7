"""bench/load.py against a real server, small: two sessions draw at once and each gets its own
digit and the models' own answers (the isolation half of issue 7; the speed half is the bench)."""
import re

from bench import load


def test_two_sessions_drawing_at_once_each_get_their_own_answers(capsys):
    assert load.main(["--sessions", "2", "--modes", "together", "--rounds", "2", "--port", "8617"]) == 0
    out = capsys.readouterr().out
    row = re.search(r"together\s+2\s+(\d+)\s+\d+\s+\d+\s+\d+\s+(\d+)", out)
    assert row, out
    assert int(row.group(1)) == 4 and int(row.group(2)) == 0  # 4 drawings checked, no errors
