"""The models a page may offer: the listing (through rnn_demo.registry) with each file read and
checked once per version, the picker, loading by name, the bundled sample, and where a model's
runs and the Memory page's models live."""
from __future__ import annotations

import functools
from pathlib import Path

import streamlit as st

from rnn_demo import checkpoints, data, i18n, registry
from rnn_demo.i18n import N_, _, ngettext
from rnn_demo.ui.session import plain

NO_MODELS = N_("No models found: the shipped models should be in models/. "
                "Train one on the Train page, or reinstall the app.")


def model_paths() -> dict[str, Path]:
    """Name -> checkpoint file of every model that loads: shipped models first (fixed order),
    then the user's. The folders are listed again only when they change, and each file is read
    and checked once per version (`_read`), so a page may ask many times per run."""
    return dict(_sorted(_stamps())[0])


def unreadable_models() -> dict[str, str]:
    """Name -> why, for every checkpoint file in the model folders that cannot be used."""
    return dict(_sorted(_stamps())[1])


def _stamps() -> tuple:
    return tuple((n, *registry.version(p)) for n, p in registry.all_paths().items())


def _sorted(stamps: tuple) -> tuple[dict[str, Path], dict[str, str]]:
    return _sorted_out(stamps, i18n.language())  # the reasons are sentences: one list per language


@functools.lru_cache(maxsize=8)
def _sorted_out(stamps: tuple, lang: str) -> tuple[dict[str, Path], dict[str, str]]:
    return registry.sorted_out(stamps, _read)


@st.cache_resource(show_spinner=False, max_entries=64)
def _read(path: str, stamp: str) -> checkpoints.Checkpoint | i18n.Message | str:
    """The checkpoint, or why it cannot be used (kept, so a bad file is read once, not per rerun;
    the reason is translated each time it is shown, `str(...)`, into the reader's language). The
    reason alone is kept, not the exception, whose frames hold the file's bytes."""
    return registry.read_checkpoint(path, stamp)


def _load(path: str, stamp: str) -> checkpoints.Checkpoint:
    found = _read(path, stamp)
    if not isinstance(found, checkpoints.Checkpoint):
        raise checkpoints.CheckpointError(str(found))
    return found


def model_version(name: str) -> tuple[str, str]:
    """(path, stamp) of the named checkpoint: the key every cached result of a model is stored
    under, so a retrained file is never served stale numbers. Raises CheckpointError."""
    path = registry.all_paths().get(name)
    if path is None:
        raise checkpoints.CheckpointError(_("No model called {name}.", name=repr(name)))
    return registry.version(path)


def load_model(name: str) -> checkpoints.Checkpoint:
    """The named checkpoint, loaded and checked once per file version. Raises CheckpointError."""
    return _load(*model_version(name))


def unreadable_note() -> None:
    """One caption naming the model files that are not offered, and why (as plain text)."""
    bad = unreadable_models()
    if bad:
        st.caption(plain(ngettext("Not offered ({n} file that cannot be used): {why}",
                                  "Not offered ({n} files that cannot be used): {why}", len(bad),
                                  why="; ".join(bad.values()))))


def model_picker(label: str | None = None, key: str = "model", default: str = "rnn", multi: bool = False,
                 defaults: tuple[str, ...] = ("rnn", "lstm")):
    """A select box (or multiselect) over every available model (label: already translated)."""
    label = label or _("Model")
    names = list(model_paths())
    if not names:
        st.error(_(NO_MODELS))
        st.stop()
    if multi:
        chosen = st.multiselect(label, names, default=[n for n in defaults if n in names], key=key)
    else:
        chosen = st.selectbox(label, names, index=names.index(default) if default in names else 0, key=key)
    unreadable_note()
    return chosen


@st.cache_resource(show_spinner=False)
def sample() -> data.Digits:
    """The bundled sample of MNIST test digits."""
    return data.load_sample()


def versions(names) -> tuple:
    """The version key of several models at once (for a figure that shows them all)."""
    return tuple((n, *model_version(n)) for n in names)


def model_bytes(name: str) -> bytes:
    """The checkpoint file's bytes, for a download button."""
    return checkpoints.to_bytes(model_paths()[name])


def readable_models() -> dict[str, str]:
    """Name -> cell ("rnn", "lstm", "gru", "birnn") of every model that loads."""
    cells = {}
    for name in model_paths():
        cfg = load_model(name).model_config
        cells[name] = "birnn" if cfg.bidirectional and cfg.cell == "rnn" else cfg.cell
    return cells


def runs_dir() -> Path:
    """Where the Train page's runs write their TensorBoard logs, one folder per model: runs/,
    beside the user's models folder."""
    return registry.runs_dir()


def run_dir(model_file_stem: str) -> Path:
    """The folder of a model's TensorBoard logs when the Train page trained it: runs/<name>."""
    return runs_dir() / model_file_stem


def memory_user_dir() -> Path:
    """Where models trained on the Memory page go."""
    return registry.memory_user_dir()


def file_version(path: Path) -> tuple[str, str]:
    """(path, stamp) of a model file that is not in the listing (the Memory page's)."""
    return registry.version(Path(path))
