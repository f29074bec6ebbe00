"""Report layout (issue 15, item 7): table widths, spacing, the city's row in its heat map.

The PDF test converts a city report with LibreOffice, as a client would, and reads the text
back: a word broken inside a table cell ("Dokumen tit") shows up as two fragments.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import docx
import pytest
from docx.shared import Cm

from conftest import REPO, copy_project, run

CODEBOOK = REPO / "codebooks" / "innovaatioekosysteemi.yaml"


@pytest.fixture(scope="module")
def reports(sample_reviewed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("layout")
    root = copy_project(sample_reviewed, base / "proj")
    run(root, "report", "--all", "--out", base / "out", "--date", "2026-11-27")
    return base / "out"


def _grid(table: object) -> list[int]:
    grid = table._tbl.tblGrid  # type: ignore[attr-defined]
    return [int(col.w) for col in grid.gridCol_lst]


def test_a4_page_and_theme_table_columns_fit_it(reports: Path) -> None:
    document = docx.Document(str(reports / "Saarvala.docx"))
    section = document.sections[0]
    # Word stores twips: A4 within a twip.
    assert abs(section.page_width - Cm(21)) < 700 and abs(section.page_height - Cm(29.7)) < 700
    text_width = section.page_width - section.left_margin - section.right_margin
    theme_table = document.tables[1]
    widths = _grid(theme_table)
    assert len(widths) == 6
    assert sum(widths) <= text_width
    assert sum(widths) > 0.97 * text_width
    # The label column is the widest, the share column (longest header word) next.
    assert widths[0] == max(widths)
    assert widths[3] == max(widths[1:])
    assert [c.text for c in theme_table.rows[0].cells][3] == "Osuus haastateltavista"
    # Every cell carries its width too (Word reads the cells, LibreOffice the grid).
    for row in theme_table.rows:
        assert [c.width for c in row.cells] == widths


def test_heat_map_stands_clear_of_the_table(reports: Path) -> None:
    document = docx.Document(str(reports / "Saarvala.docx"))
    body = document.element.body
    tables = body.findall(".//{*}tbl")
    after = tables[-1].getnext()
    # A spacer paragraph follows the table, then the picture with space above it.
    assert after.tag.endswith("}p") and not after.xpath(".//w:drawing")
    picture = next(p for p in document.paragraphs if p._p.xpath(".//w:drawing"))
    assert picture.paragraph_format.space_before is not None
    assert picture.paragraph_format.space_before.pt >= 12


def _red_pixels(path: Path) -> int:
    import numpy as np
    from PIL import Image

    rgb = np.asarray(Image.open(path).convert("RGB")).astype(int)
    red = (rgb[..., 0] > 170) & (rgb[..., 1] < 90) & (rgb[..., 2] < 80)
    return int(red.sum())


def _pictures(path: Path, out: Path) -> Path:
    import zipfile

    with zipfile.ZipFile(path) as zf:
        name = next(n for n in zf.namelist() if n.startswith("word/media/"))
        out.write_bytes(zf.read(name))
    return out


def test_each_city_report_highlights_its_own_row(reports: Path, tmp_path: Path) -> None:
    saarvala = _pictures(reports / "Saarvala.docx", tmp_path / "s.png")
    lounajoki = _pictures(reports / "Lounajoki.docx", tmp_path / "l.png")
    summary = _pictures(reports / "yhteenveto.docx", tmp_path / "y.png")
    # The frame round the city's row is red; the summary (no city of its own) has none.
    assert _red_pixels(saarvala) > 500
    assert _red_pixels(lounajoki) > 500
    assert _red_pixels(summary) == 0
    assert saarvala.read_bytes() != lounajoki.read_bytes()
    assert (reports / "teemat.png").read_bytes() == summary.read_bytes()


@pytest.mark.skipif(
    shutil.which("soffice") is None or shutil.which("pdftotext") is None,
    reason="LibreOffice (soffice) and pdftotext (poppler-utils) are needed to look at the PDF",
)
@pytest.mark.parametrize("name", ["Saarvala", "yhteenveto"])
def test_pdf_tables_keep_their_words_whole(reports: Path, tmp_path: Path, name: str) -> None:
    shutil.copy(reports / f"{name}.docx", tmp_path / f"{name}.docx")
    subprocess.run(
        [
            "soffice",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(tmp_path / f"{name}.docx"),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / f"{name}.pdf"), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    words = set(re.findall(r"\w+", text))
    needed = {"Verkostotoiminnan", "Kehittämistarpeet", "Teema"}
    if name == "Saarvala":
        needed |= {"Segmentit", "Dokumentit", "haastateltavista", "kaupungit"}
    else:
        needed |= {"Ilvesvaara", "Lounajoki", "Pohjanlinna", "Saarvala", "kaupunkilähtöinen"}
    assert needed <= words, needed - words
    for fragment in ("Segmen", "Dokumen", "Verkostoto", "haastatelta", "kaupung"):
        assert fragment not in words, fragment
