from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from qualcode.cli import cli
from qualcode.errors import ProjectError
from qualcode.project import find_project_root, init_project, load_settings, open_project


def test_init_creates_settings_and_store(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "tutkimus"), "--coder", "anna"])
    assert result.exit_code == 0
    settings = load_settings(tmp_path / "tutkimus" / "qualcode.toml")
    assert (settings.language, settings.coder, settings.segment.max_words) == ("fi", "anna", 150)
    assert settings.segment.is_interviewer("Haastattelija")
    assert not settings.segment.is_interviewer("Haastateltava")
    assert (tmp_path / "tutkimus" / "qualcode.db").is_file()


def test_init_refuses_existing_project(tmp_path: Path) -> None:
    init_project(tmp_path)
    result = CliRunner().invoke(cli, ["init", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path / 'qualcode.toml'}: a project already exists here\n"


def test_nearest_parent_is_found(tmp_path: Path) -> None:
    init_project(tmp_path / "p")
    deep = tmp_path / "p" / "a" / "b"
    deep.mkdir(parents=True)
    assert find_project_root(cwd=deep) == tmp_path / "p"
    with pytest.raises(ProjectError, match="no qualcode project here"):
        find_project_root(cwd=tmp_path)


def test_project_from_environment_and_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    init_project(tmp_path / "p")
    runner = CliRunner()
    result = runner.invoke(cli, ["status"], env={"QUALCODE_PROJECT": str(tmp_path / "p")})
    assert result.exit_code == 0 and "No documents yet" in result.output
    monkeypatch.chdir(tmp_path / "p")
    assert runner.invoke(cli, ["status"]).exit_code == 0
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["status"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Error: no qualcode project here or in any parent folder",
        "Hint: pass --project DIR, set QUALCODE_PROJECT, or run 'qualcode init DIR'",
    ]


def test_invalid_settings_are_all_reported(tmp_path: Path) -> None:
    init_project(tmp_path)
    path = tmp_path / "qualcode.toml"
    path.write_text(
        '[project]\nlanguage = "fi"\ncodr = "x"\n[segment]\nmax_words = "many"\n[extra]\n',
        encoding="utf-8",
    )
    with pytest.raises(ProjectError) as err:
        open_project(tmp_path)
    assert str(err.value) == (
        f"{path}: project.codr: unknown setting; segment.max_words: expected int; "
        "unknown section [extra]"
    )


def test_bad_speaker_regex_in_settings(tmp_path: Path) -> None:
    init_project(tmp_path)
    path = tmp_path / "qualcode.toml"
    path.write_text("[segment]\nspeaker_patterns = ['(unclosed']\n", encoding="utf-8")
    with pytest.raises(ProjectError, match=r"speaker_patterns\[0\]: invalid regex"):
        open_project(tmp_path)
