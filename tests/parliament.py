"""Build the four formats researchers receive (Teams .vtt, Whisper .srt, Word .docx with one
``Name: turn`` paragraph per turn, raw lower-case ASR .txt) from the fi-parliament debates.

The debates are real, public plenary transcripts by many named speakers
(../shared/bench-data/fi-parliament/PROVENANCE.md); they are read from there, never copied.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

PARLIAMENT = Path(__file__).resolve().parents[1].parent / "shared" / "bench-data" / "fi-parliament"
SESSIONS = (
    "session-001-2015",
    "session-007-2020",
    "session-034-2015",
    "session-035-2018",
    "session-141-2017",
)


@dataclass(frozen=True)
class Statement:
    speaker: str  # "Firstname Lastname", as the label in the transcript
    title: str  # "Puhemies" for the chair, "" for MPs
    party: str
    text: str


def statements(session: str) -> list[Statement]:
    data = json.loads((PARLIAMENT / f"{session}.json").read_text(encoding="utf-8"))
    out = []
    for sub in data["subsections"]:
        for s in sub["statements"]:
            text = " ".join(s["text"].split())
            if text:
                out.append(
                    Statement(f"{s['firstname']} {s['lastname']}", s["title"], s["party"], text)
                )
    return out


def turns(items: list[Statement]) -> list[tuple[str, str]]:
    """(speaker, text) with consecutive statements of one speaker joined: one turn each."""
    out: list[tuple[str, str]] = []
    for s in items:
        if out and out[-1][0] == s.speaker:
            out[-1] = (s.speaker, out[-1][1] + " " + s.text)
        else:
            out.append((s.speaker, s.text))
    return out


def _cues(text: str, size: int = 14) -> list[str]:
    """Cues of about ``size`` words; none starts inside a bracketed interjection
    ("[Leena Meri: Hän on lehterillä!]", "(Kaj Turunen: Eli?)"), which would read as a label of its own."""
    cues: list[list[str]] = []
    depth = 0
    for word in text.split():
        if not cues or (len(cues[-1]) >= size and depth == 0 and word[0] not in "[("):
            cues.append([])
        cues[-1].append(word)
        depth += word.count("[") + word.count("(") - word.count("]") - word.count(")")
    return [" ".join(c) for c in cues]


def _clock(seconds: float, sep: str) -> str:
    h, rest = divmod(int(seconds * 1000), 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def write_vtt(items: list[Statement], path: Path) -> Path:
    """Teams style: a <v Name> voice tag on every short cue."""
    lines, t = ["WEBVTT", ""], 0.0
    for s in items:
        for cue in _cues(s.text):
            lines += [f"{_clock(t, '.')} --> {_clock(t + 4, '.')}", f"<v {s.speaker}>{cue}</v>", ""]
            t += 4
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_srt(items: list[Statement], path: Path) -> Path:
    """Whisper + diarisation style: "Name: " on the first cue of each statement only."""
    lines, t, n = [], 0.0, 0
    for s in items:
        for k, cue in enumerate(_cues(s.text)):
            n += 1
            label = f"{s.speaker}: " if k == 0 else ""
            lines += [str(n), f"{_clock(t, ',')} --> {_clock(t + 4, ',')}", label + cue, ""]
            t += 4
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_docx(items: list[Statement], path: Path, title: str = "Täysistunnon pöytäkirja") -> Path:
    """Word: a title, then one ``Name: turn`` paragraph per statement."""
    import docx

    document = docx.Document()
    document.add_paragraph(title)
    for s in items:
        document.add_paragraph(f"{s.speaker}: {s.text}")
    document.save(str(path))
    return path


def asr_text(text: str) -> str:
    """Raw speech recognition: lower case, no punctuation."""
    return " ".join(re.sub(r"[^\w\s-]", " ", text.lower()).split())


def write_txt(items: list[Statement], path: Path) -> Path:
    """Raw ASR with speaker names: ``Name: lower-case unpunctuated words``, one line a turn."""
    path.write_text(
        "\n".join(f"{s.speaker}: {asr_text(s.text)}" for s in items) + "\n", encoding="utf-8"
    )
    return path


WRITERS = {"vtt": write_vtt, "srt": write_srt, "docx": write_docx, "txt": write_txt}
