"""Issue 13 "nothing lost, nothing crashes": the store and the commands that write to it.

Each test reproduces a promise that a probe found broken: codings lost on import --replace, a
failed command that still committed, tracebacks for full disks, locked or damaged databases.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, SAMPLE, Invoke, add_code, db_snapshot, qualcode_process, sql
from qualcode.csvout import atomic_write_bytes
from qualcode.errors import OutputError, StoreError
from qualcode.project import open_project

CODEBOOK = REPO / "codebooks" / "innovaatioekosysteemi.yaml"
FIRST = "Ensimmäinen vastaus kertoo yhteistyön vahvuuksista täällä Lounajoella."
SECOND = "Toinen vastaus jatkaa siitä, miten yritykset ja oppilaitokset tekevät työtä yhdessä."


def two_turns(tmp_path: Path) -> tuple[Path, str, str]:
    """A transcript with two answer turns; returns its path and the two segment ids."""
    path = tmp_path / "docs" / "lounajoki-koe.txt"
    path.parent.mkdir()
    path.write_text(f"H: Mitä kuuluu?\n\nV: {FIRST}\n\nV: {SECOND}\n", encoding="utf-8")
    return path, FIRST, SECOND


def segment_of(project_dir: Path, text: str) -> str:
    rows = sql(project_dir, "SELECT id FROM segments WHERE text = ?", (text,))
    assert len(rows) == 1, rows
    return str(rows[0][0])


def merge_turns(path: Path) -> None:
    path.write_text(f"H: Mitä kuuluu?\n\nV: {FIRST} {SECOND}\n", encoding="utf-8")


# --- 1. import --replace carries every accepted coding ------------------------------------------
@pytest.mark.parametrize("uncoded", ["first", "second"])
def test_merged_turns_keep_the_accepted_coding_and_log_the_removed_one(
    qc: Invoke, project_dir: Path, tmp_path: Path, uncoded: str
) -> None:
    path, first, second = two_turns(tmp_path)
    assert qc("import", path, "--city", "Lounajoki").exit_code == 0
    add_code(project_dir)
    a, b = segment_of(project_dir, first), segment_of(project_dir, second)
    assert qc("code", a, "vahvuudet").exit_code == 0
    assert qc("code", b, "vahvuudet").exit_code == 0
    removed = a if uncoded == "first" else b
    assert qc("uncode", removed, "vahvuudet").exit_code == 0

    merge_turns(path)
    result = qc("import", path, "--city", "Lounajoki", "--replace")
    assert result.exit_code == 0, result.output
    merged = segment_of(project_dir, f"{first} {second}")
    assert (
        "replaced  lounajoki-koe.txt: 2 segments, 22 words; 1 coding(s) carried over; "
        "1 not carried over (see the review log)"
    ) in result.output
    assert sql(project_dir, "SELECT segment_id, code_id, coder, status FROM codings") == [
        (merged, "vahvuudet", "testaaja", "accepted")
    ]
    assert (
        f"  Warning: could not carry over removed coding vahvuudet on segment {removed} "
        f"('{(first if uncoded == 'first' else second)[:57]}...'): the merged segment "
        f"{merged} keeps the accepted one (kept in the review log)"
    ) in result.output
    logged = sql(
        project_dir,
        "SELECT segment_id, code_id, detail FROM review_log WHERE action = 'lost-on-replace'",
    )
    assert [(s, c) for s, c, _ in logged] == [(removed, "vahvuudet")]
    detail = json.loads(str(logged[0][2]))
    assert detail["status"] == "removed"
    assert detail["reason"] == f"the merged segment {merged} keeps the accepted one"


def test_two_equal_codings_on_merged_turns_become_one(
    qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    path, first, second = two_turns(tmp_path)
    assert qc("import", path, "--city", "Lounajoki").exit_code == 0
    add_code(project_dir)
    for text in (first, second):
        assert qc("code", segment_of(project_dir, text), "vahvuudet").exit_code == 0
    merge_turns(path)
    result = qc("import", path, "--city", "Lounajoki", "--replace")
    assert result.exit_code == 0, result.output
    assert "1 coding(s) carried over (1 merged into the same coding)" in result.output
    assert "Warning" not in result.output
    merged = segment_of(project_dir, f"{first} {second}")
    assert sql(project_dir, "SELECT segment_id, status FROM codings") == [(merged, "accepted")]
    assert sql(project_dir, "SELECT COUNT(*) FROM review_log WHERE action = 'lost-on-replace'") == [
        (0,)
    ]


def test_an_accepted_suggestion_wins_over_a_rejected_one_on_a_merged_segment(
    qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    path, first, second = two_turns(tmp_path)
    assert qc("import", path, "--city", "Lounajoki").exit_code == 0
    add_code(project_dir)
    a, b = segment_of(project_dir, first), segment_of(project_dir, second)
    conn = sqlite3.connect(project_dir / "qualcode.db")
    with conn:
        # The rejected one sorts first by segment id in one of the two orders: both are tried.
        for sid, status in (
            ((a, "rejected"), (b, "accepted")) if a < b else ((b, "accepted"), (a, "rejected"))
        ):
            conn.execute(
                """INSERT INTO suggestions (id, segment_id, code_id, source, status, coder,
                   created, updated) VALUES (?, ?, 'vahvuudet', 'rule', ?, 'anna', 'x', 'x')""",
                (f"g-{sid}", sid, status),
            )
    conn.close()
    merge_turns(path)
    result = qc("import", path, "--city", "Lounajoki", "--replace")
    assert result.exit_code == 0, result.output
    merged = segment_of(project_dir, f"{first} {second}")
    assert sql(project_dir, "SELECT segment_id, status FROM suggestions") == [(merged, "accepted")]
    assert "1 coding(s) carried over; 1 not carried over" in result.output
    assert f"rejected suggestion vahvuudet on segment {a}" in result.output


# --- 3. replacing with another document's text -------------------------------------------------
def test_replace_with_the_text_of_another_document_names_both(
    qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    one, two = folder / "yksi.txt", folder / "kaksi.txt"
    one.write_text(f"V: {FIRST}\n", encoding="utf-8")
    two.write_text(f"V: {SECOND}\n", encoding="utf-8")
    assert qc("import", folder, "--city", "Lounajoki").exit_code == 0
    one.write_bytes(two.read_bytes())
    before = db_snapshot(project_dir)
    result = qc("import", one, "--city", "Lounajoki", "--replace")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: {one}: the new version of 'yksi.txt' has the same text as 'kaksi.txt'",
        "Hint: a project holds each text once: check that you picked the right file",
    ]
    assert db_snapshot(project_dir) == before


# --- 2. and 4. a failed write changes nothing ---------------------------------------------------
def test_tag_into_an_unwritable_folder_stores_nothing(
    qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    assert qc("import", SAMPLE / "lounajoki-01-kaupunki.txt", "--city", "Lounajoki").exit_code == 0
    blocker = tmp_path / "raportit"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    out = blocker / "review.csv"
    before = db_snapshot(project_dir)
    result = qc("tag", "--codebook", CODEBOOK, "--out", out)
    assert result.exit_code == 1
    assert result.output.splitlines()[-2:] == [
        f"Error: {out}: cannot write ({blocker} is a file, not a folder)",
        "Hint: choose a folder you can write to, or fix its permissions",
    ]
    assert db_snapshot(project_dir) == before
    # The same run into a writable folder stores the suggestions and writes the CSV.
    good = tmp_path / "ok" / "review.csv"
    assert qc("tag", "--codebook", CODEBOOK, "--out", good).exit_code == 0
    assert good.read_bytes().startswith("\ufeffsuggestion_id".encode())
    assert sql(project_dir, "SELECT COUNT(*) FROM suggestions")[0][0] > 0
    assert [p.name for p in good.parent.iterdir()] == ["review.csv"]


def test_export_into_a_file_path_is_a_one_line_error(
    qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "x"
    blocker.write_text("", encoding="utf-8")
    result = qc("export", "segments", "--out", blocker / "s.csv")
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"Error: {blocker / 's.csv'}: cannot write ({blocker} is a file, not a folder)"
    )


def test_a_full_disk_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "matriisi.csv"
    target.write_bytes("vanha sisältö".encode())

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError) as caught:
        atomic_write_bytes(target, "uusi sisältö".encode())
    assert caught.value.message == f"{target}: cannot write (No space left on device)"
    assert caught.value.hint == "free some disk space and run the command again"
    assert target.read_bytes() == "vanha sisältö".encode()
    assert [p.name for p in tmp_path.iterdir()] == ["matriisi.csv"]


def test_a_full_database_is_a_store_error_and_changes_nothing(project_dir: Path) -> None:
    from qualcode.workflow import import_paths

    before = db_snapshot(project_dir)
    project = open_project(project_dir)
    try:
        pages = project.store.conn.execute("PRAGMA page_count").fetchone()[0]
        # SQLite's own limit makes the database "full" exactly as a full disk would.
        project.store.conn.execute(f"PRAGMA max_page_count = {pages + 2}")
        with pytest.raises(StoreError) as caught:
            import_paths(project, [SAMPLE])
    finally:
        project.close()
    assert caught.value.message == (
        f"{project_dir / 'qualcode.db'}: the disk is full; nothing was changed"
    )
    assert caught.value.hint == "free some disk space and run the command again"
    assert db_snapshot(project_dir) == before
    conn = sqlite3.connect(project_dir / "qualcode.db")
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


# --- 8. an empty or foreign qualcode.db --------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "the project database is empty (0 bytes)"),
        (b"tuula,rantakivi\n", "not an SQLite database (damaged or overwritten)"),
        (None, "not a qualcode database (an SQLite file without qualcode's tables)"),
    ],
)
def test_a_damaged_database_is_refused_not_reinitialised(
    qc: Invoke, project_dir: Path, content: bytes | None, problem: str
) -> None:
    db = project_dir / "qualcode.db"
    db.unlink()
    if content is None:
        conn = sqlite3.connect(db)
        conn.execute("CREATE TABLE muistiinpanot (teksti TEXT)")
        conn.close()
    else:
        db.write_bytes(content)
    before = db.read_bytes()
    result = qc("status")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: {db}: {problem}",
        "Hint: restore qualcode.db from a backup, or create a new project with "
        "'qualcode init' and import the transcripts again",
    ]
    assert db.read_bytes() == before


# --- 6. and 7. training options and damaged models ----------------------------------------------
@pytest.mark.parametrize(("command", "folds"), [("train", "1"), ("evaluate", "0")])
def test_fewer_than_two_folds_is_a_usage_error(qc: Invoke, command: str, folds: str) -> None:
    result = qc(command, "--folds", folds)
    assert result.exit_code == 2
    assert (
        f"Error: Invalid value for '--folds': {folds} is not in the range x>=2."
        in result.output.splitlines()
    )


def test_a_model_with_missing_arrays_names_its_id(qc: Invoke, project_dir: Path) -> None:
    from qualcode.classify import SegmentClassifier

    texts = [
        "Yritys sai rahoitusta.",
        "Pankki myönsi lainan.",
        "Joukkue voitti.",
        "Pelaaja teki maalin.",
    ]
    model = SegmentClassifier(vector_weight=0.0).fit(texts, np.array(["a", "a", "b", "b"]))
    with np.load(io.BytesIO(model.to_bytes({"codes": ["a", "b"]}))) as archive:
        arrays = {name: archive[name] for name in archive.files if name != "coef"}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    assert qc("import", SAMPLE / "lounajoki-01-kaupunki.txt", "--city", "Lounajoki").exit_code == 0
    conn = sqlite3.connect(project_dir / "qualcode.db")
    with conn:
        conn.execute(
            """INSERT INTO models (id, created, qualcode_version, training_digest,
               codebook_digest, summary, data) VALUES (7, 'x', '0', 'd', 'c', ?, ?)""",
            (json.dumps({"thresholds": {}}), buffer.getvalue()),
        )
    conn.close()
    before = db_snapshot(project_dir)
    result = qc("tag", "--codebook", CODEBOOK)
    assert result.exit_code == 1
    assert result.output.splitlines()[-2:] == [
        "Error: model 7: damaged model: 'coef' is missing",
        "Hint: retrain with 'qualcode train' (the damaged model is then no longer used)",
    ]
    assert db_snapshot(project_dir) == before


# --- 9. file modes follow the umask -------------------------------------------------------------
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_written_files_follow_the_umask(qc: Invoke, tmp_path: Path, umask: int, mode: int) -> None:
    old = os.umask(umask)
    try:
        out = tmp_path / "segments.csv"
        assert qc("export", "segments", "--out", out).exit_code == 0
        atomic_write_bytes(tmp_path / "raportti.docx", b"x")
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == mode
    assert (tmp_path / "raportti.docx").stat().st_mode & 0o777 == mode


# --- 5. a busy project ----------------------------------------------------------------------------


def wait_for(path: Path, process: subprocess.Popen[str], seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"exited early: {process.communicate()}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.05)


def test_a_command_waits_for_a_running_tag_and_names_it(qc: Invoke, project_dir: Path) -> None:
    assert qc("import", SAMPLE / "lounajoki-01-kaupunki.txt", "--city", "Lounajoki").exit_code == 0
    add_code(project_dir)
    segment = str(sql(project_dir, "SELECT id FROM segments WHERE is_interviewer = 0")[0][0])
    db = project_dir / "qualcode.db"
    marker = project_dir / "qualcode.db.test-pause"
    tag = qualcode_process(
        project_dir, "tag", "--codebook", CODEBOOK, QUALCODE_TEST_PAUSE_BEFORE_COMMIT="10"
    )
    try:
        wait_for(marker, tag)
        impatient = qualcode_process(
            project_dir, "code", segment, "vahvuudet", QUALCODE_BUSY_TIMEOUT="0.5"
        )
        out, err = impatient.communicate(timeout=60)
        assert impatient.returncode == 1, (out, err)
        assert err.splitlines() == [
            f"Waiting for 'qualcode tag' (pid {tag.pid}) to finish (up to 0.5 s)...",
            f"Error: {db}: the project is busy: 'qualcode tag' (pid {tag.pid}) is still "
            "writing to it after 0.5 s",
            "Hint: wait for it to finish and run the command again ($QUALCODE_BUSY_TIMEOUT "
            "sets how many seconds to wait)",
        ]
        assert sql(project_dir, "SELECT COUNT(*) FROM codings") == [(0,)]
        patient = qualcode_process(
            project_dir, "code", segment, "vahvuudet", QUALCODE_BUSY_TIMEOUT="120"
        )
        out, err = patient.communicate(timeout=180)
        assert patient.returncode == 0, (out, err)
        assert err.splitlines()[0] == (
            f"Waiting for 'qualcode tag' (pid {tag.pid}) to finish (up to 120 s)..."
        )
        assert tag.wait(timeout=60) == 0
    finally:
        if tag.poll() is None:
            tag.kill()
            tag.wait()
    assert sql(project_dir, "SELECT code_id, status FROM codings") == [("vahvuudet", "accepted")]
    assert sql(project_dir, "SELECT COUNT(*) FROM suggestions")[0][0] > 0
    assert not (project_dir / "qualcode.db.lock-note").exists()


def test_a_read_only_database_is_a_store_error_and_changes_nothing(
    qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    from qualcode.workflow.reviewing import code_segment

    path, first, _ = two_turns(tmp_path)
    assert qc("import", path, "--city", "Lounajoki").exit_code == 0
    add_code(project_dir)
    before = db_snapshot(project_dir)
    project = open_project(project_dir)
    try:
        # What SQLite says for a read-only file or folder (chmod does not stop root in CI).
        project.store.conn.execute("PRAGMA query_only = ON")
        with pytest.raises(StoreError) as caught:
            code_segment(project, segment_of(project_dir, first), "vahvuudet")
    finally:
        project.close()
    assert caught.value.message == (
        f"{project_dir / 'qualcode.db'}: cannot write the project database "
        "(attempt to write a readonly database)"
    )
    assert caught.value.hint == "check that you may write to the project folder and to qualcode.db"
    assert db_snapshot(project_dir) == before
