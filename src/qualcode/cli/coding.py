"""Commands for the codebook, tagging and review: codebook check/show, tag, review, code,
uncode, export codings."""

from __future__ import annotations

from pathlib import Path

import click

from qualcode.choices import REVIEW_ORDERS
from qualcode.cli.corpus import export
from qualcode.cli.main import ProgressBar, cli, opened_project, warn_real_names


@cli.group()
def codebook() -> None:
    """Check and show YAML codebooks (format: docs/codebook.md).

    \b
    Example:
      qualcode codebook check codebooks/innovaatioekosysteemi.yaml
    """


@codebook.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--no-lemmas", is_flag=True, help="Skip the check that keywords are lemmas.")
def codebook_check(file: Path, no_lemmas: bool) -> None:
    """Validate a codebook and report every problem with its YAML path and line.

    Also warns about keywords that are not dictionary forms (e.g. a plural), since a keyword
    matches through its lemma.

    \b
    Example:
      qualcode codebook check codebooks/innovaatioekosysteemi.yaml
    """
    from qualcode.codebook import load_codebook
    from qualcode.errors import CodebookError

    try:
        book = load_codebook(file)
    except CodebookError as exc:
        for location, problem in exc.problems:
            click.echo(f"Error: {file}: {location}: {problem}", err=True)
        click.echo(f"{len(exc.problems)} problem(s) in {file}", err=True)
        raise SystemExit(1) from None
    if not no_lemmas:
        from qualcode.workflow._analysis import keyword_warnings

        for warning in keyword_warnings(book):
            click.echo(f"Warning: {file}: {warning}", err=True)
    themes = sum(1 for c in book.codes if c.parent is None)
    rules = sum(c.rule_count for c in book.codes)
    click.echo(
        f"OK: {book.name} (version {book.version}): {themes} themes, {len(book.codes)} codes, "
        f"{rules} rules"
    )


@codebook.command("show")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def codebook_show(file: Path) -> None:
    """Print the code tree with the number of keywords and phrases of each code.

    \b
    Example:
      qualcode codebook show codebooks/innovaatioekosysteemi.yaml
    """
    from qualcode.codebook import load_codebook

    book = load_codebook(file)
    click.echo(f"{book.name} (version {book.version}, digest {book.digest})")
    for depth, code in book.walk():
        marks = []
        if code.indicator:
            marks.append(f"indicator {code.indicator[0]}={code.indicator[1]}")
        if not code.codable:
            marks.append("not codable")
        extra = f"  [{', '.join(marks)}]" if marks else ""
        counts = f"{len(code.keywords)} kw, {len(code.phrases)} ph"
        if code.exclude_keywords or code.exclude_phrases:
            counts += f", {len(code.exclude_keywords) + len(code.exclude_phrases)} veto"
        click.echo(f"{'  ' * depth}{code.id:<{34 - 2 * depth}} {code.label}  ({counts}){extra}")


@cli.command()
@click.option(
    "--codebook",
    "codebook_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Codebook YAML (default: [tag] codebook in qualcode.toml).",
)
@click.option("--city", help="Tag only this city's documents.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the review CSV of pending suggestions here.",
)
@click.option("--include-interviewer", is_flag=True, help="Also tag the interviewer's turns.")
@click.option(
    "--order",
    type=click.Choice(REVIEW_ORDERS),
    default=REVIEW_ORDERS[0],
    show_default=True,
    help="Row order of the review CSV; 'uncertainty' puts the segments the model is least "
    "sure about first (active learning).",
)
@click.option("--no-model", is_flag=True, help="Rules only, even if a trained model exists.")
@click.option(
    "--no-pseudonymise",
    is_flag=True,
    help="Write real names in the review CSV (internal use only).",
)
@click.pass_context
def tag(
    ctx: click.Context,
    codebook_path: Path | None,
    city: str | None,
    out: Path | None,
    include_interviewer: bool,
    order: str,
    no_model: bool,
    no_pseudonymise: bool,
) -> None:
    """Suggest codes for segments by matching the codebook's Finnish-aware rules.

    Keywords match inflected forms and compounds through Voikko's lemmas. Each word form is
    analysed once and kept in the project, so re-tagging after a codebook edit is fast. If a
    model has been trained ('qualcode train'), its suggestions are added (source 'model', or
    'rule+model' where both agree).
    Re-running never re-suggests what a researcher rejected, never touches accepted
    codings, and removes suggestions whose rule no longer exists.

    \b
    Example:
      qualcode tag --codebook codebooks/innovaatioekosysteemi.yaml --out review.csv
      qualcode tag --out round2.csv --order uncertainty
    """
    from qualcode.workflow import tag as run

    warn_real_names(no_pseudonymise)
    with opened_project(ctx) as project, ProgressBar("Tagging") as bar:
        report = run(
            project,
            codebook_path=codebook_path,
            city=city,
            out=out,
            include_interviewer=include_interviewer,
            order=order,
            use_model=not no_model,
            pseudonymise=not no_pseudonymise,
            progress=bar,
        )
    for warning in report.warnings:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(
        f"Tagged {report.segments} segments ({report.words} words) with {report.codebook} "
        f"[{report.analyzer}; {report.new_forms} new word forms analysed]"
    )
    if report.model_id is not None:
        sources = ", ".join(f"{n} {s}" for s, n in report.by_source)
        click.echo(f"Model {report.model_id} used; proposals by source: {sources}")
    click.echo(
        f"Suggestions: {report.new} new, {report.updated} updated, {report.unchanged} "
        f"unchanged, {report.removed} removed; {report.kept_decided} decided ones kept"
    )
    click.echo("Pending suggestions per theme:")
    for theme, label, n in report.pending_by_theme:
        click.echo(f"  {n:>5}  {label} ({theme})")
    if report.csv_path:
        click.echo(f"Wrote {report.csv_rows} rows to {report.csv_path}")


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--coder", help="Who made these decisions (default: coder in qualcode.toml).")
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Apply the valid rows and list the invalid ones instead of refusing.",
)
@click.pass_context
def review(ctx: click.Context, file: Path, coder: str | None, skip_invalid: bool) -> None:
    """Import decisions from a review CSV (as saved by Excel).

    decision: y/yes/accept/hyväksy/1/x accepts, n/no/reject/hylkää/0 rejects, blank leaves
    the suggestion open. new_code: codes to give the segment instead (with a blank or n
    decision) or in addition (with y). The whole file is checked first; any invalid row
    stops the import unless --skip-invalid. Importing the same file twice changes nothing.

    \b
    Example:
      qualcode review transcripts_sample/review-decisions.csv --coder anna
    """
    from qualcode.workflow import apply_review

    with opened_project(ctx) as project:
        report = apply_review(project, file, coder=coder, skip_invalid=skip_invalid)
    for row, problem in report.skipped:
        click.echo(f"Skipped: {file}:{row}: {problem}", err=True)
    for notice in report.notices:
        click.echo(f"Note: {notice}", err=True)
    click.echo(
        f"{report.rows} rows: {report.accepted} accepted, {report.rejected} rejected, "
        f"{report.added} codes added, {report.undecided} undecided, "
        f"{report.unchanged} unchanged"
        + (f", {len(report.skipped)} invalid skipped" if report.skipped else "")
    )


@cli.command()
@click.argument("segment")
@click.argument("code")
@click.option("--coder", help="Coder name (default: coder in qualcode.toml).")
@click.pass_context
def code(ctx: click.Context, segment: str, code: str, coder: str | None) -> None:
    """Code a segment by hand (SEGMENT id from 'export segments', CODE id from the codebook).

    \b
    Example:
      qualcode code s0123456789a oppilaitosyhteistyo --coder anna
    """
    from qualcode.workflow import code_segment

    with opened_project(ctx) as project:
        changed = code_segment(project, segment, code, coder=coder)
    click.echo(f"Coded {segment} with {code}" if changed else f"{segment} already has {code}")


@cli.command()
@click.argument("segment")
@click.argument("code")
@click.option("--coder", help="Coder name (default: coder in qualcode.toml).")
@click.pass_context
def uncode(ctx: click.Context, segment: str, code: str, coder: str | None) -> None:
    """Remove a coding from a segment (kept in the review log; the suggestion is rejected).

    \b
    Example:
      qualcode uncode s0123456789a oppilaitosyhteistyo --coder anna
    """
    from qualcode.workflow import uncode_segment

    with opened_project(ctx) as project:
        uncode_segment(project, segment, code, coder=coder)
    click.echo(f"Removed {code} from {segment}")


@export.command("codings")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV file to write.",
)
@click.pass_context
def export_codings(ctx: click.Context, out: Path) -> None:
    """Write every coding: segment_id,document,city,code,coder,source,status,created.

    status is 'accepted' or 'removed' (an uncoded or rejected coding is kept, not deleted).

    \b
    Example:
      qualcode export codings --out codings.csv
    """
    from qualcode.workflow import export_codings as run

    with opened_project(ctx) as project:
        n = run(project, out)
    click.echo(f"Wrote {n} codings to {out}")
