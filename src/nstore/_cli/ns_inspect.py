"""``nstore inspect``: a namespace's manifest, one of its values, or whether a chain may open it;
and how a command shows a :class:`~nstore.errors.ManifestMismatch` (a diff, or JSON)."""

from __future__ import annotations

import argparse
import json
import sys

from nstore._cli.common import EXIT_FAILED, EXIT_OK, CommandError, print_json
from nstore._cli.ns import HINT, chain_text, manifest_data, manifest_of, open_namespaces, read_spec, to_json
from nstore._manifest import Manifest
from nstore._target import local_advice
from nstore.errors import ManifestMismatch, MigrationError, SpecError

__all__ = ["inspect", "report_mismatch"]

_IMPORT_HINT = (
    "The nstore command imports the recorded types: put the directory of the module that defines "
    "them on PYTHONPATH, or install it."
)


def inspect(args: argparse.Namespace) -> int:
    store, db = open_namespaces(args.url, read_only=True)
    with store:
        manifest = manifest_of(db, args.namespace)
        if args.check is not None:
            return _check(args, manifest, read_spec(args.check, "--check"))
        if args.key is not None:
            try:
                view = db.open(args.namespace, trusted=args.trusted)
            except SpecError as exc:
                hint = "" if manifest.local_types else f" {_IMPORT_HINT}"
                raise CommandError(
                    EXIT_FAILED, f"cannot decode namespace {args.namespace!r}: {exc}{hint}"
                ) from exc
            except ManifestMismatch as exc:
                return report_mismatch(args, exc)
            except MigrationError as exc:
                raise CommandError(EXIT_FAILED, f"{exc} {HINT}") from exc
            value = view[args.key]
            sys.stdout.write(json.dumps(to_json(value), indent=2, ensure_ascii=False) + "\n")
            return EXIT_OK
        count = sum(1 for _ in store.iter_keys(manifest.prefix))
    if args.json:
        print_json({**manifest_data(manifest), "keys": count})
    else:
        sys.stdout.write("\n".join(_lines(manifest, count)) + "\n")
    return EXIT_OK


def _lines(manifest: Manifest, count: int) -> list[str]:
    lines = [
        f"namespace    {manifest.name}",
        f"keys         {count}",
        f"value type   {manifest.value_type or '-'}",
        f"chain        {chain_text(manifest.chain)}",
        f"fingerprint  {manifest.fingerprint or '-'}",
        f"compatible   {manifest.compatibility}, with {len(manifest.schemas)} schema(s) recorded "
        "since the last migration",
        f"generation   {manifest.generation} (keys under {manifest.prefix!r})",
        f"created      {manifest.created}",
        f"updated      {manifest.updated}",
    ]
    if manifest.local_types:
        lines.append("portable     no: " + local_advice(manifest.local_types))
    if manifest.migration:
        migration = manifest.migration
        lines.append(f"migrating    to {chain_text(migration.chain)} since {migration.started}")
    if manifest.schema is not None:
        schema = json.dumps(manifest.schema, indent=2, sort_keys=True)
        lines.append("schema       " + schema.replace("\n", "\n" + " " * 13))
    return lines


def _check(args: argparse.Namespace, manifest: Manifest, spec: object) -> int:
    from nstore._checks import admit
    from nstore._target import Target
    from nstore.codecs import from_spec

    try:
        updated = admit(manifest, Target.of(from_spec(spec)))
    except ManifestMismatch as exc:
        return report_mismatch(args, exc)
    records = updated is not None
    if args.json:
        print_json({"namespace": manifest.name, "compatible": True, "records_new_schema": records})
    else:
        what = "records its schema as new" if records else "its schema is recorded already"
        sys.stdout.write(
            f"compatible: the chain may open namespace {manifest.name!r} under "
            f"{manifest.compatibility!r} ({what})\n"
        )
    return EXIT_OK


def report_mismatch(args: argparse.Namespace, exc: ManifestMismatch) -> int:
    """Show ``exc`` as a readable multi-line report on stderr, or as JSON on stdout with --json."""
    if getattr(args, "json", False):
        print_json(
            {
                "error": "ManifestMismatch",
                "namespace": exc.namespace,
                "problems": exc.problems,
                "recorded": exc.recorded,
                "requested": exc.requested,
                "message": str(exc),
            }
        )
    else:
        first, *rest = str(exc).splitlines()
        sys.stderr.write(f"nstore {args.command}: {first}\n" + "".join(f"  {line}\n" for line in rest))
    return EXIT_FAILED
