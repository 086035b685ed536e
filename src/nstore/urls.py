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
converted to its type (numbers in ASCII digits). In the query, ``+`` is a plus sign and a space
is ``%20``; a ``#`` in a URL is refused (it would start a fragment, which would be dropped: write
``%23``), and so is a port outside 1 to 65535. A ``?`` in a bare path string always starts the
options: name a file with a ``?`` in it as a ``pathlib.Path`` or as ``file:///abs/odd%3Fname``.
A bare path that starts with a scheme's name and a colon but no ``//`` (``memory:``,
``sqlite:/srv/a.db``) is refused
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
from typing import Any, Unpack, cast
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

from nstore._schemes import BY_KIND, BY_SCHEME, SCHEMES, Option, Scheme, StoreOptions
from nstore.errors import ConfigurationError
from nstore.store import Store

__all__ = [
    "DEFAULT_PATH",
    "SCHEMES",
    "Option",
    "Scheme",
    "StoreOptions",
    "StoreURL",
    "open",
    "parse",
    "port_number",
]

DEFAULT_PATH = "nstore.db"
"""The embedded default store, relative to the current directory: a SQLite database."""

_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
_SECRET_OPTIONS = frozenset({"token", "password"})
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_SCHEME_COLON = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_REDIS_DB = re.compile(r"/?|/[0-9]+")


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
        module, _, name = BY_KIND[self.kind].backend.partition(":")
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
    scheme = BY_SCHEME.get(match.group(1).lower())
    if scheme is None:
        raise ConfigurationError(
            f"Unknown store URL scheme {match.group(1)!r} in {_redact(text)!r}. {_forms()}"
        )
    if "#" in text:
        raise ConfigurationError(
            f"A '#' in a store URL would start a fragment, which store URLs do not have: "
            f"write a '#' in a path or an option as %23. Got {_redact(text)!r}."
        )
    try:
        parts = urlsplit(text)
    except ValueError as exc:  # an unclosed or invalid IPv6 bracket
        raise ConfigurationError(f"Expected a valid URL. Got {_redact(text)!r}: {exc}.") from None
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
    hosts = parts.netloc.rpartition("@")[2]
    for host in hosts.split(",") if scheme.kind == "redis-cluster" else [hosts]:
        _, colon, port = host.rpartition(":") if not host.endswith("]") else ("", "", "")
        if colon and port_number(port) is None:
            raise ConfigurationError(
                f"Expected a port from 1 to 65535 after each host (host:port) in {_redact(text)!r}. "
                f"Got {port!r}."
            )
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
        if set(query) <= {o.name for o in BY_KIND[kind].options}:
            raise  # a bad value, not a '?' that was meant as part of the name
        literal = quote(str(Path(whole).expanduser().absolute()))  # quote() turns ? into %3F
        raise ConfigurationError(
            f"{exc} A '?' in a bare path starts the options; for a file named with a '?', "
            f"write file://{literal} (or pass a pathlib.Path)."
        ) from None


def _refuse_scheme_without_slashes(text: str) -> None:
    """Refuse ``memory:``, ``sqlite:/a.db`` and the like: a scheme's name, a colon and no ``//``."""
    match = _SCHEME_COLON.match(text)
    scheme = None if match is None else BY_SCHEME.get(match.group(1).lower())
    if match is None or scheme is None:
        return
    literal = "./" + text.partition("?")[0]
    raise ConfigurationError(
        f"Expected {scheme.form} for a {scheme.kind} store: the scheme, then //. Got {_redact(text)!r}. "
        f"For a file or directory whose name starts with {match.group(0)!r}, write {literal!r}."
    )


def _parsed(kind: str, location: str, query: Mapping[str, str], options: Mapping[str, object]) -> StoreURL:
    scheme = BY_KIND[kind]
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


def port_number(text: str) -> int | None:
    """The port ``text`` names (ASCII digits, 1 to 65535), or None."""
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 65536:
        return None
    return int(text)


def _query(query: str, text: str) -> dict[str, str]:
    # A '+' is a plus sign (RFC 3986 gives it no other meaning in a query); a space is %20.
    try:
        pairs = parse_qsl(query.replace("+", "%2B"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise ConfigurationError(
            f"Expected options that are UTF-8 text once percent-decoded. Got {_redact(text)!r}."
        ) from None
    names = [name for name, _ in pairs]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ConfigurationError(
            f"Option {duplicated[0]!r} is given twice in {_redact(text)!r}; give it once."
        )
    return dict(pairs)


def _kwargs(url: StoreURL, cls: Callable[..., object]) -> dict[str, Any]:
    """The constructor keyword arguments for ``url``'s options; each must be a parameter of ``cls``."""
    scheme = BY_KIND[url.kind]
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
    try:
        parts = urlsplit(text)
    except ValueError:  # not a URL urlsplit reads: hide whatever could be a secret
        text = re.sub(r"(://)[^/?]*@", r"\1***@", text)
        return re.sub(r"\b(token|password)=[^&]*", r"\1=***", text)
    query_pairs = parse_qsl(parts.query, keep_blank_values=True)
    if any(k in _SECRET_OPTIONS for k, _ in query_pairs):
        pairs = [(k, "***" if k in _SECRET_OPTIONS else v) for k, v in query_pairs]
        text = text.split("?", 1)[0] + "?" + "&".join(f"{k}={v}" for k, v in pairs)
    return _hide_password(text) if parts.password is not None else text
