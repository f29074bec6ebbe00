"""The project's SQLite store. All SQL of qualcode lives in this package.

``Store`` is a small facade, as sqlite-utils hands out one ``Table`` per table: it opens the
database, runs the migrations and transactions, and hands out one object per aggregate, each
in its own module with its own SQL and typed rows (rows.py):

- ``store.documents`` (documents.py): documents and segments, carrying decisions over on
  replace;
- ``store.analysis`` (analysis.py): the form-analysis cache, form keys, segment tokens;
- ``store.codes`` (codes.py): codes and the codebooks they came from;
- ``store.decisions`` (decisions.py): suggestions, codings, the review log;
- ``store.models`` (models.py): trained models;
- ``store.names`` (names.py): the name registry;
- ``store.reads`` (reads.py): read-only queries for matrix, training, agreement, exchange,
  status;
- ``store.start_tag_run(...)`` (tag_run.py): one 'tag' run's temp tables, in their order.

Foreign keys are on; every command runs inside one ``transaction()`` so that a failure leaves
the store exactly as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from qualcode.store.analysis import AnalysisCache
from qualcode.store.codes import Codes
from qualcode.store.connection import SQLITE_VERSION, Database, connect
from qualcode.store.decisions import Decisions
from qualcode.store.documents import Documents
from qualcode.store.models import Models
from qualcode.store.names import Names
from qualcode.store.reads import Reads
from qualcode.store.rows import CodingRef, StatusRow, StoredDocument, SuggestionState, TagScope
from qualcode.store.tag_run import TagRun, TagRunOrderError


class Store:
    """The project database: one object per aggregate behind open, close, migrate and
    transaction."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        *,
        activity: str = "",
        notice: Callable[[str], None] | None = None,
    ) -> None:
        self.conn = conn  # for tests and tools that look at the raw database
        self.path = path
        self.db = Database(conn, path, activity=activity, notice=notice)
        self.documents = Documents(self.db)
        self.analysis = AnalysisCache(self.db)
        self.codes = Codes(self.db)
        self.decisions = Decisions(self.db)
        self.models = Models(self.db)
        self.names = Names(self.db)
        self.reads = Reads(self.db)

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        create: bool = False,
        activity: str = "",
        notice: Callable[[str], None] | None = None,
    ) -> Store:
        """Open (or with ``create``, make) a project database and bring it up to date.

        activity: this command's name, shown to another command that has to wait for it;
        notice: how to tell the user that this command is waiting for another one.
        """
        conn = connect(path, create=create)
        store = cls(conn, path, activity=activity, notice=notice)
        try:
            store.migrate()
        except BaseException:
            conn.close()
            raise
        return store

    def close(self) -> None:
        self.conn.close()

    def migrate(self, upto: str | None = None) -> list[str]:
        """Apply pending migrations in order (up to and including ``upto``); return their names."""
        return self.db.migrate(upto)

    def applied_migrations(self) -> list[str]:
        return self.db.applied_migrations()

    def transaction(self) -> AbstractContextManager[None]:
        """One transaction; nested calls join the outer one."""
        return self.db.transaction()

    def start_tag_run(
        self, index: str, *, city: str | None = None, include_interviewer: bool = False
    ) -> TagRun:
        """Begin a 'tag' run (inside ``transaction()``); ``index`` names the analyzer and
        matcher whose matches the cache may hold."""
        return TagRun(self.db, index, city=city, include_interviewer=include_interviewer)


# The row types callers imported from here before the split still come from here.
__all__ = [
    "SQLITE_VERSION",
    "CodingRef",
    "StatusRow",
    "Store",
    "StoredDocument",
    "SuggestionState",
    "TagRun",
    "TagRunOrderError",
    "TagScope",
]
