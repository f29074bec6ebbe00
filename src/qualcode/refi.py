"""REFI-QDA 1.5 exchange: projects (.qdpx) and codebooks (.qdc), bytes in and out.

Pure: the functions take and return bytes and frozen records; reading files and writing to the
store is the caller's job. What qualcode represents is plain-text sources, hierarchical codes,
codings of character ranges, users, variables, cases and the project's notes (memos).
Everything else in a REFI file (PDF, picture, audio and video sources, their selections, sets,
links, graphs, descriptions, note references) is skipped on import and reported in the
warnings list, as §7 of the standard asks: nothing is dropped silently.

Offsets. A coding's ``start``/``end`` are code-point offsets into the source's text, end
exclusive (§10.2 counts Unicode code points from 0; every sample puts ``endPosition`` one past
the last character). The text is kept exactly as stored in the archive, minus a leading BOM,
so a CRLF counts as two characters, as the standard's "code points in the file" says and as
NVivo writes it. ATLAS.ti is the known exception: it counts a CRLF as one character (QualCoder's
importer documents the same), so for files whose ``origin`` is ATLAS.ti the text's CRLFs are
turned into LF, which makes the offsets land on the same text, and a warning says so.

GUIDs are normalised to lower case without braces; an id that is not a GUID, or a missing one,
is replaced by a stable GUID derived from it or from the element (see :func:`guid_for`), with a
warning.

Segments. qualcode codes whole segments, and how a text splits into segments depends on its
words (a long turn is cut by word count, and a pseudonym is not as long as the name it
replaces), so a re-import cannot recompute them exactly. An export therefore carries each
source's segment boundaries in an extra archive entry, :data:`SEGMENTS_ENTRY` (JSON, offsets
only, keyed by source GUID with the SHA-256 of the text they belong to). Other programs ignore
it; an import uses the boundaries only for a source whose text still has that digest.

Code hierarchies deeper than :data:`MAX_CODE_DEPTH` levels are refused, on import and export.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import uuid
import zipfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET

from qualcode.errors import ArchiveError, QualcodeError
from qualcode.safezip import SafeZip
from qualcode.safezip import ZipLimits as SafeZipLimits

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
VARIABLE_TYPES = ("Text", "Boolean", "Integer", "Float", "Date", "DateTime")
ORIGIN = "qualcode"
SEGMENTS_ENTRY = "qualcode/segments.json"
SEGMENTS_FORMAT = "qualcode-segments"
# Real codebooks are a few levels deep; the limit keeps a hostile file from exhausting the
# stack or making every later stage walk a chain of thousands of parents.
MAX_CODE_DEPTH = 100

# Fixed so that guid_for() gives the same GUIDs in every installation.
_GUID_NAMESPACE = uuid.UUID("6f1d3c52-8a7e-5b0c-9d4e-2a1b3c4d5e6f")
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_GUID_RE = re.compile(rf"\{{({_GUID})\}}|({_GUID})")
_RGB_RE = re.compile(r"#(?:[A-Fa-f0-9]{6}|[A-Fa-f0-9]{3})")
_XML_ILLEGAL_RE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_SELECTION_TAGS = (
    "PlainTextSelection",
    "PDFSelection",
    "PictureSelection",
    "AudioSelection",
    "VideoSelection",
    "TranscriptSelection",
)
_NON_TEXT_SOURCES = ("PDFSource", "PictureSource", "AudioSource", "VideoSource")


class RefiError(QualcodeError):
    """A REFI-QDA file cannot be read, or a project cannot be written as one.

    ``problems`` lists every problem found when there are several (export validation).
    """

    def __init__(self, message: str, hint: str | None = None, problems: Sequence[str] = ()):
        super().__init__(message, hint)
        self.problems = tuple(problems)


@dataclass(frozen=True)
class RefiUser:
    guid: str
    name: str


@dataclass(frozen=True)
class RefiCode:
    """A code; ``parent_guid`` makes the hierarchy, ``codable`` is False for folders."""

    guid: str
    name: str
    description: str = ""
    parent_guid: str | None = None
    codable: bool = True
    color: str | None = None


@dataclass(frozen=True)
class RefiCoding:
    """A code applied to ``text[start:end]`` of a source (code-point offsets, end exclusive)."""

    guid: str
    source_guid: str
    start: int
    end: int
    code_guid: str
    user_guid: str | None = None


@dataclass(frozen=True)
class RefiSource:
    """A plain-text source; ``segments`` are qualcode's coding units in it, (start, end)
    code-point offsets into ``text`` (empty when the file did not carry them)."""

    guid: str
    name: str
    text: str
    segments: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class RefiVariable:
    """A case variable; ``type`` is one of :data:`VARIABLE_TYPES`."""

    guid: str
    name: str
    type: str = "Text"


@dataclass(frozen=True)
class RefiCase:
    """A case groups sources; ``values`` are (variable GUID, value in XML Schema lexical form)."""

    guid: str
    name: str
    description: str = ""
    source_guids: tuple[str, ...] = ()
    values: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RefiNote:
    """A note (memo) of the project: REFI-QDA's ``<Note>``, a text source of its own.

    qualcode writes its researcher memos as notes named ``"<memo file>: <section id>"``
    (``"Saarvala: yhteistyo"``); other tools' notes come in with whatever name they have.
    """

    guid: str
    name: str
    text: str


@dataclass(frozen=True)
class RefiProject:
    name: str
    users: tuple[RefiUser, ...] = ()
    codes: tuple[RefiCode, ...] = ()
    sources: tuple[RefiSource, ...] = ()
    codings: tuple[RefiCoding, ...] = ()
    variables: tuple[RefiVariable, ...] = ()
    cases: tuple[RefiCase, ...] = ()
    notes: tuple[RefiNote, ...] = ()


@dataclass(frozen=True)
class ZipLimits:
    """Limits that an untrusted .qdpx must respect before anything is decompressed.

    The ratio is only checked for entries above ``ratio_min_size``: small, repetitive files
    legitimately compress very well, and they cannot blow up memory anyway.
    """

    max_entries: int = 10_000
    max_total_size: int = 512 * 1024 * 1024
    max_ratio: int = 200
    ratio_min_size: int = 1024 * 1024


def guid_for(*parts: str) -> str:
    """A stable GUID derived from ``parts``: use it to give qualcode's own ids REFI GUIDs."""
    return str(uuid.uuid5(_GUID_NAMESPACE, "\x1f".join(parts)))


def normalise_guid(value: str) -> str | None:
    """``value`` as a lower-case GUID without braces, or None if it is not a GUID."""
    match = _GUID_RE.fullmatch(value.strip())
    if match is None:
        return None
    return (match.group(1) or match.group(2)).lower()


# --- export -------------------------------------------------------------------------------


def canonical(project: RefiProject) -> RefiProject:
    """``project`` in the order :func:`export_qdpx` writes it, with GUIDs normalised.

    Users, sources, variables and cases are sorted by name (then GUID), codings by source,
    position and GUID; codes keep their order among siblings, because a codebook's order is
    meaningful, and are listed depth-first. ``import_qdpx(export_qdpx(p))`` gives
    ``canonical(p)``. Ids that are not GUIDs are left for :func:`export_qdpx` to reject.
    """

    def g(value: str) -> str:
        return normalise_guid(value) or value

    def og(value: str | None) -> str | None:
        return None if value is None else g(value)

    users = sorted((RefiUser(g(u.guid), u.name) for u in project.users), key=_name_key)
    codes = _depth_first(
        [replace(c, guid=g(c.guid), parent_guid=og(c.parent_guid)) for c in project.codes]
    )
    sources = sorted(
        (
            replace(s, guid=g(s.guid), segments=tuple(sorted(set(s.segments))))
            for s in project.sources
        ),
        key=_name_key,
    )
    rank = {s.guid: i for i, s in enumerate(sources)}
    codings = sorted(
        (
            replace(
                c,
                guid=g(c.guid),
                source_guid=g(c.source_guid),
                code_guid=g(c.code_guid),
                user_guid=og(c.user_guid),
            )
            for c in project.codings
        ),
        key=lambda c: (rank.get(c.source_guid, len(rank)), c.source_guid, c.start, c.end, c.guid),
    )
    variables = sorted((replace(v, guid=g(v.guid)) for v in project.variables), key=_name_key)
    variable_rank = {v.guid: i for i, v in enumerate(variables)}
    cases = sorted(
        (
            replace(
                c,
                guid=g(c.guid),
                source_guids=tuple(sorted(g(s) for s in c.source_guids)),
                values=tuple(
                    sorted(
                        ((g(v), value) for v, value in c.values),
                        key=lambda item: (variable_rank.get(item[0], len(variable_rank)), item),
                    )
                ),
            )
            for c in project.cases
        ),
        key=_name_key,
    )
    notes = sorted((replace(n, guid=g(n.guid)) for n in project.notes), key=_name_key)
    return RefiProject(
        name=project.name,
        users=tuple(users),
        codes=tuple(codes),
        sources=tuple(sources),
        codings=tuple(codings),
        variables=tuple(variables),
        cases=tuple(cases),
        notes=tuple(notes),
    )


def export_qdpx(project: RefiProject) -> bytes:
    """The project as a .qdpx archive: ``project.qde`` plus ``sources/<guid>.txt`` (UTF-8),
    and :data:`SEGMENTS_ENTRY` when a source has segments.

    The same project always gives the same bytes (fixed order, fixed zip timestamps). Raises
    :class:`RefiError` listing every problem (bad GUIDs, dangling references, offsets outside
    the text, characters XML cannot carry, ...) when the project cannot be written validly.
    """
    project = canonical(project)
    _raise_problems(_check_project(project))
    by_source: dict[str, dict[tuple[int, int], list[RefiCoding]]] = {}
    for coding in project.codings:
        spans = by_source.setdefault(coding.source_guid, {})
        spans.setdefault((coding.start, coding.end), []).append(coding)

    children: list[_Node] = []
    if project.users:
        children.append(
            _Node(
                "Users",
                children=tuple(
                    _Node("User", (("guid", u.guid), ("name", u.name))) for u in project.users
                ),
            )
        )
    if project.codes:
        children.append(_Node("CodeBook", children=(_codes_node(project.codes),)))
    if project.variables:
        children.append(
            _Node(
                "Variables",
                children=tuple(
                    _Node(
                        "Variable",
                        (("guid", v.guid), ("name", v.name), ("typeOfVariable", v.type)),
                    )
                    for v in project.variables
                ),
            )
        )
    if project.cases:
        types = {v.guid: v.type for v in project.variables}
        children.append(_Node("Cases", children=tuple(_case_node(c, types) for c in project.cases)))
    if project.sources:
        children.append(
            _Node(
                "Sources",
                children=tuple(_source_node(s, by_source.get(s.guid, {})) for s in project.sources),
            )
        )
    if project.notes:
        # Inline text: a note is short, and PlainTextContent keeps it inside project.qde.
        children.append(
            _Node(
                "Notes",
                children=tuple(
                    _Node(
                        "Note",
                        (("guid", n.guid), ("name", n.name)),
                        (_Node("PlainTextContent", text=n.text),),
                    )
                    for n in project.notes
                ),
            )
        )
    root = _Node(
        "Project",
        (("xmlns", PROJECT_NS), ("name", project.name), ("origin", ORIGIN)),
        tuple(children),
    )
    entries = [("project.qde", _xml_document(root))]
    entries += [(f"sources/{s.guid}.txt", s.text.encode("utf-8")) for s in project.sources]
    if any(s.segments for s in project.sources):
        entries.append((SEGMENTS_ENTRY, _segments_json(project.sources)))
    return _zip(entries)


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _segments_json(sources: Sequence[RefiSource]) -> bytes:
    body = {
        "format": SEGMENTS_FORMAT,
        "version": 1,
        "sources": {
            s.guid: {"sha256": _text_digest(s.text), "segments": [list(b) for b in s.segments]}
            for s in sources
            if s.segments
        },
    }
    return (json.dumps(body, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")


def export_qdc(codes: Sequence[RefiCode]) -> bytes:
    """A codebook-only .qdc file (REFI-QDA codebook schema; it has no place for users)."""
    project = canonical(RefiProject(name="codebook", codes=tuple(codes)))
    problems = _check_project(project)
    if not project.codes:
        problems.append("a codebook needs at least one code")
    _raise_problems(problems)
    root = _Node(
        "CodeBook",
        (("xmlns", CODEBOOK_NS), ("origin", ORIGIN)),
        (_codes_node(project.codes),),
    )
    return _xml_document(root)


def _name_key(
    record: RefiUser | RefiSource | RefiVariable | RefiCase | RefiNote,
) -> tuple[str, str]:
    return (record.name, record.guid)


def _depth_first(codes: list[RefiCode]) -> list[RefiCode]:
    known = {c.guid for c in codes}
    children: dict[str | None, list[int]] = {}
    for index, code in enumerate(codes):
        parent = code.parent_guid if code.parent_guid in known else None
        children.setdefault(parent, []).append(index)
    ordered: list[int] = []
    seen: set[int] = set()
    # An explicit stack, not recursion: a hierarchy thousands of levels deep must reach the
    # depth check in _check_project instead of a RecursionError.
    stack = [iter(children.get(None, []))]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
        elif child not in seen:
            seen.add(child)
            ordered.append(child)
            stack.append(iter(children.get(codes[child].guid, [])))
    # Codes caught in a parent cycle are unreachable from the roots; keep them so that the
    # export check reports the cycle instead of losing them.
    ordered += [i for i in range(len(codes)) if i not in seen]
    return [codes[i] for i in ordered]


def _raise_problems(problems: list[str]) -> None:
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise RefiError(
            f"cannot export: {problems[0]}{more}",
            "see the problems list; use refi.guid_for() to turn qualcode ids into GUIDs",
            problems,
        )


def _check_project(project: RefiProject) -> list[str]:
    """Every reason why ``project`` would not give a valid, self-consistent REFI file."""
    problems: list[str] = []
    seen: dict[str, str] = {}

    def guid(value: str, where: str) -> None:
        if normalise_guid(value) != value:
            problems.append(f"{where}: {value!r} is not a GUID")
        elif value in seen:
            problems.append(f"{where}: GUID {value} is also used by {seen[value]}")
        else:
            seen[value] = where

    def xml_text(value: str, where: str) -> None:
        bad = _XML_ILLEGAL_RE.search(value)
        if bad:
            problems.append(f"{where}: character U+{ord(bad.group()):04X} cannot be stored in XML")

    xml_text(project.name, "project name")
    for u in project.users:
        guid(u.guid, f"user {u.name!r}")
        xml_text(u.name, f"user {u.name!r}")
    codes = {c.guid: c for c in project.codes}
    for c in project.codes:
        where = f"code {c.name!r}"
        guid(c.guid, where)
        xml_text(c.name, where)
        xml_text(c.description, where)
        if c.parent_guid is not None and c.parent_guid not in codes:
            problems.append(f"{where}: parent {c.parent_guid} is not a code")
        if c.color is not None and not _RGB_RE.fullmatch(c.color):
            problems.append(f"{where}: colour {c.color!r} is not #RGB or #RRGGBB")
    cyclic = False
    for c in project.codes:
        if _in_cycle(c, codes):
            problems.append(f"code {c.name!r}: its parents form a cycle")
            cyclic = True
    if not cyclic:
        deepest = _deepest_code(project.codes)
        if deepest is not None and deepest[1] > MAX_CODE_DEPTH:
            problems.append(
                f"code {deepest[0].name!r}: codes nested deeper than {MAX_CODE_DEPTH} levels "
                f"(this one is at level {deepest[1]})"
            )
    sources = {s.guid: s for s in project.sources}
    for s in project.sources:
        where = f"source {s.name!r}"
        guid(s.guid, where)
        xml_text(s.name, where)
        try:
            s.text.encode("utf-8")
        except UnicodeEncodeError:
            problems.append(f"{where}: the text is not encodable as UTF-8")
        if s.text.startswith("\ufeff"):
            # Readers drop a leading BOM, which would shift every offset by one.
            problems.append(f"{where}: the text starts with a byte order mark (U+FEFF)")
        bad_segment = _bad_segments(s.segments, len(s.text))
        if bad_segment is not None:
            problems.append(f"{where}: segment {bad_segment}")
    users = {u.guid for u in project.users}
    for k in project.codings:
        where = f"coding {k.guid}"
        guid(k.guid, where)
        if k.code_guid not in codes:
            problems.append(f"{where}: code {k.code_guid} is not in the codebook")
        if k.user_guid is not None and k.user_guid not in users:
            problems.append(f"{where}: user {k.user_guid} is not in the users")
        source = sources.get(k.source_guid)
        if source is None:
            problems.append(f"{where}: source {k.source_guid} is not in the sources")
        elif not 0 <= k.start < k.end <= len(source.text):
            problems.append(
                f"{where}: range {k.start}-{k.end} is not inside {source.name!r} "
                f"({len(source.text)} characters)"
            )
    variables = {v.guid: v for v in project.variables}
    for v in project.variables:
        where = f"variable {v.name!r}"
        guid(v.guid, where)
        xml_text(v.name, where)
        if v.type not in VARIABLE_TYPES:
            problems.append(f"{where}: type {v.type!r} is not one of {', '.join(VARIABLE_TYPES)}")
    for case in project.cases:
        where = f"case {case.name!r}"
        guid(case.guid, where)
        xml_text(case.name, where)
        xml_text(case.description, where)
        problems += [
            f"{where}: source {s} is not in the sources"
            for s in case.source_guids
            if s not in sources
        ]
        for variable_guid, value in case.values:
            variable = variables.get(variable_guid)
            if variable is None:
                problems.append(f"{where}: variable {variable_guid} is not in the variables")
            elif value and not _valid_value(variable.type, value):
                problems.append(
                    f"{where}: {value!r} is not a valid {variable.type} for {variable.name!r}"
                )
            else:
                xml_text(value, where)
    for n in project.notes:
        where = f"note {n.name!r}"
        guid(n.guid, where)
        xml_text(n.name, where)
        xml_text(n.text, where)
    return problems


def _bad_segments(segments: Sequence[tuple[int, int]], length: int) -> str | None:
    """Why sorted segment boundaries cannot be a text's segments, or None if they can."""
    previous_end = 0
    for start, end in segments:
        if not 0 <= start < end <= length:
            return f"{start}-{end} is not inside the text ({length} characters)"
        if start < previous_end:
            return f"{start}-{end} overlaps the one before it"
        previous_end = end
    return None


def _deepest_code(codes: Sequence[RefiCode]) -> tuple[RefiCode, int] | None:
    """The first code at the greatest depth (top level is 1); codes must have no cycles."""
    by_guid = {c.guid: c for c in codes}
    depth: dict[str, int] = {}
    deepest: tuple[RefiCode, int] | None = None
    for code in codes:
        chain = []
        current: RefiCode | None = code
        while current is not None and current.guid not in depth:
            chain.append(current)
            parent = current.parent_guid
            current = by_guid.get(parent) if parent is not None else None
        level = 0 if current is None else depth[current.guid]
        for item in reversed(chain):
            level += 1
            depth[item.guid] = level
        if deepest is None or depth[code.guid] > deepest[1]:
            deepest = (code, depth[code.guid])
    return deepest


def _in_cycle(code: RefiCode, codes: dict[str, RefiCode]) -> bool:
    seen = {code.guid}
    parent = code.parent_guid
    while parent is not None and parent in codes:
        if parent in seen:
            return True
        seen.add(parent)
        parent = codes[parent].parent_guid
    return False


_VALUE_PATTERNS = {
    "Boolean": re.compile(r"true|false|1|0"),
    "Integer": re.compile(r"[+-]?\d+"),
    "Float": re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"),
    "Date": re.compile(r"(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})?"),
    "DateTime": re.compile(
        r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?)(?:Z|[+-]\d{2}:\d{2})?"
    ),
}


def _valid_value(kind: str, value: str) -> bool:
    """Whether ``value`` is in the XML Schema lexical space the REFI schema gives ``kind``."""
    pattern = _VALUE_PATTERNS.get(kind)
    if pattern is None:
        return True
    match = pattern.fullmatch(value)
    if match is None:
        return False
    try:
        if kind == "Date":
            date.fromisoformat(match.group(1))
        elif kind == "DateTime":
            datetime.fromisoformat(match.group(1))
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class _Node:
    tag: str
    attrs: tuple[tuple[str, str], ...] = ()
    children: tuple[_Node, ...] = ()
    text: str | None = None


def _codes_node(codes: Sequence[RefiCode]) -> _Node:
    children: dict[str | None, list[RefiCode]] = {}
    for code in codes:
        children.setdefault(code.parent_guid, []).append(code)

    def node(code: RefiCode) -> _Node:
        attrs = [("guid", code.guid), ("name", code.name)]
        attrs.append(("isCodable", "true" if code.codable else "false"))
        if code.color is not None:
            attrs.append(("color", code.color))
        inner = [_Node("Description", text=code.description)] if code.description else []
        inner += [node(child) for child in children.get(code.guid, [])]
        return _Node("Code", tuple(attrs), tuple(inner))

    return _Node("Codes", children=tuple(node(c) for c in children.get(None, [])))


def _case_node(case: RefiCase, types: dict[str, str]) -> _Node:
    inner: list[_Node] = []
    if case.description:
        inner.append(_Node("Description", text=case.description))
    for variable_guid, value in case.values:
        parts = [_Node("VariableRef", (("targetGUID", variable_guid),))]
        if value:
            parts.append(_Node(f"{types[variable_guid]}Value", text=value))
        inner.append(_Node("VariableValue", children=tuple(parts)))
    inner += [_Node("SourceRef", (("targetGUID", s),)) for s in case.source_guids]
    return _Node("Case", (("guid", case.guid), ("name", case.name)), tuple(inner))


def _source_node(source: RefiSource, spans: dict[tuple[int, int], list[RefiCoding]]) -> _Node:
    selections = []
    for (start, end), codings in spans.items():
        # Other tools show a selection's name as its label; ATLAS.ti uses the quoted text.
        snippet = _XML_ILLEGAL_RE.sub("\ufffd", " ".join(source.text[start:end].split()))
        name = snippet if len(snippet) <= 80 else snippet[:79] + "…"
        selections.append(
            _Node(
                "PlainTextSelection",
                (
                    ("guid", guid_for("selection", source.guid, str(start), str(end))),
                    ("name", name),
                    ("startPosition", str(start)),
                    ("endPosition", str(end)),
                ),
                tuple(_coding_node(c) for c in codings),
            )
        )
    return _Node(
        "TextSource",
        (
            ("guid", source.guid),
            ("name", source.name),
            ("plainTextPath", f"internal://{source.guid}.txt"),
        ),
        tuple(selections),
    )


def _coding_node(coding: RefiCoding) -> _Node:
    attrs = [("guid", coding.guid)]
    if coding.user_guid is not None:
        attrs.append(("creatingUser", coding.user_guid))
    return _Node("Coding", tuple(attrs), (_Node("CodeRef", (("targetGUID", coding.code_guid),)),))


def _escape_text(value: str) -> str:
    # A raw CR would come back as LF (XML end-of-line handling), so it is written as a reference.
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def _escape_attr(value: str) -> str:
    # Attribute values are whitespace-normalised by parsers unless tab/LF/CR are references.
    return _escape_text(value).replace('"', "&quot;").replace("\t", "&#9;").replace("\n", "&#10;")


def _render(node: _Node, depth: int, out: list[str]) -> None:
    indent = "  " * depth
    attrs = "".join(f' {k}="{_escape_attr(v)}"' for k, v in node.attrs)
    if node.text is not None:
        out.append(f"{indent}<{node.tag}{attrs}>{_escape_text(node.text)}</{node.tag}>\n")
    elif not node.children:
        out.append(f"{indent}<{node.tag}{attrs}/>\n")
    else:
        out.append(f"{indent}<{node.tag}{attrs}>\n")
        for child in node.children:
            _render(child, depth + 1, out)
        out.append(f"{indent}</{node.tag}>\n")


def _xml_document(root: _Node) -> bytes:
    out = ['<?xml version="1.0" encoding="utf-8"?>\n']
    _render(root, 0, out)
    return "".join(out).encode("utf-8")


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # the default depends on the platform, the bytes must not
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=9)
    return buffer.getvalue()


# --- import -------------------------------------------------------------------------------


@dataclass
class _Skipped:
    count: int = 0
    inner: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)


@dataclass
class _Warnings:
    """Collects what an import skips: one line per (element, reason), with counts."""

    skipped: dict[tuple[str, str], _Skipped] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def skip(self, element: Element | str, why: str, example: str | None = None) -> None:
        what = element if isinstance(element, str) else _local(element.tag)
        entry = self.skipped.setdefault((what, why), _Skipped())
        entry.count += 1
        if not isinstance(element, str):
            # Selections and codings inside are lost too; say how many.
            entry.inner.update(
                tag
                for e in element.iter()
                if e is not element and (tag := _local(e.tag)) in (*_SELECTION_TAGS, "Coding")
            )
        if example is not None:
            entry.examples.append(example)

    def note(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)

    def lines(self) -> list[str]:
        lines = list(self.notes)
        for (what, why), entry in self.skipped.items():
            inner = ", ".join(f"{n} {tag}" for tag, n in sorted(entry.inner.items()))
            inner = f" (containing {inner})" if inner else ""
            shown = ", ".join(entry.examples[:3])
            if len(entry.examples) > 3:
                shown += f" and {len(entry.examples) - 3} more"
            detail = f": {shown}" if shown else ""
            lines.append(f"skipped {_plural(entry.count, what)}{inner}: {why}{detail}")
        return lines


def _plural(count: int, what: str) -> str:
    return f"{count} {what} element" if count == 1 else f"{count} {what} elements"


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _namespace(tag: str) -> str:
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def _children(element: Element, name: str) -> Iterator[Element]:
    return (child for child in element if _local(child.tag) == name)


def _child_text(element: Element, name: str) -> str | None:
    for child in _children(element, name):
        return child.text or ""
    return None


def _parse_xml(data: bytes, what: str) -> Element:
    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden as error:
        raise RefiError(
            f"{what}: the XML has a document type declaration (DTD), which is refused: it can "
            "define entities that expand without bound or read files",
            "REFI-QDA files never need a DTD; re-export the file from the program that made it",
        ) from error
    except defusedxml.EntitiesForbidden as error:
        raise RefiError(f"{what}: the XML declares entities, which are refused") from error
    except defusedxml.ExternalReferenceForbidden as error:
        raise RefiError(f"{what}: the XML refers to external resources, refused") from error
    except ParseError as error:
        raise RefiError(f"{what}: not well-formed XML ({error})") from error
    except LookupError as error:  # <?xml encoding="x"?> naming no codec Python knows
        raise RefiError(
            f"{what}: the XML declares an unknown encoding ({error})",
            "REFI-QDA files are UTF-8; re-export the file from the program that made it",
        ) from error


class _Ids:
    """Normalises GUIDs; ids that are not GUIDs, and missing ones, get stable derived GUIDs."""

    def __init__(self) -> None:
        self.replaced: dict[str, None] = {}  # ordered set, for the warning
        self.missing = 0

    def __call__(self, value: str) -> str:
        normal = normalise_guid(value)
        if normal is not None:
            return normal
        self.replaced.setdefault(value, None)
        return guid_for("refi-id", value)

    def required(self, value: str | None, *context: str) -> str:
        """The element's GUID; a missing one is derived from ``context`` (unique per element)."""
        if value is not None and value.strip():
            return self(value)
        self.missing += 1
        return guid_for("refi-missing", *context)

    def optional(self, value: str | None) -> str | None:
        return None if value is None or not value.strip() else self(value)

    def report(self, warnings: _Warnings) -> None:
        if self.replaced:
            values = list(self.replaced)
            shown = ", ".join(repr(v) for v in values[:3])
            more = f" and {len(values) - 3} more" if len(values) > 3 else ""
            warnings.note(
                f"ids that are not GUIDs were replaced by GUIDs derived from them "
                f"({len(values)}): {shown}{more}"
            )
        if self.missing:
            warnings.note(
                f"elements without a guid were given one derived from their content "
                f"({self.missing})"
            )


def import_qdc(data: bytes) -> tuple[list[RefiCode], list[str]]:
    """Read a .qdc codebook; returns the codes (depth-first) and warnings about what was
    skipped. A project.qde is accepted too (its codebook is read)."""
    warnings = _Warnings()
    ids = _Ids()
    root = _parse_xml(data, "codebook")
    name = _local(root.tag)
    if name == "Project":
        warnings.note("the file is a REFI project, not a codebook; only its codebook was read")
        _check_namespace(root, PROJECT_NS, warnings)
        codebook = next(_children(root, "CodeBook"), None)
        codes = [] if codebook is None else _read_codes(codebook, ids, warnings)
    elif name == "CodeBook":
        _check_namespace(root, CODEBOOK_NS, warnings)
        codes = _read_codes(root, ids, warnings)
        for child in root:
            if _local(child.tag) == "Sets":
                for item in _children(child, "Set"):
                    warnings.skip(item, "code sets are not supported")
    else:
        raise RefiError(f"codebook: the root element is {name}, not a REFI-QDA CodeBook")
    ids.report(warnings)
    return codes, warnings.lines()


def import_qdpx(data: bytes, *, limits: ZipLimits = ZipLimits()) -> tuple[RefiProject, list[str]]:
    """Read a .qdpx archive; returns the project and warnings about what was skipped.

    The archive is untrusted: entries with ``..`` or absolute paths, too many entries, too
    much uncompressed data, zip-bomb compression ratios and XML with a DTD are refused with a
    :class:`RefiError` before anything is decompressed or parsed.
    """
    archive = _Archive(data, limits)
    warnings = _Warnings()
    qde = archive.project_entry(warnings)
    qde_name = qde.filename
    root = _parse_xml(archive.read(qde), qde_name)
    if _local(root.tag) != "Project":
        raise RefiError(f"{qde_name}: the root element is {_local(root.tag)}, not Project")
    _check_namespace(root, PROJECT_NS, warnings)
    reader = _ProjectReader(archive, warnings, root.get("origin") or "")
    project = reader.read(root)
    segments_entry = archive.find(SEGMENTS_ENTRY)
    if segments_entry is not None and project.sources:
        project = _with_segments(project, archive.read(segments_entry), warnings)
    return project, warnings.lines()


def _with_segments(project: RefiProject, raw: bytes, warnings: _Warnings) -> RefiProject:
    """``project`` with the segment boundaries of :data:`SEGMENTS_ENTRY` on its sources.

    The entry is a convenience, never a reason to refuse a file: if it cannot be read, or
    does not fit a source's text (another program changed it), that source's segments are
    left empty for the caller to recompute, with a warning.
    """
    try:
        # RecursionError: json gives up on arrays nested thousands deep.
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        body = None
    entries = body.get("sources") if isinstance(body, dict) else None
    if not (
        isinstance(body, dict)
        and body.get("format") == SEGMENTS_FORMAT
        and body.get("version") == 1
        and isinstance(entries, dict)
    ):
        warnings.note(f"{SEGMENTS_ENTRY} is not readable; segments were recomputed")
        return project
    sources = []
    stale = 0
    for source in project.sources:
        entry = entries.get(source.guid)
        segments = _segment_list(entry, source.text) if isinstance(entry, dict) else None
        if entry is not None and segments is None:
            stale += 1
        sources.append(replace(source, segments=segments or ()))
    if stale:
        warnings.note(
            f"{SEGMENTS_ENTRY} does not fit the text of {stale} source(s); "
            "their segments were recomputed"
        )
    return replace(project, sources=tuple(sources))


def _segment_list(entry: dict[str, object], text: str) -> tuple[tuple[int, int], ...] | None:
    if entry.get("sha256") != _text_digest(text):
        return None
    items = entry.get("segments")
    if not isinstance(items, list):
        return None
    segments: list[tuple[int, int]] = []
    for item in items:
        if not (
            isinstance(item, list)
            and len(item) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in item)
        ):
            return None
        segments.append((item[0], item[1]))
    if segments != sorted(segments) or _bad_segments(segments, len(text)) is not None:
        return None
    return tuple(segments)


def _check_namespace(root: Element, expected: str, warnings: _Warnings) -> None:
    namespace = _namespace(root.tag)
    if namespace == expected:
        return
    if not namespace.startswith("urn:QDA-XML:") and namespace:
        raise RefiError(f"the XML namespace {namespace!r} is not a REFI-QDA one ({expected})")
    shown = repr(namespace) if namespace else "no namespace"
    warnings.note(f"the file uses {shown} instead of {expected!r}; read as REFI-QDA 1.0")


class _Archive:
    """A checked view of an untrusted zip (see :mod:`qualcode.safezip`), found by path."""

    def __init__(self, data: bytes, limits: ZipLimits) -> None:
        try:
            self.zip = SafeZip(
                data,
                SafeZipLimits(
                    limits.max_entries,
                    limits.max_total_size,
                    limits.max_ratio,
                    limits.ratio_min_size,
                ),
            )
        except ArchiveError as error:
            if error.damaged:
                raise RefiError(
                    f"not a QDPX file: {error.problem}",
                    "a .qdpx is a zip archive; a .qdc codebook is read with the codebook import",
                ) from error
            raise RefiError(error.problem) from error
        self.files: dict[str, zipfile.ZipInfo] = {}
        for info in self.zip.entries:
            self.files.setdefault(info.filename.replace("\\", "/").lower(), info)

    def find(self, path: str) -> zipfile.ZipInfo | None:
        # Folder and file names differ in case between tools (Sources/ vs sources/, GUIDs).
        return self.files.get(path.replace("\\", "/").lower())

    def project_entry(self, warnings: _Warnings) -> zipfile.ZipInfo:
        info = self.find("project.qde")
        if info is not None:
            return info
        candidates = [i for k, i in self.files.items() if k.endswith(".qde") and "/" not in k]
        if len(candidates) == 1:
            warnings.note(f"no project.qde in the archive; read {candidates[0].filename}")
            return candidates[0]
        raise RefiError(
            "not a QDPX file: the archive has no project.qde",
            "export the project again as REFI-QDA (.qdpx) from the program that made it",
        )

    def read(self, info: zipfile.ZipInfo) -> bytes:
        try:
            return self.zip.read(info)
        except ArchiveError as error:
            raise RefiError(error.problem) from error


def _decode_text(raw: bytes) -> tuple[str, str | None]:
    """The text and, if it was not UTF-8, the encoding used instead."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "UTF-16"
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        # One character per byte, so offsets written by a tool that used it still line up.
        return raw.decode("cp1252", errors="replace"), "Windows-1252"


class _ProjectReader:
    def __init__(self, archive: _Archive, warnings: _Warnings, origin: str) -> None:
        self.archive = archive
        self.warnings = warnings
        self.ids = _Ids()
        self.atlas = origin.startswith("ATLAS.ti")
        self.users: dict[str, RefiUser] = {}
        self.codes: dict[str, RefiCode] = {}
        self.sources: list[RefiSource] = []
        self.codings: list[RefiCoding] = []
        self.coding_guids: set[str] = set()
        self.variables: dict[str, RefiVariable] = {}
        self.cases: list[RefiCase] = []
        self.notes: list[RefiNote] = []

    def read(self, root: Element) -> RefiProject:
        # Cases refer to sources and variables, so sections are read in this order whatever
        # the file's order (the schema fixes it anyway, but not every tool follows it).
        order = ("Users", "CodeBook", "Variables", "Sources", "Cases")
        sections = sorted(
            root, key=lambda e: order.index(t) if (t := _local(e.tag)) in order else 9
        )
        for section in sections:
            name = _local(section.tag)
            if name == "Users":
                self._users(section)
            elif name == "CodeBook":
                for code in _read_codes(section, self.ids, self.warnings):
                    self.codes[code.guid] = code
            elif name == "Variables":
                self._variables(section)
            elif name == "Sources":
                for source in section:
                    self._source(source)
            elif name == "Cases":
                for case in _children(section, "Case"):
                    self._case(case)
            elif name == "Notes":
                for note in _children(section, "Note"):
                    self._note(note)
            elif name in ("Links", "Sets", "Graphs"):
                for item in section:
                    self.warnings.skip(item, f"{name.lower()} are not supported")
            else:
                self.warnings.skip(section, "not supported on a project")
        self.ids.report(self.warnings)
        return RefiProject(
            name=root.get("name") or "",
            users=tuple(self.users.values()),
            codes=tuple(self.codes.values()),
            sources=tuple(self.sources),
            codings=tuple(self.codings),
            variables=tuple(self.variables.values()),
            cases=tuple(self.cases),
            notes=tuple(self.notes),
        )

    def _note(self, element: Element) -> None:
        name = element.get("name") or ""
        guid = self.ids.required(element.get("guid"), "note", str(len(self.notes)), name)
        text = self._source_text(element, name or guid, element.get("plainTextPath") or "")
        if text is None:
            return
        self.notes.append(RefiNote(guid, name, text))

    def _users(self, section: Element) -> None:
        for user in _children(section, "User"):
            guid = self.ids.required(user.get("guid"), "user", user.get("name") or "")
            if guid in self.users:
                self.warnings.skip(user, "another user has the same GUID")
                continue
            self.users[guid] = RefiUser(guid, user.get("name") or user.get("id") or "")

    def _user(self, value: str | None) -> str | None:
        guid = self.ids.optional(value)
        if guid is not None and guid not in self.users:
            self.users[guid] = RefiUser(guid, "")
            self.warnings.note(
                "codings name users that are not in <Users>; they were added without a name"
            )
        return guid

    def _variables(self, section: Element) -> None:
        for variable in _children(section, "Variable"):
            guid = self.ids.required(variable.get("guid"), "variable", variable.get("name") or "")
            kind = variable.get("typeOfVariable") or "Text"
            if kind not in VARIABLE_TYPES:
                self.warnings.note(f"variable type {kind!r} is unknown; read as Text")
                kind = "Text"
            for description in _children(variable, "Description"):
                self.warnings.skip(description, "variable descriptions are not imported")
            if guid in self.variables:
                self.warnings.skip(variable, "another variable has the same GUID")
                continue
            self.variables[guid] = RefiVariable(guid, variable.get("name") or "", kind)

    def _source(self, element: Element) -> None:
        kind = _local(element.tag)
        if kind != "TextSource":
            known = kind in _NON_TEXT_SOURCES
            self.warnings.skip(
                element, "qualcode imports plain-text sources only" if known else "unknown source"
            )
            return
        path = element.get("plainTextPath") or ""
        guid = self.ids.required(
            element.get("guid"), "source", str(len(self.sources)), element.get("name") or "", path
        )
        name = element.get("name")
        if name is None:  # optional in the schema; the file name is the next best label
            name = path.rpartition("/")[2] or guid
        text = self._source_text(element, name, path)
        if text is None:
            return
        self.sources.append(RefiSource(guid, name, text))
        for child in element:
            child_kind = _local(child.tag)
            if child_kind == "PlainTextSelection":
                self._selection(child, guid, text)
            elif child_kind == "Coding":
                self.warnings.skip(child, "codings of a whole source are not imported")
            elif child_kind == "Description":
                self.warnings.skip(child, "source descriptions (memos) are not imported")
            elif child_kind == "NoteRef":
                self.warnings.skip(child, "notes are not supported")
            elif child_kind == "VariableValue":
                self.warnings.skip(child, "variables are imported on cases only")

    def _source_text(self, element: Element, name: str, path: str) -> str | None:
        # The schema allows the text inline (PlainTextContent) or as a file (plainTextPath).
        inline = _child_text(element, "PlainTextContent")
        if not path:
            if inline is None:
                self.warnings.skip(element, "no plain text (only rich text)", repr(name))
            return inline
        scheme, sep, rest = path.partition("://")
        if not sep:
            scheme, rest = "internal", path  # seen in practice: a bare file name in sources/
        rest = rest.lstrip("/")
        info = None
        if scheme == "internal":
            info = self.archive.find(f"sources/{rest}") or self.archive.find(rest)
        if info is None:
            if inline is not None:
                return inline
            why = "the plain-text file is missing from the archive"
            if scheme != "internal":
                why = "the plain-text file is outside the archive"
            self.warnings.skip(element, why, f"{name!r} ({path if scheme != 'internal' else rest})")
            return None
        text, encoding = _decode_text(self.archive.read(info))
        if encoding is not None:
            self.warnings.note(f"source {name!r} is not UTF-8; read as {encoding}")
        if self.atlas and "\r\n" in text:
            text = text.replace("\r\n", "\n")
            self.warnings.note(
                f"source {name!r}: CRLF line ends turned into LF, because ATLAS.ti counts "
                "a line break as one character in its offsets"
            )
        return text

    def _selection(self, element: Element, source_guid: str, text: str) -> None:
        try:
            start = int(element.get("startPosition") or "")
            end = int(element.get("endPosition") or "")
        except ValueError:
            self.warnings.skip(element, "its positions are not integers")
            return
        if not 0 <= start < end <= len(text):
            self.warnings.skip(
                element, "the range is empty or outside the source text", f"{start}-{end}"
            )
            return
        for child in element:
            if _local(child.tag) == "Description":
                self.warnings.skip(child, "selection descriptions (memos) are not imported")
            elif _local(child.tag) == "NoteRef":
                self.warnings.skip(child, "notes are not supported")
        codings = list(_children(element, "Coding"))
        if not codings:
            self.warnings.skip(element, "it has no coding")
        for coding in codings:
            ref = next(_children(coding, "CodeRef"), None)
            target = None if ref is None else self.ids.optional(ref.get("targetGUID"))
            if target is None or target not in self.codes:
                self.warnings.skip(coding, "the code it refers to is not in the codebook")
                continue
            guid = self.ids.required(
                coding.get("guid"), "coding", source_guid, str(start), str(end), target
            )
            if guid in self.coding_guids:
                self.warnings.skip(coding, "another coding has the same GUID")
                continue
            self.coding_guids.add(guid)
            # ATLAS.ti puts creatingUser on both; some tools only on the selection.
            user = self._user(coding.get("creatingUser") or element.get("creatingUser"))
            self.codings.append(RefiCoding(guid, source_guid, start, end, target, user))

    def _case(self, element: Element) -> None:
        imported = {s.guid for s in self.sources}
        source_guids: list[str] = []
        for ref in _children(element, "SourceRef"):
            target = self.ids.optional(ref.get("targetGUID"))
            if target is not None and target in imported:
                source_guids.append(target)
            else:
                self.warnings.skip(ref, "the source it refers to was not imported")
        values: list[tuple[str, str]] = []
        for item in _children(element, "VariableValue"):
            variable_ref = next(_children(item, "VariableRef"), None)
            target = (
                None if variable_ref is None else self.ids.optional(variable_ref.get("targetGUID"))
            )
            variable = self.variables.get(target or "")
            if variable is None:
                self.warnings.skip(item, "its variable is not in <Variables>")
                continue
            value = next(
                (c.text or "" for c in item if _local(c.tag).endswith("Value")),
                "",
            )
            if variable.type != "Text":
                value = value.strip()  # XML Schema collapses whitespace in these types
            if value and not _valid_value(variable.type, value):
                self.warnings.skip(
                    item,
                    "the value does not match the variable's type",
                    f"{variable.name}={value!r}",
                )
                continue
            values.append((variable.guid, value))
        for child in element:
            if _local(child.tag) in ("CodeRef", "SelectionRef"):
                self.warnings.skip(child, "cases group whole sources only")
        self.cases.append(
            RefiCase(
                guid=self.ids.required(element.get("guid"), "case", element.get("name") or ""),
                name=element.get("name") or "",
                description=_child_text(element, "Description") or "",
                source_guids=tuple(source_guids),
                values=tuple(values),
            )
        )


def _read_codes(container: Element, ids: _Ids, warnings: _Warnings) -> list[RefiCode]:
    """The codes under a CodeBook (or codebook root) element, depth-first."""
    codes: list[RefiCode] = []
    seen: set[str] = set()

    def walk(top: Element) -> None:
        # Iterative, with a depth limit: nesting is the file's to choose, the stack is not.
        stack: list[tuple[Iterator[Element], str | None]] = [(_children(top, "Code"), None)]
        while stack:
            children, parent = stack[-1]
            code = next(children, None)
            if code is None:
                stack.pop()
                continue
            if len(stack) > MAX_CODE_DEPTH:
                raise RefiError(
                    f"codes nested deeper than {MAX_CODE_DEPTH} levels "
                    f"(code {code.get('name')!r} is at level {len(stack)})",
                    f"qualcode reads at most {MAX_CODE_DEPTH} levels of codes; flatten the "
                    "hierarchy in the program that made the file and export it again",
                )
            raw = code.get("guid")
            if not raw:
                raise RefiError(f"code {code.get('name')!r} has no guid")
            guid = ids(raw)
            if guid in seen:
                raise RefiError(
                    f"code GUID {guid} is used by more than one code",
                    "codings could not tell the codes apart; fix the codebook in its program",
                )
            seen.add(guid)
            color = (code.get("color") or "").strip() or None
            if color is not None and not _RGB_RE.fullmatch(color):
                warnings.note(
                    f"code {code.get('name')!r}: colour {color!r} is not #RRGGBB; dropped"
                )
                color = None
            for note in _children(code, "NoteRef"):
                warnings.skip(note, "notes are not supported")
            codes.append(
                RefiCode(
                    guid=guid,
                    name=code.get("name") or "",
                    description=_child_text(code, "Description") or "",
                    parent_guid=parent,
                    codable=(code.get("isCodable") or "true").strip() not in ("false", "0"),
                    color=color,
                )
            )
            stack.append((_children(code, "Code"), guid))

    for codes_element in _children(container, "Codes"):
        walk(codes_element)
    return codes
