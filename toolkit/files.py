"""Files that hold recipient data, created readable by their owner only whatever the umask.

Stores, caches and exports go through these helpers: a new file is 0600 and a folder the
toolkit makes is 0700, so other accounts on a shared machine cannot read them. An existing
file the toolkit opens is narrowed to its owner when the current user owns it.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
_POSIX = os.name == "posix"


def _owned(st: os.stat_result) -> bool:
    return not _POSIX or st.st_uid == os.geteuid()


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Make a folder and its missing parents, each new one 0700; return it.

    Folders that exist already are left as they are. Raises OSError as Path.mkdir does
    (NotADirectoryError or FileExistsError where a file is in the way).
    """
    target = Path(path).expanduser()
    missing = []
    p = target
    while not p.is_dir():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, PRIVATE_DIR)
        except FileExistsError:
            if folder.is_dir():  # made meanwhile by someone else
                continue
            raise
        if _POSIX:
            os.chmod(folder, PRIVATE_DIR)  # the umask may have narrowed the owner's bits too
    return target


def tighten(path: str | os.PathLike[str]) -> None:
    """Take away group and other access from an existing file the current user owns."""
    if not _POSIX:
        return
    try:
        st = os.stat(path)
    except OSError:
        return
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077 and _owned(st):
        try:
            os.chmod(path, mode & 0o700)
        except OSError as exc:
            log.debug("could not narrow the permissions of %s (%s)", path, exc)


def private_file(path: str | os.PathLike[str]) -> Path:
    """Create the file empty and 0600 if it is missing, else make it 0600 (when owned), keeping
    its content; return its path. Anything that opens it for writing afterwards keeps 0600."""
    target = Path(path).expanduser()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE)
    try:
        if _POSIX and _owned(os.fstat(fd)):
            os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return target


def write_private_text(
    path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8", newline: str | None = None
) -> Path:
    """Write text to a file that is 0600 (new or replaced content); return its path."""
    target = Path(path).expanduser()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    try:
        if _POSIX and _owned(os.fstat(fd)):
            os.fchmod(fd, PRIVATE_FILE)
        handle = open(fd, "w", encoding=encoding, newline=newline)  # noqa: SIM115
    except BaseException:
        os.close(fd)
        raise
    with handle:
        handle.write(text)
    return target


SQLITE_SIDECARS = ("-wal", "-shm", "-journal")


def tighten_sqlite(path: str | os.PathLike[str]) -> None:
    """tighten() a SQLite file and its -wal, -shm and -journal files (SQLite gives new ones
    the permissions of the database file)."""
    for suffix in ("", *SQLITE_SIDECARS):
        tighten(f"{os.fspath(path)}{suffix}")
