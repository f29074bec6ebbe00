"""The cross-city summary written for the joint strategy, and each city's strategy inputs.

Checked on the reviewed sample corpus against the project's own exports: the counts in the
Invest in table, the indicator counts behind each city's place in the typology, the evidence
thresholds behind "strongest in", and a comment with segment ids on every claim and quote.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from conftest import REPO, SAMPLE
from docx_helpers import Section, prose_words, read_report, section
from qualcode.cli import cli
from qualcode.project import init_project
from qualcode.report import finnish as fi

CODEBOOK = REPO / "codebooks" / "innovaatioekosysteemi.yaml"
BOOK = yaml.safe_load(CODEBOOK.read_text(encoding="utf-8"))
PARENT = {c["id"]: c.get("parent") for c in BOOK["codes"]}
LABEL = {c["id"]: c["label"] for c in BOOK["codes"]}
LABEL_EN = {c["id"]: c.get("labels", {}).get("en", c["label"]) for c in BOOK["codes"]}


def run(project: Path, *args: object, code: int = 0) -> str:
    result = CliRunner().invoke(cli, ["--project", str(project), *map(str, args)])
    assert result.exit_code == code, result.output
    return result.output


def theme_of(code: str) -> str:
    while PARENT.get(code):
        code = PARENT[code]
    return code


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("summary") / "proj"
    init_project(root, coder="tutkija", codebook=CODEBOOK)
    run(root, "import", SAMPLE)
    run(root, "tag")
    run(root, "review", SAMPLE / "review-decisions.csv")
    return root


@pytest.fixture(scope="module")
def out(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("reports")
    run(project, "report", "--all", "--out", folder / "fi", "--date", "2026-11-27")
    run(project, "report", "--all", "--lang", "en", "--out", folder / "en", "--date", "2026-11-27")
    return folder


@pytest.fixture(scope="module")
def coded(project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """From the exports: city -> code -> segment ids, documents of each segment."""
    folder = tmp_path_factory.mktemp("exports")
    run(project, "export", "codings", "--out", folder / "codings.csv")
    run(project, "export", "segments", "--out", folder / "segments.csv")
    segments = {s["segment_id"]: s for s in read_csv(folder / "segments.csv")}
    by_city: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for c in read_csv(folder / "codings.csv"):
        if c["status"] == "accepted":
            by_city[c["city"]][c["code"]].add(c["segment_id"])
    return {"codes": by_city, "segments": segments}


def summary(out: Path, lang: str = "fi") -> list[Section]:
    return read_report(out / lang / ("yhteenveto.docx" if lang == "fi" else "summary.docx"))


def test_summary_has_the_joint_strategy_sections_and_300_words_of_prose(out: Path) -> None:
    for lang, titles in (
        (
            "fi",
            [
                "Typologia",
                "Teemat kaupungeittain",
                "Yhteiset kehittämistarpeet",
                "Yhteistyö: oppilaitokset, kuntarajat ja valtio",
                "Verkostot ja pysyvät rakenteet",
                "Kehittämisehdotukset",
                "Invest in: puuttuvat täydentävät toimijat",
                "Kaupunkiprofiilit",
            ],
        ),
        (
            "en",
            [
                "Typology",
                "Themes by city",
                "Common development needs",
                "Cooperation: schools, across municipal borders and with the state",
                "Networks and permanent structures",
                "Development proposals",
                "Invest in: the complementary actors missing",
                "City profiles",
            ],
        ),
    ):
        sections = summary(out, lang)
        present = [s.title for s in sections]
        assert [t for t in present if t in titles] == titles, present
        assert prose_words(sections) >= 300, prose_words(sections)


def test_every_claim_and_quote_in_the_new_sections_has_its_comment(
    out: Path, coded: dict[str, object]
) -> None:
    segments = coded["segments"]
    assert isinstance(segments, dict)
    sections = summary(out)
    checked = 0
    for title in (
        "Typologia",
        "Teemat kaupungeittain",
        "Yhteistyö: oppilaitokset, kuntarajat ja valtio",
        "Verkostot ja pysyvät rakenteet",
        "Kehittämisehdotukset",
        "Invest in: puuttuvat täydentävät toimijat",
        "Kaupunkiprofiilit",
    ):
        for p in section(sections, title).paragraphs:
            if not p.text.strip() or p.style in ("Caption",):
                continue
            # Only the method sentences and "not mentioned" lists stand without evidence.
            if p.text.startswith(("Teemat yksitellen", "Kaupungit sijoittuvat", "Ei mainintoja")):
                continue
            if "ei noussut esiin yhdessäkään" in p.text or "ei riittänyt sijoittamaan" in p.text:
                continue
            assert p.segments, f"{title}: no comment on {p.text!r}"
            assert set(p.segments) <= set(segments), p.text
            if p.style == "Quote":
                assert len(p.segments) == 1
                # The quote is cut from the segment its comment names.
                quoted = p.text.split("” — ")[0].strip("”").replace("… ", "").replace(" …", "")
                first = quoted.split("…")[0].strip()[:40]
                assert first in " ".join(segments[p.segments[0]]["text"].split()), p.text
            checked += 1
    assert checked > 30


def test_invest_in_table_recomputed_from_the_codings(out: Path, coded: dict[str, object]) -> None:
    by_city = coded["codes"]
    assert isinstance(by_city, dict)
    missing = BOOK["report"]["missing_actors"]
    strengths = BOOK["report"]["strengths"]
    expected = {
        (city, LABEL[code]): len(by_city[city][code])
        for city in by_city
        for code in missing
        if by_city[city][code]
    }
    table = section(summary(out), "Invest in: puuttuvat täydentävät toimijat").tables[0]
    assert table[0].cells == [
        "Kaupunki",
        "Puuttuva toimija",
        "Segm.",
        "Lainaus",
        "Mitä kaupunki tarjoaa",
    ]
    found = {(r.cells[0], r.cells[1]): int(r.cells[2]) for r in table[1:]}
    assert found == expected
    code_of = {LABEL[c]: c for c in missing}
    for row in table[1:]:
        city, code = row.cells[0], code_of[row.cells[1]]
        # The comment holds every coded segment behind the count, and the quotes' segments.
        assert by_city[city][code] <= set(row.segments)
        extra = set(row.segments) - by_city[city][code]
        offered = set().union(*(by_city[city][s] for s in strengths))
        assert extra <= offered | by_city[city][code]
        assert row.cells[3].startswith("”"), row.cells
        if offered:
            assert row.cells[4].startswith("”"), row.cells
        else:
            assert row.cells[4] == "–"


def test_each_city_placed_in_the_typology_with_its_indicator_counts(
    out: Path, coded: dict[str, object]
) -> None:
    by_city = coded["codes"]
    assert isinstance(by_city, dict)
    indicator = {c["id"]: c["indicator"] for c in BOOK["codes"] if c.get("indicator")}
    names = {
        "starting": "käynnistymässä",
        "developing": "kehitysvaiheessa",
        "established": "vakiintunut",
        "city": "kaupunkilähtöinen",
        "company": "yrityslähtöinen",
        "education": "oppilaitoslähtöinen",
    }
    bullets = [p for p in section(summary(out), "Typologia").paragraphs if p.style == "List Bullet"]
    assert sorted(p.text.split(":")[0] for p in bullets) == sorted(by_city)
    for p in bullets:
        city = p.text.split(":")[0]
        counts: dict[str, set[str]] = defaultdict(set)
        for code, segs in by_city[city].items():
            for value in indicator.get(code, {}).values():
                counts[value] |= segs
        dimensions = (("starting", "developing", "established"), ("city", "company", "education"))
        for values in dimensions:
            n = {v: len(counts.get(v, set())) for v in values}
            ranked = sorted(n.values(), reverse=True)
            if sum(ranked) < 2:
                continue  # "aineistoa on liian vähän"
            if ranked[0] == ranked[1]:
                assert all(f"{names[v]} {k}" in p.text for v, k in n.items() if k), p.text
                continue
            top = max(n, key=lambda v: n[v])
            assert f"painottuu {names[top]} ({fi.count(n[top], 'segmentti')}" in p.text, p.text
            for v, k in n.items():
                if k and v != top:
                    assert f"{names[v]} {k}" in p.text, (p.text, v, k)
        evidence = set().union(*counts.values()) if counts else set()
        assert set(p.segments) == evidence


def test_strongest_claims_rest_on_three_segments_from_two_documents(
    out: Path, coded: dict[str, object]
) -> None:
    by_city = coded["codes"]
    segments = coded["segments"]
    assert isinstance(by_city, dict) and isinstance(segments, dict)
    place = {"Ilvesvaarassa": "Ilvesvaara", "Lounajoella": "Lounajoki"}
    place |= {"Pohjanlinnassa": "Pohjanlinna", "Saarvalassa": "Saarvala"}
    claims = 0
    for p in section(summary(out), "Teemat kaupungeittain").paragraphs:
        m = re.search(r"^”(.+?)” nousi esiin.*Vahvimmin se oli esillä (\w+)", p.text)
        if not m:
            continue
        theme = next(c for c, label in LABEL.items() if label == m.group(1))
        city = place[m.group(2)]
        segs = {s for code, ss in by_city[city].items() if theme_of(code) == theme for s in ss}
        docs = {segments[s]["document"] for s in segs}
        assert len(segs) >= 3 and len(docs) >= 2, p.text
        claims += 1
    assert claims >= 5


def test_common_needs_name_each_city_with_its_count(out: Path, coded: dict[str, object]) -> None:
    by_city = coded["codes"]
    assert isinstance(by_city, dict)
    sub = section(summary(out), "Yhteistyö: oppilaitokset, kuntarajat ja valtio")
    bullets = {p.text.split(":")[0]: p for p in sub.paragraphs if p.style == "List Bullet"}
    for code in BOOK["report"]["cooperation"]:
        raised = {c: len(by_city[c][code]) for c in by_city if by_city[c][code]}
        if not raised:
            continue
        p = bullets[LABEL[code]]
        for city, n in raised.items():
            assert f"{city} ({n})" in p.text or f"({n} segm.)" in p.text, p.text
        assert set(p.segments) == set().union(*(by_city[c][code] for c in raised))
    # One representative quote per need, its city named in the signature.
    quotes = [p for p in sub.paragraphs if p.style == "Quote"]
    assert len(quotes) == len(bullets)
    assert all(
        re.search(r"— .+, (Ilvesvaara|Lounajoki|Pohjanlinna|Saarvala)$", q.text) for q in quotes
    )


def test_city_reports_end_with_strategy_inputs(out: Path, coded: dict[str, object]) -> None:
    by_city = coded["codes"]
    assert isinstance(by_city, dict)
    report = BOOK["report"]
    groups = {
        "Mitä on": report["strengths"] + report["structures"],
        "Mitä puuttuu": report["needs"] + report["missing_actors"],
        "Ehdotetut toimenpiteet": report["measures"],
    }
    for city in by_city:
        sections = read_report(out / "fi" / f"{city}.docx")
        assert sections[-1].title == "Strategian lähtökohdat"
        table = sections[-1].tables[0]
        assert table[0].cells == ["Lähtökohta", "Asia", "Näyttö"]
        rows = {(r.cells[0], r.cells[1]): r for r in table[1:]}
        assert len(rows) == sum(len(v) for v in groups.values())
        for group, codes in groups.items():
            for code in codes:
                row = rows[(group, LABEL[code])]
                segs = by_city[city][code]
                assert set(row.segments) == segs
                if segs:
                    assert re.match(rf"({len(segs)}|\w+) segmentti", row.cells[2]), row.cells
                    assert "”" in row.cells[2]
                else:
                    assert row.cells[2] == "ei mainintoja aineistossa"
        en = read_report(out / "en" / f"{city}.docx")
        assert en[-1].title == "Inputs for the strategy"
        assert en[-1].tables[0][0].cells == ["Input", "Item", "Evidence"]
        assert {r.cells[1] for r in en[-1].tables[0][1:]} == {
            LABEL_EN[c] for codes in groups.values() for c in codes
        }
