"""Migration of a namespace to a new codec chain, in generations (see Namespaces.migrate).

States, each recorded in the manifest before the step that depends on it:

1. ``migration`` set (target chain and generation ``g + 1``, above every recorded generation):
   values are read from ``name/g/``, decoded (with the recorded chain, or the caller's old
   chain), transformed, encoded with the new chain, decoded again to validate them, and written
   to ``name/g+1/``. The namespace cannot be opened; ``name/g/`` is untouched. A new migration
   first clears ``name/g+1/`` (left by an undone attempt); a resumed one skips the keys already
   there (a store's single-key writes are atomic, and a key is written only once validated).
   If any value fails, no more are written, the remaining ones are still checked, ``name/g+1/``
   is cleared and ``migration`` is cleared: the namespace is as before, and the error lists the
   failing keys.
2. switch: one manifest write sets the new chain and generation ``g + 1``, clears ``migration``,
   records ``g`` as retired and lists it in ``retired``.
3. the keys of ``name/g/`` are deleted, then ``retired`` is cleared. If interrupted, the next
   ``namespace()`` or ``migrate()`` finishes it; readers of ``g + 1`` never see them.

Written once, as steps (:mod:`nstore._steps`): the sync and the async namespaces run this code,
each making its store calls its own way. A batch is read with one ``get_many`` and written with
one ``set_many``; its values are decoded, transformed and encoded in one step, which the async
shell runs in a thread when the batch's bytes are large.

Each value keeps its expiry. On a store with ``supports_ttl``, the time to live left to each value
of a batch is read (one ``ttl`` call a key) right after the batch; the values that never expire
are written with the batch's ``set_many``, the others one by one with ``set(ttl=)``, their time
left less the time since the batch was read. A value that expired meanwhile is not written, as it would
not have been read a moment later.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from itertools import islice
from typing import Any

from nstore._checks import check_reads, rebuild
from nstore._manifest import Manifest, Migration, now, prefix_of
from nstore._steps import Steps, compute, delete_many, list_keys, put, put_many, read_many, read_ttls
from nstore._target import Target
from nstore.codecs import Codec
from nstore.errors import ConfigurationError, MigrationError, MigrationFailed

__all__ = ["Plan", "clear_prefix", "plan_of", "put_manifest", "run_migration", "undo_migration"]

Progress = Callable[[int, int], object]
_SHOWN = 10  # failing keys named in the message (all are kept on the error, up to _KEPT)
_KEPT = 1000


@dataclass(frozen=True)
class Plan:
    """What a migration writes: the new chain and its target, the transform and the old chain."""

    chain: Codec[Any, bytes]
    target: Target
    transform: Callable[[Any], Any] | None = None
    old_chain: Codec[Any, bytes] | None = None

    @property
    def transform_name(self) -> str | None:
        if self.transform is None:
            return None
        module = getattr(self.transform, "__module__", None)
        qualname = getattr(self.transform, "__qualname__", None) or type(self.transform).__qualname__
        return f"{module}:{qualname}" if module else qualname


def plan_of(
    chain: Codec[Any, bytes],
    transform: Callable[[Any], Any] | None,
    old_chain: Codec[Any, bytes] | None,
    batch_size: object,
) -> Plan:
    """The plan of ``migrate(name, chain, ...)``, its arguments checked (callers may be untyped)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigurationError(f"Expected a positive integer for batch_size. Got {batch_size!r}.")
    if transform is not None and not callable(transform):
        raise ConfigurationError(f"Expected a callable for transform. Got {type(transform).__name__}.")
    return Plan(chain, Target.of(chain), transform, old_chain)


def put_manifest(manifest: Manifest) -> Steps[None]:
    """Record ``manifest`` (migrations: their writers are stopped, nothing races them)."""
    yield from put(manifest.key, manifest.to_json())


def run_migration(
    manifest: Manifest, plan: Plan, progress: Progress | None, batch_size: int
) -> Steps[Manifest]:
    name, state = manifest.name, manifest.migration
    if state is None and manifest.target == plan.target:
        return manifest  # nothing to re-encode (or a finished migration called again)
    if plan.transform is not None and plan.old_chain is None:
        raise ConfigurationError(
            "Expected old_chain with transform: the chain the values were recorded with gives the "
            "transform its argument type."
        )
    source = rebuild(manifest) if plan.old_chain is None else plan.old_chain
    check_reads(manifest, Target.of(source))
    before = manifest if state is None else None  # what a failure of a new migration restores
    if state is None:
        generation = max(g.generation for g in manifest.generations) + 1
        yield from clear_prefix(prefix_of(name, generation))  # above every recorded generation
        state = Migration(
            **plan.target.fields(),
            generation=generation,
            started=now(),
            transform=plan.transform_name,
        )
        manifest = manifest.changed(migration=state)
        yield from put_manifest(manifest)
    elif state.target.chain != plan.target.chain or state.value_type != plan.target.value_type:
        raise MigrationError(
            f"Namespace {name!r} is being migrated to another chain ({state.chain}). Resume with that "
            f"chain, or call rollback({name!r}) first."
        )
    elif state.transform != plan.transform_name:
        raise MigrationError(
            f"Namespace {name!r} is being migrated with transform {state.transform!r}, and is resumed "
            f"with {plan.transform_name!r}. Resume with the same transform, or call rollback({name!r}) "
            "first."
        )
    failures, count = yield from _copy(manifest, state.generation, source, plan, progress, batch_size)
    if count:
        yield from undo_migration(manifest, before)
        shown = "\n  ".join(f"{key!r}: {why}" for key, why in islice(failures.items(), _SHOWN))
        more = f"\n  ... and {count - _SHOWN} more" if count > _SHOWN else ""
        raise MigrationFailed(
            f"Cannot migrate namespace {name!r}: {count} value(s) did not decode, transform or validate:"
            f"\n  {shown}{more}\nNothing was switched: the namespace keeps its recorded chain and "
            "every value. Fix the values or the transform, and migrate again.",
            failures=failures,
            count=count,
        )
    switched = manifest.switched(plan.target, state.generation)
    yield from put_manifest(switched)
    return switched


def _copy(
    manifest: Manifest,
    generation: int,
    source: Codec[Any, bytes],
    plan: Plan,
    progress: Progress | None,
    batch_size: int,
) -> Steps[tuple[dict[str, str], int]]:
    """Write every value, re-encoded, to ``generation``; stop writing at the first failure.

    Returns the failures (key to reason, up to a limit) and their count.
    """
    old, new = manifest.prefix, prefix_of(manifest.name, generation)
    done = {key[len(new) :] for key in (yield from list_keys(new))}
    keys = sorted(key[len(old) :] for key in (yield from list_keys(old)))  # any backend, one order
    todo = [k for k in keys if k not in done]
    finished = len(keys) - len(todo)
    if progress is not None:
        progress(finished, len(keys))
    failures: dict[str, str] = {}
    count = 0
    iterator = iter(todo)
    while batch := list(islice(iterator, batch_size)):
        found = yield from read_many([old + key for key in batch])
        read_at = time.monotonic()  # before the ttls are read: no deadline is put off
        ttls = yield from read_ttls(list(found))
        size = sum(len(raw) for raw in found.values())
        pairs, failed = yield from compute(partial(_convert, found, old, new, source, plan), size)
        count += len(failed)
        failures.update(islice(failed.items(), _KEPT - len(failures)))
        if not count:
            yield from _write(pairs, {new + key[len(old) :]: t for key, t in ttls.items()}, read_at)
        finished += len(batch)
        if progress is not None:
            progress(finished, len(keys))
    return failures, count


def _write(pairs: list[tuple[str, bytes]], ttls: dict[str, float | None], read_at: float) -> Steps[None]:
    """Write ``pairs``, each with the time to live left of the value it re-encodes.

    ``ttls`` are the seconds left (None: never expires), read after ``read_at``; a key not in it
    had expired. The values that never expire are written in one ``set_many``, the others one by
    one with their ttl less the time since ``read_at`` (so each expires when it would have, or a
    little sooner); one whose time ran out meanwhile is not written.
    """
    if lasting := [(key, data) for key, data in pairs if key in ttls and ttls[key] is None]:
        yield from put_many(lasting)
    for key, data in pairs:
        left = ttls.get(key)
        if left is None:
            continue  # written above, or expired
        left -= time.monotonic() - read_at
        if left > 0:
            yield from put(key, data, left)


def _convert(
    found: dict[str, bytes], old: str, new: str, source: Codec[Any, bytes], plan: Plan
) -> tuple[list[tuple[str, bytes]], dict[str, str]]:
    """The batch ``found`` under ``old``, re-encoded under ``new``, and the failing keys, with why."""
    decode, transform = source.decode, plan.transform
    encode, validate = plan.chain.encode, plan.chain.decode
    pairs: list[tuple[str, bytes]] = []
    failed: dict[str, str] = {}
    for below, raw in found.items():
        key = below[len(old) :]
        try:
            value = decode(raw)
            data = encode(value if transform is None else transform(value))
            validate(data)
        except Exception as exc:  # the transform is the caller's code: any failure is reported
            failed[key] = f"{type(exc).__name__}: {exc}"
            continue
        pairs.append((new + key, data))
    return pairs, failed


def undo_migration(manifest: Manifest, before: Manifest | None = None) -> Steps[Manifest]:
    """Drop the new generation of the migration in progress, and record that there is none.

    ``before``, the manifest as it was before the migration was recorded, is recorded again as it
    was (a migration that failed in the call that started it changes nothing).
    """
    if manifest.migration is not None:
        yield from clear_prefix(prefix_of(manifest.name, manifest.migration.generation))
    undone = manifest.changed(migration=None) if before is None else before
    yield from put_manifest(undone)
    return undone


def clear_prefix(prefix: str) -> Steps[None]:
    """Delete every key under ``prefix``, a thousand at a time."""
    while keys := (yield from list_keys(prefix, 1000)):
        yield from delete_many(keys)
