"""What the installation has: Voikko, the spaCy Finnish model and versions (``qualcode doctor``)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import platform
from dataclasses import dataclass, field

from qualcode import __version__
from qualcode.analysis.spacy_fi import MODEL, MODEL_PACKAGE
from qualcode.store import SQLITE_VERSION

VOIKKO_MISSING = (
    "Voikko is not available: Finnish lemmas fall back to the spaCy Finnish lemmatizer or "
    "simplemma, which find inflected forms but not compounds. Install it with "
    "'sudo apt-get install libvoikko1 voikko-fi' (Debian/Ubuntu) or 'brew install libvoikko' "
    "(macOS)."
)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class EnvironmentReport:
    items: tuple[Check, ...]
    warning: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in self.items},
            "warning": self.warning,
        }


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def voikko_status() -> tuple[bool, str]:
    """(available, detail): can libvoikko load the Finnish dictionary here?"""
    try:
        import libvoikko
    except Exception as exc:  # the binding raises OSError when libvoikko.so is missing
        return False, f"Python binding not importable ({exc})"
    try:
        voikko = libvoikko.Voikko("fi")
    except Exception as exc:
        return False, f"libvoikko found but no Finnish dictionary ({exc})"
    try:
        dicts = libvoikko.Voikko.listDicts()
        desc = dicts[0].description if dicts else "fi"
        return True, f"libvoikko {libvoikko.Voikko.getVersion()}, dictionary: {desc}"
    finally:
        voikko.terminate()


def check_environment() -> EnvironmentReport:
    items = [
        Check("qualcode", True, __version__),
        Check("python", True, platform.python_version()),
        Check("sqlite", True, SQLITE_VERSION),
    ]
    ok, detail = voikko_status()
    items.append(Check("voikko", ok, detail))
    spacy_version = _version("spacy")
    items.append(Check("spacy", spacy_version is not None, spacy_version or "not installed"))
    model_version = _version(MODEL_PACKAGE)
    model_ok = model_version is not None and importlib.util.find_spec(MODEL) is not None
    items.append(Check("spacy Finnish model", model_ok, model_version or "not installed"))
    for dist in ("scikit-learn", "pandas", "python-docx"):
        v = _version(dist)
        items.append(Check(dist, v is not None, v or "not installed"))
    from qualcode.analysis import available_analyzers, default_analyzer

    for name, state in available_analyzers().items():
        items.append(Check(f"analyzer {name}", state == "ok", state))
    try:
        analyzer, _ = default_analyzer()
        items.append(
            Check("language analysis in use", True, f"{analyzer.name} ({analyzer.version})")
        )
    except Exception as exc:
        items.append(Check("language analysis in use", False, str(exc)))
    return EnvironmentReport(tuple(items), None if ok else VOIKKO_MISSING)
