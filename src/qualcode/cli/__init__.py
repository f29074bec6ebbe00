"""The ``qualcode`` command line: a thin click layer over the library.

Commands parse options, open the project, call one library function and render the result.
Library exceptions (``QualcodeError``) become ``Error: ...`` / ``Hint: ...`` and exit code 1.
"""

from __future__ import annotations

from qualcode.cli import coding as _coding  # noqa: F401  (registers commands)
from qualcode.cli import corpus as _corpus  # noqa: F401  (registers commands)
from qualcode.cli import exchange as _exchange  # noqa: F401  (registers commands)
from qualcode.cli import learning as _learning  # noqa: F401  (registers commands)
from qualcode.cli import names as _names  # noqa: F401  (registers commands)
from qualcode.cli import reports as _reports  # noqa: F401  (registers commands)
from qualcode.cli import setup as _setup  # noqa: F401  (registers commands)
from qualcode.cli.main import cli, main

__all__ = ["cli", "main"]
