"""``nstore serve``: the HTTP server over any store, the embedded default when no URL is given."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any

from nstore._cli.common import (
    EXIT_INTERRUPTED,
    EXIT_UNAVAILABLE,
    CommandError,
    add_command,
    parse_url,
    print_json,
)

__all__ = ["DEFAULT_PORT", "add_commands"]

# nstore.server.DEFAULT_PORT, repeated so that `nstore --help` does not import the server (a test
# checks that they agree).
DEFAULT_PORT = 8470


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``nstore serve`` on the ``nstore`` subparsers ``sub``."""
    p = add_command(
        sub, common, "serve", "serve a store over HTTP",
        "Serve the store at URL (default: SQLite in ./nstore.db) over HTTP until Ctrl-C.\n"
        "Keys are at /v1/keys/KEY (GET, PUT, DELETE); the API is described at /v1/openapi.json.\n"
        "It binds 127.0.0.1 unless told otherwise; any other address needs a token.\n"
        "Tokens may also come from the environment: NSTORE_TOKEN (read-write).",
        "nstore serve\n"
        "nstore serve sqlite:///srv/app.db --host 0.0.0.0 --token \"$SECRET\"\n"
        "nstore serve memory:// --port 0 --json\n"
        "curl -X PUT --data-binary 'hello' http://127.0.0.1:8470/v1/keys/greeting",
    )  # fmt: skip
    p.add_argument("url", metavar="URL", nargs="?", default=None, help="the store (default: ./nstore.db)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}; 0: any free")
    p.add_argument("--token", action="append", default=[], metavar="TOKEN", help="a read-write bearer token")
    p.add_argument(
        "--read-only-token", action="append", default=[], metavar="TOKEN", help="a read-only bearer token"
    )
    p.add_argument("--read-only", action="store_true", help="refuse every write, whatever the token")
    p.add_argument(
        "--allow-host", action="append", default=None, metavar="NAME",
        help="a name accepted in the Host header ('*': any; default: loopback names, or any with a token)",
    )  # fmt: skip
    p.add_argument("--cors-origin", action="append", default=None, metavar="ORIGIN", help="send CORS headers")
    p.add_argument("--max-body", type=int, default=None, metavar="BYTES", help="largest body (64 MiB)")
    p.add_argument("--max-connections", type=int, default=None, metavar="N", help="at once (default: 1024)")
    p.add_argument(
        "--workers", type=int, default=None, metavar="N",
        help="threads running requests (default: 0 for memory://, served on the event loop; else 32)",
    )  # fmt: skip
    p.add_argument(
        "--server", default="builtin", metavar="NAME",
        help="builtin, the only server offered (granian was removed: see docs/http.md)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print {url, store} as JSON once listening")
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from nstore.server import check_server, serve_in_thread

    check_server(args.server)  # anything but builtin is refused, with the reason, before opening
    url = parse_url(args.url)
    tokens = list(args.token)
    if not tokens and os.environ.get("NSTORE_TOKEN"):
        tokens.append(os.environ["NSTORE_TOKEN"])
    options: dict[str, Any] = {"tokens": tokens or None, "read_only_tokens": args.read_only_token or None}
    for name in ("allow_host", "cors_origin", "max_body", "max_connections", "workers"):
        value = getattr(args, name)
        if value is not None:
            options[{"allow_host": "allowed_hosts", "cors_origin": "cors_origins"}.get(name, name)] = value
    # Stop on Ctrl-C or SIGTERM by setting an event: the main thread then shuts the server down
    # in order (stop accepting, finish requests in flight, close the store).
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with url.open() as opened:
        store = opened
        if args.read_only:
            from nstore.wrappers import ReadOnlyStore

            store = ReadOnlyStore(opened)
        try:
            handle = serve_in_thread(store, args.host, args.port, **options)
        except OSError as exc:
            raise CommandError(
                EXIT_UNAVAILABLE,
                f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc} (choose another --port)",
            ) from exc
        try:
            if args.json:
                print_json({"url": handle.url + "/", "store": str(url)})
            else:
                print(f"nstore: serving {url} on {handle.url}/ (Ctrl-C to stop)")
            sys.stdout.flush()
            stop.wait()
        finally:
            handle.shutdown()
    sys.stderr.write("nstore: stopped\n")
    return EXIT_INTERRUPTED  # stopped by Ctrl-C or SIGTERM, as every command (documented: 130)
