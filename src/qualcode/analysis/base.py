"""The analyzer protocol, the ``Analysis`` record and the registry."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from qualcode.errors import QualcodeError


@dataclass(frozen=True)
class Analysis:
    """One reading of a word form.

    ``members`` are the compound members in order, each with the spellings it may match as
    (e.g. ``("kaupunki", "kaupungin")`` for the first member of *kaupunginjohtaja*); a simple
    word has one member. All strings are lower case.
    """

    lemma: str
    members: tuple[tuple[str, ...], ...]
    pos: str  # noun, verb, adj, propn, num, adv, adp, pron, other, unknown

    def as_json(self) -> list[object]:
        return [self.lemma, [list(m) for m in self.members], self.pos]

    @classmethod
    def from_json(cls, data: list[Any]) -> Analysis:
        lemma, members, pos = data
        return cls(str(lemma), tuple(tuple(str(p) for p in m) for m in members), str(pos))


class Analyzer(Protocol):
    """What the matcher needs from a language-analysis back end."""

    name: str  # registry name, e.g. "voikko.v1"

    @property
    def version(self) -> str:
        """Versions of the back end and its data; part of the analysis-cache key."""
        ...

    def analyze(self, forms: Sequence[str]) -> list[tuple[Analysis, ...]]:
        """All readings of each form (at least one; unknown words get a guess)."""
        ...


class AnalyzerUnavailable(QualcodeError):
    """The back end is not installed here."""


ENTRY_POINT_GROUP = "qualcode.analyzers"
# The built-ins, exactly as pyproject.toml declares them under
# [project.entry-points."qualcode.analyzers"]. They are discovered like any outside analyzer;
# this copy is the fallback for a checkout that was never installed (no entry-point metadata).
BUILTINS = {
    "simplemma.v1": "qualcode.analysis.simple:SimplemmaAnalyzer",
    "spacy-fi.v1": "qualcode.analysis.spacy_fi:SpacyFiAnalyzer",
    "voikko.v1": "qualcode.analysis.voikko:VoikkoAnalyzer",
}
_REGISTRY: dict[str, Callable[[], Analyzer]] = {}
_DISCOVERED = False
_PREFERENCE = ("voikko.v1", "spacy-fi.v1", "simplemma.v1")


def register(name: str) -> Callable[[Callable[[], Analyzer]], Callable[[], Analyzer]]:
    """Register an analyzer factory under a versioned name (``mytool.v1``) from Python.

    A package registers one without being imported first through an entry point in the
    ``qualcode.analyzers`` group: ``mytool.v1 = "mytool.analysis:MyAnalyzer"``.
    """

    def decorator(factory: Callable[[], Analyzer]) -> Callable[[], Analyzer]:
        _REGISTRY[name] = factory
        return factory

    return decorator


def _lazy(name: str, load: Callable[[], Any]) -> Callable[[], Analyzer]:
    """A factory that imports its module only when the analyzer is asked for, so that listing
    the registry (or ``qualcode --help``) never loads Voikko or spaCy."""

    def factory() -> Analyzer:
        target = load()
        analyzer: Analyzer = target()
        return analyzer

    factory.__qualname__ = f"entry point {name}"
    return factory


def _load_target(target: str) -> Any:
    import importlib

    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _discover() -> None:
    """Fill the registry from the entry points once, then the built-ins an uninstalled
    checkout lacks; a name registered from Python (or by a test) is never replaced."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    _DISCOVERED = True
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        _REGISTRY.setdefault(ep.name, _lazy(ep.name, ep.load))
    for name, target in BUILTINS.items():
        _REGISTRY.setdefault(name, _lazy(name, functools.partial(_load_target, target)))


def registered_names() -> list[str]:
    _discover()
    return sorted(_REGISTRY)


def get_analyzer(name: str) -> Analyzer:
    _discover()
    factory = _REGISTRY.get(name)
    if factory is None:
        raise QualcodeError(
            f"unknown language analyzer '{name}'",
            f"registered analyzers: {', '.join(registered_names())}",
        )
    return factory()


def available_analyzers() -> dict[str, str]:
    """Each registered analyzer and either 'ok' or why it cannot be used here."""
    out: dict[str, str] = {}
    for name in registered_names():
        try:
            get_analyzer(name)
            out[name] = "ok"
        except AnalyzerUnavailable as exc:
            out[name] = exc.message
    return out


def default_analyzer() -> tuple[Analyzer, list[str]]:
    """The best analyzer available here, and warnings about the ones that were skipped."""
    warnings: list[str] = []
    for name in (*_PREFERENCE, *(n for n in registered_names() if n not in _PREFERENCE)):
        try:
            return get_analyzer(name), warnings
        except AnalyzerUnavailable as exc:
            warnings.append(f"{name}: {exc.message}")
    raise QualcodeError("no language analyzer is available", "install simplemma or Voikko")
