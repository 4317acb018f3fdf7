"""Gradient flow page speed: one ||dL/ds_t|| curve for 256 digits.

Targets (issue 4): 256 digits x 28 steps in at most 1 s on 2 cores; 784 steps (pixel by pixel)
in at most 10 s; moving back to a setting is instant (cached). Prints the median and fastest
of a few runs for: the shipped models' curves (from-scratch path, and the fused-cell path as
a baseline), the interactive RNN on 28 rows, 128 rows and 784 pixels, each with the loops on
one thread (what the app does) and on torch's default threads (the baseline), and a cached
repeat through rnn_demo.ui. A missing shipped model is stood in for by an untrained one of
the same architecture (the same cost).

    python -m bench.gradient_speed
"""
from __future__ import annotations

import statistics
import time

import streamlit.logger
import torch

streamlit.logger.set_log_level("error")  # no "no runtime" notes from ui's caches outside the app

from rnn_demo import checkpoints, data, gradients, ui  # noqa: E402
from rnn_demo.model import ModelConfig, build  # noqa: E402

N = 256
SHIPPED = {"rnn": ModelConfig("rnn", 128), "lstm": ModelConfig("lstm", 128), "gru": ModelConfig("gru", 128),
           "birnn": ModelConfig("rnn", 128, bidirectional=True)}


def timed(fn, repeat: int = 3) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def fmt(t: tuple[float, float], target: float | None = None) -> str:
    ok = "" if target is None else ("  ok" if t[0] <= target else f"  OVER the {target:g} s target")
    return f"median {t[0]:7.3f} s  fastest {t[1]:7.3f} s{ok}"


def with_threads(n, fn):
    def run():
        before = gradients.LOOP_THREADS
        gradients.LOOP_THREADS = n
        try:
            fn()
        finally:
            gradients.LOOP_THREADS = before
    return run


def main() -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads by default, {N} digits")
    digits = data.load_sample()
    x, y = digits.sequences(slice(0, N)), digits.labels[:N]
    print("\nShipped models, 28 steps (target <= 1 s):")
    for name, cfg in SHIPPED.items():
        path = ui.SHIPPED_DIR / f"{name}.pt"
        model = checkpoints.load(path).model if path.exists() else build(cfg).eval()
        label = name if path.exists() else f"{name} (untrained stand-in)"
        gradients.state_gradients(model, x[:8], y[:8])  # warm-up
        scratch = timed(lambda: gradients.norms_through_time(model, x, y))
        fused = timed(lambda: gradients.state_gradients(model, x, y, path="fused"))
        threads = timed(with_threads(None, lambda: gradients.norms_through_time(model, x, y)))
        print(f"  {label:32s} from scratch, 1 thread: {fmt(scratch, 1.0)}")
        print(f"  {'':32s} fused cells, 1 thread:  {fmt(fused)}")
        print(f"  {'':32s} from scratch, default threads: {fmt(threads)}  (1 thread is x{threads[0] / scratch[0]:.2f} faster)")

    print("\nInteractive RNN (128 units, tanh, rho 1.0):")
    for kind, extra, target in (("rows", 0, 1.0), ("blank", 100, None), ("pixels", 0, 10.0)):
        xs = gradients.make_sequences(digits.images[:N], kind, extra)
        w = gradients.fresh_rnn_weights(inputs=xs.shape[-1])
        run = lambda: gradients.rnn_experiment(w, xs, y, 1.0, "tanh")  # noqa: E731
        gradients.rnn_experiment(w, xs[:8, :28], y[:8], 1.0, "tanh")  # warm-up (linear algebra libraries)
        one = timed(run, 3 if kind != "pixels" else 2)
        default = timed(with_threads(None, run), 3 if kind != "pixels" else 1)
        print(f"  {xs.shape[1]:4d} steps, 1 thread:        {fmt(one, target)}")
        print(f"  {'':4s}       default threads:  {fmt(default)}  (1 thread is x{default[0] / one[0]:.2f} faster)")

    print("\nCached repeat through rnn_demo.ui (moving back to a setting):")
    t0 = time.perf_counter()
    ui.gradient_experiment("fresh", 0.75, "tanh", "pixels")
    first = time.perf_counter() - t0
    again = timed(lambda: ui.gradient_experiment("fresh", 0.75, "tanh", "pixels"), 5)
    print(f"  784 steps first time {first:.3f} s, again: median {again[0] * 1000:.2f} ms "
          f"(x{first / again[0]:,.0f} faster)")


if __name__ == "__main__":
    main()
