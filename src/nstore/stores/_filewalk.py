"""A walk through a FileStore's tree that holds one directory descriptor, at any depth.

Listings and sweeps go down into a directory by name (``openat`` with ``O_NOFOLLOW``, as every
FileStore path) and back up through ``..``, so neither Python's recursion limit nor the limit on
open files bounds the depth they reach: a walk keeps one descriptor of its own open between steps,
two for an instant while it moves. Going up is checked: the directory ``..`` leads to must be the
one the walk came down from (same device and inode); if a concurrent rename moved a directory, the
walk opens its way down again from where it started, by name, so it never leaves the tree.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from typing import TypeVar

from nstore.errors import StoreError
from nstore.stores._paths import DIR_FLAGS

__all__ = ["GONE", "Walk", "scan_error"]

T = TypeVar("T")

# Opening a listed directory fails with these when it is no longer one of the store's directories:
# removed by a concurrent delete that emptied it (ENOENT), or since replaced by a file (ENOTDIR) or
# a symbolic link (ELOOP, from O_NOFOLLOW), which a walk skips as it skips planted ones. Any other
# failure (EACCES, EMFILE, EIO, ...) would silently leave keys out: it raises a StoreError.
GONE = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ELOOP})

_HINTS = {
    errno.EACCES: " Give this process read and search permission on the store's directories.",
    errno.EPERM: " Give this process read and search permission on the store's directories.",
    errno.EMFILE: " Too many files are open in this process: close some, or raise its limit (ulimit -n).",
    errno.ENFILE: " Too many files are open on this system: close some, or raise its limit.",
}


def scan_error(exc: OSError, base: str, action: str) -> StoreError:
    """Wrap an OS error met in the directory of the keys under ``base`` ("" for the root); like
    every FileStore error it names keys, never a path."""
    code = errno.errorcode.get(exc.errno or 0, "?")
    where = f"the keys under {base!r}" if base else "the keys at the store's root"
    hint = _HINTS.get(exc.errno or 0, "")
    return StoreError(f"Could not {action} {where}: {exc.strerror} ({code}).{hint}")


def _ident(fd: int) -> tuple[int, int]:
    info = os.fstat(fd)
    return info.st_dev, info.st_ino


class Walk:
    """A position in the tree below ``start_fd`` (which the caller keeps open), with its own
    descriptor :attr:`fd`; ``base`` is the key prefix of the start ("" for the root) and
    ``action`` the verb of error messages ("list", "sweep")."""

    __slots__ = ("_action", "_base", "_idents", "_names", "_start", "fd")

    def __init__(self, start_fd: int, base: str, action: str) -> None:
        self._start = start_fd
        self._base = base
        self._action = action
        self._names: list[str] = []  # the directories' names on disk, from the start down
        # A fresh description: scandir shares the position of the descriptor it is given.
        self.fd = self._open(".", start_fd)
        self._idents = [self._ident(self.fd)]

    @property
    def depth(self) -> int:
        """How many directories below the start the walk is."""
        return len(self._names)

    def where(self, child: str = "") -> str:
        """The key prefix of the walk's directory (or of its directory ``child``, a name on disk)."""
        names = [*self._names, child] if child else self._names
        return self._base + "".join(name[:-1] + "/" for name in names)

    def scan(self, read: Callable[[Iterator[os.DirEntry[str]]], T]) -> T:
        """``read`` the entries of the walk's directory."""
        try:
            with os.scandir(self.fd) as entries:
                return read(entries)
        except OSError as exc:
            raise scan_error(exc, self.where(), self._action) from None

    def down(self, name: str) -> bool:
        """Go into the directory ``name``; False if it is gone (see :data:`GONE`)."""
        try:
            sub = os.open(name, DIR_FLAGS, dir_fd=self.fd)
        except OSError as exc:
            if exc.errno in GONE:
                return False
            raise scan_error(exc, self.where(name), self._action) from None
        try:
            ident = self._ident(sub)
        except BaseException:
            os.close(sub)
            raise
        os.close(self.fd)
        self.fd = sub
        self._names.append(name)
        self._idents.append(ident)
        return True

    def up_to(self, depth: int) -> bool:
        """Go back up to the directory ``depth`` levels below the start; False if it is gone."""
        if len(self._names) < depth:
            return False  # a way down again failed above it: it is gone as well
        while len(self._names) > depth:
            parent = self._open("..", self.fd)
            try:
                moved = self._ident(parent) != self._idents[-2]
            except BaseException:
                os.close(parent)
                raise
            if moved:
                os.close(parent)  # a directory was moved: open the way down again by name
                return self._reopen(depth)
            os.close(self.fd)
            self.fd = parent
            self._names.pop()
            self._idents.pop()
        return True

    def close(self) -> None:
        os.close(self.fd)

    def _reopen(self, depth: int) -> bool:
        names = self._names[:depth]
        fd = self._open(".", self._start)
        os.close(self.fd)
        self.fd = fd
        self._names, self._idents = [], [self._ident(fd)]
        return all(self.down(name) for name in names)

    def _open(self, name: str, dir_fd: int) -> int:
        try:
            return os.open(name, DIR_FLAGS, dir_fd=dir_fd)
        except OSError as exc:
            raise scan_error(exc, self.where(), self._action) from None

    def _ident(self, fd: int) -> tuple[int, int]:
        try:
            return _ident(fd)
        except OSError as exc:
            raise scan_error(exc, self.where(), self._action) from None
