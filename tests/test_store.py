from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from conftest import FIXTURES
from qualcode.errors import StoreError
from qualcode.store import Store
from qualcode.store.migrations import MIGRATIONS


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
    assert store.counts()["codings"] == 1
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
    assert store.counts()["review_log"] == 0
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
