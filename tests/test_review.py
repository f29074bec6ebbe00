"""review.validate_review on its own: rows in, decisions and (row, problem)s out, no store."""

from __future__ import annotations

from qualcode.review import Decision, ReviewLine, SuggestionInfo, validate_review
from qualcode.textutil import suggestion_id

SEGMENT = "s0123456789a"
TEXT = "Yhteistyö kaupungin kanssa sujuu hyvin."
CODES = {"yhteistyo": "Yhteistyö", "rahoitus": "Rahoitus", "tilat": "Tilat"}
SID = suggestion_id(SEGMENT, "yhteistyo")
SUGGESTIONS = {SID: SuggestionInfo(SEGMENT, "yhteistyo")}


def line(row: int, **values: str) -> ReviewLine:
    cells = {"suggestion_id": SID, "segment_id": SEGMENT, "code": "yhteistyo", "text": TEXT}
    cells.update(values)
    return ReviewLine(row, cells)


def check(*lines: ReviewLine) -> tuple[list[Decision], list[tuple[int, str]]]:
    return validate_review(list(lines), SUGGESTIONS, {SEGMENT: TEXT}, CODES)


def test_an_accepted_row_becomes_a_decision_with_new_codes_and_note() -> None:
    decisions, problems = check(line(2, decision="kyllä", new_code="rahoitus; tilat", note=" ok "))
    assert problems == []
    assert decisions == [
        Decision(2, SID, SEGMENT, "yhteistyo", True, ("rahoitus", "tilat"), "ok"),
    ]


def test_every_problem_of_a_row_is_reported_with_its_row() -> None:
    decisions, problems = check(
        line(2, decision="ehkä", new_code="rahoitsu", text="Muokattu teksti."),
        line(3, suggestion_id=""),
        line(4, suggestion_id="g000000000000"),
    )
    assert decisions == []
    assert problems == [
        (2, "decision 'ehkä' not understood; use y (accept), n (reject) or leave it blank"),
        (2, "unknown code 'rahoitsu' in new_code; did you mean 'rahoitus'?"),
        (2, f"the text of segment {SEGMENT} was edited; edit only decision, new_code and note"),
        (3, "empty suggestion_id"),
        (4, "unknown suggestion id 'g000000000000'"),
    ]


def test_a_code_typed_over_is_refused_with_what_to_do() -> None:
    _, problems = check(line(2, code="rahoitus", decision="y"))
    assert problems == [
        (
            2,
            f"code 'rahoitus' is not the suggested code 'yhteistyo' of suggestion {SID}; "
            "leave code as it was and put 'rahoitus' in new_code",
        )
    ]


def test_duplicates_pass_when_identical_and_conflict_otherwise() -> None:
    decisions, problems = check(line(2, decision="y"), line(3, decision="y"))
    assert (len(decisions), problems) == (1, [])
    decisions, problems = check(line(2, decision="y"), line(3, decision="n"))
    assert [d.row for d in decisions] == [2]
    assert problems == [(3, f"conflicting decisions for suggestion {SID} (also on row 2)")]


def test_rejecting_a_code_that_new_code_gives_is_a_contradiction() -> None:
    _, problems = check(line(2, decision="n", new_code="yhteistyo"))
    assert problems == [(2, "decision rejects yhteistyo but new_code gives it; choose one")]


def test_a_dropped_suggestion_still_counts_by_its_content_derived_id() -> None:
    # After a codebook edit the suggestion is gone from the store, but its id still names
    # this segment and code.
    decisions, problems = validate_review([line(2, decision="y")], {}, {SEGMENT: TEXT}, CODES)
    assert problems == []
    assert [(d.segment_id, d.code_id, d.accept) for d in decisions] == [
        (SEGMENT, "yhteistyo", True)
    ]


def test_the_original_text_is_accepted_beside_the_pseudonymised_one() -> None:
    shown = "[henkilö] sanoi: yhteistyö sujuu."
    decisions, problems = validate_review(
        [line(2, decision="y", text="Matti sanoi: yhteistyö sujuu.")],
        SUGGESTIONS,
        {SEGMENT: shown},
        CODES,
        alternatives={SEGMENT: "Matti sanoi: yhteistyö sujuu."},
    )
    assert (len(decisions), problems) == (1, [])
