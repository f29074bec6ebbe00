"""train / tag with a model / evaluate / models / bench classify on the sample corpus."""

from __future__ import annotations

import csv
import io
import pickle
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import CODEBOOK, SAMPLE, copy_project, run, sql
from qualcode.cli import cli
from qualcode.project import init_project


@pytest.fixture(scope="module")
def reviewed(sample_reviewed: Path) -> Path:
    """The sample corpus, tagged and reviewed with the committed decisions (no model yet)."""
    return sample_reviewed


@pytest.fixture(scope="module")
def trained(reviewed: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = copy_project(reviewed, tmp_path_factory.mktemp("trained") / "proj")
    return root, run(root, "train")


def copy_of(project: Path, tmp_path: Path) -> Path:
    return copy_project(project, tmp_path / "copy")


def test_train_reports_scores_per_code(trained: tuple[Path, str]) -> None:
    project, output = trained
    assert "5-fold cross-validation grouped by document" in output
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("code"))
    rows = [
        line.split()
        for line in lines[header + 1 :]
        if line.split()[:1] and not line.startswith(("micro", "Left"))
    ]
    codes = {r[0] for r in rows}
    assert {"rahoitus", "seutuyhteistyo", "tilat_ja_alustat"} <= codes
    for r in rows:
        support, precision, recall, f1 = int(r[1]), float(r[2]), float(r[3]), float(r[4])
        assert support >= 5 and 0 <= precision <= 1 and 0 <= recall <= 1 and 0 <= f1 <= 1
    assert "Left to the rules (fewer than 5 examples): toimija_maakuntaliitto (3)" in output
    models = run(project, "models")
    assert models.startswith("model 1 ") and f"{len(codes)} codes" in models


def test_tag_adds_model_suggestions_where_no_rule_fired(
    sample_tagged: Path, tmp_path: Path
) -> None:
    """Review three cities, train, and let the model suggest codes in the fourth."""
    project = copy_project(sample_tagged, tmp_path / "p")
    with (SAMPLE / "review-decisions.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    partial = tmp_path / "partial.csv"
    with partial.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(r for r in rows if r["city"] != "Ilvesvaara")
    run(project, "review", partial)
    run(project, "train", "--folds", "3", "--target-precision", "0.5")
    output = run(project, "tag", "--out", tmp_path / "r.csv")
    assert "Model 1 used; proposals by source:" in output
    only_model = sql(
        project,
        """SELECT COUNT(DISTINCT g.segment_id) FROM suggestions g
        JOIN segments s ON s.id = g.segment_id JOIN documents d ON d.id = s.document_id
        WHERE d.city = 'Ilvesvaara' AND g.status = 'pending' AND g.source = 'model'
        AND NOT EXISTS (SELECT 1 FROM suggestions r
                        WHERE r.segment_id = g.segment_id AND r.source LIKE 'rule%')""",
    )
    assert only_model[0][0] >= 1
    csv_rows = list(
        csv.DictReader(
            io.StringIO((tmp_path / "r.csv").read_text(encoding="utf-8-sig")), delimiter=";"
        )
    )
    assert {r["source"] for r in csv_rows} == {"model", "rule", "rule+model"}
    assert all(r["evidence"] == "" for r in csv_rows if r["source"] == "model")


def test_decisions_change_the_next_round(trained: tuple[Path, str], tmp_path: Path) -> None:
    """Accepting a code on new segments makes the retrained model suggest it more strongly."""
    from qualcode.project import open_project
    from qualcode.workflow.training import predict_with_latest

    project = copy_of(trained[0], tmp_path)
    targets = [
        sid
        for (sid,) in sql(
            project,
            """SELECT s.id FROM segments s
        JOIN documents d ON d.id = s.document_id WHERE d.city = 'Pohjanlinna'
        AND s.is_interviewer = 0 AND s.unit = 'turn' AND s.id NOT IN (
          SELECT segment_id FROM codings WHERE code_id = 'vahvuudet') ORDER BY s.id LIMIT 8""",
        )
    ]
    texts = dict(sql(project, "SELECT id, text FROM segments"))

    def vahvuudet_probability() -> float:
        p = open_project(project)
        try:
            predictions = predict_with_latest(p, [texts[t] for t in targets])
        finally:
            p.close()
        assert predictions is not None
        return float(predictions.probabilities[:, predictions.codes.index("vahvuudet")].mean())

    before = vahvuudet_probability()
    for sid in targets:
        run(project, "code", sid, "vahvuudet")
    run(project, "train")
    after = vahvuudet_probability()
    assert after > before + 0.1
    assert sql(project, "SELECT COUNT(*) FROM models") == [(2,)]


def test_training_twice_gives_identical_models_and_suggestions(
    reviewed: Path, tmp_path: Path
) -> None:
    # Three folds, not the default five: two such trainings cost less than one default one.
    a, b = copy_of(reviewed, tmp_path / "a"), copy_of(reviewed, tmp_path / "b")
    outputs = [run(project, "train", "--folds", "3") for project in (a, b)]
    assert outputs[0] == outputs[1]
    for project in (a, b):
        run(project, "tag", "--out", project / "r.csv", "--order", "uncertainty")
    assert sql(a, "SELECT data, training_digest FROM models") == sql(
        b, "SELECT data, training_digest FROM models"
    )
    assert (a / "r.csv").read_bytes() == (b / "r.csv").read_bytes()


def test_a_planted_pickle_is_refused(trained: tuple[Path, str], tmp_path: Path) -> None:
    project = copy_of(trained[0], tmp_path)
    target = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (Path.touch, (target,))

    conn = sqlite3.connect(project / "qualcode.db")
    with conn:
        conn.execute("UPDATE models SET data = ?", (pickle.dumps(Payload()),))
    conn.close()
    output = run(project, "tag", code=1)
    assert output.splitlines()[0] == (
        "Error: model 1: refusing to load the stored model: it contains pickled Python objects, "
        "which could run code"
    )
    assert not target.exists()


def test_evaluate_compares_rules_model_and_both(trained: tuple[Path, str]) -> None:
    output = run(trained[0], "evaluate", "--folds", "3")
    lines = output.splitlines()
    micro = next(line for line in lines if line.startswith("micro")).split()
    assert len(micro) == 10  # name + 3 x (precision, recall, F1)
    rules_f1, model_f1, both_recall = float(micro[3]), float(micro[6]), float(micro[8])
    assert 0 < rules_f1 <= 1 and 0 < model_f1 <= 1
    assert both_recall >= float(micro[2])  # the union never recalls less than the rules
    assert any(line.startswith("rahoitus") for line in lines)


def test_train_without_reviews_explains(tmp_path: Path) -> None:
    root = tmp_path / "p"
    init_project(root, codebook=CODEBOOK)
    run(root, "import", SAMPLE / "saarvala-tyopaja.md", "--city", "Saarvala")
    run(root, "tag")
    assert run(root, "train", code=1).splitlines() == [
        "Error: nothing to learn from yet: no reviewed documents",
        "Hint: review suggestions first ('qualcode review FILE')",
    ]


def test_bench_classify_on_a_small_multilabel_file(tmp_path: Path) -> None:
    rows = [
        ("Lääkäri hoiti potilasta.", "terveys"),
        ("Sairaalan lääkärit ja potilaat.", "terveys"),
        ("Joukkue voitti ottelun.", "urheilu"),
        ("Pelaajat tekivät maaleja ottelussa.", "urheilu"),
        ("Urheilulääkäri hoiti pelaajaa.", "terveys|urheilu"),
    ]
    for name in ("train.csv", "test.csv"):
        with (tmp_path / name).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["teksti", "luokka"])
            writer.writerows(rows)
    result = CliRunner().invoke(
        cli,
        [
            "bench",
            "classify",
            "--train",
            str(tmp_path / "train.csv"),
            "--test",
            str(tmp_path / "test.csv"),
            "--text-col",
            "teksti",
            "--label-col",
            "luokka",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert '"multilabel": true' in result.output and '"accuracy"' in result.output
    bad = CliRunner().invoke(
        cli,
        [
            "bench",
            "classify",
            "--train",
            str(tmp_path / "train.csv"),
            "--test",
            str(tmp_path / "test.csv"),
        ],
    )
    assert bad.exit_code == 1
    assert bad.output.splitlines()[0] == f"Error: {tmp_path / 'train.csv'}:1: no column 'text'"
