"""Containers, file formats and outputs that cannot hurt (issue 13 part C).

Every test reproduces one reported failure: a live formula in the matrix workbook, a name in an
ASCII-spelled file name, a zip bomb or a damaged file given to ``names check`` or
``report --template``, colliding report file names, and binary data in a text transcript.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest

from conftest import SAMPLE, Invoke, db_snapshot, run
from qualcode.errors import ArchiveError, IngestError
from qualcode.ingest import read_document
from qualcode.project import init_project
from qualcode.safezip import SafeZip, ZipLimits, check_zip
from qualcode.workflow.corpus import _names_in_file_name
from qualcode.workflow.reporting import report_file_names

EVIL = '=HYPERLINK("http://evil.example","klik")'
CODEBOOK = f"""name: Vaarallinen
version: 1
language: fi
codes:
  - id: teema
    label: '{EVIL}'
    codable: false
  - id: yhteistyo
    label: '+Yhteistyö'
    parent: teema
    keywords: [yhteistyö]
"""
# Cities whose report names would collide: with the summary, and with each other once case
# and the characters a file name drops are ignored.
CITIES = ("yhteenveto", "Pori", "Pori!", "PORI")


@pytest.fixture(scope="module")
def coded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose theme label is a formula, with one coded answer in each city."""
    base = tmp_path_factory.mktemp("safety")
    (base / "cb.yaml").write_text(CODEBOOK, encoding="utf-8")
    root = base / "proj"
    init_project(root, coder="tutkija", codebook=base / "cb.yaml")
    for i, city in enumerate(CITIES):
        path = base / f"haastattelu{i}.txt"
        path.write_text(
            "Haastattelija: Miten yhteistyö sujuu?\n\n"
            f"Vastaaja: Yhteistyö sujuu hyvin, kaupunki {i} ja yritykset tekevät töitä yhdessä.\n",
            encoding="utf-8",
        )
        run(root, "import", path, "--city", city)
    run(root, "tag")
    run(root, "export", "segments", "--out", base / "s.csv")
    rows = csv.DictReader(io.StringIO((base / "s.csv").read_text(encoding="utf-8-sig")))
    for row in rows:
        if row["speaker"] == "Vastaaja":
            run(root, "code", row["segment_id"], "yhteistyo")
    return root


# --- 1. no live formula in the matrix workbook --------------------------------------------


def test_matrix_workbook_has_no_formula_cells_and_keeps_the_label(
    coded: Path, tmp_path: Path
) -> None:
    out = tmp_path / "m.xlsx"
    run(coded, "matrix", "--out", out)
    with zipfile.ZipFile(out) as archive:
        xml = {n: archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith(".xml")}
    sheets = [n for n in xml if n.startswith("xl/worksheets/")]
    assert len(sheets) == 5
    for name, text in xml.items():
        assert not re.search(r"<f[ >]", text), name
    book = openpyxl.load_workbook(out)
    for measure in ("segments", "documents", "share_of_interviewees", "per_1000_words"):
        header = book[measure]["B1"]
        assert (header.value, header.data_type) == ("'" + EVIL, "s"), measure
    labels = [row[2] for row in book["quotes"].iter_rows(min_row=2, values_only=True)]
    assert labels == ["'" + EVIL] * len(CITIES)
    # A number stays a number: the guard only touches text.
    assert book["segments"]["B2"].value == 1 and book["segments"]["B2"].data_type == "n"


# --- 5. report file names never collide ---------------------------------------------------


def test_reports_of_cities_named_like_the_summary_or_each_other_all_survive(
    coded: Path, tmp_path: Path
) -> None:
    out = tmp_path / "rep"
    output = run(coded, "report", "--all", "--out", out, "--date", "2026-11-27")
    written = [line.removeprefix("Wrote ") for line in output.splitlines() if "Wrote " in line]
    assert len(written) == len(CITIES) + 1 == len(set(written))
    names = report_file_names(CITIES)
    assert sorted(p.name for p in out.glob("*.docx")) == sorted(
        [*names.values(), "yhteenveto.docx"]
    )
    keys = [unicodedata.normalize("NFC", n).casefold() for n in [*names.values(), "summary.docx"]]
    assert len(set(keys)) == len(keys)  # distinct on case-insensitive file systems too
    assert names["PORI"] == "PORI.docx"  # the first in sorted order keeps the plain name
    assert re.fullmatch(r"yhteenveto-[0-9a-f]{6}\.docx", names["yhteenveto"])
    titles = {
        city: docx.Document(str(out / name)).core_properties.title for city, name in names.items()
    }
    for city, title in titles.items():
        assert title.startswith(city), (city, title)  # "PORIn innovaatioekosysteemin ..."
    summary = docx.Document(str(out / "yhteenveto.docx")).core_properties.title
    assert summary not in titles.values()
    # The same name whether one report or all are written.
    run(coded, "report", "--city", "Pori!", "--out", tmp_path / "one", "--date", "2026-11-27")
    assert [p.name for p in (tmp_path / "one").glob("*.docx")] == [names["Pori!"]]


def test_report_file_names_are_stable_and_distinct() -> None:
    cities = ["Pori", "pori ", "Pori!", "summary", "Summary", "", "???", "Nul", "Hämeenlinna"]
    cities.append(unicodedata.normalize("NFD", "Hämeenlinna"))
    names = report_file_names(cities)
    assert names == report_file_names(list(reversed(cities)))
    keys = [unicodedata.normalize("NFC", n).casefold() for n in names.values()]
    assert len(set(keys)) == len(cities)
    assert not {"yhteenveto.docx", "summary.docx", "nul.docx"} & set(keys)
    assert names["Pori"] == "Pori.docx" and names["Hämeenlinna"] == "Hämeenlinna.docx"
    assert names[""] == "kaupunki.docx" and names["???"].startswith("kaupunki-")


# --- 2. ASCII spellings of a participant's name in a file name ----------------------------


@pytest.mark.parametrize(
    ("file_name", "found"),
    [
        ("ilvesvaara-rönkkö.txt", ("Rönkkö",)),
        ("ilvesvaara-ronkko.txt", ("Rönkkö",)),
        ("ILVESVAARA_RONKKO.docx", ("Rönkkö",)),
        (unicodedata.normalize("NFD", "ilvesvaara-rönkkö.txt"), ("Rönkkö",)),  # macOS names
        ("aaltovirta-haastattelu.txt", ("Aaltovirta",)),
        ("saarvala-angstrom-vastaukset.txt", ("Ångström",)),
        ("ilvesvaara-01-kaupunginjohtaja.txt", ()),
        ("ilvesvaara-ronkkola.txt", ()),  # another word that only starts alike
    ],
)
def test_file_name_check_folds_case_and_diacritics(file_name: str, found: tuple[str, ...]) -> None:
    people = ["Helka Rönkkö", "Tuomas Aaltovirta", "Åsa Ångström"]
    assert _names_in_file_name(file_name, people) == found


def test_import_refuses_the_ascii_spelling_of_a_participant_in_a_file_name(
    qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "aineisto"
    folder.mkdir()
    (folder / "ilvesvaara-ronkko.txt").write_bytes(
        (SAMPLE / "ilvesvaara-02-matkailuyrittaja.txt").read_bytes()
    )
    (folder / "metadata.csv").write_text(
        "file,city,participant,role,organisation_type,kind\n"
        "ilvesvaara-ronkko.txt,Ilvesvaara,Helka Rönkkö,kaupungin edustaja,kaupunki,interview\n",
        encoding="utf-8",
    )
    before = db_snapshot(project_dir)
    result = qc("import", folder)
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"Error: {folder / 'ilvesvaara-ronkko.txt'}: the file name contains a "
        "participant's name (Rönkkö)"
    )
    assert db_snapshot(project_dir) == before


# --- 3. one guarded zip opener ------------------------------------------------------------


def make_zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def bomb_docx() -> bytes:
    """A real Word document with one 20 MB entry of zeros (about 20 KB compressed)."""
    buffer = io.BytesIO()
    docx.Document().save(buffer)
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/media/bomb.bin", b"\0" * (20 * 1024 * 1024))
    return buffer.getvalue()


def bomb_xlsx() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["Helka Rönkkö"])  # type: ignore[union-attr]
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/bomb.bin", b"\0" * (20 * 1024 * 1024))
    return buffer.getvalue()


BOMB_ENTRY = re.compile(
    r"archive entry '(word|xl|sources)/(media/)?bomb\.(bin|txt)' expands \d+:1 \(limit 200:1\); "
    r"refusing a possible zip bomb"
)


@pytest.mark.parametrize("suffix", [".qdpx", ".docx", ".xlsx"])
def test_names_check_refuses_a_zip_bomb_before_inflating_it(
    qc: Invoke, project_dir: Path, tmp_path: Path, suffix: str
) -> None:
    data = {
        ".qdpx": lambda: make_zip(
            {"project.qde": b"<Project/>", "sources/bomb.txt": b"\0" * (20 * 1024 * 1024)}
        ),
        ".docx": bomb_docx,
        ".xlsx": bomb_xlsx,
    }[suffix]()
    assert len(data) < 100_000
    path = tmp_path / f"vienti{suffix}"
    path.write_bytes(data)
    before = db_snapshot(project_dir)
    result = qc("names", "check", path)
    assert result.exit_code == 1
    first, *rest = result.output.splitlines()
    assert first.startswith(f"Error: {path}: ") and BOMB_ENTRY.fullmatch(first.split(": ", 2)[2])
    assert len(rest) == 1 and rest[0].startswith("Hint: ")
    assert db_snapshot(project_dir) == before


def test_a_transcript_zip_bomb_is_refused_on_import(tmp_path: Path) -> None:
    path = tmp_path / "haastattelu.docx"
    path.write_bytes(bomb_docx())
    with pytest.raises(IngestError) as info:
        read_document(path)
    assert BOMB_ENTRY.fullmatch(info.value.problem)


def test_safezip_checks_sizes_counts_names_and_encryption() -> None:
    entries = {"a.txt": b"x" * 600, "b.txt": b"y" * 600, "c/": b""}
    with pytest.raises(ArchiveError, match=r"^the archive expands to more than 1000 bytes; "):
        check_zip(make_zip(entries), ZipLimits(max_total_size=1000))
    with pytest.raises(
        ArchiveError, match=r"^the archive has 3 entries, more than the limit of 2$"
    ):
        check_zip(make_zip(entries), ZipLimits(max_entries=2))
    with SafeZip(make_zip(entries)) as archive:
        assert archive.names() == ["a.txt", "b.txt"]  # folders are not files
        assert archive.read("a.txt") == b"x" * 600
    for name, problem in [
        ("../../.bashrc", "points outside the archive (..); refusing it"),
        ("sources\\..\\..\\x.txt", "points outside the archive (..); refusing it"),
        ("/etc/passwd", "has an absolute path; refusing the archive"),
        ("C:/Windows/x.txt", "has an absolute path; refusing the archive"),
    ]:
        with pytest.raises(ArchiveError) as info:
            check_zip(make_zip({name: b"x"}))
        assert str(info.value) == f"archive entry {name!r} {problem}"
        assert not info.value.damaged
    encrypted = bytearray(make_zip({"a.txt": b"x"}))
    central = encrypted.rindex(b"PK\x01\x02")
    encrypted[central + 8] |= 0x1
    with pytest.raises(ArchiveError, match=r"^archive entry 'a.txt' is encrypted"):
        check_zip(bytes(encrypted))
    with pytest.raises(ArchiveError) as info:
        check_zip(b"PK\x03\x04 not really a zip")
    assert info.value.damaged and str(info.value).startswith("not a readable zip archive (")


def test_safezip_reads_no_more_than_the_declared_size() -> None:
    honest = make_zip({"big.txt": b"a" * (5 * 1024 * 1024)})
    forged = bytearray(honest)
    with zipfile.ZipFile(io.BytesIO(honest)) as archive:
        local = archive.getinfo("big.txt").header_offset
    central = honest.rindex(b"PK\x01\x02")
    # Claim 1000 bytes in both headers: the ratio check passes, inflation must stop at 1000.
    forged[local + 22 : local + 26] = (1000).to_bytes(4, "little")
    forged[central + 24 : central + 28] = (1000).to_bytes(4, "little")
    with SafeZip(bytes(forged)) as archive, pytest.raises(ArchiveError) as info:
        archive.read("big.txt")
    assert (
        str(info.value) == "archive entry 'big.txt' cannot be read (Bad CRC-32 for file 'big.txt')"
    )


def test_report_template_zip_bomb_is_refused_and_nothing_is_written(
    coded: Path, tmp_path: Path
) -> None:
    template = tmp_path / "pohja.docx"
    template.write_bytes(bomb_docx())
    output = run(
        coded, "report", "--all", "--template", template, "--out", tmp_path / "rep", code=1
    )
    first, hint = output.splitlines()
    assert first.startswith(f"Error: {template}: ") and BOMB_ENTRY.fullmatch(
        first.split(": ", 2)[2]
    )
    assert hint == "Hint: --template takes a Word document (.docx): re-save it in Word"
    assert not (tmp_path / "rep").exists()


# --- 4. damaged Office files: one line naming the file ------------------------------------


def _truncated_docx() -> bytes:
    buffer = io.BytesIO()
    docx.Document().save(buffer)
    return buffer.getvalue()[:3000]


def _docx_without(part: str) -> bytes:
    buffer = io.BytesIO()
    docx.Document().save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    return make_zip({n: source.read(n) for n in source.namelist() if n != part})


def _xlsx_without(part: str) -> bytes:
    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    return make_zip({n: source.read(n) for n in source.namelist() if n != part})


DAMAGED = {
    "truncated.docx": (_truncated_docx, "is not a valid .docx file (damaged or truncated zip)"),
    "text.docx": (lambda: b"Haastattelija: hei", "is not a valid .docx file (not a zip archive)"),
    "parts.docx": (
        lambda: _docx_without("[Content_Types].xml"),
        "cannot be read as a Word document (",
    ),
    "nodoc.docx": (
        lambda: _docx_without("word/document.xml"),
        "is a zip archive but not a Word document",
    ),
    "truncated.xlsx": (
        lambda: _truncated_docx(),
        "is not a valid .xlsx file (damaged or not a zip)",
    ),
    "parts.xlsx": (
        lambda: _xlsx_without("xl/workbook.xml"),
        "cannot be read as an Excel workbook (",
    ),
    "text.qdpx": (lambda: b"plain", "is not a valid .qdpx file (damaged or not a zip)"),
}


@pytest.mark.parametrize("name", sorted(DAMAGED))
def test_names_check_of_a_damaged_file_is_one_line_naming_it(
    qc: Invoke, project_dir: Path, tmp_path: Path, name: str
) -> None:
    make, problem = DAMAGED[name]
    path = tmp_path / name
    path.write_bytes(make())
    result = qc("names", "check", path)
    assert result.exit_code == 1
    first, *rest = result.output.splitlines()
    assert first.startswith(f"Error: {path}: {problem}"), first
    assert len(rest) == 1 and rest[0].startswith("Hint: ")


@pytest.mark.parametrize("name", ["truncated.docx", "text.docx", "parts.docx", "nodoc.docx"])
def test_a_damaged_report_template_is_one_line_and_writes_nothing(
    coded: Path, tmp_path: Path, name: str
) -> None:
    make, problem = DAMAGED[name]
    template = tmp_path / name
    template.write_bytes(make())
    output = run(
        coded, "report", "--city", "Pori", "--template", template, "--out", tmp_path / "r", code=1
    )
    first, hint = output.splitlines()
    assert first.startswith(f"Error: {template}: {problem}"), first
    assert hint == "Hint: --template takes a Word document (.docx): re-save it in Word"
    assert not (tmp_path / "r").exists()


def test_names_check_still_reads_good_containers(
    qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    document = docx.Document()
    document.add_paragraph("Tämä on Rönkön haastattelu.")
    document.save(str(tmp_path / "a.docx"))
    book = openpyxl.Workbook()
    book.active.append(["Tämä on Rönkön haastattelu."])  # type: ignore[union-attr]
    book.save(str(tmp_path / "a.xlsx"))
    (tmp_path / "a.qdpx").write_bytes(
        make_zip({"project.qde": b"<Project/>", "sources/a.txt": "Rönkön".encode()})
    )
    for suffix in (".docx", ".xlsx", ".qdpx"):
        result = qc("names", "check", tmp_path / f"a{suffix}")
        assert result.exit_code == 0 and result.output.startswith("OK: no registry names"), suffix


# --- 8. binary data past the first 8 KB ---------------------------------------------------


def test_a_nul_byte_after_the_first_8_kb_is_refused_with_its_line(
    qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    text = "Haastattelija: Kerro yhteistyöstä.\n\n" + "Vastaaja: Yhteistyö on tärkeää.\n" * 400
    assert len(text.encode()) > 8192
    path = tmp_path / "haastattelu.txt"
    path.write_bytes(text.encode() + b"binaari\x00roskaa\n")
    before = db_snapshot(project_dir)
    result = qc("import", path, "--city", "Pori")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: {path}:403: contains a NUL byte (binary data, or a damaged file?)",
        "Hint: open the file in an editor, remove the binary part and save it as text",
    ]
    assert db_snapshot(project_dir) == before
    # UTF-16 text is full of zero bytes, but decoded it has no NUL: still imported.
    (tmp_path / "utf16.txt").write_bytes(text.encode("utf-16"))
    assert read_document(tmp_path / "utf16.txt")[0].encoding == "utf-16"


def test_a_cut_archive_is_an_archive_error_not_a_seek_error() -> None:
    # Found by the fuzz tests: a zip missing its first byte has local-header offsets before the
    # start of the data, and zipfile raises a ValueError from seek().
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", "<Project/>" * 100)
    with SafeZip(buffer.getvalue()[1:]) as cut, pytest.raises(ArchiveError) as caught:
        cut.read("project.qde")
    assert caught.value.problem.startswith("archive entry 'project.qde' cannot be read (")


def test_a_qdc_declaring_an_unknown_encoding_is_one_line(qc: Invoke, tmp_path: Path) -> None:
    qdc = tmp_path / "koodit.qdc"
    qdc.write_bytes(b'<?xml version="1.0" encoding="x"?><CodeBook/>')
    result = qc("codebook", "import-qdc", qdc, "--out", tmp_path / "cb.yaml")
    assert result.exit_code == 1
    assert "the XML declares an unknown encoding (unknown encoding: x)" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "cb.yaml").exists()
