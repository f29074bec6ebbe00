"""Plain text and Markdown transcripts."""

from __future__ import annotations

from pathlib import Path

from qualcode.ingest.encoding import decode_bytes
from qualcode.records import RawDocument
from qualcode.textutil import normalise_text


def read_text(path: Path, data: bytes, *, encoding: str | None = None) -> RawDocument:
    text, used = decode_bytes(data, str(path), encoding)
    fmt = "md" if path.suffix.lower() == ".md" else "txt"
    return RawDocument(text=normalise_text(text), format=fmt, encoding=used)
