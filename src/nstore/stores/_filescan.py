"""Walks of a FileStore's tree: sorted key listings, and the sweep of crashed writers' files."""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import os
import time
from collections.abc import Generator, Iterator

from nstore.stores._paths import DIR_FLAGS, DIR_SUFFIX, TEMP_PREFIX, is_valid_name

__all__ = ["SWEEP_AGE", "iter_names", "sweep"]

#: Seconds a temporary file must have been left alone before a sweep may remove it.
SWEEP_AGE = 1.0
# O_NONBLOCK: opening a FIFO planted under the root must not hang.
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


def iter_names(
    dir_fd: int, base: str, name_prefix: str, after: str | None = None
) -> Generator[str, None, None]:
    """Yield ``base + name`` for every value below ``dir_fd`` whose first name starts with
    ``name_prefix``, in sorted key order, one directory listing at a time; with ``after``, only
    the keys after it, without opening the directories that hold only keys before it.

    Temporary files, the lock file, links, special files and names no key can have are skipped.
    """
    # A fresh description per listing: scandir shares the position of the descriptor it is given.
    fd = os.open(".", DIR_FLAGS, dir_fd=dir_fd)
    try:
        with os.scandir(fd) as entries:
            names = sorted(_listed(entries, name_prefix))
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
            except OSError:
                continue  # removed or replaced since the listing
            try:
                inner = after if after is not None and after.startswith(base + name) else None
                yield from iter_names(sub, base + name, "", inner)
            finally:
                os.close(sub)
    finally:
        os.close(fd)


def _listed(entries: Iterator[os.DirEntry[str]], name_prefix: str) -> Iterator[str]:
    for entry in entries:
        name = entry.name
        if entry.is_dir(follow_symlinks=False):
            if name.endswith(DIR_SUFFIX):
                name = name[:-1]
                if name.startswith(name_prefix) and is_valid_name(name):
                    yield name + "/"
        elif name.startswith(name_prefix) and is_valid_name(name) and entry.is_file(follow_symlinks=False):
            yield name


def sweep(root_fd: int) -> int:
    """Remove temporary files whose writer is gone, and empty directories; return the count.

    A writer holds a lock on its temporary file until it has closed it, so a file that can be
    locked here, and was last written over :data:`SWEEP_AGE` seconds ago, belongs to a crashed
    writer. A writer that waited longer than that between its close and its rename finds its file
    gone and writes again.
    """
    return _sweep_dir(root_fd)


def _sweep_dir(dir_fd: int) -> int:
    removed = 0
    fd = os.open(".", DIR_FLAGS, dir_fd=dir_fd)
    try:
        with os.scandir(fd) as it:
            entries = [(e.name, e.is_dir(follow_symlinks=False)) for e in it]
        for name, is_dir in entries:
            if is_dir:
                try:
                    sub = os.open(name, DIR_FLAGS, dir_fd=fd)
                except OSError:
                    continue
                try:
                    removed += _sweep_dir(sub)
                finally:
                    os.close(sub)
                with contextlib.suppress(OSError):  # not empty, or gone: either is fine
                    os.rmdir(name, dir_fd=fd)
            elif name.startswith(TEMP_PREFIX) and _remove_if_stale(fd, name):
                removed += 1
    finally:
        os.close(fd)
    return removed


def _remove_if_stale(dir_fd: int, name: str) -> bool:
    try:
        fd = os.open(name, _OPEN_FLAGS, dir_fd=dir_fd)
    except OSError:
        return False
    try:
        if time.time() - os.fstat(fd).st_mtime < SWEEP_AGE:
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
