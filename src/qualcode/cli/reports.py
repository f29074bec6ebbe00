"""Commands that turn codings into findings: matrix, report, export quotes."""

from __future__ import annotations

from pathlib import Path

import click

from qualcode.choices import DEFAULT_MEASURE, MATRIX_GROUPS, MATRIX_LEVELS, MATRIX_MEASURES
from qualcode.cli.corpus import export
from qualcode.cli.main import ProgressBar, cli, opened_project, warn_real_names


@cli.command()
@click.option(
    "--by",
    type=click.Choice(MATRIX_GROUPS),
    default=MATRIX_GROUPS[0],
    show_default=True,
    help="Rows of the matrix.",
)
@click.option(
    "--level",
    type=click.Choice(MATRIX_LEVELS),
    default=MATRIX_LEVELS[0],
    show_default=True,
    help="Columns: themes or individual codes.",
)
@click.option(
    "--include-suggested", is_flag=True, help="Count pending suggestions as if they were accepted."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write .csv (tidy long format) or .xlsx (one sheet per measure + quotes).",
)
@click.option(
    "--plot", type=click.Path(dir_okay=False, path_type=Path), help="Draw a heat map PNG."
)
@click.option(
    "--measure",
    type=click.Choice(MATRIX_MEASURES),
    default=DEFAULT_MEASURE,
    show_default=True,
    help="Measure shown on screen and in the heat map.",
)
@click.option(
    "--no-pseudonymise", is_flag=True, help="Real names in the quotes sheet (internal use only)."
)
@click.pass_context
def matrix(
    ctx: click.Context,
    by: str,
    level: str,
    include_suggested: bool,
    out: Path | None,
    plot: Path | None,
    measure: str,
    no_pseudonymise: bool,
) -> None:
    """Build the framework matrix of accepted codings (cities x themes).

    Each cell has: coded segments, documents mentioning it, the share of the group's
    interviewees who raised it, and mentions per 1,000 words. The numbers can be recomputed
    from 'export codings' and 'export segments'.

    \b
    Example:
      qualcode matrix --out matriisi.xlsx --plot teemat.png
      qualcode matrix --by role --level code --out matriisi.csv
    """
    from qualcode.matrix import wide
    from qualcode.workflow.reporting import matrix as run

    warn_real_names(no_pseudonymise)
    with opened_project(ctx) as project:
        result = run(
            project,
            by=by,
            level=level,
            include_suggested=include_suggested,
            out=out,
            plot=plot,
            measure=measure,
            pseudonymise=not no_pseudonymise,
        )
    table = wide(result.table, measure, by)
    click.echo(f"{measure} by {by} ({level} level)")
    click.echo(table.to_string(float_format=lambda v: f"{v:.2f}", na_rep="-"))
    if result.out:
        click.echo(f"Wrote {result.out}")
    if result.plot:
        click.echo(f"Wrote {result.plot}")


@cli.command()
@click.option("--city", help="Write the snapshot of this city.")
@click.option(
    "--all",
    "all_cities",
    is_flag=True,
    help="Write every city's snapshot and the cross-city summary.",
)
@click.option(
    "--template",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A corporate .docx whose styles the reports use.",
)
@click.option(
    "--lang",
    type=click.Choice(["fi", "en"]),
    default="fi",
    show_default=True,
    help="Language of the report text.",
)
@click.option("--date", help="Date shown in the reports (YYYY-MM-DD; default today).")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the .docx files.",
)
@click.option(
    "--no-pseudonymise", is_flag=True, help="Real names in the quotes (internal use only)."
)
@click.option(
    "--no-comments",
    is_flag=True,
    help="Leave out the Word comments with segment ids (the copy for the client).",
)
@click.pass_context
def report(
    ctx: click.Context,
    city: str | None,
    all_cities: bool,
    template: Path | None,
    lang: str,
    date: str | None,
    out_dir: Path,
    no_pseudonymise: bool,
    no_comments: bool,
) -> None:
    """Write Word situation snapshots (one per city) from the accepted codings.

    Each report has the material, a generated summary, the maturity and leadership
    indicators with their evidence, a section per theme with pseudonymised quotes attributed
    by role, cooperation, development needs, missing complementary actors, the theme table
    and a heat map. Every claim carries a Word comment with the segment ids behind it;
    --no-comments writes the copy for the client without them.

    \b
    Example:
      qualcode report --all --out raportit/
      qualcode report --city Saarvala --lang en --out raportit/
      qualcode report --all --no-comments --out asiakkaalle/
    """
    from qualcode.workflow.reporting import report as run

    if (city is None) == (not all_cities):
        raise click.UsageError("give either --city C or --all")
    warn_real_names(no_pseudonymise)
    with opened_project(ctx) as project, ProgressBar("Writing reports") as bar:
        result = run(
            project,
            city=city,
            all_cities=all_cities,
            out_dir=out_dir,
            template=template,
            lang=lang,
            date=date,
            pseudonymise=not no_pseudonymise,
            comments=not no_comments,
            progress=bar,
        )
    for path in result.files:
        click.echo(f"Wrote {path}")


@export.command("quotes")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write .xlsx (one filterable sheet per theme) or .csv (the theme as a column).",
)
@click.option("--city", help="Only the codings from this city's documents.")
@click.option("--code", help="Only this code (a theme id takes the codes under it).")
@click.option(
    "--no-pseudonymise", is_flag=True, help="Real names in the texts (internal use only)."
)
@click.pass_context
def export_quotes(
    ctx: click.Context, out: Path, city: str | None, code: str | None, no_pseudonymise: bool
) -> None:
    """Write every accepted coding with its segment text: the reading list behind each theme.

    One row per accepted coding, grouped by theme and city: theme, city, code, document,
    segment id, the speaker's role and organisation type, the cue time where there is one,
    the coder, the source (rule, model, review, manual) and the evidence (matched words),
    and the segment's pseudonymised text. Cells Excel would run as formulas are made text.

    \b
    Example:
      qualcode export quotes --out lainaukset.xlsx
      qualcode export quotes --city Saarvala --code yhteistyo --out saarvala-yhteistyo.csv
    """
    from qualcode.workflow.quotes import export_quotes as run

    if out.suffix.lower() not in (".xlsx", ".csv"):
        raise click.BadParameter(f"{out}: use a .xlsx or .csv file name", param_hint="--out")
    warn_real_names(no_pseudonymise)
    with opened_project(ctx) as project:
        result = run(project, out, city=city, code=code, pseudonymise=not no_pseudonymise)
    themes = f"{result.themes} theme" + ("" if result.themes == 1 else "s")
    click.echo(f"Wrote {result.rows} codings under {themes} to {result.out}")
