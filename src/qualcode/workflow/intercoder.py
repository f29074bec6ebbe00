"""``qualcode agreement``: inter-coder agreement on the segment as the unit.

Units and missing values, exactly:

- A *unit* is a (segment, code) pair, for codable segments (not interviewer turns or
  headings) of documents that at least two of the compared coders worked on.
- A coder *worked on* a document when they have any coding in it (accepted or removed) or
  any review-log entry (accept, reject, recode, code, uncode) on one of its segments.
- A coder's value for a unit is 1 when they hold an accepted coding of that code on that
  segment, 0 when they worked on the document but did not code the segment with the code,
  and missing when they did not work on the document at all.

The overall figure pools the units of every code in the comparison.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qualcode.agreement import Agreement, agreement
from qualcode.csvout import write_csv
from qualcode.errors import QualcodeError
from qualcode.project import Project

DISAGREEMENT_COLUMNS = (
    "segment_id",
    "document",
    "city",
    "code",
    "coded_by",
    "not_coded_by",
    "text",
)


@dataclass(frozen=True)
class CodeAgreement:
    code: str
    label: str
    result: Agreement | None  # None when no unit was coded by two coders


@dataclass(frozen=True)
class AgreementReport:
    coders: tuple[str, ...]
    documents: int
    codes: tuple[CodeAgreement, ...]
    overall: Agreement | None
    disagreements: tuple[tuple[str, ...], ...]


def agreement_report(
    project: Project,
    *,
    coders: list[str] | None = None,
    documents: list[str] | None = None,
    code: str | None = None,
) -> AgreementReport:
    from qualcode.workflow._analysis import load_project_codebook

    store = project.store
    activity = store.reads.coder_activity()
    worked: dict[str, set[str]] = defaultdict(set)
    coded: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for a in activity:
        worked[a.coder].add(a.document_id)
        if a.code_id is not None and a.segment_id is not None:
            coded[a.coder].add((a.segment_id, a.code_id))
    known = sorted(worked)
    chosen = coders or known
    unknown = [c for c in chosen if c not in worked]
    if unknown:
        raise QualcodeError(
            f"no decisions by coder '{unknown[0]}'",
            f"coders in this project: {', '.join(known) or 'none'}",
        )
    if len(chosen) < 2:
        raise QualcodeError(
            "agreement needs at least two coders",
            f"coders in this project: {', '.join(known) or 'none'}",
        )
    segments = store.reads.codable_segments()
    by_name = {s.document: s.document_id for s in segments}
    if documents:
        missing = [d for d in documents if d not in by_name]
        if missing:
            raise QualcodeError(
                f"unknown document '{missing[0]}'",
                "use document names as shown by 'qualcode export segments'",
            )
        allowed = {by_name[d] for d in documents}
    else:
        allowed = {s.document_id for s in segments}
    shared = {doc for doc in allowed if sum(doc in worked[c] for c in chosen) >= 2}
    codebook = load_project_codebook(project)
    codes = [c for c in codebook.codes if c.codable]
    if code is not None:
        codes = [c for c in codes if c.id == code]
        if not codes:
            raise QualcodeError(f"unknown code '{code}'")
    units_by_code: dict[str, list[list[int | None]]] = {}
    disagreements = []
    pooled: list[list[int | None]] = []
    for c in codes:
        rows: list[list[int | None]] = []
        for s in segments:
            if s.document_id not in shared:
                continue
            row: list[int | None] = [
                (1 if (s.segment_id, c.id) in coded[coder] else 0)
                if s.document_id in worked[coder]
                else None
                for coder in chosen
            ]
            rows.append(row)
            present = [v for v in row if v is not None]
            if len(present) >= 2 and len(set(present)) > 1:
                yes = [coder for coder, v in zip(chosen, row, strict=True) if v == 1]
                no = [coder for coder, v in zip(chosen, row, strict=True) if v == 0]
                disagreements.append(
                    (s.segment_id, s.document, s.city, c.id, ";".join(yes), ";".join(no), s.text)
                )
        units_by_code[c.id] = rows
        pooled.extend(rows)
    results = []
    for c in codes:
        rows = units_by_code[c.id]
        pairable = [r for r in rows if sum(v is not None for v in r) >= 2]
        results.append(CodeAgreement(c.id, c.label, agreement(rows) if pairable else None))
    pairable = [r for r in pooled if sum(v is not None for v in r) >= 2]
    overall = agreement(pooled) if pairable else None
    return AgreementReport(
        tuple(chosen), len(shared), tuple(results), overall, tuple(disagreements)
    )


def write_disagreements(
    report: AgreementReport, out: Path, pseudonymise: Callable[[str], str]
) -> int:
    """The segments where the coders differ, for the team's discussion (texts pseudonymised)."""
    rows = [(*r[:6], pseudonymise(r[6])) for r in report.disagreements]
    write_csv(out, DISAGREEMENT_COLUMNS, rows)
    return len(rows)
