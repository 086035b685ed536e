"""Chunked request bodies (RFC 9112 7.1), decoded strictly as their bytes arrive.

The grammar is :mod:`~nstore.server._framing`'s: lines end in CRLF only, chunk extensions are
``;name[=token|"quoted"]`` with no whitespace, trailer fields have the shape of header fields.
"""

from __future__ import annotations

import re

from nstore.server._framing import FIELD, TOKEN, malformed, too_large

__all__ = ["FREE_CHUNKS", "MAX_CHUNK_LINE", "MAX_TRAILER", "MIN_CHUNK", "ChunkedDecoder"]

#: The largest chunk-size line (with its extensions), and the largest trailer section.
MAX_CHUNK_LINE = 1024
MAX_TRAILER = 8192
#: A chunked body may have this many chunks, plus one for every MIN_CHUNK bytes it carries:
#: decoding costs Python work per chunk, and a flood of tiny chunks would stall the event loop.
FREE_CHUNKS = 64
MIN_CHUNK = 256

_FIELD_LINE = re.compile(FIELD)
_QUOTED = rb'"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t !-~\x80-\xff])*"'
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})(?:;%s(?:=(?:%s|%s))?)*\r\n" % (TOKEN, TOKEN, _QUOTED))


class ChunkedDecoder:
    """Decodes a ``Transfer-Encoding: chunked`` body incrementally into :attr:`data`.

    Strict: each line ends in CRLF, chunk extensions are ``;name[=token|"quoted"]`` with no
    whitespace, the data of each chunk is followed by CRLF, and the trailer section (fields,
    checked and ignored) ends with an empty line. A body is refused when it has more chunks than
    ``FREE_CHUNKS`` plus one per ``MIN_CHUNK`` bytes.
    """

    __slots__ = ("_chunks", "_left", "_state", "_trailer", "data", "done")

    def __init__(self) -> None:
        self.data = bytearray()
        self.done = False
        self._left = 0  # bytes left in the current chunk
        self._state = 0  # 0: a size line, 1: chunk data, 2: the CRLF after it, 3: trailer lines
        self._chunks = 0
        self._trailer = 0  # bytes of trailer section so far

    def feed(self, buf: bytearray, limit: int) -> int:
        """Decode from the start of ``buf``; return how many bytes were consumed.

        Stops when the body is complete (:attr:`done`), when more input is needed, or when
        :attr:`data` holds more than ``limit`` bytes.
        """
        pos = 0
        data = self.data
        while not self.done and len(data) <= limit:
            state = self._state
            if state == 1:
                take = min(self._left, len(buf) - pos)
                if not take:
                    return pos
                data += buf[pos : pos + take]
                pos += take
                self._left -= take
                if not self._left:
                    self._state = 2
                continue
            if state == 2:
                if len(buf) - pos < 2:
                    if bytes(buf[pos:]) not in (b"", b"\r"):
                        raise malformed("Expected CRLF after the data of a chunk.")
                    return pos
                if buf[pos] != 13 or buf[pos + 1] != 10:
                    raise malformed("Expected CRLF after the data of a chunk.")
                pos += 2
                self._state = 0
                continue
            eol = buf.find(b"\n", pos, pos + MAX_CHUNK_LINE + 1)
            if eol < 0:
                if len(buf) - pos > MAX_CHUNK_LINE:
                    raise malformed(f"Expected a chunk-size line of at most {MAX_CHUNK_LINE} bytes.")
                return pos
            if state == 0:
                self._size(buf, pos, eol)
            else:
                self._trailer_line(buf, pos, eol)
            pos = eol + 1
        return pos

    def _size(self, buf: bytearray, pos: int, eol: int) -> None:
        match = _CHUNK_SIZE.match(buf, pos, eol + 1)
        if match is None or match.end() != eol + 1:
            raise malformed("Expected a chunk-size line: hexadecimal size, optional ;extensions, CRLF.")
        size = int(match[1], 16)
        self._chunks += 1
        if self._chunks > FREE_CHUNKS + len(self.data) // MIN_CHUNK:
            raise malformed(f"Expected chunks of {MIN_CHUNK} bytes or more on average; got many tiny ones.")
        self._left = size
        self._state = 1 if size else 3

    def _trailer_line(self, buf: bytearray, pos: int, eol: int) -> None:
        self._trailer += eol + 1 - pos
        if self._trailer > MAX_TRAILER:
            raise too_large(f"Expected a trailer section of at most {MAX_TRAILER} bytes.")
        if eol == pos + 1 and buf[pos] == 13:
            self.done = True  # the empty line that ends the body
            return
        match = _FIELD_LINE.match(buf, pos, eol + 1)
        if match is None or match.end() != eol + 1:
            raise malformed("Expected trailer fields as token: value CRLF, then an empty line.")
