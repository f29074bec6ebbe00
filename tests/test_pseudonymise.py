"""Name detection and pseudonymisation with the real Voikko dictionary and spaCy Finnish NER."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import pytest

from qualcode import pseudonymise
from qualcode.analysis.tokens import tokenize
from qualcode.ingest import read_document
from qualcode.pseudonymise import (
    NameCandidate,
    PseudonymiseError,
    Pseudonymiser,
    RegistryEntry,
    assign_pseudonyms,
    check_text,
    detect_names,
    group_forms,
    ordinary_forms,
    unregistered_names,
)

SAMPLE = Path(__file__).resolve().parents[1] / "transcripts_sample"


def by_name(candidates: list[NameCandidate]) -> dict[str, NameCandidate]:
    return {c.name: c for c in candidates}


def person(name: str, pseudonym: str, *forms: str) -> RegistryEntry:
    return RegistryEntry(name, "person", "pseudonymise", pseudonym, tuple(forms))


# --- detection ---------------------------------------------------------------------------------


def test_inflected_surnames_are_grouped_under_the_base_name() -> None:
    texts = [
        "Eilen puhuin Matti Virtasen kanssa pitkään.",
        "Sitten soitin vielä Virtaselle, ja Matti lupasi tulla.",
    ]
    found = by_name(detect_names(texts))
    virtanen = found["Matti Virtanen"]
    assert virtanen.kind == "person"
    assert {"Matti Virtasen", "Virtaselle", "Matti"} <= set(virtanen.forms)
    assert virtanen.forms == tuple(sorted(virtanen.forms))
    assert virtanen.count == 3


def test_a_full_name_in_an_inner_locative_case_is_one_person_unless_it_can_be_a_place() -> None:
    found = by_name(
        detect_names(
            [
                "Olin yhteydessä aikuiskoulutuksesta vastaavaan, Leena Korhoseen, viime viikolla.",
                "Puhuttiin Pekka Virtasesta pitkään.",
                "Sitten Aino Hirvelästä tuli mukaan.",  # Hirvelä: a surname, and a village
                "Halonen Irlantiin lähti.",
            ]
        )
    )
    assert found["Leena Korhonen"].forms == ("Leena Korhoseen",)
    assert found["Pekka Virtanen"].forms == ("Pekka Virtasesta",)
    assert "Aino" in found and "Aino Hirvelä" not in found
    assert "Halonen" in found


def test_company_names_are_found_inflected_and_with_legal_form() -> None:
    texts = [
        "Kävin Kuusiston Metallin hallissa. Meillä on töitä myös Kuusiston Metallille.",
        "Linnan Konepaja Oy:n tehtaalla on kolme vuoroa, ja Linnan Konepajalla on uusi robotti.",
    ]
    found = by_name(detect_names(texts))
    metalli = found["Kuusiston Metalli"]
    assert metalli.kind == "org"
    assert set(metalli.forms) == {"Kuusiston Metallin", "Kuusiston Metallille"}
    konepaja = found["Linnan Konepaja Oy"]
    assert konepaja.kind == "org"
    assert set(konepaja.forms) == {"Linnan Konepaja Oy:n", "Linnan Konepajalla"}


def test_a_pronoun_before_a_school_word_is_no_school_name() -> None:
    found = by_name(
        detect_names(["Meidän lukiosta lähtee moni jatko-opintoihin. Ilvesvaaran lukio on pieni."])
    )
    assert found["Ilvesvaaran lukio"].kind == "org"
    assert not [name for name in found if name.startswith("Meidän")]


def test_a_company_called_by_the_last_word_of_its_name_is_that_company() -> None:
    found = by_name(
        detect_names(
            [
                "Linnan Konepaja Oy on alueen suurin työnantaja. Kun Konepajalla menee hyvin, "
                "koko kaupungilla menee hyvin. Tää on Konepajan juttu, ja Konepaja vetää.",
                "Leena Koski soitti. Kosken Koski Oy on yritys. Koski sanoi niin.",
            ]
        )
    )
    company = found["Linnan Konepaja Oy"]
    assert company.kind == "org"
    assert {"Konepaja", "Konepajalla", "Konepajan"} <= set(company.forms)
    assert "Konepaja" not in found
    # A surname stays a person even where a company name ends with it.
    assert found["Leena Koski"].kind == "person" and "Koski" in found["Leena Koski"].forms


def test_colloquial_surname_first_names_are_one_person() -> None:
    texts = [
        "Ja puupuolella on Leena Koski, jolla on pieni verstas. Kosken Leenan kanssa me tehdään "
        "niin, että mä soitan Koskelle.",
        "Rantakarin Kuljetus hoitaa kuljetukset, Niemen Harri on vanha kaveri. Harri Niemi on "
        "ollut aktiivinen.",
    ]
    found = by_name(detect_names(texts))
    assert {"Leena Koski", "Kosken Leenan", "Koskelle"} <= set(found["Leena Koski"].forms)
    assert {"Niemen Harri", "Harri Niemi"} <= set(found["Harri Niemi"].forms)
    assert found["Rantakarin Kuljetus"].kind == "org"


def test_a_surname_that_is_a_common_word_is_found_only_as_a_name() -> None:
    texts = ["Arto Mäki soitti eilen. Me seistiin mäen päällä, ja sitten Mäelle tuli kiire."]
    found = by_name(detect_names(texts))
    assert set(found["Arto Mäki"].forms) == {"Arto Mäki", "Mäelle"}
    assert not any("mäen" in c.forms for c in found.values())


def test_known_names_are_always_candidates() -> None:
    found = by_name(detect_names(["Hän puhui Rönkön kanssa."], known=["Helka Rönkkö", "Eino Ei"]))
    assert found["Helka Rönkkö"].forms == ("Rönkön",)
    assert found["Eino Ei"] == NameCandidate("Eino Ei", "person", (), 0)


def test_detection_is_deterministic() -> None:
    texts = ["Kosken Leenan kanssa puhuin, ja Pekka Virtanen kävi Vaaran Puutuotteella."]
    assert detect_names(texts) == detect_names(list(texts))


# --- pseudonyms ----------------------------------------------------------------------------------


def test_pseudonyms_by_role_and_organisation_type() -> None:
    candidates = [
        NameCandidate("Helka Rönkkö", "person", ("Helka Rönkkö",), 1),
        NameCandidate("Arto Mäki", "person", ("Arto Mäki",), 2),
        NameCandidate("Tuomas Aaltovirta", "person", ("Tuomas Aaltovirta",), 1),
        NameCandidate("Aino Aalto", "person", ("Aino Aalto",), 1),
        NameCandidate("Vaaran Puutuote", "org", ("Vaaran Puutuote",), 1),
        NameCandidate("Ilveskelo Oy", "org", ("Ilveskelo Oy",), 1),
        NameCandidate("Ilvesvaaran lukio", "org", ("Ilvesvaaran lukio",), 1),
        NameCandidate("Kaarna-AMK", "org", ("Kaarna-AMK",), 1),
    ]
    roles = {"Helka Rönkkö": "kaupungin edustaja", "Tuomas Aaltovirta": "yrittäjä"}
    entries = {e.name: e.pseudonym for e in assign_pseudonyms(candidates, roles=roles)}
    assert entries == {
        "Helka Rönkkö": "[kaupungin edustaja 1]",
        "Tuomas Aaltovirta": "[yrittäjä 1]",
        "Aino Aalto": "[henkilö 1]",
        "Arto Mäki": "[henkilö 2]",
        "Ilveskelo Oy": "[yritys A]",
        "Vaaran Puutuote": "[yritys B]",
        "Ilvesvaaran lukio": "[oppilaitos A]",
        "Kaarna-AMK": "[oppilaitos B]",
    }


def test_existing_entries_keep_their_pseudonyms_and_new_ones_continue_the_numbers() -> None:
    existing = [
        person("Pekka Virtanen", "[henkilö 7]", "Pekka Virtanen"),
        RegistryEntry("Ilvesvaara", "person", "ignore", "[henkilö 8]", ("Ilvesvaara",)),
    ]
    candidates = [
        NameCandidate("Aino Aalto", "person", ("Aino Aalto",), 1),
        NameCandidate("Pekka Virtanen", "person", ("Virtaselle",), 1),
        NameCandidate("Ilvesvaara", "person", ("Ilvesvaaran",), 1),
    ]
    first = assign_pseudonyms(candidates, existing=existing)
    assert assign_pseudonyms(candidates, existing=existing) == first
    entries = {e.name: e for e in first}
    assert entries["Pekka Virtanen"] == person(
        "Pekka Virtanen", "[henkilö 7]", "Pekka Virtanen", "Virtaselle"
    )
    assert entries["Ilvesvaara"].action == "ignore"
    assert entries["Aino Aalto"].pseudonym == "[henkilö 9]"


# --- replacement ---------------------------------------------------------------------------------


def test_every_inflected_form_is_replaced_and_punctuation_kept() -> None:
    entries = [person("Matti Virtanen", "[henkilö 1]", "Matti Virtanen")]
    text = "Matti Virtasen mukaan asia on selvä. Soitin Virtaselle, mutta Virtasella oli kiire!"
    assert Pseudonymiser(entries).apply(text) == (
        "[henkilö 1] mukaan asia on selvä. Soitin [henkilö 1], mutta [henkilö 1] oli kiire!"
    )


def test_multi_word_names_are_replaced_before_their_parts() -> None:
    entries = [
        person("Petri Kallio", "[yrittäjä 1]", "Petri Kallio"),
        RegistryEntry("Kallion Levytyö Oy", "org", "pseudonymise", "[yritys A]", ()),
    ]
    text = "Esimerkiks Petri Kallio Kallion Levytyöstä sano. Kallion Levytyö Oy:n halli on iso."
    assert Pseudonymiser(entries).apply(text) == (
        "Esimerkiks [yrittäjä 1] [yritys A] sano. [yritys A] halli on iso."
    )


def test_colloquial_and_initial_forms_are_replaced_as_one_name() -> None:
    entries = [
        person("Leena Koski", "[henkilö 1]"),
        person("Maija Peltola", "[henkilö 2]"),
    ]
    text = "Koska Kosken Leena ja Maija S. Peltola tulivat, Leenalle riitti."
    assert Pseudonymiser(entries).apply(text) == (
        "Koska [henkilö 1] ja [henkilö 2] tulivat, [henkilö 1] riitti."
    )


def test_names_sharing_a_first_name_are_told_apart_by_the_next_word(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    firsts = ["Matti", "Leena", "Anna"]
    lasts = ["Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Laine", "Koski", "Mäki"]
    entries = [
        person(f"{f} {s}", f"[henkilö {k}]")
        for k, (f, s) in enumerate(itertools.product(firsts, lasts), 1)
    ]
    text = (
        "Matti S. Korhonen ja Matti Heikkinen soittivat Leena Koskelle. Anna Mäen kanssa "
        "sovittiin, että Anna Mäkisen ja Matti Laineen tiimi jatkaa. Leena tuli myöhemmin."
    )
    fast = Pseudonymiser(entries)
    assert fast.apply(text) == (
        "[henkilö 2] ja [henkilö] Heikkinen soittivat [henkilö 13]. [henkilö 21] kanssa "
        "sovittiin, että [henkilö 17] ja [henkilö 5] tiimi jatkaa. [henkilö] tuli myöhemmin."
    )
    # The lookup by the next word finds exactly what trying every pattern finds.
    monkeypatch.setattr(
        pseudonymise._Matcher,
        "_candidates",
        lambda self, key, following: self.index.patterns[key],
    )
    assert Pseudonymiser(entries).spans(text) == fast.spans(text)


def test_surnames_that_are_common_words_are_replaced_only_as_names() -> None:
    entries = [
        person("Arto Mäki", "[henkilö 1]", "Arto Mäki"),
        person("Leena Koski", "[henkilö 2]", "Leena Koski"),
        person("Jari Nieminen", "[henkilö 3]", "Jari Nieminen"),
    ]
    text = (
        "Eilen Mäki soitti minulle. Kävelimme mäen päällä. Mäeltä näkee kauas. "
        "Mä soitan Koskelle huomenna. Kosken alapuolella on suvanto, ja koski kuohuu. "
        "Nieminen kertoi, että niemen kärjessä on laituri. Mäen kanssa sovittiin."
    )
    assert Pseudonymiser(entries).apply(text) == (
        "Eilen [henkilö 1] soitti minulle. Kävelimme mäen päällä. Mäeltä näkee kauas. "
        "Mä soitan [henkilö 2] huomenna. Kosken alapuolella on suvanto, ja koski kuohuu. "
        "[henkilö 3] kertoi, että niemen kärjessä on laituri. [henkilö 1] kanssa sovittiin."
    )


def test_the_material_decides_sentence_initial_words_that_are_also_common_words() -> None:
    entries = [
        person("Ilveskelo", "[henkilö 1]", "Ilveskelo"),
        person("Arto Mäki", "[henkilö 2]", "Arto Mäki"),
        RegistryEntry("Kehitys Oy", "org", "pseudonymise", "[yritys A]", ("Kehitys",)),
    ]
    text = "Ilveskelo pyörittää mökkikylää. Mäeltä näkee kauas. Kehitys Oy valmistelee."
    # Voikko reads "Ilveskelo" as a compound noun, so without knowing the material it stays;
    # a legal form after a word makes it the company's name wherever it stands.
    assert Pseudonymiser(entries).apply(text) == (
        "Ilveskelo pyörittää mökkikylää. Mäeltä näkee kauas. [yritys A] valmistelee."
    )
    # The material writes "mäeltä" in lower case but never "ilveskelo": only the latter is a name.
    words = {"mäeltä", "näkee", "kauas", "pyörittää"}
    assert Pseudonymiser(entries, words=words).apply(text) == (
        "[henkilö 1] pyörittää mökkikylää. Mäeltä näkee kauas. [yritys A] valmistelee."
    )


def test_a_word_the_material_mostly_capitalises_is_a_name_even_opening_a_sentence() -> None:
    from collections import Counter

    entries = [RegistryEntry("Linnan Konepaja", "org", "pseudonymise", "[yritys A]", ("Konepaja",))]
    # One machine shop in lower case, the company capitalised fifteen times; "mutta" opens
    # sentences now and then but is written in lower case far more often.
    counts = Counter({"konepaja": 1, "Konepaja": 12, "Konepajalla": 3, "mutta": 40, "Mutta": 9})
    words = ordinary_forms(counts)
    assert words == {"mutta"}
    text = "Se on yrityslähtöinen. Konepaja on siinä veturi."
    assert Pseudonymiser(entries, words=words).apply(text) == (
        "Se on yrityslähtöinen. [yritys A] on siinä veturi."
    )
    even = ordinary_forms(Counter({"konepaja": 5, "Konepaja": 12}))
    assert Pseudonymiser(entries, words=even).apply(text) == text  # an ordinary word here too


def test_a_name_part_shared_by_two_people_gets_a_generic_pseudonym() -> None:
    entries = [person("Pekka Koski", "[henkilö 1]"), person("Kalevi Koski", "[henkilö 2]")]
    text = "Pekka Koski ja Kalevi Koski tulivat, ja sitten Koskelle soitettiin."
    assert Pseudonymiser(entries).apply(text) == (
        "[henkilö 1] ja [henkilö 2] tulivat, ja sitten [henkilö] soitettiin."
    )


def test_ignored_entries_keep_their_words() -> None:
    entries = [
        person("Leena Hirvelä", "[henkilö 1]"),
        RegistryEntry("Hirvelä", "person", "ignore", "[henkilö 2]", ("Hirvelässä",)),
    ]
    text = "Leena Hirvelä asuu Hirvelässä, ja Hirvelän kunta auttaa."
    assert Pseudonymiser(entries).apply(text) == (
        "[henkilö 1] asuu Hirvelässä, ja Hirvelän kunta auttaa."
    )


def test_apply_is_deterministic_and_idempotent() -> None:
    entries = [
        person("Arto Mäki", "[henkilö 1]", "Arto Mäki"),
        RegistryEntry("Vaaran Puutuote", "org", "pseudonymise", "[yritys A]", ()),
    ]
    text = "Arto Mäki ja Vaaran Puutuotteelta Mäelle. [naurahtaa] Mäki, Mäki!"
    once = Pseudonymiser(entries).apply(text)
    assert once == Pseudonymiser(list(entries)).apply(text)
    assert Pseudonymiser(entries).apply(once) == once
    assert Pseudonymiser(entries).spans(once) == []
    spans = Pseudonymiser(entries).spans(text)
    assert spans == sorted(spans)
    assert [text[s:e] for s, e, _ in spans] == [
        "Arto Mäki",
        "Vaaran Puutuotteelta",
        "Mäelle",
        "Mäki",
    ]


def test_check_text_finds_names_that_slipped_through() -> None:
    entries = [person("Arto Mäki", "[henkilö 1]", "Arto Mäki"), person("Matti Virtanen", "[x]")]
    assert check_text("Se oli hyvä. Virtasella oli kiire.", entries) == [("Virtasella", 13)]
    text = "Arto Mäki tuli. Mäeltä näkee kauas."
    cleaned = Pseudonymiser(entries).apply(text)
    assert cleaned == "[henkilö 1] tuli. Mäeltä näkee kauas."
    # A sentence-initial word that may be a name is left in place but reported for review.
    assert check_text(cleaned, entries) == [("Mäeltä", 18)]


def test_unregistered_names_lists_words_voikko_does_not_know_as_ordinary_words() -> None:
    entries = [
        person("Aino Aalto", "[henkilö 1]", "Aino Aalto"),
        RegistryEntry("Kivikari", "person", "ignore", ""),
    ]
    text = (
        "[henkilö 1] soitti Klingalle ja Markkaselle. Mäeltä näkee Kivikariin. "
        "Mäki on jyrkkä, mutta Mäen kanssa sovimme. AMK:n Oy:n 2024 Aino Aallolle. Hmm. Ööh."
    )
    found = unregistered_names(text, entries)
    # Unknown to Voikko ("Klingalle"), a surname only ("Markkaselle"), a surname that is also a
    # common word where it cannot be the word ("Mäen" mid-sentence); not sentence-initial
    # "Mäki", ordinary words, acronyms, registry names (ignored ones too) or pseudonyms.
    assert found == [
        ("Klingalle", text.index("Klingalle")),
        ("Markkaselle", text.index("Markkaselle")),
        ("Mäen", text.index("Mäen")),
    ]
    assert unregistered_names("Ei nimiä tässä lauseessa.", entries) == []


def test_group_forms_puts_the_forms_of_one_name_under_its_base() -> None:
    groups = group_forms(
        ["Kvistrandille", "Klingan", "Kvistrand", "Markkaselle", "Kvistrandin", "Klingalle"]
    )
    # Unknown names under the stem the list supports; Voikko's surname under its lemma.
    assert groups == [
        ("Klinga", ("Klingalle", "Klingan")),
        ("Kvistrand", ("Kvistrand", "Kvistrandille", "Kvistrandin")),
        ("Markkanen", ("Markkaselle",)),
    ]
    assert group_forms(list(reversed(["Klingan", "Klingalle"]))) == groups[:1]


def test_an_entry_without_a_pseudonym_is_an_error() -> None:
    with pytest.raises(PseudonymiseError, match="registry entry 'Aino Aalto' has no pseudonym"):
        Pseudonymiser([person("Aino Aalto", " ")])


# --- the sample corpus ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> tuple[list[str], list[dict[str, str]], list[RegistryEntry]]:
    paths = [
        p
        for p in sorted(SAMPLE.iterdir())
        if p.suffix in (".txt", ".md", ".srt", ".vtt", ".docx") and p.name != "README.md"
    ]
    texts = [read_document(p)[0].text for p in paths]
    with (SAMPLE / "metadata.csv").open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["participant"]]
    roles = {r["participant"]: r["role"] for r in rows}
    candidates = detect_names(texts, known=list(roles))
    return texts, rows, assign_pseudonyms(candidates, roles=roles)


def leftovers(text: str, name_part: str) -> list[str]:
    """Capitalised words in ``text`` that are a form of ``name_part`` (by Voikko or by stem)."""
    import libvoikko

    voikko = libvoikko.Voikko("fi")
    part = name_part.casefold()
    out = []
    for token in tokenize(text):
        form = token.form
        if not form[:1].isupper():
            continue
        lemmas = {a.get("BASEFORM", "").casefold() for a in voikko.analyze(form)}
        unknown_stem = not lemmas and len(part) > 5 and form.casefold().startswith(part[:-1])
        if part in lemmas or form.casefold() == part or unknown_stem:
            out.append(form)
    voikko.terminate()
    return out


def test_every_participant_name_disappears_from_the_sample_corpus(
    sample: tuple[list[str], list[dict[str, str]], list[RegistryEntry]],
) -> None:
    texts, rows, entries = sample
    pseudonymiser = Pseudonymiser(entries)
    outputs = [pseudonymiser.apply(t) for t in texts]
    for row in rows:
        for part in row["participant"].split():
            left = [f for out in outputs for f in leftovers(out, part)]
            assert left == [], f"{row['participant']}: {left}"
    by_name = {e.name: e for e in entries}
    assert by_name["Helka Rönkkö"].pseudonym == "[kaupungin edustaja 1]"
    assert any("[kaupungin edustaja 1]" in out for out in outputs)


def test_sample_corpus_pseudonymisation_is_idempotent_and_keeps_the_traps(
    sample: tuple[list[str], list[dict[str, str]], list[RegistryEntry]],
) -> None:
    texts, _, entries = sample
    pseudonymiser = Pseudonymiser(entries)
    outputs = [pseudonymiser.apply(t) for t in texts]
    assert [pseudonymiser.apply(o) for o in outputs] == outputs
    ilvesvaara = next(o for o in outputs if "Mäeltä näkee kauas" in o)
    for trap in ("mäen päälle", "Se mäki on aika jyrkkä", "kosken alapuolella", "koskenlaskua"):
        assert trap in ilvesvaara
    for name in ("Leena Koski", "Kosken Leena", "Arto Mä", "Pentti Huotari", "Vaaran Puutuot"):
        assert name not in ilvesvaara


def test_the_review_csv_marks_matches_in_the_pseudonymised_text() -> None:
    import json

    from qualcode.review import ReviewRow, review_csv_bytes

    entries = [
        person("Tuula Rantakivi", "[kaupungin edustaja 1]"),
        RegistryEntry("Kehitys Oy", "org", "pseudonymise", "[yritys A]", ()),
    ]
    text = (
        "Mä oon Tuula Rantakivi ja toimin elinkeinopäällikkönä. Kehitys Oy:n kanssa on yhteistyötä."
    )
    start = 100  # the segment's offset in its document; evidence carries document offsets
    matches = [
        ("elinkeinopäällikkönä", "elinkeinopäällikkö"),
        ("Kehitys", "kehitys"),
        ("yhteistyötä", "yhteistyö"),
    ]
    evidence = [
        [w, start + text.index(w), start + text.index(w) + len(w), rule] for w, rule in matches
    ]
    row = ReviewRow(
        "g1", "s1", "Lounajoki", "haastattelu.txt", "Tuula Rantakivi", "koodi", "Koodi", 0.5,
        "rule", json.dumps(evidence), text, start,
    )  # fmt: skip
    out = review_csv_bytes([row], mapper=Pseudonymiser(entries).mapped).decode("utf-8-sig")
    assert "Rantakivi" not in out and "Kehitys" not in out
    assert (
        "Mä oon [kaupungin edustaja 1] ja toimin [[elinkeinopäällikkönä]]. "
        "[[[yritys A]]] kanssa on [[yhteistyötä]]."
    ) in out
    assert "elinkeinopäällikkönä (elinkeinopäällikkö); [yritys A] (kehitys); yhteistyötä" in out
    assert ";[kaupungin edustaja 1];" in out  # the speaker
