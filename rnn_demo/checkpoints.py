"""Self-describing checkpoints: weights plus everything needed to rebuild and explain them.

A file holds {"format", "model_config", "model", "train_config", "metrics", "history",
"dataset", "torch_version"}. It is written atomically (a temporary file in the same folder,
then a rename), so a crash mid-save leaves the previous file intact.

Every file is untrusted until `load` has checked it, in this order, before anything large is
allocated: the zip archive (member count, no compression, sizes within the file, a bounded
pickle), then `torch.load(weights_only=True)` (no code runs), then a schema for every field
(types, ranges, lengths, finite numbers), then the weights against the shapes the config
implies (dense, finite). What fails raises CheckpointError with one plain sentence naming the
field and the problem. Past `load`, a Checkpoint is well-formed: no page needs its own checks.
"""
from __future__ import annotations

import io
import os
import pickle
import re
import tempfile
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path

import torch

from rnn_demo import model as _model
from rnn_demo import recipe
# Refusals are translated when shown, not when made (`i18n.lazy`): a bad file is read once and
# its reason shown to learners of either language. `_` here is the deferred form.
from rnn_demo.i18n import N_
from rnn_demo.i18n import lazy as _
from rnn_demo.model import CELLS, ModelConfig, SequenceClassifier, build, count_params
from rnn_demo.recipe import MAX_EVALS, MAX_STEPS, MAX_SUMMARIES, TrainConfig  # noqa: F401  (limits kept here too)
from rnn_demo.schema import MAX_KEYS, MAX_NUMBERS, MAX_TEXT  # noqa: F401
from rnn_demo.schema import Budget as _Budget
from rnn_demo.schema import Invalid as _Invalid
from rnn_demo.schema import key as _key
from rnn_demo.schema import kind as _kind
from rnn_demo.schema import listed as _list
from rnn_demo.schema import number as _number
from rnn_demo.schema import numbers as _numbers
from rnn_demo.schema import scalars as _scalars
from rnn_demo.schema import table as _dict
from rnn_demo.schema import text as _text
from rnn_demo.schema import whole as _whole

FORMAT = "rnn-demo/1"
MAX_BYTES = 50 * 1024 * 1024   # a checkpoint file (the largest model the config allows is ~35 MB)
MAX_MEMBERS = 64               # files inside the archive (ours hold about a dozen)
MAX_PICKLE = 16 * 1024 * 1024  # the archive's data.pkl: the history of 200,000 steps is ~8 MB
MAX_BINS = 1_000               # histogram bins in one weight summary
INPUT_SIZE, NUM_CLASSES = 28, 10  # MNIST rows of 28 pixels, ten digits: the only task the app has


class CheckpointError(ValueError):
    """A file that cannot be used as a checkpoint; the message says why, in plain words."""


@dataclass
class Checkpoint:
    model: SequenceClassifier
    model_config: ModelConfig
    train_config: dict
    metrics: dict
    history: dict
    dataset: dict
    torch_version: str
    path: Path | None = None

    @property
    def name(self) -> str:
        return self.path.stem if self.path else self.model_config.label


def to_payload(model: SequenceClassifier, train_config, metrics: dict, history: dict, dataset: dict) -> dict:
    train_config = train_config.to_dict() if hasattr(train_config, "to_dict") else dict(train_config or {})
    return {"format": FORMAT, "model_config": model.config.to_dict(),
            "model": {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
            "train_config": train_config, "metrics": dict(metrics or {}), "history": dict(history or {}),
            "dataset": dict(dataset or {}), "torch_version": str(torch.__version__)}


def to_bytes_of(model: SequenceClassifier, train_config=None, metrics: dict | None = None,
                history: dict | None = None, dataset: dict | None = None) -> bytes:
    """The checkpoint file's bytes, without writing a file (a download when the disk is full)."""
    buf = io.BytesIO()
    torch.save(to_payload(model, train_config, metrics or {}, history or {}, dataset or {}), buf)
    return buf.getvalue()


def save(path, model: SequenceClassifier, train_config=None, metrics: dict | None = None,
         history: dict | None = None, dataset: dict | None = None, overwrite: bool = True) -> Path:
    """Write atomically: temp file in the same folder, flush + fsync, then rename. With
    overwrite=False an existing file is never replaced (FileExistsError). A failure (full disk,
    unwritable folder) raises OSError and leaves no temporary file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = to_payload(model, train_config, metrics or {}, history or {}, dataset or {})
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a checkpoint is an ordinary shared file
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if the name exists: never replaces anyone's file
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def to_bytes(path) -> bytes:
    return Path(path).read_bytes()


# --- loading: the one boundary every file crosses ---------------------------------------------

def load(source, name: str | None = None) -> Checkpoint:
    """Load from a path or a binary file object (an upload), checking everything first.
    Raises CheckpointError with one plain sentence."""
    path = Path(source) if isinstance(source, (str, os.PathLike)) else None
    label = name or (path.name if path else _("the uploaded file"))
    if path is not None:
        if not path.is_file():
            raise CheckpointError(_("{file}: no such checkpoint file.", file=label))
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise CheckpointError(_("{file} is {size:,} bytes, too large for a checkpoint (at most {limit}).",
                                    file=label, size=size, limit=_size(MAX_BYTES)))
        raw = path.read_bytes()
    else:
        raw = source.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise CheckpointError(_("{file} is more than {limit}, too large for a checkpoint.",
                                    file=label, limit=_size(MAX_BYTES)))
    try:
        payload = _unpickle(raw, label)
        config, state, rest = _check_payload(payload)
    except _Invalid as exc:
        # the message only, not the exception: a kept refusal must not keep its frames (the file's bytes)
        raise CheckpointError(_("{file}: {problem}", file=label, problem=exc.args[0])) from None
    model = build(config)
    model.load_state_dict(state)
    model.eval()
    rest["metrics"]["params"] = count_params(model)
    return Checkpoint(model, config, rest["train_config"], rest["metrics"], rest["history"], rest["dataset"],
                      rest["torch_version"], path)


def _size(n: int) -> str:
    return _("{n:g} MB", n=n / 2**20) if n >= 2**20 else _("{n:,} bytes", n=n)


_MAGIC = [(b"\x89PNG", N_("a PNG image")), (b"\xff\xd8\xff", N_("a JPEG image")), (b"GIF8", N_("a GIF image")),
          (b"%PDF", N_("a PDF document")), (b"\x1f\x8b", N_("a gzip archive")), (b"\x80", N_("an old-style torch or "
          "pickle file (this app reads only checkpoints it saved itself)"))]


def _what_it_is(raw: bytes) -> str:
    for magic, what in _MAGIC:
        if raw.startswith(magic):
            return _(what)
    if not raw:
        return _("an empty file")
    try:
        raw[:4096].decode("utf-8")
        return _("a text file")
    except UnicodeDecodeError:
        return _("unknown bytes")


def _unpickle(raw: bytes, label: str):
    """The archive's checks, then torch.load(weights_only=True): nothing in it can run code."""
    if not raw.startswith(b"PK\x03\x04"):
        raise _Invalid(_("this is not a torch checkpoint file (it is {what}).", what=_what_it_is(raw)))
    try:
        members = zipfile.ZipFile(io.BytesIO(raw)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _Invalid(_("the file is cut short or damaged (its zip archive cannot be read).")) from None
    if len(members) > MAX_MEMBERS:
        raise _Invalid(_("its archive holds {n:,} files; a checkpoint holds at most {limit}.",
                         n=len(members), limit=MAX_MEMBERS))
    if any(m.compress_type != zipfile.ZIP_STORED for m in members):
        raise _Invalid(_("its archive is compressed; torch.save never compresses, so it was not made by this app."))
    if sum(m.file_size for m in members) > len(raw) or any(m.header_offset + m.file_size > len(raw)
                                                         for m in members):
        raise _Invalid(_("its archive says it holds more bytes than the file has (damaged or forged)."))
    pickles = [m for m in members if m.filename.endswith("/data.pkl") or m.filename == "data.pkl"]
    if len(pickles) != 1:
        raise _Invalid(_("it is a zip archive without a checkpoint in it."))
    if pickles[0].file_size > MAX_PICKLE:
        raise _Invalid(_("its record is {size:,} bytes; a checkpoint's is at most {limit}.",
                         size=pickles[0].file_size, limit=_size(MAX_PICKLE)))
    try:
        return torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # weights_only refused a global: foreign or malicious
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if found:
            raise _Invalid(_("it asks to run code ({code}), which this app never does, so it was not loaded.",
                             code=found.group(1))) from None
        raise _Invalid(_("it asks to run code, which this app never does, so it was not loaded.")) from None
    except Exception as exc:  # the reader fails in many ways on damaged archives
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise _Invalid(_("the file is cut short or damaged ({error}).", error=first)) from None


def _check_payload(payload) -> tuple[ModelConfig, dict, dict]:
    """(config, state dict, the other fields cleaned) or _Invalid naming the field."""
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise _Invalid(_("it is a torch file but not an rnn-demo checkpoint (no format {format}).",
                         format=repr(FORMAT)))
    config = _model_config(payload.get("model_config"))
    state = _weights(payload.get("model"), config)
    history = _history(_dict(payload.get("history", {}), "history"), state)
    rest = {"train_config": _train_config(payload.get("train_config", {})),
            "metrics": _metrics(payload.get("metrics", {})), "history": history,
            "dataset": _scalars(payload.get("dataset", {}), "dataset"),
            "torch_version": _text(payload.get("torch_version", "?"), "torch_version")}
    return config, state, rest


# --- the schema ---------------------------------------------------------------------------

def _model_config(value) -> ModelConfig:
    cfg = _dict(value, "model_config")
    known = {f.name for f in fields(ModelConfig)}
    unknown = sorted(set(cfg) - known)
    if unknown:
        raise _Invalid(_("model_config has a field this app does not know: {field}.", field=repr(_key(unknown[0]))))
    rules = {"cell": lambda v, w: _choice(v, w, CELLS), "hidden_size": lambda v, w: _whole(v, w, 1, _model.MAX_HIDDEN),
             "num_layers": lambda v, w: _whole(v, w, 1, 2), "bidirectional": _flag,
             "nonlinearity": lambda v, w: _choice(v, w, ("tanh", "relu")),
             "input_size": lambda v, w: _exactly(v, w, INPUT_SIZE, N_("pixels per row")),
             "num_classes": lambda v, w: _exactly(v, w, NUM_CLASSES, N_("classes"))}
    return ModelConfig(**{k: rules[k](v, f"model_config.{k}") for k, v in cfg.items()})


def _choice(value, where: str, options) -> str:
    if value not in options or not isinstance(value, str):
        raise _Invalid(_("{where} should be one of {options}, not {value}.",
                         where=where, options=", ".join(options), value=repr(str(value)[:40])))
    return value


def _flag(value, where: str) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(_("{where} should be true or false, but it is {kind}.", where=where, kind=_kind(value)))
    return value


def _exactly(value, where: str, expected: int, what: str) -> int:
    if _whole(value, where) != expected:
        raise _Invalid(_("{where} is {value}; every model here reads MNIST, so it must be {expected} ({what}).",
                         where=where, value=value, expected=expected, what=_(what)))
    return expected


def _weights(value, config: ModelConfig) -> dict[str, torch.Tensor]:
    """Exactly the tensors the config implies: same names and shapes, dense, finite floats."""
    state = _dict(value, "model")
    with torch.device("meta"):  # the shapes the config implies, without allocating them
        expected = {k: tuple(v.shape) for k, v in build(config).state_dict().items()}
    missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or extra:
        if missing:
            raise _Invalid(_("its weights do not fit the {model} it describes: it lacks {tensor}.",
                             model=config.label, tensor=missing[0]))
        raise _Invalid(_("its weights do not fit the {model} it describes: it has an extra tensor {tensor}.",
                         model=config.label, tensor=_key(extra[0])))
    for k, shape in expected.items():
        t = state[k]
        if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.is_complex():
            raise _Invalid(_("weight {name} should be a tensor of floating-point numbers, but it is {kind}.",
                             name=k, kind=_kind(t)))
        if tuple(t.shape) != shape:
            raise _Invalid(_("weight {name} has shape {shape}, but a {model} needs {expected}.",
                             name=k, shape=tuple(t.shape), model=config.label, expected=shape))
        if t.layout != torch.strided or not t.is_contiguous() or t.untyped_storage().nbytes() < t.nbytes:
            raise _Invalid(_("weight {name} is not a plain dense tensor (a stretched or sparse view).", name=k))
        if not torch.isfinite(t).all():
            raise _Invalid(_("weight {name} holds NaN or infinite values, so the model cannot compute anything.",
                             name=k))
    return {k: state[k].float() for k in expected}


def _train_config(value) -> dict:
    """The recipe: known fields must make a valid TrainConfig; other entries plain values."""
    cfg = _scalars(value, "train_config")
    known = {f.name for f in fields(TrainConfig)}
    try:
        TrainConfig(**{k: v for k, v in cfg.items() if k in known})
    except (TypeError, ValueError, OverflowError) as exc:
        raise _Invalid(_("train_config is not a recipe this app can use: {problem}.", problem=str(exc))) from None
    return cfg


def _metrics(value) -> dict:
    m = _scalars(value, "metrics")
    for k in ("test_acc", "train_acc"):
        if m.get(k) is not None:
            m[k] = float(_number(m[k], f"metrics.{k}", 0.0, 1.0))
    for k in ("steps", "params"):
        if m.get(k) is not None:
            _whole(m[k], f"metrics.{k}")
    if m.get("seconds") is not None:
        _number(m["seconds"], "metrics.seconds", 0.0)
    return m


def _history(h: dict, state: dict) -> dict:
    """The known entries, checked; anything else in a history is dropped."""
    out: dict = {}
    budget = _Budget()
    for k in recipe.STEP_KEYS:
        if k in h:
            out[k] = _numbers(h[k], f"history.{k}", budget, last_may_be_bad=k in recipe.MAY_END_BAD)
    if "evals" in h:
        evals = _list(h["evals"], "history.evals", MAX_EVALS)
        budget.take(5 * len(evals), "history.evals")
        out["evals"] = [_eval(e, f"history.evals[{i}]") for i, e in enumerate(evals)]
    if "param_summaries" in h:
        names = set(state)
        out["param_summaries"] = [_summary(s, f"history.param_summaries[{i}]", names, budget) for i, s in
                                  enumerate(_list(h["param_summaries"], "history.param_summaries", MAX_SUMMARIES))]
    for k in recipe.NUMBER_KEYS:
        if k in h:
            out[k] = float(_number(h[k], f"history.{k}", 0.0))
    for k in recipe.WHOLE_KEYS:
        if k in h:
            out[k] = _whole(h[k], f"history.{k}", 1)
    for k in recipe.TEXT_KEYS:
        if k in h:
            out[k] = _text(h[k], f"history.{k}")
    return out


def _eval(e, where: str) -> dict:
    e = _dict(e, where)
    row = {"step": _whole(e.get("step"), f"{where}.step"),
           "epoch": float(_number(e.get("epoch", 0.0), f"{where}.epoch", 0.0)),
           "seconds": float(_number(e.get("seconds", 0.0), f"{where}.seconds", 0.0))}
    for k in ("train_acc", "test_acc"):
        row[k] = None if e.get(k) is None else float(_number(e[k], f"{where}.{k}", 0.0, 1.0))
    return row


def _summary(s, where: str, names: set[str], budget: _Budget) -> dict:
    s = _dict(s, where)
    params = _dict(s.get("params"), f"{where}.params")
    if set(params) != names:
        raise _Invalid(_("{where}.params should summarise exactly the model's weights.", where=where))
    out = {}
    for name, p in params.items():
        w = f"{where}.params.{name}"
        p = _dict(p, w)
        stats = {k: float(_number(p.get(k), f"{w}.{k}")) for k in ("mean", "std", "min", "max")}
        edges = _numbers(p.get("edges"), f"{w}.edges", budget, MAX_BINS + 1)
        hist = _list(p.get("hist"), f"{w}.hist", MAX_BINS)
        budget.take(len(hist) + 4, w)
        hist = [_whole(v, f"{w}.hist[{i}]") for i, v in enumerate(hist)]
        if len(edges) != len(hist) + 1 or not hist:
            raise _Invalid(_("{where} should have one more edge than it has histogram bins.", where=w))
        out[name] = {**stats, "edges": edges, "hist": hist}
    return {"epoch": _whole(s.get("epoch"), f"{where}.epoch"), "step": _whole(s.get("step"), f"{where}.step"),
            "params": out}


def list_checkpoints(*folders) -> list[Path]:
    """*.pt files in the given folders, sorted by name, temporary and hidden files skipped."""
    found = []
    for folder in folders:
        folder = Path(folder)
        if folder.is_dir():
            found += sorted(p for p in folder.glob("*.pt") if not p.name.startswith("."))
    return found
