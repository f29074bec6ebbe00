"""The project's SQLite store. All SQL of qualcode lives here.

Foreign keys are on; every command runs inside one ``transaction()`` so that a failure leaves
the store exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qualcode.errors import StoreError
from qualcode.migrations import MIGRATIONS
from qualcode.records import DocumentMeta, Segment, Transcript

_IN_BATCH = 900  # SQLite allows 999 bound parameters in older builds


def now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class StoredDocument:
    id: str
    name: str
    sha256: str
    source_path: str
    title: str
    meta: DocumentMeta
    words: int


@dataclass(frozen=True)
class StatusRow:
    city: str
    kind: str
    documents: int
    segments: int
    interviewer_segments: int
    words: int


@dataclass(frozen=True)
class SuggestionState:
    id: str
    segment_id: str
    code_id: str
    status: str
    source: str
    score: float | None
    evidence: str | None
    codebook_digest: str | None
    model_score: float | None = None


@dataclass(frozen=True)
class TagScope:
    """The segments a 'tag' run matches: how many, and how many (with how many tokens) were
    matched by an earlier run."""

    segments: int
    matched: int
    matched_tokens: int


@dataclass(frozen=True)
class CodingRef:
    """A coding or decided suggestion attached to a segment (for carrying over on replace)."""

    table: str  # 'codings' or 'suggestions'
    row_id: str
    segment_id: str
    code_id: str
    status: str
    coder: str = ""  # a coding's coder (part of its identity); '' for suggestions


class Store:
    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        *,
        activity: str = "",
        notice: Callable[[str], None] | None = None,
    ) -> None:
        self.conn = conn
        self.path = path
        self._depth = 0
        # Shown to a command that waits for this one's write lock (see _write_lock_note).
        self.activity = activity
        # The library never prints: the CLI installs this to say "waiting for ..." on stderr.
        self.notice = notice

    # --- lifecycle -------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: Path,
        *,
        create: bool = False,
        activity: str = "",
        notice: Callable[[str], None] | None = None,
    ) -> Store:
        if not create:
            _check_database_file(path)
        try:
            conn = sqlite3.connect(path, isolation_level=None)
        except sqlite3.DatabaseError as exc:
            raise _store_error(path, exc) from None
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            # Each BEGIN waits at most this long itself; _begin() retries up to busy_seconds().
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_STEP_MS}")
            # Checked before anything is written (journal_mode rewrites the header).
            known = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'"
            ).fetchone()
            if known is None and not create:
                raise StoreError(
                    f"{path}: not a qualcode database (an SQLite file without qualcode's tables)",
                    _DAMAGED_HINT,
                )
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise _store_error(path, exc) from None
        except StoreError:
            conn.close()
            raise
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
        try:
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS migrations"
                " (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            done = {row[0] for row in self.conn.execute("SELECT name FROM migrations")}
        except sqlite3.DatabaseError as exc:
            raise _store_error(self.path, exc) from None
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

    def _select_in(
        self, sql: str, values: Sequence[object], *, before: tuple[object, ...] = ()
    ) -> Iterator[Any]:
        """Rows of ``sql`` whose ``{marks}`` is an IN list over ``values``, in batches that stay
        under SQLite's limit on bound parameters."""
        for i in range(0, len(values), _IN_BATCH):
            batch = values[i : i + _IN_BATCH]
            marks = ",".join("?" * len(batch))
            yield from self.conn.execute(sql.format(marks=marks), (*before, *batch))

    def applied_migrations(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM migrations ORDER BY name")]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction; nested calls join the outer one.

        SQLite errors that are the user's situation (disk full, read-only or locked database)
        become StoreError naming the database; the transaction is rolled back.
        """
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._begin()
        self._depth = 1
        note = self._write_lock_note()
        try:
            try:
                yield
                _test_pause_before_commit(self.path)
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:  # SQLite may have rolled back already (disk full)
                    with suppress(sqlite3.OperationalError):
                        self.conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:
            if _is_situation(exc):
                raise _store_error(self.path, exc) from None
            raise
        finally:
            self._depth = 0
            if note is not None:
                note.unlink(missing_ok=True)

    def _begin(self) -> None:
        """BEGIN IMMEDIATE, waiting (and saying so through ``notice``) while another command
        writes; a StoreError naming that command when the wait is over."""
        wait = busy_seconds()
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise _store_error(self.path, exc) from None
            other = self._lock_holder()
            if time.monotonic() >= deadline:
                raise StoreError(
                    f"{self.path}: the project is busy: {other} is still writing to it "
                    f"after {wait:g} s",
                    f"wait for it to finish and run the command again (${BUSY_ENV} sets how "
                    "many seconds to wait)",
                )
            if not told and self.notice is not None:
                self.notice(f"Waiting for {other} to finish (up to {wait:g} s)...")
                told = True
            time.sleep(0.05)

    def _lock_note_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock-note")

    def _write_lock_note(self) -> Path | None:
        """Who holds the write lock, for a command that has to wait (removed at commit)."""
        note = self._lock_note_path()
        text = json.dumps({"command": self.activity or "a qualcode command", "pid": os.getpid()})
        try:
            note.write_text(text, encoding="utf-8")
        except OSError:  # only a courtesy to other commands
            return None
        return note

    def _lock_holder(self) -> str:
        try:
            data = json.loads(self._lock_note_path().read_text(encoding="utf-8"))
            command, pid = str(data["command"]), int(data["pid"])
            os.kill(pid, 0)  # a note left by a killed command says nothing
        except (OSError, ValueError, KeyError, TypeError):
            return "another program"
        return f"'{command}' (pid {pid})"

    # --- documents and segments ------------------------------------------------------------
    def document_by_name(self, name: str) -> StoredDocument | None:
        row = self.conn.execute(_DOC_SELECT + " WHERE name = ?", (name,)).fetchone()
        return _document(row) if row else None

    def document_by_sha256(self, sha256: str) -> StoredDocument | None:
        row = self.conn.execute(_DOC_SELECT + " WHERE sha256 = ?", (sha256,)).fetchone()
        return _document(row) if row else None

    def document_by_id(self, doc_id: str) -> StoredDocument | None:
        row = self.conn.execute(_DOC_SELECT + " WHERE id = ?", (doc_id,)).fetchone()
        return _document(row) if row else None

    def documents(self) -> list[StoredDocument]:
        return [_document(r) for r in self.conn.execute(_DOC_SELECT + " ORDER BY name")]

    def insert_document(self, t: Transcript) -> None:
        m = t.meta
        self.conn.execute(
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
        self.conn.executemany(
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
        row = self.conn.execute("SELECT text FROM documents WHERE id = ?", (doc_id,)).fetchone()
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
        return [_segment(r) for r in self.conn.execute(sql, params)]

    def decisions_on_document(self, doc_id: str) -> list[CodingRef]:
        """Codings and decided (accepted/rejected) suggestions on a document's segments."""
        rows = self.conn.execute(
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
                self.conn.execute(
                    "UPDATE codings SET segment_id = ?, updated = ? WHERE id = ?",
                    (new_segment_id, now(), int(ref.row_id)),
                )
            else:
                self.conn.execute(
                    "UPDATE suggestions SET id = ?, segment_id = ?, updated = ? WHERE id = ?",
                    (new_suggestion_id, new_segment_id, now(), ref.row_id),
                )
        except sqlite3.IntegrityError:
            return False
        return True

    def rename_document(self, doc_id: str, name: str) -> None:
        self.conn.execute("UPDATE documents SET name = ? WHERE id = ?", (name, doc_id))

    def update_document_meta(self, doc_id: str, meta: DocumentMeta) -> None:
        self.conn.execute(
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
        self.conn.execute(
            "UPDATE documents SET sha256 = ?, source_path = ?, encoding = ? WHERE id = ?",
            (t.sha256, t.source_path, t.encoding, doc_id),
        )
        self.update_document_meta(doc_id, t.meta)

    def delete_document(self, doc_id: str) -> tuple[int, int]:
        """Remove a document and whatever hangs on it; returns (codings, suggestions) removed."""
        seg = "SELECT id FROM segments WHERE document_id = ?"
        codings = self.conn.execute(
            f"DELETE FROM codings WHERE segment_id IN ({seg})", (doc_id,)
        ).rowcount
        suggestions = self.conn.execute(
            f"DELETE FROM suggestions WHERE segment_id IN ({seg})", (doc_id,)
        ).rowcount
        self.conn.execute("DELETE FROM segments WHERE document_id = ?", (doc_id,))
        self.conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
        return codings, suggestions

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
        self.conn.execute(
            """INSERT INTO review_log (at, coder, action, segment_id, code_id, suggestion_id,
               detail) VALUES (?,?,?,?,?,?,?)""",
            (now(), coder, action, segment_id, code_id, suggestion_id, detail),
        )

    # --- language analysis cache ------------------------------------------------------------
    def cached_analyses(self, analyzer: str, forms: Iterable[str]) -> dict[str, str]:
        """Stored analyses (JSON text) for those of ``forms`` that have one."""
        return dict(
            self._select_in(
                "SELECT form, data FROM analyses WHERE analyzer = ? AND form IN ({marks})",
                list(forms),
                before=(analyzer,),
            )
        )

    def store_analyses(self, analyzer: str, items: Iterable[tuple[str, str]]) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO analyses (analyzer, form, data) VALUES (?, ?, ?)",
            ((analyzer, form, data) for form, data in items),
        )

    def analysis_cache_size(self, analyzer: str | None = None) -> int:
        if analyzer is None:
            return int(self.conn.execute("SELECT COUNT(*) FROM analyses").fetchone()[0])
        return int(
            self.conn.execute(
                "SELECT COUNT(*) FROM analyses WHERE analyzer = ?", (analyzer,)
            ).fetchone()[0]
        )

    # --- token index (fast re-tagging) ---------------------------------------------------------
    def form_ids(self, forms: Iterable[str]) -> dict[str, int]:
        """Ids of these word forms, adding the new ones."""
        wanted = sorted(set(forms))
        self.conn.executemany(
            "INSERT OR IGNORE INTO forms (form) VALUES (?)", ((f,) for f in wanted)
        )
        return dict(self._select_in("SELECT form, id FROM forms WHERE form IN ({marks})", wanted))

    def form_strings(self, ids: Iterable[int]) -> dict[int, str]:
        return dict(
            self._select_in("SELECT id, form FROM forms WHERE id IN ({marks})", sorted(set(ids)))
        )

    def token_form_blobs(self) -> Iterator[bytes]:
        """The packed form ids of every segment tag has tokenised."""
        for (blob,) in self.conn.execute("SELECT forms FROM segment_tokens"):
            yield bytes(blob)

    def all_forms(self) -> Iterator[tuple[int, str]]:
        yield from ((int(i), str(f)) for i, f in self.conn.execute("SELECT id, form FROM forms"))

    def untokenised_segment_texts(self) -> Iterator[str]:
        """Texts of the segments tag has not tokenised (interviewer turns, untagged imports)."""
        for (text,) in self.conn.execute(
            """SELECT s.text FROM segments s
               WHERE NOT EXISTS (SELECT 1 FROM segment_tokens t WHERE t.segment_id = s.id)"""
        ):
            yield str(text)

    def indexed_form_ids(self, analyzer: str) -> list[int]:
        return [
            int(r[0])
            for r in self.conn.execute(
                "SELECT DISTINCT form_id FROM form_keys WHERE analyzer = ?", (analyzer,)
            )
        ]

    def store_form_keys(self, analyzer: str, rows: Iterable[tuple[str, int, int]]) -> None:
        """Rows of (key, form id, exact)."""
        self.conn.executemany(
            "INSERT OR REPLACE INTO form_keys (analyzer, key, form_id, exact) VALUES (?,?,?,?)",
            ((analyzer, key, form_id, exact) for key, form_id, exact in rows),
        )

    def forms_with_keys(self, analyzer: str, keys: Iterable[str]) -> list[tuple[str, int, int]]:
        """(key, form id, exact) for the given keys."""
        return [
            (str(r[0]), int(r[1]), int(r[2]))
            for r in self._select_in(
                "SELECT key, form_id, exact FROM form_keys WHERE analyzer = ? AND key IN ({marks})",
                sorted(set(keys)),
                before=(analyzer,),
            )
        ]

    def store_segment_tokens(self, rows: Iterable[tuple[str, bytes, bytes, bytes]]) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO segment_tokens (segment_id, forms, starts, ends) "
            "VALUES (?, ?, ?, ?)",
            rows,
        )

    def open_tag_scope(
        self, *, city: str | None = None, include_interviewer: bool = False
    ) -> TagScope:
        """Put the segments 'tag' matches into the table temp.tag_scope, in order, for the
        queries below, and say how many there are and how many were matched before."""
        self.conn.execute(
            """CREATE TEMP TABLE IF NOT EXISTS tag_scope (
                 pos INTEGER PRIMARY KEY, segment_id TEXT NOT NULL UNIQUE,
                 start INTEGER NOT NULL, matched INTEGER NOT NULL, tokens INTEGER)"""
        )
        self.conn.execute("DELETE FROM temp.tag_scope")
        sql, params = self._tag_scope_sql(
            "s.id, s.start, m.segment_id IS NOT NULL, m.tokens",
            "LEFT JOIN tag_segments m ON m.segment_id = s.id",
            city,
            include_interviewer,
        )
        # Rows go in in document order, so pos (the rowid) numbers them in that order.
        self.conn.execute(
            f"INSERT INTO temp.tag_scope (segment_id, start, matched, tokens) {sql}", params
        )
        n, matched, tokens = self.conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(matched), 0), COALESCE(SUM(tokens), 0) "
            "FROM temp.tag_scope"
        ).fetchone()
        return TagScope(int(n), int(matched), int(tokens))

    def scope_segment_ids(self) -> list[str]:
        return [
            str(r[0])
            for r in self.conn.execute("SELECT segment_id FROM temp.tag_scope ORDER BY pos")
        ]

    def untokenised_in_scope(self) -> list[tuple[str, int]]:
        """(segment id, start) of the segments in temp.tag_scope never tokenised, in order."""
        return [
            (str(r[0]), int(r[1]))
            for r in self.conn.execute(
                """SELECT sc.segment_id, sc.start FROM temp.tag_scope sc
                   WHERE sc.matched = 0 AND NOT EXISTS (
                     SELECT 1 FROM segment_tokens t WHERE t.segment_id = sc.segment_id)
                   ORDER BY sc.pos"""
            )
        ]

    def scope_token_forms(self, *, matched: bool) -> list[tuple[str, bytes]]:
        """(segment id, packed form ids) of the tokenised segments in temp.tag_scope that were
        (or were not) matched before, in order."""
        return self.conn.execute(
            """SELECT sc.segment_id, t.forms
               FROM temp.tag_scope sc JOIN segment_tokens t ON t.segment_id = sc.segment_id
               WHERE sc.matched = ? ORDER BY sc.pos""",
            (int(matched),),
        ).fetchall()

    def token_offsets(self, segment_ids: Sequence[str]) -> dict[str, tuple[bytes, bytes]]:
        """Packed start and end offsets of these segments' tokens."""
        return {
            str(sid): (starts, ends)
            for sid, starts, ends in self._select_in(
                "SELECT segment_id, starts, ends FROM segment_tokens WHERE segment_id IN ({marks})",
                list(segment_ids),
            )
        }

    def _tag_scope_sql(
        self, columns: str, join: str, city: str | None, include_interviewer: bool
    ) -> tuple[str, list[object]]:
        """The one definition of the segments 'tag' matches (fast path and reference alike):
        no headings, no interviewer turns unless asked, optionally one city; document order."""
        sql = (
            f"SELECT {columns} FROM segments s JOIN documents d ON d.id = s.document_id "
            f"{join} WHERE s.unit != 'heading'"
        )
        params: list[object] = []
        if not include_interviewer:
            sql += " AND s.is_interviewer = 0"
        if city is not None:
            sql += " AND d.city = ?"
            params.append(city)
        return sql + " ORDER BY d.name, s.seq", params

    # --- tag cache (incremental re-tagging) ------------------------------------------------
    def tag_rule_digests(self, index: str) -> dict[str, str]:
        """Digests of each code's rules whose matches the cache holds. A cache made with
        another analyzer (``index``) is emptied first."""
        row = self.conn.execute("SELECT analyzer FROM tag_index WHERE id = 1").fetchone()
        if row is None or row[0] != index:
            for table in ("tag_matches", "tag_segments", "tag_rules"):
                self.conn.execute(f"DELETE FROM {table}")
            self.conn.execute(
                "INSERT OR REPLACE INTO tag_index (id, analyzer) VALUES (1, ?)", (index,)
            )
            return {}
        return {
            str(c): str(d) for c, d in self.conn.execute("SELECT code_id, digest FROM tag_rules")
        }

    def update_tag_cache(
        self,
        changed: Sequence[str],
        matches: Iterable[tuple[str, str, float, str]],
        rules: Iterable[tuple[str, str]],
    ) -> None:
        """Record this run's matches: those of the ``changed`` codes on the segments matched
        before, and those of every code on the new segments of temp.tag_scope.

        ``matches`` are (segment id, code, score, evidence JSON); ``rules`` (code, digest).
        """
        old: dict[tuple[str, str], tuple[float, str]] = {}
        if changed:
            # Segments outside this run's scope are not matched with the changed rules.
            dropped = self.conn.execute(
                "DELETE FROM tag_segments WHERE segment_id NOT IN "
                "(SELECT segment_id FROM temp.tag_scope)"
            ).rowcount
            if dropped:
                self.conn.execute(
                    "DELETE FROM tag_matches WHERE segment_id NOT IN "
                    "(SELECT segment_id FROM tag_segments)"
                )
            for sid, code, score, evidence in self._select_in(
                "SELECT segment_id, code_id, score, evidence FROM tag_matches "
                "WHERE code_id IN ({marks})",
                changed,
            ):
                old[(sid, code)] = (score, evidence)
        self.conn.execute(
            "DELETE FROM tag_matches WHERE segment_id IN "
            "(SELECT segment_id FROM temp.tag_scope WHERE matched = 0)"
        )
        # Only the matches that differ are written: a codebook edit rewrites few pages.
        new = {(sid, code): (score, evidence) for sid, code, score, evidence in matches}
        self.conn.executemany(
            "DELETE FROM tag_matches WHERE segment_id = ? AND code_id = ?",
            sorted(old.keys() - new.keys()),
        )
        self.conn.executemany(
            "INSERT OR REPLACE INTO tag_matches (segment_id, code_id, score, evidence) "
            "VALUES (?, ?, ?, ?)",
            sorted((*pair, *match) for pair, match in new.items() if old.get(pair) != match),
        )
        self.conn.execute(
            """INSERT OR REPLACE INTO tag_segments (segment_id, tokens)
               SELECT sc.segment_id, length(t.forms) / 4 FROM temp.tag_scope sc
               JOIN segment_tokens t ON t.segment_id = sc.segment_id WHERE sc.matched = 0"""
        )
        self.conn.execute("DELETE FROM tag_rules")
        self.conn.executemany("INSERT INTO tag_rules (code_id, digest) VALUES (?, ?)", rules)

    def open_tag_proposals(self) -> None:
        """Make temp.tag_proposals the cached rule matches on the segments of temp.tag_scope:
        (segment id, code, source, score, evidence, model score). A view: nothing is copied."""
        self._drop_tag_proposals()
        self.conn.execute(
            """CREATE TEMP VIEW tag_proposals AS
               SELECT segment_id, code_id, 'rule' AS source, score, evidence,
                      NULL AS model_score
               FROM tag_matches WHERE segment_id IN (SELECT segment_id FROM temp.tag_scope)"""
        )

    def _drop_tag_proposals(self) -> None:
        row = self.conn.execute(
            "SELECT type FROM sqlite_temp_master WHERE name = 'tag_proposals'"
        ).fetchone()
        if row is not None:
            self.conn.execute(f"DROP {row[0].upper()} temp.tag_proposals")

    def tag_proposals(self) -> list[tuple[str, str, str, float, str, float | None]]:
        return self.conn.execute(
            "SELECT segment_id, code_id, source, score, evidence, model_score "
            "FROM temp.tag_proposals"
        ).fetchall()

    def replace_tag_proposals(self, rows: Iterable[tuple[object, ...]]) -> None:
        """Make temp.tag_proposals a table of these rows (the rules' and the model's)."""
        self._drop_tag_proposals()
        self.conn.execute(
            """CREATE TEMP TABLE tag_proposals (
                 segment_id TEXT NOT NULL, code_id TEXT NOT NULL, source TEXT NOT NULL,
                 score REAL, evidence TEXT, model_score REAL,
                 PRIMARY KEY (segment_id, code_id))"""
        )
        self.conn.executemany("INSERT INTO temp.tag_proposals VALUES (?, ?, ?, ?, ?, ?)", rows)

    def tag_proposal_sources(self) -> list[tuple[str, int]]:
        return [
            (str(s), int(n))
            for s, n in self.conn.execute(
                "SELECT source, COUNT(*) FROM temp.tag_proposals GROUP BY source ORDER BY source"
            )
        ]

    def reconcile_suggestions(
        self, digest: str, make_id: Callable[[str, str], str]
    ) -> tuple[int, int, int, int, int]:
        """Make the suggestions on the segments of temp.tag_scope agree with temp.tag_proposals.

        A proposal becomes a pending suggestion unless the pair already has a suggestion (a
        decided one is never touched; a pending one is updated) or an accepted coding.
        Pending generated suggestions without a proposal are removed. Returns (new, updated,
        unchanged, removed, decided ones kept).
        """
        stamp = now()
        in_scope = "segment_id IN (SELECT segment_id FROM temp.tag_scope)"
        kept = self.conn.execute(
            f"SELECT COUNT(*) FROM suggestions WHERE status != 'pending' AND {in_scope}"
        ).fetchone()[0]
        pending = self.conn.execute(
            """SELECT COUNT(*) FROM suggestions g WHERE g.status = 'pending' AND EXISTS (
                 SELECT 1 FROM temp.tag_proposals p
                 WHERE p.segment_id = g.segment_id AND p.code_id = g.code_id)"""
        ).fetchone()[0]
        updated = self.conn.execute(
            """UPDATE suggestions AS g SET source = p.source, score = p.score,
                 evidence = p.evidence, codebook_digest = ?, model_score = p.model_score,
                 updated = ?
               FROM temp.tag_proposals AS p
               WHERE g.segment_id = p.segment_id AND g.code_id = p.code_id
                 AND g.status = 'pending'
                 AND NOT (g.source IS p.source AND g.score IS p.score
                   AND g.evidence IS p.evidence AND g.codebook_digest IS ?
                   AND g.model_score IS p.model_score)""",
            (digest, stamp, digest),
        ).rowcount
        # "+segment_id": scanning the suggestions beats looking each scope segment up.
        removed = self.conn.execute(
            f"""DELETE FROM suggestions WHERE status = 'pending'
                AND source IN ('rule', 'model', 'rule+model') AND +{in_scope}
                AND NOT EXISTS (SELECT 1 FROM temp.tag_proposals p
                  WHERE p.segment_id = suggestions.segment_id
                  AND p.code_id = suggestions.code_id)"""
        ).rowcount
        new = self.conn.execute(
            """SELECT p.segment_id, p.code_id, p.source, p.score, p.evidence, p.model_score
               FROM temp.tag_proposals p
               WHERE NOT EXISTS (SELECT 1 FROM suggestions g
                   WHERE g.segment_id = p.segment_id AND g.code_id = p.code_id)
                 AND NOT EXISTS (SELECT 1 FROM codings c
                   WHERE c.segment_id = p.segment_id AND c.code_id = p.code_id
                   AND c.status = 'accepted')
               ORDER BY p.segment_id, p.code_id"""
        ).fetchall()
        self.conn.executemany(
            """INSERT INTO suggestions (id, segment_id, code_id, source, score, evidence,
                 codebook_digest, model_score, status, created, updated)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)""",
            (
                (
                    make_id(sid, code),
                    sid,
                    code,
                    source,
                    score,
                    evidence,
                    digest,
                    model,
                    stamp,
                    stamp,
                )
                for sid, code, source, score, evidence, model in new
            ),
        )
        return len(new), updated, pending - updated, removed, int(kept)

    # --- codes and codebooks ---------------------------------------------------------------
    def sync_codes(self, codes: Sequence[tuple[str, str, str | None, str]]) -> list[str]:
        """Upsert (id, label, parent, definition) in order; retire codes no longer listed.

        Codes are never deleted: codings refer to them. Returns the ids that were retired.
        """
        self.conn.execute("PRAGMA defer_foreign_keys = ON")
        stamp = now()
        for position, (code_id, label, parent, definition) in enumerate(codes):
            self.conn.execute(
                """INSERT INTO codes (id, label, parent_id, definition, retired, updated, position)
                   VALUES (?, ?, ?, ?, 0, ?, ?)
                   ON CONFLICT(id) DO UPDATE SET label = excluded.label,
                     parent_id = excluded.parent_id, definition = excluded.definition,
                     retired = 0, position = excluded.position,
                     updated = CASE WHEN codes.label IS excluded.label
                       AND codes.parent_id IS excluded.parent_id
                       AND codes.definition IS excluded.definition AND codes.retired = 0
                       THEN codes.updated ELSE excluded.updated END""",
                (code_id, label, parent, definition, stamp, position),
            )
        listed = {c[0] for c in codes}
        retired = [
            r[0]
            for r in self.conn.execute("SELECT id FROM codes WHERE retired = 0 ORDER BY id")
            if r[0] not in listed
        ]
        self.conn.executemany(
            "UPDATE codes SET retired = 1, updated = ? WHERE id = ?", ((stamp, c) for c in retired)
        )
        return retired

    def code_ids(self, *, include_retired: bool = False) -> dict[str, str]:
        sql = "SELECT id, label FROM codes" + ("" if include_retired else " WHERE retired = 0")
        return dict(self.conn.execute(sql + " ORDER BY position, id"))

    def record_codebook(self, digest: str, name: str, version: str, source: str, data: str) -> None:
        self.conn.execute("DELETE FROM codebooks WHERE digest = ?", (digest,))
        self.conn.execute(
            "INSERT INTO codebooks (digest, name, version, source, data, loaded_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (digest, name, version, source, data, now()),
        )

    def latest_codebook(self) -> tuple[str, str, str] | None:
        """(digest, source, JSON data) of the codebook 'tag' used last."""
        row = self.conn.execute(
            "SELECT digest, source, data FROM codebooks ORDER BY rowid DESC LIMIT 1"
        ).fetchone()
        return (str(row[0]), str(row[1]), str(row[2])) if row else None

    # --- tagging ---------------------------------------------------------------------------
    def segments_to_tag(
        self, *, city: str | None = None, include_interviewer: bool = False
    ) -> list[tuple[str, int, str, str]]:
        """(segment id, start, text, city) of the segments that 'tag' matches, in order."""
        sql, params = self._tag_scope_sql(
            "s.id, s.start, s.text, COALESCE(d.city, '')", "", city, include_interviewer
        )
        return [
            (str(r[0]), int(r[1]), str(r[2]), str(r[3])) for r in self.conn.execute(sql, params)
        ]

    def cities(self) -> list[str]:
        return [
            str(r[0])
            for r in self.conn.execute(
                "SELECT DISTINCT city FROM documents WHERE city IS NOT NULL ORDER BY city"
            )
        ]

    def accepted_pairs(self) -> set[tuple[str, str]]:
        return {
            (str(r[0]), str(r[1]))
            for r in self.conn.execute(
                "SELECT segment_id, code_id FROM codings WHERE status = 'accepted'"
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
        return {str(c): int(n) for c, n in self.conn.execute(sql + " GROUP BY g.code_id", params)}

    def pending_review_rows(self, city: str | None = None) -> list[tuple[Any, ...]]:
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
        return [tuple(r) for r in self.conn.execute(sql, params)]

    # --- decisions ---------------------------------------------------------------------------
    def suggestion_infos(self, ids: Iterable[str]) -> dict[str, SuggestionState]:
        rows = self._select_in(
            """SELECT id, segment_id, code_id, status, source, score, evidence, codebook_digest
               FROM suggestions WHERE id IN ({marks})""",
            list(dict.fromkeys(ids)),
        )
        return {row[0]: SuggestionState(*row) for row in rows}

    def insert_review_suggestion(self, suggestion_id: str, segment_id: str, code_id: str) -> None:
        stamp = now()
        self.conn.execute(
            """INSERT OR IGNORE INTO suggestions (id, segment_id, code_id, source, status,
                 created, updated) VALUES (?, ?, ?, 'review', 'pending', ?, ?)""",
            (suggestion_id, segment_id, code_id, stamp, stamp),
        )

    def suggestion_for(self, segment_id: str, code_id: str) -> SuggestionState | None:
        row = self.conn.execute(
            """SELECT id, segment_id, code_id, status, source, score, evidence, codebook_digest
               FROM suggestions WHERE segment_id = ? AND code_id = ?""",
            (segment_id, code_id),
        ).fetchone()
        return SuggestionState(*row) if row else None

    def segment_texts(self, ids: Iterable[str]) -> dict[str, str]:
        return dict(
            self._select_in(
                "SELECT id, text FROM segments WHERE id IN ({marks})", list(dict.fromkeys(ids))
            )
        )

    def set_suggestion_status(self, suggestion_id: str, status: str, coder: str) -> bool:
        cursor = self.conn.execute(
            """UPDATE suggestions SET status = ?, coder = ?, updated = ?
               WHERE id = ? AND (status != ? OR coder IS NOT ?)""",
            (status, coder, now(), suggestion_id, status, coder),
        )
        return cursor.rowcount > 0

    def coding_status(self, segment_id: str, code_id: str, coder: str) -> str | None:
        row = self.conn.execute(
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
        self.conn.execute(
            """INSERT INTO codings (segment_id, code_id, coder, source, status, score, created,
                 updated) VALUES (?, ?, ?, ?, 'accepted', ?, ?, ?)
               ON CONFLICT(segment_id, code_id, coder) DO UPDATE SET status = 'accepted',
                 source = excluded.source, score = excluded.score, updated = excluded.updated""",
            (segment_id, code_id, coder, source, score, stamp, stamp),
        )
        return True

    def remove_coding(self, segment_id: str, code_id: str, coder: str) -> bool:
        cursor = self.conn.execute(
            """UPDATE codings SET status = 'removed', updated = ?
               WHERE segment_id = ? AND code_id = ? AND coder = ? AND status = 'accepted'""",
            (now(), segment_id, code_id, coder),
        )
        return cursor.rowcount > 0

    def segment_exists(self, segment_id: str) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM segments WHERE id = ?", (segment_id,)).fetchone()
            is not None
        )

    def coding_export_rows(self) -> list[tuple[object, ...]]:
        return [
            tuple(r)
            for r in self.conn.execute(
                """SELECT c.segment_id, d.name, COALESCE(d.city, ''), c.code_id, c.coder,
                          c.source, c.status, c.created
                   FROM codings c JOIN segments s ON s.id = c.segment_id
                   JOIN documents d ON d.id = s.document_id
                   ORDER BY d.name, s.seq, c.code_id, c.coder"""
            )
        ]

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

    def rejected_pairs(self) -> set[tuple[str, str]]:
        return {
            (str(r[0]), str(r[1]))
            for r in self.conn.execute(
                "SELECT segment_id, code_id FROM suggestions WHERE status = 'rejected'"
            )
        }

    def save_model(
        self,
        *,
        version: str,
        training_digest: str,
        codebook_digest: str,
        summary: str,
        data: bytes,
    ) -> int:
        cursor = self.conn.execute(
            """INSERT INTO models (created, qualcode_version, training_digest, codebook_digest,
                 summary, data) VALUES (?, ?, ?, ?, ?, ?)""",
            (now(), version, training_digest, codebook_digest, summary, data),
        )
        return int(cursor.lastrowid or 0)

    def models(self) -> list[tuple[int, str, str, str, str, str]]:
        """(id, created, version, training digest, codebook digest, summary JSON), newest first."""
        return [
            (int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]))
            for r in self.conn.execute(
                """SELECT id, created, qualcode_version, training_digest, codebook_digest,
                          summary FROM models ORDER BY id DESC"""
            )
        ]

    def model_data(self, model_id: int | None = None) -> tuple[int, bytes, str] | None:
        """(id, archive, summary JSON) of one model, by default the newest."""
        if model_id is None:
            row = self.conn.execute(
                "SELECT id, data, summary FROM models ORDER BY id DESC LIMIT 1"
            ).fetchone()
        else:
            row = self.conn.execute(
                "SELECT id, data, summary FROM models WHERE id = ?", (model_id,)
            ).fetchone()
        return (int(row[0]), bytes(row[1]), str(row[2])) if row else None

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

    def upsert_codes(self, codes: Sequence[tuple[str, str, str | None, str]]) -> None:
        """Add or update (id, label, parent, definition) without retiring any other code."""
        self.conn.execute("PRAGMA defer_foreign_keys = ON")
        stamp = now()
        base = int(self.conn.execute("SELECT COALESCE(MAX(position), 0) FROM codes").fetchone()[0])
        for i, (code_id, label, parent, definition) in enumerate(codes, start=1):
            self.conn.execute(
                """INSERT INTO codes (id, label, parent_id, definition, retired, updated, position)
                   VALUES (?, ?, ?, ?, 0, ?, ?)
                   ON CONFLICT(id) DO UPDATE SET label = excluded.label,
                     parent_id = excluded.parent_id, definition = excluded.definition,
                     retired = 0, updated = excluded.updated""",
                (code_id, label, parent, definition, stamp, base + i),
            )

    # --- name registry -------------------------------------------------------------------------
    def names(self) -> list[tuple[str, str, str, str, str, int, str]]:
        """(name, kind, action, pseudonym, forms JSON, count, source), sorted by name."""
        return [
            (str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), int(r[5]), str(r[6]))
            for r in self.conn.execute(
                "SELECT name, kind, action, pseudonym, forms, count, source FROM names "
                "ORDER BY name"
            )
        ]

    def upsert_names(self, rows: Iterable[tuple[str, str, str, str, str, int, str]]) -> None:
        self.conn.executemany(
            """INSERT INTO names (name, kind, action, pseudonym, forms, count, source, updated)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, action = excluded.action,
                 pseudonym = excluded.pseudonym, forms = excluded.forms,
                 count = excluded.count, source = excluded.source, updated = excluded.updated""",
            ((*r, now()) for r in rows),
        )

    def participants(self) -> list[tuple[str, str | None, str | None]]:
        """(participant, role, city) of documents and of speakers (metadata) that name one."""
        return [
            (str(r[0]), r[1], r[2])
            for r in self.conn.execute(
                "SELECT participant, role, city FROM documents "
                "WHERE participant IS NOT NULL AND participant != '' "
                "UNION SELECT sp.participant, sp.role, d.city FROM speakers sp "
                "JOIN documents d ON d.id = sp.document_id "
                "WHERE sp.participant IS NOT NULL AND sp.participant != '' ORDER BY 1"
            )
        ]

    # --- resegmenting (qualcode resegment) ----------------------------------------------------
    def park_segments(self, doc_id: str) -> None:
        """Give a document's segments negative seq numbers, so that the new segmentation's
        seq numbers are free while old and new segments are both stored."""
        self.conn.execute("UPDATE segments SET seq = -seq WHERE document_id = ?", (doc_id,))

    def update_segment(self, s: Segment) -> None:
        """Rewrite a kept segment (same id, so same offsets and text) in place: its codings,
        suggestions and tokens stay attached."""
        self.conn.execute(
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
        for sid in ids:
            codings += self.conn.execute(
                "DELETE FROM codings WHERE segment_id = ?", (sid,)
            ).rowcount
            suggestions += self.conn.execute(
                "DELETE FROM suggestions WHERE segment_id = ?", (sid,)
            ).rowcount
            self.conn.execute("DELETE FROM segments WHERE id = ?", (sid,))
        return codings, suggestions

    # --- speakers (per-speaker metadata, migration 0007) -------------------------------------
    def speakers(self, doc_id: str) -> list[tuple[str, str | None, str | None, str | None]]:
        """(speaker, participant, role, organisation_type) of one document, by speaker."""
        return [
            (str(r[0]), r[1], r[2], r[3])
            for r in self.conn.execute(
                "SELECT speaker, participant, role, organisation_type FROM speakers "
                "WHERE document_id = ? ORDER BY speaker",
                (doc_id,),
            )
        ]

    def replace_speakers(
        self, doc_id: str, rows: Iterable[tuple[str, str | None, str | None, str | None]]
    ) -> None:
        """Set a document's speaker metadata to exactly ``rows``."""
        self.conn.execute("DELETE FROM speakers WHERE document_id = ?", (doc_id,))
        self.conn.executemany(
            "INSERT INTO speakers (document_id, speaker, participant, role, organisation_type) "
            "VALUES (?,?,?,?,?)",
            ((doc_id, *r) for r in rows),
        )

    def all_speakers(self) -> list[tuple[str, str, str | None, str | None, str | None]]:
        """(document id, speaker, participant, role, organisation_type) of every speaker row."""
        return [
            tuple(r)
            for r in self.conn.execute(
                "SELECT document_id, speaker, participant, role, organisation_type FROM speakers "
                "ORDER BY document_id, speaker"
            )
        ]

    def segment_speakers(self) -> list[tuple[str, str, str | None, bool, int]]:
        """(segment id, document id, speaker, is_interviewer, words) of every segment."""
        return [
            (str(r[0]), str(r[1]), r[2], bool(r[3]), int(r[4]))
            for r in self.conn.execute(
                "SELECT id, document_id, speaker, is_interviewer, words FROM segments "
                "ORDER BY document_id, seq"
            )
        ]

    def document_texts(self) -> list[str]:
        return [str(r[0]) for r in self.conn.execute("SELECT text FROM documents ORDER BY name")]

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


BUSY_ENV = "QUALCODE_BUSY_TIMEOUT"
_BUSY_DEFAULT = 60.0
_BUSY_STEP_MS = 200
_SQLITE_HEADER = b"SQLite format 3\x00"
_DAMAGED_HINT = (
    "restore qualcode.db from a backup, or create a new project with 'qualcode init' "
    "and import the transcripts again"
)
# Test-only: sleep this many seconds just before COMMIT, after touching PATH.test-pause, so a
# test can kill the command while its transaction is open (tests/test_kill.py).
_TEST_PAUSE_ENV = "QUALCODE_TEST_PAUSE_BEFORE_COMMIT"


def busy_seconds() -> float:
    """How long a command waits for another one's write lock (${BUSY_ENV}, default 60 s)."""
    value = os.environ.get(BUSY_ENV, "")
    try:
        return max(0.0, float(value)) if value else _BUSY_DEFAULT
    except ValueError:
        return _BUSY_DEFAULT


def _test_pause_before_commit(path: Path) -> None:
    value = os.environ.get(_TEST_PAUSE_ENV)
    if value:
        path.with_name(path.name + ".test-pause").touch()
        time.sleep(float(value))


def _check_database_file(path: Path) -> None:
    """Refuse a missing, empty or non-SQLite qualcode.db (SQLite would start a new, empty one)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_SQLITE_HEADER))
    except FileNotFoundError:
        raise StoreError(f"{path}: project database not found", "run 'qualcode init DIR'") from None
    except OSError as exc:
        raise StoreError(f"{path}: cannot read project database ({exc.strerror})") from None
    if not head:
        raise StoreError(f"{path}: the project database is empty (0 bytes)", _DAMAGED_HINT)
    if head != _SQLITE_HEADER:
        raise StoreError(f"{path}: not an SQLite database (damaged or overwritten)", _DAMAGED_HINT)


def _is_situation(exc: sqlite3.Error) -> bool:
    """SQLite errors caused by the machine, not by a bug: a full disk, a read-only file."""
    text = str(exc).lower()
    return any(
        s in text
        for s in ("disk is full", "readonly database", "unable to open", "disk i/o", "locked")
    )


def _store_error(path: Path, exc: sqlite3.Error) -> StoreError:
    text = str(exc).lower()
    if "disk is full" in text:
        return StoreError(
            f"{path}: the disk is full; nothing was changed",
            "free some disk space and run the command again",
        )
    if "readonly" in text or "unable to open" in text:
        return StoreError(
            f"{path}: cannot write the project database ({exc})",
            "check that you may write to the project folder and to qualcode.db",
        )
    if "not a database" in text or "malformed" in text:
        return StoreError(f"{path}: the project database is damaged ({exc})", _DAMAGED_HINT)
    return StoreError(f"{path}: cannot use the project database ({exc})")


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
