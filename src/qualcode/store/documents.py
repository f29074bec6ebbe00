"""Documents and their segments: import, replace (carrying decisions over), delete."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from qualcode.errors import StoreError
from qualcode.records import DocumentMeta, Segment, Transcript
from qualcode.store.connection import Database, IntegrityError, now
from qualcode.store.rows import (
    CodingRef,
    Participant,
    SpeakerRow,
    StoredDocument,
    StoredSpeaker,
)


class Documents:
    """The documents and segments tables (``store.documents``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def document_by_name(self, name: str) -> StoredDocument | None:
        row = self._db.conn.execute(_DOC_SELECT + " WHERE name = ?", (name,)).fetchone()
        return _document(row) if row else None

    def document_by_sha256(self, sha256: str) -> StoredDocument | None:
        row = self._db.conn.execute(_DOC_SELECT + " WHERE sha256 = ?", (sha256,)).fetchone()
        return _document(row) if row else None

    def document_by_id(self, doc_id: str) -> StoredDocument | None:
        row = self._db.conn.execute(_DOC_SELECT + " WHERE id = ?", (doc_id,)).fetchone()
        return _document(row) if row else None

    def all(self) -> list[StoredDocument]:
        return [_document(r) for r in self._db.conn.execute(_DOC_SELECT + " ORDER BY name")]

    def insert_document(self, t: Transcript) -> None:
        m = t.meta
        self._db.conn.execute(
            """INSERT INTO documents (id, name, source_path, sha256, format, encoding, title, city,
                participant, role, organisation_type, kind, date, language, text, words,
                imported_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
            (
                t.id,
                t.name,
                t.source_path,
                t.sha256,
                t.format,
                t.encoding,
                t.title,
                m.city,
                m.participant,
                m.role,
                m.organisation_type,
                m.kind,
                m.date,
                t.language,
                t.text,
                t.words,
                now(),
            ),
        )

    def insert_segments(self, segments: Iterable[Segment]) -> None:
        self._db.conn.executemany(
            """INSERT INTO segments (id, document_id, seq, speaker, is_interviewer, unit, start,
                "end", start_time, end_time, text, words) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)""",
            (
                (
                    s.id,
                    s.document_id,
                    s.seq,
                    s.speaker,
                    int(s.is_interviewer),
                    s.unit,
                    s.start,
                    s.end,
                    s.start_time,
                    s.end_time,
                    s.text,
                    s.words,
                )
                for s in segments
            ),
        )

    def document_text(self, doc_id: str) -> str:
        row = self._db.conn.execute("SELECT text FROM documents WHERE id = ?", (doc_id,)).fetchone()
        if row is None:
            raise StoreError(f"unknown document id '{doc_id}'")
        return str(row[0])

    def segments(self, doc_id: str | None = None) -> list[Segment]:
        sql = _SEG_SELECT
        params: tuple[str, ...] = ()
        if doc_id is not None:
            sql += " WHERE document_id = ?"
            params = (doc_id,)
        sql += " ORDER BY document_id, seq"
        return [_segment(r) for r in self._db.conn.execute(sql, params)]

    def decisions_on_document(self, doc_id: str) -> list[CodingRef]:
        """Codings and decided (accepted/rejected) suggestions on a document's segments."""
        rows = self._db.conn.execute(
            """SELECT 'codings', CAST(c.id AS TEXT), c.segment_id, c.code_id, c.status, c.coder
               FROM codings c JOIN segments s ON s.id = c.segment_id WHERE s.document_id = ?
               UNION ALL
               SELECT 'suggestions', g.id, g.segment_id, g.code_id, g.status, ''
               FROM suggestions g JOIN segments s ON s.id = g.segment_id
               WHERE s.document_id = ? AND g.status != 'pending'
               ORDER BY 1, 3, 4""",
            (doc_id, doc_id),
        )
        return [CodingRef(*r) for r in rows]

    def move_decision(self, ref: CodingRef, new_segment_id: str, new_suggestion_id: str) -> bool:
        """Re-attach a coding or decided suggestion to another segment.

        Returns False (and changes nothing) when that segment already carries the same decision.
        """
        try:
            if ref.table == "codings":
                self._db.conn.execute(
                    "UPDATE codings SET segment_id = ?, updated = ? WHERE id = ?",
                    (new_segment_id, now(), int(ref.row_id)),
                )
            else:
                self._db.conn.execute(
                    "UPDATE suggestions SET id = ?, segment_id = ?, updated = ? WHERE id = ?",
                    (new_suggestion_id, new_segment_id, now(), ref.row_id),
                )
        except IntegrityError:
            return False
        return True

    def rename_document(self, doc_id: str, name: str) -> None:
        self._db.conn.execute("UPDATE documents SET name = ? WHERE id = ?", (name, doc_id))

    def update_document_meta(self, doc_id: str, meta: DocumentMeta) -> None:
        self._db.conn.execute(
            """UPDATE documents SET city = ?, participant = ?, role = ?, organisation_type = ?,
               kind = ?, date = ? WHERE id = ?""",
            (
                meta.city,
                meta.participant,
                meta.role,
                meta.organisation_type,
                meta.kind,
                meta.date,
                doc_id,
            ),
        )

    def update_document_source(self, doc_id: str, t: Transcript) -> None:
        self._db.conn.execute(
            "UPDATE documents SET sha256 = ?, source_path = ?, encoding = ? WHERE id = ?",
            (t.sha256, t.source_path, t.encoding, doc_id),
        )
        self.update_document_meta(doc_id, t.meta)

    def delete_document(self, doc_id: str) -> int:
        """Remove a document and whatever hangs on it; returns how many codings and
        suggestions went with it."""
        seg = "SELECT id FROM segments WHERE document_id = ?"
        codings = self._db.conn.execute(
            f"DELETE FROM codings WHERE segment_id IN ({seg})", (doc_id,)
        ).rowcount
        suggestions = self._db.conn.execute(
            f"DELETE FROM suggestions WHERE segment_id IN ({seg})", (doc_id,)
        ).rowcount
        self._db.conn.execute("DELETE FROM segments WHERE document_id = ?", (doc_id,))
        self._db.conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
        return int(codings) + int(suggestions)

    def cities(self) -> list[str]:
        return [
            str(r[0])
            for r in self._db.conn.execute(
                "SELECT DISTINCT city FROM documents WHERE city IS NOT NULL ORDER BY city"
            )
        ]

    def participants(self) -> list[Participant]:
        """Participant, role and city of the documents and speakers (metadata) that name one."""
        return [
            Participant(str(r[0]), r[1], r[2])
            for r in self._db.conn.execute(
                "SELECT participant, role, city FROM documents "
                "WHERE participant IS NOT NULL AND participant != '' "
                "UNION SELECT sp.participant, sp.role, d.city FROM speakers sp "
                "JOIN documents d ON d.id = sp.document_id "
                "WHERE sp.participant IS NOT NULL AND sp.participant != '' ORDER BY 1"
            )
        ]

    # --- resegmenting (qualcode resegment) -------------------------------------------------
    def park_segments(self, doc_id: str) -> None:
        """Give a document's segments negative seq numbers, so that the new segmentation's
        seq numbers are free while old and new segments are both stored."""
        self._db.conn.execute("UPDATE segments SET seq = -seq WHERE document_id = ?", (doc_id,))

    def update_segment(self, s: Segment) -> None:
        """Rewrite a kept segment (same id, so same offsets and text) in place: its codings,
        suggestions and tokens stay attached."""
        self._db.conn.execute(
            """UPDATE segments SET seq = ?, speaker = ?, is_interviewer = ?, unit = ?,
               start_time = ?, end_time = ?, words = ? WHERE id = ?""",
            (
                s.seq,
                s.speaker,
                int(s.is_interviewer),
                s.unit,
                s.start_time,
                s.end_time,
                s.words,
                s.id,
            ),
        )

    def delete_segments(self, ids: Sequence[str]) -> tuple[int, int]:
        """Remove segments and whatever still hangs on them (decisions not carried over, which
        the caller has logged); returns (codings, suggestions) removed."""
        codings = suggestions = 0
        conn = self._db.conn
        for sid in ids:
            codings += conn.execute("DELETE FROM codings WHERE segment_id = ?", (sid,)).rowcount
            suggestions += conn.execute(
                "DELETE FROM suggestions WHERE segment_id = ?", (sid,)
            ).rowcount
            conn.execute("DELETE FROM segments WHERE id = ?", (sid,))
        return codings, suggestions

    # --- speakers (per-speaker metadata, migration 0007) -----------------------------------
    def speakers(self, doc_id: str) -> list[StoredSpeaker]:
        """One document's speaker metadata, by speaker."""
        return [
            StoredSpeaker(str(r[0]), r[1], r[2], r[3])
            for r in self._db.conn.execute(
                "SELECT speaker, participant, role, organisation_type FROM speakers "
                "WHERE document_id = ? ORDER BY speaker",
                (doc_id,),
            )
        ]

    def replace_speakers(self, doc_id: str, rows: Iterable[StoredSpeaker]) -> None:
        """Set a document's speaker metadata to exactly ``rows``."""
        self._db.conn.execute("DELETE FROM speakers WHERE document_id = ?", (doc_id,))
        self._db.conn.executemany(
            "INSERT INTO speakers (document_id, speaker, participant, role, organisation_type) "
            "VALUES (?,?,?,?,?)",
            ((doc_id, *r) for r in rows),
        )

    def all_speakers(self) -> list[SpeakerRow]:
        """Every speaker row of the project."""
        return [
            SpeakerRow(str(r[0]), str(r[1]), r[2], r[3], r[4])
            for r in self._db.conn.execute(
                "SELECT document_id, speaker, participant, role, organisation_type FROM speakers "
                "ORDER BY document_id, speaker"
            )
        ]

    def document_texts(self) -> list[str]:
        return [
            str(r[0]) for r in self._db.conn.execute("SELECT text FROM documents ORDER BY name")
        ]

    def segment_texts(self, ids: Iterable[str]) -> dict[str, str]:
        return dict(
            self._db.select_in(
                "SELECT id, text FROM segments WHERE id IN ({marks})", list(dict.fromkeys(ids))
            )
        )

    def segment_exists(self, segment_id: str) -> bool:
        return (
            self._db.conn.execute("SELECT 1 FROM segments WHERE id = ?", (segment_id,)).fetchone()
            is not None
        )


_DOC_SELECT = """SELECT id, name, sha256, source_path, title, city, participant, role,
    organisation_type, kind, date, words FROM documents"""
_SEG_SELECT = """SELECT id, document_id, seq, speaker, is_interviewer, unit, start, "end", text,
    words, start_time, end_time FROM segments"""


def _document(row: Sequence[Any]) -> StoredDocument:
    meta = DocumentMeta(
        city=row[5],
        participant=row[6],
        role=row[7],
        organisation_type=row[8],
        kind=row[9],
        date=row[10],
    )
    return StoredDocument(
        id=str(row[0]),
        name=str(row[1]),
        sha256=str(row[2]),
        source_path=str(row[3]),
        title=str(row[4]),
        meta=meta,
        words=int(row[11]),
    )


def _segment(row: Sequence[Any]) -> Segment:
    return Segment(
        id=row[0],
        document_id=row[1],
        seq=row[2],
        speaker=row[3],
        is_interviewer=bool(row[4]),
        unit=row[5],
        start=row[6],
        end=row[7],
        text=row[8],
        words=row[9],
        start_time=row[10],
        end_time=row[11],
    )
