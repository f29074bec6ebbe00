"""The metadata sidecar CSV: ``file,city,participant,role,organisation_type,kind,date``."""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from pathlib import Path

from qualcode.csvin import SAVE_AS_UTF8, lost_characters, read_csv_table
from qualcode.errors import IngestError
from qualcode.records import DocumentMeta, Kind

COLUMNS = ("file", "city", "participant", "role", "organisation_type", "kind", "date")
REQUIRED = ("file", "city")
_KIND_ALIASES: dict[str, Kind] = {
    "interview": "interview",
    "haastattelu": "interview",
    "intervju": "interview",
    "workshop": "workshop",
    "työpaja": "workshop",
    "tyopaja": "workshop",
    "verkstad": "workshop",
}


@dataclass(frozen=True)
class MetadataRow:
    line: int
    file: str
    meta: DocumentMeta


def parse_kind(value: str, location: str) -> Kind:
    kind = _KIND_ALIASES.get(value.strip().lower())
    if kind is None:
        raise IngestError(location, f"unknown kind '{value}'", "use 'interview' or 'workshop'")
    return kind


def parse_date(value: str, location: str) -> str | None:
    """Accept ISO dates and Finnish ``d.m.yyyy``; store ISO."""
    value = value.strip()
    if not value:
        return None
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(value, fmt).date().isoformat()
        except ValueError:
            continue
    raise IngestError(location, f"invalid date '{value}'", "use YYYY-MM-DD, e.g. 2026-04-14")


def read_metadata(path: Path) -> dict[str, MetadataRow]:
    """Rows keyed by file name; checks columns, values and that each named file exists."""
    name = str(path)
    header_hint = f"the header is {','.join(COLUMNS)}"
    table = read_csv_table(path, kind="metadata file", header_hint=header_hint)
    header = [h for h in table.header if h]
    for column in header:
        if column not in COLUMNS:
            close = difflib.get_close_matches(column, COLUMNS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"columns are {','.join(COLUMNS)}"
            raise IngestError(f"{name}:1", f"unknown column '{column}'", hint)
    for column in REQUIRED:
        if column not in header:
            raise IngestError(f"{name}:1", f"missing column '{column}'", header_hint)
    rows: dict[str, MetadataRow] = {}
    for row in table.records:
        line = row.line
        location = f"{name}:{line}"
        if row.width != len(table.header):
            raise IngestError(
                location,
                f"expected {len(table.header)} values, found {row.width}",
                "quote values that contain the delimiter",
            )
        if table.lossy:
            for column, value in row.values.items():
                if lost_characters(value):
                    raise IngestError(
                        location,
                        f"the {column} '{value.strip()}' has '?' for a letter: Excel saved the "
                        "file as Windows-1252 'CSV (luetteloerotin)', which drops letters "
                        "outside it",
                        f"type the letter again and {SAVE_AS_UTF8}",
                    )
        record = {h: v.strip() for h, v in row.values.items()}
        file = record["file"]
        if not file:
            raise IngestError(location, "the 'file' value is empty")
        if file in rows:
            raise IngestError(
                location, f"file '{file}' is listed twice (also on line {rows[file].line})"
            )
        if not (path.parent / file).is_file():
            raise IngestError(
                location,
                f"file '{file}' not found next to the metadata file",
                "fix the name or remove the row",
            )
        if not record.get("city"):
            raise IngestError(location, f"no city for '{file}'")
        meta = DocumentMeta(
            city=record["city"],
            participant=record.get("participant") or None,
            role=record.get("role") or None,
            organisation_type=record.get("organisation_type") or None,
            kind=parse_kind(record["kind"], location) if record.get("kind") else "interview",
            date=parse_date(record.get("date", ""), location),
        )
        rows[file] = MetadataRow(line, file, meta)
    return rows
