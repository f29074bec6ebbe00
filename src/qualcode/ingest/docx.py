"""Word (.docx) transcripts via python-docx.

Paragraphs become blank-line separated blocks, as in a .txt transcript; headings get a Markdown
``#`` and list paragraphs a ``- `` so that segmentation treats them like their text equivalents.
Tables are read row by row with ``|`` between cells.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from qualcode.errors import IngestError
from qualcode.records import RawDocument
from qualcode.textutil import normalise_text

_MAX_UNCOMPRESSED = 200 * 1024 * 1024  # a transcript is never this big; a zip bomb can be
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def read_docx(path: Path, data: bytes, *, encoding: str | None = None) -> RawDocument:
    name = str(path)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise IngestError(
            name, "is an old binary Word (.doc) file", "open it in Word and save as .docx"
        )
    if not data.startswith(b"PK"):
        raise IngestError(name, "is not a valid .docx file (not a zip archive)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if sum(info.file_size for info in zf.infolist()) > _MAX_UNCOMPRESSED:
                raise IngestError(name, "unpacks to more than 200 MB; refusing to read it")
            if "word/document.xml" not in zf.namelist():
                raise IngestError(name, "is a zip archive but not a Word document")
    except zipfile.BadZipFile:
        raise IngestError(
            name, "is not a valid .docx file (damaged or truncated zip)", "re-save it in Word"
        ) from None

    import docx  # heavy; only when a .docx is read
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises assorted errors for broken parts
        raise IngestError(name, f"cannot be read as a Word document ({exc})") from None

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
