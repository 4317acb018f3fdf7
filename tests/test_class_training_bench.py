"""bench/class_training.py against a real server with its own worker pool, small: 3 learners
press Start at once while 2 others draw; every learner sees a place in line, no run is lost,
every drawing is answered with the models' own answers (the speed half is the bench itself:
python -m bench.class_training --learners 30)."""
import re
import threading

from bench import class_training
from tests.conftest import _free_port


def test_three_learners_start_at_once_and_every_run_is_saved(capsys):
    done = {}  # in a thread of its own: the browser tests' Playwright loop runs in this one
    run = threading.Thread(target=lambda: done.setdefault("rc", class_training.main(
        ["--learners", "3", "--drawers", "2", "--iterations", "60", "--workers", "1",
         "--port", str(_free_port())])))
    run.start()
    run.join(600)
    out = capsys.readouterr().out
    assert done.get("rc") == 0, out
    assert "runs lost: 0 (saved 3 of 3)" in out, out
    shown = re.search(r"place in line shown after Start: p50 ([\d.]+) s, max ([\d.]+) s \((\d+) of 3\)", out)
    assert shown and shown.group(3) == "3", out
    makespan, serial = map(float, re.search(r"makespan ([\d.]+) s; serial baseline \(one run alone x 3\) ([\d.]+) s",
                                            out).groups())
    assert makespan > 0 and serial > 0, out
    waits = re.search(r"wait before a run starts: p50 ([\d.]+) s, p95 ([\d.]+) s", out)
    assert waits and float(waits.group(2)) >= float(waits.group(1)), out
    assert "error:" not in out, out
