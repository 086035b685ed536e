"""Walks of a FileStore's tree: sorted key listings, and sweeps of crashed writers' files.

Nothing here walks the tree on its own: a listing reads the directories it lists, and removes
there the temporary files of crashed writers it meets; :func:`sweep` walks the whole tree only
when :meth:`FileStore.sweep` asks. Only the store's own directories (names ending in a
backslash) are entered, and only temporary files (names starting with ``.nstore~tmp.``) and the
directories their removal emptied are ever removed.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import fcntl
import os
import stat
import time
from collections.abc import Generator, Iterator

from nstore.errors import StoreError
from nstore.stores._paths import DIR_FLAGS, DIR_SUFFIX, TEMP_PREFIX, is_valid_name

__all__ = ["SWEEP_AGE", "iter_names", "sweep"]

#: Seconds a temporary file must have been left alone before a sweep may remove it.
SWEEP_AGE = 1.0
# O_NONBLOCK: opening a FIFO planted under the root must not hang.
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
# Opening a listed directory fails with these when it is no longer one of the store's directories:
# removed by a concurrent delete that emptied it (ENOENT), or since replaced by a file (ENOTDIR) or
# a symbolic link (ELOOP, from O_NOFOLLOW), which a listing skips as it skips planted ones.
# Any other failure (EACCES, EMFILE, EIO, ...) would silently leave keys out: it raises.
_GONE = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ELOOP})


def iter_names(
    dir_fd: int, base: str, name_prefix: str, after: str | None = None, *, clean: bool = False
) -> Generator[str, None, None]:
    """Yield ``base + name`` for every value below ``dir_fd`` whose first name starts with
    ``name_prefix``, in sorted key order, one directory listing at a time; with ``after``, only
    the keys after it, without opening the directories that hold only keys before it.

    Temporary files, the lock file, links, special files and names no key can have are skipped;
    with ``clean``, stale temporary files met in a listed directory are removed.
    """
    # A fresh description per listing: scandir shares the position of the descriptor it is given.
    try:
        fd = os.open(".", DIR_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        raise scan_error(exc, base, "list") from None
    try:
        temps: list[str] | None = [] if clean else None
        try:
            with os.scandir(fd) as entries:
                names = sorted(_listed(entries, name_prefix, temps))
        except OSError as exc:
            raise scan_error(exc, base, "list") from None
        if temps:
            for name in temps:
                _remove_if_stale(fd, name)
        if after is not None:
            # Keys below "name/" are all before ``after`` when "name/" is, unless it starts them.
            start = bisect.bisect_right(names, after[len(base) :]) if after.startswith(base) else 0
            if start and names[start - 1].endswith("/") and after.startswith(base + names[start - 1]):
                start -= 1  # the directory ``after`` is in: resume inside it
            names = names[start:] if after.startswith(base) or after < base else []
        # A directory is listed as "name/", which sorts its keys where they belong among the files.
        for name in names:
            if not name.endswith("/"):
                if after is None or base + name > after:
                    yield base + name
                continue
            try:
                sub = os.open(name[:-1] + DIR_SUFFIX, DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in _GONE:
                    continue  # removed or replaced since the listing (see _GONE)
                raise scan_error(exc, base + name, "list") from None
            try:
                inner = after if after is not None and after.startswith(base + name) else None
                yield from iter_names(sub, base + name, "", inner, clean=clean)
            finally:
                os.close(sub)
    finally:
        os.close(fd)


def _listed(entries: Iterator[os.DirEntry[str]], name_prefix: str, temps: list[str] | None) -> Iterator[str]:
    for entry in entries:
        name = entry.name
        if entry.is_dir(follow_symlinks=False):
            if name.endswith(DIR_SUFFIX):
                name = name[:-1]
                if name.startswith(name_prefix) and is_valid_name(name):
                    yield name + "/"
        elif name.startswith(name_prefix) and is_valid_name(name) and entry.is_file(follow_symlinks=False):
            yield name
        elif temps is not None and name.startswith(TEMP_PREFIX):
            temps.append(name)


def sweep(root_fd: int) -> int:
    """Remove the temporary files whose writer is gone from the whole tree; return the count.

    A writer holds a lock on its temporary file until it has closed it, so a file that can be
    locked here, and was last written over :data:`SWEEP_AGE` seconds ago, belongs to a crashed
    writer. A writer that waited longer than that between its close and its rename finds its file
    gone and writes again. A store directory that this emptied is removed too; no other is.
    """
    return _sweep_dir(root_fd, "")[0]


def _sweep_dir(dir_fd: int, base: str) -> tuple[int, bool]:
    """Sweep one directory; return the count and whether this emptied it."""
    removed = 0
    emptied = False
    try:
        fd = os.open(".", DIR_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        raise scan_error(exc, base, "sweep") from None
    try:
        try:
            with os.scandir(fd) as it:
                entries = [(e.name, e.is_dir(follow_symlinks=False)) for e in it]
        except OSError as exc:
            raise scan_error(exc, base, "sweep") from None
        for name, is_dir in entries:
            if is_dir and name.endswith(DIR_SUFFIX):
                sub_base = base + name[:-1] + "/"
                try:
                    sub = os.open(name, DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    if exc.errno in _GONE:
                        continue  # removed or replaced since the listing (see _GONE)
                    raise scan_error(exc, sub_base, "sweep") from None
                try:
                    count, sub_emptied = _sweep_dir(sub, sub_base)
                finally:
                    os.close(sub)
                removed += count
                if sub_emptied:
                    with contextlib.suppress(OSError):  # refilled, or gone: either is fine
                        os.rmdir(name, dir_fd=fd)
                        emptied = True
            elif not is_dir and name.startswith(TEMP_PREFIX) and _remove_if_stale(fd, name):
                removed += 1
                emptied = True
        if emptied:
            with os.scandir(fd) as it:
                emptied = next(it, None) is None
    finally:
        os.close(fd)
    return removed, emptied


def scan_error(exc: OSError, base: str, action: str) -> StoreError:
    """Wrap an OS error met while walking the directory of the keys under ``base`` ("" for the
    root); like every FileStore error it names keys, never a path."""
    code = errno.errorcode.get(exc.errno or 0, "?")
    where = f"the keys under {base!r}" if base else "the keys at the store's root"
    hint = _HINTS.get(exc.errno or 0, "")
    return StoreError(f"Could not {action} {where}: {exc.strerror} ({code}).{hint}")


_HINTS = {
    errno.EACCES: " Give this process read and search permission on the store's directories.",
    errno.EPERM: " Give this process read and search permission on the store's directories.",
    errno.EMFILE: " Too many files are open in this process: close some, or raise its limit (ulimit -n).",
    errno.ENFILE: " Too many files are open on this system: close some, or raise its limit.",
}


def _remove_if_stale(dir_fd: int, name: str) -> bool:
    try:
        fd = os.open(name, _OPEN_FLAGS, dir_fd=dir_fd)
    except OSError:
        return False
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return False  # never the store's: it only makes regular files
        if time.time() - info.st_mtime < SWEEP_AGE:
            return False  # maybe a writer between its close and its rename: leave it for later
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # a live writer holds it
    else:
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=dir_fd)
        return True
    finally:
        os.close(fd)
