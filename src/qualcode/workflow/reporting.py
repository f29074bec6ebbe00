"""``matrix`` and ``report``: accepted codings into theme matrices and Word snapshots."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import re
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qualcode.choices import DEFAULT_MEASURE
from qualcode.csvout import atomic_write_bytes, csv_bytes, excel_safe
from qualcode.errors import QualcodeError
from qualcode.project import Project
from qualcode.store.rows import MatrixCoding, MatrixDocument, SegmentSpeaker

if TYPE_CHECKING:
    import pandas as pd

    from qualcode.codebook import Codebook
    from qualcode.matrix import MatrixData
    from qualcode.memos import Memos

from qualcode.progress import Progress


def load_matrix_data(project: Project, *, include_suggested: bool = False) -> MatrixData:
    import pandas as pd

    from qualcode.matrix import MatrixData

    documents = _frame(project.store.reads.matrix_documents(), MatrixDocument)
    codings = _frame(
        project.store.reads.matrix_codings(include_suggested=include_suggested),
        MatrixCoding,
    )
    rows = project.store.reads.segment_speakers()
    signed = speaker_signatures(project, documents, rows)
    own = ("participant", "role", "organisation_type", "is_interviewer")
    # object dtype: a missing role stays None (pandas would make a string column's None NaN,
    # which is truthy and would print as "nan" in a signature).
    for k, column in enumerate(own):
        values = [signed[sid][k] for sid in codings["segment_id"]]
        codings[column] = pd.Series(values, index=codings.index, dtype=object)
    segments = pd.DataFrame(
        [(sid, doc, speaker, words, *signed[sid]) for sid, doc, speaker, _, words in rows],
        columns=["segment_id", "document_id", "speaker", "words", *own],
        dtype=object,
    )
    return MatrixData(documents=documents, codings=codings, segments=segments)


def speaker_signatures(
    project: Project,
    documents: pd.DataFrame,
    segments: Sequence[SegmentSpeaker],
) -> dict[str, tuple[str | None, str | None, str | None, bool]]:
    """Per segment: (participant, role, organisation_type, is_interviewer) of its speaker.

    The speaker's own metadata.csv row if there is one; else the document's metadata when the
    segment is the document participant's (the speaker named as the participant, the only
    non-interviewer speaker of the document, or an unlabelled paragraph); else nothing: in a
    document with several speakers, a speaker without a row must never be signed with
    someone else's role (the report signs such quotes neutrally).
    """
    store = project.store
    own = {(d, sp): (p, r, o) for d, sp, p, r, o in store.documents.all_speakers()}
    doc_meta = {
        str(r.id): (r.participant, r.role, r.organisation_type) for r in documents.itertuples()
    }
    voices: dict[str, set[str]] = {}
    for _, doc, speaker, interviewer, _ in segments:
        if speaker and not interviewer:
            voices.setdefault(doc, set()).add(speaker)
    out: dict[str, tuple[str | None, str | None, str | None, bool]] = {}
    for sid, doc, speaker, interviewer, _ in segments:
        participant = doc_meta.get(doc, (None, None, None))[0]
        if speaker and (doc, speaker) in own:
            meta = own[(doc, speaker)]
        elif not speaker or speaker == participant or len(voices.get(doc, ())) <= 1:
            meta = doc_meta.get(doc, (None, None, None))
        else:
            meta = (None, None, None)
        out[sid] = (*meta, interviewer)
    return out


def _frame(rows: Sequence[object], row_type: type) -> pd.DataFrame:
    """A frame of store rows whose columns are the row type's fields, named as in the store."""
    import pandas as pd

    names = [f.name for f in dataclasses.fields(row_type)]
    return pd.DataFrame([[getattr(r, n) for n in names] for r in rows], columns=names)


def pseudonymiser(project: Project, enabled: bool = True) -> Callable[[str], str]:
    """The text filter applied to everything that leaves the project (quotes, exports)."""
    from qualcode.workflow.names import filter_for

    return filter_for(project, enabled)


@dataclass(frozen=True)
class MatrixResult:
    table: pd.DataFrame
    out: str | None
    plot: str | None


def matrix(
    project: Project,
    *,
    by: str = "city",
    level: str = "theme",
    include_suggested: bool = False,
    out: Path | None = None,
    plot: Path | None = None,
    measure: str = DEFAULT_MEASURE,
    pseudonymise: bool = True,
) -> MatrixResult:
    from qualcode.matrix import GROUPS, LEVELS, MEASURES, build_matrix, heatmap
    from qualcode.workflow._analysis import load_project_codebook

    if by not in GROUPS:
        raise QualcodeError(f"unknown --by '{by}'", f"use one of {', '.join(GROUPS)}")
    if level not in LEVELS:
        raise QualcodeError(f"unknown --level '{level}'", "use theme or code")
    if measure not in MEASURES:
        raise QualcodeError(f"unknown --measure '{measure}'", f"use one of {', '.join(MEASURES)}")
    if out is not None and out.suffix.lower() not in (".csv", ".xlsx"):
        raise QualcodeError(f"{out}: the matrix is written as .csv or .xlsx")
    codebook = load_project_codebook(project)
    data = load_matrix_data(project, include_suggested=include_suggested)
    if data.codings.empty:
        raise QualcodeError(
            "no accepted codings yet", "review suggestions first, or pass --include-suggested"
        )
    long = build_matrix(data, codebook, by=by, level=level)
    if out is not None:
        if out.suffix.lower() == ".csv":
            columns = list(long.columns)
            atomic_write_bytes(out, csv_bytes(columns, long.itertuples(index=False, name=None)))
        else:
            atomic_write_bytes(
                out, _xlsx(pseudonymiser(project, pseudonymise), data, codebook, long, by, level)
            )
    if plot is not None:
        heatmap(long, plot, measure=measure, by=by, title=codebook.name)
    return MatrixResult(long, str(out) if out else None, str(plot) if plot else None)


def _xlsx(
    clean: Callable[[str], str],
    data: MatrixData,
    codebook: Codebook,
    long: pd.DataFrame,
    by: str,
    level: str,
) -> bytes:
    import pandas as pd

    from qualcode.matrix import MEASURES, representative_quotes, wide
    from qualcode.report.clock import clock
    from qualcode.report.content import attribution

    quotes = representative_quotes(data, codebook, by=by, level=level)
    labels = dict(zip(long["code"], long["label"], strict=False))
    quotes.insert(2, "label", quotes["code"].map(labels))
    quotes["text"] = quotes["text"].map(clean)
    # Signed as in the reports: the speaker's own role, else neutrally, never another's.
    kinds = dict(zip(data.documents["name"], data.documents["kind"], strict=False))
    quotes.insert(
        quotes.columns.get_loc("score"),
        "attribution",
        [
            attribution("fi", str(r or ""), str(o or ""), str(kinds.get(d, "interview")))
            for r, o, d in zip(
                quotes["role"], quotes["organisation_type"], quotes["document"], strict=True
            )
        ],
    )
    # The spot in the recording (cue or label time), as a player shows it.
    quotes["time"] = quotes["time"].map(clock)
    quotes["matched"] = [
        clean(", ".join(dict.fromkeys(str(e[0]) for e in json.loads(ev or "[]"))))
        for ev in quotes["evidence"]
    ]
    quotes = quotes.drop(columns=["start", "evidence"])
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for measure in MEASURES:
            table = wide(long, measure, by)
            # Labels are column headers here: a code labelled "=HYPERLINK(...)" would
            # otherwise become a live formula cell (openpyxl takes any "=..." str as one).
            table.index = [excel_safe(i) for i in table.index]
            table.columns = [excel_safe(c) for c in table.columns]
            table.to_excel(writer, sheet_name=measure[:31])
        safe = quotes.map(lambda v: excel_safe(v) if isinstance(v, str) else v)
        safe.to_excel(writer, sheet_name="quotes", index=False)
        _no_formulas(writer.book)
    return buffer.getvalue()


def _no_formulas(book: Any) -> None:
    """Every cell written from data stays data: text or a number, never a formula."""
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.value = excel_safe(cell.value)
                    cell.data_type = "s"


def project_memos(project: Project, codebook: Codebook, cities: Sequence[str]) -> Memos:
    """The project's memos (``memos/*.md``), checked against its cities and themes."""
    from qualcode.memos import load_memos

    themes = [c.id for c in codebook.codes if c.parent is None]
    stems = {c: name.removesuffix(".docx") for c, name in report_file_names(cities).items()}
    return load_memos(project.root, cities=cities, themes=themes, file_stems=stems)


@dataclass(frozen=True)
class ReportResult:
    files: tuple[str, ...]
    cities: tuple[str, ...]


# File names a city's report must never take: the summaries (in both languages, so that a
# later run in the other language does not overwrite a city either) and names Windows reserves.
_RESERVED_NAMES = frozenset(
    {"yhteenveto", "summary", "con", "prn", "aux", "nul"}
    | {f"{dev}{n}" for dev in ("com", "lpt") for n in range(1, 10)}
)


def _slug(city: str) -> str:
    name = re.sub(r"[^\w\- ]+", "", city).strip().replace(" ", "_")
    # 80 characters stay under the 255-byte file-name limit even at 3 bytes a character.
    return name[:80] or "kaupunki"


def _file_key(stem: str) -> str:
    # File systems that ignore case (Windows, macOS) or normalise Unicode (macOS) would still
    # put two of these in one file.
    return unicodedata.normalize("NFC", stem).casefold()


def report_file_names(cities: Sequence[str]) -> dict[str, str]:
    """A distinct ``.docx`` name for each city's report, never a summary's name.

    Computed over all the project's cities, so a city's file is the same whether one report or
    all are written. The first city (in sorted order) to take a name keeps the plain one; the
    others whose names collide, ignoring case and the characters a file name drops ("Pori",
    "pori ", "Pori!"), get a suffix derived from the city name, which stays the same run after run.
    """
    used = set(_RESERVED_NAMES)
    names: dict[str, str] = {}
    for city in sorted(set(cities)):
        stem = _slug(city)
        if _file_key(stem) in used:
            digest = hashlib.sha256(city.encode("utf-8")).hexdigest()
            # Longer suffixes only if another city is literally named like a suffixed one.
            candidates = [f"{_slug(city)}-{digest[:n]}" for n in range(6, 65, 2)]
            candidates += [f"{_slug(city)}-{digest}-{n}" for n in range(2, len(used) + 3)]
            stem = next(c for c in candidates if _file_key(c) not in used)
        used.add(_file_key(stem))
        names[city] = stem + ".docx"
    return names


def report(
    project: Project,
    *,
    city: str | None = None,
    all_cities: bool = False,
    out_dir: Path,
    template: Path | None = None,
    lang: str = "fi",
    date: str | None = None,
    pseudonymise: bool = True,
    comments: bool = True,
    progress: Progress | None = None,
) -> ReportResult:
    """Write the city reports (and with ``all_cities`` the summary) into ``out_dir``.

    ``comments`` False leaves out the Word comments with segment ids: the client's copy.
    """
    from qualcode.matrix import build_matrix, heatmap, representative_quotes
    from qualcode.report.content import ReportData, city_report, summary_report
    from qualcode.report.writer import open_template, render
    from qualcode.workflow._analysis import load_project_codebook

    if lang not in ("fi", "en"):
        raise QualcodeError(f"unknown language '{lang}'", "use --lang fi or --lang en")
    if (city is None) == (not all_cities):
        raise QualcodeError("give either --city C or --all")
    if template is not None and not template.is_file():
        raise QualcodeError(f"{template}: template not found")
    if template is not None:
        # A damaged or hostile template is refused before any report is drawn or written.
        open_template(template)
    codebook = load_project_codebook(project)
    data = load_matrix_data(project)
    cities = sorted({c for c in data.documents["city"].dropna() if c})
    if city is not None and city not in cities:
        raise QualcodeError(f"no documents from city '{city}'", f"cities: {', '.join(cities)}")
    if data.codings.empty:
        raise QualcodeError("no accepted codings yet", "review suggestions before reporting")
    when = date or dt.date.today().isoformat()
    try:
        day = dt.date.fromisoformat(when)
    except ValueError:
        raise QualcodeError(f"invalid --date '{when}'", "use YYYY-MM-DD") from None
    shown_date = f"{day.day}.{day.month}.{day.year}" if lang == "fi" else day.isoformat()
    theme_matrix = build_matrix(data, codebook, by="city", level="theme")
    code_matrix = build_matrix(data, codebook, by="city", level="code")
    targets = cities if all_cities else [city]
    file_names = report_file_names(cities)
    # Memos are checked before anything is drawn: a bad id fails the run, writing nothing.
    memos = project_memos(project, codebook, cities)
    files = []
    with tempfile.TemporaryDirectory(prefix="qualcode-report-") as tmp:
        base = ReportData(
            codebook=codebook,
            documents=data.documents,
            codings=data.codings,
            theme_matrix=theme_matrix,
            code_matrix=code_matrix,
            # More candidates than a section shows: a report skips quotes it has shown.
            theme_quotes=representative_quotes(
                data, codebook, level="theme", per_cell=16, per_document=None
            ),
            code_quotes=representative_quotes(
                data, codebook, level="code", per_cell=8, per_document=None
            ),
            pseudonymise=pseudonymiser(project, pseudonymise),
            date=shown_date,
            lang=lang,
            place_forms=project.settings.place_forms,
        )
        created = dt.datetime.combine(day, dt.time())
        image = heatmap(theme_matrix, Path(tmp) / "themes.png", lang=lang)
        total = len(targets) + (1 if all_cities else 0)
        for i, name in enumerate(targets):
            assert name is not None
            if progress:
                progress(i, total, name)
            # Each city's report marks its own row in the heat map.
            own = heatmap(theme_matrix, Path(tmp) / f"themes-{i}.png", lang=lang, highlight=name)
            content = city_report(
                dataclasses.replace(base, heatmap=own, memos=memos.texts(name)), name
            )
            path = out_dir / file_names[name]
            atomic_write_bytes(
                path,
                render(content, template=template, lang=lang, created=created, comments=comments),
            )
            files.append(str(path))
        if all_cities:
            content = summary_report(
                dataclasses.replace(base, heatmap=image, memos=memos.texts(None))
            )
            path = out_dir / ("yhteenveto.docx" if lang == "fi" else "summary.docx")
            atomic_write_bytes(
                path,
                render(content, template=template, lang=lang, created=created, comments=comments),
            )
            atomic_write_bytes(
                out_dir / ("teemat.png" if lang == "fi" else "themes.png"), image.read_bytes()
            )
            files.append(str(path))
    if progress:
        progress(len(files), len(files), "")
    return ReportResult(tuple(files), tuple(t for t in targets if t))
