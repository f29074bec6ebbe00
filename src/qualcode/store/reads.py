"""Read-only queries for the matrix, training, agreement, exchange and status."""

from __future__ import annotations

from collections.abc import Iterator

from qualcode.store.connection import Database
from qualcode.store.rows import (
    CodableSegment,
    CoderActivity,
    ExportCoding,
    ExportDocument,
    MatrixCoding,
    MatrixDocument,
    ReviewedSegment,
    SegmentExportRow,
    SegmentSpeaker,
    SegmentToTag,
    StatusRow,
)
from qualcode.store.tag_run import scope_sql


class Reads:
    """Read-only queries across aggregates (``store.reads``): what the matrix, the training
    set, inter-coder agreement, the exports and ``status`` read."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def segments_to_tag(
        self, *, city: str | None = None, include_interviewer: bool = False
    ) -> list[SegmentToTag]:
        """The segments that 'tag' matches, in order (the same definition as a tag run's)."""
        sql, params = scope_sql(
            "s.id, s.start, s.text, COALESCE(d.city, '')", "", city, include_interviewer
        )
        return [
            SegmentToTag(str(r[0]), int(r[1]), str(r[2]), str(r[3]))
            for r in self._db.conn.execute(sql, params)
        ]

    def reviewed_segments(self) -> list[ReviewedSegment]:
        """Codable segments of the documents that have decisions, in document order."""
        return [
            ReviewedSegment(str(r[0]), str(r[1]), str(r[2]))
            for r in self._db.conn.execute(
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

    def matrix_documents(self) -> list[MatrixDocument]:
        """Every document's metadata, with the words of its segments."""
        return [
            MatrixDocument(*r)
            for r in self._db.conn.execute(
                """SELECT d.id, d.name, d.city, d.participant, d.role, d.organisation_type,
                          d.kind, d.date, COALESCE(SUM(s.words), 0)
                   FROM documents d LEFT JOIN segments s ON s.document_id = d.id
                   GROUP BY d.id ORDER BY d.name"""
            )
        ]

    def matrix_codings(self, *, include_suggested: bool = False) -> list[MatrixCoding]:
        """Accepted codings (any coder), optionally with pending suggestions counted as if
        accepted. The evidence is that of the suggestion the coding accepted (None for a
        manual coding): report quotes are cut around it."""
        sql = """SELECT c.segment_id, s.document_id, c.code_id, MAX(c.score), MIN(c.source),
                        s.text, s.seq, s.speaker, s.start, s.start_time,
                        (SELECT g.evidence FROM suggestions g WHERE g.segment_id = c.segment_id
                         AND g.code_id = c.code_id)
                 FROM codings c JOIN segments s ON s.id = c.segment_id
                 WHERE c.status = 'accepted' GROUP BY c.segment_id, c.code_id"""
        if include_suggested:
            sql += """ UNION SELECT g.segment_id, s.document_id, g.code_id, g.score, g.source,
                               s.text, s.seq, s.speaker, s.start, s.start_time, g.evidence
                       FROM suggestions g JOIN segments s ON s.id = g.segment_id
                       WHERE g.status = 'pending' AND NOT EXISTS (
                         SELECT 1 FROM codings c WHERE c.segment_id = g.segment_id
                         AND c.code_id = g.code_id AND c.status = 'accepted')"""
        sql += " ORDER BY 2, 7, 3"
        return [MatrixCoding(*r) for r in self._db.conn.execute(sql)]

    def coder_activity(self) -> list[CoderActivity]:
        """Every coding and every review-log entry: who looked at which documents and coded
        what."""
        return [
            CoderActivity(str(r[0]), str(r[1]), r[2], r[3])
            for r in self._db.conn.execute(
                """SELECT c.coder, s.document_id, c.segment_id,
                          CASE WHEN c.status = 'accepted' THEN c.code_id END
                   FROM codings c JOIN segments s ON s.id = c.segment_id
                   UNION
                   SELECT l.coder, s.document_id, l.segment_id, NULL
                   FROM review_log l JOIN segments s ON s.id = l.segment_id
                   ORDER BY 1, 2, 3"""
            )
        ]

    def codable_segments(self) -> list[CodableSegment]:
        """Non-interviewer turns and paragraphs, in document order."""
        return [
            CodableSegment(str(r[0]), str(r[1]), str(r[2]), str(r[3] or ""), str(r[4]))
            for r in self._db.conn.execute(
                """SELECT s.id, s.document_id, d.name, d.city, s.text FROM segments s
                   JOIN documents d ON d.id = s.document_id
                   WHERE s.is_interviewer = 0 AND s.unit != 'heading'
                   ORDER BY d.name, s.seq"""
            )
        ]

    def export_documents(self) -> list[ExportDocument]:
        """Every document with its metadata and text, by name."""
        return [
            ExportDocument(*r)
            for r in self._db.conn.execute(
                """SELECT id, name, city, participant, role, organisation_type, kind, date, text
                   FROM documents ORDER BY name"""
            )
        ]

    def export_codings(self) -> list[ExportCoding]:
        """Accepted codings with their segments' offsets."""
        return [
            ExportCoding(*r)
            for r in self._db.conn.execute(
                """SELECT c.segment_id, s.document_id, s.start, s."end", c.code_id, c.coder
                   FROM codings c JOIN segments s ON s.id = c.segment_id
                   WHERE c.status = 'accepted' ORDER BY s.document_id, s.start, c.code_id,
                   c.coder"""
            )
        ]

    def status_rows(self) -> list[StatusRow]:
        """Documents, segments (and interviewer turns among them) and words per city and kind."""
        rows = self._db.conn.execute(
            """SELECT COALESCE(d.city, ''), d.kind, COUNT(*), COALESCE(SUM(sc.n), 0),
                      COALESCE(SUM(sc.ni), 0), SUM(d.words)
               FROM documents d
               LEFT JOIN (SELECT document_id, COUNT(*) AS n, SUM(is_interviewer) AS ni
                          FROM segments GROUP BY document_id) sc ON sc.document_id = d.id
               GROUP BY 1, 2 ORDER BY 1, 2"""
        )
        return [StatusRow(*r) for r in rows]

    def segment_speakers(self) -> list[SegmentSpeaker]:
        """Who speaks in every segment (for word and interviewee totals by speaker)."""
        return [
            SegmentSpeaker(str(r[0]), str(r[1]), r[2], bool(r[3]), int(r[4]))
            for r in self._db.conn.execute(
                "SELECT id, document_id, speaker, is_interviewer, words FROM segments "
                "ORDER BY document_id, seq"
            )
        ]

    def segment_export_rows(self) -> Iterator[SegmentExportRow]:
        """Every segment with its document's metadata, in document order."""
        for r in self._db.conn.execute(
            """SELECT s.id, d.name, d.city, d.participant, d.role, d.kind, s.speaker,
                      s.is_interviewer, s.start, s."end", s.start_time, s.end_time, s.text
               FROM segments s JOIN documents d ON d.id = s.document_id
               ORDER BY d.name, s.seq"""
        ):
            yield SegmentExportRow(*r)

    def counts(self) -> dict[str, int]:
        """Rows per table of the project's record."""
        tables = ("documents", "segments", "codes", "codings", "suggestions", "review_log")
        return {t: self._db.count(f"SELECT COUNT(*) FROM {t}") for t in tables}
