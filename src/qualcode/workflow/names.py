"""Pseudonymisation where it meets the project: the name registry and the text filter.

Everything that leaves the project passes through :func:`project_pseudonymiser` (review
CSVs, exported segments, matrix quotes, Word reports, REFI-QDA sources, disagreement lists).
The filter knows the registry (``qualcode names detect`` / ``names import``) and, always,
the participants named in the metadata, so that their names never leave even before a
detection run. The stored transcripts are never altered.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from qualcode.csvout import write_csv
from qualcode.errors import CsvFileError, QualcodeError
from qualcode.project import Project

if TYPE_CHECKING:
    from qualcode.pseudonymise import RegistryEntry, TextMapper

NAME_COLUMNS = ("name", "kind", "action", "pseudonym", "forms", "count", "source")
_ACTIONS = ("pseudonymise", "ignore")


def registry(project: Project) -> list[RegistryEntry]:
    """The project's registry entries, with metadata participants always included."""
    from qualcode.pseudonymise import NameCandidate, RegistryEntry, assign_pseudonyms

    stored = [
        RegistryEntry(r.name, r.kind, r.action, r.pseudonym, tuple(json.loads(r.forms)))  # type: ignore[arg-type]
        for r in project.store.names.all()
    ]
    known = {e.name for e in stored}
    participants = project.store.documents.participants()
    missing = [
        NameCandidate(p.participant, "person", (p.participant,), 0)
        for p in participants
        if p.participant not in known
    ]
    if not missing:
        return stored
    roles = {p.participant: p.role for p in participants if p.role}
    return assign_pseudonyms(missing, roles=roles, existing=stored)


@dataclass(frozen=True)
class DetectReport:
    candidates: int
    new: int
    people: int
    organisations: int


def _is_town(name: str, forms: Sequence[str], cities: set[str]) -> bool:
    """The project's own towns stay as they are, inflected too (Saarvalaan, Lounajoella):
    a one-word entry whose forms all begin with a town's stem (the name less its last letter)."""
    if name in cities:
        return True
    if " " in name:
        return False
    stems = [c.casefold()[:-1] for c in cities if len(c) >= 5 and " " not in c]
    words = [name, *forms]
    return any(all(w.casefold().startswith(stem) for w in words) for stem in stems)


def detect(
    project: Project, *, progress: Callable[[int, int, str], None] | None = None
) -> DetectReport:
    """Find person and organisation names in every document and fill the registry."""
    from qualcode.nametagger import default_tagger
    from qualcode.pseudonymise import RegistryEntry, assign_pseudonyms, detect_names

    store = project.store
    texts = store.documents.document_texts()
    participants = store.documents.participants()
    if progress:
        progress(0, 1, "detecting names")
    # The learned tagger adds the persons the NER and the rules miss (issue 16); the NER
    # stays for organisations, which only it finds in running text.
    known = [p.participant for p in participants]
    candidates = detect_names(texts, known=known, ner=True, tagger=default_tagger())
    existing = registry(project)
    roles = {p.participant: p.role for p in participants if p.role}
    # Town names are not people: they stay in the registry as 'ignore', never replaced.
    cities = set(store.documents.cities())
    entries = assign_pseudonyms(candidates, roles=roles, existing=existing)
    counts = {c.name: c.count for c in candidates}
    before = {r.name for r in store.names.all()}
    rows = []
    for e in entries:
        action = "ignore" if _is_town(e.name, e.forms, cities) else e.action
        entry = RegistryEntry(e.name, e.kind, action, e.pseudonym, e.forms)
        source = "metadata" if any(e.name == p.participant for p in participants) else "detected"
        rows.append(
            (
                entry.name,
                entry.kind,
                entry.action,
                entry.pseudonym,
                json.dumps(list(entry.forms), ensure_ascii=False),
                counts.get(entry.name, 0),
                source,
            )
        )
    with store.transaction():
        store.names.upsert_names(rows)
    _forget(project)
    if progress:
        progress(1, 1, "")
    return DetectReport(
        len(candidates),
        len({r[0] for r in rows} - before),
        sum(1 for r in rows if r[1] == "person"),
        sum(1 for r in rows if r[1] == "org"),
    )


def export_names(project: Project, out: Path) -> int:
    entries = registry(project)
    stored = {r.name: (r.count, r.source) for r in project.store.names.all()}
    rows = [
        (
            e.name,
            e.kind,
            e.action,
            e.pseudonym,
            "; ".join(e.forms),
            stored.get(e.name, (0, "metadata"))[0],
            stored.get(e.name, (0, "metadata"))[1],
        )
        for e in entries
    ]
    write_csv(out, NAME_COLUMNS, rows, delimiter=project.settings.review_delimiter)
    return len(rows)


def import_names(project: Project, path: Path) -> int:
    """Apply a reviewed names CSV (keep/ignore, pseudonyms, extra forms); all rows or none."""
    from qualcode.csvin import SAVE_AS_UTF8, lost_characters, read_csv_table

    table = read_csv_table(  # ';' as exported, or ',' or tab as Excel saved it
        path, kind="names file", header_hint=f"the header is {','.join(NAME_COLUMNS)}"
    )
    missing = [c for c in ("name", "kind", "action", "pseudonym") if c not in table.header]
    if missing:
        raise CsvFileError(
            str(path),
            1,
            f"missing column '{missing[0]}'",
            f"the header is {','.join(NAME_COLUMNS)}",
        )
    rows = []
    seen: dict[str, tuple[int, tuple[str, str, str, frozenset[str]]]] = {}
    for record in table.records:
        row, line = record.values, record.line
        name = (row.get("name") or "").strip().lstrip("'")
        if not name:
            continue
        if table.lossy:
            for column in ("name", "pseudonym", "forms"):
                if lost_characters(row.get(column) or ""):
                    raise QualcodeError(
                        f"{path}:{line}: the {column} '{row[column].strip()}' has '?' for a "
                        "letter: Excel saved the file as Windows-1252 'CSV (luetteloerotin)', "
                        "which drops letters outside it",
                        f"type the letter again and {SAVE_AS_UTF8}",
                    )
        kind = (row.get("kind") or "").strip()
        action = (row.get("action") or "").strip().lower()
        pseudonym = (row.get("pseudonym") or "").strip().lstrip("'")
        if kind not in ("person", "org"):
            raise QualcodeError(f"{path}:{line}: kind '{kind}' must be person or org")
        if action in ("keep", "pidä"):
            action = "pseudonymise"
        if action not in _ACTIONS:
            raise QualcodeError(
                f"{path}:{line}: action '{action}' not understood",
                "use pseudonymise (or keep) or ignore",
            )
        forms = [f.strip() for f in (row.get("forms") or "").split(";") if f.strip()]
        count = _count(row.get("count") or "", f"{path}:{line}")
        decision = (kind, action, pseudonym, frozenset(forms))
        if name in seen:
            # Excel users copy rows; the store keeps one row per name, so the later one
            # would silently win.
            if seen[name][1] != decision:
                raise QualcodeError(
                    f"{path}:{line}: name '{name}' is listed again with a different "
                    f"decision (also on line {seen[name][0]})",
                    "keep one row per name",
                )
            continue
        seen[name] = (line, decision)
        rows.append(
            (
                name,
                kind,
                action,
                pseudonym,
                json.dumps(sorted(set(forms) | {name}), ensure_ascii=False),
                count,
                (row.get("source") or "manual").strip() or "manual",
            )
        )
    rows = _fill_pseudonyms(project, rows)
    with project.store.transaction():
        project.store.names.upsert_names(rows)
    _forget(project)
    return len(rows)


_Row = tuple[str, str, str, str, str, int, str]
_MAX_COUNT = 2**63 - 1  # SQLite's INTEGER


def _count(value: str, location: str) -> int:
    """The count column is informational (what export wrote); blank counts as 0, but a value
    that is not a whole number SQLite can store is refused rather than guessed."""
    digits = value.strip().replace(" ", "").replace("\u00a0", "")
    if not digits:
        return 0
    if not digits.isascii() or not digits.isdigit():
        raise QualcodeError(
            f"{location}: count '{value.strip()}' is not a whole number",
            "the count is how often the name occurs; leave it blank or write e.g. 3",
        )
    if int(digits) > _MAX_COUNT:
        raise QualcodeError(
            f"{location}: count '{value.strip()}' is too large",
            "the count is how often the name occurs; leave it blank or write e.g. 3",
        )
    return int(digits)


def _fill_pseudonyms(project: Project, rows: list[_Row]) -> list[_Row]:
    """Rows to pseudonymise that have no pseudonym keep their old one or get the next free one."""
    from qualcode.pseudonymise import NameCandidate, RegistryEntry, assign_pseudonyms

    blank = [r for r in rows if r[2] == "pseudonymise" and not r[3]]
    if not blank:
        return rows
    given = [
        RegistryEntry(r[0], r[1], r[2], r[3], tuple(json.loads(r[4])))  # type: ignore[arg-type]
        for r in rows
        if r[3]
    ]
    candidates = [NameCandidate(r[0], r[1], tuple(json.loads(r[4])), r[5]) for r in blank]  # type: ignore[arg-type]
    roles = {p.participant: p.role for p in project.store.documents.participants() if p.role}
    assigned = assign_pseudonyms(candidates, roles=roles, existing=[*registry(project), *given])
    by_key: dict[tuple[str, str], str] = {
        (e.kind, e.name.casefold()): e.pseudonym for e in assigned
    }
    return [
        (r[0], r[1], r[2], by_key[(r[1], r[0].casefold())], r[4], r[5], r[6]) if r in blank else r
        for r in rows
    ]


def _forget(project: Project) -> None:
    """The registry changed: the next text filter must be built afresh."""
    if hasattr(project, "_text_mapper"):
        del project._text_mapper


def text_mapper(project: Project) -> TextMapper:
    """Pseudonymise a text and map offsets of the original onto the new text."""
    cached = getattr(project, "_text_mapper", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    from qualcode.pseudonymise import Pseudonymiser, ordinary_forms, unchanged_mapper

    entries = [e for e in registry(project) if e.action == "pseudonymise" or e.action == "ignore"]
    mapper: TextMapper = unchanged_mapper
    if entries:
        # Counted only if a text has a sentence-initial name that is also a common word.
        mapper = Pseudonymiser(entries, words=lambda: ordinary_forms(_form_counts(project))).mapped
    project._text_mapper = mapper  # type: ignore[attr-defined]
    return mapper


def project_pseudonymiser(project: Project) -> Callable[[str], str]:
    """Text filter for everything that leaves the project."""
    mapper = text_mapper(project)
    return lambda text: mapper(text)[0]


def no_filter(text: str) -> str:
    return text


@dataclass(frozen=True)
class CheckReport:
    """What ``names check`` found in a file."""

    names: list[tuple[str, int]]  # registry names still there: (form, character offset)
    possible: list[tuple[str, int, int]]  # possible names not in the registry: (form, n, first)
    contexts: dict[str, str] = field(default_factory=dict)  # possible form -> words around it


def check_file(project: Project, path: Path, *, unregistered: bool = False) -> CheckReport:
    """Registry names (any known form) that occur in an exported file: the last safety net.

    unregistered: also list capitalised words that may be names the registry does not know
        (see :func:`qualcode.pseudonymise.unregistered_names`), grouped by form.
    """
    from qualcode.pseudonymise import RegistryEntry, check_text, unregistered_names

    entries = registry(project)
    text = _file_text(path)
    found = check_text(text, [e for e in entries if e.action == "pseudonymise"])
    possible: dict[str, tuple[int, int]] = {}
    if unregistered:
        from qualcode.analysis.tokens import tokenize

        words, cities = _ordinary_words(project)
        capitalised = {t.form for t in tokenize(text) if t.form[:1].isupper()}
        for city in cities:
            # Town names change at the end when inflected: Lounajoki, Lounajoen, Lounajoella.
            stem = city.casefold()[:-2] if len(city) > 5 else city.casefold()
            forms = tuple(sorted(f for f in capitalised if f.casefold().startswith(stem)))
            entries.append(RegistryEntry(city, "person", "ignore", "", forms))
        for form, offset in unregistered_names(text, entries, words=words):
            n, first = possible.get(form, (0, offset))
            possible[form] = (n + 1, first)
    return CheckReport(
        found,
        sorted((f, n, first) for f, (n, first) in possible.items()),
        {f: _context(text, first, len(f)) for f, (_, first) in possible.items()},
    )


def _context(text: str, start: int, length: int, width: int = 60) -> str:
    """The words around a form, on one line, for a person deciding whether it is a name."""
    lo, hi = max(0, start - width), min(len(text), start + length + width)
    words = text[lo:hi].split()
    if lo > 0 and not text[lo - 1].isspace() and words:
        words = words[1:]  # cut in the middle of a word
    if hi < len(text) and not text[hi].isspace() and words:
        words = words[:-1]
    return " ".join(words)


POSSIBLE_COLUMNS = (*NAME_COLUMNS, "context")


def export_possible_names(project: Project, report: CheckReport, out: Path) -> int:
    """Write ``check --unknown``'s list as a names CSV to review and load with ``names import``.

    Forms of one name share a row (``group_forms``). A row is a real name by default (action
    pseudonymise, so importing the file unread errs on the side of privacy); the researcher
    marks the other words ignore. A row whose name the registry already holds carries the
    registry's decision and pseudonym, so importing it only adds forms.
    """
    from qualcode.pseudonymise import RegistryEntry, group_forms

    counts = {form: n for form, n, _ in report.possible}
    firsts = {form: first for form, _, first in report.possible}
    held = {e.name.casefold(): e for e in registry(project)}
    rows = []
    for name, forms in group_forms(list(counts)):
        entry = held.get(name.casefold()) or RegistryEntry(name, "person", "pseudonymise", "")
        rows.append(
            (
                entry.name,
                entry.kind,
                entry.action,
                entry.pseudonym,
                "; ".join(sorted({*entry.forms, *forms})),
                sum(counts[f] for f in forms),
                "check",
                report.contexts.get(min(forms, key=lambda f: (firsts[f], f)), ""),
            )
        )
    write_csv(out, POSSIBLE_COLUMNS, rows, delimiter=project.settings.review_delimiter)
    return len(rows)


def _form_counts(project: Project) -> Counter[str]:
    """How often the transcripts' segments use each word form.

    The segments ``tag`` has tokenised keep their forms as id arrays, so only the others
    (interviewer turns, documents not yet tagged) are tokenised here: at a million words,
    about 0.5 s per export instead of 2 s.
    """
    import numpy as np

    from qualcode.analysis.tokens import tokenize

    store = project.store
    blobs = [np.frombuffer(b, dtype=np.int32) for b in store.analysis.token_form_blobs()]
    counts: Counter[str] = Counter()
    if blobs:
        ids, n = np.unique(np.concatenate(blobs), return_counts=True)
        used = dict(zip(ids.tolist(), n.tolist(), strict=True))
        counts.update({f: used[i] for i, f in store.analysis.all_forms() if i in used})
    for text in store.analysis.untokenised_segment_texts():
        counts.update(t.form for t in tokenize(text))
    return counts


def _ordinary_words(project: Project) -> tuple[set[str], list[str]]:
    """Forms that are words in this project, and its town names (named openly in reports).

    Words: every lower-case form in the transcripts, and every form in the codebook (its labels
    are the researchers' vocabulary, "Invest in", not anybody's name).
    """
    from qualcode.analysis.tokens import tokenize

    words = {form for form in _form_counts(project) if form.islower()}
    latest = project.store.codes.latest_codebook()
    if latest is not None:
        words.update(t.form.casefold() for t in tokenize(latest.data))
    return words, project.store.documents.cities()


def _file_text(path: Path) -> str:
    """The text of an exported file; zip containers go through :mod:`qualcode.safezip` first."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise QualcodeError(f"{path}: cannot read ({exc.strerror})") from None
    suffix = path.suffix.lower()
    if suffix == ".docx":
        from qualcode.ingest.docx import open_word_document

        document = open_word_document(path, data)
        parts = [p.text for p in document.paragraphs]
        for table in document.tables:
            parts.extend(cell.text for row in table.rows for cell in row.cells)
        return "\n".join(parts)
    if suffix == ".xlsx":
        return _workbook_text(path, data)
    if suffix == ".qdpx":
        return _archive_text(path, data)
    return data.decode("utf-8-sig", errors="replace")


def _workbook_text(path: Path, data: bytes) -> str:
    from qualcode.errors import ArchiveError
    from qualcode.ingest.docx import one_line
    from qualcode.safezip import check_zip

    hint = "open it in Excel and save it again as .xlsx"
    try:
        check_zip(data)
    except ArchiveError as error:
        problem = (
            "is not a valid .xlsx file (damaged or not a zip)" if error.damaged else error.problem
        )
        raise QualcodeError(f"{path}: {problem}", hint) from None
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        try:
            return "\n".join(
                str(v)
                for sheet in book
                for row in sheet.iter_rows(values_only=True)
                for v in row
                if v is not None
            )
        finally:
            book.close()
    except (
        Exception
    ) as exc:  # openpyxl raises assorted errors (KeyError, lxml, ...) for broken parts
        raise QualcodeError(
            f"{path}: cannot be read as an Excel workbook ({one_line(exc)})", hint
        ) from None


def _archive_text(path: Path, data: bytes) -> str:
    from qualcode.errors import ArchiveError
    from qualcode.safezip import SafeZip

    try:
        with SafeZip(data) as archive:
            return "\n".join(
                archive.read(info).decode("utf-8", "replace") for info in archive.entries
            )
    except ArchiveError as error:
        problem = (
            "is not a valid .qdpx file (damaged or not a zip)" if error.damaged else error.problem
        )
        raise QualcodeError(
            f"{path}: {problem}", "export the project again as REFI-QDA (.qdpx)"
        ) from None


def filter_for(project: Project, pseudonymise: bool) -> Callable[[str], str]:
    return project_pseudonymiser(project) if pseudonymise else no_filter


__all__: Sequence[str] = (
    "check_file",
    "detect",
    "export_names",
    "filter_for",
    "import_names",
    "project_pseudonymiser",
    "registry",
    "text_mapper",
)
