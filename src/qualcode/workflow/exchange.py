"""REFI-QDA exchange where it meets the project: ``export qdpx/qdc``, ``import qdpx``,
``codebook import-qdc``.

Export: sources are the documents' texts (pseudonymised unless asked otherwise, with the
coded offsets moved accordingly), codes come with their definitions, coded selections are
the coded segments with their coder, and cities and document attributes become Cases and
Variables. Every segment's boundaries travel too (see :data:`qualcode.refi.SEGMENTS_ENTRY`).

GUIDs are stable, so two exports of the same project diff cleanly, and they survive a round
trip: a document imported from a REFI file keeps its source's GUID, and the GUIDs of codings
and cases derive from the source's GUID and the exported offsets, not from qualcode's
document and segment ids (which derive from the text, and the text of a pseudonymised export
is not the project's). So exporting, importing into a new project and exporting again gives
the same file, in both modes, except the project's name.

Import: the segments carried by a qualcode export are taken as they are. Otherwise the text
is segmented as any imported document is, and since qualcode codes whole segments, a
selection that does not match segment boundaries codes every segment it overlaps; how many
were widened is reported as a warning together with whatever the file holds that qualcode
cannot represent.
"""

from __future__ import annotations

import bisect
import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from qualcode import refi
from qualcode.codebook import Code, Codebook
from qualcode.csvout import atomic_write_bytes
from qualcode.errors import QualcodeError
from qualcode.project import Project
from qualcode.records import DocumentMeta, Segment, Transcript
from qualcode.segment import segment_document
from qualcode.textutil import count_words, document_id, segment_id, sha256_hex

_VARIABLES = ("city", "role", "organisation_type", "kind", "date")


def _description(code: Code) -> str:
    parts = []
    if code.definition:
        parts.append(f"Määritelmä: {code.definition}")
    if code.include:
        parts.append(f"Käytä, kun: {code.include}")
    if code.exclude:
        parts.append(f"Älä käytä, kun: {code.exclude}")
    if code.examples:
        parts.append("Esimerkkejä:\n" + "\n".join(f"- {e}" for e in code.examples))
    # The id travels with the code, so a round trip through another tool keeps it.
    parts.append(f"[qualcode: {code.id}]")
    return "\n\n".join(parts)


_ID_MARK = re.compile(r"\n*\[qualcode: ([a-z][a-z0-9_]*)\]\s*$")
_SECTIONS = (
    ("Määritelmä: ", "definition"),
    ("Käytä, kun: ", "include"),
    ("Älä käytä, kun: ", "exclude"),
    ("Esimerkkejä:\n", "examples"),
)


def _parse_description(text: str) -> tuple[str | None, dict[str, str], tuple[str, ...]]:
    """(qualcode id, definition/include/exclude, examples) from a description written by
    :func:`_description`; other tools' descriptions become the definition."""
    match = _ID_MARK.search(text)
    code_id = match.group(1) if match else None
    body = text[: match.start()] if match else text
    fields: dict[str, str] = {}
    examples: tuple[str, ...] = ()
    blocks = body.split("\n\n") if body.startswith(_SECTIONS[0][0]) else []
    for block in blocks:
        for prefix, key in _SECTIONS:
            if block.startswith(prefix):
                value = block[len(prefix) :]
                if key == "examples":
                    examples = tuple(
                        line[2:] for line in value.splitlines() if line.startswith("- ")
                    )
                else:
                    fields[key] = fields.get(key, "") + value
                break
        else:
            fields = {}
            break
    if not fields and not examples:
        fields = {"definition": body.strip()}
    return code_id, fields, examples


def _refi_codes(codebook: Codebook) -> tuple[refi.RefiCode, ...]:
    return tuple(
        refi.RefiCode(
            guid=refi.guid_for("code", c.id),
            name=c.label,
            description=_description(c),
            parent_guid=refi.guid_for("code", c.parent) if c.parent else None,
            codable=c.codable,
        )
        for c in codebook.codes
    )


_IMPORTED_FROM = re.compile(
    r"(?i:\.qdpx):(?P<guid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)


def _source_guids(project: Project) -> dict[str, str]:
    """Document id -> the GUID its source gets in an export.

    A document imported from a .qdpx keeps the GUID it had there (import_qdpx records it in
    ``source_path``), unless another document has it already; the others get a GUID derived
    from the document id, which no later import can change.
    """
    documents = project.store.documents.all()
    kept = {
        doc.id: m.group("guid")
        for doc in documents
        if (m := _IMPORTED_FROM.search(doc.source_path))
    }
    guids = {doc.id: refi.guid_for("document", doc.id) for doc in documents if doc.id not in kept}
    taken = set(guids.values())
    for doc in documents:  # by name, so which of two claimants keeps a GUID is stable
        guid = kept.get(doc.id)
        if guid is not None:
            guids[doc.id] = guid if guid not in taken else refi.guid_for("document", doc.id)
            taken.add(guids[doc.id])
    return guids


def build_refi_project(project: Project, *, pseudonymise: bool = True) -> refi.RefiProject:
    from qualcode.pseudonymise import TextMapper, unchanged_mapper
    from qualcode.workflow._analysis import load_project_codebook
    from qualcode.workflow.names import text_mapper

    codebook = load_project_codebook(project)
    store = project.store
    mapper: TextMapper = text_mapper(project) if pseudonymise else unchanged_mapper
    sources = []
    maps: dict[str, Callable[[int], int]] = {}
    guid_of = _source_guids(project)
    docs = store.reads.export_documents()
    for doc in docs:
        new_text, move = mapper(doc.text)
        maps[doc.id] = move
        # The offsets move with the text, so the segments stay on the same words.
        bounds = [(move(s.start), move(s.end)) for s in store.documents.segments(doc.id)]
        sources.append(
            refi.RefiSource(
                guid_of[doc.id], doc.name, new_text, tuple((a, b) for a, b in bounds if a < b)
            )
        )
    exported = store.reads.export_codings()
    coders = sorted({c.coder for c in exported}) or [project.settings.coder]
    users = tuple(refi.RefiUser(refi.guid_for("user", c), c) for c in coders)
    known = {c.id for c in codebook.codes}
    codings = []
    for c in exported:
        if c.code_id not in known:
            continue
        source_guid = guid_of[c.document_id]
        new_start, new_end = maps[c.document_id](c.start), maps[c.document_id](c.end)
        code_guid, user_guid = refi.guid_for("code", c.code_id), refi.guid_for("user", c.coder)
        codings.append(
            refi.RefiCoding(
                # From what the file says, not from the segment id: see the module docstring.
                guid=refi.guid_for(
                    "coding", source_guid, str(new_start), str(new_end), code_guid, user_guid
                ),
                source_guid=source_guid,
                start=new_start,
                end=new_end,
                code_guid=code_guid,
                user_guid=user_guid,
            )
        )
    variables = tuple(
        refi.RefiVariable(refi.guid_for("variable", v), v, "Date" if v == "date" else "Text")
        for v in _VARIABLES
    )
    var = {v.name: v.guid for v in variables}
    cases = []
    by_city: dict[str, list[str]] = {}
    for doc in docs:
        by_city.setdefault(doc.city or "", []).append(guid_of[doc.id])
        values = [
            (var[k], str(v))
            for k, v in (
                ("city", doc.city),
                ("role", doc.role),
                ("organisation_type", doc.organisation_type),
                ("kind", doc.kind),
                ("date", doc.date),
            )
            if v
        ]
        cases.append(
            refi.RefiCase(
                refi.guid_for("case", "source", guid_of[doc.id]),
                doc.name,
                source_guids=(guid_of[doc.id],),
                values=tuple(values),
            )
        )
    for city, guids in sorted(by_city.items()):
        if city:
            cases.append(
                refi.RefiCase(
                    refi.guid_for("case", "city", city),
                    city,
                    source_guids=tuple(guids),
                    values=((var["city"], city),),
                )
            )
    return refi.RefiProject(
        project.settings.name,
        users,
        _refi_codes(codebook),
        tuple(sources),
        tuple(codings),
        variables,
        tuple(cases),
        _memo_notes(project, codebook, sorted(by_city), mapper if pseudonymise else None),
    )


def _memo_notes(
    project: Project,
    codebook: Codebook,
    cities: Sequence[str],
    mapper: Callable[[str], tuple[str, Callable[[int], int]]] | None,
) -> tuple[refi.RefiNote, ...]:
    """The researcher's memos as REFI-QDA notes named ``"<file>: <section>"``.

    Checked as a report run checks them (a bad id stops the export); pseudonymised with the
    sources, since the archive leaves the project as the reports do.
    """
    from qualcode.memos import MEMO_DIR
    from qualcode.workflow.reporting import project_memos

    memos = project_memos(project, codebook, [c for c in cities if c])
    notes = []
    for _city, memo in memos.all():
        stem = memo.source.removeprefix(f"{MEMO_DIR}/").removesuffix(".md")
        name = f"{stem}: {memo.section}"
        text = "\n\n".join(memo.paragraphs)
        if mapper is not None:
            text = mapper(text)[0]
        notes.append(refi.RefiNote(refi.guid_for("note", name), name, text))
    return tuple(notes)


def export_qdpx(project: Project, out: Path, *, pseudonymise: bool = True) -> int:
    data = refi.export_qdpx(build_refi_project(project, pseudonymise=pseudonymise))
    atomic_write_bytes(out, data)
    return len(data)


def export_qdc(project: Project, out: Path) -> int:
    from qualcode.workflow._analysis import load_project_codebook

    data = refi.export_qdc(_refi_codes(load_project_codebook(project)))
    atomic_write_bytes(out, data)
    return len(data)


# --- import ---------------------------------------------------------------------------------


def _slug(name: str, taken: set[str]) -> str:
    ascii_name = unicodedata.normalize("NFKD", name.lower()).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "_", ascii_name).strip("_") or "koodi"
    if not base[0].isalpha():
        base = "k_" + base
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}_{n}", n + 1
    taken.add(slug)
    return slug


def codes_to_codebook(codes: Sequence[refi.RefiCode], name: str) -> tuple[Codebook, dict[str, str]]:
    """A qualcode codebook (no rules) from REFI codes, and the map GUID -> code id."""
    parsed = {c.guid: _parse_description(c.description) for c in codes}
    taken: set[str] = set()
    ids: dict[str, str] = {}
    for c in codes:  # ids carried by qualcode's own exports first, then slugs of the names
        own = parsed[c.guid][0]
        if own and own not in taken:
            ids[c.guid] = own
            taken.add(own)
    for c in codes:
        if c.guid not in ids:
            ids[c.guid] = _slug(c.name, taken)
    ours = tuple(
        Code(
            id=ids[c.guid],
            label=c.name.strip() or ids[c.guid],
            parent=ids.get(c.parent_guid) if c.parent_guid else None,
            definition=parsed[c.guid][1].get("definition", ""),
            include=parsed[c.guid][1].get("include", ""),
            exclude=parsed[c.guid][1].get("exclude", ""),
            examples=parsed[c.guid][2],
            codable=c.codable,
        )
        for c in codes
    )
    return Codebook(name=name, version="1", language="fi", codes=ours), ids


def import_qdc(path: Path, out: Path) -> tuple[int, list[str]]:
    """Write a YAML codebook (ready for rules to be added) from a REFI .qdc file."""
    import yaml

    try:
        codes, warnings = refi.import_qdc(_read(path))
    except refi.RefiError as exc:
        raise refi.RefiError(f"{path}: {exc.message}", exc.hint, exc.problems) from None
    if not codes:
        raise QualcodeError(f"{path}: the codebook has no codes")
    book, _ = codes_to_codebook(codes, path.stem)
    text = yaml.safe_dump(book.to_dict(), allow_unicode=True, sort_keys=False, width=100)
    atomic_write_bytes(out, text.encode("utf-8"))
    return len(codes), warnings


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise QualcodeError(f"{path}: cannot read ({exc.strerror})") from None


def _normalised(text: str) -> tuple[str, Callable[[int], int]]:
    """qualcode's line ends (LF) and NFC, with a map from old to new offsets."""
    if "\r" not in text and unicodedata.is_normalized("NFC", text):
        return text, lambda i: i
    positions = [0] * (len(text) + 1)
    out: list[str] = []
    i = 0
    while i < len(text):
        positions[i] = len(out)
        ch = text[i]
        if ch == "\r":
            out.append("\n")
            if i + 1 < len(text) and text[i + 1] == "\n":
                positions[i + 1] = len(out)
                i += 1
        else:
            out.append(ch)
        i += 1
    positions[len(text)] = len(out)
    joined = "".join(out)
    if not unicodedata.is_normalized("NFC", joined):
        # Composing characters shifts offsets unpredictably; keep the text as it is.
        return joined, lambda k: positions[k]
    return joined, lambda k: positions[k]


def _meta(values: dict[str, str], city: str) -> DocumentMeta:
    kind = values.get("kind", "interview")
    date = values.get("date", "")
    return DocumentMeta(
        city=city,
        role=values.get("role") or None,
        organisation_type=values.get("organisation_type") or None,
        kind="workshop" if kind == "workshop" else "interview",
        date=date if re.fullmatch(r"\d{4}-\d{2}-\d{2}", date) else None,
    )


def _segments(
    doc: str,
    text: str,
    carried: Sequence[tuple[int, int]],
    move: Callable[[int], int],
    project: Project,
) -> list[Segment]:
    """The document's segments: those the file carries (a qualcode export), else its own.

    Carried boundaries are the exporting project's segments, which this project could not
    recompute: pseudonyms change word counts and so where a long turn is cut, and the two
    projects may segment with different settings. Speaker, unit and times come from this
    project's segmentation of the same text, from the segment each carried one starts in.
    """
    own = segment_document(doc, text, settings=project.settings.segment)
    bounds = [(a, b) for a, b in ((move(a), move(b)) for a, b in carried) if a < b]
    if not bounds or bounds == [(s.start, s.end) for s in own]:
        return own
    starts = [s.start for s in own]
    text_sha = sha256_hex(text)
    segments = []
    for seq, (start, end) in enumerate(bounds, start=1):
        i = bisect.bisect_right(starts, start) - 1
        base = own[i] if i >= 0 and own[i].end > start else None
        if base is None and i + 1 < len(own) and own[i + 1].start < end:
            base = own[i + 1]
        segments.append(
            Segment(
                id=segment_id(text_sha, start, end),
                document_id=doc,
                seq=seq,
                speaker=base.speaker if base else None,
                is_interviewer=base.is_interviewer if base else False,
                unit=base.unit if base else "paragraph",
                start=start,
                end=end,
                text=text[start:end],
                words=count_words(text[start:end]),
                start_time=base.start_time if base and base.start == start else None,
                end_time=base.end_time if base and base.end == end else None,
            )
        )
    return segments


@dataclass(frozen=True)
class QdpxImport:
    documents: int
    skipped_documents: int
    codes: int
    codings: int
    warnings: tuple[str, ...]
    memos: int = 0  # notes written into memos/


def import_qdpx(project: Project, path: Path, *, city: str | None = None) -> QdpxImport:
    """Import sources, codes and codings from a .qdpx into the project (one transaction)."""
    try:
        data, found = refi.import_qdpx(_read(path))
    except refi.RefiError as exc:  # name the file, as every import error does
        raise refi.RefiError(f"{path}: {exc.message}", exc.hint, exc.problems) from None
    warnings = list(found)
    store = project.store
    codebook, code_ids = codes_to_codebook(data.codes, data.name or path.stem)
    users = {u.guid: u.name for u in data.users}
    var_names = {v.guid: v.name.lower() for v in data.variables}
    # Attributes of a source come from the cases that contain it (city from a city case, role
    # and kind from a per-document case, as qualcode exports them).
    attributes: dict[str, dict[str, str]] = {}
    for case in data.cases:
        for guid, value in case.values:
            name = {"kaupunki": "city", "kunta": "city"}.get(
                var_names.get(guid, ""), var_names.get(guid, "")
            )
            for source_guid in case.source_guids:
                attributes.setdefault(source_guid, {}).setdefault(name, value)
    city_of = {s: a["city"] for s, a in attributes.items() if a.get("city")}
    fallback = city or data.name or path.stem
    if not city and any(s.guid not in city_of for s in data.sources):
        warnings.append(
            f"no city variable for some sources; they were given the city "
            f"'{fallback}' (use --city to choose)"
        )
    imported = skipped = codings = widened = 0
    with store.transaction():
        store.codes.upsert_codes(
            [(c.id, c.label, c.parent, c.definition) for c in codebook.codes],
            retire_missing=False,
        )
        if store.codes.latest_codebook() is None:
            store.codes.record_codebook(
                codebook.digest,
                codebook.name,
                codebook.version,
                f"qdpx:{path.name}",
                json.dumps(codebook.to_dict(), ensure_ascii=False, sort_keys=True),
            )
        segments_of: dict[str, list[tuple[str, int, int]]] = {}
        moves: dict[str, Callable[[int], int]] = {}
        for source in data.sources:
            text, move = _normalised(source.text)
            if not text.strip():
                warnings.append(f"source '{source.name}' is empty and was skipped")
                skipped += 1
                continue
            doc = document_id(text)
            name = source.name
            if store.documents.document_by_id(doc) or store.documents.document_by_name(name):
                warnings.append(f"source '{source.name}' is already in the project; skipped")
                skipped += 1
                continue
            transcript = Transcript(
                id=doc,
                name=name,
                source_path=f"{path.name}:{source.guid}",
                sha256=sha256_hex(text),
                format="qdpx",
                encoding="utf-8",
                title=source.name,
                meta=_meta(attributes.get(source.guid, {}), city_of.get(source.guid, fallback)),
                language=project.settings.language,
                text=text,
                words=count_words(text),
            )
            segments = _segments(doc, text, source.segments, move, project)
            store.documents.insert_document(transcript)
            store.documents.insert_segments(segments)
            segments_of[source.guid] = [(s.id, s.start, s.end) for s in segments]
            moves[source.guid] = move
            imported += 1
        for coding in data.codings:
            spans = segments_of.get(coding.source_guid)
            if spans is None:
                continue
            start, end = (
                moves[coding.source_guid](coding.start),
                moves[coding.source_guid](coding.end),
            )
            hit = [s for s in spans if s[1] < end and start < s[2]]
            if not hit:
                warnings.append(
                    f"a coding at {coding.start}-{coding.end} falls between "
                    "segments and was not imported"
                )
                continue
            if not (len(hit) == 1 and hit[0][1] == start and hit[0][2] == end):
                widened += 1
            coder = users.get(coding.user_guid or "", "qdpx")
            for segment_id, _, _ in hit:
                if store.decisions.accept_coding(
                    segment_id, code_ids[coding.code_guid], coder, "qdpx", None
                ):
                    store.decisions.log(
                        coder,
                        "import",
                        segment_id=segment_id,
                        code_id=code_ids[coding.code_guid],
                        detail=path.name,
                    )
                    codings += 1
        # Last, inside the transaction: a memo that cannot be written undoes the import.
        memos = _import_notes(project, data.notes, warnings)
    if widened:
        warnings.append(
            f"{widened} coded selection(s) did not match qualcode's segments and "
            "now code the whole segments they overlap"
        )
    return QdpxImport(imported, skipped, len(codebook.codes), codings, tuple(warnings), memos)


_NOTE_NAME = re.compile(r"^([^:/\\]+): ([\w-]+)$")
FOREIGN_NOTES = "_tuodut-muistiot.md"


def _import_notes(project: Project, notes: Sequence[refi.RefiNote], warnings: list[str]) -> int:
    """Notes into ``memos/``: qualcode's own back into their files, others into one draft.

    A memo already in the project is never overwritten: its section is kept and the note is
    reported. Other tools' notes go to ``memos/_tuodut-muistiot.md`` (files starting with
    ``_`` are drafts that reports do not read) for the researcher to move where they belong.
    """
    from qualcode.memos import MEMO_DIR

    if not notes:
        return 0
    folder = project.root / MEMO_DIR
    additions: dict[str, list[str]] = {}
    written = 0
    existing: dict[str, str] = {}
    for note in notes:
        match = _NOTE_NAME.match(note.name)
        text = note.text.strip()
        if match is None:
            file = FOREIGN_NOTES
            block = f"### {note.name or note.guid}\n\n{text}\n"
        else:
            file = f"{match.group(1)}.md"
            block = f"## {match.group(2)}\n\n{text}\n"
            if file not in existing:
                path = folder / file
                existing[file] = path.read_text(encoding="utf-8") if path.is_file() else ""
            heading = re.compile(rf"^##\s*{re.escape(match.group(2))}\s*$", re.MULTILINE)
            if heading.search(existing[file]) or any(
                b.startswith(f"## {match.group(2)}\n") for b in additions.get(file, [])
            ):
                warnings.append(
                    f"note '{note.name}': {MEMO_DIR}/{file} already has that section; "
                    "kept the project's memo"
                )
                continue
        additions.setdefault(file, []).append(block)
        written += 1
    for file, blocks in additions.items():
        path = folder / file
        old = existing.get(file)
        if old is None:
            old = path.read_text(encoding="utf-8") if path.is_file() else ""
        glue = "" if not old or old.endswith("\n\n") else ("\n" if old.endswith("\n") else "\n\n")
        atomic_write_bytes(path, (old + glue + "\n".join(blocks)).encode("utf-8"))
    return written
