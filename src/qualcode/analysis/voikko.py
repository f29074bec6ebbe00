"""``voikko.v1``: lemmas and compound members from libvoikko's Finnish dictionary.

Voikko's ``WORDBASES`` lists the morphemes of the base form (``+oppi(oppi)+laitos(laitos)
+yhteis+työ(työ)``) and ``STRUCTURE`` marks where the members of a compound start. A morpheme
whose base starts with ``+`` is a derivational suffix and stays with the member before it, so
*paikallinen* is one member (not *paikka*), while *oppilaitosyhteistyö* has four.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from qualcode.analysis.base import Analysis, AnalyzerUnavailable
from qualcode.analysis.guess import guess

_MORPHEME_RE = re.compile(r"\+([^+(]*)(?:\(([^)]*)\))?")
_POS = {
    "nimisana": "noun",
    "laatusana": "adj",
    "nimisana_laatusana": "adj",
    "teonsana": "verb",
    "seikkasana": "adv",
    "asemosana": "pron",
    "suhdesana": "adp",
    "lukusana": "num",
    "etunimi": "propn",
    "sukunimi": "propn",
    "paikannimi": "propn",
    "nimi": "propn",
    "sidesana": "other",
    "kieltosana": "other",
    "huudahdussana": "other",
    "lyhenne": "noun",
}
# Inflected nouns that have become adverbs or postpositions: "lopulta" is not "loppu", "sen
# puolesta" is not "puoli". Voikko offers only the noun reading for these forms.
FROZEN_FORMS = frozenset(
    [
        "puolesta",
        "lopulta",
        "kerran",
        "tarpeeksi",
        "esimerkiksi",
        "mielellään",
        "lisää",
        "lisäksi",
        "kunnon",
        "sijaan",
        "suhteen",
        "varassa",
        "varaan",
    ]
)
# Lexicalised compounds that are not about their parts: a month is not about "kuu" (moon).
_MONTHS = frozenset(
    [
        "tammikuu",
        "helmikuu",
        "maaliskuu",
        "huhtikuu",
        "toukokuu",
        "kesäkuu",
        "heinäkuu",
        "elokuu",
        "syyskuu",
        "lokakuu",
        "marraskuu",
        "joulukuu",
        "kuukausi",
    ]
)
# Word classes whose reading wins over a noun/verb/adjective reading of the same form
# ("kuin" is the conjunction, not the plural instructive of "kuu").
_FUNCTION_CLASSES = frozenset({"sidesana", "suhdesana", "seikkasana", "asemosana"})
_CONTENT_POS = frozenset({"noun", "verb", "adj"})


def members_of(wordbases: str, structure: str, lemma: str) -> tuple[tuple[str, ...], ...]:
    """Compound members (with their possible spellings) of one Voikko analysis."""
    morphemes = [(m.group(1), m.group(2)) for m in _MORPHEME_RE.finditer(wordbases)]
    if not morphemes:
        return ((lemma,),)
    # Member starts from STRUCTURE: '=' before a character starts a new member.
    starts: set[int] = set()
    pos = 0
    for ch in structure:
        if ch == "=":
            starts.add(pos)
        else:
            pos += 1
    groups: list[list[tuple[str, str | None]]] = []
    pos = 0
    for text, base in morphemes:
        if text == "-" or (not text and not base):
            groups.append([])  # hyphen: always a member boundary
            pos += len(text)
            continue
        derivational = base is not None and base.startswith("+")
        new_member = (
            not groups
            or not groups[-1]
            or (not derivational and (base is not None or pos in starts))
        )
        if new_member:
            groups.append([])
        groups[-1].append((text, base))
        pos += len(text)
    groups = [g for g in groups if g]
    members: list[tuple[str, ...]] = []
    prefix = ""
    for i, group in enumerate(groups):
        surface = "".join(t for t, _ in group).lower()
        spellings = [surface]
        base = group[0][1]
        if len(group) == 1 and base and not base.startswith("+") and "=" in base:
            # "toimen=pide": the dictionary marks a boundary inside this member.
            spellings.extend(base.lower().split("="))
        if i == len(groups) - 1 and lemma.startswith(prefix) and len(lemma) > len(prefix):
            spellings = [lemma[len(prefix) :].lstrip("-")]  # the final member is its base form
        members.append(tuple(dict.fromkeys(s for s in spellings if s)))
        prefix += surface
    return tuple(m for m in members if m) or ((lemma,),)


def _minen_lemma(form: str) -> str | None:
    for marker in ("mis", "min"):
        i = form.rfind(marker)
        if i > 2:
            return form[:i] + "minen"
    return None


def _fewest_members(readings: list[Analysis]) -> list[Analysis]:
    """Keep the readings with the fewest compound members (proper names aside).

    The classic rule for compound splitting: "maailma" is one word, not "maa+ilma";
    "kasvatustieteiden" is "kasvatus+tiede", not "kasvatus+tie+tie"; "kuuluu" is the verb,
    not "kuu+luu".
    """
    common = [len(r.members) for r in readings if r.pos != "propn"]
    if not common:
        return readings
    fewest = min(common)
    return [r for r in readings if r.pos == "propn" or len(r.members) == fewest]


VOIKKO_HINT = "install libvoikko1 and voikko-fi (make test installs them)"


def open_voikko() -> Any:
    """libvoikko with its Finnish dictionary: the one place qualcode opens it (the analyzer,
    name detection and the name tagger each keep their own handle and cache)."""
    try:
        import libvoikko
    except Exception as exc:  # OSError when libvoikko.so is missing
        raise AnalyzerUnavailable(f"the libvoikko library is not installed ({exc})") from None
    try:
        return libvoikko.Voikko("fi")
    except Exception as exc:  # VoikkoException without the fi dictionary
        raise AnalyzerUnavailable(f"no Finnish Voikko dictionary ({exc})") from None


class VoikkoAnalyzer:
    name = "voikko.v1"

    def __init__(self) -> None:
        self._voikko: Any = open_voikko()
        import libvoikko

        dicts = libvoikko.Voikko.listDicts()
        self._version = (
            f"libvoikko {libvoikko.Voikko.getVersion()}; {dicts[0].description if dicts else 'fi'}"
        )

    @property
    def version(self) -> str:
        return self._version

    def analyze(self, forms: Sequence[str]) -> list[tuple[Analysis, ...]]:
        return [self.analyze_one(form) for form in forms]

    def analyze_one(self, form: str) -> tuple[Analysis, ...]:
        if form.lower() in FROZEN_FORMS:
            lower = form.lower()
            return (Analysis(lower, ((lower,),), "adp"),)
        if ":" in form:  # "AMK:n", "Kaarna-AMK:ssa": the inflection follows the colon
            form = form.split(":", 1)[0]
        readings = self._readings(form)
        if not readings and "-" in form.strip("-"):
            readings = self._hyphen_compound(form)
        if not readings:
            readings = guess(form)
        return tuple(sorted(set(readings), key=lambda a: (a.lemma, a.members, a.pos)))

    def _readings(self, form: str) -> list[Analysis]:
        raw = self._voikko.analyze(form)
        if any(a.get("CLASS") in _FUNCTION_CLASSES for a in raw):
            raw = [a for a in raw if a.get("CLASS") in _FUNCTION_CLASSES]
        if any((a.get("BASEFORM") or "").lower() == form.lower() for a in raw):
            # A form that is itself a dictionary form ("tilanne") is not read as a possessive
            # of a shorter word ("tila" + "-nne").
            raw = [a for a in raw if "POSSESSIVE" not in a]
        out = []
        for a in raw:
            lemma = (a.get("BASEFORM") or form).lower()
            members = members_of(a.get("WORDBASES", ""), a.get("STRUCTURE", ""), lemma)
            if lemma in _MONTHS:
                members = ((lemma,),)
            pos = _POS.get(a.get("CLASS", ""), "other")
            out.append(Analysis(lemma, members, pos))
            if a.get("MOOD") == "MINEN-infinitive":
                # "muuttamisesta": the verbal noun "muuttaminen" is a lemma of its own.
                noun = _minen_lemma(form.lower())
                if noun:
                    out.append(Analysis(noun, ((noun,),), "noun"))
            if pos == "noun" and a.get("NUMBER") == "plural":
                # Plural-only nouns are written in the plural: "markkinat", "vaalit".
                plural = lemma[:-3] + "set" if lemma.endswith("nen") else lemma + "t"
                last = tuple(p + "t" for p in members[-1] if not p.endswith("nen"))
                out.append(Analysis(plural, (*members[:-1], last or (plural,)), "noun"))
        return _fewest_members(out)

    def _hyphen_compound(self, form: str) -> list[Analysis]:
        """``TKI-hankkeessa``: the last part is inflected, the others are members as written."""
        head, _, last = form.rpartition("-")
        out = []
        for reading in self._readings(last) or guess(last):
            lemma = f"{head.lower()}-{reading.lemma}"
            lead = tuple((p,) for p in head.lower().split("-") if p)
            out.append(Analysis(lemma, (*lead, *reading.members), reading.pos))
        return out

    def close(self) -> None:
        self._voikko.terminate()
