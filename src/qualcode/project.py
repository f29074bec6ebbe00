"""Find, create and open a qualcode project: a folder with ``qualcode.toml`` and ``qualcode.db``."""

from __future__ import annotations

import getpass
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qualcode.csvout import atomic_write_bytes
from qualcode.errors import ProjectError
from qualcode.segment import DEFAULT_INTERVIEWER_PATTERN, SegmentSettings
from qualcode.store import Store

SETTINGS_FILE = "qualcode.toml"
DB_FILE = "qualcode.db"

_TEMPLATE = """\
# qualcode project settings. Paths are relative to this file.

[project]
name = {name}
language = "fi"
# Recorded with every decision made by 'review', 'code' and 'uncode' unless --coder is given.
coder = {coder}

[segment]
# Turns longer than this many words are split at sentence boundaries.
max_words = 150
# Extra speaker-label regexes, tried before the built-in ones (H:, V:, Haastattelija:,
# [00:01:02] Nimi:, Nimi (yritys):, ...). Each needs a named group (?P<speaker>...) and may
# have (?P<time>...). Example: '^(?P<speaker>Toimittaja|Vieras)\\s*:'
speaker_patterns = []
# Speakers whose turns are the interviewer's (stored but not coded by default).
interviewer_pattern = {interviewer}
# Interviewers who appear under their own names, e.g. ["Anna Salo"].
interviewers = []

[tag]
# Codebook used by 'qualcode tag' when --codebook is not given (relative to this file).
{codebook_line}

[review]
# Column separator of review CSVs; ";" is what Excel expects in a Finnish locale.
delimiter = ";"

[analysis]
# Language analysis: "voikko.v1" (best), "spacy-fi.v1" or "simplemma.v1"; empty = best available.
analyzer = ""

[report]
# Finnish forms of town names for report text when the built-in rules get one wrong:
# place_forms = {{ Lounajoki = ["Lounajoen", "Lounajoella"] }}
place_forms = {{}}
"""

_ALLOWED: dict[str, dict[str, type | tuple[type, ...]]] = {
    "project": {"name": str, "language": str, "coder": str},
    "tag": {"codebook": str},
    "review": {"delimiter": str},
    "analysis": {"analyzer": str},
    "report": {"place_forms": dict},
    "segment": {
        "max_words": int,
        "speaker_patterns": list,
        "interviewer_pattern": str,
        "interviewers": list,
    },
}


def _toml_str(value: str) -> str:
    return (
        "'" + value.replace("'", "") + "'" if "\\" in value else '"' + value.replace('"', "") + '"'
    )


@dataclass(frozen=True)
class Settings:
    name: str = "qualcode"
    language: str = "fi"
    coder: str = "tutkija"
    segment: SegmentSettings = field(default_factory=SegmentSettings)
    codebook: Path | None = None
    review_delimiter: str = ";"
    analyzer: str = ""
    place_forms: dict[str, list[str]] = field(default_factory=dict)


def default_coder() -> str:
    try:
        return getpass.getuser() or "tutkija"
    except Exception:  # no user database in some containers
        return "tutkija"


def load_settings(path: Path) -> Settings:
    """Read and validate ``qualcode.toml``; every problem is reported with its key path."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{path}: cannot read settings ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProjectError(f"{path}: invalid TOML ({exc})") from None
    problems: list[str] = []
    for section, values in data.items():
        if section not in _ALLOWED:
            problems.append(f"unknown section [{section}]")
            continue
        if not isinstance(values, dict):
            problems.append(f"{section}: must be a table")
            continue
        for key, value in values.items():
            expected = _ALLOWED[section].get(key)
            if expected is None:
                problems.append(f"{section}.{key}: unknown setting")
            elif not isinstance(value, expected) or isinstance(value, bool):
                problems.append(
                    f"{section}.{key}: expected {getattr(expected, '__name__', expected)}"
                )
    if problems:
        raise ProjectError(f"{path}: " + "; ".join(problems))
    project: dict[str, Any] = data.get("project", {})
    seg: dict[str, Any] = data.get("segment", {})
    segment = SegmentSettings(
        max_words=seg.get("max_words", 150),
        speaker_patterns=tuple(str(p) for p in seg.get("speaker_patterns", [])),
        interviewer_pattern=seg.get("interviewer_pattern", DEFAULT_INTERVIEWER_PATTERN),
        interviewers=tuple(str(p) for p in seg.get("interviewers", [])),
    )
    try:
        segment.compiled_patterns()
        segment.is_interviewer("H")
    except Exception as exc:
        raise ProjectError(f"{path}: {exc}") from None
    if segment.max_words < 1:
        raise ProjectError(f"{path}: segment.max_words: must be at least 1")
    codebook = data.get("tag", {}).get("codebook")
    delimiter = data.get("review", {}).get("delimiter", ";")
    if delimiter not in (";", ",", "\t"):
        raise ProjectError(f'{path}: review.delimiter: use ";", "," or "\\t"')
    return Settings(
        codebook=(path.parent / codebook).resolve() if codebook else None,
        review_delimiter=delimiter,
        analyzer=data.get("analysis", {}).get("analyzer", ""),
        place_forms=_place_forms(path, data.get("report", {}).get("place_forms", {})),
        name=project.get("name", path.parent.name),
        language=project.get("language", "fi"),
        coder=project.get("coder", "tutkija"),
        segment=segment,
    )


def _place_forms(path: Path, value: dict[str, Any]) -> dict[str, list[str]]:
    out = {}
    for city, forms in value.items():
        if (
            not isinstance(forms, list)
            or len(forms) != 2
            or not all(isinstance(f, str) and f for f in forms)
        ):
            raise ProjectError(
                f"{path}: report.place_forms.{city}: expected [genitive, locative], "
                'e.g. ["Lounajoen", "Lounajoella"]'
            )
        out[city] = list(forms)
    return out


@dataclass
class Project:
    root: Path
    settings: Settings
    store: Store

    def close(self) -> None:
        self.store.close()


def _codebook_setting(codebook: Path, root: Path) -> str:
    if codebook.is_absolute():
        return str(codebook)
    return os.path.relpath(codebook.resolve(), root.resolve())


def init_project(root: Path, *, coder: str | None = None, codebook: Path | None = None) -> Path:
    """Create ``root/qualcode.toml`` and ``root/qualcode.db``; refuse to overwrite a project."""
    settings_path = root / SETTINGS_FILE
    if settings_path.exists():
        raise ProjectError(f"{settings_path}: a project already exists here")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProjectError(f"{root}: cannot create folder ({exc.strerror})") from None
    text = _TEMPLATE.format(
        name=_toml_str(root.resolve().name),
        coder=_toml_str(coder or default_coder()),
        interviewer=_toml_str(DEFAULT_INTERVIEWER_PATTERN),
        codebook_line=(
            # A relative path stays relative (the project moves with its repository), an
            # absolute one stays absolute.
            f"codebook = {_toml_str(_codebook_setting(codebook, root))}"
            if codebook
            else '# codebook = "../codebooks/innovaatioekosysteemi.yaml"'
        ),
    )
    atomic_write_bytes(settings_path, text.encode("utf-8"))
    Store.open(root / DB_FILE, create=True).close()
    return settings_path


def find_project_root(explicit: Path | None = None, cwd: Path | None = None) -> Path:
    """``explicit`` if given, else the nearest parent of ``cwd`` with ``qualcode.toml``."""
    if explicit is not None:
        if not (explicit / SETTINGS_FILE).is_file():
            raise ProjectError(
                f"{explicit}: not a qualcode project (no {SETTINGS_FILE})",
                f"create one with 'qualcode init {explicit}'",
            )
        return explicit
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / SETTINGS_FILE).is_file():
            return folder
    raise ProjectError(
        "no qualcode project here or in any parent folder",
        "pass --project DIR, set QUALCODE_PROJECT, or run 'qualcode init DIR'",
    )


def open_project(
    explicit: Path | None = None,
    cwd: Path | None = None,
    *,
    activity: str = "",
    notice: Callable[[str], None] | None = None,
) -> Project:
    """Open the project's settings and store.

    activity: what this command is ("qualcode tag"), shown to a command that has to wait for it.
    notice: called with a line to show the user (e.g. that the command waits for another one).
    """
    root = find_project_root(explicit, cwd)
    settings = load_settings(root / SETTINGS_FILE)
    store = Store.open(root / DB_FILE, activity=activity, notice=notice)
    return Project(root=root, settings=settings, store=store)
