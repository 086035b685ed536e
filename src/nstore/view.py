"""The typed view: one key chain and one value chain over one store.

``store.with_keys(k1).with_keys(k2).with_values(v)`` is one :class:`View` holding the flattened
chains ``k2 | k1`` and ``v`` over ``store``: a call encodes once per chain and makes one call to the
store below, whatever the number of ``with_*`` calls. Bulk calls encode every key in one pass and
make one bulk call below; listing by prefix maps the prefix through the key chain, so a
``Prefix`` view lists only its own part of the store.

A key below that the key chain cannot decode is not part of the view, and listing skips it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from nstore._capabilities import ForwardedCapabilities
from nstore._views import (
    FOREIGN_KEY_ERRORS,
    decode_found,
    encode_keys,
    encode_pairs,
    listed_keys,
    lists_by_prefix,
)
from nstore.codecs._codec import Codec
from nstore.codecs._keys import Prefix
from nstore.errors import DecodeError, MissingKey
from nstore.store import KeyPage, Store

__all__ = ["View"]

K = TypeVar("K")
V = TypeVar("V")
K2 = TypeVar("K2")
V2 = TypeVar("V2")
KB = TypeVar("KB")  # the keys and values of the store below: the codecs' outputs must be them
VB = TypeVar("VB")


class View(ForwardedCapabilities, Store[K, V], Generic[K, V]):
    """A store seen through a key codec and a value codec. Made by ``with_keys``/``with_values``."""

    __slots__ = ("_dk", "_dv", "_ek", "_ev", "_keys", "_store", "_values")

    def __init__(self, store: Store[KB, VB], keys: Codec[K, KB], values: Codec[V, VB]) -> None:
        # Held as Store[Any, Any] and Codec[K, Any]: KB and VB are this call's, checked here only.
        self._store: Store[Any, Any] = store
        self._keys: Codec[K, Any] = keys
        self._values: Codec[V, Any] = values
        self._ek = self._keys.encode
        self._dk = self._keys.decode
        self._ev = self._values.encode
        self._dv = self._values.decode

    @property
    def store(self) -> Store[Any, Any]:
        """The store below the view."""
        return self._store

    @property
    def key_codec(self) -> Codec[K, Any]:
        return self._keys

    @property
    def value_codec(self) -> Codec[V, Any]:
        return self._values

    def __getitem__(self, key: K, /) -> V:
        try:
            raw = self._store[self._ek(key)]
        except KeyError:
            raise MissingKey(key) from None
        try:
            return self._dv(raw)
        except DecodeError as exc:
            exc.with_key(key)
            raise

    def __setitem__(self, key: K, value: V, /) -> None:
        self._store[self._ek(key)] = self._ev(value)

    def __delitem__(self, key: K, /) -> None:
        try:
            del self._store[self._ek(key)]
        except KeyError:
            raise MissingKey(key) from None

    # -- expiry is the store's ----------------------------------------------------------------

    def set(self, key: K, value: V, /, *, ttl: float | None = None) -> None:
        self._store.set(self._ek(key), self._ev(value), ttl=ttl)

    def ttl(self, key: K, /) -> float | None:
        try:
            return self._store.ttl(self._ek(key))
        except KeyError:
            raise MissingKey(key) from None

    def touch(self, key: K, /, *, ttl: float | None) -> None:
        try:
            self._store.touch(self._ek(key), ttl=ttl)
        except KeyError:
            raise MissingKey(key) from None

    def __contains__(self, key: object, /) -> bool:
        try:
            encoded = self._ek(key)  # type: ignore[arg-type]  # a key of another type is not in the view
        except FOREIGN_KEY_ERRORS:
            return False
        return encoded in self._store

    def __len__(self) -> int:
        return self.count_keys()

    def count_keys(self, prefix: K | None = None) -> int:
        # docstring inherited: through the store's own count where every key below the encoded
        # prefix is one of the view's (the key chain only adds prefixes), else by listing
        if all(isinstance(stage, Prefix) for stage in self._keys.stages):
            return self._store.count_keys(self._keys.encode_prefix(prefix))
        return sum(1 for _ in self.iter_keys(prefix))

    def iter_keys(self, prefix: K | None = None) -> Iterator[K]:
        # docstring inherited
        below = self._keys.encode_prefix(prefix)
        yield from listed_keys(self._dk, prefix, self._store.iter_keys(below))

    def keys_page(
        self, prefix: K | None = None, *, cursor: str | None = None, limit: int = 1000
    ) -> KeyPage[K]:
        # docstring inherited; the store's page, decoded: the cursor is the store's own, so pages
        # follow its order, and keys the chain cannot decode are left out (a page may shrink)
        page = self._store.keys_page(self._keys.encode_prefix(prefix), cursor=cursor, limit=limit)
        return KeyPage(list(listed_keys(self._dk, prefix, page.keys)), page.cursor)

    # -- bulk: one encoding pass, one call below -----------------------------------------------

    def get_many(self, keys: Iterable[K], /) -> dict[K, V]:
        below, below_to_key = encode_keys(self._keys, keys)
        return decode_found(self._dv, self._store.get_many(below), below_to_key)

    def set_many(self, items: Mapping[K, V] | Iterable[tuple[K, V]], /, *, ttl: float | None = None) -> None:
        self._store.set_many(encode_pairs(self._ek, self._ev, items), ttl=ttl)

    def delete_many(self, keys: Iterable[K], /) -> None:
        self._store.delete_many([self._ek(k) for k in keys])

    def set_if_absent(self, key: K, value: V, /) -> bool:
        return self._store.set_if_absent(self._ek(key), self._ev(value))

    def compare_and_set(self, key: K, expected: V, value: V, /) -> bool:
        # Compares encoded values: exact for deterministic codecs (every built-in codec is).
        return self._store.compare_and_set(self._ek(key), self._ev(expected), self._ev(value))

    # -- capabilities and life cycle are the store's ------------------------------------------

    @property
    def supports_prefix_listing(self) -> bool:
        # the other capabilities are the store's (ForwardedCapabilities)
        return lists_by_prefix(self._store.supports_prefix_listing, self._keys)

    def close(self) -> None:
        self._store.close()

    # -- flattening ----------------------------------------------------------------------------

    def with_keys(self, codec: Codec[K2, K], /) -> Store[K2, V]:
        return View(self._store, codec | self._keys, self._values)

    def with_values(self, codec: Codec[V2, V], /, *, trusted: bool = False) -> Store[K, V2]:
        chain = codec | self._values
        self._store.check_codec(chain, trusted=trusted)
        return View(self._store, self._keys, chain)

    def __repr__(self) -> str:
        return f"{self._store!r}.with_keys({self._keys!r}).with_values({self._values!r})"
