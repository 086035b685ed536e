"""Responses out, on the embedded server's connections (see ``_http``), without blocking.

:class:`Sender` writes a response with one ``send`` (a small value is copied behind its head) or
one ``sendmsg`` (a large one is sent from the bytes the store returned, never copied). What the
socket does not take at once waits in the connection, counted in the global byte budget, and
goes out as the socket drains (``POLLOUT``), within ``read_timeout`` plus its size at
``min_rate``. Once a response is out the connection waits for its next request (the
:class:`~nstore.server._exchange.Exchange` goes on with the bytes that have arrived), or closes:
one closed with a request body unread sends FIN first and is reset a moment later, so that the
reset cannot destroy the response before the client reads it.
"""

from __future__ import annotations

import contextlib
import select
import socket
from collections.abc import Callable
from time import monotonic

from nstore.server._conn import HEAD, LINGER, SEND, Budget, Conn, Limits, Poller

__all__ = ["LINGER_SECONDS", "Output", "Sender"]

#: A response as the loop sends it: head (blank line included), payload, and whether to keep alive.
Output = tuple[bytes, bytes, bool]
#: Seconds a connection closed with a body unread waits after its response, before the reset.
LINGER_SECONDS = 0.5
_COPY = 16384  # below this many bytes of payload, one small copy beats a scatter-gather send
_IN = select.POLLIN | select.POLLERR | select.POLLHUP
_OUT = select.POLLOUT


class Sender:
    """Writes responses to connections (see the module docstring).

    ``resume(conn)`` is called when a response that had to wait for the socket is out and the
    connection can take its next request; ``close(conn)`` closes a connection for good.
    """

    def __init__(
        self,
        limits: Limits,
        *,
        poller: Poller,
        budget: Budget,
        close: Callable[[Conn], None],
        resume: Callable[[Conn], None],
    ) -> None:
        self.read_timeout = limits.read_timeout
        self.keepalive_timeout = limits.keepalive_timeout
        self.min_rate = limits.min_rate
        self._poller = poller
        self._budget = budget
        self._close = close
        self._resume = resume

    def respond(self, conn: Conn, output: Output) -> None:
        """Send ``output`` on ``conn``, or as much as the socket takes and the rest later."""
        head, payload, keep_alive = output
        conn.keep_alive = keep_alive
        total = len(head) + len(payload)
        try:
            if len(payload) < _COPY:
                data = head + payload if payload else head
                sent = conn.sock.send(data)
                pending = [memoryview(data)[sent:]] if sent < total else []
            else:
                sent = conn.sock.sendmsg([head, payload])
                pending = _after(sent, [memoryview(head), memoryview(payload)])
        except BlockingIOError:
            sent, pending = 0, [memoryview(head), memoryview(payload)]
        except OSError:
            self._close(conn)
            return
        if pending:
            left = total - sent
            conn.out, conn.out_held = pending, left
            self._budget.used += left  # counted, never refused: it delays new bodies instead
            conn.state = SEND
            conn.deadline = monotonic() + self.read_timeout + left / self.min_rate
            self._poller.modify(conn.fd, _OUT)
            return
        self._sent(conn)

    def flush(self, conn: Conn) -> None:
        """Send more of the response waiting on ``conn``, whose socket can take some now."""
        try:
            sent = conn.sock.sendmsg(conn.out)
        except BlockingIOError:
            return
        except OSError:
            self._close(conn)
            return
        conn.out = _after(sent, conn.out)
        if not conn.out:
            self._budget.used -= conn.out_held
            conn.out_held = 0
            conn.state = HEAD
            self._poller.modify(conn.fd, _IN)
            self._sent(conn)
            if conn.state == HEAD:
                self._resume(conn)

    def _sent(self, conn: Conn) -> None:
        """A response is out: wait for the next request, or close."""
        if conn.keep_alive:
            conn.deadline = monotonic() + self.keepalive_timeout
            return
        if not conn.linger:
            self._close(conn)
            return
        # Closing a socket with unread input sends a reset, which can destroy the response
        # before the client reads it: send FIN now, and close (unread) a moment later.
        with contextlib.suppress(OSError):
            conn.sock.shutdown(socket.SHUT_WR)
        self._poller.unregister(conn.fd)
        self._budget.release(conn)
        conn.state = LINGER
        conn.deadline = monotonic() + LINGER_SECONDS


def _after(sent: int, views: list[memoryview]) -> list[memoryview]:
    """What is left of ``views`` once ``sent`` bytes of them have gone."""
    for i, view in enumerate(views):
        if sent < len(view):
            return [view[sent:], *views[i + 1 :]]
        sent -= len(view)
    return []
