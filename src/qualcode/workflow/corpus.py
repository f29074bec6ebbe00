"""Bringing transcripts in and looking at them: import, status, export segments.

Each function runs its writes in a single transaction, so a failing command leaves the
project exactly as it was.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from qualcode.csvout import write_csv
from qualcode.errors import IngestError, QualcodeError
from qualcode.ingest import collect_paths, load_transcript, read_document
from qualcode.ingest.metadata import MetadataRow, SpeakerMeta, read_metadata
from qualcode.progress import Progress
from qualcode.project import Project
from qualcode.records import DocumentMeta, Kind, Segment, SourceTurn, Transcript
from qualcode.segment import segment_document
from qualcode.store import CodingRef, StatusRow
from qualcode.store.rows import StoredDocument, StoredSpeaker
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
    speakers: dict[str, tuple[SpeakerMeta, ...]] = {}
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
        row = metadata.get(path.resolve())
        speakers[transcript.name] = row.speakers if row else ()
        check_speakers(transcript.name, speakers[transcript.name], segments)
        parsed.append((transcript, segments))
    if progress:
        progress(len(files), len(files), "")
    _check_unique_names(parsed)
    if not keep_file_names:
        people = {r.meta.participant for r in metadata.values() if r.meta.participant}
        people.update(
            sp.participant for r in metadata.values() for sp in r.speakers if sp.participant
        )
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
            outcome = _store_one(project, transcript, segments, replace_changed)
            if outcome.status != "duplicate":
                rows = [StoredSpeaker(*sp.row()) for sp in speakers[transcript.name]]
                if (
                    outcome.status == "unchanged"
                    and store.documents.speakers(outcome.document_id) != rows
                ):
                    outcome = replace(
                        outcome, status="metadata updated", note="file unchanged; metadata updated"
                    )
                store.documents.replace_speakers(outcome.document_id, rows)
            outcomes.append(outcome)
    return outcomes


def check_speakers(name: str, speakers: Sequence[SpeakerMeta], segments: Sequence[Segment]) -> None:
    """Every speaker row of a file must name a speaker label of its transcript (typos are
    errors: a misspelt row would silently sign that speaker's quotes with nobody's role)."""
    labels = sorted({s.speaker for s in segments if s.speaker})
    for sp in speakers:
        if sp.speaker not in labels:
            shown = ", ".join(f"'{label}'" for label in labels[:12]) or "none"
            if len(labels) > 12:
                shown += f" and {len(labels) - 12} more"
            close = difflib.get_close_matches(sp.speaker, labels, n=1)
            raise IngestError(
                sp.location,
                f"speaker '{sp.speaker}' does not occur in {name}",
                (f"did you mean '{close[0]}'? " if close else "")
                + f"use the label as the transcript writes it; its speakers are {shown}",
            )


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
    lost: descriptions of the decisions that were not carried, each also in the review log;
    split: (resegmenting only) decisions on an old segment that is now split between several
        new ones, carried to the one holding most of its text; each also in the review log.
    """

    carried: int
    merged: int
    lost: tuple[str, ...]
    split: tuple[str, ...] = ()


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
    same_text: bool = False,
) -> CarryOverResult:
    """Move codings and decided suggestions from old segments to the new segments of the same
    document (import --replace, resegmenting). Must run inside the caller's transaction, after
    the new segments are stored and before the old ones are deleted.

    A decision goes to the new segment with the same text, else the one containing its text
    (nearest position wins). When several land on one segment with the same code (and coder),
    an accepted one is kept over a removed/rejected one; identical ones count as merged. Every
    decision not carried is written to the review log as ``action`` and listed in the result.

    same_text: the document text is unchanged (resegmenting), so offsets compare: an old
    segment now split between new ones goes to the one that holds most of it, logged as
    ``split-on-resegment`` and listed in ``split``.
    """
    store = project.store
    by_id = {s.id: s for s in old_segments}
    new_list = list(new_segments)
    placed: dict[tuple[str, str, str, str], CodingRef] = {}
    carried = merged = 0
    lost: list[str] = []
    split: list[str] = []
    ordered = sorted(
        decisions,
        key=lambda r: (_STATUS_RANK.get(r.status, 2), r.table, r.segment_id, r.code_id, r.coder),
    )
    for ref in ordered:
        old = by_id[ref.segment_id]
        target = _find_new_home(old, new_list)
        by_overlap = False
        if target is None and same_text:
            target = _most_overlap(old, new_list)
            by_overlap = target is not None
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
                    if by_overlap:
                        split.append(
                            f"{_describe(ref, old)}: now split; carried to segment {target.id} "
                            f"('{_excerpt(target.text)}'), which holds most of it"
                        )
                        store.decisions.log(
                            coder,
                            "split-on-resegment",
                            segment_id=target.id,
                            code_id=ref.code_id,
                            detail=json.dumps(
                                {
                                    "document": document,
                                    "table": ref.table,
                                    "status": ref.status,
                                    "from_segment": old.id,
                                    "text": old.text,
                                },
                                ensure_ascii=False,
                            ),
                        )
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
    return CarryOverResult(carried, merged, tuple(lost), tuple(split))


def _most_overlap(old: Segment, new: Sequence[Segment]) -> Segment | None:
    def overlap(s: Segment) -> int:
        return min(s.end, old.end) - max(s.start, old.start)

    best = max(new, key=overlap, default=None)
    return best if best is not None and overlap(best) > 0 else None


def _excerpt(text: str) -> str:
    text = " ".join(text.split())  # one line, also for a paragraph of several lines
    return text if len(text) <= 60 else text[:57] + "..."


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
    return f"{kind} {ref.code_id} on segment {old.id} ('{_excerpt(old.text)}')"


@dataclass(frozen=True)
class ResegmentOutcome:
    """What resegmenting did to one document."""

    name: str
    status: Literal["resegmented", "unchanged", "skipped"]
    segments: int = 0
    before: int = 0
    note: str = ""
    carried: int = 0
    lost: tuple[str, ...] = ()
    split: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def resegment(
    project: Project, *, document: str | None = None, progress: Progress | None = None
) -> list[ResegmentOutcome]:
    """Segment imported documents again with the current settings (``segment.*`` in
    qualcode.toml), carrying codings and decisions over as ``import --replace`` does.

    The stored text is segmented; subtitle files (.vtt, .srt) are read again for their cues
    when the file is still where it was imported from, unchanged. One transaction: a failure
    changes nothing.
    """
    store = project.store
    docs = store.documents.all()
    if document is not None:
        docs = [d for d in docs if d.name == document]
        if not docs:
            names = [d.name for d in store.documents.all()]
            close = difflib.get_close_matches(document, names, n=1)
            raise QualcodeError(
                f"no document named '{document}' in the project",
                f"did you mean '{close[0]}'?"
                if close
                else "document names are the imported file names; 'qualcode status' counts "
                "them and 'qualcode export segments' lists them",
            )
    planned: list[tuple[StoredDocument, list[Segment] | None, str]] = []
    for i, doc in enumerate(docs):
        if progress:
            progress(i, len(docs), doc.name)
        text = store.documents.document_text(doc.id)
        turns: tuple[SourceTurn, ...] = ()
        if Path(doc.source_path).suffix.lower() in (".vtt", ".srt"):
            turns = _source_turns(doc, text)
            if not turns:
                planned.append(
                    (
                        doc,
                        None,
                        "the subtitle file it was imported from is gone or "
                        "changed, and its cues are needed; re-import it with --replace",
                    )
                )
                continue
        planned.append(
            (
                doc,
                segment_document(doc.id, text, turns=turns, settings=project.settings.segment),
                "",
            )
        )
    if progress:
        progress(len(docs), len(docs), "")
    outcomes: list[ResegmentOutcome] = []
    with store.transaction():
        for doc, segments, why in planned:
            if segments is None:
                outcomes.append(ResegmentOutcome(doc.name, "skipped", note=why))
                continue
            outcomes.append(_resegment_one(project, doc, segments))
    return outcomes


def _source_turns(doc: StoredDocument, text: str) -> tuple[SourceTurn, ...]:
    path = Path(doc.source_path)
    try:
        raw, _ = read_document(path)
    except (IngestError, OSError):
        return ()
    if raw.text != text:
        return ()
    return raw.turns


def _segment_shape(s: Segment) -> tuple[object, ...]:
    return (s.id, s.seq, s.speaker, s.is_interviewer, s.unit, s.start_time, s.end_time)


def _resegment_one(
    project: Project, doc: StoredDocument, segments: list[Segment]
) -> ResegmentOutcome:
    store = project.store
    old = store.documents.segments(doc.id)
    if [_segment_shape(s) for s in old] == [_segment_shape(s) for s in segments]:
        return ResegmentOutcome(doc.name, "unchanged", len(segments), len(old), "as before")
    new_ids = {s.id for s in segments}
    old_ids = {s.id for s in old}
    removed = [s for s in old if s.id not in new_ids]
    removed_ids = {s.id for s in removed}
    store.documents.park_segments(doc.id)
    for s in segments:
        if s.id in old_ids:
            store.documents.update_segment(s)
    store.documents.insert_segments(s for s in segments if s.id not in old_ids)
    decisions = [
        d for d in store.documents.decisions_on_document(doc.id) if d.segment_id in removed_ids
    ]
    result = carry_over(
        project,
        decisions,
        removed,
        segments,
        document=doc.name,
        coder=project.settings.coder,
        action="lost-on-resegment",
        same_text=True,
    )
    store.documents.delete_segments([s.id for s in removed])
    note = f"{result.carried} coding(s) carried over"
    if result.merged:
        note += f" ({result.merged} merged into the same coding)"
    if result.lost:
        note += f"; {len(result.lost)} not carried over (see the review log)"
    labels = {s.speaker for s in segments if s.speaker}
    warnings = tuple(
        f"speaker '{speaker}' of the metadata no longer occurs in {doc.name}; its quotes are "
        "not signed with its row"
        for speaker, *_ in store.documents.speakers(doc.id)
        if speaker not in labels
    )
    return ResegmentOutcome(
        doc.name,
        "resegmented",
        len(segments),
        len(old),
        note,
        result.carried,
        result.lost,
        result.split,
        warnings,
    )


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
    "ResegmentOutcome",
    "carry_over",
    "export_segments",
    "import_paths",
    "resegment",
    "status",
]
