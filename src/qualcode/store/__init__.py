"""The project's SQLite store. All SQL of qualcode lives in this package.

Foreign keys are on; every command runs inside one ``transaction()`` so that a failure leaves
the store exactly as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from qualcode.errors import StoreError
from qualcode.store.analysis import AnalysisCache
from qualcode.store.codes import Codes
from qualcode.store.connection import Database, connect
from qualcode.store.decisions import Decisions
from qualcode.store.documents import Documents
from qualcode.store.models import Models
from qualcode.store.names import Names
from qualcode.store.rows import StatusRow
from qualcode.store.tag_run import TagRun, scope_sql


class Store:
    """The project database: a small facade over one module per aggregate."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.db = Database(conn, path)
        self.documents = Documents(self.db)
        self.analysis = AnalysisCache(self.db)
        self.codes = Codes(self.db)
        self.decisions = Decisions(self.db)
        self.models = Models(self.db)
        self.names = Names(self.db)
        self.conn = conn
        self.path = path

    # --- lifecycle -------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path, *, create: bool = False) -> Store:
        if not create and not path.exists():
            raise StoreError(f"{path}: project database not found", "run 'qualcode init DIR'")
        store = cls(connect(path), path)
        store.migrate()
        return store

    def close(self) -> None:
        self.conn.close()

    def migrate(self, upto: str | None = None) -> list[str]:
        """Apply pending migrations in order (up to and including ``upto``); return their names."""
        return self.db.migrate(upto)

    def applied_migrations(self) -> list[str]:
        return self.db.applied_migrations()

    def start_tag_run(
        self, index: str, *, city: str | None = None, include_interviewer: bool = False
    ) -> TagRun:
        """Begin a 'tag' run (inside ``transaction()``); ``index`` names the analyzer and
        matcher whose matches the cache may hold."""
        return TagRun(self.db, index, city=city, include_interviewer=include_interviewer)

    def transaction(self) -> AbstractContextManager[None]:
        """One transaction; nested calls join the outer one."""
        return self.db.transaction()

    def _select_in(
        self, sql: str, values: Sequence[object], *, before: tuple[object, ...] = ()
    ) -> Iterator[Any]:
        return self.db.select_in(sql, values, before=before)

    # --- documents and segments ------------------------------------------------------------
    # --- language analysis cache ------------------------------------------------------------
    # --- token index (fast re-tagging) ---------------------------------------------------------
    # --- tag cache (incremental re-tagging) ------------------------------------------------
    # --- codes and codebooks ---------------------------------------------------------------
    # --- tagging ---------------------------------------------------------------------------
    def segments_to_tag(
        self, *, city: str | None = None, include_interviewer: bool = False
    ) -> list[tuple[str, int, str, str]]:
        """(segment id, start, text, city) of the segments that 'tag' matches, in order."""
        sql, params = scope_sql(
            "s.id, s.start, s.text, COALESCE(d.city, '')", "", city, include_interviewer
        )
        return [
            (str(r[0]), int(r[1]), str(r[2]), str(r[3])) for r in self.conn.execute(sql, params)
        ]

    # --- decisions ---------------------------------------------------------------------------
    # --- training and models -----------------------------------------------------------------
    def reviewed_segments(self) -> list[tuple[str, str, str]]:
        """(segment id, document id, text) of codable segments in documents with decisions."""
        return [
            (str(r[0]), str(r[1]), str(r[2]))
            for r in self.conn.execute(
                """SELECT s.id, s.document_id, s.text FROM segments s
                   JOIN documents d ON d.id = s.document_id
                   WHERE s.is_interviewer = 0 AND s.unit != 'heading'
                     AND s.document_id IN (
                       SELECT s2.document_id FROM codings c JOIN segments s2 ON s2.id = c.segment_id
                       UNION
                       SELECT s3.document_id FROM suggestions g
                         JOIN segments s3 ON s3.id = g.segment_id WHERE g.status != 'pending')
                   ORDER BY d.name, s.seq"""
            )
        ]

    # --- matrices and reports ----------------------------------------------------------------
    def matrix_documents(self) -> list[tuple[Any, ...]]:
        """(id, name, city, participant, role, organisation_type, kind, date, words) where
        words are those of the document's segments."""
        return [
            tuple(r)
            for r in self.conn.execute(
                """SELECT d.id, d.name, d.city, d.participant, d.role, d.organisation_type,
                          d.kind, d.date, COALESCE(SUM(s.words), 0)
                   FROM documents d LEFT JOIN segments s ON s.document_id = d.id
                   GROUP BY d.id ORDER BY d.name"""
            )
        ]

    def matrix_codings(self, *, include_suggested: bool = False) -> list[tuple[Any, ...]]:
        """(segment id, document id, code, score, source, text, seq, speaker) of accepted
        codings (any coder), optionally with pending suggestions counted as if accepted."""
        sql = """SELECT c.segment_id, s.document_id, c.code_id, MAX(c.score), MIN(c.source),
                        s.text, s.seq, s.speaker
                 FROM codings c JOIN segments s ON s.id = c.segment_id
                 WHERE c.status = 'accepted' GROUP BY c.segment_id, c.code_id"""
        if include_suggested:
            sql += """ UNION SELECT g.segment_id, s.document_id, g.code_id, g.score, g.source,
                               s.text, s.seq, s.speaker
                       FROM suggestions g JOIN segments s ON s.id = g.segment_id
                       WHERE g.status = 'pending' AND NOT EXISTS (
                         SELECT 1 FROM codings c WHERE c.segment_id = g.segment_id
                         AND c.code_id = g.code_id AND c.status = 'accepted')"""
        sql += " ORDER BY 2, 7, 3"
        return [tuple(r) for r in self.conn.execute(sql)]

    # --- inter-coder agreement and exchange ---------------------------------------------------
    def coder_activity(self) -> list[tuple[str, str, str | None, str | None]]:
        """(coder, document id, segment id, code id of an accepted coding or None) for every
        coding and every review-log entry: who looked at which documents and coded what."""
        return [
            (str(r[0]), str(r[1]), r[2], r[3])
            for r in self.conn.execute(
                """SELECT c.coder, s.document_id, c.segment_id,
                          CASE WHEN c.status = 'accepted' THEN c.code_id END
                   FROM codings c JOIN segments s ON s.id = c.segment_id
                   UNION
                   SELECT l.coder, s.document_id, l.segment_id, NULL
                   FROM review_log l JOIN segments s ON s.id = l.segment_id
                   ORDER BY 1, 2, 3"""
            )
        ]

    def codable_segments(self) -> list[tuple[str, str, str, str, str]]:
        """(segment id, document id, document name, city, text) of non-interviewer turns and
        paragraphs, in document order."""
        return [
            (str(r[0]), str(r[1]), str(r[2]), str(r[3] or ""), str(r[4]))
            for r in self.conn.execute(
                """SELECT s.id, s.document_id, d.name, d.city, s.text FROM segments s
                   JOIN documents d ON d.id = s.document_id
                   WHERE s.is_interviewer = 0 AND s.unit != 'heading'
                   ORDER BY d.name, s.seq"""
            )
        ]

    def export_documents(self) -> list[tuple[Any, ...]]:
        """(id, name, city, participant, role, organisation_type, kind, date, text)."""
        return [
            tuple(r)
            for r in self.conn.execute(
                """SELECT id, name, city, participant, role, organisation_type, kind, date, text
                   FROM documents ORDER BY name"""
            )
        ]

    def export_codings(self) -> list[tuple[Any, ...]]:
        """(segment id, document id, start, end, code id, coder) of accepted codings."""
        return [
            tuple(r)
            for r in self.conn.execute(
                """SELECT c.segment_id, s.document_id, s.start, s."end", c.code_id, c.coder
                   FROM codings c JOIN segments s ON s.id = c.segment_id
                   WHERE c.status = 'accepted' ORDER BY s.document_id, s.start, c.code_id,
                   c.coder"""
            )
        ]

    # --- name registry -------------------------------------------------------------------------
    # --- reporting -------------------------------------------------------------------------
    def status_rows(self) -> list[StatusRow]:
        """Documents, segments (and interviewer turns among them) and words per city and kind."""
        rows = self.conn.execute(
            """SELECT COALESCE(d.city, ''), d.kind, COUNT(*), COALESCE(SUM(sc.n), 0),
                      COALESCE(SUM(sc.ni), 0), SUM(d.words)
               FROM documents d
               LEFT JOIN (SELECT document_id, COUNT(*) AS n, SUM(is_interviewer) AS ni
                          FROM segments GROUP BY document_id) sc ON sc.document_id = d.id
               GROUP BY 1, 2 ORDER BY 1, 2"""
        )
        return [StatusRow(*r) for r in rows]

    def segment_export_rows(self) -> Iterator[tuple[object, ...]]:
        return self.conn.execute(
            """SELECT s.id, d.name, d.city, d.participant, d.role, d.kind, s.speaker,
                      s.is_interviewer, s.start, s."end", s.text
               FROM segments s JOIN documents d ON d.id = s.document_id
               ORDER BY d.name, s.seq"""
        )

    def counts(self) -> dict[str, int]:
        tables = ("documents", "segments", "codes", "codings", "suggestions", "review_log")
        return {t: self.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
