"""CSV files that open safely in Excel, written atomically (temp file + rename)."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

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


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
