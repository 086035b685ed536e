"""``Store[K, V]``: the abstract surface every backend, view and wrapper implements.

A backend implements four abstract methods (``__getitem__``, ``__setitem__``, ``__delitem__`` and
``iter_keys``) and gets everything else from the defaults here: mapping methods, listing by prefix,
bulk operations, context-manager use and typed views. Defaults that are slow or racy say so for
implementers; backends override them where they can do better (one transaction, one round trip).
"""

from __future__ import annotations

import heapq
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, KeysView, Mapping, MutableMapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, overload

from nstore._capabilities import Capabilities
from nstore._expiry import unsupported_ttl

# KeyPage and the page checks live with the listing code; backends import them from here.
from nstore._listing import KeyPage, PrefixKeysView, check_limit, cursor_after
from nstore.errors import MissingKey, UnsupportedOperation

if TYPE_CHECKING:
    from typing_extensions import TypeIs

    from nstore.codecs import Codec

__all__ = ["KeyPage", "Store", "check_limit", "cursor_after", "item_pairs"]

K = TypeVar("K")
V = TypeVar("V")
K2 = TypeVar("K2")
V2 = TypeVar("V2")
D = TypeVar("D")


def _is_mapping(items: Mapping[K, V] | Iterable[tuple[K, V]], /) -> TypeIs[Mapping[K, V]]:
    return isinstance(items, Mapping)


def item_pairs(items: Mapping[K, V] | Iterable[tuple[K, V]], /) -> Iterable[tuple[K, V]]:
    """The ``(key, value)`` pairs of a ``set_many`` argument: a Mapping's items, else the pairs.

    A Mapping is taken as its items, as ``dict.update`` takes it. A type checker cannot tell a
    Mapping from an iterable of pairs that is also a Mapping (pyright rightly says so); this
    decides it once, for every ``set_many``.
    """
    if _is_mapping(items):
        return items.items()
    return items


class Store(Capabilities, MutableMapping[K, V], ABC, Generic[K, V]):
    """A typed, dict-like store of ``V`` values under ``K`` keys.

    A missing key raises :class:`KeyError` (:class:`~nstore.errors.MissingKey`) everywhere.
    Iteration is lazy and, for backends that list natively, served by prefix.

    Examples
    --------
    >>> from nstore import MemoryStore
    >>> from nstore.codecs import Prefix
    >>> store = MemoryStore[str, bytes]()
    >>> users = store.with_keys(Prefix("users/"))
    >>> users["ada"] = b"lovelace"
    >>> list(store)
    ['users/ada']
    >>> users.get_many(["ada", "bob"])
    {'ada': b'lovelace'}
    """

    __slots__ = ()

    # -- the abstract surface ------------------------------------------------------------------

    @abstractmethod
    def __getitem__(self, key: K, /) -> V:
        """Return the value at ``key``; raise :class:`~nstore.errors.MissingKey` if absent."""

    @abstractmethod
    def __setitem__(self, key: K, value: V, /) -> None:
        """Store ``value`` at ``key``; when this returns, the store's durability applies."""

    @abstractmethod
    def __delitem__(self, key: K, /) -> None:
        """Remove ``key``; raise :class:`~nstore.errors.MissingKey` if absent."""

    @abstractmethod
    def iter_keys(self, prefix: K | None = None) -> Iterator[K]:
        """Yield the keys that start with ``prefix`` (every key if None), lazily.

        Keys set or deleted during the iteration may or may not be seen; iteration never fails
        because of them.
        """

    def keys_page(
        self, prefix: K | None = None, *, cursor: str | None = None, limit: int = 1000
    ) -> KeyPage[K]:
        """One page of the keys that start with ``prefix``: up to ``limit`` keys after ``cursor``.

        Start with ``cursor=None`` and pass each page's :attr:`KeyPage.cursor` back for the next;
        a cursor of None means the listing is complete. A cursor is an opaque token of this store
        (on the sorted backends, the last key listed, in the store's own key space); a page may
        hold fewer than ``limit`` keys, even none, before the end. Keys present for the whole
        listing are listed once; keys written or deleted meanwhile may or may not be.

        SQLite, file and memory stores list in sorted key order and serve a page from the cursor
        (a page costs one page). Redis lists in SCAN order (its cursor is the SCAN cursor, and a
        page may hold a few more than ``limit``, COUNT being a hint to the server).

        Default: one pass over ``iter_keys(prefix)`` keeping the smallest keys after the cursor
        (str keys only), so every page costs the whole prefix.
        """
        check_limit(limit)
        keys: Iterator[Any] = self.iter_keys(prefix)
        if cursor is not None:
            cursor_after(cursor, "")  # refuses a cursor that is not a str
            keys = (k for k in keys if k > cursor)
        page = heapq.nsmallest(limit + 1, keys)
        if len(page) <= limit:
            return KeyPage(page, None)
        last = page[limit - 1]
        if not isinstance(last, str):
            raise UnsupportedOperation(
                f"{type(self).__name__} pages only str keys by default. Got a {type(last).__name__} key; "
                "list with iter_keys() instead."
            )
        return KeyPage(page[:limit], last)

    # -- mapping defaults ---------------------------------------------------------------------

    def __iter__(self) -> Iterator[K]:
        return self.iter_keys()

    def __len__(self) -> int:
        # Default: counts every key; backends with a cheaper count override it.
        return sum(1 for _ in self.iter_keys())

    def __contains__(self, key: object, /) -> bool:
        # Default: reads the value; backends with a cheaper existence check override it.
        try:
            self[key]  # type: ignore[index]  # __contains__ takes any object; others raise KeyError
        except KeyError:
            return False
        return True

    def count_keys(self, prefix: K | None = None) -> int:
        """The number of keys that start with ``prefix`` (every key if None): ``len(self.keys(prefix))``.

        Default: ``len(self)`` without a prefix, else one listing of the prefix; backends that
        count a range natively (MemoryStore, SQLiteStore) override it.
        """
        if prefix is None:
            return len(self)
        return sum(1 for _ in self.iter_keys(prefix))

    def reader(self) -> Mapping[K, V]:
        """A read-only mapping for reads in a hot loop: ``reader[key]`` is what ``store[key]`` is.

        Its ``KeyError`` is not the final answer (the store may have been closed since, and a
        closed store's reader may simply find nothing): ask ``store[key]`` then. Wrappers read
        the store they wrap through it. It is the store itself, except where a store can answer
        with one Python call less (MemoryStore: a read-only view of its dictionary).
        """
        return self

    def keys(self, prefix: K | None = None) -> KeysView[K]:
        """A lazy view of the keys that start with ``prefix`` (every key if None)."""
        return PrefixKeysView(self, prefix)

    @overload
    def get(self, key: K, /) -> V | None: ...
    @overload
    def get(self, key: K, default: V | D, /) -> V | D: ...
    def get(self, key: K, default: object = None, /) -> object:
        try:
            return self[key]
        except KeyError:
            return default

    def __eq__(self, other: object) -> bool:
        # Stores compare by identity: comparing contents could mean reading a whole database.
        return self is other

    def __hash__(self) -> int:
        return id(self)

    # -- bulk operations ------------------------------------------------------------------------

    def get_many(self, keys: Iterable[K], /) -> dict[K, V]:
        """Return the values of those ``keys`` that are present; missing keys are left out.

        Default: one ``__getitem__`` per key; backends override it with one call or transaction.
        """
        found: dict[K, V] = {}
        for key in keys:
            try:
                found[key] = self[key]
            except KeyError:
                continue
        return found

    def set_many(self, items: Mapping[K, V] | Iterable[tuple[K, V]], /, *, ttl: float | None = None) -> None:
        """Store every ``(key, value)`` pair; with ``ttl``, each expires as with :meth:`set`.

        Default: one :meth:`set` per pair, not atomic; backends override it with one call or
        transaction and document whether it is atomic.
        """
        pairs = item_pairs(items)
        if ttl is None:
            for key, value in pairs:
                self[key] = value
        else:
            for key, value in pairs:
                self.set(key, value, ttl=ttl)

    def delete_many(self, keys: Iterable[K], /) -> None:
        """Remove every key of ``keys`` that is present; missing keys are ignored.

        Default: one ``__delitem__`` per key, not atomic.
        """
        for key in keys:
            try:
                del self[key]
            except KeyError:
                continue

    # -- expiry (supports_ttl) -------------------------------------------------------------------

    def set(self, key: K, value: V, /, *, ttl: float | None = None) -> None:
        """Store ``value`` at ``key``; with ``ttl``, it expires ``ttl`` seconds from now.

        ``ttl=None`` is the store's default: no expiry, or its store-wide ttl where it has one.
        An expired key is absent everywhere (reads, ``in``, listing, counts, conditional
        writes). A store whose :attr:`supports_ttl` is False raises
        :class:`~nstore.errors.UnsupportedOperation` for a ttl; a ttl that is not a positive,
        finite number of seconds raises :class:`~nstore.errors.ConfigurationError`.
        """
        if ttl is not None:
            raise unsupported_ttl(self)
        self[key] = value

    def ttl(self, key: K, /) -> float | None:
        """Seconds left before ``key`` expires, or None if it never expires.

        Raise :class:`~nstore.errors.MissingKey` if ``key`` is absent. A store without expiry
        answers None for every present key.
        """
        if key not in self:
            raise missing(key)
        return None

    def touch(self, key: K, /, *, ttl: float | None) -> None:
        """Make ``key`` expire ``ttl`` seconds from now (``None``: never), keeping its value.

        Raise :class:`~nstore.errors.MissingKey` if ``key`` is absent. A store without expiry
        raises :class:`~nstore.errors.UnsupportedOperation`.
        """
        raise unsupported_ttl(self)

    # -- conditional writes ---------------------------------------------------------------------

    def set_if_absent(self, key: K, value: V, /) -> bool:
        """Store ``value`` only if ``key`` is absent; return whether it was stored.

        Atomic where :attr:`supports_atomic_writes` is true; the default raises.
        """
        raise UnsupportedOperation(f"{type(self).__name__} has no atomic set_if_absent.")

    def compare_and_set(self, key: K, expected: V, value: V, /) -> bool:
        """Replace the value at ``key`` with ``value`` only if it is ``expected`` now.

        Return whether it was replaced. Atomic where :attr:`supports_atomic_writes` is true; the
        default raises.
        """
        raise UnsupportedOperation(f"{type(self).__name__} has no atomic compare_and_set.")

    # -- life cycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Release resources; further use raises :class:`~nstore.errors.StoreClosed`.

        Idempotent. The default has nothing to release.
        """

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- typed views ---------------------------------------------------------------------------

    def with_keys(self, codec: Codec[K2, K], /) -> Store[K2, V]:
        """A view of this store whose keys go through ``codec`` (one flattened view)."""
        from nstore.codecs import Identity
        from nstore.view import View

        return View(self, codec, Identity())

    def with_values(self, codec: Codec[V2, V], /, *, trusted: bool = False) -> Store[K, V2]:
        """A view of this store whose values go through ``codec`` (one flattened view).

        On a remote store an unsafe codec (unsigned pickle) raises
        :class:`~nstore.errors.UnsafeCodecError` unless ``trusted=True`` says every writer to
        the store is trusted.
        """
        from nstore.codecs import Identity
        from nstore.view import View

        self.check_codec(codec, trusted=trusted)
        return View(self, Identity(), codec)

    def check_codec(self, codec: Codec[Any, Any], *, trusted: bool = False) -> None:
        """Raise :class:`~nstore.errors.UnsafeCodecError` for an unsafe codec on a remote store."""
        from nstore._views import refuse_unsafe

        refuse_unsafe(self, self.is_remote, codec, trusted)


def missing(key: object) -> MissingKey:
    """The error for a missing key (a :class:`KeyError`), for backends to raise."""
    return MissingKey(key)
