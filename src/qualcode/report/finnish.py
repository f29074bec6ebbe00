"""Just enough Finnish morphology for generated report text.

Counts agree with their nouns ("yksi haastattelu", "kaksi haastattelua", "kahdesta
haastattelusta"), place names take their genitive and locative forms ("Lounajoen",
"Lounajoella", "Pohjanlinnassa"), and lists read naturally ("A, B ja C"). Only the nouns the
reports use are listed; the place-name rules cover the usual endings of Finnish town names
and can be overridden per city in qualcode.toml ([report.place_forms]).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

_NUMBERS = {
    # case: forms for 1..10
    "nom": "yksi kaksi kolme neljä viisi kuusi seitsemän kahdeksan yhdeksän kymmenen",
    "gen": "yhden kahden kolmen neljän viiden kuuden seitsemän kahdeksan yhdeksän kymmenen",
    "ela": "yhdestä kahdesta kolmesta neljästä viidestä kuudesta seitsemästä kahdeksasta "
    "yhdeksästä kymmenestä",
    "ill": "yhteen kahteen kolmeen neljään viiteen kuuteen seitsemään kahdeksaan yhdeksään "
    "kymmeneen",
    "ine": "yhdessä kahdessa kolmessa neljässä viidessä kuudessa seitsemässä kahdeksassa "
    "yhdeksässä kymmenessä",
}
NOUNS: dict[str, dict[str, str]] = {
    "haastattelu": {
        "nom": "haastattelu",
        "par": "haastattelua",
        "gen": "haastattelun",
        "ela": "haastattelusta",
        "ill": "haastatteluun",
        "ine": "haastattelussa",
    },
    "työpaja": {
        "nom": "työpaja",
        "par": "työpajaa",
        "gen": "työpajan",
        "ela": "työpajasta",
        "ill": "työpajaan",
        "ine": "työpajassa",
    },
    "haastateltava": {
        "nom": "haastateltava",
        "par": "haastateltavaa",
        "gen": "haastateltavan",
        "ela": "haastateltavasta",
        "ill": "haastateltavaan",
        "ine": "haastateltavassa",
    },
    "segmentti": {
        "nom": "segmentti",
        "par": "segmenttiä",
        "gen": "segmentin",
        "ela": "segmentistä",
        "ill": "segmenttiin",
        "ine": "segmentissä",
    },
    "dokumentti": {
        "nom": "dokumentti",
        "par": "dokumenttia",
        "gen": "dokumentin",
        "ela": "dokumentista",
        "ill": "dokumenttiin",
        "ine": "dokumentissa",
    },
    "maininta": {
        "nom": "maininta",
        "par": "mainintaa",
        "gen": "maininnan",
        "ela": "maininnasta",
        "ill": "mainintaan",
        "ine": "maininnassa",
    },
    "kaupunki": {
        "nom": "kaupunki",
        "par": "kaupunkia",
        "gen": "kaupungin",
        "ela": "kaupungista",
        "ill": "kaupunkiin",
        "ine": "kaupungissa",
    },
}
MONTH_STEMS = (
    "tammi",
    "helmi",
    "maalis",
    "huhti",
    "touko",
    "kesä",
    "heinä",
    "elo",
    "syys",
    "loka",
    "marras",
    "joulu",
)


def number(n: int, case: str = "nom") -> str:
    """1-10 as words in the given case, larger numbers as digits."""
    if 1 <= n <= 10:
        return _NUMBERS[case].split()[n - 1]
    return str(n)


def count(n: int, noun: str, case: str = "nom") -> str:
    """``count(2, "haastattelu")`` -> "kaksi haastattelua"; ``count(1, ..., "ela")`` ->
    "yhdestä haastattelusta". In the nominative a number above one takes the partitive
    singular; in the other cases number and noun share the case (singular)."""
    forms = NOUNS[noun]
    if n == 0:
        return f"ei yhtään {forms['par']}" if case == "nom" else f"0 {forms[case]}"
    if case == "nom":
        return f"{number(n)} {forms['nom'] if n == 1 else forms['par']}"
    return f"{number(n, case)} {forms[case]}"


def decimal(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}".replace(".", ",")


def percent(value: float) -> str:
    return f"{round(100 * value)} %"


def join(items: Sequence[str], word: str = "ja") -> str:
    items = list(items)
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def _back_vowels(word: str) -> bool:
    return any(ch in "aouAOU" for ch in word)


# Final parts of town names: (genitive stem, locative ending is external -lla/-llä?).
_PLACE_PARTS: tuple[tuple[str, str, bool], ...] = (
    ("joki", "joe", True),
    ("koski", "koske", True),
    ("lahti", "lahde", True),
    ("mäki", "mäe", True),
    ("niemi", "nieme", True),
    ("salmi", "salme", False),
    ("järvi", "järve", True),
    ("lampi", "lamme", True),
    ("harju", "harju", True),
    ("ranta", "ranna", True),
    ("kangas", "kankaa", True),
    ("saari", "saare", False),
    ("linna", "linna", False),
    ("vaara", "vaara", False),
)


def place_forms(name: str, overrides: Mapping[str, Sequence[str]] | None = None) -> tuple[str, str]:
    """(genitive, locative) of a town name: ("Lounajoen", "Lounajoella")."""
    if overrides and name in overrides and len(overrides[name]) >= 2:
        genitive, locative = overrides[name][0], overrides[name][1]
        return genitive, locative
    lower = name.lower()
    for part, stem, external in _PLACE_PARTS:
        if lower.endswith(part):
            base = name[: len(name) - len(part)] + stem
            back = _back_vowels(stem) or _back_vowels(name[-len(part) - 3 :])
            ending = ("lla" if back else "llä") if external else ("ssa" if back else "ssä")
            return base + "n", base + ending
    back = _back_vowels(name[-4:])
    if name[-1:].lower() in "aeiouyäö":
        return name + "n", name + ("ssa" if back else "ssä")
    return name + "in", name + ("issa" if back else "issä")


def month_span(dates: Sequence[str]) -> str:
    """ISO dates -> "huhtikuussa 2026" or "maalis–toukokuussa 2026"."""
    parsed = sorted((int(d[:4]), int(d[5:7])) for d in dates if d and len(d) >= 7)
    if not parsed:
        return ""
    (y1, m1), (y2, m2) = parsed[0], parsed[-1]
    if (y1, m1) == (y2, m2):
        return f"{MONTH_STEMS[m1 - 1]}kuussa {y1}"
    if y1 == y2:
        return f"{MONTH_STEMS[m1 - 1]}–{MONTH_STEMS[m2 - 1]}kuussa {y1}"
    return f"{MONTH_STEMS[m1 - 1]}kuussa {y1} – {MONTH_STEMS[m2 - 1]}kuussa {y2}"
