"""What the server does to the store for each request, written once for sync and async stores.

A request's work is a *program*: a generator that yields each store call it needs (a
:class:`Call`) and is sent back the call's result, or has the call's exception thrown into it, and
finally returns the response. The decisions between calls (a precondition that fails, a ttl the
store cannot keep, which parts of a batch run) are in the program; the calls are made by
:func:`run` on a sync :class:`~nstore.Store` (the WSGI app, or the ASGI app on a sync store) and by
:func:`arun` on an :class:`~nstore.AsyncStore` (the ASGI app), so the two apps differ only in
their I/O, as h11 is written.
"""

from __future__ import annotations

import heapq
from collections.abc import Awaitable, Callable, Generator
from typing import Any, NamedTuple

from nstore.astore import AsyncStore
from nstore.errors import ConfigurationError
from nstore.server import _api, _batch, _params
from nstore.server._api import Response, Route, Settings
from nstore.server.problems import Problem
from nstore.store import KeyPage, Store

__all__ = ["Call", "Program", "arun", "program", "run"]


class Op(NamedTuple):
    """A store operation: how a sync store and an async store each perform it."""

    sync: Callable[..., Any]
    aio: Callable[..., Awaitable[Any]]


def _set(store: Any, key: str, value: bytes, ttl: float | None) -> Any:
    return store.set(key, value, ttl=ttl)  # the same call on both kinds of store


def _set_many(store: Any, items: dict[str, bytes], ttl: float | None) -> Any:
    return store.set_many(items, ttl=ttl)


def _touch(store: Any, key: str, ttl: float | None) -> Any:
    return store.touch(key, ttl=ttl)


def _sync_delete(store: Store[str, bytes], key: str) -> None:
    del store[key]


async def _async_page(
    store: AsyncStore[str, bytes], prefix: str | None, cursor: str | None, limit: int
) -> KeyPage[str]:
    # An AsyncStore has no listing from a position: each page is one pass over the prefix.
    keys = [key async for key in store.iter_keys(prefix) if cursor is None or key > cursor]
    page = heapq.nsmallest(limit + 1, keys)
    return KeyPage(page[:limit], page[limit - 1] if len(page) > limit else None)


GET = Op(lambda s, key: s[key], lambda s, key: s.get(key))
SET = Op(_set, _set)
DELETE = Op(_sync_delete, lambda s, key: s.delete(key))
TTL = Op(lambda s, key: s.ttl(key), lambda s, key: s.ttl(key))
TOUCH = Op(_touch, _touch)
GET_MANY = Op(lambda s, keys: s.get_many(keys), lambda s, keys: s.get_many(keys))
SET_MANY = Op(_set_many, _set_many)
DELETE_MANY = Op(lambda s, keys: s.delete_many(keys), lambda s, keys: s.delete_many(keys))
SET_IF_ABSENT = Op(lambda s, k, v: s.set_if_absent(k, v), lambda s, k, v: s.set_if_absent(k, v))
CAS = Op(
    lambda s, k, old, new: s.compare_and_set(k, old, new),
    lambda s, k, old, new: s.compare_and_set(k, old, new),
)
PAGE = Op(lambda s, p, c, n: s.keys_page(p, cursor=c, limit=n), _async_page)


class Call(NamedTuple):
    op: Op
    args: tuple[Any, ...]


Program = Generator[Call, Any, Response]


def program(route: Route, environ: dict[str, Any], body: bytes, store: Any, settings: Settings) -> Program:
    """The program serving ``route`` on ``store`` (sync or async: only its capabilities are read).

    Problems found before any store call (a bad precondition or ttl) are raised here.
    """
    key = route.key
    endpoint = route.endpoint
    static = _api.static_response(endpoint, settings.guard, environ)
    if static is not None:
        return _done(static)
    if endpoint == "capabilities":
        return _done(_api.capabilities_response(store))
    if endpoint == "get-key":
        return _get(key, environ)
    if endpoint == "put-key":
        ttl = _params.put_query(environ)
        conditions = _api.put_conditions(environ)
        if ttl is not None and not store.supports_ttl:
            raise _api.ttl_unsupported()
        if ttl is not None and (conditions.create or conditions.tags is not None):
            raise Problem(400, "bad-ttl", "Expected no ttl on a conditional write (If-Match, If-None-Match).")
        return _put(key, body, conditions, ttl, store.supports_atomic_writes)
    if endpoint == "delete-key":
        _api.check_delete(environ)
        return _one(Call(DELETE, (key,)), ("204 No Content", [], b""))
    if endpoint == "get-ttl":
        return _ttl(key)
    if endpoint == "put-ttl":
        ttl = _params.touch_ttl(body)
        if not store.supports_ttl:
            raise _api.ttl_unsupported()
        return _one(Call(TOUCH, (key, ttl)), ("204 No Content", [], b""))
    if endpoint == "list":
        return _list(*_params.list_query(environ, settings.max_page))
    if endpoint == "batch":
        return _run_batch(route, environ, body, store, settings.max_key_length)
    raise AssertionError(f"no program for {endpoint}")  # pragma: no cover


def needs_lock(route: Route, environ: dict[str, Any]) -> bool:
    """Whether the request is a conditional write (serialized on a store without atomic ones)."""
    return route.endpoint == "put-key" and ("HTTP_IF_MATCH" in environ or "HTTP_IF_NONE_MATCH" in environ)


def _done(response: Response) -> Program:
    yield from ()  # a program without store calls
    return response


def _one(call: Call, response: Response) -> Program:
    yield call
    return response


def _get(key: str, environ: dict[str, Any]) -> Program:
    value = yield Call(GET, (key,))
    return _api.value_response(value, environ)


def _ttl(key: str) -> Program:
    left = yield Call(TTL, (key,))
    return _api.ttl_response(left)


def _put(key: str, value: bytes, conditions: _api.PutConditions, ttl: float | None, atomic: bool) -> Program:
    if conditions.create:
        if not (yield Call(SET_IF_ABSENT, (key, value))):
            raise Problem(412, "precondition-failed", "A value is already stored at this key.")
    elif conditions.tags is not None:
        try:
            current = yield Call(GET, (key,))
        except KeyError:
            current = None
        if current is None or not _api.tags_match(current, conditions.tags):
            raise Problem(412, "precondition-failed", "The stored value does not match If-Match.")
        if atomic:
            if not (yield Call(CAS, (key, current, value))):
                raise Problem(412, "precondition-failed", "The stored value does not match If-Match.")
        else:  # serialized by the app's lock (see docs/http.md)
            yield Call(SET, (key, value, None))
    else:
        yield Call(SET, (key, value, ttl))
    return _api.stored_response(value)


def _list(prefix: str | None, cursor: str | None, limit: int) -> Program:
    # The store serves the page from its cursor (an index range, a resumed directory walk, a
    # SCAN cursor), so a page costs one page; the cursor is the store's own token.
    try:
        page = yield Call(PAGE, (prefix, cursor, limit))
    except ConfigurationError as exc:
        raise Problem(400, "bad-cursor", f"{exc} Pass back the next_cursor of a page.") from None
    return "200 OK", [("Content-Type", _api.JSON)], _batch.encode_page(page.keys, page.cursor)


def _run_batch(
    route: Route, environ: dict[str, Any], body: bytes, store: Any, max_key_length: int
) -> Program:
    content_type = environ.get("CONTENT_TYPE", _api.JSON).split(";")[0].strip().lower()
    request = _batch.decode_request(body, content_type)
    for key in (*request.get, *request.set, *request.delete):
        # lone surrogates fail; a key in the body is no URI: 400, not 414, when too long
        _params.check_key(key.encode(errors="surrogatepass"), max_key_length, too_long=400)
    if request.set or request.delete:
        _api.require_write(route.access)
    ttl = None if request.ttl is None else _params.check_ttl_value(request.ttl)
    if ttl is not None and not store.supports_ttl:
        raise _api.ttl_unsupported()
    return _batch_calls(request, ttl, content_type)


def _batch_calls(request: _batch.BatchRequest, ttl: float | None, content_type: str) -> Program:
    if request.set:
        yield Call(SET_MANY, (request.set, ttl))
    if request.delete:
        yield Call(DELETE_MANY, (request.delete,))
    values = (yield Call(GET_MANY, (request.get,))) if request.get else {}
    return "200 OK", [("Content-Type", content_type)], _batch.encode_response(values, content_type)


# -- the two drivers ---------------------------------------------------------------------------------


def advance(program: Program, value: Any = None, error: Exception | None = None) -> Call | Response:
    """Send ``value`` (or throw ``error``) into ``program``: its next call, or its response."""
    try:
        return program.throw(error) if error is not None else program.send(value)
    except StopIteration as done:
        result: Response = done.value
        return result


def _outcome(call: Call, store: Store[str, bytes]) -> tuple[Any, Exception | None]:
    try:
        return call.op.sync(store, *call.args), None
    except Exception as exc:
        return None, exc


def run(program: Program, store: Store[str, bytes]) -> Response:
    """Run ``program`` on a sync store, in the calling thread."""
    reply = advance(program)
    while isinstance(reply, Call):
        reply = advance(program, *_outcome(reply, store))
    return reply


async def arun(program: Program, store: AsyncStore[str, bytes]) -> Response:
    """Run ``program`` on an async store, awaiting each call in the calling task."""
    reply = advance(program)
    while isinstance(reply, Call):
        try:
            value = await reply.op.aio(store, *reply.args)
        except Exception as exc:
            reply = advance(program, error=exc)
        else:
            reply = advance(program, value)
    return reply
