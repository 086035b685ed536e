"""The layout of a SQLiteStore table: checking it, creating it, upgrading it in place, and the
bookkeeping of a size-bounded table.

A table has the columns ``key TEXT PRIMARY KEY, value BLOB, version INTEGER, expires REAL,
rank REAL``. ``expires`` is the wall-clock deadline of a key (``time.time()`` seconds, NULL for
never), with a partial index ``(expires, key)`` over the keys that have one; ``rank`` orders the
eviction of a bounded table (NULL elsewhere). Tables written before expiry existed have only the
first three columns: opening one read-write adds the other two and the index in one transaction
(``ALTER TABLE ADD COLUMN`` rewrites no row, so every value stays as it was); a read-only store
reads it as it is.

A bounded table (``max_bytes=``) also has a row in ``nstore_caches`` (its policy and the bytes of
its keys and values), kept exact by three triggers on the table, and an index on ``rank``.
"""

from __future__ import annotations

import sqlite3
from typing import Final

from nstore.errors import ConfigurationError, CorruptStore, StoreError

#: ``PRAGMA table_info`` of a table before expiry: (name, type, notnull, pk).
LEGACY_COLUMNS: Final = [("key", "TEXT", 1, 1), ("value", "BLOB", 1, 0), ("version", "INTEGER", 1, 0)]
#: ... and since.
COLUMNS: Final = [*LEGACY_COLUMNS, ("expires", "REAL", 0, 0), ("rank", "REAL", 0, 0)]

#: The version of a newly created key: random in [1, 2**62], so deleting and re-creating a key
#: does not bring back an old version (no ABA for compare_and_set_version).
NEW_VERSION: Final = "((random() & 4611686018427387903) + 1)"

#: The table holding one row per bounded table: its eviction policy and its bytes.
CACHES: Final = "nstore_caches"

#: The bytes a row counts for in a bounded table: its key as UTF-8 and its value.
ROW_BYTES: Final = "(length(CAST({r}.key AS BLOB)) + length({r}.value))"


def expires_index(table: str) -> str:
    return f"{table}__expires"


def initialize(conn: sqlite3.Connection, table: str, read_only: bool = False) -> bool:
    """Check that the file is a database whose ``table`` is nstore's or absent, then switch it
    to WAL and create or upgrade the table if needed. Return whether the table has the expiry
    columns (always, unless ``read_only`` found an old table).

    The check comes first and only reads, so a file refused with :class:`CorruptStore` is left
    exactly as it was (no WAL switch, no -wal or -shm file). ``read_only`` only checks.
    """
    found = check_schema(conn, table)
    if read_only:
        if found is None:
            raise ConfigurationError(
                f"This database has no table {table!r}, and a read_only SQLiteStore creates nothing. "
                "Open it without read_only to create the table, or choose another table= name."
            )
        return found
    if found and _has_index(conn, expires_index(table)):
        _wal(conn)
        return True
    _wal(conn)
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{table}" (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL, '
            "version INTEGER NOT NULL DEFAULT 1, expires REAL, rank REAL)"
        )
        found = check_schema(conn, table)  # again, under the write lock: another process may have
        if found is None:  # upgraded it meanwhile, or the name is a view or an index
            raise CorruptStore(
                f"The name {table!r} in this database is not a table; choose another table= name."
            )
        if not found:
            conn.execute(f'ALTER TABLE "{table}" ADD COLUMN expires REAL')
            conn.execute(f'ALTER TABLE "{table}" ADD COLUMN rank REAL')
        conn.execute(
            f'CREATE INDEX IF NOT EXISTS "{expires_index(table)}" ON "{table}" (expires, key) '
            "WHERE expires IS NOT NULL"
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return True


def _wal(conn: sqlite3.Connection) -> None:
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StoreError(f"SQLite refused WAL mode for this database (it reports {mode!r}).")


def _has_index(conn: sqlite3.Connection, name: str) -> bool:
    sql = "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?"
    return conn.execute(sql, (name,)).fetchone() is not None


def check_schema(conn: sqlite3.Connection, table: str) -> bool | None:
    """Return None if ``table`` does not exist, False if it has the layout from before expiry,
    True if it has today's; raise :class:`CorruptStore` if it is not nstore's.

    Reading the schema is also the first read of the file, so a file that is not a database is
    refused here, before anything is written.
    """
    columns = [
        (name, str(kind).upper(), notnull, pk)
        for _, name, kind, notnull, _, pk in conn.execute(f'PRAGMA table_info("{table}")')
    ]
    if not columns:
        return None
    if columns not in (COLUMNS, LEGACY_COLUMNS):
        found = ", ".join(f"{name} {kind}" for name, kind, _, _ in columns)
        raise CorruptStore(
            f"The table {table!r} in this database is not an nstore table (expected columns key TEXT "
            f"PRIMARY KEY, value BLOB, version INTEGER, expires REAL, rank REAL; found {found}). "
            "Choose another table= name or another file."
        )
    return columns == COLUMNS


def prepare_cache(conn: sqlite3.Connection, table: str, policy: str) -> None:
    """Make ``table`` a bounded table with eviction ``policy``, in one transaction: its row in
    ``nstore_caches`` (with the bytes it holds now), the triggers that keep that count and the
    index on ``rank``. Raise :class:`ConfigurationError` if it is bounded under another policy."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{CACHES}" '
            "(name TEXT PRIMARY KEY NOT NULL, policy TEXT NOT NULL, bytes INTEGER NOT NULL) WITHOUT ROWID"
        )
        row = conn.execute(f'SELECT policy FROM "{CACHES}" WHERE name = ?', (table,)).fetchone()
        if row is not None and row[0] != policy:
            raise ConfigurationError(
                f"The table {table!r} is a cache with eviction={row[0]!r}; open it with that policy "
                "(the ranks it keeps mean another order), or choose another table= name."
            )
        if row is None:
            total = conn.execute(f'SELECT coalesce(sum({ROW_BYTES.format(r=table)}), 0) FROM "{table}"')
            conn.execute(
                f'INSERT INTO "{CACHES}" (name, policy, bytes) VALUES (?, ?, ?)',
                (table, policy, total.fetchone()[0]),
            )
        count = f"UPDATE \"{CACHES}\" SET bytes = bytes {{}} WHERE name = '{table}';"
        new, old = ROW_BYTES.format(r="NEW"), ROW_BYTES.format(r="OLD")
        for name, event, change in (
            ("insert", "INSERT", f"+ {new}"),
            ("delete", "DELETE", f"- {old}"),
            ("update", "UPDATE OF key, value", f"+ {new} - {old}"),
        ):
            conn.execute(
                f'CREATE TRIGGER IF NOT EXISTS "{table}__bytes_{name}" AFTER {event} ON "{table}" '
                f"BEGIN {count.format(change)} END"
            )
        conn.execute(f'CREATE INDEX IF NOT EXISTS "{table}__rank" ON "{table}" (rank)')
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
