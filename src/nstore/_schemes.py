"""The store URL schemes: each kind of store, the URL schemes that name it, and its options (name,
type, help, the constructor parameter it feeds). :mod:`nstore.urls` parses URLs against this table;
``nstore --help`` and the CLI's completion read it too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict

from nstore.errors import ConfigurationError

__all__ = ["BY_KIND", "BY_SCHEME", "SCHEMES", "Option", "Scheme", "StoreOptions"]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class StoreOptions(TypedDict, total=False):
    """The keyword options of :func:`open` and :func:`parse`, for type checkers.

    A misspelt name or a value of the wrong type is a type error (``open(url, durabilty="full")``).
    Which options a store takes depends on its scheme (see :data:`SCHEMES`); an option of another
    scheme type-checks and is refused at run time with :class:`~nstore.errors.ConfigurationError`.
    A test checks that these keys and types are exactly those of :data:`SCHEMES`.
    """

    # memory://
    maxsize: int
    maxbytes: int
    ttl: float  # memory:// and redis://
    # file://
    durable: bool
    read_only: bool  # file:// and sqlite://
    # sqlite://
    durability: Literal["normal", "full", "off"]
    table: str
    max_bytes: int
    eviction: Literal["lru", "lfu", "fifo"]
    checkpoints: Literal["background", "inline"]
    timeout: float  # sqlite://, redis:// and http://
    # redis:// and redis+cluster://
    prefix: str
    connect_timeout: float  # also http://
    retries: int  # also http://
    replicas: int
    replica_timeout: float
    # http://
    token: str
    api: Literal["nstore", "plain"]


@dataclass(frozen=True)
class Option:
    """One option a URL scheme accepts: its name, type and the constructor parameter it feeds."""

    name: str
    type: type[bool] | type[int] | type[float] | type[str]
    help: str
    choices: tuple[str, ...] = ()
    param: str = ""  # the backend constructor's parameter; the option's name when empty

    @property
    def accepts(self) -> str:
        """What the option accepts, in words, for error messages and help."""
        if self.choices:
            return " | ".join(self.choices)
        return {bool: "true | false", int: "an integer >= 0", float: "a number >= 0"}.get(self.type, "text")

    def convert(self, raw: object) -> object:
        """The option's value of the right type, from URL text or a Python value."""
        expected = f"Expected {self.accepts} for option {self.name!r}. Got {raw!r} instead."
        if isinstance(raw, str) and self.type is not str:
            text = raw.strip().lower()
            if self.type is bool:
                if text in _TRUE | _FALSE:
                    return text in _TRUE
                raise ConfigurationError(expected)
            try:
                raw = self.type(text)
            except ValueError:
                raise ConfigurationError(expected) from None
        if self.type is float and isinstance(raw, int) and not isinstance(raw, bool):
            raw = float(raw)
        if type(raw) is not self.type:
            raise ConfigurationError(expected)
        if isinstance(raw, int | float) and not isinstance(raw, bool) and raw < 0:
            raise ConfigurationError(expected)
        if self.choices and raw not in self.choices:
            raise ConfigurationError(expected)
        return raw


@dataclass(frozen=True)
class Scheme:
    """One kind of store URL: its ``kind``, the URL schemes that name it, the form, the options."""

    kind: str
    schemes: tuple[str, ...]
    form: str
    backend: str  # the store class, "module:name"
    options: tuple[Option, ...]
    #: Options other kinds of store take that this one cannot, with what to do instead.
    lacks: tuple[tuple[str, str], ...] = ()


_REDIS = "nstore.stores.redis:RedisStore"
_HTTP = "nstore.stores.http:HTTPStore"
# RedisStore's options (RedisOptions) exactly: RedisStore parses its URLs with this module.
_REDIS_OPTIONS = (
    Option("prefix", str, "a prefix added to every key, so several stores share one database"),
    Option("timeout", float, "seconds to wait for a reply before StoreUnavailable"),
    Option("connect_timeout", float, "seconds to wait for a connection"),
    Option("retries", int, "retries of idempotent operations after a lost connection"),
    Option("ttl", float, "seconds each value written lives (Redis expires it)"),
    Option("replicas", int, "replicas every write waits for (WAIT)"),
    Option("replica_timeout", float, "seconds a write waits for its replicas"),
)
_HTTP_OPTIONS = (
    Option("token", str, "the bearer token the server requires"),
    Option("timeout", float, "seconds to wait for a reply before StoreUnavailable"),
    Option("connect_timeout", float, "seconds to wait for a connection"),
    Option("retries", int, "retries of idempotent requests"),
    Option("api", str, "nstore: an nstore server; plain: any GET/PUT/DELETE server", ("nstore", "plain")),
)

SCHEMES: tuple[Scheme, ...] = (
    Scheme(
        "memory",
        ("memory",),
        "memory://",
        "nstore.stores.memory:MemoryStore",
        (
            Option("maxsize", int, "evict least recently used keys beyond this many"),
            Option("maxbytes", int, "evict least recently used keys beyond this many value bytes"),
            Option("ttl", float, "seconds a value lives"),
        ),
    ),
    Scheme(
        "file",
        ("file",),
        "file:///abs/dir or a bare directory path",
        "nstore.stores.file:FileStore",
        (
            Option("durable", bool, "fsync every write (false: faster, for caches)"),
            Option("read_only", bool, "open without changing anything on disk; writes raise ReadOnlyError"),
        ),
        (
            (
                "ttl",
                "a FileStore keeps only each value in its file, so nothing can expire there: "
                "use sqlite:///path/to/file.db for values with a ttl",
            ),
        ),
    ),
    Scheme(
        "sqlite",
        ("sqlite",),
        "sqlite:///abs/path.db or a bare path ending in .db",
        "nstore.stores.sqlite:SQLiteStore",
        (
            Option("durability", str, "what a write survives", ("normal", "full", "off")),
            Option("table", str, "the table holding the keys"),
            Option("timeout", float, "seconds to wait for another writer's lock"),
            Option("read_only", bool, "open without changing the file; writes raise ReadOnlyError"),
            Option("max_bytes", int, "bound the bytes of keys and values: a cache that evicts beyond"),
            Option("eviction", str, "what a bounded store evicts first", ("lru", "lfu", "fifo")),
            Option("checkpoints", str, "who copies the WAL into the database", ("background", "inline")),
        ),
    ),
    Scheme("redis", ("redis", "rediss"), "redis://host:port/db or rediss://...", _REDIS, _REDIS_OPTIONS),
    Scheme(
        "redis-cluster",
        ("redis+cluster", "rediss+cluster"),
        "redis+cluster://host:port,host:port",
        _REDIS,
        _REDIS_OPTIONS,
    ),
    Scheme("http", ("http", "https"), "http://host:port/ or https://...", _HTTP, _HTTP_OPTIONS),
)
"""Every URL scheme :func:`open` accepts, with its options."""

BY_SCHEME = {name: s for s in SCHEMES for name in s.schemes}
BY_KIND = {s.kind: s for s in SCHEMES}
