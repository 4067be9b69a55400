"""Atomic file writes: write to a temp file in the same folder, then ``os.replace``.

A crash or kill midway leaves either the old file or no file, never half a file. The temp file is named
``.<name>.<pid>.<random>.part`` and the writer holds an exclusive ``flock`` on it while writing. A kill leaves
the temp file behind; the next write into the same folder removes such leftovers, but only files of exactly
this pattern whose lock it can take and whose process is gone, so two processes writing into one folder never
delete each other's temp files.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import re
import secrets
import time
from collections.abc import Iterator
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, no stale clean-up
    fcntl = None

#: Temp files this module writes: ``.<name>.<pid>.<8 hex>.part``.
TEMP_PATTERN = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.(?P<token>[0-9a-f]{8})\.part$")
#: Temp files of the old naming (``tempfile.mkstemp``: ``.<name>.<8 random chars>.part``) carry no pid; they
#: are removed only when their lock can be taken and they are older than this (a writer of the old code never
#: held a lock, so age is the only sign it is gone).
LEGACY_TEMP_PATTERN = re.compile(r"^\.(?P<name>.+)\.(?P<token>[a-z0-9_]{8})\.part$")
LEGACY_MIN_AGE_S = 24 * 3600.0


#: A folder is scanned for stale temp files at most once per this many seconds per process.
RESCAN_AFTER_S = 60.0
#: Folder -> when this process last scanned it (``time.monotonic``).
_CLEANED: dict[str, float] = {}


def _temp_name(path: str) -> str:
    return os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}.{secrets.token_hex(4)}.part")


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` runs (ours, or anyone's we may not signal)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    except OSError:
        return False
    return True


def _try_remove_locked(path: str) -> bool:
    """Delete ``path`` if we can take its exclusive lock without waiting (no live writer holds it)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False  # a live writer holds it
            raise
        st = os.fstat(fd)
        try:
            current = os.lstat(path)
        except FileNotFoundError:
            return False
        if (current.st_ino, current.st_dev) != (st.st_ino, st.st_dev):
            return False  # replaced between our open and our lock
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def remove_stale_temp_files(folder: str | os.PathLike) -> list[str]:
    """Remove temp files killed writers left in ``folder``; returns the paths removed.

    Only names of :data:`TEMP_PATTERN` whose process is gone and whose lock can be taken (legacy names: lock
    free and older than :data:`LEGACY_MIN_AGE_S`). Regular files only; errors are ignored (best effort).
    """
    import stat

    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        name = entry.name
        if not (name.startswith(".") and name.endswith(".part")):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        m = TEMP_PATTERN.match(name)
        if m:
            if pid_alive(int(m.group("pid"))):
                continue
        elif not (LEGACY_TEMP_PATTERN.match(name) and now - st.st_mtime > LEGACY_MIN_AGE_S):
            continue
        if _try_remove_locked(entry.path):
            removed.append(entry.path)
    return removed


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, binary: bool = False, encoding: str = "utf-8") -> Iterator[IO]:
    """Open a temp file beside ``path`` for writing; on success it replaces ``path`` atomically.

    On any exception the temp file is removed and ``path`` is untouched. Stale temp files of killed writers in
    the same folder are removed first (at most once a minute per folder; see :func:`remove_stale_temp_files`).
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    now = time.monotonic()
    if now - _CLEANED.get(folder, -math.inf) > RESCAN_AFTER_S:  # a batch of 10,000 writes scans once
        _CLEANED[folder] = now
        remove_stale_temp_files(folder)
    tmp = _temp_name(os.path.join(folder, os.path.basename(path)))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)  # held until the file is closed: tells clean-up a writer is alive
        f = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding=encoding, newline="")
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    try:
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
            os.chmod(tmp, _default_mode())  # created 0600; a written file gets the usual umask permissions
            os.replace(tmp, path)  # renamed while still locked
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _read_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


# Read once at import: os.umask can only be read by setting it, which is not thread-safe later on.
_UMASK = _read_umask()


def _default_mode() -> int:
    return 0o666 & ~_UMASK


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path, binary=True) as f:
        f.write(data)
