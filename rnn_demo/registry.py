"""Where things are kept, and which models exist: the folders (shipped, the user's, runs, memory)
and the one listing and versioning of model files, shared by the app (rnn_demo/ui), the
notebook helpers, the memory study, benches and tests. No streamlit here.

A model's version key is (path, stamp): the stamp changes whenever the file is rewritten, so
anything cached under it is never served stale; a folder's stamp changes whenever a file is
added to, removed from or renamed into it, so the listing is read again only then.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Callable

from rnn_demo import checkpoints, store
from rnn_demo.i18n import _

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_DIR = ROOT / "models"
SHIPPED = ("rnn", "lstm", "gru", "birnn")  # the order pages offer them in
MEMORY_DIR = SHIPPED_DIR / "memory"  # the memory study's shipped checkpoints and results (never listed)
USER_ENV = "RNN_DEMO_USER_MODELS"


def env_user_dir() -> Path:
    """The user's models folder as the environment says now: $RNN_DEMO_USER_MODELS, else
    user_models/ beside the shipped ones."""
    return Path(os.environ.get(USER_ENV, ROOT / "user_models"))


USER_DIR = env_user_dir()  # read once, when the app starts (tests may set it)


def runs_dir(user_dir: Path | None = None) -> Path:
    """Where the Train page's runs write their TensorBoard logs, one folder per model: runs/,
    beside the user's models folder."""
    return Path(user_dir or USER_DIR).parent / "runs"


def memory_user_dir(user_dir: Path | None = None) -> Path:
    """Where models trained on the Memory page go: a subfolder of the user's models folder."""
    return Path(user_dir or USER_DIR) / "memory"


# --- versions ---------------------------------------------------------------------------------

def folder_stamp(folder: Path) -> int | None:
    """Changes whenever a file is added to, removed from or renamed into the folder."""
    try:
        return Path(folder).stat().st_mtime_ns
    except OSError:
        return None


def version(path: Path) -> tuple[str, str]:
    """(path, stamp): the stamp changes whenever the file is rewritten (mtime and size)."""
    try:
        st_ = Path(path).stat()
        return str(path), f"{st_.st_mtime_ns}-{st_.st_size}"
    except OSError:
        return str(path), "gone"


# --- the listing ------------------------------------------------------------------------------

def all_paths(user_dir: Path | None = None) -> dict[str, Path]:
    """Name -> checkpoint file of every *.pt in the model folders, usable or not: shipped models
    first (fixed order), then the user's (one named like a shipped model gets " (yours)")."""
    folders = (SHIPPED_DIR, Path(user_dir or USER_DIR))
    return dict(_model_paths(*((str(d), folder_stamp(d)) for d in folders)))


@functools.lru_cache(maxsize=8)
def _model_paths(shipped: tuple[str, int | None], user: tuple[str, int | None]) -> dict[str, Path]:
    found = {p.stem: p for p in checkpoints.list_checkpoints(shipped[0])}
    ordered = {n: found.pop(n) for n in SHIPPED if n in found} | found
    for p in checkpoints.list_checkpoints(user[0]):
        ordered.setdefault(p.stem if p.stem not in ordered else f"{p.stem} (yours)", p)
    return ordered


def shipped_names() -> tuple[str, ...]:
    """Names no user model may take: the shipped models' (those in models/ and the usual four)."""
    return tuple(dict.fromkeys((*SHIPPED, *(p.stem for p in checkpoints.list_checkpoints(SHIPPED_DIR)))))


def name_problem(path: Path) -> str | None:
    """Why a model file's name cannot be offered, or None. Its name is shown on every page, so it
    must be a name the app could have given it (a file copied in by hand may be called anything)."""
    path = Path(path)
    try:
        named_well = store.clean_name(path.stem) == path.stem
    except store.BadName:
        named_well = False
    if named_well:
        return None
    return _("{file}: its file name has characters a model name cannot have (only letters, digits, "
             "'-' and '_'); rename the file to use it.", file=path.name)


def problem(path: Path, stamp: str, read: Callable[[str, str], object]) -> str | None:
    """Why a model file cannot be offered, or None: a name the app could not have given it, or
    what `read(path, stamp)` (a Checkpoint, or why not) says."""
    why = name_problem(path)
    if why is not None:
        return why
    found = read(str(path), stamp)
    return None if isinstance(found, checkpoints.Checkpoint) else str(found)


def read_checkpoint(path: str, stamp: str) -> checkpoints.Checkpoint | object:
    """The checkpoint, or why it cannot be used (the reason alone, not the exception, whose frames
    hold the file's bytes; translated when shown, `str(...)`). Uncached: the app caches it."""
    try:
        return checkpoints.load(path)
    except checkpoints.CheckpointError as exc:
        return exc.args[0]


def sorted_out(stamps: tuple, read: Callable[[str, str], object]) -> tuple[dict[str, Path], dict[str, str]]:
    """(name -> path of every usable model, name -> why of every other) from (name, path, stamp)s."""
    usable, unusable = {}, {}
    for name, path, stamp in stamps:
        why = problem(Path(path), stamp, read)
        if why is None:
            usable[name] = Path(path)
        else:
            unusable[name] = why
    return usable, unusable


def find(name: str, user_dir: Path | None = None) -> Path:
    """The checkpoint file of a model by name. Raises CheckpointError naming the models there are."""
    paths = all_paths(user_dir)
    if name in paths:
        return paths[name]
    raise checkpoints.CheckpointError(_("No model called {name}; there are: {names}.", name=repr(str(name)),
                                        names=", ".join(sorted(paths))))
