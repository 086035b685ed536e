"""Candidate async HTTP clients for a native async HTTPStore, against a bare asyncio streams client.

Run with ``python -m benchmarks.bench_async_http [--rounds N]``. It starts ``nstore serve memory://``
in a subprocess (so the server does not share this process's interpreter lock) and times GETs of
one 256-byte value: sequential, and 100 at once with ``asyncio.gather``. Every client runs
interleaved with the others in each round; the table shows medians per GET and the ratio to the
bare client (a hand-written HTTP/1.1 keep-alive client over ``asyncio.open_connection``, the
floor any client on the loop pays). AsyncHTTPStore is the client built on that measurement
(target: 100 concurrent gets >= 5x faster than 100 sequential awaits: the "gain" column, with its
spread over rounds). It sends the gets gathered in one loop tick as one ``/v1/batch`` request;
``AsyncHTTPStore(coalesce=False)`` sends one GET each, over up to 100 pooled connections. The
last rows break one gathered round down: the one batch request by hand (the floor of the
coalesced client) and 100 GETs with the bare client over 100 connections (the floor without it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx
from tests.redis_servers import free_port

from nstore import AsyncAdapter, AsyncHTTPStore, HTTPStore

VALUE = bytes(range(256))
SEQUENTIAL = 300
CONCURRENT = 100


class BareClient:
    """HTTP/1.1 keep-alive GETs over asyncio streams, one request at a time per connection."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def get(self, path: str) -> bytes:
        if self.idle:
            reader, writer = self.idle.pop()
        else:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        body = await reader.readexactly(length)
        self.idle.append((reader, writer))
        return body

    async def aclose(self) -> None:
        for _, writer in self.idle:
            writer.close()
            await writer.wait_closed()


async def _round(get: Callable[[], Awaitable[bytes]]) -> tuple[float, float]:
    start = time.perf_counter()
    for _ in range(SEQUENTIAL):
        await get()
    sequential = (time.perf_counter() - start) / SEQUENTIAL
    start = time.perf_counter()
    results = await asyncio.gather(*(get() for _ in range(CONCURRENT)))
    concurrent = (time.perf_counter() - start) / CONCURRENT
    assert all(r == VALUE for r in results)
    return sequential, concurrent


async def _main(url: str, rounds: int) -> None:
    host, port = "127.0.0.1", int(url.rsplit(":", 1)[1].rstrip("/"))
    path = "/v1/keys/bench"
    seed = HTTPStore(url)
    seed["bench"] = VALUE
    seed.close()
    bare = BareClient(host, port)
    limits = httpx.Limits(max_connections=CONCURRENT, max_keepalive_connections=CONCURRENT)
    hx = httpx.AsyncClient(base_url=url.rstrip("/"), limits=limits)
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENT))
    adapted = AsyncAdapter(HTTPStore(url), max_workers=16)
    native = AsyncHTTPStore(url, max_connections=CONCURRENT)
    uncoalesced = AsyncHTTPStore(url, max_connections=CONCURRENT, coalesce=False)

    async def httpx_get() -> bytes:
        return (await hx.get(path)).content

    async def aiohttp_get() -> bytes:
        async with session.get(url.rstrip("/") + path) as response:
            return await response.read()

    clients: dict[str, Callable[[], Awaitable[bytes]]] = {
        "bare asyncio streams": lambda: bare.get(path),
        "httpx.AsyncClient": httpx_get,
        "aiohttp.ClientSession": aiohttp_get,
        "HTTPStore via AsyncAdapter(16)": lambda: adapted.get("bench"),
        "AsyncHTTPStore(coalesce=False)": lambda: uncoalesced.get("bench"),
        "AsyncHTTPStore": lambda: native.get("bench"),
    }
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
    for get in clients.values():  # warm-up: connections
        await _round(get)
    for _ in range(rounds):
        for name, get in clients.items():
            times[name].append(await _round(get))
    base = times["bare asyncio streams"]
    print(
        f"{rounds} interleaved rounds; µs per GET (median); ratio: median per-round ratio to the bare client"
    )
    columns = ("sequential", "ratio", "100 at once", "ratio", "gain", "spread")
    print(
        f"{'client':32} " + " ".join(f"{c:>{w}}" for c, w in zip(columns, (10, 6, 11, 6, 6, 11), strict=True))
    )
    for name, rows in times.items():
        seq = statistics.median(r[0] for r in rows) * 1e6
        conc = statistics.median(r[1] for r in rows) * 1e6
        seq_ratio = statistics.median(r[0] / b[0] for r, b in zip(rows, base, strict=True))
        conc_ratio = statistics.median(r[1] / b[1] for r, b in zip(rows, base, strict=True))
        gains = [r[0] / r[1] for r in rows]
        spread = f"{min(gains):.1f}-{max(gains):.1f}x"
        gain = statistics.median(gains)
        ratios = f"{seq_ratio:5.2f}x {conc:11.1f} {conc_ratio:5.2f}x"
        print(f"{name:32} {seq:10.1f} {ratios} {gain:5.1f}x {spread:>11}")
    await _breakdown(native, bare, path, rounds)
    await bare.aclose()
    await hx.aclose()
    await session.close()
    await adapted.aclose()
    await native.aclose()
    await uncoalesced.aclose()


async def _breakdown(native: AsyncHTTPStore, bare: BareClient, path: str, rounds: int) -> None:
    """Where one gathered round of 100 gets goes: one batch by hand, and 100 bare GETs at once."""
    batch, spread = [], []
    for _ in range(rounds * 3):
        start = time.perf_counter()
        values = await native.get_many(["bench"] * CONCURRENT)
        batch.append(time.perf_counter() - start)
        assert values == {"bench": VALUE}
        start = time.perf_counter()
        await asyncio.gather(*(bare.get(path) for _ in range(CONCURRENT)))
        spread.append(time.perf_counter() - start)
    print(f"one /v1/batch of {CONCURRENT} keys: {statistics.median(batch) * 1e6:.0f} µs a round (median)")
    print(f"{CONCURRENT} bare GETs at once:   {statistics.median(spread) * 1e6:.0f} µs a round (median)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    command = [sys.executable, "-m", "nstore.cli", "serve", "memory://", "--port", str(free_port()), "--json"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = json.loads(server.stdout.readline())["url"]
        asyncio.run(_main(url, args.rounds))
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
