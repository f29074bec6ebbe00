"""Decode transcript bytes: UTF-8 first, then a careful guess between Windows-1252 and Latin-1."""

from __future__ import annotations

import codecs
import re

from qualcode.errors import IngestError

# Characters we expect in Finnish/Swedish/English transcripts decoded from an 8-bit code page.
# Anything else after decoding suggests the guess was wrong.
_PLAUSIBLE = re.compile(
    r"[\x20-\x7e\t\n\r\u00a0-\u00ff\u2013\u2014\u2018\u2019\u201a\u201c\u201d\u201e"
    r"\u2022\u2026\u20ac\u0160\u0161\u017d\u017e]"
)
# UTF-8 read as cp1252 ("Ã¤" for "ä"): the file was UTF-8 with a broken byte somewhere.
_MOJIBAKE = re.compile(r"[ÃÂ][\u0080-\u00bf\u2013-\u203a\u0152-\u0178\u02c6\u02dc\u20ac\u2122]")


def decode_bytes(data: bytes, name: str, encoding: str | None = None) -> tuple[str, str]:
    """Return ``(text, encoding_used)``; raise ``IngestError`` naming the file when unsure."""
    text, used = _decode(data, name, encoding)
    nul = text.find("\x00")
    if nul >= 0:
        # The first 8 KB are checked for binary content before decoding; a NUL further on
        # is binary data (or a damaged file) too, and would be stored and exported as is.
        line = len(re.findall(r"\r\n|\r|\n", text[:nul])) + 1
        raise IngestError(
            f"{name}:{line}",
            "contains a NUL byte (binary data, or a damaged file?)",
            "open the file in an editor, remove the binary part and save it as text",
        )
    return text, used


def _decode(data: bytes, name: str, encoding: str | None) -> tuple[str, str]:
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise IngestError(
                name, f"unknown encoding '{encoding}'", "try --encoding cp1252 or latin-1"
            ) from None
        try:
            return data.decode(encoding), encoding.lower()
        except UnicodeDecodeError as exc:
            raise IngestError(
                name,
                f"cannot be decoded as {encoding} (byte {exc.start})",
                "check the file's encoding",
            ) from None
    if data.startswith(codecs.BOM_UTF8):
        return _decode_utf8(data[3:], name), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise IngestError(name, "broken UTF-16 text (truncated file?)") from None
    if b"\x00" in data[:8192]:
        raise IngestError(
            name,
            "looks like a binary file, not text",
            "export the transcript as .txt, .docx, .vtt or .srt",
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data":
            raise IngestError(
                name, "truncated UTF-8 text at the end of the file", "re-export the file"
            ) from None
    return _decode_8bit(data, name)


def _decode_utf8(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IngestError(
            name,
            f"has a UTF-8 byte-order mark but invalid UTF-8 at byte {exc.start + 3}",
            "re-export the file as UTF-8, or pass --encoding",
        ) from None


def _decode_8bit(data: bytes, name: str) -> tuple[str, str]:
    # cp1252 and latin-1 agree except in 0x80-0x9f: cp1252 puts typographic quotes, dashes and
    # the euro sign there (what Word on Windows writes); latin-1 has only control codes there.
    try:
        text, used = data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        text, used = data.decode("latin-1"), "latin-1"
    if _MOJIBAKE.search(text):
        raise IngestError(
            name,
            "is mostly UTF-8 but contains invalid bytes (damaged or truncated file?)",
            "re-export the file as UTF-8, or pass --encoding",
        )
    implausible = len(text) - len(_PLAUSIBLE.findall(text))
    if implausible > max(2, len(text) // 200):
        raise IngestError(
            name,
            "is not UTF-8 and does not look like Windows-1252 or Latin-1 text",
            "pass the right --encoding (e.g. --encoding cp850 or --encoding mac_roman)",
        )
    return text, used
