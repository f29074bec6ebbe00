"""The cold tag's fast paths give exactly what the straightforward ones give.

The analysis workers also work out each new form's index keys and, when the review CSV will be
pseudonymised, whether a registry name may start from the form (asking Voikko once for both). These tests
compare the stored analyses, the form-key index and the pseudonymised review CSV with the
straightforward path: keys worked out in the parent, and a pseudonymiser that analyses every
form itself.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.svm import LinearSVC

import qualcode.classify as classify
import qualcode.pseudonymise as pseudonymise
import qualcode.workflow.tagging as tagging
from conftest import REPO, SAMPLE
from qualcode.analysis import get_analyzer
from qualcode.cli import cli
from qualcode.project import init_project, open_project
from qualcode.workflow import tag
from qualcode.workflow.training import TrainReport, train

CODEBOOK = REPO / "codebooks" / "innovaatioekosysteemi.yaml"
FORMS = [
    "Kosken",
    "Leenan",
    "Mäki-Petäjä",
    "Hypatia-niminen",
    "Kehitys",
    "Oy:n",
    "AMK:ssa",
    "TKI-hankkeessa",
    "kaupunginjohtaja",
    "Ilveskelo",
    "lopulta",
    "yhteistyö",
    "-",
    "Salossa",
]


def run(project: Path, *args: object) -> str:
    result = CliRunner().invoke(cli, ["--project", str(project), *map(str, args)])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample corpus imported, with detected names in the registry (not tagged)."""
    root = tmp_path_factory.mktemp("speed") / "proj"
    init_project(root, coder="tutkija", codebook=CODEBOOK)
    run(root, "import", SAMPLE)
    run(root, "names", "detect")
    return root


@pytest.fixture
def fresh_morphology() -> Iterator[None]:
    """Each tag starts with an empty name-detection cache, as a new process does."""
    saved = pseudonymise._MORPHOLOGY
    pseudonymise._MORPHOLOGY = None
    pseudonymise._PRIMED.clear()
    yield
    pseudonymise._MORPHOLOGY = saved
    pseudonymise._PRIMED.clear()


def tag_copy(imported: Path, folder: Path) -> tuple[bytes, list[tuple[object, ...]]]:
    """Cold-tag a copy of the project: (review CSV bytes, analyses + form-key rows)."""
    root = folder / "proj"
    shutil.copytree(imported, root)
    out = folder / "review.csv"
    project = open_project(root)
    try:
        tag(project, out=out, use_model=False)
    finally:
        project.close()
    conn = sqlite3.connect(root / "qualcode.db")
    try:
        rows = [
            ("a", *r)
            for r in conn.execute("SELECT analyzer, form, data FROM analyses ORDER BY 1, 2")
        ]
        rows += [
            ("k", *r)
            for r in conn.execute(
                "SELECT f.form, k.key, k.exact FROM form_keys k JOIN forms f ON f.id = k.form_id "
                "ORDER BY 1, 2, 3"
            )
        ]
    finally:
        conn.close()
    return out.read_bytes(), rows


@pytest.mark.parametrize("workers", ["in-process", "pool"])
def test_cold_tag_equals_the_straightforward_path(
    imported: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_morphology: None,
    workers: str,
) -> None:
    if workers == "pool":
        monkeypatch.setattr(tagging, "_PARALLEL_MIN_FORMS", 1)  # the sample has ~3,000 forms
    fast_csv, fast_rows = tag_copy(imported, tmp_path / "fast")
    assert len(next(iter(pseudonymise._PRIMED.values()))[0]) > 1000  # the tag's forms

    # The reference: no start forms from the analysis, and keys worked out in the parent.
    pseudonymise._MORPHOLOGY = None
    pseudonymise._PRIMED.clear()
    monkeypatch.setattr(tagging, "_PARALLEL_MIN_FORMS", 10**9)
    monkeypatch.setattr(tagging, "_will_pseudonymise", lambda *_: None)

    monkeypatch.setattr(tagging, "index_forms", _index_forms_in_parent)
    ref_csv, ref_rows = tag_copy(imported, tmp_path / "reference")

    assert fast_rows == ref_rows
    assert fast_csv == ref_csv
    # The CSV really was pseudonymised: the registry's pseudonyms are in it.
    project = open_project(imported)
    try:
        from qualcode.workflow.names import registry

        pseudonyms = {e.pseudonym for e in registry(project) if e.action == "pseudonymise"}
    finally:
        project.close()
    text = fast_csv.decode("utf-8-sig")
    assert sum(p in text for p in pseudonyms) >= 3


def _index_forms_in_parent(
    project: object,
    analyzer: object,
    forms: list[tuple[int, str]],
    progress: object = None,
    *,
    names: bool = False,
) -> int:
    """index_forms as it was: analyse in the parent, keys from the stored JSON."""
    import json

    from qualcode.analysis import Analysis
    from qualcode.match import form_keys

    store = project.store  # type: ignore[attr-defined]
    key = tagging.analyzer_key(analyzer)  # type: ignore[arg-type]
    texts = [f for _, f in forms]
    cached = store.analysis.cached_analyses(key, texts)
    missing = [f for f in texts if f not in cached]
    results = analyzer.analyze(missing)  # type: ignore[attr-defined]
    fresh = {
        f: json.dumps([a.as_json() for a in r], ensure_ascii=False)
        for f, r in zip(missing, results, strict=True)
    }
    store.analysis.store_analyses(key, fresh.items())
    rows = []
    for form_id, form in forms:
        keys = form_keys(Analysis.from_json(a) for a in json.loads(cached.get(form) or fresh[form]))
        rows.extend((k, form_id, 1 if k in keys.lemmas else 0) for k in keys.parts)
    store.analysis.store_form_keys(tagging.index_key(analyzer), rows)  # type: ignore[arg-type]
    return len(missing)


def test_start_forms_equal_the_matchers_own_test(fresh_morphology: None) -> None:
    entries = [
        pseudonymise.RegistryEntry("Leena Koski", "person", "pseudonymise", "Henkilö A", ()),
        pseudonymise.RegistryEntry("Kehitys Oy", "org", "pseudonymise", "Yritys A", ()),
        pseudonymise.RegistryEntry("Hypatia", "person", "pseudonymise", "Henkilö B", ()),
        pseudonymise.RegistryEntry("Salo", "place", "ignore", "", ()),
    ]
    keys = pseudonymise.start_keys(entries)
    analyzer = get_analyzer("voikko.v1")
    own_voikko = analyzer._voikko  # type: ignore[attr-defined]
    readings: list[object] = []
    starts = pseudonymise.may_start_forms(
        FORMS, keys, lambda: readings.extend(analyzer.analyze(FORMS)), analyzer
    )
    # The analyzer's answers do not change for sharing Voikko, and it gets its own back.
    assert readings == analyzer.analyze(FORMS)
    assert analyzer._voikko is own_voikko  # type: ignore[attr-defined]
    # The reference: a matcher on a fresh morphology that analyses every form itself.
    reference = pseudonymise._Matcher(entries, pseudonymise._Morphology())
    assert starts == [f for f in FORMS if reference._may_start(f)]
    assert set(starts) >= {"Kosken", "Leenan", "Kehitys", "Hypatia-niminen", "Salossa"}
    assert "yhteistyö" not in starts and "lopulta" not in starts
    # A primed matcher answers from the tag's work, and only for its own keys.
    pseudonymise.prime_start_forms(keys, FORMS, starts)
    primed = pseudonymise._Matcher(entries, pseudonymise._morphology())
    assert primed._starts == {f: f in starts for f in FORMS}
    other = pseudonymise._Matcher(entries[:1], pseudonymise._morphology())
    assert other._starts == {}
    # word_keys are the keys of the whole word, cached or not.
    morph = pseudonymise._Morphology()
    assert [morph.word_keys(f) for f in FORMS] == [morph.word(f).keys for f in FORMS]
    assert [morph.word_keys(f) for f in FORMS] == [morph.word(f).keys for f in FORMS]


# --- Training ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reviewed(imported: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample corpus tagged and reviewed with the sample decisions."""
    root = tmp_path_factory.mktemp("speed-train") / "proj"
    shutil.copytree(imported, root)
    run(root, "tag")
    run(root, "review", SAMPLE / "review-decisions.csv")
    return root


def train_copy(reviewed: Path, folder: Path) -> tuple[TrainReport, bytes]:
    root = folder / "proj"
    shutil.copytree(reviewed, root)
    project = open_project(root)
    try:
        report = train(project, folds=3, min_examples=3)
        stored = project.store.models.model_data()
        assert stored is not None
        return report, stored.data
    finally:
        project.close()


def test_training_equals_the_straightforward_path_and_is_deterministic(
    reviewed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    classify._Resources.vectors.clear()
    fast, fast_model = train_copy(reviewed, tmp_path / "fast")
    again, again_model = train_copy(reviewed, tmp_path / "again")
    assert again_model == fast_model  # deterministic, byte for byte
    assert again == fast

    # The reference: one vector lookup per word, every per-code fit in this process, and the
    # float32 matrix handed to each fit (which converts it itself), as before.
    classify._Resources.vectors.clear()
    monkeypatch.setattr(classify._Resources, "prefetch", classmethod(lambda cls, words: None))
    monkeypatch.setattr(classify, "_workers", lambda tasks, rows: 1)

    class Float32SVC(LinearSVC):  # type: ignore[misc]
        def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
            return super().fit(X.astype(np.float32), y, sample_weight=sample_weight)

    monkeypatch.setattr(classify, "LinearSVC", Float32SVC)
    reference, reference_model = train_copy(reviewed, tmp_path / "reference")
    assert fast.scores == reference.scores
    assert (fast.micro_f1, fast.macro_f1) == (reference.micro_f1, reference.macro_f1)
    assert fast_model == reference_model
    assert len(fast.scores) >= 3 and fast.micro_f1 > 0


def test_parallel_fits_equal_sequential_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [
        f"{w} {v} numero {i}"
        for i, (w, v) in enumerate(
            [
                ("yhteistyö", "kaupungin kanssa"),
                ("rahoitus", "hankkeelle"),
                ("asuminen", "on kallista"),
            ]
            * 40
        )
    ]
    y = np.array([[i % 3 == k for k in range(4)] for i in range(len(texts))], dtype=np.int8)
    y[:, 3] = np.arange(len(texts)) % 2
    sequential = classify.SegmentClassifier(vector_weight=0.0).fit(texts, y).to_bytes()
    monkeypatch.setattr(classify, "_workers", lambda tasks, rows: 2)
    parallel = classify.SegmentClassifier(vector_weight=0.0).fit(texts, y).to_bytes()
    assert parallel == sequential


def test_batched_vectors_equal_single_lookups() -> None:
    words = sorted(
        {
            *(f.lower() for f in FORMS),
            "kaupunginjohtaja",
            "yhteistyössämme",
            "äänestää",
            "öljy",
            "åbo",
            "tki-hanke",
            "2026",
            "x",
        }
    )
    classify._Resources.vectors.clear()
    single = [classify._Resources.vector(w).copy() for w in words]
    classify._Resources.vectors.clear()
    classify._Resources.prefetch(words)
    assert set(words) <= set(classify._Resources.vectors)
    assert all(
        np.array_equal(classify._Resources.vectors[w], v)
        for w, v in zip(words, single, strict=True)
    )
    assert all(v.dtype == np.float32 and v.shape == (300,) for v in single)
