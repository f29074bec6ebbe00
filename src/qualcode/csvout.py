"""CSV files that open safely in Excel, written atomically (temp file + rename)."""

from __future__ import annotations

import csv
import errno
import io
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from qualcode.errors import OutputError

# Excel treats a cell starting with these as a formula (CSV/formula injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def excel_safe(value: object) -> str:
    """Text for a CSV cell; prefixes a quote where Excel would otherwise run a formula.

    Numbers are passed through: a negative number is data, not a formula.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _file_mode() -> int:
    """rw for whoever the umask lets read (0644 under 022, 0600 under 077), as open() gives."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def output_error(path: Path, exc: OSError) -> OutputError:
    """The one-line error for a file that cannot be written, naming it and why."""
    reason = exc.strerror or exc.__class__.__name__
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        reason = f"{blocker} is a file, not a folder"
    if exc.errno == errno.ENOSPC:
        hint = "free some disk space and run the command again"
    else:
        hint = "choose a folder you can write to, or fix its permissions"
    return OutputError(f"{path}: cannot write ({reason})", hint)


def _stage(path: Path, data: bytes) -> Path:
    """Write ``data`` to a temp file next to ``path`` (same file system: the rename is atomic)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise output_error(path, exc) from None
    try:
        # mkstemp makes 0600 files whatever the umask; the team must be able to read reports.
        os.fchmod(fd, _file_mode())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise output_error(path, exc) from None
        raise
    return Path(tmp)


def _put_in_place(tmp: Path, path: Path) -> None:
    try:
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise output_error(path, exc) from None


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` all at once: a failure leaves the old file as it was.

    Raises OutputError (never a bare OSError) naming the path.
    """
    _put_in_place(_stage(path, data), path)


@contextmanager
def staged_write(path: Path, data: bytes) -> Iterator[None]:
    """Write ``data`` next to ``path`` now, and rename it into place only if the block succeeds.

    For a file made inside a store transaction, enter it on an ExitStack opened before the
    transaction: an unwritable folder fails before the commit (so nothing is stored), and a
    failed commit removes the temp file and leaves the old file.
    """
    tmp = _stage(path, data)
    try:
        yield
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _put_in_place(tmp, path)


def csv_bytes(
    header: Sequence[str], rows: Iterable[Sequence[object]], *, delimiter: str = ","
) -> bytes:
    """UTF-8 with BOM (so Excel reads ä/ö right), CRLF line ends, every cell Excel-safe."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([excel_safe(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_csv(
    path: Path, header: Sequence[str], rows: Iterable[Sequence[object]], *, delimiter: str = ","
) -> None:
    atomic_write_bytes(path, csv_bytes(header, rows, delimiter=delimiter))
