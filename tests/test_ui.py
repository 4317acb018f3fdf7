"""rnn_demo.ui's shared machinery: taking turns across sessions, the model list that follows the folders."""
import threading
import time

from rnn_demo import checkpoints, ui


def turn_order(asks) -> list[str]:
    """Hold a turn, let each (name, answer, urgent) of `asks` ask for one in this order, 0.1 s
    apart, then let go: the order in which they got it."""
    turns, order = ui._Turns(), []
    holding, release = threading.Event(), threading.Event()

    def hold():
        with turns.turn(answer=False):
            holding.set()
            release.wait(5)
            order.append("first")

    def wait_for_turn(name, answer, urgent):
        with turns.turn(answer, urgent):
            order.append(name)

    threads = [threading.Thread(target=hold)]
    threads[0].start()
    assert holding.wait(5)
    for ask in asks:
        threads.append(threading.Thread(target=wait_for_turn, args=ask))
        threads[-1].start()
        time.sleep(0.1)
    release.set()
    for t in threads:
        t.join(5)
    return order


def test_a_waiting_answer_goes_before_waiting_details():
    assert turn_order([("details", False, False), ("answer", True, False)]) == ["first", "answer", "details"]


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


def _decoded(v):
    """A figure's JSON with Plotly's binary arrays decoded and numbers as floats, to compare
    the same figure sent two ways (lists or numpy arrays)."""
    import base64

    import numpy as np
    if isinstance(v, dict) and "bdata" in v:
        out = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        shape = v.get("shape")
        out = out.reshape([int(n) for n in str(shape).split(",")]) if shape else out
        return [_decoded(x) for x in out.tolist()]
    if isinstance(v, dict):
        return {k: _decoded(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_decoded(x) for x in v]
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return "NaN" if v != v else float(v)  # NaN (a gap) equals NaN here
    return v


def test_a_kept_figure_sends_exactly_what_its_builder_drew(sample):
    """ui.chart builds once per key and hands Streamlit the kept spec: what is sent equals the
    builder's own figure, number for number, on the first visit and on every later one."""
    import json

    import plotly.io as pio

    from rnn_demo import analysis, plots
    from rnn_demo.plots import explorer, training
    ckpt = ui.load_model("lstm")
    trace = analysis.digit_trace(ckpt.model, sample.images[3], int(sample.labels[3]))
    built = []

    def counted(*a, **k):
        built.append(1)
        return explorer.explorer_figure(*a, **k)

    for build, args, key in [(counted, (trace, "c", "cell state c_t"), ("test", 3)),
                             (training.weight_summaries, (ckpt.history["param_summaries"],), ("test", 4))]:
        direct = json.loads(pio.to_json(build(*args), validate=False))
        for _ in range(3):
            sent = ui.chart(build, *args, key=key)
            assert isinstance(sent, plots.Ready)
            assert _decoded(json.loads(pio.to_json(sent.to_dict(), validate=False))) == _decoded(direct)
    assert len(built) == 2  # once for the direct figure, once for the kept one: not per visit


def test_an_answer_to_a_lifted_pen_goes_before_answers_to_moving_pens():
    assert turn_order([("moving", True, False), ("lifted", True, True)]) == ["first", "lifted", "moving"]
