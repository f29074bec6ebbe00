"""The progress callback the library reports through (the CLI draws it as a bar on stderr)."""

from __future__ import annotations

from collections.abc import Callable

# progress(done, total, stage): the library never prints, it calls this when given one.
Progress = Callable[[int, int, str], None]
