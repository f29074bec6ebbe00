"""Split a transcript into coding units with exact character offsets.

Speaker turns are the unit. Documents without speaker labels (workshop memos, notes, post-it
lists) are split into paragraphs, list items and headings instead. Turns and paragraphs longer
than ``max_words`` are split at sentence boundaries. For every segment
``document_text[start:end] == segment.text`` (code points, end-exclusive).
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from qualcode.errors import SegmentError
from qualcode.records import Cue, Segment, SourceTurn, Unit
from qualcode.textutil import WORD_RE, count_words, segment_id, sha256_hex

# Labels that name a role rather than a person; they are trusted even when they occur once.
ROLE_LABEL_RE = re.compile(
    r"(?:H|V|I|K|P|H\d{1,2}|V\d{1,2}|I\d{1,2}|K\d{1,2}"
    r"|Haastattelija(?: ?\d{1,2})?|Haastateltava(?: ?\d{1,2})?|Fasilitaattori(?: ?\d{1,2})?"
    r"|Moderaattori(?: ?\d{1,2})?|Osallistuja ?\d{1,2}|Puhuja ?\d{1,2}|Kommentti"
    r"|Intervjuare|Intervjuad|Interviewer|Interviewee|Respondent|Speaker ?\d{1,2}|SPEAKER_\d+)"
)
DEFAULT_INTERVIEWER_PATTERN = (
    r"(?i)(?:H\d*|I\d*|Haastattelija.*|Fasilitaattori.*|Moderaattori.*|Intervjuare.*"
    r"|Interviewer.*)"
)
_NAME = r"[A-ZÅÄÖ][\w'’.-]*(?: (?:[A-ZÅÄÖ][\w'’.-]*|af|von|van|de)){0,3}"
# A pseudonymised speaker, as names.pseudonymise writes one ("[henkilö 3]", "[yritys A]"):
# a pseudonymised export re-imported must split into the same turns as the original.
_PSEUDONYM = r"\[[^\[\]():\n]{1,60} (?:\d{1,4}|[A-Z]{1,3})\]"
_TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
BUILTIN_LABEL_RE = re.compile(
    rf"(?:\[(?P<time>{_TIME})\][ \t]*|(?P<time2>{_TIME})[ \t]+)?"
    rf"(?P<speaker>(?P<role>{ROLE_LABEL_RE.pattern})"
    rf"|(?:{_NAME}|{_PSEUDONYM})(?P<org> \([^()\n]{{1,60}}\))?)"
    r"[ \t]*:(?=\s|$)"
)
_LIST_RE = re.compile(r"[ \t]*(?:[-*•–][ \t]+|\d{1,3}[.)][ \t]+|[a-zäö][)][ \t]+)")
_HEADING_RE = re.compile(r"#{1,6}[ \t]+")
_ABBREVIATIONS = frozenset(
    [
        "esim",
        "mm",
        "ns",
        "n",
        "ts",
        "yms",
        "jne",
        "ym",
        "ks",
        "vrt",
        "em",
        "emt",
        "tms",
        "tmv",
        "huom",
        "eli",
        "s",
        "ym",
        "nk",
        "prof",
        "dos",
        "toim",
        "eng",
    ]
)
_SENTENCE_END_RE = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)")
_SENTENCE_START_RE = re.compile(r"[\s]+[\"'“”«(\[–-]?[A-ZÅÄÖ0-9]")


@dataclass(frozen=True)
class SegmentSettings:
    """How to recognise speakers and how long a segment may be (from ``qualcode.toml``)."""

    max_words: int = 150
    speaker_patterns: tuple[str, ...] = ()
    interviewer_pattern: str = DEFAULT_INTERVIEWER_PATTERN
    interviewers: tuple[str, ...] = ()
    _compiled: tuple[re.Pattern[str], ...] = field(default=(), repr=False, compare=False)

    def compiled_patterns(self) -> tuple[re.Pattern[str], ...]:
        patterns = []
        for i, pattern in enumerate(self.speaker_patterns):
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise SegmentError(
                    f"segment.speaker_patterns[{i}]: invalid regex ({exc})"
                ) from None
            if "speaker" not in compiled.groupindex:
                raise SegmentError(
                    f"segment.speaker_patterns[{i}]: "
                    "the pattern needs a named group (?P<speaker>...)"
                )
            patterns.append(compiled)
        return tuple(patterns)

    def is_interviewer(self, speaker: str | None) -> bool:
        if not speaker:
            return False
        if speaker in self.interviewers:
            return True
        try:
            return re.fullmatch(self.interviewer_pattern, speaker.strip()) is not None
        except re.error as exc:
            raise SegmentError(f"segment.interviewer_pattern: invalid regex ({exc})") from None


@dataclass(frozen=True)
class _Label:
    line_start: int  # where the label line starts
    body_start: int  # where the utterance starts
    speaker: str
    trusted: bool
    time: float | None


def segment_document(
    document_id: str,
    text: str,
    *,
    turns: Sequence[SourceTurn] = (),
    settings: SegmentSettings | None = None,
) -> list[Segment]:
    """Split one document's normalised text into segments (in document order)."""
    settings = settings or SegmentSettings()
    if settings.max_words < 1:
        raise SegmentError("segment.max_words must be at least 1")
    text_sha = sha256_hex(text)
    spans = list(_spans_from_turns(text, turns) if turns else _spans_from_text(text, settings))
    segments: list[Segment] = []
    for span in spans:
        if span.start >= span.end:  # a bare "- " or "# " line
            continue
        for start, end in _split_long(text, span.start, span.end, settings.max_words):
            start_time, end_time = _times(span, start, end)
            segments.append(
                Segment(
                    id=segment_id(text_sha, start, end),
                    document_id=document_id,
                    seq=len(segments) + 1,
                    speaker=span.speaker,
                    is_interviewer=settings.is_interviewer(span.speaker),
                    unit=span.unit,
                    start=start,
                    end=end,
                    text=text[start:end],
                    words=count_words(text[start:end]),
                    start_time=start_time,
                    end_time=end_time,
                )
            )
    return segments


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    unit: Unit
    speaker: str | None = None
    time: float | None = None
    cues: tuple[Cue, ...] = ()


def _spans_from_turns(text: str, turns: Sequence[SourceTurn]) -> Iterator[_Span]:
    for turn in turns:
        start, end = _trim(text, turn.start, turn.end)
        if start < end:
            yield _Span(start, end, "turn", turn.speaker, None, turn.cues)


def _find_labels(text: str, settings: SegmentSettings) -> list[_Label]:
    custom = settings.compiled_patterns()
    candidates: list[tuple[int, int, str, bool, float | None]] = []
    pos = 0
    for line in text.split("\n"):
        line_start = pos
        pos += len(line) + 1
        if not line.strip():
            continue
        match = None
        trusted = False
        for pattern in custom:
            match = pattern.match(line)
            if match:
                trusted = True
                break
        if match is None:
            match = BUILTIN_LABEL_RE.match(line)
            if match is None:
                continue
            groups = match.groupdict()
            trusted = bool(groups["role"] or groups["time"] or groups["time2"] or groups["org"])
        groups = match.groupdict()
        time_text = groups.get("time") or groups.get("time2")
        speaker = " ".join(match.group("speaker").split())
        body = line_start + match.end()
        candidates.append((line_start, body, speaker, trusted, _parse_clock(time_text)))
    starts = _paragraph_starts(text, {line_start for line_start, *_ in candidates})
    first = candidates[0][0] if candidates else len(text)
    counts = Counter(speaker for _, _, speaker, trusted, _ in candidates if not trusted)
    others = {speaker for _, _, speaker, trusted, _ in candidates if trusted}
    accepted = bare_speakers(
        counts,
        others=others,
        labelled=sum(
            1 for _, _, speaker, trusted, _ in candidates if trusted or not is_memo_key(speaker)
        ),
        paragraphs=sum(1 for s in starts if s >= first),
    )
    return [
        _Label(line_start, body, speaker, True, time)
        for line_start, body, speaker, trusted, time in candidates
        if trusted or speaker in accepted
    ]


# Words that open a line of a memo or of an agenda ("Huom: aikataulu muuttui."), never a
# speaker: they are speakers only when they recur in a conversation (the older, stricter rule).
_MEMO_WORDS = """huom huomio huomioita huomautus tavoite tavoitteet tavoitteena tarkoitus muistio
    muistiinpanot aika paikka ajankohta päivämäärä pvm klo kesto sijainti läsnä paikalla
    poissa osallistujat osallistujia kutsutut aihe aiheet teema teemat otsikko asialista
    esityslista agenda päätös päätökset päätettiin yhteenveto tiivistelmä johtopäätökset
    lisätietoja lisätiedot tausta taustaa lähde lähteet linkki liite liitteet tehtävä
    tehtävät toimenpiteet toimenpide jatko jatkotoimet vastuu vastuuhenkilö aikataulu
    seuraavaksi esim esimerkiksi eli siis ks vrt muuta muut kommentit palaute ryhmä
    ryhmät havainnot havainto kysymykset huomiot vahvuudet heikkoudet mahdollisuudet uhat
    tulos tulokset post-it post-it-seinä fläppi fläppitaulu kirjaaja sihteeri note notes
    summary goal goals date time place participants agenda topic action actions"""
_MEMO_KEYS = frozenset(_MEMO_WORDS.split())


def is_memo_key(label: str) -> bool:
    """A one-word label that opens memo lines ("Huom:", "Tavoite:"), not a speaker's name."""
    return " " not in label and label.casefold() in _MEMO_KEYS


def bare_speakers(
    counts: Counter[str], *, others: set[str], labelled: int, paragraphs: int
) -> set[str]:
    """Which bare ``Name:`` labels are speakers.

    counts: how often each bare label opens a line; others: the speakers of trusted labels
    (roles, timestamps, "Name (Org):"); labelled: lines opened by a speaker-like label;
    paragraphs: paragraphs from the first label on (a line opened by a label counts as one).

    A name that recurs is a speaker when there is an interviewer label or another recurring
    name (the older rule). Every other name is a speaker too, even one that speaks once (a
    debate's or a workshop's many voices), when the document is a labelled conversation: at
    least two speakers, one that recurs (or two full names, or a role label), and most
    paragraphs opened by a label. Memo keys ("Huom:", "Tavoite:") are never taken on the
    second rule, so memos stay paragraphs.
    """
    recurring = {speaker for speaker, n in counts.items() if n >= 2}
    old_rule = len(recurring) >= 2 or (bool(recurring) and bool(others))
    names = {speaker for speaker in counts if not is_memo_key(speaker)}
    full_names = {s for s in names if " " in s or s.startswith("[")}
    conversation = (
        len(names | others) >= 2
        and bool(names & recurring or len(full_names) >= 2 or others)
        and paragraphs > 0
        and labelled / paragraphs >= 0.4
    )
    return (recurring if old_rule else set()) | (names if conversation else set())


def _paragraph_starts(text: str, label_lines: set[int]) -> list[int]:
    """Offsets of lines that open a paragraph: after a blank line, or opened by a label."""
    starts: list[int] = []
    pos = 0
    blank = True
    for line in text.split("\n"):
        if line.strip():
            if blank or pos in label_lines:
                starts.append(pos)
            blank = False
        else:
            blank = True
        pos += len(line) + 1
    return starts


_CLOCK_RE = re.compile(r"\d{1,4}(?::\d{1,2}){0,2}(?:[.,]\d{1,6})?", re.ASCII)


def _parse_clock(value: str | None) -> float | None:
    # A custom speaker pattern's (?P<time>...) group may capture anything; a time is optional
    # metadata, so text that is not a clock (h:mm:ss, mm:ss, s.sss) is no time rather than a
    # failed import (and never float()'s "nan" or "inf").
    if not value or not _CLOCK_RE.fullmatch(value.strip()):
        return None
    parts = value.strip().replace(",", ".").split(":")
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    return seconds


def _spans_from_text(text: str, settings: SegmentSettings) -> Iterator[_Span]:
    labels = _find_labels(text, settings)
    if len(labels) < 2:
        yield from _block_spans(text, 0, len(text))
        return
    yield from _block_spans(text, 0, labels[0].line_start)
    for i, label in enumerate(labels):
        region_end = labels[i + 1].line_start if i + 1 < len(labels) else len(text)
        # A Markdown heading inside the interview ends the turn (interview-guide structure).
        heading = re.compile(r"^#{1,6}[ \t]", re.M).search(text, label.body_start, region_end)
        turn_end = heading.start() if heading else region_end
        start, end = _trim(text, label.body_start, turn_end)
        if start < end:
            yield _Span(start, end, "turn", label.speaker, label.time)
        if heading:
            yield from _block_spans(text, heading.start(), region_end)


def _block_spans(text: str, start: int, end: int) -> Iterator[_Span]:
    """Paragraphs, list items and headings of an unlabelled region."""
    current: tuple[int, int, Unit] | None = None
    pos = start
    for line in text[start:end].split("\n"):
        line_start, line_end = pos, pos + len(line)
        pos = line_end + 1
        if not line.strip():
            if current:
                yield _make_span(text, *current)
            current = None
            continue
        heading = _HEADING_RE.match(line)
        item = _LIST_RE.match(line)
        if heading:
            if current:
                yield _make_span(text, *current)
            current = None
            yield _make_span(text, line_start + heading.end(), line_end, "heading")
        elif item:
            if current:
                yield _make_span(text, *current)
            current = (line_start + item.end(), line_end, "item")
        elif current:
            current = (current[0], line_end, current[2])
        else:
            current = (line_start, line_end, "paragraph")
    if current:
        yield _make_span(text, *current)


def _make_span(text: str, start: int, end: int, unit: Unit) -> _Span:
    start, end = _trim(text, start, end)
    return _Span(start, end, unit)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence (and paragraph) boundaries inside ``text[start:end]``, trimmed."""
    cuts = [start]
    for match in _SENTENCE_END_RE.finditer(text, start, end):
        after = _SENTENCE_START_RE.match(text, match.end(), end)
        if after is None:
            continue
        word = WORD_RE.findall(text[max(start, match.start() - 12) : match.start() + 1])
        if match.group().startswith(".") and word and word[-1].lower() in _ABBREVIATIONS:
            continue
        cuts.append(match.end())
    for match in re.finditer(r"\n\s*\n", text[start:end]):
        cuts.append(start + match.start())
    cuts = [*sorted(set(cuts)), end]
    spans = []
    for a, b in itertools.pairwise(cuts):
        a, b = _trim(text, a, b)
        if a < b:
            spans.append((a, b))
    return spans


def _split_long(text: str, start: int, end: int, max_words: int) -> list[tuple[int, int]]:
    total = count_words(text[start:end])
    if total <= max_words:
        return [(start, end)]
    # Aim for pieces of similar length rather than a long piece and a short remainder.
    budget = min(max_words, math.ceil(total / math.ceil(total / max_words) * 1.15))
    pieces: list[tuple[int, int]] = []
    piece_start: int | None = None
    piece_end = start
    words = 0
    for a, b in _hard_wrap(text, sentence_spans(text, start, end), max_words):
        n = count_words(text[a:b])
        if piece_start is not None and words + n > budget:
            pieces.append((piece_start, piece_end))
            piece_start, words = None, 0
        if piece_start is None:
            piece_start = a
        piece_end = b
        words += n
    if piece_start is not None:
        pieces.append((piece_start, piece_end))
    return pieces


def _hard_wrap(
    text: str, spans: list[tuple[int, int]], max_words: int
) -> Iterator[tuple[int, int]]:
    """Sentences longer than ``max_words`` (unpunctuated speech) are cut between words."""
    for a, b in spans:
        matches = list(WORD_RE.finditer(text, a, b))
        if len(matches) <= max_words:
            yield a, b
            continue
        chunk_start = a
        for k in range(max_words, len(matches), max_words):
            cut = matches[k].start()
            s, e = _trim(text, chunk_start, cut)
            if s < e:
                yield s, e
            chunk_start = cut
        s, e = _trim(text, chunk_start, b)
        if s < e:
            yield s, e


def _times(span: _Span, start: int, end: int) -> tuple[float | None, float | None]:
    if not span.cues:
        return (span.time, None) if start == span.start else (None, None)
    first = next((c for c in span.cues if c.end > start), span.cues[0])
    last = next((c for c in reversed(span.cues) if c.start < end), span.cues[-1])
    return first.start_time, last.end_time
