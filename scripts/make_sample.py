"""Write rnn_demo/assets/mnist_sample.npz: 100 real MNIST test digits per class.

    python -m scripts.make_sample --data ../shared/data/mnist

MNIST (LeCun, Cortes, Burges) is licensed CC BY-SA 3.0; the sample keeps that licence.
"""
import argparse

import numpy as np

from rnn_demo import data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="MNIST root (default: $RNN_DEMO_DATA or ./data)")
    parser.add_argument("--per-class", type=int, default=100)
    args = parser.parse_args()
    images, labels = data.make_sample(data.load_mnist(train=False, root=args.data), args.per_class)
    np.savez_compressed(data.SAMPLE_PATH, images=images, labels=labels)
    print(f"wrote {len(labels)} digits to {data.SAMPLE_PATH} ({data.SAMPLE_PATH.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
