"""What augmentation costs: one batch's distortions (rnn_demo/augment.py) against one training
step of each shipped architecture, on the same batch, in one process.

    python -m bench.augment_speed [--batch-size 128] [--repeat 30]

Prints the median milliseconds of `augment.batch` (strength 1, 10% non-digits) and of a full
step (forward, backward, clip, Adam) per model, and `augment share <model>: X%` = augmentation
time / (augmentation + step).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch
from torch import nn

from rnn_demo import augment, data
from rnn_demo.model import ModelConfig, build

MODELS = {"rnn": (ModelConfig("rnn", 128), "fp32"), "lstm": (ModelConfig("lstm", 128), "bf16"),
          "gru": (ModelConfig("gru", 128), "fp32"), "birnn": (ModelConfig("rnn", 128, bidirectional=True), "fp32")}


def median_ms(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.augment_speed", description=__doc__.splitlines()[0])
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--repeat", type=int, default=30)
    args = p.parse_args(argv)
    sample = data.load_sample()
    x, y = sample.sequences(slice(0, args.batch_size)), sample.labels[:args.batch_size]
    gen = torch.Generator().manual_seed(0)
    aug = median_ms(lambda: augment.batch(x, y, gen, 1.0, 0.1), args.repeat)
    xa, target = augment.batch(x, y, gen, 1.0, 0.1)
    print(f"torch threads {torch.get_num_threads()}, batch {args.batch_size} (+{len(xa) - len(x)} non-digits)")
    print(f"augment.batch: {aug:.1f} ms")
    loss_fn = nn.CrossEntropyLoss()
    for name, (cfg, precision) in MODELS.items():
        model = build(cfg).train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)

        def step():
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
                loss = loss_fn(model(xa).float(), target)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()

        ms = median_ms(step, args.repeat)
        print(f"step {name} ({precision}): {ms:.1f} ms   augment share {name}: {aug / (aug + ms):.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
