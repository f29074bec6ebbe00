"""Report text that holds up on real material (issue 15, items 4-6 and 8).

The sentence templates are checked over 0, 1, 2 and many in both languages; quotes are cut
around their evidence, signed with the speaker's own metadata or neutrally, and carry the
recording time; the real-material test runs the whole pipeline on Finnish parliament debates
(../shared/bench-data/fi-parliament, public transcripts with many named speakers) written as
Teams .vtt and Whisper .srt files.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from collections import Counter
from pathlib import Path

import docx
import pytest

from conftest import REPO, run
from qualcode.project import init_project
from qualcode.report.clock import clock
from qualcode.report.content import (
    attribution,
    excerpt,
    insufficient,
    material,
    not_mentioned,
    not_mentioned_codes,
    raised_by,
    theme_coverage,
    thin_material,
)

CODEBOOK = REPO / "codebooks" / "innovaatioekosysteemi.yaml"
PARLIAMENT = REPO.parent / "shared" / "bench-data" / "fi-parliament"
COUNTS = (0, 1, 2, 7, 23)

# Phrases that a count can break: Finnish partitive after one, "ei yhtään" inside a
# sentence, "only 0", English plural after 1 or "(s)", "every" claims on one.
BROKEN = (
    re.compile(r"(?<![\d,])\b(1|yksi) (haastattelua|työpajaa|segmenttiä|dokumenttia|mainintaa)\b"),
    re.compile(r"\bvain (0|ei)\b"),
    re.compile(r"\bei yhtään\b"),
    re.compile(r"\bonly 0\b"),
    re.compile(r"\b1 (segments|documents|interviews|workshops|interviewees|coded segments)\b"),
    re.compile(r"\(s\)"),
    re.compile(r"\b(0|nolla) (segmentissä|dokumentissa|haastattelusta|haastateltavaa)\b"),
    re.compile(r"  |\s[.,]"),
)


def assert_sound(text: str) -> None:
    assert text.endswith("."), text
    assert text[0].isupper() or text[0].isdigit() or text[0] in "”“", text
    for pattern in BROKEN:
        assert not pattern.search(text), (pattern.pattern, text)


# --- every template, table-driven over the counts --------------------------------------------


@pytest.mark.parametrize("lang", ["fi", "en"])
@pytest.mark.parametrize("n", COUNTS)
def test_single_count_templates_read_right(lang: str, n: int) -> None:
    place = "Pikkulan" if lang == "fi" else "Pikkula"
    for text in (
        thin_material(lang, place, n),
        insufficient(lang, n),
        material(lang, n, 0, ""),
        material(lang, 0, n, ""),
        material(lang, n, 1, ""),
        theme_coverage(lang, n, 1),
        theme_coverage(lang, n, min(n, 2) or 1),
    ):
        assert_sound(text)
    if n:
        labels = [f"Teema {k}" for k in range(n)]
        assert_sound(not_mentioned(lang, labels))
        assert_sound(not_mentioned(lang, labels, contrast=False))
        assert_sound(not_mentioned_codes(lang, labels))


@pytest.mark.parametrize("lang", ["fi", "en"])
@pytest.mark.parametrize("total", [1, 2, 3, 7, 23])
def test_raised_by_reads_right_for_every_share(lang: str, total: int) -> None:
    for raised in sorted({0, 1, 2, total - 1, total} & set(range(total + 1))):
        for subject in ("", "”Rahoitus”"):
            text = raised_by(lang, raised, total, raised / total, subject)
            assert_sound(text)
            # "every interview" / "all" on one interviewee is not a claim.
            if total == 1:
                assert not re.search(r"\b(kaikki|jokaisessa|All|every)\b", text), text


@pytest.mark.parametrize(
    ("lang", "n", "expected"),
    [
        ("fi", 0, "Pikkulan aineistossa ei ole vielä yhtään koodattua segmenttiä."),
        ("fi", 1, "Pikkulan aineisto on suppea: koodattuja segmenttejä on vain yksi."),
        ("fi", 2, "Pikkulan aineisto on suppea: koodattuja segmenttejä on vain kaksi."),
        ("fi", 12, "Pikkulan aineisto on suppea: koodattuja segmenttejä on vain 12."),
        ("en", 0, "The material for Pikkula has no coded segments yet."),
        ("en", 1, "The material for Pikkula is thin: only 1 coded segment."),
        ("en", 2, "The material for Pikkula is thin: only 2 coded segments."),
    ],
)
def test_thin_material_sentence(lang: str, n: int, expected: str) -> None:
    place = "Pikkulan" if lang == "fi" else "Pikkula"
    assert thin_material(lang, place, n).startswith(expected)


@pytest.mark.parametrize(
    ("lang", "total", "expected"),
    [
        ("fi", 0, "Aineisto ei riitä arvioon: yksikään segmentti ei viittaa asiaan."),
        ("fi", 1, "Aineisto ei riitä arvioon: vain yksi segmentti viittaa asiaan."),
        ("fi", 2, "Aineisto ei riitä arvioon: vain kaksi segmenttiä viittaavat asiaan."),
        ("en", 0, "Not enough material to assess: no segment refers to it."),
        ("en", 1, "Not enough material to assess: only 1 segment."),
        ("en", 3, "Not enough material to assess: only 3 segments."),
    ],
)
def test_insufficient_evidence_sentence(lang: str, total: int, expected: str) -> None:
    assert insufficient(lang, total) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("fi", 1, 1, 1.0), "Ainoa haastateltava otti sen puheeksi."),
        (
            ("fi", 0, 1, 0.0),
            "Ainoa haastateltava ei ottanut sitä puheeksi; maininnat ovat työpajamuistioista.",
        ),
        (("fi", 2, 2, 1.0), "Sen ottivat puheeksi molemmat haastateltavat."),
        (("fi", 3, 3, 1.0), "Sen ottivat puheeksi kaikki kolme haastateltavaa."),
        (("en", 2, 2, 1.0), "Both interviewees raised it."),
        (("fi", 1, 3, 1 / 3), "Sen otti puheeksi yksi kolmesta haastateltavasta."),
        (("fi", 2, 3, 2 / 3), "Sen otti puheeksi kaksi kolmesta haastateltavasta."),
        (("fi", 5, 12, 5 / 12), "Sen otti puheeksi 42 % haastateltavista."),
        (("en", 1, 1, 1.0), "The only interviewee raised it."),
        (("en", 1, 2, 0.5), "1 of 2 interviewees raised it."),
        (("en", 3, 3, 1.0), "All 3 interviewees raised it."),
    ],
)
def test_raised_by_exact(args: tuple[str, int, int, float], expected: str) -> None:
    assert raised_by(*args) == expected


def test_coverage_and_material_exact() -> None:
    assert (
        theme_coverage("fi", 1, 1) == "Teemaa käsiteltiin yhdessä segmentissä yhdessä dokumentissa."
    )
    assert theme_coverage("en", 1, 1) == "The theme came up in 1 segment in 1 document."
    assert theme_coverage("en", 5, 2) == "The theme came up in 5 segments across 2 documents."
    assert (
        material("fi", 1, 0, "toukokuussa 2026")
        == "Aineisto: tilannekuva perustuu yhteen haastatteluun, joka toteutettiin toukokuussa 2026."
    )
    assert (
        material("fi", 2, 1, "")
        == "Aineisto: tilannekuva perustuu kahteen haastatteluun ja yhteen työpajaan."
    )
    assert material("en", 1, 2, "") == "Material: 1 interview and 2 workshops."
    assert not_mentioned("fi", ["”A”"]) == "Sen sijaan ”A” ei noussut aineistossa esiin lainkaan."
    assert (
        not_mentioned("fi", ["”A”", "”B”"], contrast=False)
        == "”A” ja ”B” eivät nousseet aineistossa esiin lainkaan."
    )


# --- quotes: cut around the evidence, signed neutrally, with the time ------------------------


def _long_segment() -> tuple[str, int, int]:
    sentences = [
        f"Tämä on täytelause numero {k} jossa puhutaan aivan muista asioista kuin tästä."
        for k in range(1, 14)
    ]
    sentences.insert(11, "Meillä tehdään yhteistyötä naapurikunnassa joka viikko.")
    text = " ".join(sentences)
    start = text.index("naapurikunnassa")
    return text, start, start + len("naapurikunnassa")


def test_excerpt_holds_the_matched_word_deep_in_a_long_segment() -> None:
    text, a, b = _long_segment()
    words = text.split()
    assert len(words) > 140 and words.index("naapurikunnassa") > 120
    quote = excerpt(text, [(a, b)])
    assert "naapurikunnassa" in quote
    assert quote.startswith("… ")  # text left out before
    assert quote.endswith(" …")  # and after
    assert len(quote.split()) <= 72


def test_excerpt_without_evidence_is_the_start_of_the_segment() -> None:
    text, _, _ = _long_segment()
    quote = excerpt(text)
    assert quote.startswith("Tämä on täytelause numero 1 jossa")
    assert quote.endswith(" …")
    assert "naapurikunnassa" not in quote


def test_excerpt_marks_gaps_between_evidence_sentences() -> None:
    text, a, b = _long_segment()
    first = text.index("numero 2 ")
    quote = excerpt(text, [(first, first + 6), (a, b)])
    assert "numero 2 jossa" in quote and "naapurikunnassa" in quote
    assert " … Meillä tehdään" in quote


def test_excerpt_of_unpunctuated_speech_is_a_window_round_the_match() -> None:
    words = [f"sana{k}" for k in range(200)]
    words[150] = "rahoitusta"
    text = " ".join(words)
    a = text.index("rahoitusta")
    quote = excerpt(text, [(a, a + 10)])
    assert "rahoitusta" in quote
    assert quote.startswith("… ") and quote.endswith(" …")
    assert len(quote.split()) <= 72


def test_short_segment_is_quoted_whole() -> None:
    assert excerpt("Joo, rahoitus on iso kysymys.", [(5, 13)]) == "Joo, rahoitus on iso kysymys."


@pytest.mark.parametrize(
    ("lang", "role", "org", "kind", "time", "expected"),
    [
        ("fi", "yrittäjä", "yritys", "interview", 754.9, "yrittäjä, yritys, 00:12:34"),
        ("fi", "", "", "interview", None, "puhuja"),
        ("fi", "", "", "workshop", None, "työpajan osallistuja"),
        ("fi", "", "", "interview", 3725.0, "puhuja, 01:02:05"),
        ("en", "", "", "interview", None, "speaker"),
        ("en", "", "", "workshop", 62, "workshop participant, 00:01:02"),
        ("fi", "", "kaupunki", "interview", float("nan"), "kaupunki"),
    ],
)
def test_attribution_is_the_speakers_own_or_neutral(
    lang: str, role: str, org: str, kind: str, time: float | None, expected: str
) -> None:
    assert attribution(lang, role, org, kind, time) == expected


def test_clock() -> None:
    assert clock(0) == "00:00:00"
    assert clock(59.999) == "00:00:59"
    assert clock(3600 * 10 + 61) == "10:01:01"
    assert clock(None) == clock(float("nan")) == clock("x") == clock(-1) == ""


# --- the whole pipeline on real parliament debates -------------------------------------------


def _statements(name: str) -> list[tuple[float, str, str]]:
    """(seconds from the session's first timed statement, speaker, text) in order."""
    data = json.loads((PARLIAMENT / name).read_text(encoding="utf-8"))
    out: list[tuple[float, str, str]] = []
    first: dt.datetime | None = None
    last = 0.0
    for sub in data["subsections"]:
        for s in sub["statements"]:
            text = " ".join(s["text"].split())
            if not text or s.get("language") == "sv":
                continue
            at = last + 5.0
            if s["start_time"]:
                when = dt.datetime.fromisoformat(s["start_time"])
                first = first or when
                at = max(last + 1.0, (when - first).total_seconds())
            speaker = f"{s['firstname']} {s['lastname']}".strip() or "Puhemies"
            out.append((at, speaker, text))
            last = at
    return out


def _stamp(seconds: float, sep: str) -> str:
    whole = int(seconds)
    millis = min(999, round((seconds - whole) * 1000))
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}{sep}{millis:03d}"


def _cues(statements: list[tuple[float, str, str]]) -> list[tuple[float, float, str, str]]:
    """Short cues of at most 12 words, two seconds each, as Teams and Whisper write them."""
    cues = []
    for k, (at, speaker, text) in enumerate(statements):
        words = text.split()
        end_of_turn = statements[k + 1][0] if k + 1 < len(statements) else at + 600
        step = max(0.2, min(2.0, (end_of_turn - at) / max(1, len(words) / 12)))
        for i in range(0, len(words), 12):
            start = at + step * (i // 12)
            cues.append((start, start + step, speaker, " ".join(words[i : i + 12])))
    return cues


def write_vtt(path: Path, name: str) -> None:
    lines = ["WEBVTT", ""]
    for start, end, speaker, text in _cues(_statements(name)):
        lines += [f"{_stamp(start, '.')} --> {_stamp(end, '.')}", f"<v {speaker}>{text}</v>", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def write_srt(path: Path, name: str) -> None:
    lines = []
    for k, (start, end, speaker, text) in enumerate(_cues(_statements(name)), 1):
        lines += [str(k), f"{_stamp(start, ',')} --> {_stamp(end, ',')}", f"{speaker}: {text}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


@pytest.fixture(scope="module")
def debates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (PARLIAMENT / "session-034-2015.json").is_file():
        pytest.skip(f"real parliament material not found at {PARLIAMENT}")
    base = tmp_path_factory.mktemp("debates")
    files = base / "files"
    files.mkdir()
    write_vtt(files / "opetus-2015.vtt", "session-034-2015.json")
    write_srt(files / "istunto-2018.srt", "session-035-2018.json")
    write_vtt(files / "istunto-2020.vtt", "session-007-2020.json")
    root = base / "proj"
    init_project(root, coder="tutkija", codebook=CODEBOOK)
    run(root, "import", files / "opetus-2015.vtt", "--city", "Opetusvaara")
    run(root, "import", files / "istunto-2018.srt", "--city", "Istuntola")
    run(root, "import", files / "istunto-2020.vtt", "--city", "Istuntola")
    review = base / "review.csv"
    run(root, "tag", "--out", review)
    text = review.read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))
    assert len(rows) > 50
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter=";")
    writer.writeheader()
    for r in rows:
        writer.writerow({**r, "decision": "y"})
    review.write_text(out.getvalue(), encoding="utf-8")
    run(root, "review", review)
    reports = base / "reports"
    run(root, "report", "--all", "--out", reports, "--date", "2026-12-01", "--no-pseudonymise")
    return base


def _forms(base: Path) -> dict[str, set[str]]:
    """Segment id -> the word forms its accepted suggestions matched (from the review file)."""
    rows = csv.DictReader(
        io.StringIO((base / "review.csv").read_text(encoding="utf-8"), newline=""), delimiter=";"
    )
    forms: dict[str, set[str]] = {}
    for r in rows:
        for part in r["evidence"].split(", "):
            forms.setdefault(r["segment_id"], set()).add(part.split(" (")[0].strip())
    return forms


def _segments(base: Path) -> dict[str, str]:
    out = base / "segments.csv"
    run(base / "proj", "export", "segments", "--no-pseudonymise", "--out", out)
    rows = csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"), newline=""))
    return {r["segment_id"]: r["text"] for r in rows}


def _quotes(path: Path) -> list[tuple[str, str]]:
    """(quote text without its marks, attribution) pairs of a report."""
    paragraphs = docx.Document(str(path)).paragraphs
    return [
        (p.text.strip("”“"), paragraphs[k + 1].text)
        for k, p in enumerate(paragraphs)
        if p.style.name == "Quote"
    ]


def test_no_quote_or_heading_repeats_in_any_report(debates: Path) -> None:
    reports = sorted((debates / "reports").glob("*.docx"))
    assert [p.name for p in reports] == ["Istuntola.docx", "Opetusvaara.docx", "yhteenveto.docx"]
    for path in reports:
        document = docx.Document(str(path))
        headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
        assert not [h for h, n in Counter(headings).items() if n > 1], path.name
        quotes = [q for q, _ in _quotes(path)]
        assert not [q for q, n in Counter(quotes).items() if n > 1], path.name
    assert len(_quotes(debates / "reports" / "Opetusvaara.docx")) >= 8


def test_quotes_show_what_they_were_coded_on(debates: Path) -> None:
    forms = _forms(debates)
    segments = _segments(debates)
    checked = 0
    for city in ("Istuntola", "Opetusvaara"):
        for quote, _ in _quotes(debates / "reports" / f"{city}.docx"):
            pieces = [p.strip() for p in quote.split("…") if p.strip()]
            longest = max(pieces, key=len)
            owners = [sid for sid, text in segments.items() if longest in " ".join(text.split())]
            assert owners, quote
            assert any(f in quote for sid in owners for f in forms.get(sid, ())), quote
            assert len(quote.split()) <= 75, quote
            checked += 1
    assert checked >= 12


def test_quotes_carry_the_cue_time_and_a_neutral_signature(debates: Path) -> None:
    for city in ("Istuntola", "Opetusvaara"):
        signed = [a for _, a in _quotes(debates / "reports" / f"{city}.docx")]
        assert signed
        # No metadata for these speakers: never somebody else's role, always the time.
        for line in signed:
            assert re.fullmatch(r"— puhuja, \d\d:\d\d:\d\d", line), line
        assert len(set(signed)) > 1


def test_small_counts_and_comparisons_on_real_material(debates: Path) -> None:
    for city in ("Istuntola", "Opetusvaara"):
        document = docx.Document(str(debates / "reports" / f"{city}.docx"))
        for p in document.paragraphs:
            if p.style.name in ("Normal", "List Bullet") and p.text and p.text[-1] == ".":
                for pattern in BROKEN[:-1]:
                    assert not pattern.search(p.text), (pattern.pattern, p.text)
        text = "\n".join(p.text for p in document.paragraphs)
        assert "Teemasta ei ollut mainintoja" not in text
        # Opetusvaara is one debate: one document can never carry a comparison claim.
        if city == "Opetusvaara":
            assert "Muihin kaupunkeihin verrattuna" not in text
            assert "Vähemmän kuin muualla" not in text
            assert "jokaisessa haastattelussa" not in text


def test_client_copy_has_no_comments(debates: Path) -> None:
    client = debates / "client"
    run(
        debates / "proj",
        "report",
        "--city",
        "Opetusvaara",
        "--no-comments",
        "--no-pseudonymise",
        "--out",
        client,
        "--date",
        "2026-12-01",
    )
    team = debates / "reports" / "Opetusvaara.docx"
    with zipfile.ZipFile(team) as zf:
        assert zf.read("word/comments.xml").count(b"<w:comment ") > 10
    with zipfile.ZipFile(client / "Opetusvaara.docx") as zf:
        names = zf.namelist()
        comments = zf.read("word/comments.xml") if "word/comments.xml" in names else b""
        body = zf.read("word/document.xml")
    assert b"<w:comment " not in comments
    assert b"commentReference" not in body
    same = [p.text for p in docx.Document(str(team)).paragraphs]
    assert [p.text for p in docx.Document(str(client / "Opetusvaara.docx")).paragraphs] == same


def test_times_in_the_quotes_sheet_and_segment_export(debates: Path) -> None:
    import openpyxl

    xlsx = debates / "m.xlsx"
    run(debates / "proj", "matrix", "--out", xlsx)
    sheet = openpyxl.load_workbook(xlsx, read_only=True)["quotes"]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert {"time", "attribution", "matched"} <= set(header)
    assert "evidence" not in header and "start" not in header
    body = [dict(zip(header, r, strict=True)) for r in rows[1:]]
    assert body
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d", str(r["time"])) for r in body)
    assert {r["attribution"] for r in body} == {"puhuja"}
    assert all(r["matched"] for r in body)
    out = debates / "seg.csv"
    run(debates / "proj", "export", "segments", "--out", out)
    segs = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"), newline="")))
    assert list(segs[0])[-5:] == ["start", "end", "start_time", "end_time", "text"]
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d", r["start_time"]) for r in segs)
    assert any(r["start_time"] > "00:10:00" for r in segs)


def test_summary_makes_no_comparison_on_thin_material(tmp_path: Path) -> None:
    from conftest import SAMPLE

    root = tmp_path / "p"
    init_project(root, codebook=CODEBOOK)
    run(root, "import", SAMPLE / "ilvesvaara-02-matkailuyrittaja.txt", "--city", "Pikkula")
    run(root, "import", SAMPLE / "pohjanlinna-02-kehitysyhtio.srt", "--city", "Isokylä")
    out = tmp_path / "r.csv"
    run(root, "tag", "--out", out)
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")), delimiter=";"))
    for city in ("Pikkula", "Isokylä"):
        first = next(r for r in rows if r["city"] == city)
        run(root, "code", first["segment_id"], "rahoitus")
    run(root, "report", "--all", "--out", tmp_path / "rep", "--date", "2026-11-27")
    summary = [p.text for p in docx.Document(str(tmp_path / "rep" / "yhteenveto.docx")).paragraphs]
    at = summary.index("Kaupunkeja erottavat teemat")
    assert summary[at + 1] == (
        "Aineisto ei riitä kaupunkien vertailuun: missään kaupungissa ei ole yhdestäkään "
        "teemasta niin paljon mainintoja (kolme segmenttiä kahdesta dokumentista), että "
        "vertailu kestäisi."
    )
    for city in ("Pikkula", "Isokylä"):
        text = "\n".join(
            p.text for p in docx.Document(str(tmp_path / "rep" / f"{city}.docx")).paragraphs
        )
        assert "koodattuja segmenttejä on vain yksi." in text
        assert "Muihin kaupunkeihin verrattuna" not in text
        assert "Vähemmän kuin muualla" not in text
        # The quote from the manual coding is signed with the speaker's own metadata or
        # neutrally, and an .srt quote carries its cue time.
        if city == "Isokylä":
            assert re.search(r"\n— [^\n]*\d\d:\d\d:\d\d\n", text), text
