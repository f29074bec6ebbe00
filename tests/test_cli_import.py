from __future__ import annotations

import csv
import shutil
import sqlite3
from pathlib import Path

import pytest

from conftest import SAMPLE, Invoke, db_snapshot


def rows(project_dir: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(project_dir / "qualcode.db")
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


def test_sample_corpus_imports_completely(qc: Invoke, project_dir: Path) -> None:
    result = qc("import", SAMPLE)
    assert result.exit_code == 0, result.output
    with (SAMPLE / "metadata.csv").open(encoding="utf-8-sig") as handle:
        # Speaker rows (a speaker column) describe speakers, not documents.
        listed = {row["file"]: row for row in csv.DictReader(handle) if not row["speaker"]}
    on_disk = {
        p.name
        for p in SAMPLE.iterdir()
        if p.suffix in (".txt", ".md", ".docx", ".vtt", ".srt") and p.name != "README.md"
    }
    assert set(listed) == on_disk
    docs = rows(project_dir, "SELECT name, city, kind, format FROM documents")
    assert {d[0] for d in docs} == on_disk
    assert {d[0]: d[1] for d in docs} == {f: r["city"] for f, r in listed.items()}
    assert len({d[1] for d in docs}) >= 4
    assert {d[3] for d in docs} >= {"txt", "docx", "vtt", "srt", "md"}
    assert sum(d[2] == "interview" for d in docs) >= 12
    assert sum(d[2] == "workshop" for d in docs) >= 3
    # Every interview has interviewer turns marked, and answers that are not.
    marked = dict(
        rows(
            project_dir,
            """SELECT d.name, SUM(s.is_interviewer) FROM documents d
        JOIN segments s ON s.document_id = d.id WHERE d.kind = 'interview' GROUP BY d.name""",
        )
    )
    assert all(n > 5 for n in marked.values()), marked
    # The offset invariant on every stored segment.
    bad = rows(
        project_dir,
        """SELECT s.id FROM segments s JOIN documents d ON d.id = s.document_id
        WHERE substr(d.text, s.start + 1, s."end" - s.start) != s.text""",
    )
    assert bad == []
    words = rows(project_dir, "SELECT name, words FROM documents WHERE kind = 'interview'")
    assert all(1000 <= n <= 2500 for _, n in words), words


def test_reimport_is_a_noop_that_says_so(qc: Invoke, project_dir: Path) -> None:
    qc("import", SAMPLE)
    before = db_snapshot(project_dir)
    result = qc("import", SAMPLE)
    assert result.exit_code == 0
    assert "unchanged" in result.output and "0 imported" in result.output
    assert db_snapshot(project_dir) == before


def copy_sample(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "aineisto"
    folder.mkdir()
    for name in names:
        shutil.copy(SAMPLE / name, folder / name)
    return folder


def test_changed_file_needs_replace_and_carries_codings(
    qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    folder = copy_sample(tmp_path, "lounajoki-01-kaupunki.txt")
    path = folder / "lounajoki-01-kaupunki.txt"
    assert qc("import", path, "--city", "Lounajoki").exit_code == 0
    segs = rows(project_dir, "SELECT id, text FROM segments WHERE is_interviewer = 0 ORDER BY seq")
    kept_id, kept_text = segs[2]
    gone_id, gone_text = segs[3]
    conn = sqlite3.connect(project_dir / "qualcode.db")
    with conn:
        conn.execute(
            "INSERT INTO codes (id, label, updated) VALUES ('yhteistyo', 'Yhteistyö', 'x')"
        )
        for sid in (kept_id, gone_id):
            conn.execute(
                """INSERT INTO codings (segment_id, code_id, coder, source, status, created, updated)
                   VALUES (?, 'yhteistyo', 'anna', 'manual', 'accepted', 'x', 'x')""",
                (sid,),
            )
    conn.close()

    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(gone_text, "Tämä vastaus kirjoitettiin kokonaan uudelleen."), encoding="utf-8"
    )
    before = db_snapshot(project_dir)
    refused = qc("import", path, "--city", "Lounajoki")
    assert refused.exit_code == 1
    assert refused.output.splitlines()[0] == (
        f"Error: {path}: differs from the 'lounajoki-01-kaupunki.txt' imported earlier"
    )
    assert db_snapshot(project_dir) == before

    replaced = qc("import", path, "--city", "Lounajoki", "--replace")
    assert replaced.exit_code == 0, replaced.output
    assert "1 coding(s) carried over" in replaced.output
    assert "could not carry over coding yhteistyo on segment " + gone_id in replaced.output
    coded = rows(
        project_dir, """SELECT s.text FROM codings c JOIN segments s ON s.id = c.segment_id"""
    )
    assert coded == [(kept_text,)]
    lost = rows(project_dir, "SELECT action, segment_id FROM review_log")
    assert lost == [("lost-on-replace", gone_id)]
    assert rows(project_dir, "SELECT COUNT(*) FROM documents") == [(1,)]


def test_same_content_under_another_name_is_skipped(qc: Invoke, tmp_path: Path) -> None:
    folder = copy_sample(tmp_path, "saarvala-tyopaja.md")
    shutil.copy(folder / "saarvala-tyopaja.md", folder / "kopio.md")
    result = qc("import", folder, "--city", "Saarvala")
    assert result.exit_code == 0
    assert "duplicate" in result.output and "1 imported" in result.output


def test_city_is_required(qc: Invoke, tmp_path: Path, project_dir: Path) -> None:
    folder = copy_sample(tmp_path, "saarvala-tyopaja.md")
    result = qc("import", folder / "saarvala-tyopaja.md")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: {folder / 'saarvala-tyopaja.md'}: no city given",
        "Hint: add a row to metadata.csv next to the file, or pass --city",
    ]


BAD_INPUTS = {
    "tyhja.txt": (b"", "file is empty"),
    "kuva.txt": (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
        "looks like a binary file, not text",
    ),
    "rikki.docx": (
        b"PK\x03\x04 not really a zip",
        "is not a valid .docx file (damaged or truncated zip)",
    ),
    "teksti.docx": (b"Haastattelija: hei", "is not a valid .docx file (not a zip archive)"),
    "katki.srt": (
        b"1\n00:00:01,000 --> 00:00:0",
        "malformed cue timing '00:00:01,000 --> 00:00:0'",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_file_fails_whole_import_and_changes_nothing(
    qc: Invoke, project_dir: Path, tmp_path: Path, name: str
) -> None:
    qc("import", SAMPLE / "saarvala-tyopaja.md", "--city", "Saarvala")
    before = db_snapshot(project_dir)
    folder = copy_sample(tmp_path, "lounajoki-01-kaupunki.txt", "pohjanlinna-tyopaja.txt")
    data, problem = BAD_INPUTS[name]
    (folder / name).write_bytes(data)
    result = qc("import", folder, "--city", "Testikaupunki")
    assert result.exit_code == 1
    first = result.output.splitlines()[0]
    location = f"{folder / name}:2" if name.endswith(".srt") else str(folder / name)
    assert first == f"Error: {location}: {problem}"
    assert db_snapshot(project_dir) == before


def test_windows_1252_transcript_imports_correctly(
    qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "excel.txt"
    path.write_bytes(
        "H: Miten yhteistyö sujuu?\r\n\r\nV: Hyvin – äänestimme “kyllä”.\r\n".encode("cp1252")
    )
    assert qc("import", path, "--city", "Saarvala").exit_code == 0
    assert rows(project_dir, "SELECT text FROM segments ORDER BY seq") == [
        ("Miten yhteistyö sujuu?",),
        ("Hyvin – äänestimme “kyllä”.",),
    ]
    assert rows(project_dir, "SELECT encoding FROM documents") == [("cp1252",)]


def test_metadata_errors_are_reported_with_line(
    qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    folder = copy_sample(tmp_path, "lounajoki-01-kaupunki.txt")
    (folder / "metadata.csv").write_text(
        "file,city,kind\nlounajoki-01-kaupunki.txt,Lounajoki,interview\npuuttuu.txt,Lounajoki,interview\n",
        encoding="utf-8",
    )
    before = db_snapshot(project_dir)
    result = qc("import", folder)
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"Error: {folder / 'metadata.csv'}:3: file 'puuttuu.txt' not found next to the metadata file"
    )
    assert db_snapshot(project_dir) == before


def test_unsupported_file_type(qc: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    path.write_bytes(b"%PDF-1.4")
    result = qc("import", path, "--city", "X")
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == f"Error: {path}: unsupported file type '.pdf'"


def test_metadata_update_on_unchanged_file(qc: Invoke, project_dir: Path, tmp_path: Path) -> None:
    folder = copy_sample(tmp_path, "pohjanlinna-tyopaja.txt")
    qc("import", folder, "--city", "Pohjanlinna", "--kind", "workshop")
    (folder / "metadata.csv").write_text(
        "file,city,kind,date\npohjanlinna-tyopaja.txt,Pohjanlinna,workshop,2026-03-25\n",
        encoding="utf-8",
    )
    result = qc("import", folder)
    assert "metadata updated" in result.output
    assert rows(project_dir, "SELECT date, kind FROM documents") == [("2026-03-25", "workshop")]


def test_a_file_named_after_a_participant_is_refused_unless_kept(
    qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "aineisto"
    folder.mkdir()
    (folder / "lounajoki-rantakivi_tuula.txt").write_bytes(
        (SAMPLE / "lounajoki-01-kaupunki.txt").read_bytes()
    )
    (folder / "lounajoki-02.txt").write_bytes((SAMPLE / "lounajoki-04-amk.txt").read_bytes())
    (folder / "metadata.csv").write_text(
        "file,city,participant,role,organisation_type,kind\n"
        "lounajoki-rantakivi_tuula.txt,Lounajoki,Tuula Rantakivi,kaupungin edustaja,kaupunki,"
        "interview\n"
        "lounajoki-02.txt,Lounajoki,Riikka Halonen,korkeakoulun edustaja,korkeakoulu,interview\n",
        encoding="utf-8",
    )
    before = db_snapshot(project_dir)
    result = qc("import", folder)
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"Error: {folder / 'lounajoki-rantakivi_tuula.txt'}: the file name contains a "
        "participant's name (Rantakivi, Tuula)"
    )
    assert db_snapshot(project_dir) == before  # nothing imported, not even the other file
    result = qc("import", folder, "--keep-file-names")
    assert result.exit_code == 0 and "2 imported" in result.output
