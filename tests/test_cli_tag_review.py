"""The tag -> Excel -> review -> tag round trip on the sample corpus, with real components."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from conftest import REPO, SAMPLE, Invoke, db_snapshot, sql
from qualcode.textutil import suggestion_id

CODEBOOK = REPO / "codebooks" / "innovaatioekosysteemi.yaml"
COLUMNS = [
    "suggestion_id",
    "segment_id",
    "city",
    "document",
    "speaker",
    "code",
    "code_label",
    "score",
    "source",
    "evidence",
    "text",
    "decision",
    "new_code",
    "note",
]


def read_rows(
    path: Path, encoding: str = "utf-8-sig", delimiter: str = ";"
) -> list[dict[str, str]]:
    return list(
        csv.DictReader(
            io.StringIO(path.read_bytes().decode(encoding), newline=""), delimiter=delimiter
        )
    )


def write_like_excel(path: Path, rows: list[dict[str, str]]) -> None:
    """What Excel on Finnish Windows does on 'Save as CSV': cp1252, ',' here, CRLF, no BOM."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, delimiter=",", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode("cp1252"))


@pytest.fixture
def tagged(qc: Invoke, project_dir: Path, tmp_path: Path) -> Path:
    assert qc("import", SAMPLE).exit_code == 0
    out = tmp_path / "review.csv"
    result = qc("tag", "--codebook", CODEBOOK, "--out", out)
    assert result.exit_code == 0, result.output
    return out


def test_tag_writes_a_sorted_review_csv(tagged: Path, project_dir: Path) -> None:
    data = tagged.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.split(b"\r\n")[0].decode("utf-8-sig") == ";".join(COLUMNS)
    rows = read_rows(tagged)
    assert len(rows) > 300
    order = {
        name: i
        for i, (name,) in enumerate(sql(project_dir, "SELECT name FROM documents ORDER BY name"))
    }
    seq = dict(sql(project_dir, "SELECT id, seq FROM segments"))
    keys = [(order[r["document"]], seq[r["segment_id"]]) for r in rows]
    assert keys == sorted(keys)
    for r in rows:
        assert r["suggestion_id"] == suggestion_id(r["segment_id"], r["code"])
        assert "[[" in r["text"] and "]]" in r["text"]
        assert r["source"] == "rule" and r["decision"] == ""
    # Interviewer turns and headings are never tagged.
    speakers = {r["speaker"] for r in rows}
    assert not speakers & {"H", "H1", "H2", "Haastattelija"}


def test_inflected_and_compound_forms_are_found(tagged: Path) -> None:
    evidence = " ; ".join(r["evidence"] for r in read_rows(tagged))
    # A keyword's inflected forms and the compounds that contain it as a part.
    for found in (
        "kehitysyhtiö",
        "työvoimapula",
        "kunnissa (kunta)",
        "rahoitusta (rahoitus)",
        "hankerahoitus",
        "amk:n (amk)",
    ):
        assert found in evidence.lower(), found


def test_ids_are_the_same_in_a_fresh_project(tagged: Path, tmp_path: Path, qc: Invoke) -> None:
    other = tmp_path / "toinen"
    assert qc("init", other, project=None).exit_code == 0
    qc("import", SAMPLE, project=other)
    out = tmp_path / "again.csv"
    qc("tag", "--codebook", CODEBOOK, "--out", out, project=other)
    assert out.read_bytes() == tagged.read_bytes()


def test_round_trip_through_excel(
    tagged: Path, project_dir: Path, qc: Invoke, tmp_path: Path
) -> None:
    rows = read_rows(tagged)
    accept, reject, recode = rows[0], rows[1], rows[2]
    accept["decision"] = "Hyväksy"
    reject["decision"] = "n"
    reject["note"] = "ei koske tätä koodia – väärä konteksti"
    recode["new_code"] = "vahvuudet"
    excel = tmp_path / "excel.csv"
    write_like_excel(excel, rows)

    result = qc("review", excel, "--coder", "anna")
    assert result.exit_code == 0, result.output
    # The recode rejects the suggested code and gives the new one.
    assert f"{len(rows)} rows: 1 accepted, 2 rejected, 1 codes added" in result.output
    codings = sql(
        project_dir,
        "SELECT segment_id, code_id, coder, source, status FROM codings ORDER BY code_id",
    )
    assert sorted(codings) == sorted(
        [
            (accept["segment_id"], accept["code"], "anna", "rule", "accepted"),
            (recode["segment_id"], "vahvuudet", "anna", "review", "accepted"),
        ]
    )
    statuses = dict(sql(project_dir, "SELECT id, status FROM suggestions"))
    assert statuses[accept["suggestion_id"]] == "accepted"
    assert statuses[reject["suggestion_id"]] == "rejected"
    assert statuses[recode["suggestion_id"]] == "rejected"
    log = sql(project_dir, "SELECT coder, action, code_id, detail FROM review_log ORDER BY id")
    assert [(c, a) for c, a, _, _ in log] == [
        ("anna", "accept"),
        ("anna", "reject"),
        ("anna", "reject"),
        ("anna", "recode"),
    ]
    assert "väärä konteksti" in str(log[1][3])

    # Importing the same file again changes nothing.
    before = db_snapshot(project_dir)
    again = qc("review", excel, "--coder", "anna")
    assert "0 accepted, 0 rejected, 0 codes added" in again.output
    assert db_snapshot(project_dir) == before

    # Tagging again keeps the decisions and does not re-suggest the rejected ones.
    out2 = tmp_path / "review2.csv"
    result = qc("tag", "--codebook", CODEBOOK, "--out", out2)
    assert "3 decided ones kept" in result.output
    ids = {r["suggestion_id"] for r in read_rows(out2)}
    assert not ids & {accept["suggestion_id"], reject["suggestion_id"], recode["suggestion_id"]}
    assert len(ids) == len(rows) - 3
    assert sql(project_dir, "SELECT COUNT(*) FROM codings WHERE status = 'accepted'") == [(2,)]


def test_codebook_edit_removes_stale_suggestions_but_keeps_decisions(
    tagged: Path, project_dir: Path, qc: Invoke, tmp_path: Path
) -> None:
    rows = read_rows(tagged)
    target = next(r for r in rows if r["code"] == "rahoitus")
    target["decision"] = "y"
    excel = tmp_path / "excel.csv"
    write_like_excel(excel, [target])
    qc("review", excel)
    edited = tmp_path / "cb.yaml"
    text = CODEBOOK.read_text(encoding="utf-8")
    start = text.index("  - id: rahoitus")
    end = text.index("  - id: ", start + 10)
    edited.write_text(text[:start] + text[end:], encoding="utf-8")
    result = qc("tag", "--codebook", edited, "--out", tmp_path / "r.csv")
    assert result.exit_code == 0, result.output
    stale = sum(1 for r in rows if r["code"] == "rahoitus") - 1
    assert f"{stale} removed" in result.output
    assert sql(project_dir, "SELECT code_id, status FROM codings") == [("rahoitus", "accepted")]
    assert sql(project_dir, "SELECT retired FROM codes WHERE id = 'rahoitus'") == [(1,)]


def bad_file(tmp_path: Path, tagged: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    rows = read_rows(tagged)[:5]
    for r in rows:
        r["decision"] = "y"
    edit(rows)
    path = tmp_path / "bad.csv"
    write_like_excel(path, rows)
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda rows: rows[1].update(suggestion_id="gdeadbeef000"),
            "3: unknown suggestion id 'gdeadbeef000'",
        ),
        (
            lambda rows: rows[2].update(new_code="verkostoo"),
            "4: unknown code 'verkostoo' in new_code",
        ),
        (
            lambda rows: rows[0].update(decision="ehkä"),
            "2: decision 'ehkä' not understood; use y (accept), n (reject) or leave it blank",
        ),
        (
            lambda rows: rows[3].update(text=rows[3]["text"] + " (lisätty)"),
            "5: the text of segment {seg3} was edited; edit only decision, new_code and note",
        ),
        (
            lambda rows: rows.append(dict(rows[0], decision="n")),
            "7: conflicting decisions for suggestion {sug0} (also on row 2)",
        ),
    ],
    ids=["unknown-id", "unknown-code", "bad-decision", "edited-text", "conflict"],
)
def test_invalid_review_files_change_nothing(
    tagged: Path,
    project_dir: Path,
    qc: Invoke,
    tmp_path: Path,
    edit,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    original = read_rows(tagged)[:5]
    path = bad_file(tmp_path, tagged, edit)
    before = db_snapshot(project_dir)
    result = qc("review", path)
    assert result.exit_code == 1
    expected = message.format(seg3=original[3]["segment_id"], sug0=original[0]["suggestion_id"])
    assert result.output.splitlines()[0].startswith(f"Error: {path}:{expected}")
    assert db_snapshot(project_dir) == before


def test_skip_invalid_applies_the_rest(
    tagged: Path, project_dir: Path, qc: Invoke, tmp_path: Path
) -> None:
    path = bad_file(tmp_path, tagged, lambda rows: rows[1].update(suggestion_id="gdeadbeef000"))
    result = qc("review", path, "--skip-invalid")
    assert result.exit_code == 0
    assert f"Skipped: {path}:3: unknown suggestion id 'gdeadbeef000'" in result.output
    assert sql(project_dir, "SELECT COUNT(*) FROM codings") == [(4,)]


def test_utf8_semicolon_file_with_formula_prefix(
    tagged: Path, project_dir: Path, qc: Invoke, tmp_path: Path
) -> None:
    rows = read_rows(tagged)[:2]
    rows[0]["decision"] = "x"
    rows[1]["decision"] = "0"
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, delimiter=";")
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / "utf8.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")  # no BOM
    result = qc("review", path)
    assert result.exit_code == 0, result.output
    assert "1 accepted, 1 rejected" in result.output


def test_manual_code_uncode_and_export(
    tagged: Path, project_dir: Path, qc: Invoke, tmp_path: Path
) -> None:
    segment = read_rows(tagged)[0]["segment_id"]
    assert qc("code", segment, "vahvuudet", "--coder", "ville").exit_code == 0
    assert "already has" in qc("code", segment, "vahvuudet", "--coder", "ville").output
    bad = qc("code", segment, "vahvuus")
    assert bad.exit_code == 1
    assert bad.output.splitlines() == [
        "Error: unknown code 'vahvuus'",
        "Hint: did you mean 'vahvuudet'?",
    ]
    unknown = qc("code", "s000000000000", "vahvuudet")
    assert unknown.exit_code == 1
    assert unknown.output.splitlines() == [
        "Error: unknown segment id 's000000000000'",
        "Hint: segment ids are in 'qualcode export segments'",
    ]
    out = tmp_path / "codings.csv"
    qc("export", "codings", "--out", out)
    rows = read_rows(out, delimiter=",")
    assert [(r["segment_id"], r["code"], r["coder"], r["source"], r["status"]) for r in rows] == [
        (segment, "vahvuudet", "ville", "manual", "accepted")
    ]
    assert qc("uncode", segment, "vahvuudet", "--coder", "ville").exit_code == 0
    again = qc("uncode", segment, "vahvuudet", "--coder", "ville")
    assert again.exit_code == 1
    assert again.output.splitlines() == [
        f"Error: segment {segment} has no coding vahvuudet by ville",
        "Hint: see 'qualcode export codings' for who coded what",
    ]
    qc("export", "codings", "--out", out)
    assert [r["status"] for r in read_rows(out, delimiter=",")] == ["removed"]


def test_decision_on_a_dropped_suggestion_still_counts(
    tagged: Path, project_dir: Path, qc: Invoke, tmp_path: Path
) -> None:
    rows = read_rows(tagged)
    target = next(r for r in rows if r["code"] == "rahoitus")
    edited = tmp_path / "cb.yaml"
    text = CODEBOOK.read_text(encoding="utf-8")
    start = text.index("    keywords:", text.index("  - id: rahoitus"))
    end = text.index("\n    phrases:", start)
    edited.write_text(text[:start] + "    keywords: [xyzzy]" + text[end:], encoding="utf-8")
    qc("tag", "--codebook", edited)
    assert sql(
        project_dir, f"SELECT COUNT(*) FROM suggestions WHERE id = '{target['suggestion_id']}'"
    ) in ([(0,)], [(1,)])
    target["decision"] = "y"
    path = tmp_path / "old.csv"
    write_like_excel(path, [target])
    result = qc("review", path)
    assert result.exit_code == 0, result.output
    assert sql(project_dir, "SELECT segment_id, code_id FROM codings") == [
        (target["segment_id"], "rahoitus")
    ]


def test_tag_needs_a_codebook(qc: Invoke, project_dir: Path) -> None:
    result = qc("tag")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Error: no codebook given",
        "Hint: pass --codebook FILE, or set codebook under [tag] in qualcode.toml",
    ]


def test_tag_unknown_city(qc: Invoke) -> None:
    qc("import", SAMPLE)
    result = qc("tag", "--codebook", CODEBOOK, "--city", "Helsinki")
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == "Error: no documents from city 'Helsinki'"


def test_configured_fallback_analyzer(qc: Invoke, project_dir: Path, tmp_path: Path) -> None:
    settings = project_dir / "qualcode.toml"
    settings.write_text(
        settings.read_text(encoding="utf-8").replace('analyzer = ""', 'analyzer = "simplemma.v1"'),
        encoding="utf-8",
    )
    memo = tmp_path / "muistio.txt"
    memo.write_text("Rahoitusta haettiin.\n\nHankerahoitus puuttuu.", encoding="utf-8")
    qc("import", memo, "--city", "Saarvala", "--kind", "workshop")
    result = qc("tag", "--codebook", CODEBOOK)
    assert "simplemma.v1" in result.output
    coded = sql(
        project_dir,
        "SELECT s.text FROM suggestions g JOIN segments s ON s.id = g.segment_id WHERE g.code_id = 'rahoitus'",
    )
    assert coded == [("Rahoitusta haettiin.",)]  # inflection yes, compound no (no Voikko)
    assert sql(project_dir, "SELECT DISTINCT substr(analyzer, 1, 12) FROM analyses") == [
        ("simplemma.v1",)
    ]


def test_committed_sample_review_applies_cleanly(
    tagged: Path, project_dir: Path, qc: Invoke
) -> None:
    result = qc("review", SAMPLE / "review-decisions.csv", "--coder", "tutkija")
    assert result.exit_code == 0, result.output
    rows = read_rows(SAMPLE / "review-decisions.csv")
    accepted = sum(r["decision"] == "y" for r in rows)
    rejected = sum(r["decision"] == "n" for r in rows)
    assert f"{len(rows)} rows: {accepted} accepted, {rejected} rejected" in result.output
    # Every indicator value the sample material supports has accepted evidence.
    indicators = {
        c
        for (c,) in sql(
            project_dir,
            "SELECT DISTINCT code_id FROM codings WHERE code_id LIKE 'kypsyys_%' OR code_id LIKE 'vetovastuu_%'",
        )
    }
    assert indicators >= {
        "kypsyys_kaynnistymassa",
        "kypsyys_kehitysvaiheessa",
        "kypsyys_vakiintunut",
        "vetovastuu_kaupunki",
        "vetovastuu_yritys",
        "vetovastuu_oppilaitos",
    }
