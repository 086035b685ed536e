"""Migration of a namespace to a new codec chain, in generations (see Namespaces.migrate).

States, each recorded in the manifest before the step that depends on it:

1. ``migration`` set (target chain and generation ``g + 1``): values are copied, re-encoded,
   from ``name/g/`` to ``name/g+1/``. The namespace cannot be opened; ``name/g/`` is untouched.
   A new migration first clears ``name/g+1/`` (left by an undone attempt); a resumed one skips
   the keys already there (a store's single-key writes are atomic, so a key there is complete).
2. switch: one manifest write sets the new chain and generation ``g + 1``, clears ``migration``,
   and lists ``g`` in ``retired``.
3. the keys of ``name/g/`` are deleted, then ``retired`` is cleared. If interrupted, the next
   ``namespace()`` or ``migrate()`` finishes it; readers of ``g + 1`` never see them.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from itertools import islice
from typing import Any

from nstore._manifest import Manifest, Target, prefix_of
from nstore.codecs import Codec, Prefix, from_spec
from nstore.errors import CodecError, MigrationError
from nstore.store import Store

__all__ = ["clear_prefix", "run_migration"]


def run_migration(
    store: Store[str, bytes],
    manifest: Manifest,
    chain: Codec[Any, bytes],
    target: Target,
    write: Callable[[Manifest], None],
    progress: Callable[[int, int], object] | None,
    batch_size: int,
) -> Manifest:
    name = manifest.name
    state = manifest.migration
    if state is None and manifest.target == target:
        return manifest  # nothing to re-encode (or a finished migration called again)
    if state is None:
        generation = max((manifest.generation, *manifest.retired)) + 1
        clear_prefix(store, prefix_of(name, generation))
        started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        state = {**target.__dict__, "generation": generation, "started": started}
        manifest = manifest.changed(migration=state)
        write(manifest)
    elif state["chain"] != target.chain or state["value_type"] != target.value_type:
        raise MigrationError(
            f"Namespace {name!r} is being migrated to another chain ({state['chain']}). Resume with that "
            f"chain, or call rollback({name!r}) first."
        )
    source: Codec[Any, bytes] = from_spec(manifest.chain)
    old = store.with_keys(Prefix(manifest.prefix))
    new = store.with_keys(Prefix(prefix_of(name, state["generation"])))
    done = set(new.iter_keys())
    keys = list(old.iter_keys())
    todo = [k for k in keys if k not in done]
    count = len(keys) - len(todo)
    if progress is not None:
        progress(count, len(keys))
    decode, encode = source.decode, chain.encode
    iterator = iter(todo)
    while batch := list(islice(iterator, batch_size)):
        pairs = []
        for key, raw in old.get_many(batch).items():
            try:
                pairs.append((key, encode(decode(raw))))
            except CodecError as exc:
                raise MigrationError(
                    f"Cannot re-encode key {key!r} of namespace {name!r}: {exc}. The migration is "
                    f"recorded as in progress: fix the data or chain and call migrate() again, or "
                    f"rollback({name!r})."
                ) from exc
        new.set_many(pairs)
        count += len(batch)
        if progress is not None:
            progress(count, len(keys))
    switched = manifest.with_target(
        target,
        generation=state["generation"],
        migration=None,
        retired=(*manifest.retired, manifest.generation),
    )
    write(switched)
    return switched


def clear_prefix(store: Store[str, bytes], prefix: str) -> None:
    """Delete every key under ``prefix``, a thousand at a time."""
    while keys := list(islice(store.iter_keys(prefix), 1000)):
        store.delete_many(keys)
