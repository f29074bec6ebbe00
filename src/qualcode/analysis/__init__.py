"""Finnish language analysis behind a small protocol and a string-named registry.

An analyzer turns word forms into ``Analysis`` records (lemma, compound members, coarse part
of speech). Analyzers are found through the ``qualcode.analyzers`` entry-point group, and the
built-ins are declared there exactly as an outside package would declare its own:

- ``voikko.v1``: libvoikko with the Finnish dictionary (lemmas and compound members);
- ``spacy-fi.v1``: the spaCy Finnish pipeline's lemmatizer (no compound members);
- ``simplemma.v1``: simplemma's lookup lemmatizer (no compound members; last resort).

``default_analyzer()`` picks the first that works here, in that order.
"""

from __future__ import annotations

from qualcode.analysis.base import (
    Analysis,
    Analyzer,
    AnalyzerUnavailable,
    available_analyzers,
    default_analyzer,
    get_analyzer,
    register,
    registered_names,
)

__all__ = [
    "Analysis",
    "Analyzer",
    "AnalyzerUnavailable",
    "available_analyzers",
    "default_analyzer",
    "get_analyzer",
    "register",
    "registered_names",
]
