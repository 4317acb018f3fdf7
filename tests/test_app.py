"""Every page runs under AppTest with no exception."""
from streamlit.testing.v1 import AppTest

from rnn_demo import registry


def test_home_page_shows_the_equation_models_and_links(user_models):
    at = AppTest.from_file(str(registry.ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert "RNN Explorer" in at.title[0].value
    assert any("tanh" in l.value for l in at.get("latex"))  # the seed's equation
    table = at.table[0].value
    assert list(table["model"])[:4] == list(registry.SHIPPED)
    assert all(float(a.rstrip("%")) >= 98.0 for a in table["test accuracy"][:4])
