"""Option values and defaults that the library and the CLI share, defined once.

The CLI reads them when ``qualcode --help`` builds its options, so this module imports nothing
(the modules that use them, such as ``matrix`` and ``workflow.training``, load pandas or numpy).
"""

from __future__ import annotations

# matrix: rows, columns and the measures in each cell
MATRIX_GROUPS = ("city", "role", "organisation_type", "kind")
MATRIX_LEVELS = ("theme", "code")
MATRIX_MEASURES = ("segments", "documents", "share_of_interviewees", "per_1000_words")
DEFAULT_MEASURE = "per_1000_words"

# tag: row order of the review CSV
REVIEW_ORDERS = ("document", "uncertainty")

# train / evaluate (they must agree to be comparable)
DEFAULT_MIN_EXAMPLES = 5
DEFAULT_TARGET_PRECISION = 0.8
DEFAULT_FOLDS = 5
