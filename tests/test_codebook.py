from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import REPO
from qualcode.cli import cli
from qualcode.codebook import INDICATORS, load_codebook, parse_codebook
from qualcode.errors import CodebookError

MINIMAL = """name: Esimerkki
version: 1
language: fi
codes:
  - id: yhteistyo
    label: Yhteistyö
    keywords: [yhteistyö]
  - id: verkostot
    label: Verkostot
    parent: yhteistyo
    keywords: [verkosto]
    phrases: ["pysyvä rakenne"]
"""


def problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(CodebookError) as err:
        parse_codebook(text)
    return err.value.problems


def test_minimal_codebook() -> None:
    book = parse_codebook(MINIMAL)
    assert [c.id for c in book.codes] == ["yhteistyo", "verkostot"]
    assert book.theme_of("verkostot") == "yhteistyo"
    assert book.get("verkostot").phrases[0].words == ("pysyvä", "rakenne")  # type: ignore[union-attr]
    assert [(d, c.id) for d, c in book.walk()] == [(0, "yhteistyo"), (1, "verkostot")]


def test_digest_ignores_comments_and_layout() -> None:
    a = parse_codebook(MINIMAL)
    b = parse_codebook("# kommentti\n" + MINIMAL.replace("[yhteistyö]", "\n      - yhteistyö"))
    c = parse_codebook(MINIMAL.replace("verkosto]", "verkosto, rakenne]"))
    assert a.digest == b.digest != c.digest


BROKEN = [
    (
        MINIMAL.replace("    keywords: [yhteistyö]", "    keyword: [yhteistyö]"),
        [("codes -> 1 (yhteistyo) -> keyword (line 7)", "unknown key; did you mean 'keywords'?")],
    ),
    (
        MINIMAL.replace("  - id: verkostot", "  - id: Verkostot!"),
        [
            (
                "codes -> 2 -> id (line 8)",
                "'Verkostot!' is not a valid id (lower-case ASCII letters, digits and _, starting with a letter)",
            )
        ],
    ),
    (
        MINIMAL.replace("id: verkostot", "id: yhteistyo").replace(
            "parent: yhteistyo", "parent: muu"
        ),
        [
            ("codes -> 2 (yhteistyo) -> id (line 8)", "id 'yhteistyo' is already used by code 1"),
            ("codes -> 2 (yhteistyo) -> parent (line 10)", "unknown parent 'muu'"),
        ],
    ),
    (
        MINIMAL.replace(
            "    keywords: [yhteistyö]", "    parent: verkostot\n    keywords: [yhteistyö]"
        ),
        [
            (
                "codes -> 1 (yhteistyo) -> parent (line 7)",
                "cycle: yhteistyo -> verkostot -> yhteistyo",
            ),
            (
                "codes -> 2 (verkostot) -> parent (line 11)",
                "cycle: verkostot -> yhteistyo -> verkostot",
            ),
        ],
    ),
    (
        MINIMAL.replace("keywords: [verkosto]", "keywords: [verkosto, pysyvä rakenne, verkosto]"),
        [
            (
                "codes -> 2 (verkostot) -> keywords -> 2 (line 11)",
                'keyword must be a single word; use phrases for "pysyvä rakenne"',
            ),
            (
                "codes -> 2 (verkostot) -> keywords -> 3 (line 11)",
                "keyword 'verkosto' is listed twice",
            ),
        ],
    ),
    (
        MINIMAL.replace(
            'phrases: ["pysyvä rakenne"]', 'phrases: [rakenne, {words: "a b", gap: 99}]'
        ),
        [
            (
                "codes -> 2 (verkostot) -> phrases -> 1 (line 12)",
                "a phrase needs at least two words; put 'rakenne' in keywords",
            ),
            (
                "codes -> 2 (verkostot) -> phrases -> 2 -> gap (line 12)",
                "must be a whole number from 0 to 10",
            ),
        ],
    ),
    (
        MINIMAL + "    indicator: {maturity: mature}\n    min_hits: 0\n    codable: maybe\n",
        [
            (
                "codes -> 2 (verkostot) -> indicator -> maturity (line 13)",
                "'mature' is not one of starting, developing, established",
            ),
            (
                "codes -> 2 (verkostot) -> min_hits (line 14)",
                "must be a whole number of at least 1",
            ),
            ("codes -> 2 (verkostot) -> codable (line 15)", "must be true or false"),
        ],
    ),
    (
        MINIMAL.replace("    label: Verkostot\n", "    label: Verkostot\n    label: Toinen\n"),
        [("codes -> 2 -> label (line 10)", "key appears twice")],
    ),
    (
        MINIMAL.replace("language: fi", "language: de").replace("name: Esimerkki\n", ""),
        [
            ("name (line 1)", "required key is missing"),
            ("language (line 2)", "unsupported language 'de' (use: fi)"),
        ],
    ),
    (
        MINIMAL.replace("    label: Yhteistyö\n", ""),
        [("codes -> 1 (yhteistyo) -> label (line 5)", "required key is missing")],
    ),
    (
        "name: x\nversion: 1\nlanguage: fi\ncodes: []\n",
        [("codes (line 4)", "must be a non-empty list of codes")],
    ),
    ("", [("file", "the codebook is empty")]),
]


@pytest.mark.parametrize(("text", "expected"), BROKEN, ids=[str(i) for i in range(len(BROKEN))])
def test_broken_codebooks_report_every_problem(text: str, expected: list[tuple[str, str]]) -> None:
    assert problems(text) == expected


def test_yaml_syntax_error_names_the_line() -> None:
    ((where, message),) = problems("name: x\ncodes: [\n")
    assert where == "line 3" and message.startswith("invalid YAML: ")


def test_check_command_lists_all_problems(tmp_path: Path) -> None:
    path = tmp_path / "rikki.yaml"
    path.write_text(BROKEN[2][0], encoding="utf-8")
    result = CliRunner().invoke(cli, ["codebook", "check", str(path)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: {path}: codes -> 2 (yhteistyo) -> id (line 8): id 'yhteistyo' is already used by code 1",
        f"Error: {path}: codes -> 2 (yhteistyo) -> parent (line 10): unknown parent 'muu'",
        f"2 problem(s) in {path}",
    ]


def test_check_warns_about_non_lemma_keywords(tmp_path: Path) -> None:
    path = tmp_path / "cb.yaml"
    path.write_text(MINIMAL.replace("[verkosto]", "[verkostot]"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["codebook", "check", str(path)])
    assert result.exit_code == 0
    assert (
        f"Warning: {path}: 'verkostot' (verkostot) is a plural; 'verkosto' finds both"
        in result.output
    )
    assert "OK: Esimerkki (version 1): 1 themes, 2 codes, 3 rules" in result.output


SHIPPED = REPO / "codebooks" / "innovaatioekosysteemi.yaml"


def test_shipped_codebook_is_complete() -> None:
    book = load_codebook(SHIPPED)
    themes = [c for c in book.codes if c.parent is None]
    assert len(themes) >= 6 and len(book.codes) >= 25
    for code in book.codes:
        assert code.definition and code.include and code.exclude, code.id
        assert code.labels and dict(code.labels).get("en"), code.id
        if code.codable:
            assert code.rule_count >= 2, code.id
    indicators = {c.indicator for c in book.codes if c.indicator}
    assert indicators == {(d, v) for d, values in INDICATORS.items() for v in values}


def test_shipped_codebook_checks_clean() -> None:
    result = CliRunner().invoke(cli, ["codebook", "check", str(SHIPPED)])
    assert result.exit_code == 0
    assert "Warning" not in result.output


def test_show_prints_the_tree() -> None:
    result = CliRunner().invoke(cli, ["codebook", "show", str(SHIPPED)])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[1].startswith("verkostotoiminnan_kypsyys")
    assert any(
        line.startswith("  kypsyys_kaynnistymassa") and "indicator maturity=starting" in line
        for line in lines
    )


def test_problems_keep_their_own_index_and_line_after_an_invalid_entry() -> None:
    # The first entry is not a mapping, so it never becomes a Code: the tree checks must
    # still name the third entry as 3 and point at its own parent line.
    text = """name: x
version: 1
language: fi
codes:
  - just text
  - id: b
    label: B
  - id: c
    label: C
    parent: puuttuu
  - id: b
    label: B again
"""
    assert problems(text) == [
        ("codes -> 1 (line 5)", "must be a mapping (key: value)"),
        ("codes -> 3 (c) -> parent (line 10)", "unknown parent 'puuttuu'"),
        ("codes -> 4 (b) -> id (line 11)", "id 'b' is already used by code 2"),
    ]


@pytest.mark.parametrize(
    ("value", "where", "message"),
    [
        ("!foo bar", "codes -> 2 (verkostot) -> label (line 9)", "unsupported YAML tag '!foo'"),
        (
            "!!python/name:os.system",
            "codes -> 2 (verkostot) -> label (line 9)",
            "unsupported YAML tag '!!python/name:os.system'",
        ),
        (
            '!!python/object/apply:os.system ["touch pwned"]',
            "codes -> 2 (verkostot) -> label (line 9)",
            "unsupported YAML tag '!!python/object/apply:os.system'",
        ),
        ("!!int abc", "codes -> 2 (verkostot) -> label (line 9)", "'abc' is not a valid !!int"),
    ],
)
def test_unknown_yaml_tags_are_problems_with_path_and_line(
    value: str, where: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    text = MINIMAL.replace("    label: Verkostot", f"    label: {value}")
    found = problems(text)
    assert len(found) == 1
    assert found[0][0] == where and found[0][1].startswith(message)
    assert not (tmp_path / "pwned").exists()  # nothing was executed
    path = tmp_path / "tagit.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["codebook", "check", str(path)])
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == f"Error: {path}: {where}: {found[0][1]}"


def test_a_tag_deep_in_a_rule_list_names_its_item() -> None:
    text = MINIMAL.replace("keywords: [verkosto]", "keywords: [verkosto, !oma sana]")
    assert problems(text) == [
        (
            "codes -> 2 (verkostot) -> keywords -> 2 (line 11)",
            "unsupported YAML tag '!oma'; write the value as plain text",
        )
    ]
