"""The same property-based fuzzing as ``test_fuzz``, through the embedded server over loopback.

``test_fuzz`` calls the WSGI app in-process; this sends the same generated requests to
``serve_in_thread`` over real sockets, so the server's own parts (strict framing, the limits,
the plain GET/PUT fast path and the group-committed PUTs on SQLite) are under the same checks:
a response the document describes, and never a server error.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis.checks
from hypothesis import HealthCheck, settings

from nstore import SQLiteStore
from nstore.server import serve_in_thread
from tests.server.test_fuzz import MAX_KEY, TOKEN, _check, schema


@pytest.fixture(scope="module", params=["token", "open"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, bool]]:
    """The URL of a served SQLiteStore (durability "normal", as ``nstore serve`` has it), and
    whether it asks for a token.

    With a token every request takes the app's full path; without one, plain GETs and PUTs take
    the server's fast path, on its loop.
    """
    path: Path = tmp_path_factory.mktemp("fuzz-http") / "fuzz.db"
    tokens = [TOKEN] if request.param == "token" else None
    with SQLiteStore(path, durability="normal") as store:
        store.set_many({"a": b"1", "dir/b": b"2"})
        handle = serve_in_thread(store, tokens=tokens, max_body=64 * 1024, max_key_length=MAX_KEY)
        try:
            yield handle.url, tokens is not None
        finally:
            handle.shutdown()


def _check_served(case: Any, served: tuple[str, bool]) -> None:
    url, with_token = served
    # Without a token the server rightly accepts a request that leaves Authorization out.
    _check(case, url, () if with_token else (schemathesis.checks.ignored_auth,))


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_over_http(case: Any, served: tuple[str, bool]) -> None:
    _check_served(case, served)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_over_http_long(case: Any, served: tuple[str, bool]) -> None:
    _check_served(case, served)
