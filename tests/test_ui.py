"""ui.py's shared machinery: taking turns across sessions, the model list that follows the folders."""
import threading
import time

from rnn_demo import checkpoints, ui


def test_a_waiting_answer_goes_before_waiting_details():
    turns, order = ui._Turns(), []
    holding, release = threading.Event(), threading.Event()

    def hold():
        with turns.turn(answer=False):
            holding.set()
            release.wait(5)
            order.append("first")

    def wait_for_turn(name, answer):
        with turns.turn(answer):
            order.append(name)

    threads = [threading.Thread(target=hold)]
    threads[0].start()
    assert holding.wait(5)
    for name, answer in [("details", False), ("answer", True)]:  # details asked first
        threads.append(threading.Thread(target=wait_for_turn, args=(name, answer)))
        threads[-1].start()
        time.sleep(0.1)
    release.set()
    for t in threads:
        t.join(5)
    assert order == ["first", "answer", "details"]


def test_turns_are_one_at_a_time_and_survive_an_exception():
    turns, inside, most = ui._Turns(), [0], [0]

    def work(i):
        try:
            with turns.turn(answer=i % 2 == 0):
                inside[0] += 1
                most[0] = max(most[0], inside[0])
                time.sleep(0.01)
                inside[0] -= 1
                if i == 3:
                    raise RuntimeError("a stopped script")
        except RuntimeError:
            pass

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert most[0] == 1 and inside[0] == 0
    with turns.turn(answer=False):  # nobody left it held
        pass


def test_model_paths_follow_the_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(ui, "USER_DIR", tmp_path)
    before = ui.model_paths()
    assert list(before)[:4] == list(ui.SHIPPED)
    ckpt = checkpoints.load(ui.SHIPPED_DIR / "rnn.pt")
    checkpoints.save(tmp_path / "mine.pt", ckpt.model, ckpt.train_config, ckpt.metrics, ckpt.history)
    assert ui.model_paths()["mine"] == tmp_path / "mine.pt"
    (tmp_path / "mine.pt").unlink()
    assert "mine" not in ui.model_paths()
