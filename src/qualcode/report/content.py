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
from qualcode.report.clock import clock
from qualcode.report.indicators import Finding, assess
from qualcode.textutil import count_words

QUOTE_WORDS = 70
# A quote in a table cell (Invest in, strategy inputs) is shorter: the row must stay readable.
CELL_QUOTE_WORDS = 35
LITTLE_MATERIAL_SEGMENTS = 15
# A comparison between cities ("stood out on X") is made only on this much evidence.
COMPARE_SEGMENTS = 3
COMPARE_DOCUMENTS = 2

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
    style: str = "body"  # body | bullet | quote | attribution | note | memo_head | memo


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    # Relative column widths (the writer fits them to the page); empty: the first column
    # (labels) gets a third of the page and the others share the rest.
    widths: tuple[float, ...] = ()
    # The segment ids behind each row (a Word comment on the row's first cell), when the
    # table makes claims of its own (counts, quotes) rather than repeating the text's.
    row_segments: tuple[tuple[str, ...], ...] = ()


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
    # The researcher's memos for this report: section id -> paragraphs (see qualcode.memos).
    memos: Mapping[str, Sequence[str]] = field(default_factory=dict)


class _Text:
    """Language-specific phrasing."""

    def __init__(self, data: ReportData) -> None:
        self.data = data
        self.fi = data.lang == "fi"
        # Segment ids and excerpts already quoted: no quote appears twice in one report.
        self.used: set[str] = set()
        self.picks: dict[str, tuple[Diff | None, Diff | None]] = {}

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


def excerpt(text: str, hits: Sequence[tuple[int, int]] = (), words: int = QUOTE_WORDS) -> str:
    """The part of a segment worth quoting: the sentences holding the matched words.

    ``hits`` are (start, end) offsets into ``text`` of the forms a rule matched; without any
    (a manual coding) the excerpt is the start of the segment. At most ``words`` words;
    "…" stands wherever text is left out (before, between or after the kept sentences), and
    a sentence longer than the budget (unpunctuated speech) is cut to a window around the
    first matched word.
    """
    from qualcode.segment import sentence_spans

    sentences = sentence_spans(text, 0, len(text)) or [(0, len(text))]
    inside = [(a, b) for a, b in hits if 0 <= a < b <= len(text)]
    wanted = [i for i, (a, b) in enumerate(sentences) if any(h < b and e > a for h, e in inside)]
    anchor = inside[0][0] if inside else 0
    if not wanted:
        wanted, anchor = [0], 0
        # No evidence: read on from the start as far as the budget allows.
        wanted += range(1, len(sentences))
    chosen: list[int] = []
    used = 0
    for i in wanted:
        n = count_words(text[slice(*sentences[i])])
        if chosen and used + n > words:
            break
        chosen.append(i)
        used += n
    # A one-word answer ("Kyllä, rahoitus.") reads better with the sentence after it.
    while used < 15 and chosen[-1] + 1 < len(sentences):
        n = count_words(text[slice(*sentences[chosen[-1] + 1])])
        if used + n > words:
            break
        chosen.append(chosen[-1] + 1)
        used += n
    pieces: list[str] = []
    for k, i in enumerate(chosen):
        a, b = sentences[i]
        piece = _window(text, a, b, anchor, words) if used > words else text[a:b]
        if k and chosen[k - 1] != i - 1:
            pieces.append("…")
        pieces.append(piece)
    out = " ".join(" ".join(pieces).split())
    if chosen[0] > 0 and not out.startswith("…"):
        out = "… " + out
    if chosen[-1] < len(sentences) - 1 and not out.endswith("…"):
        out += " …"
    return out


def _window(text: str, a: int, b: int, anchor: int, words: int) -> str:
    """``text[a:b]`` cut to ``words`` whitespace-separated words around ``anchor``."""
    import re

    tokens = list(re.finditer(r"\S+", text[a:b]))
    if len(tokens) <= words:
        return text[a:b]
    at = next((k for k, m in enumerate(tokens) if a + m.end() > anchor), 0)
    first = max(0, min(at - words // 3, len(tokens) - words))
    last = first + words
    body = " ".join(m.group() for m in tokens[first:last])
    return ("… " if first else "") + body + (" …" if last < len(tokens) else "")


def quote_hits(row: Mapping[str, object]) -> list[tuple[int, int]]:
    """A quotes row's evidence as (start, end) offsets into its segment text."""
    import json

    raw = row.get("evidence")
    if not isinstance(raw, str) or not raw:
        return []
    start = int(str(row.get("start") or 0))
    return [(int(e[1]) - start, int(e[2]) - start) for e in json.loads(raw)]


def attribution(lang: str, role: str, org: str, kind: str, time: object = None) -> str:
    """How a quote is signed: the speaker's own role and organisation type, else neutrally.

    An empty role never borrows another speaker's: a multi-speaker document's unknown speaker
    is "puhuja" (a workshop's "työpajan osallistuja"). The recording time follows when known.
    """
    parts = [p for p in (role, org) if p]
    if not parts:
        if kind == "workshop":
            parts = ["työpajan osallistuja" if lang == "fi" else "workshop participant"]
        else:
            parts = ["puhuja" if lang == "fi" else "speaker"]
    shown = clock(time)
    if shown:
        parts.append(shown)
    return ", ".join(parts)


def _attribution(t: _Text, role: str, org: str, kind: str, time: object = None) -> str:
    return "— " + attribution(t.data.lang, role, org, kind, time)


def _quotes(t: _Text, quotes: pd.DataFrame, kinds: Mapping[str, str], limit: int) -> list[Para]:
    """Up to ``limit`` quotes not yet shown in this report (by segment and by excerpt)."""
    out: list[Para] = []
    shown = 0
    for _, q in quotes.iterrows():
        if shown >= limit:
            break
        segment = str(q["segment_id"])
        text = t.data.pseudonymise(excerpt(str(q["text"]), quote_hits(q.to_dict())))
        if segment in t.used or text in t.used:
            continue
        t.used.update((segment, text))
        shown += 1
        out.append(Para(f"”{text}”" if t.fi else f"“{text}”", (segment,), "quote"))
        out.append(
            Para(
                _attribution(
                    t,
                    str(q["role"] or ""),
                    str(q["organisation_type"] or ""),
                    kinds.get(str(q["document"]), "interview"),
                    q.get("time"),
                ),
                (),
                "attribution",
            )
        )
    return out


# --- sentence templates that carry a count (each right for 0, 1, 2 and many) ----------------


def _en(n: int, noun: str, plural: str = "") -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def thin_material(lang: str, place: str, n: int) -> str:
    """The warning on a thin city; ``place`` is the genitive in Finnish ("Pikkulan")."""
    if lang == "fi":
        if n == 0:
            return f"{place} aineistossa ei ole vielä yhtään koodattua segmenttiä."
        return (
            f"{place} aineisto on suppea: koodattuja segmenttejä on vain {fi.number(n)}. "
            "Havainnot ovat siksi suuntaa antavia, eikä niistä pidä vetää pitkälle meneviä "
            "johtopäätöksiä."
        )
    if n == 0:
        return f"The material for {place} has no coded segments yet."
    return (
        f"The material for {place} is thin: only {_en(n, 'coded segment')}. "
        "The findings are indicative only."
    )


def raised_by(lang: str, raised: int, total: int, share: float, subject: str = "") -> str:
    """Who of ``total`` interviewees raised a theme ("Sen otti puheeksi kaksi kolmesta ...").

    ``subject`` (the quoted theme label) is named instead of "sen"/"it" when given.
    """
    if lang == "fi":
        obj = f"teeman {subject}" if subject else "sen"
        obj_par = f"teemaa {subject}" if subject else "sitä"
        workshops = "; maininnat ovat työpajamuistioista."
        if total == 1:
            if raised:
                return f"Ainoa haastateltava otti {obj} puheeksi."
            return f"Ainoa haastateltava ei ottanut {obj_par} puheeksi{workshops}"
        if raised == 0:
            return f"Haastateltavat eivät ottaneet {obj_par} puheeksi{workshops}"
        head = obj[0].upper() + obj[1:]
        if raised == total:
            if total == 2:
                return f"{head} ottivat puheeksi molemmat haastateltavat."
            return f"{head} ottivat puheeksi kaikki {fi.count(total, 'haastateltava')}."
        if total <= 10:
            return (
                f"{head} otti puheeksi {fi.number(raised)} "
                f"{fi.count(total, 'haastateltava', 'ela')}."
            )
        return f"{head} otti puheeksi {fi.percent(share)} haastateltavista."
    it = subject or "it"
    workshops_en = "; the mentions are from workshop notes."
    if total == 1:
        if raised:
            return f"The only interviewee raised {it}."
        return f"The only interviewee did not raise {it}{workshops_en}"
    if raised == 0:
        return f"No interviewee raised {it}{workshops_en}"
    if raised == total:
        return (
            f"Both interviewees raised {it}."
            if total == 2
            else f"All {total} interviewees raised {it}."
        )
    if total <= 10:
        return f"{raised} of {total} interviewees raised {it}."
    return f"{round(100 * share)}% of the interviewees raised {it}."


def theme_coverage(lang: str, n_seg: int, n_doc: int) -> str:
    """How much material a theme section rests on."""
    if lang == "fi":
        if n_seg == 0:
            return "Teemasta ei ollut mainintoja."
        return (
            f"Teemaa käsiteltiin {fi.count(n_seg, 'segmentti', 'ine')} "
            f"{fi.count(n_doc, 'dokumentti', 'ine')}."
        )
    if n_seg == 0:
        return "The theme was not mentioned."
    where = "in" if n_doc == 1 else "across"
    return f"The theme came up in {_en(n_seg, 'segment')} {where} {_en(n_doc, 'document')}."


def insufficient(lang: str, total: int) -> str:
    """Why an indicator is not assessed."""
    if lang == "fi":
        if total == 0:
            return "Aineisto ei riitä arvioon: yksikään segmentti ei viittaa asiaan."
        verb = "viittaa" if total == 1 else "viittaavat"
        return f"Aineisto ei riitä arvioon: vain {fi.count(total, 'segmentti')} {verb} asiaan."
    if total == 0:
        return "Not enough material to assess: no segment refers to it."
    return f"Not enough material to assess: only {_en(total, 'segment')}."


def not_mentioned(lang: str, labels: Sequence[str], contrast: bool = True) -> str:
    """All the themes without material in one sentence (``labels`` already quoted).

    ``contrast``: the sentence follows one about the themes that did come up.
    """
    if lang == "fi":
        verb = "ei noussut" if len(labels) == 1 else "eivät nousseet"
        lead = "Sen sijaan " if contrast else ""
        return f"{lead}{fi.join(list(labels))} {verb} aineistossa esiin lainkaan."
    verb = "did not come up" if contrast else "did not come up in the material"
    return f"{fi.join(list(labels), 'and')} {verb}."


def not_mentioned_codes(lang: str, labels: Sequence[str], others: bool = True) -> str:
    """The codes of a report section that had no material, in one sentence."""
    if lang == "fi":
        names = fi.join(list(labels))
        return f"Ei mainintoja: {names}." if others else f"Aineistossa ei mainittu: {names}."
    names = fi.join(list(labels), "and")
    return f"Not mentioned: {names}." if others else f"Nothing in the material on: {names}."


def material(lang: str, interviews: int, workshops: int, when: str) -> str:
    """What the report rests on ("Aineisto: tilannekuva perustuu kahteen haastatteluun ...")."""
    if lang == "fi":
        parts = []
        if interviews:
            parts.append(fi.count(interviews, "haastattelu", "ill"))
        if workshops:
            parts.append(fi.count(workshops, "työpaja", "ill"))
        if not parts:
            return "Aineisto: tilannekuvalla ei ole vielä aineistoa."
        relative = "joka toteutettiin" if interviews + workshops == 1 else "jotka toteutettiin"
        text = f"Aineisto: tilannekuva perustuu {fi.join(parts)}"
        return text + (f", {relative} {when}." if when else ".")
    parts = []
    if interviews:
        parts.append(_en(interviews, "interview"))
    if workshops:
        parts.append(_en(workshops, "workshop"))
    if not parts:
        return "Material: none yet."
    return f"Material: {fi.join(parts, 'and')}{when}."


def _interviewee_count(docs: pd.DataFrame) -> int:
    interviews = docs[docs["kind"] == "interview"]
    if not len(interviews):
        return 0
    return int(interviews.apply(lambda d: d["participant"] or d["name"], axis=1).nunique())


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
        Section(
            "Yhteenveto" if t.fi else "Summary",
            (*_summary(t, city, themes, codings), *_memo(t, "yhteenveto")),
        )
    ]
    sections.append(
        Section(
            "Indikaattorit" if t.fi else "Indicators",
            (*_indicator_blocks(t, findings), *_memo(t, "indikaattorit")),
        )
    )
    specials = []
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
            specials.append((title_fi if t.fi else title_en, codes))
    # A report section drawing on exactly one theme's codes ("development" is the theme
    # "Kehittämistarpeet ja ehdotetut toimenpiteet") is that theme's section, not a second
    # section under the same heading with the same counts again.
    home: dict[str, Sequence[str]] = {}
    for title_, codes in list(specials):
        for theme in (c for c in data.codebook.codes if c.parent is None):
            members = {m for m in _theme_members(data.codebook, theme.id) if m != theme.id}
            if members and set(codes) == members:
                home[theme.id] = codes
                specials.remove((title_, codes))
                break
    for theme in (c for c in data.codebook.codes if c.parent is None):
        row = themes[themes["code"] == theme.id]
        # Themes without material get no section: the summary names them in one sentence.
        if len(row) and int(row["segments"].iloc[0]) > 0:
            section = _theme_section(t, city, theme.id, themes, docs, kinds, home.get(theme.id))
            sections.append(Section(section.title, (*section.blocks, *_memo(t, theme.id))))
        elif _memo(t, theme.id):
            # A memo on a theme without material still needs a place to stand.
            sections.append(
                Section(
                    t.label(theme.id),
                    (Para(theme_coverage(data.lang, 0, 0)), *_memo(t, theme.id)),
                )
            )
    for title_, codes in specials:
        sections.append(Section(title_, tuple(_code_list_blocks(t, city, codes, kinds))))
    sections.append(
        Section("Teemataulukko" if t.fi else "Theme table", tuple(_theme_table(t, city)))
    )
    sections.append(
        Section(
            "Strategian lähtökohdat" if t.fi else "Inputs for the strategy",
            (*_strategy_inputs(t, city, kinds), *_memo(t, "strategia")),
        )
    )
    return Report(title, subtitle, front, _unique_titles(sections))


def _unique_titles(sections: Sequence[Section]) -> tuple[Section, ...]:
    """One section per heading: a later section with a heading already used joins the first."""
    merged: dict[str, Section] = {}
    for section in sections:
        if section.title in merged:
            first = merged[section.title]
            merged[section.title] = Section(first.title, first.blocks + section.blocks, first.level)
        else:
            merged[section.title] = section
    return tuple(merged.values())


def _material(t: _Text, docs: pd.DataFrame) -> list[Para]:
    interviews = docs[docs["kind"] == "interview"]
    workshops = docs[docs["kind"] == "workshop"]
    dates = sorted(d for d in docs["date"].fillna("") if d)
    roles = sorted({r for r in interviews["role"].fillna("") if r})
    orgs = sorted({o for o in interviews["organisation_type"].fillna("") if o})
    ids = tuple(sorted(docs["id"]))
    if t.fi:
        when = fi.month_span(dates)
    else:
        when = f", {dates[0]}" if dates else ""
        if dates and dates[-1] != dates[0]:
            when += f" to {dates[-1]}"
    lines = [Para(material(t.data.lang, len(interviews), len(workshops), when), ids, "note")]
    if roles:
        people = "Haastateltavat" if t.fi else "Interviewees"
        text = f"{people}: {', '.join(roles)}"
        if orgs:
            text += f" ({'organisaatiot' if t.fi else 'organisations'}: {', '.join(orgs)})"
        lines.append(Para(text + ".", (), "note"))
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
                thin_material(data.lang, t.gen(city) if t.fi else city, total_segments),
                tuple(sorted(set(codings["segment_id"]))),
                "note",
            )
        )
    silent = set(ranked[ranked["segments"] == 0]["code"])
    absent = [c.id for c in data.codebook.codes if c.id in silent]  # in codebook order
    if present.empty:
        if absent and total_segments:
            blocks.append(Para(not_mentioned(data.lang, [t.quoted(c) for c in absent], False)))
        return blocks
    top = present.head(2)
    top_ids = list(top["code"])
    segs = _segments_for(
        data, city, [m for th in top_ids for m in _theme_members(data.codebook, th)]
    )
    names = t.join([t.quoted(c) for c in top_ids])
    if t.fi:
        verb = "nousi" if len(top_ids) == 1 else "nousivat"
        first = f"{t.loc(city)} keskusteluissa {verb} vahvimmin esiin {names}."
    else:
        first = (
            f"In {city}, the most prominent theme was {names}."
            if len(top_ids) == 1
            else f"In {city}, the most prominent themes were {names}."
        )
    share = top.iloc[0]["share_of_interviewees"]
    n_people = _interviewee_count(_city_docs(data, city))
    if n_people and share is not None and not pd.isna(share) and float(share) > 0:
        raised = round(float(share) * n_people)
        first += " " + raised_by(data.lang, raised, n_people, float(share), t.quoted(top_ids[0]))
    blocks.append(Para(first, segs))
    weak = list(present.tail(1)["code"]) if len(present) > 2 else []
    if absent:
        blocks.append(Para(not_mentioned(data.lang, [t.quoted(c) for c in absent])))
    elif weak and not _below_average(t, city, weak[0]):
        blocks.append(
            Para(
                f"Vähiten esillä oli {t.quoted(weak[0])}."
                if t.fi
                else f"Least prominent was {t.quoted(weak[0])}.",
                _segments_for(data, city, _theme_members(data.codebook, weak[0])),
            )
        )
    blocks.extend(_comparison(t, city))
    return blocks


def _below_average(t: _Text, city: str, theme: str) -> bool:
    """True when the comparison sentence will already say that ``theme`` is weak here."""
    below = _comparison_picks(t, city)[1]
    return below is not None and below[1] == theme


def _enough(t: _Text, cities: Sequence[str] | None, theme: str, exclude: str = "") -> bool:
    """Is there enough material on ``theme`` to compare on it?

    At least ``COMPARE_SEGMENTS`` segments from at least ``COMPARE_DOCUMENTS`` documents, in
    ``cities`` (None: every city but ``exclude``). A rate built on one segment says nothing.
    """
    m = t.data.theme_matrix
    rows = m[m["code"] == theme]
    rows = rows[rows["city"].isin(cities)] if cities is not None else rows[rows["city"] != exclude]
    members = _theme_members(t.data.codebook, theme)
    codings = t.data.codings[t.data.codings["code"].isin(members)]
    docs = t.data.documents
    ids = set(docs[docs["city"].fillna("").isin(set(rows["city"]))]["id"])
    codings = codings[codings["document_id"].isin(ids)]
    return (
        int(codings["segment_id"].nunique()) >= COMPARE_SEGMENTS
        and int(codings["document_id"].nunique()) >= COMPARE_DOCUMENTS
    )


Diff = tuple[float, str, float, float]  # (value - mean, theme, value, others' mean)


def _comparison_picks(t: _Text, city: str) -> tuple[Diff | None, Diff | None]:
    """The themes furthest above and below the other cities' mean, when the evidence holds.

    Above: the city itself has enough material on the theme. Below: the other cities have
    enough, and the city's material is not thin overall (a thin city is below on everything).
    """
    if city in t.picks:
        return t.picks[city]
    t.picks[city] = _pick(t, city)
    return t.picks[city]


def _pick(t: _Text, city: str) -> tuple[Diff | None, Diff | None]:
    data = t.data
    if data.theme_matrix["city"].nunique() < 2:
        return None, None
    diffs: list[Diff] = []
    for _, row in data.theme_matrix[data.theme_matrix["city"] == city].iterrows():
        mean = _others_mean(t, city, row["code"])
        value = row["per_1000_words"]
        if mean is None or value is None or pd.isna(value):
            continue
        diffs.append((float(value) - mean, str(row["code"]), float(value), mean))
    if not diffs:
        return None, None
    diffs.sort(key=lambda d: (-d[0], d[1]))
    above = next((d for d in diffs if d[0] > 0.5 and _enough(t, [city], d[1])), None)
    own = _city_codings(data, city)
    # "Less than elsewhere" rests on the city's whole material: thin or from a single
    # document, it is below average on nearly everything and the claim says nothing.
    thin = (
        own["segment_id"].nunique() < LITTLE_MATERIAL_SEGMENTS
        or own["document_id"].nunique() < COMPARE_DOCUMENTS
    )
    below = None
    if not thin:
        below = next(
            (
                d
                for d in reversed(diffs)
                if d[0] < -0.5
                and (above is None or d[1] != above[1])
                and _enough(t, None, d[1], exclude=city)
            ),
            None,
        )
    return above, below


def _comparison(t: _Text, city: str) -> list[Para]:
    """How the city differs from the others: the themes furthest above and below average."""
    data = t.data
    above, below = _comparison_picks(t, city)
    out = []
    if above is not None:
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
    if below is not None:
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
            detail = insufficient(t.data.lang, f.total)
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
    codes: Sequence[str] | None = None,
) -> Section:
    """A theme's material; with ``codes`` (a report section on this theme) code by code."""
    data = t.data
    row = themes[themes["code"] == theme].iloc[0]
    members = _theme_members(data.codebook, theme)
    segs = _segments_for(data, city, members)
    n_seg, n_doc = int(row["segments"]), int(row["documents"])
    n_people = _interviewee_count(docs)
    share = row["share_of_interviewees"]
    raised = round(float(share) * n_people) if share is not None and not pd.isna(share) else 0
    blocks: list[Block] = []
    text = theme_coverage(data.lang, n_seg, n_doc)
    if n_seg and n_people:
        text += " " + raised_by(data.lang, raised, n_people, float(share or 0))
    blocks.append(Para(text, segs))
    if codes is not None:
        blocks.extend(_code_list_blocks(t, city, codes, kinds))
        return Section(t.label(theme), tuple(blocks))
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
    silent = []
    for code in codes:
        row = m[(m["city"] == city) & (m["code"] == code)]
        n = int(row["segments"].iloc[0]) if len(row) else 0
        segs = _segments_for(data, city, [code])
        if n == 0:
            silent.append(t.label(code))
            continue
        blocks.append(Para(f"{t.label(code)}: {t.segments(n)}", segs, "bullet"))
        quotes = data.code_quotes[
            (data.code_quotes["city"] == city) & (data.code_quotes["code"] == code)
        ]
        blocks.extend(_quotes(t, quotes, kinds, 1))
    if silent:
        # The codes without material in one line, not one "not mentioned" bullet each.
        blocks.append(Para(not_mentioned_codes(t.data.lang, silent, bool(blocks))))
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
    # Headers short enough for their columns: a word broken inside ("Dokumen|tit") in the
    # PDF looks broken. "1 000" keeps its no-break space.
    header = (
        (
            "Teema",
            "Segmentit",
            "Dokumentit",
            "Osuus haastateltavista",
            "/ 1\u00a0000 sanaa",
            "Muut kaupungit / 1\u00a0000 sanaa",
        )
        if t.fi
        else (
            "Theme",
            "Segments",
            "Documents",
            "Share of interviewees",
            "Per 1,000 words",
            "Other cities per 1,000 words",
        )
    )
    blocks: list[Block] = [Table(header, tuple(rows), widths=(4.0, 2.2, 2.4, 3.5, 2.2, 2.7))]
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
    """The cross-city summary written for the joint strategy of the network.

    Typology with each city's reasons, each theme across the cities, the common development
    needs, the Invest in table and a profile per city; every claim carries its segments.
    """
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
    sections = [
        Section(
            "Typologia" if t.fi else "Typology",
            (
                *_typology(t, findings),
                *(_placement(t, city, findings[city]) for city in cities),
                *_memo(t, "typologia"),
            ),
        )
    ]
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
    blocks.append(
        Para(
            "Teemat yksitellen: missä kaupungeissa teema nousi esiin ja missä se oli "
            f"vahvimmin ja heikoimmin esillä. Vertailu tehdään vain, kun teemasta on vähintään "
            f"{fi.count(COMPARE_SEGMENTS, 'segmentti')} "
            f"{fi.count(COMPARE_DOCUMENTS, 'dokumentti', 'ela')}."
            if t.fi
            else "Theme by theme: in which cities it came up, and where it was strongest and "
            f"weakest. A comparison is made only on at least {COMPARE_SEGMENTS} segments from "
            f"{COMPARE_DOCUMENTS} documents."
        )
    )
    for theme in (c for c in data.codebook.codes if c.parent is None):
        blocks.extend(_theme_across(t, theme.id, cities))
        blocks.extend(_memo(t, theme.id))
    blocks.extend(_memo(t, "teemat"))
    sections.append(Section("Teemat kaupungeittain" if t.fi else "Themes by city", tuple(blocks)))
    sections.append(
        Section(
            "Kaupunkeja erottavat teemat" if t.fi else "Themes that separate the cities",
            tuple(_separating(t, cities)),
        )
    )
    sections.extend(_common_needs(t, cities))
    sections.append(
        Section(
            "Invest in: puuttuvat täydentävät toimijat"
            if t.fi
            else "Invest in: the complementary actors missing",
            (*_invest_in(t, cities), *_memo(t, "invest-in")),
        )
    )
    sections.append(
        Section(
            "Kaupunkiprofiilit" if t.fi else "City profiles",
            (
                *(_profile(t, city, findings[city]) for city in cities),
                *_memo(t, "profiilit"),
            ),
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
                    row_segments=tuple(
                        tuple(
                            sorted(
                                set(findings[c]["maturity"].segments)
                                | set(findings[c]["leadership"].segments)
                            )
                        )
                        for c in cities
                    ),
                ),
                *_memo(t, "indikaattorit"),
            ),
        )
    )
    return Report(title, subtitle, front, tuple(sections))


# --- the summary's parts ---------------------------------------------------------------------


def _memo(t: _Text, key: str) -> list[Para]:
    """The researcher's memo for a section, marked as theirs; pseudonymised like the quotes.

    Reports go to clients, and a memo may name a person as easily as a quote does.
    """
    paragraphs = [p for p in t.data.memos.get(key, ()) if p.strip()]
    if not paragraphs:
        return []
    head = "Tutkijan muistio" if t.fi else "Researcher's memo"
    return [
        Para(head, (), "memo_head"),
        *(Para(t.data.pseudonymise(p), (), "memo") for p in paragraphs),
    ]


def _evidence(t: _Text, finding: Finding) -> str:
    names = VALUE_NAMES["fi" if t.fi else "en"]
    return ", ".join(f"{names[v]} {n}" for v, n in finding.counts if n)


def _main_and_rest(t: _Text, finding: Finding) -> tuple[int, str]:
    """The assessed value's count, and the other values with evidence ("kehitysvaiheessa 1")."""
    names = VALUE_NAMES["fi" if t.fi else "en"]
    counts = dict(finding.counts)
    rest = ", ".join(f"{names[v]} {n}" for v, n in finding.counts if n and v != finding.values[0])
    return counts[finding.values[0]], rest


def _placement(t: _Text, city: str, found: Mapping[str, Finding]) -> Para:
    """One sentence on why the city sits where it does in the typology: its indicator counts."""
    names = VALUE_NAMES["fi" if t.fi else "en"]
    parts = []
    for dim in ("maturity", "leadership"):
        f = found[dim]
        if t.fi:
            subject = "kypsyydestä" if dim == "maturity" else "vetovastuusta"
            if f.status == "insufficient":
                parts.append(
                    f"{subject} aineistoa on liian vähän ({fi.count(f.total, 'segmentti')})"
                )
            elif f.status == "tied":
                parts.append(f"{subject} näyttö jakautuu tasan ({_evidence(t, f)} segmenttiä)")
            else:
                main, rest = _main_and_rest(t, f)
                parts.append(
                    f"{subject} kertovista segmenteistä painottuu {names[f.values[0]]} "
                    f"({fi.count(main, 'segmentti')}{f'; muut: {rest}' if rest else ''})"
                )
        else:
            subject = "maturity" if dim == "maturity" else "leadership"
            if f.status == "insufficient":
                parts.append(f"there is too little on {subject} ({_en(f.total, 'segment')})")
            elif f.status == "tied":
                parts.append(f"the evidence on {subject} is split evenly ({_evidence(t, f)})")
            else:
                main, rest = _main_and_rest(t, f)
                parts.append(
                    f"the segments on {subject} point to {names[f.values[0]]} "
                    f"({_en(main, 'segment')}{f'; others: {rest}' if rest else ''})"
                )
    segs = tuple(sorted(set(found["maturity"].segments) | set(found["leadership"].segments)))
    joined = f"{parts[0]}, ja {parts[1]}" if t.fi else f"{parts[0]}, and {parts[1]}"
    text = f"{city}: {joined}."
    return Para(text, segs, "bullet")


def _theme_rates(t: _Text, theme: str, cities: Sequence[str]) -> dict[str, tuple[int, float]]:
    """city -> (segments, per 1,000 words) on ``theme``."""
    m = t.data.theme_matrix
    out = {}
    for city in cities:
        r = m[(m["city"] == city) & (m["code"] == theme)]
        if not len(r):
            continue
        per = r["per_1000_words"].iloc[0]
        out[city] = (int(r["segments"].iloc[0]), 0.0 if pd.isna(per) else float(per))
    return out


def _thin_city(t: _Text, city: str) -> bool:
    own = _city_codings(t.data, city)
    return bool(
        own["segment_id"].nunique() < LITTLE_MATERIAL_SEGMENTS
        or own["document_id"].nunique() < COMPARE_DOCUMENTS
    )


def _theme_across(t: _Text, theme: str, cities: Sequence[str]) -> list[Para]:
    """In how many cities a theme came up, and where strongest and weakest (on enough evidence)."""
    data = t.data
    members = _theme_members(data.codebook, theme)
    rates = _theme_rates(t, theme, cities)
    raised = [c for c in cities if rates.get(c, (0, 0.0))[0] > 0]
    all_segs = tuple(sorted({s for c in raised for s in _segments_for(data, c, members)}))
    n, total = len(raised), len(cities)
    label = t.quoted(theme)
    if t.fi:
        if n == 0:
            return [Para(f"{label} ei noussut esiin yhdessäkään kaupungissa.", (), "bullet")]
        if n == total and total > 1:
            where = f"kaikissa {fi.number(total, 'ine')} kaupungissa"
        elif n == 1:
            where = f"vain {t.loc(raised[0])}"
        else:
            where = f"{fi.count(n, 'kaupunki', 'ine')} {fi.number(total, 'ela')}"
        text = f"{label} nousi esiin {where} ({fi.count(len(all_segs), 'segmentti')})."
    else:
        if n == 0:
            return [Para(f"{label} did not come up in any city.", (), "bullet")]
        if n == total and total > 1:
            where = f"in all {total} cities"
        elif n == 1:
            where = f"only in {raised[0]}"
        else:
            where = f"in {n} of {total} cities"
        text = f"{label} came up {where} ({_en(len(all_segs), 'segment')})."
    if n >= 2:
        high = max(raised, key=lambda c: (rates[c][1], c))
        low = min(rates, key=lambda c: (rates[c][1], c))
        if _enough(t, [high], theme):
            text += (
                f" Vahvimmin se oli esillä {t.loc(high)} ({t.num(rates[high][1])} / 1 000 sanaa)"
                if t.fi
                else f" It was strongest in {high} ({t.num(rates[high][1])} per 1,000 words)"
            )
            if low != high and _enough(t, None, theme, exclude=low) and not _thin_city(t, low):
                text += (
                    f", heikoimmin {t.loc(low)} ({t.num(rates[low][1])})."
                    if t.fi
                    else f" and weakest in {low} ({t.num(rates[low][1])})."
                )
            else:
                text += "."
        else:
            text += (
                " Aineisto ei riitä sanomaan, missä se oli vahvimmin esillä."
                if t.fi
                else " There is not enough material to say where it was strongest."
            )
    return [Para(text, all_segs, "bullet")]


def _code_cities(t: _Text, code: str, cities: Sequence[str]) -> list[tuple[str, int]]:
    """(city, segments) of the cities whose material has ``code``, most first."""
    m = t.data.code_matrix
    rows = m[(m["code"] == code) & (m["segments"] > 0) & (m["city"].isin(cities))]
    pairs = [(str(c), int(n)) for c, n in zip(rows["city"], rows["segments"], strict=True)]
    return sorted(pairs, key=lambda p: (-p[1], p[0]))


def _one_quote(
    t: _Text,
    quotes: pd.DataFrame,
    kinds: Mapping[str, str],
    with_city: bool = False,
    repeat: bool = False,
    words: int = QUOTE_WORDS,
) -> tuple[str, str] | None:
    """The first quote of ``quotes`` not shown yet, as (quote — attribution, segment id).

    ``repeat``: a table row (Invest in, strategy inputs) takes a quote shown earlier rather
    than standing without one; its cell is a different reading of the same evidence.
    """
    for second in (False, True) if repeat else (False,):
        found = _first_quote(t, quotes, kinds, with_city, second, words)
        if found is not None:
            return found
    return None


def _first_quote(
    t: _Text,
    quotes: pd.DataFrame,
    kinds: Mapping[str, str],
    with_city: bool,
    again: bool,
    words: int,
) -> tuple[str, str] | None:
    for _, q in quotes.iterrows():
        segment = str(q["segment_id"])
        text = t.data.pseudonymise(excerpt(str(q["text"]), quote_hits(q.to_dict()), words))
        if not again and (segment in t.used or text in t.used):
            continue
        t.used.update((segment, text))
        sign = attribution(
            t.data.lang,
            str(q["role"] or ""),
            str(q["organisation_type"] or ""),
            kinds.get(str(q["document"]), "interview"),
            q.get("time"),
        )
        if with_city:
            sign = f"{sign}, {q['city']}"
        body = f"”{text}”" if t.fi else f"“{text}”"
        return f"{body} — {sign}", segment
    return None


def _kinds(t: _Text) -> dict[str, str]:
    docs = t.data.documents
    return dict(zip(docs["name"], docs["kind"], strict=True))


_NEED_GROUPS = (
    (
        "cooperation",
        "Yhteistyö: oppilaitokset, kuntarajat ja valtio",
        "Cooperation: schools, across municipal borders and with the state",
    ),
    (
        "structures",
        "Verkostot ja pysyvät rakenteet",
        "Networks and permanent structures",
    ),
    ("development", "Kehittämisehdotukset", "Development proposals"),
)


def _common_needs(t: _Text, cities: Sequence[str]) -> list[Section]:
    """The development needs across cities, by the codebook's report mapping: who raises each."""
    data = t.data
    kinds = _kinds(t)
    subsections: list[Section] = []
    common: list[str] = []
    seen: set[str] = set()
    for key, title_fi, title_en in _NEED_GROUPS:
        codes = [c for c in data.codebook.report_codes(key) if c not in seen]
        seen.update(codes)
        if not codes:
            continue
        blocks: list[Block] = []
        silent = []
        for code in codes:
            where = _code_cities(t, code, cities)
            if not where:
                silent.append(t.label(code))
                continue
            segs = tuple(sorted({s for c, _ in where for s in _segments_for(data, c, [code])}))
            listed = t.join([f"{c} ({n})" for c, n in where])
            if t.fi:
                if len(where) == 1:
                    text = (
                        f"{t.label(code)}: esillä vain {t.loc(where[0][0])} ({where[0][1]} segm.)."
                    )
                else:
                    text = (
                        f"{t.label(code)}: esillä {fi.count(len(where), 'kaupunki', 'ine')}, "
                        f"segmenttejä kaupungeittain {listed}."
                    )
            else:
                if len(where) == 1:
                    n_only = _en(where[0][1], "segment")
                    text = f"{t.label(code)}: raised only in {where[0][0]} ({n_only})."
                else:
                    text = (
                        f"{t.label(code)}: raised in {len(where)} cities, segments by city "
                        f"{listed}."
                    )
            if len(where) >= 2 and _enough_code(t, code, [c for c, _ in where]):
                common.append(t.quoted(code))
            blocks.append(Para(text, segs, "bullet"))
            quotes = data.code_quotes[data.code_quotes["code"] == code].sort_values(
                ["score", "city", "document"], ascending=[False, True, True], kind="stable"
            )
            picked = _one_quote(t, quotes, kinds, with_city=True)
            if picked is not None:
                blocks.append(Para(picked[0], (picked[1],), "quote"))
        if silent:
            blocks.append(Para(not_mentioned_codes(data.lang, silent, bool(blocks))))
        subsections.append(Section(title_fi if t.fi else title_en, tuple(blocks), level=2))
    if t.fi:
        intro = (
            "Yhteisiksi kehittämistarpeiksi luetaan ne, jotka nousivat esiin vähintään kahdessa "
            f"kaupungissa ja joista on vähintään {fi.count(COMPARE_SEGMENTS, 'segmentti')} "
            f"{fi.count(COMPARE_DOCUMENTS, 'dokumentti', 'ela')}. "
        )
        intro += (
            f"Tällaisia ovat {t.join(common)}."
            if common
            else "Aineistossa ei ole yhtään tällaista tarvetta."
        )
    else:
        intro = (
            "Common needs are those raised in at least two cities, on at least "
            f"{COMPARE_SEGMENTS} segments from {COMPARE_DOCUMENTS} documents. "
        )
        intro += f"These are {t.join(common)}." if common else "The material has no such need."
    head = Section(
        "Yhteiset kehittämistarpeet" if t.fi else "Common development needs",
        (Para(intro), *_memo(t, "tarpeet")),
    )
    return [head, *subsections]


def _enough_code(t: _Text, code: str, cities: Sequence[str]) -> bool:
    """Enough material on one code in ``cities`` for a claim across them."""
    docs = t.data.documents
    ids = set(docs[docs["city"].fillna("").isin(set(cities))]["id"])
    codings = t.data.codings[
        (t.data.codings["code"] == code) & (t.data.codings["document_id"].isin(ids))
    ]
    return (
        int(codings["segment_id"].nunique()) >= COMPARE_SEGMENTS
        and int(codings["document_id"].nunique()) >= COMPARE_DOCUMENTS
    )


def invest_in_rows(data: ReportData, cities: Sequence[str]) -> list[tuple[str, str, int]]:
    """(city, missing-actor code, segments) for every city and code with material."""
    out = []
    for city in cities:
        for code in data.codebook.report_codes("missing_actors"):
            n = len(_segments_for(data, city, [code]))
            if n:
                out.append((city, code, n))
    return out


def _invest_in(t: _Text, cities: Sequence[str]) -> list[Block]:
    """The Invest in table: what each city lacks, with a quote, next to what it offers."""
    data = t.data
    kinds = _kinds(t)
    rows = []
    row_segments = []
    strengths = data.codebook.report_codes("strengths")
    lacking: dict[str, int] = {}
    for city, code, n in invest_in_rows(data, cities):
        segs = _segments_for(data, city, [code])
        lacking[city] = lacking.get(city, 0) + n
        cq = data.code_quotes
        picked = _one_quote(
            t,
            cq[(cq["city"] == city) & (cq["code"] == code)],
            kinds,
            repeat=True,
            words=CELL_QUOTE_WORDS,
        )
        offer = _one_quote(
            t,
            cq[(cq["city"] == city) & (cq["code"].isin(strengths))],
            kinds,
            repeat=True,
            words=CELL_QUOTE_WORDS,
        )
        rows.append(
            (
                city,
                t.label(code),
                str(n),
                picked[0] if picked else "–",
                offer[0] if offer else "–",
            )
        )
        row_segments.append(
            tuple(
                sorted({*segs, *((offer[1],) if offer else ()), *((picked[1],) if picked else ())})
            )
        )
    missing_codes = data.codebook.report_codes("missing_actors")
    all_segs = tuple(
        sorted({s for c in cities for s in _segments_for(data, c, list(missing_codes))})
    )
    without = [c for c in cities if c not in lacking]
    if t.fi:
        text = (
            "Invest in -työkalua varten taulukko kokoaa kaupungeittain täydentävät toimijat, "
            "joiden puute tai houkuttelu nousi aineistossa esiin, ja rinnalle sen, mitä "
            "kaupungin vahvuuksina mainittiin: sen, mitä kaupunki voi tarjota tulevalle "
            "toimijalle."
        )
        if lacking:
            most = max(lacking, key=lambda c: (lacking[c], c))
            text += (
                f" Puuttuvia toimijoita mainittiin {fi.count(len(lacking), 'kaupunki', 'ine')}; "
                f"eniten {t.loc(most)} ({fi.count(lacking[most], 'segmentti')})."
            )
        if without:
            text += f" Aineistossa ei mainittu puuttuvia toimijoita: {t.join(without)}."
    else:
        text = (
            "For the Invest in tool, the table lists by city the complementary actors whose "
            "absence or attraction came up, next to what the city's strengths offer an "
            "incoming actor."
        )
        if lacking:
            most = max(lacking, key=lambda c: (lacking[c], c))
            text += (
                f" Missing actors came up in {_en(len(lacking), 'city', 'cities')}; most in "
                f"{most} ({_en(lacking[most], 'segment')})."
            )
        if without:
            text += f" No missing actors were mentioned in {t.join(without)}."
    blocks: list[Block] = [Para(text, all_segs)]
    if rows:
        header = (
            ("Kaupunki", "Puuttuva toimija", "Segm.", "Lainaus", "Mitä kaupunki tarjoaa")
            if t.fi
            else ("City", "Missing actor", "Segm.", "Quote", "What the city offers")
        )
        blocks.append(
            Table(
                header,
                tuple(rows),
                widths=(2.2, 2.8, 1.7, 5.2, 5.2),
                row_segments=tuple(row_segments),
            )
        )
    return blocks


def _profile(t: _Text, city: str, found: Mapping[str, Finding]) -> Para:
    """A short paragraph per city: material, typology place, strongest themes, what it lacks."""
    data = t.data
    names = VALUE_NAMES["fi" if t.fi else "en"]
    docs = _city_docs(data, city)
    codings = _city_codings(data, city)
    n_seg = int(codings["segment_id"].nunique())
    themes = data.theme_matrix[
        (data.theme_matrix["city"] == city) & (data.theme_matrix["segments"] > 0)
    ].sort_values(["per_1000_words", "segments", "code"], ascending=[False, False, True])
    top = list(themes["code"].head(2))
    segs: set[str] = set(found["maturity"].segments) | set(found["leadership"].segments)
    for theme in top:
        segs.update(_segments_for(data, city, _theme_members(data.codebook, theme)))
    lacking = [
        (c, len(_segments_for(data, city, [c])))
        for c in data.codebook.report_codes("missing_actors")
        if _segments_for(data, city, [c])
    ]
    segs.update(_segments_for(data, city, [c for c, _ in lacking]))
    # Mid-sentence in Finnish the labels are lower case; English keeps its capitals.
    lacking_text = ", ".join(
        f"{t.label(c).lower() if t.fi else t.label(c)} {n}" for c, n in lacking
    )
    measures = _segments_for(data, city, list(data.codebook.report_codes("measures")))
    segs.update(measures)
    place = [" / ".join(names[v] for v in found[d].values) for d in ("maturity", "leadership")]
    interviews = int((docs["kind"] == "interview").sum())
    workshops = int((docs["kind"] == "workshop").sum())
    if t.fi:
        parts = [fi.count(interviews, "haastattelu")] if interviews else []
        if workshops:
            parts.append(fi.count(workshops, "työpaja"))
        text = (
            f"{city}. Aineistona {fi.join(parts) or 'ei dokumentteja'}, koodattuja segmenttejä "
            f"{n_seg}."
        )
        if all(place):
            text += f" Verkostotoiminta on {place[0]} ja {place[1]}."
        else:
            text += " Typologiaan sijoittamiseen aineisto ei riitä."
        if top:
            verb = "nousi" if len(top) == 1 else "nousivat"
            text += f" Vahvimmin esiin {verb} {t.join([t.quoted(c) for c in top])}."
        if lacking:
            text += (
                " Puuttuvista täydentävistä toimijoista ja houkuttelusta on "
                f"{fi.count(sum(n for _, n in lacking), 'segmentti')} ({lacking_text})."
            )
        text += (
            f" Kehittämisehdotuksia aineistossa on {fi.count(len(measures), 'segmentti', 'ine')}."
            if measures
            else " Konkreettisia kehittämisehdotuksia aineistossa ei ole."
        )
    else:
        parts = [_en(interviews, "interview")] if interviews else []
        if workshops:
            parts.append(_en(workshops, "workshop"))
        text = (
            f"{city}. Material: {fi.join(parts, 'and') or 'none'}, {_en(n_seg, 'coded segment')}."
        )
        if all(place):
            text += f" Network activity is {place[0]} and {place[1]}."
        else:
            text += " There is not enough material to place it in the typology."
        if top:
            text += f" Most prominent: {t.join([t.quoted(c) for c in top])}."
        if lacking:
            text += (
                f" Missing complementary actors and attraction: "
                f"{_en(sum(n for _, n in lacking), 'segment')} ({lacking_text})."
            )
        text += (
            f" Development proposals: {_en(len(measures), 'segment')}."
            if measures
            else " The material has no concrete development proposals."
        )
    return Para(text, tuple(sorted(segs)))


# --- strategy inputs (the last section of a city report) -------------------------------------


def _strategy_inputs(t: _Text, city: str, kinds: Mapping[str, str]) -> list[Block]:
    """What exists, what is missing and the measures proposed, each row with its evidence."""
    data = t.data
    book = data.codebook
    measures = book.report_codes("measures")
    groups = (
        (
            "Mitä on" if t.fi else "What exists",
            (*book.report_codes("strengths"), *book.report_codes("structures")),
        ),
        (
            "Mitä puuttuu" if t.fi else "What is missing",
            (
                *(
                    book.report_codes("needs")
                    or [c for c in book.report_codes("development") if c not in measures]
                ),
                *book.report_codes("missing_actors"),
            ),
        ),
        ("Ehdotetut toimenpiteet" if t.fi else "Measures proposed", measures),
    )
    rows = []
    row_segments = []
    cq = data.code_quotes
    seen: set[str] = set()
    for group, codes in groups:
        for code in codes:
            if code in seen or book.get(code) is None:
                continue
            seen.add(code)
            segs = _segments_for(data, city, [code])
            docs = data.codings[data.codings["segment_id"].isin(segs)]["document_id"].nunique()
            if segs:
                count = (
                    f"{fi.count(len(segs), 'segmentti')} {fi.count(int(docs), 'dokumentti', 'ine')}"
                    if t.fi
                    else f"{_en(len(segs), 'segment')} in {_en(int(docs), 'document')}"
                )
                picked = _one_quote(
                    t,
                    cq[(cq["city"] == city) & (cq["code"] == code)],
                    kinds,
                    repeat=True,
                    words=CELL_QUOTE_WORDS,
                )
                evidence = count + (f": {picked[0]}" if picked else "")
            else:
                evidence = "ei mainintoja aineistossa" if t.fi else "not mentioned in the material"
            rows.append((group, t.label(code), evidence))
            row_segments.append(segs)
    if not rows:
        return [
            Para(
                "Koodikirjassa ei ole strategian lähtökohtien koodeja (report: strengths, "
                "structures, needs, missing_actors, measures)."
                if t.fi
                else "The codebook names no codes for the strategy inputs (report: strengths, "
                "structures, needs, missing_actors, measures).",
                (),
                "note",
            )
        ]
    intro = (
        "Strategiatyön lähtökohdat aineiston pohjalta: mitä kaupungissa jo on (vahvuudet ja "
        "pysyvät rakenteet), mitä puuttuu (kehittämistarpeet ja täydentävät toimijat) ja mitä "
        "kehittämistoimenpiteitä aineistossa ehdotettiin. Jokaisen rivin näyttö on sen "
        "kommentissa."
        if t.fi
        else "The starting points for the strategy from the material: what the city already "
        "has (strengths and permanent structures), what is missing (needs and complementary "
        "actors) and the development measures proposed. Each row's evidence is in its comment."
    )
    header = ("Lähtökohta", "Asia", "Näyttö") if t.fi else ("Input", "Item", "Evidence")
    return [
        Para(intro),
        Table(header, tuple(rows), widths=(2.5, 4.0, 9.0), row_segments=tuple(row_segments)),
    ]


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
        # "Most prominent in X" needs X's own material to hold (not one segment).
        if not _enough(t, [str(values.idxmax())], code.id):
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
    if not blocks and len(cities) < 2:
        blocks.append(
            Para(
                "Vertailuun tarvitaan vähintään kaksi kaupunkia."
                if t.fi
                else "A comparison needs at least two cities.",
                (),
                "note",
            )
        )
    elif not blocks:
        blocks.append(
            Para(
                "Aineisto ei riitä kaupunkien vertailuun: missään kaupungissa ei ole "
                "yhdestäkään teemasta niin paljon mainintoja "
                f"({fi.count(COMPARE_SEGMENTS, 'segmentti')} "
                f"{fi.count(COMPARE_DOCUMENTS, 'dokumentti', 'ela')}), että vertailu kestäisi."
                if t.fi
                else "Not enough material to compare the cities: no city has "
                f"{COMPARE_SEGMENTS} segments from {COMPARE_DOCUMENTS} documents on any theme.",
                (),
                "note",
            )
        )
    return blocks
