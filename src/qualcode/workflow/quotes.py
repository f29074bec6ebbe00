"""``export quotes``: the reading list behind every theme, one row per accepted coding.

Each row is an accepted coding with its segment's text (pseudonymised), grouped by theme and
city, with who speaks (role, organisation type), where (document, cue time), who coded it and
on what evidence. In ``.xlsx`` every theme gets its own sheet with filters on the header row;
in ``.csv`` the theme is a column. Every cell is Excel-safe.
"""

from __future__ import annotations

import difflib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from qualcode.codebook import Codebook
from qualcode.csvout import atomic_write_bytes, csv_bytes, excel_safe
from qualcode.errors import QualcodeError
from qualcode.project import Project

QUOTE_EXPORT_COLUMNS = (
    "theme",
    "theme_label",
    "city",
    "code",
    "code_label",
    "document",
    "segment_id",
    "role",
    "organisation_type",
    "time",
    "coder",
    "source",
    "evidence",
    "text",
)
# Characters Excel refuses in a sheet name, and its length limit.
_SHEET_BAD = str.maketrans({c: " " for c in "[]:*?/\\"})
_SHEET_MAX = 31


@dataclass(frozen=True)
class QuotesExport:
    rows: int
    themes: int
    out: str


def _descendants(codebook: Codebook, code: str) -> set[str]:
    """``code`` and every code below it."""
    out = {code}
    for c in codebook.codes:
        node = c
        while node.parent is not None:
            if node.parent == code:
                out.add(c.id)
                break
            parent = codebook.get(node.parent)
            if parent is None:
                break
            node = parent
    return out


def quote_rows(
    project: Project,
    *,
    city: str | None = None,
    code: str | None = None,
    pseudonymise: bool = True,
) -> list[tuple[str, ...]]:
    """The rows of ``export quotes`` (``QUOTE_EXPORT_COLUMNS``), in theme and city order."""
    from qualcode.report.clock import clock
    from qualcode.workflow._analysis import load_project_codebook
    from qualcode.workflow.reporting import load_matrix_data, pseudonymiser

    codebook = load_project_codebook(project)
    data = load_matrix_data(project)
    if data.codings.empty:
        raise QualcodeError("no accepted codings yet", "review suggestions before exporting quotes")
    cities = sorted({c for c in data.documents["city"].dropna() if c})
    if city is not None and city not in cities:
        raise QualcodeError(f"no documents from city '{city}'", f"cities: {', '.join(cities)}")
    wanted: set[str] | None = None
    if code is not None:
        if codebook.get(code) is None:
            close = difflib.get_close_matches(code, [c.id for c in codebook.codes], n=1)
            raise QualcodeError(
                f"unknown code '{code}'",
                f"did you mean '{close[0]}'?"
                if close
                else "use a code or theme id of the codebook",
            )
        wanted = _descendants(codebook, code)
    clean = pseudonymiser(project, pseudonymise)
    docs = {
        str(d["id"]): d
        for d in data.documents.to_dict("records")  # one document per id
    }
    by_name = {str(d["name"]): d for d in docs.values()}
    segments = {(str(r["segment_id"]), str(r["code"])): r for r in data.codings.to_dict("records")}
    order = {c.id: i for i, c in enumerate(codebook.codes)}
    rows: list[tuple[tuple[object, ...], tuple[str, ...]]] = []
    for coding in project.store.decisions.coding_export_rows():
        if coding.status != "accepted":
            continue
        if wanted is not None and coding.code not in wanted:
            continue
        if city is not None and coding.city != city:
            continue
        segment = segments.get((coding.segment_id, coding.code))
        doc = by_name.get(coding.document)
        if segment is None or doc is None:
            continue  # not possible for an accepted coding; keeps the export total
        theme = codebook.theme_of(coding.code) if codebook.get(coding.code) else coding.code
        theme_code, code_entry = codebook.get(theme), codebook.get(coding.code)
        evidence = segment.get("evidence")
        matched = ", ".join(
            dict.fromkeys(str(e[0]) for e in json.loads(evidence))
            if isinstance(evidence, str) and evidence
            else ()
        )
        time = segment.get("start_time")
        rows.append(
            (
                (
                    order.get(theme, len(order)),
                    coding.city,
                    coding.document,
                    int(segment["seq"]),
                    order.get(coding.code, len(order)),
                    coding.coder,
                ),
                (
                    theme,
                    theme_code.label if theme_code else theme,
                    coding.city,
                    coding.code,
                    code_entry.label if code_entry else coding.code,
                    coding.document,
                    coding.segment_id,
                    str(doc.get("role") or ""),
                    str(doc.get("organisation_type") or ""),
                    clock(time),
                    coding.coder,
                    coding.source,
                    clean(matched),
                    clean(str(segment["text"])),
                ),
            )
        )
    rows.sort(key=lambda r: r[0])
    return [r[1] for r in rows]


def export_quotes(
    project: Project,
    out: Path,
    *,
    city: str | None = None,
    code: str | None = None,
    pseudonymise: bool = True,
) -> QuotesExport:
    """Write every accepted coding with its segment text to ``out`` (.xlsx or .csv)."""
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise QualcodeError(f"{out}: quotes are written as .xlsx or .csv")
    rows = quote_rows(project, city=city, code=code, pseudonymise=pseudonymise)
    if not rows:
        raise QualcodeError(
            "no accepted codings match "
            + " and ".join(f for f in (city and f"--city {city}", code and f"--code {code}") if f),
            "leave out a filter, or check 'qualcode matrix' for where the codings are",
        )
    themes = list(dict.fromkeys(r[0] for r in rows))
    if suffix == ".csv":
        atomic_write_bytes(out, csv_bytes(QUOTE_EXPORT_COLUMNS, rows))
    else:
        atomic_write_bytes(out, _workbook(rows, themes))
    return QuotesExport(len(rows), len(themes), str(out))


def sheet_names(labels: Sequence[str]) -> list[str]:
    """A distinct, valid Excel sheet name for each label (31 characters, no []:*?/\\)."""
    used: set[str] = set()
    names = []
    for label in labels:
        base = " ".join(label.translate(_SHEET_BAD).split()).strip("'") or "teema"
        name = base[:_SHEET_MAX]
        n = 2
        while name.casefold() in used:
            tail = f" ({n})"
            name = base[: _SHEET_MAX - len(tail)] + tail
            n += 1
        used.add(name.casefold())
        names.append(name)
    return names


def _workbook(rows: Sequence[tuple[str, ...]], themes: Sequence[str]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    from qualcode.workflow.reporting import _no_formulas

    book = Workbook()
    book.remove(book.active)
    labels = {r[0]: r[1] for r in rows}
    widths = {"text": 90, "evidence": 24, "document": 30, "segment_id": 20}
    for theme, name in zip(themes, sheet_names([labels[t] for t in themes]), strict=True):
        sheet = book.create_sheet(name)
        sheet.append([excel_safe(c) for c in QUOTE_EXPORT_COLUMNS])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            if row[0] == theme:
                sheet.append([excel_safe(v) for v in row])
        for i, column in enumerate(QUOTE_EXPORT_COLUMNS, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = widths.get(column, 16)
        for cells in sheet.iter_rows(min_row=2, min_col=len(QUOTE_EXPORT_COLUMNS)):
            for cell in cells:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        # Filterable: the researcher narrows a theme to a city, a code or a role in Excel.
        sheet.auto_filter.ref = sheet.dimensions
        sheet.freeze_panes = "A2"
    _no_formulas(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
