"""One exception hierarchy for the whole library.

The library raises these; only the CLI turns them into ``Error: ...`` / ``Hint: ...`` lines and
exit codes, so Python users get ordinary exceptions.
"""

from __future__ import annotations


class QualcodeError(Exception):
    """An expected problem with the user's data or setup (exit code 1 in the CLI)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ProjectError(QualcodeError):
    """No project found, or its settings are invalid."""


class StoreError(QualcodeError):
    """The SQLite store cannot be opened or is newer than this qualcode."""


class IngestError(QualcodeError):
    """A transcript or metadata file cannot be read.

    ``location`` is ``file`` or ``file:line``; the message shown is ``location: problem``.
    """

    def __init__(self, location: str, problem: str, hint: str | None = None) -> None:
        super().__init__(f"{location}: {problem}", hint)
        self.location = location
        self.problem = problem


class SegmentError(QualcodeError):
    """Segmentation settings (speaker patterns) are invalid."""


class CodebookError(QualcodeError):
    """A codebook has problems; ``problems`` lists every one as (location, message)."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        first = f"{problems[0][0]}: {problems[0][1]}" if problems else "invalid codebook"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{source}: {first}{more}", "run 'qualcode codebook check FILE'")
        self.source = source
        self.problems = problems


class ReviewFileError(QualcodeError):
    """A review CSV has invalid rows; ``problems`` lists (row number, message)."""

    def __init__(self, source: str, problems: list[tuple[int, str]]) -> None:
        row, message = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        hint = "fix the rows (or use --skip-invalid to apply the valid ones)" if row > 1 else None
        super().__init__(f"{source}:{row}: {message}{more}", hint)
        self.source = source
        self.problems = problems


class ArchiveError(QualcodeError):
    """A zip container (.docx, .xlsx, .qdpx, template) is damaged or unsafe to open.

    The message is the problem without the file name (readers add their own location);
    ``damaged`` is true when the bytes are not a readable zip at all, false when a readable
    archive was refused (zip bomb, path outside the archive, encryption).
    """

    def __init__(self, problem: str, *, damaged: bool = False) -> None:
        super().__init__(problem)
        self.problem = problem
        self.damaged = damaged


class OutputError(QualcodeError):
    """A file cannot be written (read-only folder, full disk, a file where a folder should be)."""


class CsvFileError(IngestError):
    """A CSV file people edit (review, metadata, names) cannot be read without guessing.

    ``line`` is where the problem is (0: the file as a whole); the message is
    ``file:line: problem``.
    """

    def __init__(self, source: str, line: int, problem: str, hint: str | None = None) -> None:
        super().__init__(f"{source}:{line}" if line else source, problem, hint)
        self.source = source
        self.line = line


class MemoError(QualcodeError):
    """A researcher's memo under ``memos/`` names an unknown city or section, or is unreadable.

    The message is ``file:line: problem``, as for the other files people edit.
    """

    def __init__(self, source: str, line: int, problem: str, hint: str | None = None) -> None:
        super().__init__(f"{source}:{line}: {problem}" if line else f"{source}: {problem}", hint)
        self.source = source
        self.line = line
