"""``simplemma.v1``: a lookup lemmatizer, the last-resort fallback (no compound members)."""

from __future__ import annotations

from collections.abc import Sequence

from qualcode.analysis.base import Analysis, AnalyzerUnavailable
from qualcode.analysis.guess import guess


class SimplemmaAnalyzer:
    name = "simplemma.v1"

    def __init__(self) -> None:
        try:
            import simplemma
        except ImportError as exc:
            raise AnalyzerUnavailable(f"simplemma is not installed ({exc})") from None
        self._lemmatize = simplemma.lemmatize

    @property
    def version(self) -> str:
        import importlib.metadata

        return f"simplemma {importlib.metadata.version('simplemma')}"

    def analyze(self, forms: Sequence[str]) -> list[tuple[Analysis, ...]]:
        out = []
        for form in forms:
            lemma = self._lemmatize(form, lang="fi").lower()
            readings = {Analysis(lemma, ((lemma,),), "other")}
            if lemma == form.lower():
                readings.update(guess(form))
            out.append(tuple(sorted(readings, key=lambda a: a.lemma)))
        return out
