"""Where the pipeline stages meet the store: one function per command.

Each function runs its writes in a single transaction, so a failing command leaves the
project exactly as it was. The CLI calls these; Python users can too. Submodules load on
first use, so that a command pays only for the stages it runs.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SEGMENT_COLUMNS": "corpus",
    "ImportOutcome": "corpus",
    "export_segments": "corpus",
    "import_paths": "corpus",
    "status": "corpus",
    "CODING_COLUMNS": "reviewing",
    "ReviewReport": "reviewing",
    "apply_review": "reviewing",
    "code_segment": "reviewing",
    "export_codings": "reviewing",
    "uncode_segment": "reviewing",
    "QUOTE_EXPORT_COLUMNS": "quotes",
    "export_quotes": "quotes",
    "TagReport": "tagging",
    "analyse_forms": "_analysis",
    "load_project_codebook": "_analysis",
    "tag": "tagging",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'qualcode.workflow' has no attribute {name!r}")
    return getattr(importlib.import_module(f"qualcode.workflow.{module}"), name)
