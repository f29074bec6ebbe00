"""Commands for the classifier: train, models, evaluate, bench classify."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click

from qualcode.choices import DEFAULT_FOLDS, DEFAULT_MIN_EXAMPLES, DEFAULT_TARGET_PRECISION
from qualcode.cli.main import ProgressBar, cli, opened_project


def _fmt(values: tuple[float, float, float] | None) -> str:
    if values is None:
        return f"{'-':>5} {'-':>5} {'-':>5}"
    return " ".join(f"{v:5.2f}" for v in values)


def _learning_options(function: Callable[..., None]) -> Callable[..., None]:
    """The options 'train' and 'evaluate' share (they must agree to be comparable)."""
    options = [
        click.option(
            "--min-examples",
            default=DEFAULT_MIN_EXAMPLES,
            show_default=True,
            help="Codes with fewer accepted examples are left to the rules.",
        ),
        click.option(
            "--target-precision",
            default=DEFAULT_TARGET_PRECISION,
            show_default=True,
            help="Per-code thresholds are set to reach this precision in cross-validation.",
        ),
        click.option(
            "--folds",
            default=DEFAULT_FOLDS,
            show_default=True,
            # Cross-validation needs a held-out part: 1 fold would train and test on nothing.
            type=click.IntRange(min=2),
            help="Cross-validation folds (grouped by document).",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print the report as JSON."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@cli.command()
@_learning_options
@click.pass_context
def train(
    ctx: click.Context, min_examples: int, target_precision: float, folds: int, as_json: bool
) -> None:
    """Train the suggester on the reviewed material and store it in the project.

    Accepted codings are positives, rejected suggestions explicit negatives, other segments
    of reviewed documents implicit negatives. Reports cross-validated precision, recall and
    F1 per code (folds grouped by document) and the threshold chosen for each code. The
    model is stored as numeric arrays (no pickle). 'qualcode tag' then adds its suggestions.

    \b
    Example:
      qualcode train --min-examples 5
    """
    from qualcode.workflow.training import train as run

    with opened_project(ctx) as project, ProgressBar("Training") as bar:
        report = run(
            project,
            min_examples=min_examples,
            target_precision=target_precision,
            folds=folds,
            progress=bar,
        )
    if as_json:
        data = {k: v for k, v in report.__dict__.items() if k != "scores"}
        data["scores"] = [s.__dict__ for s in report.scores]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(
        f"Model {report.model_id}: {report.segments} segments from {report.documents} reviewed "
        f"documents, {report.positives} positive codings, {report.explicit_negatives} rejected "
        f"suggestions; {report.folds}-fold cross-validation grouped by document"
    )
    click.echo(f"{'code':<36}{'support':>8}{'prec':>7}{'recall':>7}{'F1':>7}{'thresh':>8}")
    for s in report.scores:
        flag = "" if s.reached_target else "  below target precision: no model suggestions"
        click.echo(
            f"{s.code:<36}{s.support:>8}{s.precision:>7.2f}{s.recall:>7.2f}{s.f1:>7.2f}"
            f"{s.threshold:>8.3f}{flag}"
        )
    click.echo(f"micro F1 {report.micro_f1:.2f}, macro F1 {report.macro_f1:.2f}")
    if report.left_to_rules:
        left = ", ".join(f"{c} ({n})" for c, n in report.left_to_rules)
        click.echo(f"Left to the rules (fewer than {min_examples} examples): {left}")


@cli.command()
@click.pass_context
def models(ctx: click.Context) -> None:
    """List the stored models with their scores (the newest is used by 'tag').

    \b
    Example:
      qualcode models
    """
    from qualcode.workflow.training import list_models

    with opened_project(ctx) as project:
        stored = list_models(project)
    if not stored:
        click.echo("No models yet. Train one with 'qualcode train'.")
        return
    for m in stored:
        s = m.summary
        codes = s.get("codes", [])
        click.echo(
            f"model {m.id}  {m.created}  qualcode {m.version}  {len(codes)} codes  "  # type: ignore[arg-type]
            f"{s.get('segments')} segments  micro F1 {s.get('micro_f1')}  macro F1 "
            f"{s.get('macro_f1')}  training {m.training_digest}  codebook {m.codebook_digest}"
        )


@cli.command()
@_learning_options
@click.pass_context
def evaluate(
    ctx: click.Context, min_examples: int, target_precision: float, folds: int, as_json: bool
) -> None:
    """Score rules alone, the model alone and both against the accepted codings.

    The model is scored on held-out documents (cross-validation grouped by document), the
    rules as they are. Per code and micro/macro precision, recall and F1.

    \b
    Example:
      qualcode evaluate
    """
    from qualcode.workflow.training import evaluate as run

    with opened_project(ctx) as project, ProgressBar("Evaluating") as bar:
        report = run(
            project,
            min_examples=min_examples,
            target_precision=target_precision,
            folds=folds,
            progress=bar,
        )
    if as_json:
        click.echo(
            json.dumps(
                {
                    "segments": report.segments,
                    "documents": report.documents,
                    "folds": report.folds,
                    "micro": report.micro,
                    "macro": report.macro,
                    "codes": [r.__dict__ for r in report.rows],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    click.echo(
        f"{report.segments} segments in {report.documents} reviewed documents "
        f"({report.folds}-fold, grouped by document). Columns: precision recall F1"
    )
    click.echo(f"{'code':<36}{'support':>8}   {'rules':<17}  {'model':<17}  {'both':<17}")
    for r in report.rows:
        click.echo(f"{r.code:<36}{r.support:>8}   {_fmt(r.rules)}  {_fmt(r.model)}  {_fmt(r.both)}")
    for name, values in (("micro", report.micro), ("macro", report.macro)):
        click.echo(
            f"{name:<36}{'':>8}   {_fmt(values['rules'])}  {_fmt(values['model'])}  "
            f"{_fmt(values['both'])}"
        )


@cli.group()
def bench() -> None:
    """Benchmarks on public data sets.

    \b
    Example:
      qualcode bench classify --train train.tsv --test test.tsv
    """


@bench.command("classify")
@click.option(
    "--train",
    "train_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Training file.",
)
@click.option(
    "--test",
    "test_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Test file.",
)
@click.option("--text-col", default="text", show_default=True, help="Column with the text.")
@click.option(
    "--label-col",
    default="category",
    show_default=True,
    help="Column with the label ('|' between labels for multi-label data).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def bench_classify(
    train_path: Path, test_path: Path, text_col: str, label_col: str, as_json: bool
) -> None:
    """Train qualcode's classifier on a labelled TSV/CSV and score it on another.

    Prints accuracy, macro-F1 and timings. Used with SIB-200 Finnish (tune on dev, report
    test).

    \b
    Example:
      qualcode bench classify --train ../shared/bench-data/sib200-fin/train.tsv \\
        --test ../shared/bench-data/sib200-fin/test.tsv
    """
    from qualcode.benchmark import classification_benchmark

    result = classification_benchmark(train_path, test_path, text_col=text_col, label_col=label_col)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(
        f"train {result['train_rows']} rows, test {result['test_rows']} rows"
        + (" (multi-label)" if result["multilabel"] else "")
    )
    click.echo(f"accuracy {result['accuracy']:.4f}  macro-F1 {result['macro_f1']:.4f}")
    click.echo(
        f"fit {result['fit_seconds']} s, predict {result['predict_seconds']} s, "
        f"total {result['total_seconds']} s (including loading the analyzer and vectors)"
    )
