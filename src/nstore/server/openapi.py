"""The OpenAPI document of the nstore HTTP API, built here and kept as ``openapi.json`` beside it.

``python -m nstore.server.openapi > src/nstore/server/openapi.json`` rewrites the file; a test
checks that the file, the document built here and the one the app serves are the same.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

__all__ = ["MAX_TTL", "build_document", "document_bytes"]

#: The longest ttl the API takes, in seconds (about 31 years): past it, some stores overflow.
MAX_TTL = 1e9

_PROBLEM = {"$ref": "#/components/responses/Problem"}
_STRING = {"type": "string"}
_BINARY = {"type": "string", "format": "binary"}
_ETAGS = '^(\\*|"[0-9a-f]{32}"( *, *"[0-9a-f]{32}")*)$'
_TTL = {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_TTL}
_TTL_DOC = {
    "type": "object",
    "additionalProperties": False,
    "required": ["ttl"],
    "properties": {"ttl": {"oneOf": [_TTL, {"type": "null"}]}},
}
_KEY = {
    "name": "key",
    "in": "path",
    "required": True,
    "description": (
        "The key, percent-encoded as UTF-8. '/' may appear literally (keys may contain it) or as "
        "%2F; the path after /v1/keys/ is decoded exactly once. Encode '.' as %2E, since clients "
        "such as curl otherwise collapse '.' and '..' segments."
    ),
    "schema": {"type": "string", "minLength": 1},
}


def _ref(schema: str) -> dict[str, str]:
    return {"$ref": "#/components/schemas/" + schema}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _PROBLEM for code in codes}


def _key_operations() -> dict[str, Any]:
    etag_header = {"ETag": {"description": "BLAKE2b-128 of the value, quoted", "schema": _STRING}}
    read_errors = _errors(400, 401, 404, 414, 421, 500, 503)
    return {
        "parameters": [_KEY],
        "get": {
            "operationId": "getValue",
            "summary": "Read the value stored at a key",
            "parameters": [{"name": "If-None-Match", "in": "header", "schema": {"type": "string"}}],
            "responses": {
                "200": {
                    "description": "The value, as raw bytes",
                    "headers": etag_header,
                    "content": {"application/octet-stream": {"schema": _BINARY}},
                },
                "304": {"description": "The value matches If-None-Match", "headers": etag_header},
                **read_errors,
            },
        },
        "head": {
            "operationId": "headValue",
            "summary": "Check that a key exists; Content-Length is the value's size",
            "responses": {"200": {"description": "The key exists", "headers": etag_header}, **read_errors},
        },
        "put": {
            "operationId": "putValue",
            "summary": "Store the request body at a key",
            "description": (
                "If-None-Match: * stores only if the key is absent (create only); If-Match: <etag> "
                "stores only if the current value has that ETag (compare and set). 412 if not."
            ),
            "parameters": [
                {
                    "name": "ttl",
                    "in": "query",
                    "description": (
                        "Seconds until the value expires (the store's supports_ttl, in "
                        "/v1/capabilities; 409 ttl-unsupported without it). Not with If-Match "
                        "or If-None-Match (400). Without it the value never expires."
                    ),
                    "schema": _TTL,
                },
                {"name": "If-Match", "in": "header", "schema": {"type": "string", "pattern": _ETAGS}},
                {"name": "If-None-Match", "in": "header", "schema": {"type": "string", "enum": ["*"]}},
            ],
            "requestBody": {
                "required": True,
                "content": {"application/octet-stream": {"schema": _BINARY}},
            },
            "responses": {
                "204": {"description": "Stored", "headers": etag_header},
                **_errors(400, 401, 403, 409, 412, 413, 414, 421, 500, 501, 503),
            },
        },
        "delete": {
            "operationId": "deleteValue",
            "summary": "Remove a key",
            "responses": {
                "204": {"description": "Removed"},
                **_errors(400, 401, 403, 404, 414, 421, 500, 503),
            },
        },
    }


def _batch_schema(binary: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "get": {"type": "array", "items": {"type": "string", "minLength": 1}},
            "set": {"type": "object", "propertyNames": {"minLength": 1}, "additionalProperties": binary},
            "delete": {"type": "array", "items": {"type": "string", "minLength": 1}},
            "ttl": {
                "oneOf": [_TTL, {"type": "null"}],
                "description": "Seconds until each value in set expires (null or none: never)",
            },
        },
    }


def _ttl_operations() -> dict[str, Any]:
    ttl_json = {"application/json": {"schema": _TTL_DOC}}
    return {
        "parameters": [_KEY],
        "get": {
            "operationId": "getTTL",
            "summary": "Seconds left before a key expires; null if it never expires",
            "responses": {
                "200": {"description": "The time left", "content": ttl_json},
                **_errors(400, 401, 404, 414, 421, 500, 503),
            },
        },
        "put": {
            "operationId": "touch",
            "summary": "Make a key expire ttl seconds from now (null: never), keeping its value",
            "requestBody": {"required": True, "content": ttl_json},
            "responses": {
                "204": {"description": "Its expiry is set"},
                **_errors(400, 401, 403, 404, 409, 414, 421, 500, 503),
            },
        },
    }


def _capabilities() -> dict[str, Any]:
    flags = ("supports_ttl", "supports_atomic_writes", "supports_prefix_listing", "is_persistent")
    schema = {
        "type": "object",
        "required": list(flags),
        "properties": {flag: {"type": "boolean"} for flag in flags},
    }
    return {
        "get": {
            "operationId": "capabilities",
            "summary": "What the store behind the server can do",
            "responses": {
                "200": {
                    "description": "Its capabilities",
                    "content": {"application/json": {"schema": schema}},
                },
                **_errors(401, 421),
            },
        }
    }


def build_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API."""
    base64_value = {"type": "string", "format": "byte"}
    batch_response = {
        "type": "object",
        "required": ["values"],
        "properties": {"values": {"type": "object", "additionalProperties": base64_value}},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "nstore",
            "version": "1",
            "description": "A key-value store of raw bytes under string keys.",
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/keys/{key}": _key_operations(),
            "/v1/ttl/{key}": _ttl_operations(),
            "/v1/capabilities": _capabilities(),
            "/v1/keys": {
                "get": {
                    "operationId": "listKeys",
                    "summary": "List keys under a prefix, one page at a time, from a cursor",
                    "description": (
                        "Pages follow the store's order: key order on SQLite, file and memory "
                        "stores, SCAN order on Redis. A page may hold fewer than limit keys, even "
                        "none, before the last; list until next_cursor is null."
                    ),
                    "parameters": [
                        {"name": "prefix", "in": "query", "schema": {"type": "string"}},
                        {
                            "name": "cursor",
                            "in": "query",
                            "description": "next_cursor of the previous page, as it came (an opaque token)",
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1000},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "A page of keys; next_cursor is null on the last page",
                            "content": {"application/json": {"schema": _ref("Page")}},
                        },
                        **_errors(400, 401, 414, 421, 500, 503),
                    },
                }
            },
            "/v1/batch": {
                "post": {
                    "operationId": "batch",
                    "summary": "Set, then delete, then get many keys in one request",
                    "description": (
                        "Missing keys are left out of values. Values are base64 in JSON. With "
                        "ttl, each value set expires after ttl seconds (409 ttl-unsupported on "
                        "a store without expiry)."
                    ),
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": _batch_schema(base64_value)},
                            "application/msgpack": {"schema": _batch_schema({"type": "string"})},
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "The values of the keys in get that exist",
                            "content": {
                                "application/json": {"schema": batch_response},
                                "application/msgpack": {"schema": batch_response},
                            },
                        },
                        **_errors(400, 401, 403, 409, 413, 414, 415, 421, 500, 501, 503),
                    },
                }
            },
            "/v1/health": {
                "get": {
                    "operationId": "health",
                    "summary": "Liveness",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "The server is up",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["status"],
                                        "properties": {"status": {"type": "string", "enum": ["ok"]}},
                                    }
                                }
                            },
                        },
                        **_errors(421),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Page": {
                    "type": "object",
                    "required": ["keys", "next_cursor"],
                    "properties": {
                        "keys": {"type": "array", "items": {"type": "string"}},
                        "next_cursor": {"type": ["string", "null"]},
                    },
                },
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                    },
                },
            },
            "responses": {
                "Problem": {
                    "description": "An RFC 9457 problem document",
                    "content": {"application/problem+json": {"schema": _ref("Problem")}},
                }
            },
        },
    }


@functools.cache
def document_bytes() -> bytes:
    """The document as served: the bytes of the ``openapi.json`` file kept in the package."""
    try:
        return resources.files("nstore.server").joinpath("openapi.json").read_bytes()
    except FileNotFoundError:  # an install without package data: the same document, rendered
        return render().encode()


def render() -> str:
    """The document as the file holds it."""
    return json.dumps(build_document(), indent=2) + "\n"


if __name__ == "__main__":
    print(render(), end="")
