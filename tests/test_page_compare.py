"""The Compare page in AppTest: it renders for the shipped models, and its table holds the numbers
a direct computation gives."""
import pytest
from streamlit.testing.v1 import AppTest

from rnn_demo import checkpoints, compare, data, ui
from rnn_demo.model import ModelConfig, build, count_params

PAGE = str(ui.ROOT / "pages" / "5_Compare.py")


@pytest.fixture
def names(user_models):
    """The shipped models there are, plus a small one of the user's so there are always two."""
    checkpoints.save(user_models / "mine.pt", build(ModelConfig(cell="gru", hidden_size=8)), {},
                     {"test_acc": 0.1}, {"loss": [2.3, 2.2], "evals": [], "seconds": 1.5, "steps_per_epoch": 1},
                     {"kind": "sample", "train": "bundled sample"})
    return [n for n in ui.SHIPPED if (ui.SHIPPED_DIR / f"{n}.pt").exists()] + ["mine"]


def test_compare_renders_and_the_table_equals_a_direct_computation(names):
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    assert not at.exception
    at.multiselect(key="compare_models").set_value(names).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value.set_index("model")
    assert list(table.index) == names
    digits = data.load_test()
    for n in names:
        path = ui.model_paths()[n]
        model = checkpoints.load(path).model
        direct = compare.evaluate(model, digits)
        assert table.loc[n, "test accuracy"] == pytest.approx(direct["accuracy"])
        assert table.loc[n, "test digits"] == len(digits)
        assert table.loc[n, "parameters"] == count_params(model)
        assert table.loc[n, "size (KB)"] == pytest.approx(path.stat().st_size / 1024, abs=0.05)
    assert table.loc["mine", "note"] == "trained on digits of the test set"
    anchors = at.dataframe[1].value
    assert anchors.loc[0, "test accuracy"] == 0.9766 and anchors.loc[0, "test digits"] == 128
    assert len(anchors) == 1 + len(names) - 1  # the seed and each shipped model
    # curves, a confusion matrix per model, per-class, when-it-knows, gradients, the pair
    assert len(at.get("plotly_chart")) == 1 + len(names) + 4


def test_fewer_than_two_models_asks_for_more(user_models):
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    at.multiselect(key="compare_models").set_value(["rnn"]).run()
    assert not at.exception and "at least two models" in at.info[0].value
