"""Word (.docx) transcripts via python-docx.

Paragraphs become blank-line separated blocks, as in a .txt transcript; headings get a Markdown
``#`` and list paragraphs a ``- `` so that segmentation treats them like their text equivalents.
Tables are read row by row with ``|`` between cells.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from qualcode.errors import ArchiveError, IngestError
from qualcode.records import RawDocument
from qualcode.safezip import SafeZip, ZipLimits
from qualcode.textutil import normalise_text

# A transcript is never this big; a zip bomb can be. Also used for other Word files qualcode
# reads (templates, exports given to ``names check``).
DOCX_LIMITS = ZipLimits(max_total_size=200 * 1024 * 1024)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def open_word_document(path: Path, data: bytes) -> Any:
    """A python-docx ``Document`` from untrusted bytes (a transcript, template or export).

    The zip is checked by :mod:`qualcode.safezip` before python-docx sees it; every way the file
    can be damaged is one :class:`IngestError` naming it.
    """
    name = str(path)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise IngestError(
            name, "is an old binary Word (.doc) file", "open it in Word and save as .docx"
        )
    if not data.startswith(b"PK"):
        raise IngestError(
            name,
            "is not a valid .docx file (not a zip archive)",
            "open it in Word and save as .docx",
        )
    try:
        with SafeZip(data, DOCX_LIMITS) as archive:
            if "word/document.xml" not in archive.names():
                raise IngestError(
                    name, "is a zip archive but not a Word document", "save it from Word as .docx"
                )
    except ArchiveError as error:
        if error.damaged:
            raise IngestError(
                name, "is not a valid .docx file (damaged or truncated zip)", "re-save it in Word"
            ) from None
        raise IngestError(name, error.problem, "re-save it in Word, or leave it out") from None

    import docx  # heavy; only when a .docx is read

    try:
        return docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises assorted errors for broken parts
        raise IngestError(
            name,
            f"cannot be read as a Word document ({one_line(exc)})",
            "open it in Word and save it again as .docx",
        ) from None


def one_line(exc: BaseException) -> str:
    """An exception's text on one line (lxml and KeyError messages may span lines or quote)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, KeyError) and len(text) > 1 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1]
    return text


def read_docx(path: Path, data: bytes, *, encoding: str | None = None) -> RawDocument:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = open_word_document(path, data)
    blocks: list[str] = []
    for child in document.element.body.iterchildren():
        if child.tag == f"{_W}p":
            text = _paragraph_text(Paragraph(child, document))
            if text:
                blocks.append(text)
        elif child.tag == f"{_W}tbl":
            blocks.extend(_table_rows(Table(child, document)))
    return RawDocument(text=normalise_text("\n\n".join(blocks)), format="docx", encoding="docx")


def _paragraph_text(paragraph: Any) -> str:
    text = "\n".join(part.strip() for part in paragraph.text.split("\n")).strip()
    if not text:
        return ""
    style = (paragraph.style.name or "").lower() if paragraph.style is not None else ""
    if style.startswith(("heading", "title", "otsikko", "rubrik")):
        level = 1
        digits = "".join(ch for ch in style if ch.isdigit())
        if digits:
            level = max(1, min(6, int(digits)))
        return "#" * level + " " + text.replace("\n", " ")
    is_list = style.startswith(("list", "luettelo")) or (
        paragraph._p.pPr is not None and paragraph._p.pPr.numPr is not None
    )
    if is_list and not text.startswith(("- ", "• ", "* ")):
        return "- " + text
    return str(text)


def _table_rows(table: Any) -> list[str]:
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if cell._tc is previous:  # merged cells repeat; keep one
                continue
            previous = cell._tc
            value = " ".join(cell.text.split())
            if value:
                cells.append(value)
        if cells:
            rows.append(" | ".join(cells))
    return rows
