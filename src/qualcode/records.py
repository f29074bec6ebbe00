"""Frozen records passed between pipeline stages. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["interview", "workshop"]
Unit = Literal["turn", "paragraph", "item", "heading"]
KINDS: tuple[Kind, ...] = ("interview", "workshop")


@dataclass(frozen=True)
class Cue:
    """One subtitle cue: a character range of the document text and its time span (seconds)."""

    start: int
    end: int
    start_time: float
    end_time: float


@dataclass(frozen=True)
class SourceTurn:
    """A speaker turn that the file format itself marks (subtitle cues), with offsets into text."""

    speaker: str | None
    start: int
    end: int
    cues: tuple[Cue, ...] = ()


@dataclass(frozen=True)
class RawDocument:
    """What a format reader produces: normalised text plus structure the format carries."""

    text: str
    format: str
    encoding: str
    turns: tuple[SourceTurn, ...] = ()


@dataclass(frozen=True)
class DocumentMeta:
    """Metadata of one transcript, from metadata.csv and/or command-line options."""

    city: str | None = None
    participant: str | None = None
    role: str | None = None
    organisation_type: str | None = None
    kind: Kind = "interview"
    date: str | None = None


@dataclass(frozen=True)
class Transcript:
    """An imported document: its identity, metadata and full normalised text."""

    id: str
    name: str
    source_path: str
    sha256: str
    format: str
    encoding: str
    title: str
    meta: DocumentMeta
    language: str
    text: str
    words: int
    turns: tuple[SourceTurn, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class Segment:
    """A unit of coding. Invariant: ``document_text[start:end] == text``."""

    id: str
    document_id: str
    seq: int
    speaker: str | None
    is_interviewer: bool
    unit: Unit
    start: int
    end: int
    text: str
    words: int
    start_time: float | None = None
    end_time: float | None = None
