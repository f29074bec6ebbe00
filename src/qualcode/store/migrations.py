"""Versioned schema migrations: small, named, applied in order, each in its own transaction.

Never edit a migration that has shipped; add a new one. ``store/connection.py`` applies them.
"""

from __future__ import annotations

MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "0001_initial",
        """
        CREATE TABLE documents (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            source_path TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            format TEXT NOT NULL,
            encoding TEXT NOT NULL,
            title TEXT NOT NULL,
            city TEXT,
            participant TEXT,
            role TEXT,
            organisation_type TEXT,
            kind TEXT NOT NULL CHECK (kind IN ('interview', 'workshop')),
            date TEXT,
            language TEXT NOT NULL,
            text TEXT NOT NULL,
            words INTEGER NOT NULL,
            imported_at TEXT NOT NULL
        );
        CREATE INDEX documents_sha256 ON documents(sha256);

        CREATE TABLE segments (
            id TEXT PRIMARY KEY,
            document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE RESTRICT,
            seq INTEGER NOT NULL,
            speaker TEXT,
            is_interviewer INTEGER NOT NULL CHECK (is_interviewer IN (0, 1)),
            unit TEXT NOT NULL CHECK (unit IN ('turn', 'paragraph', 'item', 'heading')),
            start INTEGER NOT NULL CHECK (start >= 0),
            "end" INTEGER NOT NULL CHECK ("end" > start),
            start_time REAL,
            end_time REAL,
            text TEXT NOT NULL,
            words INTEGER NOT NULL,
            UNIQUE (document_id, seq)
        );

        CREATE TABLE codes (
            id TEXT PRIMARY KEY,
            label TEXT NOT NULL,
            parent_id TEXT REFERENCES codes(id),
            definition TEXT,
            retired INTEGER NOT NULL DEFAULT 0 CHECK (retired IN (0, 1)),
            updated TEXT NOT NULL
        );

        -- Codings are the researchers' decisions; they must never disappear silently, hence
        -- RESTRICT: removing a segment that carries codings fails unless they are moved first.
        CREATE TABLE codings (
            id INTEGER PRIMARY KEY,
            segment_id TEXT NOT NULL REFERENCES segments(id) ON DELETE RESTRICT,
            code_id TEXT NOT NULL REFERENCES codes(id) ON DELETE RESTRICT,
            coder TEXT NOT NULL,
            source TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('accepted', 'removed')),
            score REAL,
            created TEXT NOT NULL,
            updated TEXT NOT NULL,
            UNIQUE (segment_id, code_id, coder)
        );
        CREATE INDEX codings_code ON codings(code_id);

        CREATE TABLE suggestions (
            id TEXT PRIMARY KEY,
            segment_id TEXT NOT NULL REFERENCES segments(id) ON DELETE RESTRICT,
            code_id TEXT NOT NULL REFERENCES codes(id) ON DELETE RESTRICT,
            source TEXT NOT NULL,
            score REAL,
            evidence TEXT,
            codebook_digest TEXT,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'accepted', 'rejected')),
            coder TEXT,
            created TEXT NOT NULL,
            updated TEXT NOT NULL,
            UNIQUE (segment_id, code_id)
        );
        CREATE INDEX suggestions_code ON suggestions(code_id);

        CREATE TABLE review_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            coder TEXT NOT NULL,
            action TEXT NOT NULL,
            segment_id TEXT,
            code_id TEXT,
            suggestion_id TEXT,
            detail TEXT
        );
        CREATE TRIGGER review_log_no_update BEFORE UPDATE ON review_log
        BEGIN SELECT RAISE(ABORT, 'review_log is append-only'); END;
        CREATE TRIGGER review_log_no_delete BEFORE DELETE ON review_log
        BEGIN SELECT RAISE(ABORT, 'review_log is append-only'); END;
        """,
    ),
    (
        "0002_tagging",
        """
        -- Each distinct word form is analysed once per analyzer version and kept here, so that
        -- re-tagging after a codebook edit does not analyse the corpus again.
        CREATE TABLE analyses (
            analyzer TEXT NOT NULL,
            form TEXT NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (analyzer, form)
        ) WITHOUT ROWID;

        -- The codebooks used by 'tag', as validated JSON (never pickled), newest last.
        CREATE TABLE codebooks (
            digest TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            version TEXT NOT NULL,
            source TEXT NOT NULL,
            data TEXT NOT NULL,
            loaded_at TEXT NOT NULL
        );

        ALTER TABLE codes ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX suggestions_segment ON suggestions(segment_id);
        CREATE INDEX codings_segment ON codings(segment_id);
        """,
    ),
    (
        "0003_models",
        """
        -- Trained suggesters. data is an .npz archive of numeric arrays with a JSON header,
        -- loaded with allow_pickle=False: a project file can never make qualcode run code.
        CREATE TABLE models (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created TEXT NOT NULL,
            qualcode_version TEXT NOT NULL,
            training_digest TEXT NOT NULL,
            codebook_digest TEXT NOT NULL,
            summary TEXT NOT NULL,
            data BLOB NOT NULL
        );
        -- The model's probability for a suggestion's code (also for rule suggestions), used to
        -- put the suggestions the model is least sure about first.
        ALTER TABLE suggestions ADD COLUMN model_score REAL;
        """,
    ),
    (
        "0004_token_index",
        """
        -- Word forms get integer ids; each segment keeps its tokens as packed int32 arrays
        -- (form ids, start and end offsets), and every analysed form is indexed by the lemmas
        -- and compound-member runs it can match. Re-tagging after a codebook edit then looks
        -- up the codebook's words in form_keys and scans arrays instead of re-reading text.
        CREATE TABLE forms (
            id INTEGER PRIMARY KEY,
            form TEXT NOT NULL UNIQUE
        );
        CREATE TABLE form_keys (
            analyzer TEXT NOT NULL,
            key TEXT NOT NULL,
            form_id INTEGER NOT NULL REFERENCES forms(id),
            exact INTEGER NOT NULL CHECK (exact IN (0, 1)),
            PRIMARY KEY (analyzer, key, form_id)
        ) WITHOUT ROWID;
        CREATE INDEX form_keys_form ON form_keys(analyzer, form_id);
        CREATE TABLE segment_tokens (
            segment_id TEXT PRIMARY KEY REFERENCES segments(id) ON DELETE CASCADE,
            forms BLOB NOT NULL,
            starts BLOB NOT NULL,
            ends BLOB NOT NULL
        );
        """,
    ),
    (
        "0005_names",
        """
        -- The name registry: people and organisations found in the texts (or listed in the
        -- metadata), what to do with each, and its stable pseudonym. forms is a JSON list.
        CREATE TABLE names (
            name TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('person', 'org')),
            action TEXT NOT NULL CHECK (action IN ('pseudonymise', 'ignore')),
            pseudonym TEXT NOT NULL,
            forms TEXT NOT NULL,
            count INTEGER NOT NULL DEFAULT 0,
            source TEXT NOT NULL,
            updated TEXT NOT NULL
        );
        """,
    ),
    (
        "0006_tag_cache",
        """
        -- What 'tag' matched last, so that re-tagging after a codebook edit re-matches only the
        -- codes whose rules changed, and only the segments it has not matched yet. The cache
        -- holds for the analyzer in tag_index (cleared when it changes): tag_rules has a digest
        -- of each codable code's rules, tag_segments the segments matched under all of them,
        -- (with their number of tokens), and tag_matches every match of those codes on those
        -- segments (score and evidence).
        -- Suggestions are still reconciled with these matches on every run.
        CREATE TABLE tag_index (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            analyzer TEXT NOT NULL
        );
        CREATE TABLE tag_rules (
            code_id TEXT PRIMARY KEY,
            digest TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE tag_segments (
            segment_id TEXT PRIMARY KEY REFERENCES segments(id) ON DELETE CASCADE,
            tokens INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE tag_matches (
            segment_id TEXT NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
            code_id TEXT NOT NULL,
            score REAL NOT NULL,
            evidence TEXT NOT NULL,
            PRIMARY KEY (segment_id, code_id)
        ) WITHOUT ROWID;
        CREATE INDEX tag_matches_code ON tag_matches(code_id);
        """,
    ),
    (
        "0007_speakers",
        """
        -- Per-speaker metadata from metadata.csv rows with a speaker (the label as it appears in
        -- the transcript): who the speaker is, so that quotes are signed with the speaker's own
        -- role, not the document participant's.
        CREATE TABLE speakers (
            document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            speaker TEXT NOT NULL,
            participant TEXT,
            role TEXT,
            organisation_type TEXT,
            PRIMARY KEY (document_id, speaker)
        ) WITHOUT ROWID;
        """,
    ),
)
