"""Where an HTTP store's requests go and how its pools behave: the URL and options checked once,
the retry rule, and the errors of a server that cannot be reached or answers too much; shared by
the sync and async pools and stores.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final, NamedTuple, Protocol, TypeVar
from urllib.parse import SplitResult, urlsplit

from nstore.errors import ConfigurationError, StoreUnavailable, ValueTooLarge
from nstore.stores._http_framing import ProtocolError

__all__ = [
    "RETRY_STATUSES",
    "ClientConfig",
    "ClientOptions",
    "Retry",
    "Target",
    "backoff_delay",
    "client_config",
    "target",
    "too_large",
    "unreachable",
]

#: Statuses worth retrying for an idempotent request: the server or a proxy was briefly unable.
RETRY_STATUSES: Final = frozenset({502, 503, 504})
#: The longest timeout or backoff taken, in seconds (longer ones overflow the socket's clock).
MAX_SECONDS: Final = 86_400


class _Answer(Protocol):
    @property
    def status(self) -> int: ...

    @property
    def body(self) -> bytes: ...


R = TypeVar("R", bound=_Answer)


def backoff_delay(backoff: float, attempt: int) -> float:
    """Seconds to wait before attempt ``attempt + 1``: exponential from ``backoff``, jittered."""
    return float(backoff * 2**attempt * (0.5 + random.random()))


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """How an HTTP store's pool reaches its server: checked once, for the sync and async pools."""

    scheme: str
    host: str
    port: int | None
    url: str  # scheme://netloc, for messages: never holds the token
    timeout: float
    connect_timeout: float
    max_response: int
    retries: int
    backoff: float


class ClientOptions(NamedTuple):
    """The connection options of HTTPStore and AsyncHTTPStore, as given (see :class:`~nstore.HTTPStore`)."""

    timeout: float
    connect_timeout: float
    max_response: int
    retries: int
    backoff: float


def client_config(found: Target, options: ClientOptions) -> ClientConfig:
    """The pool settings of an HTTP store, each checked (ConfigurationError names the bad one)."""
    given = options._asdict()
    for name in ("timeout", "connect_timeout", "backoff"):
        _check_seconds(name, given[name], zero=name == "backoff")
    for name, least in (("max_response", 1), ("retries", 0)):
        count: object = given[name]
        if type(count) is not int or count < least:
            raise ConfigurationError(f"Expected an integer >= {least} for {name}. Got {count!r} instead.")
    parts = found.parts
    try:
        port = parts.port
    except ValueError:
        raise ConfigurationError(f"Expected a port from 0 to 65535 in {parts.geturl()!r}.") from None
    return ClientConfig(
        parts.scheme,
        found.host,
        port,
        f"{parts.scheme}://{parts.netloc}",
        *options,
    )


def _check_seconds(name: str, seconds: object, *, zero: bool) -> None:
    """Refuse a timeout (or, if ``zero``, a backoff) that is not a number of seconds up to a day."""
    if not isinstance(seconds, bool) and isinstance(seconds, int | float):
        least_ok = seconds >= 0 if zero else seconds > 0
        if least_ok and seconds <= MAX_SECONDS:  # NaN is neither
            return
    if zero:
        raise ConfigurationError(
            f"Expected a number of seconds from 0 to {MAX_SECONDS} (a day) for {name}. "
            f"Got {seconds!r} instead."
        )
    raise ConfigurationError(
        f"Expected a positive number of seconds, at most {MAX_SECONDS} (a day), for {name}. "
        f"Got {seconds!r} instead; give the seconds to wait, as {name}=30."
    )


class Retry:
    """When a request is tried again: an idempotent one after a connection error or a 502/503/504,
    up to ``retries`` more times, with exponential backoff. Both pools run it the same way::

        outcome = attempt()                       # a response, or the connection error
        while (delay := retry.after(outcome)) is not None:
            sleep(delay); outcome = attempt()
        return retry.result(outcome)              # the response, or StoreUnavailable
    """

    __slots__ = ("_attempt", "_attempts", "_backoff", "_where")

    def __init__(self, config: ClientConfig, method: str, path: str, idempotent: bool) -> None:
        self._attempts = 1 + (config.retries if idempotent else 0)
        self._attempt = 0
        self._backoff = config.backoff
        self._where = (method, config.url + path)

    def after(self, outcome: _Answer | BaseException) -> float | None:
        """Seconds to wait before trying again, or None to stop at ``outcome``."""
        self._attempt += 1
        if self._attempt >= self._attempts:
            return None
        if isinstance(outcome, BaseException) or outcome.status in RETRY_STATUSES:
            return backoff_delay(self._backoff, self._attempt - 1)
        return None

    def result(self, outcome: R | BaseException) -> R:
        """The response, or the error for a server that could not be reached."""
        if isinstance(outcome, BaseException):
            raise unreachable(self._where[0], self._where[1], outcome) from outcome
        return outcome


def unreachable(method: str, url: str, exc: BaseException) -> StoreUnavailable:
    """The error for a request that could not reach the server on its last attempt."""
    advice = (
        "Check that the URL names an nstore server (or an HTTP/1.1 server, with api='plain')."
        if isinstance(exc, ProtocolError)
        else "Check that the server is running and reachable."
    )
    return StoreUnavailable(
        f"Could not {method} {url}: {type(exc).__name__}: {str(exc).rstrip('.')}. {advice}"
    )


def too_large(url: str, max_response: int, length: str | None = None) -> ValueTooLarge:
    """The error for a response over ``max_response`` bytes (declared ``length`` when known)."""
    if length is not None:
        return ValueTooLarge(
            f"The response from {url} is {length} bytes, over max_response="
            f"{max_response}; raise max_response to read it."
        )
    return ValueTooLarge(
        f"The response from {url} is over max_response={max_response} bytes; raise max_response to read it."
    )


class Target(NamedTuple):
    """Where an HTTP store's requests go: the URL's parts and the paths under it."""

    parts: SplitResult
    host: str
    base: str  # the path prefix of every endpoint
    keys: str  # the path that keys are appended to
    url: str  # the store's URL, for repr and messages (never holds a token)


def target(url: str, api: str) -> Target:
    """Check an HTTP store's ``url`` and ``api`` and say where its requests go.

    With ``api="nstore"``, a URL ending in ``/v1/`` or ``/v1/keys/`` (as ``nstore serve`` prints
    it) names the same server as its base URL; a URL with a query or fragment is refused.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"Expected an http:// or https:// URL with a host. Got {url!r} instead.")
    if api not in ("nstore", "plain"):
        raise ConfigurationError(f"Expected api='nstore' or api='plain'. Got {api!r} instead.")
    if parts.username or parts.password:
        raise ConfigurationError("Expected the credentials in token=..., not in the URL.")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ConfigurationError(f"Expected a base URL without a query or fragment. Got {url!r}.")
    base = _api_base(parts.path) if api == "nstore" else parts.path
    keys = base + "/v1/keys/" if api == "nstore" else base
    return Target(parts, parts.hostname, base, keys, f"{parts.scheme}://{parts.netloc}{base}")


def _api_base(path: str) -> str:
    """The server's base path: a URL given as ``.../v1/`` or ``.../v1/keys/`` means the same server."""
    base = path.rstrip("/")
    for tail in ("/v1/keys", "/v1"):
        if base.endswith(tail):
            return base[: -len(tail)]
    return base
