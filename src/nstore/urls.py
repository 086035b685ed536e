"""Store URLs: :func:`open` turns a URL (or a bare path) into the right backend.

========================================  ==============================================
URL                                       store
========================================  ==============================================
(none)                                    SQLite in ``./nstore.db``, the embedded default
``memory://``                             :class:`~nstore.MemoryStore` (this process only)
``file:///abs/dir``, ``some/dir``         :class:`~nstore.stores.file.FileStore`
``sqlite:///abs/path.db``, ``x.db``       :class:`~nstore.stores.sqlite.SQLiteStore`
``redis://host:port/db``, ``rediss://``   :class:`~nstore.stores.redis.RedisStore`
``redis+cluster://host:port,host:port``   :class:`~nstore.stores.redis.RedisStore` on Redis Cluster
``http://host:port/``, ``https://``       :class:`~nstore.stores.http.HTTPStore`
========================================  ==============================================

Paths follow the file URL convention: after ``file://`` or ``sqlite://`` comes an absolute path
(``file:///srv/data``, three slashes); a bare path may be relative and is resolved against the
current directory. A bare path ending in ``.db``, ``.sqlite`` or ``.sqlite3``, or naming an
existing file, is a SQLite database; any other bare path is a FileStore directory. A Redis URL's
path is its database number (``redis://host:6379/2``; none on a cluster).

Options go in the query string (``sqlite:///srv/app.db?durability=full``, also after a bare path:
``app.db?durability=full``) or as keyword arguments, which take precedence; each is checked and
converted to its type. So a ``?`` in a bare path string always starts the options: name a file
with a ``?`` in it as a ``pathlib.Path`` or as ``file:///abs/odd%3Fname``. A bare path that starts
with a scheme's name and a colon but no ``//`` (``memory:``, ``sqlite:/srv/a.db``) is refused
rather than taken for a file name; write ``./memory:`` for such a file. An unknown scheme or
option, or a value of the wrong type, raises :class:`~nstore.errors.ConfigurationError` saying
what is accepted.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict, Unpack, cast
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

from nstore.errors import ConfigurationError
from nstore.store import Store

__all__ = ["DEFAULT_PATH", "SCHEMES", "Option", "Scheme", "StoreOptions", "StoreURL", "open", "parse"]

DEFAULT_PATH = "nstore.db"
"""The embedded default store, relative to the current directory: a SQLite database."""

_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_SCHEME_COLON = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_REDIS_DB = re.compile(r"/?|/[0-9]+")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_SECRET_OPTIONS = frozenset({"token", "password"})


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

_BY_SCHEME = {name: s for s in SCHEMES for name in s.schemes}
_BY_KIND = {s.kind: s for s in SCHEMES}


@dataclass(frozen=True)
class StoreURL:
    """A parsed, validated store URL; :meth:`open` makes the store.

    ``location`` is an absolute path for ``file`` and ``sqlite``, the network URL without the
    nstore options otherwise. ``str()`` gives a canonical URL with secrets hidden.

    Examples
    --------
    >>> url = parse("sqlite:///srv/app.db?durability=full")
    >>> url.kind, url.location, url.options
    ('sqlite', '/srv/app.db', {'durability': 'full'})
    >>> str(parse("memory://"))
    'memory://'
    """

    kind: str
    location: str
    options: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        options = sorted(self.options.items())
        query = "&".join(f"{k}={'***' if k in _SECRET_OPTIONS else _query_text(v)}" for k, v in options)
        if self.kind in ("file", "sqlite"):
            base = f"{self.kind}://{quote(self.location)}"
        elif self.kind == "memory":
            base = "memory://"
        else:
            base = _hide_password(self.location)
        return f"{base}?{query}" if query else base

    def open(self) -> Store[str, bytes]:
        """Open the store this URL names (importing its backend only now)."""
        module, _, name = _BY_KIND[self.kind].backend.partition(":")
        cls = getattr(importlib.import_module(module), name)
        args, kwargs = self.arguments(cls)
        return cast("Store[str, bytes]", cls(*args, **kwargs))

    def arguments(self, cls: Callable[..., object]) -> tuple[tuple[str, ...], dict[str, Any]]:
        """The positional and keyword arguments that make ``cls`` (this kind's store) for this URL."""
        args = (self.location,) if self.location else ()  # memory:// takes no location
        return args, _kwargs(self, cls)


def parse(url: str | os.PathLike[str] | None = None, /, **options: Unpack[StoreOptions]) -> StoreURL:
    """Parse and validate a store URL without opening it (see the module docs for the forms).

    Raises :class:`~nstore.errors.ConfigurationError` for an unknown scheme or option, or a bad
    option value, listing what is accepted.
    """
    if url is None:
        return _parsed("sqlite", str(Path(DEFAULT_PATH).absolute()), {}, options)
    if isinstance(url, os.PathLike):  # a path object is a path, whatever its characters
        return _bare_path(os.fspath(url), {}, options, "")
    text = url
    if not text.strip():
        raise ConfigurationError("Expected a store URL or a path. Got an empty string instead.")
    match = _URL.match(text)
    if match is None:
        _refuse_scheme_without_slashes(text)
        path, _, after = text.partition("?")
        return _bare_path(path, _query(after, text), options, text)
    scheme = _BY_SCHEME.get(match.group(1).lower())
    if scheme is None:
        raise ConfigurationError(
            f"Unknown store URL scheme {match.group(1)!r} in {_redact(text)!r}. {_forms()}"
        )
    parts = urlsplit(text)
    query = _query(parts.query, text)
    if scheme.kind in ("file", "sqlite"):
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise ConfigurationError(
                f"Expected an absolute path after {match.group(1)}:// (three slashes: "
                f"{match.group(1)}:///abs/path), or a bare relative path without a scheme. "
                f"Got {_redact(text)!r} instead."
            )
        return _parsed(scheme.kind, unquote(parts.path), query, options)
    if scheme.kind == "memory":
        if parts.netloc or parts.path not in ("", "/"):
            raise ConfigurationError(
                f"Expected memory:// with no host or path. Got {_redact(text)!r} instead."
            )
        return _parsed("memory", "", query, options)
    if not parts.hostname:
        raise ConfigurationError(f"Expected a host in {_redact(text)!r}, e.g. {scheme.form}.")
    if scheme.kind == "redis" and not _REDIS_DB.fullmatch(parts.path):
        raise ConfigurationError(
            "Expected a database number after the host, as in redis://host:6379/0. "
            f"Got the path {parts.path!r} in {_redact(text)!r}."
        )
    if scheme.kind == "redis-cluster" and parts.path not in ("", "/", "/0"):
        raise ConfigurationError(
            "Expected no database in a redis+cluster:// URL (a cluster has only database 0). "
            f"Got the path {parts.path!r} in {_redact(text)!r}."
        )
    location = urlunsplit((parts.scheme.lower(), parts.netloc, parts.path, "", ""))
    return _parsed(scheme.kind, location, query, options)


def open(url: str | os.PathLike[str] | None = None, /, **options: Unpack[StoreOptions]) -> Store[str, bytes]:
    """Open the store named by ``url``; with no URL, the embedded default SQLite ``./nstore.db``.

    Options come from the URL's query string or from ``options`` (which take precedence).

    Examples
    --------
    >>> import nstore.urls
    >>> store = nstore.urls.open("memory://")
    >>> store["greeting"] = b"hello"
    >>> store["greeting"]
    b'hello'
    """
    return parse(url, **options).open()


def _bare_path(text: str, query: Mapping[str, str], options: Mapping[str, object], whole: str) -> StoreURL:
    """A path without a scheme; ``whole`` is the text it came from, with its query if any."""
    path = Path(text).expanduser().absolute()
    kind = "sqlite" if path.suffix.lower() in _SQLITE_SUFFIXES or path.is_file() else "file"
    try:
        return _parsed(kind, str(path), query, options)
    except ConfigurationError as exc:
        if set(query) <= {o.name for o in _BY_KIND[kind].options}:
            raise  # a bad value, not a '?' that was meant as part of the name
        literal = quote(str(Path(whole).expanduser().absolute()))  # quote() turns ? into %3F
        raise ConfigurationError(
            f"{exc} A '?' in a bare path starts the options; for a file named with a '?', "
            f"write file://{literal} (or pass a pathlib.Path)."
        ) from None


def _refuse_scheme_without_slashes(text: str) -> None:
    """Refuse ``memory:``, ``sqlite:/a.db`` and the like: a scheme's name, a colon and no ``//``."""
    match = _SCHEME_COLON.match(text)
    scheme = None if match is None else _BY_SCHEME.get(match.group(1).lower())
    if match is None or scheme is None:
        return
    literal = "./" + text.partition("?")[0]
    raise ConfigurationError(
        f"Expected {scheme.form} for a {scheme.kind} store: the scheme, then //. Got {_redact(text)!r}. "
        f"For a file or directory whose name starts with {match.group(0)!r}, write {literal!r}."
    )


def _parsed(kind: str, location: str, query: Mapping[str, str], options: Mapping[str, object]) -> StoreURL:
    scheme = _BY_KIND[kind]
    known = {o.name: o for o in scheme.options}
    typed: dict[str, object] = {}
    for name, raw in {**query, **options}.items():
        option = known.get(name)
        if option is None:
            lacking = dict(scheme.lacks).get(name)
            if lacking is not None:
                raise ConfigurationError(f"A {kind} store has no option {name!r}: {lacking}.")
            accepted = ", ".join(f"{o.name} ({o.accepts})" for o in scheme.options) or "none"
            raise ConfigurationError(
                f"Unknown option {name!r} for a {kind} store. Accepted options: {accepted}."
            )
        typed[name] = option.convert(raw)
    return StoreURL(kind, location, typed)


def _query(query: str, text: str) -> dict[str, str]:
    pairs = parse_qsl(query, keep_blank_values=True)
    names = [name for name, _ in pairs]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ConfigurationError(
            f"Option {duplicated[0]!r} is given twice in {_redact(text)!r}; give it once."
        )
    return dict(pairs)


def _kwargs(url: StoreURL, cls: Callable[..., object]) -> dict[str, Any]:
    """The constructor keyword arguments for ``url``'s options; each must be a parameter of ``cls``."""
    scheme = _BY_KIND[url.kind]
    params = inspect.signature(cls).parameters
    kwargs: dict[str, Any] = {}
    for option in scheme.options:
        if option.name in url.options:
            param = option.param or option.name
            if param not in params:
                raise ConfigurationError(
                    f"Option {option.name!r} is not supported by this version's "
                    f"{getattr(cls, '__name__', cls)}."
                )
            kwargs[param] = url.options[option.name]
    return kwargs


def _forms() -> str:
    return "Accepted: " + "; ".join(s.form for s in SCHEMES) + "; or no URL for ./nstore.db."


def _query_text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else quote(str(value), safe="")


def _hide_password(location: str) -> str:
    parts = urlsplit(location)
    if parts.password is None:
        return location
    netloc = parts.netloc.rpartition("@")
    user = netloc[0].partition(":")[0]
    return location.replace(parts.netloc, f"{user}:***@{netloc[2]}", 1)


def _redact(text: str) -> str:
    """``text`` with passwords and secret options hidden, for error messages."""
    if not _URL.match(text):
        return text
    parts = urlsplit(text)
    query_pairs = parse_qsl(parts.query, keep_blank_values=True)
    if any(k in _SECRET_OPTIONS for k, _ in query_pairs):
        pairs = [(k, "***" if k in _SECRET_OPTIONS else v) for k, v in query_pairs]
        text = text.split("?", 1)[0] + "?" + "&".join(f"{k}={v}" for k, v in pairs)
    return _hide_password(text) if parts.password is not None else text
