"""matrix.py on its own: hand-made documents and codings in, numbers out (no store, no CLI)."""

from __future__ import annotations

import pandas as pd
import pytest

from qualcode.codebook import parse_codebook
from qualcode.matrix import MEASURES, MatrixData, build_matrix, representative_quotes, wide

CODEBOOK = parse_codebook(
    """name: Pieni
version: 1
language: fi
codes:
  - id: yhteistyo
    label: Yhteistyö
    codable: false
  - id: seutu
    label: Seutuyhteistyö
    parent: yhteistyo
    keywords: [seutu]
  - id: yritykset
    label: Yritysyhteistyö
    parent: yhteistyo
    keywords: [yritys]
  - id: rahoitus
    label: Rahoitus
    keywords: [rahoitus]
"""
)
DOCUMENTS = pd.DataFrame(
    [
        # id, name, city, participant, role, organisation_type, kind, date, words
        ("d1", "h1.txt", "Ärjä", "H1", "yrittäjä", "yritys", "interview", None, 1000),
        ("d2", "h2.txt", "Ärjä", "H2", "johtaja", "kaupunki", "interview", None, 500),
        ("d3", "t1.txt", "Ärjä", None, None, None, "workshop", None, 500),
        ("d4", "h3.txt", "Böle", "H3", "johtaja", "kaupunki", "interview", None, 800),
    ],
    columns=[
        "id",
        "name",
        "city",
        "participant",
        "role",
        "organisation_type",
        "kind",
        "date",
        "words",
    ],
)


def coding(segment: str, document: str, code: str, score: float | None, text: str) -> tuple:
    return (segment, document, code, score, "rule", text, 1, "V", 0, None, None)


CODINGS = pd.DataFrame(
    [
        coding("s1", "d1", "seutu", 0.9, "Seutu tekee yhteistyötä."),
        coding("s1", "d1", "yritykset", 0.5, "Seutu tekee yhteistyötä."),  # one segment, twice
        coding("s2", "d2", "yritykset", 0.7, "Yritykset ovat mukana."),
        coding("s3", "d3", "seutu", None, "Työpajassa puhuttiin seudusta."),
        coding("s4", "d4", "rahoitus", 0.8, "Rahoitus on niukkaa."),
    ],
    columns=[
        "segment_id",
        "document_id",
        "code",
        "score",
        "source",
        "text",
        "seq",
        "speaker",
        "start",
        "start_time",
        "evidence",
    ],
)
DATA = MatrixData(documents=DOCUMENTS, codings=CODINGS)


def cell(matrix: pd.DataFrame, group: str, column: str) -> dict[str, object]:
    rows = matrix[(matrix.iloc[:, 0] == group) & (matrix["code"] == column)]
    assert len(rows) == 1
    return {m: rows.iloc[0][m] for m in MEASURES}


def test_a_theme_counts_each_segment_once_and_every_group_gets_a_row() -> None:
    m = build_matrix(DATA, CODEBOOK, by="city", level="theme")
    assert list(m.columns) == ["city", "code", "label", *MEASURES]
    assert list(zip(m["city"], m["code"], strict=True)) == [
        ("Böle", "yhteistyo"),
        ("Ärjä", "yhteistyo"),
        ("Böle", "rahoitus"),
        ("Ärjä", "rahoitus"),
    ]
    # s1 carries two codes of the theme: one segment. Two of Ärjä's two interviewees raise it;
    # the workshop counts as a document and in the words, not as an interviewee.
    assert cell(m, "Ärjä", "yhteistyo") == {
        "segments": 3,
        "documents": 3,
        "share_of_interviewees": 1.0,
        "per_1000_words": 1.5,
    }
    assert cell(m, "Böle", "yhteistyo") == {
        "segments": 0,
        "documents": 0,
        "share_of_interviewees": 0.0,
        "per_1000_words": 0.0,
    }
    assert cell(m, "Böle", "rahoitus")["per_1000_words"] == 1.25


def test_the_code_level_lists_codable_codes_and_groups_by_role() -> None:
    m = build_matrix(DATA, CODEBOOK, by="role", level="code")
    assert sorted(set(m["code"])) == ["rahoitus", "seutu", "yritykset"]
    # A document without a role is its own (empty) group, so no segment goes uncounted.
    assert sorted(set(m["role"])) == ["", "johtaja", "yrittäjä"]
    assert cell(m, "johtaja", "yritykset")["share_of_interviewees"] == 0.5
    assert pd.isna(cell(m, "", "seutu")["share_of_interviewees"])  # no interviewee there


def test_wide_keeps_codebook_order() -> None:
    table = wide(build_matrix(DATA, CODEBOOK), "segments")
    assert list(table.columns) == ["Yhteistyö", "Rahoitus"]
    assert table.loc["Ärjä"].tolist() == [3, 0]


def test_unknown_grouping_or_level_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError) as info:
        build_matrix(DATA, CODEBOOK, by="kunta")
    assert str(info.value) == "by must be one of ('city', 'role', 'organisation_type', 'kind')"
    with pytest.raises(ValueError) as info:
        build_matrix(DATA, CODEBOOK, level="teema")
    assert str(info.value) == "level must be one of ('theme', 'code')"


def test_representative_quotes_take_the_highest_scores_one_per_document() -> None:
    quotes = representative_quotes(DATA, CODEBOOK, level="code", per_cell=2)
    yritykset = quotes[(quotes["city"] == "Ärjä") & (quotes["code"] == "yritykset")]
    assert yritykset["segment_id"].tolist() == ["s2", "s1"]
    assert yritykset["text"].tolist() == ["Yritykset ovat mukana.", "Seutu tekee yhteistyötä."]


def test_a_quote_from_a_document_without_role_has_empty_metadata_not_nan() -> None:
    # pandas 3 stores a missing role beside other documents' roles as NaN.
    quotes = representative_quotes(DATA, CODEBOOK, level="code", per_cell=2)
    workshop = quotes[quotes["segment_id"] == "s3"].iloc[0]
    assert (workshop["role"], workshop["organisation_type"]) == ("", "")
