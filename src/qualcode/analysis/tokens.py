"""Word tokens with exact offsets: what the matcher, the classifier and pseudonymisation split
text into, so that all three see the same words."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A word, with inner hyphens, colons and apostrophes: "Turku-Tampere", "AMK:ssa", "vaa'an".
TOKEN_RE = re.compile(r"\w+(?:[-:'’]\w+)*")


@dataclass(frozen=True)
class Token:
    form: str
    start: int
    end: int


def tokenize(text: str, offset: int = 0) -> list[Token]:
    """The word tokens of ``text``; offsets are shifted by ``offset`` (the text's own start)."""
    return [Token(m.group(), offset + m.start(), offset + m.end()) for m in TOKEN_RE.finditer(text)]
