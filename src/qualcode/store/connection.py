"""The SQLite connection every store module shares: opening it, the migration runner, one
transaction per command, and batched ``IN`` selects.

This is the one place that sees raw rows; the aggregate modules turn them into typed rows.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from qualcode.errors import StoreError
from qualcode.store.migrations import MIGRATIONS

_IN_BATCH = 900  # SQLite allows 999 bound parameters in older builds

SQLITE_VERSION = sqlite3.sqlite_version
IntegrityError = sqlite3.IntegrityError


def now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def connect(path: Path, *, create: bool = False) -> sqlite3.Connection:
    """A connection with qualcode's PRAGMAs: foreign keys on, WAL, a short busy timeout (the
    transaction retries; see ``Database._begin``).

    Without ``create``, a missing, empty, non-SQLite or non-qualcode file is refused rather
    than opened: SQLite would silently start a new, empty project in it.
    """
    if not create:
        _check_database_file(path)
    try:
        conn = sqlite3.connect(path, isolation_level=None)
    except sqlite3.DatabaseError as exc:
        raise store_error(path, exc) from None
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        # Each BEGIN waits at most this long itself; _begin() retries up to busy_seconds().
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_STEP_MS}")
        # Checked before anything is written (journal_mode rewrites the header).
        known = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'"
        ).fetchone()
        if known is None and not create:
            raise StoreError(
                f"{path}: not a qualcode database (an SQLite file without qualcode's tables)",
                _DAMAGED_HINT,
            )
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise store_error(path, exc) from None
    except StoreError:
        conn.close()
        raise
    return conn


class Database:
    """The connection and its transaction depth, handed to every store module."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        *,
        activity: str = "",
        notice: Callable[[str], None] | None = None,
    ) -> None:
        self.conn = conn
        self.path = path
        self._depth = 0
        self.tag_run: object | None = None  # the one tag run whose temp tables are current
        # Shown to a command that waits for this one's write lock (see _write_lock_note).
        self.activity = activity
        # The library never prints: the CLI installs this to say "waiting for ..." on stderr.
        self.notice = notice

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction; nested calls join the outer one.

        SQLite errors that are the user's situation (disk full, read-only or locked database)
        become StoreError naming the database; the transaction is rolled back.
        """
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._begin()
        self._depth = 1
        note = self._write_lock_note()
        try:
            try:
                yield
                _test_pause_before_commit(self.path)
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:  # SQLite may have rolled back already (disk full)
                    with suppress(sqlite3.OperationalError):
                        self.conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:
            if _is_situation(exc):
                raise store_error(self.path, exc) from None
            raise
        finally:
            self._depth = 0
            if note is not None:
                note.unlink(missing_ok=True)

    def _begin(self) -> None:
        """BEGIN IMMEDIATE, waiting (and saying so through ``notice``) while another command
        writes; a StoreError naming that command when the wait is over."""
        wait = busy_seconds()
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise store_error(self.path, exc) from None
            other = self._lock_holder()
            if time.monotonic() >= deadline:
                raise StoreError(
                    f"{self.path}: the project is busy: {other} is still writing to it "
                    f"after {wait:g} s",
                    f"wait for it to finish and run the command again (${BUSY_ENV} sets how "
                    "many seconds to wait)",
                )
            if not told and self.notice is not None:
                self.notice(f"Waiting for {other} to finish (up to {wait:g} s)...")
                told = True
            time.sleep(0.05)

    def _lock_note_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock-note")

    def _write_lock_note(self) -> Path | None:
        """Who holds the write lock, for a command that has to wait (removed at commit)."""
        note = self._lock_note_path()
        text = json.dumps({"command": self.activity or "a qualcode command", "pid": os.getpid()})
        try:
            note.write_text(text, encoding="utf-8")
        except OSError:  # only a courtesy to other commands
            return None
        return note

    def _lock_holder(self) -> str:
        try:
            data = json.loads(self._lock_note_path().read_text(encoding="utf-8"))
            command, pid = str(data["command"]), int(data["pid"])
            os.kill(pid, 0)  # a note left by a killed command says nothing
        except (OSError, ValueError, KeyError, TypeError):
            return "another program"
        return f"'{command}' (pid {pid})"

    # The seam between sqlite3 (whose rows are untyped) and the aggregate modules, which give
    # each row its type; tests/test_store_layout.py allows it and nothing else to return them.
    def select_in(
        self, sql: str, values: Sequence[object], *, before: tuple[object, ...] = ()
    ) -> Iterator[tuple[Any, ...]]:
        """Rows of ``sql`` whose ``{marks}`` is an IN list over ``values``, in batches that stay
        under SQLite's limit on bound parameters."""
        for i in range(0, len(values), _IN_BATCH):
            batch = values[i : i + _IN_BATCH]
            marks = ",".join("?" * len(batch))
            yield from self.conn.execute(sql.format(marks=marks), (*before, *batch))

    def count(self, sql: str, params: Sequence[object] = ()) -> int:
        """The single number a ``SELECT COUNT(*)``-like query gives."""
        return int(self.conn.execute(sql, params).fetchone()[0])

    # --- migrations -------------------------------------------------------------------------
    def migrate(self, upto: str | None = None) -> list[str]:
        """Apply pending migrations in order (up to and including ``upto``); return their names."""
        try:
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS migrations"
                " (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            done = {row[0] for row in self.conn.execute("SELECT name FROM migrations")}
        except sqlite3.DatabaseError as exc:
            raise store_error(self.path, exc) from None
        known = {name for name, _ in MIGRATIONS}
        unknown = done - known
        if unknown:
            raise StoreError(
                f"{self.path}: made by a newer qualcode (migration {sorted(unknown)[0]})",
                "upgrade qualcode",
            )
        applied = []
        for name, sql in MIGRATIONS:
            if name not in done:
                with self.transaction():
                    for statement in _statements(sql):
                        self.conn.execute(statement)
                    self.conn.execute(
                        "INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, now())
                    )
                applied.append(name)
            if name == upto:
                break
        return applied

    def applied_migrations(self) -> list[str]:
        return [str(r[0]) for r in self.conn.execute("SELECT name FROM migrations ORDER BY name")]


BUSY_ENV = "QUALCODE_BUSY_TIMEOUT"
_BUSY_DEFAULT = 60.0
_BUSY_STEP_MS = 200
_SQLITE_HEADER = b"SQLite format 3\x00"
_DAMAGED_HINT = (
    "restore qualcode.db from a backup, or create a new project with 'qualcode init' "
    "and import the transcripts again"
)
# Test-only: sleep this many seconds just before COMMIT, after touching PATH.test-pause, so a
# test can kill the command while its transaction is open (tests/test_kill.py).
_TEST_PAUSE_ENV = "QUALCODE_TEST_PAUSE_BEFORE_COMMIT"


def busy_seconds() -> float:
    """How long a command waits for another one's write lock (${BUSY_ENV}, default 60 s)."""
    value = os.environ.get(BUSY_ENV, "")
    try:
        return max(0.0, float(value)) if value else _BUSY_DEFAULT
    except ValueError:
        return _BUSY_DEFAULT


def _test_pause_before_commit(path: Path) -> None:
    value = os.environ.get(_TEST_PAUSE_ENV)
    if value:
        path.with_name(path.name + ".test-pause").touch()
        time.sleep(float(value))


def _check_database_file(path: Path) -> None:
    """Refuse a missing, empty or non-SQLite qualcode.db (SQLite would start a new, empty one)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_SQLITE_HEADER))
    except FileNotFoundError:
        raise StoreError(f"{path}: project database not found", "run 'qualcode init DIR'") from None
    except OSError as exc:
        raise StoreError(f"{path}: cannot read project database ({exc.strerror})") from None
    if not head:
        raise StoreError(f"{path}: the project database is empty (0 bytes)", _DAMAGED_HINT)
    if head != _SQLITE_HEADER:
        raise StoreError(f"{path}: not an SQLite database (damaged or overwritten)", _DAMAGED_HINT)


def _is_situation(exc: sqlite3.Error) -> bool:
    """SQLite errors caused by the machine, not by a bug: a full disk, a read-only file."""
    text = str(exc).lower()
    return any(
        s in text
        for s in ("disk is full", "readonly database", "unable to open", "disk i/o", "locked")
    )


def store_error(path: Path, exc: sqlite3.Error) -> StoreError:
    text = str(exc).lower()
    if "disk is full" in text:
        return StoreError(
            f"{path}: the disk is full; nothing was changed",
            "free some disk space and run the command again",
        )
    if "readonly" in text or "unable to open" in text:
        return StoreError(
            f"{path}: cannot write the project database ({exc})",
            "check that you may write to the project folder and to qualcode.db",
        )
    if "not a database" in text or "malformed" in text:
        return StoreError(f"{path}: the project database is damaged ({exc})", _DAMAGED_HINT)
    return StoreError(f"{path}: cannot use the project database ({exc})")


def _statements(sql: str) -> list[str]:
    """Split a migration script into statements (triggers contain ';' inside BEGIN...END)."""
    out: list[str] = []
    buffer = ""
    for piece in sql.split(";"):
        buffer += piece
        if sqlite3.complete_statement(buffer + ";"):
            if buffer.strip():
                out.append(buffer.strip())
            buffer = ""
        else:
            buffer += ";"
    return out
