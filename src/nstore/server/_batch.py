"""Wire formats of the batch and listing endpoints (msgspec: JSON with base64 values, or msgpack).

A batch request is ``{"get": [keys], "set": {key: value}, "delete": [keys], "ttl": seconds}``,
each part optional; the server applies ``set`` (each value expiring after ``ttl`` seconds when
given), then ``delete``, then reads ``get``. The response is
``{"values": {key: value}}`` with missing keys left out. In JSON a value is standard base64 text;
in msgpack (``Content-Type: application/msgpack``) it is raw binary.
"""

from __future__ import annotations

import msgspec

from nstore.server.problems import Problem

__all__ = [
    "MSGPACK",
    "BatchRequest",
    "BatchResponse",
    "Page",
    "decode_request",
    "encode_page",
    "encode_response",
]

MSGPACK = "application/msgpack"


class BatchRequest(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    get: list[str] = []
    set: dict[str, bytes] = {}
    delete: list[str] = []
    ttl: float | None = None  # seconds: each value in set expires then


class BatchResponse(msgspec.Struct):
    values: dict[str, bytes]


class Page(msgspec.Struct):
    keys: list[str]
    next_cursor: str | None


_json_request = msgspec.json.Decoder(BatchRequest)
_msgpack_request = msgspec.msgpack.Decoder(BatchRequest)
_json = msgspec.json.Encoder()
_msgpack = msgspec.msgpack.Encoder()


def decode_request(body: bytes, content_type: str) -> BatchRequest:
    decoder = _msgpack_request if content_type == MSGPACK else _json_request
    if content_type not in (MSGPACK, "application/json"):
        raise Problem(415, "unsupported-media-type", "Expected application/json or application/msgpack.")
    try:
        return decoder.decode(body)
    except msgspec.DecodeError as exc:
        # msgspec's message names the offending field and never the server's files.
        raise Problem(400, "bad-batch", f"Expected a batch request document: {exc}") from None
    except ValueError:  # e.g. a msgpack string that is not UTF-8
        raise Problem(400, "bad-batch", "Expected a batch request document with UTF-8 keys.") from None


def encode_response(values: dict[str, bytes], content_type: str) -> bytes:
    encoder = _msgpack if content_type == MSGPACK else _json
    return encoder.encode(BatchResponse(values))


def encode_page(keys: list[str], cursor: str | None) -> bytes:
    """A page of keys, and the store's cursor for the next page (None on the last)."""
    return _json.encode(Page(keys, cursor))
