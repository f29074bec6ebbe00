"""Issue 13 part B and issue 15 item 9: CSV files people edit are never misread silently.

Every test reproduces one way Excel, LibreOffice or a text editor damages a review, metadata
or names CSV, and checks the exact refusal (file:line, problem, hint) or the correct reading.
"""

from __future__ import annotations

import csv
import io
import random
import re
import sqlite3
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REPO, SAMPLE, Invoke, db_snapshot
from qualcode.csvin import FIELD_LIMIT, LONG_FIELD_LIMIT, read_csv_table
from qualcode.csvout import csv_bytes, excel_safe
from qualcode.errors import CsvFileError, IngestError
from qualcode.ingest.metadata import read_metadata
from qualcode.review import REVIEW_COLUMNS, read_review_file

CODEBOOK = REPO / "codebooks" / "innovaatioekosysteemi.yaml"
QUOTE_HINT = 'close the quote; a quote inside a quoted value is written twice ("")'
SAVE_HINT = "save it from Excel as 'CSV UTF-8 (luetteloerotin)' or 'Unicode text'"


def read_rows(path: Path) -> list[dict[str, str]]:
    text = path.read_bytes().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))


def csv_text(header: list[str], rows: list[list[str]], delimiter: str = ";") -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(("Error:", "Hint:"))]


@pytest.fixture
def tagged(qc: Invoke, tmp_path: Path) -> Path:
    assert qc("import", SAMPLE).exit_code == 0
    out = tmp_path / "review.csv"
    result = qc("tag", "--codebook", CODEBOOK, "--out", out)
    assert result.exit_code == 0, result.output
    return out


# --- 1a: an edited code cell ------------------------------------------------------------------


def test_an_edited_code_cell_is_refused_with_the_row_and_new_code_hint(
    tagged: Path, qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    rows = read_rows(tagged)[:3]
    for r in rows:
        r["decision"] = "y"
    original = rows[1]["code"]
    other = "rahoitus" if original != "rahoitus" else "vahvuudet"
    rows[1]["code"] = other
    path = tmp_path / "edited.csv"
    path.write_text(csv_text(list(REVIEW_COLUMNS), [list(r.values()) for r in rows]), "utf-8")
    before = db_snapshot(project_dir)
    result = qc("review", path)
    assert result.exit_code == 1
    assert error_lines(result.output) == [
        f"Error: {path}:3: code '{other}' is not the suggested code '{original}' of suggestion "
        f"{rows[1]['suggestion_id']}; leave code as it was and put '{other}' in new_code",
        "Hint: fix the rows (or use --skip-invalid to apply the valid ones)",
    ]
    assert db_snapshot(project_dir) == before


def test_the_code_named_in_new_code_instead_is_applied(
    tagged: Path, qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    row = read_rows(tagged)[0]
    other = "rahoitus" if row["code"] != "rahoitus" else "vahvuudet"
    row["decision"] = "y"
    row["new_code"] = other
    path = tmp_path / "new_code.csv"
    path.write_text(csv_text(list(REVIEW_COLUMNS), [list(row.values())]), "utf-8")
    result = qc("review", path)
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(project_dir / "qualcode.db")
    try:
        codes = sorted(r[0] for r in conn.execute("SELECT code_id FROM codings"))
    finally:
        conn.close()
    assert codes == sorted([row["code"], other])


# --- 1b: duplicate and ambiguous headers ------------------------------------------------------


def test_a_copied_decision_column_is_refused_not_read_as_undecided(
    tagged: Path, qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    rows = read_rows(tagged)
    header = [*REVIEW_COLUMNS, "decision"]
    # Excel users copy the decision column next to the notes and fill that one in.
    body = [[*r.values(), "y"] for r in rows]
    path = tmp_path / "copied.csv"
    path.write_text(csv_text(header, body), "utf-8")
    before = db_snapshot(project_dir)
    result = qc("review", path)
    assert result.exit_code == 1
    assert error_lines(result.output) == [
        f"Error: {path}:1: column 'decision' appears twice (columns 12 and 15)",
        "Hint: delete the copy, so that every column name appears once",
    ]
    assert db_snapshot(project_dir) == before


@pytest.mark.parametrize(
    "copy",
    ["Decision", " decision ", "DECISION\u00a0", "\ufeffdecision", "decision\u200b"],
    ids=["case", "spaces", "nbsp", "bom", "zero-width"],
)
def test_headers_equal_after_folding_are_duplicates(tmp_path: Path, copy: str) -> None:
    path = tmp_path / "r.csv"
    path.write_text(f"suggestion_id;decision;{copy}\ng0123456789a;y;n\n", encoding="utf-8")
    with pytest.raises(CsvFileError) as err:
        read_review_file(path)
    assert str(err.value) == f"{path}:1: column 'decision' appears twice (columns 2 and 3)"


def test_a_value_under_an_empty_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "suggestion_id;decision;;\ng0123456789a;;;y\ng0123456789b;n;;\n", encoding="utf-8"
    )
    with pytest.raises(CsvFileError) as err:
        read_review_file(path)
    assert str(err.value) == f"{path}:2: value 'y' is in column 4, which has no name"
    assert err.value.hint == "name the column in the header, or delete the value"


def test_empty_unnamed_columns_excel_adds_are_harmless(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("suggestion_id;decision;;\ng0123456789a;y;;\n", encoding="utf-8")
    (line,) = read_review_file(path)
    assert line.values == {"suggestion_id": "g0123456789a", "decision": "y"}


def test_a_value_beyond_the_last_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("suggestion_id;decision\ng0123456789a;y;hyväksyn\n", encoding="utf-8")
    with pytest.raises(CsvFileError, match=r"r.csv:2: value 'hyväksyn' is in column 3, which "):
        read_review_file(path)


def test_a_header_garbled_by_a_wrong_encoding_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    # Opened in Excel as Windows-1252 and saved as UTF-8: the BOM became three letters.
    path.write_text("ï»¿suggestion_id;decision\ng0123456789a;y\n", encoding="utf-8")
    with pytest.raises(CsvFileError) as err:
        read_review_file(path)
    assert str(err.value) == (
        f"{path}:1: the header starts with 'ï»¿': the file was opened with the wrong "
        "encoding, so ä and ö are garbled"
    )


# --- 2: unclosed quotes -----------------------------------------------------------------------


def metadata_dir(tmp_path: Path) -> Path:
    for name in ("a.txt", "b.txt", "c.txt", "d.txt"):
        (tmp_path / name).write_text("H: kysymys\nV: vastaus", encoding="utf-8")
    return tmp_path / "metadata.csv"


HEADER = "file,city,participant,role\n"


@pytest.mark.parametrize(
    ("body", "line", "problem"),
    [
        (
            # Never closed: the rest of the file would be one participant.
            'a.txt,Saarvala,"Jari Mäki,yrittäjä\nb.txt,Lounajoki,Liisa,opettaja\n'
            "c.txt,Pohjanlinna,Olli,yrittäjä\n",
            2,
            "the quote opened on this line is never closed",
        ),
        (
            # Closed before a delimiter three lines on: csv reads it without complaint.
            'a.txt,Saarvala,Jari Mäki,"yrittäjä\nb.txt,Lounajoki,Liisa,opettaja\n'
            'c.txt,Pohjanlinna,Olli,yrittäjä"\nd.txt,Ilvesvaara,Aino,opettaja\n',
            2,
            "the quote that opens the 'role' value on this line is not closed on the same "
            "line, so the lines after it would be read as one value",
        ),
        (
            'a.txt,Saarvala,Jari Mäki,yrittäjä\nb.txt,Lounajoki,"Liisa,opettaja\n'
            'c.txt,"Pohjanlinna",Olli,yrittäjä\n',
            3,
            "the quote opened on this line runs on to line 4, where more text follows the "
            "closing quote",
        ),
        (
            'a.txt,Saarvala,"Jari" Mäki,yrittäjä\n',
            2,
            "a quoted value on this line has more text after its closing quote",
        ),
    ],
    ids=["never-closed", "closed-before-delimiter", "closed-later", "text-after-quote"],
)
def test_an_unclosed_quote_in_metadata_names_the_line_it_opened(
    tmp_path: Path, body: str, line: int, problem: str
) -> None:
    path = metadata_dir(tmp_path)
    path.write_text(HEADER + body, encoding="utf-8")
    with pytest.raises(IngestError) as err:
        read_metadata(path)
    assert str(err.value) == f"{path}:{line}: {problem}"
    assert err.value.hint == QUOTE_HINT


def test_an_unclosed_metadata_quote_fails_the_import_and_changes_nothing(
    tmp_path: Path, qc: Invoke, project_dir: Path
) -> None:
    folder = tmp_path / "haastattelut"
    folder.mkdir()
    path = metadata_dir(folder)
    path.write_text(
        HEADER + 'a.txt,Saarvala,"Jari Mäki,yrittäjä\nb.txt,Lounajoki,Liisa,opettaja\n'
        "c.txt,Pohjanlinna,Olli,yrittäjä\nd.txt,Ilvesvaara,Aino,opettaja\n",
        encoding="utf-8",
    )
    before = db_snapshot(project_dir)
    result = qc("import", folder)
    assert result.exit_code == 1
    assert error_lines(result.output) == [
        f"Error: {path}:2: the quote opened on this line is never closed",
        f"Hint: {QUOTE_HINT}",
    ]
    assert db_snapshot(project_dir) == before


def test_a_review_note_may_span_lines_but_not_swallow_rows(tmp_path: Path) -> None:
    header = ["suggestion_id", "segment_id", "decision", "note"]
    ok = tmp_path / "ok.csv"
    ok.write_text(
        csv_text(header, [["g0123456789a", "s0123456789a", "y", "rivi 1\nrivi 2"]]), "utf-8"
    )
    (line,) = read_review_file(ok)
    assert line.values["note"] == "rivi 1\nrivi 2"
    swallowed = tmp_path / "swallowed.csv"
    swallowed.write_text(
        "suggestion_id;segment_id;decision;note\r\n"
        'g0123456789a;s0123456789a;y;"ei koske tätä\r\n'
        "g0123456789b;s0123456789b;n;\r\n"
        'g0123456789c;s0123456789c;y;toinen"\r\n',
        encoding="utf-8",
    )
    with pytest.raises(CsvFileError) as err:
        read_review_file(swallowed)
    assert str(err.value) == (
        f"{swallowed}:2: the 'note' value of this row runs on over the next rows "
        "(a quote left open?)"
    )


def test_an_unclosed_quote_in_a_names_csv_is_refused(
    tmp_path: Path, qc: Invoke, project_dir: Path
) -> None:
    path = tmp_path / "names.csv"
    path.write_text(
        'name;kind;action;pseudonym\n"Jari Mäki;person;pseudonymise;[H1]\n'
        "Liisa Aho;person;ignore;\nKonepaja Oy;org;pseudonymise;[yritys]\n",
        encoding="utf-8",
    )
    before = db_snapshot(project_dir)
    result = qc("names", "import", path)
    assert result.exit_code == 1
    assert error_lines(result.output)[0] == (
        f"Error: {path}:2: the quote opened on this line is never closed"
    )
    assert db_snapshot(project_dir) == before


# --- 3: huge cells ----------------------------------------------------------------------------


def test_a_huge_metadata_cell_is_a_clean_error(
    tmp_path: Path, qc: Invoke, project_dir: Path
) -> None:
    folder = tmp_path / "aineisto"
    folder.mkdir()
    path = metadata_dir(folder)
    path.write_text(
        HEADER + "a.txt,Saarvala,Jari,yrittäjä\n" + f"b.txt,Lounajoki,{'x' * 200_000},opettaja\n",
        encoding="utf-8",
    )
    result = qc("import", folder)
    assert result.exit_code == 1
    assert error_lines(result.output) == [
        f"Error: {path}:3: a value is longer than 128 KB",
        "Hint: is a quote left open? otherwise shorten the value",
    ]


def test_a_huge_names_cell_is_a_clean_error(tmp_path: Path, qc: Invoke, project_dir: Path) -> None:
    path = tmp_path / "names.csv"
    path.write_text(
        f"name;kind;action;pseudonym\nJari;person;ignore;\n{'Ö' * 140_000};person;ignore;\n",
        encoding="utf-8",
    )
    result = qc("names", "import", path)
    assert result.exit_code == 1
    assert error_lines(result.output)[0] == f"Error: {path}:3: a value is longer than 128 KB"


def test_a_long_segment_text_reads_back_but_a_long_code_does_not(tmp_path: Path) -> None:
    header = ["suggestion_id", "code", "text", "decision"]
    long_text = "Pitkä puheenvuoro ilman taukoja. " * 8000  # about 260 KB
    assert len(long_text) > FIELD_LIMIT
    path = tmp_path / "long.csv"
    path.write_text(csv_text(header, [["g0123456789a", "rahoitus", long_text, "y"]]), "utf-8")
    (line,) = read_review_file(path)
    assert line.values["text"] == long_text
    path.write_text(csv_text(header, [["g0123456789a", "r" * 200_000, "teksti", "y"]]), "utf-8")
    with pytest.raises(CsvFileError) as err:
        read_review_file(path)
    assert str(err.value) == f"{path}:2: the 'code' value is longer than 128 KB"


def test_a_text_beyond_the_long_limit_is_a_clean_error(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    huge = "a" * (LONG_FIELD_LIMIT + 10)
    path.write_text(f"suggestion_id;text;decision\ng0123456789a;x;y\ng1;{huge};y\n", "utf-8")
    with pytest.raises(CsvFileError) as err:
        read_review_file(path)
    assert str(err.value) == f"{path}:3: a value is longer than 8192 KB"


def test_the_limits_hold_when_another_library_raised_the_csv_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    huge = "a" * (LONG_FIELD_LIMIT + 10)
    path.write_text(f"suggestion_id;text;decision\ng0123456789a;{huge};y\n", "utf-8")
    before = csv.field_size_limit(sys.maxsize)
    try:
        with pytest.raises(CsvFileError) as err:
            read_review_file(path)
        assert csv.field_size_limit() == sys.maxsize
    finally:
        csv.field_size_limit(before)
    assert str(err.value) == f"{path}:2: the 'text' value is longer than 8192 KB"


def test_the_csv_field_limit_is_restored_after_a_read(tmp_path: Path) -> None:
    before = csv.field_size_limit()
    path = tmp_path / "r.csv"
    path.write_text("suggestion_id;decision\ng0123456789a;y\n", encoding="utf-8")
    read_review_file(path)
    assert csv.field_size_limit() == before


# --- 4: names CSV encodings and counts --------------------------------------------------------


NAMES = "name;kind;action;pseudonym;count\nJari Mäki;person;pseudonymise;[H1];3\n"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (
            NAMES.encode("utf-16-le"),
            "1: the names file contains NUL bytes: UTF-16 without a byte-order mark, or not text",
        ),
        (
            # A row added in a Windows-1252 editor to a UTF-8 file.
            (NAMES + "Liisa Mäkelä;person;ignore;;1\n").encode() + b"P\xe4ivi;person;ignore;;1\n",
            "4: the names file is UTF-8 with an invalid byte (0xe4)",
        ),
        (
            b"name;kind;action;pseudonym\n\x81\x8d\x8f\x90\x9d;person;ignore;\n",
            "2: the names file is neither UTF-8 nor Windows-1252 text (byte 0x81)",
        ),
        (
            b"name;kind;action;pseudonym\n" + bytes(range(1, 32)) + b"\xe4;person;ignore;\n",
            "2: the names file is neither UTF-8 nor Windows-1252 text (control character U+0001)",
        ),
        (
            "name;kind;action;pseudonym;count\nJari Mäki;person;ignore;;100000000000000000000000\n"
            "".encode(),
            "2: count '100000000000000000000000' is too large",
        ),
        (
            "name;kind;action;pseudonym;count\nJari Mäki;person;ignore;;1E+23\n".encode(),
            "2: count '1E+23' is not a whole number",
        ),
        (
            "name;kind;action;pseudonym;count\nJari Mäki;person;ignore;;²\n".encode(),
            "2: count '²' is not a whole number",
        ),
    ],
    ids=[
        "utf16-no-bom",
        "damaged-utf8",
        "undefined-cp1252",
        "control-char",
        "huge-count",
        "exponent",
        "superscript",
    ],
)
def test_unreadable_names_files_are_one_line_errors(
    tmp_path: Path, qc: Invoke, project_dir: Path, data: bytes, problem: str
) -> None:
    path = tmp_path / "names.csv"
    path.write_bytes(data)
    before = db_snapshot(project_dir)
    result = qc("names", "import", path)
    assert result.exit_code == 1
    lines = error_lines(result.output)
    assert lines[0] == f"Error: {path}:{problem}"
    assert len(lines) == 2 and lines[1].startswith("Hint: ")
    assert db_snapshot(project_dir) == before


def test_random_bytes_are_refused_as_a_names_csv(
    tmp_path: Path, qc: Invoke, project_dir: Path
) -> None:
    path = tmp_path / "names.csv"
    path.write_bytes(random.Random(13).randbytes(4000))
    before = db_snapshot(project_dir)
    result = qc("names", "import", path)
    assert result.exit_code == 1
    lines = error_lines(result.output)
    assert re.fullmatch(rf"Error: {re.escape(str(path))}:\d+: the names file .*", lines[0])
    assert lines[1:] == [f"Hint: {SAVE_HINT}"]
    assert db_snapshot(project_dir) == before


def test_a_stray_control_character_in_a_cp1252_review_file_is_text(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"suggestion_id;text;decision\ng0123456789a;Word\x0bteksti \xe4;y\n")
    (line,) = read_review_file(path)
    assert line.values["text"] == "Word\x0bteksti ä"


def test_a_name_listed_twice_with_different_decisions_is_refused(
    tmp_path: Path, qc: Invoke, project_dir: Path
) -> None:
    path = tmp_path / "names.csv"
    path.write_text(
        "name;kind;action;pseudonym\nJari Mäki;person;pseudonymise;[H1]\n"
        "Liisa Aho;person;ignore;\nJari Mäki;person;pseudonymise;[H1]\n"
        "Jari Mäki;person;ignore;\n",
        encoding="utf-8",
    )
    before = db_snapshot(project_dir)
    result = qc("names", "import", path)
    assert result.exit_code == 1
    assert error_lines(result.output) == [
        f"Error: {path}:5: name 'Jari Mäki' is listed again with a different decision "
        "(also on line 2)",
        "Hint: keep one row per name",
    ]
    assert db_snapshot(project_dir) == before
    path.write_text(path.read_text(encoding="utf-8").rsplit("Jari", 1)[0], encoding="utf-8")
    result = qc("names", "import", path)
    assert "Updated 2 names" in result.output


def test_a_names_csv_in_windows_1252_still_imports(
    tmp_path: Path, qc: Invoke, project_dir: Path
) -> None:
    path = tmp_path / "names.csv"
    path.write_bytes(NAMES.replace(";", ",").encode("cp1252"))
    result = qc("names", "import", path)
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(project_dir / "qualcode.db")
    try:
        assert conn.execute("SELECT name, count FROM names").fetchall() == [("Jari Mäki", 3)]
    finally:
        conn.close()


def test_a_names_csv_where_excel_dropped_a_letter_is_refused(
    tmp_path: Path, qc: Invoke, project_dir: Path
) -> None:
    path = tmp_path / "names.csv"
    text = "name;kind;action;pseudonym\nŁukasz Mäki;person;pseudonymise;[H1]\n"
    path.write_bytes(text.encode("cp1252", errors="replace"))
    result = qc("names", "import", path)
    assert result.exit_code == 1
    assert error_lines(result.output) == [
        f"Error: {path}:2: the name '?ukasz Mäki' has '?' for a letter: Excel saved the file "
        "as Windows-1252 'CSV (luetteloerotin)', which drops letters outside it",
        f"Hint: type the letter again and {SAVE_HINT}",
    ]


def test_a_metadata_participant_excel_garbled_is_refused(tmp_path: Path) -> None:
    path = metadata_dir(tmp_path)
    text = "file;city;participant\na.txt;Saarvala;Łukasz Mäki\n"
    path.write_bytes(text.encode("cp1252", errors="replace"))
    with pytest.raises(IngestError) as err:
        read_metadata(path)
    assert str(err.value) == (
        f"{path}:2: the participant '?ukasz Mäki' has '?' for a letter: Excel saved the file "
        "as Windows-1252 'CSV (luetteloerotin)', which drops letters outside it"
    )


def test_a_bom_file_with_a_broken_byte_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"\xef\xbb\xbfsuggestion_id;decision\ng0123456789a;y\ng1;\xe4\n")
    with pytest.raises(CsvFileError) as err:
        read_review_file(path)
    assert str(err.value) == (
        f"{path}:3: the review file starts as UTF-8 but has an invalid byte (0xe4)"
    )


# --- 5: Excel round trips ---------------------------------------------------------------------


@pytest.fixture
def hyphenated(qc: Invoke, tmp_path: Path) -> Path:
    """A project whose only segment has a non-breaking hyphen (U+2011), which cp1252 lacks."""
    folder = tmp_path / "aineisto"
    folder.mkdir()
    (folder / "haastattelu.txt").write_text(
        "H: Miten verkosto toimii?\n\n"
        "V: Meillä on vuosikello, ja sote\u2011palvelut ovat mukana joka kevät.\n",
        encoding="utf-8",
    )
    assert qc("import", folder, "--city", "Saarvala").exit_code == 0
    out = tmp_path / "review.csv"
    assert qc("tag", "--codebook", CODEBOOK, "--out", out).exit_code == 0
    return out


def test_excel_cp1252_question_marks_are_not_an_edit(
    hyphenated: Path, qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    rows = read_rows(hyphenated)
    target = next(r for r in rows if "\u2011" in r["text"])
    for r in rows:
        r["decision"] = "y"
    path = tmp_path / "excel.csv"
    body = csv_text(list(REVIEW_COLUMNS), [list(r.values()) for r in rows])
    path.write_bytes(body.encode("cp1252", errors="replace"))  # what Excel's 'CSV' does
    result = qc("review", path)
    assert result.exit_code == 0, result.output
    assert f"{len(rows)} accepted" in result.output
    row = 2 + rows.index(target)
    where = f"row {row}" if len(rows) == 1 else f"{len(rows)} rows, first row {row}"
    assert (
        f"Note: {path}: the text has '?' for characters Windows-1252 lacks ({where}): the "
        "file was saved as Excel's 'CSV (luetteloerotin)' (Windows-1252); the decisions were "
        "read and the project's texts are unchanged. Next time save as 'CSV UTF-8 "
        "(luetteloerotin)'"
    ) in result.output


def test_a_real_edit_next_to_the_question_marks_is_still_an_edit(
    hyphenated: Path, qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    rows = read_rows(hyphenated)
    target = next(r for r in rows if "\u2011" in r["text"])
    target["text"] = target["text"].replace("kevät", "syksy")
    path = tmp_path / "excel.csv"
    body = csv_text(list(REVIEW_COLUMNS), [list(r.values()) for r in rows])
    path.write_bytes(body.encode("cp1252", errors="replace"))
    before = db_snapshot(project_dir)
    result = qc("review", path)
    assert result.exit_code == 1
    assert (
        f"the text of segment {target['segment_id']} was edited; edit only decision, "
        "new_code and note"
    ) in result.output
    assert db_snapshot(project_dir) == before


def test_excel_unicode_text_imports(
    tagged: Path, qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    rows = read_rows(tagged)
    rows[0]["decision"] = "y"
    rows[1]["decision"] = "n"
    path = tmp_path / "unicode.txt"
    body = csv_text(list(REVIEW_COLUMNS), [list(r.values()) for r in rows], delimiter="\t")
    path.write_bytes(body.encode("utf-16"))  # UTF-16 LE with BOM, tab-separated
    assert path.read_bytes()[:2] == b"\xff\xfe"
    result = qc("review", path)
    assert result.exit_code == 0, result.output
    assert f"{len(rows)} rows: 1 accepted, 1 rejected" in result.output


def test_metadata_as_excel_unicode_text_imports(tmp_path: Path) -> None:
    path = metadata_dir(tmp_path)
    path.write_bytes("file\tcity\tparticipant\na.txt\tSaarvala\tJari Mäki\n".encode("utf-16"))
    assert read_metadata(path)["a.txt"].meta.participant == "Jari Mäki"


def test_the_shared_reader_reports_encoding_and_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    # 'Ä' before a no-break space is also a valid UTF-8 pair: still Windows-1252 text.
    path.write_bytes("a,b\nä,ö\nKÄ\u00a0x,–\n".encode("cp1252"))
    table = read_csv_table(path, kind="file")
    assert (table.encoding, table.delimiter, table.lossy) == ("cp1252", ",", True)
    assert [r.values for r in table.records] == [{"a": "ä", "b": "ö"}, {"a": "KÄ\u00a0x", "b": "–"}]


# --- strict, but never against what qualcode itself writes -----------------------------------

_CELL = st.text(
    alphabet=st.characters(
        codec="utf-8",
        categories=("L", "N", "P", "S", "Zs"),
        include_characters="äöåÄÖÅ\"';,\t–€\u2011",
    ),
    max_size=40,
)
_MULTILINE_CELL = st.lists(_CELL, min_size=1, max_size=4).map("\n".join)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(_CELL, _CELL, _MULTILINE_CELL, _MULTILINE_CELL), min_size=1, max_size=5
    ),
    delimiter=st.sampled_from([";", ",", "\t"]),
    utf16=st.booleans(),
)
def test_every_file_qualcode_writes_reads_back_unchanged(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[str, str, str, str]],
    delimiter: str,
    utf16: bool,
) -> None:
    header = ("suggestion_id", "code", "decision", "text", "note")
    body = [(f"g{i:011d}", *r) for i, r in enumerate(rows)]
    data = csv_bytes(header, body, delimiter=delimiter)
    if utf16:  # Excel's 'Unicode text'
        data = data.decode("utf-8-sig").encode("utf-16")
    path = tmp_path_factory.mktemp("roundtrip") / "r.csv"
    path.write_bytes(data)
    table = read_csv_table(
        path,
        kind="review file",
        single_line=("suggestion_id", "code", "decision"),
        long_fields=("text",),
    )
    assert [tuple(r.values.values()) for r in table.records] == [
        tuple(excel_safe(v) for v in row) for row in body
    ]
