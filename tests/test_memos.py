"""The researcher's memos (``memos/*.md``): kept across report runs, placed in their sections,
marked as the researcher's text, pseudonymised, and refused with file and line when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import REPO, SAMPLE, db_snapshot
from docx_helpers import Section, read_report, section
from qualcode.cli import cli
from qualcode.errors import MemoError
from qualcode.memos import load_memos
from qualcode.project import init_project

CODEBOOK = REPO / "codebooks" / "innovaatioekosysteemi.yaml"

SAARVALA = """\
# Saarvala: tutkijan muistiot

## yhteistyo
Yhteistyö oppilaitosten kanssa on Saarvalassa vasta henkilöiden varassa; Helka Rönkkö
kantaa sitä lähes yksin.

Toinen kappale: tämä on tulkinta, ei aineiston suora sisältö.

<!-- tämä on muistiinpano itselle, ei raporttiin -->

## strategia
Strategiassa kannattaa aloittaa pysyvästä koordinaattorista.
"""

SUMMARY = """\
## typologia
Typologia näyttää kolme eri polkua; Ilvesvaaran paikka jää auki.

## invest-in
Invest in -työkalussa Lounajoen oppilaitokset ovat vahvin myyntivaltti.

## veto_ja_pitovoima
Veto- ja pitovoima on verkoston yhteinen kysymys.
"""


def run(project: Path, *args: object, code: int = 0) -> str:
    result = CliRunner().invoke(
        cli, ["--project", str(project), *map(str, args)], catch_exceptions=False
    )
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("memos") / "proj"
    init_project(root, coder="tutkija", codebook=CODEBOOK)
    run(root, "import", SAMPLE)
    run(root, "tag")
    run(root, "review", SAMPLE / "review-decisions.csv")
    return root


def memo_after(sections: list[Section], title: str) -> list[str]:
    """The paragraphs of the researcher's memo in a section (after its marker)."""
    paras = [p.text for p in section(sections, title).paragraphs]
    assert "Tutkijan muistio" in paras, (title, paras)
    return paras[paras.index("Tutkijan muistio") + 1 :]


def test_memos_survive_regeneration_in_their_sections(project: Path, tmp_path: Path) -> None:
    memos = project / "memos"
    memos.mkdir(exist_ok=True)
    (memos / "Saarvala.md").write_text(SAARVALA, encoding="utf-8")
    (memos / "yhteenveto.md").write_text(SUMMARY, encoding="utf-8")
    before = {p.name: p.read_bytes() for p in memos.iterdir()}
    runs = []
    for n in (1, 2):
        out = tmp_path / f"run{n}"
        run(project, "report", "--all", "--out", out, "--date", "2026-11-27")
        runs.append(out)
    # The memo files are the researcher's: a report run reads them and never writes them.
    assert {p.name: p.read_bytes() for p in memos.iterdir()} == before
    for out in runs:
        city = read_report(out / "Saarvala.docx")
        coop = memo_after(city, "Yhteistyö")
        # Pseudonymised as the quotes are: reports go to clients.
        assert coop[0] == (
            "Yhteistyö oppilaitosten kanssa on Saarvalassa vasta henkilöiden varassa; "
            "[kaupungin edustaja 1] kantaa sitä lähes yksin."
        )
        assert coop[1] == "Toinen kappale: tämä on tulkinta, ei aineiston suora sisältö."
        assert not any("muistiinpano itselle" in p.text for s in city for p in s.paragraphs)
        assert not any("Helka Rönkkö" in p.text for s in city for p in s.paragraphs)
        assert memo_after(city, "Strategian lähtökohdat") == [
            "Strategiassa kannattaa aloittaa pysyvästä koordinaattorista."
        ]
        # A memo stands only where it was written.
        marked = [s.title for s in city if any(p.text == "Tutkijan muistio" for p in s.paragraphs)]
        assert marked == ["Yhteistyö", "Strategian lähtökohdat"]
        other = read_report(out / "Lounajoki.docx")
        assert not any(p.text == "Tutkijan muistio" for s in other for p in s.paragraphs)
        summary = read_report(out / "yhteenveto.docx")
        assert memo_after(summary, "Typologia") == [
            "Typologia näyttää kolme eri polkua; Ilvesvaaran paikka jää auki."
        ]
        assert memo_after(summary, "Invest in: puuttuvat täydentävät toimijat") == [
            "Invest in -työkalussa Lounajoen oppilaitokset ovat vahvin myyntivaltti."
        ]
        themes = [p.text for p in section(summary, "Teemat kaupungeittain").paragraphs]
        at = themes.index("Veto- ja pitovoima on verkoston yhteinen kysymys.")
        # Under its own theme's sentence, not at the end of the section.
        assert themes[at - 1] == "Tutkijan muistio"
        assert themes[at - 2].startswith("”Veto- ja pitovoima, Invest in” nousi esiin")
    # In English the same memo, marked in English (the memo text is the researcher's own).
    run(project, "report", "--city", "Saarvala", "--lang", "en", "--out", tmp_path / "en")
    english = read_report(tmp_path / "en" / "Saarvala.docx")
    paras = [p.text for p in section(english, "Inputs for the strategy").paragraphs]
    assert paras[-2:] == [
        "Researcher's memo",
        "Strategiassa kannattaa aloittaa pysyvästä koordinaattorista.",
    ]
    # The memo paragraphs carry no segment comment: they are not generated claims.
    city = read_report(runs[0] / "Saarvala.docx")
    start = [p.text for p in section(city, "Yhteistyö").paragraphs].index("Tutkijan muistio")
    assert all(not p.segments for p in section(city, "Yhteistyö").paragraphs[start:])


@pytest.mark.parametrize(
    ("name", "text", "error"),
    [
        (
            "Saarvala.md",
            "# Otsikko\n\n## yhteistyo\nHyvä.\n\n## yhteistyö\nVäärä tunnus.\n",
            "Error: memos/Saarvala.md:6: unknown section id 'yhteistyö'",
        ),
        (
            "Tampere.md",
            "## yhteistyo\nTekstiä.\n",
            "Error: memos/Tampere.md: no city 'Tampere' in the project",
        ),
        (
            "yhteenveto.md",
            "Johdanto ilman otsikkoa.\n\n## typologia\nTekstiä.\n",
            "Error: memos/yhteenveto.md:1: text before the first '## id' heading",
        ),
        (
            "Lounajoki.md",
            "## strategia\nYksi.\n\n## strategia\nKaksi.\n",
            "Error: memos/Lounajoki.md:4: a second '## strategia' (the first is on line 1)",
        ),
    ],
)
def test_a_bad_memo_is_refused_with_file_and_line(
    project: Path, tmp_path: Path, name: str, text: str, error: str
) -> None:
    memos = project / "memos"
    memos.mkdir(exist_ok=True)
    saved = {p: p.read_bytes() for p in memos.iterdir()}
    for p in saved:
        p.unlink()
    (memos / name).write_text(text, encoding="utf-8")
    try:
        before = db_snapshot(project)
        out = tmp_path / "reports"
        result = CliRunner().invoke(
            cli,
            ["--project", str(project), "report", "--all", "--out", str(out)],
            catch_exceptions=False,
        )
        assert result.exit_code == 1, result.output
        lines = result.output.splitlines()
        assert lines[0] == error
        assert lines[1].startswith("Hint: ")
        assert "Traceback" not in result.output
        # Nothing written, nothing changed.
        assert not out.exists() or not any(out.iterdir())
        assert db_snapshot(project) == before
    finally:
        (memos / name).unlink()
        for p, data in saved.items():
            p.write_bytes(data)


def test_unknown_id_hint_lists_the_ids(tmp_path: Path) -> None:
    (tmp_path / "memos").mkdir()
    (tmp_path / "memos" / "Pori.md").write_text("## teema_x\nTeksti.\n", encoding="utf-8")
    with pytest.raises(MemoError) as caught:
        load_memos(tmp_path, cities=["Pori"], themes=["yhteistyo", "vahvuudet"])
    assert caught.value.message == "memos/Pori.md:1: unknown section id 'teema_x'"
    assert caught.value.hint == (
        "use one of: indikaattorit, strategia, vahvuudet, yhteenveto, yhteistyo"
    )


def test_memo_files_are_read_as_written(tmp_path: Path) -> None:
    folder = tmp_path / "memos"
    folder.mkdir()
    (folder / "pori.md").write_bytes(
        "\ufeff## yhteistyo\nRivi yksi\njatkuu.\n\n<!-- monirivinen\nkommentti -->\nToinen.\n".encode()
    )
    (folder / "README.md").write_text("Ohje, ei muistio.\n", encoding="utf-8")
    (folder / "luonnos.txt").write_text("ei Markdown-tiedosto\n", encoding="utf-8")
    memos = load_memos(tmp_path, cities=["Pori"], themes=["yhteistyo"])
    # Matched to the city ignoring case; a BOM is not text; comments are left out.
    assert memos.texts("Pori") == {"yhteistyo": ("Rivi yksi jatkuu.", "Toinen.")}
    assert memos.texts(None) == {}
    (folder / "pori.md").write_bytes(b"## yhteistyo\nrikki \xe4\n")
    with pytest.raises(MemoError) as caught:
        load_memos(tmp_path, cities=["Pori"], themes=["yhteistyo"])
    assert caught.value.message == "memos/pori.md:2: not valid UTF-8"
    assert caught.value.hint == "save the memo as UTF-8"


def test_memos_travel_as_refi_notes_and_come_back(project: Path, tmp_path: Path) -> None:
    import zipfile

    memos = project / "memos"
    memos.mkdir(exist_ok=True)
    (memos / "Saarvala.md").write_text(SAARVALA, encoding="utf-8")
    (memos / "yhteenveto.md").write_text(SUMMARY, encoding="utf-8")
    archive = tmp_path / "hanke.qdpx"
    run(project, "export", "qdpx", archive)
    with zipfile.ZipFile(archive) as zf:
        qde = zf.read("project.qde").decode("utf-8")
    assert '<Note guid="' in qde and 'name="Saarvala: yhteistyo"' in qde
    assert "[kaupungin edustaja 1] kantaa sitä lähes yksin." in qde
    assert "Helka Rönkkö" not in qde
    # In the schema's place: after the sources; and the whole file valid against the XSD.
    assert qde.index("<Notes>") > qde.index("</Sources>")
    xsd = REPO.parent / "shared" / "bench-data" / "refi-qda" / "schemas" / "Project-mrt2019.xsd"
    if xsd.is_file():
        import xmlschema

        xmlschema.XMLSchema(str(xsd)).validate(qde)

    other = tmp_path / "toinen"
    init_project(other, coder="tutkija")
    output = run(other, "import", "qdpx", archive)
    assert "5 memo(s) into memos/" in output
    back = (other / "memos" / "Saarvala.md").read_text(encoding="utf-8")
    assert back == (
        "## strategia\n\nStrategiassa kannattaa aloittaa pysyvästä koordinaattorista.\n\n"
        "## yhteistyo\n\nYhteistyö oppilaitosten kanssa on Saarvalassa vasta henkilöiden "
        "varassa; [kaupungin edustaja 1] kantaa sitä lähes yksin.\n\nToinen kappale: tämä on "
        "tulkinta, ei aineiston suora sisältö.\n"
    )
    summary = (other / "memos" / "yhteenveto.md").read_text(encoding="utf-8")
    assert "## invest-in\n\nInvest in -työkalussa" in summary
    # Importing again never overwrites what the researcher has: the sections are kept.
    (other / "memos" / "Saarvala.md").write_text(
        back.replace("pysyvästä koordinaattorista", "rahoituksesta"), encoding="utf-8"
    )
    result = CliRunner().invoke(
        cli, ["--project", str(other), "import", "qdpx", str(archive)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert (
        "Warning: note 'Saarvala: strategia': memos/Saarvala.md already has that section; "
        "kept the project's memo" in result.output
    )
    assert "rahoituksesta" in (other / "memos" / "Saarvala.md").read_text(encoding="utf-8")


def test_a_bad_memo_stops_the_qdpx_export(project: Path, tmp_path: Path) -> None:
    memos = project / "memos"
    memos.mkdir(exist_ok=True)
    bad = memos / "Pohjanlinna.md"
    bad.write_text("## yhteistyo\nHyvä.\n\n## eiole\nHuono.\n", encoding="utf-8")
    try:
        result = CliRunner().invoke(
            cli,
            ["--project", str(project), "export", "qdpx", str(tmp_path / "x.qdpx")],
            catch_exceptions=False,
        )
    finally:
        bad.unlink()
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        "Error: memos/Pohjanlinna.md:4: unknown section id 'eiole'"
    )
    assert not (tmp_path / "x.qdpx").exists()


def test_notes_from_other_tools_land_in_a_draft(tmp_path: Path) -> None:
    from qualcode.project import open_project
    from qualcode.refi import RefiNote, RefiProject, export_qdpx
    from qualcode.workflow.exchange import import_qdpx

    archive = tmp_path / "muu.qdpx"
    archive.write_bytes(
        export_qdpx(
            RefiProject(
                "muu",
                notes=(
                    RefiNote(
                        "4a1b7c9e-0000-4000-8000-000000000001", "Research Plan", "Suunnitelma."
                    ),
                ),
            )
        )
    )
    root = tmp_path / "proj"
    init_project(root, coder="tutkija")
    project = open_project(root)
    try:
        result = import_qdpx(project, archive)
    finally:
        project.close()
    assert result.memos == 1
    assert (root / "memos" / "_tuodut-muistiot.md").read_text(encoding="utf-8") == (
        "### Research Plan\n\nSuunnitelma.\n"
    )
    # A draft, not a memo: a report does not read it.
    assert load_memos(root, cities=[], themes=[]).all() == []
