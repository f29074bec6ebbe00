"""Render a ``Report`` into a Word document with python-docx.

Every paragraph that carries segment ids gets a Word comment listing them, so that a
researcher can trace each generated claim and quote back to its source. With ``template``
the corporate document's styles are used (its body is cleared first); without it, a clean
default.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from pathlib import Path
from typing import Any

from qualcode.errors import IngestError, QualcodeError
from qualcode.report.content import Image, Para, Report, Table

COMMENT_AUTHOR = "qualcode"
_MAX_IDS_IN_COMMENT = 40


def render(
    report: Report,
    *,
    template: Path | None = None,
    lang: str = "fi",
    created: dt.datetime | None = None,
    comments: bool = True,
) -> bytes:
    """The report as .docx bytes; ``comments`` False leaves out the segment-id comments."""
    import docx
    from docx.shared import Cm, Pt

    document = open_template(template) if template else docx.Document()
    if template:
        body = document.element.body
        for child in list(body):
            if not child.tag.endswith("sectPr"):
                body.remove(child)
    else:
        normal = document.styles["Normal"]
        normal.font.name = "Calibri"
        normal.font.size = Pt(11)
        # A4 (python-docx's default is US Letter) with 2 cm side margins: the theme table's
        # six columns fit without breaking a word.
        page = document.sections[0]
        page.page_width, page.page_height = Cm(21), Cm(29.7)
        page.left_margin = page.right_margin = Cm(2)
    props = document.core_properties
    props.title = report.title
    props.author = "qualcode"
    props.language = lang
    # Fixed timestamps: the same report data gives the same document.
    stamp = created or dt.datetime(2000, 1, 1)
    props.created = stamp
    props.modified = stamp
    props.last_modified_by = "qualcode"
    props.revision = 1

    _paragraph(document, report.title, "Title")
    _paragraph(document, report.subtitle, "Subtitle")
    width = _text_width(document)
    for para in report.front:
        _para(document, para, comments)
    for section in report.sections:
        _paragraph(document, section.title, f"Heading {section.level}")
        for block in section.blocks:
            if isinstance(block, Para):
                _para(document, block, comments)
            elif isinstance(block, Table):
                _table(document, block, width, comments)
            elif isinstance(block, Image):
                document.add_picture(str(block.path), width=min(Cm(16), width))
                # Air above the picture: without it the table's bottom border touches it.
                document.paragraphs[-1].paragraph_format.space_before = Pt(12)
                document.paragraphs[-1].paragraph_format.keep_with_next = True
                if block.caption:
                    _paragraph(document, block.caption, "Caption")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def open_template(path: Path) -> Any:
    """The template as a python-docx document; its zip is checked first (it is untrusted).

    Raises :class:`~qualcode.errors.QualcodeError` naming the file when it cannot be read, so
    ``report`` can check it once before writing anything.
    """
    from qualcode.ingest.docx import open_word_document

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise QualcodeError(f"{path}: cannot read the template ({exc.strerror})") from None
    try:
        return open_word_document(path, data)
    except IngestError as error:
        raise QualcodeError(
            error.message, "--template takes a Word document (.docx): re-save it in Word"
        ) from None


_STYLE_IDS: dict[tuple[int, str], str | None] = {}


def _style_id(document: Any, name: str) -> str | None:
    """The style's id, looked up once per document (python-docx's lookup is slow)."""
    key = (id(document), name)
    if key not in _STYLE_IDS:
        try:
            _STYLE_IDS[key] = document.styles[name].style_id
        except KeyError:  # a corporate template may lack a built-in style
            _STYLE_IDS[key] = None
    return _STYLE_IDS[key]


def _new_paragraph(document: Any, text: str, style: str) -> Any:
    paragraph = document.add_paragraph(text)
    style_id = _style_id(document, style) if style != "Normal" else None
    if style_id is not None:
        paragraph._p.style = style_id
    return paragraph


def _paragraph(document: Any, text: str, style: str) -> Any:
    if style.startswith("Heading") or style in ("Title", "Subtitle"):
        try:
            return document.add_paragraph(text, style=document.styles[style])
        except KeyError:
            paragraph = document.add_paragraph()
            run = paragraph.add_run(text)
            run.bold = True
            return paragraph
    return _new_paragraph(document, text, style)


def _text_width(document: Any) -> int:
    """The width between the margins (EMU) of the document's last section."""
    from docx.shared import Cm

    section = document.sections[-1]
    try:
        return int(section.page_width - section.left_margin - section.right_margin)
    except TypeError:  # a template without page size or margins
        return int(Cm(16))


def _para(document: Any, para: Para, comments: bool = True) -> None:
    from docx.shared import Cm

    style = {
        "bullet": "List Bullet",
        "quote": "Quote",
        "attribution": "Normal",
        "note": "Normal",
        "body": "Normal",
        "memo_head": "Normal",
        "memo": "Normal",
    }[para.style]
    paragraph = _new_paragraph(document, "", style)
    run = paragraph.add_run(para.text)
    if para.style == "quote":
        run.italic = True
        paragraph.paragraph_format.left_indent = Cm(1)
    elif para.style == "attribution":
        paragraph.paragraph_format.left_indent = Cm(1)
        run.font.size = run.font.size  # keep style size
    elif para.style == "note":
        run.italic = True
    elif para.style in ("memo_head", "memo"):
        # The researcher's own text stands apart from the generated text: indented, with a
        # bar on its left, its heading in bold.
        paragraph.paragraph_format.left_indent = Cm(0.5)
        _left_bar(paragraph)
        run.bold = para.style == "memo_head"
    if para.segments and comments:
        _comment(document, run, para.segments)


def _comment(document: Any, run: Any, segments: tuple[str, ...]) -> None:
    ids = list(segments)
    text = "Segmentit: " + ", ".join(ids[:_MAX_IDS_IN_COMMENT])
    if len(ids) > _MAX_IDS_IN_COMMENT:
        text += f" … (+{len(ids) - _MAX_IDS_IN_COMMENT})"
    document.add_comment(run, text=text, author=COMMENT_AUTHOR, initials="QC")


def _left_bar(paragraph: Any) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    ppr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    left = OxmlElement("w:left")
    for key, value in (("val", "single"), ("sz", "18"), ("space", "8"), ("color", "2E74B5")):
        left.set(qn(f"w:{key}"), value)
    borders.append(left)
    # The schema's order: the border comes before shading, tabs, spacing and indentation.
    ppr.insert_element_before(
        borders, "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:spacing", "w:ind", "w:jc"
    )


def _table(document: Any, table: Table, width: int, comments: bool = True) -> None:
    from docx.shared import Pt

    n = len(table.header)
    if len(table.widths) == n:
        weights = list(table.widths)
    elif n == 1:
        weights = [1.0]
    else:
        weights = [2.0] + [4.0 / (n - 1)] * (n - 1)
    # Fixed widths fitted to the page: left to autofit, LibreOffice gives every column the
    # same width and breaks long Finnish words inside ("Verkostoto|iminnan").
    widths = [int(width * w / sum(weights)) for w in weights]
    grid = document.add_table(rows=1, cols=n)
    grid.autofit = False
    with contextlib.suppress(KeyError):  # a template may lack the built-in table style
        grid.style = document.styles["Table Grid"]
    for column, w in zip(grid.columns, widths, strict=True):
        column.width = w
    for cell, text in zip(grid.rows[0].cells, table.header, strict=True):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for i, row in enumerate(table.rows):
        cells = grid.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = text
        segments = table.row_segments[i] if i < len(table.row_segments) else ()
        if segments and comments and cells[0].paragraphs[0].runs:
            _comment(document, cells[0].paragraphs[0].runs[0], segments)
    for k, row in enumerate(grid.rows):
        for cell, w in zip(row.cells, widths, strict=True):
            cell.width = w
            for paragraph in cell.paragraphs:
                paragraph.paragraph_format.space_after = Pt(0)
                for run in paragraph.runs:
                    run.font.size = Pt(8.5 if k == 0 else 9)
    if table.caption:
        _paragraph(document, table.caption, "Caption")
    else:
        # A small empty paragraph keeps what follows off the table's bottom border.
        spacer = document.add_paragraph()
        spacer.paragraph_format.space_after = Pt(0)
