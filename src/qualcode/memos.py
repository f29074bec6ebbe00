"""The researcher's memos: plain Markdown files under ``memos/`` that reports carry along.

Memos are the researcher's own interpretation written next to the evidence. They live in
files, not in the store, so that regenerating a report can never lose them, a diff shows what
changed, and any editor will do. One file per city (``memos/Saarvala.md``, named after the city
or its report file) and ``memos/yhteenveto.md`` for the cross-city summary. Inside, each
``## id`` heading starts the memo for one report section: a theme id from the codebook or one
of the report's own section ids (``CITY_SECTIONS``, ``SUMMARY_SECTIONS``). A ``# title`` line
and ``<!-- comments -->`` are left out; paragraphs are separated by blank lines. ``README.md``
and files whose names start with ``_`` (drafts) are not read.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from qualcode.errors import MemoError

MEMO_DIR = "memos"
SUMMARY_FILE = "yhteenveto.md"
# Report sections that are not themes, by the id a memo heading uses.
CITY_SECTIONS = ("yhteenveto", "indikaattorit", "strategia")
SUMMARY_SECTIONS = ("typologia", "teemat", "tarpeet", "invest-in", "profiilit", "indikaattorit")
_HEADING = re.compile(r"^##(?!#)\s*(.*?)\s*#*\s*$")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


@dataclass(frozen=True)
class Memo:
    """One section's memo: its paragraphs, and where it was written (for messages)."""

    source: str  # "memos/Saarvala.md"
    line: int  # the line of its ``## id`` heading
    section: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class Memos:
    cities: Mapping[str, Mapping[str, Memo]]  # city -> section id -> memo
    summary: Mapping[str, Memo]

    def texts(self, city: str | None) -> dict[str, tuple[str, ...]]:
        """Section id -> paragraphs, for one city's report (None: the summary)."""
        found = self.summary if city is None else self.cities.get(city, {})
        return {k: m.paragraphs for k, m in found.items() if m.paragraphs}

    def all(self) -> list[tuple[str | None, Memo]]:
        """Every memo with its city (None for the summary), in a stable order."""
        out: list[tuple[str | None, Memo]] = [(None, m) for _, m in sorted(self.summary.items())]
        for city in sorted(self.cities):
            out += [(city, m) for _, m in sorted(self.cities[city].items())]
        return out


def _key(name: str) -> str:
    return unicodedata.normalize("NFC", name).strip().casefold()


def load_memos(
    root: Path,
    *,
    cities: Sequence[str],
    themes: Sequence[str],
    file_stems: Mapping[str, str] | None = None,
) -> Memos:
    """Read and check every ``memos/*.md`` of the project at ``root``.

    ``themes`` are the codebook's theme ids; ``file_stems`` maps a city to its report's file
    name without ``.docx`` (also accepted as the memo's name). Raises :class:`MemoError`
    naming the file and line of the first problem (the hint counts any others).
    """
    folder = root / MEMO_DIR
    if not folder.is_dir():
        return Memos({}, {})
    by_name: dict[str, str] = {}
    for name in cities:
        by_name[_key(name)] = name
        stem = (file_stems or {}).get(name)
        if stem:
            by_name.setdefault(_key(stem), name)
    problems: list[tuple[str, int, str, str]] = []
    city_memos: dict[str, dict[str, Memo]] = {}
    summary: dict[str, Memo] = {}
    for path in sorted(folder.iterdir()):
        # README.md explains the folder; a name starting with "_" is a draft (imported notes
        # from other tools land in one) that reports leave alone.
        if (
            path.suffix.lower() != ".md"
            or not path.is_file()
            or path.name.lower() == "readme.md"
            or path.name.startswith("_")
        ):
            continue
        source = f"{MEMO_DIR}/{path.name}"
        city: str | None = None
        if _key(path.name) == _key(SUMMARY_FILE):
            allowed = (*themes, *SUMMARY_SECTIONS)
        else:
            found = by_name.get(_key(path.stem))
            if found is None:
                problems.append(
                    (
                        source,
                        0,
                        f"no city '{path.stem}' in the project",
                        "name a memo file after a city ("
                        + ", ".join(sorted(cities))
                        + f") or {SUMMARY_FILE} for the summary",
                    )
                )
                continue
            allowed, city = (*themes, *CITY_SECTIONS), found
        memos = _parse(path, source, set(allowed), problems)
        if city is None:
            summary = memos
        else:
            city_memos.setdefault(city, {}).update(memos)
    if problems:
        source, line, problem, hint = sorted(problems, key=lambda p: (p[0], p[1]))[0]
        if len(problems) > 1:
            hint += f" ({len(problems) - 1} more problem(s) in the memos)"
        raise MemoError(source, line, problem, hint)
    return Memos(city_memos, summary)


def _parse(
    path: Path, source: str, allowed: set[str], problems: list[tuple[str, int, str, str]]
) -> dict[str, Memo]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problems.append((source, 0, f"cannot read the memo ({exc.strerror})", "check the file"))
        return {}
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        at = raw[: exc.start].count(b"\n") + 1
        problems.append((source, at, "not valid UTF-8", "save the memo as UTF-8"))
        return {}
    # Comments may span lines: blank them out but keep the line numbers.
    text = _COMMENT.sub(lambda m: "\n" * m.group().count("\n"), unicodedata.normalize("NFC", text))
    out: dict[str, Memo] = {}
    current: tuple[str, int] | None = None
    paragraphs: list[str] = []
    lines: list[str] = []

    def close() -> None:
        if lines:
            paragraphs.append(" ".join(lines))
            lines.clear()

    def finish() -> None:
        close()
        if current is not None:
            out[current[0]] = Memo(source, current[1], current[0], tuple(paragraphs))
        paragraphs.clear()

    for number, line in enumerate(text.splitlines(), start=1):
        heading = _HEADING.match(line)
        if heading:
            finish()
            section = heading.group(1)
            if section not in allowed:
                ids = ", ".join(sorted(allowed))
                problems.append(
                    (source, number, f"unknown section id '{section}'", f"use one of: {ids}")
                )
                current = None
                continue
            if section in out:
                problems.append(
                    (
                        source,
                        number,
                        f"a second '## {section}' (the first is on line {out[section].line})",
                        "merge the two into one section",
                    )
                )
            current = (section, number)
            continue
        stripped = line.strip()
        if line.startswith("# ") or stripped == "#":
            continue  # the file's title
        if not stripped:
            close()
            continue
        if current is None:
            if not any(p[0] == source for p in problems):
                problems.append(
                    (
                        source,
                        number,
                        "text before the first '## id' heading",
                        "start each memo with a '## id' line naming its section "
                        "(a theme id or one of the report's section ids)",
                    )
                )
            continue
        lines.append(stripped)
    finish()
    return out
