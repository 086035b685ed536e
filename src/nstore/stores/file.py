"""FileStore: one file per key under a root directory, crash-safe and safe for many processes."""

from __future__ import annotations

import contextlib
import os
import stat
import weakref
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from itertools import islice
from pathlib import Path

from nstore.errors import (
    ConfigurationError,
    InvalidKey,
    MissingKey,
    ReadOnlyError,
    StoreClosed,
    UnsupportedOperation,
)
from nstore.store import KeyPage, Store, check_limit, cursor_after, item_pairs
from nstore.stores._fileargs import check_prefix, root_path
from nstore.stores._fileio import RootLock, link_temp, read_value
from nstore.stores._fileops import RootOps
from nstore.stores._filescan import iter_names, sweep
from nstore.stores._paths import close_all, open_dirs, split_dirs, split_key
from nstore.stores._values import as_bytes

__all__ = ["FileStore"]


class FileStore(RootOps, Store[str, bytes]):
    """A store of ``bytes`` values in one file per key under ``root``.

    ``/`` in a key makes subdirectories, created on write and removed when a delete leaves them
    empty. A write goes to a temporary file in the key's directory, is fsynced, renamed over the
    key's file and the directory is fsynced, so a reader sees the old value or the new one, never
    a mix, and a write that returned survives a crash or power loss. ``durable=False`` skips the
    fsyncs (a cache): writes stay atomic but recent ones may vanish in a power loss.

    Several processes may read and write one root at once. Keys that could escape the root or
    collide with the store's files raise :class:`~nstore.errors.InvalidKey`, and no symbolic link
    under the root is ever followed. Opening reads nothing but the root itself. Temporary files
    left by a crash are removed by listings of their directory and by :meth:`sweep`.

    Values do not expire (:attr:`supports_ttl` is False): a key's file holds its value and nothing
    else, as other tools read it, so there is no place for a deadline. A ``ttl=`` given to
    :meth:`set`, :meth:`set_many` or :meth:`touch` raises
    :class:`~nstore.errors.UnsupportedOperation`; for values that expire on disk use
    :class:`~nstore.stores.sqlite.SQLiteStore`.

    Parameters
    ----------
    root
        The directory holding the store; created if missing. A path, not a URL (for a URL use
        :func:`nstore.open`); a relative one is taken from the working directory at construction
        (:attr:`root` is absolute).
    durable
        fsync every change before it returns (the default).
    read_only
        Change nothing on disk: the root must exist, no lock file is made, no stale file is
        swept, and every write raises :class:`~nstore.errors.ReadOnlyError`.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp, FileStore(tmp) as store:
    ...     store["users/ada"] = b"Lovelace"
    ...     store.set_if_absent("users/ada", b"other")
    ...     sorted(store.keys(prefix="users/"))
    False
    ['users/ada']
    """

    __slots__ = ("__weakref__", "_closed", "_read_only", "_release", "_root")

    def __init__(
        self, root: str | os.PathLike[str], durable: bool = True, *, read_only: bool = False
    ) -> None:
        self._root = Path(root_path(root))
        self._durable = bool(durable)
        self._read_only = bool(read_only)
        self._closed = True
        try:
            if not self._read_only:
                self._root.mkdir(parents=True, exist_ok=True)
            self._root_fd = os.open(self._root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            wanted = (
                "an existing directory"
                if self._read_only
                else "a directory (or a path where one can be created)"
            )
            raise ConfigurationError(
                f"Expected {wanted} for the FileStore root. Got {str(root)!r}, which failed: {exc.strerror}."
            ) from None
        self._lock = RootLock(self._root_fd)
        # A store dropped without close() gives its descriptors back when it is collected.
        self._release = weakref.finalize(self, _release, self._lock, self._root_fd)
        self._closed = False

    @property
    def root(self) -> Path:
        """The directory holding the store, as an absolute path."""
        return self._root

    @property
    def read_only(self) -> bool:
        """True if this store was opened with ``read_only=True``: it changes nothing on disk."""
        return self._read_only

    @property
    def durable(self) -> bool:
        """True if every change is fsynced before it returns."""
        return self._durable

    # -- reads ------------------------------------------------------------------------------------

    def __getitem__(self, key: str, /) -> bytes:
        if self._closed:
            raise self._closed_error()
        dirs, name = split_key(key)
        if not dirs:
            return read_value(self._root_fd, name, key)
        fds, _ = open_dirs(self._root_fd, dirs, key, create=False)
        try:
            return read_value(fds[-1], name, key)
        finally:
            close_all(fds)

    def __contains__(self, key: object, /) -> bool:
        if self._closed:
            raise self._closed_error()
        if not isinstance(key, str):
            return False
        try:
            dirs, name = split_key(key)
            fds, _ = open_dirs(self._root_fd, dirs, key, create=False)
        except (InvalidKey, MissingKey):
            return False
        try:
            mode = os.stat(name, dir_fd=fds[-1] if fds else self._root_fd, follow_symlinks=False).st_mode
        except OSError:
            return False
        finally:
            close_all(fds)
        return stat.S_ISREG(mode)

    def get_many(self, keys: Iterable[str], /) -> dict[str, bytes]:
        # Keys of one directory are read through one walk to it.
        found: dict[str, bytes] = {}
        for dirs, names in self._group(keys).items():
            try:
                fds, _ = open_dirs(self._root_fd, list(dirs), names[0][1], create=False)
            except MissingKey:
                continue
            try:
                dir_fd = fds[-1] if fds else self._root_fd
                for name, key in names:
                    with contextlib.suppress(MissingKey):
                        found[key] = read_value(dir_fd, name, key)
            finally:
                close_all(fds)
        return found

    def iter_keys(self, prefix: str | None = None) -> Iterator[str]:
        # docstring inherited; keys come in sorted order, and only the prefix's directory is read.
        if self._closed:
            raise self._closed_error()
        return self._iter_from(check_prefix(prefix), None)

    def keys_page(
        self, prefix: str | None = None, *, cursor: str | None = None, limit: int = 1000
    ) -> KeyPage[str]:
        # docstring inherited; the sorted walk resumes after the cursor, opening no directory
        # that holds only keys before it
        check_limit(limit)
        if self._closed:
            raise self._closed_error()
        prefix = check_prefix(prefix)
        after = cursor_after(cursor, prefix)
        walk = self._iter_from(prefix, None if after == prefix else cursor)
        try:
            keys = list(islice(walk, limit + 1))
        finally:
            walk.close()  # releases the directories still open
        return KeyPage(keys[:limit], keys[limit - 1] if len(keys) > limit else None)

    def _iter_from(self, prefix: str, after: str | None) -> Generator[str, None, None]:
        if "/" not in prefix:
            return iter_names(self._root_fd, "", prefix, after, clean=not self._read_only)
        base, _, name_prefix = prefix.rpartition("/")
        return self._iter_below(base, name_prefix, after)

    def _iter_below(self, base: str, name_prefix: str, after: str | None) -> Generator[str, None, None]:
        try:
            fds, _ = open_dirs(self._root_fd, split_dirs(base), base, create=False)
        except (InvalidKey, MissingKey):
            return  # no valid key has this prefix, or none is stored below it
        close_all(fds[:-1])  # the walk starts in the prefix's directory and never goes above it
        try:
            yield from iter_names(fds[-1], base + "/", name_prefix, after, clean=not self._read_only)
        finally:
            os.close(fds[-1])

    def __len__(self) -> int:
        return sum(1 for _ in self.iter_keys())

    # -- writes -----------------------------------------------------------------------------------

    def __setitem__(self, key: str, value: bytes, /) -> None:
        self._check_writable()
        self._write(key, value, self._publish)

    def set_many(
        self, items: Mapping[str, bytes] | Iterable[tuple[str, bytes]], /, *, ttl: float | None = None
    ) -> None:
        """Store every pair (the last one of a repeated key wins); each write is atomic, the batch
        is not.

        The keys of one directory share one walk to it and one directory fsync, and durable
        writes fsync their files concurrently on a few threads.
        """
        if ttl is not None:
            raise _no_expiry()
        self._check_writable()
        pairs = item_pairs(items)
        groups: dict[tuple[str, ...], dict[str, tuple[str, str, bytes]]] = {}
        for key, value in pairs:
            dirs, name = split_key(key)
            groups.setdefault(tuple(dirs), {})[name] = (name, key, as_bytes(value, key, "FileStore"))
        for group, entries in groups.items():
            self._set_group(list(group), list(entries.values()))

    def set(self, key: str, value: bytes, /, *, ttl: float | None = None) -> None:
        # docstring inherited: without expiry, ttl=None only
        if ttl is not None:
            raise _no_expiry()
        self[key] = value

    def touch(self, key: str, /, *, ttl: float | None) -> None:
        # docstring inherited
        raise _no_expiry()

    @property
    def supports_ttl(self) -> bool:
        # docstring inherited: the file format has no place for a deadline (see the class)
        return False

    # -- deletes ----------------------------------------------------------------------------------

    def __delitem__(self, key: str, /) -> None:
        self._check_writable()
        dirs, name = split_key(key)
        if not self._delete_in(dirs, [(name, key)]):
            raise MissingKey(key)

    def delete_many(self, keys: Iterable[str], /) -> None:
        # Keys of one directory are unlinked together, with one directory fsync.
        self._check_writable()
        for dirs, names in self._group(keys).items():
            self._delete_in(list(dirs), names)

    # -- conditional writes -----------------------------------------------------------------------

    @property
    def supports_atomic_writes(self) -> bool:
        return True

    def set_if_absent(self, key: str, value: bytes, /) -> bool:
        # docstring inherited; a hard link of the finished temporary file fails if the key exists.
        self._check_writable()
        return self._write(key, value, link_temp)

    def compare_and_set(self, key: str, expected: bytes, value: bytes, /) -> bool:
        # docstring inherited; the read, the comparison and the rename happen under the root's
        # exclusive lock, which every other change to the root takes shared.
        self._check_writable()
        return self._swap(key, expected, value)

    # -- maintenance ------------------------------------------------------------------------------

    def sweep(self) -> int:
        """Remove the temporary files that crashed writers left anywhere under the root.

        Return how many were removed. A temporary file is stale when no writer holds its lock and
        nobody wrote to it for :data:`~nstore.stores._filescan.SWEEP_AGE` seconds. Only the
        store's own directories are walked, and only those this sweep emptied are removed.
        Listings already do this for the directories they read; call this after a crash to
        reclaim the space at once. It walks the whole tree, so it costs what a full listing does.
        """
        self._check_writable()
        return sweep(self._root_fd)

    # -- life cycle -------------------------------------------------------------------------------

    @property
    def is_persistent(self) -> bool:
        return True

    @property
    def supports_prefix_listing(self) -> bool:
        return True

    def close(self) -> None:
        # docstring inherited; operations running in other threads must have finished.
        if self._closed:
            return
        self._closed = True
        self._release()

    def __reduce__(self) -> tuple[Callable[[Path, bool, bool], FileStore], tuple[Path, bool, bool]]:
        # Descriptors do not travel: a copy (e.g. in another process) opens the root again.
        return (_reopen, (self._root, self._durable, self._read_only))

    def __repr__(self) -> str:
        state = "closed, " if self._closed else ""
        mode = ", read_only=True" if self._read_only else ""
        return f"FileStore({state}{str(self._root)!r}, durable={self._durable}{mode})"

    # -- helpers ----------------------------------------------------------------------------------

    def _closed_error(self) -> StoreClosed:
        return StoreClosed("This FileStore is closed; open a new one on the same root.")

    def _check_writable(self) -> None:
        if self._closed:
            raise self._closed_error()
        if self._read_only:
            raise ReadOnlyError(
                "This FileStore was opened with read_only=True; open it without read_only to write."
            )

    def _group(self, keys: Iterable[str]) -> dict[tuple[str, ...], list[tuple[str, str]]]:
        if self._closed:
            raise self._closed_error()
        groups: dict[tuple[str, ...], list[tuple[str, str]]] = {}
        for key in keys:
            dirs, name = split_key(key)
            groups.setdefault(tuple(dirs), []).append((name, key))
        return groups


def _no_expiry() -> UnsupportedOperation:
    return UnsupportedOperation(
        "FileStore has no per-key expiry (supports_ttl is False): a key's file holds its value "
        "alone, as other tools read it, with no place for a deadline. Store the value without "
        "ttl=, or use SQLiteStore for values that expire on disk (MemoryStore in memory)."
    )


def _release(lock: RootLock, root_fd: int) -> None:
    lock.close()
    os.close(root_fd)


def _reopen(root: Path, durable: bool, read_only: bool) -> FileStore:
    return FileStore(root, durable, read_only=read_only)
