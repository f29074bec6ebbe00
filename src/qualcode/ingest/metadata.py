"""The metadata sidecar CSV: ``file,city,participant,role,organisation_type,kind,date``."""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
from dataclasses import dataclass
from pathlib import Path

from qualcode.errors import IngestError
from qualcode.ingest.encoding import decode_bytes
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
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(name, f"cannot read metadata file ({exc.strerror})") from None
    text, _ = decode_bytes(data, name)
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise IngestError(name, "metadata file is empty", f"the header is {','.join(COLUMNS)}")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader)]
    for column in header:
        if column not in COLUMNS:
            close = difflib.get_close_matches(column, COLUMNS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"columns are {','.join(COLUMNS)}"
            raise IngestError(f"{name}:1", f"unknown column '{column}'", hint)
    for column in REQUIRED:
        if column not in header:
            raise IngestError(
                f"{name}:1", f"missing column '{column}'", f"the header is {','.join(COLUMNS)}"
            )
    if len(set(header)) != len(header):
        raise IngestError(f"{name}:1", "a column name appears twice")
    rows: dict[str, MetadataRow] = {}
    for values in reader:
        line = reader.line_num
        location = f"{name}:{line}"
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            raise IngestError(
                location,
                f"expected {len(header)} values, found {len(values)}",
                "quote values that contain the delimiter",
            )
        record = {h: v.strip() for h, v in zip(header, values, strict=True)}
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
