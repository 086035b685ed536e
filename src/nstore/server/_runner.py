"""Where the embedded server runs the application: on its event loop, on worker threads, or
through one writer thread.

- An application that never blocks (``app.blocking`` False: an in-memory store) runs on the loop.
- For an application whose reads and writes are short (``app.short_reads``: a local store, such
  as SQLite in WAL mode with durability "normal", where a read does not wait for writers and a
  commit does not wait for the disk), plain GETs run on the loop, and plain PUTs are committed
  together on the loop (group commit): every PUT whose body is complete when the loop has
  handled its ready sockets is written with one ``fast_put_many`` (one ``set_many``, one
  transaction, one commit on SQLite), and each is answered after that commit. If the commit
  fails, each PUT is retried alone, so one bad PUT fails only itself.
- Both are timed (:class:`_Budget`): a read, or a batch of writes, over ``SLOW`` seconds is slow,
  and ``STRIKES`` slow ones within ``PAUSE`` seconds send reads (or writes) to the threads for
  the next ``PAUSE`` seconds, so a slow disk, a checkpoint or another process holding the write
  lock costs a few stalls of the loop, not a stalled loop. (One slow call alone may be the loop
  thread losing its CPU on a busy machine, which moving the work would not help.) Off the loop,
  writes go to one writer thread, which commits all the PUTs queued since its last commit
  together in the same way.
- Everything else runs on the ``workers`` threads, one request per connection at a time.

Results from threads are queued in :attr:`Runner.done` and the loop is woken to send them.
"""

from __future__ import annotations

import io
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from time import monotonic
from typing import Any

from nstore.server._conn import GET, PUT, Conn, problem_bytes
from nstore.server._wsgi import encode_head
from nstore.server.problems import Problem

__all__ = ["PAUSE", "SLOW", "STRIKES", "Output", "Runner"]

_log = logging.getLogger("nstore.server")
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Response = tuple[str, list[tuple[str, str]], bytes]
#: A response as the loop sends it: head (blank line included), payload, and whether to keep alive.
Output = tuple[bytes, bytes, bool]

SLOW = 0.02
STRIKES = 3
PAUSE = 1.0


class _Budget:
    """Whether a kind of work may run on the loop, judged by how long it has been taking."""

    __slots__ = ("_back_at", "_slow")

    def __init__(self) -> None:
        self._back_at = 0.0  # the work stays off the loop until then
        self._slow: deque[float] = deque(maxlen=STRIKES)  # when the last slow calls ended

    def allows(self) -> bool:
        return monotonic() >= self._back_at

    def took(self, started: float) -> None:
        now = monotonic()
        if now - started > SLOW:
            slow = self._slow
            slow.append(now)
            if len(slow) == STRIKES and now - slow[0] < PAUSE:
                self._back_at = now + PAUSE
                slow.clear()


class Runner:
    """Runs requests for the loop (see the module docstring)."""

    def __init__(self, app: WSGIApp, workers: int, wake: Callable[[], None]) -> None:
        self.app = app
        self.done: deque[tuple[Conn, Output]] = deque()
        #: Set when the server stops: every response then closes its connection.
        self.stopping = False
        self._wake = wake
        self._blocking: bool = getattr(app, "blocking", True)
        self._short: bool = self._blocking and getattr(app, "short_reads", False)
        self._reads = _Budget()
        self._writes = _Budget()
        self._batch: list[tuple[Conn, bytes]] = []  # PUTs to commit together on the loop
        self._pool = ThreadPoolExecutor(workers, "nstore-http") if workers else None
        self._fast_get: Callable[[str], Response] | None = getattr(app, "fast_get", None)
        self._fast_put: Callable[[str, bytes], Response] | None = getattr(app, "fast_put", None)
        self._put_many: Callable[[list[tuple[str, bytes]]], list[Response]] | None = getattr(
            app, "fast_put_many", None
        )
        put_many = self._put_many
        self._writer = _Writer(put_many, self._written) if put_many is not None and self._pool else None
        if self._pool is None:  # no threads: everything runs on the loop
            self._blocking = self._short = False

    def on_loop(self, conn: Conn) -> bool:
        """Whether ``conn``'s request runs on the loop now (else :meth:`submit` it)."""
        if not self._blocking:
            return True
        return conn.kind == GET and self._short and self._reads.allows()

    def run_here(self, conn: Conn, body: bytes) -> Output:
        """Run on the loop, timing reads of a blocking app against their budget."""
        if not self._blocking:
            return self.run(conn, body)
        started = monotonic()
        output = self.run(conn, body)
        self._reads.took(started)
        return output

    def batch(self, conn: Conn, body: bytes) -> bool:
        """Queue a plain PUT for :meth:`commit` on the loop, if writes may run there now."""
        if conn.kind != PUT or not self._short or self._put_many is None or not self._writes.allows():
            return False
        self._batch.append((conn, body))
        return True

    def commit(self) -> None:
        """Write the queued PUTs together, timed, and queue their responses in :attr:`done`."""
        batch, self._batch = self._batch, []
        assert self._put_many is not None  # batch() queues none without it
        started = monotonic()
        responses = _put_many(self._put_many, batch)
        self._writes.took(started)
        self._finish_writes([conn for conn, _ in batch], responses)

    @property
    def batched(self) -> bool:
        return bool(self._batch)

    def submit(self, conn: Conn, body: bytes) -> None:
        if conn.kind == PUT and self._writer is not None:
            self._writer.submit(conn, body)
            return
        assert self._pool is not None  # on_loop() is True without workers
        self._pool.submit(self._work, conn, body)

    def shutdown(self) -> None:
        if self._writer is not None:
            self._writer.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _work(self, conn: Conn, body: bytes) -> None:
        # The loop leaves the connection alone while it is busy, so reading its request is safe.
        self.done.append((conn, self.run(conn, body)))
        self._wake()

    def _finish_writes(self, conns: list[Conn], responses: list[Response]) -> None:
        for conn, response in zip(conns, responses, strict=True):
            self.done.append((conn, self.encode(conn, response)))

    def _written(self, conns: list[Conn], responses: list[Response]) -> None:
        """The writer thread's results: queue them, and wake the loop to send them."""
        self._finish_writes(conns, responses)
        self._wake()

    def run(self, conn: Conn, body: bytes) -> Output:
        """The response to the connection's request."""
        try:
            if conn.kind == GET:
                assert self._fast_get is not None
                response = self._fast_get(conn.key)
            elif conn.kind == PUT:
                assert self._fast_put is not None
                response = self._fast_put(conn.key, body)
            else:
                response = self._call_app(conn.environ, body)
            return self.encode(conn, response)
        except Exception:
            _log.exception("Unexpected error in the HTTP server")
            return problem_bytes(Problem(500, "internal", "The server failed on this request.")), b"", False

    def encode(self, conn: Conn, response: Response) -> Output:
        """The bytes of ``response`` to the connection's request, and whether to keep alive."""
        status, headers, payload = response
        head, app_closes = encode_head(status, headers, len(payload))
        keep_alive = conn.keep_alive
        if app_closes or not keep_alive or self.stopping:
            keep_alive = False
            head += b"Connection: close\r\n"
        return head + b"\r\n", b"" if conn.method == b"HEAD" else payload, keep_alive

    def _call_app(self, environ: dict[str, Any], body: bytes) -> Response:
        environ["wsgi.input"] = io.BytesIO(body)
        started: list[Any] = []
        written: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = status, headers
            return written.append

        result = self.app(environ, start_response)
        try:
            written.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = started
        return status, headers, b"".join(written)


class _Writer:
    """One thread writing every PUT queued since its last commit with one ``put_many`` call."""

    def __init__(
        self,
        put_many: Callable[[list[tuple[str, bytes]]], list[Response]],
        finished: Callable[[list[Conn], list[Response]], None],
    ) -> None:
        self._put_many = put_many
        self._finished = finished
        self._queue: list[tuple[Conn, bytes]] = []
        self._ready = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="nstore-http-writer", daemon=True)
        self._thread.start()

    def submit(self, conn: Conn, body: bytes) -> None:
        with self._ready:
            self._queue.append((conn, body))
            self._ready.notify()

    def stop(self) -> None:
        with self._ready:
            self._stopped = True
            self._ready.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._stopped:
                    self._ready.wait()
                batch, self._queue = self._queue, []
                if not batch:
                    return
            self._finished([conn for conn, _ in batch], _put_many(self._put_many, batch))


def _put_many(
    put_many: Callable[[list[tuple[str, bytes]]], list[Response]], batch: list[tuple[Conn, bytes]]
) -> list[Response]:
    try:
        return put_many([(conn.key, body) for conn, body in batch])
    except Exception:  # put_many answers each PUT itself; this is a defect, not a store error
        _log.exception("Unexpected error in the HTTP server")
        return [("500 Internal Server Error", [("Connection", "close")], b"")] * len(batch)
