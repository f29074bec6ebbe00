"""``qualcode tag``: analyse word forms (once), match the codebook, store suggestions, write CSV."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from qualcode.analysis import Analysis, Analyzer, get_analyzer
from qualcode.analysis.tokens import tokenize
from qualcode.choices import REVIEW_ORDERS
from qualcode.codebook import Codebook, load_codebook
from qualcode.errors import QualcodeError
from qualcode.match import (
    CompiledCodebook,
    Evidence,
    KeyForms,
    TokenArrays,
    compile_codebook,
    form_keys,
    match_indexed,
)
from qualcode.progress import Progress
from qualcode.project import Project
from qualcode.textutil import sha256_hex, suggestion_id
from qualcode.workflow._analysis import (
    ANALYSE_BATCH,
    analyse_forms,
    analyzer_key,
    index_key,
    resolve_analyzer,
    resolve_codebook_path,
)

if TYPE_CHECKING:  # the review CSV's modules load only when a CSV is written
    from qualcode.review import ReviewRow
    from qualcode.store.rows import ScopeSegment
    from qualcode.store.tag_run import TagRun


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


_PARALLEL_MIN_FORMS = 20_000
_WORKER_ANALYZER: Analyzer | None = None
_WORKER_NAMES: frozenset[str] | None = None
# Analysed forms: their analyses as JSON, their form_keys rows (key, exact), and, when the
# review CSV will be pseudonymised, those from which a registry name may start.
_Analysed = tuple[list[str], list[list[tuple[str, int]]], list[str]]


def _init_worker(name: str, names: frozenset[str] | None) -> None:
    global _WORKER_ANALYZER, _WORKER_NAMES
    _WORKER_ANALYZER = get_analyzer(name)
    _WORKER_NAMES = names


def _analyse_chunk(forms: list[str]) -> _Analysed:
    assert _WORKER_ANALYZER is not None
    return _analysed(_WORKER_ANALYZER, forms, names=_WORKER_NAMES)


def _analysed(analyzer: Analyzer, forms: list[str], *, names: frozenset[str] | None) -> _Analysed:
    """Analyse ``forms`` and work out their index keys where the analysis is (in a worker,
    on both cores), so the parent only stores them.

    names: the registry's start keys (``qualcode.pseudonymise.start_keys``); the review CSV's
        pseudonymiser would otherwise ask Voikko about every form again."""
    readings: list[tuple[Analysis, ...]] = []
    starts: list[str] = []
    if names is not None:
        from qualcode.pseudonymise import may_start_forms

        starts = may_start_forms(
            forms, names, lambda: readings.extend(analyzer.analyze(forms)), analyzer
        )
    else:
        readings = analyzer.analyze(forms)
    data = [json.dumps([a.as_json() for a in r], ensure_ascii=False) for r in readings]
    keys = []
    for r in readings:
        k = form_keys(r)
        keys.append([(part, 1 if part in k.lemmas else 0) for part in k.parts])
    return data, keys, starts


def _analyse_json(
    analyzer: Analyzer,
    forms: list[str],
    progress: Progress | None,
    *,
    names: frozenset[str] | None = None,
) -> _Analysed:
    """Analyses, index keys (and start forms) of ``forms``; both cores work when there are
    many new forms."""
    import os

    chunks = [forms[i : i + ANALYSE_BATCH] for i in range(0, len(forms), ANALYSE_BATCH)]
    workers = min(os.cpu_count() or 1, 4)
    data: list[str] = []
    keys: list[list[tuple[str, int]]] = []
    starts: list[str] = []

    def add(i: int, result: _Analysed) -> None:
        data.extend(result[0])
        keys.extend(result[1])
        starts.extend(result[2])
        if progress:
            progress(min(len(forms), (i + 1) * ANALYSE_BATCH), len(forms), "analysing")

    if len(forms) >= _PARALLEL_MIN_FORMS and workers > 1:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        with context.Pool(
            workers, initializer=_init_worker, initargs=(analyzer.name, names)
        ) as pool:
            for i, result in enumerate(pool.imap(_analyse_chunk, chunks)):
                add(i, result)
    else:
        for i, chunk in enumerate(chunks):
            add(i, _analysed(analyzer, chunk, names=names))
    return data, keys, starts


def index_forms(
    project: Project,
    analyzer: Analyzer,
    forms: list[tuple[int, str]],
    progress: Progress | None = None,
    *,
    names: frozenset[str] | None = None,
) -> int:
    """Analyse forms (by id) once: keep the readings and index their lemmas and parts.

    names: the start keys of the registry (``qualcode.pseudonymise.start_keys``): also work
        out which new forms a name may start from, for this process's pseudonymiser (the
        review CSV), sharing Voikko's answers with the analysis.

    Returns the number of forms that were not in the analysis cache."""
    store = project.store
    key = analyzer_key(analyzer)
    texts = [f for _, f in forms]
    cached = store.analysis.cached_analyses(key, texts)
    missing = [f for f in texts if f not in cached]
    data, fresh_keys, starts = _analyse_json(analyzer, missing, progress, names=names)
    if names is not None:
        from qualcode.pseudonymise import prime_start_forms

        prime_start_forms(names, missing, starts)
    store.analysis.store_analyses(key, zip(missing, data, strict=True))
    fresh = dict(zip(missing, fresh_keys, strict=True))
    rows: list[tuple[str, int, int]] = []
    for form_id, form in forms:
        found = fresh.get(form)
        if found is None:
            keys = form_keys(Analysis.from_json(a) for a in json.loads(cached[form]))
            found = [(k, 1 if k in keys.lemmas else 0) for k in keys.parts]
        rows.extend((k, form_id, exact) for k, exact in found)
    store.analysis.store_form_keys(index_key(analyzer), rows)
    return len(missing)


def token_arrays(
    project: Project, fresh: list[ScopeSegment], *, matched: bool, run: TagRun
) -> TokenArrays:
    """The tokens, as arrays, of the segments in the tag scope that were (or were not) matched
    before; ``fresh`` (segment id, start) are tokenised first: they never were."""
    import numpy as np

    store = project.store
    if fresh:
        texts = store.documents.segment_texts(sid for sid, _ in fresh)
        tokenised = {sid: tokenize(texts[sid], start) for sid, start in fresh}
        ids = store.analysis.form_ids(t.form for toks in tokenised.values() for t in toks)
        store.analysis.store_segment_tokens(
            (
                sid,
                np.array([ids[t.form] for t in toks], dtype=np.int32).tobytes(),
                np.array([t.start for t in toks], dtype=np.int32).tobytes(),
                np.array([t.end for t in toks], dtype=np.int32).tobytes(),
            )
            for sid, toks in tokenised.items()
        )
    rows = run.scope_token_forms(matched=matched)
    bounds = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(forms) // 4 for _, forms in rows], out=bounds[1:])
    forms = np.frombuffer(b"".join(forms for _, forms in rows), dtype=np.int32)
    # Offsets are read only for the segments that turn out to match.
    return TokenArrays(
        [sid for sid, _ in rows], bounds, forms, offsets=store.analysis.token_offsets
    )


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
    pseudonymise: bool = True,
    progress: Progress | None = None,
) -> TagReport:
    """Match the codebook (and the latest trained model) against the segments; refresh the
    pending suggestions; optionally write the review CSV."""
    if order not in REVIEW_ORDERS:
        raise QualcodeError(f"unknown order '{order}'", "use 'document' or 'uncertainty'")
    path = resolve_codebook_path(project, codebook_path)
    codebook = load_codebook(path)
    store = project.store
    if city is not None and city not in store.documents.cities():
        known = ", ".join(store.documents.cities()) or "none yet"
        raise QualcodeError(f"no documents from city '{city}'", f"cities: {known}")
    analyzer, warnings = resolve_analyzer(project)
    digest = codebook.digest

    # The review CSV is written to a temp file inside the transaction and renamed into place
    # after the commit: an unwritable --out fails before anything is stored (all or nothing).
    with ExitStack() as after_commit, store.transaction():
        # Matches are cached per code and segment; only what changed is matched again.
        rules = rule_digests(codebook)
        run = store.start_tag_run(
            f"{index_key(analyzer)}|{_MATCHER_VERSION}",
            city=city,
            include_interviewer=include_interviewer,
        )
        old_rules = run.old_rule_digests
        changed = sorted(
            c for c in rules.keys() | old_rules.keys() if rules.get(c) != old_rules.get(c)
        )
        scope = run.scope
        cached_before = store.analysis.analysis_cache_size(analyzer_key(analyzer))
        store.codes.upsert_codes(
            [(c.id, c.label, c.parent, c.definition) for c in codebook.codes],
            retire_missing=True,
        )
        store.codes.record_codebook(
            digest,
            codebook.name,
            codebook.version,
            str(path),
            json.dumps(codebook.to_dict(), ensure_ascii=False, sort_keys=True),
        )
        new_forms = 0
        words = scope.matched_tokens
        # (tokens, rules to match on them): every code on the segments not matched before,
        # and the changed codes on the segments that were.
        work: list[tuple[TokenArrays, CompiledCodebook]] = []
        if scope.matched < scope.segments:
            arrays = token_arrays(project, run.untokenised_in_scope(), matched=False, run=run)
            new_forms = _index_new_forms(
                project,
                analyzer,
                arrays,
                progress,
                names=_will_pseudonymise(project, out, pseudonymise),
            )
            words += len(arrays.forms)
            work.append((arrays, compile_codebook(codebook)))
        if changed and scope.matched:
            arrays = token_arrays(project, [], matched=True, run=run)
            work.append((arrays, compile_codebook(codebook, changed)))
        if progress:
            progress(0, 1, "matching")
        found: list[tuple[str, str, float, str]] = []
        for arrays, compiled in work:
            key_forms = _key_forms(
                store.analysis.forms_with_keys(index_key(analyzer), _words(compiled))
            )
            for segment_id, matches in match_indexed(
                arrays, compiled, key_forms, store.analysis.form_strings
            ).items():
                found.extend(
                    (segment_id, m.code_id, m.score, _evidence_json(m.evidence)) for m in matches
                )
        if progress:
            progress(1, 1, "matching")
        run.update_tag_cache(changed, found, sorted(rules.items()))
        model_id = None
        if use_model and store.models.model_data() is not None:
            model_id = _add_model_proposals(
                project, analyzer, run.scope_segment_ids(), codebook, run=run
            )
        reconciled = run.reconcile_suggestions(digest, suggestion_id)
        sources = run.tag_proposal_sources()
        # The review rows carry every segment's text: load them only when a CSV is written.
        rows = pending_review_rows(project, city=city, order=order) if out is not None else []
        pending = store.decisions.pending_counts(city)
        if out is not None:
            from qualcode.csvout import staged_write
            from qualcode.pseudonymise import unchanged_mapper
            from qualcode.review import review_csv_bytes
            from qualcode.workflow.names import text_mapper

            data = review_csv_bytes(
                rows,
                delimiter=project.settings.review_delimiter,
                mapper=text_mapper(project) if pseudonymise else unchanged_mapper,
            )
            after_commit.enter_context(staged_write(out, data))

    csv_rows = len(rows) if out is not None else 0
    themes: Counter[str] = Counter()
    for code, n in pending.items():
        if code in codebook:
            themes[codebook.theme_of(code)] += n
    by_theme = tuple(
        (c.id, c.label, themes.get(c.id, 0)) for c in codebook.codes if c.parent is None
    )
    return TagReport(
        codebook=str(path),
        codebook_digest=digest,
        analyzer=analyzer_key(analyzer),
        segments=scope.segments,
        words=words,
        new_forms=new_forms,
        cached_forms=cached_before,
        new=reconciled.new,
        updated=reconciled.updated,
        unchanged=reconciled.unchanged,
        removed=reconciled.removed,
        kept_decided=reconciled.kept_decided,
        pending_by_theme=by_theme,
        csv_path=str(out) if out else None,
        csv_rows=csv_rows,
        warnings=tuple(warnings),
        model_id=model_id,
        by_source=tuple(sources),
    )


def _add_model_proposals(
    project: Project, analyzer: Analyzer, segment_ids: list[str], codebook: Codebook, *, run: TagRun
) -> int | None:
    """Add the latest model's suggestions above each code's threshold to the rule proposals
    (temp.tag_proposals); mark rule+model where both agree."""
    from qualcode.classify import prime_analyses
    from qualcode.workflow.training import predict_with_latest

    store = project.store
    texts = store.documents.segment_texts(segment_ids)
    segments = [texts[sid] for sid in segment_ids]
    keys, _ = analyse_forms(
        project, analyzer, (t.form for text in segments for t in tokenize(text))
    )
    prime_analyses(analyzer.name, keys)
    predictions = predict_with_latest(project, segments)
    if predictions is None:
        return None
    proposals = {
        (sid, code): _Proposal(source, score, evidence, model)
        for sid, code, source, score, evidence, model in run.tag_proposals()
    }
    live = {c.id for c in codebook.codes if c.codable}
    for k, code in enumerate(predictions.codes):
        if code not in live:
            continue
        threshold = predictions.thresholds.get(code, 1.0)
        column = predictions.probabilities[:, k]
        for segment_id, p in zip(segment_ids, column.tolist(), strict=True):
            pair = (segment_id, code)
            p = round(float(p), 4)
            rule = proposals.get(pair)
            if rule is not None:
                source = "rule+model" if p >= threshold else "rule"
                score = max(rule.score, p) if p >= threshold else rule.score
                proposals[pair] = _Proposal(source, score, rule.evidence, p)
            elif p >= threshold:
                proposals[pair] = _Proposal("model", p, "[]", p)
    run.replace_tag_proposals(
        (*pair, p.source, p.score, p.evidence, p.model_score)
        for pair, p in sorted(proposals.items())
    )
    return predictions.model_id


_MATCHER_VERSION = "match.v1"  # change when the matcher would match differently


def rule_digests(codebook: Codebook) -> dict[str, str]:
    """A digest of each codable code's rules: what its matches depend on, and nothing else."""
    out = {}
    for code in codebook.codes:
        if code.codable:
            rules = [
                code.min_hits,
                [[k.word, k.compounds] for k in code.keywords],
                [[k.word, k.compounds] for k in code.exclude_keywords],
                [[list(p.words), p.gap] for p in code.phrases],
                [[list(p.words), p.gap] for p in code.exclude_phrases],
            ]
            out[code.id] = sha256_hex(json.dumps(rules, ensure_ascii=False))[:16]
    return out


def _evidence_json(evidence: Iterable[Evidence]) -> str:
    return json.dumps([[e.form, e.start, e.end, e.rule] for e in evidence], ensure_ascii=False)


def _index_new_forms(
    project: Project,
    analyzer: Analyzer,
    arrays: TokenArrays,
    progress: Progress | None,
    *,
    names: frozenset[str] | None = None,
) -> int:
    """Analyse and index the forms of ``arrays`` not indexed yet; returns how many were
    analysed (new to the analysis cache)."""
    import numpy as np

    store = project.store
    missing = np.setdiff1d(
        np.unique(arrays.forms),
        np.array(store.analysis.indexed_form_ids(index_key(analyzer)), dtype=np.int32),
    )
    if not len(missing):
        return 0
    strings = store.analysis.form_strings(missing.tolist())
    return index_forms(project, analyzer, sorted(strings.items()), progress, names=names)


def _will_pseudonymise(
    project: Project, out: Path | None, pseudonymise: bool
) -> frozenset[str] | None:
    """The start keys of the registry that this tag's review CSV is pseudonymised with."""
    if out is None or not pseudonymise:
        return None
    from qualcode.pseudonymise import start_keys
    from qualcode.workflow.names import registry

    # The entries text_mapper pseudonymises with.
    entries = [e for e in registry(project) if e.action in ("pseudonymise", "ignore")]
    return start_keys(entries) if entries else None


def _words(compiled: CompiledCodebook) -> set[str]:
    words = set(compiled.by_part) | set(compiled.by_lemma)
    for first, phrases in compiled.phrases_by_first.items():
        words.add(first)
        for p in phrases:
            words.update(p.phrase.words)
    return words


def _key_forms(rows: list[tuple[str, int, int]]) -> dict[str, KeyForms]:
    parts: dict[str, set[int]] = {}
    lemmas: dict[str, set[int]] = {}
    for key, form_id, exact in rows:
        parts.setdefault(key, set()).add(form_id)
        if exact:
            lemmas.setdefault(key, set()).add(form_id)
    return {k: KeyForms(frozenset(v), frozenset(lemmas.get(k, ()))) for k, v in parts.items()}


def pending_review_rows(
    project: Project, *, city: str | None = None, order: str = "document"
) -> list[ReviewRow]:
    from qualcode.review import ReviewRow

    rows = [
        ReviewRow(
            suggestion_id=r.suggestion_id,
            segment_id=r.segment_id,
            city=r.city,
            document=r.document,
            speaker=r.speaker,
            code=r.code,
            code_label=r.code_label,
            score=r.score,
            source=r.source,
            evidence=r.evidence,
            text=r.text,
            segment_start=r.segment_start,
            model_score=r.model_score,
        )
        for r in project.store.decisions.pending_review_rows(city)
    ]
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
