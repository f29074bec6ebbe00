from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qualcode.errors import SegmentError
from qualcode.records import Cue, SourceTurn
from qualcode.segment import SegmentSettings, segment_document, sentence_spans
from qualcode.textutil import count_words


def seg(text: str, **kwargs: object) -> list[tuple[str | None, bool, str, str]]:
    return [
        (s.speaker, s.is_interviewer, s.unit, s.text)
        for s in segment_document("d1", text, **kwargs)  # type: ignore[arg-type]
    ]


@pytest.mark.parametrize(
    ("interviewer", "interviewee", "speakers"),
    [
        ("H", "V", ("H", "V")),
        ("H1", "V", ("H1", "V")),
        ("Haastattelija", "Haastateltava", ("Haastattelija", "Haastateltava")),
        ("Fasilitaattori", "Osallistuja 2", ("Fasilitaattori", "Osallistuja 2")),
        (
            "[00:01:02] Haastattelija",
            "[00:01:15] Marja Kuusisto",
            ("Haastattelija", "Marja Kuusisto"),
        ),
        ("H2", "Jari Mäki (Mäen Hitsaus Oy)", ("H2", "Jari Mäki (Mäen Hitsaus Oy)")),
        ("00:01:02 Haastattelija", "00:01:15 Marja Kuusisto", ("Haastattelija", "Marja Kuusisto")),
    ],
)
def test_label_patterns(interviewer: str, interviewee: str, speakers: tuple[str, str]) -> None:
    text = (
        f"{interviewer}: Miten yhteistyö alkoi?\n\n"
        f"{interviewee}: Se alkoi hitaasti.\nJatkui toisella rivillä.\n\n"
        f"{interviewer}: Kiitos."
    )
    asker, answerer = speakers
    assert seg(text) == [
        (asker, True, "turn", "Miten yhteistyö alkoi?"),
        (answerer, False, "turn", "Se alkoi hitaasti.\nJatkui toisella rivillä."),
        (asker, True, "turn", "Kiitos."),
    ]


def test_timestamps_become_start_times() -> None:
    segments = segment_document("d", "[00:01:02] H: Kysymys?\n\n[01:02:03.5] Anna: Vastaus.")
    assert [s.start_time for s in segments] == [62.0, 3723.5]


def test_label_on_its_own_line() -> None:
    assert seg("Haastattelija:\nMiten menee?\n\nHaastateltava:\nHyvin.") == [
        ("Haastattelija", True, "turn", "Miten menee?"),
        ("Haastateltava", False, "turn", "Hyvin."),
    ]


def test_title_before_first_turn_is_its_own_segment() -> None:
    got = seg("Haastattelu 3.4.2026\n\nH: Kysymys?\n\nV: Vastaus.")
    assert got[0] == (None, False, "paragraph", "Haastattelu 3.4.2026")
    assert [g[0] for g in got[1:]] == ["H", "V"]


def test_memo_labels_are_not_speakers() -> None:
    memo = (
        "Työpajan muistio\n\nHuom: aikataulu muuttui.\n\n"
        'Post-it-seinä: "Mikä estää meitä?"\n- Rahoitus\n- Tilat puuttuvat\n\n'
        'Post-it-seinä: "Mitä haluamme?"\n• Pysyvä koordinaattori\n\n'
        "# Yhteenveto\nVerkosto on käynnistymässä."
    )
    got = seg(memo)
    assert all(speaker is None for speaker, *_ in got)
    assert [(unit, text) for _, _, unit, text in got] == [
        ("paragraph", "Työpajan muistio"),
        ("paragraph", "Huom: aikataulu muuttui."),
        ("paragraph", 'Post-it-seinä: "Mikä estää meitä?"'),
        ("item", "Rahoitus"),
        ("item", "Tilat puuttuvat"),
        ("paragraph", 'Post-it-seinä: "Mitä haluamme?"'),
        ("item", "Pysyvä koordinaattori"),
        ("heading", "Yhteenveto"),
        ("paragraph", "Verkosto on käynnistymässä."),
    ]


def test_numbered_list_items() -> None:
    got = seg("Toimenpiteet:\n1. Perustetaan kehitysyhtiö.\n2) Palkataan koordinaattori.")
    assert [(u, t) for _, _, u, t in got] == [
        ("paragraph", "Toimenpiteet:"),
        ("item", "Perustetaan kehitysyhtiö."),
        ("item", "Palkataan koordinaattori."),
    ]


def test_names_that_recur_are_speakers_in_a_conversation() -> None:
    text = "Anna: Hei.\n\nPekka: Moi.\n\nAnna: Mitä kuuluu?\n\nPekka: Hyvää."
    assert [g[0] for g in seg(text)] == ["Anna", "Pekka", "Anna", "Pekka"]


def test_custom_speaker_pattern_and_interviewer_names() -> None:
    settings = SegmentSettings(
        speaker_patterns=(r"^--(?P<speaker>[A-Z]{2})--",),
        interviewers=("AS",),
    )
    got = seg("--AS-- Kysymys?\n--MK-- Vastaus.", settings=settings)
    assert got == [("AS", True, "turn", "Kysymys?"), ("MK", False, "turn", "Vastaus.")]


def test_custom_pattern_without_speaker_group_is_an_error() -> None:
    with pytest.raises(SegmentError, match=r"speaker_patterns\[0\].*\(\?P<speaker>"):
        segment_document("d", "x", settings=SegmentSettings(speaker_patterns=(r"^\w+:",)))


@pytest.mark.parametrize("captured", ["", "x", "nan", "1e400", "1:2:3:4", "9" * 400])
def test_custom_time_group_that_is_not_a_clock_gives_no_time(captured: str) -> None:
    # Found by tests/test_fuzz_readers.py: float('') raised ValueError out of 'import'.
    settings = SegmentSettings(speaker_patterns=(r"^(?P<speaker>H|V)\[(?P<time>[^\]]*)\]:",))
    text = f"H[{captured}]: Kysymys?\n\nV[0:05]: Vastaus."
    got = segment_document("d", text, settings=settings)
    assert [(s.speaker, s.start_time) for s in got] == [("H", None), ("V", 5.0)]


def test_long_turn_is_split_at_sentence_boundaries() -> None:
    sentences = [f"Tämä on lause numero {i} jossa on muutama sana lisää." for i in range(40)]
    text = "H: Kerro lisää.\n\nV: " + " ".join(sentences)
    segments = segment_document("d", text, settings=SegmentSettings(max_words=60))
    answer = [s for s in segments if s.speaker == "V"]
    assert len(answer) > 1
    assert all(count_words(s.text) <= 60 for s in answer)
    assert all(s.text.endswith(".") and s.text[0].isupper() for s in answer)
    assert " ".join(s.text for s in answer) == " ".join(sentences)


def test_unpunctuated_speech_is_cut_between_words() -> None:
    text = "V: " + " ".join(["sana"] * 400)
    segments = segment_document(
        "d", text + "\n\nH: No niin.", settings=SegmentSettings(max_words=150)
    )
    assert [s.words for s in segments if s.speaker == "V"] == [150, 150, 100]


def test_abbreviations_do_not_end_sentences() -> None:
    text = "Mukana on mm. Kaarna-AMK ja esim. Louna-opisto. Toinen lause alkaa."
    assert [text[a:b] for a, b in sentence_spans(text, 0, len(text))] == [
        "Mukana on mm. Kaarna-AMK ja esim. Louna-opisto.",
        "Toinen lause alkaa.",
    ]


def test_subtitle_turn_pieces_get_cue_times() -> None:
    text = "V: Ensimmäinen lause tässä. Toinen lause tässä. Kolmas lause tässä."
    cues = (Cue(3, 27, 1.0, 2.0), Cue(28, 48, 2.0, 3.5), Cue(49, len(text), 3.5, 5.0))
    turns = (SourceTurn("V", 3, len(text), cues),)
    segments = segment_document("d", text, turns=turns, settings=SegmentSettings(max_words=6))
    assert [(s.text, s.start_time, s.end_time) for s in segments] == [
        ("Ensimmäinen lause tässä. Toinen lause tässä.", 1.0, 3.5),
        ("Kolmas lause tässä.", 3.5, 5.0),
    ]


def test_ids_are_stable_and_depend_on_content() -> None:
    text = "H: Kysymys?\n\nV: Vastaus."
    a = segment_document("d1", text)
    b = segment_document("other-id", text)
    c = segment_document("d1", text + " Lisää.")
    assert [s.id for s in a] == [s.id for s in b]
    # Ids come from the document's text hash and the offsets: another text, other ids.
    assert not {s.id for s in a} & {s.id for s in c}


# --- the offset invariant, over generated transcripts -------------------------------------
_words = st.text(
    alphabet=st.sampled_from(list("aeiouyäöåbdhjklmnprstvAEIÄÖ .,!?:-–'\"()[]\t")),
    min_size=0,
    max_size=40,
)
_label = st.sampled_from(
    [
        "H: ",
        "V: ",
        "H1:",
        "Haastattelija: ",
        "[00:01:02] Anna Salo: ",
        "Jari (Oy): ",
        "",
        "- ",
        "1. ",
        "# ",
        "• ",
        "Huom: ",
    ]
)
_line = st.tuples(_label, _words).map(lambda t: t[0] + t[1])
_doc = st.lists(
    st.tuples(_line, st.sampled_from(["\n", "\n\n", "\n\n\n", " \n"])), min_size=1, max_size=30
).map(lambda parts: "".join(a + b for a, b in parts).strip("\n"))


@settings(max_examples=300, deadline=None)
@given(_doc, st.integers(min_value=1, max_value=12))
def test_offsets_always_point_at_the_segment_text(text: str, max_words: int) -> None:
    segments = segment_document("d", text, settings=SegmentSettings(max_words=max_words))
    last_end = 0
    for s in segments:
        assert text[s.start : s.end] == s.text
        assert s.text == s.text.strip() and s.text
        assert s.start >= last_end  # in order, never overlapping
        last_end = s.end
    assert [s.seq for s in segments] == list(range(1, len(segments) + 1))
    assert len({s.id for s in segments}) == len(segments)
