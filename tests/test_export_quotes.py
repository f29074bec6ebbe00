"""``export quotes``: one row per accepted coding, grouped by theme and city, Excel-safe."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import openpyxl
import pytest
import yaml
from click.testing import CliRunner

from conftest import REPO, SAMPLE, Invoke, db_snapshot
from qualcode.cli import cli
from qualcode.project import init_project
from qualcode.workflow.quotes import QUOTE_EXPORT_COLUMNS, sheet_names

CODEBOOK = REPO / "codebooks" / "innovaatioekosysteemi.yaml"
BOOK = yaml.safe_load(CODEBOOK.read_text(encoding="utf-8"))
PARENT = {c["id"]: c.get("parent") for c in BOOK["codes"]}
LABEL = {c["id"]: c["label"] for c in BOOK["codes"]}


def theme_of(code: str) -> str:
    while PARENT.get(code):
        code = PARENT[code]
    return code


def run(project: Path, *args: object, code: int = 0) -> str:
    result = CliRunner().invoke(
        cli, ["--project", str(project), *map(str, args)], catch_exceptions=False
    )
    assert result.exit_code == code, result.output
    return result.output


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("quotes") / "proj"
    init_project(root, coder="tutkija", codebook=CODEBOOK)
    run(root, "import", SAMPLE)
    run(root, "tag")
    run(root, "review", SAMPLE / "review-decisions.csv")
    # A second coder on one segment: two codings, two rows.
    first = read_csv_codings(root, tmp_path_factory.mktemp("c"))[0]
    run(root, "code", first["segment_id"], first["code"], "--coder", "anna")
    return root


def read_csv_codings(root: Path, folder: Path) -> list[dict[str, str]]:
    run(root, "export", "codings", "--out", folder / "codings.csv")
    return [c for c in read_csv(folder / "codings.csv") if c["status"] == "accepted"]


@pytest.fixture(scope="module")
def exports(project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list]:
    folder = tmp_path_factory.mktemp("exports")
    run(project, "export", "segments", "--out", folder / "segments.csv")
    return {
        "codings": read_csv_codings(project, folder),
        "segments": read_csv(folder / "segments.csv"),
    }


def test_one_row_per_accepted_coding(project: Path, tmp_path: Path, exports: dict) -> None:
    out = tmp_path / "lainaukset.csv"
    output = run(project, "export", "quotes", "--out", out)
    rows = read_csv(out)
    codings = exports["codings"]
    assert output == f"Wrote {len(codings)} codings under 10 themes to {out}\n"
    assert len(rows) == len(codings)
    assert Counter((r["segment_id"], r["code"], r["coder"]) for r in rows) == Counter(
        (c["segment_id"], c["code"], c["coder"]) for c in codings
    )
    assert list(rows[0]) == list(QUOTE_EXPORT_COLUMNS)
    segments = {s["segment_id"]: s for s in exports["segments"]}
    for r in rows:
        s = segments[r["segment_id"]]
        assert r["theme"] == theme_of(r["code"]) and r["theme_label"] == LABEL[r["theme"]]
        assert r["code_label"] == LABEL[r["code"]]
        assert (r["city"], r["document"]) == (s["city"], s["document"])
        # The same pseudonymised text as 'export segments' gives.
        assert r["text"] == s["text"]
    assert "Helka Rönkkö" not in out.read_text(encoding="utf-8-sig")
    # Grouped: theme in codebook order, then city.
    order = [c["id"] for c in BOOK["codes"]]
    keys = [(order.index(r["theme"]), r["city"]) for r in rows]
    assert keys == sorted(keys)
    # Cue times where the document has them (subtitles, or [00:01:02] labels in a transcript).
    subtitles = {"lounajoki-03-yritys.vtt", "pohjanlinna-02-kehitysyhtio.srt"}
    subtitles.add("saarvala-02-yrittaja.vtt")
    assert all(r["time"] for r in rows if r["document"] in subtitles)
    assert not any(r["time"] for r in rows if r["document"] == "saarvala-01-elinkeinojohtaja.txt")


def test_workbook_has_one_filterable_sheet_per_theme(
    project: Path, tmp_path: Path, exports: dict
) -> None:
    out = tmp_path / "lainaukset.xlsx"
    run(project, "export", "quotes", "--out", out)
    book = openpyxl.load_workbook(out)
    per_theme = Counter(theme_of(c["code"]) for c in exports["codings"])
    themes = [c["id"] for c in BOOK["codes"] if c["id"] in per_theme and not c.get("parent")]
    assert book.sheetnames == sheet_names([LABEL[t] for t in themes])
    for theme, name in zip(themes, book.sheetnames, strict=True):
        sheet = book[name]
        values = list(sheet.iter_rows(values_only=True))
        assert values[0] == QUOTE_EXPORT_COLUMNS
        assert len(values) - 1 == per_theme[theme]
        assert {v[0] for v in values[1:]} == {theme}
        assert sheet.auto_filter.ref == sheet.dimensions
        assert sheet.freeze_panes == "A2"


def test_filters_by_city_and_theme(project: Path, tmp_path: Path, exports: dict) -> None:
    out = tmp_path / "saarvala.csv"
    run(project, "export", "quotes", "--city", "Saarvala", "--code", "yhteistyo", "--out", out)
    expected = [
        c
        for c in exports["codings"]
        if c["city"] == "Saarvala" and theme_of(c["code"]) == "yhteistyo"
    ]
    rows = read_csv(out)
    assert len(rows) == len(expected) > 5
    run(project, "export", "quotes", "--code", "seutuyhteistyo", "--out", out)
    assert len(read_csv(out)) == sum(c["code"] == "seutuyhteistyo" for c in exports["codings"])


@pytest.mark.parametrize(
    ("args", "code", "first"),
    [
        (["--city", "Tampere"], 1, "Error: no documents from city 'Tampere'"),
        (["--code", "yhteisty"], 1, "Error: unknown code 'yhteisty'"),
        (["--out-of"], 2, "Usage: cli export quotes [OPTIONS]"),
    ],
)
def test_bad_filters_are_one_line_errors(
    project: Path, tmp_path: Path, args: list[str], code: int, first: str
) -> None:
    before = db_snapshot(project)
    out = tmp_path / "x.csv"
    result = CliRunner().invoke(
        cli,
        ["--project", str(project), "export", "quotes", *args, "--out", str(out)],
        catch_exceptions=False,
    )
    assert result.exit_code == code, result.output
    assert result.output.splitlines()[0] == first
    assert not out.exists()
    assert db_snapshot(project) == before


def test_unknown_code_hint_and_wrong_suffix(project: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["--project", str(project), "export", "quotes", "--code", "yhteisty", "--out", "x.csv"],
    )
    assert result.output.splitlines()[1] == "Hint: did you mean 'yhteistyo'?"
    result = CliRunner().invoke(
        cli, ["--project", str(project), "export", "quotes", "--out", str(tmp_path / "x.txt")]
    )
    assert result.exit_code == 2
    assert f"Invalid value for --out: {tmp_path / 'x.txt'}: use a .xlsx or .csv file name" in (
        result.output
    )


def test_cells_that_look_like_formulas_stay_text(qc: Invoke, project_dir: Path) -> None:
    (project_dir / "codebook.yaml").write_text(
        "name: t\nversion: 1\nlanguage: fi\ncodes:\n"
        "  - id: rahoitus\n    label: '=Rahoitus'\n    definition: raha\n    keywords: [rahoitus]\n",
        encoding="utf-8",
    )
    doc = project_dir / "pori-01.txt"
    doc.write_text(
        'H: Mistä rahoitus tulee?\n\nV: =HYPERLINK("http://x","rahoitus") ja @rahoitus.\n',
        encoding="utf-8",
    )
    assert qc("import", doc, "--city", "Pori").exit_code == 0
    assert qc("tag", "--codebook", project_dir / "codebook.yaml").exit_code == 0
    out = project_dir / "segments.csv"
    qc("export", "segments", "--out", out)
    segment = next(s["segment_id"] for s in read_csv(out) if "HYPERLINK" in s["text"])
    assert qc("code", segment, "rahoitus").exit_code == 0
    xlsx = project_dir / "q.xlsx"
    result = qc("export", "quotes", "--out", xlsx)
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(xlsx).worksheets[0]
    assert sheet.title == "=Rahoitus"
    cells = [c for row in sheet.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    texts = [c.value for c in cells if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert texts and all(t.startswith("'") or not t.startswith("=") for t in texts)
    assert sheet["E2"].value == "'=Rahoitus"
    csv_out = project_dir / "q.csv"
    qc("export", "quotes", "--out", csv_out)
    assert "'=Rahoitus" in csv_out.read_text(encoding="utf-8-sig")


def test_sheet_names_are_valid_and_distinct() -> None:
    assert sheet_names(["Yhteistyö: koulut/valtio", "A" * 40, "A" * 40, "'"]) == [
        "Yhteistyö koulut valtio",
        "A" * 31,
        "A" * 27 + " (2)",
        "teema",
    ]
