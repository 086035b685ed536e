"""The names a SQLiteStore takes in its database file: its table, the index of deadlines it
makes beside it (``<table>__expires``) and, for a bounded store, the table ``nstore_caches``.

SQLite compares names without case and keeps tables, indexes, triggers and views in one
namespace, so each check looks the name up without case and among every kind of object. A
name that another object holds is refused with :class:`ConfigurationError` before anything is
written; names of stores that already exist stay usable (old files open as they did).
"""

from __future__ import annotations

import sqlite3
from typing import Final

from nstore.errors import ConfigurationError

#: The table holding one row per bounded table: its eviction policy and its bytes.
CACHES: Final = "nstore_caches"
#: Its columns, as ``PRAGMA table_info`` names them.
CACHES_COLUMNS: Final = ["name", "policy", "bytes"]

_FIND = "SELECT type, name FROM sqlite_master WHERE name = ? COLLATE NOCASE"


def check_spelling(conn: sqlite3.Connection, table: str) -> None:
    """Refuse ``table`` if the database has a table of that name spelled in another case: both
    names would be one table (with two rows in ``nstore_caches``, which compares exactly)."""
    for kind, name in conn.execute(_FIND, (table,)):
        if kind == "table" and name != table:
            raise ConfigurationError(
                f"Expected the table name as this database spells it, {name!r}. Got {table!r} "
                "instead: SQLite ignores the case of table names, so both name one table. Open it "
                f"with table={name!r}, or choose a name that differs in more than case."
            )


def check_new(conn: sqlite3.Connection, table: str, index: str) -> None:
    """Before ``table`` is created (with its ``index``): refuse a name nstore keeps for itself, or
    held by another object (an index or trigger of another store's), and an index name held by
    anything but an index."""
    if table.lower() == CACHES:
        raise ConfigurationError(
            f"Expected a table name other than {CACHES!r}, which nstore keeps for the counts of its "
            f"bounded tables. Got {table!r} instead; choose another table= name."
        )
    for kind, name in conn.execute(_FIND, (table,)):
        if kind != "table":
            raise ConfigurationError(
                f"Expected a table name that is free in this database. Got {table!r}, the name of "
                f"the {kind} {name!r} here; choose another table= name."
            )
    check_index(conn, table, index)


def check_index(conn: sqlite3.Connection, table: str, index: str) -> None:
    """Refuse ``table`` if the name of the ``index`` it needs is held by something else."""
    for kind, name in conn.execute(_FIND, (index,)):
        if kind != "index":
            raise ConfigurationError(
                f"Expected the name {index!r} free for the index of the table {table!r}. Got the "
                f"{kind} {name!r} in this database instead; choose another table= name."
            )


def check_caches(conn: sqlite3.Connection) -> None:
    """Refuse to bound a table if ``nstore_caches`` exists and is not nstore's table of counts (a
    store made in an older version under that name, or other data): move that data elsewhere."""
    columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{CACHES}")')]
    if columns and columns != CACHES_COLUMNS:
        raise ConfigurationError(
            f"Expected the table {CACHES!r} of this database to hold the counts of bounded tables "
            f"(columns {', '.join(CACHES_COLUMNS)}). Got the columns {', '.join(columns)} instead: "
            "it holds other data. A bounded store needs that name; move that data to another "
            "table, or keep the bounded store in another file."
        )
