from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import qualcode
from qualcode.cli import cli
from qualcode.project import Project, init_project, open_project

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "transcripts_sample"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CODEBOOK = REPO / "codebooks" / "innovaatioekosysteemi.yaml"


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    init_project(root, coder="testaaja")
    return root


@pytest.fixture
def project(project_dir: Path) -> Project:
    p = open_project(project_dir)
    yield p
    p.close()


Invoke = Callable[..., Result]


@pytest.fixture
def qc(project_dir: Path) -> Invoke:
    """Run the CLI against the test project: qc("import", path)."""
    runner = CliRunner()

    def invoke(*args: object, project: Path | None = project_dir) -> Result:
        argv = [str(a) for a in args]
        if project is not None:
            argv = ["--project", str(project), *argv]
        return runner.invoke(cli, argv, catch_exceptions=False)

    return invoke


def db_snapshot(project_dir: Path) -> list[tuple[object, ...]]:
    """Every row of every table, to prove a failed command changed nothing."""
    conn = sqlite3.connect(project_dir / "qualcode.db")
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        rows: list[tuple[object, ...]] = []
        for table in tables:
            rows.extend((table, *r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1"))
        return rows
    finally:
        conn.close()


def run(project: Path | None, *args: object, code: int = 0) -> str:
    """Run the CLI (against ``project`` unless None), check the exit code, return the output.

    Exceptions are not caught, so an expected failure that ends in a traceback fails the test.
    """
    argv = [str(a) for a in args]
    if project is not None:
        argv = ["--project", str(project), *argv]
    result = CliRunner().invoke(cli, argv, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def copy_project(project: Path, target: Path) -> Path:
    """A private copy of a shared project, for a test (or a module) that changes it."""
    shutil.copytree(project, target)
    return target


# The sample corpus at each stage of the pipeline, built once per test session: several test
# files need the same init -> import -> tag -> review project, and building it is the slow part.
# Use them through copy_project (never write to these directories).


@pytest.fixture(scope="session")
def sample_imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """transcripts_sample/ imported into a project (coder 'tutkija', the sample codebook)."""
    root = tmp_path_factory.mktemp("sample-imported") / "proj"
    init_project(root, coder="tutkija", codebook=CODEBOOK)
    run(root, "import", SAMPLE)
    return root


@pytest.fixture(scope="session")
def sample_tagged(sample_imported: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The imported sample, tagged with the sample codebook."""
    root = copy_project(sample_imported, tmp_path_factory.mktemp("sample-tagged") / "proj")
    run(root, "tag")
    return root


@pytest.fixture(scope="session")
def sample_reviewed(sample_tagged: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tagged sample with the committed decisions (review-decisions.csv) applied."""
    root = copy_project(sample_tagged, tmp_path_factory.mktemp("sample-reviewed") / "proj")
    run(root, "review", SAMPLE / "review-decisions.csv")
    return root


@pytest.fixture(scope="session")
def sample_named(sample_imported: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The imported sample with its names detected into the registry, then tagged and reviewed."""
    root = copy_project(sample_imported, tmp_path_factory.mktemp("sample-named") / "proj")
    run(root, "names", "detect")
    run(root, "tag")
    run(root, "review", SAMPLE / "review-decisions.csv")
    return root


def sql(project_dir: Path, query: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Rows of a query on a project's database, read outside qualcode."""
    conn = sqlite3.connect(project_dir / "qualcode.db")
    try:
        return list(conn.execute(query, params))
    finally:
        conn.close()


def add_code(project_dir: Path, code: str = "vahvuudet") -> None:
    """A code in the store without a codebook, for tests that code segments by hand."""
    conn = sqlite3.connect(project_dir / "qualcode.db")
    with conn:
        conn.execute("INSERT INTO codes (id, label, updated) VALUES (?, ?, 'x')", (code, code))
    conn.close()


# Subprocesses run the qualcode these tests imported (a worktree's, not the installed one).
_SRC = str(Path(qualcode.__file__).parents[1])


def qualcode_process(project_dir: Path, *args: object, **env: str) -> subprocess.Popen[str]:
    """``qualcode --project DIR ARGS`` in its own process (for kill and lock tests)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from qualcode.cli import main; main()",
            "--project",
            str(project_dir),
            *map(str, args),
        ],
        env={**os.environ, "PYTHONPATH": _SRC, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
