"""Decisions on segments: suggestions, codings and the review log."""

from __future__ import annotations

from collections.abc import Iterable

from qualcode.store.connection import Database, now
from qualcode.store.rows import CodingExportRow, PendingReviewRow, SuggestionState


class Decisions:
    """Suggestions, codings and the append-only review log (``store.decisions``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def log(
        self,
        coder: str,
        action: str,
        *,
        segment_id: str | None = None,
        code_id: str | None = None,
        suggestion_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        self._db.conn.execute(
            """INSERT INTO review_log (at, coder, action, segment_id, code_id, suggestion_id,
               detail) VALUES (?,?,?,?,?,?,?)""",
            (now(), coder, action, segment_id, code_id, suggestion_id, detail),
        )

    def suggestion_infos(self, ids: Iterable[str]) -> dict[str, SuggestionState]:
        rows = self._db.select_in(
            """SELECT id, segment_id, code_id, status, source, score, evidence, codebook_digest
               FROM suggestions WHERE id IN ({marks})""",
            list(dict.fromkeys(ids)),
        )
        return {row[0]: SuggestionState(*row) for row in rows}

    def insert_review_suggestion(self, suggestion_id: str, segment_id: str, code_id: str) -> None:
        stamp = now()
        self._db.conn.execute(
            """INSERT OR IGNORE INTO suggestions (id, segment_id, code_id, source, status,
                 created, updated) VALUES (?, ?, ?, 'review', 'pending', ?, ?)""",
            (suggestion_id, segment_id, code_id, stamp, stamp),
        )

    def suggestion_for(self, segment_id: str, code_id: str) -> SuggestionState | None:
        row = self._db.conn.execute(
            """SELECT id, segment_id, code_id, status, source, score, evidence, codebook_digest
               FROM suggestions WHERE segment_id = ? AND code_id = ?""",
            (segment_id, code_id),
        ).fetchone()
        return SuggestionState(*row) if row else None

    def set_suggestion_status(self, suggestion_id: str, status: str, coder: str) -> bool:
        cursor = self._db.conn.execute(
            """UPDATE suggestions SET status = ?, coder = ?, updated = ?
               WHERE id = ? AND (status != ? OR coder IS NOT ?)""",
            (status, coder, now(), suggestion_id, status, coder),
        )
        return cursor.rowcount > 0

    def coding_status(self, segment_id: str, code_id: str, coder: str) -> str | None:
        row = self._db.conn.execute(
            "SELECT status FROM codings WHERE segment_id = ? AND code_id = ? AND coder = ?",
            (segment_id, code_id, coder),
        ).fetchone()
        return str(row[0]) if row else None

    def accept_coding(
        self, segment_id: str, code_id: str, coder: str, source: str, score: float | None
    ) -> bool:
        """Make (segment, code, coder) an accepted coding; False if it already was."""
        if self.coding_status(segment_id, code_id, coder) == "accepted":
            return False
        stamp = now()
        self._db.conn.execute(
            """INSERT INTO codings (segment_id, code_id, coder, source, status, score, created,
                 updated) VALUES (?, ?, ?, ?, 'accepted', ?, ?, ?)
               ON CONFLICT(segment_id, code_id, coder) DO UPDATE SET status = 'accepted',
                 source = excluded.source, score = excluded.score, updated = excluded.updated""",
            (segment_id, code_id, coder, source, score, stamp, stamp),
        )
        return True

    def remove_coding(self, segment_id: str, code_id: str, coder: str) -> bool:
        cursor = self._db.conn.execute(
            """UPDATE codings SET status = 'removed', updated = ?
               WHERE segment_id = ? AND code_id = ? AND coder = ? AND status = 'accepted'""",
            (now(), segment_id, code_id, coder),
        )
        return cursor.rowcount > 0

    def accepted_pairs(self) -> set[tuple[str, str]]:
        return {
            (str(r[0]), str(r[1]))
            for r in self._db.conn.execute(
                "SELECT segment_id, code_id FROM codings WHERE status = 'accepted'"
            )
        }

    def rejected_pairs(self) -> set[tuple[str, str]]:
        return {
            (str(r[0]), str(r[1]))
            for r in self._db.conn.execute(
                "SELECT segment_id, code_id FROM suggestions WHERE status = 'rejected'"
            )
        }

    def pending_counts(self, city: str | None = None) -> dict[str, int]:
        """Pending suggestions per code."""
        if city is None:
            # No join is needed: foreign keys tie every suggestion to a segment and a document.
            sql = "SELECT g.code_id, COUNT(*) FROM suggestions g WHERE g.status = 'pending'"
            params: tuple[str, ...] = ()
        else:
            sql = """SELECT g.code_id, COUNT(*) FROM suggestions g
                     JOIN segments s ON s.id = g.segment_id
                     JOIN documents d ON d.id = s.document_id
                     WHERE g.status = 'pending' AND d.city = ?"""
            params = (city,)
        return {
            str(c): int(n) for c, n in self._db.conn.execute(sql + " GROUP BY g.code_id", params)
        }

    def pending_review_rows(self, city: str | None = None) -> list[PendingReviewRow]:
        """Pending suggestions as review rows, sorted by document, position and code order."""
        sql = """SELECT g.id, s.id, COALESCE(d.city, ''), d.name, COALESCE(s.speaker, ''),
                        g.code_id, c.label, g.score, g.source, COALESCE(g.evidence, ''),
                        s.text, s.start, g.model_score
                 FROM suggestions g
                 JOIN segments s ON s.id = g.segment_id
                 JOIN documents d ON d.id = s.document_id
                 JOIN codes c ON c.id = g.code_id
                 WHERE g.status = 'pending'"""
        params: tuple[str, ...] = ()
        if city is not None:
            sql += " AND d.city = ?"
            params = (city,)
        sql += " ORDER BY d.name, s.seq, c.position, c.id"
        return [PendingReviewRow(*r) for r in self._db.conn.execute(sql, params)]

    def coding_export_rows(self) -> list[CodingExportRow]:
        return [
            CodingExportRow(*r)
            for r in self._db.conn.execute(
                """SELECT c.segment_id, d.name, COALESCE(d.city, ''), c.code_id, c.coder,
                          c.source, c.status, c.created
                   FROM codings c JOIN segments s ON s.id = c.segment_id
                   JOIN documents d ON d.id = s.document_id
                   ORDER BY d.name, s.seq, c.code_id, c.coder"""
            )
        ]
