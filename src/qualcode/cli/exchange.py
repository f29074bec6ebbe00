"""Commands for working with other coders and tools: agreement, export qdpx/qdc,
codebook import-qdc (import of .qdpx goes through 'qualcode import')."""

from __future__ import annotations

import json
from pathlib import Path

import click

from qualcode.cli.coding import codebook
from qualcode.cli.corpus import export
from qualcode.cli.main import cli, opened_project


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


@cli.command()
@click.option("--coders", help="Comma-separated coder names (default: every coder).")
@click.option("--documents", help="Comma-separated document names (default: all).")
@click.option("--code", help="Only this code.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option(
    "--disagreements",
    is_flag=True,
    help="Write the segments where the coders differ (needs --out).",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="CSV file for --disagreements."
)
@click.pass_context
def agreement(
    ctx: click.Context,
    coders: str | None,
    documents: str | None,
    code: str | None,
    as_json: bool,
    disagreements: bool,
    out: Path | None,
) -> None:
    """Inter-coder agreement per code and overall, on the segment as the unit.

    Percent agreement, Cohen's kappa (two coders), Krippendorff's alpha (nominal; any number
    of coders; missing data allowed) and Brennan-Prediger kappa. A unit is a (segment, code)
    pair in a document that at least two of the coders worked on; a coder's value is 1 (coded
    it), 0 (worked on the document, did not code it) or missing (did not work on it).

    \b
    Example:
      qualcode agreement --coders anna,ville
      qualcode agreement --disagreements --out erot.csv
    """
    from qualcode.workflow.intercoder import agreement_report, write_disagreements
    from qualcode.workflow.names import project_pseudonymiser

    if disagreements and out is None:
        raise click.UsageError("--disagreements needs --out FILE.csv")
    with opened_project(ctx) as project:
        report = agreement_report(
            project,
            coders=[c.strip() for c in coders.split(",")] if coders else None,
            documents=[d.strip() for d in documents.split(",")] if documents else None,
            code=code,
        )
        if disagreements and out is not None:
            n = write_disagreements(report, out, project_pseudonymiser(project))
            click.echo(f"Wrote {n} disagreements to {out}")
    if as_json:
        click.echo(
            json.dumps(
                {
                    "coders": report.coders,
                    "documents": report.documents,
                    "overall": report.overall.__dict__ if report.overall else None,
                    "codes": {
                        c.code: c.result.__dict__ if c.result else None for c in report.codes
                    },
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    click.echo(f"Coders: {', '.join(report.coders)}; {report.documents} shared document(s)")
    click.echo(f"{'code':<36}{'units':>7}{'agree':>8}{'kappa':>8}{'alpha':>8}{'BP':>8}")
    rows = [(c.code, c.result) for c in report.codes if c.result is not None]
    if report.overall is not None:
        rows.append(("overall", report.overall))
    for name, r in rows:
        click.echo(
            f"{name:<36}{r.units:>7}{_fmt(r.percent):>8}{_fmt(r.cohen_kappa):>8}"
            f"{_fmt(r.krippendorff_alpha):>8}{_fmt(r.brennan_prediger):>8}"
        )


@export.command("qdpx")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--no-pseudonymise",
    is_flag=True,
    help="Export the original texts with names (internal use only).",
)
@click.pass_context
def export_qdpx(ctx: click.Context, out: Path, no_pseudonymise: bool) -> None:
    """Export the project as REFI-QDA 1.5 (.qdpx) for NVivo, ATLAS.ti, MAXQDA, QualCoder.

    Sources (pseudonymised), the code hierarchy with definitions, coded segments with their
    coders, cities and document attributes as Cases and Variables, and the researcher's memos
    (memos/*.md) as Notes named "<file>: <section>". GUIDs are stable. The
    segment boundaries travel in qualcode/segments.json (other programs ignore it), so
    importing the file into another qualcode project gives the same segments and codings.

    \b
    Example:
      qualcode export qdpx hanke.qdpx
    """
    from qualcode.workflow.exchange import export_qdpx as run

    if no_pseudonymise:
        click.echo(
            "Warning: exporting real names (--no-pseudonymise); keep this file inside "
            "the project team.",
            err=True,
        )
    with opened_project(ctx) as project:
        size = run(project, out, pseudonymise=not no_pseudonymise)
    click.echo(f"Wrote {out} ({size} bytes)")


@export.command("qdc")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def export_qdc(ctx: click.Context, out: Path) -> None:
    """Export the codebook as a REFI-QDA codebook (.qdc).

    \b
    Example:
      qualcode export qdc koodikirja.qdc
    """
    from qualcode.workflow.exchange import export_qdc as run

    with opened_project(ctx) as project:
        size = run(project, out)
    click.echo(f"Wrote {out} ({size} bytes)")


@codebook.command("import-qdc")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML codebook to write (add keywords and phrases to it afterwards).",
)
def codebook_import_qdc(file: Path, out: Path) -> None:
    """Turn a REFI-QDA codebook (.qdc) into a qualcode YAML codebook.

    \b
    Example:
      qualcode codebook import-qdc nvivo.qdc --out codebooks/tuotu.yaml
    """
    from qualcode.workflow.exchange import import_qdc

    n, warnings = import_qdc(file, out)
    for warning in warnings:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(f"Wrote {n} codes to {out}")
