"""How fast the Hidden states page answers: building the animation for one digit (states +
figure, target <= 200 ms for a 128-unit model), and what changing the digit costs once the
model and the sample's PCA are cached (they must not be loaded or fitted again).

    python -m bench.explorer_speed [model ...]      # default: every shipped model present
"""
from __future__ import annotations

import logging
import os
import statistics
import sys
import time

import plotly.io as pio

logging.getLogger("streamlit").setLevel(logging.ERROR)  # "no runtime" warnings: caches work without one

from rnn_demo import analysis, checkpoints, data, ui  # noqa: E402
from rnn_demo.plots import explorer  # noqa: E402

TARGET_MS = 200.0


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def build_one(model, digits, idx) -> dict[str, float]:
    """States, figure, and the figure's JSON as Streamlit sends it; wall and CPU time of the total."""
    cpu = time.process_time()
    trace, t_states = timed(analysis.digit_trace, model, digits.images[idx], int(digits.labels[idx]))
    fig, t_fig = timed(explorer.explorer_figure, trace)
    _, t_json = timed(lambda: pio.to_json(fig.to_dict(), validate=False))
    return {"states": t_states, "figure": t_fig, "send": t_json, "total": t_states + t_fig + t_json,
            "cpu": time.process_time() - cpu}


def main(names: list[str]) -> None:
    digits = data.load_sample()
    print(f"Animation for one digit (28 frames), median of 10 digits after one warm-up; target <= {TARGET_MS:.0f} ms")
    print(f"(machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; on a busy machine the "
          "wall time exceeds this process's CPU time)")
    for name in names:
        model = checkpoints.load(ui.SHIPPED_DIR / f"{name}.pt").model
        build_one(model, digits, 0)
        runs = [build_one(model, digits, i) for i in range(1, 11)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        verdict = "ok" if med["total"] * 1000 <= TARGET_MS else "OVER TARGET (wall)"
        print(f"  {name:6s} ({model.config.label:11s}) states {ms(med['states'])}  figure {ms(med['figure'])}  "
              f"to JSON {ms(med['send'])}  total {ms(med['total'])} (CPU {ms(med['cpu'])})  {verdict}")

    # Caching through ui's wrappers (st.cache_* work without a server). Count the expensive calls.
    calls = {"load": 0, "pca": 0}
    real_load, real_pca = checkpoints.load, analysis.sample_pca

    def counting_load(*a, **k):
        calls["load"] += 1
        return real_load(*a, **k)

    def counting_pca(*a, **k):
        calls["pca"] += 1
        return real_pca(*a, **k)

    checkpoints.load, analysis.sample_pca = counting_load, counting_pca
    name = names[0]
    print(f"\nChanging the digit on the page ({name}), through the cached wrappers in rnn_demo/ui/cached.py")
    _, cold_model = timed(ui.load_model, name)
    _, cold_pca = timed(ui.sample_pca, name)
    _, first = timed(ui.digit_trace, name, digits.images[0], int(digits.labels[0]))
    print(f"  first visit:  load model {ms(cold_model)}, fit PCA on {len(digits)} digits {ms(cold_pca)}, "
          f"trace {ms(first)}")
    before = dict(calls)
    for idx in (1, 2, 3):
        _, t_model = timed(ui.load_model, name)
        _, t_pca = timed(ui.sample_pca, name)
        _, t_new = timed(ui.digit_trace, name, digits.images[idx], int(digits.labels[idx]))
        print(f"  digit {idx}:      model {ms(t_model)}, PCA {ms(t_pca)}, new digit's trace {ms(t_new)}")
    _, t_again = timed(ui.digit_trace, name, digits.images[1], int(digits.labels[1]))
    print(f"  back to digit 1: trace {ms(t_again)} (cached)")
    print(f"  model loads while changing digits: {calls['load'] - before['load']}, "
          f"PCA fits: {calls['pca'] - before['pca']} (both must be 0); "
          f"cold start / cached PCA = {cold_pca / max(t_pca, 1e-9):,.0f}x")


if __name__ == "__main__":
    main(sys.argv[1:] or [n for n in ui.SHIPPED if (ui.SHIPPED_DIR / f"{n}.pt").exists()])
