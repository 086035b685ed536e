"""The HTTP server and HTTPStore, against the stdlib baseline and a bare http.client loop.

Run with ``python -m benchmarks.bench_http [--rounds N] [--seconds S]``. Loopback only. Every
variant runs interleaved with its baseline in each round; tables show medians over the rounds
and the median of the per-round ratios.

1. Servers, with wrk (``-t2 -c16``; if wrk is missing, a load generator of this script, said so
   in the output): requests/s of GET and PUT of 1 KiB for a MemoryStore behind nstore's builtin
   server (on its event loop, and on worker threads as a store that can block is served) and
   behind granian (over the same app, a reference), and for ``nstore serve``'s default store, a
   SQLiteStore (durability "normal"), behind each, against the stdlib ``ThreadingHTTPServer``
   (TCP_NODELAY on) over a dict. Targets: MemoryStore 3x; SQLite GET 3x, PUT 2x, and at least
   granian's figure for the same store. Each row also gives the server process's CPU time per
   request (user and system, so the kernel's work on its sockets counts), which moves much less
   with the machine's load than requests/s do. ``--part latency`` gives p99 latencies at -c16
   and -c256.
0. Parsers (``--part parsers``): microseconds to parse a request head, nstore's strict parser
   against httptools (llhttp) and h11.
2. Client: HTTPStore ``store[k]`` / ``store[k] = v`` against a bare ``http.client`` keep-alive
   loop doing the same requests on the builtin server. Target: at most 1.3x its time per op.
3. Batches: ``get_many`` of 100 keys against 100 single gets. Target: at least 10x faster.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.util
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks._http_servers import KEY, VALUE
from benchmarks._report import fmt, table
from nstore.stores.http import HTTPStore

# cheroot and waitress, the pure-Python candidates, run when installed (they are not dependencies).
_CANDIDATES = [name for name in ("cheroot", "waitress") if importlib.util.find_spec(name) is not None]
SERVERS = ("baseline", "builtin", "workers", "granian", "sqlite", "sqlite-granian", *_CANDIDATES)
#: The target of each server against the baseline, GET and PUT.
TARGETS = {"sqlite": (3.0, 2.0)}
#: Servers measured to compare with, not held to a target (the SQLite target: at least granian).
COMPARATORS = ("sqlite-granian", *_CANDIDATES)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user and system) used so far by a process and its descendants, threads that
    have ended included; None off Linux."""
    try:
        stats = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError), open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                    stats[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))  # ppid, time
    except OSError:
        return None
    family = {pid}
    for _ in range(3):  # granian serves from worker processes, children of the one started
        family |= {child for child, (parent, _) in stats.items() if parent in family}
    total = sum(stats[member][1] for member in family if member in stats)
    return total / os.sysconf("SC_CLK_TCK")


@contextmanager
def server_process(kind: str, pids: list[int] | None = None) -> Iterator[str]:
    """Start a server process; yield its URL; stop it. Its pid is appended to ``pids``."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._http_servers", kind, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    if pids is not None:
        pids.append(process.pid)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"the {kind} server did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- load generation -------------------------------------------------------------------------------

_PUT_LUA = 'wrk.method = "PUT"\nwrk.body = string.rep("x", 1024)\n'


def wrk(url: str, method: str, seconds: float, script_dir: Path, connections: int = 16) -> float:
    return wrk_latency(url, method, seconds, script_dir, connections)[0]


def wrk_latency(
    url: str, method: str, seconds: float, script_dir: Path, connections: int = 16
) -> tuple[float, float]:
    """Requests/s and the p99 latency in milliseconds."""
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency", url]
    if method == "PUT":
        script = script_dir / "put.lua"
        script.write_text(_PUT_LUA)
        args[1:1] = ["-s", str(script)]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    if match is None or p99 is None or "Non-2xx" in out:
        raise RuntimeError(f"wrk failed or got errors:\n{out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return float(match.group(1)), float(p99.group(1)) * scale


def loopback_load(url: str, method: str, seconds: float) -> float:
    """wrk's stand-in: 2 processes x 8 keep-alive connections, one request in flight each."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    path = url.split(port, 1)[1] or "/"
    body = b"x" * 1024 if method == "PUT" else b""
    request = (
        f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    )
    code = (
        "import socket,sys,time,threading\n"
        "host,port,req,secs=sys.argv[1],int(sys.argv[2]),bytes.fromhex(sys.argv[3]),float(sys.argv[4])\n"
        "count=[0]\n"
        "def run():\n"
        " s=socket.create_connection((host,port));s.setsockopt(6,1,1);end=time.monotonic()+secs;n=0\n"
        " while time.monotonic()<end:\n"
        "  s.sendall(req);buf=b''\n"
        "  while b'\\r\\n\\r\\n' not in buf: buf+=s.recv(65536)\n"
        "  head,_,rest=buf.partition(b'\\r\\n\\r\\n')\n"
        "  size=int(head.lower().split(b'content-length:')[1].split(b'\\r\\n')[0])\n"
        "  while len(rest)<size: rest+=s.recv(65536)\n"
        "  n+=1\n"
        " count[0]+=n\n"
        "ts=[threading.Thread(target=run) for _ in range(8)]\n"
        "[t.start() for t in ts];[t.join() for t in ts];print(count[0])\n"
    )
    args = [sys.executable, "-c", code, host, port, request.hex(), str(seconds)]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    total = sum(int(p.communicate()[0]) for p in procs)
    return total / seconds


# -- the three parts -------------------------------------------------------------------------------


def _target(kind: str, method: str) -> float:
    get, put = TARGETS.get(kind, (3.0, 3.0))
    return get if method == "GET" else put


def bench_servers(rounds: int, seconds: float, servers: tuple[str, ...] = SERVERS) -> str:
    """Requests/s of each server against the baseline, interleaved, and the server's CPU time
    per request (user and system time of its process, kernel work for its sockets included),
    which depends much less than requests/s on what else the machine runs."""
    use_wrk = shutil.which("wrk") is not None
    rates: dict[tuple[str, str], list[float]] = {}
    ratios: dict[tuple[str, str], list[float]] = {}
    costs: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(rounds):
            for method in ("GET", "PUT"):
                this_round = {}
                for kind in servers:
                    pids: list[int] = []
                    with server_process(kind, pids) as url:
                        path = url + ("/x" if kind == "baseline" else "/v1/keys/" + KEY)
                        before = cpu_seconds(pids[0])
                        if use_wrk:
                            load = wrk(path, method, seconds, Path(tmp))
                        else:
                            load = loopback_load(path, method, seconds)
                        after = cpu_seconds(pids[0])
                    this_round[kind] = load
                    rates.setdefault((kind, method), []).append(load)
                    if before is not None and after is not None:
                        costs.setdefault((kind, method), []).append((after - before) / (load * seconds))
                for kind in servers:
                    ratios.setdefault((kind, method), []).append(this_round[kind] / this_round["baseline"])

    def cost(kind: str, method: str) -> str:
        if (kind, method) not in costs:
            return "-"
        return f"{statistics.median(costs[kind, method]) * 1e6:.1f} us"

    rows = [
        [
            kind,
            method,
            fmt(statistics.median(rates[kind, method])),
            f"{statistics.median(ratios[kind, method]):.2f}x",
            f"{min(ratios[kind, method]):.2f}-{max(ratios[kind, method]):.2f}x",
            cost(kind, method),
            "-"
            if kind == "baseline" or kind in COMPARATORS
            else f"{_target(kind, method):g}x: "
            + ("yes" if statistics.median(ratios[kind, method]) >= _target(kind, method) else "no"),
        ]
        for method in ("GET", "PUT")
        for kind in servers
    ]
    generator = (
        "wrk -t2 -c16" if use_wrk else "the script's loopback generator (wrk not found): 2 x 8 connections"
    )
    return f"Load: {generator}, {seconds:g} s per run, {rounds} rounds, {_load_average()}\n" + table(
        ["server", "method", "requests/s", "vs baseline", "spread", "server CPU/request", "target"], rows
    )


def bench_latency(rounds: int, seconds: float, servers: tuple[str, ...]) -> str:
    """p99 latency (ms) at 16 and 256 connections, medians over interleaved rounds (needs wrk)."""
    p99: dict[tuple[str, str, int], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(rounds):
            for kind in servers:
                with server_process(kind) as url:
                    path = url + ("/x" if kind == "baseline" else "/v1/keys/" + KEY)
                    for method in ("GET", "PUT"):
                        for connections in (16, 256):
                            _, ms = wrk_latency(path, method, seconds, Path(tmp), connections)
                            p99.setdefault((kind, method, connections), []).append(ms)
    rows = [
        [kind, method, *(f"{statistics.median(p99[kind, method, c]):.1f} ms" for c in (16, 256))]
        for method in ("GET", "PUT")
        for kind in servers
    ]
    return f"{rounds} rounds, {_load_average()}\n" + table(
        ["server", "method", "p99 at -c16", "p99 at -c256"], rows
    )


def _load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f} at the end"


def bench_parsers(rounds: int) -> str:
    from benchmarks._parsers import HEADS, parse_costs

    costs = parse_costs(rounds, 20000)
    rows = []
    for head in HEADS:
        base = costs["nstore strict", head]
        for name in ("nstore strict", "httptools (llhttp)", "h11"):
            ratio = statistics.median(a / b for a, b in zip(costs[name, head], base, strict=True))
            rows.append([head, name, f"{statistics.median(costs[name, head]):.2f} us", f"{ratio:.2f}x"])
    return table(["head", "parser", "per parse", "vs nstore"], rows)


def _timed(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def bench_client(rounds: int, n: int) -> str:
    times: dict[str, list[float]] = {}
    with server_process("builtin") as url:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port))
        path = "/v1/keys/" + KEY

        def bare_get() -> bytes:
            conn.request("GET", path)
            return conn.getresponse().read()

        def bare_put() -> bytes:
            conn.request("PUT", path, VALUE)
            return conn.getresponse().read()

        keys = [f"batch/{i:03d}" for i in range(100)]
        with HTTPStore(url) as store:
            store.set_many(dict.fromkeys(keys, VALUE))

            def store_put() -> None:
                store[KEY] = VALUE

            variants: dict[str, Callable[[], object]] = {
                "bare get": bare_get,
                "HTTPStore get": lambda: store[KEY],
                "bare set": bare_put,
                "HTTPStore set": store_put,
                "100 single gets": lambda: [store[k] for k in keys],
                "get_many(100)": lambda: store.get_many(keys),
            }
            for _ in range(rounds):
                for name, fn in variants.items():
                    count = max(5, n // 100) if "100" in name else n
                    fn()  # warm the connection
                    times.setdefault(name, []).append(_timed(fn, count))
        conn.close()

    def row(name: str, base: str, target: str, ok: Callable[[float], bool]) -> list[str]:
        ratio = statistics.median(a / b for a, b in zip(times[name], times[base], strict=True))
        return [name, f"{statistics.median(times[name]) * 1e6:.0f} us", base, f"{ratio:.2f}x", target,
                "yes" if ok(ratio) else "no"]  # fmt: skip

    rows = [
        row("HTTPStore get", "bare get", "<= 1.3x", lambda r: r <= 1.3),
        row("HTTPStore set", "bare set", "<= 1.3x", lambda r: r <= 1.3),
        row("get_many(100)", "100 single gets", "<= 0.1x", lambda r: r <= 0.1),
    ]
    bare = [
        [name, f"{statistics.median(times[name]) * 1e6:.0f} us", "", "", "", ""]
        for name in ("bare get", "bare set", "100 single gets")
    ]
    return table(["variant", "time per call", "vs", "ratio", "target", "met"], bare + rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per load run")
    parser.add_argument("--ops", type=int, default=2000, help="client operations per timing")
    parser.add_argument(
        "--part", choices=("all", "parsers", "servers", "sqlite", "latency", "client"), default="all"
    )
    args = parser.parse_args()
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}")
    part = args.part
    if part in ("all", "parsers"):
        print("\n## Parsers: one request head\n")
        print(bench_parsers(args.rounds * 3), flush=True)
    if part in ("all", "servers"):
        print("\n## Servers: MemoryStore or SQLiteStore behind each, 1 KiB values\n")
        print(bench_servers(args.rounds, args.seconds), flush=True)
    if part == "sqlite":
        print("\n## Servers: SQLiteStore (durability normal) behind each, 1 KiB values\n")
        print(bench_servers(args.rounds, args.seconds, ("baseline", "sqlite", "sqlite-granian")), flush=True)
    if part in ("all", "latency"):
        print("\n## p99 latency\n")
        servers = ("baseline", "builtin", "sqlite", "sqlite-granian")
        print(bench_latency(max(1, args.rounds // 2), args.seconds, servers), flush=True)
    if part in ("all", "client"):
        print("\n## HTTPStore (builtin server)\n")
        # Many short rounds: the per-round ratios then pair timings taken close together.
        print(bench_client(args.rounds * 5, args.ops // 5))


if __name__ == "__main__":
    main()
