"""The language-analysis cache and the token index that makes re-tagging fast."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from qualcode.store.connection import Database
from qualcode.store.rows import FormKey, TokenOffsets


class AnalysisCache:
    """What language analysis leaves behind for the next run (``store.analysis``): the
    analyses of each word form, the form ids, the lemma and compound-part keys of each form,
    and each tokenised segment's packed form ids and offsets."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def cached_analyses(self, analyzer: str, forms: Iterable[str]) -> dict[str, str]:
        """Stored analyses (JSON text) for those of ``forms`` that have one."""
        return dict(
            self._db.select_in(
                "SELECT form, data FROM analyses WHERE analyzer = ? AND form IN ({marks})",
                list(forms),
                before=(analyzer,),
            )
        )

    def store_analyses(self, analyzer: str, items: Iterable[tuple[str, str]]) -> None:
        self._db.conn.executemany(
            "INSERT OR REPLACE INTO analyses (analyzer, form, data) VALUES (?, ?, ?)",
            ((analyzer, form, data) for form, data in items),
        )

    def analysis_cache_size(self, analyzer: str | None = None) -> int:
        if analyzer is None:
            return self._db.count("SELECT COUNT(*) FROM analyses")
        return self._db.count("SELECT COUNT(*) FROM analyses WHERE analyzer = ?", (analyzer,))

    def form_ids(self, forms: Iterable[str]) -> dict[str, int]:
        """Ids of these word forms, adding the new ones."""
        wanted = sorted(set(forms))
        self._db.conn.executemany(
            "INSERT OR IGNORE INTO forms (form) VALUES (?)", ((f,) for f in wanted)
        )
        return dict(
            self._db.select_in("SELECT form, id FROM forms WHERE form IN ({marks})", wanted)
        )

    def form_strings(self, ids: Iterable[int]) -> dict[int, str]:
        return dict(
            self._db.select_in("SELECT id, form FROM forms WHERE id IN ({marks})", sorted(set(ids)))
        )

    def token_form_blobs(self) -> Iterator[bytes]:
        """The packed form ids of every segment tag has tokenised."""
        for (blob,) in self._db.conn.execute("SELECT forms FROM segment_tokens"):
            yield bytes(blob)

    def all_forms(self) -> Iterator[tuple[int, str]]:
        yield from (
            (int(i), str(f)) for i, f in self._db.conn.execute("SELECT id, form FROM forms")
        )

    def untokenised_segment_texts(self) -> Iterator[str]:
        """Texts of the segments tag has not tokenised (interviewer turns, untagged imports)."""
        for (text,) in self._db.conn.execute(
            """SELECT s.text FROM segments s
               WHERE NOT EXISTS (SELECT 1 FROM segment_tokens t WHERE t.segment_id = s.id)"""
        ):
            yield str(text)

    def indexed_form_ids(self, analyzer: str) -> list[int]:
        return [
            int(r[0])
            for r in self._db.conn.execute(
                "SELECT DISTINCT form_id FROM form_keys WHERE analyzer = ?", (analyzer,)
            )
        ]

    def store_form_keys(self, analyzer: str, rows: Iterable[FormKey]) -> None:
        """Rows of (key, form id, exact)."""
        self._db.conn.executemany(
            "INSERT OR REPLACE INTO form_keys (analyzer, key, form_id, exact) VALUES (?,?,?,?)",
            ((analyzer, key, form_id, exact) for key, form_id, exact in rows),
        )

    def forms_with_keys(self, analyzer: str, keys: Iterable[str]) -> list[FormKey]:
        """(key, form id, exact) for the given keys."""
        return [
            (str(r[0]), int(r[1]), int(r[2]))
            for r in self._db.select_in(
                "SELECT key, form_id, exact FROM form_keys WHERE analyzer = ? AND key IN ({marks})",
                sorted(set(keys)),
                before=(analyzer,),
            )
        ]

    def store_segment_tokens(self, rows: Iterable[tuple[str, bytes, bytes, bytes]]) -> None:
        self._db.conn.executemany(
            "INSERT OR REPLACE INTO segment_tokens (segment_id, forms, starts, ends) "
            "VALUES (?, ?, ?, ?)",
            rows,
        )

    def token_offsets(self, segment_ids: Sequence[str]) -> dict[str, TokenOffsets]:
        """Packed start and end offsets of these segments' tokens."""
        return {
            str(sid): (starts, ends)
            for sid, starts, ends in self._db.select_in(
                "SELECT segment_id, starts, ends FROM segment_tokens WHERE segment_id IN ({marks})",
                list(segment_ids),
            )
        }
