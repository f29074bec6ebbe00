"""The SQLite connection every store module shares: opening it, the migration runner, one
transaction per command, and batched ``IN`` selects.

This is the one place that sees raw rows; the aggregate modules turn them into typed rows.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from qualcode.errors import StoreError
from qualcode.store.migrations import MIGRATIONS

_IN_BATCH = 900  # SQLite allows 999 bound parameters in older builds

SQLITE_VERSION = sqlite3.sqlite_version
IntegrityError = sqlite3.IntegrityError


def now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def connect(path: Path) -> sqlite3.Connection:
    """A connection with qualcode's PRAGMAs: foreign keys on, WAL, a busy timeout."""
    try:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA busy_timeout = 5000")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: cannot open project database ({exc})") from None
    return conn


class Database:
    """The connection and its transaction depth, handed to every store module."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._depth = 0
        self.tag_run: object | None = None  # the one tag run whose temp tables are current

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction; nested calls join the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")
        finally:
            self._depth = 0

    # The seam between sqlite3 (whose rows are untyped) and the aggregate modules, which give
    # each row its type; tests/test_store_layout.py allows it and nothing else to return them.
    def select_in(
        self, sql: str, values: Sequence[object], *, before: tuple[object, ...] = ()
    ) -> Iterator[tuple[Any, ...]]:
        """Rows of ``sql`` whose ``{marks}`` is an IN list over ``values``, in batches that stay
        under SQLite's limit on bound parameters."""
        for i in range(0, len(values), _IN_BATCH):
            batch = values[i : i + _IN_BATCH]
            marks = ",".join("?" * len(batch))
            yield from self.conn.execute(sql.format(marks=marks), (*before, *batch))

    def count(self, sql: str, params: Sequence[object] = ()) -> int:
        """The single number a ``SELECT COUNT(*)``-like query gives."""
        return int(self.conn.execute(sql, params).fetchone()[0])

    # --- migrations -------------------------------------------------------------------------
    def migrate(self, upto: str | None = None) -> list[str]:
        """Apply pending migrations in order (up to and including ``upto``); return their names."""
        try:
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS migrations"
                " (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            done = {row[0] for row in self.conn.execute("SELECT name FROM migrations")}
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a qualcode database ({exc})") from None
        known = {name for name, _ in MIGRATIONS}
        unknown = done - known
        if unknown:
            raise StoreError(
                f"{self.path}: made by a newer qualcode (migration {sorted(unknown)[0]})",
                "upgrade qualcode",
            )
        applied = []
        for name, sql in MIGRATIONS:
            if name not in done:
                with self.transaction():
                    for statement in _statements(sql):
                        self.conn.execute(statement)
                    self.conn.execute(
                        "INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, now())
                    )
                applied.append(name)
            if name == upto:
                break
        return applied

    def applied_migrations(self) -> list[str]:
        return [str(r[0]) for r in self.conn.execute("SELECT name FROM migrations ORDER BY name")]


def _statements(sql: str) -> list[str]:
    """Split a migration script into statements (triggers contain ';' inside BEGIN...END)."""
    out: list[str] = []
    buffer = ""
    for piece in sql.split(";"):
        buffer += piece
        if sqlite3.complete_statement(buffer + ";"):
            if buffer.strip():
                out.append(buffer.strip())
            buffer = ""
        else:
            buffer += ";"
    return out
