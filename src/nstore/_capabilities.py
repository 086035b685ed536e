"""Capabilities of stores, sync and async alike: the defaults of a store, and those of a store over
a store (a view's, a wrapper's, an adapter's are those of the store below)."""

from __future__ import annotations

from typing import Any

__all__ = ["Capabilities", "ForwardedCapabilities"]


class Capabilities:
    """Mixin: the capability properties of :class:`~nstore.Store` and :class:`~nstore.AsyncStore`,
    all False; a backend overrides those it has."""

    __slots__ = ()

    @property
    def is_persistent(self) -> bool:
        """True if values outlive the process that wrote them."""
        return False

    @property
    def is_remote(self) -> bool:
        """True if values travel over a network; unsafe codecs are refused on such stores."""
        return False

    @property
    def supports_prefix_listing(self) -> bool:
        """True if ``iter_keys(prefix)`` is served natively, without scanning every key."""
        return False

    @property
    def supports_atomic_writes(self) -> bool:
        """True if :meth:`set_if_absent` and :meth:`compare_and_set` are atomic."""
        return False

    @property
    def supports_ttl(self) -> bool:
        """True if values can expire per key: ``set(key, value, ttl=)``, ``ttl(key)``, ``touch``."""
        return False


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

    @property
    def supports_ttl(self) -> bool:
        result: bool = self._store.supports_ttl
        return result
