"""The Compare page's stored results for the shipped models (scripts/precompute.py) belong to the
shipped files as they are now, and equal what the page would compute."""
import numpy as np
import pytest

from rnn_demo import checkpoints, compare, data
from rnn_demo.ui import SHIPPED_DIR
from tests.conftest import full_mnist

SHIPPED = checkpoints.list_checkpoints(SHIPPED_DIR)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_stored_results_are_this_files_and_equal_a_fresh_computation(path, sample):
    assert path.with_suffix(compare.RESULTS_SUFFIX).exists(), "run python -m scripts.precompute"
    model = checkpoints.load(path).model
    stored = compare.precomputed(path, "evaluation", sample.source)
    assert stored is not None, "stored for another version of the file: run python -m scripts.precompute"
    fresh = compare.evaluate(model, sample)
    assert stored["accuracy"] == fresh["accuracy"] and np.array_equal(stored["confusion"], fresh["confusion"])
    np.testing.assert_allclose(compare.precomputed(path, "when_it_knows", sample.source),
                               compare.when_it_knows(model, sample), atol=1e-6)
    curve, fresh_curve = compare.precomputed(path, "gradient_curve", sample.source), compare.gradient_curve(model, sample)
    np.testing.assert_allclose(curve["median"], fresh_curve["median"], rtol=1e-4)
    if full_mnist():
        test = data.load_mnist(train=False, download=False)
        stored = compare.precomputed(path, "evaluation", test.source)
        assert stored is not None and stored["accuracy"] == compare.evaluate(model, test)["accuracy"]


def test_a_stored_result_is_never_used_for_another_file(tmp_path, sample):
    src = SHIPPED[0]
    copy = tmp_path / src.name
    copy.write_bytes(src.read_bytes())
    copy.with_suffix(compare.RESULTS_SUFFIX).write_bytes(src.with_suffix(compare.RESULTS_SUFFIX).read_bytes())
    assert compare.precomputed(copy, "evaluation", sample.source) is not None
    assert compare.precomputed(copy, "evaluation", "some other test set") is None
    copy.write_bytes(src.read_bytes() + b"\0")  # another version of the file
    assert compare.precomputed(copy, "evaluation", sample.source) is None
