"""The name registry: who is pseudonymised as what."""

from __future__ import annotations

from collections.abc import Iterable

from qualcode.store.connection import Database, now
from qualcode.store.rows import NameRow, NameSpec


class Names:
    """The pseudonymisation registry (``store.names``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def all(self) -> list[NameRow]:
        """The registry, sorted by name."""
        return [
            NameRow(str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), int(r[5]), str(r[6]))
            for r in self._db.conn.execute(
                "SELECT name, kind, action, pseudonym, forms, count, source FROM names "
                "ORDER BY name"
            )
        ]

    def upsert_names(self, rows: Iterable[NameSpec]) -> None:
        """Add or update (name, kind, action, pseudonym, forms JSON, count, source) rows."""
        self._db.conn.executemany(
            """INSERT INTO names (name, kind, action, pseudonym, forms, count, source, updated)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, action = excluded.action,
                 pseudonym = excluded.pseudonym, forms = excluded.forms,
                 count = excluded.count, source = excluded.source, updated = excluded.updated
               -- An unchanged row keeps its time: running 'names detect' again changes nothing.
               WHERE names.kind IS NOT excluded.kind OR names.action IS NOT excluded.action
                 OR names.pseudonym IS NOT excluded.pseudonym OR names.forms IS NOT excluded.forms
                 OR names.count IS NOT excluded.count OR names.source IS NOT excluded.source""",
            ((*r, now()) for r in rows),
        )
