"""``qualcode tag``: analyse word forms (once), match the codebook, store suggestions, write CSV."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from qualcode.analysis import Analysis, Analyzer, default_analyzer, get_analyzer
from qualcode.codebook import Codebook, load_codebook, parse_codebook
from qualcode.csvout import atomic_write_bytes
from qualcode.errors import QualcodeError
from qualcode.match import FormKeys, compile_codebook, form_keys, match_tokens, tokenize
from qualcode.project import Project
from qualcode.review import ReviewRow, review_csv_bytes
from qualcode.textutil import suggestion_id

Progress = Callable[[int, int, str], None]
_ANALYSE_BATCH = 2000


@dataclass(frozen=True)
class TagReport:
    codebook: str
    codebook_digest: str
    analyzer: str
    segments: int
    words: int
    new_forms: int
    cached_forms: int
    new: int
    updated: int
    unchanged: int
    removed: int
    kept_decided: int
    pending_by_theme: tuple[tuple[str, str, int], ...]  # (theme id, label, pending)
    csv_path: str | None
    csv_rows: int
    warnings: tuple[str, ...] = field(default=())
    model_id: int | None = None
    by_source: tuple[tuple[str, int], ...] = ()


def resolve_analyzer(project: Project) -> tuple[Analyzer, list[str]]:
    if project.settings.analyzer:
        return get_analyzer(project.settings.analyzer), []
    return default_analyzer()


def analyser_key(analyzer: Analyzer) -> str:
    return f"{analyzer.name}|{analyzer.version}"


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
    key = analyser_key(analyzer)
    wanted = sorted(set(forms))
    cached = store.cached_analyses(key, wanted)
    keys = {
        form: form_keys(Analysis.from_json(a) for a in json.loads(data))
        for form, data in cached.items()
    }
    missing = [f for f in wanted if f not in cached]
    for i in range(0, len(missing), _ANALYSE_BATCH):
        batch = missing[i : i + _ANALYSE_BATCH]
        if progress:
            progress(i, len(missing), "analysing")
        results = analyzer.analyze(batch)
        store.store_analyses(
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
    latest = project.store.latest_codebook()
    if latest is None:
        raise QualcodeError("this project has no codebook yet", "run 'qualcode tag' first")
    _, source, data = latest
    import yaml

    return parse_codebook(yaml.safe_dump(json.loads(data), allow_unicode=True), source)


@dataclass(frozen=True)
class _Proposal:
    source: str
    score: float
    evidence: str
    model_score: float | None


def tag(
    project: Project,
    *,
    codebook_path: Path | None = None,
    city: str | None = None,
    out: Path | None = None,
    include_interviewer: bool = False,
    order: str = "document",
    use_model: bool = True,
    progress: Progress | None = None,
) -> TagReport:
    """Match the codebook (and the latest trained model) against the segments; refresh the
    pending suggestions; optionally write the review CSV."""
    if order not in ("document", "uncertainty"):
        raise QualcodeError(f"unknown order '{order}'", "use 'document' or 'uncertainty'")
    path = resolve_codebook_path(project, codebook_path)
    codebook = load_codebook(path)
    store = project.store
    if city is not None and city not in store.cities():
        known = ", ".join(store.cities()) or "none yet"
        raise QualcodeError(f"no documents from city '{city}'", f"cities: {known}")
    analyzer, warnings = resolve_analyzer(project)
    digest = codebook.digest

    with store.transaction():
        segments = store.segments_to_tag(city=city, include_interviewer=include_interviewer)
        tokens = [tokenize(text, start) for _, start, text, _ in segments]
        cached_before = store.analysis_cache_size(analyser_key(analyzer))
        keys, new_forms = analyse_forms(
            project, analyzer, (t.form for toks in tokens for t in toks), progress
        )
        store.sync_codes([(c.id, c.label, c.parent, c.definition) for c in codebook.codes])
        store.record_codebook(
            digest,
            codebook.name,
            codebook.version,
            str(path),
            json.dumps(codebook.to_dict(), ensure_ascii=False, sort_keys=True),
        )
        compiled = compile_codebook(codebook)
        proposals: dict[tuple[str, str], _Proposal] = {}
        for n, ((segment_id, _, _, _), toks) in enumerate(zip(segments, tokens, strict=True)):
            if progress and n % 500 == 0:
                progress(n, len(segments), "matching")
            for m in match_tokens(segment_id, toks, keys, compiled):
                evidence = json.dumps(
                    [[e.form, e.start, e.end, e.rule] for e in m.evidence], ensure_ascii=False
                )
                proposals[(segment_id, m.code_id)] = _Proposal("rule", m.score, evidence, None)
        if progress:
            progress(len(segments), len(segments), "matching")
        model_id = None
        if use_model:
            model_id = _add_model_proposals(
                project, analyzer.name, keys, segments, codebook, proposals
            )
        existing = store.suggestion_states(s[0] for s in segments)
        accepted = store.accepted_pairs()
        inserts: list[tuple[object, ...]] = []
        updates: list[tuple[object, ...]] = []
        unchanged = 0
        for pair, prop in sorted(proposals.items()):
            state = existing.get(pair)
            row = (prop.source, prop.score, prop.evidence, digest, prop.model_score)
            if state is None:
                if pair not in accepted:
                    inserts.append((suggestion_id(*pair), *pair, *row))
            elif state.status == "pending":
                old = (
                    state.source,
                    state.score,
                    state.evidence,
                    state.codebook_digest,
                    state.model_score,
                )
                if old == row:
                    unchanged += 1
                else:
                    updates.append((*row, state.id))
        stale = [
            s.id
            for pair, s in existing.items()
            if s.status == "pending" and s.source in _GENERATED and pair not in proposals
        ]
        kept = sum(1 for s in existing.values() if s.status != "pending")
        store.insert_suggestions(inserts)
        store.update_suggestions(updates)
        removed = store.delete_pending_suggestions(stale)
        rows = pending_review_rows(project, city=city, order=order)

    csv_rows = 0
    if out is not None:
        atomic_write_bytes(out, review_csv_bytes(rows, delimiter=project.settings.review_delimiter))
        csv_rows = len(rows)
    themes: Counter[str] = Counter(codebook.theme_of(r.code) for r in rows if r.code in codebook)
    by_theme = tuple(
        (c.id, c.label, themes.get(c.id, 0)) for c in codebook.codes if c.parent is None
    )
    sources = Counter(p.source for p in proposals.values())
    return TagReport(
        codebook=str(path),
        codebook_digest=digest,
        analyzer=analyser_key(analyzer),
        segments=len(segments),
        words=sum(len(t) for t in tokens),
        new_forms=new_forms,
        cached_forms=cached_before,
        new=len(inserts),
        updated=len(updates),
        unchanged=unchanged,
        removed=removed,
        kept_decided=kept,
        pending_by_theme=by_theme,
        csv_path=str(out) if out else None,
        csv_rows=csv_rows,
        warnings=tuple(warnings),
        model_id=model_id,
        by_source=tuple(sorted(sources.items())),
    )


_GENERATED = ("rule", "model", "rule+model")


def _add_model_proposals(
    project: Project,
    analyzer: str,
    keys: dict[str, FormKeys],
    segments: list[tuple[str, int, str, str]],
    codebook: Codebook,
    proposals: dict[tuple[str, str], _Proposal],
) -> int | None:
    """Add the latest model's suggestions above each code's threshold; mark rule+model."""
    from qualcode.classify import prime_analyses
    from qualcode.workflow.training import predict_with_latest

    prime_analyses(analyzer, keys)
    predictions = predict_with_latest(project, [text for _, _, text, _ in segments])
    if predictions is None:
        return None
    live = {c.id for c in codebook.codes if c.codable}
    for k, code in enumerate(predictions.codes):
        if code not in live:
            continue
        threshold = predictions.thresholds.get(code, 1.0)
        column = predictions.probabilities[:, k]
        for (segment_id, _, _, _), p in zip(segments, column.tolist(), strict=True):
            pair = (segment_id, code)
            p = round(float(p), 4)
            rule = proposals.get(pair)
            if rule is not None:
                source = "rule+model" if p >= threshold else "rule"
                score = max(rule.score, p) if p >= threshold else rule.score
                proposals[pair] = _Proposal(source, score, rule.evidence, p)
            elif p >= threshold:
                proposals[pair] = _Proposal("model", p, "[]", p)
    return predictions.model_id


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
        s for s in project.store.segments_to_tag(include_interviewer=True) if s[0] in wanted
    ]
    tokens = [tokenize(text, start) for _, start, text, _ in segments]
    with project.store.transaction():
        keys, _ = analyse_forms(project, analyzer, (t.form for toks in tokens for t in toks))
    compiled = compile_codebook(codebook)
    return [
        (sid, m.code_id)
        for (sid, _, _, _), toks in zip(segments, tokens, strict=True)
        for m in match_tokens(sid, toks, keys, compiled)
    ]


def pending_review_rows(
    project: Project, *, city: str | None = None, order: str = "document"
) -> list[ReviewRow]:
    rows = [ReviewRow(*r) for r in project.store.pending_review_rows(city)]
    if order == "uncertainty":
        # Active learning: the segments whose probabilities sit closest to 0.5 come first,
        # so each review round teaches the model the most. Stable sort keeps document order.
        closeness: dict[str, float] = {}
        for r in rows:
            if r.model_score is not None:
                d = abs(r.model_score - 0.5)
                closeness[r.segment_id] = min(closeness.get(r.segment_id, 1.0), d)
        rows.sort(key=lambda r: closeness.get(r.segment_id, 1.0))
    return rows


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
