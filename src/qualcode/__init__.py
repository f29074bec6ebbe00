"""qualcode: code Finnish qualitative interviews and turn them into situation snapshots.

The package root stays light so that ``qualcode --help`` starts fast; import the stage
modules (``qualcode.ingest``, ``qualcode.segment``, ``qualcode.workflow``...) for the API.
"""

__version__ = "0.1.0"

from qualcode.errors import QualcodeError

__all__ = ["QualcodeError", "__version__"]
