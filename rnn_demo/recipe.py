"""The training recipe: TrainConfig (validated, frozen), the presets, the limits a run must keep
to, and the one definition of the training history a run records and a checkpoint carries.
Imported by train.py (the loop), checkpoints.py (which checks a file's recipe and history
against it), jobs.py and the pages; it imports neither of them. No torch training here.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TypedDict

from rnn_demo import precision
from rnn_demo.i18n import N_, _
from rnn_demo.model import FORGET_INITS

# --- limits ------------------------------------------------------------------------------------
MAX_STEPS = 200_000            # entries in each per-step history list (a longer run's would not fit a checkpoint)
MAX_EVALS = 20_000             # test evaluations recorded in the history
MAX_NUMBERS = 1_500_000        # numbers in a whole history (a pickle can repeat one list many times)
HIST_BINS = 30                 # bins of each weight histogram in a summary
MAX_SUMMARIES = 1_001          # per-epoch weight summaries (at most 1,000 epochs)
OPTIMIZERS = ("rmsprop", "adam", "sgd")
SCHEDULES = ("constant", "onecycle")
INITS = ("default", "zeros", "orthogonal")
MAX_GAP = 1000  # rows after the digit in the memory task


@dataclass(frozen=True)
class TrainConfig:
    optimizer: str = "adam"      # rmsprop (the seed) | adam | sgd (with momentum 0.9)
    lr: float = 3e-3             # peak learning rate
    batch_size: int = 256
    epochs: float = 5.0          # passes over the training digits (when iterations == 0)
    iterations: int = 0          # optimisation steps; overrides epochs when > 0
    clip: float = 1.0            # max global gradient norm (0 = no clipping)
    init: str = "orthogonal"     # default | zeros (the seed) | orthogonal
    schedule: str = "onecycle"   # constant | onecycle (Smith & Topin 2018)
    warmup: float = 0.25         # onecycle: fraction of the steps spent raising the learning rate
    label_smoothing: float = 0.0 # target 1 - e for the true digit, e/10 spread over all ten (Szegedy et al. 2016)
    seed: int = 0
    eval_every: int = 0          # steps between test evaluations (0 = once per epoch)
    device: str = "auto"         # auto (cuda when torch sees one) | cpu | cuda
    precision: str = "fp32"      # fp32 | bf16 (autocast: bfloat16 products, fp32 weights) | auto (precision.py)
    tensorboard: str = ""        # folder for TensorBoard event files (rnn_demo/tblog.py); "" = none
    augment: float = 0.0         # random turns, slants, sizes, shifts, pens per batch: 0 = off, 1 = augment.py's ranges
    non_digits: float = 0.0      # extra non-digit images per batch, as a share of it, trained towards a uniform answer
    rotate: float = 0.0          # > 0: random turns up to this many degrees either way, whatever augment's strength
    ink: float = 0.0             # share of the digits drawn in fat, soft or low-resolution ink (augment.ink)
    gap: int = 0                 # memory task (memory.py): blank rows after the digit, read out after the last
    gap_noise: float = 0.0       # gap rows' pixels uniform in [0, gap_noise] instead of blank
    forget_init: str = "standard"  # LSTM forget / GRU update-gate bias: standard | constant | chrono (model.py)
    forget_bias: float = 1.0     # forget_init constant: that bias

    def __post_init__(self):
        # (ok, message, its values): only a failing check's message is translated, in the caller's language
        checks = [(self.optimizer in OPTIMIZERS, N_("optimizer must be one of {options}"),
                   {"options": ", ".join(OPTIMIZERS)}),
                  (self.schedule in SCHEDULES, N_("schedule must be one of {options}"),
                   {"options": ", ".join(SCHEDULES)}),
                  (self.init in INITS, N_("initialisation must be one of {options}"), {"options": ", ".join(INITS)}),
                  (_num(self.lr) and 0 < self.lr <= 1000,
                   N_("learning rate must be a number above 0 and at most 1,000"), {}),
                  (_int(self.batch_size) and 1 <= self.batch_size <= 8192,
                   N_("batch size must be between 1 and 8192"), {}),
                  (_num(self.epochs) and 0 <= self.epochs <= 1000, N_("epochs must be a number from 0 to 1,000"), {}),
                  (_int(self.iterations) and 0 <= self.iterations <= MAX_STEPS,
                   N_("iterations must be a whole number from 0 to {limit:,}"), {"limit": MAX_STEPS}),
                  (self.iterations > 0 or self.epochs > 0, N_("train for at least one step"), {}),
                  (_num(self.clip) and 0 <= self.clip <= 1e6, N_("clipping threshold must be a number, 0 or more"), {}),
                  (_num(self.warmup) and 0 < self.warmup < 1,
                   N_("warm-up must be a fraction of the steps, between 0 and 1"), {}),
                  (_num(self.label_smoothing) and 0 <= self.label_smoothing < 1,
                   N_("label smoothing must be at least 0 and below 1"), {}),
                  (_int(self.seed) and 0 <= self.seed < 2**63,
                   N_("seed must be a whole number from 0 to 2^63 - 1"), {}),
                  (_int(self.eval_every) and 0 <= self.eval_every <= MAX_STEPS,
                   N_("eval_every must be a whole number, 0 or more"), {}),
                  (self.device in ("auto", "cpu", "cuda"), N_("device must be auto, cpu or cuda"), {}),
                  (self.precision in precision.CHOICES, N_("precision must be auto, fp32 or bf16"), {}),
                  (_num(self.augment) and 0 <= self.augment <= 2,
                   N_("augmentation strength must be between 0 and 2"), {}),
                  (_num(self.non_digits) and 0 <= self.non_digits <= 0.5,
                   N_("the share of non-digits must be between 0 and 0.5"), {}),
                  (_num(self.rotate) and 0 <= self.rotate <= 90, N_("rotation must be between 0 and 90 degrees"), {}),
                  (_num(self.ink) and 0 <= self.ink <= 1,
                   N_("the share of digits in fat, soft or low-resolution ink must be between 0 and 1"), {}),
                  (_int(self.gap) and 0 <= self.gap <= MAX_GAP, N_("gap must be a whole number from 0 to {limit}"),
                   {"limit": MAX_GAP}),
                  (_num(self.gap_noise) and 0 <= self.gap_noise <= 1, N_("gap noise must be between 0 and 1"), {}),
                  (self.forget_init in FORGET_INITS, N_("forget_init must be one of {options}"),
                   {"options": ", ".join(FORGET_INITS)}),
                  (_num(self.forget_bias) and -20 <= self.forget_bias <= 20,
                   N_("forget bias must be between -20 and 20"), {})]
        for ok, message, values in checks:
            if not ok:
                raise ValueError(_(message, **values))

    def check_length(self, n_train: int, model_cfg=None) -> None:
        """Refuse a run whose history would not load from its own checkpoint: its steps, test
        evaluations, per-epoch weight summaries and (given the model) numbers, counted by
        `record_sizes` against checkpoints' limits."""
        check_sizes(record_sizes(self, n_train, model_cfg))

    def total_steps(self, n_train: int) -> int:
        if self.iterations > 0:
            return int(self.iterations)
        return max(1, math.ceil(self.epochs * math.ceil(n_train / self.batch_size)))

    def to_dict(self) -> dict:
        """The recipe, as a checkpoint keeps it: without the log folder, a path on the machine
        that trained it (checkpoints are downloaded and shared)."""
        return {k: v for k, v in asdict(self).items() if k != "tensorboard"}


def record_sizes(cfg: TrainConfig, n_train: int, model_cfg=None) -> dict[str, int]:
    """The most a run of this recipe records, in checkpoints' own units (checkpoints._history):
    entries per step list, test evaluations, weight summaries and, given the model, numbers in
    all. As `train` records them: an evaluation every eval_every steps (else each epoch) and at
    the last step; a summary of the weights before the first step, at each epoch's end and at the
    last step. A stopped or diverged run records no more (its extra evaluation replaces one it
    did not reach)."""
    total = cfg.total_steps(n_train)
    steps_per_epoch = math.ceil(n_train / cfg.batch_size)
    sizes = {"steps": total, "evals": math.ceil(total / (cfg.eval_every or steps_per_epoch)),
             "summaries": 1 + math.ceil(total / steps_per_epoch)}
    if model_cfg is not None:
        import torch

        from rnn_demo.model import build as shapes
        with torch.device("meta"):  # the model's tensors, without allocating them
            tensors = len(list(shapes(model_cfg).parameters()))
        per_summary = tensors * (2 * HIST_BINS + 1 + 4)  # edges, histogram, mean/std/min/max (checkpoints._summary)
        sizes["numbers"] = 4 * total + 5 * sizes["evals"] + per_summary * sizes["summaries"]
    return sizes


def check_sizes(sizes: dict[str, int], name: str = "") -> None:
    """ValueError, one sentence, when a history of these sizes would not fit in a checkpoint
    (name: the checkpoint a run goes on from, whose history the sizes include)."""
    limits = {"steps": MAX_STEPS, "evals": MAX_EVALS,
              "summaries": MAX_SUMMARIES, "numbers": MAX_NUMBERS}
    over = next((k for k in limits if sizes.get(k, 0) > limits[k]), None)
    if over is None:
        return
    who = _("{name} and this run together", name=name) if name else _("this run")
    n, limit = sizes[over], limits[over]
    raise ValueError({
        "steps": _("{who} would take {n:,} steps; at most {limit:,} fit in a checkpoint (fewer epochs or a larger "
                   "batch)", who=who, n=n, limit=limit),
        "evals": _("{who} would record {n:,} test evaluations; at most {limit:,} fit in a checkpoint (evaluate less "
                   "often)", who=who, n=n, limit=limit),
        "summaries": _("{who} would record {n:,} weight summaries (one per epoch, one at the start); at most "
                       "{limit:,} fit in a checkpoint (fewer epochs or a larger batch)", who=who, n=n, limit=limit),
        "numbers": _("{who} would record {n:,} numbers in its history; at most {limit:,} fit in a checkpoint (fewer "
                     "epochs, fewer steps or a smaller model)", who=who, n=n, limit=limit)}[over])


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


# The seed's recipe: tanh RNN 128, RMSprop(lr=1e-3, decay 0.9), batch 128, 10,000 iterations.
PRESETS: dict[str, TrainConfig] = {
    "seed": TrainConfig(optimizer="rmsprop", lr=1e-3, batch_size=128, iterations=10_000, clip=0.0,
                        init="zeros", schedule="constant"),
    "fast": TrainConfig(),
}

# Our default recipe per cell: the seed's architecture, trained faster (bench/train_speed.py):
# Adam with a one-cycle schedule, clipping, orthogonal W_hh, and just enough epochs to pass the
# seed's accuracy. Batch 128 is the fastest per digit for the LSTM on a CPU (larger batches
# fall out of cache); for the tanh RNN larger batches are faster per digit but need more epochs.
# The tanh RNN: a short warm-up, label smoothing 0.1 and a looser clip took it past 97.5% in
# 3.5-3.75 epochs on seeds 0, 1 and 2 (97.56 / 97.64 / 97.65% after 4), where 6 epochs of the
# plain recipe ended at 97.42%.
FAST: dict[str, TrainConfig] = {"rnn": TrainConfig(lr=3e-3, batch_size=128, epochs=4, clip=5.0, warmup=0.1,
                                                   label_smoothing=0.1),
                                # bfloat16 products where they are faster (AMX or a GPU: 40%; precision.py).
                                # A higher peak rate over fewer epochs: in fp32, seeds 0-3 passed 98.6% at
                                # steps 900 / 850 / 1050 / 1000 of 1,173 (98.66-98.84% at the end; bf16, seeds
                                # 0-2: 1050 / 950 / 1100), where
                                # lr 3e-3 over 3.5 epochs passed it at step 1,350 or not at all (98.54%).
                                "lstm": TrainConfig(lr=9e-3, batch_size=128, epochs=2.5, precision="auto"),
                                "gru": TrainConfig(lr=3e-3, batch_size=128, epochs=3)}


# --- the training history ----------------------------------------------------------------------
# What train.train records and a checkpoint carries (checkpoints._history checks these keys and
# drops any other); the pages, jobs and continue_history read it.

STEP_KEYS = ("loss", "grad_norm", "batch_acc", "lr")  # one number per optimisation step
MAY_END_BAD = ("loss", "grad_norm")  # a diverged run logs its bad step last in these only
NUMBER_KEYS = ("clip", "seconds")
WHOLE_KEYS = ("steps_per_epoch", "total_steps")
TEXT_KEYS = ("status", "precision")


class Eval(TypedDict):
    """One test evaluation: at which step, epoch and second, and the accuracies (None: not measured)."""
    step: int
    epoch: float
    seconds: float
    train_acc: float | None
    test_acc: float | None


class Summary(TypedDict):
    """Per-epoch weight summary: name -> {mean, std, min, max, edges, hist} (train.param_summaries)."""
    epoch: int
    step: int
    params: dict[str, dict]


class History(TypedDict, total=False):
    loss: list[float]
    grad_norm: list[float]
    batch_acc: list[float]
    lr: list[float]
    evals: list[Eval]
    param_summaries: list[Summary]
    clip: float
    steps_per_epoch: int
    total_steps: int
    precision: str
    seconds: float
    status: str


def new_history(first: Summary, clip: float, steps_per_epoch: int, total_steps: int, precision_: str) -> History:
    """The history of a run about to take its first step, from the weights it starts with."""
    return {"loss": [], "batch_acc": [], "grad_norm": [], "lr": [], "evals": [], "param_summaries": [first],
            "clip": clip, "steps_per_epoch": steps_per_epoch, "total_steps": total_steps, "precision": precision_,
            "seconds": 0.0}


def steps_taken(h: dict) -> int:
    """Steps a history records in full (a diverged run's bad step, logged last in loss and
    grad_norm only, is not one)."""
    lengths = [len(h[k]) for k in STEP_KEYS if k in h]
    return min(lengths) if lengths else 0


def continue_history(before: dict, after: dict) -> dict:
    """One history for a model trained in two runs: `after`'s steps, evaluations and weight
    summaries numbered on from `before`'s, so the pages show the whole of how it learned."""
    steps = steps_taken(before)
    spe = before.get("steps_per_epoch") or after["steps_per_epoch"]
    summaries = before.get("param_summaries", [])
    epochs = max(len(summaries) - 1, 0)  # counted, not read: a forged file's epoch numbers could overflow
    seconds = before.get("seconds", 0.0)
    out = dict(after)
    for k in STEP_KEYS:
        out[k] = list(before.get(k, []))[:steps] + after[k]
    out["evals"] = list(before.get("evals", [])) + [
        {**e, "step": e["step"] + steps, "epoch": e["epoch"] + steps / spe, "seconds": e["seconds"] + seconds}
        for e in after["evals"]]
    # after's first summary is the weights it started from: the last of before's, when that was taken at its end
    fresh = after["param_summaries"][1:] if summaries and summaries[-1]["step"] == steps else after["param_summaries"]
    out["param_summaries"] = list(summaries) + [{**s, "epoch": s["epoch"] + epochs, "step": s["step"] + steps}
                                                for s in fresh]
    out["total_steps"] = steps + after["total_steps"]
    out["seconds"] = seconds + after["seconds"]
    return out
