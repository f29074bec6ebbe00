from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from qualcode.errors import IngestError
from qualcode.ingest import read_document
from qualcode.ingest.encoding import decode_bytes

FINNISH = (
    "Haastattelija: Miten yhteistyö sujuu?\nV: Ihan hyvin – öljynporauksesta äänestykseen, Åbo.\n"
)


@pytest.mark.parametrize(
    ("data", "expected_encoding"),
    [
        (FINNISH.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + FINNISH.encode("utf-8"), "utf-8-sig"),
        (FINNISH.encode("cp1252"), "cp1252"),
        (FINNISH.replace("–", "-").encode("latin-1"), "cp1252"),
        (FINNISH.encode("utf-16"), "utf-16"),
    ],
)
def test_decodes_common_encodings(data: bytes, expected_encoding: str) -> None:
    text, used = decode_bytes(data, "x.txt")
    assert used == expected_encoding
    assert "yhteistyö" in text and "äänestykseen" in text and "Åbo" in text


def test_latin1_only_bytes_fall_back_to_latin1() -> None:
    # 0x81 is undefined in cp1252, so this can only be Latin-1 (a C1 control, but decodable).
    data = "yhteistyö ".encode("latin-1") + b"\x81"
    text, used = decode_bytes(data, "x.txt")
    assert used == "latin-1"
    assert text.startswith("yhteistyö")


def test_explicit_encoding_is_used() -> None:
    data = "Päivää".encode("cp850")
    text, used = decode_bytes(data, "x.txt", "cp850")
    assert (text, used) == ("Päivää", "cp850")


def test_unknown_explicit_encoding_is_an_error() -> None:
    with pytest.raises(IngestError, match="unknown encoding 'nope'"):
        decode_bytes(b"abc", "x.txt", "nope")


def test_binary_file_is_refused() -> None:
    with pytest.raises(IngestError) as err:
        decode_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "kuva.txt")
    assert str(err.value) == "kuva.txt: looks like a binary file, not text"


def test_truncated_utf8_is_refused() -> None:
    data = "Yhteistyö sujuu hyvin, sanoi hän ää".encode()[:-1]
    with pytest.raises(IngestError, match="truncated UTF-8"):
        decode_bytes(data, "x.txt")


def test_damaged_utf8_is_not_decoded_as_mojibake() -> None:
    data = "yhteistyö on tärkeää ja ääni kuuluu".encode() + b"\xff" + "lisää".encode()
    with pytest.raises(IngestError, match="mostly UTF-8"):
        decode_bytes(data, "x.txt")


def test_implausible_8bit_text_asks_for_encoding() -> None:
    data = bytes(range(0x80, 0x100)) * 4
    with pytest.raises(IngestError) as err:
        decode_bytes(data, "x.txt")
    assert err.value.hint is not None and "--encoding" in err.value.hint


def test_text_is_nfc_with_unix_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    decomposed = "H: Mita\u0308 kuuluu?\r\nV: Hyva\u0308a\u0308.\r\n"
    path.write_bytes(decomposed.encode("utf-8"))
    raw, _ = read_document(path)
    assert raw.text == "H: Mitä kuuluu?\nV: Hyvää."


@pytest.mark.parametrize("content", [b"", b"   \n\n  "])
def test_empty_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "tyhja.txt"
    path.write_bytes(content)
    with pytest.raises(IngestError, match=r"tyhja.txt: file is empty"):
        read_document(path)
