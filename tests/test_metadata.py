from __future__ import annotations

from pathlib import Path

import pytest

from qualcode.errors import IngestError
from qualcode.ingest.metadata import read_metadata


def write(tmp_path: Path, text: str, *, bom: bool = False) -> Path:
    (tmp_path / "a.txt").write_text("H: kysymys\nV: vastaus", encoding="utf-8")
    path = tmp_path / "metadata.csv"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


def test_semicolon_bom_and_finnish_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "file;city;participant;role;organisation_type;kind;date\n"
        "a.txt;Pohjanlinna;Jari Mäki;yrittäjä;yritys;haastattelu;3.4.2026\n",
        bom=True,
    )
    row = read_metadata(path)["a.txt"]
    assert row.meta.city == "Pohjanlinna"
    assert row.meta.participant == "Jari Mäki"
    assert row.meta.kind == "interview"
    assert row.meta.date == "2026-04-03"


def test_misspelled_column_gets_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, "file,city,organization_type\na.txt,Saarvala,kaupunki\n")
    with pytest.raises(IngestError) as err:
        read_metadata(path)
    assert str(err.value) == f"{path}:1: unknown column 'organization_type'"
    assert err.value.hint == "did you mean 'organisation_type'?"


def test_missing_city_column(tmp_path: Path) -> None:
    path = write(tmp_path, "file,role\na.txt,yrittäjä\n")
    with pytest.raises(IngestError, match=r"metadata.csv:1: missing column 'city'"):
        read_metadata(path)


def test_row_naming_a_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path, "file,city\na.txt,Saarvala\npuuttuu.txt,Saarvala\n")
    with pytest.raises(IngestError) as err:
        read_metadata(path)
    assert str(err.value) == f"{path}:3: file 'puuttuu.txt' not found next to the metadata file"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("a.txt,Saarvala,kokous,2026-04-01", "unknown kind 'kokous'"),
        ("a.txt,Saarvala,interview,1.13.2026", "invalid date '1.13.2026'"),
        ("a.txt,,interview,", "no city for 'a.txt'"),
        ("a.txt,Saarvala", "expected 4 values, found 2"),
    ],
)
def test_bad_values_name_the_line(tmp_path: Path, row: str, message: str) -> None:
    path = write(tmp_path, f"file,city,kind,date\n{row}\n")
    with pytest.raises(IngestError) as err:
        read_metadata(path)
    assert str(err.value) == f"{path}:2: {message}"


def test_duplicate_file_row(tmp_path: Path) -> None:
    path = write(tmp_path, "file,city\na.txt,Saarvala\na.txt,Lounajoki\n")
    with pytest.raises(IngestError, match=r":3: file 'a.txt' is listed twice \(also on line 2\)"):
        read_metadata(path)
