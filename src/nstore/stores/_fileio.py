"""The file operations under FileStore: crash-safe temporary files, reads, the root lock, sweeps.

Every function works relative to directory descriptors opened by :mod:`nstore.stores._paths`, so
no path is ever resolved twice and no symbolic link is followed.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import secrets
import stat

from nstore.errors import InvalidKey, MissingKey, StoreError
from nstore.stores._paths import (
    LOCK_NAME,
    TEMP_PREFIX,
    Retry,
    file_type,
    link_refused,
    store_error,
)

__all__ = [
    "RootLock",
    "discard",
    "fsync_dir",
    "link_temp",
    "read_value",
    "refuse_special",
    "write_temp",
]

_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO planted under the root must not hang; regular files ignore it.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_FILE_MODE = 0o666  # narrowed by the umask, as for any file
_TOKEN = secrets.token_hex(4)  # tells apart processes with the same pid (containers, hosts)
_counter = itertools.count()


def write_temp(dir_fd: int, data: bytes, durable: bool, key: str) -> str:
    """Write ``data`` to a new temporary file in ``dir_fd``, fsync it if ``durable``, close it.

    Return its name. The file is locked while it is written, which tells a concurrent
    :func:`sweep` that its writer is alive. On any failure the file is removed and the error
    raised; a failed fsync is never retried, because the kernel may have dropped the dirty pages
    and a second fsync would report success for data that is gone.
    """
    while True:
        name = f"{TEMP_PREFIX}{os.getpid()}.{next(_counter)}.{_TOKEN}"
        try:
            fd = os.open(name, _WRITE_FLAGS, _FILE_MODE, dir_fd=dir_fd)
            break
        except FileExistsError:
            continue
        except FileNotFoundError:
            raise Retry from None  # the directory was removed by a concurrent delete
        except OSError as exc:
            raise store_error(exc, key, "write") from None
    action = "write"
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        written = os.write(fd, data)
        if written < len(data):
            view = memoryview(data)
            while written < len(data):
                written += os.write(fd, view[written:])
        if durable:
            action = "fsync the new value of"
            os.fsync(fd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.close(fd)
        _discard(dir_fd, name)
        raise _failed(exc, key, action) from None
    try:
        os.close(fd)
    except OSError as exc:
        _discard(dir_fd, name)
        raise _failed(exc, key, "close the new value of") from None
    return name


def _failed(exc: OSError, key: str, action: str) -> StoreError:
    error = store_error(exc, key, action)
    error.args = (f"{error} The value was not stored; the previous value, if any, is intact.",)
    return error


def _discard(dir_fd: int, name: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(name, dir_fd=dir_fd)


def discard(dir_fd: int, name: str) -> None:
    """Remove a temporary file, ignoring a file already gone."""
    _discard(dir_fd, name)


def link_temp(dir_fd: int, tmp: str, name: str, key: str) -> bool:
    """Publish ``tmp`` as ``name`` only if ``name`` does not exist; return whether it did not."""
    try:
        os.link(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
    except FileExistsError:
        if file_type(dir_fd, name, key) == stat.S_IFDIR:
            raise refuse_special(key) from None
        return False
    except FileNotFoundError:
        raise Retry from None  # a sweep took the temporary file: write again
    except OSError as exc:
        raise store_error(exc, key, "write") from None
    finally:
        _discard(dir_fd, tmp)
    return True


def read_value(dir_fd: int, name: str, key: str) -> bytes:
    """Read the whole file ``name``; a directory there is a missing key, a link is refused."""
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        raise MissingKey(key) from None
    except OSError as exc:
        file_type(dir_fd, name, key)  # a link (ELOOP), socket (ENXIO), ... raises InvalidKey
        raise store_error(exc, key, "read") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            if stat.S_ISDIR(info.st_mode):
                raise MissingKey(key)
            raise link_refused(key)
        size = info.st_size
        # Values are never modified in place (only replaced), so the size is the size to read.
        data = os.read(fd, size) if size else b""
        if len(data) < size:
            chunks = [data]
            got = len(data)
            while got < size and (chunk := os.read(fd, size - got)):
                chunks.append(chunk)
                got += len(chunk)
            data = b"".join(chunks)
        return data
    except OSError as exc:
        raise store_error(exc, key, "read") from None
    finally:
        os.close(fd)


def fsync_dir(fd: int, key: str) -> None:
    """fsync a directory after a rename or unlink in it; a failure is raised, never retried."""
    try:
        os.fsync(fd)
    except OSError as exc:
        error = store_error(exc, key, "fsync the directory of")
        error.args = (f"{error} The change is visible but may not survive a power loss.",)
        raise error from None


class RootLock:
    """A lock file in the root: conditional writes take it exclusively, other changes shared.

    ``flock`` locks belong to an open file description, so each holder uses its own: a pool of
    descriptors, one per concurrent holder, makes the lock work between threads as well as
    between processes. A forked child drops the pool it inherited, whose descriptions it shares
    with its parent.
    """

    __slots__ = ("_free", "_pid", "_root_fd")

    def __init__(self, root_fd: int) -> None:
        self._root_fd = root_fd
        self._free: list[int] = []
        self._pid = os.getpid()
        # The lock file is created by the first change that takes the lock, not on open: opening
        # a store (or only reading it) writes nothing under the root.

    def _open(self) -> int:
        try:
            return os.open(
                LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666, dir_fd=self._root_fd
            )
        except OSError as exc:
            raise StoreError(f"Could not open the store's lock file: {exc.strerror}.") from None

    def acquire(self, exclusive: bool) -> int:
        if self._pid != os.getpid():
            inherited, self._free, self._pid = self._free, [], os.getpid()
            for fd in inherited:  # closing our copy leaves the parent's locks alone
                os.close(fd)
        try:
            fd = self._free.pop()
        except IndexError:
            fd = self._open()
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        return fd

    def release(self, fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        self._free.append(fd)

    def close(self) -> None:
        free, self._free = self._free, []
        if self._pid == os.getpid():
            for fd in free:
                os.close(fd)


def refuse_special(key: str) -> InvalidKey:
    """The error for a key that names a directory where a value is expected in a write."""
    return InvalidKey(
        f"Key {key!r} names a directory of other keys; a key cannot be both a value and a "
        "directory of keys. Delete the keys below it first."
    )
