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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Any

from nstore._checks import check_reads
from nstore._manifest import Manifest, Migration, now, prefix_of
from nstore._target import Target
from nstore.codecs import Codec, Prefix
from nstore.errors import ConfigurationError, MigrationError, MigrationFailed
from nstore.store import Store

__all__ = ["Plan", "clear_prefix", "run_migration", "undo_migration"]

Write = Callable[[Manifest], object]
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


def run_migration(
    store: Store[str, bytes],
    manifest: Manifest,
    plan: Plan,
    write: Write,
    rebuild: Callable[[Manifest], Codec[Any, bytes]],
    progress: Callable[[int, int], object] | None,
    batch_size: int,
) -> Manifest:
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
    if state is None:
        generation = max(g.generation for g in manifest.generations) + 1
        clear_prefix(store, prefix_of(name, generation))  # above every recorded generation
        state = Migration(
            **plan.target.fields(),
            generation=generation,
            started=now(),
            transform=plan.transform_name,
        )
        manifest = manifest.changed(migration=state)
        write(manifest)
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
    failures, count = _copy(store, manifest, state.generation, source, plan, progress, batch_size)
    if count:
        undo_migration(store, manifest, write)
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
    write(switched)
    return switched


def _copy(
    store: Store[str, bytes],
    manifest: Manifest,
    generation: int,
    source: Codec[Any, bytes],
    plan: Plan,
    progress: Callable[[int, int], object] | None,
    batch_size: int,
) -> tuple[dict[str, str], int]:
    """Write every value, re-encoded, to ``generation``; stop writing at the first failure.

    Returns the failures (key to reason, up to a limit) and their count.
    """
    old = store.with_keys(Prefix(manifest.prefix))
    new = store.with_keys(Prefix(prefix_of(manifest.name, generation)))
    done = set(new.iter_keys())
    keys = list(old.iter_keys())
    todo = [k for k in keys if k not in done]
    finished = len(keys) - len(todo)
    if progress is not None:
        progress(finished, len(keys))
    decode, transform = source.decode, plan.transform
    encode, validate = plan.chain.encode, plan.chain.decode
    failures: dict[str, str] = {}
    count = 0
    iterator = iter(todo)
    while batch := list(islice(iterator, batch_size)):
        pairs = []
        for key, raw in old.get_many(batch).items():
            try:
                value = decode(raw)
                data = encode(value if transform is None else transform(value))
                validate(data)
            except Exception as exc:  # the transform is the caller's code: any failure is reported
                count += 1
                if len(failures) < _KEPT:
                    failures[key] = f"{type(exc).__name__}: {exc}"
                continue
            pairs.append((key, data))
        if not count:
            new.set_many(pairs)
        finished += len(batch)
        if progress is not None:
            progress(finished, len(keys))
    return failures, count


def undo_migration(store: Store[str, bytes], manifest: Manifest, write: Write) -> Manifest:
    """Drop the new generation of the migration in progress, and record that there is none."""
    if manifest.migration is not None:
        clear_prefix(store, prefix_of(manifest.name, manifest.migration.generation))
    undone = manifest.changed(migration=None)
    write(undone)
    return undone


def clear_prefix(store: Store[str, bytes], prefix: str) -> None:
    """Delete every key under ``prefix``, a thousand at a time."""
    while keys := list(islice(store.iter_keys(prefix), 1000)):
        store.delete_many(keys)
