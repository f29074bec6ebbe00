"""``qualcode resegment``: settings changed after import are applied to the imported documents,
and codings and decisions are carried over as ``import --replace`` carries them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import Invoke, add_code, db_snapshot, sql

LONG_A = " ".join(f"Ensimmäinen osa kertoo yhteistyöstä numero {i}." for i in range(6))
LONG_B = " ".join(f"Toinen osa kertoo oppilaitoksista numero {i}." for i in range(6))


def set_segment(project_dir: Path, key: str, value: str) -> None:
    toml = project_dir / "qualcode.toml"
    text = toml.read_text(encoding="utf-8")
    text, n = re.subn(rf"(?m)^{key} = .*$", lambda _: f"{key} = {value}", text)
    assert n == 1
    toml.write_text(text, encoding="utf-8")


def segment_of(project_dir: Path, text: str) -> str:
    rows = sql(project_dir, "SELECT id FROM segments WHERE text = ?", (text,))
    assert len(rows) == 1, rows
    return str(rows[0][0])


def long_turn(tmp_path: Path) -> Path:
    path = tmp_path / "lounajoki-koe.txt"
    path.write_text(f"H: Kerro lisää.\n\nV: {LONG_A} {LONG_B}\n", encoding="utf-8")
    return path


def test_unchanged_settings_change_nothing(qc: Invoke, project_dir: Path, tmp_path: Path) -> None:
    assert qc("import", long_turn(tmp_path), "--city", "Lounajoki").exit_code == 0
    before = db_snapshot(project_dir)
    result = qc("resegment")
    assert result.exit_code == 0
    assert result.output == (
        "unchanged   lounajoki-koe.txt: as before\n0 resegmented, 1 other, 1 in all\n"
    )
    assert db_snapshot(project_dir) == before


def test_a_longer_max_words_merges_pieces_and_keeps_the_accepted_coding(
    qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    set_segment(project_dir, "max_words", "40")
    assert qc("import", long_turn(tmp_path), "--city", "Lounajoki").exit_code == 0
    add_code(project_dir)
    a, b = segment_of(project_dir, LONG_A), segment_of(project_dir, LONG_B)
    assert qc("code", a, "vahvuudet").exit_code == 0
    assert qc("code", b, "vahvuudet").exit_code == 0
    assert qc("uncode", b, "vahvuudet").exit_code == 0

    set_segment(project_dir, "max_words", "150")
    result = qc("resegment")
    assert result.exit_code == 0, result.output
    merged = segment_of(project_dir, f"{LONG_A} {LONG_B}")
    assert (
        "resegmented lounajoki-koe.txt: 2 segments (was 3); 1 coding(s) carried over; "
        "1 not carried over (see the review log)\n"
    ) in result.output
    assert (
        f"  Warning: could not carry over removed coding vahvuudet on segment {b} "
        f"('{LONG_B[:57]}...'): the merged segment {merged} keeps the accepted one "
        "(kept in the review log)"
    ) in result.output
    assert sql(project_dir, "SELECT segment_id, code_id, status FROM codings") == [
        (merged, "vahvuudet", "accepted")
    ]
    logged = sql(
        project_dir,
        "SELECT segment_id, code_id, detail FROM review_log WHERE action = 'lost-on-resegment'",
    )
    assert [(s, c) for s, c, _ in logged] == [(b, "vahvuudet")]
    assert json.loads(str(logged[0][2]))["reason"] == (
        f"the merged segment {merged} keeps the accepted one"
    )
    assert sql(project_dir, "SELECT COUNT(*) FROM segments") == [(2,)]


def test_a_new_speaker_pattern_splits_a_coded_paragraph_and_says_where_the_coding_went(
    qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "saarvala-koe.txt"
    answer = "Vastaus on pitkä ja kertoo Saarvalan yritysten yhteistyöstä koulujen kanssa."
    path.write_text(f"--AS-- Kysymys?\n--MK-- {answer}\n", encoding="utf-8")
    assert qc("import", path, "--city", "Saarvala").exit_code == 0
    add_code(project_dir)
    (old,) = (str(r[0]) for r in sql(project_dir, "SELECT id FROM segments"))
    assert qc("code", old, "vahvuudet").exit_code == 0

    set_segment(project_dir, "speaker_patterns", "['^--(?P<speaker>[A-Z]{2})--']")
    set_segment(project_dir, "interviewers", '["AS"]')
    result = qc("resegment", "--document", "saarvala-koe.txt")
    assert result.exit_code == 0, result.output
    new = segment_of(project_dir, answer)
    assert sql(project_dir, "SELECT speaker, is_interviewer, text FROM segments ORDER BY seq") == [
        ("AS", 1, "Kysymys?"),
        ("MK", 0, answer),
    ]
    assert "resegmented saarvala-koe.txt: 2 segments (was 1); 1 coding(s) carried over\n" in (
        result.output
    )
    was = f"--AS-- Kysymys? --MK-- {answer}"[:57]
    assert (
        f"  Note: coding vahvuudet on segment {old} ('{was}...'): now split; carried to "
        f"segment {new} ('{answer[:57]}...'), which holds most of it (kept in the review log)\n"
    ) in result.output
    assert sql(project_dir, "SELECT segment_id, status FROM codings") == [(new, "accepted")]
    assert sql(
        project_dir, "SELECT segment_id FROM review_log WHERE action = 'split-on-resegment'"
    ) == [(new,)]


def test_an_interviewer_setting_updates_kept_segments_in_place(
    qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "ilvesvaara-koe.txt"
    path.write_text("Anna Salo: Miten menee?\n\nPekka: Hyvin.\n\nAnna Salo: Kiitos.\n\nPekka: Ok.")
    assert qc("import", path, "--city", "Ilvesvaara").exit_code == 0
    add_code(project_dir)
    first = segment_of(project_dir, "Miten menee?")
    assert qc("code", first, "vahvuudet").exit_code == 0
    set_segment(project_dir, "interviewers", '["Anna Salo"]')
    result = qc("resegment")
    assert result.exit_code == 0, result.output
    assert "resegmented ilvesvaara-koe.txt: 4 segments (was 4); 0 coding(s) carried over" in (
        result.output
    )
    assert sql(project_dir, "SELECT speaker, is_interviewer FROM segments ORDER BY seq") == [
        ("Anna Salo", 1),
        ("Pekka", 0),
        ("Anna Salo", 1),
        ("Pekka", 0),
    ]
    assert sql(project_dir, "SELECT segment_id FROM codings") == [(first,)]


def test_an_unknown_document_is_an_error_and_changes_nothing(
    qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    assert qc("import", long_turn(tmp_path), "--city", "Lounajoki").exit_code == 0
    before = db_snapshot(project_dir)
    result = qc("resegment", "--document", "lounajoki-koe.docx")
    assert result.exit_code == 1
    assert result.output == (
        "Error: no document named 'lounajoki-koe.docx' in the project\n"
        "Hint: did you mean 'lounajoki-koe.txt'?\n"
    )
    assert db_snapshot(project_dir) == before


def test_subtitles_are_read_again_for_their_cues(
    qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "pohjanlinna-koe.srt"
    path.write_text(
        "1\n00:00:01,000 --> 00:00:03,000\nHaastattelija: Mitä kuuluu?\n\n"
        "2\n00:00:03,000 --> 00:00:06,000\nLiisa Laine: Hyvää kuuluu täällä.\n",
        encoding="utf-8",
    )
    assert qc("import", path, "--city", "Pohjanlinna").exit_code == 0
    set_segment(project_dir, "interviewers", '["Liisa Laine"]')
    result = qc("resegment")
    assert result.exit_code == 0, result.output
    assert sql(project_dir, "SELECT speaker, is_interviewer, start_time FROM segments") == [
        ("Haastattelija", 1, 1.0),
        ("Liisa Laine", 1, 3.0),
    ]
    path.unlink()
    before = db_snapshot(project_dir)
    result = qc("resegment")
    assert result.exit_code == 0
    assert result.output == (
        "skipped     pohjanlinna-koe.srt: the subtitle file it was imported from is gone or "
        "changed, and its cues are needed; re-import it with --replace\n"
        "0 resegmented, 1 other, 1 in all\n"
    )
    assert db_snapshot(project_dir) == before
