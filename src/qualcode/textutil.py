"""Small text helpers shared by several stages: word counts, normalisation, stable ids."""

from __future__ import annotations

import hashlib
import re
import unicodedata

# A word is a run of letters/digits, allowing inner hyphens and apostrophes (e.g. "Kaarna-AMK").
WORD_RE = re.compile(r"\w+(?:[-'’]\w+)*")


def count_words(text: str) -> int:
    return len(WORD_RE.findall(text))


def normalise_text(text: str) -> str:
    """NFC, ``\\n`` line ends, no BOM, no trailing spaces on lines, no trailing blank lines.

    Every stored offset refers to this normalised text, so it must be applied exactly once,
    at import.
    """
    text = text.replace("\ufeff", "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\u00a0", " ").replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return text.strip("\n")


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def document_id(text: str) -> str:
    """A document's id depends only on its normalised text, so any fresh project agrees."""
    return "d" + sha256_hex(text)[:11]


def segment_id(document_text_sha: str, start: int, end: int) -> str:
    return "s" + sha256_hex(f"{document_text_sha}:{start}:{end}")[:11]


def suggestion_id(segment_id: str, code_id: str) -> str:
    return "g" + sha256_hex(f"{segment_id}:{code_id}")[:11]
