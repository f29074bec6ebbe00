"""Codes and codebooks."""

from __future__ import annotations

from collections.abc import Sequence

from qualcode.store.connection import Database, now
from qualcode.store.rows import CodeSpec, StoredCodebook


class Codes:
    """The codes and the codebooks they came from (``store.codes``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def upsert_codes(self, codes: Sequence[CodeSpec], *, retire_missing: bool) -> list[str]:
        """Add or update (id, label, parent, definition) codes; returns the ids retired.

        ``retire_missing``: the codes are a whole codebook, in its order ('tag'): each takes
        its position in the list, and the codes it no longer lists are retired. Otherwise the
        codes come from outside (a REFI-QDA import): new ones go after the existing ones,
        existing ones keep their position, and no other code is retired.
        Codes are never deleted: codings refer to them.
        """
        self._db.conn.execute("PRAGMA defer_foreign_keys = ON")
        stamp = now()
        if retire_missing:
            base = 0
            # A code whose text did not change keeps its timestamp.
            on_conflict = """position = excluded.position,
                 updated = CASE WHEN codes.label IS excluded.label
                   AND codes.parent_id IS excluded.parent_id
                   AND codes.definition IS excluded.definition AND codes.retired = 0
                   THEN codes.updated ELSE excluded.updated END"""
        else:
            base = 1 + self._db.count("SELECT COALESCE(MAX(position), 0) FROM codes")
            on_conflict = "updated = excluded.updated"
        for position, (code_id, label, parent, definition) in enumerate(codes, start=base):
            self._db.conn.execute(
                f"""INSERT INTO codes (id, label, parent_id, definition, retired, updated, position)
                   VALUES (?, ?, ?, ?, 0, ?, ?)
                   ON CONFLICT(id) DO UPDATE SET label = excluded.label,
                     parent_id = excluded.parent_id, definition = excluded.definition,
                     retired = 0, {on_conflict}""",
                (code_id, label, parent, definition, stamp, position),
            )
        if not retire_missing:
            return []
        listed = {c[0] for c in codes}
        retired = [
            str(r[0])
            for r in self._db.conn.execute("SELECT id FROM codes WHERE retired = 0 ORDER BY id")
            if r[0] not in listed
        ]
        self._db.conn.executemany(
            "UPDATE codes SET retired = 1, updated = ? WHERE id = ?", ((stamp, c) for c in retired)
        )
        return retired

    def code_ids(self, *, include_retired: bool = False) -> dict[str, str]:
        sql = "SELECT id, label FROM codes" + ("" if include_retired else " WHERE retired = 0")
        return dict(self._db.conn.execute(sql + " ORDER BY position, id"))

    def record_codebook(self, digest: str, name: str, version: str, source: str, data: str) -> None:
        self._db.conn.execute("DELETE FROM codebooks WHERE digest = ?", (digest,))
        self._db.conn.execute(
            "INSERT INTO codebooks (digest, name, version, source, data, loaded_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (digest, name, version, source, data, now()),
        )

    def latest_codebook(self) -> StoredCodebook | None:
        """The codebook 'tag' used last."""
        row = self._db.conn.execute(
            "SELECT digest, source, data FROM codebooks ORDER BY rowid DESC LIMIT 1"
        ).fetchone()
        return StoredCodebook(str(row[0]), str(row[1]), str(row[2])) if row else None
