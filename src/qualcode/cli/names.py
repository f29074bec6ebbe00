"""Commands for the name registry: names detect, export, import, check."""

from __future__ import annotations

from pathlib import Path

import click

from qualcode.cli.main import ProgressBar, cli, opened_project


@cli.group()
def names() -> None:
    """The registry of people and organisations that exports pseudonymise.

    Everything that leaves the project (review CSVs, exported segments, matrix quotes, Word
    reports, REFI-QDA sources) has registry names replaced by stable pseudonyms such as
    [kaupungin edustaja 1], [henkilö 3] or [yritys A]. Participants named in metadata.csv
    are always included. The stored transcripts are never changed.

    \b
    Example:
      qualcode names detect
      qualcode names export --out nimet.csv
    """


@names.command("detect")
@click.pass_context
def names_detect(ctx: click.Context) -> None:
    """Find person and organisation names in all documents and add them to the registry.

    Uses the spaCy Finnish NER, Voikko's proper-noun morphology and the metadata's
    participants; inflected forms are grouped under one name. Existing pseudonyms and
    decisions are kept.

    \b
    Example:
      qualcode names detect
    """
    from qualcode.workflow.names import detect

    with opened_project(ctx) as project, ProgressBar("Detecting names") as bar:
        report = detect(project, progress=bar)
    click.echo(
        f"{report.candidates} names found ({report.new} new); registry: "
        f"{report.people} people, {report.organisations} organisations"
    )


@names.command("export")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV file to write.",
)
@click.pass_context
def names_export(ctx: click.Context, out: Path) -> None:
    """Write the registry for review: name,kind,action,pseudonym,forms,count,source.

    Set action to 'ignore' for words that are not names (places, products), change a
    pseudonym, or add forms (separated by ';'), then load it with 'names import'.

    \b
    Example:
      qualcode names export --out nimet.csv
    """
    from qualcode.workflow.names import export_names

    with opened_project(ctx) as project:
        n = export_names(project, out)
    click.echo(f"Wrote {n} names to {out}")


@names.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def names_import(ctx: click.Context, file: Path) -> None:
    """Load a reviewed names CSV (all rows are checked before any is saved).

    \b
    Example:
      qualcode names import nimet.csv
    """
    from qualcode.workflow.names import import_names

    with opened_project(ctx) as project:
        n = import_names(project, file)
    click.echo(f"Updated {n} names")


@names.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--unknown",
    is_flag=True,
    help="Also list capitalised words that may be names the registry does not know.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --unknown: also write the list as a names CSV to review and 'names import'.",
)
@click.pass_context
def names_check(ctx: click.Context, file: Path, unknown: bool, out: Path | None) -> None:
    """Scan an exported file (.docx, .csv, .xlsx, .qdpx, text) for registry names.

    The safety net to run before sending a report: exit code 1 and one line per name found.
    Detection misses names that neither the NER nor Voikko knows (foreign names, nicknames);
    --unknown also lists capitalised words Voikko does not know, or knows only as first names
    and surnames, that are not in the registry. Add the real names to the registry with
    'names import' (a new name with an empty pseudonym gets the next free one) and mark the
    other words 'ignore', and they leave the list.

    --out writes that list as a names CSV: one row per name with its forms and the words
    around it, action 'pseudonymise'. Change the words that are not names to 'ignore' and
    load the file with 'names import'.

    \b
    Example:
      qualcode names check raportit/Saarvala.docx
      qualcode names check --unknown raportit/Saarvala.docx
      qualcode names check --unknown --out uudet-nimet.csv raportit/Saarvala.docx
      qualcode names import uudet-nimet.csv
    """
    from qualcode.workflow.names import check_file, export_possible_names

    if out is not None and not unknown:
        raise click.UsageError("--out needs --unknown (it writes the list of possible names)")
    with opened_project(ctx) as project:
        report = check_file(project, file, unregistered=unknown)
        if out is not None:
            written = export_possible_names(project, report, out)
    for form, position in report.names:
        click.echo(f"{file}: name '{form}' at character {position}")
    for form, count, first in report.possible:
        click.echo(
            f"{file}: possible name '{form}' not in the registry "
            f"({count}×, first at character {first})"
        )
    if out is not None:
        then = f": mark the words that are not names 'ignore', then: qualcode names import {out}"
        click.echo(f"Wrote {written} possible names to {out}{then if written else ''}")
    if not report.names and not report.possible:
        what = "registry names or possible names" if unknown else "registry names"
        click.echo(f"OK: no {what} in {file}")
        return
    if report.possible and out is None:
        click.echo(
            "Hint: add real names with 'qualcode names import' (action pseudonymise); "
            "give other words action ignore",
            err=True,
        )
    raise SystemExit(1)
