"""TensorBoard logging of a training run, from the run's own history, through torch's SummaryWriter.

`train.train` calls `update(history, model)` after every step; each call writes what the
history gained since the last one, so the event files hold the very numbers the checkpoint
keeps: per step the loss, the batch accuracy, the learning rate and the gradient norm before
clipping; per evaluation the test (and training) accuracy; and at the start and after every
epoch, as the seed's `variable_summaries` did, each parameter's mean, stddev, min and max
scalars and its histogram (the history's own bins).

Logging is a side channel: if the folder cannot be written (no permission, a full disk), the
run warns once, stops logging and trains on. Nothing here imports streamlit.

    tensorboard --logdir runs
"""
from __future__ import annotations

import warnings
from pathlib import Path

from rnn_demo.i18n import _

EVENTS_GLOB = "events.out.tfevents.*"
# Tags, grouped as TensorBoard groups them (by the part before the first "/").
SCALARS = {"loss": "train/loss", "batch_acc": "train/batch_accuracy", "lr": "train/learning_rate",
           "grad_norm": "train/gradient_norm"}  # history key -> tag
EVALS = {"test_acc": "eval/test_accuracy", "train_acc": "eval/train_accuracy"}
STATS = {"mean": "mean", "std": "stddev", "min": "min", "max": "max"}  # the seed's names: mean/W_x, ...


def param_tag(name: str) -> str:
    """torch's parameter name -> the seed's name: rnn.weight_ih_l0 -> W_x, rnn.weight_hh_l0 -> W_h,
    readout.weight -> W_l, readout.bias -> b_l. torch keeps the seed's one bias b as two,
    b = b_x + b_h (bias_ih and bias_hh); a second layer or the backward direction gets a suffix."""
    if name.startswith("readout."):
        return "W_l" if name.endswith("weight") else "b_l"
    kind, _, rest = name.removeprefix("rnn.").partition("_l")
    base = {"weight_ih": "W_x", "weight_hh": "W_h", "bias_ih": "b_x", "bias_hh": "b_h"}.get(kind)
    layer = rest.removesuffix("_reverse")
    if base is None or not layer.isdigit():
        return name.replace(".", "_")
    return base + (f"_layer{int(layer) + 1}" if int(layer) else "") + ("_backward" if rest.endswith("_reverse") else "")


def event_files(folder) -> list[Path]:
    """The TensorBoard event files directly in `folder`, oldest name first."""
    folder = Path(folder)
    return sorted(folder.glob(EVENTS_GLOB)) if folder.is_dir() else []


class TensorBoardLog:
    """Writes a run's history to `folder` as it grows. The folder holds one run: event files an
    earlier run left there are removed first (TensorBoard would otherwise draw both as one)."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.error: str | None = None
        self._writer = None
        self._done = {"steps": 0, "evals": 0, "summaries": 0}
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.folder.mkdir(parents=True, exist_ok=True)
            for old in event_files(self.folder):
                old.unlink()
            self._writer = SummaryWriter(log_dir=str(self.folder), flush_secs=10)
        except Exception as exc:  # a side channel: never lose the training over it
            self._fail(exc)

    @property
    def active(self) -> bool:
        return self._writer is not None

    def _fail(self, exc: BaseException) -> None:
        # The reason without the full path: the Train page shows this message to a learner.
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else f"{type(exc).__name__}: {exc}"
        self.error = _("TensorBoard logging to '{folder}' stopped ({reason}); training went on.",
                       folder=self.folder.name, reason=reason)
        warnings.warn(self.error, RuntimeWarning, stacklevel=3)
        writer, self._writer = self._writer, None
        if writer is not None:
            try:
                writer.close()
            except Exception:  # the same failure again; already reported
                pass

    def update(self, history: dict, model=None) -> None:
        """Write what `history` gained since the last call. `model` (the weights the newest
        summaries describe) adds the count, sum and sum of squares TensorBoard's histograms keep."""
        if self._writer is None:
            return
        try:
            self._write(history, model)
        except Exception as exc:
            self._fail(exc)

    def _write(self, history: dict, model) -> None:
        w = self._writer
        n = len(history["batch_acc"])  # steps completed (a diverged step is in loss, not here)
        for i in range(self._done["steps"], n):
            for key, tag in SCALARS.items():
                w.add_scalar(tag, history[key][i], i + 1)
        self._done["steps"] = n
        evals = history["evals"]
        for row in evals[self._done["evals"]:]:
            for key, tag in EVALS.items():
                if row.get(key) is not None:
                    w.add_scalar(tag, row[key], row["step"])
        self._done["evals"] = len(evals)
        summaries = history["param_summaries"]
        new = summaries[self._done["summaries"]:]
        params = dict(model.named_parameters()) if model is not None else {}
        for entry in new:
            for name, s in entry["params"].items():
                tag = param_tag(name)
                for key, stat in STATS.items():
                    w.add_scalar(f"{stat}/{tag}", s[key], entry["step"])
                w.add_histogram_raw(tag, global_step=entry["step"], **_raw_histogram(s, params.get(name)
                                                                                     if entry is new[-1] else None))
        self._done["summaries"] = len(summaries)
        if new:
            w.flush()  # an epoch's worth is on disk, e.g. for the Train page's download

    def close(self) -> None:
        if self._writer is None:
            return
        try:
            self._writer.close()
        except Exception as exc:
            self._fail(exc)
        self._writer = None


def _raw_histogram(summary: dict, param=None) -> dict:
    """A history summary (mean, std, min, max, edges, hist) as TensorBoard's raw histogram: the
    same bins and counts. Sum and sum of squares come from the weights when given, else from the
    mean and (sample) standard deviation."""
    counts = [float(c) for c in summary["hist"]]
    num = sum(counts)
    if param is not None:
        v = param.detach().double().flatten()
        total, squares = float(v.sum()), float((v * v).sum())
    else:
        total = summary["mean"] * num
        squares = summary["std"] ** 2 * max(num - 1, 0) + summary["mean"] ** 2 * num
    return {"min": summary["min"], "max": summary["max"], "num": num, "sum": total, "sum_squares": squares,
            "bucket_limits": list(summary["edges"][1:]), "bucket_counts": counts}
