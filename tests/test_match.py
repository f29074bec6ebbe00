"""Finnish word-form cases for keyword and phrase matching, with the real Voikko analyzer."""

from __future__ import annotations

import pytest

from qualcode.analysis import get_analyzer
from qualcode.analysis.tokens import tokenize
from qualcode.codebook import parse_codebook
from qualcode.match import compile_codebook, form_keys, match_tokens, rule_score

ANALYZER = get_analyzer("voikko.v1")


def matches(codebook_yaml: str, text: str) -> dict[str, list[str]]:
    book = parse_codebook(codebook_yaml)
    tokens = tokenize(text)
    forms = sorted({t.form for t in tokens})
    keys = {f: form_keys(a) for f, a in zip(forms, ANALYZER.analyze(forms), strict=True)}
    found = match_tokens("s1", tokens, keys, compile_codebook(book))
    return {m.code_id: [e.form for e in m.evidence] for m in found}


def one_keyword(keyword: str) -> str:
    return f"name: t\nversion: 1\nlanguage: fi\ncodes:\n  - id: k\n    label: K\n    keywords: [{keyword}]\n"


CASES = [
    # inflection: cases, plurals
    ("verkosto", "verkostoihin", True),
    ("verkosto", "verkostossa", True),
    ("verkosto", "verkostot", True),
    ("verkosto", "verkoston", True),
    ("rakenne", "rakenteita", True),
    ("rakenne", "rakenteiden", True),
    ("yritys", "yrityksille", True),
    ("yritys", "yritykset", True),
    ("kunta", "kuntien", True),
    ("kunta", "kunnissa", True),
    ("osaaminen", "osaamista", True),
    ("osaaminen", "osaamisen", True),
    ("valtio", "valtion", True),
    ("koulu", "kouluissa", True),
    # possessive suffixes
    ("verkosto", "verkostojamme", True),
    ("yritys", "yrityksemme", True),
    ("kaupunki", "kaupunkimme", True),
    ("yhteistyö", "yhteistyössämme", True),
    # clitics -kin, -han, -kaan
    ("verkosto", "verkostokin", True),
    ("verkosto", "verkostoissakin", True),
    ("yhteistyö", "yhteistyöhän", True),
    ("yhteistyö", "yhteistyöhönkin", True),
    ("rahoitus", "rahoitustakaan", True),
    # compounds
    ("yhteistyö", "oppilaitosyhteistyössämme", True),
    ("yhteistyö", "seutuyhteistyö", True),
    ("yhteistyö", "yhteistyökumppanit", True),
    ("koulu", "ammattikorkeakoulun", True),
    ("kunta", "kuntarajat", True),
    ("paikka", "työpaikkoja", True),
    ("rahoitus", "hankerahoitusta", True),
    ("yhtiö", "kehitysyhtiömme", True),
    ("yritys", "pk-yrityksiä", True),
    ("hanke", "TKI-hankkeessa", True),
    ("tila", "toimitiloja", True),
    # unknown (loan)words and abbreviations
    ("startup", "startupit", True),
    ("amk", "Kaarna-AMK:n", True),
    # false friends that must not match
    ("kunta", "kuntoutus", False),
    ("paikka", "paikallinen", False),
    ("puoli", "puolesta", False),
    ("koulu", "koulutus", False),
    ("rakenne", "rakenteellinen", False),
    ("tila", "tilanne", False),
    ("yritys", "yrittäjä", False),
    ("rahoitus", "rahoittaja", False),
    ("kuu", "kuin", False),
    ("loppu", "lopulta", False),
    ("maa", "maailman", False),
    ("kunta", "kansa", False),
]


@pytest.mark.parametrize(
    ("keyword", "text", "expected"), CASES, ids=[f"{k}-{t}" for k, t, _ in CASES]
)
def test_keyword_forms(keyword: str, text: str, expected: bool) -> None:
    got = matches(one_keyword(keyword), f"Puhuimme siitä, että {text} on tärkeä asia.")
    assert ("k" in got) is expected, got


def test_compounds_can_be_turned_off() -> None:
    book = one_keyword("{word: kunta, compounds: false}")
    assert "k" in matches(book, "Kunnille tämä on tärkeää.")
    assert "k" not in matches(book, "Kuntarajat eivät estä.")


PHRASES = """name: t
version: 1
language: fi
codes:
  - id: rakenteet
    label: Rakenteet
    phrases: ["pysyvä rakenne"]
  - id: valtio
    label: Valtio
    phrases: [{words: "yhteistyö valtio", gap: 3}]
  - id: invest
    label: Invest in
    phrases: ["invest in"]
"""


@pytest.mark.parametrize(
    ("text", "code", "expected"),
    [
        ("Tarvitaan pysyviä rakenteita.", "rakenteet", True),
        ("Pysyvän rakenteen puute näkyy.", "rakenteet", True),
        ("Pysyvä ja vakaa rakenne puuttuu.", "rakenteet", False),  # gap 0: adjacent only
        ("Rakenne on pysyvä.", "rakenteet", False),  # order matters
        ("Yhteistyö on tiivistä valtion kanssa.", "valtio", True),  # gap of 2 words
        ("Yhteistyötä tehdään joskus jopa hyvin harvoin valtion kanssa.", "valtio", False),
        ("Meillä ei ole Invest in -toimintaa.", "invest", True),
    ],
)
def test_phrases(text: str, code: str, expected: bool) -> None:
    assert (code in matches(PHRASES, text)) is expected


def test_veto_and_min_hits() -> None:
    book = """name: t
version: 1
language: fi
codes:
  - id: koulut
    label: Koulut
    keywords: [koulu]
    exclude_keywords: [autokoulu]
  - id: raha
    label: Raha
    keywords: [raha, rahoitus]
    min_hits: 2
"""
    assert "koulut" in matches(book, "Koulujen kanssa sovittiin.")
    assert "koulut" not in matches(book, "Koulujen ja autokoulun kanssa sovittiin.")
    assert "raha" not in matches(book, "Rahaa ei ole.")
    assert matches(book, "Rahaa ei ole eikä rahoitusta.")["raha"] == ["Rahaa", "rahoitusta"]


def test_not_codable_theme_gets_no_suggestions() -> None:
    book = """name: t
version: 1
language: fi
codes:
  - id: teema
    label: Teema
    codable: false
    keywords: [verkosto]
  - id: ala
    label: Ala
    parent: teema
    keywords: [verkosto]
"""
    assert set(matches(book, "Verkostossa on voimaa.")) == {"ala"}


def test_evidence_offsets_and_score() -> None:
    text = "Oppilaitosyhteistyössämme on paljon hyvää, ja yhteistyö jatkuu."
    book = parse_codebook(one_keyword("yhteistyö"))
    tokens = tokenize(text, offset=100)
    forms = sorted({t.form for t in tokens})
    keys = {f: form_keys(a) for f, a in zip(forms, ANALYZER.analyze(forms), strict=True)}
    (m,) = match_tokens("s1", tokens, keys, compile_codebook(book))
    assert [(e.form, e.start, e.end, e.rule) for e in m.evidence] == [
        ("Oppilaitosyhteistyössämme", 100, 125, "yhteistyö"),
        ("yhteistyö", 146, 155, "yhteistyö"),
    ]
    assert m.hits == 2 and m.score == rule_score(2) == 0.75
