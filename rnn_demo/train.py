"""Training: a plain loop (zero_grad -> forward -> loss -> backward -> clip -> step).

Progress leaves through `on_step(step, metrics)` and the loop polls `should_stop()`, so the
same function serves the command line, the Streamlit page and the tests; nothing here
imports streamlit. The history it records (loss, accuracy, the gradient norm at every step,
per-epoch weight summaries as the seed's `variable_summaries`) travels in the checkpoint.

    python -m rnn_demo.train --cell lstm --epochs 10 --out my-lstm.pt
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from rnn_demo import augment, checkpoints, data, precision, tblog
from rnn_demo.i18n import _, ngettext
from rnn_demo.model import ModelConfig, SequenceClassifier, build, count_params, init_forget_gate, initialise
# The recipe lives in recipe.py; these names stay importable from here (README, CLI, notebooks).
from rnn_demo.recipe import (FAST, INITS, MAX_EVALS, MAX_GAP, MAX_STEPS, MAX_SUMMARIES, OPTIMIZERS,  # noqa: F401
                             PRESETS, SCHEDULES, TrainConfig, continue_history, new_history, steps_taken,
                             HIST_BINS, check_sizes, record_sizes)

EXPLODED = 1e4  # a loss above this, or 100 times the first step's, counts as divergence


@dataclass
class TrainResult:
    model: SequenceClassifier
    history: dict
    status: str = "done"         # done | stopped (by the user) | diverged (NaN / inf)
    message: str = ""

    @property
    def metrics(self) -> dict:
        last = self.history["evals"][-1] if self.history["evals"] else {}
        return {"test_acc": last.get("test_acc"), "train_acc": last.get("train_acc"),
                "steps": len(self.history["loss"]), "seconds": self.history["seconds"],
                "params": count_params(self.model), "status": self.status}


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError(_("--device cuda asked for, but torch sees no GPU"))
    return torch.device(name)


def make_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "rmsprop":  # TensorFlow's RMSProp decay=0.9 is torch's alpha
        return torch.optim.RMSprop(params, lr=cfg.lr, alpha=0.9)
    if cfg.optimizer == "adam":  # fused: one kernel for every parameter's update
        return torch.optim.Adam(params, lr=cfg.lr, fused=True)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9)


@torch.no_grad()
def accuracy(model: nn.Module, digits: data.Digits, batch_size: int = 2000,
             device: torch.device | None = None, gap: int = 0,
             gap_noise: float = 0.0) -> tuple[float, torch.Tensor]:
    """Fraction right and the predictions, in batches; with a gap, each digit is followed by
    `gap` blank (or noise, seeded: the same every time) rows."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    noise_gen = torch.Generator().manual_seed(0)
    preds = torch.cat([model(data.with_gap(digits.sequences(slice(i, i + batch_size)), gap, gap_noise, noise_gen)
                             .to(device)).argmax(-1).cpu()
                       for i in range(0, len(digits), batch_size)])
    model.train(was_training)
    return (preds == digits.labels).float().mean().item(), preds


def param_summaries(model: nn.Module) -> dict[str, dict]:
    """Mean, std, min, max and a histogram of every parameter (TensorBoard's summaries)."""
    out = {}
    for name, p in model.named_parameters():
        v = p.detach().float().cpu().flatten()
        lo, hi = v.min().item(), v.max().item()
        if hi <= lo:
            hi = lo + 1e-6
        out[name] = {"mean": v.mean().item(), "std": v.std().item() if v.numel() > 1 else 0.0,
                     "min": lo, "max": hi, "edges": torch.linspace(lo, hi, HIST_BINS + 1).tolist(),
                     "hist": torch.histc(v, HIST_BINS, lo, hi).int().tolist()}
    return out


def train(model_cfg: ModelConfig, cfg: TrainConfig, train_data: data.Digits,
          test_data: data.Digits | None = None,
          on_step: Callable[[int, dict], None] | None = None,
          should_stop: Callable[[], bool] | None = None,
          start: checkpoints.Checkpoint | None = None) -> TrainResult:
    """Train a fresh model, or, given `start`, go on training a copy of its weights (fine-tuning
    with another recipe); the result's history then is start's followed by this run's
    (`continue_history`). Never raises on divergence: a NaN or inf loss or gradient ends the
    run with status 'diverged' and the weights from before that step."""
    cfg.check_length(len(train_data), model_cfg)
    if start is not None:
        check_continuation(start, model_cfg, cfg, len(train_data))
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    aug_gen = torch.Generator(device).manual_seed(cfg.seed)  # its own stream: batches stay as without it
    model = build(model_cfg)
    if start is None:
        initialise(model, cfg.init, gen)
        init_forget_gate(model, cfg.forget_init, cfg.forget_bias, data.ROWS + cfg.gap, gen)
    else:
        model.load_state_dict(start.model.state_dict())
    model.to(device).train()
    bf16 = precision.resolve(cfg.precision, model, cfg.batch_size, device) == "bf16"
    opt = make_optimizer(model.parameters(), cfg)
    total = cfg.total_steps(len(train_data))
    sched = None
    if cfg.schedule == "onecycle" and total >= 4:  # each phase needs two steps (OneCycleLR divides by them)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total,
                                                    pct_start=min(max(cfg.warmup, 2 / total), 1 - 2 / total))
    x_all = data.to_sequences(train_data.images).to(device)  # (N, T, F) kept in memory
    y_all = train_data.labels.to(device)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    steps_per_epoch = math.ceil(len(train_data) / cfg.batch_size)
    eval_every = cfg.eval_every or steps_per_epoch
    history = new_history({"epoch": 0, "step": 0, "params": param_summaries(model)}, cfg.clip, steps_per_epoch,
                          total, "bf16" if bf16 else "fp32")
    status, message = "done", ""
    tb = tblog.TensorBoardLog(cfg.tensorboard) if cfg.tensorboard else None
    if tb is not None:
        tb.update(history, model)
    train_seconds, step, epoch = 0.0, 0, 0
    right = seen = 0

    def evaluate(final: bool = False) -> None:
        nonlocal right, seen
        row = {"step": step, "epoch": step / steps_per_epoch, "seconds": train_seconds,
               "train_acc": right / seen if seen else None,
               "test_acc": accuracy(model, test_data, device=device, gap=cfg.gap, gap_noise=cfg.gap_noise)[0]
               if test_data is not None else None}
        history["evals"].append(row)
        right = seen = 0

    while step < total and status == "done":
        for idx in data.batches(len(train_data), cfg.batch_size, gen):
            if should_stop is not None and should_stop():
                status, message = "stopped", ngettext("Stopped by the user after {n} step.",
                                                      "Stopped by the user after {n} steps.", step)
                break
            t0 = time.perf_counter()
            x, y = x_all[idx], y_all[idx]
            target = y
            if cfg.augment or cfg.non_digits or cfg.rotate or cfg.ink:  # distorted digits, then any non-digits
                x, target = augment.batch(x, y, aug_gen, cfg.augment, cfg.non_digits, rotate=cfg.rotate or None,
                                          ink_share=cfg.ink)
            x = data.with_gap(x, cfg.gap, cfg.gap_noise, gen)  # the memory task's blank rows (none: x itself)
            opt.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                logits = model(x)
                loss = loss_fn(logits.float(), target)
            logits = logits[:len(y)]  # the digits; non-digits come after them
            loss.backward()
            grad_norm = nn.utils.clip_grad_norm_(model.parameters(), cfg.clip if cfg.clip > 0 else float("inf"))
            loss_v, norm_v = loss.item(), grad_norm.item()
            first_loss = history["loss"][0] if history["loss"] else loss_v
            if not (math.isfinite(loss_v) and math.isfinite(norm_v)) or loss_v > min(EXPLODED, 100 * first_loss):
                history["grad_norm"].append(norm_v)  # keep the bad step on record, then stop
                history["loss"].append(loss_v)
                status = "diverged"
                message = _("Training diverged at step {step} (loss {loss:.4g}, gradient norm {norm:.4g}): kept the "
                            "weights from the step before. Try a lower learning rate or clipping.",
                            step=step + 1, loss=loss_v, norm=norm_v)
                break
            opt.step()
            if sched is not None:
                sched.step()
            train_seconds += time.perf_counter() - t0
            step += 1
            batch_right = (logits.argmax(-1) == y).sum().item()
            right, seen = right + batch_right, seen + len(y)
            history["loss"].append(loss_v)
            history["grad_norm"].append(norm_v)
            history["batch_acc"].append(batch_right / len(y))
            history["lr"].append(opt.param_groups[0]["lr"])
            if step % eval_every == 0 or step == total:
                evaluate()
            if step % steps_per_epoch == 0 or step == total:
                epoch += 1
                history["param_summaries"].append({"epoch": epoch, "step": step, "params": param_summaries(model)})
            if on_step is not None:
                on_step(step, {"loss": loss_v, "grad_norm": norm_v, "total": total, "seconds": train_seconds,
                               "batch_acc": batch_right / len(y), "evals": history["evals"]})
            if tb is not None:
                tb.update(history, model)
            if step >= total:
                break
    if status != "done" and step and (not history["evals"] or history["evals"][-1]["step"] != step):
        evaluate()
    history["seconds"] = train_seconds
    history["status"] = status
    if tb is not None:
        tb.update(history, model)
        tb.close()
        if tb.error:
            message = f"{message} {tb.error}".strip()
    model.eval()
    if start is not None:
        history = continue_history(start.history, history)
    return TrainResult(model.cpu(), history, status, message)


def check_continuation(start: checkpoints.Checkpoint, model_cfg: ModelConfig, cfg: TrainConfig,
                       n_train: int) -> None:
    """Refuse, before any step, to go on training a model of another shape, or a run whose joined
    history would not fit a checkpoint."""
    if start.model_config != model_cfg:
        raise ValueError(_("{name} is a {model}, not a {asked}: continue it with its own architecture",
                           name=start.name, model=start.model_config.label, asked=model_cfg.label))
    h = start.history
    before = {"steps": steps_taken(h), "evals": len(h.get("evals", [])),
              "summaries": len(h.get("param_summaries", []))}
    before["numbers"] = 4 * before["steps"] + 5 * before["evals"] + sum(
        len(p.get("edges", ())) + len(p.get("hist", ())) + 4 for s in h.get("param_summaries", [])
        for p in s.get("params", {}).values())
    after = record_sizes(cfg, n_train, model_cfg)
    check_sizes({k: before[k] + after[k] for k in after}, name=start.name)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m rnn_demo.train", description="Train a row-by-row MNIST classifier.")
    p.add_argument("--preset", choices=sorted(PRESETS), default="fast",
                   help="starting recipe; 'seed' is the blog's RMSprop, batch 128, 10,000 iterations")
    p.add_argument("--cell", choices=("rnn", "lstm", "gru"), default=None, help="(default: rnn)")
    p.add_argument("--hidden", type=int, default=None, help="(default: 128)")
    p.add_argument("--layers", type=int, default=None, help="(default: 1)")
    p.add_argument("--bidirectional", action="store_true", default=None)
    p.add_argument("--start-from", metavar="CHECKPOINT", default=None,
                   help="go on training this checkpoint's weights with the recipe given here (fine-tuning); "
                        "the architecture is the checkpoint's, and the new file keeps its whole history")
    for name in ("optimizer", "lr", "batch_size", "epochs", "iterations", "clip", "init", "schedule", "warmup",
                 "label_smoothing", "seed", "eval_every", "device", "precision", "augment", "non_digits", "rotate",
                 "ink", "gap", "gap_noise", "forget_init", "forget_bias"):
        default = getattr(TrainConfig(), name)
        p.add_argument("--" + name.replace("_", "-"), type=type(default), default=None,
                       help=f"(preset's value; default recipe: {default})")
    p.add_argument("--data", default=None, help="MNIST root (default: $RNN_DEMO_DATA, else ./data)")
    p.add_argument("--sample", action="store_true", help="train on the bundled sample (tiny, offline)")
    p.add_argument("--out", required=True, help="checkpoint to write (atomically)")
    p.add_argument("--tensorboard", metavar="DIR", default=None,
                   help="also write TensorBoard event files to DIR (then: tensorboard --logdir DIR)")
    return p


def check_out(out: str) -> Path:
    """The --out file can be written: a new file (never one that exists: the checkpoint given to
    --start-from, a shipped model), in a folder that exists and is writable."""
    path = Path(out)
    if not out or path.is_dir() or out.endswith(os.sep):
        raise ValueError(f"--out {out!r} is a folder; give a file name such as {os.path.join(out or '.', 'model.pt')}")
    if os.path.lexists(path):
        raise ValueError(f"--out {out!r} exists, and a trained model never replaces a file; give a new file name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"--out: the folder {str(folder)!r} does not exist")
    try:  # the only sure test: write a file there (root passes every permission check)
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ValueError(f"--out: cannot write in {str(folder)!r} ({exc.strerror or exc})") from None
    return path


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:  # everything checked before a single step is trained, so no run is lost at the end
        overrides = {k: v for k, v in vars(args).items() if k in TrainConfig.__dataclass_fields__ and v is not None}
        cfg = replace(PRESETS[args.preset], **overrides)
        start = checkpoints.load(args.start_from) if args.start_from is not None else None
        arch = {"cell": args.cell, "hidden_size": args.hidden, "num_layers": args.layers,
                "bidirectional": args.bidirectional}
        model_cfg = replace(start.model_config if start else ModelConfig(cell="rnn"),
                            **{k: v for k, v in arch.items() if v is not None})
        pick_device(cfg.device)
        check_out(args.out)
        if args.sample:
            train_data = test_data = data.load_sample()
        else:
            train_data, test_data = data.load_mnist(True, args.data), data.load_mnist(False, args.data)
        cfg.check_length(len(train_data), model_cfg)
        if start is not None:
            check_continuation(start, model_cfg, cfg, len(train_data))
    except (ValueError, OverflowError, data.DataUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    going_on = f" from {args.start_from}" if start is not None else ""
    print(f"training {model_cfg.label}{going_on} on {train_data.source}: {cfg.total_steps(len(train_data))} steps",
          flush=True)

    def progress(step: int, m: dict) -> None:
        if step % 50 == 0 or step == m["total"]:
            ev = m["evals"][-1] if m["evals"] else {}
            test = f" test {ev['test_acc']:.4f}" if ev.get("test_acc") is not None else ""
            print(f"\rstep {step}/{m['total']} loss {m['loss']:.4f} |g| {m['grad_norm']:.3f}"
                  f"{test} {m['seconds']:.1f}s", end="", flush=True)

    result = train(model_cfg, cfg, train_data, test_data, on_step=progress, start=start)
    print()
    if result.message:
        print(result.message, file=sys.stderr)
    recipe = cfg.to_dict()
    if start is not None:  # the file it went on from, by name (not the folder it lies in), and its steps
        recipe.update(start_from=Path(args.start_from).name, start_from_steps=steps_taken(start.history))
    try:
        checkpoints.save(args.out, result.model, recipe, result.metrics, result.history,
                         dataset={"train": train_data.source, "test": test_data.source,
                                  "n_train": len(train_data), "n_test": len(test_data)}, overwrite=False)
    except FileExistsError:  # made by someone else while this one trained
        print(f"error: {args.out} appeared while training, and a trained model never replaces a file; "
              "nothing was written", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: the trained model could not be written to {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"saved {args.out}: test accuracy {result.metrics['test_acc']:.4f} in {result.metrics['seconds']:.1f}s")
    return 0 if result.status == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
