from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from qualcode.cli import cli
from qualcode.project import Project, init_project, open_project

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "transcripts_sample"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


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
