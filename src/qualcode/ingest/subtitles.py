"""WebVTT (.vtt) and SubRip (.srt) transcripts from Teams, Zoom, Whisper and similar tools.

Cues keep their times. Consecutive cues of one speaker are merged into one turn; the speaker
comes from a ``<v Name>`` voice tag or a ``Name:`` prefix. The document text is built as
``Speaker: utterance`` paragraphs so that it reads like any other transcript, and each turn's
offsets point at the utterance only.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from qualcode.errors import IngestError
from qualcode.ingest.encoding import decode_bytes
from qualcode.records import Cue, RawDocument, SourceTurn
from qualcode.textutil import normalise_text

_TIME = r"(?:(\d{1,3}):)?(\d{1,2}):(\d{2})[.,](\d{1,3})"
_TIMING_RE = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}(?:\s+.*)?$")
_VOICE_RE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]+)>")
_TAG_RE = re.compile(r"</?[a-zA-Z][^>]*>|<\d{1,2}:\d{2}[^>]*>")
# "Anna Salo: ...", "Haastattelija: ...", "SPEAKER_01: ...", "[SPEAKER_01]: ...", "Puhuja 2: ..."
_PREFIX_RE = re.compile(
    r"^\[?((?:[A-ZÅÄÖ][\w'’.-]*)(?: [A-ZÅÄÖ][\w'’.-]*| \d{1,2}){0,3}|SPEAKER_\d+)\]?:\s+(?=\S)"
)


@dataclass
class _Cue:
    line: int
    start_time: float
    end_time: float
    speaker: str | None
    text: str


def read_subtitles(path: Path, data: bytes, *, encoding: str | None = None) -> RawDocument:
    name = str(path)
    raw, used = decode_bytes(data, name, encoding)
    raw = raw.replace("\ufeff", "").replace("\r\n", "\n").replace("\r", "\n")
    is_vtt = path.suffix.lower() == ".vtt"
    lines = raw.split("\n")
    if is_vtt and not lines[0].startswith("WEBVTT"):
        raise IngestError(f"{name}:1", "not a WebVTT file (first line must be 'WEBVTT')")
    cues = _parse_cues(lines, name, is_vtt)
    if not cues:
        raise IngestError(name, "contains no subtitle cues", "is the file empty or truncated?")
    _resolve_speakers(cues)
    text, turns = _assemble(cues)
    return RawDocument(
        text=text, format=path.suffix.lower().lstrip("."), encoding=used, turns=turns
    )


def _seconds(groups: tuple[str | None, ...]) -> float:
    hours, minutes, seconds, millis = groups
    return (
        int(hours or 0) * 3600
        + int(minutes or 0) * 60
        + int(seconds or 0)
        + int((millis or "0").ljust(3, "0")) / 1000
    )


def _checked_seconds(groups: tuple[str | None, ...], where: str) -> float:
    """Seconds of a cue time; minutes and seconds above 59 ("00:99:99.000") are refused."""
    hours, minutes, seconds, millis = groups
    if int(minutes or 0) > 59 or int(seconds or 0) > 59:
        shown = f"{hours}:{minutes}:{seconds}" if hours is not None else f"{minutes}:{seconds}"
        raise IngestError(
            where,
            f"invalid cue time '{shown}.{millis}' (minutes and seconds go up to 59)",
            "fix the timing line or re-export the file",
        )
    return _seconds(groups)


def _parse_cues(lines: list[str], name: str, is_vtt: bool) -> list[_Cue]:
    cues: list[_Cue] = []
    i = 1 if is_vtt else 0
    n = len(lines)
    while i < n:
        while i < n and not lines[i].strip():
            i += 1
        if i >= n:
            break
        block_start = i
        block: list[str] = []
        while i < n and lines[i].strip():
            block.append(lines[i])
            i += 1
        head = block[0].strip()
        if is_vtt and head.startswith(("NOTE", "STYLE", "REGION")):
            continue
        timing_at = next((k for k, line in enumerate(block[:2]) if "-->" in line), None)
        if timing_at is None:
            raise IngestError(
                f"{name}:{block_start + 1}",
                "expected a cue timing line ('00:00:01.000 --> 00:00:04.000'), "
                f"found '{head[:60]}'",
            )
        timing_line = block[timing_at]
        match = _TIMING_RE.match(timing_line)
        if match is None:
            raise IngestError(
                f"{name}:{block_start + timing_at + 1}",
                f"malformed cue timing '{timing_line.strip()[:60]}'",
                "the file may be truncated; re-export it",
            )
        where = f"{name}:{block_start + timing_at + 1}"
        start_time = _checked_seconds(match.groups()[:4], where)
        end_time = _checked_seconds(match.groups()[4:], where)
        if end_time < start_time:
            starts, ends = (t.strip() for t in timing_line.split("-->", 1))
            raise IngestError(
                where,
                f"cue ends ({ends.split()[0]}) before it starts ({starts})",
                "fix the timing line or re-export the file",
            )
        payload = block[timing_at + 1 :]
        speaker, text = _parse_payload(payload)
        if text:
            cues.append(_Cue(block_start + 1, start_time, end_time, speaker, text))
    return cues


def _clean(text: str) -> str:
    text = html.unescape(_TAG_RE.sub("", text))
    return unicodedata.normalize("NFC", " ".join(text.split()))


def _parse_payload(payload: list[str]) -> tuple[str | None, str]:
    joined = " ".join(line.strip() for line in payload)
    voice = _VOICE_RE.search(joined)
    speaker = _clean(voice.group(1)) if voice else None
    text = _clean(joined)
    if speaker is None:
        prefix = _PREFIX_RE.match(text)
        if prefix:
            # Provisional: confirmed in _resolve_speakers (a one-off "Huom:" is not a speaker).
            speaker = "\x00" + prefix.group(1)
            text = text[prefix.end() :]
    return speaker, text


def _resolve_speakers(cues: list[_Cue]) -> None:
    # Role labels and the trust rule for bare names are shared with the segmenter.
    from qualcode.segment import ROLE_LABEL_RE, bare_speakers

    counts: Counter[str] = Counter()
    others: set[str] = set()
    for cue in cues:
        if cue.speaker and cue.speaker.startswith("\x00"):
            if ROLE_LABEL_RE.fullmatch(cue.speaker[1:]):
                others.add(cue.speaker[1:])
            else:
                counts[cue.speaker[1:]] += 1
        elif cue.speaker:
            others.add(cue.speaker)  # a <v Name> voice tag
    # Every cue is a paragraph of a subtitle file; a turn's later cues may go unlabelled, so
    # the share of labelled cues is not asked for (memo keys are rare in subtitles anyway).
    accepted = bare_speakers(counts, others=others, labelled=1, paragraphs=1)
    for cue in cues:
        if cue.speaker and cue.speaker.startswith("\x00"):
            label = cue.speaker[1:]
            if label in accepted or ROLE_LABEL_RE.fullmatch(label):
                cue.speaker = label
            else:
                cue.text = f"{label}: {cue.text}"
                cue.speaker = None
    current: str | None = None
    for cue in cues:  # an unlabelled cue continues the previous speaker's turn
        if cue.speaker is None:
            cue.speaker = current
        current = cue.speaker


def _assemble(cues: list[_Cue]) -> tuple[str, tuple[SourceTurn, ...]]:
    parts: list[str] = []
    turns: list[SourceTurn] = []
    pos = 0
    k = 0
    while k < len(cues):
        speaker = cues[k].speaker
        if parts:
            parts.append("\n\n")
            pos += 2
        if speaker:
            label = f"{speaker}: "
            parts.append(label)
            pos += len(label)
        turn_start = pos
        turn_cues: list[Cue] = []
        first = True
        while k < len(cues) and cues[k].speaker == speaker:
            if not first:
                parts.append(" ")
                pos += 1
            first = False
            cue = cues[k]
            parts.append(cue.text)
            turn_cues.append(Cue(pos, pos + len(cue.text), cue.start_time, cue.end_time))
            pos += len(cue.text)
            k += 1
        turns.append(SourceTurn(speaker, turn_start, pos, tuple(turn_cues)))
    text = "".join(parts)
    # Built from normalised pieces, so normalising again must change nothing (offsets stay valid).
    assert normalise_text(text) == text
    return text, tuple(turns)
