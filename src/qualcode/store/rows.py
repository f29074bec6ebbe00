"""Typed rows the store hands out, so no caller has to know a query's column order.

Result sets of up to some ten thousand rows become frozen dataclasses with slots. The streams
on the 'tag' path (a million words: tens of thousands of segments, every one a blob) stay
plain tuples from sqlite3 under a named alias: building an object per row there would cost
time for nothing, and the alias still tells mypy and the reader what each column is.
The five row types older than this package keep their plain frozen dataclasses (callers may
read their ``__dict__``, as ``status --json`` does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from qualcode.records import DocumentMeta

# --- lean rows of the tag path (aliases, no object per row) --------------------------------
ScopeSegment = tuple[str, int]
"""(segment id, start) of a segment in a tag run's scope."""
TokenForms = tuple[str, bytes]
"""(segment id, packed int32 form ids) of a tokenised segment."""
TokenOffsets = tuple[bytes, bytes]
"""Packed int32 start and end offsets of a segment's tokens."""
FormKey = tuple[str, int, int]
"""(lemma or compound-part key, form id, 1 if the key is a lemma of the form else 0)."""
Proposal = tuple[str, str, str, float, str, float | None]
"""(segment id, code, source, score, evidence JSON, model score) of a tag run's proposal."""
CodeSpec = tuple[str, str, str | None, str]
"""(id, label, parent id, definition) of a code to upsert."""
NameSpec = tuple[str, str, str, str, str, int, str]
"""(name, kind, action, pseudonym, forms JSON, count, source) of a registry row to upsert."""


@dataclass(frozen=True)
class StoredDocument:
    id: str
    name: str
    sha256: str
    source_path: str
    title: str
    meta: DocumentMeta
    words: int


@dataclass(frozen=True)  # no slots: callers read its __dict__ (status --json)
class StatusRow:
    city: str
    kind: str
    documents: int
    segments: int
    interviewer_segments: int
    words: int


@dataclass(frozen=True)
class SuggestionState:
    id: str
    segment_id: str
    code_id: str
    status: str
    source: str
    score: float | None
    evidence: str | None
    codebook_digest: str | None
    model_score: float | None = None


@dataclass(frozen=True)
class TagScope:
    """The segments a 'tag' run matches: how many, and how many (with how many tokens) were
    matched by an earlier run."""

    segments: int
    matched: int
    matched_tokens: int


@dataclass(frozen=True, slots=True)
class Reconciled:
    """What making the suggestions agree with a tag run's proposals did."""

    new: int
    updated: int
    unchanged: int
    removed: int
    kept_decided: int


@dataclass(frozen=True)
class CodingRef:
    """A coding or decided suggestion attached to a segment (for carrying over on replace)."""

    table: str  # 'codings' or 'suggestions'
    row_id: str
    segment_id: str
    code_id: str
    status: str
    coder: str = ""  # a coding's coder (part of its identity); '' for suggestions


@dataclass(frozen=True, slots=True)
class SegmentToTag:
    segment_id: str
    start: int
    text: str
    city: str  # '' when the document names none


@dataclass(frozen=True, slots=True)
class PendingReviewRow:
    """A pending suggestion with what the review CSV shows of it (fields as ``ReviewRow``)."""

    suggestion_id: str
    segment_id: str
    city: str
    document: str
    speaker: str
    code: str
    code_label: str
    score: float | None
    source: str
    evidence: str
    text: str
    segment_start: int
    model_score: float | None


@dataclass(frozen=True, slots=True)
class CodingExportRow:
    segment_id: str
    document: str
    city: str
    code: str
    coder: str
    source: str
    status: str
    created: str


@dataclass(frozen=True, slots=True)
class StoredCodebook:
    """The codebook 'tag' used last, as JSON."""

    digest: str
    source: str
    data: str


@dataclass(frozen=True, slots=True)
class ReviewedSegment:
    segment_id: str
    document_id: str
    text: str


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: int
    created: str
    version: str
    training_digest: str
    codebook_digest: str
    summary: str  # JSON


@dataclass(frozen=True, slots=True)
class ModelData:
    id: int
    data: bytes  # the model archive (see classify.py; never a pickle)
    summary: str  # JSON


@dataclass(frozen=True, slots=True)
class MatrixDocument:
    """A document's metadata and the words of its segments (fields are the matrix columns)."""

    id: str
    name: str
    city: str | None
    participant: str | None
    role: str | None
    organisation_type: str | None
    kind: str
    date: str | None
    words: int


@dataclass(frozen=True, slots=True)
class MatrixCoding:
    """An accepted coding (or a pending suggestion counted as one); fields are matrix columns."""

    segment_id: str
    document_id: str
    code: str
    score: float | None
    source: str
    text: str
    seq: int
    speaker: str | None
    start: int  # the segment's offset in its document
    start_time: float | None  # seconds into the recording, for .vtt/.srt and [00:01:02] labels
    evidence: str | None  # JSON of the accepted suggestion's matches; None for manual codings


@dataclass(frozen=True, slots=True)
class CoderActivity:
    """A coder looked at a document's segment; ``code_id`` if they accepted a coding on it."""

    coder: str
    document_id: str
    segment_id: str | None
    code_id: str | None


@dataclass(frozen=True, slots=True)
class CodableSegment:
    segment_id: str
    document_id: str
    document: str
    city: str  # '' when the document names none
    text: str


@dataclass(frozen=True, slots=True)
class ExportDocument:
    id: str
    name: str
    city: str | None
    participant: str | None
    role: str | None
    organisation_type: str | None
    kind: str
    date: str | None
    text: str


@dataclass(frozen=True, slots=True)
class ExportCoding:
    segment_id: str
    document_id: str
    start: int
    end: int
    code_id: str
    coder: str


@dataclass(frozen=True, slots=True)
class SegmentExportRow:
    segment_id: str
    document: str
    city: str | None
    participant: str | None
    role: str | None
    kind: str
    speaker: str | None
    is_interviewer: int
    start: int
    end: int
    start_time: float | None
    end_time: float | None
    text: str


@dataclass(frozen=True, slots=True)
class NameRow:
    """A name registry row."""

    name: str
    kind: str
    action: str
    pseudonym: str
    forms: str  # JSON list
    count: int
    source: str


@dataclass(frozen=True, slots=True)
class Participant:
    participant: str
    role: str | None
    city: str | None


class StoredSpeaker(NamedTuple):
    """One speaker's metadata in one document (a metadata.csv row with a ``speaker``).

    A named tuple, so that a document's rows compare equal to the rows metadata.csv gives.
    """

    speaker: str  # the label as the transcript writes it
    participant: str | None
    role: str | None
    organisation_type: str | None


class SpeakerRow(NamedTuple):
    document_id: str
    speaker: str
    participant: str | None
    role: str | None
    organisation_type: str | None


class SegmentSpeaker(NamedTuple):
    """Who speaks in a segment, for counting words and interviewees by speaker."""

    segment_id: str
    document_id: str
    speaker: str | None
    is_interviewer: bool
    words: int
