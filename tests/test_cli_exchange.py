"""REFI-QDA export/import and inter-coder agreement through the command line."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import REPO, SAMPLE, copy_project, run
from qualcode.agreement import agreement
from qualcode.cli import cli
from qualcode.project import init_project

CODEBOOK = REPO / "codebooks" / "innovaatioekosysteemi.yaml"
BENCH = REPO.parent / "shared" / "bench-data"
XSD = BENCH / "refi-qda" / "schemas" / "Project-mrt2019.xsd"


@pytest.fixture(scope="module")
def reviewed(sample_reviewed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(sample_reviewed, tmp_path_factory.mktemp("exchange") / "proj")


def qde(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        return zf.read("project.qde").decode("utf-8")


@pytest.mark.skipif(not XSD.is_file(), reason="../shared/bench-data/refi-qda is not here")
def test_export_validates_and_round_trips(reviewed: Path, tmp_path: Path) -> None:
    import xmlschema

    # The exact round trip of both modes is in test_safety_qdpx.py; here the default,
    # pseudonymised export is checked for validity and stability, the other for structure.
    shared = tmp_path / "shared.qdpx"
    run(reviewed, "export", "qdpx", shared)
    xmlschema.XMLSchema(str(XSD)).validate(qde(shared))
    again = tmp_path / "again.qdpx"
    run(reviewed, "export", "qdpx", again)
    assert again.read_bytes() == shared.read_bytes()  # stable GUIDs, stable bytes
    first = tmp_path / "a.qdpx"
    run(reviewed, "export", "qdpx", "--no-pseudonymise", first)
    xmlschema.XMLSchema(str(XSD)).validate(qde(first))

    fresh = tmp_path / "fresh"
    init_project(fresh)
    output = run(fresh, "import", "qdpx", first)
    assert "Imported 16 source(s) (0 skipped), 53 codes" in output
    second = tmp_path / "b.qdpx"
    run(fresh, "export", "qdpx", "--no-pseudonymise", second)
    a, b = qde(first), qde(second)
    # Same codes (with their GUIDs), same coded selections and sources; only the project name
    # in the header differs.
    assert a.split("\n", 2)[2] == b.split("\n", 2)[2]
    with zipfile.ZipFile(first) as za, zipfile.ZipFile(second) as zb:
        assert sorted(za.namelist()) == sorted(zb.namelist())
        for name in za.namelist():
            if name.startswith("sources/"):
                assert za.read(name) == zb.read(name)


def test_codings_land_on_the_same_text(reviewed: Path, tmp_path: Path) -> None:
    from qualcode.refi import import_qdpx

    path = tmp_path / "a.qdpx"
    run(reviewed, "export", "qdpx", "--no-pseudonymise", path)
    project, warnings = import_qdpx(path.read_bytes())
    assert warnings == []
    texts = {s.guid: s.text for s in project.sources}
    run(reviewed, "export", "segments", "--no-pseudonymise", "--out", tmp_path / "s.csv")
    segment_texts = {
        r["text"].lstrip("'")
        for r in csv.DictReader(io.StringIO((tmp_path / "s.csv").read_text(encoding="utf-8-sig")))
    }
    assert len(project.codings) > 800
    for coding in project.codings:
        assert texts[coding.source_guid][coding.start : coding.end] in segment_texts


@pytest.mark.skipif(not BENCH.is_dir(), reason="../shared/bench-data is not here")
@pytest.mark.parametrize(
    "sample",
    [*sorted(p.name for p in (BENCH / "refi-qda" / "samples").glob("*.qdpx")), "demo.qdpx"]
    if BENCH.is_dir()
    else [],
)
def test_real_projects_import(sample: str, tmp_path: Path) -> None:
    path = BENCH / "refi-qda" / "samples" / sample
    if not path.is_file():
        path = BENCH / "qc-demo-coded-interviews" / sample
    init_project(tmp_path / "p")
    result = CliRunner().invoke(
        cli,
        ["--project", str(tmp_path / "p"), "import", "qdpx", str(path), "--city", "Testikaupunki"],
    )
    assert result.exit_code == 0, result.output
    assert "Imported" in result.output
    if sample == "demo.qdpx":
        # 210, not 211: the board meeting's one-off speakers (John, Malika, ...) are turns of
        # their own now, no longer folded into the previous speaker's (issue 15.1).
        assert "Imported 2 source(s) (0 skipped), 262 codes, 210 segment codings" in result.output
        assert "did not match qualcode's segments" in result.output  # widened, and said so


def test_qdc_export_and_codebook_import(reviewed: Path, tmp_path: Path) -> None:
    run(reviewed, "export", "qdc", tmp_path / "k.qdc")
    output = run(None, "codebook", "import-qdc", tmp_path / "k.qdc", "--out", tmp_path / "k.yaml")
    assert output.strip() == f"Wrote 53 codes to {tmp_path / 'k.yaml'}"
    check = run(None, "codebook", "check", "--no-lemmas", tmp_path / "k.yaml")
    assert check.startswith("OK:")
    text = (tmp_path / "k.yaml").read_text(encoding="utf-8")
    assert "id: kypsyys_kaynnistymassa" in text and "codable: false" in text


def test_malicious_archive_is_refused(tmp_path: Path) -> None:
    evil = tmp_path / "evil.qdpx"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("project.qde", "<Project/>")
        zf.writestr("../../etc/passwd", "x")
    init_project(tmp_path / "p")
    output = run(tmp_path / "p", "import", "qdpx", evil, code=1)
    assert output.startswith("Error:") and ".." in output.splitlines()[0]


def test_agreement_between_two_coders(tmp_path: Path) -> None:
    root = tmp_path / "p"
    init_project(root, codebook=CODEBOOK)
    run(root, "import", SAMPLE / "saarvala-01-elinkeinojohtaja.txt", "--city", "Saarvala")
    out = tmp_path / "r.csv"
    run(root, "tag", "--out", out)
    segments = sorted(
        {
            r["segment_id"]
            for r in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")), delimiter=";")
        }
    )[:10]
    # The ATLAS.ti manual's ten segments: coder 1 codes 1-2, coder 2 codes 2, 3, 6, 8.
    anna, ville = [0, 1], [1, 2, 5, 7]
    for i in anna:
        run(root, "code", segments[i], "rahoitus", "--coder", "anna")
    for i in ville:
        run(root, "code", segments[i], "rahoitus", "--coder", "ville")
    output = run(root, "agreement", "--coders", "anna,ville", "--code", "rahoitus", "--json")
    data = json.loads(output)
    result = data["codes"]["rahoitus"]
    # Units: every codable segment of the document both coders worked on.
    n = result["units"]
    table = [[1 if i in anna else 0, 1 if i in ville else 0] for i in range(n)]
    expected = agreement(table)
    assert result["cohen_kappa"] == pytest.approx(expected.cohen_kappa)
    assert result["krippendorff_alpha"] == pytest.approx(expected.krippendorff_alpha)
    assert result["brennan_prediger"] == pytest.approx(expected.brennan_prediger)
    run(
        root,
        "agreement",
        "--coders",
        "anna,ville",
        "--disagreements",
        "--out",
        tmp_path / "erot.csv",
    )
    rows = list(
        csv.DictReader(io.StringIO((tmp_path / "erot.csv").read_text(encoding="utf-8-sig")))
    )
    assert len(rows) == 4  # segments 1, 3, 6 and 8 of the ten
    assert {r["code"] for r in rows} == {"rahoitus"}
    bad = run(root, "agreement", "--coders", "anna,eeva", code=1)
    assert bad.splitlines()[0] == "Error: no decisions by coder 'eeva'"


def test_pseudonymised_export_moves_the_offsets(reviewed: Path, tmp_path: Path) -> None:
    from qualcode.refi import import_qdpx

    path = tmp_path / "p.qdpx"
    run(reviewed, "export", "qdpx", path)
    project, _ = import_qdpx(path.read_bytes())
    texts = {s.guid: s.text for s in project.sources}
    assert not any("Jaana Ketola" in t or "Elina Saarikorpi" in t for t in texts.values())
    run(reviewed, "export", "segments", "--out", tmp_path / "s.csv")
    shown = {
        r["text"].lstrip("'")
        for r in csv.DictReader(io.StringIO((tmp_path / "s.csv").read_text(encoding="utf-8-sig")))
    }
    spans = [texts[c.source_guid][c.start : c.end] for c in project.codings]
    assert len(spans) > 800 and all(span in shown for span in spans)


def test_not_a_qdpx_names_the_file(tmp_path: Path) -> None:
    init_project(tmp_path / "p")
    bad = tmp_path / "bad.qdpx"
    bad.write_text("ei zip", encoding="utf-8")
    output = run(tmp_path / "p", "import", "qdpx", bad, code=1)
    assert output.splitlines()[0].startswith(f"Error: {bad}: not a QDPX file")
