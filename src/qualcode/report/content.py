"""What a situation snapshot says, as data: sections of paragraphs, tables and images.

Every generated claim carries the ids of the segments behind it, so that the Word writer can
attach them as comments. The text depends only on the data (no randomness, no clock): the
same matrix gives the same document text. Sentence shapes vary with the data (how many
themes stand out, whether a theme reached every interviewee, how the city compares with the
others), so that the summary reads as prose rather than a filled-in form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from qualcode.codebook import Codebook
from qualcode.report import finnish as fi
from qualcode.report.indicators import Finding, assess

QUOTE_WORDS = 70
LITTLE_MATERIAL_SEGMENTS = 15

VALUE_NAMES = {
    "fi": {
        "starting": "käynnistymässä",
        "developing": "kehitysvaiheessa",
        "established": "vakiintunut",
        "city": "kaupunkilähtöinen",
        "company": "yrityslähtöinen",
        "education": "oppilaitoslähtöinen",
    },
    "en": {
        "starting": "just starting",
        "developing": "developing",
        "established": "established",
        "city": "city-led",
        "company": "company-led",
        "education": "education-led",
    },
}
DIMENSION_NAMES = {
    "fi": {"maturity": "Verkostotoiminnan kypsyysaste", "leadership": "Vetovastuu"},
    "en": {"maturity": "Maturity of network activity", "leadership": "Who leads"},
}


@dataclass(frozen=True)
class Para:
    text: str
    segments: tuple[str, ...] = ()
    style: str = "body"  # body | bullet | quote | attribution | note


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""


@dataclass(frozen=True)
class Image:
    path: Path
    caption: str = ""


Block = Para | Table | Image


@dataclass(frozen=True)
class Section:
    title: str
    blocks: tuple[Block, ...]
    level: int = 1


@dataclass(frozen=True)
class Report:
    title: str
    subtitle: str
    front: tuple[Para, ...]
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class ReportData:
    codebook: Codebook
    documents: pd.DataFrame  # from MatrixData
    codings: pd.DataFrame
    theme_matrix: pd.DataFrame  # long, by city, level theme
    code_matrix: pd.DataFrame  # long, by city, level code
    theme_quotes: pd.DataFrame  # by city, level theme, up to 4 per cell
    code_quotes: pd.DataFrame  # by city, level code, up to 2 per cell
    pseudonymise: Callable[[str], str]
    date: str
    lang: str = "fi"
    place_forms: Mapping[str, Sequence[str]] = field(default_factory=dict)
    heatmap: Path | None = None


class _Text:
    """Language-specific phrasing."""

    def __init__(self, data: ReportData) -> None:
        self.data = data
        self.fi = data.lang == "fi"

    def label(self, code_id: str) -> str:
        code = self.data.codebook.get(code_id)
        if code is None:
            return code_id
        return code.label if self.fi else code.label_in("en")

    def quoted(self, code_id: str) -> str:
        return f"”{self.label(code_id)}”" if self.fi else f"“{self.label(code_id)}”"

    def gen(self, city: str) -> str:
        return fi.place_forms(city, self.data.place_forms)[0]

    def loc(self, city: str) -> str:
        return fi.place_forms(city, self.data.place_forms)[1]

    def num(self, value: float, digits: int = 1) -> str:
        return fi.decimal(value, digits) if self.fi else f"{value:.{digits}f}"

    def pct(self, value: float) -> str:
        return fi.percent(value) if self.fi else f"{round(100 * value)}%"

    def join(self, items: Sequence[str]) -> str:
        return fi.join(items, "ja" if self.fi else "and")

    def segments(self, n: int) -> str:
        if self.fi:
            return fi.count(n, "segmentti")
        return f"{n} segment" + ("" if n == 1 else "s")


def _city_docs(data: ReportData, city: str) -> pd.DataFrame:
    return data.documents[data.documents["city"].fillna("") == city]


def _city_codings(data: ReportData, city: str) -> pd.DataFrame:
    ids = set(_city_docs(data, city)["id"])
    return data.codings[data.codings["document_id"].isin(ids)]


_INDEX_CACHE: dict[int, dict[tuple[str, str], frozenset[str]]] = {}


def _segment_index(data: ReportData) -> dict[tuple[str, str], frozenset[str]]:
    """(city, code) -> coded segment ids, built once per report run (not per sentence)."""
    key = id(data.codings)
    if key not in _INDEX_CACHE:
        _INDEX_CACHE.clear()
        city_of = dict(zip(data.documents["id"], data.documents["city"].fillna(""), strict=True))
        index: dict[tuple[str, str], set[str]] = {}
        for segment, doc, code in zip(
            data.codings["segment_id"],
            data.codings["document_id"],
            data.codings["code"],
            strict=True,
        ):
            index.setdefault((city_of.get(doc, ""), code), set()).add(segment)
        _INDEX_CACHE[key] = {k: frozenset(v) for k, v in index.items()}
    return _INDEX_CACHE[key]


def _segments_for(data: ReportData, city: str, codes: Sequence[str]) -> tuple[str, ...]:
    index = _segment_index(data)
    found: set[str] = set()
    for code in codes:
        found |= index.get((city, code), frozenset())
    return tuple(sorted(found))


def _theme_members(codebook: Codebook, theme: str) -> list[str]:
    return [c.id for c in codebook.codes if codebook.theme_of(c.id) == theme]


def _shorten(text: str, words: int = QUOTE_WORDS) -> str:
    parts = text.split()
    if len(parts) <= words:
        return text
    cut = " ".join(parts[:words])
    end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
    if end > len(cut) // 2:
        return cut[: end + 1] + " …"
    return cut + " …"


def _attribution(t: _Text, role: str, org: str, kind: str) -> str:
    if kind == "workshop":
        return "— työpajamuistio" if t.fi else "— workshop notes"
    parts = [p for p in (role, org) if p]
    if not parts:
        return "— haastateltava" if t.fi else "— interviewee"
    return "— " + ", ".join(parts)


def _quotes(t: _Text, quotes: pd.DataFrame, kinds: Mapping[str, str], limit: int) -> list[Para]:
    out: list[Para] = []
    for _, q in quotes.head(limit).iterrows():
        text = t.data.pseudonymise(_shorten(str(q["text"])))
        out.append(Para(f"”{text}”" if t.fi else f"“{text}”", (str(q["segment_id"]),), "quote"))
        out.append(
            Para(
                _attribution(
                    t,
                    str(q["role"]),
                    str(q["organisation_type"]),
                    kinds.get(str(q["document"]), "interview"),
                ),
                (),
                "attribution",
            )
        )
    return out


# --- the city report ------------------------------------------------------------------------


def city_report(data: ReportData, city: str) -> Report:
    t = _Text(data)
    docs = _city_docs(data, city)
    codings = _city_codings(data, city)
    kinds = dict(zip(docs["name"], docs["kind"], strict=True))
    themes = data.theme_matrix[data.theme_matrix["city"] == city]
    findings = assess(zip(codings["segment_id"], codings["code"], strict=True), data.codebook)
    title = (
        f"{t.gen(city)} innovaatioekosysteemin tilannekuva"
        if t.fi
        else f"Situation snapshot of the innovation ecosystem: {city}"
    )
    subtitle = f"Laadittu {data.date} · qualcode" if t.fi else f"Prepared {data.date} · qualcode"
    front = tuple(_material(t, docs))
    sections: list[Section] = [
        Section("Yhteenveto" if t.fi else "Summary", tuple(_summary(t, city, themes, codings)))
    ]
    sections.append(
        Section("Indikaattorit" if t.fi else "Indicators", tuple(_indicator_blocks(t, findings)))
    )
    for theme in (c for c in data.codebook.codes if c.parent is None):
        sections.append(_theme_section(t, city, theme.id, themes, docs, kinds))
    for key, title_fi, title_en in (
        (
            "cooperation",
            "Yhteistyö: oppilaitokset, kuntarajat ja valtio",
            "Cooperation: schools, across municipal borders and with the state",
        ),
        (
            "development",
            "Kehittämistarpeet ja ehdotetut toimenpiteet",
            "Development needs and proposed measures",
        ),
        (
            "missing_actors",
            "Puuttuvat täydentävät toimijat (Invest in)",
            "Complementary actors missing (Invest in)",
        ),
    ):
        codes = data.codebook.report_codes(key)
        if codes:
            sections.append(
                Section(
                    title_fi if t.fi else title_en, tuple(_code_list_blocks(t, city, codes, kinds))
                )
            )
    sections.append(
        Section("Teemataulukko" if t.fi else "Theme table", tuple(_theme_table(t, city)))
    )
    return Report(title, subtitle, front, tuple(sections))


def _material(t: _Text, docs: pd.DataFrame) -> list[Para]:
    interviews = docs[docs["kind"] == "interview"]
    workshops = docs[docs["kind"] == "workshop"]
    span = fi.month_span([d for d in docs["date"].fillna("") if d])
    roles = sorted({r for r in interviews["role"].fillna("") if r})
    orgs = sorted({o for o in interviews["organisation_type"].fillna("") if o})
    ids = tuple(sorted(docs["id"]))
    if t.fi:
        parts = []
        if len(interviews):
            parts.append(fi.count(len(interviews), "haastattelu", "ill"))
        if len(workshops):
            parts.append(fi.count(len(workshops), "työpaja", "ill"))
        text = f"Aineisto: tilannekuva perustuu {t.join(parts)}"
        text += f", jotka toteutettiin {span}." if span else "."
        lines = [Para(text, ids, "note")]
        if roles:
            lines.append(
                Para(
                    f"Haastateltavat: {', '.join(roles)} (organisaatiot: {', '.join(orgs)}).",
                    (),
                    "note",
                )
            )
    else:
        parts = []
        if len(interviews):
            parts.append(f"{len(interviews)} interview" + ("" if len(interviews) == 1 else "s"))
        if len(workshops):
            parts.append(f"{len(workshops)} workshop" + ("" if len(workshops) == 1 else "s"))
        dates = sorted(d for d in docs["date"].fillna("") if d)
        when = f", {dates[0]} to {dates[-1]}" if dates else ""
        lines = [Para(f"Material: {t.join(parts)}{when}.", ids, "note")]
        if roles:
            lines.append(
                Para(
                    f"Interviewees: {', '.join(roles)} (organisations: {', '.join(orgs)}).",
                    (),
                    "note",
                )
            )
    return lines


def _others_mean(t: _Text, city: str, theme: str) -> float | None:
    m = t.data.theme_matrix
    others = m[(m["city"] != city) & (m["code"] == theme)]["per_1000_words"].dropna()
    return float(others.mean()) if len(others) else None


def _summary(t: _Text, city: str, themes: pd.DataFrame, codings: pd.DataFrame) -> list[Para]:
    data = t.data
    blocks: list[Para] = []
    total_segments = int(codings["segment_id"].nunique())
    ranked = themes.sort_values(
        ["per_1000_words", "segments", "code"], ascending=[False, False, True]
    )
    present = ranked[ranked["segments"] > 0]
    if total_segments < LITTLE_MATERIAL_SEGMENTS:
        blocks.append(
            Para(
                (
                    f"{t.gen(city)} aineisto on suppea: koodattuja segmenttejä on vain "
                    f"{total_segments}. Havainnot ovat siksi suuntaa antavia, eikä niistä pidä "
                    "vetää pitkälle meneviä johtopäätöksiä."
                )
                if t.fi
                else (
                    f"The material for {city} is thin: only {total_segments} coded segments. "
                    "The findings are indicative only."
                ),
                tuple(sorted(set(codings["segment_id"]))),
                "note",
            )
        )
    if present.empty:
        blocks.append(
            Para(
                "Aineistosta ei löytynyt koodattuja mainintoja."
                if t.fi
                else "No coded material was found."
            )
        )
        return blocks
    top = present.head(2)
    top_ids = list(top["code"])
    segs = _segments_for(
        data, city, [m for th in top_ids for m in _theme_members(data.codebook, th)]
    )
    if t.fi:
        names = t.join([t.quoted(c) for c in top_ids])
        verb = "nousi" if len(top_ids) == 1 else "nousivat"
        share = top.iloc[0]["share_of_interviewees"]
        first = f"{t.loc(city)} keskusteluissa {verb} vahvimmin esiin {names}."
        if share is not None and not pd.isna(share) and float(share) >= 0.99:
            first += f" {t.quoted(top_ids[0])} tuli puheeksi jokaisessa haastattelussa."
        elif share is not None and not pd.isna(share) and float(share) > 0:
            first += (
                f" {t.quoted(top_ids[0])} mainittiin {round(100 * float(share))} "
                "prosentissa haastatteluista."
            )
        blocks.append(Para(first, segs))
    else:
        blocks.append(
            Para(
                f"In {city}, the most prominent themes were "
                f"{t.join([t.quoted(c) for c in top_ids])}.",
                segs,
            )
        )
    absent = [
        c for c in ranked["code"] if int(ranked[ranked["code"] == c]["segments"].iloc[0]) == 0
    ]
    weak = list(present.tail(1)["code"]) if len(present) > 2 else []
    if t.fi:
        if absent:
            verb = "ei noussut" if len(absent) == 1 else "eivät nousseet"
            blocks.append(
                Para(
                    f"Sen sijaan {t.join([t.quoted(c) for c in absent])} {verb} "
                    "aineistossa esiin lainkaan."
                )
            )
        elif weak and not _below_average(t, city, weak[0]):
            blocks.append(
                Para(
                    f"Vähiten esillä oli {t.quoted(weak[0])}.",
                    _segments_for(data, city, _theme_members(data.codebook, weak[0])),
                )
            )
    else:
        if absent:
            blocks.append(Para(f"{t.join([t.quoted(c) for c in absent])} did not come up."))
        elif weak:
            blocks.append(Para(f"Least prominent was {t.quoted(weak[0])}."))
    blocks.extend(_comparison(t, city, present))
    return blocks


def _below_average(t: _Text, city: str, theme: str) -> bool:
    """True when the comparison sentence will already say that ``theme`` is weak here."""
    row = t.data.theme_matrix[
        (t.data.theme_matrix["city"] == city) & (t.data.theme_matrix["code"] == theme)
    ]
    mean = _others_mean(t, city, theme)
    value = row["per_1000_words"].iloc[0] if len(row) else None
    return mean is not None and value is not None and float(value) - mean < -0.5


def _comparison(t: _Text, city: str, present: pd.DataFrame) -> list[Para]:
    """How the city differs from the others: the themes furthest above and below average."""
    data = t.data
    if data.theme_matrix["city"].nunique() < 2:
        return []
    diffs = []
    for _, row in data.theme_matrix[data.theme_matrix["city"] == city].iterrows():
        mean = _others_mean(t, city, row["code"])
        value = row["per_1000_words"]
        if mean is None or value is None or pd.isna(value):
            continue
        diffs.append((float(value) - mean, row["code"], float(value), mean))
    if not diffs:
        return []
    diffs.sort(key=lambda d: (-d[0], d[1]))
    out = []
    above = diffs[0]
    if above[0] > 0.5:
        segs = _segments_for(data, city, _theme_members(data.codebook, above[1]))
        if t.fi:
            out.append(
                Para(
                    f"Muihin kaupunkeihin verrattuna {t.gen(city)} aineistossa korostui "
                    f"{t.quoted(above[1])}: {t.num(above[2])} mainintaa tuhatta sanaa kohden, kun "
                    f"muiden kaupunkien keskiarvo oli {t.num(above[3])}.",
                    segs,
                )
            )
        else:
            out.append(
                Para(
                    f"Compared with the other cities, {city} stood out on {t.quoted(above[1])}: "
                    f"{t.num(above[2])} mentions per 1,000 words against an average of "
                    f"{t.num(above[3])} elsewhere.",
                    segs,
                )
            )
    below = diffs[-1]
    if below[0] < -0.5 and below[1] != above[1]:
        segs = _segments_for(data, city, _theme_members(data.codebook, below[1]))
        if t.fi:
            out.append(
                Para(
                    f"Vähemmän kuin muualla puhuttiin teemasta {t.quoted(below[1])} "
                    f"({t.num(below[2])} mainintaa tuhatta sanaa kohden; muualla keskimäärin "
                    f"{t.num(below[3])}).",
                    segs,
                )
            )
        else:
            out.append(
                Para(
                    f"{t.quoted(below[1])} came up less than elsewhere ({t.num(below[2])} against "
                    f"{t.num(below[3])} per 1,000 words).",
                    segs,
                )
            )
    return out


def _indicator_blocks(t: _Text, findings: Sequence[Finding]) -> list[Block]:
    names = VALUE_NAMES[t.data.lang if t.data.lang in VALUE_NAMES else "fi"]
    blocks: list[Block] = []
    rows = []
    for f in findings:
        dim = DIMENSION_NAMES["fi" if t.fi else "en"][f.dimension]
        evidence = ", ".join(f"{names[v]} {n}" for v, n in f.counts)
        if f.status == "insufficient":
            verdict = "ei riittävästi aineistoa" if t.fi else "not enough material"
            detail = (
                f"Aineisto ei riitä arvioon: vain {t.segments(f.total)} viittaa asiaan."
                if t.fi
                else f"Not enough material to assess: only {t.segments(f.total)}."
            )
        elif f.status == "tied":
            verdict = " / ".join(names[v] for v in f.values)
            detail = (
                f"Näyttö jakautuu tasan: {evidence}."
                if t.fi
                else f"The evidence is split evenly: {evidence}."
            )
        else:
            verdict = names[f.values[0]]
            detail = (
                f"Näyttö (segmenttejä): {evidence}."
                if t.fi
                else f"Evidence (segments): {evidence}."
            )
        blocks.append(Para(f"{dim}: {verdict}. {detail}", f.segments))
        rows.append((dim, verdict, *(str(n) for _, n in f.counts)))
    header = (
        ("Indikaattori", "Arvio", "Näyttö (segmentit)")
        if t.fi
        else ("Indicator", "Assessment", "Evidence (segments)")
    )
    table_rows = tuple(
        (r[0], r[1], ", ".join(f"{names[v]} {n}" for v, n in f.counts))
        for r, f in zip(rows, findings, strict=True)
    )
    blocks.append(Table(header, table_rows))
    return blocks


def _theme_section(
    t: _Text,
    city: str,
    theme: str,
    themes: pd.DataFrame,
    docs: pd.DataFrame,
    kinds: Mapping[str, str],
) -> Section:
    data = t.data
    row = themes[themes["code"] == theme].iloc[0]
    members = _theme_members(data.codebook, theme)
    segs = _segments_for(data, city, members)
    n_seg, n_doc = int(row["segments"]), int(row["documents"])
    interviewees = docs[docs["kind"] == "interview"]
    n_people = (
        int(interviewees.apply(lambda d: d["participant"] or d["name"], axis=1).nunique())
        if len(interviewees)
        else 0
    )
    share = row["share_of_interviewees"]
    raised = round(float(share) * n_people) if share is not None and not pd.isna(share) else 0
    blocks: list[Block] = []
    if n_seg == 0:
        blocks.append(
            Para(
                "Teemasta ei ollut mainintoja tämän kaupungin aineistossa."
                if t.fi
                else "This theme was not mentioned in this city's material."
            )
        )
        return Section(t.label(theme), tuple(blocks))
    if t.fi:
        text = (
            f"Teemaa käsiteltiin {fi.count(n_seg, 'segmentti', 'ine')} "
            f"{fi.count(n_doc, 'dokumentti', 'ine')}."
        )
        if n_people:
            if raised == n_people and n_people > 1:
                text += f" Sen ottivat puheeksi kaikki {fi.count(n_people, 'haastateltava')}."
            elif raised == 0:
                text += (
                    " Haastateltavat eivät ottaneet sitä puheeksi; maininnat ovat "
                    "työpajamuistioista."
                )
            else:
                text += (
                    f" Sen otti puheeksi {fi.number(raised)} "
                    f"{fi.count(n_people, 'haastateltava', 'ela')} "
                    f"({t.pct(float(share))})."
                )
    else:
        text = f"The theme came up in {t.segments(n_seg)} across {n_doc} document(s)."
        if n_people:
            text += f" {raised} of {n_people} interviewees raised it ({t.pct(float(share))})."
    blocks.append(Para(text, segs))
    sub = data.code_matrix[
        (data.code_matrix["city"] == city)
        & (data.code_matrix["code"].isin(members))
        & (data.code_matrix["segments"] > 0)
    ]
    for _, s in sub.sort_values(["segments", "code"], ascending=[False, True]).iterrows():
        if s["code"] == theme:
            continue
        blocks.append(
            Para(
                f"{t.label(s['code'])}: {t.segments(int(s['segments']))}",
                _segments_for(data, city, [s["code"]]),
                "bullet",
            )
        )
    quotes = data.theme_quotes[
        (data.theme_quotes["city"] == city) & (data.theme_quotes["code"] == theme)
    ]
    limit = 4 if n_seg >= 8 else (3 if n_seg >= 3 else 2)
    blocks.extend(_quotes(t, quotes, kinds, limit))
    return Section(t.label(theme), tuple(blocks))


def _code_list_blocks(
    t: _Text, city: str, codes: Sequence[str], kinds: Mapping[str, str]
) -> list[Block]:
    data = t.data
    blocks: list[Block] = []
    m = data.code_matrix
    for code in codes:
        row = m[(m["city"] == city) & (m["code"] == code)]
        n = int(row["segments"].iloc[0]) if len(row) else 0
        segs = _segments_for(data, city, [code])
        if n == 0:
            blocks.append(
                Para(
                    f"{t.label(code)}: " + ("ei mainintoja." if t.fi else "not mentioned."),
                    (),
                    "bullet",
                )
            )
            continue
        blocks.append(Para(f"{t.label(code)}: {t.segments(n)}", segs, "bullet"))
        quotes = data.code_quotes[
            (data.code_quotes["city"] == city) & (data.code_quotes["code"] == code)
        ]
        blocks.extend(_quotes(t, quotes, kinds, 1))
    return blocks


def _theme_table(t: _Text, city: str) -> list[Block]:
    data = t.data
    rows = []
    for _, r in data.theme_matrix[data.theme_matrix["city"] == city].iterrows():
        share = r["share_of_interviewees"]
        per = r["per_1000_words"]
        mean = _others_mean(t, city, r["code"])
        rows.append(
            (
                t.label(r["code"]),
                str(int(r["segments"])),
                str(int(r["documents"])),
                t.pct(float(share)) if share is not None and not pd.isna(share) else "–",
                t.num(float(per)) if per is not None and not pd.isna(per) else "–",
                t.num(mean) if mean is not None else "–",
            )
        )
    header = (
        (
            "Teema",
            "Segmentit",
            "Dokumentit",
            "Haastateltavista",
            "/ 1 000 sanaa",
            "Muut kaupungit / 1 000 sanaa",
        )
        if t.fi
        else (
            "Theme",
            "Segments",
            "Documents",
            "Of interviewees",
            "Per 1,000 words",
            "Other cities per 1,000 words",
        )
    )
    blocks: list[Block] = [Table(header, tuple(rows))]
    if data.heatmap is not None:
        blocks.append(
            Image(
                data.heatmap,
                "Teemat kaupungeittain (mainintoja 1 000 sanaa kohden)"
                if t.fi
                else "Themes by city (mentions per 1,000 words)",
            )
        )
    return blocks


# --- the cross-city summary ------------------------------------------------------------------


def summary_report(data: ReportData) -> Report:
    t = _Text(data)
    cities = sorted(data.theme_matrix["city"].unique())
    title = (
        "Seutukaupunkien innovaatioekosysteemit: yhteenveto"
        if t.fi
        else "Innovation ecosystems of the regional cities: summary"
    )
    subtitle = f"Laadittu {data.date} · qualcode" if t.fi else f"Prepared {data.date} · qualcode"
    front = tuple(_material(t, data.documents))
    findings = {}
    for city in cities:
        codings = _city_codings(data, city)
        findings[city] = {
            f.dimension: f
            for f in assess(zip(codings["segment_id"], codings["code"], strict=True), data.codebook)
        }
    names = VALUE_NAMES["fi" if t.fi else "en"]
    sections = [Section("Typologia" if t.fi else "Typology", tuple(_typology(t, findings)))]
    matrix_rows = []
    for theme in (c for c in data.codebook.codes if c.parent is None):
        cells = []
        for city in cities:
            r = data.theme_matrix[
                (data.theme_matrix["city"] == city) & (data.theme_matrix["code"] == theme.id)
            ]
            per = r["per_1000_words"].iloc[0] if len(r) else None
            cells.append(t.num(float(per)) if per is not None and not pd.isna(per) else "–")
        matrix_rows.append((t.label(theme.id), *cells))
    blocks: list[Block] = [
        Table(
            ("Teema" if t.fi else "Theme", *cities),
            tuple(matrix_rows),
            "mainintoja 1 000 sanaa kohden" if t.fi else "mentions per 1,000 words",
        )
    ]
    if data.heatmap is not None:
        blocks.append(Image(data.heatmap, ""))
    sections.append(Section("Teemat kaupungeittain" if t.fi else "Themes by city", tuple(blocks)))
    sections.append(
        Section(
            "Kaupunkeja erottavat teemat" if t.fi else "Themes that separate the cities",
            tuple(_separating(t, cities)),
        )
    )
    indicator_rows = tuple(
        (
            city,
            *(
                " / ".join(names[v] for v in findings[city][d].values)
                or ("ei arviota" if t.fi else "n/a")
                for d in ("maturity", "leadership")
            ),
        )
        for city in cities
    )
    sections.append(
        Section(
            "Indikaattorit kaupungeittain" if t.fi else "Indicators by city",
            (
                Table(
                    (
                        "Kaupunki" if t.fi else "City",
                        *DIMENSION_NAMES["fi" if t.fi else "en"].values(),
                    ),
                    indicator_rows,
                ),
            ),
        )
    )
    return Report(title, subtitle, front, tuple(sections))


def _typology(t: _Text, findings: Mapping[str, Mapping[str, Finding]]) -> list[Block]:
    names = VALUE_NAMES["fi" if t.fi else "en"]
    maturity = ("starting", "developing", "established")
    leadership = ("city", "company", "education")
    rows = []
    segs: set[str] = set()
    for m in maturity:
        cells = []
        for lead in leadership:
            here = [
                c
                for c, f in findings.items()
                if m in f["maturity"].values and lead in f["leadership"].values
            ]
            for c in here:
                segs.update(findings[c]["maturity"].segments)
                segs.update(findings[c]["leadership"].segments)
            cells.append(", ".join(here) or "")
        rows.append((names[m], *cells))
    unassessed = [
        c for c, f in findings.items() if not f["maturity"].values or not f["leadership"].values
    ]
    blocks: list[Block] = [Table(("", *(names[x] for x in leadership)), tuple(rows))]
    if unassessed:
        blocks.append(
            Para(
                (f"Aineisto ei riittänyt sijoittamaan typologiaan: {t.join(unassessed)}.")
                if t.fi
                else f"Not enough material to place: {t.join(unassessed)}.",
                (),
                "note",
            )
        )
    blocks.insert(
        0,
        Para(
            "Kaupungit sijoittuvat verkostotoiminnan kypsyyden (rivit) ja vetovastuun (sarakkeet) "
            "mukaan seuraavasti."
            if t.fi
            else "The cities by maturity of network activity (rows) and who leads (columns).",
            tuple(sorted(segs)),
        ),
    )
    return blocks


def _separating(t: _Text, cities: Sequence[str]) -> list[Block]:
    """Themes whose prominence varies most between the cities (coefficient of variation)."""
    data = t.data
    spread = []
    for code in (c for c in data.codebook.codes if c.parent is None):
        values = (
            data.theme_matrix[data.theme_matrix["code"] == code.id]
            .set_index("city")["per_1000_words"]
            .dropna()
            .astype(float)
        )
        if len(values) < 2 or values.mean() == 0:
            continue
        spread.append((float(values.std(ddof=0) / values.mean()), code.id, values))
    spread.sort(key=lambda s: (-s[0], s[1]))
    blocks: list[Block] = []
    for _, theme, values in spread[:3]:
        high, low = values.idxmax(), values.idxmin()
        segs = tuple(
            sorted(set(_segments_for(data, str(high), _theme_members(data.codebook, theme))))
        )
        if t.fi:
            text = (
                f"{t.quoted(theme)}: eniten esillä {t.loc(str(high))} "
                f"({t.num(values[high])} / 1 000 sanaa), vähiten {t.loc(str(low))} "
                f"({t.num(values[low])})."
            )
        else:
            text = (
                f"{t.quoted(theme)}: most prominent in {high} ({t.num(values[high])} per "
                f"1,000 words), least in {low} ({t.num(values[low])})."
            )
        blocks.append(Para(text, segs, "bullet"))
    return blocks
