"""The API with nothing nstore-specific: curl in a subprocess, and the OpenAPI document."""

from __future__ import annotations

import base64
import json
from importlib import resources

from nstore import MemoryStore
from nstore.server import ServerHandle
from nstore.server.openapi import build_document
from nstore.stores._http_wire import etag
from tests.server.conftest import curl


def test_single_keys_with_curl(server: ServerHandle, backend: MemoryStore[str, bytes]) -> None:
    url = server.url + "/v1/keys/"
    put = curl("-X", "PUT", "--data-binary", "hello", "-w", "%{http_code}", url + "greet/en")
    assert put.stdout == b"204"
    assert backend["greet/en"] == b"hello"
    got = curl("-i", url + "greet/en")
    head, _, body = got.stdout.partition(b"\r\n\r\n")
    assert body == b"hello"
    assert b"content-type: application/octet-stream" in head.lower()
    assert f"etag: {etag(b'hello')}".encode() in head.lower()
    head_only = curl("-I", url + "greet/en").stdout.lower()
    assert b"content-length: 5" in head_only
    assert curl("-X", "PUT", "--data-binary", "x y", url + "with%20space%2Fand%2Fslash").returncode == 0
    assert backend["with space/and/slash"] == b"x y"
    missing = curl("-w", "\n%{http_code}", url + "missing").stdout
    body, _, code = missing.rpartition(b"\n")
    assert code == b"404"
    assert json.loads(body)["type"] == "urn:nstore:problem:missing-key"
    assert curl("-X", "DELETE", "-w", "%{http_code}", url + "greet/en").stdout == b"204"
    assert "greet/en" not in backend


def test_conditional_writes_with_curl(server: ServerHandle, backend: MemoryStore[str, bytes]) -> None:
    url = server.url + "/v1/keys/counter"
    create = [
        "-X",
        "PUT",
        "-H",
        "If-None-Match: *",
        "--data-binary",
        "1",
        "-w",
        "%{http_code}",
        "-o",
        "/dev/null",
    ]
    assert curl(*create, url).stdout == b"204"
    assert curl(*create, url).stdout == b"412"
    tag = etag(b"1")
    cas = [
        "-X",
        "PUT",
        "-H",
        f"If-Match: {tag}",
        "--data-binary",
        "2",
        "-w",
        "%{http_code}",
        "-o",
        "/dev/null",
    ]
    assert curl(*cas, url).stdout == b"204"
    assert curl(*cas, url).stdout == b"412"  # the value is 2 now: the ETag of 1 no longer matches
    assert backend["counter"] == b"2"
    not_modified = curl("-H", f"If-None-Match: {etag(b'2')}", "-w", "%{http_code}", "-o", "/dev/null", url)
    assert not_modified.stdout == b"304"


def test_listing_pages_and_batches_with_curl(server: ServerHandle, backend: MemoryStore[str, bytes]) -> None:
    backend.update({f"p/{i:02d}": bytes([i]) for i in range(5)} | {"q": b"other"})
    page = json.loads(curl(server.url + "/v1/keys?prefix=p/&limit=2").stdout)
    assert page == {"keys": ["p/00", "p/01"], "next_cursor": "p/01"}
    rest = json.loads(curl(f"{server.url}/v1/keys?prefix=p/&limit=10&cursor=p%2F01").stdout)
    assert rest == {"keys": ["p/02", "p/03", "p/04"], "next_cursor": None}
    batch = {"set": {"n": base64.b64encode(b"new").decode()}, "delete": ["q"], "get": ["p/00", "n", "q"]}
    answer = curl("-X", "POST", "-H", "Content-Type: application/json", "--data", json.dumps(batch),
                  server.url + "/v1/batch")  # fmt: skip
    values = json.loads(answer.stdout)["values"]
    assert {k: base64.b64decode(v) for k, v in values.items()} == {"p/00": b"\x00", "n": b"new"}
    assert "q" not in backend
    assert json.loads(curl(server.url + "/v1/health").stdout) == {"status": "ok"}


def test_openapi_document_is_the_file_and_is_served(server: ServerHandle) -> None:
    kept = resources.files("nstore.server").joinpath("openapi.json").read_bytes()
    assert json.loads(kept) == build_document()
    served = curl(server.url + "/v1/openapi.json")
    assert served.stdout == kept
