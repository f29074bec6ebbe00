"""kill -9 inside a transaction: the store stays intact and a rerun reaches the same state.

The command is held just before its COMMIT by the test-only QUALCODE_TEST_PAUSE_BEFORE_COMMIT
hook (store/connection.py), which touches qualcode.db.test-pause first, so the kill always lands inside
the transaction, after all its writes.
"""

from __future__ import annotations

import re
import signal
import sqlite3
import time
from pathlib import Path

from conftest import SAMPLE, qualcode_process
from qualcode.project import init_project

_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")


def dump(project_dir: Path) -> list[str]:
    """Every statement that rebuilds the database, timestamps masked (runs differ only there)."""
    conn = sqlite3.connect(project_dir / "qualcode.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return [_STAMP.sub("<time>", line) for line in conn.iterdump()]
    finally:
        conn.close()


def test_import_killed_inside_its_transaction_leaves_the_store_intact(tmp_path: Path) -> None:
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    for root in (killed, clean):
        init_project(root, coder="testaaja")
    before = dump(killed)
    marker = killed / "qualcode.db.test-pause"

    victim = qualcode_process(killed, "import", SAMPLE, QUALCODE_TEST_PAUSE_BEFORE_COMMIT="120")
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

    rerun = qualcode_process(killed, "import", SAMPLE)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, (out, err)
    assert "16 imported, 0 other, 16 file(s) in all" in out
    uninterrupted = qualcode_process(clean, "import", SAMPLE)
    assert uninterrupted.communicate(timeout=300)[0] == out
    assert dump(killed) == dump(clean)
    assert not (killed / "qualcode.db.lock-note").exists()
