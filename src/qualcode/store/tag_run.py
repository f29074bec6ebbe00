"""One 'tag' run over the temp tables it works in, as an object that enforces their order.

A run (``store.start_tag_run(...)``, inside the command's transaction) goes:

1. start: read the digests of the rules whose matches the cache holds (emptying the cache if
   another analyzer made it), then fill temp.tag_scope with the segments to match, each marked
   matched-before or not. The scope reads the cache, so this order is fixed here, not by callers.
2. tokens: ``untokenised_in_scope``, ``scope_token_forms`` (the caller tokenises and stores
   the fresh segments through ``store.analysis`` in between).
3. ``update_tag_cache``: record the matches; the cached matches on the scope become the
   run's proposals (temp.tag_proposals).
4. ``tag_proposals`` / ``replace_tag_proposals``: the model adds its proposals.
5. ``reconcile_suggestions``: pending suggestions agree with the proposals. Once.

A call out of order, or on a run a newer one has replaced, is a bug in qualcode, not a user
error: it raises ``TagRunOrderError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from qualcode.store.connection import Database, now
from qualcode.store.rows import Proposal, Reconciled, ScopeSegment, TagScope, TokenForms

_SCOPED, _CACHED, _RECONCILED = 1, 2, 3
_STAGE_NAMES = {_SCOPED: "started", _CACHED: "cache updated", _RECONCILED: "reconciled"}


class TagRunOrderError(RuntimeError):
    """A tag run's step was called out of order (a bug in the caller)."""


class TagRun:
    """The temp tables of one 'tag' run (see the module docstring for the order)."""

    def __init__(
        self, db: Database, index: str, *, city: str | None, include_interviewer: bool
    ) -> None:
        if not db.in_transaction:
            raise TagRunOrderError("a tag run must start inside store.transaction()")
        self._db = db
        db.tag_run = self  # the temp tables are the connection's: an older run loses them
        self.old_rule_digests = self._rule_digests(index)
        self.scope = self._open_scope(city, include_interviewer)
        self._stage = _SCOPED

    def _expect(self, stages: tuple[int, ...], doing: str) -> None:
        if self._db.tag_run is not self:
            raise TagRunOrderError(f"tag run: cannot {doing}: a newer run has started")
        if self._stage not in stages:
            raise TagRunOrderError(f"tag run: cannot {doing} once {_STAGE_NAMES[self._stage]}")

    def untokenised_in_scope(self) -> list[ScopeSegment]:
        """(segment id, start) of the segments in temp.tag_scope never tokenised, in order."""
        self._expect((_SCOPED,), "tokenise the scope")
        return [
            (str(r[0]), int(r[1]))
            for r in self._db.conn.execute(
                """SELECT sc.segment_id, sc.start FROM temp.tag_scope sc
                   WHERE sc.matched = 0 AND NOT EXISTS (
                     SELECT 1 FROM segment_tokens t WHERE t.segment_id = sc.segment_id)
                   ORDER BY sc.pos"""
            )
        ]

    def scope_token_forms(self, *, matched: bool) -> list[TokenForms]:
        """(segment id, packed form ids) of the tokenised segments in temp.tag_scope that were
        (or were not) matched before, in order."""
        self._expect((_SCOPED,), "read the tokens")
        return self._db.conn.execute(
            """SELECT sc.segment_id, t.forms
               FROM temp.tag_scope sc JOIN segment_tokens t ON t.segment_id = sc.segment_id
               WHERE sc.matched = ? ORDER BY sc.pos""",
            (int(matched),),
        ).fetchall()

    def scope_segment_ids(self) -> list[str]:
        self._expect((_SCOPED, _CACHED), "read the scope")
        return [
            str(r[0])
            for r in self._db.conn.execute("SELECT segment_id FROM temp.tag_scope ORDER BY pos")
        ]

    def update_tag_cache(
        self,
        changed: Sequence[str],
        matches: Iterable[tuple[str, str, float, str]],
        rules: Iterable[tuple[str, str]],
    ) -> None:
        """Record this run's matches: those of the ``changed`` codes on the segments matched
        before, and those of every code on the new segments of temp.tag_scope. Then the
        cached matches on the scope become the run's proposals (temp.tag_proposals).

        ``matches`` are (segment id, code, score, evidence JSON); ``rules`` (code, digest).
        Tokenise the scope first: the cache counts each new segment's tokens.
        """
        self._expect((_SCOPED,), "update the match cache")
        old: dict[tuple[str, str], tuple[float, str]] = {}
        if changed:
            # Segments outside this run's scope are not matched with the changed rules.
            dropped = self._db.conn.execute(
                "DELETE FROM tag_segments WHERE segment_id NOT IN "
                "(SELECT segment_id FROM temp.tag_scope)"
            ).rowcount
            if dropped:
                self._db.conn.execute(
                    "DELETE FROM tag_matches WHERE segment_id NOT IN "
                    "(SELECT segment_id FROM tag_segments)"
                )
            for sid, code, score, evidence in self._db.select_in(
                "SELECT segment_id, code_id, score, evidence FROM tag_matches "
                "WHERE code_id IN ({marks})",
                changed,
            ):
                old[(sid, code)] = (score, evidence)
        self._db.conn.execute(
            "DELETE FROM tag_matches WHERE segment_id IN "
            "(SELECT segment_id FROM temp.tag_scope WHERE matched = 0)"
        )
        # Only the matches that differ are written: a codebook edit rewrites few pages.
        new = {(sid, code): (score, evidence) for sid, code, score, evidence in matches}
        self._db.conn.executemany(
            "DELETE FROM tag_matches WHERE segment_id = ? AND code_id = ?",
            sorted(old.keys() - new.keys()),
        )
        self._db.conn.executemany(
            "INSERT OR REPLACE INTO tag_matches (segment_id, code_id, score, evidence) "
            "VALUES (?, ?, ?, ?)",
            sorted((*pair, *match) for pair, match in new.items() if old.get(pair) != match),
        )
        self._db.conn.execute(
            """INSERT OR REPLACE INTO tag_segments (segment_id, tokens)
               SELECT sc.segment_id, length(t.forms) / 4 FROM temp.tag_scope sc
               JOIN segment_tokens t ON t.segment_id = sc.segment_id WHERE sc.matched = 0"""
        )
        self._db.conn.execute("DELETE FROM tag_rules")
        self._db.conn.executemany("INSERT INTO tag_rules (code_id, digest) VALUES (?, ?)", rules)
        self._open_proposals()
        self._stage = _CACHED

    def tag_proposals(self) -> list[Proposal]:
        """The run's proposals: (segment id, code, source, score, evidence, model score)."""
        self._expect((_CACHED,), "read the proposals")
        return self._db.conn.execute(
            "SELECT segment_id, code_id, source, score, evidence, model_score "
            "FROM temp.tag_proposals"
        ).fetchall()

    def replace_tag_proposals(self, rows: Iterable[Proposal]) -> None:
        """Make temp.tag_proposals a table of these rows (the rules' and the model's)."""
        self._expect((_CACHED,), "replace the proposals")
        self._drop_tag_proposals()
        self._db.conn.execute(
            """CREATE TEMP TABLE tag_proposals (
                 segment_id TEXT NOT NULL, code_id TEXT NOT NULL, source TEXT NOT NULL,
                 score REAL, evidence TEXT, model_score REAL,
                 PRIMARY KEY (segment_id, code_id))"""
        )
        self._db.conn.executemany("INSERT INTO temp.tag_proposals VALUES (?, ?, ?, ?, ?, ?)", rows)

    def tag_proposal_sources(self) -> list[tuple[str, int]]:
        """(source, proposals) of the run's proposals, by source."""
        self._expect((_CACHED, _RECONCILED), "count the proposals")
        return [
            (str(s), int(n))
            for s, n in self._db.conn.execute(
                "SELECT source, COUNT(*) FROM temp.tag_proposals GROUP BY source ORDER BY source"
            )
        ]

    def reconcile_suggestions(self, digest: str, make_id: Callable[[str, str], str]) -> Reconciled:
        """Make the suggestions on the segments of temp.tag_scope agree with temp.tag_proposals.

        A proposal becomes a pending suggestion unless the pair already has a suggestion (a
        decided one is never touched; a pending one is updated) or an accepted coding.
        Pending generated suggestions without a proposal are removed. Once per run.
        """
        self._expect((_CACHED,), "reconcile the suggestions")
        stamp = now()
        in_scope = "segment_id IN (SELECT segment_id FROM temp.tag_scope)"
        kept = self._db.conn.execute(
            f"SELECT COUNT(*) FROM suggestions WHERE status != 'pending' AND {in_scope}"
        ).fetchone()[0]
        pending = self._db.conn.execute(
            """SELECT COUNT(*) FROM suggestions g WHERE g.status = 'pending' AND EXISTS (
                 SELECT 1 FROM temp.tag_proposals p
                 WHERE p.segment_id = g.segment_id AND p.code_id = g.code_id)"""
        ).fetchone()[0]
        updated = self._db.conn.execute(
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
        removed = self._db.conn.execute(
            f"""DELETE FROM suggestions WHERE status = 'pending'
                AND source IN ('rule', 'model', 'rule+model') AND +{in_scope}
                AND NOT EXISTS (SELECT 1 FROM temp.tag_proposals p
                  WHERE p.segment_id = suggestions.segment_id
                  AND p.code_id = suggestions.code_id)"""
        ).rowcount
        new = self._db.conn.execute(
            """SELECT p.segment_id, p.code_id, p.source, p.score, p.evidence, p.model_score
               FROM temp.tag_proposals p
               WHERE NOT EXISTS (SELECT 1 FROM suggestions g
                   WHERE g.segment_id = p.segment_id AND g.code_id = p.code_id)
                 AND NOT EXISTS (SELECT 1 FROM codings c
                   WHERE c.segment_id = p.segment_id AND c.code_id = p.code_id
                   AND c.status = 'accepted')
               ORDER BY p.segment_id, p.code_id"""
        ).fetchall()
        self._db.conn.executemany(
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
        self._stage = _RECONCILED
        return Reconciled(len(new), updated, pending - updated, removed, int(kept))

    def _rule_digests(self, index: str) -> dict[str, str]:
        """Digests of each code's rules whose matches the cache holds. A cache made with
        another analyzer (``index``) is emptied first."""
        row = self._db.conn.execute("SELECT analyzer FROM tag_index WHERE id = 1").fetchone()
        if row is None or row[0] != index:
            for table in ("tag_matches", "tag_segments", "tag_rules"):
                self._db.conn.execute(f"DELETE FROM {table}")
            self._db.conn.execute(
                "INSERT OR REPLACE INTO tag_index (id, analyzer) VALUES (1, ?)", (index,)
            )
            return {}
        return {
            str(c): str(d)
            for c, d in self._db.conn.execute("SELECT code_id, digest FROM tag_rules")
        }

    def _open_scope(self, city: str | None, include_interviewer: bool) -> TagScope:
        """Put the segments 'tag' matches into the table temp.tag_scope, in order, and say how
        many there are and how many were matched before."""
        self._db.conn.execute(
            """CREATE TEMP TABLE IF NOT EXISTS tag_scope (
                 pos INTEGER PRIMARY KEY, segment_id TEXT NOT NULL UNIQUE,
                 start INTEGER NOT NULL, matched INTEGER NOT NULL, tokens INTEGER)"""
        )
        self._db.conn.execute("DELETE FROM temp.tag_scope")
        sql, params = scope_sql(
            "s.id, s.start, m.segment_id IS NOT NULL, m.tokens",
            "LEFT JOIN tag_segments m ON m.segment_id = s.id",
            city,
            include_interviewer,
        )
        # Rows go in in document order, so pos (the rowid) numbers them in that order.
        self._db.conn.execute(
            f"INSERT INTO temp.tag_scope (segment_id, start, matched, tokens) {sql}", params
        )
        n, matched, tokens = self._db.conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(matched), 0), COALESCE(SUM(tokens), 0) "
            "FROM temp.tag_scope"
        ).fetchone()
        return TagScope(int(n), int(matched), int(tokens))

    def _open_proposals(self) -> None:
        """Make temp.tag_proposals the cached rule matches on the segments of temp.tag_scope:
        (segment id, code, source, score, evidence, model score). A view: nothing is copied."""
        self._drop_tag_proposals()
        self._db.conn.execute(
            """CREATE TEMP VIEW tag_proposals AS
               SELECT segment_id, code_id, 'rule' AS source, score, evidence,
                      NULL AS model_score
               FROM tag_matches WHERE segment_id IN (SELECT segment_id FROM temp.tag_scope)"""
        )

    def _drop_tag_proposals(self) -> None:
        row = self._db.conn.execute(
            "SELECT type FROM sqlite_temp_master WHERE name = 'tag_proposals'"
        ).fetchone()
        if row is not None:
            self._db.conn.execute(f"DROP {row[0].upper()} temp.tag_proposals")


def scope_sql(
    columns: str, join: str, city: str | None, include_interviewer: bool
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
