"""RFC 9457 problem documents, and the mapping from nstore errors to HTTP statuses.

Every error response is ``application/problem+json`` with ``type``, ``title``, ``status`` and
``detail``. ``type`` is ``urn:nstore:problem:<code>``, and clients branch on it (the HTTPStore
client maps ``invalid-key`` to :class:`~nstore.errors.InvalidKey`). ``detail`` is written here,
never copied from an exception that could carry a filesystem path or a stack trace: the
store's own message is never sent, not even for an invalid key: a store behind the server may
put its root directory in it.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus

from nstore import errors
from nstore.stores._http_wire import PROBLEM_TYPE

__all__ = ["INVALID_KEY_DETAIL", "PROBLEM_TYPE", "Problem", "problem_for"]

_log = logging.getLogger("nstore.server")
INVALID_KEY_DETAIL = (
    "The store refuses this key: it is empty, too long, or has characters or path segments "
    "(such as '..') that the store does not allow."
)


class Problem(Exception):
    """An HTTP error response with a problem document."""

    def __init__(
        self, status: int, code: str, detail: str, headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers

    @property
    def title(self) -> str:
        return HTTPStatus(self.status).phrase

    def body(self) -> bytes:
        doc = {
            "type": PROBLEM_TYPE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        return json.dumps(doc).encode()


def problem_for(exc: BaseException) -> Problem:
    """The problem document for an exception raised by a store."""
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, errors.MissingKey):
        return Problem(404, "missing-key", "No value is stored at this key.")
    if isinstance(exc, errors.KeyEncodingError):
        return Problem(400, "invalid-key", INVALID_KEY_DETAIL)
    if isinstance(exc, errors.ValueTooLarge):
        return Problem(413, "value-too-large", "The value is over the store's size limit.")
    if isinstance(exc, errors.ReadOnlyError):
        return Problem(403, "read-only", "The store behind this server is read-only.")
    if isinstance(exc, errors.UnsupportedOperation):
        return Problem(501, "unsupported", "The store behind this server cannot do this operation.")
    if isinstance(exc, errors.StoreUnavailable | errors.StoreClosed):
        return Problem(503, "store-unavailable", "The store behind this server is unavailable.")
    _log.error("Store error while serving a request", exc_info=exc)
    return Problem(500, "internal", "The server failed to handle this request; see its log.")
