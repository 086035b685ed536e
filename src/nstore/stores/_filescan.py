"""Walks of a FileStore's tree: sorted key listings, and sweeps of crashed writers' files.

Nothing here walks the tree on its own: a listing reads the directories it lists, and removes
there the temporary files of crashed writers it meets; :func:`sweep` walks the whole tree only
when :meth:`FileStore.sweep` asks. Only the store's own directories (names ending in a
backslash) are entered, and only temporary files (names starting with ``.nstore~tmp.``) and the
directories their removal emptied are ever removed. Both walk with an explicit stack and one
directory descriptor (:class:`~nstore.stores._filewalk.Walk`), so any depth a write reached is
listed and swept; a directory that cannot be read raises :class:`~nstore.errors.StoreError`.
"""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import os
import stat
import time
from collections.abc import Generator, Iterator

from nstore.stores._filewalk import Walk
from nstore.stores._paths import DIR_SUFFIX, TEMP_PREFIX, is_valid_name

__all__ = ["SWEEP_AGE", "iter_names", "sweep"]

#: Seconds a temporary file must have been left alone before a sweep may remove it.
SWEEP_AGE = 1.0
# O_NONBLOCK: opening a FIFO planted under the root must not hang.
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


class _Listed:
    """One listed directory on the walk's stack: its sorted names, the next one to visit."""

    __slots__ = ("after", "base", "names", "next")

    def __init__(self, base: str, names: list[str], after: str | None) -> None:
        self.base = base
        self.names = names
        self.after = after
        self.next = 0


def iter_names(
    dir_fd: int, base: str, name_prefix: str, after: str | None = None, *, clean: bool = False
) -> Generator[str, None, None]:
    """Yield ``base + name`` for every value below ``dir_fd`` whose first name starts with
    ``name_prefix``, in sorted key order, one directory listing at a time; with ``after``, only
    the keys after it, without opening the directories that hold only keys before it.

    Temporary files, the lock file, links, special files and names no key can have are skipped;
    with ``clean``, stale temporary files met in a listed directory are removed.
    """
    walk = Walk(dir_fd, base, "list")
    try:
        stack = [_Listed(base, _list(walk, base, name_prefix, after, clean), after)]
        while stack:
            top = stack[-1]
            if top.next == len(top.names):
                stack.pop()
                continue
            name = top.names[top.next]
            top.next += 1
            # A directory is listed as "name/", which sorts its keys where they belong among files.
            if not name.endswith("/"):
                if top.after is None or top.base + name > top.after:
                    yield top.base + name
                continue
            if not walk.up_to(len(stack) - 1):
                # This directory was removed since it was listed: so were the ones in it.
                top.names = [n for n in top.names[top.next :] if not n.endswith("/")]
                top.next = 0
                continue
            if walk.down(name[:-1] + DIR_SUFFIX):
                sub = top.base + name
                inner = top.after if top.after is not None and top.after.startswith(sub) else None
                stack.append(_Listed(sub, _list(walk, sub, "", inner, clean), inner))
    finally:
        walk.close()


def _list(walk: Walk, base: str, name_prefix: str, after: str | None, clean: bool) -> list[str]:
    """The sorted names of the walk's directory (directories as "name/"), from ``after`` on."""
    temps: list[str] | None = [] if clean else None
    names = sorted(walk.scan(lambda entries: list(_listed(entries, name_prefix, temps))))
    for name in temps or ():
        _remove_if_stale(walk.fd, name)
    if after is not None:
        # Keys below "name/" are all before ``after`` when "name/" is, unless it starts them.
        start = bisect.bisect_right(names, after[len(base) :]) if after.startswith(base) else 0
        if start and names[start - 1].endswith("/") and after.startswith(base + names[start - 1]):
            start -= 1  # the directory ``after`` is in: resume inside it
        names = names[start:] if after.startswith(base) or after < base else []
    return names


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


class _Swept:
    """One directory on a sweep's stack: its name on disk, the directories in it still to sweep,
    and whether the sweep removed something from it."""

    __slots__ = ("dirs", "emptied", "name")

    def __init__(self, name: str, dirs: list[str], emptied: bool) -> None:
        self.name = name
        self.dirs = dirs
        self.emptied = emptied


def sweep(root_fd: int) -> int:
    """Remove the temporary files whose writer is gone from the whole tree; return the count.

    A writer holds a lock on its temporary file until it has closed it, so a file that can be
    locked here, and was last written over :data:`SWEEP_AGE` seconds ago, belongs to a crashed
    writer. A writer that waited longer than that between its close and its rename finds its file
    gone and writes again. A store directory that this emptied is removed too; no other is.
    """
    walk = Walk(root_fd, "", "sweep")
    removed = [0]
    try:
        stack = [_sweep_here(walk, "", removed)]
        while stack:
            top = stack[-1]
            depth = len(stack) - 1
            if top.dirs:
                name = top.dirs.pop()
                if walk.up_to(depth) and walk.down(name):
                    stack.append(_sweep_here(walk, name, removed))
                continue
            stack.pop()
            # Bottom-up: a directory whose last temporary file this removed is removed in turn.
            if stack and top.emptied and walk.up_to(depth) and _is_empty(walk) and walk.up_to(depth - 1):
                with contextlib.suppress(OSError):  # refilled, or gone: either is fine
                    os.rmdir(top.name, dir_fd=walk.fd)
                    stack[-1].emptied = True
    finally:
        walk.close()
    return removed[0]


def _sweep_here(walk: Walk, name: str, removed: list[int]) -> _Swept:
    """Remove the stale temporary files of the walk's directory; return its frame."""
    entries = walk.scan(lambda it: [(e.name, e.is_dir(follow_symlinks=False)) for e in it])
    emptied = False
    for entry, is_dir in entries:
        if not is_dir and entry.startswith(TEMP_PREFIX) and _remove_if_stale(walk.fd, entry):
            removed[0] += 1
            emptied = True
    dirs = sorted((entry for entry, is_dir in entries if is_dir and entry.endswith(DIR_SUFFIX)), reverse=True)
    return _Swept(name, dirs, emptied)


def _is_empty(walk: Walk) -> bool:
    return walk.scan(lambda it: next(it, None) is None)


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
