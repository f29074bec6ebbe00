"""Reading the CSV files people edit (review, metadata, names): strictly, or not at all.

Excel, LibreOffice and text editors change these files in ways that the ``csv`` module
reads without complaint but wrongly: an unclosed quote swallows the rows after it into one
cell, a copied column hides the original, a file saved in an unexpected encoding turns every
ä into mojibake. Each of those is refused here with ``file:line`` and what to do, so that a
reader never works on a misread table.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from qualcode.errors import CsvFileError

DELIMITERS = (";", ",", "\t")
# The csv module's own default: plenty for a name, a city or a code.
FIELD_LIMIT = 128 * 1024
# A segment of a transcript without speaker turns or paragraphs can be long; the review
# file that qualcode wrote must read back even then.
LONG_FIELD_LIMIT = 8 * 1024 * 1024
SAVE_AS_UTF8 = "save it from Excel as 'CSV UTF-8 (luetteloerotin)' or 'Unicode text'"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Excel's Windows-1252 'CSV' writes '?' for a character it cannot encode ("Łukasz" ->
# "?ukasz"); a '?' directly before a letter is almost never meant.
_LOST = re.compile(r"\?\w")
_HEADER_JUNK = str.maketrans("", "", "\ufeff\u200b\u200c\u200d\u2060")


@dataclass(frozen=True)
class CsvRecord:
    """One record: ``values`` keyed by the normalised column name; ``width`` is how many
    values the record had, before empty unnamed columns were dropped."""

    line: int  # where the record starts in the file (the header is line 1)
    values: dict[str, str]
    width: int


@dataclass(frozen=True)
class CsvTable:
    source: str
    header: tuple[str, ...]  # normalised column names; '' for an unnamed (empty) column
    records: tuple[CsvRecord, ...]
    encoding: str  # 'utf-8', 'utf-8-sig', 'utf-16' or 'cp1252'
    delimiter: str

    @property
    def lossy(self) -> bool:
        """Saved in Windows-1252, so characters outside it may have become '?'."""
        return self.encoding == "cp1252"


def header_key(name: str) -> str:
    """A column name as compared: no BOM or zero-width marks, no case, no outer spaces."""
    return unicodedata.normalize("NFC", name.translate(_HEADER_JUNK)).strip().casefold()


def cp1252_lossy(text: str) -> set[str]:
    """``text`` as Excel's Windows-1252 'CSV' would save it: every character outside that
    code page becomes '?' (one per character, or one per UTF-16 unit for emoji)."""
    per_char, per_unit = [], []
    for ch in text:
        try:
            ch.encode("cp1252")
        except UnicodeEncodeError:
            per_char.append("?")
            per_unit.append("??" if ord(ch) > 0xFFFF else "?")
        else:
            per_char.append(ch)
            per_unit.append(ch)
    return {"".join(per_char), "".join(per_unit)}


def lost_characters(value: str) -> bool:
    """True if ``value`` looks like Excel replaced a character by '?' ("?ukasz")."""
    return bool(_LOST.search(value))


def read_csv_table(
    path: Path,
    *,
    kind: str,
    single_line: Collection[str] | None = None,
    long_fields: Collection[str] = (),
    header_hint: str | None = None,
) -> CsvTable:
    """Read ``path`` as Excel or a text editor may have saved it, refusing anything ambiguous.

    kind: what the file is, for messages ("review file", "metadata file").
    single_line: columns whose values never span lines (None: every column); a line break
        in one means a quote was left open and the rows after it were swallowed, so the
        file is refused.
    long_fields: columns allowed up to ``LONG_FIELD_LIMIT`` instead of ``FIELD_LIMIT``.
    header_hint: the hint for an empty file.
    """
    source = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CsvFileError(source, 0, f"cannot read the {kind} ({exc.strerror})") from None
    text, encoding = _decode(data, source, kind)
    lines = list(io.StringIO(text, newline=""))
    if not text.strip():
        raise CsvFileError(source, 1, f"the {kind} is empty", header_hint)
    first = lines[0]
    delimiter = max(DELIMITERS, key=first.count)
    limit = LONG_FIELD_LIMIT if long_fields else FIELD_LIMIT
    previous_limit = csv.field_size_limit()
    # The limit is process-wide in the csv module: raise it for this read only.
    csv.field_size_limit(max(limit + 1, previous_limit))
    try:
        raw = _records(iter(lines), lines, source, delimiter, limit)
        header_values = next(raw)[1]
        header = _header(header_values, source)
        records = tuple(
            _record(line, values, header, source, single_line, long_fields)
            for line, values in raw
            if any(v.strip() for v in values)
        )
    finally:
        csv.field_size_limit(previous_limit)
    return CsvTable(source, header, records, encoding, delimiter)


def _decode(data: bytes, source: str, kind: str) -> tuple[str, str]:
    def line_of(position: int) -> int:
        return data[:position].count(b"\n") + 1

    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise CsvFileError(
                source,
                line_of(exc.start + 3),
                f"the {kind} starts as UTF-8 but has an invalid byte (0x{data[exc.start + 3]:02x})",
                f"the file is damaged; {SAVE_AS_UTF8}",
            ) from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's 'Unicode text': UTF-16 with a byte-order mark, tab-separated.
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise CsvFileError(
                source, 0, f"the {kind} is broken UTF-16 text (truncated?)", SAVE_AS_UTF8
            ) from None
    nul = data.find(b"\x00")
    if nul >= 0:
        raise CsvFileError(
            source,
            line_of(nul),
            f"the {kind} contains NUL bytes: UTF-16 without a byte-order mark, or not text",
            SAVE_AS_UTF8,
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    if _mostly_utf8(data):
        raise CsvFileError(
            source,
            line_of(utf8_error.start),
            f"the {kind} is UTF-8 with an invalid byte (0x{data[utf8_error.start]:02x})",
            f"the file is damaged; {SAVE_AS_UTF8}",
        )
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise CsvFileError(
            source,
            line_of(exc.start),
            f"the {kind} is neither UTF-8 nor Windows-1252 text (byte 0x{data[exc.start]:02x})",
            SAVE_AS_UTF8,
        ) from None
    # Word leaves the odd vertical tab or form feed in a transcript, and a segment keeps it;
    # bytes that are not text at all decode as cp1252 with control characters everywhere.
    controls = _CONTROL.findall(text)
    control = _CONTROL.search(text)
    if control and len(controls) > max(2, len(text) // 200):
        raise CsvFileError(
            source,
            text[: control.start()].count("\n") + 1,
            f"the {kind} is neither UTF-8 nor Windows-1252 text "
            f"(control character U+{ord(control.group()):04X})",
            SAVE_AS_UTF8,
        )
    return text, "cp1252"


def _mostly_utf8(data: bytes) -> bool:
    """More valid multi-byte UTF-8 characters than broken bytes: damaged UTF-8, which read
    as Windows-1252 would turn every ä into 'Ã¤'. (In Windows-1252 text nearly every
    ä or ö is a broken UTF-8 byte.)"""
    decoded = data.decode("utf-8", errors="replace")
    broken = decoded.count("\ufffd")
    return len(decoded) - broken - sum(1 for ch in decoded if ch < "\x80") > broken


def _records(
    rows: Iterator[str], lines: list[str], source: str, delimiter: str, limit: int
) -> Iterator[tuple[int, list[str]]]:
    """(start line, values) per record; csv errors become ``CsvFileError`` with the line."""
    reader = csv.reader(rows, delimiter=delimiter, strict=True)
    start = 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise CsvFileError(
                    source,
                    start,
                    f"a value is longer than {limit // 1024} KB",
                    "is a quote left open? otherwise shorten the value",
                ) from None
            opened = _open_quote_line(lines, start, delimiter)
            if "unexpected end of data" in str(exc):
                problem = "the quote opened on this line is never closed"
            elif reader.line_num == opened:
                problem = "a quoted value on this line has more text after its closing quote"
            else:
                problem = (
                    "the quote opened on this line runs on to line "
                    f"{reader.line_num}, where more text follows the closing quote"
                )
            raise CsvFileError(
                source,
                opened,
                problem,
                'close the quote; a quote inside a quoted value is written twice ("")',
            ) from None
        yield start, values
        start = reader.line_num + 1


def _open_quote_line(lines: list[str], start: int, delimiter: str) -> int:
    """The line where the last quoted value that began in this record opened."""
    opened = start
    in_quotes = False
    at_field_start = True
    for number, line in enumerate(lines[start - 1 :], start):
        i = 0
        while i < len(line):
            ch = line[i]
            if in_quotes:
                if ch == '"':
                    if line[i + 1 : i + 2] == '"':
                        i += 1
                    else:
                        in_quotes = False
                        at_field_start = False
            elif ch == '"' and at_field_start:
                in_quotes, opened = True, number
            else:
                at_field_start = ch in (delimiter, "\r", "\n")
            i += 1
    return opened


def _header(values: list[str], source: str) -> tuple[str, ...]:
    if values and values[0].startswith("ï»¿"):
        raise CsvFileError(
            source,
            1,
            "the header starts with 'ï»¿': the file was opened with the wrong encoding, "
            "so ä and ö are garbled",
            "start again from the file qualcode wrote and open it in Excel by double-clicking",
        )
    if any("\n" in v or "\r" in v for v in values):
        raise CsvFileError(
            source,
            1,
            "a quote opened in the header is not closed on the header line",
            'close the quote; a quote inside a quoted value is written twice ("")',
        )
    header = tuple(header_key(v) for v in values)
    seen: dict[str, int] = {}
    for number, name in enumerate(header, 1):
        if not name:
            continue
        if name in seen:
            raise CsvFileError(
                source,
                1,
                f"column '{name}' appears twice (columns {seen[name]} and {number})",
                "delete the copy, so that every column name appears once",
            )
        seen[name] = number
    return header


def _record(
    line: int,
    values: list[str],
    header: tuple[str, ...],
    source: str,
    single_line: Collection[str] | None,
    long_fields: Collection[str],
) -> CsvRecord:
    named: dict[str, str] = {}
    here = line  # the line where the current value starts
    for number, value in enumerate(values, 1):
        name = header[number - 1] if number <= len(header) else ""
        if not name:
            if value.strip():
                raise CsvFileError(
                    source,
                    here,
                    f"value '{_short(value)}' is in column {number}, which has no name",
                    "name the column in the header, or delete the value",
                )
        elif ("\n" in value or "\r" in value) and (single_line is None or name in single_line):
            raise CsvFileError(
                source,
                here,
                f"the quote that opens the '{name}' value on this line is not closed "
                "on the same line, so the lines after it would be read as one value",
                'close the quote; a quote inside a quoted value is written twice ("")',
            )
        # csv enforces only the largest limit of the read (or a larger one set elsewhere).
        cap = LONG_FIELD_LIMIT if name in long_fields else FIELD_LIMIT
        if name and len(value) > cap:
            raise CsvFileError(
                source,
                here,
                f"the '{name}' value is longer than {cap // 1024} KB",
                "is a quote left open? otherwise shorten the value",
            )
        if name:
            named[name] = value
        here += value.replace("\r\n", "\n").replace("\r", "\n").count("\n")
    for name in header:
        if name:
            named.setdefault(name, "")
    return CsvRecord(line, named, len(values))


def _short(value: str) -> str:
    value = value.strip().replace("\n", " ")
    return value if len(value) <= 30 else value[:27] + "..."
