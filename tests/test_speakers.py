"""Issue 15, items 1 and 3, on real material: the fi-parliament debates as the four formats
researchers receive (tests/parliament.py builds them), and the sample workshop transcript.

Every speaker change is a segment (also for speakers who speak once), no speaker label is left
inside a segment's text, and quotes are signed by each speaker's own metadata.csv row.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from conftest import REPO, SAMPLE, Invoke, db_snapshot
from parliament import PARLIAMENT, SESSIONS, WRITERS, statements, turns, write_docx
from qualcode.cli import cli
from qualcode.ingest import read_document
from qualcode.project import init_project, open_project
from qualcode.segment import SegmentSettings, segment_document

pytestmark = pytest.mark.skipif(
    not PARLIAMENT.is_dir(), reason=f"shared bench data not found at {PARLIAMENT}"
)
CODEBOOK = REPO / "codebooks" / "innovaatioekosysteemi.yaml"


def segments_of(path: Path, max_words: int = 100_000) -> list[tuple[str | None, str]]:
    raw, _ = read_document(path)
    settings = SegmentSettings(max_words=max_words)
    return [
        (s.speaker, s.text)
        for s in segment_document("d", raw.text, turns=raw.turns, settings=settings)
    ]


@pytest.mark.parametrize("fmt", sorted(WRITERS))
@pytest.mark.parametrize("session", SESSIONS)
def test_one_segment_per_statement(tmp_path: Path, session: str, fmt: str) -> None:
    items = statements(session)
    path = WRITERS[fmt](items, tmp_path / f"{session}.{fmt}")
    got = [speaker for speaker, _ in segments_of(path) if speaker is not None]
    # Subtitles merge a speaker's consecutive cues into one turn; the text formats label
    # every statement, so each is a turn of its own.
    expected = (
        [sp for sp, _ in turns(items)] if fmt in ("vtt", "srt") else [s.speaker for s in items]
    )
    assert got == expected


def test_the_debates_have_speakers_who_speak_once() -> None:
    """What the test above guards: the old rule folded these into the previous turn."""
    once = {
        session: sum(
            1
            for sp in {s.speaker for s in statements(session)}
            if [s.speaker for s in statements(session)].count(sp) == 1
        )
        for session in SESSIONS
    }
    assert once == {
        "session-001-2015": 2,
        "session-007-2020": 11,
        "session-034-2015": 1,
        "session-035-2018": 13,
        "session-141-2017": 31,
    }


@pytest.mark.parametrize("fmt", sorted(WRITERS))
@pytest.mark.parametrize("session", ["session-007-2020", "session-035-2018", "session-141-2017"])
def test_no_speaker_label_inside_a_segment(tmp_path: Path, session: str, fmt: str) -> None:
    items = statements(session)
    path = WRITERS[fmt](items, tmp_path / f"{session}.{fmt}")
    names = {s.speaker for s in items}
    label = re.compile(rf"(?m)^(?:{'|'.join(map(re.escape, names))}):")
    segments = segments_of(path, max_words=150)
    assert {sp for sp, _ in segments} - {None} == names
    assert [text[:60] for _, text in segments if label.search(text)] == []


def test_docx_turns_are_not_folded_into_the_chairs(tmp_path: Path) -> None:
    """The issue's case: the chair's turn used to end in "…\\n\\nName: Arvoisa puhemies!…"."""
    path = write_docx(statements("session-035-2018"), tmp_path / "debate.docx")
    segments = segments_of(path)
    assert segments[0] == (None, "Täysistunnon pöytäkirja")
    assert len(segments) == 1 + 13
    assert all(sp for sp, _ in segments[1:])
    assert not [t for _, t in segments if "\n" in t]


# --- memos stay memos ---------------------------------------------------------------------------
# Segments of every sample file as before this change (only the new workshop transcript is new).
SAMPLE_SEGMENTS = {
    "ilvesvaara-01-kaupunginjohtaja.docx": 29,
    "ilvesvaara-02-matkailuyrittaja.txt": 24,
    "lounajoki-01-kaupunki.txt": 29,
    "lounajoki-02-ammattiopisto.docx": 25,
    "lounajoki-03-yritys.vtt": 29,
    "lounajoki-04-amk.txt": 29,
    "lounajoki-tyopaja-keskustelu.txt": 19,
    "lounajoki-tyopaja.docx": 64,
    "pohjanlinna-01-konepaja.docx": 27,
    "pohjanlinna-02-kehitysyhtio.srt": 29,
    "pohjanlinna-03-alihankkija.txt": 28,
    "pohjanlinna-tyopaja.txt": 59,
    "saarvala-01-elinkeinojohtaja.txt": 28,
    "saarvala-02-yrittaja.vtt": 26,
    "saarvala-03-lukio.docx": 24,
    "saarvala-tyopaja.md": 56,
}


def test_sample_files_segment_as_before() -> None:
    got = {}
    for path in sorted(SAMPLE.iterdir()):
        if path.suffix in (".txt", ".md", ".docx", ".vtt", ".srt") and path.stem != "README":
            raw, _ = read_document(path)
            got[path.name] = len(segment_document("d", raw.text, turns=raw.turns))
    assert got == SAMPLE_SEGMENTS


def test_memo_keys_in_a_conversation_are_not_speakers() -> None:
    text = (
        "Anna Salo: Aloitetaan.\n\nPekka Ranta: Hyvä.\n\nHuom: nauhuri katkesi.\n\n"
        "Liisa Laine: Jatketaan.\n\nAnna Salo: Kiitos."
    )
    got = [(s.speaker, s.text) for s in segment_document("d", text)]
    assert got == [
        ("Anna Salo", "Aloitetaan."),
        ("Pekka Ranta", "Hyvä.\n\nHuom: nauhuri katkesi."),
        ("Liisa Laine", "Jatketaan."),
        ("Anna Salo", "Kiitos."),
    ]


# --- quotes signed by the speaker's own metadata --------------------------------------------------
DEBATE = "eduskunta-2020.docx"
META = (
    "file,city,participant,role,organisation_type,kind,date,speaker\n"
    f"{DEBATE},Saarvala,Matti Vanhanen,puhemies,eduskunta,interview,2020-02-18,\n"
    f"{DEBATE},,Mari Rantanen,kansanedustaja,perussuomalaiset,,,Mari Rantanen\n"
    f'{DEBATE},,Leena Meri,"kansanedustaja, lakivaliokunta",perussuomalaiset,,,Leena Meri\n'
    "haastattelu.txt,Saarvala,Jaana Ketola,kaupungin edustaja,kaupunki,interview,2026-05-06,\n"
)
INTERVIEW = (
    "Haastattelija: Miten yritysten välinen yhteistyö toimii Saarvalassa?\n\n"
    "V: Yritykset tekevät yhteistyötä, mutta rakenteita puuttuu."
)


def run(project: Path, *args: object, code: int = 0) -> str:
    result = CliRunner().invoke(cli, ["--project", str(project), *map(str, args)])
    assert result.exit_code == code, result.output
    return result.output


def first_segment(project: Path, speaker: str) -> str:
    conn = sqlite3.connect(project / "qualcode.db")
    try:
        row = conn.execute(
            "SELECT id FROM segments WHERE speaker = ? ORDER BY document_id, seq", (speaker,)
        ).fetchone()
    finally:
        conn.close()
    assert row is not None, speaker
    return str(row[0])


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A project with the 2020 debate as an 'interview' of the chair, two MPs with speaker
    rows, and an interview whose interviewer turn is coded; returns the project and the
    coded segment of each speaker."""
    root = tmp_path_factory.mktemp("speakers")
    docs = root / "docs"
    docs.mkdir()
    write_docx(statements("session-007-2020"), docs / DEBATE)
    (docs / "haastattelu.txt").write_text(INTERVIEW, encoding="utf-8")
    (docs / "metadata.csv").write_text(META, encoding="utf-8")
    project = root / "proj"
    init_project(project, coder="tutkija", codebook=CODEBOOK)
    run(project, "import", docs)
    run(project, "tag")
    coded = {
        "Mari Rantanen": "kypsyys_kaynnistymassa",
        "Leena Meri": "pysyvat_rakenteet",
        "Pauli Kiuru": "vetovastuu_kaupunki",
        "Matti Vanhanen": "yhteistyo_toinen_aste",
        "Haastattelija": "yritysten_valinen_yhteistyo",
    }
    segments = {}
    for speaker, code in coded.items():
        segments[speaker] = first_segment(project, speaker)
        run(project, "code", segments[speaker], code)
    return project, segments


def test_each_coding_carries_its_speakers_own_metadata(
    signed: tuple[Path, dict[str, str]],
) -> None:
    from qualcode.workflow.reporting import load_matrix_data

    project_dir, segments = signed
    project = open_project(project_dir)
    try:
        codings = load_matrix_data(project).codings
    finally:
        project.close()
    by_segment = {
        r.segment_id: (r.speaker, r.participant, r.role, r.organisation_type, r.is_interviewer)
        for r in codings.itertuples()
    }
    assert {sp: by_segment[sid] for sp, sid in segments.items()} == {
        "Mari Rantanen": (
            "Mari Rantanen",
            "Mari Rantanen",
            "kansanedustaja",
            "perussuomalaiset",
            False,
        ),
        "Leena Meri": (
            "Leena Meri",
            "Leena Meri",
            "kansanedustaja, lakivaliokunta",
            "perussuomalaiset",
            False,
        ),
        # No row, in a document with many speakers: never someone else's role.
        "Pauli Kiuru": ("Pauli Kiuru", None, None, None, False),
        # The document's participant speaks for the document's row.
        "Matti Vanhanen": ("Matti Vanhanen", "Matti Vanhanen", "puhemies", "eduskunta", False),
        "Haastattelija": (
            "Haastattelija",
            "Jaana Ketola",
            "kaupungin edustaja",
            "kaupunki",
            True,
        ),
    }


def test_the_matrix_quotes_sheet_signs_by_speaker_and_never_quotes_the_interviewer(
    signed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    project, segments = signed
    run(project, "matrix", "--out", tmp_path / "m.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "m.xlsx", read_only=True)["quotes"]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    quotes = {
        r[header.index("segment_id")]: (
            r[header.index("role")],
            r[header.index("organisation_type")],
        )
        for r in rows[1:]
    }
    speaker_of = {sid: sp for sp, sid in segments.items()}
    assert {speaker_of[sid]: signature for sid, signature in quotes.items()} == {
        "Mari Rantanen": ("kansanedustaja", "perussuomalaiset"),
        "Leena Meri": ("kansanedustaja, lakivaliokunta", "perussuomalaiset"),
        "Pauli Kiuru": (None, None),  # empty cells; the report signs them neutrally
        "Matti Vanhanen": ("puhemies", "eduskunta"),
    }


def test_matrix_by_role_counts_by_the_speakers_role(
    signed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    project, _ = signed
    run(project, "matrix", "--by", "role", "--level", "code", "--out", tmp_path / "m.csv")
    text = (tmp_path / "m.csv").read_text(encoding="utf-8-sig")
    rows = [line.split(",") for line in text.splitlines()[1:]]
    counted = {(r[0], r[1]) for r in rows if r[3] != "0"}
    assert ("kansanedustaja", "kypsyys_kaynnistymassa") in counted
    assert ("puhemies", "yhteistyo_toinen_aste") in counted
    assert ("", "vetovastuu_kaupunki") in counted
    # Counted under the speaker's role, not under the document participant's.
    assert ("puhemies", "kypsyys_kaynnistymassa") not in counted


def test_speaker_participants_enter_the_name_registry(
    signed: tuple[Path, dict[str, str]],
) -> None:
    project_dir, _ = signed
    project = open_project(project_dir)
    try:
        people = {p.participant for p in project.store.documents.participants()}
    finally:
        project.close()
    assert people == {"Jaana Ketola", "Leena Meri", "Mari Rantanen", "Matti Vanhanen"}


# --- speaker rows are checked ------------------------------------------------------------------
def debate_folder(tmp_path: Path, rows: str) -> tuple[Path, Path]:
    docs = tmp_path / "docs"
    docs.mkdir()
    write_docx(statements("session-035-2018"), docs / "debatti.docx")
    meta = docs / "metadata.csv"
    meta.write_text(
        "file,city,participant,role,organisation_type,kind,date,speaker\n"
        "debatti.docx,Pohjanlinna,,täysistunto,eduskunta,workshop,,\n" + rows,
        encoding="utf-8",
    )
    return docs, meta


def test_a_misspelt_speaker_is_an_error_naming_the_row(
    qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    docs, meta = debate_folder(tmp_path, "debatti.docx,,,kansanedustaja,,,,Krista Mikonen\n")
    before = db_snapshot(project_dir)
    result = qc("import", docs)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == f"Error: {meta}:3: speaker 'Krista Mikonen' does not occur in debatti.docx"
    assert lines[1].startswith(
        "Hint: did you mean 'Krista Mikkonen'? use the label as the transcript writes it; its "
        "speakers are 'Eero Heinäluoma', "
    )
    assert lines[1].endswith(" and 1 more")
    assert len(lines) == 2
    assert db_snapshot(project_dir) == before


def test_a_speaker_row_needs_the_files_own_row(tmp_path: Path) -> None:
    from qualcode.errors import IngestError
    from qualcode.ingest.metadata import read_metadata

    (tmp_path / "a.txt").write_text("Anna Salo: Hei.\n\nPekka Ranta: Moi.", encoding="utf-8")
    meta = tmp_path / "metadata.csv"
    meta.write_text("file,city,role,speaker\na.txt,Saarvala,yrittäjä,Anna Salo\n", encoding="utf-8")
    with pytest.raises(IngestError) as err:
        read_metadata(meta)
    assert (
        str(err.value) == f"{meta}:2: speaker 'Anna Salo' of 'a.txt' but no row for 'a.txt' itself"
    )
    assert err.value.hint == (
        "add a row for 'a.txt' with an empty speaker column: it gives the document's city, "
        "kind and date"
    )
    meta.write_text(
        "file,city,role,speaker\na.txt,Saarvala,,\na.txt,,yrittäjä,Anna Salo\n"
        "a.txt,,opettaja,Anna Salo\n",
        encoding="utf-8",
    )
    with pytest.raises(IngestError) as err:
        read_metadata(meta)
    assert (
        str(err.value)
        == f"{meta}:4: speaker 'Anna Salo' of 'a.txt' is listed twice (also on line 3)"
    )
    meta.write_text(
        "file,city,role,speaker\na.txt,Saarvala,,\na.txt,Lounajoki,yrittäjä,Anna Salo\n",
        encoding="utf-8",
    )
    with pytest.raises(IngestError) as err:
        read_metadata(meta)
    assert str(err.value) == (
        f"{meta}:3: speaker 'Anna Salo' has city 'Lounajoki' but 'a.txt' has 'Saarvala' (line 2)"
    )
    assert err.value.hint == "leave the city of speaker rows empty, or make it match"


def test_changed_speaker_rows_update_the_metadata(
    qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    docs, meta = debate_folder(tmp_path, "debatti.docx,,,kansanedustaja,,,,Krista Mikkonen\n")
    assert qc("import", docs).exit_code == 0
    meta.write_text(meta.read_text(encoding="utf-8").replace("kansanedustaja", "ministeri"))
    result = qc("import", docs)
    assert result.exit_code == 0
    assert "metadata updated debatti.docx: file unchanged; metadata updated" in result.output
    conn = sqlite3.connect(project_dir / "qualcode.db")
    try:
        assert conn.execute("SELECT speaker, role FROM speakers").fetchall() == [
            ("Krista Mikkonen", "ministeri")
        ]
    finally:
        conn.close()


# --- the sample workshop transcript --------------------------------------------------------------
def test_the_sample_workshop_signs_each_speaker(qc: Invoke, project_dir: Path) -> None:
    from qualcode.workflow.reporting import load_matrix_data

    assert qc("import", SAMPLE).exit_code == 0
    project = open_project(project_dir)
    try:
        segments = load_matrix_data(project).segments
        documents = {d.id: d.name for d in project.store.documents.all()}
    finally:
        project.close()
    assert segments is not None
    workshop = segments[
        segments["document_id"].map(documents) == "lounajoki-tyopaja-keskustelu.txt"
    ]
    signed = {(r.speaker, r.role, r.is_interviewer) for r in workshop.itertuples()}
    assert signed == {
        (None, "työpaja", False),  # the title line: the document's own row
        ("Fasilitaattori", None, True),
        ("Marketta Huovinen", "kaupungin edustaja", False),
        ("Joonas Kivelä", "yrittäjä", False),
        ("Outi Rinne", "oppilaitoksen edustaja", False),
        ("Ville Sarkkinen", "korkeakoulun edustaja", False),
        ("Anneli Pakarinen", None, False),  # speaks once, has no row: signed neutrally
    }
    assert list(workshop["speaker"]).count("Anneli Pakarinen") == 1
