"""Evaluate a checkpoint on the full 10,000-digit MNIST test set; print one JSON line.

    python -m rnn_demo.evaluate models/lstm.pt [--data DIR]
"""
from __future__ import annotations

import argparse
import json
import sys

import torch

from rnn_demo import checkpoints, data
from rnn_demo.model import count_params
from rnn_demo.train import accuracy


def evaluate(ckpt: checkpoints.Checkpoint, digits: data.Digits) -> dict:
    acc, preds = accuracy(ckpt.model, digits)
    per_class = {str(c): (round((preds[digits.labels == c] == c).float().mean().item(), 4)
                          if (digits.labels == c).any() else None) for c in range(10)}  # None: no such digit
    cfg = ckpt.model_config
    return {"checkpoint": str(ckpt.path), "accuracy": round(acc, 4), "n": len(digits), "per_class": per_class,
            "cell": cfg.cell, "bidirectional": cfg.bidirectional, "hidden_size": cfg.hidden_size,
            "layers": cfg.num_layers, "params": count_params(ckpt.model), "data": digits.source}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rnn_demo.evaluate", description=__doc__.splitlines()[0])
    p.add_argument("checkpoint")
    p.add_argument("--data", default=None, help="MNIST root (default: $RNN_DEMO_DATA, else ./data)")
    args = p.parse_args(argv)
    try:
        ckpt = checkpoints.load(args.checkpoint)
        digits = data.load_mnist(train=False, root=args.data)
    except (checkpoints.CheckpointError, data.DataUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with torch.inference_mode():
        print(json.dumps(evaluate(ckpt, digits), allow_nan=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
