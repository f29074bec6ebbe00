"""Commands that bring transcripts in and show what is there: import, status, export segments."""

from __future__ import annotations

import json
from pathlib import Path

import click

from qualcode.cli.main import ProgressBar, cli, opened_project, warn_real_names


@cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--meta",
    "meta_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Metadata CSV (file,city,participant,role,organisation_type,kind,date[,speaker]). "
    "A metadata.csv inside an imported folder is used automatically.",
)
@click.option("--city", help="City for files that the metadata does not cover.")
@click.option(
    "--kind",
    type=click.Choice(["interview", "workshop"]),
    help="Kind for files that the metadata does not cover (default: interview).",
)
@click.option("--encoding", help="Text encoding of .txt/.vtt/.srt files (default: detect).")
@click.option(
    "--replace",
    "replace_changed",
    is_flag=True,
    help="Replace documents whose file changed since the last import.",
)
@click.option(
    "--keep-file-names",
    is_flag=True,
    help="Import files whose names contain a participant's name (refused by default).",
)
@click.pass_context
def import_(
    ctx: click.Context,
    paths: tuple[Path, ...],
    meta_path: Path | None,
    city: str | None,
    kind: str | None,
    encoding: str | None,
    replace_changed: bool,
    keep_file_names: bool,
) -> None:
    """Import transcripts (.txt, .md, .docx, .vtt, .srt) and split them into segments.

    Folders are read for all supported files. Everything is read and checked first and
    written in one transaction: if any file is bad, nothing is imported. Re-importing an
    unchanged file does nothing; a changed file needs --replace, which carries codings over
    to the new text and lists any that could not be. A file whose name contains a
    participant's name is refused: exports pseudonymise texts, not file names.

    A REFI-QDA project from NVivo, ATLAS.ti, MAXQDA or QualCoder is imported with
    'qualcode import qdpx FILE.qdpx' (sources, codes, codings, cases and variables).

    \b
    Example:
      qualcode import transcripts_sample/
      qualcode import muistio.txt --city Saarvala --kind workshop
      qualcode import qdpx toinen-projekti.qdpx --city Saarvala
    """
    if (paths[0] == Path("qdpx") and not paths[0].exists()) or paths[0].suffix == ".qdpx":
        _import_qdpx(ctx, [p for p in paths if p != Path("qdpx")], city)
        return
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise click.BadParameter(f"'{missing[0]}' does not exist", param_hint="PATHS")
    from qualcode.workflow import import_paths

    with opened_project(ctx) as project, ProgressBar("Reading") as bar:
        outcomes = import_paths(
            project,
            list(paths),
            meta_path=meta_path,
            city=city,
            kind=kind,
            encoding=encoding,
            replace_changed=replace_changed,
            keep_file_names=keep_file_names,
            progress=bar,
        )
    for o in outcomes:
        if o.status in ("imported", "replaced") and o.segments:
            click.echo(
                f"{o.status:<9} {o.name}: {o.segments} segments, {o.words} words"
                + (f"; {o.note}" if o.note else "")
            )
        else:
            click.echo(f"{o.status:<9} {o.name}: {o.note}")
        for lost in o.lost:
            click.echo(f"  Warning: could not carry over {lost} (kept in the review log)", err=True)
    new = sum(o.status == "imported" for o in outcomes)
    click.echo(f"{new} imported, {len(outcomes) - new} other, {len(outcomes)} file(s) in all")


def _import_qdpx(ctx: click.Context, files: list[Path], city: str | None) -> None:
    from qualcode.workflow.exchange import import_qdpx

    if len(files) != 1 or not files[0].is_file():
        raise click.UsageError("usage: qualcode import qdpx FILE.qdpx [--city C]")
    with opened_project(ctx) as project:
        result = import_qdpx(project, files[0], city=city)
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(
        f"Imported {result.documents} source(s) ({result.skipped_documents} skipped), "
        f"{result.codes} codes, {result.codings} segment codings"
        + (f", {result.memos} memo(s) into memos/" if result.memos else "")
        + f" from {files[0]}"
    )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Show documents, segments and words per city and kind.

    \b
    Example:
      qualcode status
    """
    from qualcode.workflow import status as project_status

    with opened_project(ctx) as project:
        rows = project_status(project)
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in rows], ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("No documents yet. Import some with 'qualcode import PATH'.")
        return
    header = ("city", "kind", "documents", "segments", "interviewer", "words")
    fields = ("documents", "segments", "interviewer_segments", "words")
    table: list[tuple[str, ...]] = [header]
    table += [(r.city or "(none)", r.kind, *(str(getattr(r, f)) for f in fields)) for r in rows]
    table.append(("total", "", *(str(sum(getattr(r, f) for r in rows)) for f in fields)))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for k, row in enumerate(table):
        if k == len(table) - 1:
            click.echo("  ".join("-" * w for w in widths))
        pairs = enumerate(zip(row, widths, strict=True))
        cells = (c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in pairs)
        click.echo("  ".join(cells).rstrip())


@cli.group()
def export() -> None:
    """Export project data as CSV (UTF-8 with BOM, safe to open in Excel).

    \b
    Example:
      qualcode export segments --out segments.csv
    """


@export.command("segments")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV file to write.",
)
@click.option("--no-pseudonymise", is_flag=True, help="Export real names (internal use only).")
@click.pass_context
def export_segments(ctx: click.Context, out: Path, no_pseudonymise: bool) -> None:
    """Write all segments with their document metadata and offsets.

    Columns: segment_id,document,city,participant,role,kind,speaker,is_interviewer,
    start,end,text. Texts are pseudonymised (see 'qualcode names'). Cells that Excel would
    run as formulas are prefixed with '.

    \b
    Example:
      qualcode export segments --out segments.csv
    """
    from qualcode.workflow import export_segments as run

    warn_real_names(no_pseudonymise)
    with opened_project(ctx) as project:
        n = run(project, out, pseudonymise=not no_pseudonymise)
    click.echo(f"Wrote {n} segments to {out}")


@cli.command()
@click.option(
    "--document",
    "document",
    metavar="NAME",
    help="Resegment only this document (its file name as imported).",
)
@click.pass_context
def resegment(ctx: click.Context, document: str | None) -> None:
    """Split imported documents into segments again with the current settings.

    Use it after changing the [segment] settings in qualcode.toml (speaker_patterns,
    interviewer_pattern, interviewers, max_words): re-importing an unchanged file does
    nothing. Codings and decisions are carried over as 'import --replace' does: to the new
    segment with the same text, else the one containing it; a segment now split between
    speakers passes its codings to the part holding most of it (listed, and logged as
    split-on-resegment). Anything that cannot be carried is listed and kept in the review log
    (lost-on-resegment). One transaction: if anything fails, nothing changes. Subtitle files
    (.vtt, .srt) are read again for their cues.

    \b
    Example:
      qualcode resegment
      qualcode resegment --document lounajoki-tyopaja-keskustelu.txt
    """
    from qualcode.workflow.corpus import resegment as run

    with opened_project(ctx) as project, ProgressBar("Segmenting") as bar:
        outcomes = run(project, document=document, progress=bar)
    for o in outcomes:
        if o.status == "resegmented":
            click.echo(f"resegmented {o.name}: {o.segments} segments (was {o.before}); {o.note}")
        else:
            click.echo(f"{o.status:<11} {o.name}: {o.note}")
        for split in o.split:
            click.echo(f"  Note: {split} (kept in the review log)", err=True)
        for lost in o.lost:
            click.echo(f"  Warning: could not carry over {lost} (kept in the review log)", err=True)
        for warning in o.warnings:
            click.echo(f"  Warning: {warning}", err=True)
    changed = sum(o.status == "resegmented" for o in outcomes)
    click.echo(f"{changed} resegmented, {len(outcomes) - changed} other, {len(outcomes)} in all")
