"""SegmentClassifier: the scikit-learn contract, Finnish features, safe persistence."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from conftest import REPO
from qualcode.classify import ModelError, SegmentClassifier

TRAIN = [
    ("Lääkäri tutki potilaan sairaalassa.", "terveys"),
    ("Sairaala palkkasi uuden lääkärin.", "terveys"),
    ("Potilas sai hoitoa terveyskeskuksessa.", "terveys"),
    ("Rokote suojaa taudilta.", "terveys"),
    ("Lääkkeet ja hoito paransivat potilaan.", "terveys"),
    ("Joukkue voitti ottelun maalilla.", "urheilu"),
    ("Pelaaja teki kaksi maalia ottelussa.", "urheilu"),
    ("Jalkapallo-ottelu päättyi tasapeliin.", "urheilu"),
    ("Valmentaja kehui joukkueen peliä.", "urheilu"),
    ("Kisat järjestetään stadionilla.", "urheilu"),
    ("Yritys sai rahoitusta investointiin.", "talous"),
    ("Pankki myönsi yritykselle lainan.", "talous"),
    ("Investoinnit kasvattivat yrityksen liikevaihtoa.", "talous"),
    ("Sijoittajat rahoittivat uuden tehtaan.", "talous"),
    ("Yrityksen tulos parani ja voitto kasvoi.", "talous"),
]
# Inflected and compound forms that never occur in training.
TEST = [
    ("Lääkäreille tuli lisää potilaita sairaalahoitoon.", "terveys"),
    ("Joukkueet pelasivat jalkapallo-ottelun.", "urheilu"),
    ("Yrityksille tarjotaan investointirahoitusta.", "talous"),
]
texts = [t for t, _ in TRAIN]
labels = np.array([y for _, y in TRAIN])


def test_estimator_contract() -> None:
    model = SegmentClassifier(C=0.5, vector_weight=0.0)
    assert model.get_params()["C"] == 0.5
    assert clone(model).get_params() == model.get_params()
    with pytest.raises(
        NotFittedError, match=r"^this SegmentClassifier is not fitted yet; call fit first$"
    ):
        model.predict(["hei"])
    assert model.fit(texts, labels) is model
    assert list(model.classes_) == ["talous", "terveys", "urheilu"]
    assert model.coef_.shape[0] == 3


def test_learns_finnish_topics_across_inflection_and_compounds() -> None:
    model = SegmentClassifier().fit(texts, labels)
    predicted = model.predict([t for t, _ in TEST])
    assert list(predicted) == [y for _, y in TEST]


def test_multilabel_with_calibrated_probabilities() -> None:
    y = np.array([[yy == "terveys", yy == "talous"] for yy in labels], dtype=int)
    model = SegmentClassifier().fit(texts, y)
    decisions = model.decision_function(texts)
    model.calibrate(decisions, y)
    probs = model.predict_proba([t for t, _ in TEST])
    assert probs.shape == (3, 2)
    assert np.all((probs >= 0) & (probs <= 1))
    assert probs[0, 0] > 0.5 > probs[0, 1]  # health, not economy
    assert probs[2, 1] > 0.5 > probs[2, 0]


def test_training_is_deterministic_and_saves_identical_bytes() -> None:
    a = SegmentClassifier().fit(texts, labels)
    b = SegmentClassifier().fit(texts, labels)
    assert np.array_equal(a.coef_, b.coef_)
    assert a.to_bytes({"codes": ["x"]}) == b.to_bytes({"codes": ["x"]})


def test_round_trip_through_bytes() -> None:
    model = SegmentClassifier().fit(texts, labels)
    model.calibrate(
        model.decision_function(texts), (labels[:, None] == model.classes_[None, :]).astype(int)
    )
    loaded, extra = SegmentClassifier.from_bytes(model.to_bytes({"codes": ["a", "b"]}))
    assert extra == {"codes": ["a", "b"]}
    sample = [t for t, _ in TEST]
    assert np.allclose(loaded.decision_function(sample), model.decision_function(sample), atol=1e-4)
    assert list(loaded.predict(sample)) == list(model.predict(sample))
    assert np.allclose(loaded.predict_proba(sample), model.predict_proba(sample), atol=1e-4)


class _Payload:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (self.target,))


def test_pickles_are_refused_and_never_run(tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    # 1. A bare pickle instead of a model.
    with pytest.raises(ModelError, match="refusing to load the stored model: it contains pickled"):
        SegmentClassifier.from_bytes(pickle.dumps(_Payload(target)))
    # 2. An .npz archive with an object array (which needs pickle to load).
    buffer = io.BytesIO()
    np.savez(buffer, header=np.array([_Payload(target)], dtype=object))
    with pytest.raises(ModelError, match="refusing to load"):
        SegmentClassifier.from_bytes(buffer.getvalue())
    assert not target.exists()
    # 3. Something else entirely.
    with pytest.raises(ModelError, match="not a qualcode model"):
        SegmentClassifier.from_bytes(b"PK\x03\x04 broken")
    # 4. A well-formed archive that is not a qualcode model.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf, zf.open("header.npy", "w") as handle:
        np.lib.format.write_array(handle, np.frombuffer(b'{"format": "other"}', dtype=np.uint8))
    with pytest.raises(ModelError, match="unknown model format 'other'"):
        SegmentClassifier.from_bytes(buffer.getvalue())


def test_damaged_weights_are_refused() -> None:
    model = SegmentClassifier(vector_weight=0.0).fit(texts, labels)
    model.coef_ = model.coef_[:, :-3]
    with pytest.raises(ModelError, match="weights do not fit the vocabulary"):
        SegmentClassifier.from_bytes(model.to_bytes())


SIB = REPO.parent / "shared" / "bench-data" / "sib200-fin"


@pytest.mark.skipif(not SIB.is_dir(), reason="../shared/bench-data/sib200-fin is not here")
def test_sib200_dev_accuracy_stays_above_the_baselines() -> None:
    """A guard on the tuning split (dev); the test split is reported by 'bench classify'."""
    from qualcode.benchmark import classification_benchmark

    result = classification_benchmark(SIB / "train.tsv", SIB / "dev.tsv")
    assert result["accuracy"] >= 0.80  # character n-gram + LinearSVC baseline: 0.79 on dev
    assert result["macro_f1"] >= 0.78
