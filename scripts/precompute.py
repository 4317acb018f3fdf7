"""Store the shipped models' Compare-page results beside them (models/NAME.results.json), so the
first visit to Compare does not evaluate four models on 10,000 digits while a learner waits.

    python -m scripts.precompute --data ../shared/data/mnist

Run it again after retraining a shipped model: a stored result is used only for the very file
(its SHA-256) and the very test set it was computed on (tests/test_precomputed.py checks both).
"""
import argparse
import json

from rnn_demo import checkpoints, compare, data
from rnn_demo.ui import SHIPPED_DIR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="MNIST root (default: $RNN_DEMO_DATA or ./data)")
    args = parser.parse_args()
    sample = data.load_sample()
    sets = {"sample": sample, "mnist": data.load_mnist(train=False, root=args.data, download=False)}
    for path in checkpoints.list_checkpoints(SHIPPED_DIR):
        results = compare.results_of(checkpoints.load(path).model, path, sets, sample)
        out = path.with_suffix(compare.RESULTS_SUFFIX)
        out.write_text(json.dumps(results, separators=(",", ":")))
        accs = ", ".join(f"{r['accuracy']:.4f} on {s}" for s, r in results["evaluation"].items())
        print(f"{out}: {accs}")


if __name__ == "__main__":
    main()
