"""Read transcripts (.txt, .md, .docx, .vtt, .srt) into normalised text with metadata.

One reader per format; every reader returns a ``RawDocument`` whose text is NFC with ``\\n``
line ends. ``load_transcript`` adds identity and metadata and is pure (no store access).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from qualcode.errors import IngestError
from qualcode.records import DocumentMeta, RawDocument, Transcript
from qualcode.textutil import count_words, document_id, sha256_hex

Reader = Callable[..., RawDocument]
SUPPORTED = (".txt", ".md", ".docx", ".vtt", ".srt")
_MAX_BYTES = 100 * 1024 * 1024


def _reader(suffix: str) -> Reader:
    # Readers are imported lazily so that `qualcode --help` never loads python-docx.
    if suffix in (".txt", ".md"):
        from qualcode.ingest.text import read_text

        return read_text
    if suffix == ".docx":
        from qualcode.ingest.docx import read_docx

        return read_docx
    from qualcode.ingest.subtitles import read_subtitles

    return read_subtitles


def _is_transcript_name(name: str) -> bool:
    """Folder scans skip hidden files, Office lock files (~$) and README files."""
    lower = name.lower()
    return (
        lower.endswith(SUPPORTED)
        and not name.startswith((".", "~$"))
        and not lower.startswith(("readme.", "lueminut."))
    )


def collect_paths(paths: Iterable[Path]) -> list[Path]:
    """Expand directories into their supported transcript files, sorted; keep order otherwise."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p for p in sorted(path.iterdir()) if p.is_file() and _is_transcript_name(p.name)
            )
        elif path.is_file():
            if path.suffix.lower() not in SUPPORTED:
                raise IngestError(
                    str(path),
                    f"unsupported file type '{path.suffix or '(none)'}'",
                    "qualcode reads .txt, .md, .docx, .vtt and .srt",
                )
            found.append(path)
        else:
            raise IngestError(str(path), "no such file or directory")
    unique: dict[Path, None] = {}
    for p in found:
        unique.setdefault(p.resolve(), None)
    return list(unique)


def read_document(path: Path, *, encoding: str | None = None) -> tuple[RawDocument, bytes]:
    """Read one file with the reader for its extension; returns the document and raw bytes."""
    name = str(path)
    try:
        size = path.stat().st_size
        if size > _MAX_BYTES:
            raise IngestError(name, "is larger than 100 MB; is it really a transcript?")
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(name, f"cannot read file ({exc.strerror})") from None
    if not data.strip():
        raise IngestError(name, "file is empty")
    document = _reader(path.suffix.lower())(path, data, encoding=encoding)
    if not document.text.strip():
        raise IngestError(name, "contains no text")
    return document, data


def load_transcript(
    path: Path, meta: DocumentMeta, *, language: str = "fi", encoding: str | None = None
) -> Transcript:
    raw, data = read_document(path, encoding=encoding)
    return Transcript(
        id=document_id(raw.text),
        name=path.name,
        source_path=str(path),
        sha256=sha256_hex(data),
        format=raw.format,
        encoding=raw.encoding,
        title=path.stem,
        meta=meta,
        language=language,
        text=raw.text,
        words=count_words(raw.text),
        turns=raw.turns,
    )
