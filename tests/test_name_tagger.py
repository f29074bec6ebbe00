"""The learned person-name tagger: a safe model file, deterministic, and used by names detect."""

from __future__ import annotations

import csv
import io
import json
import shutil
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, Invoke, db_snapshot
from qualcode.match import tokenize
from qualcode.nametagger import (
    NameTagger,
    NameTaggerError,
    NotFittedError,
    default_tagger,
    featurise,
    reference_rows,
)
from qualcode.pseudonymise import detect_names

MODEL = REPO / "src" / "qualcode" / "names_model"

INTERVIEW = (
    "H: Kenen kanssa te teitte yhteistyötä?\n\n"
    "V: Pygmalion on meidän yhteyshenkilö kaupungilla, ja Pygmalionista on ollut paljon "
    "apua. Evitalla oli myös hyvä idea. Markkaselle menee kiitos.\n"
)


def test_the_model_is_arrays_and_json_under_20_mb_with_its_licence() -> None:
    files = sorted(p.name for p in MODEL.iterdir() if p.is_file())
    assert files == ["ATTRIBUTION.md", "__init__.py", "tagger.json", "tagger.npz"]
    assert sum(p.stat().st_size for p in MODEL.iterdir() if p.is_file()) < 20 * 1024 * 1024
    # Every member of the .npz is a plain numeric array: numpy refuses object arrays (pickles)
    # with allow_pickle=False, and the archive holds nothing else.
    with zipfile.ZipFile(MODEL / "tagger.npz") as archive:
        assert sorted(archive.namelist()) == ["index.npy", "weight.npy"]
    with np.load(MODEL / "tagger.npz", allow_pickle=False) as arrays:
        assert arrays["index"].dtype == np.int32
        assert arrays["weight"].dtype == np.float32
    doc = json.loads((MODEL / "tagger.json").read_text(encoding="utf-8"))
    assert doc["features"] == "nametagger.v1"
    assert doc["trained_on"] == ["TurkuONE train", "Turku NER train"]
    assert "CC BY-SA 4.0" in doc["licence"]
    attribution = (MODEL / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "CC BY-SA 4.0" in attribution and "Luoma" in attribution
    # ... and it installs with the package.
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    data = pyproject["tool"]["setuptools"]["package-data"]["qualcode.names_model"]
    assert sorted(data) == ["ATTRIBUTION.md", "tagger.json", "tagger.npz"]


def test_the_tagger_is_deterministic_and_its_fast_features_equal_the_reference() -> None:
    tagger = default_tagger()
    texts = [INTERVIEW, "Det är bra. Och sen Leena Koski soitti Theronille."]
    first = tagger.predict_proba(texts)
    again = NameTagger.load().predict_proba(list(texts))
    assert first == again
    fast = featurise(texts, tagger.n_features).rows
    slow = reference_rows(texts, tagger.n_features)
    assert [sorted(set(r)) for r in fast] == [sorted(set(r)) for r in slow]


def test_fit_is_reproducible_and_save_load_round_trips(tmp_path: Path) -> None:
    texts = [
        "Leena Koski soitti eilen. Koski kertoi hankkeesta.",
        "Kävin kaupassa. Theron oli siellä, ja Theronille se sopi.",
        "Det är bra. Och sen mentiin kotiin.",
        "Pekka Virtanen ja Virtasen Maija tulivat Turusta.",
    ] * 3
    names = {"Leena", "Koski", "Theron", "Theronille", "Pekka", "Virtanen", "Virtasen", "Maija"}
    labels = [{t.start for t in tokenize(text) if t.form in names} for text in texts]
    a = NameTagger(n_features=2**12, folds=2).fit(texts, labels)
    b = NameTagger(n_features=2**12, folds=2).fit(texts, labels)
    assert np.array_equal(a.coef_, b.coef_)
    assert np.array_equal(a.second_coef_, b.second_coef_)
    a.save(tmp_path)
    loaded = NameTagger.load(tmp_path)
    assert loaded.predict_proba(texts) == pytest.approx(a.predict_proba(texts))


def test_an_unfitted_tagger_says_so() -> None:
    with pytest.raises(NotFittedError, match="this NameTagger is not fitted yet"):
        NameTagger().predict(["Leena soitti."])


def test_a_damaged_or_foreign_model_is_one_line_error(tmp_path: Path) -> None:
    shutil.copy(MODEL / "tagger.json", tmp_path / "tagger.json")
    (tmp_path / "tagger.npz").write_bytes(b"not a zip")
    with pytest.raises(NameTaggerError) as caught:
        NameTagger.load(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / 'tagger.json'}: the name tagger's model")
    assert caught.value.hint == (
        "reinstall qualcode, or train it again with scripts/train_name_tagger.py"
    )
    shutil.copy(MODEL / "tagger.npz", tmp_path / "tagger.npz")
    doc = json.loads((MODEL / "tagger.json").read_text(encoding="utf-8"))
    doc["features"] = "nametagger.v0"
    (tmp_path / "tagger.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(NameTaggerError) as caught:
        NameTagger.load(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path / 'tagger.json'}: model made for features 'nametagger.v0', "
        "this qualcode reads 'nametagger.v1'"
    )


def test_ordinary_words_opening_a_sentence_are_not_persons() -> None:
    text = (
        "V: Det är bra, sa hon. Och sen me lähdettiin. Annappa kun mä kerron. "
        "Ahvenanmaa on kaunis. Jonkin verran. Kävin siellä. Hmm. Mulla on kiire, mulla aina."
    )
    tagged = {t.form for t in default_tagger().predict([text])}
    for word in ("Det", "Och", "Annappa", "Ahvenanmaa", "Jonkin", "Kävin", "Hmm", "Mulla"):
        assert word not in tagged
    persons = {c.name for c in detect_names([text], ner=False, tagger=default_tagger())}
    assert persons == set()


def test_names_detect_finds_names_the_rules_and_the_ner_missed(
    qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    # Before the tagger: the spaCy NER and Voikko's rules find none of these three.
    old = {c.name for c in detect_names([INTERVIEW], ner=True) if c.kind == "person"}
    assert {"Pygmalion", "Evita", "Evitalla", "Markkanen"}.isdisjoint(old)
    folder = tmp_path / "aineisto"
    folder.mkdir()
    (folder / "saarvala-09-yrittaja.txt").write_text(INTERVIEW, encoding="utf-8")
    assert qc("import", folder, "--city", "Saarvala").exit_code == 0
    result = qc("names", "detect")
    assert result.exit_code == 0, result.output
    out = tmp_path / "nimet.csv"
    assert qc("names", "export", "--out", out).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")), delimiter=";"))
    found = {r["name"]: r for r in rows}
    assert {"Pygmalion", "Markkanen"} <= set(found)
    assert found["Pygmalion"]["forms"] == "Pygmalion; Pygmalionista"
    assert found["Pygmalion"]["kind"] == "person"
    # The exported text carries pseudonyms, not the names.
    segments = tmp_path / "segments.csv"
    assert qc("export", "segments", "--out", segments).exit_code == 0
    exported = segments.read_text(encoding="utf-8-sig")
    assert "Pygmalion" not in exported and "Markkaselle" not in exported
    assert "[henkilö" in exported
    before = db_snapshot(project_dir)
    assert qc("names", "detect").exit_code == 0  # idempotent: the same registry again
    assert db_snapshot(project_dir) == before
