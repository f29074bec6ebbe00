"""The one way qualcode opens a zip container it did not write (.docx, .xlsx, .qdpx, templates).

Everything is checked from the central directory before a byte is inflated: the number of
entries, the total declared uncompressed size, each entry's compression ratio, encryption and
path names (absolute paths and ``..``, the "zip slip"). Reading is then bounded by the declared
sizes: :mod:`zipfile` stops inflating an entry at its declared size (``ZipExtFile`` counts the
bytes left from the central directory), and an entry whose data is longer than declared fails
its CRC check instead of growing; :meth:`SafeZip.read` also asks for no more than that size.

python-docx and openpyxl open zips themselves: hand them the bytes only after
:func:`check_zip`, so that they read the archive this module checked and the same bounds hold.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from types import TracebackType

from qualcode.errors import ArchiveError


@dataclass(frozen=True)
class ZipLimits:
    """Limits that an untrusted archive must respect before anything is decompressed.

    The ratio is only checked for entries above ``ratio_min_size``: small, repetitive files
    legitimately compress very well, and they cannot blow up memory anyway.
    """

    max_entries: int = 10_000
    max_total_size: int = 512 * 1024 * 1024
    max_ratio: int = 200
    ratio_min_size: int = 1024 * 1024


class SafeZip:
    """A checked view of an untrusted zip: names and sizes are verified up front."""

    def __init__(self, data: bytes, limits: ZipLimits = ZipLimits()) -> None:
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
            raise ArchiveError(f"not a readable zip archive ({error})", damaged=True) from None
        try:
            self.entries = _checked_entries(self._zip.infolist(), limits)
        except ArchiveError:
            self._zip.close()
            raise

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    def names(self) -> list[str]:
        """Names of the file entries (folders left out), in archive order."""
        return [info.filename for info in self.entries]

    def read(self, entry: zipfile.ZipInfo | str) -> bytes:
        """The entry's bytes, never more than its declared size."""
        try:
            info = entry if isinstance(entry, zipfile.ZipInfo) else self._zip.getinfo(entry)
        except KeyError:
            raise ArchiveError(f"the archive has no entry {entry!r}") from None
        try:
            with self._zip.open(info) as handle:
                # One byte more than declared would be a lie; zipfile raises on the CRC first.
                data = handle.read(info.file_size + 1)
        except (
            zipfile.BadZipFile,
            NotImplementedError,
            RuntimeError,
            zlib.error,
            EOFError,
            ValueError,
        ) as e:  # ValueError: a local header offset before the start (a cut archive)
            raise ArchiveError(f"archive entry {info.filename!r} cannot be read ({e})") from e
        if len(data) > info.file_size:
            raise ArchiveError(
                f"archive entry {info.filename!r} is longer than its declared size; "
                "refusing a possible zip bomb"
            )
        return data


def check_zip(data: bytes, limits: ZipLimits = ZipLimits()) -> None:
    """Refuse (with :class:`ArchiveError`) a zip that is damaged or unsafe to hand to a library."""
    SafeZip(data, limits).close()


def _checked_entries(infos: list[zipfile.ZipInfo], limits: ZipLimits) -> list[zipfile.ZipInfo]:
    if len(infos) > limits.max_entries:
        raise ArchiveError(
            f"the archive has {len(infos)} entries, more than the limit of {limits.max_entries}"
        )
    total = 0
    files = []
    for info in infos:
        name = info.filename
        _check_entry_name(name)
        if info.flag_bits & 0x1:
            raise ArchiveError(f"archive entry {name!r} is encrypted, which is not supported")
        if info.file_size > limits.ratio_min_size and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            ratio = info.file_size // max(info.compress_size, 1)
            raise ArchiveError(
                f"archive entry {name!r} expands {ratio}:1 (limit {limits.max_ratio}:1); "
                "refusing a possible zip bomb"
            )
        # Declared sizes are summed over every entry, so overlapping entries that share one
        # compressed stream (the "better zip bomb") count once each.
        total += info.file_size
        if total > limits.max_total_size:
            raise ArchiveError(
                f"the archive expands to more than {limits.max_total_size} bytes; "
                "refusing a possible zip bomb"
            )
        if not info.is_dir():
            files.append(info)
    return files


def _check_entry_name(name: str) -> None:
    path = name.replace("\\", "/")
    if path.startswith("/") or re.match(r"[A-Za-z]:", path):
        raise ArchiveError(f"archive entry {name!r} has an absolute path; refusing the archive")
    if ".." in path.split("/"):
        raise ArchiveError(f"archive entry {name!r} points outside the archive (..); refusing it")
