"""``review``, ``code``, ``uncode`` and ``export codings``: the researchers' decisions.

Every change is written to the append-only review log with coder and time. Nothing is
written unless the whole review file is valid (or ``skip_invalid`` is asked for).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from qualcode.csvout import write_csv
from qualcode.errors import QualcodeError, ReviewFileError
from qualcode.project import Project
from qualcode.review import (
    Decision,
    SuggestionInfo,
    cp1252_rows,
    read_review_table,
    validate_review,
)

CODING_COLUMNS = ("segment_id", "document", "city", "code", "coder", "source", "status", "created")


@dataclass(frozen=True)
class ReviewReport:
    rows: int
    accepted: int
    rejected: int
    added: int
    undecided: int
    unchanged: int
    skipped: tuple[tuple[int, str], ...]
    # What the file shows about how it was saved, for the researcher (not errors).
    notices: tuple[str, ...] = ()


def apply_review(
    project: Project, path: Path, *, coder: str | None = None, skip_invalid: bool = False
) -> ReviewReport:
    """Validate a review CSV completely, then apply its decisions in one transaction."""
    coder = coder or project.settings.coder
    store = project.store
    lines, table = read_review_table(path)
    ids = [line.values.get("suggestion_id", "").strip() for line in lines]
    states = store.decisions.suggestion_infos(i for i in ids if i)
    infos = {sid: SuggestionInfo(s.segment_id, s.code_id) for sid, s in states.items()}
    texts = store.documents.segment_texts(
        [s.segment_id for s in states.values()]
        + [line.values.get("segment_id", "").strip() for line in lines]
    )
    from qualcode.workflow.names import project_pseudonymiser

    clean = project_pseudonymiser(project)
    shown = {sid: clean(text) for sid, text in texts.items()}
    decisions, problems = validate_review(lines, infos, shown, store.codes.code_ids(), texts)
    if problems and not skip_invalid:
        raise ReviewFileError(str(path), problems)
    notices = _excel_notices(path, cp1252_rows(decisions, lines, shown, texts), table.lossy)
    accepted = rejected = added = undecided = unchanged = 0
    with store.transaction():
        for d in decisions:
            state = states.get(d.suggestion_id)
            if state is None and (d.accept is not None or d.new_codes):
                # The suggestion was dropped since the file was written (codebook edit); the
                # decision still stands for its segment and code.
                store.decisions.insert_review_suggestion(d.suggestion_id, d.segment_id, d.code_id)
            source = state.source if state else "review"
            changes = _apply_one(project, d, coder, source, state.score if state else None)
            if d.accept is None and not d.new_codes:
                undecided += 1
            elif not changes:
                unchanged += 1
            accepted += changes.count("accept")
            rejected += changes.count("reject")
            added += changes.count("add")
    return ReviewReport(
        len(lines), accepted, rejected, added, undecided, unchanged, tuple(problems), notices
    )


def _excel_notices(path: Path, rows: list[int], lossy: bool) -> tuple[str, ...]:
    if not rows:
        return ()
    where = f"row {rows[0]}" if len(rows) == 1 else f"{len(rows)} rows, first row {rows[0]}"
    how = (
        "the file was saved as Excel's 'CSV (luetteloerotin)' (Windows-1252)"
        if lossy
        else "the file was once saved as Windows-1252 'CSV (luetteloerotin)'"
    )
    return (
        f"{path}: the text has '?' for characters Windows-1252 lacks ({where}): {how}; "
        "the decisions were read and the project's texts are unchanged. "
        "Next time save as 'CSV UTF-8 (luetteloerotin)'",
    )


def _apply_one(
    project: Project, d: Decision, coder: str, source: str, score: float | None
) -> list[str]:
    store = project.store
    changes: list[str] = []
    detail = json.dumps({"note": d.note, "row": d.row}, ensure_ascii=False) if d.note else None
    accept = d.accept if d.accept is not None else (False if d.new_codes else None)
    if accept is True:
        status_changed = store.decisions.set_suggestion_status(d.suggestion_id, "accepted", coder)
        if (
            store.decisions.accept_coding(d.segment_id, d.code_id, coder, source, score)
            or status_changed
        ):
            changes.append("accept")
            store.decisions.log(
                coder,
                "accept",
                segment_id=d.segment_id,
                code_id=d.code_id,
                suggestion_id=d.suggestion_id,
                detail=detail,
            )
    elif accept is False:
        status_changed = store.decisions.set_suggestion_status(d.suggestion_id, "rejected", coder)
        # A rejection withdraws this coder's coding that came from this suggestion.
        removed = store.decisions.remove_coding(d.segment_id, d.code_id, coder)
        if status_changed or removed:
            changes.append("reject")
            store.decisions.log(
                coder,
                "reject",
                segment_id=d.segment_id,
                code_id=d.code_id,
                suggestion_id=d.suggestion_id,
                detail=detail,
            )
    for code in d.new_codes:
        if store.decisions.accept_coding(d.segment_id, code, coder, "review", None):
            changes.append("add")
            action = "recode" if d.accept is not True else "add"
            store.decisions.log(
                coder,
                action,
                segment_id=d.segment_id,
                code_id=code,
                suggestion_id=d.suggestion_id,
                detail=detail,
            )
    return changes


def code_segment(
    project: Project, segment_id: str, code_id: str, *, coder: str | None = None
) -> bool:
    """Manually code a segment; returns False if it already carried that coding."""
    coder = coder or project.settings.coder
    store = project.store
    _check_segment_and_code(project, segment_id, code_id)
    with store.transaction():
        changed = store.decisions.accept_coding(segment_id, code_id, coder, "manual", None)
        suggestion = store.decisions.suggestion_for(segment_id, code_id)
        if suggestion is not None:
            changed = (
                store.decisions.set_suggestion_status(suggestion.id, "accepted", coder) or changed
            )
        if changed:
            store.decisions.log(coder, "code", segment_id=segment_id, code_id=code_id)
    return changed


def uncode_segment(
    project: Project, segment_id: str, code_id: str, *, coder: str | None = None
) -> bool:
    """Remove a coder's coding (kept as 'removed'); a pending suggestion becomes rejected."""
    coder = coder or project.settings.coder
    store = project.store
    _check_segment_and_code(project, segment_id, code_id, include_retired=True)
    with store.transaction():
        changed = store.decisions.remove_coding(segment_id, code_id, coder)
        suggestion = store.decisions.suggestion_for(segment_id, code_id)
        if suggestion is not None:
            changed = (
                store.decisions.set_suggestion_status(suggestion.id, "rejected", coder) or changed
            )
        if not changed:
            raise QualcodeError(
                f"segment {segment_id} has no coding {code_id} by {coder}",
                "see 'qualcode export codings' for who coded what",
            )
        store.decisions.log(coder, "uncode", segment_id=segment_id, code_id=code_id)
    return changed


def _check_segment_and_code(
    project: Project, segment_id: str, code_id: str, *, include_retired: bool = False
) -> None:
    store = project.store
    if not store.documents.segment_exists(segment_id):
        raise QualcodeError(
            f"unknown segment id '{segment_id}'", "segment ids are in 'qualcode export segments'"
        )
    codes = store.codes.code_ids(include_retired=include_retired)
    if code_id not in codes:
        import difflib

        close = difflib.get_close_matches(code_id, list(codes), n=1)
        raise QualcodeError(
            f"unknown code '{code_id}'",
            f"did you mean '{close[0]}'?"
            if close
            else "codes come from the codebook used by 'qualcode tag'",
        )


def export_codings(project: Project, out: Path) -> int:
    rows = [
        (r.segment_id, r.document, r.city, r.code, r.coder, r.source, r.status, r.created)
        for r in project.store.decisions.coding_export_rows()
    ]
    write_csv(out, CODING_COLUMNS, rows)
    return len(rows)
