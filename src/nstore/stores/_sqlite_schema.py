"""The layout of a SQLiteStore table: checking it, creating it, upgrading it in place, and the
bookkeeping of a size-bounded table.

A table has the columns ``key TEXT PRIMARY KEY, value BLOB, version INTEGER, expires REAL,
rank REAL``. ``expires`` is the wall-clock deadline of a key (``time.time()`` seconds, NULL for
never), with a partial index ``(expires, key)`` over the keys that have one; ``rank`` orders the
eviction of a bounded table (NULL elsewhere). Tables written before expiry existed have only the
first three columns: opening one read-write adds the other two and the index in one transaction
(``ALTER TABLE ADD COLUMN`` rewrites no row, so every value stays as it was); a read-only store
reads it as it is.

A bounded table (``max_bytes=``) also has a row in ``nstore_caches`` (its policy and what its
triggers keep of its bytes, see :func:`prepare_cache`) and (lfu) an index on ``rank``; fifo and
lru tables evict in rowid order, which needs no index of its own.
"""

from __future__ import annotations

import sqlite3
from typing import Final

from nstore.errors import ConfigurationError, CorruptStore, StoreError
from nstore.stores import _sqlite_names as _names
from nstore.stores._sqlite_names import CACHES

#: ``PRAGMA table_info`` of a table before expiry: (name, type, notnull, pk).
LEGACY_COLUMNS: Final = [("key", "TEXT", 1, 1), ("value", "BLOB", 1, 0), ("version", "INTEGER", 1, 0)]
#: ... and since.
COLUMNS: Final = [*LEGACY_COLUMNS, ("expires", "REAL", 0, 0), ("rank", "REAL", 0, 0)]

#: The version of a newly created key: random in [1, 2**62], so deleting and re-creating a key
#: does not bring back an old version (no ABA for compare_and_set_version).
NEW_VERSION: Final = "((random() & 4611686018427387903) + 1)"

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
    if found is None:
        _names.check_new(conn, table, expires_index(table))
    else:
        _names.check_index(conn, table, expires_index(table))
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
    A name spelled otherwise than the table is refused (see :func:`_names.check_spelling`).
    """
    _names.check_spelling(conn, table)
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


#: The policies that evict in rowid order and keep their table's bytes as a running total.
ORDERED: Final = ("fifo", "lru")
#: The rank of the newest row of a table (by rowid): in an ordered table, the running total.
NEWEST: Final = '(SELECT rank FROM "{t}" ORDER BY rowid DESC LIMIT 1)'


def tag(policy: str) -> str:
    """What ``nstore_caches.policy`` holds for ``policy``: an ordered policy's name with the
    layout (``/2``), which older versions of nstore refuse instead of misreading ``bytes``."""
    return f"{policy}/2" if policy in ORDERED else policy


def total_sql(table: str, policy: str) -> str:
    """The query of the bytes a bounded table holds, by the layout of ``policy``."""
    where = f"FROM \"{CACHES}\" WHERE name = '{table}'"
    if policy in ORDERED:
        return f"SELECT coalesce({NEWEST.format(t=table)}, 0) - bytes {where}"
    return f"SELECT bytes {where}"


def prepare_cache(conn: sqlite3.Connection, table: str, policy: str) -> None:
    """Make ``table`` a bounded table with eviction ``policy``, in one transaction: its row in
    ``nstore_caches``, the triggers that keep its bytes and (lfu) the index on ``rank``. Raise
    :class:`ConfigurationError` if it is bounded under another policy.

    Two layouts keep the bytes exact whoever writes (a store without ``max_bytes`` too):

    - lfu: ``bytes`` is the table's bytes, and triggers on insert, update and delete change it
      (one more page per write); ``rank`` counts reads and writes, with an index.
    - fifo and lru (*ordered*): rows are evicted in rowid order, and a write (lru: also a read,
      when recorded) gives its row the next rowid. ``rank`` is a running total: a new row's rank
      is the newest row's plus its own bytes, a renewed row takes the newest row's rank; ``bytes``
      holds the bytes removed since, changed by deletes and by writes that change a value's size.
      So the table holds ``newest rank - bytes``, and a new key, the common write of a cache,
      changes no other row than its own. Rows inserted without a rank (by a store without a
      bound) get theirs from a trigger, and an update that sets no rank keeps the old one.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{CACHES}" '
            "(name TEXT PRIMARY KEY NOT NULL, policy TEXT NOT NULL, bytes INTEGER NOT NULL) WITHOUT ROWID"
        )
        _names.check_caches(conn)
        row = conn.execute(f'SELECT policy FROM "{CACHES}" WHERE name = ?', (table,)).fetchone()
        found = None if row is None else str(row[0])
        held = None if found is None else found.split("/")[0]  # the policy, without its layout
        if held is not None and held != policy:
            raise ConfigurationError(
                f"The table {table!r} is a cache with eviction={held!r}; open it with "
                "that policy (the ranks it keeps mean another order), or choose another table= name."
            )
        if found is None:
            conn.execute(
                f'INSERT INTO "{CACHES}" (name, policy, bytes) VALUES (?, ?, 0)', (table, tag(policy))
            )
        if policy in ORDERED:
            if found != tag(policy):  # unbounded until now, or in the layout of an older version
                _order_by_rowid(conn, table)
                for name in ("insert", "delete", "update"):
                    conn.execute(f'DROP TRIGGER IF EXISTS "{table}__bytes_{name}"')
                running_total(conn, table, policy)
            _total_triggers(conn, table)
        else:
            if found is None:
                total = conn.execute(f'SELECT coalesce(sum({ROW_BYTES.format(r=table)}), 0) FROM "{table}"')
                conn.execute(f'UPDATE "{CACHES}" SET bytes = ? WHERE name = ?', (total.fetchone()[0], table))
            _count_triggers(conn, table)
            conn.execute(f'CREATE INDEX IF NOT EXISTS "{table}__rank" ON "{table}" (rank)')
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def running_total(conn: sqlite3.Connection, table: str, policy: str) -> None:
    """Give every row of an ordered table its running total as ``rank`` (from 0, in rowid
    order), with nothing removed: on becoming ordered, and when the total grows large enough
    to lose precision as a float (see ``Cache.make_room``). Inside the caller's transaction."""
    size = ROW_BYTES.format(r=f'"{table}"')
    conn.execute(
        f'UPDATE "{table}" SET rank = o.run FROM (SELECT rowid AS r, sum({size}) OVER (ORDER BY rowid) '
        f'AS run FROM "{table}") AS o WHERE "{table}".rowid = o.r'
    )
    conn.execute(f'UPDATE "{CACHES}" SET bytes = 0, policy = ? WHERE name = ?', (tag(policy), table))


def _count_triggers(conn: sqlite3.Connection, table: str) -> None:
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


def _total_triggers(conn: sqlite3.Connection, table: str) -> None:
    t = table
    removed = f"UPDATE \"{CACHES}\" SET bytes = bytes + {{}} WHERE name = '{t}';"
    new, old = ROW_BYTES.format(r="NEW"), ROW_BYTES.format(r="OLD")
    newest = NEWEST.format(t=t)
    before = f'(SELECT rank FROM "{t}" WHERE rowid < NEW.rowid ORDER BY rowid DESC LIMIT 1)'
    # Deleting the newest row also takes its share of the running total away from the rank
    # that is now the newest.
    last = f'OLD.rowid > coalesce((SELECT max(rowid) FROM "{t}"), 0)'
    share = f"CASE WHEN {last} THEN coalesce(OLD.rank, 0) - coalesce({newest}, 0) ELSE 0 END"
    for name, event, body in (
        (
            "insert",
            "INSERT",
            f'WHEN NEW.rank IS NULL BEGIN UPDATE "{t}" SET rank = coalesce({before}, 0) + {new} '
            "WHERE rowid = NEW.rowid; END",
        ),
        (
            "keep",
            "UPDATE OF rank",
            f'WHEN NEW.rank IS NULL AND OLD.rank IS NOT NULL BEGIN UPDATE "{t}" SET rank = OLD.rank '
            "WHERE rowid = NEW.rowid; END",
        ),
        ("update", "UPDATE OF key, value", f"BEGIN {removed.format(f'{old} - {new}')} END"),
        ("delete", "DELETE", f"BEGIN {removed.format(f'{old} - {share}')} END"),
    ):
        conn.execute(f'CREATE TRIGGER IF NOT EXISTS "{t}__total_{name}" AFTER {event} ON "{t}" {body}')


def _order_by_rowid(conn: sqlite3.Connection, table: str) -> None:
    """An ordered table evicts in rowid order, with no index of its own. One that held its
    order in ``rank`` (lru before it was ordered by rowid, fifo before that) has the index
    ``<table>__rank``: its rows get new rowids in rank order (rows without a rank first, as they
    were), above every rowid it has, and the index is dropped. Keys, values and versions stay
    as they were."""
    if not _has_index(conn, f"{table}__rank"):
        return
    top = conn.execute(f'SELECT coalesce(max(rowid), 0) FROM "{table}"').fetchone()[0]
    conn.execute(
        f'UPDATE "{table}" SET rowid = ? + o.n FROM (SELECT rowid AS r, '
        f'row_number() OVER (ORDER BY rank, rowid) AS n FROM "{table}") AS o WHERE "{table}".rowid = o.r',
        (top,),
    )
    conn.execute(f'DROP INDEX "{table}__rank"')
