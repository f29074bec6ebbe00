"""The review CSV: suggestions out to Excel, the researchers' decisions back in.

Pure functions over records; the workflow layer supplies what the store knows (suggestions,
segment texts, codes) and applies the validated decisions in one transaction.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from qualcode.csvin import CsvTable, cp1252_lossy, read_csv_table
from qualcode.csvout import csv_bytes
from qualcode.errors import CsvFileError
from qualcode.pseudonymise import TextMapper, unchanged_mapper
from qualcode.textutil import suggestion_id

REVIEW_COLUMNS = (
    "suggestion_id",
    "segment_id",
    "city",
    "document",
    "speaker",
    "code",
    "code_label",
    "score",
    "source",
    "evidence",
    "text",
    "decision",
    "new_code",
    "note",
)
REQUIRED_COLUMNS = ("suggestion_id", "decision")
ACCEPT = frozenset(
    {
        "y",
        "yes",
        "accept",
        "accepted",
        "hyväksy",
        "hyväksytty",
        "k",
        "kyllä",
        "1",
        "x",
        "true",
        "ok",
    }
)
REJECT = frozenset({"n", "no", "reject", "rejected", "hylkää", "hylätty", "e", "ei", "0", "false"})
MARK_OPEN, MARK_CLOSE = "[[", "]]"
_CODE_SPLIT = re.compile(r"[\s,;|]+")


@dataclass(frozen=True)
class ReviewRow:
    """One suggestion as a row of the review CSV."""

    suggestion_id: str
    segment_id: str
    city: str
    document: str
    speaker: str
    code: str
    code_label: str
    score: float | None
    source: str
    evidence: str  # JSON list of [form, start, end, rule] with document offsets
    text: str
    segment_start: int
    model_score: float | None = None


def mark_evidence(text: str, segment_start: int, evidence: Sequence[Sequence[object]]) -> str:
    """Wrap the matched words in ``[[ ]]`` (overlapping matches are merged)."""
    spans = sorted(
        (int(str(e[1])) - segment_start, int(str(e[2])) - segment_start) for e in evidence
    )
    merged: list[list[int]] = []
    for a, b in spans:
        if a < 0 or b > len(text) or a >= b:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    out = []
    pos = 0
    for a, b in merged:
        out.append(text[pos:a] + MARK_OPEN + text[a:b] + MARK_CLOSE)
        pos = b
    out.append(text[pos:])
    return "".join(out)


def describe_evidence(evidence: Sequence[Sequence[object]]) -> str:
    """``oppilaitosyhteistyössä (yhteistyö); verkostoihin (verkosto)``"""
    seen: dict[str, None] = {}
    for e in evidence:
        seen.setdefault(f"{e[0]} ({e[3]})", None)
    return "; ".join(seen)


def review_csv_bytes(
    rows: Sequence[ReviewRow],
    *,
    delimiter: str = ";",
    mapper: TextMapper = unchanged_mapper,
) -> bytes:
    """The review CSV; ``mapper`` pseudonymises the speaker and the segment text, and the
    matched words are marked where they are in the pseudonymised text."""

    def score(value: float | None) -> str:
        if value is None:
            return ""
        text = f"{value:.2f}"
        # Excel with ';' as list separator (Finnish locale) expects a decimal comma.
        return text.replace(".", ",") if delimiter == ";" else text

    # A segment has a row per suggested code, and a speaker many segments: map each once.
    mapped: dict[str, tuple[str, Callable[[int], int]]] = {}

    def once(value: str) -> tuple[str, Callable[[int], int]]:
        if value not in mapped:
            mapped[value] = mapper(value)
        return mapped[value]

    body = []
    for r in rows:
        evidence = json.loads(r.evidence) if r.evidence else []
        text, move = once(r.text)
        # Offsets in the new text. A match in a replaced name ("Kehitys" of "Kehitys Oy") is
        # described by what now stands there, so the evidence column cannot name anybody.
        moved = []
        for surface, start, end, rule in evidence:
            a, b = move(int(start) - r.segment_start), move(int(end) - r.segment_start)
            shown = text[a:b] if a < b else "…"
            moved.append(
                (shown if shown.casefold() != str(surface).casefold() else surface, a, b, rule)
            )
        body.append(
            (
                r.suggestion_id,
                r.segment_id,
                r.city,
                r.document,
                once(r.speaker)[0],
                r.code,
                r.code_label,
                score(r.score),
                r.source,
                describe_evidence(moved),
                mark_evidence(text, 0, moved),
                "",
                "",
                "",
            )
        )
    return csv_bytes(REVIEW_COLUMNS, body, delimiter=delimiter)


# --- reading decisions back -------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewLine:
    row: int  # line number in the file (the header is row 1)
    values: dict[str, str]


@dataclass(frozen=True)
class Decision:
    """A validated row: what the researcher decided about one suggestion."""

    row: int
    suggestion_id: str
    segment_id: str
    code_id: str
    accept: bool | None  # None: no decision on the suggested code itself
    new_codes: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class SuggestionInfo:
    segment_id: str
    code_id: str


# Columns a researcher may break into lines in Excel (Alt+Enter) or that carry a segment's
# own line breaks; a line break in any other known column means a quote was left open.
MULTILINE_COLUMNS = frozenset({"text", "note"})
# A segment can be long; the other columns are short.
LONG_COLUMNS = frozenset({"text", "evidence", "note"})
_SWALLOWED_ROW = re.compile(r"[\r\n]g[0-9a-f]{11}[;,\t]s[0-9a-f]{11}[;,\t]")


def read_review_file(path: Path) -> list[ReviewLine]:
    """Parse a review CSV as Excel may have saved it (';' or ',' or tab, BOM or not, cp1252,
    Excel's UTF-16 'Unicode text'); refuse anything that could be misread."""
    return list(read_review_table(path)[0])


def read_review_table(path: Path) -> tuple[list[ReviewLine], CsvTable]:
    """The rows of a review CSV and the table they came from (its encoding, delimiter)."""
    name = str(path)
    table = read_csv_table(
        path,
        kind="review file",
        single_line=[c for c in REVIEW_COLUMNS if c not in MULTILINE_COLUMNS],
        long_fields=LONG_COLUMNS,
        header_hint="use the review file 'qualcode tag' wrote",
    )
    missing = [c for c in REQUIRED_COLUMNS if c not in table.header]
    if missing:
        raise CsvFileError(
            name,
            1,
            f"missing column '{missing[0]}' (is this a review file from 'qualcode tag'?)",
            f"the header is {table.delimiter.join(REVIEW_COLUMNS)}",
        )
    lines = []
    for record in table.records:
        for column in MULTILINE_COLUMNS:
            if _SWALLOWED_ROW.search(record.values.get(column, "")):
                raise CsvFileError(
                    name,
                    record.line,
                    f"the '{column}' value of this row runs on over the next rows "
                    "(a quote left open?)",
                    'close the quote; a quote inside a quoted value is written twice ("")',
                )
        lines.append(ReviewLine(record.line, record.values))
    return lines, table


def parse_decision(value: str) -> bool | None:
    """True (accept), False (reject) or None (blank); ValueError otherwise."""
    v = value.strip().lower()
    if not v:
        return None
    if v in ACCEPT:
        return True
    if v in REJECT:
        return False
    raise ValueError(v)


def comparable(text: str) -> str:
    """A text cell as it should compare to the segment: no marks, Excel's changes undone."""
    text = text.replace(MARK_OPEN, "").replace(MARK_CLOSE, "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.startswith("'") and text[1:2] in ("=", "+", "-", "@", "\t", "\n"):
        text = text[1:]
    return unicodedata.normalize("NFC", text).strip()


def _recomputed(
    values: Mapping[str, str],
    sid: str,
    segment_texts: Mapping[str, str],
    codes: Mapping[str, str],
) -> SuggestionInfo | None:
    """A row whose suggestion is no longer stored (e.g. after a codebook edit) still counts
    when its id is the content-derived id of its segment and code: the decision is about
    that pair, which still exists."""
    segment = values.get("segment_id", "").strip()
    code = values.get("code", "").strip()
    if segment in segment_texts and code in codes and suggestion_id(segment, code) == sid:
        return SuggestionInfo(segment, code)
    return None


def _with_edited_code(
    values: Mapping[str, str],
    sid: str,
    segment_texts: Mapping[str, str],
    codes: Mapping[str, str],
) -> SuggestionInfo | None:
    """A dropped suggestion whose code cell was typed over: find the code its id names,
    so the row is refused for the edit rather than as an unknown id."""
    segment = values.get("segment_id", "").strip()
    if segment not in segment_texts:
        return None
    for code in codes:
        if suggestion_id(segment, code) == sid:
            return SuggestionInfo(segment, code)
    return None


def saved_as_cp1252(text: str, accepted: Collection[str]) -> bool:
    """The text cell is one of ``accepted`` (comparable texts) after Excel's Windows-1252
    'CSV' replaced every character outside that code page by '?': not an edit."""
    if "?" not in text:
        return False
    seen = comparable(text)
    return any(seen in cp1252_lossy(a) for a in accepted if a)


def cp1252_rows(
    decisions: Sequence[Decision],
    lines: Sequence[ReviewLine],
    segment_texts: Mapping[str, str],
    alternatives: Mapping[str, str] | None = None,
) -> list[int]:
    """Rows whose text cell differs from the segment only by Excel's Windows-1252 '?'s."""
    alternatives = alternatives or {}
    by_row = {line.row: line for line in lines}
    rows = []
    for d in decisions:
        text = by_row[d.row].values.get("text", "") if d.row in by_row else ""
        if not text.strip():
            continue
        accepted = {
            comparable(segment_texts.get(d.segment_id, "")),
            comparable(alternatives.get(d.segment_id, "")),
        }
        if comparable(text) not in accepted and saved_as_cp1252(text, accepted):
            rows.append(d.row)
    return rows


def validate_review(
    lines: Sequence[ReviewLine],
    suggestions: Mapping[str, SuggestionInfo],
    segment_texts: Mapping[str, str],
    codes: Mapping[str, str],
    alternatives: Mapping[str, str] | None = None,
) -> tuple[list[Decision], list[tuple[int, str]]]:
    """Check every row before anything is written; return decisions and (row, problem)s."""
    alternatives = alternatives or {}
    decisions: list[Decision] = []
    problems: list[tuple[int, str]] = []
    seen: dict[str, tuple[int, bool | None, tuple[str, ...]]] = {}
    for line in lines:
        v = line.values
        sid = v.get("suggestion_id", "").strip()
        if not sid:
            problems.append((line.row, "empty suggestion_id"))
            continue
        info = (
            suggestions.get(sid)
            or _recomputed(v, sid, segment_texts, codes)
            or _with_edited_code(v, sid, segment_texts, codes)
        )
        if info is None:
            problems.append((line.row, f"unknown suggestion id '{sid}'"))
            continue
        row_problems = []
        code = v.get("code", "").strip()
        if code and code != info.code_id:
            # The id names the suggested code: accepting the row would accept that code,
            # not the one typed over it.
            row_problems.append(
                f"code '{code}' is not the suggested code '{info.code_id}' of suggestion "
                f"{sid}; leave code as it was and put '{code}' in new_code"
            )
        segment = v.get("segment_id", "").strip()
        if segment and segment != info.segment_id:
            row_problems.append(
                f"segment_id '{segment}' does not belong to suggestion {sid} "
                f"(expected {info.segment_id})"
            )
        try:
            accept = parse_decision(v.get("decision", ""))
        except ValueError as exc:
            row_problems.append(
                f"decision '{exc}' not understood; use y (accept), n (reject) or leave it blank"
            )
            accept = None
        new_codes = tuple(
            dict.fromkeys(c for c in _CODE_SPLIT.split(v.get("new_code", "").strip()) if c)
        )
        if info.code_id in new_codes:  # naming the suggested code itself means "yes"
            new_codes = tuple(c for c in new_codes if c != info.code_id)
            if accept is False:
                row_problems.append(
                    f"decision rejects {info.code_id} but new_code gives it; choose one"
                )
            accept = True
        for code in new_codes:
            if code not in codes:
                close = difflib.get_close_matches(code, list(codes), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                row_problems.append(f"unknown code '{code}' in new_code{hint}")
        text = v.get("text")
        if text is not None and text.strip():
            expected = segment_texts.get(info.segment_id, "")
            # The file may carry the pseudonymised text (the default) or the original one.
            accepted = {comparable(expected), comparable(alternatives.get(info.segment_id, ""))}
            if comparable(text) not in accepted and not saved_as_cp1252(text, accepted):
                row_problems.append(
                    f"the text of segment {info.segment_id} was edited; edit only decision, "
                    "new_code and note"
                )
        if sid in seen:
            prev_row, prev_accept, prev_codes = seen[sid]
            if (prev_accept, prev_codes) != (accept, new_codes):
                row_problems.append(
                    f"conflicting decisions for suggestion {sid} (also on row {prev_row})"
                )
            elif not row_problems:
                continue  # an identical duplicate row is harmless
        seen.setdefault(sid, (line.row, accept, new_codes))
        if row_problems:
            problems.extend((line.row, p) for p in row_problems)
            continue
        decisions.append(
            Decision(
                line.row,
                sid,
                info.segment_id,
                info.code_id,
                accept,
                new_codes,
                v.get("note", "").strip(),
            )
        )
    return _without_contradictions(decisions, problems)


def _without_contradictions(
    decisions: list[Decision], problems: list[tuple[int, str]]
) -> tuple[list[Decision], list[tuple[int, str]]]:
    """A file must not both give a segment a code and reject that code on the segment."""
    given: dict[tuple[str, str], int] = {}
    rejected: dict[tuple[str, str], int] = {}
    for d in decisions:
        if d.accept is True:
            given.setdefault((d.segment_id, d.code_id), d.row)
        elif d.accept is False or d.new_codes:
            rejected.setdefault((d.segment_id, d.code_id), d.row)
        for code in d.new_codes:
            given.setdefault((d.segment_id, code), d.row)
    bad: dict[int, str] = {}
    for pair, row in rejected.items():
        if pair in given and given[pair] != row:
            other = given[pair]
            message = f"rejects code {pair[1]} on segment {pair[0]}, which row {other} gives it"
            bad[row] = message
            bad.setdefault(
                other, f"gives code {pair[1]} to segment {pair[0]}, which row {row} rejects"
            )
    if not bad:
        return decisions, problems
    problems = sorted([*problems, *bad.items()])
    return [d for d in decisions if d.row not in bad], problems
