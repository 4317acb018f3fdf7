"""MNIST as sequences: one 28-pixel row per time step, (B, T, F) = (batch, 28, 28).

The full set comes through torchvision and is kept in memory as tensors so that training
batches by indexing. A bundled sample of real test digits ships with the package, so the
app and the tests work offline.
"""
from __future__ import annotations

import functools
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rnn_demo.i18n import _

ENV_VAR = "RNN_DEMO_DATA"
DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "data"
SAMPLE_PATH = Path(__file__).resolve().parent / "assets" / "mnist_sample.npz"
ROWS = COLS = 28  # T time steps of F features
MNIST_HOST = "ossci-datasets.s3.amazonaws.com"  # torchvision's first mirror


class DataUnavailable(RuntimeError):
    """MNIST is not on disk and cannot be downloaded."""


@dataclass(frozen=True)
class Digits:
    """Images as uint8 (N, 28, 28) and labels as int64 (N,); `source` says where they came from."""

    images: torch.Tensor  # (N, T, F) uint8
    labels: torch.Tensor  # (N,) int64
    source: str

    def __len__(self) -> int:
        return len(self.labels)

    def sequences(self, index=slice(None)) -> torch.Tensor:
        """Float rows in [0, 1] as the network reads them."""
        return to_sequences(self.images[index])

    def subset(self, index) -> "Digits":
        return Digits(self.images[index], self.labels[index], self.source)


def to_sequences(images) -> torch.Tensor:
    """uint8 or float images (..., 28, 28) -> float32 rows in [0, 1]; (B, T, F)."""
    images = torch.as_tensor(images)
    if images.dtype == torch.uint8:
        return images.float().div_(255.0)
    return images.float()


def with_gap(x: torch.Tensor, gap: int, noise: float = 0.0,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """The memory task's input: each digit's 28 rows, then `gap` more rows that carry nothing
    about it (blank, or with noise > 0 pixels drawn uniformly from [0, noise]); (B, T + gap, F).
    The class is still read out after the last step, so it must be carried through the gap."""
    if gap <= 0:
        return x
    pad = x.new_zeros(x.shape[0], gap, x.shape[2])  # (B, gap, F)
    if noise > 0:
        pad = torch.rand(pad.shape, generator=generator).to(x).mul_(noise)
    return torch.cat([x, pad], dim=1)


def resolve_root(root: str | os.PathLike | None = None) -> Path:
    """Explicit argument, else $RNN_DEMO_DATA, else ./data (where torchvision downloads)."""
    if root is not None:
        return Path(root)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return DEFAULT_ROOT


def mnist_available(root: str | os.PathLike | None = None) -> bool:
    raw = resolve_root(root) / "MNIST" / "raw"
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    return all((raw / n).exists() for n in names)


def _online(host: str = MNIST_HOST, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _missing_message(root: Path) -> str:
    return _("MNIST was not found in {root} and cannot be downloaded (no internet). Set {env} to a folder "
             "holding MNIST/raw/*-ubyte (torchvision's layout), or run once with internet so torchvision "
             "downloads it to {default}. The app's pages still work on the bundled sample.",
             root=root, env=ENV_VAR, default=DEFAULT_ROOT)


FILES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
IDX_MAGIC = {3: 2051, 1: 2049}  # images (N, 28, 28), labels (N,): unsigned bytes


class DataCorrupt(DataUnavailable):
    """An MNIST file is there but damaged; the message names the file and the problem."""


def read_idx(path: Path, dims: int) -> np.ndarray:
    """One of MNIST's raw IDX files (LeCun's format: magic, sizes, then unsigned bytes), checked."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataCorrupt(_("{path} cannot be read: {error}.", path=path, error=exc.strerror or exc)) from None
    header = 4 + 4 * dims
    if len(raw) < header:
        raise DataCorrupt(_("{path} is {size} bytes, too short to be an MNIST file (cut short?).",
                            path=path, size=len(raw)))
    magic = int.from_bytes(raw[:4], "big")
    if magic != IDX_MAGIC[dims]:
        values = {"path": path, "found": raw[:4].hex(), "expected": f"{IDX_MAGIC[dims]:08x}"}
        raise DataCorrupt(_("{path} is not an MNIST image file (it starts with {found}, expected {expected}).",
                            **values) if dims == 3 else
                          _("{path} is not an MNIST label file (it starts with {found}, expected {expected}).",
                            **values))
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    if dims == 3 and shape[1:] != (ROWS, COLS):
        raise DataCorrupt(_("{path} holds images of {rows} x {cols} pixels, not 28 x 28.",
                            path=path, rows=shape[1], cols=shape[2]))
    if shape[0] == 0:
        raise DataCorrupt(_("{path} holds no digits.", path=path))
    if len(raw) != header + int(np.prod(shape)):
        values = {"path": path, "size": len(raw), "n": shape[0], "expected": header + int(np.prod(shape))}
        raise DataCorrupt(_("{path} is {size:,} bytes but says it holds {n:,} images ({expected:,} bytes): cut "
                            "short or damaged.", **values) if dims == 3 else
                          _("{path} is {size:,} bytes but says it holds {n:,} labels ({expected:,} bytes): cut "
                            "short or damaged.", **values))
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


@functools.lru_cache(maxsize=4)
def _load_mnist(root: Path, train: bool, download: bool) -> Digits:
    if not mnist_available(root):
        if not download or not _online():
            raise DataUnavailable(_missing_message(root))
        from torchvision.datasets import MNIST
        try:  # torchvision only fetches the raw files; they are read and checked below
            MNIST(str(root), train=train, download=True)
        except (RuntimeError, OSError) as exc:  # torchvision says "Dataset not found" or a URL error
            raise DataUnavailable(_missing_message(root)) from exc
    raw = root / "MNIST" / "raw"
    image_file, label_file = (raw / name for name in FILES[train])
    images, labels = read_idx(image_file, 3), read_idx(label_file, 1)
    if len(images) != len(labels):
        raise DataCorrupt(_("{images} holds {n_images:,} images but {labels} holds {n_labels:,} labels; they "
                            "must match.", images=image_file, n_images=len(images), labels=label_file,
                            n_labels=len(labels)))
    if labels.max() > 9:
        raise DataCorrupt(_("{path} holds the label {label}; digits are 0 to 9.", path=label_file,
                            label=int(labels.max())))
    split = "train" if train else "test"  # no folder in the record: it travels in checkpoints
    return Digits(torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64)),
                  f"MNIST {split} ({len(labels):,} digits)")


def load_mnist(train: bool = True, root: str | os.PathLike | None = None,
               download: bool = True) -> Digits:
    """The full MNIST split, in memory. Raises DataUnavailable within seconds when offline."""
    return _load_mnist(resolve_root(root).resolve(), train, download)


@functools.lru_cache(maxsize=1)
def load_sample() -> Digits:
    """The bundled sample of real MNIST test digits (about 100 per class)."""
    with np.load(SAMPLE_PATH) as z:
        return Digits(torch.from_numpy(z["images"]), torch.from_numpy(z["labels"]).long(),
                      "bundled sample of the MNIST test set")


def load_test(root: str | os.PathLike | None = None) -> Digits:
    """The full test set where it is available, else the bundled sample."""
    try:
        return load_mnist(train=False, root=root, download=False)
    except DataCorrupt:
        raise  # damaged files are said, not silently replaced
    except DataUnavailable:
        return load_sample()


def make_sample(test: Digits, per_class: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Pick `per_class` test digits of each class, in a fixed random order."""
    gen = np.random.default_rng(seed)
    labels = test.labels.numpy()
    picks = np.concatenate([gen.choice(np.flatnonzero(labels == c), per_class, replace=False)
                            for c in range(10)])
    picks = gen.permutation(picks)
    return test.images.numpy()[picks], labels[picks].astype(np.uint8)


def batches(n: int, batch_size: int, generator: torch.Generator | None = None, shuffle: bool = True):
    """Yield index tensors covering range(n) once, in a seeded random order."""
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]
