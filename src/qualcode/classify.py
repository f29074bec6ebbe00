"""The scikit-learn suggester: Finnish-aware features, calibrated per-code probabilities.

Features, each measured to help on SIB-200 Finnish (see README):

- character 2-5-grams (TF-IDF), robust to inflection and spoken spellings;
- lemmas and compound-member runs from the language-analysis layer (TF-IDF), so
  ``oppilaitosyhteistyössämme`` shares features with ``yhteistyö`` and ``oppilaitos``;
- the spaCy Finnish pipeline's floret word vectors, averaged over word forms and over compound
  members, so that different words for the same thing land close together.

``SegmentClassifier`` follows the scikit-learn estimator contract. Its fitted state is plain
arrays and vocabularies, saved with ``to_bytes`` as an ``.npz`` archive plus JSON and loaded
with ``allow_pickle=False``: loading a model can never run code.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from qualcode.analysis import get_analyzer
from qualcode.analysis.spacy_fi import MODEL_PACKAGE, load_pipeline
from qualcode.analysis.tokens import tokenize
from qualcode.errors import QualcodeError
from qualcode.match import FormKeys, form_keys

FORMAT = "qualcode-classifier/1"
_VECTOR_DIM = 300
_MAX_CHAR_FEATURES = 200_000
_MAX_LEMMA_FEATURES = 100_000
ORTH_ATTR = 65  # spacy.attrs.ORTH: the vectors are keyed by the word as written


class ModelError(QualcodeError):
    """A stored model cannot be loaded (wrong format, damaged, or not a qualcode model)."""


class _Resources:
    """Process-wide caches: analyses and vectors per word form, the vector table."""

    keys: ClassVar[dict[str, dict[str, FormKeys]]] = {}
    vectors: ClassVar[dict[str, np.ndarray]] = {}
    vocab: ClassVar[Any] = None

    @classmethod
    def form_keys(cls, analyzer: str, forms: Sequence[str]) -> dict[str, FormKeys]:
        cache = cls.keys.setdefault(analyzer, {})
        missing = sorted({f for f in forms if f not in cache})
        if missing:
            for form, readings in zip(
                missing, get_analyzer(analyzer).analyze(missing), strict=True
            ):
                cache[form] = form_keys(readings)
        return cache

    @classmethod
    def prefetch(cls, words: Iterable[str]) -> None:
        """Look up the vectors of many words at once: one ``get_batch`` call, without the
        lexeme that ``Vocab.get_vector`` makes for every word (a third of its time)."""
        missing = sorted({w for w in words if w and w not in cls.vectors})
        if not missing:
            return
        cls.vector(missing[0])  # loads the table (or raises) as a single lookup would
        vectors = cls.vocab.vectors
        if getattr(vectors, "attr", None) != ORTH_ATTR or not hasattr(vectors, "get_batch"):
            return  # keyed by another attribute: single lookups give the right answer
        batches = _floret_batches(vectors, missing) or (
            (chunk, vectors.get_batch(chunk)) for chunk in _chunks(missing, _BATCH_WORDS)
        )
        for chunk, found in batches:
            batch = np.asarray(found, dtype=np.float32)
            if batch.shape != (len(chunk), _VECTOR_DIM):
                return
            for word, row in zip(chunk, batch, strict=True):
                cls.vectors.setdefault(word, row)

    @classmethod
    def vector(cls, word: str) -> np.ndarray:
        v = cls.vectors.get(word)
        if v is None:
            if cls.vocab is None:
                try:
                    cls.vocab = load_pipeline(
                        exclude=[
                            "tok2vec",
                            "tagger",
                            "morphologizer",
                            "parser",
                            "attribute_ruler",
                            "lemmatizer",
                            "ner",
                        ],
                    ).vocab
                except Exception as exc:  # the model package is missing
                    raise QualcodeError(
                        f"word vectors unavailable ({exc})",
                        f"install {MODEL_PACKAGE}, or use vector_weight=0",
                    ) from None
            v = np.asarray(cls.vocab.get_vector(word), dtype=np.float32)
            if v.shape != (_VECTOR_DIM,):
                v = np.zeros(_VECTOR_DIM, dtype=np.float32)
            cls.vectors[word] = v
        return v


# A floret batch gathers every n-gram row of its words (about 40 rows of 1.2 kB a word):
# a thousand words at a time keep that to some 50 MB.
_BATCH_WORDS = 1000


def _chunks(words: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(words), size):
        yield words[i : i + size]


def _floret_batches(vectors: Any, words: list[str]) -> Iterator[tuple[list[str], Any]] | None:
    """``Vectors.get_batch`` for floret vectors, with each n-gram hashed once for all words.

    The same n-gram rows and the same ``reduce_mean`` as spaCy's own ``get_batch`` (so the
    same vectors, bit for bit); its n-gram hashing in Python is most of its time, and words
    share most of their n-grams. None when the table is not floret or spaCy's helpers moved.
    """
    get_ngrams = getattr(vectors, "_get_ngrams", None)
    get_hashes = getattr(vectors, "_get_ngram_hashes", None)
    if getattr(vectors, "mode", None) != "floret" or get_ngrams is None or get_hashes is None:
        return None
    try:
        from thinc.backends import get_array_ops
    except ImportError:
        return None
    data = vectors.data
    ops = get_array_ops(data)  # type: ignore[no-untyped-call]
    n_rows = data.shape[0]
    memo: dict[str, list[int]] = {}

    def batches() -> Iterator[tuple[list[str], Any]]:
        for chunk in _chunks(words, _BATCH_WORDS):
            indices: list[int] = []
            lengths: list[int] = []
            for word in chunk:
                start = len(indices)
                for ngram in get_ngrams(word):
                    rows = memo.get(ngram)
                    if rows is None:
                        rows = memo[ngram] = [h % n_rows for h in get_hashes(ngram)]
                    indices.extend(rows)
                lengths.append(len(indices) - start)
            index = ops.asarray(indices, dtype="int32")
            mean = ops.reduce_mean(data[index], ops.asarray(lengths, dtype="int32"))
            yield chunk, ops.as_contig(mean)

    return batches()


def prime_analyses(analyzer: str, keys: Mapping[str, FormKeys]) -> None:
    """Hand over analyses that are already known (the project's cache) to avoid redoing them."""
    _Resources.keys.setdefault(analyzer, {}).update(keys)


class _Featurizer:
    """Texts -> one sparse matrix of [char n-grams | lemmas+members | vectors]."""

    def __init__(
        self, char_ngrams: tuple[int, int], lemma_weight: float, vector_weight: float, analyzer: str
    ) -> None:
        self.char_ngrams = char_ngrams
        self.lemma_weight = lemma_weight
        self.vector_weight = vector_weight
        self.analyzer = analyzer
        # Vocabulary caps keep a corpus-scale model (and its stored arrays) to a bounded size;
        # they never bind on a few thousand segments.
        self.char = TfidfVectorizer(
            max_features=_MAX_CHAR_FEATURES,
            analyzer="char_wb",
            ngram_range=char_ngrams,
            sublinear_tf=True,
            dtype=np.float32,
        )
        self.lemma = TfidfVectorizer(
            max_features=_MAX_LEMMA_FEATURES,
            analyzer=str.split,
            token_pattern=None,
            sublinear_tf=True,
            dtype=np.float32,
        )

    def _tokens(self, texts: Sequence[str]) -> list[list[str]]:
        return [[t.form for t in tokenize(x)] for x in texts]

    def _lemma_docs(self, tokens: list[list[str]]) -> list[str]:
        keys = _Resources.form_keys(self.analyzer, [f for doc in tokens for f in doc])
        return [" ".join(k for f in doc for k in sorted(keys[f].parts)) for doc in tokens]

    def _vectors(self, tokens: list[list[str]]) -> np.ndarray:
        keys = _Resources.form_keys(self.analyzer, [f for doc in tokens for f in doc])
        out = np.zeros((len(tokens), 2 * _VECTOR_DIM), dtype=np.float32)
        _Resources.prefetch(
            {f.lower() for doc in tokens for f in doc}
            | {p for doc in tokens for f in set(doc) for p in keys[f].parts}
        )
        for i, doc in enumerate(tokens):
            if not doc:
                continue
            forms = np.mean([_Resources.vector(f.lower()) for f in doc], axis=0)
            parts = np.mean(
                [_Resources.vector(p) for f in doc for p in sorted(keys[f].parts)], axis=0
            )
            out[i] = np.concatenate([_unit(forms), _unit(parts)])
        return out

    def fit_transform(self, texts: Sequence[str]) -> csr_matrix:
        return self._features(texts, fit=True)

    def transform(self, texts: Sequence[str]) -> csr_matrix:
        return self._features(texts, fit=False)

    def _features(self, texts: Sequence[str], *, fit: bool) -> csr_matrix:
        tokens = self._tokens(texts)
        char = self.char.fit_transform if fit else self.char.transform
        lemma = self.lemma.fit_transform if fit else self.lemma.transform
        blocks = [char(texts), lemma(self._lemma_docs(tokens)) * self.lemma_weight]
        if self.vector_weight:
            blocks.append(csr_matrix(self._vectors(tokens) * self.vector_weight))
        return hstack(blocks).tocsr()

    # --- safe state ---------------------------------------------------------------------------
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {
            "char_vocabulary": _ordered_vocabulary(self.char.vocabulary_),
            "lemma_vocabulary": _ordered_vocabulary(self.lemma.vocabulary_),
        }
        arrays = {
            "char_idf": self.char.idf_.astype(np.float64),
            "lemma_idf": self.lemma.idf_.astype(np.float64),
        }
        return meta, arrays

    def load_state(self, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        for vectorizer, name in ((self.char, "char"), (self.lemma, "lemma")):
            vocabulary = {term: i for i, term in enumerate(meta[f"{name}_vocabulary"])}
            idf = np.asarray(arrays[f"{name}_idf"], dtype=np.float64)
            if idf.shape != (len(vocabulary),):
                raise ModelError(f"damaged model: {name} vocabulary and weights disagree")
            vectorizer.vocabulary = vocabulary
            vectorizer.vocabulary_ = vocabulary
            vectorizer.idf_ = idf
            vectorizer.fixed_vocabulary_ = True


def _npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """An .npz archive with fixed timestamps, so that the same model gives the same bytes."""
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as handle:
                np.lib.format.write_array(
                    handle, np.ascontiguousarray(arrays[name]), allow_pickle=False
                )
    return buffer.getvalue()


def _unit(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm else v


def _ordered_vocabulary(vocabulary: Mapping[str, int]) -> list[str]:
    out = [""] * len(vocabulary)
    for term, i in vocabulary.items():
        out[i] = term
    return out


def _workers(tasks: int, rows: int) -> int:
    """Processes for the per-code fits: only worth starting for larger training sets."""
    import os

    # Each fit seeds liblinear itself, so the processes give exactly the sequential result.
    if rows < 1000 or tasks < 4:
        return 1
    return max(1, min(tasks, os.cpu_count() or 1, 4))


def _fit_column(
    features: csr_matrix,
    column: np.ndarray,
    weights: np.ndarray | None,
    C: float,
    random_state: int,
) -> tuple[np.ndarray | None, float]:
    if column.min() == column.max():  # one class only: a constant, not an SVM
        return None, 1.0 if column[0] else -1.0
    svm = LinearSVC(C=C, random_state=random_state, dual="auto", max_iter=5000)
    svm.fit(features, column, sample_weight=weights)
    return svm.coef_[0], float(svm.intercept_[0])


def fit_platt(decisions: np.ndarray, indicator: np.ndarray) -> np.ndarray:
    """Per-column Platt scaling parameters (slope, intercept) from held-out decision values."""
    from sklearn.linear_model import LogisticRegression

    params = np.zeros((decisions.shape[1], 2), dtype=np.float64)
    for k in range(decisions.shape[1]):
        y = indicator[:, k]
        if y.min() == y.max():
            params[k] = (0.0, 10.0 if y[0] else -10.0)
            continue
        lr = LogisticRegression(C=1.0).fit(decisions[:, k : k + 1], y)
        params[k] = (lr.coef_[0, 0], lr.intercept_[0])
    return params


def apply_platt(decisions: np.ndarray, params: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-(decisions * params[:, 0] + params[:, 1]))))


class SegmentClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Linear SVMs over Finnish features; one-vs-rest, multi-label or single-label.

    ``y`` may be a 1-D array of labels (single-label: ``predict`` returns labels) or a 2-D 0/1
    indicator matrix (multi-label: one column per code). ``calibrate`` fits Platt scaling on
    held-out decision values so that ``predict_proba`` gives one calibrated probability per
    class.
    """

    def __init__(
        self,
        *,
        C: float = 1.0,
        char_ngrams: tuple[int, int] = (2, 5),
        lemma_weight: float = 1.0,
        vector_weight: float = 1.0,
        analyzer: str = "voikko.v1",
        random_state: int = 0,
    ) -> None:
        self.C = C
        self.char_ngrams = char_ngrams
        self.lemma_weight = lemma_weight
        self.vector_weight = vector_weight
        self.analyzer = analyzer
        self.random_state = random_state

    def new_featurizer(self) -> _Featurizer:
        """An unfitted featurizer with this model's feature parameters; ``fit_features`` takes
        one fitted on all rows, so cross-validation folds can share a single featurization."""
        low, high = self.char_ngrams
        return _Featurizer((low, high), self.lemma_weight, self.vector_weight, self.analyzer)

    def fit(self, X: Sequence[str], y: Any, sample_weight: Any = None) -> SegmentClassifier:
        featurizer = self.new_featurizer()
        return self.fit_features(featurizer, featurizer.fit_transform(list(X)), y, sample_weight)

    def fit_features(
        self, featurizer: _Featurizer, features: csr_matrix, y: Any, sample_weight: Any = None
    ) -> SegmentClassifier:
        """Fit on rows already featurized by ``featurizer`` (cross-validation folds share one
        featurization: the vocabulary is learnt without labels, so no label leaks)."""
        target = np.asarray(y)
        self.featurizer_ = featurizer
        if target.ndim == 1:
            self.multilabel_ = False
            self.classes_ = np.array(sorted(set(target.tolist())))
            indicator = (target[:, None] == self.classes_[None, :]).astype(np.int8)
        else:
            self.multilabel_ = True
            self.classes_ = np.arange(target.shape[1])
            indicator = target.astype(np.int8)
        # Once here, not inside every LinearSVC.fit below: liblinear wants sorted float64 rows,
        # and each fit would otherwise copy the matrix to get them (the same coefficients).
        features = features.tocsr().astype(np.float64)
        features.sort_indices()
        n_features = features.shape[1]
        self.coef_ = np.zeros((len(self.classes_), n_features), dtype=np.float64)
        self.intercept_ = np.zeros(len(self.classes_), dtype=np.float64)
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)

        columns = [indicator[:, k] for k in range(len(self.classes_))]
        column_weights = [
            weights[:, k] if weights is not None and weights.ndim == 2 else weights
            for k in range(len(self.classes_))
        ]
        jobs = _workers(len(columns), features.shape[0])
        if jobs > 1:
            # Separate processes: liblinear seeds a process-global C random generator, so
            # threads would make the fits depend on scheduling (and the model on chance).
            from joblib import Parallel, delayed

            results = Parallel(n_jobs=jobs, backend="loky")(
                delayed(_fit_column)(features, c, w, self.C, self.random_state)
                for c, w in zip(columns, column_weights, strict=True)
            )
        else:
            results = [
                _fit_column(features, c, w, self.C, self.random_state)
                for c, w in zip(columns, column_weights, strict=True)
            ]
        for k, (coef, intercept) in enumerate(results):
            if coef is not None:
                self.coef_[k] = coef
            self.intercept_[k] = intercept
        self.calibration_: np.ndarray | None = None
        return self

    def _check(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError("this SegmentClassifier is not fitted yet; call fit first")

    def decision_function(self, X: Sequence[str]) -> np.ndarray:
        self._check()
        features = self.featurizer_.transform(list(X))
        return np.asarray(features @ self.coef_.T + self.intercept_)

    def predict(self, X: Sequence[str]) -> np.ndarray:
        scores = self.decision_function(X)
        if self.multilabel_:
            return (scores > 0).astype(np.int8)
        return np.asarray(self.classes_[np.argmax(scores, axis=1)])

    def calibrate(self, decisions: np.ndarray, indicator: np.ndarray) -> SegmentClassifier:
        """Platt scaling per class from held-out decision values (e.g. cross-validation)."""
        self._check()
        self.calibration_ = fit_platt(decisions, indicator)
        return self

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        if getattr(self, "calibration_", None) is None:
            raise NotFittedError("predict_proba needs calibrate() first")
        assert self.calibration_ is not None
        return apply_platt(self.decision_function(X), self.calibration_)

    # --- safe persistence ---------------------------------------------------------------------
    def to_bytes(self, extra: Mapping[str, Any] | None = None) -> bytes:
        """The fitted model as an ``.npz`` archive of numeric arrays plus a JSON header."""
        self._check()
        meta, arrays = self.featurizer_.state()
        header = {
            "format": FORMAT,
            "params": {
                k: (list(v) if isinstance(v, tuple) else v) for k, v in self.get_params().items()
            },
            "multilabel": bool(self.multilabel_),
            "classes": [c.item() if hasattr(c, "item") else c for c in self.classes_],
            "extra": dict(extra or {}),
            **meta,
        }
        arrays = {
            **arrays,
            "coef": self.coef_.astype(np.float32),
            "intercept": self.intercept_,
            "header": np.frombuffer(
                json.dumps(header, ensure_ascii=False).encode("utf-8"), dtype=np.uint8
            ),
        }
        if self.calibration_ is not None:
            arrays["calibration"] = self.calibration_
        return _npz_bytes(arrays)

    @classmethod
    def from_bytes(cls, data: bytes) -> tuple[SegmentClassifier, dict[str, Any]]:
        """Load a model saved by ``to_bytes``; never unpickles (object arrays are refused)."""
        from qualcode.errors import ArchiveError
        from qualcode.safezip import ZipLimits, check_zip

        try:
            # A project may come from someone else: size the archive before numpy inflates it.
            # Weight matrices are mostly zeros, so they may legitimately compress far past 200:1.
            if data[:2] == b"PK":  # anything else is refused by np.load below
                check_zip(data, ZipLimits(max_total_size=2 * 1024**3, max_ratio=100_000))
        except ArchiveError as exc:
            raise ModelError(f"the stored model is not a qualcode model ({exc.problem})") from None
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
        except ValueError:  # pickled data (a pickle, or object arrays): refused, never run
            raise ModelError(
                "refusing to load the stored model: it contains pickled Python objects, "
                "which could run code",
                "retrain with 'qualcode train'; never copy model data from untrusted projects",
            ) from None
        except Exception as exc:  # not a zip/npz at all
            raise ModelError(f"the stored model is not a qualcode model ({exc})") from None
        try:
            header = json.loads(bytes(arrays.pop("header")).decode("utf-8"))
        except (KeyError, ValueError, UnicodeDecodeError):
            raise ModelError("the stored model has no valid header") from None
        if header.get("format") != FORMAT:
            raise ModelError(f"unknown model format {header.get('format')!r}")
        try:
            params = header["params"]
            params["char_ngrams"] = tuple(params["char_ngrams"])
            model = cls(**params)
            model.featurizer_ = model.new_featurizer()
            model.featurizer_.load_state(header, arrays)
            model.multilabel_ = bool(header["multilabel"])
            model.classes_ = np.array(header["classes"])
            model.coef_ = np.asarray(arrays["coef"], dtype=np.float64)
            model.intercept_ = np.asarray(arrays["intercept"], dtype=np.float64)
            model.calibration_ = arrays.get("calibration")
            extra = header["extra"]
        except KeyError as exc:  # a valid header whose arrays or fields are missing
            raise ModelError(f"damaged model: {exc.args[0]!r} is missing") from None
        except (TypeError, ValueError) as exc:
            raise ModelError(f"damaged model: {exc}") from None
        n_features = (
            len(header["char_vocabulary"])
            + len(header["lemma_vocabulary"])
            + (2 * _VECTOR_DIM if model.vector_weight else 0)
        )
        if model.coef_.shape != (len(model.classes_), n_features):
            raise ModelError("damaged model: weights do not fit the vocabulary")
        return model, extra
