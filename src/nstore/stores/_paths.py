"""How a FileStore maps keys to files: key validation and directory walks that never follow links.

A key is a ``/``-separated list of names; every name but the last is a directory under the root
and the last is the file holding the value. Keys that could escape the root or collide with the
store's own files are refused with :class:`~nstore.errors.InvalidKey` before any file is touched.
Directories are opened one name at a time, relative to their parent's descriptor, with
``O_NOFOLLOW``: a symbolic link planted under the root is refused, never followed, and no check
can be raced by swapping a directory for a link between the check and the use.
"""

from __future__ import annotations

import errno
import os
import re
import stat

from nstore.errors import InvalidKey, MissingKey, StoreError

__all__ = [
    "DIR_FLAGS",
    "DIR_SUFFIX",
    "LOCK_NAME",
    "MAX_DIR_NAME_BYTES",
    "MAX_NAME_BYTES",
    "RESERVED_PREFIX",
    "TEMP_PREFIX",
    "Retry",
    "close_all",
    "explain",
    "file_type",
    "is_valid_name",
    "link_refused",
    "open_dirs",
    "split_dirs",
    "split_key",
    "store_error",
]

#: Names starting with this are the store's own (temporary files, the lock file); keys may not
#: have a name starting with it, so no key can ever reach those files.
RESERVED_PREFIX = ".nstore~"
TEMP_PREFIX = RESERVED_PREFIX + "tmp."
LOCK_NAME = RESERVED_PREFIX + "lock"
#: Ends the name of every directory. No key name has a backslash, so the directory of the keys
#: under ``a/`` (``a\\``) and the file of the key ``a`` never collide: a key can be both a value
#: and a directory of other keys.
DIR_SUFFIX = "\\"
#: The longest file name Linux filesystems take (fewer on some encrypted ones).
MAX_NAME_BYTES = 255
#: The longest name of a directory of keys (every name of a key but the last): on disk it gets
#: :data:`DIR_SUFFIX` appended, which must fit in :data:`MAX_NAME_BYTES` too.
MAX_DIR_NAME_BYTES = MAX_NAME_BYTES - len(DIR_SUFFIX.encode())

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR_MODE = 0o777  # narrowed by the umask, as for any directory

_BAD = re.compile(
    r"[\x00-\x1f\x7f-\x9f\\\ud800-\udfff]"  # control characters, backslash, lone surrogates
    r"|^/|/$|//"  # absolute, trailing slash, empty name
    r"|(?:^|/)\.\.?(?:/|$)"  # "." and ".."
    r"|(?:^|/)" + re.escape(RESERVED_PREFIX)
)
# A key of at most this many characters has no name over MAX_DIR_NAME_BYTES (UTF-8: <= 4 bytes each).
_SHORT = MAX_DIR_NAME_BYTES // 4


class Retry(Exception):  # control flow, never seen by callers
    """A directory on the key's path vanished (a concurrent delete removed it): start again."""


def split_key(key: object) -> tuple[list[str], str]:
    """Validate ``key`` and split it into its directory names (as on disk) and its file name."""
    names = _names(key, dirs_only=False)
    name = names.pop()
    return [n + DIR_SUFFIX for n in names], name


def split_dirs(path: str) -> list[str]:
    """Validate ``path`` as the names of a directory of keys (``a/b`` for the keys ``a/b/...``)
    and return the directory names as on disk; an invalid one raises :class:`InvalidKey`."""
    return [n + DIR_SUFFIX for n in _names(path, dirs_only=True)]


def _names(key: object, *, dirs_only: bool) -> list[str]:
    if not isinstance(key, str) or not key or _BAD.search(key) is not None:
        raise InvalidKey(explain(key))
    names = key.split("/")
    if len(key) > _SHORT and _too_long(names, dirs_only):
        raise InvalidKey(explain(key, dirs_only=dirs_only))
    return names


def _too_long(names: list[str], dirs_only: bool) -> bool:
    """True if a name has no room on disk: the last (a file, unless ``dirs_only``) up to
    MAX_NAME_BYTES, every other one (a directory, given a suffix) up to MAX_DIR_NAME_BYTES."""
    last = len(names) - 1
    for i, name in enumerate(names):
        limit = MAX_NAME_BYTES if i == last and not dirs_only else MAX_DIR_NAME_BYTES
        if len(name) * 4 > limit and len(name.encode()) > limit:
            return True
    return False


def is_valid_name(name: str) -> bool:
    """True if ``name`` (one directory entry) could be part of a key."""
    return _BAD.search(name) is None


def explain(key: object, *, dirs_only: bool = False) -> str:
    """The message for a refused key: what a key must be, and what is wrong with this one."""
    if not isinstance(key, str):
        return (
            f"Expected a str key for a FileStore. Got {type(key).__name__} instead; "
            "put a key codec in front with store.with_keys(...)."
        )
    names = key.split("/")
    if not key:
        reason = "it is empty"
    elif re.search(r"[\x00-\x1f\x7f-\x9f\\\ud800-\udfff]", key):
        reason = "it has a control character, a backslash or a lone surrogate"
    elif key.startswith("/"):
        reason = "it starts with '/' (keys are relative to the store's root)"
    elif "" in names:
        reason = "it has an empty name (a trailing '/' or '//')"
    elif "." in names or ".." in names:
        reason = "it has a '.' or '..' name"
    elif any(n.startswith(RESERVED_PREFIX) for n in names):
        reason = f"a name starts with {RESERVED_PREFIX!r}, which the store reserves for its own files"
    elif any(len(n.encode()) > MAX_NAME_BYTES for n in names):
        reason = f"a name is over {MAX_NAME_BYTES} bytes in UTF-8; {_HASH_IT}"
    else:
        which = "a name" if dirs_only else "a name followed by '/'"
        reason = (
            f"{which} is over {MAX_DIR_NAME_BYTES} bytes in UTF-8 (it names a directory, whose "
            "name on disk ends with a backslash); " + _HASH_IT
        )
    return (
        "Expected a key of '/'-separated names: none empty, '.' or '..', no backslash or control "
        f"character, each at most {MAX_NAME_BYTES} UTF-8 bytes ({MAX_DIR_NAME_BYTES} for a name "
        f"followed by '/'). Got {_show(key)} instead: {reason}."
    )


_HASH_IT = "hash long names with a key codec (e.g. Hex or Base32 of a digest)"


def _show(key: str) -> str:
    shown = repr(key)
    return shown if len(shown) <= 80 else shown[:60] + "..." + shown[-12:]


def link_refused(key: str) -> InvalidKey:
    """The error for a key whose path meets a symbolic link or another non-regular file."""
    return InvalidKey(
        f"Key {_show(key)} leads to or through a symbolic link or special file (FIFO, socket, "
        "device) planted under the store's root; FileStore never follows, replaces or removes "
        "those. Remove it, or use another key."
    )


def file_type(dir_fd: int, name: str, key: str) -> int:
    """What ``name`` in ``dir_fd`` is: ``stat.S_IFREG`` (a value), ``stat.S_IFDIR``, or 0 (nothing).

    Anything else (a link, FIFO, socket or device) raises :func:`link_refused`: every operation
    on a key's own name goes through this, so reads, writes, deletes and ``in`` agree on what a
    value is, and nothing but a regular file is ever replaced or removed.
    """
    try:
        kind = stat.S_IFMT(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise store_error(exc, key, "look up") from None
    if kind != stat.S_IFREG and kind != stat.S_IFDIR:
        raise link_refused(key)
    return kind


def store_error(exc: OSError, key: str, action: str) -> StoreError:
    """Wrap an unexpected OS error; the message names the key and the error, never a path."""
    code = errno.errorcode.get(exc.errno or 0, "?")
    return StoreError(f"Could not {action} key {_show(key)}: {exc.strerror} ({code}).")


def close_all(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)


def open_dirs(root_fd: int, dirs: list[str], key: str, *, create: bool) -> tuple[list[int], int]:
    """Open the directories ``dirs`` below the root, one name at a time, never following links.

    Return their descriptors (the caller closes them) and the index of the first directory that
    was missing (``len(dirs)`` if none), whose parent needs an fsync for a durable write.
    Missing directories raise :class:`MissingKey` unless ``create``; with ``create``, a directory
    removed under us by a concurrent delete raises :class:`Retry`.
    """
    fds: list[int] = []
    first_missing = len(dirs)
    parent = root_fd
    try:
        for i, name in enumerate(dirs):
            try:
                fd = os.open(name, DIR_FLAGS, dir_fd=parent)
            except FileNotFoundError:
                if not create:
                    raise MissingKey(key) from None
                first_missing = min(first_missing, i)
                fd = _make_dir(parent, name, key)
            except NotADirectoryError:
                raise _not_a_dir(parent, name, key, create) from None
            except OSError as exc:
                raise store_error(exc, key, "open the directories of") from None
            fds.append(fd)
            parent = fd
    except BaseException:
        close_all(fds)
        raise
    return fds, first_missing


def _make_dir(parent: int, name: str, key: str) -> int:
    try:
        os.mkdir(name, _DIR_MODE, dir_fd=parent)
    except FileExistsError:
        pass  # a concurrent writer made it; it may be a file or a link, which the open refuses
    except FileNotFoundError:
        raise Retry from None  # the parent itself was removed by a concurrent delete
    except OSError as exc:
        raise store_error(exc, key, "create the directories of") from None
    try:
        return os.open(name, DIR_FLAGS, dir_fd=parent)
    except FileNotFoundError:
        raise Retry from None
    except NotADirectoryError:
        raise _not_a_dir(parent, name, key, True) from None


def _not_a_dir(parent: int, name: str, key: str, create: bool) -> Exception:
    """The error for a directory name that holds something else: only a planted link or file."""
    try:
        os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return Retry() if create else MissingKey(key)
    return link_refused(key)
