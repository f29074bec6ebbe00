"""report/content.py on its own: a small hand-made ReportData in, the report's text out.

No store, no CLI, no Word: what a snapshot says is plain data (sections of paragraphs and
tables), so it can be checked line by line.
"""

from __future__ import annotations

import dataclasses

from qualcode.matrix import build_matrix, representative_quotes
from qualcode.report.content import Para, ReportData, Table, city_report
from test_matrix import CODEBOOK, DATA


def report_data(lang: str = "fi") -> ReportData:
    return ReportData(
        codebook=CODEBOOK,
        documents=DATA.documents,
        codings=DATA.codings,
        theme_matrix=build_matrix(DATA, CODEBOOK, level="theme"),
        code_matrix=build_matrix(DATA, CODEBOOK, level="code"),
        theme_quotes=representative_quotes(
            DATA, CODEBOOK, level="theme", per_cell=16, per_document=None
        ),
        code_quotes=representative_quotes(
            DATA, CODEBOOK, level="code", per_cell=8, per_document=None
        ),
        pseudonymise=lambda text: text.replace("Seutu", "[paikka]"),
        date="1.12.2026",
        lang=lang,
    )


def texts(blocks: tuple[object, ...], style: str) -> list[str]:
    return [b.text for b in blocks if isinstance(b, Para) and b.style == style]


def test_a_city_report_says_what_its_material_is_and_what_stood_out() -> None:
    report = city_report(report_data(), "Ärjä")
    assert (report.title, report.subtitle) == (
        "Ärjän innovaatioekosysteemin tilannekuva",
        "Laadittu 1.12.2026 · qualcode",
    )
    assert report.front[0] == Para(
        "Aineisto: tilannekuva perustuu kahteen haastatteluun ja yhteen työpajaan.",
        ("d1", "d2", "d3"),
        "note",
    )
    sections = {s.title: s for s in report.sections}
    assert list(sections) == [
        "Yhteenveto",
        "Indikaattorit",
        "Yhteistyö",
        "Teemataulukko",
        "Strategian lähtökohdat",
    ]
    summary = texts(sections["Yhteenveto"].blocks, "body")
    assert summary[0] == (
        "Ärjässä keskusteluissa nousi vahvimmin esiin ”Yhteistyö”. Teeman ”Yhteistyö” ottivat "
        "puheeksi molemmat haastateltavat."
    )
    assert "Sen sijaan ”Rahoitus” ei noussut aineistossa esiin lainkaan." in summary


def test_a_theme_section_lists_its_codes_and_quotes_pseudonymised_and_signed() -> None:
    report = city_report(report_data(), "Ärjä")
    theme = next(s for s in report.sections if s.title == "Yhteistyö")
    assert texts(theme.blocks, "bullet") == [
        "Seutuyhteistyö: kaksi segmenttiä",
        "Yritysyhteistyö: kaksi segmenttiä",
    ]
    quotes = texts(theme.blocks, "quote")
    assert "”[paikka] tekee yhteistyötä.”" in quotes  # the pseudonymiser ran on the quote
    assert not any("Seutu tekee" in q for q in quotes)
    signed = dict(zip(quotes, texts(theme.blocks, "attribution"), strict=True))
    assert signed["”Yritykset ovat mukana.”"] == "— johtaja, kaupunki"
    # The workshop has no role or organisation type: signed neutrally, never "nan, nan".
    assert signed["”Työpajassa puhuttiin seudusta.”"] == "— työpajan osallistuja"


def test_the_theme_table_holds_the_matrix_numbers_in_finnish_notation() -> None:
    report = city_report(report_data(), "Ärjä")
    (table,) = [b for s in report.sections if s.title == "Teemataulukko" for b in s.blocks]
    assert isinstance(table, Table)
    assert table.rows == (
        ("Yhteistyö", "3", "3", "100 %", "1,5", "0,0"),
        ("Rahoitus", "0", "0", "0 %", "0,0", "1,2"),
    )


def test_the_english_report_uses_english_text() -> None:
    report = city_report(dataclasses.replace(report_data(), lang="en"), "Böle")
    assert report.front[0].text.startswith("Material: ")
    assert all("Aineisto" not in p.text for p in report.front)
