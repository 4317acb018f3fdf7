"""Time-to-accuracy: the seed's recipe against our default recipe, in one process.

    RNN_DEMO_DATA=../shared/data/mnist python -m bench.train_speed [--cells rnn lstm]

The seed (the blog's TensorFlow example): one tanh layer of 128 units, linear read-out of the
last state, RMSprop(lr=1e-3, decay 0.9), batch 128, 10,000 iterations, on the framework's
built-in cell (torch's nn.RNN here; `kernels.disabled()`). Ours keeps the architecture and
changes how it is trained (train.FAST) and, for the tanh RNN, how its backward pass is
computed (rnn_demo/kernels.py). Only training is timed: test evaluations run between steps
and are excluded. Prints `ratio CELL: X` = our time to reach
the target accuracy / the seed recipe's training time, the CPU and its features, and which
precision `auto` chose; a recipe that is not fp32 also runs forced to fp32 (`ratio CELL fp32:`).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace

import torch

from rnn_demo import data, kernels, precision, train
from rnn_demo.model import ModelConfig, build

TARGETS = {"rnn": 0.975, "lstm": 0.986, "gru": 0.986}


def first_time_at(history: dict, target: float) -> float | None:
    """Training seconds at the first evaluation whose test accuracy reaches the target."""
    for ev in history["evals"]:
        if ev["test_acc"] is not None and ev["test_acc"] >= target:
            return ev["seconds"]
    return None


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", nargs="+", default=["rnn", "lstm"], choices=sorted(TARGETS))
    p.add_argument("--data", default=None)
    p.add_argument("--seed-iterations", type=int, default=10_000,
                   help="fewer for a quick look: the seed's time is then scaled to 10,000 iterations")
    p.add_argument("--eval-every", type=int, default=25, help="steps between test evaluations (untimed)")
    args = p.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # figures appear as they come, even into a file
    train_data, test_data = data.load_mnist(True, args.data), data.load_mnist(False, args.data)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{len(train_data)} training / {len(test_data)} test digits")
    print(f"CPU: {precision.describe_cpu()}")
    if "rnn" in args.cells:
        print(f"tanh RNN kernel: {kernels.describe()}")
    for cell in args.cells:
        seed_cfg = replace(train.PRESETS["seed"], iterations=args.seed_iterations, eval_every=args.seed_iterations)
        with kernels.disabled():
            seed = train.train(ModelConfig(cell), seed_cfg, train_data, test_data)
        seed_seconds = seed.history["seconds"] * 10_000 / args.seed_iterations
        print(f"{cell} seed recipe: {args.seed_iterations} iterations in {seed.history['seconds']:.1f} s "
              f"({1000 * seed.history['seconds'] / args.seed_iterations:.1f} ms/step), "
              f"test accuracy {seed.metrics['test_acc']:.4f}")
        # The recipe as shipped (precision as it says, "auto" deciding here), then forced to fp32
        # if that differs: most learners' CPUs have no AMX, and this one might.
        recipe = replace(train.FAST[cell], eval_every=args.eval_every)
        runs = [("", recipe)] + ([(" fp32", replace(recipe, precision="fp32"))] if recipe.precision != "fp32" else [])
        used = set()
        for suffix, ours_cfg in runs:
            chosen = precision.resolve(ours_cfg.precision, build(ModelConfig(cell)), ours_cfg.batch_size,
                                       torch.device("cpu"))
            if chosen in used:  # "auto" chose fp32 here: the forced run would repeat it
                print(f"ratio {cell}{suffix}: same run as above (precision {ours_cfg.precision} chose {chosen})")
                continue
            used.add(chosen)
            ours = train.train(ModelConfig(cell), ours_cfg, train_data, test_data)
            reached = first_time_at(ours.history, TARGETS[cell])
            print(f"{cell} our recipe ({ours_cfg.optimizer}, lr {ours_cfg.lr}, batch {ours_cfg.batch_size}, "
                  f"{ours_cfg.epochs} epochs, {ours_cfg.schedule} warm-up {ours_cfg.warmup}, clip {ours_cfg.clip}, "
                  f"label smoothing {ours_cfg.label_smoothing}, init {ours_cfg.init}, precision {ours_cfg.precision} "
                  f"-> {ours.history['precision']}): final test accuracy {ours.metrics['test_acc']:.4f} after "
                  f"{ours.history['seconds']:.1f} s ({1000 * ours.history['seconds'] / ours.history['total_steps']:.1f}"
                  f" ms/step); reached {TARGETS[cell]:.3f} at {reached if reached is None else round(reached, 1)} s")
            ratio = (reached / seed_seconds) if reached is not None else float("inf")
            print(f"ratio {cell}{suffix}: {ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
