"""Theme matrices and Word reports on the reviewed sample corpus, checked independently."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import zipfile
from collections import defaultdict
from pathlib import Path

import docx
import pytest
import yaml

from conftest import REPO, SAMPLE, copy_project, run
from qualcode.project import init_project
from qualcode.report import finnish as fi

CODEBOOK = REPO / "codebooks" / "innovaatioekosysteemi.yaml"
WORD = re.compile(r"\w+(?:[-'’]\w+)*")


@pytest.fixture(scope="module")
def project(sample_reviewed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(sample_reviewed, tmp_path_factory.mktemp("matrix") / "proj")


@pytest.fixture(scope="module")
def reports(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    output = run(project, "report", "--all", "--out", out, "--date", "2026-11-27")
    assert output.count("Wrote ") == 5
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


def test_matrix_numbers_recomputed_from_the_exports(project: Path, tmp_path: Path) -> None:
    run(project, "export", "codings", "--out", tmp_path / "codings.csv")
    # The raw texts: word counts must not change with pseudonyms.
    run(project, "export", "segments", "--no-pseudonymise", "--out", tmp_path / "segments.csv")
    run(project, "matrix", "--out", tmp_path / "m.csv")
    segments = read_csv(tmp_path / "segments.csv")
    codings = [c for c in read_csv(tmp_path / "codings.csv") if c["status"] == "accepted"]
    book = yaml.safe_load(CODEBOOK.read_text(encoding="utf-8"))
    parent = {c["id"]: c.get("parent") for c in book["codes"]}

    def theme(code: str) -> str:
        while parent.get(code):
            code = parent[code]
        return code

    def clean(text: str) -> str:  # undo the spreadsheet-safety prefix of the export
        return text[1:] if text.startswith("'") and text[1:2] in "=+-@" else text

    seg = {s["segment_id"]: s for s in segments}
    words: dict[str, int] = defaultdict(int)
    people: dict[str, set[str]] = defaultdict(set)
    for s in segments:
        words[s["city"]] += len(WORD.findall(clean(s["text"])))
        if s["kind"] == "interview":
            people[s["city"]].add(s["participant"] or s["document"])
    cells: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for c in codings:
        s = seg[c["segment_id"]]
        cell = cells[(s["city"], theme(c["code"]))]
        cell["segments"].add(c["segment_id"])
        cell["documents"].add(s["document"])
        if s["kind"] == "interview":
            cell["people"].add(s["participant"] or s["document"])
    rows = read_csv(tmp_path / "m.csv")
    assert list(rows[0]) == [
        "city",
        "code",
        "label",
        "segments",
        "documents",
        "share_of_interviewees",
        "per_1000_words",
    ]
    themes = [c["id"] for c in book["codes"] if not c.get("parent")]
    assert len(rows) == 4 * len(themes)
    for r in rows:
        cell = cells[(r["city"], r["code"])]
        assert int(r["segments"]) == len(cell["segments"]), r
        assert int(r["documents"]) == len(cell["documents"]), r
        share = len(cell["people"]) / len(people[r["city"]])
        assert float(r["share_of_interviewees"]) == pytest.approx(share, abs=1e-4), r
        per = 1000 * len(cell["segments"]) / words[r["city"]]
        assert float(r["per_1000_words"]) == pytest.approx(per, abs=1e-4), r


def test_matrix_xlsx_and_heatmap(project: Path, tmp_path: Path) -> None:
    import openpyxl
    from PIL import Image

    output = run(project, "matrix", "--out", tmp_path / "m.xlsx", "--plot", tmp_path / "h.png")
    assert "Pohjanlinna" in output
    book = openpyxl.load_workbook(tmp_path / "m.xlsx")
    assert book.sheetnames == [
        "segments",
        "documents",
        "share_of_interviewees",
        "per_1000_words",
        "quotes",
    ]
    header = [c.value for c in book["segments"][1]]
    assert "Yhteistyö" in header and "Osaaminen ja työvoima" in header
    quotes = list(book["quotes"].values)
    assert quotes[0][:3] == ("city", "code", "label")
    per_cell: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in quotes[1:]:
        per_cell[(row[0], row[1])].append(row[4])
    assert all(len(docs) == len(set(docs)) <= 3 for docs in per_cell.values())
    image = Image.open(tmp_path / "h.png")
    assert image.size[0] >= 1200 and image.size[1] >= 500


def test_matrix_by_role_codes_and_suggested(project: Path, tmp_path: Path) -> None:
    run(project, "matrix", "--by", "role", "--level", "code", "--out", tmp_path / "r.csv")
    rows = read_csv(tmp_path / "r.csv")
    assert next(iter(rows[0])) == "role"
    assert {"yrittäjä", "kaupungin edustaja"} <= {r["role"] for r in rows}
    run(project, "matrix", "--out", tmp_path / "a.csv")
    run(project, "matrix", "--include-suggested", "--out", tmp_path / "b.csv")
    a = sum(int(r["segments"]) for r in read_csv(tmp_path / "a.csv"))
    b = sum(int(r["segments"]) for r in read_csv(tmp_path / "b.csv"))
    assert b >= a


def test_matrix_without_codings(tmp_path: Path) -> None:
    root = tmp_path / "p"
    init_project(root, codebook=CODEBOOK)
    run(root, "import", SAMPLE / "saarvala-tyopaja.md", "--city", "Saarvala")
    run(root, "tag")
    output = run(root, "matrix", code=1)
    assert output.splitlines()[0] == "Error: no accepted codings yet"


def paragraphs(path: Path) -> list[str]:
    return [p.text for p in docx.Document(str(path)).paragraphs]


def test_every_report_has_its_parts(reports: Path, project: Path) -> None:
    assert sorted(p.name for p in reports.glob("*.docx")) == [
        "Ilvesvaara.docx",
        "Lounajoki.docx",
        "Pohjanlinna.docx",
        "Saarvala.docx",
        "yhteenveto.docx",
    ]
    for city in ("Ilvesvaara", "Lounajoki", "Pohjanlinna", "Saarvala"):
        document = docx.Document(str(reports / f"{city}.docx"))
        headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
        assert headings[:2] == ["Yhteenveto", "Indikaattorit"]
        for needed in (
            "Yhteistyö",
            "Kehittämistarpeet ja ehdotetut toimenpiteet",
            "Puuttuvat täydentävät toimijat (Invest in)",
            "Teemataulukko",
        ):
            assert needed in headings, (city, needed)
        # The strategy inputs close the report (tests/test_summary.py checks their table).
        assert headings[-1] == "Strategian lähtökohdat"
        assert document.paragraphs[0].text.endswith("innovaatioekosysteemin tilannekuva")
        # Indicators, theme table, strategy inputs.
        assert len(document.tables) == 3
        assert len(document.inline_shapes) == 1
        text = "\n".join(p.text for p in document.paragraphs)
        assert "Verkostotoiminnan kypsyysaste:" in text and "Vetovastuu:" in text
        # Grammar: a count of one never takes the partitive.
        assert not re.search(
            r"(?<![\d,])\b(1|yksi) (haastattelua|työpajaa|segmenttiä|mainintaa)\b", text
        )


def test_claims_carry_segment_comments(reports: Path, project: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(project / "qualcode.db")
    known = {r[0] for r in conn.execute("SELECT id FROM segments")}
    conn.close()
    with zipfile.ZipFile(reports / "Pohjanlinna.docx") as zf:
        comments = zf.read("word/comments.xml").decode("utf-8")
        body = zf.read("word/document.xml").decode("utf-8")
    ids = re.findall(r"\bs[0-9a-f]{11}\b", comments)
    assert len(set(ids)) > 30
    assert set(ids) <= known
    assert body.count("commentReference") > 20


def test_theme_table_matches_the_matrix(reports: Path, project: Path, tmp_path: Path) -> None:
    run(project, "matrix", "--out", tmp_path / "m.csv")
    rows = {(r["city"], r["label"]): r for r in read_csv(tmp_path / "m.csv")}
    table = docx.Document(str(reports / "Saarvala.docx")).tables[1]
    assert [c.text for c in table.rows[0].cells][:3] == ["Teema", "Segmentit", "Dokumentit"]
    for row in table.rows[1:]:
        cells = [c.text for c in row.cells]
        expected = rows[("Saarvala", cells[0])]
        assert cells[1] == expected["segments"] and cells[2] == expected["documents"]
        assert cells[4] == fi.decimal(float(expected["per_1000_words"]))


def test_indicators_and_summary_reflect_the_sample(reports: Path) -> None:
    lounajoki = "\n".join(paragraphs(reports / "Lounajoki.docx"))
    assert "Verkostotoiminnan kypsyysaste: vakiintunut." in lounajoki
    assert "Vetovastuu: oppilaitoslähtöinen." in lounajoki
    pohjanlinna = "\n".join(paragraphs(reports / "Pohjanlinna.docx"))
    assert "Vetovastuu: yrityslähtöinen." in pohjanlinna
    summary = docx.Document(str(reports / "yhteenveto.docx"))
    typology = summary.tables[0]
    assert [c.text for c in typology.rows[0].cells] == [
        "",
        "kaupunkilähtöinen",
        "yrityslähtöinen",
        "oppilaitoslähtöinen",
    ]
    cells = {
        (r.cells[0].text, i): c.text for r in typology.rows[1:] for i, c in enumerate(r.cells[1:])
    }
    assert cells[("vakiintunut", 2)] == "Lounajoki"


def test_thin_material_is_said_not_invented(tmp_path: Path) -> None:
    root = tmp_path / "p"
    init_project(root, codebook=CODEBOOK)
    folder = tmp_path / "aineisto"
    folder.mkdir()
    shutil.copy(SAMPLE / "ilvesvaara-02-matkailuyrittaja.txt", folder / "a.txt")
    run(root, "import", folder / "a.txt", "--city", "Pikkula")
    out = tmp_path / "r.csv"
    run(root, "tag", "--out", out)
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")), delimiter=";"))
    first = rows[0]
    run(root, "code", first["segment_id"], "rahoitus")
    run(root, "report", "--city", "Pikkula", "--out", tmp_path / "rep", "--date", "2026-11-27")
    text = "\n".join(paragraphs(tmp_path / "rep" / "Pikkula.docx"))
    assert "Pikkulan aineisto on suppea: koodattuja segmenttejä on vain yksi." in text
    assert "Verkostotoiminnan kypsyysaste: ei riittävästi aineistoa." in text
    # The themes without material are named in one sentence, not given a page each.
    assert "toimenpiteet” ja ”Vahvuudet ja onnistumiset” eivät nousseet aineistossa esiin" in text
    assert "Teemasta ei ollut mainintoja" not in text


def test_reports_are_deterministic_and_template_styles_apply(
    project: Path, reports: Path, tmp_path: Path
) -> None:
    from docx.shared import RGBColor

    template = docx.Document()
    template.styles["Heading 1"].font.name = "Georgia"
    template.styles["Heading 1"].font.color.rgb = RGBColor(0x80, 0x00, 0x20)
    template.add_paragraph("Tämä pohjan teksti poistetaan.")
    template.save(str(tmp_path / "pohja.docx"))
    run(
        project,
        "report",
        "--city",
        "Saarvala",
        "--template",
        tmp_path / "pohja.docx",
        "--out",
        tmp_path / "t",
        "--date",
        "2026-11-27",
    )
    styled = docx.Document(str(tmp_path / "t" / "Saarvala.docx"))
    heading = next(p for p in styled.paragraphs if p.style.name == "Heading 1")
    assert heading.style.font.name == "Georgia"
    assert "Tämä pohjan teksti poistetaan." not in [p.text for p in styled.paragraphs]
    assert paragraphs(tmp_path / "t" / "Saarvala.docx") == paragraphs(reports / "Saarvala.docx")


def test_english_report(project: Path, tmp_path: Path) -> None:
    run(
        project,
        "report",
        "--city",
        "Lounajoki",
        "--lang",
        "en",
        "--out",
        tmp_path,
        "--date",
        "2026-11-27",
    )
    text = paragraphs(tmp_path / "Lounajoki.docx")
    assert text[0] == "Situation snapshot of the innovation ecosystem: Lounajoki"
    assert "Maturity of network activity: established." in "\n".join(text)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed")
def test_report_converts_to_pdf(reports: Path, tmp_path: Path) -> None:
    shutil.copy(reports / "Saarvala.docx", tmp_path / "Saarvala.docx")
    subprocess.run(
        [
            "soffice",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(tmp_path / "Saarvala.docx"),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pdf = (tmp_path / "Saarvala.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 3


def test_finnish_grammar_helpers() -> None:
    assert fi.count(1, "haastattelu") == "yksi haastattelu"
    assert fi.count(3, "haastattelu") == "kolme haastattelua"
    assert fi.count(1, "työpaja", "ill") == "yhteen työpajaan"
    assert fi.count(2, "haastateltava", "ela") == "kahdesta haastateltavasta"
    assert fi.count(12, "segmentti", "ine") == "12 segmentissä"
    assert fi.place_forms("Lounajoki") == ("Lounajoen", "Lounajoella")
    assert fi.place_forms("Pohjanlinna") == ("Pohjanlinnan", "Pohjanlinnassa")
    assert fi.place_forms("Äänekoski") == ("Äänekosken", "Äänekoskella")
    assert fi.place_forms("Iisalmi") == ("Iisalmen", "Iisalmessa")
    assert fi.place_forms("Kotka", {"Kotka": ["Kotkan", "Kotkassa"]}) == ("Kotkan", "Kotkassa")
    assert fi.month_span(["2026-03-10", "2026-05-02"]) == "maalis–toukokuussa 2026"
    assert fi.join(["A", "B", "C"]) == "A, B ja C"


def test_report_needs_city_or_all(project: Path, tmp_path: Path) -> None:
    output = run(project, "report", "--out", tmp_path, code=2)
    assert "give either --city C or --all" in output
    output = run(project, "report", "--city", "Helsinki", "--out", tmp_path, code=1)
    assert output.splitlines()[0] == "Error: no documents from city 'Helsinki'"
