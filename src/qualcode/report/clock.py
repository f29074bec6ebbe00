"""Recording times as people read them off a player: ``00:12:34``."""

from __future__ import annotations

import math


def clock(seconds: object) -> str:
    """Seconds (a cue or label start) as ``HH:MM:SS``; "" when unknown (None, NaN, not a number).

    Whole seconds, rounded down: a player seeking to the shown time lands at or just before
    the quoted words, never after them.
    """
    if seconds is None or isinstance(seconds, bool):
        return ""
    try:
        value = float(str(seconds)) if not isinstance(seconds, int | float) else float(seconds)
    except ValueError:
        return ""
    if math.isnan(value) or value < 0:
        return ""
    whole = int(value)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
