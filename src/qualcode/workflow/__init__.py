"""Where the pipeline stages meet the store: one function per command.

Each function runs its writes in a single transaction, so a failing command leaves the
project exactly as it was. The CLI calls these; Python users can too.
"""

from __future__ import annotations

from qualcode.workflow.corpus import (
    SEGMENT_COLUMNS,
    ImportOutcome,
    export_segments,
    import_paths,
    status,
)
from qualcode.workflow.reviewing import (
    CODING_COLUMNS,
    ReviewReport,
    apply_review,
    code_segment,
    export_codings,
    uncode_segment,
)
from qualcode.workflow.tagging import TagReport, analyse_forms, load_project_codebook, tag

__all__ = [
    "CODING_COLUMNS",
    "SEGMENT_COLUMNS",
    "ImportOutcome",
    "ReviewReport",
    "TagReport",
    "analyse_forms",
    "apply_review",
    "code_segment",
    "export_codings",
    "export_segments",
    "import_paths",
    "load_project_codebook",
    "status",
    "tag",
    "uncode_segment",
]
