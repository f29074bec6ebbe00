from __future__ import annotations

import zipfile
from pathlib import Path

import docx
import pytest

from qualcode.errors import IngestError
from qualcode.ingest import read_document


def make_docx(path: Path) -> Path:
    document = docx.Document()
    document.add_heading("Haastattelu 3.4.2026, Saarvala", level=1)
    document.add_paragraph("")
    document.add_paragraph("H: Kertoisitko yhteistyöstä oppilaitosten kanssa?")
    document.add_paragraph("   ")
    document.add_paragraph("V: No, oppilaitosyhteistyössämme on paljon hyvää. Åsa sanoi: ”bra”.")
    document.add_paragraph("Harjoittelupaikat", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Toimija"
    table.cell(0, 1).text = "Rooli"
    table.cell(1, 0).text = "Kaarna-AMK"
    table.cell(1, 1).text = "TKI-kumppani"
    document.add_paragraph("V: Lopuksi vielä yksi asia.")
    document.save(path)
    return path


def test_docx_paragraphs_headings_lists_and_tables(tmp_path: Path) -> None:
    raw, _ = read_document(make_docx(tmp_path / "h.docx"))
    assert raw.format == "docx"
    assert raw.text.split("\n\n") == [
        "# Haastattelu 3.4.2026, Saarvala",
        "H: Kertoisitko yhteistyöstä oppilaitosten kanssa?",
        "V: No, oppilaitosyhteistyössämme on paljon hyvää. Åsa sanoi: ”bra”.",
        "- Harjoittelupaikat",
        "Toimija | Rooli",
        "Kaarna-AMK | TKI-kumppani",
        "V: Lopuksi vielä yksi asia.",
    ]


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "rikki.docx"
    path.write_text("tämä ei ole word-tiedosto", encoding="utf-8")
    with pytest.raises(IngestError) as err:
        read_document(path)
    assert str(err.value) == f"{path}: is not a valid .docx file (not a zip archive)"


def test_truncated_docx(tmp_path: Path) -> None:
    good = make_docx(tmp_path / "h.docx").read_bytes()
    path = tmp_path / "katkennut.docx"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(IngestError, match="damaged or truncated zip"):
        read_document(path)


def test_zip_that_is_not_word(tmp_path: Path) -> None:
    path = tmp_path / "arkisto.docx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "hei")
    with pytest.raises(IngestError, match="not a Word document"):
        read_document(path)


def test_old_doc_format(tmp_path: Path) -> None:
    path = tmp_path / "vanha.docx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    with pytest.raises(IngestError) as err:
        read_document(path)
    assert err.value.hint == "open it in Word and save as .docx"
