"""REFI-QDA exchange: real samples from other tools, round trips, schema validity, hostile input."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import defusedxml.ElementTree as SafeET
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qualcode.errors import QualcodeError
from qualcode.refi import (
    RefiCase,
    RefiCode,
    RefiCoding,
    RefiError,
    RefiProject,
    RefiSource,
    RefiUser,
    RefiVariable,
    ZipLimits,
    canonical,
    export_qdc,
    export_qdpx,
    guid_for,
    import_qdc,
    import_qdpx,
    normalise_guid,
)

# The shared bench data lives beside the repository (../shared), not in it.
BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench-data"
REFI = BENCH / "refi-qda"
DEMO = BENCH / "qc-demo-coded-interviews" / "demo.qdpx"
PROJECT_XSD = REFI / "schemas" / "Project-mrt2019.xsd"
CODEBOOK_XSD = REFI / "schemas" / "Codebook.xsd"
NO_SHARED = f"REFI-QDA samples and schemas not found under {BENCH} (shared/ is not beside the repo)"
needs_shared = pytest.mark.skipif(not REFI.is_dir(), reason=NO_SHARED)

SAMPLES = sorted(REFI.glob("samples/**/*.qdpx")) + sorted(REFI.glob("samples/**/*.qdc"))
if DEMO.is_file():
    SAMPLES.append(DEMO)
SAMPLE_PARAMS = [pytest.param(p, id=p.name) for p in SAMPLES] or [
    pytest.param(None, marks=pytest.mark.skip(reason=NO_SHARED))
]

NS = "urn:QDA-XML:project:1.0"
U1, U2 = "b1a4c0de-0000-4000-8000-000000000001", "b1a4c0de-0000-4000-8000-000000000002"
C1, C2, C3 = (f"c0de0000-0000-4000-8000-00000000000{i}" for i in (1, 2, 3))
S1, S2 = "50c0ffee-0000-4000-8000-000000000001", "50c0ffee-0000-4000-8000-000000000002"


def load(path: Path) -> tuple[RefiProject, list[str]]:
    if path.suffix == ".qdc":
        codes, warnings = import_qdc(path.read_bytes())
        return RefiProject(name=path.stem, codes=tuple(codes)), warnings
    return import_qdpx(path.read_bytes())


def make_zip(entries: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)  # ZipInfo keeps "../" and "/" names as they are
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def qde(body: str, origin: str = "tests") -> str:
    return f'<?xml version="1.0" encoding="utf-8"?><Project xmlns="{NS}" name="p" origin="{origin}">{body}</Project>'


CODEBOOK = f'<CodeBook><Codes><Code guid="{C1}" name="talous" isCodable="true"/></Codes></CodeBook>'


def text_source(text_path: str, start: int, end: int, guid: str = S1) -> str:
    return (
        f'<Sources><TextSource guid="{guid}" name="t" plainTextPath="{text_path}">'
        f'<PlainTextSelection guid="{guid_for("sel")}" startPosition="{start}" endPosition="{end}">'
        f'<Coding guid="{guid_for("coding")}"><CodeRef targetGUID="{C1}"/></Coding>'
        "</PlainTextSelection></TextSource></Sources>"
    )


def coded_text(project: RefiProject) -> list[str]:
    texts = {s.guid: s.text for s in project.sources}
    return [texts[c.source_guid][c.start : c.end] for c in project.codings]


# --- the samples ---------------------------------------------------------------------------

# What each sample holds after import: users, codes, sources, codings (see PROVENANCE.md).
EXPECTED = {
    "atlasti-win9_portableQDA_Atlasti.qdc": (0, 5, 0, 0),
    "spec-example_A1_codebook.qdc": (0, 6, 0, 0),
    "atlasti23_blank-atlas-project.qdpx": (2, 0, 0, 0),
    "atlasti23_target-atlas-project.qdpx": (2, 3, 0, 0),
    # The zip's Sources/ folder is empty, so the six text sources have no text to code.
    "atlasti8_standard-project_TestProject.qdpx": (3, 14, 0, 0),
    "nvivo-mac15_nvivo_project.qdpx": (2, 262, 2, 0),
    "demo.qdpx": (1, 262, 2, 205),
}


@pytest.mark.parametrize("path", SAMPLE_PARAMS)
def test_every_sample_imports_with_offsets_on_the_text(path: Path) -> None:
    project, _ = load(path)
    counts = (len(project.users), len(project.codes), len(project.sources), len(project.codings))
    assert counts == EXPECTED[path.name]
    texts = {s.guid: s.text for s in project.sources}
    codes = {c.guid for c in project.codes}
    for coding in project.codings:
        assert 0 <= coding.start < coding.end <= len(texts[coding.source_guid])
        assert coding.code_guid in codes
    for code in project.codes:
        assert normalise_guid(code.guid) == code.guid
        assert code.parent_guid is None or code.parent_guid in codes


@pytest.mark.parametrize("path", SAMPLE_PARAMS)
def test_every_sample_round_trips(path: Path) -> None:
    project, _ = load(path)
    if path.suffix == ".qdc":
        data = export_qdc(project.codes)
        again, warnings = import_qdc(data)
        assert again == list(canonical(project).codes)
        assert export_qdc(again) == data
    else:
        data = export_qdpx(project)
        reread, warnings = import_qdpx(data)
        assert reread == canonical(project)
        assert export_qdpx(reread) == data
    assert warnings == []


@needs_shared
def test_atlas_ti_8_sample_reports_everything_it_skips() -> None:
    project, warnings = import_qdpx(
        (REFI / "samples/atlasti8_standard-project_TestProject.qdpx").read_bytes()
    )
    assert warnings == [
        "skipped 6 TextSource elements (containing 7 Coding, 6 PlainTextSelection): the plain-text file is missing from the archive: '1960s Coca Cola commercial - Audio.docx' (01106019-2518-43DD-BBD1-8F0252BACB30.txt), '1960s Coca Cola commercial - Visual.docx' (C8A57C71-D156-4A94-8407-2BD2FA57E2A4.txt), '1994 Diet Coke-Diet Coke Break.docx' (230B768E-5A3D-42B7-BE92-2A3721177944.txt) and 3 more",
        "skipped 1 PictureSource element (containing 2 Coding, 1 PictureSelection): qualcode imports plain-text sources only",
        "skipped 2 PDFSource elements (containing 6 Coding, 4 PDFSelection, 2 PlainTextSelection): qualcode imports plain-text sources only",
        "skipped 1 AudioSource element: qualcode imports plain-text sources only",
        "skipped 2 VideoSource elements (containing 1 Coding, 2 VideoSelection): qualcode imports plain-text sources only",
        "skipped 1 Link element: links are not supported",
        "skipped 16 Set elements: sets are not supported",
        "skipped 1 Graph element: graphs are not supported",
    ]
    # Notes are read (as memos), with their text.
    assert [n.name for n in project.notes] == ["Research Plan", "My favorite Coke ad"]
    assert project.notes[0].text.startswith("This is a great project by a dynamic team")
    # 7 + 2 + 6 + 1 = the sample's 16 codings: none is lost without a word.
    by_name = {c.name: c for c in project.codes}
    assert by_name["Coke::diet Coke"].description == "non sucré"
    assert by_name["cornflakes"].color == "#DC0000"
    assert by_name["happiness"].guid == "85d17f60-7bb0-481e-b742-b4861dd669df"
    assert {u.name for u in project.users} == {
        "ATLAS.ti",
        "Friedrich Markgraf",
        "Sebastian Petrausch",
    }


@needs_shared
def test_codebook_samples() -> None:
    codes, warnings = import_qdc(
        (REFI / "samples/atlasti-win9_portableQDA_Atlasti.qdc").read_bytes()
    )
    assert warnings == [
        "the file uses 'urn:QDA-XML:codebook:0:4' instead of 'urn:QDA-XML:codebook:1.0'; read as REFI-QDA 1.0",
        "skipped 2 Set elements: code sets are not supported",
    ]
    by_name = {c.name: c for c in codes}
    assert by_name["code3"].codable is False
    assert by_name["code:3.1"].parent_guid == by_name["code3"].guid
    codes, warnings = import_qdc((REFI / "samples/spec-example_A1_codebook.qdc").read_bytes())
    assert warnings == []
    # Braced and unbraced GUIDs both come out bare and lower-case.
    assert [c.guid for c in codes][:2] == [
        "5215cc69-b628-4e02-afb9-9beeaee55808",
        "d7aa29da-519b-4946-9b90-253b6db8fd0a",
    ]
    assert codes[1].description == "Anything about jobs or taxes or business"
    assert (codes[1].color, codes[0].codable) == ("#ffff00", False)


@pytest.mark.skipif(not DEMO.is_file(), reason=NO_SHARED)
def test_demo_coded_texts_are_the_lines_the_selections_name() -> None:
    project, warnings = import_qdpx(DEMO.read_bytes())
    assert warnings == []
    # qc names each selection "line:N" (0-based) and selects exactly that line.
    with zipfile.ZipFile(DEMO) as archive:
        root = SafeET.fromstring(archive.read("project.qde"))
    texts = {s.guid: s.text for s in project.sources}
    spans = {(c.source_guid, c.start, c.end) for c in project.codings}
    checked = 0
    for source in root.iter(f"{{{NS}}}TextSource"):
        guid = source.get("guid")
        assert guid is not None
        lines = texts[guid].split("\n")
        for selection in source.iter(f"{{{NS}}}PlainTextSelection"):
            start, end = (
                int(selection.get("startPosition", "")),
                int(selection.get("endPosition", "")),
            )
            line = int(selection.get("name", "").removeprefix("line:"))
            assert (guid, start, end) in spans
            assert texts[guid][start:end] == lines[line] + "\n"
            checked += 1
    assert checked == 158

    codes = {c.guid: c for c in project.codes}

    def path(guid: str) -> str:
        code = codes[guid]
        return (path(code.parent_guid) + "/" if code.parent_guid else "") + code.name

    board = next(s for s in project.sources if s.name == "board_2017.txt")
    coded = {
        (c.start, c.end, path(c.code_guid)) for c in project.codings if c.source_guid == board.guid
    }
    assert (1752, 1766, "rq2_curriculum_and_instruction/pedagogy/fun") in coded
    assert board.text[1752:1766] == "science fun. \n"
    assert (51547, 51627, "rq1_definition/rationales/equity") in coded
    assert board.text[51547:51627].startswith("similar equity issues [inaudible 00:54:11]")
    assert {u.name for u in project.users} == {"cp"}
    assert all(c.user_guid == project.users[0].guid for c in project.codings)


# --- export: schema validity, determinism, round trip ---------------------------------------


def rich_project() -> RefiProject:
    text = "Haastattelija: Miten kaupunki tukee? 🙂\r\nVastaaja: Rahoituksella ja\tyhteistyöllä.\n"
    return RefiProject(
        name='Kaupunkitutkimus <2024> & "muut"',
        users=(RefiUser(U2, "Ville"), RefiUser(U1, "Aino")),
        codes=(
            RefiCode(C2, "Talous", "Raha & resurssit\r\nrivi 2", None, False, "#00AAff"),
            RefiCode(C3, "rahoitus", "", C2, True, None),
            RefiCode(C1, "yhteistyö", "", None, True, "#f0a"),
        ),
        sources=(
            RefiSource(S2, "tyhjä", ""),
            RefiSource(S1, "haastattelu 1.txt", text),
        ),
        codings=(
            RefiCoding(guid_for("k2"), S1, text.index("Rahoituksella"), len(text) - 1, C3, U2),
            RefiCoding(guid_for("k1"), S1, text.index("Rahoituksella"), len(text) - 1, C1, U1),
            RefiCoding(guid_for("k3"), S1, 0, text.index("🙂") + 1, C1, None),
        ),
        variables=(
            RefiVariable(guid_for("v-age"), "ikä", "Integer"),
            RefiVariable(guid_for("v-city"), "kaupunki", "Text"),
            RefiVariable(guid_for("v-date"), "päivä", "Date"),
            RefiVariable(guid_for("v-flag"), "mukana", "Boolean"),
        ),
        cases=(
            RefiCase(
                guid_for("case-1"),
                "Haastateltava 1",
                "Oulu\r\n",
                (S1,),
                (
                    (guid_for("v-city"), " Oulu  "),
                    (guid_for("v-age"), "42"),
                    (guid_for("v-date"), "2024-02-29"),
                    (guid_for("v-flag"), ""),
                ),
            ),
        ),
    )


def test_round_trip_keeps_text_offsets_and_every_record() -> None:
    project = rich_project()
    data = export_qdpx(project)
    reread, warnings = import_qdpx(data)
    assert warnings == []
    assert reread == canonical(project)
    assert export_qdpx(reread) == data
    # CRLF and the astral emoji count as code points: offsets still land on the same text.
    assert sorted(coded_text(reread)) == sorted(coded_text(project))
    assert "Miten kaupunki tukee? 🙂" in coded_text(reread)[0]


def test_export_is_deterministic_and_ignores_input_order() -> None:
    project = rich_project()
    rng = random.Random(3)
    shuffled = RefiProject(
        name=project.name,
        users=tuple(rng.sample(project.users, len(project.users))),
        codes=project.codes,  # sibling order is meaningful and kept
        sources=tuple(reversed(project.sources)),
        codings=tuple(rng.sample(project.codings, len(project.codings))),
        variables=tuple(reversed(project.variables)),
        cases=project.cases,
    )
    assert export_qdpx(shuffled) == export_qdpx(project)
    with zipfile.ZipFile(io.BytesIO(export_qdpx(project))) as archive:
        assert archive.namelist() == ["project.qde", f"sources/{S1}.txt", f"sources/{S2}.txt"]
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        text = archive.read(f"sources/{S1}.txt").decode("utf-8")
        assert text == project.sources[1].text
        qde_text = archive.read("project.qde").decode("utf-8")
    assert f'plainTextPath="internal://{S1}.txt"' in qde_text
    assert '<Code guid="' + C2 + '" name="Talous" isCodable="false" color="#00AAff">' in qde_text


def test_export_normalises_guids() -> None:
    braced = RefiProject(name="p", codes=(RefiCode("{" + C1.upper() + "}", "x"),))
    reread, _ = import_qdpx(export_qdpx(braced))
    assert reread.codes == (RefiCode(C1, "x"),)


@needs_shared
def test_export_validates_against_the_refi_schemas() -> None:
    xmlschema = pytest.importorskip("xmlschema")
    project_schema = xmlschema.XMLSchema(str(PROJECT_XSD))
    codebook_schema = xmlschema.XMLSchema(str(CODEBOOK_XSD))
    projects = [rich_project(), RefiProject(name="empty")]
    if DEMO.is_file():
        projects.append(import_qdpx(DEMO.read_bytes())[0])
    for project in projects:
        with zipfile.ZipFile(io.BytesIO(export_qdpx(project))) as archive:
            project_schema.validate(io.BytesIO(archive.read("project.qde")))
    codebook_schema.validate(io.BytesIO(export_qdc(rich_project().codes)))


names = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\t\n\r"), max_size=12
)
texts = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=60).filter(
    lambda text: not text.startswith("\ufeff")  # refused on export, see below
)


@st.composite
def projects(draw: st.DrawFn) -> RefiProject:
    sources = tuple(
        RefiSource(guid_for("s", str(i)), draw(names), draw(texts))
        for i in range(draw(st.integers(1, 3)))
    )
    codes: list[RefiCode] = []
    for i in range(draw(st.integers(1, 5))):
        parent = draw(st.sampled_from([None, *(c.guid for c in codes)]))
        color = draw(st.sampled_from([None, "#abc", "#A0B1C2"]))
        codes.append(
            RefiCode(
                guid_for("c", str(i)), draw(names), draw(names), parent, draw(st.booleans()), color
            )
        )
    users = (RefiUser(U1, draw(names)), RefiUser(U2, draw(names)))
    codings = []
    for i in range(draw(st.integers(0, 8))):
        source = draw(st.sampled_from(sources))
        start = draw(st.integers(0, len(source.text) - 1))
        end = draw(st.integers(start + 1, len(source.text)))
        code = draw(st.sampled_from(codes)).guid
        user = draw(st.sampled_from([None, U1, U2]))
        codings.append(RefiCoding(guid_for("k", str(i)), source.guid, start, end, code, user))
    return RefiProject(draw(names), users, tuple(codes), sources, tuple(codings))


@settings(max_examples=60, deadline=None)
@given(projects())
def test_any_project_round_trips(project: RefiProject) -> None:
    data = export_qdpx(project)
    reread, warnings = import_qdpx(data)
    assert warnings == []
    assert reread == canonical(project)
    assert export_qdpx(reread) == data


def test_export_reports_every_problem() -> None:
    bad = RefiProject(
        name="p",
        users=(RefiUser(U1, "a"),),
        codes=(
            RefiCode("c1", "bad id"),
            RefiCode(C1, "loop", parent_guid=C2),
            RefiCode(C2, "pool", parent_guid=C1, color="red"),
        ),
        sources=(RefiSource(S1, "s", "lyhyt"),),
        codings=(
            RefiCoding(guid_for("k1"), S1, 2, 99, C1, U1),
            RefiCoding(guid_for("k2"), S2, 0, 1, C3, U2),
        ),
        cases=(
            RefiCase(guid_for("case"), "x\x00", source_guids=(S2,), values=((guid_for("v"), "1"),)),
        ),
    )
    with pytest.raises(RefiError) as info:
        export_qdpx(bad)
    assert str(info.value) == "cannot export: code 'bad id': 'c1' is not a GUID (and 10 more)"
    assert info.value.problems == (
        "code 'bad id': 'c1' is not a GUID",
        "code 'pool': colour 'red' is not #RGB or #RRGGBB",
        "code 'loop': its parents form a cycle",
        "code 'pool': its parents form a cycle",
        f"coding {guid_for('k1')}: range 2-99 is not inside 's' (5 characters)",
        f"coding {guid_for('k2')}: code {C3} is not in the codebook",
        f"coding {guid_for('k2')}: user {U2} is not in the users",
        f"coding {guid_for('k2')}: source {S2} is not in the sources",
        "case 'x\\x00': character U+0000 cannot be stored in XML",
        f"case 'x\\x00': source {S2} is not in the sources",
        f"case 'x\\x00': variable {guid_for('v')} is not in the variables",
    )
    assert isinstance(info.value, QualcodeError)


@pytest.mark.parametrize(
    ("variable_type", "value", "valid"),
    [
        ("Integer", "-12", True),
        ("Integer", "1.5", False),
        ("Float", "3.25", True),
        ("Float", "1e3", False),  # xsd:decimal has no exponent
        ("Boolean", "true", True),
        ("Boolean", "yes", False),
        ("Date", "2024-02-29", True),
        ("Date", "2023-02-29", False),
        ("DateTime", "2024-02-29T10:00:00Z", True),
        ("DateTime", "2024-02-29 10:00", False),
        ("Text", "anything at all", True),
    ],
)
def test_export_checks_variable_values(variable_type: str, value: str, valid: bool) -> None:
    variable = RefiVariable(guid_for("v"), "v", variable_type)
    project = RefiProject(
        "p",
        variables=(variable,),
        cases=(RefiCase(guid_for("c"), "c", values=((variable.guid, value),)),),
    )
    if valid:
        assert import_qdpx(export_qdpx(project))[0] == canonical(project)
    else:
        with pytest.raises(RefiError, match=f"is not a valid {variable_type} for 'v'"):
            export_qdpx(project)


def test_export_refuses_a_text_that_starts_with_a_bom() -> None:
    project = RefiProject("p", sources=(RefiSource(S1, "s", "\ufeffteksti"),))
    with pytest.raises(RefiError) as info:
        export_qdpx(project)
    assert info.value.problems == ("source 's': the text starts with a byte order mark (U+FEFF)",)


def test_export_qdc_needs_a_code() -> None:
    with pytest.raises(RefiError, match=r"^cannot export: a codebook needs at least one code$"):
        export_qdc([])


# --- import tolerance ------------------------------------------------------------------------


def test_upper_case_folders_boms_braced_guids_and_crlf_offsets() -> None:
    text = "Eka rivi\r\nToka rivi\r\n"
    start = text.index("Toka")
    data = make_zip(
        {
            "Project.qde": "\ufeff"
            + qde(
                CODEBOOK
                + text_source(
                    f"internal://{S1.upper()}.txt", start, start + 10, guid="{" + S1.upper() + "}"
                )
            ),
            f"Sources/{S1.upper()}.txt": "\ufeff" + text,
        }
    )
    project, warnings = import_qdpx(data)
    assert warnings == []
    # Not ATLAS.ti: the offsets count CR and LF as two code points, as REFI-QDA 1.5 §10.2 says.
    assert project.sources[0].text == text
    assert project.sources[0].guid == S1
    assert coded_text(project) == ["Toka rivi\r"]


def test_atlas_ti_counts_crlf_as_one_character() -> None:
    text = "Eka rivi\r\nToka rivi\r\n"
    lf = text.replace("\r\n", "\n")
    start = lf.index("Toka")
    data = make_zip(
        {
            "project.qde": qde(
                CODEBOOK + text_source(f"internal://{S1}.txt", start, start + 9),
                origin="ATLAS.ti 23.2.3",
            ),
            f"sources/{S1}.txt": text,
        }
    )
    project, warnings = import_qdpx(data)
    assert coded_text(project) == ["Toka rivi"]
    assert warnings == [
        "source 't': CRLF line ends turned into LF, because ATLAS.ti counts a line break as one character in its offsets"
    ]


def test_bare_file_names_inline_text_and_non_utf8() -> None:
    body = (
        CODEBOOK
        + f'<Sources><TextSource guid="{S1}" plainTextPath="notes.txt">'
        + f'<PlainTextSelection guid="{guid_for("a")}" startPosition="0" endPosition="3"><Coding guid="{guid_for("b")}"><CodeRef targetGUID="{C1}"/></Coding></PlainTextSelection></TextSource>'
        + f'<TextSource guid="{S2}" name="inline"><PlainTextContent>Sisältö</PlainTextContent></TextSource></Sources>'
    )
    project, warnings = import_qdpx(
        make_zip({"project.qde": qde(body), "sources/notes.txt": "Äiti".encode("cp1252")})
    )
    assert [(s.name, s.text) for s in project.sources] == [
        ("notes.txt", "Äiti"),
        ("inline", "Sisältö"),
    ]
    assert coded_text(project) == ["Äit"]
    assert warnings == ["source 'notes.txt' is not UTF-8; read as Windows-1252"]


def test_what_cannot_be_represented_is_reported() -> None:
    body = (
        f'<Users><User guid="{U1}" name="a"/></Users>'
        + CODEBOOK
        + f'<Sources><TextSource guid="{S1}" name="t" plainTextPath="internal://{S1}.txt">'
        + f'<PlainTextSelection guid="{guid_for("1")}" startPosition="5" endPosition="50"><Coding guid="{guid_for("2")}"><CodeRef targetGUID="{C1}"/></Coding></PlainTextSelection>'
        + f'<PlainTextSelection guid="{guid_for("3")}" startPosition="0" endPosition="2" creatingUser="{U2}"><Description>muistio</Description>'
        + f'<Coding guid="{guid_for("4")}"><CodeRef targetGUID="{C2}"/></Coding><Coding guid="{guid_for("5")}"><CodeRef targetGUID="{C1}"/></Coding></PlainTextSelection>'
        + f'<Coding guid="{guid_for("6")}"><CodeRef targetGUID="{C1}"/></Coding></TextSource>'
        + f'<PictureSource guid="{S2}" path="internal://x.png"><PictureSelection guid="{guid_for("7")}" firstX="0" firstY="0" secondX="1" secondY="1"><Coding guid="{guid_for("8")}"><CodeRef targetGUID="{C1}"/></Coding></PictureSelection></PictureSource>'
        + "</Sources>"
    )
    project, warnings = import_qdpx(
        make_zip({"project.qde": qde(body), f"sources/{S1}.txt": "abcdef"})
    )
    assert coded_text(project) == ["ab"]
    assert project.codings[0].user_guid == U2
    assert warnings == [
        "codings name users that are not in <Users>; they were added without a name",
        "skipped 1 PlainTextSelection element (containing 1 Coding): the range is empty or outside the source text: 5-50",
        "skipped 1 Description element: selection descriptions (memos) are not imported",
        "skipped 1 Coding element: the code it refers to is not in the codebook",
        "skipped 1 Coding element: codings of a whole source are not imported",
        "skipped 1 PictureSource element (containing 1 Coding, 1 PictureSelection): qualcode imports plain-text sources only",
    ]


def test_ids_that_are_not_guids_or_missing_get_stable_guids() -> None:
    body = (
        '<CodeBook><Codes><Code guid="koodi-1" name="a" isCodable="true"/></Codes></CodeBook>'
        + f'<Sources><TextSource guid="{S1}" name="t"><PlainTextContent>abc</PlainTextContent>'
        + '<PlainTextSelection guid="x" startPosition="0" endPosition="2">'
        + '<Coding><CodeRef targetGUID="KOODI-1"/></Coding></PlainTextSelection></TextSource></Sources>'
    )
    project, warnings = import_qdpx(make_zip({"project.qde": qde(body)}))
    assert project.codes[0].guid == guid_for("refi-id", "koodi-1")
    # References are not GUIDs either, so they are matched exactly as written.
    assert project.codings == ()
    project, warnings = import_qdpx(
        make_zip({"project.qde": qde(body.replace("KOODI-1", "koodi-1"))})
    )
    assert [c.code_guid for c in project.codings] == [project.codes[0].guid]
    assert normalise_guid(project.codings[0].guid) == project.codings[0].guid
    assert warnings == [
        "ids that are not GUIDs were replaced by GUIDs derived from them (1): 'koodi-1'",
        "elements without a guid were given one derived from their content (1)",
    ]
    assert import_qdpx(export_qdpx(project))[0] == canonical(project)


def test_codebook_without_namespace_is_read_with_a_warning() -> None:
    codes, warnings = import_qdc(
        f'<CodeBook><Codes><Code guid="{C1}" name="a" isCodable="false"/></Codes></CodeBook>'.encode()
    )
    assert codes == [RefiCode(C1, "a", codable=False)]
    assert warnings == [
        "the file uses no namespace instead of 'urn:QDA-XML:codebook:1.0'; read as REFI-QDA 1.0"
    ]


def test_variables_and_cases_are_imported() -> None:
    v_age, v_city, case = guid_for("age"), guid_for("city"), guid_for("case")
    body = (
        f'<Variables><Variable guid="{v_age}" name="ikä" typeOfVariable="Integer"/><Variable guid="{v_city}" name="kaupunki" typeOfVariable="Text"/></Variables>'
        + f'<Cases><Case guid="{case}" name="H1"><Description>kuvaus</Description>'
        + f'<VariableValue><VariableRef targetGUID="{v_age}"/><IntegerValue> 42 </IntegerValue></VariableValue>'
        + f'<VariableValue><VariableRef targetGUID="{v_city}"/><TextValue> Oulu </TextValue></VariableValue>'
        + f'<VariableValue><VariableRef targetGUID="{v_age}"/><IntegerValue>neljä</IntegerValue></VariableValue>'
        + f'<SourceRef targetGUID="{S1}"/><SourceRef targetGUID="{S2}"/></Case></Cases>'
        + f'<Sources><TextSource guid="{S1}" name="t"><PlainTextContent>x</PlainTextContent></TextSource></Sources>'
    )
    project, warnings = import_qdpx(make_zip({"project.qde": qde(body)}))
    assert project.variables == (
        RefiVariable(v_age, "ikä", "Integer"),
        RefiVariable(v_city, "kaupunki", "Text"),
    )
    assert project.cases == (
        RefiCase(case, "H1", "kuvaus", (S1,), ((v_age, "42"), (v_city, " Oulu "))),
    )
    assert warnings == [
        "skipped 1 SourceRef element: the source it refers to was not imported",
        "skipped 1 VariableValue element: the value does not match the variable's type: ikä='neljä'",
    ]


# --- hostile archives ------------------------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&lol3;"/>"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE p [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&secret;"/>"""
DTD_REFUSED = "the XML has a document type declaration (DTD), which is refused: it can define entities that expand without bound or read files"


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            {"project.qde": qde(""), "../evil.txt": "x"},
            "archive entry '../evil.txt' points outside the archive (..); refusing it",
        ),
        (
            {"project.qde": qde(""), "sources/../../evil.txt": "x"},
            "archive entry 'sources/../../evil.txt' points outside the archive (..); refusing it",
        ),
        (
            {"project.qde": qde(""), "/etc/cron.d/evil": "x"},
            "archive entry '/etc/cron.d/evil' has an absolute path; refusing the archive",
        ),
        (
            {"project.qde": qde(""), "C:/Windows/evil.dll": "x"},
            "archive entry 'C:/Windows/evil.dll' has an absolute path; refusing the archive",
        ),
        ({"project.qde": BILLION_LAUGHS}, f"project.qde: {DTD_REFUSED}"),
        ({"project.qde": EXTERNAL_ENTITY}, f"project.qde: {DTD_REFUSED}"),
        ({"sources/a.txt": "x"}, "not a QDPX file: the archive has no project.qde"),
        (
            {"project.qde": "<Project"},
            "project.qde: not well-formed XML (unclosed token: line 1, column 0)",
        ),
        (
            {"project.qde": '<CodeBook xmlns="urn:QDA-XML:codebook:1.0"/>'},
            "project.qde: the root element is CodeBook, not Project",
        ),
        (
            {"project.qde": '<Project xmlns="urn:example:other" name="p"/>'},
            "the XML namespace 'urn:example:other' is not a REFI-QDA one (urn:QDA-XML:project:1.0)",
        ),
    ],
)
def test_hostile_or_broken_archives_are_refused(
    entries: dict[str, bytes | str], message: str
) -> None:
    with pytest.raises(RefiError) as info:
        import_qdpx(make_zip(entries))
    assert str(info.value) == message


def test_zip_bomb_is_refused_before_decompression() -> None:
    data = make_zip({"project.qde": qde(""), "sources/bomb.txt": b"\0" * (20 * 1024 * 1024)})
    assert len(data) < 100_000
    with pytest.raises(
        RefiError,
        match=r"^archive entry 'sources/bomb.txt' expands \d+:1 \(limit 200:1\); refusing a possible zip bomb$",
    ):
        import_qdpx(data)


def test_total_size_and_entry_count_are_limited() -> None:
    entries: dict[str, bytes | str] = {
        "project.qde": qde(""),
        "sources/a.txt": "x" * 600,
        "sources/b.txt": "y" * 600,
    }
    with pytest.raises(
        RefiError,
        match=r"^the archive expands to more than 1000 bytes; refusing a possible zip bomb$",
    ):
        import_qdpx(make_zip(entries), limits=ZipLimits(max_total_size=1000))
    with pytest.raises(RefiError, match=r"^the archive has 3 entries, more than the limit of 2$"):
        import_qdpx(make_zip(entries), limits=ZipLimits(max_entries=2))
    many: dict[str, bytes | str] = {f"sources/{i}.txt": "" for i in range(10_001)}
    with pytest.raises(
        RefiError, match=r"^the archive has 10001 entries, more than the limit of 10000$"
    ):
        import_qdpx(make_zip(many))


def test_a_lying_size_header_does_not_inflate_past_it() -> None:
    name = f"sources/{S1}.txt"
    body = CODEBOOK + text_source(f"internal://{S1}.txt", 0, 1)
    honest = make_zip({"project.qde": qde(body), name: b"a" * (5 * 1024 * 1024)})
    # Claim 1000 bytes in both the local and the central header of the text entry.
    forged = bytearray(honest)
    with zipfile.ZipFile(io.BytesIO(honest)) as archive:
        local = archive.getinfo(name).header_offset
    central = honest.rindex(b"PK\x01\x02")
    forged[local + 22 : local + 26] = (1000).to_bytes(4, "little")
    forged[central + 24 : central + 28] = (1000).to_bytes(4, "little")
    with pytest.raises(RefiError) as info:
        import_qdpx(bytes(forged))
    assert (
        str(info.value) == f"archive entry {name!r} cannot be read (Bad CRC-32 for file {name!r})"
    )


def test_not_a_zip_and_codebook_dtd_are_refused() -> None:
    with pytest.raises(
        RefiError, match=r"^not a QDPX file: not a readable zip archive \(File is not a zip file\)$"
    ):
        import_qdpx(b"plain text, not a zip")
    with pytest.raises(RefiError) as info:
        import_qdc(BILLION_LAUGHS.replace("Project", "CodeBook").encode())
    assert str(info.value) == f"codebook: {DTD_REFUSED}"
