"""kill -9 inside a transaction: the store stays intact and a rerun reaches the same state.

The command is held just before its COMMIT by the test-only QUALCODE_TEST_PAUSE_BEFORE_COMMIT
hook (store/connection.py), which touches qualcode.db.test-pause first, so the kill always lands inside
the transaction, after all its writes.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import qualcode
from conftest import SAMPLE
from qualcode.project import init_project

# The subprocesses run the qualcode this test imported.
_SRC = str(Path(qualcode.__file__).parents[1])

_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")


def dump(project_dir: Path) -> list[str]:
    """Every statement that rebuilds the database, timestamps masked (runs differ only there)."""
    conn = sqlite3.connect(project_dir / "qualcode.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return [_STAMP.sub("<time>", line) for line in conn.iterdump()]
    finally:
        conn.close()


def qualcode(project_dir: Path, *args: object, **env: str) -> subprocess.Popen[str]:
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


def test_import_killed_inside_its_transaction_leaves_the_store_intact(tmp_path: Path) -> None:
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    for root in (killed, clean):
        init_project(root, coder="testaaja")
    before = dump(killed)
    marker = killed / "qualcode.db.test-pause"

    victim = qualcode(killed, "import", SAMPLE, QUALCODE_TEST_PAUSE_BEFORE_COMMIT="120")
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():
            assert victim.poll() is None, victim.communicate()
            assert time.monotonic() < deadline, "the import never reached its commit"
            time.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
        assert victim.wait(timeout=60) == -signal.SIGKILL
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait()
    marker.unlink()

    assert dump(killed) == before  # intact, and nothing of the import is there

    rerun = qualcode(killed, "import", SAMPLE)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, (out, err)
    assert "16 imported, 0 other, 16 file(s) in all" in out
    uninterrupted = qualcode(clean, "import", SAMPLE)
    assert uninterrupted.communicate(timeout=300)[0] == out
    assert dump(killed) == dump(clean)
    assert not (killed / "qualcode.db.lock-note").exists()
