"""Hostile drawing-pad values over Streamlit's real websocket, as a scripted client sends them
(bench/load.py speaks the same protocol): a value too large is refused before it is parsed, and
one that is not a drawing (not JSON, nested too deeply, the wrong shape) gets one plain sentence,
never Streamlit's redacted error, and leaves the session working. Kept apart from
test_hostile.py (files, names, settings), which is long enough."""
from __future__ import annotations

import json

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from rnn_demo import canvas

ERROR = 1  # Alert.Format
SEVEN = [[(70.0, 50.0), (210.0, 50.0), (120.0, 245.0)]]  # bench/load_browser.py's 7


class Pad:
    """One tab on the Draw page, sending the pad's widget value as the browser does."""

    def __init__(self, url: str):
        self.ws = connect(url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"],
                          max_size=None, open_timeout=60)
        self.pad_id = self.page_hash = ""
        elements = self.send(None)
        self.pad_id = next(e.bidi_component.id for e in elements if e.WhichOneof("type") == "bidi_component")

    def send(self, json_value: str | None) -> list:
        """Rerun the Draw page with this raw pad value; the page's elements once it has finished."""
        msg = BackMsg()
        msg.rerun_script.page_name = "Draw"
        msg.rerun_script.page_script_hash = self.page_hash
        if json_value is not None:
            state = msg.rerun_script.widget_states.widgets.add()
            state.id = self.pad_id
            state.json_value = json_value
        self.ws.send(msg.SerializeToString())
        elements = []
        while True:
            m = ForwardMsg()
            m.ParseFromString(self.ws.recv(timeout=120))
            kind = m.WhichOneof("type")
            if kind == "delta" and m.delta.WhichOneof("type") == "new_element":
                elements.append(m.delta.new_element)
                self.page_hash = m.metadata.active_script_hash or self.page_hash
            if kind == "script_finished":
                return elements

    def draw(self, *strokes, seq: int = 1) -> list:
        return self.send(json.dumps({"drawing": canvas.pad_value(*strokes, seq=seq)}, separators=(",", ":")))

    def close(self) -> None:
        self.ws.close()


def kinds(elements) -> list[str]:
    return [e.WhichOneof("type") for e in elements]


def errors(elements) -> list[str]:
    return [e.alert.body.replace("\\", "") for e in elements if e.WhichOneof("type") == "alert"
            and e.alert.format == ERROR]


def answered(elements) -> bool:
    """Every model's prediction is on the page (a metric each), and nothing failed."""
    return kinds(elements).count("metric") >= 4 and "exception" not in kinds(elements) and not errors(elements)


def maximal_drawing() -> list[list[tuple[float, float]]]:
    """The largest drawing the pad may send: 64 strokes of 128 points, each coordinate 5 digits."""
    return [[(100.5 + (j % 7) * 11.1, 120.5 + i * 1.1) for j in range(128)] for i in range(canvas.MAX_STROKES)]


def test_an_oversized_pad_value_closes_the_socket_before_it_is_parsed(app_url):
    """Issue 24: Streamlit parsed values up to 25 MB before the page's own check ran. The
    raw frame is now bounded at 1 MB (.streamlit/config.toml), ten times the largest drawing."""
    honest = Pad(app_url)
    assert answered(honest.draw(*SEVEN))
    biggest = json.dumps({"drawing": canvas.pad_value(*maximal_drawing(), seq=2)}, separators=(",", ":"))
    assert 95_000 < len(biggest) < 110_000  # what .streamlit/config.toml's comment says
    elements = honest.send(biggest)
    assert "exception" not in kinds(elements) and not errors(elements)  # served: the pad's largest value

    attacker = Pad(app_url)
    flood = json.dumps({"drawing": {"strokes": [[140.5, 140.5] * 100_000] * 2, "down": False, "seq": 1}})
    assert 1_000_000 < len(flood) < 3_000_000
    with pytest.raises(ConnectionClosed) as closed:
        attacker.send(flood)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # Message Too Big, unparsed
    assert answered(honest.draw(*SEVEN, seq=3))  # everyone else goes on
    honest.close()


@pytest.mark.parametrize("value, why", [
    ('{"drawing":' + "[" * 200_000 + "]" * 200_000 + "}", "nested past Python's recursion limit"),
    ('{"drawing":{"strokes":' + "[" * 2_000 + "]" * 2_000 + "}}", "nested deeper than 1,000"),
    ('{"drawing": [1, 2', "not JSON"),
    ('{"drawing": "abc"}', "not strokes"),
    ('{"drawing": {"strokes": [[1e999, 2]]}}', "an infinite coordinate"),
])
def test_a_pad_value_that_is_not_a_drawing_gets_one_sentence(app_url, value, why):
    pad = Pad(app_url)
    elements = pad.send(value)
    assert "exception" not in kinds(elements), why  # never Streamlit's redacted error
    (sentence,) = errors(elements)
    assert sentence.startswith("The drawing could not be read") and sentence.count(". ") == 0, sentence
    assert "bidi_component" in kinds(elements)  # the pad is still there to draw on
    assert answered(pad.draw(*SEVEN, seq=2))  # and the session works on
    pad.close()



def test_clear_cache_from_a_tab_keeps_what_the_server_shares():
    """Issue 24: BackMsg(clear_cache) from any tab emptied st.cache_data and st.cache_resource for
    everyone (loaded models, kept figures, the training queue's handle). Streamlit's own handler,
    as the app leaves it, now clears the sender's session state and nothing shared."""
    import streamlit as st
    from streamlit.runtime.app_session import AppSession

    import rnn_demo.ui  # noqa: F401  (installs the guard)

    calls = []

    @st.cache_resource
    def shared():
        calls.append(1)
        return object()

    @st.cache_data
    def data():
        calls.append(2)
        return 42

    first, _ = shared(), data()

    class Sender:  # what the handler touches of an AppSession
        def __init__(self):
            self._session_state = {"mine": 1}

    sender = Sender()
    AppSession._handle_clear_cache_request(sender)
    assert sender._session_state == {}  # the sender's own state is cleared
    assert shared() is first and data() == 42 and calls == [1, 2]  # nothing shared was


def test_a_tab_sending_clear_cache_breaks_no_one(app_url):
    """Over the real websocket: a tab sending clear_cache five times; its own tab and an honest
    tab still get every model's answer."""
    honest, attacker = Pad(app_url), Pad(app_url)
    try:
        assert answered(honest.draw(*SEVEN, seq=1))
        msg = BackMsg()
        msg.clear_cache = True
        for _ in range(5):
            attacker.ws.send(msg.SerializeToString())
        assert answered(attacker.draw(*SEVEN, seq=2))
        assert answered(honest.draw(*SEVEN, seq=3))
    finally:
        honest.close()
        attacker.close()
