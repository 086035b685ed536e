"""``nstore namespaces``, ``inspect`` and ``migrate``: namespaces and their manifests."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any

from nstore._cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    add_command,
    open_store,
    print_json,
)
from nstore._cli.progress import Progress, format_duration
from nstore.errors import ManifestMismatch, MigrationError

if TYPE_CHECKING:
    from nstore._manifest import Manifest
    from nstore.namespaces import Namespaces

__all__ = [
    "HINT",
    "add_commands",
    "chain_text",
    "manifest_data",
    "manifest_of",
    "open_namespaces",
    "read_spec",
    "to_json",
]


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the namespace commands on the ``nstore`` subparsers ``sub``."""
    p = add_command(
        sub, common, "namespaces", "list the namespaces of a store",
        "List the namespaces recorded in the store at URL: name, value type, codec chain and\n"
        "schema fingerprint of each.",
        "nstore namespaces app.db\nnstore namespaces app.db --json",
    )  # fmt: skip
    p.add_argument("url", metavar="URL", help="the store holding the namespaces")
    p.add_argument("--json", action="store_true", help="print the manifests as JSON")
    p.set_defaults(func=_namespaces)

    p = add_command(
        sub, common, "inspect", "show a namespace's manifest, or decode one of its values",
        "Without KEY, show the manifest of NAMESPACE: codec chain, value type, schema and its\n"
        "fingerprint, generation, and the number of keys. With KEY, decode that value through\n"
        "the recorded chain and print it as JSON (the value type must be importable here: put its\n"
        "module's directory on PYTHONPATH). With --check SPEC, say whether the chain SPEC may open\n"
        "the namespace under its compatibility mode (exit 0), or show why not (exit 4), as a diff\n"
        "or, with --json, as JSON. Signed pickles take their key from NSTORE_PICKLE_KEY.",
        "nstore inspect app.db users\nnstore inspect app.db users ada\n"
        "nstore inspect app.db users --check @chain.json",
    )  # fmt: skip
    p.add_argument("url", metavar="URL", help="the store holding the namespaces")
    p.add_argument("namespace", metavar="NAMESPACE", help="the namespace's name")
    p.add_argument("key", metavar="KEY", nargs="?", default=None, help="a key of the namespace to decode")
    p.add_argument("--json", action="store_true", help="print the manifest as JSON (a value is JSON anyway)")
    p.add_argument("--check", metavar="SPEC", help="check whether the chain SPEC (JSON or @FILE) may open it")
    p.add_argument("--trusted", action="store_true", help="allow unsigned pickle on a remote store")
    p.set_defaults(func=_inspect)

    p = add_command(
        sub, common, "migrate", "re-encode a namespace with another codec chain",
        "Re-encode every value of NAMESPACE from its recorded chain to the chain SPEC, a JSON codec\n"
        "spec (a stage, or a list of stages; @FILE reads it from a file). Crash-safe: an interrupted\n"
        "migration resumes when run again with the same SPEC, or is undone with --rollback.\n"
        "Stop the namespace's writers while it migrates.",
        "nstore migrate app.db users --to "
        "'[{\"name\": \"msgspec\", \"type\": \"app.models:User\"}, {\"name\": \"zstd\", \"level\": 3}]'\n"
        "nstore migrate app.db users --to @chain.json\n"
        "nstore migrate app.db users --rollback",
    )  # fmt: skip
    p.add_argument("url", metavar="URL", help="the store holding the namespaces")
    p.add_argument("namespace", metavar="NAMESPACE", help="the namespace's name")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", metavar="SPEC", help="the new chain's spec, as JSON or @FILE")
    target.add_argument("--rollback", action="store_true", help="undo an interrupted migration")
    p.add_argument("--batch-size", type=int, default=500, metavar="N", help="values per batch (500)")
    p.add_argument("--trusted", action="store_true", help="allow unsigned pickle on a remote store")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=_migrate)


def chain_text(chain: list[dict[str, Any]]) -> str:
    """A recorded chain in one line: ``msgspec(type=app:User, format=msgpack) | zstd(level=3)``."""
    stages = []
    for stage in chain:
        params = ", ".join(f"{k}={v}" for k, v in stage.items() if k != "name")
        stages.append(f"{stage.get('name')}({params})" if params else str(stage.get("name")))
    return " | ".join(stages) or "identity"


def to_json(value: object) -> Any:
    """A decoded value as JSON data: structs, dataclasses, models, dates, bytes (as base64)."""
    import msgspec

    def fallback(obj: Any) -> Any:
        dump = getattr(obj, "model_dump", None)  # pydantic models
        if callable(dump):
            return dump(mode="json")
        if isinstance(obj, set | frozenset):
            return sorted(obj, key=repr)
        return repr(obj)

    return msgspec.to_builtins(value, enc_hook=fallback, str_keys=True)


def manifest_data(manifest: Manifest) -> Any:
    import msgspec

    return msgspec.to_builtins(manifest)


def open_namespaces(url: str, *, read_only: bool = False) -> tuple[Any, Namespaces]:
    from nstore.namespaces import Namespaces

    store = open_store(url, read_only=read_only)
    return store, Namespaces(store)


def manifest_of(db: Namespaces, name: str) -> Manifest:
    from nstore._manifest import check_name

    check_name(name)
    manifests = db.namespaces()
    if name not in manifests:
        known = ", ".join(manifests) or "none"
        raise CommandError(EXIT_NOT_FOUND, f"not found: namespace {name!r} (namespaces: {known})")
    return manifests[name]


def _namespaces(args: argparse.Namespace) -> int:
    store, db = open_namespaces(args.url, read_only=True)
    with store:
        manifests = db.namespaces()
    if args.json:
        print_json([manifest_data(m) for m in manifests.values()])
        return EXIT_OK
    rows = [("NAME", "TYPE", "FINGERPRINT", "CHAIN")]
    for m in manifests.values():
        state = " (migrating)" if m.migration else ""
        rows.append((m.name + state, m.value_type or "-", m.fingerprint or "-", chain_text(m.chain)))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows if manifests else []:
        cells = [c.ljust(w) for c, w in zip(row, widths, strict=False)]
        sys.stdout.write("  ".join([*cells, row[3]]) + "\n")
    return EXIT_OK


HINT = "(With the nstore command: 'nstore migrate URL NAMESPACE --to SPEC' resumes, '--rollback' undoes.)"


def _inspect(args: argparse.Namespace) -> int:
    from nstore._cli.ns_inspect import inspect

    return inspect(args)


def read_spec(text: str, option: str = "--to") -> Any:
    if text.startswith("@"):
        try:
            with open(text[1:]) as f:
                text = f.read()
        except OSError as exc:
            raise CommandError(EXIT_USAGE, f"cannot read {text[1:]}: {exc.strerror}") from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CommandError(EXIT_USAGE, f"expected a JSON codec spec for {option}: {exc}") from exc


def _migrate(args: argparse.Namespace) -> int:
    from nstore.codecs import from_spec

    chain = from_spec(read_spec(args.to)) if args.to is not None else None
    if args.batch_size < 1:
        raise CommandError(EXIT_USAGE, f"expected a positive --batch-size, got {args.batch_size}")
    store, db = open_namespaces(args.url)
    with store:
        before = manifest_of(db, args.namespace)
        if chain is None:
            db.rollback(args.namespace)
            if not args.quiet:
                sys.stderr.write(f"rolled back the migration of namespace {args.namespace!r}\n")
            return EXIT_OK
        progress = Progress(None, "migrate", enabled=False if args.quiet else None, unit="values")

        def report(done: int, total: int) -> None:
            progress.total = total
            progress.advance(done - progress.count)

        started = time.monotonic()
        try:
            db.migrate(
                args.namespace, chain, progress=report, batch_size=args.batch_size, trusted=args.trusted
            )
        except ManifestMismatch as exc:
            from nstore._cli.ns_inspect import report_mismatch

            progress.close()
            return report_mismatch(args, exc)
        except MigrationError as exc:
            progress.close()
            raise CommandError(EXIT_FAILED, f"{exc} {HINT}") from exc
        except KeyboardInterrupt:
            progress.close()
            sys.stderr.write(
                f"nstore migrate: interrupted after {progress.count:,} values; run the same command "
                "again to resume, or add --rollback instead of --to to undo it\n"
            )
            return EXIT_INTERRUPTED
        progress.close()
        after = db.manifest(args.namespace)
    summary = {
        "namespace": args.namespace,
        "values": progress.total or 0,
        "from": before.chain,
        "to": after.chain,
        "generation": after.generation,
        "seconds": round(time.monotonic() - started, 3),
    }
    if args.json:
        print_json(summary)
    elif not args.quiet:
        sys.stderr.write(
            f"migrated {summary['values']:,} values of namespace {args.namespace!r} from "
            f"{chain_text(before.chain)} to {chain_text(after.chain)} in "
            f"{format_duration(time.monotonic() - started)}\n"
        )
    return EXIT_OK
