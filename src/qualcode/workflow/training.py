"""``train``, ``models``, ``evaluate`` and the model's part of ``tag``.

Training data come from reviewed documents (those with any decision): accepted codings are
positives, rejected suggestions explicit negatives (weighted double), and the other segments
of those documents implicit negatives. Cross-validation is grouped by document, so segments
of one interview never sit on both sides of a split.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qualcode import __version__
from qualcode.choices import DEFAULT_FOLDS, DEFAULT_MIN_EXAMPLES, DEFAULT_TARGET_PRECISION
from qualcode.codebook import Codebook
from qualcode.errors import QualcodeError
from qualcode.progress import Progress
from qualcode.project import Project
from qualcode.textutil import sha256_hex

EXPLICIT_NEGATIVE_WEIGHT = 2.0


@dataclass(frozen=True)
class CodeScore:
    code: str
    label: str
    support: int
    precision: float
    recall: float
    f1: float
    threshold: float
    reached_target: bool


@dataclass(frozen=True)
class TrainReport:
    model_id: int
    segments: int
    documents: int
    positives: int
    explicit_negatives: int
    folds: int
    scores: tuple[CodeScore, ...]
    left_to_rules: tuple[tuple[str, int], ...]  # (code, positives) below min_examples
    training_digest: str
    codebook_digest: str
    micro_f1: float
    macro_f1: float


@dataclass(frozen=True)
class TrainingSet:
    segment_ids: list[str]
    documents: list[str]
    texts: list[str]
    codes: list[str]
    y: np.ndarray  # (segments, codes) 0/1
    weights: np.ndarray  # (segments, codes)
    left_to_rules: list[tuple[str, int]]
    explicit_negatives: int

    @property
    def digest(self) -> str:
        rows = [
            f"{sid}\t{''.join(map(str, row))}\t{''.join('2' if w > 1 else '1' for w in wrow)}"
            for sid, row, wrow in zip(
                self.segment_ids, self.y.tolist(), self.weights.tolist(), strict=True
            )
        ]
        return sha256_hex("\n".join([",".join(self.codes), *rows]))[:16]


def training_set(project: Project, codebook: Codebook, min_examples: int) -> TrainingSet:
    store = project.store
    segments = store.reads.reviewed_segments()
    if not segments:
        raise QualcodeError(
            "nothing to learn from yet: no reviewed documents",
            "review suggestions first ('qualcode review FILE')",
        )
    accepted = store.decisions.accepted_pairs()
    rejected = store.decisions.rejected_pairs() - accepted
    index = {s.segment_id: i for i, s in enumerate(segments)}
    positives: dict[str, set[int]] = {}
    for sid, code in accepted:
        if sid in index:
            positives.setdefault(code, set()).add(index[sid])
    codable = [c.id for c in codebook.codes if c.codable]
    codes = [c for c in codable if len(positives.get(c, ())) >= min_examples]
    left = [(c, len(positives.get(c, ()))) for c in codable if c not in codes]
    y = np.zeros((len(segments), len(codes)), dtype=np.int8)
    weights = np.ones((len(segments), len(codes)), dtype=np.float64)
    for k, code in enumerate(codes):
        y[sorted(positives[code]), k] = 1
    column = {c: k for k, c in enumerate(codes)}
    explicit = 0
    for sid, code in rejected:
        if sid in index and code in column:
            weights[index[sid], column[code]] = EXPLICIT_NEGATIVE_WEIGHT
            explicit += 1
    return TrainingSet(
        segment_ids=[s.segment_id for s in segments],
        documents=[s.document_id for s in segments],
        texts=[s.text for s in segments],
        codes=codes,
        y=y,
        weights=weights,
        left_to_rules=left,
        explicit_negatives=explicit,
    )


def _out_of_fold(
    data: TrainingSet, folds: int, analyzer: str, progress: Progress | None
) -> tuple[np.ndarray, object, object]:
    """Out-of-fold decision values, plus the featurizer and feature matrix of all segments
    (fitted once, without labels, and reused by every fold and the final model)."""
    from sklearn.model_selection import GroupKFold

    from qualcode.classify import SegmentClassifier

    featurizer = SegmentClassifier(analyzer=analyzer).new_featurizer()
    features = featurizer.fit_transform(data.texts).tocsr()
    decisions = np.zeros(data.y.shape, dtype=np.float64)
    splitter = GroupKFold(n_splits=folds)
    for i, (train, test) in enumerate(splitter.split(data.texts, groups=data.documents)):
        if progress:
            progress(i, folds + 1, "cross-validating")
        model = SegmentClassifier(analyzer=analyzer).fit_features(
            featurizer, features[train], data.y[train], sample_weight=data.weights[train]
        )
        decisions[test] = np.asarray(features[test] @ model.coef_.T + model.intercept_)
    return decisions, featurizer, features


def choose_threshold(probs: np.ndarray, truth: np.ndarray, target: float) -> tuple[float, bool]:
    """Lowest probability threshold whose precision reaches ``target`` (else best F1)."""
    order = np.argsort(-probs, kind="stable")
    p_sorted, t_sorted = probs[order], truth[order]
    tp = np.cumsum(t_sorted)
    precision = tp / np.arange(1, len(order) + 1)
    total = max(int(truth.sum()), 1)
    ok = np.nonzero((precision >= target) & (t_sorted == 1))[0]
    if len(ok):
        return float(p_sorted[ok[-1]]), True
    f1 = 2 * precision * (tp / total) / np.maximum(precision + tp / total, 1e-12)
    best = int(np.argmax(f1))
    return float(p_sorted[best]), False


def _scores(
    codes: Sequence[str],
    labels: dict[str, str],
    probs: np.ndarray,
    y: np.ndarray,
    target: float,
) -> tuple[list[CodeScore], float, float]:
    scores = []
    tp_all = fp_all = fn_all = 0
    for k, code in enumerate(codes):
        threshold, reached = choose_threshold(probs[:, k], y[:, k], target)
        predicted = probs[:, k] >= threshold
        tp = int((predicted & (y[:, k] == 1)).sum())
        fp = int((predicted & (y[:, k] == 0)).sum())
        fn = int((~predicted & (y[:, k] == 1)).sum())
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        scores.append(
            CodeScore(
                code,
                labels.get(code, code),
                int(y[:, k].sum()),
                round(p, 3),
                round(r, 3),
                round(f, 3),
                round(threshold, 4),
                reached,
            )
        )
    p = tp_all / (tp_all + fp_all) if tp_all + fp_all else 0.0
    r = tp_all / (tp_all + fn_all) if tp_all + fn_all else 0.0
    micro = 2 * p * r / (p + r) if p + r else 0.0
    macro = float(np.mean([s.f1 for s in scores])) if scores else 0.0
    return scores, round(micro, 3), round(macro, 3)


def train(
    project: Project,
    *,
    min_examples: int = DEFAULT_MIN_EXAMPLES,
    target_precision: float = DEFAULT_TARGET_PRECISION,
    folds: int = DEFAULT_FOLDS,
    progress: Progress | None = None,
) -> TrainReport:
    """Fit the suggester on the reviewed material, cross-validate it, store it."""
    from qualcode.classify import SegmentClassifier, apply_platt
    from qualcode.workflow._analysis import load_project_codebook, prime_project_analyses

    if min_examples < 1:
        raise QualcodeError("--min-examples must be at least 1")
    if not 0 < target_precision <= 1:
        raise QualcodeError("--target-precision must be between 0 and 1")
    codebook = load_project_codebook(project)
    data = training_set(project, codebook, min_examples)
    if not data.codes:
        raise QualcodeError(
            f"no code has {min_examples} accepted examples yet",
            "review more suggestions, or lower --min-examples",
        )
    n_docs = len(set(data.documents))
    if n_docs < 2:
        raise QualcodeError("cross-validation needs at least 2 reviewed documents")
    folds = min(folds, n_docs)
    analyzer = prime_project_analyses(project, data.texts)
    decisions, featurizer, features = _out_of_fold(data, folds, analyzer, progress)
    if progress:
        progress(folds, folds + 1, "fitting")
    model = SegmentClassifier(analyzer=analyzer).fit_features(
        featurizer,  # type: ignore[arg-type]
        features,
        data.y,
        sample_weight=data.weights,
    )
    model.calibrate(decisions, data.y)
    assert model.calibration_ is not None
    probs = apply_platt(decisions, model.calibration_)  # the same fit_platt, done once
    labels = {c.id: c.label for c in codebook.codes}
    scores, micro, macro = _scores(data.codes, labels, probs, data.y, target_precision)
    summary = {
        "codes": data.codes,
        # A code whose cross-validated precision never reaches the target gets no model
        # suggestions: it stays with the rules until there are more examples.
        "thresholds": {s.code: s.threshold for s in scores if s.reached_target},
        "scores": [s.__dict__ for s in scores],
        "left_to_rules": data.left_to_rules,
        "segments": len(data.texts),
        "documents": n_docs,
        "positives": int(data.y.sum()),
        "explicit_negatives": data.explicit_negatives,
        "folds": folds,
        "min_examples": min_examples,
        "target_precision": target_precision,
        "micro_f1": micro,
        "macro_f1": macro,
    }
    with project.store.transaction():
        model_id = project.store.models.save_model(
            version=__version__,
            training_digest=data.digest,
            codebook_digest=codebook.digest,
            summary=json.dumps(summary, ensure_ascii=False, sort_keys=True),
            data=model.to_bytes({"codes": data.codes}),
        )
    if progress:
        progress(folds + 1, folds + 1, "done")
    return TrainReport(
        model_id=model_id,
        segments=len(data.texts),
        documents=n_docs,
        positives=int(data.y.sum()),
        explicit_negatives=data.explicit_negatives,
        folds=folds,
        scores=tuple(scores),
        left_to_rules=tuple(data.left_to_rules),
        training_digest=data.digest,
        codebook_digest=codebook.digest,
        micro_f1=micro,
        macro_f1=macro,
    )


@dataclass(frozen=True)
class StoredModel:
    id: int
    created: str
    version: str
    training_digest: str
    codebook_digest: str
    summary: dict[str, object]


def list_models(project: Project) -> list[StoredModel]:
    return [
        StoredModel(
            m.id, m.created, m.version, m.training_digest, m.codebook_digest, json.loads(m.summary)
        )
        for m in project.store.models.all()
    ]


_RETRAIN_HINT = "retrain with 'qualcode train' (the damaged model is then no longer used)"


@dataclass(frozen=True)
class ModelPredictions:
    model_id: int
    codes: list[str]
    thresholds: dict[str, float]
    probabilities: np.ndarray  # (segments, codes)


def predict_with_latest(project: Project, texts: Sequence[str]) -> ModelPredictions | None:
    """Calibrated probabilities of the newest stored model, or None if there is none."""
    from qualcode.classify import ModelError, SegmentClassifier

    stored = project.store.models.model_data()
    if stored is None:
        return None
    model_id = stored.id
    try:
        model, extra = SegmentClassifier.from_bytes(stored.data)
        summary = json.loads(stored.summary)
        codes = [str(c) for c in extra["codes"]]
        thresholds = {k: float(v) for k, v in summary["thresholds"].items()}
    except ModelError as exc:
        raise ModelError(f"model {model_id}: {exc.message}", exc.hint or _RETRAIN_HINT) from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelError(f"model {model_id}: damaged summary ({exc!r})", _RETRAIN_HINT) from None
    probs = model.predict_proba(list(texts)) if texts else np.zeros((0, len(codes)))
    return ModelPredictions(model_id, codes, thresholds, probs)


@dataclass(frozen=True)
class EvalRow:
    code: str
    support: int
    rules: tuple[float, float, float]  # precision, recall, F1
    model: tuple[float, float, float] | None
    both: tuple[float, float, float]


@dataclass(frozen=True)
class EvaluationReport:
    segments: int
    documents: int
    folds: int
    rows: tuple[EvalRow, ...]
    micro: dict[str, tuple[float, float, float]]
    macro: dict[str, tuple[float, float, float]]


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return round(p, 3), round(r, 3), round(f, 3)


def evaluate(
    project: Project,
    *,
    min_examples: int = DEFAULT_MIN_EXAMPLES,
    target_precision: float = DEFAULT_TARGET_PRECISION,
    folds: int = DEFAULT_FOLDS,
    progress: Progress | None = None,
) -> EvaluationReport:
    """Rules alone, model alone (held-out documents) and both, against accepted codings."""
    from qualcode.workflow._analysis import load_project_codebook, rule_matches

    codebook = load_project_codebook(project)
    data = training_set(project, codebook, min_examples)
    n_docs = len(set(data.documents))
    if n_docs < 2:
        raise QualcodeError("evaluation needs at least 2 reviewed documents")
    folds = min(folds, n_docs)
    store = project.store
    accepted = store.decisions.accepted_pairs()
    index = {sid: i for i, sid in enumerate(data.segment_ids)}
    gold = {(sid, c) for sid, c in accepted if sid in index}
    rules = {(sid, c) for sid, c in rule_matches(project, codebook, data.segment_ids)}
    model_pairs: set[tuple[str, str]] = set()
    if data.codes:
        from qualcode.classify import apply_platt, fit_platt
        from qualcode.workflow._analysis import prime_project_analyses

        analyzer = prime_project_analyses(project, data.texts)
        decisions, _, _ = _out_of_fold(data, folds, analyzer, progress)
        probs = apply_platt(decisions, fit_platt(decisions, data.y))
        for k, code in enumerate(data.codes):
            threshold, reached = choose_threshold(probs[:, k], data.y[:, k], target_precision)
            if not reached:  # as in 'tag': such a code gets no model suggestions
                continue
            for i in np.nonzero(probs[:, k] >= threshold)[0]:
                model_pairs.add((data.segment_ids[i], code))
    codes = sorted(
        {c for _, c in gold | rules | model_pairs},
        key=lambda c: [x.id for x in codebook.codes].index(c) if c in codebook else 10**6,
    )
    rows = []
    totals = {name: [0, 0, 0] for name in ("rules", "model", "both")}
    per_code: dict[str, list[tuple[float, float, float]]] = {n: [] for n in totals}
    for code in codes:
        g = {s for s, c in gold if c == code}
        results: dict[str, tuple[float, float, float]] = {}
        for name, predicted in (
            ("rules", {s for s, c in rules if c == code}),
            ("model", {s for s, c in model_pairs if c == code}),
            ("both", {s for s, c in rules | model_pairs if c == code}),
        ):
            tp, fp, fn = len(g & predicted), len(predicted - g), len(g - predicted)
            totals[name][0] += tp
            totals[name][1] += fp
            totals[name][2] += fn
            results[name] = _prf(tp, fp, fn)
            if name != "model" or code in data.codes:
                per_code[name].append(results[name])
        rows.append(
            EvalRow(
                code,
                len(g),
                results["rules"],
                results["model"] if code in data.codes else None,
                results["both"],
            )
        )
    micro = {n: _prf(*t) for n, t in totals.items()}
    macro: dict[str, tuple[float, float, float]] = {}
    for name, vals in per_code.items():
        means = [round(float(np.mean([v[i] for v in vals])), 3) if vals else 0.0 for i in range(3)]
        macro[name] = (means[0], means[1], means[2])
    return EvaluationReport(len(data.segment_ids), n_docs, folds, tuple(rows), micro, macro)
