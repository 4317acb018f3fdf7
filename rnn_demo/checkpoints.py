"""Self-describing checkpoints: weights plus everything needed to rebuild and explain them.

A file holds {"format", "model_config", "model", "train_config", "metrics", "history",
"dataset", "torch_version"}. It is written atomically (a temporary file in the same folder,
then a rename), so a crash mid-save leaves the previous file intact, and read with
`torch.load(weights_only=True)`, so a file cannot run code when loaded.
"""
from __future__ import annotations

import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from rnn_demo.model import ModelConfig, SequenceClassifier, build, count_params

FORMAT = "rnn-demo/1"
MAX_BYTES = 50 * 1024 * 1024  # larger files are not ours: refuse before reading them


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


def save(path, model: SequenceClassifier, train_config=None, metrics: dict | None = None,
         history: dict | None = None, dataset: dict | None = None) -> Path:
    """Write atomically: temp file in the same folder, flush + fsync, then os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = to_payload(model, train_config, metrics or {}, history or {}, dataset or {})
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a checkpoint is an ordinary shared file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def to_bytes(path) -> bytes:
    return Path(path).read_bytes()


def load(source, name: str | None = None) -> Checkpoint:
    """Load from a path or a binary file object (an upload). Raises CheckpointError."""
    path = Path(source) if isinstance(source, (str, os.PathLike)) else None
    label = name or (path.name if path else "the uploaded file")
    if path is not None:
        if not path.is_file():
            raise CheckpointError(f"{label}: no such checkpoint file")
        if path.stat().st_size > MAX_BYTES:
            raise CheckpointError(f"{label}: {path.stat().st_size:,} bytes is too large for a checkpoint")
    try:
        payload = torch.load(source, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # weights_only refused a global: foreign or malicious
        raise CheckpointError(f"{label} is not an rnn-demo checkpoint: it holds objects other than "
                              f"weights and plain values, so it was not loaded ({_refused_global(exc)})") from exc
    except Exception as exc:  # a parser fails in many ways on bytes that are not a torch file
        raise CheckpointError(f"{label} is not a readable checkpoint (truncated or not a torch file): "
                              f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{label} is a torch file but not an rnn-demo checkpoint "
                              f"(expected format {FORMAT!r}).")
    try:
        config = ModelConfig(**payload["model_config"])
        model = build(config)
        model.load_state_dict(payload["model"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{label}: its weights do not fit the architecture it describes "
                              f"({str(exc).splitlines()[0]})") from exc
    model.eval()
    metrics = dict(payload.get("metrics", {}))
    metrics.setdefault("params", count_params(model))
    return Checkpoint(model, config, payload.get("train_config", {}), metrics, payload.get("history", {}),
                      payload.get("dataset", {}), payload.get("torch_version", "?"), path)


def _refused_global(exc: Exception) -> str:
    for line in str(exc).splitlines():
        if "Unsupported global" in line:
            return line.split("WeightsUnpickler error:")[-1].strip().split(" was not")[0]
    return "it may hold code"


def list_checkpoints(*folders) -> list[Path]:
    """*.pt files in the given folders, sorted by name, temporary files skipped."""
    found = []
    for folder in folders:
        folder = Path(folder)
        if folder.is_dir():
            found += sorted(p for p in folder.glob("*.pt") if not p.name.startswith("."))
    return found
