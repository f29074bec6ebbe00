from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from conftest import FIXTURES, SAMPLE, Invoke
from qualcode.errors import StoreError
from qualcode.store import Store, TagRunOrderError
from qualcode.store.migrations import MIGRATIONS
from qualcode.store.rows import Reconciled, TagScope


def test_new_store_records_all_migrations(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "q.db", create=True)
    assert store.applied_migrations() == [name for name, _ in MIGRATIONS]
    assert store.conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    store.close()


def test_old_fixture_database_migrates_and_keeps_data(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    conn.executescript((FIXTURES / "store_0001.sql").read_text(encoding="utf-8"))
    conn.close()
    store = Store.open(db)
    assert store.applied_migrations() == [name for name, _ in MIGRATIONS]
    doc = store.documents.document_by_name("vanha.txt")
    assert doc is not None and doc.meta.city == "Saarvala"
    assert [s.text for s in store.documents.segments(doc.id)] == [
        "Miten yhteistyö alkoi?",
        "Hitaasti.",
    ]
    assert store.reads.counts()["codings"] == 1
    store.close()


def test_review_log_is_append_only(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "q.db", create=True)
    with store.transaction():
        store.decisions.log("anna", "accept", code_id="x")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("DELETE FROM review_log")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("UPDATE review_log SET coder = 'eve'")
    store.close()


def test_transaction_rolls_back_everything(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "q.db", create=True)
    with pytest.raises(RuntimeError), store.transaction():
        store.decisions.log("anna", "accept")
        with store.transaction():  # nested joins the outer transaction
            store.decisions.log("anna", "reject")
        raise RuntimeError("boom")
    assert store.reads.counts()["review_log"] == 0
    store.close()


def test_missing_database_and_newer_schema(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="project database not found"):
        Store.open(tmp_path / "none.db")
    store = Store.open(tmp_path / "q.db", create=True)
    store.conn.execute("INSERT INTO migrations VALUES ('9999_future', 'x')")
    store.close()
    with pytest.raises(StoreError, match="made by a newer qualcode"):
        Store.open(tmp_path / "q.db")


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError):
        Store.open(path)


def test_tag_run_enforces_its_order(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "q.db", create=True)
    with pytest.raises(TagRunOrderError, match=r"^a tag run must start inside store.transaction"):
        store.start_tag_run("voikko|match.v1")
    with store.transaction():
        run = store.start_tag_run("voikko|match.v1")
        assert (run.scope, run.old_rule_digests) == (TagScope(0, 0, 0), {})
        with pytest.raises(
            TagRunOrderError, match=r"^tag run: cannot read the proposals once started$"
        ):
            run.tag_proposals()
        run.update_tag_cache([], [], [("yhteistyo", "abc")])
        with pytest.raises(TagRunOrderError, match="cannot tokenise the scope once cache updated"):
            run.untokenised_in_scope()
        assert run.reconcile_suggestions("d", lambda s, c: s + c) == Reconciled(0, 0, 0, 0, 0)
        with pytest.raises(
            TagRunOrderError, match="cannot reconcile the suggestions once reconciled"
        ):
            run.reconcile_suggestions("d", lambda s, c: s + c)
        assert run.tag_proposal_sources() == []
    with store.transaction():
        assert store.start_tag_run("voikko|match.v1").old_rule_digests == {"yhteistyo": "abc"}
        with pytest.raises(TagRunOrderError, match="count the proposals: a newer run has started"):
            run.tag_proposal_sources()
        # A cache made with another analyzer is emptied before the scope reads it.
        assert store.start_tag_run("simplemma|match.v1").old_rule_digests == {}
        assert store.start_tag_run("voikko|match.v1").old_rule_digests == {}
    store.close()


def test_upsert_codes_as_a_whole_codebook_or_as_an_import(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "q.db", create=True)
    with store.transaction():
        codes = store.codes
        whole = [("a", "Yhteistyö", None, ""), ("b", "Verkostot", "a", "")]
        assert codes.upsert_codes(whole, retire_missing=True) == []
        # An import appends new codes after the others and retires nothing.
        imported = [("c", "Kehittäminen", None, ""), ("a", "Yhteistyö ja luottamus", None, "")]
        assert codes.upsert_codes(imported, retire_missing=False) == []
        assert codes.code_ids() == {
            "a": "Yhteistyö ja luottamus",
            "b": "Verkostot",
            "c": "Kehittäminen",
        }
        assert list(codes.code_ids()) == ["a", "b", "c"]
        # A whole codebook sets the order (a child before its parent is fine) and retires the rest.
        assert codes.upsert_codes([whole[1], whole[0]], retire_missing=True) == ["c"]
        assert list(codes.code_ids()) == ["b", "a"]
        assert list(codes.code_ids(include_retired=True)) == ["b", "a", "c"]
    store.close()


def test_status_json_serialises_the_store_rows(qc: Invoke) -> None:
    # StatusRow keeps a __dict__ (no slots): 'status --json' dumps it as it is.
    assert qc("import", SAMPLE).exit_code == 0
    result = qc("status", "--json")
    assert result.exit_code == 0
    rows = json.loads(result.output)
    assert rows[0] == {
        "city": "Ilvesvaara",
        "kind": "interview",
        "documents": 2,
        "segments": 53,
        "interviewer_segments": 26,
        "words": 2626,
    }
    assert sum(r["documents"] for r in rows) == 16
