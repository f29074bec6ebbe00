from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from qualcode import __version__
from qualcode.cli import cli


def all_commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        found.append(path)
        if isinstance(command, click.Group):
            found.extend(all_commands(command, path))
    return found


@pytest.mark.parametrize("path", all_commands(), ids=" ".join)
def test_every_command_has_summary_and_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert "qualcode " + path[0] in result.output


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.output.strip() == f"qualcode, version {__version__}"


def test_usage_error_exit_code_2() -> None:
    result = CliRunner().invoke(cli, ["import"])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == "Error: Missing argument 'PATHS...'."


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys; from qualcode.cli import main; sys.argv=['qualcode','--help'];\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('spacy','sklearn','pandas','docx','libvoikko','numpy') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout


def leaf_commands() -> list[tuple[tuple[str, ...], click.Command]]:
    out = []
    for path in all_commands():
        command: click.Command = cli
        for name in path:
            command = command.commands[name]  # type: ignore[attr-defined]
        if not isinstance(command, click.Group):
            out.append((path, command))
    return out


def test_readme_documents_every_command_and_option() -> None:
    from conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    headings = [line for line in readme.splitlines() if line.startswith("### ")]
    for path, command in leaf_commands():
        name = "qualcode " + " ".join(path)
        assert any(f"`{name}" in h for h in headings), f"README has no heading for {name}"
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt != "--help":
                    assert opt in readme, f"README does not mention {name} {opt}"
