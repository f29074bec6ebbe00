"""Bringing transcripts in and looking at them: import, status, export segments.

Each function runs its writes in a single transaction, so a failing command leaves the
project exactly as it was.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from qualcode.csvout import write_csv
from qualcode.errors import IngestError
from qualcode.ingest import collect_paths, load_transcript
from qualcode.ingest.metadata import MetadataRow, read_metadata
from qualcode.progress import Progress
from qualcode.project import Project
from qualcode.records import DocumentMeta, Kind, Segment, Transcript
from qualcode.segment import segment_document
from qualcode.store import CodingRef, StatusRow
from qualcode.textutil import suggestion_id

ImportStatus = Literal["imported", "unchanged", "metadata updated", "replaced", "duplicate"]

SEGMENT_COLUMNS = (
    "segment_id",
    "document",
    "city",
    "participant",
    "role",
    "kind",
    "speaker",
    "is_interviewer",
    "start",
    "end",
    "start_time",
    "end_time",
    "text",
)


@dataclass(frozen=True)
class ImportOutcome:
    name: str
    status: ImportStatus
    document_id: str
    segments: int = 0
    words: int = 0
    note: str = ""
    carried: int = 0
    lost: tuple[str, ...] = ()


def import_paths(
    project: Project,
    paths: Sequence[Path],
    *,
    meta_path: Path | None = None,
    city: str | None = None,
    kind: Kind | None = None,
    encoding: str | None = None,
    replace_changed: bool = False,
    keep_file_names: bool = False,
    progress: Progress | None = None,
) -> list[ImportOutcome]:
    """Import transcripts: read and segment everything first, then write in one transaction.

    keep_file_names: import files whose names contain a participant's name (refused by
        default: exports pseudonymise texts, not file names).
    """
    files = collect_paths(paths)
    if not files:
        raise IngestError(
            ", ".join(str(p) for p in paths),
            "no transcripts found",
            "qualcode reads .txt, .md, .docx, .vtt and .srt",
        )
    metadata = _metadata_for(paths, meta_path)
    parsed: list[tuple[Transcript, list[Segment]]] = []
    for i, path in enumerate(files):
        if progress:
            progress(i, len(files), path.name)
        meta = _meta_for(path, metadata, city, kind)
        transcript = load_transcript(
            path, meta, language=project.settings.language, encoding=encoding
        )
        segments = segment_document(
            transcript.id,
            transcript.text,
            turns=transcript.turns,
            settings=project.settings.segment,
        )
        parsed.append((transcript, segments))
    if progress:
        progress(len(files), len(files), "")
    _check_unique_names(parsed)
    if not keep_file_names:
        people = {r.meta.participant for r in metadata.values() if r.meta.participant}
        people.update(p.participant for p in project.store.documents.participants())
        for transcript, _ in parsed:
            named = _names_in_file_name(transcript.name, people)
            if named:
                raise IngestError(
                    transcript.source_path,
                    f"the file name contains a participant's name ({', '.join(named)})",
                    "exports pseudonymise texts, not file names: rename the file and its "
                    "metadata.csv row (e.g. by role), or pass --keep-file-names",
                )

    store = project.store
    outcomes: list[ImportOutcome] = []
    with store.transaction():
        for transcript, segments in parsed:
            outcomes.append(_store_one(project, transcript, segments, replace_changed))
    return outcomes


def _names_in_file_name(name: str, people: Iterable[str]) -> tuple[str, ...]:
    """Parts of participants' names in a file name ("rantakivi-haastattelu.docx").

    Exports pseudonymise texts, not file names: the document column of every CSV and the
    sources of a report show the name as it is. Both sides are folded (case, and ä/ö/å to
    a/o/a), so that "ronkko-haastattelu.txt" is caught for Rönkkö as well as the Finnish
    spelling; double-barrelled names count by their parts.
    """
    # NFC first: a combining mark (a macOS file name's "o" + "¨") is not \w and would split
    # the word in two.
    stem = unicodedata.normalize("NFC", Path(name).stem)
    parts = {_fold_name(p) for p in re.split(r"[\W_]+", stem) if p}
    found = {
        w
        for person in people
        for w in re.split(r"[\W_]+", unicodedata.normalize("NFC", person))
        if len(w) > 2 and w.isalpha()
    }
    return tuple(sorted(w for w in found if _fold_name(w) in parts))


def _fold_name(word: str) -> str:
    """Case and diacritics folded: the ASCII spelling people use for a name in a file name."""
    # NFKD splits ä into a + combining diaeresis (also when the file system stored it as
    # NFD); dropping the marks leaves the base letters. Letters without a decomposition
    # (ø, æ, ß) fold by their usual ASCII spelling.
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    base = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return base.translate(_ASCII_SPELLING)


_ASCII_SPELLING = str.maketrans({"ø": "o", "æ": "ae", "đ": "d", "ł": "l"})


def _metadata_for(paths: Sequence[Path], meta_path: Path | None) -> dict[Path, MetadataRow]:
    sources = [meta_path] if meta_path else []
    sources += [p / "metadata.csv" for p in paths if p.is_dir() and (p / "metadata.csv").is_file()]
    rows: dict[Path, MetadataRow] = {}
    for source in sources:
        for file, row in read_metadata(source).items():
            rows[(source.parent / file).resolve()] = row
    return rows


def _meta_for(
    path: Path, metadata: dict[Path, MetadataRow], city: str | None, kind: Kind | None
) -> DocumentMeta:
    row = metadata.get(path.resolve())
    meta = row.meta if row else DocumentMeta(kind=kind or "interview")
    if meta.city is None and city:
        meta = replace(meta, city=city)
    if row is None and kind:
        meta = replace(meta, kind=kind)
    if not meta.city:
        raise IngestError(
            str(path),
            "no city given",
            "add a row to metadata.csv next to the file, or pass --city",
        )
    return meta


def _check_unique_names(parsed: list[tuple[Transcript, list[Segment]]]) -> None:
    seen: dict[str, str] = {}
    for transcript, _ in parsed:
        if transcript.name in seen:
            raise IngestError(
                transcript.source_path,
                f"has the same file name as {seen[transcript.name]}",
                "document names must be unique in a project; rename one of them",
            )
        seen[transcript.name] = transcript.source_path


def _store_one(
    project: Project, t: Transcript, segments: list[Segment], replace_changed: bool
) -> ImportOutcome:
    store = project.store
    existing = store.documents.document_by_name(t.name)
    if existing is not None and existing.sha256 == t.sha256:
        if existing.meta != t.meta:
            store.documents.update_document_meta(existing.id, t.meta)
            return ImportOutcome(
                t.name, "metadata updated", existing.id, note="file unchanged; metadata updated"
            )
        return ImportOutcome(t.name, "unchanged", existing.id, note="already imported, unchanged")
    if existing is None:
        twin = store.documents.document_by_sha256(t.sha256) or store.documents.document_by_id(t.id)
        if twin is not None:
            return ImportOutcome(
                t.name, "duplicate", twin.id, note=f"same text as '{twin.name}', skipped"
            )
        store.documents.insert_document(t)
        store.documents.insert_segments(segments)
        return ImportOutcome(t.name, "imported", t.id, len(segments), t.words)
    if not replace_changed:
        raise IngestError(
            t.source_path,
            f"differs from the '{t.name}' imported earlier",
            "pass --replace to import the new version (codings are carried over where the "
            "text is unchanged)",
        )
    return _replace(project, existing.id, t, segments)


def _replace(
    project: Project, old_id: str, t: Transcript, segments: list[Segment]
) -> ImportOutcome:
    store = project.store
    if old_id == t.id:  # same text, different bytes (e.g. line ends): segments stay valid
        store.documents.update_document_source(old_id, t)
        return ImportOutcome(t.name, "replaced", old_id, note="text unchanged; source updated")
    twin = store.documents.document_by_sha256(t.sha256) or store.documents.document_by_id(t.id)
    if twin is not None and twin.id != old_id:
        raise IngestError(
            t.source_path,
            f"the new version of '{t.name}' has the same text as '{twin.name}'",
            "a project holds each text once: check that you picked the right file",
        )
    old_segments = store.documents.segments(old_id)
    decisions = store.documents.decisions_on_document(old_id)
    store.documents.rename_document(old_id, f"{t.name}\x00replaced")
    store.documents.insert_document(t)
    store.documents.insert_segments(segments)
    result = carry_over(
        project,
        decisions,
        old_segments,
        segments,
        document=t.name,
        coder=project.settings.coder,
    )
    store.documents.delete_document(old_id)
    note = f"{result.carried} coding(s) carried over"
    if result.merged:
        note += f" ({result.merged} merged into the same coding)"
    if result.lost:
        note += f"; {len(result.lost)} not carried over (see the review log)"
    return ImportOutcome(
        t.name,
        "replaced",
        t.id,
        len(segments),
        t.words,
        note=note,
        carried=result.carried,
        lost=result.lost,
    )


@dataclass(frozen=True)
class CarryOverResult:
    """What became of a document's decisions when its segments were replaced.

    carried: decisions now on a new segment (moved rows);
    merged: decisions equal to one already carried to the same new segment (two old turns
        now one, both coded the same way): nothing is lost, the new segment has one row;
    lost: descriptions of the decisions that were not carried, each also in the review log.
    """

    carried: int
    merged: int
    lost: tuple[str, ...]


# Which decision a merged segment keeps when several old segments bring the same code with
# different statuses: a researcher's acceptance always wins over a removal or rejection.
_STATUS_RANK = {"accepted": 0, "removed": 1, "rejected": 1}


def carry_over(
    project: Project,
    decisions: Sequence[CodingRef],
    old_segments: Sequence[Segment],
    new_segments: Sequence[Segment],
    *,
    document: str,
    coder: str,
    action: str = "lost-on-replace",
) -> CarryOverResult:
    """Move codings and decided suggestions from old segments to the new segments of the same
    document (import --replace, resegmenting). Must run inside the caller's transaction, after
    the new segments are stored and before the old ones are deleted.

    A decision goes to the new segment with the same text, else the one containing its text
    (nearest position wins). When several land on one segment with the same code (and coder),
    an accepted one is kept over a removed/rejected one; identical ones count as merged. Every
    decision not carried is written to the review log as ``action`` and listed in the result.
    """
    store = project.store
    by_id = {s.id: s for s in old_segments}
    new_list = list(new_segments)
    placed: dict[tuple[str, str, str, str], CodingRef] = {}
    carried = merged = 0
    lost: list[str] = []
    ordered = sorted(
        decisions,
        key=lambda r: (_STATUS_RANK.get(r.status, 2), r.table, r.segment_id, r.code_id, r.coder),
    )
    for ref in ordered:
        old = by_id[ref.segment_id]
        target = _find_new_home(old, new_list)
        reason = "its text is not in the new version"
        if target is not None:
            key = (ref.table, target.id, ref.code_id, ref.coder)
            kept = placed.get(key)
            if kept is None:
                if store.documents.move_decision(
                    ref, target.id, suggestion_id(target.id, ref.code_id)
                ):
                    placed[key] = ref
                    carried += 1
                    continue
                reason = f"segment {target.id} already carries it"
            elif kept.status == ref.status:
                merged += 1
                continue
            else:
                reason = f"the merged segment {target.id} keeps the {kept.status} one"
        lost.append(f"{_describe(ref, old)}: {reason}")
        store.decisions.log(
            coder,
            action,
            segment_id=ref.segment_id,
            code_id=ref.code_id,
            detail=json.dumps(
                {
                    "document": document,
                    "table": ref.table,
                    "status": ref.status,
                    "coder": ref.coder,
                    "text": old.text,
                    "reason": reason,
                },
                ensure_ascii=False,
            ),
        )
    return CarryOverResult(carried, merged, tuple(lost))


def _find_new_home(old: Segment, new: Sequence[Segment]) -> Segment | None:
    """The new segment with the same text, else the one containing it; nearest position wins."""
    same = [s for s in new if s.text == old.text]
    if not same:
        same = [s for s in new if old.text in s.text]
    if not same:
        return None
    return min(same, key=lambda s: abs(s.start - old.start))


def _describe(ref: CodingRef, old: Segment) -> str:
    kind = (
        ("coding" if ref.status == "accepted" else f"{ref.status} coding")
        if ref.table == "codings"
        else f"{ref.status} suggestion"
    )
    excerpt = old.text if len(old.text) <= 60 else old.text[:57] + "..."
    return f"{kind} {ref.code_id} on segment {old.id} ('{excerpt}')"


def status(project: Project) -> list[StatusRow]:
    return project.store.reads.status_rows()


def export_segments(project: Project, out: Path, *, pseudonymise: bool = True) -> int:
    from qualcode.report.clock import clock
    from qualcode.workflow.names import filter_for

    clean = filter_for(project, pseudonymise)
    # Participant and speaker columns carry names too: they pass the same filter as the text.
    rows = [
        (
            r.segment_id,
            r.document,
            r.city,
            clean(str(r.participant or "")),
            r.role,
            r.kind,
            clean(str(r.speaker or "")),
            r.is_interviewer,
            r.start,
            r.end,
            # Cue and label times as the recording shows them (00:12:34), to find the spot.
            clock(r.start_time),
            clock(r.end_time),
            clean(str(r.text)),
        )
        for r in project.store.reads.segment_export_rows()
    ]
    write_csv(out, SEGMENT_COLUMNS, rows)
    return len(rows)


__all__ = [
    "SEGMENT_COLUMNS",
    "CarryOverResult",
    "ImportOutcome",
    "carry_over",
    "export_segments",
    "import_paths",
    "status",
]
