"""The capabilities of a store over a store: a view's or an adapter's are those of the store below."""

from __future__ import annotations

from typing import Any

__all__ = ["ForwardedCapabilities"]


class ForwardedCapabilities:
    """Mixin: the capability properties read from ``self._store``, the store below.

    Put it before the store base class (``class V(ForwardedCapabilities, AsyncStore[K, V])``) so
    its properties are the ones found; a class overrides any capability that it changes.
    """

    __slots__ = ()
    _store: Any

    @property
    def is_persistent(self) -> bool:
        result: bool = self._store.is_persistent
        return result

    @property
    def is_remote(self) -> bool:
        result: bool = self._store.is_remote
        return result

    @property
    def supports_prefix_listing(self) -> bool:
        result: bool = self._store.supports_prefix_listing
        return result

    @property
    def supports_atomic_writes(self) -> bool:
        result: bool = self._store.supports_atomic_writes
        return result
