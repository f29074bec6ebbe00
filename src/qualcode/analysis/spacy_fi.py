"""``spacy-fi.v1``: lemmas from the spaCy Finnish pipeline (``spacy-fi-experimental-web-md``).

Words are lemmatised out of context, one per document, which is what a lookup needs.
No compound members: a keyword finds inflected forms but not compounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qualcode.analysis.base import Analysis, AnalyzerUnavailable
from qualcode.analysis.guess import guess

# The spaCy Finnish pipeline, defined here only: its import name and its distribution name.
MODEL = "spacy_fi_experimental_web_md"
MODEL_PACKAGE = "spacy-fi-experimental-web-md"
_PIPELINES: dict[tuple[str, ...], Any] = {}
_POS = {
    "NOUN": "noun",
    "PROPN": "propn",
    "VERB": "verb",
    "AUX": "verb",
    "ADJ": "adj",
    "ADV": "adv",
    "ADP": "adp",
    "PRON": "pron",
    "NUM": "num",
}


def load_pipeline(exclude: Sequence[str] = ()) -> Any:
    """The spaCy Finnish pipeline without the ``exclude``d components, loaded once per process
    for each set (the lemmatizer, the NER and the word vectors each need different parts).

    Raises whatever spaCy raises: each caller says what a missing model costs it.
    """
    key = tuple(sorted(exclude))
    nlp = _PIPELINES.get(key)
    if nlp is None:
        import spacy

        nlp = _PIPELINES[key] = spacy.load(MODEL, exclude=list(key))
    return nlp


class SpacyFiAnalyzer:
    name = "spacy-fi.v1"
    _nlp: Any = None

    def __init__(self) -> None:
        if SpacyFiAnalyzer._nlp is None:
            try:
                SpacyFiAnalyzer._nlp = load_pipeline(exclude=["parser", "ner"])
            except Exception as exc:  # missing model, or its Voikko-based lemmatizer
                raise AnalyzerUnavailable(f"the spaCy Finnish model cannot load ({exc})") from None

    @property
    def version(self) -> str:
        import importlib.metadata

        return (
            f"spacy {importlib.metadata.version('spacy')}; "
            f"{MODEL} {importlib.metadata.version(MODEL_PACKAGE)}"
        )

    def analyze(self, forms: Sequence[str]) -> list[tuple[Analysis, ...]]:
        out = []
        for form, doc in zip(forms, self._nlp.pipe(forms, batch_size=256), strict=True):
            readings = set()
            for token in doc:
                lemma = token.lemma_.lower() or form.lower()
                readings.add(Analysis(lemma, ((lemma,),), _POS.get(token.pos_, "other")))
                break
            if not readings:
                readings.update(guess(form))
            out.append(tuple(sorted(readings, key=lambda a: a.lemma)))
        return out
