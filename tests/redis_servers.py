"""Real ``redis-server`` processes for the tests: one standalone server and Redis Clusters.

Every server runs from the binary on a free loopback port, with persistence off
(``--save "" --appendonly no``) and its working directory in a temporary directory. Nothing here
touches a Redis server that was already running on the machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import redis.cluster

__all__ = ["RedisCluster", "RedisServer", "free_port", "missing_binaries", "raw_cluster", "redis_cli"]

HOST = "127.0.0.1"


def missing_binaries() -> str | None:
    """A message naming the missing Redis binaries and how to install them, or None."""
    missing = [name for name in ("redis-server", "redis-cli") if shutil.which(name) is None]
    if not missing:
        return None
    return (
        f"{' and '.join(missing)} not found on PATH. The Redis tests start their own servers from "
        "the binaries; install them (Debian/Ubuntu: apt-get install redis-server redis-tools) "
        "and run the tests again."
    )


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port(*, with_bus_port: bool = False) -> int:
    """A free loopback port; with ``with_bus_port``, ``port + 10000`` (the cluster bus) is free too."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port: int = sock.getsockname()[1]
        if not with_bus_port:
            return port
        if port + 10000 < 65536 and _port_is_free(port + 10000):
            return port
    raise RuntimeError("No free port pair (port, port + 10000) found on 127.0.0.1.")


def redis_cli(*args: str, timeout: float = 30.0) -> str:
    """Run ``redis-cli`` with ``args`` and return its standard output (raises on failure)."""
    result = subprocess.run(
        ["redis-cli", *args], capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
    )
    if result.returncode != 0:
        raise RuntimeError(f"redis-cli {' '.join(args)} failed: {result.stderr.decode(errors='replace')}")
    return result.stdout.decode(errors="replace")


def _command(port: int, *args: str, timeout: float = 2.0) -> bytes:
    """Send one inline command over a raw socket and return the raw reply (for readiness checks)."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall((" ".join(args) + "\r\n").encode())
        chunks = [sock.recv(65536)]
        # A bulk reply may span several reads; INFO and CLUSTER replies stay small here.
        while chunks[-1] and not chunks[-1].endswith(b"\r\n"):
            chunks.append(sock.recv(65536))
        return b"".join(chunks)


class RedisServer:
    """One ``redis-server`` process on a free port; a context manager that always kills it."""

    def __init__(
        self,
        directory: Path,
        *,
        cluster: bool = False,
        node_timeout_ms: int = 1000,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.port = free_port(with_bus_port=cluster)
        self.directory = directory / str(self.port)
        self.directory.mkdir(parents=True)
        self.log = self.directory / "redis.log"
        args = [
            "redis-server",
            "--port", str(self.port),
            "--bind", HOST,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--logfile", str(self.log),
            "--daemonize", "no",
        ]  # fmt: skip
        if cluster:
            args += [
                "--cluster-enabled", "yes",
                "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", str(node_timeout_ms),
            ]  # fmt: skip
        args += extra_args
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def _wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited ({self.process.returncode}): {self.log_tail()}")
            with contextlib.suppress(OSError):
                # -NOAUTH: a server started with --requirepass is up, and refuses the anonymous PING.
                if _command(self.port, "PING").startswith((b"+PONG", b"-NOAUTH")):
                    return
            time.sleep(0.02)
        raise RuntimeError(f"redis-server on port {self.port} did not answer PING: {self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"

    def command(self, *args: str) -> bytes:
        return _command(self.port, *args)

    def info(self, section: str) -> dict[str, str]:
        text = self.command("INFO", section).decode(errors="replace")
        pairs = (line.partition(":") for line in text.splitlines() if ":" in line)
        return {name: value for name, _, value in pairs}

    def stop(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL the process (resuming it first if stopped) and reap it."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
                os.kill(self.process.pid, signal.SIGCONT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None


class RedisCluster:
    """A Redis Cluster of ``masters`` masters with one replica each, made by ``redis-cli --cluster``."""

    def __init__(self, directory: Path, *, masters: int = 3, node_timeout_ms: int = 1000) -> None:
        self.servers: list[RedisServer] = []
        try:
            for _ in range(masters * 2):
                self.servers.append(RedisServer(directory, cluster=True, node_timeout_ms=node_timeout_ms))
            redis_cli(
                "--cluster", "create", *(f"{HOST}:{s.port}" for s in self.servers),
                "--cluster-replicas", "1", "--cluster-yes",
            )  # fmt: skip
            self.wait_healthy()
        except BaseException:
            self.kill()
            raise

    @property
    def url(self) -> str:
        """The ``redis+cluster://`` URL naming every node as a startup node."""
        return "redis+cluster://" + ",".join(f"{HOST}:{s.port}" for s in self.servers)

    @property
    def node_urls(self) -> list[str]:
        return [s.url for s in self.servers]

    def alive_servers(self) -> list[RedisServer]:
        return [s for s in self.servers if s.alive]

    def masters(self) -> list[RedisServer]:
        return [s for s in self.alive_servers() if s.info("replication").get("role") == "master"]

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Wait until every live node sees a healthy cluster and every replica is in sync."""
        deadline = time.monotonic() + timeout
        problem = "not checked"
        while time.monotonic() < deadline:
            problem = self._health_problem()
            if not problem:
                return
            time.sleep(0.05)
        raise RuntimeError(f"Redis Cluster not healthy after {timeout}s: {problem}")

    def _health_problem(self) -> str:
        try:
            for server in self.alive_servers():
                info = server.command("CLUSTER", "INFO").decode()
                if "cluster_state:ok" not in info:
                    return f"node {server.port}: {info.splitlines()[0]}"
                replication = server.info("replication")
                if replication.get("role") == "slave" and replication.get("master_link_status") != "up":
                    return f"replica {server.port} not in sync"
                if replication.get("role") == "master" and replication.get("connected_slaves") == "0":
                    return f"master {server.port} has no replica yet"
        except OSError as exc:
            return f"{exc}"
        return ""

    def flushall(self) -> None:
        for server in self.masters():
            server.command("FLUSHALL")

    def kill(self) -> None:
        for server in self.servers:
            server.kill()


@contextlib.contextmanager
def temporary_directory() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="nstore-redis-") as name:
        yield Path(name)


def raw_cluster(cluster: RedisCluster) -> redis.cluster.RedisCluster:
    """A plain redis-py cluster client (redis-py's defaults), for ground truth in tests."""
    import redis.cluster

    node: Any = redis.cluster.ClusterNode  # Any: ClusterNode.__init__ is unannotated in redis-py
    return redis.cluster.RedisCluster(startup_nodes=[node(HOST, server.port) for server in cluster.servers])
