"""HTTP/1.1 request framing for the embedded server, parsed from a connection's receive buffer.

The event loop reads whatever has arrived into a buffer; these functions say whether it holds a
complete request head (:func:`parse_head`) and decode a chunked body as its bytes come in
(:class:`ChunkedDecoder`). Malformed input raises a :class:`~nstore.server.problems.Problem`
(400, or 431 for oversized heads), which the server sends before closing the connection.
"""

from __future__ import annotations

from nstore.server.problems import Problem

__all__ = ["MAX_HEAD", "MAX_HEADERS", "MAX_LINE", "ChunkedDecoder", "Head", "parse_head"]

MAX_LINE = 8192
MAX_HEADERS = 100
#: The largest request head (request line and headers) accepted.
MAX_HEAD = 64 * 1024
_MAX_CHUNK_LINE = 1024
_HEX = b"0123456789abcdefABCDEF"

Head = tuple[int, bytes, bytes, bytes, list[tuple[bytes, bytes]]]


def _malformed(detail: str) -> Problem:
    return Problem(400, "malformed-request", detail)


def _too_large(detail: str) -> Problem:
    return Problem(431, "headers-too-large", detail)


def parse_head(buf: bytearray) -> Head | None:
    """``(length, method, target, version, headers)`` of the head at the start of ``buf``.

    None while the head is incomplete. ``length`` counts the bytes of the head, blank line and
    any stray empty lines before it (RFC 9112, 2.2) included. Lines may end in CRLF or LF.
    """
    start = 0
    while buf.startswith(b"\r\n", start) or buf.startswith(b"\n", start):
        start += 2 if buf[start] == 13 else 1
    crlf = buf.find(b"\n\r\n", start)
    lf = buf.find(b"\n\n", start)
    if crlf < 0 and lf < 0:
        if len(buf) - start > MAX_HEAD:
            raise _too_large(f"Expected a request head of at most {MAX_HEAD} bytes.")
        return None
    if crlf >= 0 and (lf < 0 or crlf < lf):
        end, length = crlf, crlf + 3
    else:
        end, length = lf, lf + 2
    if end - start > MAX_HEAD:
        raise _too_large(f"Expected a request head of at most {MAX_HEAD} bytes.")
    lines = bytes(buf[start:end]).split(b"\n")
    line = lines[0].rstrip(b"\r")
    if len(line) > MAX_LINE:
        raise _too_large(f"Expected a request line of at most {MAX_LINE} bytes.")
    parts = line.split()
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        raise _malformed("Expected a request line: METHOD TARGET HTTP/1.x.")
    if len(lines) - 1 > MAX_HEADERS:
        raise _too_large(f"Expected at most {MAX_HEADERS} header fields.")
    headers = []
    for raw in lines[1:]:
        if len(raw) > MAX_LINE:
            raise _too_large(f"Expected header fields of at most {MAX_LINE} bytes.")
        name, sep, value = raw.partition(b":")
        if not sep or not name or name != name.strip():
            raise _malformed("Expected header fields as name: value.")
        headers.append((name, value.strip()))
    return length, parts[0], parts[1], parts[2], headers


class ChunkedDecoder:
    """Decodes a ``Transfer-Encoding: chunked`` body incrementally into :attr:`data`."""

    __slots__ = ("_left", "_state", "data", "done")

    def __init__(self) -> None:
        self.data = bytearray()
        self.done = False
        self._left = 0  # bytes left in the current chunk
        self._state = 0  # 0: a size line, 1: chunk data, 2: the CRLF after it, 3: trailer lines

    def feed(self, buf: bytearray, limit: int) -> int:
        """Decode from the start of ``buf``; return how many bytes were consumed.

        Stops when the body is complete (:attr:`done`), when more input is needed, or when
        :attr:`data` holds more than ``limit`` bytes.
        """
        pos = 0
        while not self.done and len(self.data) <= limit:
            state = self._state
            if state == 1:
                take = min(self._left, len(buf) - pos)
                if not take:
                    return pos
                self.data += buf[pos : pos + take]
                pos += take
                self._left -= take
                if not self._left:
                    self._state = 2
                continue
            eol = buf.find(b"\n", pos, pos + _MAX_CHUNK_LINE + 1)
            if eol < 0:
                if len(buf) - pos > _MAX_CHUNK_LINE:
                    raise _malformed("Expected a chunk-size line.")
                return pos
            line = bytes(buf[pos:eol]).rstrip(b"\r")
            pos = eol + 1
            if state == 0:
                self._size(line)
            elif state == 2:
                if line:
                    raise _malformed("Expected CRLF after a chunk.")
                self._state = 0
            elif not line:  # state 3: trailer fields are ignored, up to the empty line
                self.done = True
        return pos

    def _size(self, line: bytes) -> None:
        text = line.split(b";", 1)[0].strip()
        if not text or len(text) > 16 or text.strip(_HEX):  # int() would also take "+", "0x", "_"
            raise _malformed("Expected a hexadecimal chunk size.")
        size = int(text, 16)
        self._left = size
        self._state = 1 if size else 3
