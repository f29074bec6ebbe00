"""Names never leave the project: registry, pseudonymised exports, the check command."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner

from conftest import REPO, SAMPLE, copy_project, run
from qualcode.cli import cli
from qualcode.project import init_project

CODEBOOK = REPO / "codebooks" / "innovaatioekosysteemi.yaml"


@pytest.fixture(scope="module")
def project(sample_named: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(sample_named, tmp_path_factory.mktemp("names") / "proj")


def metadata_forms(project: Path, tmp_path: Path) -> set[str]:
    run(project, "names", "export", "--out", tmp_path / "n.csv")
    rows = read_rows(tmp_path / "n.csv")
    forms: set[str] = set()
    for r in rows:
        if r["source"] == "metadata":
            forms.update(f.strip() for f in r["forms"].split(";") if f.strip())
            forms.add(r["name"])
    return forms


def leaked(text: str, forms: set[str]) -> list[str]:
    return sorted(f for f in forms if re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", text))


def read_rows(path: Path) -> list[dict[str, str]]:
    """A names CSV as exported: the project's review delimiter, ';' by default (Excel, fi)."""
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")), delimiter=";"))


def write_rows(path: Path, rows: list[dict[str, str]], delimiter: str = ",") -> Path:
    """Write edited CSV rows back, as a researcher saving the file would."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def docx_text(path: Path) -> str:
    document = docx.Document(str(path))
    parts = [p.text for p in document.paragraphs]
    parts += [c.text for t in document.tables for row in t.rows for c in row.cells]
    return "\n".join(parts)


def test_participants_are_in_the_registry_with_role_pseudonyms(
    project: Path, tmp_path: Path
) -> None:
    forms = metadata_forms(project, tmp_path)
    assert {"Elina Saarikorpi", "Jaana Ketola", "Petri Kallio"} <= forms
    rows = read_rows(tmp_path / "n.csv")
    by_name = {r["name"]: r for r in rows}
    assert by_name["Jaana Ketola"]["pseudonym"].startswith("[kaupungin edustaja ")
    assert by_name["Elina Saarikorpi"]["pseudonym"].startswith("[yrittäjä ")
    assert any(r["kind"] == "org" and r["pseudonym"].startswith("[yritys ") for r in rows)


def test_no_participant_name_leaves_in_any_export(project: Path, tmp_path: Path) -> None:
    forms = metadata_forms(project, tmp_path)
    assert len(forms) > 25
    run(project, "report", "--all", "--out", tmp_path / "rep", "--date", "2026-11-27")
    run(project, "export", "segments", "--out", tmp_path / "s.csv")
    run(project, "tag", "--out", tmp_path / "r.csv")
    run(project, "matrix", "--out", tmp_path / "m.xlsx")
    run(project, "export", "qdpx", tmp_path / "p.qdpx")
    texts = {p.name: docx_text(p) for p in (tmp_path / "rep").glob("*.docx")}
    texts["segments"] = (tmp_path / "s.csv").read_text(encoding="utf-8-sig")
    texts["review"] = (tmp_path / "r.csv").read_text(encoding="utf-8-sig")
    import openpyxl

    book = openpyxl.load_workbook(tmp_path / "m.xlsx")
    texts["quotes"] = "\n".join(
        str(v) for row in book["quotes"].iter_rows(values_only=True) for v in row if v
    )
    with zipfile.ZipFile(tmp_path / "p.qdpx") as zf:
        texts["qdpx"] = "\n".join(
            zf.read(n).decode("utf-8") for n in zf.namelist() if n.startswith("sources/")
        )
    assert "[kaupungin edustaja" in texts["segments"]
    for name, text in texts.items():
        assert leaked(text, forms) == [], name
    # The safety net finds no registry name, in any form, in any of them either.
    exported = [*sorted((tmp_path / "rep").glob("*.docx")), tmp_path / "s.csv"]
    exported += [tmp_path / "r.csv", tmp_path / "m.xlsx", tmp_path / "p.qdpx"]
    for path in exported:
        assert run(project, "names", "check", path).startswith("OK: no registry names"), path


def test_the_original_text_is_unchanged_and_no_pseudonymise_warns(
    project: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "--project",
            str(project),
            "export",
            "segments",
            "--no-pseudonymise",
            "--out",
            str(tmp_path / "raw.csv"),
        ],
    )
    assert result.exit_code == 0
    assert "Warning: --no-pseudonymise writes real names" in result.output
    raw = (tmp_path / "raw.csv").read_text(encoding="utf-8-sig")
    assert "Jaana Ketola" in raw or "Ketola" in raw


def test_review_accepts_the_pseudonymised_text(tmp_path: Path) -> None:
    folder = tmp_path / "aineisto"
    folder.mkdir()
    name = "lounajoki-03-yritys.vtt"
    (folder / name).write_bytes((SAMPLE / name).read_bytes())
    (folder / "metadata.csv").write_text(
        "file,city,participant,role,organisation_type,kind\n"
        f"{name},Lounajoki,Elina Saarikorpi,yrittäjä,yritys,interview\n",
        encoding="utf-8",
    )
    root = tmp_path / "p"
    init_project(root, codebook=CODEBOOK)
    run(root, "import", folder)
    out = tmp_path / "r.csv"
    run(root, "tag", "--out", out)
    text = out.read_text(encoding="utf-8-sig")
    assert "Saarikorpi" not in text and "[yrittäjä 1]" in text
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    for r in rows:
        r["decision"] = "y"
    path = tmp_path / "d.csv"
    write_rows(path, rows, delimiter=";")
    assert f"{len(rows)} accepted" in run(root, "review", path)


def test_names_import_and_check(project: Path, tmp_path: Path) -> None:
    run(project, "names", "export", "--out", tmp_path / "n.csv")
    rows = read_rows(tmp_path / "n.csv")
    target = next(r for r in rows if r["name"] == "Jaana Ketola")
    target["pseudonym"] = "[elinkeinojohtaja]"
    write_rows(tmp_path / "m.csv", rows)
    assert "Updated" in run(project, "names", "import", tmp_path / "m.csv")
    run(project, "export", "segments", "--out", tmp_path / "s.csv")
    assert "[elinkeinojohtaja]" in (tmp_path / "s.csv").read_text(encoding="utf-8-sig")
    (tmp_path / "vuoto.txt").write_text("Puhuin eilen Jaana Ketolan kanssa.", encoding="utf-8")
    output = run(project, "names", "check", tmp_path / "vuoto.txt", code=1)
    assert "name 'Jaana Ketolan'" in output or "name 'Ketolan'" in output
    bad = tmp_path / "bad.csv"
    bad.write_text("name,kind,action,pseudonym\nX,person,maybe,[x]\n", encoding="utf-8")
    output = run(project, "names", "import", bad, code=1)
    assert output.splitlines()[0] == f"Error: {bad}:2: action 'maybe' not understood"


def test_check_unknown_lists_possible_names_until_the_registry_knows_them(
    project: Path, tmp_path: Path
) -> None:
    leak = tmp_path / "raportti.txt"
    leak.write_text(
        "Haastateltava mainitsi Klingan ja Rundmanin. Klinga johtaa hanketta.", encoding="utf-8"
    )
    assert "OK: no registry names in" in run(project, "names", "check", leak)
    output = run(project, "names", "check", "--unknown", leak, code=1)
    assert f"{leak}: possible name 'Klingan' not in the registry (1×, first at character 23)" in (
        output
    )
    assert "possible name 'Rundmanin'" in output
    assert "Hint: add real names with 'qualcode names import'" in output
    # A new name with no pseudonym gets the next free one; a word marked ignore leaves the list.
    added = tmp_path / "lisatyt.csv"
    added.write_text(
        "name,kind,action,pseudonym,forms\n"
        "Klinga,person,pseudonymise,,Klingan\n"
        "Rundman,person,ignore,,Rundmanin\n",
        encoding="utf-8",
    )
    assert "Updated 2 names" in run(project, "names", "import", added)
    run(project, "names", "export", "--out", tmp_path / "n.csv")
    rows = {r["name"]: r for r in read_rows(tmp_path / "n.csv")}
    assert re.fullmatch(r"\[henkilö \d+\]", rows["Klinga"]["pseudonym"])
    numbers = [r["pseudonym"] for r in rows.values() if r["pseudonym"].startswith("[henkilö ")]
    assert len(numbers) == len(set(numbers))  # the next free number, not a reused one
    assert rows["Rundman"]["action"] == "ignore"
    # Klinga is now a registry name the file still holds; Rundman is no longer listed.
    output = run(project, "names", "check", "--unknown", leak, code=1)
    assert output.splitlines() == [
        f"{leak}: name 'Klingan' at character 23",
        f"{leak}: name 'Klinga' at character 45",
    ]


def test_check_unknown_out_writes_a_names_csv_that_names_import_loads(
    project: Path, tmp_path: Path
) -> None:
    leak = tmp_path / "raportti.txt"
    leak.write_text(
        "Haastateltava mainitsi Kvistrandin ja Sprintathonin. Hmm. Kvistrandille soitettiin, "
        "ja Kvistrand vastasi.",
        encoding="utf-8",
    )
    out = tmp_path / "uudet.csv"
    run(project, "names", "check", "--out", out, leak, code=2)  # --out needs --unknown
    assert not out.exists()
    output = run(project, "names", "check", "--unknown", "--out", out, leak, code=1)
    assert f"Wrote 2 possible names to {out}" in output
    assert "'Hmm'" not in output  # hesitation, not a name
    rows = read_rows(out)
    assert [
        (r["name"], r["kind"], r["action"], r["pseudonym"], r["forms"], r["count"], r["source"])
        for r in rows
    ] == [
        (
            "Kvistrand",
            "person",
            "pseudonymise",
            "",
            "Kvistrand; Kvistrandille; Kvistrandin",
            "3",
            "check",
        ),
        ("Sprintathonin", "person", "pseudonymise", "", "Sprintathonin", "1", "check"),
    ]
    # The words around the first mention, cut at word boundaries.
    assert rows[0]["context"].startswith("Haastateltava mainitsi Kvistrandin ja Sprintathonin.")
    assert leak.read_text(encoding="utf-8").startswith(rows[0]["context"])
    # The researcher marks the word that is not a name and loads the file as it is.
    rows[1]["action"] = "ignore"
    write_rows(out, rows)
    assert "Updated 2 names" in run(project, "names", "import", out)
    output = run(project, "names", "check", "--unknown", leak, code=1)
    assert "possible name" not in output
    assert [line.split("'")[1] for line in output.splitlines()] == [
        "Kvistrandin",
        "Kvistrandille",
        "Kvistrand",
    ]
    # One person, one pseudonym, in every form.
    export = tmp_path / "segments.csv"
    run(project, "names", "export", "--out", export)
    registry = {r["name"]: r for r in read_rows(export)}
    assert re.fullmatch(r"\[henkilö \d+\]", registry["Kvistrand"]["pseudonym"])
    assert registry["Sprintathonin"]["action"] == "ignore"


def test_check_unknown_out_keeps_a_decision_the_registry_already_holds(
    project: Path, tmp_path: Path
) -> None:
    from qualcode.project import open_project
    from qualcode.workflow.names import CheckReport, export_possible_names

    decided = tmp_path / "decided.csv"
    decided.write_text(
        "name,kind,action,pseudonym,forms\nVaskelin,org,ignore,,\n", encoding="utf-8"
    )
    run(project, "names", "import", decided)
    opened = open_project(project)
    try:
        report = CheckReport([], [("Vaskelin", 2, 0)], {"Vaskelin": "Vaskelin on tehdas."})
        assert export_possible_names(opened, report, tmp_path / "out.csv") == 1
    finally:
        opened.close()
    (row,) = read_rows(tmp_path / "out.csv")
    assert (row["name"], row["kind"], row["action"], row["count"]) == (
        "Vaskelin",
        "org",
        "ignore",
        "2",
    )


def test_form_counts_are_the_same_before_and_after_tag(tmp_path: Path) -> None:
    from collections import Counter

    from qualcode.analysis.tokens import tokenize
    from qualcode.project import open_project
    from qualcode.workflow.names import _form_counts

    root = tmp_path / "proj"
    init_project(root, coder="tutkija", codebook=CODEBOOK)
    run(root, "import", SAMPLE / "round2")

    def counts() -> tuple[Counter[str], Counter[str], int]:
        opened = open_project(root)
        try:
            conn = opened.store.conn
            texts = [t for (t,) in conn.execute("SELECT text FROM segments")]
            reference = Counter(t.form for text in texts for t in tokenize(text))
            (cached,) = conn.execute("SELECT COUNT(*) FROM segment_tokens").fetchone()
            return _form_counts(opened), reference, cached
        finally:
            opened.close()

    before, reference, cached = counts()
    assert cached == 0 and before == reference and before["yhteistyötä"] > 0
    run(root, "tag")  # interviewer turns stay untokenised; the rest come from the tag cache
    after, reference, cached = counts()
    assert cached > 0 and after == before == reference


def test_a_fresh_review_csv_names_nobody_and_reads_back(tmp_path: Path) -> None:
    # Before any review every suggestion is pending, so the review CSV carries the interview
    # texts themselves: the participants introduce themselves by name in them.
    root = tmp_path / "fresh"
    init_project(root, coder="tutkija", codebook=CODEBOOK)
    run(root, "import", SAMPLE)
    out = tmp_path / "review.csv"
    run(root, "tag", "--out", out)
    forms = metadata_forms(root, tmp_path)
    text = out.read_text(encoding="utf-8-sig")
    assert leaked(text, forms) == []
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    introductions = [r["text"] for r in rows if r["text"].startswith("Joo, no. Mä oon [")]
    assert introductions and all("[[" in t for t in introductions)  # the matches still marked
    for r in rows:
        r["decision"] = "n"
    decisions = tmp_path / "decisions.csv"
    write_rows(decisions, rows, delimiter=";")
    assert f"{len(rows)} rejected" in run(root, "review", decisions)


def test_names_import_reads_semicolons_commas_and_tabs(project: Path, tmp_path: Path) -> None:
    for delimiter, name in ((";", "Puolipiste"), (",", "Pilkku"), ("\t", "Sarkain")):
        path = tmp_path / f"{name}.csv"
        header = delimiter.join(("name", "kind", "action", "pseudonym", "forms"))
        row = delimiter.join((name, "person", "ignore", "", ""))
        path.write_text(f"{header}\n{row}\n", encoding="utf-8")
        assert "Updated 1 names" in run(project, "names", "import", path)
    run(project, "names", "export", "--out", tmp_path / "n.csv")
    actions = {r["name"]: r["action"] for r in read_rows(tmp_path / "n.csv")}
    assert {actions[n] for n in ("Puolipiste", "Pilkku", "Sarkain")} == {"ignore"}
