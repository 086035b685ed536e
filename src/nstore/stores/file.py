"""FileStore: one file per key under a root directory, crash-safe and safe for many processes."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from nstore.errors import ConfigurationError, EncodeError, InvalidKey, MissingKey, StoreClosed, StoreError
from nstore.store import Store
from nstore.stores._fileio import (
    RootLock,
    discard,
    fsync_dir,
    iter_names,
    link_temp,
    read_value,
    refuse_special,
    sweep,
    write_temp,
)
from nstore.stores._paths import DIR_SUFFIX, Retry, close_all, open_dirs, split_key, store_error

__all__ = ["FileStore"]

_ATTEMPTS = 100  # a write restarts when a concurrent delete removes its directory; this bounds it


class FileStore(Store[str, bytes]):
    """A store of ``bytes`` values in one file per key under ``root``.

    ``/`` in a key makes subdirectories, created on write and removed when a delete leaves them
    empty. A write goes to a temporary file in the key's directory, is fsynced, renamed over the
    key's file and the directory is fsynced, so a reader sees the old value or the new one, never
    a mix, and a write that returned survives a crash or power loss. ``durable=False`` skips the
    fsyncs (a cache): writes stay atomic but recent ones may vanish in a power loss.

    Several processes may read and write one root at once. Keys that could escape the root or
    collide with the store's files raise :class:`~nstore.errors.InvalidKey`, and no symbolic link
    under the root is ever followed. Temporary files left by a crash are removed on open.

    Parameters
    ----------
    root
        The directory holding the store; created if missing.
    durable
        fsync every change before it returns (the default).

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

    __slots__ = ("_closed", "_durable", "_lock", "_root", "_root_fd")

    def __init__(self, root: str | os.PathLike[str], durable: bool = True) -> None:
        self._root = Path(root)
        self._durable = bool(durable)
        self._closed = True
        try:
            self._root.mkdir(parents=True, exist_ok=True)
            self._root_fd = os.open(self._root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise ConfigurationError(
                f"Expected a directory (or a path where one can be created) for the FileStore "
                f"root. Got {str(root)!r}, which failed: {exc.strerror}."
            ) from None
        try:
            self._lock = RootLock(self._root_fd)
            sweep(self._root_fd)
        except BaseException:
            os.close(self._root_fd)
            raise
        self._closed = False

    @property
    def root(self) -> Path:
        """The directory holding the store."""
        return self._root

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
        prefix = prefix or ""
        if "/" not in prefix:
            return iter_names(self._root_fd, "", prefix)
        base, _, name_prefix = prefix.rpartition("/")
        return self._iter_below(base, name_prefix)

    def _iter_below(self, base: str, name_prefix: str) -> Iterator[str]:
        try:
            dirs, last = split_key(base)
            fds, _ = open_dirs(self._root_fd, [*dirs, last + DIR_SUFFIX], base, create=False)
        except (InvalidKey, MissingKey):
            return  # no valid key has this prefix, or none is stored below it
        try:
            yield from iter_names(fds[-1], base + "/", name_prefix)
        finally:
            close_all(fds)

    def __len__(self) -> int:
        return sum(1 for _ in self.iter_keys())

    # -- writes -----------------------------------------------------------------------------------

    def __setitem__(self, key: str, value: bytes, /) -> None:
        self._write(key, value, self._publish)

    def _write(self, key: str, value: bytes, publish: Callable[[int, str, str, str], bool]) -> bool:
        """Write ``value`` to a temporary file in the key's directory and ``publish`` it."""
        if self._closed:
            raise self._closed_error()
        dirs, name = split_key(key)
        data = _as_bytes(value, key)
        for _ in range(_ATTEMPTS):
            fds, first_new = open_dirs(self._root_fd, dirs, key, create=True)
            try:
                dir_fd = fds[-1] if fds else self._root_fd
                if not publish(dir_fd, write_temp(dir_fd, data, self._durable, key), name, key):
                    return False
                if self._durable:
                    self._sync_dirs(fds, first_new, key)
                return True
            except Retry:
                continue
            finally:
                close_all(fds)
        raise _gave_up(key)

    def _publish(self, dir_fd: int, tmp: str, name: str, key: str) -> bool:
        try:
            self._commit(dir_fd, [(tmp, name, key)])
        except BaseException:
            discard(dir_fd, tmp)
            raise
        return True

    def set_many(self, items: Mapping[str, bytes] | Iterable[tuple[str, bytes]], /) -> None:
        """Store every pair; each write is atomic, the batch is not.

        Keys of one directory are committed together and the directory is fsynced once for them
        all, instead of once per key.
        """
        if self._closed:
            raise self._closed_error()
        pairs = items.items() if isinstance(items, Mapping) else items
        groups: dict[tuple[str, ...], list[tuple[str, str, bytes]]] = {}
        for key, value in pairs:
            dirs, name = split_key(key)
            groups.setdefault(tuple(dirs), []).append((name, key, _as_bytes(value, key)))
        for group, entries in groups.items():
            self._set_group(list(group), entries)

    def _set_group(self, dirs: list[str], entries: list[tuple[str, str, bytes]]) -> None:
        first_key = entries[0][1]
        for _ in range(_ATTEMPTS):
            fds, first_new = open_dirs(self._root_fd, dirs, first_key, create=True)
            dir_fd = fds[-1] if fds else self._root_fd
            staged: list[tuple[str, str, str]] = []
            try:
                for name, key, data in entries:
                    staged.append((write_temp(dir_fd, data, self._durable, key), name, key))
                self._commit(dir_fd, staged)
                staged = []
                if self._durable:
                    self._sync_dirs(fds, first_new, first_key)
                return
            except Retry:
                continue
            finally:
                for tmp, _, _ in staged:
                    discard(dir_fd, tmp)
                close_all(fds)
        raise _gave_up(first_key)

    def _commit(self, dir_fd: int, staged: list[tuple[str, str, str]]) -> None:
        """Rename each temporary file over its key, under the shared lock."""
        lock_fd = self._lock.acquire(exclusive=False)
        try:
            for tmp, name, key in staged:
                try:
                    os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
                except IsADirectoryError:
                    raise refuse_special(key) from None
                except FileNotFoundError:
                    raise Retry from None  # a sweep took the temporary file: write again
                except OSError as exc:
                    raise store_error(exc, key, "write") from None
        finally:
            self._lock.release(lock_fd)

    def _sync_dirs(self, fds: list[int], first_new: int, key: str) -> None:
        """fsync the key's directory, and the parent of every directory this write created."""
        chain = [self._root_fd, *fds]
        fsync_dir(chain[-1], key)
        for parent in reversed(chain[first_new:-1]):
            fsync_dir(parent, key)

    # -- deletes ----------------------------------------------------------------------------------

    def __delitem__(self, key: str, /) -> None:
        if self._closed:
            raise self._closed_error()
        dirs, name = split_key(key)
        if not self._delete_in(dirs, [(name, key)]):
            raise MissingKey(key)

    def delete_many(self, keys: Iterable[str], /) -> None:
        # Keys of one directory are unlinked together, with one directory fsync.
        for dirs, names in self._group(keys).items():
            self._delete_in(list(dirs), names)

    def _delete_in(self, dirs: list[str], names: list[tuple[str, str]]) -> int:
        """Unlink ``names`` in ``dirs``, fsync it once, remove emptied directories; return the count."""
        try:
            fds, _ = open_dirs(self._root_fd, dirs, names[0][1], create=False)
        except MissingKey:
            return 0
        try:
            dir_fd = fds[-1] if fds else self._root_fd
            removed = 0
            lock_fd = self._lock.acquire(exclusive=False)
            try:
                for name, key in names:
                    try:
                        os.unlink(name, dir_fd=dir_fd)
                        removed += 1
                    except (FileNotFoundError, IsADirectoryError):
                        continue
                    except OSError as exc:
                        raise store_error(exc, key, "delete") from None
            finally:
                self._lock.release(lock_fd)
            if removed and self._durable:
                fsync_dir(dir_fd, names[0][1])
            # Bottom-up; a directory a concurrent writer is filling is not empty (its temporary
            # file is in it), and one removed just before that writer's create makes it start again.
            chain = [self._root_fd, *fds]
            for i in range(len(dirs) - 1, -1, -1):
                try:
                    os.rmdir(dirs[i], dir_fd=chain[i])
                except OSError:
                    break
            return removed
        finally:
            close_all(fds)

    # -- conditional writes -----------------------------------------------------------------------

    @property
    def supports_atomic_writes(self) -> bool:
        return True

    def set_if_absent(self, key: str, value: bytes, /) -> bool:
        # docstring inherited; a hard link of the finished temporary file fails if the key exists.
        return self._write(key, value, link_temp)

    def compare_and_set(self, key: str, expected: bytes, value: bytes, /) -> bool:
        # docstring inherited; the read, the comparison and the rename happen under the root's
        # exclusive lock, which every other change to the root takes shared.
        if self._closed:
            raise self._closed_error()
        dirs, name = split_key(key)
        data = _as_bytes(value, key)
        try:
            fds, _ = open_dirs(self._root_fd, dirs, key, create=False)
        except MissingKey:
            return False
        try:
            dir_fd = fds[-1] if fds else self._root_fd
            for _ in range(_ATTEMPTS):
                try:
                    tmp = write_temp(dir_fd, data, self._durable, key)
                except Retry:
                    return False  # the directory was removed, so the key is absent
                replaced: bool | None = False
                try:
                    replaced = self._replace_if(dir_fd, tmp, name, key, expected)
                finally:
                    if not replaced:
                        discard(dir_fd, tmp)
                if replaced is None:
                    continue  # a sweep took the temporary file while we waited for the lock
                if replaced and self._durable:
                    fsync_dir(dir_fd, key)
                return replaced
            raise _gave_up(key)
        finally:
            close_all(fds)

    def _replace_if(self, dir_fd: int, tmp: str, name: str, key: str, expected: bytes) -> bool | None:
        """Replace under the exclusive lock if the value is ``expected``; None: write again."""
        lock_fd = self._lock.acquire(exclusive=True)
        try:
            try:
                if read_value(dir_fd, name, key) != expected:
                    return False
            except MissingKey:
                return False
            try:
                os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            except FileNotFoundError:
                return None
            except OSError as exc:
                raise store_error(exc, key, "write") from None
            return True
        finally:
            self._lock.release(lock_fd)

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
        self._lock.close()
        os.close(self._root_fd)

    def __repr__(self) -> str:
        state = "closed, " if self._closed else ""
        return f"FileStore({state}{str(self._root)!r}, durable={self._durable})"

    # -- helpers ----------------------------------------------------------------------------------

    def _closed_error(self) -> StoreClosed:
        return StoreClosed("This FileStore is closed; open a new one on the same root.")

    def _group(self, keys: Iterable[str]) -> dict[tuple[str, ...], list[tuple[str, str]]]:
        if self._closed:
            raise self._closed_error()
        groups: dict[tuple[str, ...], list[tuple[str, str]]] = {}
        for key in keys:
            dirs, name = split_key(key)
            groups.setdefault(tuple(dirs), []).append((name, key))
        return groups


def _as_bytes(value: object, key: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise EncodeError(
        f"Expected bytes for the value of key {key!r} in a FileStore. Got {type(value).__name__} "
        "instead; put a value codec in front with store.with_values(...).",
    )


def _gave_up(key: str) -> StoreError:
    return StoreError(
        f"Could not write key {key!r}: its directory or temporary file was removed by concurrent "
        f"deletes or sweeps {_ATTEMPTS} times in a row. Try again."
    )
