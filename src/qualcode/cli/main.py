"""The command group, error handling and shared helpers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from qualcode import __version__
from qualcode.errors import QualcodeError


class QualcodeGroup(click.Group):
    """Turns expected errors into one-line messages with exit code 1; bugs keep tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except QualcodeError as exc:
            for line in _error_lines(exc):
                click.echo(line, err=True)
            if exc.hint:
                click.echo(f"Hint: {exc.hint}", err=True)
            ctx.exit(1)
        except OSError as exc:
            # A safety net: the writers raise OutputError, but a file system problem met
            # anywhere else (a folder that vanished, a full disk) is the user's situation too.
            if exc.filename is None:
                raise
            click.echo(f"Error: {exc.filename}: {exc.strerror or exc}", err=True)
            ctx.exit(1)


_MAX_LISTED = 50


def _error_lines(exc: QualcodeError) -> list[str]:
    """One ``Error:`` line per problem for errors that carry several (review files, codebooks)."""
    from qualcode.errors import CodebookError, ReviewFileError

    if isinstance(exc, ReviewFileError) and exc.problems:
        lines = [f"Error: {exc.source}:{row}: {p}" for row, p in exc.problems[:_MAX_LISTED]]
        if len(exc.problems) > _MAX_LISTED:
            lines.append(f"Error: ... and {len(exc.problems) - _MAX_LISTED} more")
        if len(exc.problems) > 1 or exc.problems[0][0] > 1:
            lines.append(f"{len(exc.problems)} invalid row(s); nothing was applied")
        return lines
    if isinstance(exc, CodebookError) and exc.problems:
        return [f"Error: {exc.source}: {loc}: {p}" for loc, p in exc.problems[:_MAX_LISTED]]
    return [f"Error: {exc.message}"]


@click.group(cls=QualcodeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="qualcode")
@click.option(
    "--project",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="QUALCODE_PROJECT",
    help="Project folder (default: the nearest parent folder with qualcode.toml).",
)
@click.pass_context
def cli(ctx: click.Context, project_dir: Path | None) -> None:
    """Code Finnish qualitative interviews and turn them into situation snapshots.

    A project is a folder with qualcode.toml (settings) and qualcode.db (SQLite).
    Commands find it from --project, $QUALCODE_PROJECT or the current folder.

    \b
    Example:
      qualcode init tutkimus
      qualcode --project tutkimus import transcripts_sample/
      qualcode --project tutkimus status
    """
    ctx.obj = project_dir


@contextmanager
def opened_project(ctx: click.Context) -> Iterator[Any]:
    from qualcode.project import open_project

    root = ctx.find_root().obj
    project = open_project(
        root, activity=ctx.command_path, notice=lambda line: click.echo(line, err=True)
    )
    try:
        yield project
    finally:
        project.close()


class ProgressBar:
    """Adapts the library's progress callback to a click progress bar on stderr."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None
        self.done = 0

    def __call__(self, done: int, total: int, item: str) -> None:
        if self.bar is None:
            if total < 2 or not sys.stderr.isatty():
                return
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def warn_real_names(no_pseudonymise: bool) -> None:
    """The one warning every command with --no-pseudonymise gives before writing real names."""
    if no_pseudonymise:
        click.echo(
            "Warning: --no-pseudonymise writes real names; keep the file inside the project team.",
            err=True,
        )


def main() -> None:
    cli(prog_name="qualcode")
