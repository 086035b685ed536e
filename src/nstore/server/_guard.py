"""What the server checks before a request reaches the store: Host, bearer tokens, CORS."""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from typing import Any, Literal

from nstore.errors import ConfigurationError
from nstore.server.problems import Problem

__all__ = ["LOOPBACK_HOSTS", "Access", "Guard", "is_loopback"]

Access = Literal["read", "write"]
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
_UNAUTHORIZED = (("WWW-Authenticate", 'Bearer realm="nstore"'),)
# A Host header: a name or an IPv4 address, or a bracketed IPv6 one, then an optional port. No
# userinfo ("@"), no list (two Host headers joined by a server with ","), no spaces.
_HOST = re.compile(r"(?P<name>[-A-Za-z0-9._~!$&'()*+;=%]*|\[[0-9A-Fa-f:.]+\])(?::[0-9]*)?")


def is_loopback(host: str) -> bool:
    """True if ``host`` (a bind address) only accepts connections from this machine."""
    import ipaddress

    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _tokens(name: str, tokens: Iterable[str] | str | None) -> tuple[bytes, ...]:
    if tokens is None:
        return ()
    if isinstance(tokens, str):
        tokens = [tokens]
    out = []
    for item in tokens:
        token: object = item  # checked at run time: callers may be untyped
        if not isinstance(token, str) or len(token) < 16 or not token.isprintable() or " " in token:
            raise ConfigurationError(
                f"Expected each of {name} to be a printable string of at least 16 characters without "
                "spaces (e.g. secrets.token_urlsafe()). Got a shorter or non-string token instead."
            )
        out.append(token.encode())
    return tuple(out)


class Guard:
    """Checks Host against an allow-list, bearer tokens in constant time, and adds CORS headers."""

    def __init__(
        self,
        *,
        tokens: Iterable[str] | str | None,
        read_only_tokens: Iterable[str] | str | None,
        allowed_hosts: Iterable[str] | None,
        cors_origins: Iterable[str] | None,
    ) -> None:
        self.write_tokens = _tokens("tokens", tokens)
        self.read_tokens = _tokens("read_only_tokens", read_only_tokens)
        self.auth_enabled = bool(self.write_tokens or self.read_tokens)
        hosts = LOOPBACK_HOSTS if allowed_hosts is None else tuple(allowed_hosts)
        self.allowed_hosts = tuple(h.lower().strip("[]") for h in hosts)
        self.any_host = "*" in self.allowed_hosts
        self.known_hosts: set[str] = set()  # Host headers already allowed
        self.cors_origins = None if cors_origins is None else frozenset(cors_origins)

    def allow_host(self, host: str) -> None:
        """Also accept ``host`` in the Host header (the address the server binds)."""
        if host not in ("0.0.0.0", "::", ""):
            self.allowed_hosts += (host.lower().strip("[]"),)
            self.known_hosts.clear()

    def check_host(self, environ: dict[str, Any]) -> None:
        if self.any_host:
            return
        header = environ.get("HTTP_HOST")
        if not header:
            raise Problem(400, "missing-host", "Expected a Host header. Got none.")
        match = _HOST.fullmatch(header)
        if match is None:
            raise Problem(400, "bad-host", "Expected one Host header of the form name[:port].")
        name = match["name"].strip("[]").lower()
        for allowed in self.allowed_hosts:
            # ".example.com" allows example.com and every name under it.
            if name == allowed or (
                allowed.startswith(".") and (name.endswith(allowed) or name == allowed[1:])
            ):
                if len(self.known_hosts) < 64:  # clients choose Host: remember only so many
                    self.known_hosts.add(header)
                return
        raise Problem(
            421,
            "host-not-allowed",
            "The Host header names a host this server does not serve; add it to allowed_hosts.",
        )

    def access(self, environ: dict[str, Any]) -> Access:
        """The access the request's bearer token grants; raise 401 for a missing or wrong one."""
        if not self.auth_enabled:
            return "write"
        header: str = environ.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Problem(401, "unauthorized", "Expected an Authorization: Bearer token.", _UNAUTHORIZED)
        given = token.strip().encode("latin-1")
        # Every token is compared, so the time taken does not tell which list a token is in.
        write = False
        read = False
        for known in self.write_tokens:
            write |= hmac.compare_digest(given, known)
        for known in self.read_tokens:
            read |= hmac.compare_digest(given, known)
        if write:
            return "write"
        if read:
            return "read"
        raise Problem(401, "unauthorized", "The bearer token is not valid for this server.", _UNAUTHORIZED)

    def cors_headers(self, environ: dict[str, Any], preflight: bool) -> list[tuple[str, str]]:
        """CORS headers for an allowed Origin; none unless ``cors_origins`` was configured."""
        if self.cors_origins is None:
            return []
        origin = environ.get("HTTP_ORIGIN")
        if not origin or (origin not in self.cors_origins and "*" not in self.cors_origins):
            return []
        headers = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        if preflight:
            headers += [
                ("Access-Control-Allow-Methods", "GET, HEAD, PUT, DELETE, POST"),
                ("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match, If-None-Match"),
                ("Access-Control-Max-Age", "600"),
            ]
        else:
            headers.append(("Access-Control-Expose-Headers", "ETag"))
        return headers
