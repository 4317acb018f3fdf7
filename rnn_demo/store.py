"""The folder of models made in the app (trained or uploaded): names, reservations, no lost files.

A name is reserved from the moment a training or an upload asks for it until its file is saved:
the reservation is a small file created with O_EXCL beside the models, so two sessions (or two
server processes sharing the folder) can never both get a name, and the save itself refuses to
replace an existing file (`checkpoints.save(..., overwrite=False)`). Names keep Unicode letters
and are compared case-insensitively (`mine`, `Mine` and `MINE` are one model). A reservation or
temporary file left by a process that died is removed when the next server starts.

The same folder holds the training lease: "one training at a time" for every server process
that shares the folder (replicas behind a load balancer, see deploy/). Its holder rewrites it
every few seconds with the run's progress; a lease whose process is gone (same host) or that
has not been renewed for LEASE_S seconds (any host) is free again. A reservation held by a
training is renewed with it.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import socket
import tempfile
import time
import unicodedata
from pathlib import Path

from confusable_homoglyphs import categories, confusables

from rnn_demo import checkpoints
from rnn_demo.i18n import _

MAX_NAME = 40
NAME_MAX_BYTES = 255  # a file name's limit on ext4, XFS, Btrfs, NFS and overlayfs (os.pathconf's PC_NAME_MAX)
# Scripts that may share one name (Unicode TR39's "highly restrictive" level): Latin with the
# scripts written beside it in East Asia; any other mix (Latin with Cyrillic or Greek, say) is
# how look-alikes of other names are made. Digits, '-' and '_' belong to every script (COMMON).
MIXES = ({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}, {"LATIN", "HAN", "BOPOMOFO"}, {"LATIN", "HAN", "HANGUL"})
RESERVED = ".reserved"
LEASE = ".training.lease"
LEASE_S = float(os.environ.get("RNN_DEMO_LEASE_S", 30))  # a lease not renewed for this long is free


class BadName(ValueError):
    """A name that cannot be used; the message says why and what to do."""


def clean_name(name: str) -> str:
    """A model name made safe as a file name: letters (any script), digits, '-' and '_'; never a
    look-alike of another name (`look_alike`), nor too long for the file system. Raises BadName
    with one sentence."""
    name = unicodedata.normalize("NFC", name or "")
    kept = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name.strip())
    cleaned = re.sub(r"-{2,}", "-", kept).strip("-_")[:MAX_NAME].strip("-_")
    if not cleaned:
        raise BadName(_("Give the model a name (letters, digits, '-' or '_')."))
    if look_alike(cleaned):
        raise BadName(_("'{name}' mixes letters of different alphabets or imitates Latin letters, so it could pass "
                        "for another model's name; write it in one alphabet.", name=cleaned))
    longest = max(len(f.encode()) for f in file_names(cleaned))
    if longest > NAME_MAX_BYTES:
        raise BadName(_("'{name}' is too long once stored as a file ({n} bytes; at most {limit}); choose a "
                        "shorter name.", name=cleaned, n=longest, limit=NAME_MAX_BYTES))
    return cleaned


def file_names(name: str) -> tuple[str, ...]:
    """Every file name a model name becomes in the folder, at its longest: the checkpoint, its
    temporary file while it is written (checkpoints.save: pid and 8 random characters) and the
    reservation (named after the folded key, which NFKC can make much longer: 'ﷺ' is 18 letters)."""
    return f"{name}.pt", f".{name}.pt.{'9' * 10}.{'x' * 8}.tmp", f".{key(name)}{RESERVED}"


def look_alike(name: str) -> bool:
    """Could this name pass for another? True when it mixes scripts beyond what TR39's highly
    restrictive level allows ('lѕtm' with a Cyrillic ѕ, 'гnn'), or when it is written in another
    script entirely with letters that each look like a Latin one (whole-script confusables,
    Cyrillic 'асе' for 'ace'). Scripts and look-alikes from Unicode's own tables
    (confusable_homoglyphs: Scripts.txt and confusables.txt). Compatibility forms of Latin
    letters (full-width 'ｒｎｎ', 'ℓstm') count too: NFKC makes them plain Latin."""
    folded = unicodedata.normalize("NFKC", name)
    if folded != name and folded.isascii():
        return True
    scripts = categories.unique_aliases(name) - {"COMMON", "INHERITED"}
    if len(scripts) > 1 and not any(scripts <= mix for mix in MIXES):
        return True
    if scripts and scripts != {"LATIN"}:
        letters = [ch for ch in name if categories.alias(ch) not in ("COMMON", "INHERITED")]
        return all(confusables.is_confusable(ch, preferred_aliases=["latin"]) for ch in letters)
    return False


def key(name: str) -> str:
    """What two names must share to be the same model: case and Unicode forms folded."""
    return unicodedata.normalize("NFKC", name).casefold()


def me() -> str:
    """This process, as reservations and the lease record it: 'host pid'."""
    return f"{socket.gethostname()} {os.getpid()}"


def _alive(owner: str) -> bool:
    """Is the process that wrote `owner` ("host pid") still running? Other hosts: assume so
    (their files expire by age instead, `_stale`)."""
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

    def renew(self) -> None:
        """Still held (a long training): other hosts judge a reservation by its age."""
        with contextlib.suppress(OSError):
            os.utime(self.lock)

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
        raise BadName(_("'{name}' is the name of a shipped model, which the app never replaces. "
                        "Choose another name, e.g. 'my-{name}'.", name=name))
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / f".{key(name)}{RESERVED}"
    # The lock appears with its owner already written in it (a private file, then a hard link,
    # which fails if the name exists): nobody ever reads an empty lock and takes it for stale.
    fd, tmp = tempfile.mkstemp(prefix=f".{os.getpid()}.", suffix=".lock", dir=folder)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(me())
        for _attempt in range(2):
            try:
                os.link(tmp, lock)
                break
            except FileExistsError:
                if _stale(lock):
                    lock.unlink(missing_ok=True)
                    continue
                raise BadName(_("'{name}' is being used right now by a training or an upload in progress. "
                                "Choose another name.", name=name)) from None
        else:
            raise BadName(_("'{name}' could not be reserved; try again.", name=name))
    finally:
        os.unlink(tmp)
    existing = taken_by_file(folder, name)
    if existing is not None:
        lock.unlink(missing_ok=True)
        raise BadName(_("There is already a model called '{name}'. Choose another name; models are never replaced.",
                        name=existing.stem))
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
    raise BadName(_("No free name like '{name}' is left; choose another name.", name=base))


def _stale(lock: Path) -> bool:
    """Left by a process that is gone (this host), or not renewed for LEASE_S (another host)."""
    try:
        owner = lock.read_text()[:200].splitlines()[0] if lock.stat().st_size else ""
        if owner.split(" ")[0:1] == [socket.gethostname()]:
            return not _alive(owner)
        return time.time() - lock.stat().st_mtime > LEASE_S
    except FileNotFoundError:
        return True
    except (OSError, IndexError):
        return False


# --- the training lease -------------------------------------------------------------------

class Busy(ValueError):
    """Another process holds the training lease; `holder` is what it last wrote (name, progress)."""

    def __init__(self, holder: dict):
        super().__init__(_("another server is training '{name}'", name=holder.get("name", "?")))
        self.holder = holder


@contextlib.contextmanager
def _folder_lock(folder: Path):
    """Serialise lease changes between processes (flock on a file beside the models)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".training.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class Lease:
    """This process's right to train; `renew(info)` every few seconds, `release()` at the end."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / LEASE

    def renew(self, info: dict) -> None:
        _write_lease(self.path, info)

    def release(self) -> None:
        with _folder_lock(self.path.parent):
            if _owner_of(self.path) == me():
                self.path.unlink(missing_ok=True)


def take_lease(folder, info: dict) -> Lease:
    """The training lease of `folder`, or Busy with what its live holder last wrote."""
    folder = Path(folder)
    with _folder_lock(folder):
        holder = lease_holder(folder)
        if holder is not None:
            raise Busy(holder)
        _write_lease(folder / LEASE, info)
    return Lease(folder)


def lease_holder(folder) -> dict | None:
    """What a live lease's holder last wrote (name, model, step, total, eta_s, owner), or None."""
    path = Path(folder) / LEASE
    if not path.exists() or _stale(path):
        return None
    try:
        owner, info = path.read_text().split("\n", 1)
        return {**json.loads(info), "owner": owner}
    except (OSError, ValueError):
        return {}


def _owner_of(path: Path) -> str:
    try:
        return path.read_text()[:200].splitlines()[0]
    except (OSError, IndexError):
        return ""


def _write_lease(path: Path, info: dict) -> None:
    """First line: who holds it; then what it is doing. Replaced in one rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{os.getpid()}.", suffix=".lock", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(me() + "\n" + json.dumps(info))
        os.replace(tmp, path)
    except BaseException:  # a full disk: the old lease (or none) stays as it was, and no litter
        Path(tmp).unlink(missing_ok=True)
        raise


def clean(folder, max_age_s: float = 600) -> list[Path]:
    """Remove what dead processes left behind: stale reservations, and temporary files (a
    checkpoint being written, a lock being made: seconds at most) older than max_age_s, whoever
    made them (replicas on other hosts share the folder). Returns what went."""
    folder = Path(folder)
    gone = []
    if not folder.is_dir():
        return gone
    now = time.time()
    for p in folder.glob(f".*{RESERVED}"):
        if _stale(p):
            p.unlink(missing_ok=True)
            gone.append(p)
    for p in [*folder.glob(".*.tmp"), *folder.glob(".*.lock")]:
        if p.name == ".training.lock":  # the lease's flock file stays
            continue
        with contextlib.suppress(FileNotFoundError):
            if now - p.stat().st_mtime > max_age_s:
                p.unlink(missing_ok=True)
                gone.append(p)
    return gone
