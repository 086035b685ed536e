"""Where the embedded server runs the application: on its event loop, on worker threads, or
through one writer thread that commits concurrent PUTs together.

- An application that never blocks (``app.blocking`` False: an in-memory store) runs on the loop.
- Plain GETs of an application whose reads are short (``app.short_reads``: a local store, such as
  SQLite in WAL mode, where a read does not wait for writers) also run on the loop, with a time
  budget: a read that takes over ``SLOW_READ`` seconds sends every read to the workers for the
  next ``SLOW_PAUSE`` seconds, so a slow disk or a busy lock costs one stall, not a stalled loop.
- Plain PUTs of an application that offers ``fast_put_many`` go to one writer thread, which
  takes every PUT waiting and writes them with one ``set_many`` (one transaction, one commit on
  SQLite); each is answered after that commit, and if it fails each PUT is retried alone, so one
  bad PUT fails only itself (group commit).
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

__all__ = ["SLOW_PAUSE", "SLOW_READ", "Output", "Runner"]

_log = logging.getLogger("nstore.server")
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Response = tuple[str, list[tuple[str, str]], bytes]
#: A response as the loop sends it: head (blank line included), payload, and whether to keep alive.
Output = tuple[bytes, bytes, bool]

SLOW_READ = 0.002
SLOW_PAUSE = 1.0


class Runner:
    """Runs requests for the loop (see the module docstring)."""

    def __init__(
        self, app: WSGIApp, workers: int, wake: Callable[[], None], stopping: threading.Event
    ) -> None:
        self.app = app
        self.done: deque[tuple[Conn, Output]] = deque()
        self._wake = wake
        self._stopping = stopping
        self._blocking: bool = getattr(app, "blocking", True)
        self._short_reads: bool = self._blocking and getattr(app, "short_reads", False)
        self._reads_back_at = 0.0  # reads leave the loop until then, after a slow one
        self._pool = ThreadPoolExecutor(workers, "nstore-http") if workers else None
        self._fast_get: Callable[[str], Response] | None = getattr(app, "fast_get", None)
        self._fast_put: Callable[[str, bytes], Response] | None = getattr(app, "fast_put", None)
        put_many: Callable[[list[tuple[str, bytes]]], list[Response]] | None = getattr(
            app, "fast_put_many", None
        )
        self._writer = _Writer(put_many, self._finish_writes) if put_many is not None and self._pool else None
        if self._pool is None:  # no threads: everything runs on the loop
            self._blocking = self._short_reads = False

    def on_loop(self, conn: Conn) -> bool:
        """Whether ``conn``'s request runs on the loop now (else :meth:`submit` it)."""
        if not self._blocking:
            return True
        return conn.kind == GET and self._short_reads and monotonic() >= self._reads_back_at

    def run_here(self, conn: Conn, body: bytes) -> Output:
        """Run on the loop, timing reads of a blocking app against the budget."""
        if not self._blocking:
            return self.run(conn, body)
        started = monotonic()
        output = self.run(conn, body)
        now = monotonic()
        if now - started > SLOW_READ:
            self._reads_back_at = now + SLOW_PAUSE
        return output

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
        if app_closes or not keep_alive or self._stopping.is_set():
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
            conns = [conn for conn, _ in batch]
            try:
                responses = self._put_many([(conn.key, body) for conn, body in batch])
            except Exception:  # put_many answers each PUT; this is a defect, not a store error
                _log.exception("Unexpected error in the HTTP server")
                failed = ("500 Internal Server Error", [("Connection", "close")], b"")
                responses = [failed] * len(batch)
            self._finished(conns, responses)
