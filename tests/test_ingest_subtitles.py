from __future__ import annotations

from pathlib import Path

import pytest

from qualcode.errors import IngestError
from qualcode.ingest import read_document

TEAMS = """WEBVTT

NOTE made by a meeting tool

1
00:00:01.000 --> 00:00:04.500
<v Haastattelija>Miten verkosto syntyi?</v>

2
00:00:05.000 --> 00:00:09.000
<v Elina Saarikorpi>No, se alkoi &amp; kasvoi</v>

3
00:00:09.200 --> 00:00:12.000
<v Elina Saarikorpi>vähitellen yhteistyössä.</v>

00:00:13.000 --> 00:00:15.000
<v Haastattelija>Kiitos.</v>
"""

ZOOM_SRT = """1
00:00:01,000 --> 00:00:03,000
Haastattelija: Mikä on tärkeintä?

2
00:00:03,500 --> 00:00:06,000
Tuomas Niemelä: Työvoima.

3
00:01:06,000 --> 00:01:09,250
Tuomas Niemelä: Ja osaaminen.
"""


def test_teams_vtt_merges_cues_of_one_speaker(tmp_path: Path) -> None:
    path = tmp_path / "a.vtt"
    path.write_text(TEAMS, encoding="utf-8")
    raw, _ = read_document(path)
    assert raw.text == (
        "Haastattelija: Miten verkosto syntyi?\n\n"
        "Elina Saarikorpi: No, se alkoi & kasvoi vähitellen yhteistyössä.\n\n"
        "Haastattelija: Kiitos."
    )
    assert [t.speaker for t in raw.turns] == ["Haastattelija", "Elina Saarikorpi", "Haastattelija"]
    turn = raw.turns[1]
    assert raw.text[turn.start : turn.end] == "No, se alkoi & kasvoi vähitellen yhteistyössä."
    assert [(c.start_time, c.end_time) for c in turn.cues] == [(5.0, 9.0), (9.2, 12.0)]
    assert [raw.text[c.start : c.end] for c in turn.cues] == [
        "No, se alkoi & kasvoi",
        "vähitellen yhteistyössä.",
    ]


def test_srt_with_name_prefixes(tmp_path: Path) -> None:
    path = tmp_path / "a.srt"
    path.write_text(ZOOM_SRT, encoding="utf-8")
    raw, _ = read_document(path)
    assert [t.speaker for t in raw.turns] == ["Haastattelija", "Tuomas Niemelä"]
    assert raw.turns[1].cues[-1].start_time == 66.0
    assert raw.turns[1].cues[-1].end_time == 69.25
    assert raw.text.endswith("Tuomas Niemelä: Työvoima. Ja osaaminen.")


def test_vtt_without_speakers_is_one_unlabelled_turn(tmp_path: Path) -> None:
    path = tmp_path / "whisper.vtt"
    path.write_text(
        "WEBVTT\n\n00:01.000 --> 00:03.000\nEnsimmäinen lause.\n\n"
        "00:03.000 --> 00:05.000\nToinen lause.\n",
        encoding="utf-8",
    )
    raw, _ = read_document(path)
    assert raw.text == "Ensimmäinen lause. Toinen lause."
    assert [t.speaker for t in raw.turns] == [None]


def test_single_colon_prefix_is_not_a_speaker(tmp_path: Path) -> None:
    path = tmp_path / "a.vtt"
    path.write_text(
        "WEBVTT\n\n00:01.000 --> 00:03.000\nHuom: tässä kohtaa taukoa.\n", encoding="utf-8"
    )
    raw, _ = read_document(path)
    assert raw.turns[0].speaker is None
    assert raw.text == "Huom: tässä kohtaa taukoa."


def test_truncated_vtt_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "katki.vtt"
    path.write_text(TEAMS.split("00:00:13")[0] + "00:00:13.000 --> 00:0", encoding="utf-8")
    with pytest.raises(IngestError) as err:
        read_document(path)
    line = TEAMS.split("00:00:13")[0].count("\n") + 1
    assert str(err.value) == f"{path}:{line}: malformed cue timing '00:00:13.000 --> 00:0'"


def test_vtt_without_header(tmp_path: Path) -> None:
    path = tmp_path / "a.vtt"
    path.write_text(ZOOM_SRT, encoding="utf-8")
    with pytest.raises(IngestError, match=r"a.vtt:1: not a WebVTT file"):
        read_document(path)


def test_subtitle_without_cues(tmp_path: Path) -> None:
    path = tmp_path / "a.vtt"
    path.write_text("WEBVTT\n\nNOTE only a note\n", encoding="utf-8")
    with pytest.raises(IngestError, match="contains no subtitle cues"):
        read_document(path)


@pytest.mark.parametrize(
    ("suffix", "timing", "problem"),
    [
        (
            ".vtt",
            "00:99:99.000 --> 00:99:99.500",
            "invalid cue time '00:99:99.000' (minutes and seconds go up to 59)",
        ),
        (
            ".vtt",
            "01:02.000 --> 01:75.000",
            "invalid cue time '01:75.000' (minutes and seconds go up to 59)",
        ),
        (
            ".srt",
            "00:00:01,000 --> 00:61:00,000",
            "invalid cue time '00:61:00.000' (minutes and seconds go up to 59)",
        ),
        (
            ".srt",
            "00:00:09,000 --> 00:00:04,000",
            "cue ends (00:00:04,000) before it starts (00:00:09,000)",
        ),
        (
            ".vtt",
            "00:00:09.000 --> 00:00:04.000 align:start",
            "cue ends (00:00:04.000) before it starts (00:00:09.000)",
        ),
    ],
)
def test_impossible_cue_times_are_refused_with_file_and_line(
    tmp_path: Path, suffix: str, timing: str, problem: str
) -> None:
    good = "00:00:01.000 --> 00:00:02.000" if suffix == ".vtt" else "00:00:01,000 --> 00:00:02,000"
    head = "WEBVTT\n\n" if suffix == ".vtt" else ""
    text = f"{head}1\n{good}\nHaastattelija: Hei.\n\n2\n{timing}\nVastaaja: Hei vaan.\n"
    path = tmp_path / f"ajat{suffix}"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(IngestError) as err:
        read_document(path)
    line = text.splitlines().index(timing) + 1
    assert str(err.value) == f"{path}:{line}: {problem}"
    assert err.value.hint == "fix the timing line or re-export the file"


def test_a_zero_length_cue_is_still_accepted(tmp_path: Path) -> None:
    path = tmp_path / "a.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:01,000\nHaastattelija: Hei.\n", encoding="utf-8")
    raw, _ = read_document(path)
    assert raw.turns[0].cues[0].start_time == raw.turns[0].cues[0].end_time == 1.0
