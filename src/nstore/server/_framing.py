"""HTTP/1.1 request framing (RFC 9112), strict, parsed from a connection's receive buffer.

The event loop reads whatever has arrived into a buffer; :func:`parse_head` says whether it
holds a complete request head, and :func:`framing` reads the fields that frame the body
(:mod:`~nstore.server._chunked` decodes a chunked one). The grammar is RFC 9112's without its
leniencies: lines end in CRLF only (a bare CR or LF is refused), one SP separates
the parts of the request line, header names are tokens with no space before the colon, values
hold no control characters, and no empty line may come before a request. Whatever h11 or
llhttp refuse is refused here too (``tests/server/test_strict.py`` checks the first on every
case). Malformed input raises a :class:`~nstore.server.problems.Problem` (400, 413 for a
Content-Length too large to be real, 414 for a request target over ``MAX_LINE`` bytes, 431 for
other oversized heads), which the server sends before closing the connection.

Each check is one compiled regular expression over bytes, so a request costs a few C scans and
no per-byte Python; nothing is ever decoded as text, so no Unicode rule (what ``str.strip``
or ``str.isdigit`` take as space or digit) applies anywhere.
"""

from __future__ import annotations

import re

from nstore.server.problems import Problem

__all__ = [
    "FIELD",
    "MAX_HEAD",
    "MAX_HEADERS",
    "MAX_LINE",
    "TOKEN",
    "Framing",
    "Head",
    "check_start",
    "framing",
    "malformed",
    "origin_form",
    "parse_head",
    "too_large",
]

MAX_LINE = 8192
MAX_HEADERS = 100
#: The largest request head (request line and headers) accepted.
MAX_HEAD = 64 * 1024
#: A request line holds a method of 32 bytes at most (``_START``), two SP and ``HTTP/1.1\r``.
_LINE_SLACK = 64
_MAX_LENGTH_DIGITS = 18  # below 2**63: longer Content-Lengths are refused as too large

TOKEN = rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+"
_VALUE = rb"(?:[\x21-\x7e\x80-\xff]+(?:[ \t]+[\x21-\x7e\x80-\xff]+)*)?"
FIELD = rb"%s:[ \t]*%s[ \t]*\r\n" % (TOKEN, _VALUE)
# The request target: visible ASCII except "#" (a fragment is never sent, RFC 9112 3.2). The
# fields are checked in the same pass: a token, a colon, a value of visible bytes, SP and HTAB.
_LOOSE_FIELD = rb"%s:[\t\x20-\x7e\x80-\xff]*\r\n" % TOKEN
_HEAD = re.compile(rb"(%s) ([!\x22$-~]+) (HTTP/1\.[01])\r\n((?:%s)*)\r\n" % (TOKEN, _LOOSE_FIELD))
_REQUEST_LINE = re.compile(rb"%s [!\x22$-~]+ HTTP/1\.[01]\r\n" % TOKEN)
# What a request line can begin with, before its end has arrived: a method, SP, a target, SP...
_START = re.compile(rb"[-!#$%&'*+.^_`|~0-9A-Za-z]{0,32}(?: [!\x22$-~]*(?: [HTP/.01]{0,8}\r?)?)?")
# Host: a reg-name, an IPv4 address or a bracketed IPv6 one, and an optional port (RFC 3986 3.2.2).
_HOST = re.compile(rb"(?:(?:[-A-Za-z0-9._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]*)?")
# An absolute-form target (RFC 9112 3.2.2): a scheme, an authority, then a path and query.
_ABSOLUTE = re.compile(rb"[Hh][Tt][Tt][Pp][Ss]?://([^/?]*)(/[^?]*)?(\?.*)?", re.DOTALL)

_good_hosts: set[bytes] = set()  # Host values that passed _HOST

#: ``(length, method, target, version, headers)``: ``length`` counts the head's bytes.
Head = tuple[int, bytes, bytes, bytes, list[tuple[bytes, bytes]]]
#: ``(host, content_length, chunked, keep_alive, expect_continue, plain)``. ``content_length``
#: is None without the header; ``plain`` says the request has no header beyond Host,
#: Content-Length and ones the application ignores (see ``PLAIN``).
Framing = tuple[bytes | None, int | None, bool, bool, bool, bool]

#: Request headers a plain GET or PUT may carry and still take the application's fast path.
PLAIN = frozenset({b"host", b"content-length", b"user-agent", b"accept", b"accept-encoding", b"content-type"})


def malformed(detail: str) -> Problem:
    return Problem(400, "malformed-request", detail)


def too_large(detail: str) -> Problem:
    return Problem(431, "headers-too-large", detail)


def _target_too_long(length: str) -> Problem:
    """A request target too long to parse is refused with 414 (RFC 9112 3), and with the problem
    code of a key over ``max_key_length``: the target is where a key is, so clients take it for an
    invalid key."""
    return Problem(
        414,
        "key-too-long",
        f"Expected a request target of at most {MAX_LINE} bytes. Got {length} bytes instead; "
        "use a shorter key.",
    )


def parse_head(buf: bytearray, scanned: int = 0) -> Head | None:
    """The head at the start of ``buf``, or None while it is incomplete.

    ``scanned`` is how far an earlier call found no end of head, so a head that arrives in many
    small pieces is scanned once, not once per piece.
    """
    end = buf.find(b"\r\n\r\n", max(0, scanned - 3))
    if end < 0:
        check_start(buf)
        if len(buf) > MAX_HEAD:
            raise too_large(f"Expected a request head of at most {MAX_HEAD} bytes.")
        return None
    if end + 4 > MAX_HEAD:
        check_start(buf)  # 414 if the request line is what is too long
        raise too_large(f"Expected a request head of at most {MAX_HEAD} bytes.")
    match = _HEAD.match(buf, 0, end + 4)
    if match is None or match.end() != end + 4:
        raise _refusal(buf, end)
    method, target, version, block = match.groups()
    lines = block.split(b"\r\n")
    lines.pop()  # the block ends with CRLF
    headers = []
    for line in lines:
        name, _, value = line.partition(b":")
        headers.append((name, value.strip(b" \t")))
    if len(headers) > MAX_HEADERS:
        raise too_large(f"Expected at most {MAX_HEADERS} header fields.")
    if len(target) > MAX_LINE:
        raise _target_too_long(str(len(target)))
    if len(block) > MAX_LINE and max(map(len, lines)) > MAX_LINE:
        raise too_large(f"Expected header fields of at most {MAX_LINE} bytes.")
    return end + 4, method, target, version, headers


def check_start(buf: bytearray) -> None:
    """Refuse at once bytes that cannot begin a request line (TLS, another protocol, junk), and
    a request line whose target is over ``MAX_LINE`` bytes (414)."""
    line_end = buf.find(b"\n")
    if line_end < 0:
        match = _START.match(buf)
        if match is None or match.end() != len(buf):
            raise malformed("Expected an HTTP/1.1 request line (METHOD TARGET HTTP/1.1).")
        if len(buf) > MAX_LINE + _LINE_SLACK:  # the target alone is over MAX_LINE by now
            raise _target_too_long(f"over {MAX_LINE}")
        return
    match = _REQUEST_LINE.match(buf, 0, line_end + 1)
    if match is None or match.end() != line_end + 1:
        raise malformed("Expected a request line: METHOD SP TARGET SP HTTP/1.1 CRLF.")
    if line_end > MAX_LINE + _LINE_SLACK:
        raise _target_too_long(f"over {MAX_LINE}")


def _refusal(buf: bytearray, end: int) -> Problem:
    """Say which part of a complete but malformed head is wrong."""
    line_end = buf.find(b"\r\n")
    match = _REQUEST_LINE.match(buf, 0, line_end + 2)
    if match is None or match.end() != line_end + 2:
        if line_end > MAX_LINE:
            return too_large(f"Expected a request line of at most {MAX_LINE} bytes.")
        return malformed(
            "Expected a request line: METHOD SP TARGET SP HTTP/1.1 CRLF, with a target of visible "
            "ASCII and no fragment."
        )
    return malformed(
        "Expected header fields as token: value CRLF, with no space before the colon and no "
        "control characters in the value."
    )


def origin_form(target: bytes) -> tuple[bytes, bytes | None]:
    """The path and query of an absolute-form ``target`` (``http://host/path?query``), and its
    authority, which a server must take for the request's host (RFC 9112 3.2.2); any other
    target (``/path``, ``*``) as it is, and None.

    An authority that is not a Host (``host[:port]``; userinfo is never sent in HTTP) is refused.
    """
    match = _ABSOLUTE.fullmatch(target)
    if match is None:
        return target, None
    authority, path, query = match.groups()
    if not authority or _HOST.fullmatch(authority) is None:
        raise malformed(
            "Expected an absolute-form target as http://host[:port]/path, with no userinfo. "
            f"Got the authority {authority.decode('latin-1')!r} instead; send the path alone (/v1/...)."
        )
    return (path or b"/") + (query or b""), authority


def framing(version: bytes, headers: list[tuple[bytes, bytes]]) -> Framing:
    """Read and check the fields that frame a request (RFC 9112 6, 9.3; RFC 9110 7.2)."""
    host = length_text = coding = None
    keep_alive = version == b"HTTP/1.1"
    expect_continue = False
    plain = True
    for name, value in headers:
        lower = name.lower()
        if lower == b"host":
            if host is not None:
                raise malformed("Expected one Host header. Got several.")
            host = value
        elif lower == b"content-length":
            if length_text is not None:
                raise malformed("Expected at most one Content-Length header.")
            length_text = value
        elif lower in PLAIN:
            pass
        elif lower == b"transfer-encoding":
            if coding is not None:
                raise malformed("Expected at most one Transfer-Encoding header.")
            coding = value
            plain = False
        elif lower == b"connection":
            options = {option.strip(b" \t") for option in value.lower().split(b",")}
            if b"close" in options:
                keep_alive = False
            elif b"keep-alive" in options:
                keep_alive = True
            plain = False
        else:
            if lower == b"expect":
                if value.lower() != b"100-continue":
                    raise Problem(417, "expectation-failed", "Expected no Expect header, or 100-continue.")
                expect_continue = version == b"HTTP/1.1"  # ignored in HTTP/1.0 (RFC 9110 10.1.1)
            plain = False
    if host is None:
        if version == b"HTTP/1.1":
            raise malformed("Expected a Host header (HTTP/1.1 requires one).")
    elif host not in _good_hosts:
        if _HOST.fullmatch(host) is None:
            raise malformed("Expected a Host header of the form name[:port] or [address][:port].")
        if len(_good_hosts) < 64:  # clients choose Host: remember only so many
            _good_hosts.add(host)
    length = None
    if length_text is not None:
        if not length_text.isdigit():  # bytes.isdigit is ASCII only
            raise malformed("Expected a decimal Content-Length.")
        if len(length_text) > _MAX_LENGTH_DIGITS:
            raise Problem(413, "value-too-large", "Expected a Content-Length this server can hold.")
        length = int(length_text)
    if coding is not None:
        if version != b"HTTP/1.1":
            raise malformed("Expected no Transfer-Encoding in an HTTP/1.0 request.")
        if coding.lower() != b"chunked":
            raise Problem(501, "unsupported-coding", "Expected Transfer-Encoding: chunked, alone.")
        if length is not None:  # request smuggling guard (RFC 9112, 6.1)
            raise malformed("Expected Content-Length or Transfer-Encoding, not both.")
    return host, length, coding is not None, keep_alive, expect_continue, plain
