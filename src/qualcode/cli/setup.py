"""Commands that create a project and check the installation: init, doctor."""

from __future__ import annotations

import json
from pathlib import Path

import click

from qualcode.cli.main import cli


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--coder", help="Default coder name recorded with decisions (default: your user).")
@click.option(
    "--codebook",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Codebook for 'qualcode tag' (saved in qualcode.toml).",
)
def init(directory: Path, coder: str | None, codebook: Path | None) -> None:
    """Create a project: DIRECTORY/qualcode.toml and DIRECTORY/qualcode.db.

    The folder is created if needed. Settings (language, speaker-label patterns, segment
    length, coder name) live in qualcode.toml and can be edited at any time.

    \b
    Example:
      qualcode init tutkimus --coder anna --codebook codebooks/innovaatioekosysteemi.yaml
    """
    from qualcode.project import init_project

    settings = init_project(directory, coder=coder, codebook=codebook)
    click.echo(f"Created project in {directory} (settings: {settings})")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def doctor(as_json: bool) -> None:
    """Check the installation: Python, Voikko, the spaCy Finnish model, versions.

    Without Voikko, qualcode falls back to the spaCy Finnish lemmatizer and warns;
    this command shows which language analysis is in use.

    \b
    Example:
      qualcode doctor
    """
    from qualcode.environment import check_environment

    report = check_environment()
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2, sort_keys=True))
        return
    for item in report.items:
        mark = "ok " if item.ok else "-- "
        click.echo(f"{mark} {item.name:<28} {item.detail}")
    if report.warning:
        click.echo(f"Warning: {report.warning}", err=True)
