"""What several commands share: the project's analyzer and its analysis cache, the stored
codebook, and the codebook's rule matches outside a ``tag`` run.

``tag``, ``train``, ``evaluate``, the exchange formats, intercoder agreement and the reports all
need these; keeping them here (and not in ``tagging``) keeps the workflow modules free of
import cycles.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from qualcode.analysis import Analysis, Analyzer, default_analyzer, get_analyzer
from qualcode.analysis.tokens import tokenize
from qualcode.codebook import Codebook, parse_codebook
from qualcode.errors import QualcodeError
from qualcode.match import FormKeys, compile_codebook, form_keys, match_tokens
from qualcode.progress import Progress
from qualcode.project import Project
from qualcode.textutil import sha256_hex

ANALYSE_BATCH = 2000  # forms per call to the analyzer (and per progress step)


def resolve_analyzer(project: Project) -> tuple[Analyzer, list[str]]:
    if project.settings.analyzer:
        return get_analyzer(project.settings.analyzer), []
    return default_analyzer()


def analyzer_key(analyzer: Analyzer) -> str:
    return f"{analyzer.name}|{analyzer.version}"


def index_key(analyzer: Analyzer) -> str:
    """A short stand-in for the analyzer and its versions in the (large) form_keys index."""
    return sha256_hex(analyzer_key(analyzer))[:10]


def analyse_forms(
    project: Project,
    analyzer: Analyzer,
    forms: Iterable[str],
    progress: Progress | None = None,
) -> tuple[dict[str, FormKeys], int]:
    """Keys for every form; forms not in the store's cache are analysed and stored.

    Must run inside the caller's transaction. Returns the keys and the number of new forms.
    """
    store = project.store
    key = analyzer_key(analyzer)
    wanted = sorted(set(forms))
    cached = store.analysis.cached_analyses(key, wanted)
    keys = {
        form: form_keys(Analysis.from_json(a) for a in json.loads(data))
        for form, data in cached.items()
    }
    missing = [f for f in wanted if f not in cached]
    for i in range(0, len(missing), ANALYSE_BATCH):
        batch = missing[i : i + ANALYSE_BATCH]
        if progress:
            progress(i, len(missing), "analysing")
        results = analyzer.analyze(batch)
        store.analysis.store_analyses(
            key,
            (
                (form, json.dumps([a.as_json() for a in readings], ensure_ascii=False))
                for form, readings in zip(batch, results, strict=True)
            ),
        )
        for form, readings in zip(batch, results, strict=True):
            keys[form] = form_keys(readings)
    if progress and missing:
        progress(len(missing), len(missing), "analysing")
    return keys, len(missing)


def resolve_codebook_path(project: Project, explicit: Path | None) -> Path:
    path = explicit or project.settings.codebook
    if path is None:
        raise QualcodeError(
            "no codebook given",
            "pass --codebook FILE, or set codebook under [tag] in qualcode.toml",
        )
    return path


def load_project_codebook(project: Project) -> Codebook:
    """The codebook that 'tag' used last (stored in the project as JSON)."""
    latest = project.store.codes.latest_codebook()
    if latest is None:
        raise QualcodeError("this project has no codebook yet", "run 'qualcode tag' first")
    source, data = latest.source, latest.data
    import yaml

    return parse_codebook(yaml.safe_dump(json.loads(data), allow_unicode=True), source)


def prime_project_analyses(project: Project, texts: Iterable[str]) -> str:
    """Make the classifier reuse the project's analysis cache; returns the analyzer name."""
    from qualcode.classify import prime_analyses

    analyzer, _ = resolve_analyzer(project)
    with project.store.transaction():
        keys, _ = analyse_forms(project, analyzer, (t.form for x in texts for t in tokenize(x)))
    prime_analyses(analyzer.name, keys)
    return analyzer.name


def rule_matches(
    project: Project, codebook: Codebook, segment_ids: Iterable[str]
) -> list[tuple[str, str]]:
    """(segment id, code) pairs that the codebook's rules give these segments."""
    analyzer, _ = resolve_analyzer(project)
    wanted = set(segment_ids)
    segments = [
        s
        for s in project.store.reads.segments_to_tag(include_interviewer=True)
        if s.segment_id in wanted
    ]
    tokens = [tokenize(s.text, s.start) for s in segments]
    with project.store.transaction():
        keys, _ = analyse_forms(project, analyzer, (t.form for toks in tokens for t in toks))
    compiled = compile_codebook(codebook)
    return [
        (s.segment_id, m.code_id)
        for s, toks in zip(segments, tokens, strict=True)
        for m in match_tokens(s.segment_id, toks, keys, compiled)
    ]


def keyword_warnings(codebook: Codebook, analyzer: Analyzer | None = None) -> list[str]:
    """Keywords that are not dictionary forms (they would match little or nothing).

    ``verkostot`` is a plural; Voikko's lemma is ``verkosto``. Only a warning: a researcher
    may want a plural-only noun (``markkinat``), which qualcode also accepts.
    """
    if analyzer is None:
        analyzer, _ = default_analyzer()
    words: dict[str, list[str]] = {}
    for code in codebook.codes:
        for kw in (*code.keywords, *code.exclude_keywords):
            words.setdefault(kw.word, []).append(code.id)
        for phrase in (*code.phrases, *code.exclude_phrases):
            for w in phrase.words:
                words.setdefault(w, []).append(code.id)
    forms = sorted(words)
    out = []
    for form, readings in zip(forms, analyzer.analyze(forms), strict=True):
        lemmas = {r.lemma for r in readings}
        codes = ", ".join(sorted(set(words[form])))
        known = {r.lemma for r in readings if r.pos != "unknown"}
        singular = {form[:-1], form[:-3] + "nen"} & known if form.endswith("t") else set()
        if singular:
            out.append(
                f"'{form}' ({codes}) is a plural; '{min(singular)}' finds both singular and "
                "plural forms (ignore this for plural-only nouns such as 'markkinat')"
            )
            continue
        if form in lemmas or any(r.pos == "unknown" for r in readings):
            continue
        out.append(
            f"'{form}' ({codes}) is not a dictionary form; Voikko reads it as "
            + " / ".join(sorted(lemmas))
        )
    return out
