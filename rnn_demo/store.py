"""The folder of models made in the app (trained or uploaded): names, reservations, no lost files.

A name is reserved from the moment a training or an upload asks for it until its file is saved:
the reservation is a small file created with O_EXCL beside the models, so two sessions (or two
server processes sharing the folder) can never both get a name, and the save itself refuses to
replace an existing file (`checkpoints.save(..., overwrite=False)`). Names keep Unicode letters
and are compared case-insensitively (`mine`, `Mine` and `MINE` are one model). A reservation or
temporary file left by a process that died is removed when the next server starts.
"""
from __future__ import annotations

import os
import re
import socket
import tempfile
import time
import unicodedata
from pathlib import Path

from rnn_demo import checkpoints

MAX_NAME = 40
RESERVED = ".reserved"


class BadName(ValueError):
    """A name that cannot be used; the message says why and what to do."""


def clean_name(name: str) -> str:
    """A model name made safe as a file name: letters (any script), digits, '-' and '_'."""
    name = unicodedata.normalize("NFC", name or "")
    kept = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name.strip())
    cleaned = re.sub(r"-{2,}", "-", kept).strip("-_")[:MAX_NAME].strip("-_")
    if not cleaned:
        raise BadName("Give the model a name (letters, digits, '-' or '_').")
    return cleaned


def key(name: str) -> str:
    """What two names must share to be the same model: case and Unicode forms folded."""
    return unicodedata.normalize("NFKC", name).casefold()


def _me() -> str:
    return f"{socket.gethostname()} {os.getpid()}"


def _alive(owner: str) -> bool:
    """Is the process that wrote `owner` ("host pid") still running? Other hosts: assume so."""
    try:
        host, pid = owner.split()
        if host != socket.gethostname():
            return True
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


class Reservation:
    """A name held for one save. Use as a context manager, or call release()."""

    def __init__(self, folder: Path, name: str, lock: Path):
        self.folder, self.name, self.lock = folder, name, lock

    @property
    def path(self) -> Path:
        return self.folder / f"{self.name}.pt"

    def release(self) -> None:
        self.lock.unlink(missing_ok=True)

    def __enter__(self) -> "Reservation":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def taken_by_file(folder: Path, name: str) -> Path | None:
    """The checkpoint in `folder` that already has this name (in any case), if there is one."""
    k = key(name)
    return next((p for p in checkpoints.list_checkpoints(folder) if key(p.stem) == k), None)


def reserve(folder, name: str, shipped=()) -> Reservation:
    """Hold `name` (cleaned) for a save into `folder`. Raises BadName when it is a shipped
    model's name, another model's, or held by a run or an upload in progress."""
    folder = Path(folder)
    name = clean_name(name)
    if key(name) in {key(s) for s in shipped}:
        raise BadName(f"'{name}' is the name of a shipped model, which the app never replaces. "
                      f"Choose another name, e.g. 'my-{name}'.")
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / f".{key(name)}{RESERVED}"
    # The lock appears with its owner already written in it (a private file, then a hard link,
    # which fails if the name exists): nobody ever reads an empty lock and takes it for stale.
    fd, tmp = tempfile.mkstemp(prefix=f".{os.getpid()}.", suffix=".lock", dir=folder)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(_me())
        for _ in range(2):
            try:
                os.link(tmp, lock)
                break
            except FileExistsError:
                if _stale(lock):
                    lock.unlink(missing_ok=True)
                    continue
                raise BadName(f"'{name}' is being used right now by a training or an upload in progress. "
                              "Choose another name.") from None
        else:
            raise BadName(f"'{name}' could not be reserved; try again.")
    finally:
        os.unlink(tmp)
    existing = taken_by_file(folder, name)
    if existing is not None:
        lock.unlink(missing_ok=True)
        raise BadName(f"There is already a model called '{existing.stem}'. Choose another name; "
                      "models are never replaced.")
    return Reservation(folder, name, lock)


def reserve_free(folder, base: str, shipped=(), tries: int = 1000) -> Reservation:
    """The first free name of base, base-2, base-3, ... reserved."""
    base = clean_name(base)
    for k in range(1, tries + 1):
        candidate = base if k == 1 else f"{base[:MAX_NAME - 1 - len(str(k))]}-{k}"
        try:
            return reserve(folder, candidate, shipped)
        except BadName:
            continue
    raise BadName(f"No free name like '{base}' is left; choose another name.")


def _stale(lock: Path) -> bool:
    try:
        return not _alive(lock.read_text()[:200])
    except FileNotFoundError:
        return True
    except OSError:
        return False


def clean(folder) -> list[Path]:
    """Remove what dead processes left behind: reservations, and checkpoints' temporary files
    (`.NAME.PID.xxxx.tmp`, see checkpoints.save) whose process has gone. Returns what went."""
    folder = Path(folder)
    gone = []
    if not folder.is_dir():
        return gone
    host = socket.gethostname()
    for p in folder.glob(f".*{RESERVED}"):
        if _stale(p):
            p.unlink(missing_ok=True)
            gone.append(p)
    for p in [*folder.glob(".*.tmp"), *folder.glob(".*.lock")]:
        m = re.search(r"\.(\d+)\.[^.]+\.(tmp|lock)$", p.name)
        old = time.time() - p.stat().st_mtime > 24 * 3600 if p.exists() else False
        if (m and not _alive(f"{host} {m.group(1)}")) or old:
            p.unlink(missing_ok=True)
            gone.append(p)
    return gone
