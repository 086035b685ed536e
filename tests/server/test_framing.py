"""Request heads and chunked bodies parsed from a receive buffer, however the bytes arrive."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nstore.server._chunked import ChunkedDecoder
from nstore.server._framing import MAX_HEAD, MAX_HEADERS, MAX_LINE, parse_head
from nstore.server.problems import Problem

HEAD = b"PUT /v1/keys/a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\n"


def test_a_complete_head_is_parsed_and_measured() -> None:
    buf = bytearray(HEAD + b"abc")
    assert parse_head(buf) == (
        len(HEAD),
        b"PUT",
        b"/v1/keys/a",
        b"HTTP/1.1",
        [(b"Host", b"localhost"), (b"Content-Length", b"3")],
    )


def test_an_incomplete_head_waits_for_more() -> None:
    for end in range(len(HEAD)):
        assert parse_head(bytearray(HEAD[:end])) is None, end


def test_bare_line_feeds_and_empty_lines_before_a_request_are_refused() -> None:
    # As h11 does: lines end in CRLF, and a request begins with its request line.
    for head in (
        b"GET /x HTTP/1.0\nHost: h\n\n",
        b"\r\nGET /x HTTP/1.0\r\n\r\n",
        b"\nGET /x HTTP/1.0\r\n\r\n",
    ):
        with pytest.raises(Problem) as info:
            parse_head(bytearray(head + b"next"))
        assert info.value.status == 400, head


def test_an_empty_line_flood_is_refused_at_once() -> None:
    with pytest.raises(Problem):
        parse_head(bytearray(b"\r\n" * 10))


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET /x HTTP/2\r\n\r\n", 400),
        (b"GET /x HTTP/1.1\r\nno colon\r\n\r\n", 400),
        (b"GET /x HTTP/1.1\r\n folded: value\r\n\r\n", 400),
        (b"GET /x HTTP/1.1\r\nName : value\r\n\r\n", 400),
        (b"GET /" + b"x" * MAX_LINE + b" HTTP/1.1\r\n\r\n", 414),  # a target too long (RFC 9112 3)
        (b"GET /x HTTP/1.1\r\nX: " + b"v" * MAX_LINE + b"\r\n\r\n", 431),
        (b"GET /x HTTP/1.1\r\n" + b"X: v\r\n" * (MAX_HEADERS + 1) + b"\r\n", 431),
    ],
)
def test_malformed_heads_are_refused(head: bytes, status: int) -> None:
    with pytest.raises(Problem) as info:
        parse_head(bytearray(head))
    assert info.value.status == status


def test_a_head_that_never_ends_is_refused_past_the_limit() -> None:
    assert parse_head(bytearray(b"GET /x HTTP/1.1\r\n" + b"X: v\r\n" * 1000)) is None
    with pytest.raises(Problem) as info:
        parse_head(bytearray(b"GET /x HTTP/1.1\r\n" + b"X: v\r\n" * (MAX_HEAD // 6 + 1)))
    assert info.value.status == 431


def chunked(body: bytes, sizes: list[int], *, trailer: bytes = b"") -> bytes:
    out, pos = bytearray(), 0
    for size in sizes:
        piece = body[pos : pos + size]
        if not piece:
            break
        out += b"%x;ext=1\r\n" % len(piece) + piece + b"\r\n"
        pos += len(piece)
    if pos < len(body):
        out += b"%X\r\n" % (len(body) - pos) + body[pos:] + b"\r\n"
    return bytes(out + b"0\r\n" + trailer + b"\r\n")


def decode_in_pieces(wire: bytes, cuts: list[int], limit: int = 1 << 30) -> tuple[ChunkedDecoder, bytearray]:
    """Feed ``wire`` as it would arrive, cut at ``cuts``; return the decoder and what is left."""
    decoder, buf, pos = ChunkedDecoder(), bytearray(), 0
    for cut in [*sorted(cuts), len(wire)]:
        buf += wire[pos:cut]
        pos = max(pos, cut)
        del buf[: decoder.feed(buf, limit)]
    return decoder, buf


@given(
    body=st.binary(max_size=3000),
    sizes=st.lists(st.integers(1, 700), max_size=10),
    cuts=st.lists(st.integers(0, 4000), max_size=12),
    trailer=st.sampled_from([b"", b"X-Sum: 1\r\n", b"A: 1\r\nB: 2\r\n"]),
)
def test_a_chunked_body_decodes_however_it_arrives(
    body: bytes, sizes: list[int], cuts: list[int], trailer: bytes
) -> None:
    wire = chunked(body, sizes, trailer=trailer)
    decoder, rest = decode_in_pieces(wire + b"GET /next", [min(c, len(wire)) for c in cuts])
    assert decoder.done
    assert bytes(decoder.data) == body
    assert rest == b"GET /next"  # the next request is left in the buffer


def test_decoding_stops_past_the_limit() -> None:
    decoder, rest = decode_in_pieces(chunked(b"x" * 5000, [100] * 50), [])
    assert decoder.done
    decoder, rest = decode_in_pieces(chunked(b"x" * 5000, [100] * 50), [], limit=1000)
    assert not decoder.done
    assert 1000 < len(decoder.data) <= 1100
    assert rest  # the rest of the body is never decoded


@pytest.mark.parametrize(
    "wire",
    [
        b"zz\r\n",
        b"-1\r\n",
        b"+1\r\nx\r\n0\r\n\r\n",
        b"0x1\r\nx\r\n0\r\n\r\n",
        b"1_0\r\n",
        b"\r\n",
        b"1\r\nxy\r\n",  # the chunk is longer than its size
        b"1" * 2000,  # a size line that never ends
    ],
)
def test_malformed_chunked_bodies_are_refused(wire: bytes) -> None:
    with pytest.raises(Problem) as info:
        decode_in_pieces(wire, [])
    assert info.value.status == 400
