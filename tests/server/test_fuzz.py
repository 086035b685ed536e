"""Property-based fuzzing of the API from its OpenAPI document (schemathesis, in-process WSGI and ASGI).

Every generated request, valid or not, must get a response that the document describes, and none
may be a server error. The default run is short; ``-m slow`` runs many more examples.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
import schemathesis
import schemathesis.checks
from hypothesis import HealthCheck, settings

from nstore import MemoryStore
from nstore.server import make_app, make_asgi_app

TOKEN = "fuzz-token-0123456789abcdef"
MAX_KEY = 256
app = make_app(
    MemoryStore[str, bytes]({"a": b"1", "dir/b": b"2"}),
    tokens=[TOKEN],
    max_body=64 * 1024,
    max_key_length=MAX_KEY,
)
schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", app)
asgi_app = make_asgi_app(
    MemoryStore[str, bytes]({"a": b"1", "dir/b": b"2"}),
    tokens=[TOKEN],
    max_body=64 * 1024,
    max_key_length=MAX_KEY,
    allowed_hosts=["localhost", "testserver"],  # the name schemathesis's ASGI client sends
)
asgi_schema = schemathesis.openapi.from_asgi("/v1/openapi.json", asgi_app)


@schemathesis.serializer("application/msgpack")
def _to_msgpack(ctx: Any, value: Any) -> bytes:
    # The document types msgpack values as strings; on the wire they are binary.
    if isinstance(value, dict) and isinstance(value.get("set"), dict):
        value = {
            **value,
            "set": {k: v.encode() if isinstance(v, str) else v for k, v in value["set"].items()},
        }
    try:
        return msgspec.msgpack.encode(value)
    except OverflowError:  # an integer msgpack cannot hold: send the byte msgpack never uses
        return b"\xc1"


HEADERS = {"Authorization": f"Bearer {TOKEN}", "Host": "localhost"}


def _keys(case: Any) -> list[str]:
    keys = [str(v) for v in (case.path_parameters or {}).values()]
    body = case.body if isinstance(case.body, dict) else {}
    for field in ("get", "delete"):
        if isinstance(body.get(field), list):
            keys += [k for k in body[field] if isinstance(k, str)]
    if isinstance(body.get("set"), dict):
        keys += [k for k in body["set"] if isinstance(k, str)]
    return keys


def _over_key_limit(case: Any) -> bool:
    # The key limit is the server's configuration, which the document cannot state.
    return any(len(k.encode("utf-8", "surrogatepass")) > MAX_KEY for k in _keys(case))


def _check(case: Any, base_url: str | None = None, excluded: tuple[Any, ...] = ()) -> None:
    """Call ``case`` (in-process, or at ``base_url``) and validate the response, less ``excluded``."""
    # Rejections that are right although the request matches the document: a valid precondition
    # that does not hold (412), and a key over this server's configured limit (414).
    conditional = bool(case.headers) and bool({"If-Match", "If-None-Match"} & set(case.headers))
    if conditional or _over_key_limit(case):
        excluded = (*excluded, schemathesis.checks.positive_data_acceptance)
    headers = dict(HEADERS)
    if "Authorization" not in (case.headers or {}):
        # The generated case left the required header out (a negative case): putting the real
        # token back would turn it into a valid request that the server rightly accepts.
        del headers["Authorization"]
    case.call_and_validate(base_url, headers=headers, excluded_checks=list(excluded))


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms(case: Any) -> None:
    _check(case)


@asgi_schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_asgi_api_conforms(case: Any) -> None:
    _check(case)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_long(case: Any) -> None:
    _check(case)
