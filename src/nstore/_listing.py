"""Listing by pages and lazy keys views: the parts of :class:`~nstore.Store`'s listing that are
not the store itself (the page record, the checks a backend's ``keys_page`` shares, and the view
``store.keys(prefix)`` returns)."""

from __future__ import annotations

from collections.abc import Iterator, KeysView
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from nstore.errors import ConfigurationError

if TYPE_CHECKING:
    from nstore.store import Store

__all__ = ["KeyPage", "PrefixKeysView", "check_limit", "cursor_after"]

K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class KeyPage(Generic[K]):
    """One page of a listing (:meth:`Store.keys_page`).

    Examples
    --------
    >>> from nstore import MemoryStore
    >>> store = MemoryStore[str, bytes]({"a": b"", "b": b"", "c": b""})
    >>> page = store.keys_page(limit=2)
    >>> page.keys, store.keys_page(cursor=page.cursor, limit=2)
    (['a', 'b'], KeyPage(keys=['c'], cursor=None))
    """

    keys: list[K]
    #: The token to pass as ``cursor`` for the next page; None when the listing is complete.
    cursor: str | None


def check_limit(limit: object) -> None:
    """Refuse a page size that is not a positive int (for backends' :meth:`Store.keys_page`)."""
    if type(limit) is not int or limit < 1:
        raise ConfigurationError(f"Expected a limit of at least 1 key per page. Got {limit!r} instead.")


def cursor_after(cursor: str | None, prefix: str) -> str:
    """The smallest key a sorted page may start at: past ``cursor``, and at ``prefix`` or later."""
    if cursor is not None and not isinstance(cursor, str):
        raise ConfigurationError(f"Expected a str cursor from keys_page. Got {type(cursor).__name__}.")
    if cursor is None or cursor < prefix:
        return prefix
    return cursor + "\x00"  # the smallest string after the cursor


class PrefixKeysView(KeysView[K]):
    """A lazy keys view restricted to a prefix; each iteration lists the store again.

    ``list(view)`` asks for the view's length after ``iter(view)`` and before the first key:
    the length is then that of the listing just started, which is taken whole for it, so the
    store is listed once, not twice. Any other ``len(view)`` counts through ``count_keys``.
    """

    __slots__ = ("_prefix", "_started", "_store")

    def __init__(self, store: Store[K, Any], prefix: K | None) -> None:
        super().__init__(store)
        self._store = store
        self._prefix = prefix
        self._started: _Listing[K] | None = None

    def __iter__(self) -> Iterator[K]:
        listing = _Listing(self._store.iter_keys(self._prefix))
        self._started = listing
        return listing.run()

    def __len__(self) -> int:
        listing, self._started = self._started, None
        if listing is not None:
            size = listing.take_whole()
            if size is not None:
                return size
        return self._store.count_keys(self._prefix)

    def __contains__(self, key: object) -> bool:
        if self._prefix is not None and not _startswith(key, self._prefix):
            return False
        return key in self._store

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prefix={self._prefix!r})"


class _Listing(Generic[K]):
    """One listing of a keys view, which can be taken whole before its first key is read."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Iterator[K]) -> None:
        self._keys: Iterator[K] | None = keys

    def run(self) -> Iterator[K]:
        keys, self._keys = self._keys, None  # started: no longer taken whole
        if keys is not None:
            yield from keys

    def take_whole(self) -> int | None:
        """List the rest now and return how many keys it holds; None once the listing started."""
        if self._keys is None:
            return None
        keys = list(self._keys)
        self._keys = iter(keys)
        return len(keys)


def _startswith(key: object, prefix: object) -> bool:
    startswith = getattr(key, "startswith", None)
    return bool(startswith(prefix)) if startswith is not None else False
