"""How long can it remember? Row-wise MNIST followed by a gap of blank rows, the class read out
after the last step (Bengio, Simard & Frasconi 1994; Hochreiter & Schmidhuber 1997).

The task is `data.with_gap` and the `gap` / `gap_noise` fields of `TrainConfig`, so the ordinary
training loop (`train.train`), its checkpoints and the Train page's jobs all work at any gap.
This module holds the experiment: one fixed budget and recipe for every cell, the grid of
variants x gaps x seeds, the result files in models/memory/ and what the page reads from them.

    python -m rnn_demo.memory run --variant lstm-chrono --gap 50 --seed 0   # one cell of the grid
    python -m rnn_demo.memory grid --seeds 0 1 2                            # every missing cell
    python -m rnn_demo.memory collect                                       # runs/*.json -> results.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from rnn_demo import checkpoints, data, registry
from rnn_demo.i18n import N_, _
from rnn_demo.model import ModelConfig, SequenceClassifier
from rnn_demo.recipe import TrainConfig
from rnn_demo.train import train

ROOT = registry.ROOT
FOLDER = registry.MEMORY_DIR
RESULTS = FOLDER / "results.json"
RUNS = FOLDER / "runs"

# The budget: the same for every cell, gap and seed. Chosen to fit a shared 2-core CPU
# (one thread per run): a fixed subset of the training digits and a fixed number of steps.
N_TRAIN = 20_000      # the first 20,000 MNIST training digits
N_TEST = 2_000        # the first 2,000 MNIST test digits
RECIPE = TrainConfig(optimizer="adam", lr=3e-3, batch_size=64, iterations=800, clip=1.0, init="orthogonal",
                     schedule="onecycle", warmup=0.25, eval_every=200)
GAPS = (0, 10, 25, 50, 100, 200)
CHECKPOINT_GAPS = (50, 200)  # seed 0's models at these gaps ship, for the page's per-step view

# name -> (cell, forget_init, forget_bias, label)
VARIANTS: dict[str, tuple[str, str, float, str]] = {
    "rnn": ("rnn", "standard", 1.0, N_("tanh RNN")),
    "lstm": ("lstm", "standard", 1.0, N_("LSTM, forget bias 1")),
    "gru": ("gru", "standard", 1.0, N_("GRU, update bias 0")),
    "lstm-chrono": ("lstm", "chrono", 1.0, N_("LSTM, chrono init")),
    "gru-chrono": ("gru", "chrono", 1.0, N_("GRU, chrono init")),
    "lstm-bias3": ("lstm", "constant", 3.0, N_("LSTM, forget bias 3")),
}


def variant_configs(variant: str, gap: int, seed: int, recipe: TrainConfig = RECIPE) -> tuple[ModelConfig, TrainConfig]:
    if variant not in VARIANTS:
        raise ValueError(_("variant must be one of {options}, not {value}", options=", ".join(VARIANTS),
                           value=repr(variant)))
    cell, forget_init, forget_bias, _label = VARIANTS[variant]
    return (ModelConfig(cell=cell, hidden_size=128),
            replace(recipe, gap=gap, seed=seed, forget_init=forget_init, forget_bias=forget_bias))


def command(variant: str, gap: int, seed: int) -> str:
    return f"python -m rnn_demo.memory run --variant {variant} --gap {gap} --seed {seed}"


def load_budget_data(root=None) -> tuple[data.Digits, data.Digits]:
    train_all, test_all = data.load_mnist(True, root, download=False), data.load_mnist(False, root, download=False)
    return train_all.subset(slice(0, N_TRAIN)), test_all.subset(slice(0, N_TEST))


def run_name(variant: str, gap: int, seed: int) -> str:
    return f"{variant}-gap{gap}-seed{seed}"


def checkpoint_path(variant: str, gap: int, folder: Path = FOLDER) -> Path:
    return folder / f"{variant}-gap{gap}.pt"


def run_one(variant: str, gap: int, seed: int, folder: Path = FOLDER, root=None,
            recipe: TrainConfig = RECIPE, verbose: bool = True) -> dict:
    """Train one cell of the grid and write its record to folder/runs/<name>.json (and, for seed 0
    at a CHECKPOINT_GAPS gap, the model to folder/<variant>-gap<gap>.pt)."""
    model_cfg, cfg = variant_configs(variant, gap, seed, recipe)
    train_data, test_data = load_budget_data(root)
    t0 = time.time()

    def progress(step: int, m: dict) -> None:
        if verbose and (step % 100 == 0 or step == m["total"]):
            ev = m["evals"][-1]["test_acc"] if m["evals"] else float("nan")
            print(f"{run_name(variant, gap, seed)} step {step}/{m['total']} loss {m['loss']:.3f} "
                  f"test {ev:.3f} {m['seconds']:.0f}s", flush=True)

    result = train(model_cfg, cfg, train_data, test_data, on_step=progress)
    loss = np.asarray(result.history["loss"])
    record = {"name": run_name(variant, gap, seed), "variant": variant, "cell": model_cfg.cell, "gap": gap,
              "seed": seed, "test_acc": result.metrics["test_acc"], "status": result.status,
              "evals": [{"step": e["step"], "test_acc": e["test_acc"]} for e in result.history["evals"]],
              "loss_every_50": [float(loss[i:i + 50].mean()) for i in range(0, len(loss), 50)],
              "train_seconds": round(result.history["seconds"], 1), "wall_seconds": round(time.time() - t0, 1),
              "threads": torch.get_num_threads(), "command": command(variant, gap, seed),
              "model_config": model_cfg.to_dict(), "train_config": cfg.to_dict(),
              "data": {"train": f"first {len(train_data):,} of {train_data.source}",
                       "test": f"first {len(test_data):,} of {test_data.source}"}}
    if seed == 0 and gap in CHECKPOINT_GAPS:
        path = checkpoints.save(checkpoint_path(variant, gap, folder), result.model, cfg, result.metrics,
                                _small_history(result.history),
                                {"train": record["data"]["train"], "test": record["data"]["test"],
                                 "n_train": len(train_data), "n_test": len(test_data), "kind": "memory"})
        record["checkpoint"] = path.name
    (folder / "runs").mkdir(parents=True, exist_ok=True)
    out = folder / "runs" / f"{record['name']}.json"
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, out)
    return record


def _small_history(history: dict) -> dict:
    """The history without the per-epoch weight histograms (keeps a shipped checkpoint small)."""
    return {k: v for k, v in history.items() if k != "param_summaries"}


# What was run (every run one `run` of the same recipe; each record carries its own command)
REPRODUCE = ("python -m rnn_demo.memory grid --seeds 0 1 2 --variants rnn lstm lstm-chrono\n"
             "python -m rnn_demo.memory grid --seeds 0 --variants gru gru-chrono lstm-bias3\n"
             "python -m rnn_demo.memory grid --seeds 0 1 --variants lstm lstm-chrono --gaps 400\n"
             "python -m rnn_demo.memory collect")


def collect(folder: Path = FOLDER) -> dict:
    """Merge folder/runs/*.json into folder/results.json (sorted), with the budget stated."""
    runs = sorted((json.loads(p.read_text()) for p in (folder / "runs").glob("*.json")),
                  key=lambda r: (list(VARIANTS).index(r["variant"]) if r["variant"] in VARIANTS else 99,
                                 r["gap"], r["seed"]))
    results = {"task": "row-wise MNIST, then `gap` blank rows; the class read out after the last step",
               "budget": {**budget(), **_constant_answer()},
               "variants": {k: {"cell": v[0], "forget_init": v[1], "forget_bias": v[2], "label": v[3]}
                            for k, v in VARIANTS.items()},
               "reproduce": REPRODUCE,
               "runs": runs}
    tmp = folder / "results.json.tmp"
    tmp.write_text(json.dumps(results, indent=1))
    os.replace(tmp, folder / "results.json")
    return results


def _constant_answer() -> dict:
    """What a model scores that gives one answer for every digit: the commonest class's share of
    the test digits (a model that learned nothing lands there, a little above 10%)."""
    try:
        counts = np.bincount(load_budget_data()[1].labels.numpy(), minlength=10)
    except data.DataUnavailable:
        return {}
    return {"constant_answer": {"digit": int(counts.argmax()), "acc": float(counts.max() / counts.sum())}}


def budget(recipe: TrainConfig = RECIPE) -> dict:
    return {"n_train": N_TRAIN, "n_test": N_TEST, "steps": recipe.iterations, "batch_size": recipe.batch_size,
            "optimizer": recipe.optimizer, "lr": recipe.lr, "schedule": recipe.schedule, "clip": recipe.clip,
            "init": recipe.init, "hidden": 128, "threads": 1}


def load_results(path: Path = RESULTS) -> dict:
    return json.loads(Path(path).read_text())


def summary(results: dict) -> dict[str, dict]:
    """Per variant: gaps, and the mean, min and max test accuracy over seeds at each gap."""
    out: dict[str, dict] = {}
    for variant in VARIANTS:
        runs = [r for r in results["runs"] if r["variant"] == variant and r["test_acc"] is not None]
        gaps = sorted({r["gap"] for r in runs})
        if not gaps:
            continue
        accs = [[r["test_acc"] for r in runs if r["gap"] == g] for g in gaps]
        out[variant] = {"gaps": gaps, "mean": [float(np.mean(a)) for a in accs],
                        "min": [float(min(a)) for a in accs], "max": [float(max(a)) for a in accs],
                        "seeds": [len(a) for a in accs]}
    return out


# --- what the page shows: a model's state through the gap ------------------------------------

PROBE_RIDGE = 1.0  # ridge penalty of the linear probes (on ~500 digits x 129 features)
GRAD_DIGITS = 128  # digits behind the gradient-norm curve


@torch.no_grad()
def read_through_gap(model: SequenceClassifier, digits: data.Digits, gap: int, batch_size: int = 500) -> dict:
    """The read-out applied at every step while the model reads each digit and then the gap:
    p_true (N, T) is softmax(o_t)[true class], answer (N,) the final prediction, states (N, T, H)."""
    p_true, answers, states = [], [], []
    for i in range(0, len(digits), batch_size):
        x = data.with_gap(digits.sequences(slice(i, i + batch_size)), gap)  # (B, T, F)
        tr = model.trace(x)
        y = digits.labels[i:i + batch_size]
        p_true.append(tr.step_probs.gather(-1, y[:, None, None].expand(-1, x.shape[1], 1))[..., 0])
        answers.append(tr.logits.argmax(-1))
        states.append(tr.states)
    return {"p_true": torch.cat(p_true).numpy(), "answer": torch.cat(answers).numpy(),
            "states": torch.cat(states)}


def probe_accuracy(states: torch.Tensor, labels: torch.Tensor, n_fit: int, ridge: float = PROBE_RIDGE) -> np.ndarray:
    """How much of the digit is still linearly decodable from s_t at every step: a ridge
    regression onto the one-hot class, fitted per step on the first n_fit digits' states and
    scored (argmax) on the others. states (N, T, H) -> accuracy (T,) on the held-out digits."""
    X = torch.cat([states, torch.ones(*states.shape[:2], 1)], dim=-1).transpose(0, 1).contiguous()  # (T, N, H+1)
    Y = torch.nn.functional.one_hot(labels, 10).float()  # (N, C)
    fit, held = X[:, :n_fit], X[:, n_fit:]
    eye = torch.eye(X.shape[-1])
    W = torch.linalg.solve(fit.transpose(1, 2) @ fit + ridge * eye, fit.transpose(1, 2) @ Y[:n_fit])  # (T, H+1, C)
    right = (held @ W).argmax(-1) == labels[n_fit:]  # (T, N - n_fit)
    return right.float().mean(-1).numpy()


KEEP_DIGITS = 100  # digits behind the gates' mean in the gap


@torch.no_grad()
def keep_in_gap(model: SequenceClassifier, digits: data.Digits, gap: int, n: int = KEEP_DIGITS) -> dict | None:
    """Per unit, the fraction of its memory kept per step during the gap, averaged over the gap's
    steps and n digits: the LSTM's forget gate f_t, the GRU's update gate z_t (its share of
    h_{t-1}); "keep": sorted from most to least kept, (H,); "c_norm": the LSTM's median ||c_t||
    at every step, (T,) (None for the GRU). None for the tanh RNN (no gate) or no gap."""
    gate = {"lstm": "f", "gru": "z"}.get(model.config.cell)
    if gate is None or gap <= 0:
        return None
    x = data.with_gap(digits.sequences(slice(0, n)), gap)
    internals = model.trace(x, internals=True).internals
    g = internals[gate][:, data.ROWS:]  # (n, gap, H)
    c_norm = internals["c"].norm(dim=-1).median(0).values.numpy() if "c" in internals else None
    return {"keep": np.sort(g.mean((0, 1)).numpy())[::-1].copy(), "c_norm": c_norm}


def gap_view(model: SequenceClassifier, digits: data.Digits, gap: int, n_grad: int = GRAD_DIGITS) -> dict:
    """Everything the page draws for one model at one gap, over the digits (the bundled sample):
    t (T,); p_true (N, T) float32 and answer (N,); accuracy (the final answers); probe (T,), the
    linear probe's held-out accuracy (fitted on the first half); keep: keep_in_gap's dict or None;
    grad: gradients.NormCurve by state
    ("h", and "c" for an LSTM) over the first n_grad digits, ||dL/ds_t|| of the summed loss."""
    from rnn_demo import gradients

    model.eval()
    read = read_through_gap(model, digits, gap)
    x = data.with_gap(digits.sequences(slice(0, n_grad)), gap)
    T = data.ROWS + gap
    return {"t": np.arange(1, T + 1), "gap": gap, "p_true": read["p_true"].astype(np.float32),
            "answer": read["answer"], "labels": digits.labels.numpy(),
            "accuracy": float((read["answer"] == digits.labels.numpy()).mean()),
            "probe": probe_accuracy(read["states"], digits.labels, len(digits) // 2),
            "keep": keep_in_gap(model, digits, gap),
            "grad": gradients.norms_through_time(model, x, digits.labels[:n_grad])}


def shipped_checkpoints(folder: Path = FOLDER) -> dict[int, dict[str, Path]]:
    """gap -> variant -> shipped checkpoint file, in VARIANTS order."""
    out: dict[int, dict[str, Path]] = {}
    for gap in CHECKPOINT_GAPS:
        found = {v: checkpoint_path(v, gap, folder) for v in VARIANTS if checkpoint_path(v, gap, folder).exists()}
        if found:
            out[gap] = found
    return out


def learning_curves(results: dict, gap: int) -> dict[str, dict]:
    """Per variant at one gap: the evaluation steps and the test accuracy there, mean, min and
    max over the seeds (does a curve still rise at the end of the budget?)."""
    out = {}
    for variant in VARIANTS:
        runs = [r for r in results["runs"] if r["variant"] == variant and r["gap"] == gap and r["evals"]]
        if not runs:
            continue
        steps = [e["step"] for e in runs[0]["evals"]]
        accs = np.array([[e["test_acc"] for e in r["evals"]] for r in runs if [e["step"] for e in r["evals"]] == steps])
        out[variant] = {"steps": steps, "mean": accs.mean(0).tolist(), "min": accs.min(0).tolist(),
                        "max": accs.max(0).tolist(), "seeds": len(accs)}
    return out


def verdict(s: dict, floor: float = 0.117) -> str:
    """One variant's curve in words (s: one entry of `summary`): how well it reads with no gap,
    the longest gap it still answers more than half right, the first where it does no better than
    a constant answer (within 3 points of `floor`)."""
    gaps, mean = s["gaps"], s["mean"]
    parts = [_("{acc:.0%} at gap {gap}", acc=mean[0], gap=gaps[0])]  # each a clause of its own, joined by ";"
    lost = next((g for g, m in zip(gaps, mean) if m <= floor + 0.03), None)
    held = [g for g, m in zip(gaps, mean) if m >= 0.5 and (lost is None or g < lost)]
    if held and held[-1] == gaps[-1]:
        parts.append(_("still {acc:.0%} at gap {gap}, the longest run", acc=mean[-1], gap=gaps[-1]))
    elif held and held[-1] != gaps[0]:
        parts.append(_("above 50% up to gap {gap} ({acc:.0%})", gap=held[-1], acc=mean[gaps.index(held[-1])]))
    if lost is not None:
        parts.append(_("no better than one answer for every digit from gap {gap} on ({acc:.0%})", gap=lost,
                       acc=mean[gaps.index(lost)]))
    spread = [(hi - lo, g, lo, hi) for g, lo, hi in zip(gaps, s["min"], s["max"])]
    widest = max(spread) if spread else None
    if widest and widest[0] > 0.2:  # the mean hides a seed that failed
        parts.append(_("but its seeds disagree: from {lo:.0%} to {hi:.0%} at gap {gap}", lo=widest[2], hi=widest[3],
                       gap=widest[1]))
    return "; ".join(parts)


def table(results: dict) -> str:
    """The results as a Markdown table: mean test accuracy (lowest-highest seed, seeds) per gap."""
    s = summary(results)
    gaps = sorted({g for v in s.values() for g in v["gaps"]})
    lines = ["| model | " + " | ".join(f"gap {g}" for g in gaps) + " |", "|---" * (len(gaps) + 1) + "|"]
    for variant, v in s.items():
        cells = []
        for g in gaps:
            if g not in v["gaps"]:
                cells.append("")
                continue
            i = v["gaps"].index(g)
            spread = f" ({v['min'][i]:.1%}–{v['max'][i]:.1%}, {v['seeds'][i]} seeds)" if v["seeds"][i] > 1 else ""
            cells.append(f"{v['mean'][i]:.1%}{spread}")
        lines.append(f"| {VARIANTS[variant][3]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def grid(seeds, variants=tuple(VARIANTS), gaps=GAPS, folder: Path = FOLDER, root=None) -> None:
    """Every missing (seed, variant, gap), seed by seed. Several processes can share the work:
    each claims a run with an exclusive lock file before training it."""
    for seed in seeds:
        for variant in variants:
            for gap in gaps:
                name = run_name(variant, gap, seed)
                (folder / "runs").mkdir(parents=True, exist_ok=True)
                if (folder / "runs" / f"{name}.json").exists():
                    continue
                try:
                    fd = os.open(folder / "runs" / f".{name}.claim", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:
                    continue
                os.close(fd)
                r = run_one(variant, gap, seed, folder, root)
                print(f"done {name}: {r['test_acc']:.4f} in {r['wall_seconds']:.0f}s", flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m rnn_demo.memory", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    r = sub.add_parser("run", help="one variant at one gap and seed")
    r.add_argument("--variant", choices=list(VARIANTS), required=True)
    r.add_argument("--gap", type=int, required=True)
    r.add_argument("--seed", type=int, default=0)
    g = sub.add_parser("grid", help="every missing run of the grid")
    g.add_argument("--seeds", type=int, nargs="+", default=[0])
    g.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    g.add_argument("--gaps", type=int, nargs="+", default=list(GAPS))
    sub.add_parser("collect", help="merge runs/*.json into results.json")
    sub.add_parser("table", help="print results.json as a Markdown table")
    for q in (r, g):
        q.add_argument("--data", default=None, help="MNIST root (default: $RNN_DEMO_DATA)")
    args = p.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    try:
        if args.what == "run":
            rec = run_one(args.variant, args.gap, args.seed, root=args.data)
            print(f"{rec['name']}: test accuracy {rec['test_acc']:.4f}")
        elif args.what == "grid":
            grid(args.seeds, args.variants, args.gaps, root=args.data)
        elif args.what == "table":
            print(table(load_results()))
        else:
            res = collect()
            print(f"{len(res['runs'])} runs -> {RESULTS}")
    except (ValueError, data.DataUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
