"""Find person and organisation names in Finnish transcripts and replace them with pseudonyms.

Three steps, each a plain function over records:

1. ``detect_names`` finds candidates with the spaCy Finnish NER, Voikko's proper-noun classes
   (*etunimi*, *sukunimi*) and a list of names known in advance, and groups inflected forms
   under one base name (*Virtasen*, *Virtaselle* -> *Virtanen*; *Kosken Leena* -> *Leena Koski*);
2. ``assign_pseudonyms`` turns candidates into registry entries with stable pseudonyms
   (``[yrittäjä 2]``, ``[henkilö 3]``, ``[yritys A]``) and keeps the pseudonyms of existing entries;
3. ``Pseudonymiser`` replaces every form of every entry in a text; ``check_text`` lists names
   that are still there.

Finnish surnames are often common words (*Mäki* "hill", *Koski* "rapids"), so a form whose
Voikko readings include a common word is replaced only where it is used as a name: capitalised
mid-sentence, next to a first name or a title, or (optionally) when the NER says so.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from qualcode.analysis.tokens import TOKEN_RE, Token, tokenize
from qualcode.errors import QualcodeError

if TYPE_CHECKING:
    from qualcode.nametagger import NameTagger

NameKind = Literal["person", "org"]
Action = Literal["pseudonymise", "ignore"]
GENERIC_PSEUDONYMS: Mapping[NameKind, str] = {"person": "[henkilö]", "org": "[organisaatio]"}

# Pseudonymises a text and maps an offset in the original onto the new text.
TextMapper = Callable[[str], tuple[str, Callable[[int], int]]]


def unchanged_mapper(text: str) -> tuple[str, Callable[[int], int]]:
    """The ``TextMapper`` that changes nothing (``--no-pseudonymise``, an empty registry)."""
    return text, lambda i: i


class PseudonymiseError(QualcodeError):
    """Names cannot be detected or replaced (missing Voikko or NER model, bad registry)."""


@dataclass(frozen=True)
class NameCandidate:
    """A name found in the texts, with the surface forms it occurred in."""

    name: str
    kind: NameKind
    forms: tuple[str, ...]
    count: int


@dataclass(frozen=True)
class RegistryEntry:
    """A name in the project's registry: what to do with it and its stable pseudonym."""

    name: str
    kind: NameKind
    action: Action
    pseudonym: str
    forms: tuple[str, ...] = ()


# --- Morphology -------------------------------------------------------------------------------

_FUNCTION_CLASSES = frozenset(
    {"sidesana", "suhdesana", "seikkasana", "asemosana", "kieltosana", "huudahdussana"}
)
_INNER_LOCATIVE = frozenset({"sisaolento", "sisaeronto", "sisatulento"})
_INNER_LOCATIVE_ENDINGS = ("ssa", "ssä", "sta", "stä")
# Words after which a capitalised word is a name: titles, agent nouns, relatives
# ("rouva Green", "tohtori Rekolalle", "kuvanveistäjä Pygmalionista", "vaimo Minna").
_AGENT_SUFFIXES = ("ja", "jä")  # "johtaja", "tekijä", "kuvanveistäjä"
_TITLE_STEMS = (
    "rehtori",
    "professori",
    "tohtori",
    "ministeri",
    "presidentti",
    "herra",
    "rouva",
    "neiti",
    "asiamies",
    "päällikkö",
    "pastori",
    "piispa",
    "paavi",
    "sihteeri",
    "puhemies",
    "edustaja",
    "kuningas",
    "kuningatar",
    "prinssi",
    "prinsessa",
    "keisari",
    "soturi",
    "lautturi",
    "kapteeni",
    "kenraali",
    "eversti",
    "komisario",
    "lääkäri",
    "kollega",
    "vaimo",
    "aviomies",
    "tytär",
    "veli",
    "sisko",
    "sisar",
    "isä",
    "äiti",
    "setä",
    "täti",
    "eno",
    "serkku",
    "ystävä",
    "kaveri",
    "naapuri",
)


@dataclass(frozen=True)
class _Word:
    """Voikko's view of one word form, reduced to what name detection needs."""

    first: frozenset[str]  # lemmas of first-name readings ("Leena")
    last: frozenset[str]  # lemmas of surname readings
    place: frozenset[str]
    other: frozenset[str]  # other proper nouns ("Jeesus")
    common: frozenset[str]  # lower-case lemmas of common-word readings
    function: bool  # a conjunction, pronoun, adverb ... reading ("Koska")
    genitive: bool
    place_locative: bool  # a place name in an inner locative case ("Salossa")
    inner_locative: bool  # every case reading is an inner locative ("Hirvelästä")
    inessive: bool  # every case reading is the inessive ("Hirvelässä"): where, not who
    keys: frozenset[str]  # case-folded names this form may stand for

    @property
    def known(self) -> bool:
        return bool(self.first or self.last or self.place or self.other or self.common) or (
            self.function
        )

    @property
    def person(self) -> bool:
        return bool(self.first or self.last)

    @property
    def ambiguous(self) -> bool:
        """The form can also be an ordinary word."""
        return bool(self.common) or self.function


class _Morphology:
    """libvoikko with a per-form cache; one instance is shared by the module."""

    def __init__(self) -> None:
        from qualcode.analysis.base import AnalyzerUnavailable
        from qualcode.analysis.voikko import VOIKKO_HINT, open_voikko

        try:
            self._voikko: Any = open_voikko()
        except AnalyzerUnavailable as exc:
            raise PseudonymiseError(
                f"Voikko with a Finnish dictionary is needed to find names ({exc})",
                VOIKKO_HINT,
            ) from None
        self._cache: dict[str, _Word] = {}

    def word(self, form: str) -> _Word:
        word = self._cache.get(form)
        if word is None:
            word = self._cache[form] = self._analyse(form)
        return word

    def word_keys(self, form: str) -> frozenset[str]:
        """``word(form).keys``, without building (or keeping) the rest of the word."""
        word = self._cache.get(form)
        if word is not None:
            return word.keys
        base = _base(form)
        return _keys(form, base, self._voikko.analyze(base) if base else [])

    def _analyse(self, form: str) -> _Word:
        base = _base(form)
        raw = self._voikko.analyze(base) if base else []
        first: set[str] = set()
        last: set[str] = set()
        place: set[str] = set()
        other: set[str] = set()
        common: set[str] = set()
        function = genitive = place_locative = False
        cases: list[str] = []
        for reading in raw:
            lemma = reading.get("BASEFORM") or base
            cls = reading.get("CLASS", "")
            case = reading.get("SIJAMUOTO")
            if case:
                cases.append(case)
            genitive = genitive or case == "omanto"
            if cls == "etunimi":
                first.add(lemma)
            elif cls == "sukunimi":
                last.add(lemma)
            elif cls == "paikannimi":
                place.add(lemma)
                place_locative = place_locative or case in _INNER_LOCATIVE
            elif cls == "nimi":
                other.add(lemma)
            elif cls in _FUNCTION_CLASSES:
                function = True
            else:
                common.add(lemma.lower())
        keys = _keys(form, base, raw)
        if not raw and base.endswith("n") and len(base) > 3:
            genitive = True  # unknown names: "Kaarlelan", "Sjöblomin"
        inner = bool(cases) and all(c in _INNER_LOCATIVE for c in cases)
        inessive = bool(cases) and all(c == "sisaolento" for c in cases)
        if not raw and base.casefold().endswith(_INNER_LOCATIVE_ENDINGS):
            inner = True
            inessive = base.casefold().endswith(("ssa", "ssä"))
        return _Word(
            frozenset(first),
            frozenset(last),
            frozenset(place),
            frozenset(other),
            frozenset(common),
            function,
            genitive,
            place_locative,
            inner,
            inessive,
            frozenset(keys),
        )

    def is_title(self, form: str) -> bool:
        if _capitalised(form) and not form[1:].islower():
            return False
        return any(
            c.endswith(_TITLE_STEMS) or (c.endswith(_AGENT_SUFFIXES) and len(c) > 5)
            for c in self.word(form).common
        )


def _base(form: str) -> str:
    return form.split(":", 1)[0] if ":" in form else form  # "Oy:n", "AMK:n"


_NAME_CLASSES = frozenset({"etunimi", "sukunimi", "paikannimi", "nimi"})


def _keys(form: str, base: str, raw: Sequence[dict[str, str]]) -> frozenset[str]:
    """The case-folded names a form may stand for: itself, and the lemmas of its name and
    common-word readings (not of its function-word ones); stems when Voikko does not know it."""
    keys = {form.casefold(), base.casefold()}
    for reading in raw:
        lemma = reading.get("BASEFORM") or base
        cls = reading.get("CLASS", "")
        if cls in _NAME_CLASSES:
            keys.add(lemma.casefold())
        elif cls not in _FUNCTION_CLASSES:
            keys.add(lemma.lower().casefold())
    if not raw:
        keys.update(_stems(base))
    return frozenset(keys)


# Case endings, possessive suffixes and clitics as they attach to names no dictionary knows.
_NAME_ENDINGS = tuple(
    sorted(
        {
            *("n", "a", "ä", "ta", "tä", "na", "nä", "ksi", "t", "kin", "kaan", "kään"),
            *("ssa", "ssä", "sta", "stä", "lla", "llä", "lta", "ltä", "lle", "han", "hän"),
            *("in", "ia", "iä", "ien", "iin", "ihin", "ille", "illa", "illä", "ilta", "iltä"),
            *("ista", "istä", "issa", "issä", "ina", "inä", "iksi", "hin", "hen", "hon", "hun"),
            *("nsa", "nsä", "mme", "nne", "ni", "si", "ineen"),
        },
        key=len,
        reverse=True,
    )
)


def _stems(form: str) -> set[str]:
    """Possible base forms of a name no dictionary knows, case-folded.

    "Kaarlelan" -> "kaarlela"; "Iglesiaksen" -> "iglesias"; "Philokrateen" -> "philokrates";
    "Saarelaisen" -> "saarelainen".
    """
    lower = form.casefold()
    stems = {
        lower[: -len(e)] for e in _NAME_ENDINGS if lower.endswith(e) and len(lower) > len(e) + 2
    }
    out = set(stems)
    for stem in stems:
        if stem.endswith("kse"):
            out.add(stem[:-3] + "s")  # Iglesias : Iglesiaksen
        elif stem.endswith("ee"):
            out.add(stem[:-1] + "s")  # Philokrates : Philokrateen
        elif stem.endswith("se"):
            out.add(stem[:-2] + "nen")  # Saarelainen : Saarelaisen
        elif stem.endswith("s") and len(stem) > 4:
            out.add(stem[:-1] + "nen")  # Saarelainen : Saarelaista
    return out


_MORPHOLOGY: _Morphology | None = None


def _morphology() -> _Morphology:
    global _MORPHOLOGY
    if _MORPHOLOGY is None:
        _MORPHOLOGY = _Morphology()
    return _MORPHOLOGY


class _SharedVoikko:
    """libvoikko's ``analyze`` answered once per word for several readers of the same forms."""

    def __init__(self, voikko: Any) -> None:
        self.voikko = voikko
        self.memo: dict[str, Any] = {}

    def analyze(self, word: str) -> Any:
        found = self.memo.get(word)
        if found is None:
            found = self.memo[word] = self.voikko.analyze(word)
        return found


def start_keys(entries: Sequence[RegistryEntry]) -> frozenset[str]:
    """The keys a registry's matches can start from (what ``_Matcher._may_start`` tests)."""
    index = _build_index(list(entries))
    return frozenset(index.patterns) | frozenset(index.single)


def may_start_forms(
    forms: Sequence[str], keys: frozenset[str], analyse: Callable[[], object], owner: Any
) -> list[str]:
    """Run ``analyse()`` (the tag's analysis of ``forms``), and give those of ``forms`` from
    which a registry entry with these ``keys`` may match, asking Voikko once per word for both.

    ``owner`` holds the tag analyzer's libvoikko as ``_voikko`` (``voikko.v1``); any other
    analyzer simply does not share. ``prime_start_forms`` hands the answer to the
    pseudonymiser of the review CSV, so it does not analyse every form a second time.
    """
    morph = _morphology()
    own = morph._voikko
    shared = _SharedVoikko(own)
    borrowed = getattr(owner, "_voikko", None)
    morph._voikko = shared
    if borrowed is not None:
        owner._voikko = shared
    try:
        analyse()
        return [f for f in forms if _may_start(morph, f, keys, morph.word_keys)]
    finally:
        morph._voikko = own
        if borrowed is not None:
            owner._voikko = borrowed


_PRIMED: dict[frozenset[str], tuple[set[str], set[str]]] = {}


def prime_start_forms(keys: frozenset[str], checked: Iterable[str], starts: Iterable[str]) -> None:
    """Remember, for matchers with these ``keys``, which ``checked`` forms may start a match
    (``starts``) and which may not (``may_start_forms`` worked them out with the tag)."""
    known, yes = _PRIMED.setdefault(keys, (set(), set()))
    known.update(checked)
    yes.update(starts)


def _may_start(
    morph: _Morphology, form: str, keys: Collection[str], keys_of: Callable[[str], frozenset[str]]
) -> bool:
    if form.casefold() in keys or not keys_of(form).isdisjoint(keys):
        return True
    head = form.partition("-")[0]  # "Hypatia-niminen"
    return head != form and (head.casefold() in keys or not keys_of(head).isdisjoint(keys))


# --- Text helpers -----------------------------------------------------------------------------

_ANNOTATION_RE = re.compile(r"\[[^\[\]\n]{0,80}\]")  # "[naurahtaa]", "[henkilö 3]"
_SENTENCE_END = frozenset(".!?:…\n")
_SKIP_BEFORE = frozenset(" \t\r\"'“”«»(–—-*#>•")
_ROMAN_RE = re.compile(r"[IVX]{2,5}")
# Nouns that make the genitive before them a place: "Kivikarin alueella", "Hirvelän kunta".
_PLACE_HEADS = (
    "alue",
    "kylä",
    "kunta",
    "kaupunki",
    "seutu",
    "keskusta",
    "satama",
    "kaupunginosa",
    "katu",
    "järvi",
    "joki",
    "saari",
    "vuori",
    "niemi",
    "lahti",
)
# Postpositions after a genitive that is a person more often than a thing: "Mäen kanssa".
_PERSON_POSTPOSITIONS = frozenset({"kanssa", "mukaan", "luona", "luota", "luokse", "mielestä"})
_ABBREVIATIONS = frozenset({"esim", "mm", "ns", "ks", "vrt", "tri", "prof", "dos", "os", "ym"})
_LEGAL = frozenset({"oy", "oyj", "ab", "ky", "tmi", "ay", "ry", "ltd", "inc", "gmbh", "llc"})
_SCHOOL_WORDS = (
    "lukio",
    "opisto",
    "koulu",
    "amk",
    "yliopisto",
    "akatemia",
    "instituutti",
)
_ASSOCIATION_WORDS = (" ry", "liitto", "yhdistys", "säätiö", "seura", "kerho", "osuuskunta")
# National public bodies are named openly in reports; a researcher can still add them.
_PUBLIC_BODIES = frozenset(
    {
        "business finland",
        "suomen akatemia",
        "euroopan unioni",
        "euroopan komissio",
        "euroopan sosiaalirahasto",
        "euroopan aluekehitysrahasto",
        "työ- ja elinkeinoministeriö",
        "opetus- ja kulttuuriministeriö",
    }
)


def _capitalised(form: str) -> bool:
    return form[:1].isupper() and not (len(form) > 1 and form.isupper())


def _masked(text: str) -> str:
    """The text with bracketed annotations blanked, so "[naurahtaa] Mäki" starts a sentence."""
    return _ANNOTATION_RE.sub(lambda m: " " * len(m.group()), text)


def _sentence_initial(masked: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and masked[i] in _SKIP_BEFORE:
        i -= 1
    if i < 0:
        return True
    if masked[i] == ".":
        j = i
        while j > 0 and masked[j - 1].isalpha():
            j -= 1
        # An initial or an abbreviation is not the end of a sentence: "Markku I. Nurminen".
        if i - j == 1 or masked[j:i].casefold() in _ABBREVIATIONS:
            return False
    return masked[i] in _SENTENCE_END


def _adjacent(text: str, left: Token, right: Token) -> bool:
    gap = text[left.end : right.start]
    return bool(gap) and gap.isspace() and "\n" not in gap


def _initial(text: str, tokens: Sequence[Token], k: int) -> bool:
    """Token ``k`` is an initial between two parts of a name: "Maija S. Peltola"."""
    if not 0 < k < len(tokens) - 1:
        return False
    token = tokens[k]
    if len(token.form) != 1 or not token.form.isupper():
        return False
    gap = text[token.end : tokens[k + 1].start]
    after = gap.startswith(".") and gap[1:].isspace() and "\n" not in gap
    return after and _adjacent(text, tokens[k - 1], token)


def _legal(form: str) -> bool:
    return form.split(":", 1)[0].casefold() in _LEGAL


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- Matching (shared by detection and replacement) -----------------------------------------


@dataclass(frozen=True)
class _Pattern:
    entry: int
    positions: tuple[frozenset[str], ...]
    org: bool  # organisations may end in a legal form (Oy, Ab ...) and ignore case


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    entry: int  # index of the entry, or -1 when a name part belongs to several entries
    key: str


_AMBIGUOUS = -1


@dataclass
class _Index:
    patterns: dict[str, list[_Pattern]] = field(default_factory=dict)
    single: dict[str, int] = field(default_factory=dict)
    first_names: set[str] = field(default_factory=set)


def _core(entry_name: str) -> list[str]:
    parts = entry_name.split()
    if len(parts) > 1 and _legal(parts[-1]):
        parts = parts[:-1]  # "Linnan Konepaja Oy" is also "Linnan Konepaja"
    return parts


def _build_index(entries: Sequence[RegistryEntry]) -> _Index:
    index = _Index()
    # key -> priority -> entries; lower priority numbers win (ignored names protect their forms)
    claims: dict[str, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    for ix, entry in enumerate(entries):
        parts = _core(entry.name)
        keyed = [p.casefold() for p in parts]
        own = 0 if entry.action == "ignore" else 1
        if len(parts) >= 2:
            sequences = [keyed]
            if entry.kind == "person":
                sequences.append([keyed[-1], *keyed[:-1]])  # colloquial "Kosken Leena"
                index.first_names.update(keyed[:-1])
                for k in keyed:
                    if len(k) > 1 and not _ROMAN_RE.fullmatch(k.upper()):  # not "II"
                        claims[k][0 if own == 0 else 2].add(ix)
            for seq in sequences:
                pattern = _Pattern(ix, tuple(frozenset([k]) for k in seq), entry.kind == "org")
                index.patterns.setdefault(seq[0], []).append(pattern)
        elif keyed:
            claims[keyed[0]][own].add(ix)
        for form in entry.forms:
            tokens = [t.form.casefold() for t in tokenize(form)]
            if len(tokens) == 1:
                claims[tokens[0]][own].add(ix)
            elif len(tokens) > 1:
                pattern = _Pattern(ix, tuple(frozenset([t]) for t in tokens), entry.kind == "org")
                index.patterns.setdefault(tokens[0], []).append(pattern)
    for key, by_priority in claims.items():
        owners = by_priority[min(by_priority)]
        ignored = [ix for ix in owners if entries[ix].action == "ignore"]
        if ignored:
            index.single[key] = min(ignored)
        else:
            index.single[key] = min(owners) if len(owners) == 1 else _AMBIGUOUS
    return index


# The ordinary lower-case forms of a material, or a function that counts them when first asked.
Words = Collection[str] | Callable[[], Collection[str]] | None


class _Matcher:
    """Finds where registry entries occur in a text (token based, longest match first)."""

    def __init__(
        self,
        entries: Sequence[RegistryEntry],
        morph: _Morphology,
        words: Words = None,
    ) -> None:
        self.entries = list(entries)
        self.morph = morph
        self.words = words
        self.index = _build_index(self.entries)
        pseudonyms = {e.pseudonym for e in self.entries if e.pseudonym}
        pseudonyms.update(GENERIC_PSEUDONYMS.values())
        alternatives = "|".join(re.escape(p) for p in sorted(pseudonyms, key=len, reverse=True))
        self._pseudonym_re = re.compile(alternatives)
        self._keys = set(self.index.patterns) | set(self.index.single)
        self._starts: dict[str, bool] = {}
        self._no_start: set[str] = set()
        primed = _PRIMED.get(frozenset(self._keys))
        if primed is not None:  # worked out with the tag's analysis (may_start_forms)
            checked, yes = primed
            self._starts.update(dict.fromkeys(checked, False))
            self._starts.update(dict.fromkeys(yes, True))
            self._no_start = checked - yes
        self._second: dict[str, dict[str, list[_Pattern]]] = {}

    def hits(
        self,
        text: str,
        *,
        persons_at: frozenset[int] | None = None,
        lenient: bool = False,
    ) -> Iterator[_Hit]:
        """Every match in ``text``.

        ``persons_at``: start offsets of tokens the NER calls names; used only for capitalised
        sentence-initial forms that are also common words. ``lenient`` also returns those when
        nothing confirms them (for ``check_text``).
        """
        # Most texts have no word from which any entry can match: find that out from the
        # distinct forms (C-speed regex and set difference), before making tokens.
        forms = set(TOKEN_RE.findall(text)) - self._no_start
        if not any(self._may_start(f) for f in forms):
            return
        tokens = self.tokens(text)
        masked = _masked(text)
        i = 0
        while i < len(tokens):
            if not self._may_start(tokens[i].form):
                i += 1
                continue
            hit, used = self._pattern_at(text, tokens, i)
            if hit is None:
                hit = self._single(text, masked, tokens, i, persons_at, lenient)
                used = 1
            if hit is not None:
                yield hit
            i += max(used, 1)

    def _may_start(self, form: str) -> bool:
        """Whether any entry can match from a token of this form (once per distinct form).

        The same test as ``_pattern_at`` and ``_single`` make on their first token, without
        the context: most tokens of a transcript fail it, and skipping them is what makes a
        whole corpus quick to pseudonymise.
        """
        found = self._starts.get(form)
        if found is None:
            found = _may_start(self.morph, form, self._keys, self._word_keys)
            self._starts[form] = found
            if not found:
                self._no_start.add(form)
        return found

    def _word_keys(self, form: str) -> frozenset[str]:
        return self.morph.word(form).keys

    def tokens(self, text: str) -> list[Token]:
        """The tokens of ``text`` outside pseudonyms."""
        # Words inside pseudonyms are never names again: that keeps apply() idempotent.
        inside = {i for m in self._pseudonym_re.finditer(text) for i in range(m.start(), m.end())}
        return [t for t in tokenize(text) if t.start not in inside]

    def _pattern_at(self, text: str, tokens: list[Token], i: int) -> tuple[_Hit | None, int]:
        first = tokens[i]
        keys = self.morph.word(first.form).keys
        best: tuple[int, int, _Pattern] | None = None  # (length, -entry, pattern)
        following: set[str] | None = None
        for key in sorted(keys):
            if key not in self.index.patterns:
                continue
            if following is None:
                following = self._following_keys(text, tokens, i)
            for pattern in self._candidates(key, following):
                length = self._pattern_length(text, tokens, i, pattern)
                if length and (best is None or (length, -pattern.entry) > best[:2]):
                    best = (length, -pattern.entry, pattern)
        if best is None:
            return None, 0
        length, _, pattern = best
        return _Hit(first.start, tokens[i + length - 1].end, pattern.entry, first.form), length

    def _following_keys(self, text: str, tokens: list[Token], i: int) -> set[str]:
        """Keys of the token after ``i``, and of the one after that when it is an initial."""
        keys: set[str] = set()
        for k in (i + 1, i + 2) if _initial(text, tokens, i + 1) else (i + 1,):
            if k < len(tokens):
                keys |= self.morph.word(tokens[k].form).keys
        return keys

    def _candidates(self, key: str, following: set[str]) -> list[_Pattern]:
        """Patterns starting with ``key`` whose second word can be the next token.

        Many names can share a first word (a common first name, or "Henkilö 0001" ...
        "Henkilö 0500"); looking them up by their second word keeps each token's cost flat.
        """
        by_second = self._second.get(key)
        if by_second is None:
            by_second = defaultdict(list)
            for pattern in self.index.patterns[key]:
                for second in pattern.positions[1] if len(pattern.positions) > 1 else {""}:
                    by_second[second].append(pattern)
            self._second[key] = by_second
        # Order does not matter: the longest match wins, then the lowest entry.
        return [*by_second.get("", ()), *(p for k in following for p in by_second.get(k, ()))]

    def _pattern_length(self, text: str, tokens: list[Token], i: int, pattern: _Pattern) -> int:
        """How many tokens ``pattern`` covers from token ``i`` (0: no match)."""
        k = i
        for pos, accepted in enumerate(pattern.positions):
            if pos and not pattern.org and _initial(text, tokens, k):
                k += 1  # "Maija S. Peltola" is "Maija Peltola"
            elif pos and (k >= len(tokens) or not _adjacent(text, tokens[k - 1], tokens[k])):
                return 0
            if k >= len(tokens):
                return 0
            word = self.morph.word(tokens[k].form)
            if not accepted & word.keys:
                return 0
            if not pattern.org and not _capitalised(tokens[k].form) and word.ambiguous:
                return 0  # "leena koski" is a name, "mäen" in "Arto mäen" is not
            k += 1
        if not _capitalised(tokens[i].form) and self.morph.word(tokens[i].form).ambiguous:
            return 0
        legal = k < len(tokens) and _legal(tokens[k].form)
        if pattern.org and legal and _adjacent(text, tokens[k - 1], tokens[k]):
            k += 1
        return k - i

    def _single(
        self,
        text: str,
        masked: str,
        tokens: list[Token],
        i: int,
        persons_at: frozenset[int] | None,
        lenient: bool,
    ) -> _Hit | None:
        token = tokens[i]
        word = self.morph.word(token.form)
        exact = token.form.casefold()
        owners = self._owners(exact, word)
        end = token.end
        if not owners and "-" in token.form:
            # "Hypatia-niminen": the name before the hyphen; "Mäki-Petäjä": the whole name.
            head, _, tail = token.form.partition("-")
            word = self.morph.word(head)
            owners = self._owners(head.casefold(), word)
            if not tail[:1].isupper():
                end = token.start + len(head)
        if not owners:
            return None
        entry = owners.pop() if len(owners) == 1 else _AMBIGUOUS
        kind = self.entries[entry].kind if entry != _AMBIGUOUS else "person"
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if kind == "org" and nxt and _legal(nxt.form) and _adjacent(text, token, nxt):
            end = nxt.end  # "Kehitys Oy:n": the legal form goes with the name
        hit = _Hit(token.start, end, entry, exact)
        if not token.form[:1].isupper():
            return hit if not word.ambiguous and word.known else None
        if kind == "person" and word.place_locative and not word.person:
            return None  # "Salossa" is the town even when someone is called Salo
        if not word.ambiguous or not _sentence_initial(masked, token.start):
            return hit
        if self._name_context(text, tokens, i):
            return hit
        if lenient or (persons_at is not None and token.start in persons_at):
            return hit
        words = self._ordinary_words()
        if words is not None and token.form.lower() not in words:
            return hit  # never an ordinary word in this material: "Ilveskelo, joka ..."
        return None

    def _ordinary_words(self) -> Collection[str] | None:
        # Counting a corpus's forms takes a while, and most texts never ask: count on demand.
        if callable(self.words):
            self.words = self.words()
        return self.words

    def _owners(self, exact: str, word: _Word) -> set[int]:
        if exact in self.index.single:
            return {self.index.single[exact]}
        return {self.index.single[k] for k in word.keys if k in self.index.single}

    def _name_context(self, text: str, tokens: list[Token], i: int) -> bool:
        """A first name or a title right before; a first name, a surname or "kanssa" after."""
        if i > 0 and _adjacent(text, tokens[i - 1], tokens[i]):
            prev = tokens[i - 1].form
            if self._is_first_name(prev) or self.morph.is_title(prev):
                return True
        if i + 1 < len(tokens) and _adjacent(text, tokens[i], tokens[i + 1]):
            nxt = tokens[i + 1].form
            if _legal(nxt):
                return True  # "Kehitys Oy valmistelee"
            word = self.morph.word(nxt)
            surname = bool(word.last) and not word.ambiguous
            if nxt.casefold() in _PERSON_POSTPOSITIONS:
                return self.morph.word(tokens[i].form).genitive
            return self._is_first_name(nxt) or (_capitalised(nxt) and surname)
        return False

    def _is_first_name(self, form: str) -> bool:
        word = self.morph.word(form)
        return _capitalised(form) and (bool(word.first) or bool(word.keys & self.index.first_names))


# --- spaCy NER ------------------------------------------------------------------------------

_NLP: Any = None
_NOT_NER = ("tok2vec", "tagger", "morphologizer", "parser", "attribute_ruler", "lemmatizer")
_PERSON_LABELS = frozenset({"PERSON", "PER"})
_ORG_LABELS = frozenset({"ORG"})
_PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})


def _load_ner() -> Any:
    global _NLP
    if _NLP is None:
        try:
            from qualcode.analysis.spacy_fi import MODEL_PACKAGE, load_pipeline

            # The NER has its own tok2vec, so the rest of the pipeline is dead weight here.
            _NLP = load_pipeline(exclude=_NOT_NER)
        except Exception as exc:
            raise PseudonymiseError(
                f"the spaCy Finnish model cannot load ({exc})",
                f"install {MODEL_PACKAGE}, or detect without the NER (ner=False)",
            ) from None
    return _NLP


def _chunks(text: str, size: int = 3000) -> Iterator[tuple[int, str]]:
    """Line-aligned pieces of ``text`` with their offsets (spaCy is faster on short docs)."""
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            cut = text.rfind("\n", start, end)
            end = cut + 1 if cut > start else end
        yield start, text[start:end]
        start = end


def _entities(texts: Sequence[str]) -> list[list[tuple[int, int, str]]]:
    nlp = _load_ner()
    pieces = [(n, off, chunk) for n, text in enumerate(texts) for off, chunk in _chunks(text)]
    out: list[list[tuple[int, int, str]]] = [[] for _ in texts]
    docs = nlp.pipe((chunk for _, _, chunk in pieces), batch_size=64)
    for (n, off, _), doc in zip(pieces, docs, strict=True):
        out[n].extend((off + e.start_char, off + e.end_char, e.label_) for e in doc.ents)
    return out


# --- Detection ------------------------------------------------------------------------------


@dataclass
class _Text:
    """One text prepared for detection."""

    text: str
    tokens: list[Token]
    masked: str
    person_ent: list[int]  # per token: NER PERSON entity number, or -1
    org_ent: list[int]
    other_ent: list[bool]  # inside a non-person, non-org entity (place, product ...)
    place_ent: list[bool]
    claimed: list[bool] = field(default_factory=list)


@dataclass(frozen=True)
class _Mention:
    kind: NameKind
    parts: tuple[str, ...]  # base names in canonical order ("Leena", "Koski")
    legal: str = ""  # "Oy" when an organisation was written with its legal form


def _prepare(text: str, ents: Sequence[tuple[int, int, str]]) -> _Text:
    tokens = tokenize(text)
    person = [-1] * len(tokens)
    org = [-1] * len(tokens)
    other = [False] * len(tokens)
    place = [False] * len(tokens)
    starts = [t.start for t in tokens]
    for number, (s, e, label) in enumerate(ents):
        lo = bisect.bisect_right(starts, s) - 1
        for k in range(max(lo, 0), len(tokens)):
            t = tokens[k]
            if t.start >= e:
                break
            if t.end <= s:
                continue
            if label in _PERSON_LABELS:
                person[k] = number
            elif label in _ORG_LABELS:
                org[k] = number
            else:
                other[k] = True
                place[k] = place[k] or label in _PLACE_LABELS
    claimed = [False] * len(tokens)
    return _Text(text, tokens, _masked(text), person, org, other, place, claimed)


class _Detector:
    def __init__(self, morph: _Morphology, observed: set[str], known_keys: set[str]) -> None:
        self.morph = morph
        self.observed = observed  # case-folded capitalised forms in the whole corpus
        self.known_keys = known_keys
        # How many different unknown forms share each possible stem: "Kalymnoksen" and
        # "Kalymnokselle" share "kalymnos".
        self.stem_support: Counter[str] = Counter(
            stem
            for form in observed
            if not morph.word(form).known
            for stem in {form, *_stems(form)}
        )

    # bases

    def base(self, form: str, role: str = "any") -> str:
        """The base name a token stands for; ``role`` is "first", "last" or "any"."""
        word = self.morph.word(form)
        groups = {
            "first": (word.first, word.last, word.other, word.place),
            "last": (word.last, word.other, word.place, word.first),
            "any": (word.last, word.first, word.other, word.place),
        }[role]
        for group in groups:
            if group:
                return _closest(form, group)
        if word.common:
            return (
                _upper_first(_closest(form.lower(), word.common))
                if _capitalised(form)
                else (_closest(form.lower(), word.common))
            )
        if not word.known:
            # Prefer a stem seen on its own (the nominative), then one shared by other forms.
            ranked = sorted(
                _stems(form),
                key=lambda s: (s not in self.observed, -self.stem_support[s], -len(s), s),
            )
            best = ranked[0] if ranked else ""
            if best and (best in self.observed or self.stem_support[best] > 1):
                return form[: len(best)] if form.casefold().startswith(best) else _upper_first(best)
        return form.split(":", 1)[0] if ":" in form else form

    # organisations

    def organisations(self, doc: _Text) -> Iterator[_Mention]:
        tokens = doc.tokens
        n = len(tokens)
        i = 0
        while i < n:
            found = self._org_at(doc, i)
            if found is None:
                i += 1
                continue
            start, end, mention = found
            for k in range(start, end):
                doc.claimed[k] = True
            yield mention
            i = end

    def _org_at(self, doc: _Text, i: int) -> tuple[int, int, _Mention] | None:
        tokens = doc.tokens
        text = doc.text
        n = len(tokens)
        form = tokens[i].form
        word = self.morph.word(form)
        if doc.claimed[i] or not _capitalised(form):
            return None
        # "Kaarna-AMK", "Louna-opisto": a name joined to a school word by a hyphen.
        if "-" in form.split(":", 1)[0]:
            head, _, tail = form.split(":", 1)[0].rpartition("-")
            if head[:1].isupper() and tail.casefold().startswith(_SCHOOL_WORDS):
                return i, i + 1, _Mention("org", (f"{head}-{self._school_base(tail)}",))
        nxt_ok = i + 1 < n and _adjacent(text, tokens[i], tokens[i + 1])
        # A name followed by its legal form: "Ilveskelo Oy", "Hapanjuuri Labs Oy:n".
        if nxt_ok and _legal(tokens[i + 1].form) and not _legal(form):
            return self._with_legal(doc, i, i + 1)
        if not nxt_ok or not word.genitive or (word.first and not word.last and not word.common):
            return self._ner_org(doc, i)
        if word.function and not (word.place or word.last):
            return self._ner_org(doc, i)  # "Meidän lukiosta": our school, opening a sentence
        nxt = tokens[i + 1]
        nw = self.morph.word(nxt.form)
        # "Ilvesvaaran lukio", "Harjuniemen yliopiston": a place and a school word.
        if not _capitalised(nxt.form) and any(c.endswith(_SCHOOL_WORDS) for c in nw.common):
            return i, i + 2, _Mention("org", (form, self.base(nxt.form).lower()))
        # "Kuusiston Metalli", "Mäen Sähkö": a genitive and a capitalised ordinary noun.
        if _capitalised(nxt.form) and nw.common and not nw.person and not nw.function:
            parts = (form, self.base(nxt.form))
            if i + 2 < n and _adjacent(text, nxt, tokens[i + 2]) and _legal(tokens[i + 2].form):
                legal = _upper_first(tokens[i + 2].form.split(":", 1)[0])
                return i, i + 3, _Mention("org", parts, legal)
            return i, i + 2, _Mention("org", parts)
        return self._ner_org(doc, i)

    def _with_legal(self, doc: _Text, head: int, legal: int) -> tuple[int, int, _Mention] | None:
        tokens = doc.tokens
        start = head
        # Extend to the left over genitives ("Pohjanlinnan Kehitys Oy") and over words the
        # NER puts in the same organisation ("Hapanjuuri Labs Oy").
        while start > 0 and head - start < 3:
            j = start - 1
            prev = tokens[j]
            w = self.morph.word(prev.form)
            if (
                doc.claimed[j]
                or not _adjacent(doc.text, prev, tokens[start])
                or not _capitalised(prev.form)
                or w.function
            ):
                break
            same_org = doc.org_ent[j] >= 0 and doc.org_ent[j] == doc.org_ent[head]
            if not ((w.genitive and not w.person) or (same_org and not w.person)):
                break
            start = j
        if not _capitalised(tokens[head].form):
            return None
        parts = [t.form for t in tokens[start:head]] + [self.base(tokens[head].form)]
        legal_form = tokens[legal].form.split(":", 1)[0]
        return start, legal + 1, _Mention("org", tuple(parts), _upper_first(legal_form))

    def _ner_org(self, doc: _Text, i: int) -> tuple[int, int, _Mention] | None:
        """Multi-word organisations only the NER knows ("Louna Innovation Hub")."""
        number = doc.org_ent[i]
        if number < 0 or (i > 0 and doc.org_ent[i - 1] == number):
            return None
        tokens = doc.tokens
        end = i + 1
        while end < len(tokens) and doc.org_ent[end] == number:
            if not _adjacent(doc.text, tokens[end - 1], tokens[end]) or doc.claimed[end]:
                break
            end += 1
        if end - i < 2 or not all(_capitalised(t.form) for t in tokens[i:end]):
            return None
        legal = ""
        if _legal(tokens[end - 1].form):
            legal = _upper_first(tokens[end - 1].form.split(":", 1)[0])
            end -= 1
        if end - i < 2 and not legal:
            return None
        parts = [t.form for t in tokens[i : end - 1]] + [self.base(tokens[end - 1].form)]
        if " ".join(parts).casefold() in _PUBLIC_BODIES:
            return None
        return i, end + (1 if legal else 0), _Mention("org", tuple(parts), legal)

    def _school_base(self, tail: str) -> str:
        word = self.morph.word(tail)
        if tail.isupper() or tail.split(":", 1)[0].isupper():
            return tail.split(":", 1)[0]
        return _closest(tail.lower(), word.common) if word.common else tail

    # persons

    def persons(self, doc: _Text) -> Iterator[_Mention]:
        tokens = doc.tokens
        i = 0
        while i < len(tokens):
            if doc.claimed[i] or not _capitalised(tokens[i].form):
                i += 1
                continue
            reversed_name = self._surname_first(doc, i)
            if reversed_name is not None:
                yield reversed_name
                i += 2
                continue
            if not self._seed(doc, i):
                i += 1
                continue
            chosen = [i]
            while len(chosen) < 4:
                nxt = self._next_part(doc, chosen[-1])
                if nxt is None:
                    break
                chosen.append(nxt)
            forms = [tokens[k].form for k in chosen]
            if len(forms) == 1:
                yield _Mention("person", (self.base(forms[0]),))
            else:
                firsts = tuple(self.base(f, "first") for f in forms[:-1])
                yield _Mention("person", (*firsts, self.base(forms[-1], "last")))
            i = chosen[-1] + 1

    def _next_part(self, doc: _Text, prev: int) -> int | None:
        """The token that continues the name ending at ``prev``, skipping an initial ("S.")."""
        tokens = doc.tokens
        j = prev + 1
        if _initial(doc.text, tokens, j):
            return j + 1 if self._continues(doc, j + 1, prev, initial=True) else None
        return j if j < len(tokens) and self._continues(doc, j, prev) else None

    def _seed(self, doc: _Text, i: int) -> bool:
        form = doc.tokens[i].form
        word = self.morph.word(form)
        if len(form) < 2 or (word.function and not word.person):
            return False
        if word.keys & self.known_keys:
            return True
        if (word.place_locative or word.inner_locative) and not word.first:
            return False
        if word.genitive and self._place_head_at(doc, i + 1):
            return False  # "Kivikarin alueella"
        initial = _sentence_initial(doc.masked, doc.tokens[i].start)
        # An ordinary word opening a sentence is not a name on the NER's word ("Kiitos");
        # capitalised inside one it usually is ("Lintu", "Saarikangas").
        ordinary = word.known and not (word.person or word.other or word.place)
        if self._title_before(doc, i):
            return not ordinary or doc.person_ent[i] >= 0
        if doc.person_ent[i] >= 0:
            return not (ordinary and initial) and not form.split("-", 1)[0].isupper()
        if not word.person or doc.other_ent[i] or doc.org_ent[i] >= 0:
            return False
        if not word.ambiguous or not initial:
            return True
        return self._first_name_at(doc, i + 1, after=i) or self._surname_at(doc, i + 1, after=i)

    def _continues(self, doc: _Text, j: int, prev: int, *, initial: bool = False) -> bool:
        """Whether token ``j`` continues the name that ends at token ``prev``."""
        tokens = doc.tokens
        token = tokens[j]
        if doc.claimed[j] or not (initial or _adjacent(doc.text, tokens[prev], token)):
            return False
        shouting = token.form.isupper() and len(token.form) > 2  # "Franz FISCHLER"
        if len(token.form) < 2 or not (_capitalised(token.form) or shouting):
            return _ROMAN_RE.fullmatch(token.form) is not None and not initial  # "Paavali II"
        word = self.morph.word(token.form)
        if _legal(token.form):
            return False
        if word.keys & self.known_keys:
            return True
        nen_surname = any(s.endswith("nen") for s in word.last) and not word.place
        if word.place_locative or (word.inner_locative and not nen_surname):
            # "Leena Hirvelästä" is Leena from Hirvelä and "Halonen Irlantiin" goes to Ireland,
            # but a -nen surname names no place: "yhteydessä Leena Korhoseen".
            return False
        if doc.person_ent[j] >= 0 and doc.person_ent[j] == doc.person_ent[prev]:
            return True
        # Only first names are followed by more of the name. "Tuula Rantakivi" has an ordinary
        # word as her surname, and Voikko lists many surnames as places only ("Peltola").
        return bool(self.morph.word(tokens[prev].form).first)

    def _surname_first(self, doc: _Text, i: int) -> _Mention | None:
        """Colloquial "Kosken Leena", "Halosen Riikka": a genitive surname, then the first name."""
        if not self._first_name_at(doc, i + 1, after=i) or self._next_part(doc, i + 1) is not None:
            return None  # "Englannin Michael Owenin" is Michael Owen of England
        word = self.morph.word(doc.tokens[i].form)
        if not word.genitive or word.function or (word.first and not word.last):
            return None
        first = self.base(doc.tokens[i + 1].form, "first")
        return _Mention("person", (first, self.base(doc.tokens[i].form, "last")))

    def _first_name_at(self, doc: _Text, j: int, *, after: int) -> bool:
        tokens = doc.tokens
        if j >= len(tokens) or doc.claimed[j] or not _adjacent(doc.text, tokens[after], tokens[j]):
            return False
        word = self.morph.word(tokens[j].form)
        return _capitalised(tokens[j].form) and bool(word.first) and not word.inner_locative

    def _place_head_at(self, doc: _Text, j: int) -> bool:
        tokens = doc.tokens
        if j >= len(tokens) or not _adjacent(doc.text, tokens[j - 1], tokens[j]):
            return False
        common = self.morph.word(tokens[j].form).common
        return tokens[j].form.islower() and any(c.endswith(_PLACE_HEADS) for c in common)

    def _surname_at(self, doc: _Text, j: int, *, after: int) -> bool:
        tokens = doc.tokens
        if j >= len(tokens) or doc.claimed[j] or not _adjacent(doc.text, tokens[after], tokens[j]):
            return False
        word = self.morph.word(tokens[j].form)
        return _capitalised(tokens[j].form) and bool(word.last) and not word.ambiguous

    def _title_before(self, doc: _Text, i: int) -> bool:
        if i == 0 or not _adjacent(doc.text, doc.tokens[i - 1], doc.tokens[i]):
            return False
        return self.morph.is_title(doc.tokens[i - 1].form)


def _closest(form: str, lemmas: Iterable[str]) -> str:
    """The lemma sharing the longest prefix with the form ("Haapasalon" -> "haapasalo")."""

    def shared(lemma: str) -> int:
        n = 0
        for a, b in zip(form.casefold(), lemma.casefold(), strict=False):
            if a != b:
                break
            n += 1
        return n

    return sorted(lemmas, key=lambda lemma: (-shared(lemma), lemma))[0]


def _org_words(name: str) -> str:
    lower = f" {name.casefold()} "
    if any(w in lower for w in _SCHOOL_WORDS):
        return "oppilaitos"
    if any(w in lower for w in _ASSOCIATION_WORDS):
        return "organisaatio"
    return "yritys"


def _known_kind(name: str) -> NameKind:
    """Organisations have a legal form, a school word or the shape "Vaaran Puutuote"."""
    parts = name.split()
    if (len(parts) > 1 and _legal(parts[-1])) or _org_words(name) == "oppilaitos":
        return "org"
    if len(parts) == 2:
        morph = _morphology()
        head, last = morph.word(parts[0]), morph.word(parts[1])
        if head.genitive and not head.first and last.common and not last.person:
            return "org"
    return "person"


def detect_names(
    texts: Sequence[str],
    *,
    known: Iterable[str] = (),
    ner: bool = True,
    tagger: NameTagger | None = None,
) -> list[NameCandidate]:
    """Person and organisation names in ``texts``, inflected forms grouped under base names.

    known: names that are always candidates (metadata participants, the registry), e.g.
        "Helka Rönkkö"; a name ending in Oy/Ab or naming a school is an organisation.
    ner: also use the spaCy Finnish NER (recommended; without it only Voikko's first-name and
        surname lists and ``known`` find persons).
    tagger: the learned person-name tagger (:mod:`qualcode.nametagger`); the words it calls
        persons count as the NER's persons where the NER has no entity.
    """
    morph = _morphology()
    known_names = sorted({" ".join(k.split()) for k in known if k.strip()})
    known_keys = {
        key
        for name in known_names
        if _known_kind(name) == "person"
        for part in name.split()
        for key in (part.casefold(), *morph.word(part).keys)
        if _capitalised(part)
    }
    ents = _entities(texts) if ner else [[] for _ in texts]
    if tagger is not None:
        from qualcode.nametagger import with_tagged_persons

        ents = with_tagged_persons(texts, ents, tagger)
    docs = [_prepare(text, e) for text, e in zip(texts, ents, strict=True)]
    observed = {t.form.casefold() for doc in docs for t in doc.tokens if _capitalised(t.form)}
    detector = _Detector(morph, observed, known_keys)
    mentions: list[_Mention] = []
    for doc in docs:
        mentions.extend(detector.organisations(doc))
        mentions.extend(detector.persons(doc))
    entries = _group(mentions, known_names)
    # Second pass: everything the replacement would match is what the candidate stands for.
    matcher = _Matcher(entries, morph)
    forms: dict[int, Counter[str]] = defaultdict(Counter)
    ambiguous: dict[str, Counter[str]] = defaultdict(Counter)
    votes: dict[int, Counter[str]] = defaultdict(Counter)  # NER labels where a name occurs
    for doc in docs:
        persons_at = frozenset(t.start for k, t in enumerate(doc.tokens) if doc.person_ent[k] >= 0)
        labels = {t.start: _label(doc, k) for k, t in enumerate(doc.tokens)}
        for hit in matcher.hits(doc.text, persons_at=persons_at):
            surface = doc.text[hit.start : hit.end]
            if hit.entry == _AMBIGUOUS:
                ambiguous[_upper_first(detector.base(surface))][surface] += 1
            else:
                forms[hit.entry][surface] += 1
                votes[hit.entry][labels.get(hit.start, "")] += 1
                if " " not in surface and morph.word(surface).inessive:
                    votes[hit.entry]["inessive"] += 1
    out: list[NameCandidate] = []
    known_set = {k.casefold() for k in known_names}
    for ix, entry in enumerate(entries):
        seen = forms.get(ix, Counter())
        if entry.name.casefold() not in known_set and (not seen or _a_place(entry, votes[ix])):
            continue
        out.append(NameCandidate(entry.name, entry.kind, tuple(sorted(seen)), sum(seen.values())))
    out = _fold_short_org_names(out)
    taken = {(c.kind, c.name.casefold()) for c in out}
    for name, seen in ambiguous.items():
        if ("person", name.casefold()) not in taken:
            out.append(NameCandidate(name, "person", tuple(sorted(seen)), sum(seen.values())))
    return sorted(out, key=lambda c: (c.kind, c.name.casefold(), c.name))


def _a_place(entry: RegistryEntry, votes: Counter[str]) -> bool:
    """Whether a one-word "person" is really a place.

    It is when it occurs in the inessive ("Hirvelässä": people are not *in* someone), or when
    Voikko knows it as a place and the NER mostly does not call it a person (Voikko's place list
    also has first names such as "Salla" and "Mari", so it takes both).
    """
    if entry.kind != "person" or " " in entry.name:
        return False
    if votes["inessive"]:
        return True
    word = _morphology().word(entry.name)
    if not word.place or word.person or word.other:
        return False
    return votes["place"] + votes["org"] > votes["person"]


def _fold_short_org_names(candidates: list[NameCandidate]) -> list[NameCandidate]:
    """A one-word name that is the last word of exactly one company name is that company.

    "Konepaja" and "Linnan Konepaja Oy" are one company with one pseudonym, whatever the NER
    thought of the short form. Only a word Voikko knows as an ordinary word alone is folded:
    "Koski" may be Leena Koski even where "Kosken Koski Oy" exists.
    """
    longer: dict[str, list[int]] = defaultdict(list)
    for k, c in enumerate(candidates):
        parts = _core(c.name)
        if c.kind == "org" and len(parts) > 1:
            longer[parts[-1].casefold()].append(k)
    merged: dict[int, list[NameCandidate]] = defaultdict(list)
    kept: list[NameCandidate | None] = list(candidates)
    for k, c in enumerate(candidates):
        owners = longer.get(c.name.casefold(), []) if " " not in c.name else []
        word = _morphology().word(c.name) if owners else None
        if word is not None and c.kind == "person" and (word.person or not word.common):
            continue
        if len(owners) == 1:
            merged[owners[0]].append(c)
            kept[k] = None
    for k, shorts in merged.items():
        c = candidates[k]
        forms = tuple(sorted({*c.forms, *(f for s in shorts for f in s.forms)}))
        kept[k] = NameCandidate(c.name, c.kind, forms, c.count + sum(s.count for s in shorts))
    return [c for c in kept if c is not None]


def _label(doc: _Text, k: int) -> str:
    if doc.person_ent[k] >= 0:
        return "person"
    if doc.place_ent[k]:
        return "place"
    return "org" if doc.org_ent[k] >= 0 else ""


def _group(mentions: Sequence[_Mention], known: Sequence[str]) -> list[RegistryEntry]:
    """Registry-like entries (no pseudonym yet) from mentions: one per person or organisation."""
    persons: dict[tuple[str, ...], tuple[str, ...]] = {}
    singles: dict[str, str] = {}
    orgs: dict[tuple[str, ...], tuple[str, ...]] = {}
    legal: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    for name in known:
        parts = tuple(name.split())
        if _known_kind(name) == "org":
            core = tuple(_core(name))
            orgs.setdefault(tuple(p.casefold() for p in core), core)
            if len(parts) > len(core):
                legal[tuple(p.casefold() for p in core)][parts[-1]] += 1
        elif len(parts) > 1:
            persons.setdefault(tuple(p.casefold() for p in parts), parts)
        elif parts:
            singles.setdefault(parts[0].casefold(), parts[0])
    for m in mentions:
        key = tuple(p.casefold() for p in m.parts)
        if m.kind == "org":
            orgs.setdefault(key, m.parts)
            if m.legal:
                legal[key][m.legal] += 1
        elif len(m.parts) > 1:
            persons.setdefault(key, m.parts)
        else:
            singles.setdefault(key[0], m.parts[0])
    # A single name joins the one full name it is part of; with several it stays on its own.
    owners: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for key in persons:
        for part in key:
            owners[part].add(key)
    names: dict[tuple[str, NameKind], str] = {}
    for key, parts in persons.items():
        names[(" ".join(key), "person")] = " ".join(parts)
    for single, part in singles.items():
        if len(owners.get(single, ())) != 1:
            names.setdefault((single, "person"), part)
    # "Kehitys Oy" is "Pohjanlinnan Kehitys Oy" when that is the only longer name it ends.
    for key, parts in orgs.items():
        longer = [k for k in orgs if len(k) > len(key) and k[-len(key) :] == key]
        target = longer[0] if len(longer) == 1 else key
        if target != key:
            legal[target].update(legal[key])
            continue
        suffix = legal[key].most_common(1)[0][0] if legal[key] else ""
        names[(" ".join(key), "org")] = " ".join((*parts, suffix) if suffix else parts)
    return [
        RegistryEntry(name, kind, "pseudonymise", "")
        for (_, kind), name in sorted(names.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    ]


# --- Pseudonyms ------------------------------------------------------------------------------

_PSEUDONYM_RE = re.compile(r"^\[(?P<prefix>.+) (?P<n>\d+|[A-Z]+)\]$")


def _letters(n: int) -> str:
    """1 -> A, 26 -> Z, 27 -> AA."""
    out = ""
    while n > 0:
        n, rem = divmod(n - 1, 26)
        out = chr(ord("A") + rem) + out
    return out


def _number(label: str) -> int:
    if label.isdigit():
        return int(label)
    n = 0
    for ch in label:
        n = n * 26 + (ord(ch) - ord("A") + 1)
    return n


def assign_pseudonyms(
    candidates: Iterable[NameCandidate],
    *,
    roles: Mapping[str, str] | None = None,
    existing: Sequence[RegistryEntry] = (),
) -> list[RegistryEntry]:
    """Registry entries for ``candidates`` with stable pseudonyms, merged into ``existing``.

    roles: a person's role by full name (from metadata: "Helka Rönkkö" -> "kaupungin edustaja");
        such a person becomes "[kaupungin edustaja 1]", others "[henkilö 1]".
    Organisations become "[oppilaitos A]", "[organisaatio A]" (associations) or "[yritys A]".
    Numbers follow the sorted names and continue after those already used in ``existing``;
    existing entries keep their pseudonym and action and gain the new forms.
    """
    role_of = {
        " ".join(k.split()).casefold(): " ".join(v.split()) for k, v in (roles or {}).items()
    }
    by_key: dict[tuple[NameKind, str], RegistryEntry] = {}
    used: dict[str, int] = defaultdict(int)
    for entry in existing:
        by_key[(entry.kind, entry.name.casefold())] = entry
        m = _PSEUDONYM_RE.match(entry.pseudonym)
        if m:
            prefix = m.group("prefix")
            used[prefix] = max(used[prefix], _number(m.group("n")))
    new: list[NameCandidate] = []
    for cand in sorted(candidates, key=lambda c: (c.kind, c.name.casefold(), c.name)):
        key = (cand.kind, cand.name.casefold())
        old = by_key.get(key)
        if old is None:
            new.append(cand)
            continue
        forms = tuple(sorted(set(old.forms) | set(cand.forms)))
        by_key[key] = RegistryEntry(old.name, old.kind, old.action, old.pseudonym, forms)
    for cand in new:
        if cand.kind == "person":
            role = role_of.get(cand.name.casefold()) or next(
                (role_of[f.casefold()] for f in cand.forms if f.casefold() in role_of), None
            )
            prefix = role or "henkilö"
            used[prefix] += 1
            pseudonym = f"[{prefix} {used[prefix]}]"
        else:
            prefix = _org_words(cand.name)
            used[prefix] += 1
            pseudonym = f"[{prefix} {_letters(used[prefix])}]"
        key = (cand.kind, cand.name.casefold())
        by_key[key] = RegistryEntry(cand.name, cand.kind, "pseudonymise", pseudonym, cand.forms)
    return [by_key[k] for k in sorted(by_key)]


# --- Replacement ----------------------------------------------------------------------------


class Pseudonymiser:
    """Replaces the names of registry entries with their pseudonyms.

    Multi-word names are matched first (in either order for persons: "Leena Koski", "Kosken
    Leenan"), then single words by their form or Voikko lemma. A single word that belongs to
    several people ("Koskelle" with both Leena and Pekka Koski registered) becomes "[henkilö]".
    Entries with action "ignore" keep their words as they are, even when another entry would
    match them.

    ner: resolve capitalised sentence-initial words that are also common words ("Mäki soitti."
        vs "Mäeltä näkee kauas.") with the spaCy NER; without it they are left as they are and
        ``check_text`` reports them.
    words: the lower-case forms the material uses as ordinary words (``ordinary_forms``).
        When given, such a sentence-initial word is replaced unless the material also uses it
        as an ordinary word: "Ilveskelo" opening a sentence is the name when nobody ever
        writes "ilveskelo". A function giving them is called only if a text needs them.
    """

    def __init__(
        self,
        entries: Sequence[RegistryEntry],
        *,
        ner: bool = False,
        words: Words = None,
    ) -> None:
        for entry in entries:
            if not entry.name.strip():
                raise PseudonymiseError("a registry entry has an empty name")
            if entry.action == "pseudonymise" and not entry.pseudonym.strip():
                raise PseudonymiseError(
                    f"registry entry '{entry.name}' has no pseudonym",
                    "assign_pseudonyms gives every entry one",
                )
        self.entries = tuple(entries)
        self.ner = ner
        self._matcher = _Matcher(self.entries, _morphology(), words)
        if ner:
            _load_ner()

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, pseudonym) of every name to replace, in text order."""
        persons_at = self._ner_persons(text) if self.ner else None
        out = []
        for hit in self._matcher.hits(text, persons_at=persons_at):
            if hit.entry == _AMBIGUOUS:
                out.append((hit.start, hit.end, GENERIC_PSEUDONYMS["person"]))
                continue
            entry = self.entries[hit.entry]
            if entry.action == "pseudonymise":
                out.append((hit.start, hit.end, entry.pseudonym))
        return out

    def mapped(self, text: str) -> tuple[str, Callable[[int], int]]:
        """``apply``, and a function that maps an offset in ``text`` onto the new text.

        An offset inside a replaced name moves to the end of its pseudonym.
        """
        spans = sorted(self.spans(text))
        if not spans:
            return text, lambda i: i
        out: list[str] = []
        cuts: list[tuple[int, int, int]] = []  # old start, old end, new end
        pos = new_pos = 0
        for start, end, replacement in spans:
            out.append(text[pos:start])
            out.append(replacement)
            new_pos += start - pos + len(replacement)
            cuts.append((start, end, new_pos))
            pos = end
        out.append(text[pos:])

        def move(i: int) -> int:
            shift = 0
            for old_start, old_end, new_end in cuts:
                if i <= old_start:
                    break
                if i < old_end:  # inside a replaced name: snap to the pseudonym's edge
                    return new_end
                shift = new_end - old_end
            return i + shift

        return "".join(out), move

    def apply(self, text: str) -> str:
        """``text`` with every name replaced; applying it again changes nothing."""
        parts = []
        pos = 0
        for start, end, pseudonym in self.spans(text):
            parts.append(text[pos:start])
            parts.append(pseudonym)
            pos = end
        parts.append(text[pos:])
        return "".join(parts)

    def _ner_persons(self, text: str) -> frozenset[int]:
        """Token starts the NER calls persons or organisations, in sentences that need it."""
        masked = _masked(text)
        morph = self._matcher.morph
        single = self._matcher.index.single
        tokens = tokenize(text)
        if not any(
            _capitalised(t.form)
            and morph.word(t.form).ambiguous
            and _sentence_initial(masked, t.start)
            and not morph.word(t.form).keys.isdisjoint(single)
            for t in tokens
        ):
            return frozenset()  # nothing to decide: skip the NER
        (ents,) = _entities([text])
        labels = _PERSON_LABELS | _ORG_LABELS
        named = [(s, e) for s, e, label in ents if label in labels]
        return frozenset(t.start for t in tokens if any(s <= t.start < e for s, e in named))


def ordinary_forms(counts: Mapping[str, int]) -> set[str]:
    """The lower-case forms a material uses as ordinary words, from its form counts.

    A form written in lower case is an ordinary word, unless the material writes it
    capitalised at least three times and three times as often: "Konepaja" fifteen times and
    "konepaja" (a machine shop) once is the company's name even where it opens a sentence.
    A common word is capitalised only where a sentence starts, a small share of its uses.
    """
    capitalised: Counter[str] = Counter()
    for form, n in counts.items():
        if form[:1].isupper():
            capitalised[form.lower()] += n
    return {
        form
        for form, n in counts.items()
        if form.islower() and not (capitalised[form] >= 3 and capitalised[form] >= 3 * n)
    }


def check_text(text: str, entries: Sequence[RegistryEntry]) -> list[tuple[str, int]]:
    """Names of ``entries`` still in ``text``: (form, character offset), in text order.

    Stricter than ``Pseudonymiser``: capitalised sentence-initial words that are also common
    words ("Mäeltä näkee kauas") are reported too, for a person to look at.
    """
    active = [e for e in entries if e.action == "pseudonymise"]
    ignored = [e for e in entries if e.action == "ignore"]
    matcher = _Matcher([*active, *ignored], _morphology())
    out = []
    for hit in matcher.hits(text, lenient=True):
        if hit.entry == _AMBIGUOUS or hit.entry < len(active):
            out.append((text[hit.start : hit.end], hit.start))
    return out


# Letters of the hesitation sounds transcripts write ("Hmm", "Mmm", "Ööh", "Ehm", "Äää").
_FILLERS = (frozenset("hm"), frozenset("öh"), frozenset("äh"), frozenset("ehm"), frozenset("ah"))


def unregistered_names(
    text: str, entries: Sequence[RegistryEntry], *, words: Collection[str] = ()
) -> list[tuple[str, int]]:
    """Capitalised words in ``text`` that may be names the registry does not know.

    The words that neither the NER nor Voikko recognise as names are what detection misses
    most (foreign names, nicknames; ``bench/pseudonymise.py --breakdown``). Listed here are the
    capitalised words that no registry entry matches, pseudonymised or ignored, and that Voikko
    does not know at all or knows as a first name or surname: a short list for a person to
    look at before a text leaves the project. Marking a word 'ignore' in the registry takes it
    off the list. (form, character offset), in text order.

    words: case-folded forms known to be ordinary words here, such as the lower-case forms of
        the project's transcripts: spoken forms Voikko does not know ("Mut", "Tää") are names
        nowhere, since a name is never written in lower case. The text's own lower-case forms
        always count.
    """
    matcher = _Matcher(entries, _morphology())
    covered = [(h.start, h.end) for h in matcher.hits(text, lenient=True)]
    masked = _masked(text)
    tokens = matcher.tokens(text)
    lower = {t.form for t in tokens if t.form.islower()}
    out = []
    k = 0
    for token in tokens:
        while k < len(covered) and covered[k][1] <= token.start:
            k += 1
        if k < len(covered) and covered[k][0] < token.end:
            continue
        form = token.form
        if len(form) < 3 or not _capitalised(form) or not form.replace("-", "").isalpha():
            continue  # acronyms ("AMK"), "Oy:n", numbers
        if form.split("-", 1)[0].isupper() or form.casefold() in words or form.lower() in lower:
            continue  # "TKI-hanke"; a word also written in lower case
        if any(set(form.casefold()) <= sounds for sounds in _FILLERS):
            continue  # "Hmm.", "Ööh": hesitation, not a name
        word = matcher.morph.word(form)
        if not word.known:
            out.append((form, token.start))
        elif word.person and not (word.ambiguous and _sentence_initial(masked, token.start)):
            out.append((form, token.start))  # "Markkaselle", mid-sentence "Koski"
    return out


def group_forms(forms: Collection[str]) -> list[tuple[str, tuple[str, ...]]]:
    """Word forms of the same name together, under the base form to register them as.

    Voikko's names go under their lemma ("Markkaselle" -> Markkanen); a name no dictionary
    knows goes under a stem that the list itself supports ("Klinga", "Klingan", "Klingalle" ->
    Klinga). Sorted by name, forms sorted.
    """
    detector = _Detector(_morphology(), {f.casefold() for f in forms}, set())
    groups: dict[str, set[str]] = defaultdict(set)
    names: dict[str, str] = {}
    for form in sorted(forms):
        base = detector.base(form)
        names.setdefault(base.casefold(), base)
        groups[base.casefold()].add(form)
    return sorted((names[key], tuple(sorted(found))) for key, found in groups.items())


__all__ = [
    "GENERIC_PSEUDONYMS",
    "Action",
    "NameCandidate",
    "NameKind",
    "PseudonymiseError",
    "Pseudonymiser",
    "RegistryEntry",
    "TextMapper",
    "assign_pseudonyms",
    "check_text",
    "detect_names",
    "group_forms",
    "ordinary_forms",
    "unchanged_mapper",
    "unregistered_names",
]
