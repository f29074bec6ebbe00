"""Reading a generated report the way a researcher checks it: sections, comments, tables."""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
SEGMENT_ID = re.compile(r"\bs[0-9a-f]{11}\b")
WORD = re.compile(r"\w+(?:[-'’]\w+)*")


@dataclass
class Paragraph:
    text: str
    style: str
    segments: list[str]


@dataclass
class Row:
    cells: list[str]
    segments: list[str]


@dataclass
class Section:
    title: str
    level: int
    paragraphs: list[Paragraph] = field(default_factory=list)
    tables: list[list[Row]] = field(default_factory=list)


def _text(node: etree._Element) -> str:
    parts = []
    for t in node.iter(f"{W}t", f"{W}br"):
        parts.append("\n" if t.tag == f"{W}br" else (t.text or ""))
    return "".join(parts)


def _comment_ids(node: etree._Element) -> list[str]:
    return [str(c.get(f"{W}id")) for c in node.iter(f"{W}commentReference")]


def read_report(path: Path) -> list[Section]:
    """The report's sections in order (the part before the first heading is ``""``)."""
    with zipfile.ZipFile(path) as zf:
        body = etree.fromstring(zf.read("word/document.xml")).find(f"{W}body")
        styles = etree.fromstring(zf.read("word/styles.xml"))
        comments_xml = (
            etree.fromstring(zf.read("word/comments.xml"))
            if "word/comments.xml" in zf.namelist()
            else None
        )
    names = {
        str(s.get(f"{W}styleId")): str(s.find(f"{W}name").get(f"{W}val"))  # type: ignore[union-attr]
        for s in styles.iter(f"{W}style")
    }
    comments: dict[str, list[str]] = {}
    if comments_xml is not None:
        for c in comments_xml.iter(f"{W}comment"):
            comments[str(c.get(f"{W}id"))] = SEGMENT_ID.findall(_text(c))
    assert body is not None
    sections = [Section("", 0)]
    for node in body:
        if node.tag == f"{W}p":
            style_node = node.find(f"{W}pPr/{W}pStyle")
            style = names.get(str(style_node.get(f"{W}val")), "") if style_node is not None else ""
            # Built-in names are lower case in the file ("heading 1"), as Word shows them.
            style = style[:1].upper() + style[1:]
            text = _text(node)
            if style.startswith("Heading"):
                sections.append(Section(text, int(style.split()[-1])))
                continue
            segs = [s for i in _comment_ids(node) for s in comments.get(i, [])]
            sections[-1].paragraphs.append(Paragraph(text, style, segs))
        elif node.tag == f"{W}tbl":
            rows = []
            for tr in node.iter(f"{W}tr"):
                cells = [_text(tc) for tc in tr.iter(f"{W}tc")]
                segs = [s for i in _comment_ids(tr) for s in comments.get(i, [])]
                rows.append(Row(cells, segs))
            sections[-1].tables.append(rows)
    return sections


def section(sections: list[Section], title: str) -> Section:
    found = [s for s in sections if s.title == title]
    assert found, f"no section {title!r} in {[s.title for s in sections]}"
    return found[0]


def prose_words(sections: list[Section]) -> int:
    """Words of generated prose: paragraphs that are not quotes, attributions or captions."""
    n = 0
    for s in sections[1:]:
        for p in s.paragraphs:
            if p.style in ("Quote", "Caption") or p.text.startswith("—"):
                continue
            n += len(WORD.findall(p.text))
    return n
