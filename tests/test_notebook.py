"""The README's notebook example runs as written and gives the numbers the pages show."""
import re

import numpy as np
import pytest

from rnn_demo import analysis, checkpoints, data, registry

README = registry.ROOT / "README.md"


def readme_snippet() -> str:
    section = README.read_text().split("## In a notebook", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_runs():
    code = readme_snippet()
    assert len(code.strip().splitlines()) == 3
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    t = scope["t"]
    assert t["states"].shape == (28, 128) and isinstance(t["states"], np.ndarray)
    assert t["internals"]["f"].shape == (28, 128)
    sample = data.load_sample()
    expected = analysis.digit_trace(checkpoints.load(registry.SHIPPED_DIR / "lstm.pt").model,
                                    sample.images[7].numpy(), int(sample.labels[7]))
    np.testing.assert_array_equal(t["states"], expected["states"])
    np.testing.assert_array_equal(t["step_probs"], expected["step_probs"])
    assert t["label"] == int(sample.labels[7])


def test_load_by_path_and_a_drawn_array(tmp_path):
    from rnn_demo import load, trace

    model = load(registry.SHIPPED_DIR / "gru.pt")
    blank = np.zeros((28, 28), np.uint8)
    t = trace(model, blank)
    assert t["label"] is None and t["step_probs"].shape == (28, 10)
    assert set(t["internals"]) == {"r", "z", "n"}
    with pytest.raises(checkpoints.CheckpointError, match="No model called 'nope'"):
        load("nope")
