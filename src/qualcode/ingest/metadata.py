"""The metadata sidecar CSV: ``file,city,participant,role,organisation_type,kind,date[,speaker]``.

A row without a speaker describes the document. A row with a speaker (the label as it appears
in the transcript, "Anna Salo" for "Anna Salo: ...") describes that speaker in that file: its
participant, role and organisation_type sign the speaker's quotes; its city, kind and date, if
given, must agree with the document's row.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from pathlib import Path

from qualcode.csvin import SAVE_AS_UTF8, lost_characters, read_csv_table
from qualcode.errors import IngestError
from qualcode.records import DocumentMeta, Kind

COLUMNS = ("file", "city", "participant", "role", "organisation_type", "kind", "date", "speaker")
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
class SpeakerMeta:
    """One speaker's metadata in one file; ``location`` is the metadata file and line."""

    speaker: str
    participant: str | None
    role: str | None
    organisation_type: str | None
    location: str = ""

    def row(self) -> tuple[str, str | None, str | None, str | None]:
        return (self.speaker, self.participant, self.role, self.organisation_type)


@dataclass(frozen=True)
class MetadataRow:
    line: int
    file: str
    meta: DocumentMeta
    speakers: tuple[SpeakerMeta, ...] = ()


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
    speaker_rows: list[tuple[str, int, dict[str, str]]] = []
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
        if not (path.parent / file).is_file():
            raise IngestError(
                location,
                f"file '{file}' not found next to the metadata file",
                "fix the name or remove the row",
            )
        if record.get("speaker"):
            speaker_rows.append((file, line, record))
            continue
        if file in rows:
            raise IngestError(
                location, f"file '{file}' is listed twice (also on line {rows[file].line})"
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
    return _with_speakers(name, rows, speaker_rows)


def _with_speakers(
    name: str, rows: dict[str, MetadataRow], speaker_rows: list[tuple[str, int, dict[str, str]]]
) -> dict[str, MetadataRow]:
    speakers: dict[str, dict[str, SpeakerMeta]] = {}
    for file, line, record in speaker_rows:
        location = f"{name}:{line}"
        document = rows.get(file)
        if document is None:
            raise IngestError(
                location,
                f"speaker '{record['speaker']}' of '{file}' but no row for '{file}' itself",
                f"add a row for '{file}' with an empty speaker column: it gives the "
                "document's city, kind and date",
            )
        speaker = " ".join(record["speaker"].split())
        seen = speakers.setdefault(file, {})
        if speaker in seen:
            raise IngestError(
                location,
                f"speaker '{speaker}' of '{file}' is listed twice "
                f"(also on line {seen[speaker].location.rsplit(':', 1)[1]})",
            )
        meta = document.meta
        given = {
            "city": record.get("city") or None,
            "kind": parse_kind(record["kind"], location) if record.get("kind") else None,
            "date": parse_date(record.get("date", ""), location),
        }
        for column, value in given.items():
            if value is not None and value != getattr(meta, column):
                raise IngestError(
                    location,
                    f"speaker '{speaker}' has {column} '{value}' but '{file}' has "
                    f"'{getattr(meta, column) or ''}' (line {document.line})",
                    f"leave the {column} of speaker rows empty, or make it match",
                )
        seen[speaker] = SpeakerMeta(
            speaker,
            record.get("participant") or None,
            record.get("role") or None,
            record.get("organisation_type") or None,
            location,
        )
    for file, by_speaker in speakers.items():
        ordered = tuple(by_speaker[k] for k in sorted(by_speaker))
        rows[file] = MetadataRow(rows[file].line, file, rows[file].meta, ordered)
    return rows
