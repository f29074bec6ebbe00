"""A learned tagger for Finnish person names: which capitalised words in a text are persons.

The rules in :mod:`qualcode.pseudonymise` trust two sources, the spaCy NER and Voikko's
proper-noun lexicon, and miss the names both are silent on (foreign names, nicknames). This
tagger learns from the TurkuONE and Turku NER *train* splits how the evidence qualcode already
has, and the word itself, predict a person:

- the word: its lower-case form (a gazetteer learned from the training names), prefix,
  suffixes, shape;
- Voikko: the word's classes (first name, surname, place, common word, function word), case and
  lemma, and the classes of its neighbours;
- the sentence: position (first word or inside), neighbouring words and lemmas, punctuation;
- the material: how often the form is written in lower case (an ordinary word) or capitalised
  inside sentences, and a small list of function words Voikko does not know (Swedish *Det*,
  *Och*; English *The*);
- document-level consistency, a second pass: what the first pass says about the same form and
  the same lemma everywhere in the material, so a form that is a name once is a name everywhere.

The first pass is a logistic regression over hashed sparse features, the second a logistic
regression over a few dense ones. Both are stored as arrays and JSON in
``qualcode/names_model`` (no pickle), with the training data's licence (CC BY-SA 4.0); the
script that makes them is ``scripts/train_name_tagger.py``.

Only Voikko and the text are needed at run time, which is what makes it fast: the spaCy NER
can be kept for the sentences the tagger is unsure about.
"""

from __future__ import annotations

import bisect
import json
import math
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qualcode.analysis.tokens import Token, tokenize
from qualcode.errors import QualcodeError

FEATURES_VERSION = "nametagger.v1"
MODEL_PACKAGE = "qualcode.names_model"
MODEL_FILES = ("tagger.json", "tagger.npz")
_SEED = 0

FloatArray = npt.NDArray[np.float64]


class NameTaggerError(QualcodeError):
    """The name tagger's model file is missing, damaged or from another feature version."""


class NotFittedError(ValueError, AttributeError):
    """The tagger was used before ``fit`` or ``load`` (scikit-learn's contract)."""


# Function words of the languages interviews quote that Voikko's Finnish dictionary does not
# know: capitalised at the start of a quoted sentence they look like unknown names.
FUNCTION_WORDS = frozenset(
    {
        # Swedish
        *("det", "och", "att", "som", "en", "ett", "jag", "du", "han", "hon", "vi", "ni"),
        *("de", "den", "är", "var", "har", "inte", "men", "för", "med", "på", "till", "av"),
        *("så", "om", "när", "vad", "nu", "ja", "nej", "tack", "hej", "här", "där", "kan"),
        # English
        *("the", "and", "of", "to", "in", "is", "it", "you", "we", "they", "this", "that"),
        *("what", "yes", "no", "but", "for", "with", "on", "at", "my", "our", "your", "oh"),
        *("do", "know", "i", "me", "he", "she", "not", "are", "be", "have", "all", "love"),
        # Colloquial Finnish Voikko does not know
        *("mut", "tää", "toi", "noi", "nää", "mä", "sä", "se", "ne", "joo", "niinku", "et"),
        *("ku", "sit", "annappa", "kato", "justiin", "eiks", "onks", "mitäs", "tota", "niin"),
    }
)

_FUNCTION_CLASSES = frozenset(
    {"sidesana", "suhdesana", "seikkasana", "asemosana", "kieltosana", "huudahdussana"}
)
_SKIP_BEFORE = frozenset(" \t\r\"'“”«»(–—-*#>•")
_SENTENCE_END = frozenset(".!?:…\n")
_ABBREVIATIONS = frozenset({"esim", "mm", "ns", "ks", "vrt", "tri", "prof", "dos", "os", "ym"})
_STRIP_ENDINGS = tuple(
    sorted(
        {
            *("n", "a", "ä", "ta", "tä", "na", "nä", "ksi", "lle", "lla", "llä", "lta", "ltä"),
            *("ssa", "ssä", "sta", "stä", "han", "hän", "hin", "hen", "in", "kin", "sen", "lle"),
        },
        key=len,
        reverse=True,
    )
)


def _h(text: str, dim: int) -> int:
    # crc32 is stable across runs and platforms (Python's hash() is salted per process).
    return zlib.crc32(text.encode("utf-8")) % dim


def _shape(form: str) -> str:
    out: list[str] = []
    for ch in form:
        c = "X" if ch.isupper() else "x" if ch.isalpha() else "d" if ch.isdigit() else ch
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)[:8]


def _bucket(n: int) -> int:
    return 0 if n <= 0 else min(5, 1 + int(math.log2(n)))


def _sentence_initial(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in _SKIP_BEFORE:
        i -= 1
    if i < 0:
        return True
    if text[i] == ".":
        j = i
        while j > 0 and text[j - 1].isalpha():
            j -= 1
        if i - j == 1 or text[j:i].casefold() in _ABBREVIATIONS:
            return False  # "Markku I. Nurminen", "esim. Mäki"
    return text[i] in _SENTENCE_END


# Letters of the hesitation sounds transcripts write ("Hmm", "Mmm", "Ööh", "Ehm", "Äää").
_FILLERS = (frozenset("hm"), frozenset("öh"), frozenset("äh"), frozenset("ehm"), frozenset("ah"))


def _breaks(text: str, end: int, start: int) -> bool:
    """Whether a sentence ends between two tokens (their context stops there)."""
    return any(ch in _SENTENCE_END for ch in text[end:start])


def _window(text: str, toks: Sequence[Token], k: int, initial: bool) -> tuple[int, int]:
    """The tokens of k's sentence around it: (first, last) index within two of k."""
    lo = k
    if not initial:
        lo = k - 1
        if k >= 2 and not _breaks(text, toks[k - 2].end, toks[k - 1].start):
            lo = k - 2
    hi = k
    if k + 1 < len(toks) and not _breaks(text, toks[k].end, toks[k + 1].start):
        hi = k + 1
        if k + 2 < len(toks) and not _breaks(text, toks[k + 1].end, toks[k + 2].start):
            hi = k + 2
    return max(lo, 0), hi


def candidate(form: str) -> bool:
    """Whether the tagger scores this token: capitalised words, not all-capital acronyms."""
    head = form.split(":", 1)[0]  # "AMK:n"
    if not form[:1].isupper() or (len(head) > 1 and head.isupper()):
        return False
    lower = set(form.casefold())
    return not any(lower <= sounds for sounds in _FILLERS)


@dataclass(frozen=True)
class _Lexeme:
    """What Voikko says about one form, as feature strings and a lemma key."""

    own: tuple[str, ...]  # features of the form itself
    as_neighbour: str  # the form's class, as a neighbour sees it
    key: str  # lemma-like key for document-level consistency
    lemma: str
    ordinary: bool  # Voikko knows it only as an ordinary word, or it is a function word
    function: bool  # one of Voikko's readings is a pronoun, conjunction, adverb ...
    place: bool  # a place name to Voikko and not a person's name, or a foreign function word


class _Lexicon:
    def __init__(self) -> None:
        from qualcode.analysis.base import AnalyzerUnavailable
        from qualcode.analysis.voikko import VOIKKO_HINT, open_voikko

        try:
            self._voikko: Any = open_voikko()
        except AnalyzerUnavailable as exc:
            raise NameTaggerError(
                f"Voikko with a Finnish dictionary is needed to tag names ({exc})",
                VOIKKO_HINT,
            ) from None
        self._cache: dict[str, _Lexeme] = {}

    def get(self, form: str) -> _Lexeme:
        found = self._cache.get(form)
        if found is None:
            found = self._cache[form] = self._analyse(form)
        return found

    def _analyse(self, form: str) -> _Lexeme:
        base = form.split(":", 1)[0]
        readings = self._voikko.analyze(base) if base else []
        lower = form.lower()
        own: list[str] = []
        classes: set[str] = set()
        proper_lemma = ""
        lemma = ""
        for r in readings[:6]:
            cls = r.get("CLASS", "") or "?"
            case = r.get("SIJAMUOTO", "") or "-"
            classes.add(cls)
            own.append(f"vc|{cls}|{case}")
            lem = (r.get("BASEFORM") or base).lower()
            lemma = lemma or lem
            if cls in ("etunimi", "sukunimi", "paikannimi", "nimi") and not proper_lemma:
                proper_lemma = lem
            own.append(f"lem|{lem}")
        if not readings:
            own.append("vc|none")
            if "-" in base:
                head = self._voikko.analyze(base.split("-", 1)[0])
                own.extend(f"vhead|{r.get('CLASS', '?')}" for r in head[:3])
        for cls in sorted(classes):
            own.append(f"v|{cls}")
        proper = classes & {"etunimi", "sukunimi"}
        ordinary = classes - {"etunimi", "sukunimi", "paikannimi", "nimi"}
        own.append(f"mix|{bool(proper)}|{bool(ordinary)}|{'paikannimi' in classes}")
        if lower in FUNCTION_WORDS:
            own.append("fw")
        own.extend(
            (
                f"w|{lower}",
                f"p3|{lower[:3]}",
                f"s2|{lower[-2:]}",
                f"s3|{lower[-3:]}",
                f"s4|{lower[-4:]}",
                f"sh|{_shape(form)}",
                f"len|{min(len(form), 12)}",
            )
        )
        # Letter trigrams tell a foreign or invented name from a Finnish word ("Theron").
        padded = f"<{lower}>"
        own.extend(f"c3|{padded[i : i + 3]}" for i in range(len(padded) - 2))
        if proper:
            neighbour = "person"
        elif "paikannimi" in classes:
            neighbour = "place"
        elif "nimi" in classes:
            neighbour = "name"
        elif ordinary:
            neighbour = "word"
        else:
            neighbour = "unknown"
        if proper_lemma:
            key = proper_lemma
        elif readings:
            key = lemma
        else:
            stems = (e for e in _STRIP_ENDINGS if lower.endswith(e) and len(lower) > len(e) + 3)
            key = next((lower[: -len(e)] for e in stems), lower)
        # A pronoun or conjunction reading makes a sentence-initial word doubtful even when
        # a name reading exists too ("Jonkin" is Jon + -kin, and the pronoun jokin).
        function = bool(classes & _FUNCTION_CLASSES)
        plain = neighbour == "word" or function or lower in FUNCTION_WORDS
        place = neighbour == "place"
        foreign = lower in FUNCTION_WORDS
        place = place or foreign
        return _Lexeme(tuple(own), neighbour, key, lemma or lower, plain, function, place)


_LEXICON: _Lexicon | None = None


def _lexicon() -> _Lexicon:
    global _LEXICON
    if _LEXICON is None:
        _LEXICON = _Lexicon()
    return _LEXICON


@dataclass(frozen=True)
class Material:
    """Form counts over all texts, for the features that look at the whole material."""

    lower: Mapping[str, int]  # lower-case forms -> occurrences
    inside: Mapping[str, int]  # capitalised forms inside a sentence -> occurrences

    def ordinary(self, form: str) -> bool:
        """The material writes the form in lower case, and not mostly capitalised.

        The rule of :func:`qualcode.pseudonymise.ordinary_forms`: "mulla" in lower case makes
        a sentence-initial "Mulla" an ordinary word; "Konepaja" written capitalised fifteen
        times and "konepaja" once is a name.
        """
        n = self.lower.get(form.lower(), 0)
        inside = self.inside.get(form, 0)
        return n > 0 and not (inside >= 3 and inside >= 3 * n)

    @classmethod
    def of(cls, texts: Iterable[str], tokens: Iterable[Sequence[Token]] | None = None) -> Material:
        lower: Counter[str] = Counter()
        inside: Counter[str] = Counter()
        texts = list(texts)
        token_lists = list(tokens) if tokens is not None else [tokenize(t) for t in texts]
        for text, toks in zip(texts, token_lists, strict=True):
            for t in toks:
                if t.form.islower():
                    lower[t.form] += 1
                elif candidate(t.form) and not _sentence_initial(text, t.start):
                    inside[t.form] += 1
        return cls(lower, inside)


def _neighbour(text: str, toks: Sequence[Token], k: int, lex: _Lexicon) -> tuple[str, str, str]:
    """(lower form, class, capitalisation) of token k, or edge markers."""
    if k < 0 or k >= len(toks):
        return "<edge>", "edge", "edge"
    form = toks[k].form
    cap = "cap" if candidate(form) else "upper" if form.isupper() else "low"
    return form.lower(), lex.get(form).as_neighbour, cap


def token_features(
    text: str, toks: Sequence[Token], k: int, material: Material, lex: _Lexicon
) -> tuple[list[str], bool]:
    """Feature strings of candidate token ``k``, and whether it opens a sentence."""
    token = toks[k]
    form = token.form
    me = lex.get(form)
    initial = _sentence_initial(text, token.start)
    pos = "init" if initial else "in"
    feats = [*me.own, f"pos|{pos}", "bias"]
    feats.extend(f"{pos}|{f}" for f in me.own if f.startswith(("v|", "mix|", "fw", "vc|none")))
    lower = form.lower()
    lc, ins = _bucket(material.lower.get(lower, 0)), _bucket(material.inside.get(form, 0))
    feats.extend((f"lc|{lc}", f"ins|{ins}", f"{pos}|lc|{min(lc, 2)}", f"lcins|{min(lc, 3)}|{ins}"))
    before = text[max(0, token.start - 2) : token.start].strip()[-1:] or "_"
    after = text[token.end : token.end + 2].strip()[:1] or "_"
    feats.extend((f"bc|{before}", f"ac|{after}"))
    lo, hi = _window(text, toks, k, initial)
    sentence = toks[lo : hi + 1]
    at = k - lo
    p1, p1c, p1cap = _neighbour(text, sentence, at - 1, lex)
    n1, n1c, n1cap = _neighbour(text, sentence, at + 1, lex)
    p2, p2c, _ = _neighbour(text, sentence, at - 2, lex)
    n2, n2c, _ = _neighbour(text, sentence, at + 2, lex)
    if at > 0:
        p1lem = lex.get(sentence[at - 1].form).lemma
        feats.append(f"p1lem|{p1lem}")
        feats.append(f"p1suf|{p1lem[-3:]}")
    if at + 1 < len(sentence):
        feats.append(f"n1lem|{lex.get(sentence[at + 1].form).lemma}")
    feats.extend(
        (
            f"p1|{p1}",
            f"n1|{n1}",
            f"p2|{p2}",
            f"n2|{n2}",
            f"p1c|{p1c}|{p1cap}",
            f"n1c|{n1c}|{n1cap}",
            f"p2c|{p2c}",
            f"n2c|{n2c}",
            f"pn|{p1cap}|{n1cap}",
            f"me_n1|{me.as_neighbour}|{n1c}|{n1cap}",
            f"p1_me|{p1c}|{p1cap}|{me.as_neighbour}",
        )
    )
    return feats, initial


@dataclass
class _Featurised:
    """Candidate tokens of many texts: hashed feature ids and what the second pass needs."""

    rows: list[list[int]]
    text_index: list[int]
    token_index: list[int]
    initial: list[bool]
    form_keys: list[str]
    lemma_keys: list[str]
    neighbours: list[tuple[int, int]]  # rows of the adjacent candidate tokens, or -1
    lowered: list[bool]  # the material uses the form as an ordinary word (in lower case)


class _Hasher:
    """The ids of ``token_features``'s features, from per-form caches (the same ids, fast)."""

    def __init__(self, dim: int, material: Material, lex: _Lexicon) -> None:
        self.dim = dim
        self.material = material
        self.lex = lex
        self._ids: dict[str, int] = {}
        self._forms: dict[str, tuple[list[int], dict[str, list[int]], str, str]] = {}
        self._slots: dict[tuple[str, str], list[int]] = {}
        self._combos: dict[tuple[str, ...], int] = {}

    def id(self, feature: str) -> int:
        i = self._ids.get(feature)
        if i is None:
            i = self._ids[feature] = _h(feature, self.dim)
        return i

    def _form(self, form: str) -> tuple[list[int], dict[str, list[int]], str, str]:
        found = self._forms.get(form)
        if found is None:
            me = self.lex.get(form)
            own = [self.id(f) for f in me.own]
            marked = [f for f in me.own if f.startswith(("v|", "mix|", "fw", "vc|none"))]
            lower = form.lower()
            lc = _bucket(self.material.lower.get(lower, 0))
            ins = _bucket(self.material.inside.get(form, 0))
            by_pos = {}
            for pos in ("init", "in"):
                feats = [f"pos|{pos}", "bias", *(f"{pos}|{f}" for f in marked)]
                feats.extend((f"lc|{lc}", f"ins|{ins}", f"{pos}|lc|{min(lc, 2)}"))
                feats.append(f"lcins|{min(lc, 3)}|{ins}")
                by_pos[pos] = [self.id(f) for f in feats]
            cap = "cap" if candidate(form) else "upper" if form.isupper() else "low"
            found = self._forms[form] = (own, by_pos, me.as_neighbour, cap)
        return found

    def _slot(self, slot: str, form: str | None) -> list[int]:
        key = (slot, form or "")
        found = self._slots.get(key)
        if found is None:
            if form is None:
                feats = [f"{slot}|<edge>"]
            else:
                lemma = self.lex.get(form).lemma
                feats = [f"{slot}|{form.lower()}"]
                if slot == "p1":
                    feats.extend((f"p1lem|{lemma}", f"p1suf|{lemma[-3:]}"))
                elif slot == "n1":
                    feats.append(f"n1lem|{lemma}")
            found = self._slots[key] = [self.id(f) for f in feats]
        return found

    def _combo(self, *parts: str) -> int:
        i = self._combos.get(parts)
        if i is None:
            i = self._combos[parts] = self.id("|".join(parts))
        return i

    def _around(
        self, toks: Sequence[Token], k: int, lo: int, hi: int
    ) -> tuple[str | None, str, str]:
        if k < lo or k > hi:
            return None, "edge", "edge"
        form = toks[k].form
        _, _, cls, cap = self._form(form)
        return form, cls, cap

    def row(self, text: str, toks: Sequence[Token], k: int) -> tuple[list[int], bool]:
        token = toks[k]
        own, by_pos, me_cls, _ = self._form(token.form)
        initial = _sentence_initial(text, token.start)
        row = [*own, *by_pos["init" if initial else "in"]]
        before = text[max(0, token.start - 2) : token.start].strip()[-1:] or "_"
        after = text[token.end : token.end + 2].strip()[:1] or "_"
        row.append(self._combo("bc", before))
        row.append(self._combo("ac", after))
        lo, hi = _window(text, toks, k, initial)
        p1, p1c, p1cap = self._around(toks, k - 1, lo, hi)
        n1, n1c, n1cap = self._around(toks, k + 1, lo, hi)
        p2, p2c, _ = self._around(toks, k - 2, lo, hi)
        n2, n2c, _ = self._around(toks, k + 2, lo, hi)
        row.extend(self._slot("p1", p1))
        row.extend(self._slot("n1", n1))
        row.extend(self._slot("p2", p2))
        row.extend(self._slot("n2", n2))
        row.append(self._combo("p1c", p1c, p1cap))
        row.append(self._combo("n1c", n1c, n1cap))
        row.append(self._combo("p2c", p2c))
        row.append(self._combo("n2c", n2c))
        row.append(self._combo("pn", p1cap, n1cap))
        row.append(self._combo("me_n1", me_cls, n1c, n1cap))
        row.append(self._combo("p1_me", p1c, p1cap, me_cls))
        return row, initial


def featurise(
    texts: Sequence[str],
    dim: int,
    *,
    tokens: Sequence[Sequence[Token]] | None = None,
    material: Material | None = None,
) -> _Featurised:
    """Hashed features of every candidate token in ``texts``."""
    lex = _lexicon()
    token_lists = list(tokens) if tokens is not None else [tokenize(t) for t in texts]
    if material is None:
        material = Material.of(texts, token_lists)
    hasher = _Hasher(dim, material, lex)
    out = _Featurised([], [], [], [], [], [], [], [])
    for n, (text, toks) in enumerate(zip(texts, token_lists, strict=True)):
        previous_k = -2
        for k, token in enumerate(toks):
            if not candidate(token.form):
                continue
            row, initial = hasher.row(text, toks, k)
            out.rows.append(row)
            out.text_index.append(n)
            out.token_index.append(k)
            out.initial.append(initial)
            out.form_keys.append(token.form.lower())
            out.lemma_keys.append(lex.get(token.form).key)
            row_no = len(out.rows) - 1
            left = -1
            if previous_k == k - 1 and text[toks[k - 1].end : token.start] == " ":
                left = row_no - 1
                out.neighbours[row_no - 1] = (out.neighbours[row_no - 1][0], row_no)
            out.neighbours.append((left, -1))
            out.lowered.append(material.ordinary(token.form))
            previous_k = k
    return out


def reference_rows(texts: Sequence[str], dim: int) -> list[list[int]]:
    """``featurise``'s rows the slow way, from ``token_features``'s strings (for tests)."""
    lex = _lexicon()
    token_lists = [tokenize(t) for t in texts]
    material = Material.of(texts, token_lists)
    rows = []
    for text, toks in zip(texts, token_lists, strict=True):
        for k, token in enumerate(toks):
            if candidate(token.form):
                feats, _ = token_features(text, toks, k, material, lex)
                rows.append([_h(f, dim) for f in feats])
    return rows


def sparse_matrix(rows: Sequence[Sequence[int]], dim: int) -> Any:
    from scipy.sparse import csr_matrix

    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in rows], out=indptr[1:])
    indices = np.fromiter((i for r in rows for i in r), dtype=np.int32, count=int(indptr[-1]))
    data = np.ones(len(indices), dtype=np.float32)
    matrix = csr_matrix((data, indices, indptr), shape=(len(rows), dim))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0  # a feature is present or not
    return matrix


SECOND_PASS_FEATURES = (
    "first_pass",
    "form_mean",
    "form_max",
    "form_count",
    "lemma_mean",
    "lemma_max",
    "lemma_count",
    "initial",
    "initial_x_first_pass",
    "form_inside_mean",
    "left_neighbour",
    "right_neighbour",
)


def second_pass_features(
    logits: FloatArray,
    initial: Sequence[bool],
    form_keys: Sequence[str],
    lemma_keys: Sequence[str],
    neighbours: Sequence[tuple[int, int]],
) -> FloatArray:
    """Dense features for document-level consistency from the first pass's logits.

    What the first pass says about the same form (and lemma) elsewhere in the material: a
    form that is clearly a name inside a sentence is a name where it opens one too.
    """
    n = len(logits)
    by_form: dict[str, list[int]] = defaultdict(list)
    by_lemma: dict[str, list[int]] = defaultdict(list)
    for i in range(n):
        by_form[form_keys[i]].append(i)
        by_lemma[lemma_keys[i]].append(i)
    x = np.zeros((n, len(SECOND_PASS_FEATURES)), dtype=np.float64)
    clipped = np.clip(logits, -8.0, 8.0)
    x[:, 0] = clipped
    init = np.asarray(initial, dtype=np.float64)
    for groups, col in ((by_form, 1), (by_lemma, 4)):
        for members in groups.values():
            values = clipped[members]
            x[members, col] = values.mean()
            x[members, col + 1] = values.max()
            x[members, col + 2] = math.log1p(len(members))
    for members in by_form.values():
        inside = [i for i in members if not initial[i]]
        x[members, 9] = clipped[inside].mean() if inside else 0.0
    x[:, 7] = init
    x[:, 8] = init * clipped
    # The other parts of a multi-word name: "Adam Theron" (-8: no capitalised neighbour).
    for i, (left, right) in enumerate(neighbours):
        x[i, 10] = clipped[left] if left >= 0 else -8.0
        x[i, 11] = clipped[right] if right >= 0 else -8.0
    return x


@dataclass(frozen=True)
class TaggedToken:
    """A candidate token and the tagger's probability that it is (part of) a person's name."""

    text: int  # index of the text
    start: int
    end: int
    form: str
    probability: float
    ordinary: bool  # an ordinary or function word to Voikko, or in lower case in the material
    initial: bool  # the first word of a sentence
    function: bool = False  # Voikko reads it as a pronoun, conjunction ... too ("Jonkin")
    place: bool = False  # a place to Voikko ("Ahvenanmaa"), or a function word ("The")

    @property
    def doubtful(self) -> bool:
        """An ordinary word opening a sentence (capitalised for where it stands), a place or
        a function word of another language ("The Guardian")."""
        return (self.ordinary and self.initial) or self.place

    @property
    def excluded(self) -> bool:
        """A word that can be a pronoun or conjunction opening a sentence is never tagged."""
        return self.function and self.initial


class NameTagger:
    """Person-name tagger over Voikko and token features (scikit-learn estimator contract).

    ``fit(texts, labels)`` takes texts and, per text, the set of token start offsets that are
    person names; ``predict_proba(texts)`` gives per candidate token the probability of a
    person. ``threshold`` is the probability from which ``predict`` calls a token a person.

    threshold_ordinary: the probability an ordinary word opening a sentence, a place or a
        foreign function word needs (``TaggedToken.doubtful``).
    n_features: size of the hashed feature space (a power of two).
    C, C_second: inverse regularisation of the first and second pass.
    folds: cross-fitting folds; the second pass learns from first-pass scores on texts the
        first pass did not see, as it will at run time.
    """

    def __init__(
        self,
        *,
        n_features: int = 2**20,
        C: float = 0.5,
        C_second: float = 1.0,
        folds: int = 3,
        threshold: float = 0.5,
        threshold_ordinary: float = 0.5,
        random_state: int = _SEED,
    ) -> None:
        self.n_features = n_features
        self.C = C
        self.C_second = C_second
        self.folds = folds
        self.threshold = threshold
        self.threshold_ordinary = threshold_ordinary
        self.random_state = random_state

    # fitting

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[set[int]],
        groups: Sequence[int] | None = None,
    ) -> NameTagger:
        """Learn both passes. ``groups``: material (corpus) of each text, for the counts."""
        from sklearn.linear_model import LogisticRegression

        groups = list(groups) if groups is not None else [0] * len(texts)
        feats, y, grp = self._featurise_groups(texts, labels, groups)
        x = sparse_matrix(feats.rows, self.n_features)
        first = self._first_model()
        # Cross-fitted first-pass scores for the second pass.
        rng = np.random.default_rng(self.random_state)
        fold_of_text = rng.integers(0, self.folds, size=len(texts))
        fold = fold_of_text[np.asarray(feats.text_index)]
        oof = np.zeros(len(y), dtype=np.float64)
        for f in range(self.folds):
            train, held = fold != f, fold == f
            model = self._first_model().fit(x[train], y[train])
            oof[held] = model.decision_function(x[held])
        first.fit(x, y)
        dense = self._second_features(oof, feats, grp)
        second = LogisticRegression(
            C=self.C_second, max_iter=2000, random_state=self.random_state
        ).fit(dense, y)
        self.coef_ = first.coef_.ravel().astype(np.float32)
        self.intercept_ = float(first.intercept_[0])
        self.second_coef_ = second.coef_.ravel().astype(np.float64)
        self.second_intercept_ = float(second.intercept_[0])
        return self

    def _first_model(self) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(
            C=self.C, solver="liblinear", max_iter=500, random_state=self.random_state
        )

    def _featurise_groups(
        self, texts: Sequence[str], labels: Sequence[set[int]], groups: Sequence[int]
    ) -> tuple[_Featurised, npt.NDArray[np.int64], list[int]]:
        by_group: dict[int, list[int]] = defaultdict(list)
        for i, g in enumerate(groups):
            by_group[g].append(i)
        token_lists = [tokenize(t) for t in texts]
        materials = {
            g: Material.of([texts[i] for i in members], [token_lists[i] for i in members])
            for g, members in by_group.items()
        }
        merged = _Featurised([], [], [], [], [], [], [], [])
        grp: list[int] = []
        for g, members in sorted(by_group.items()):
            part = featurise(
                [texts[i] for i in members],
                self.n_features,
                tokens=[token_lists[i] for i in members],
                material=materials[g],
            )
            merged.rows.extend(part.rows)
            merged.text_index.extend(members[j] for j in part.text_index)
            merged.token_index.extend(part.token_index)
            merged.initial.extend(part.initial)
            merged.form_keys.extend(part.form_keys)
            merged.lemma_keys.extend(part.lemma_keys)
            merged.lowered.extend(part.lowered)
            offset = len(grp)
            merged.neighbours.extend(
                (a + offset if a >= 0 else -1, b + offset if b >= 0 else -1)
                for a, b in part.neighbours
            )
            grp.extend([g] * len(part.rows))
        y = np.array(
            [
                token_lists[t][k].start in labels[t]
                for t, k in zip(merged.text_index, merged.token_index, strict=True)
            ],
            dtype=np.int64,
        )
        return merged, y, grp

    @staticmethod
    def _second_features(logits: FloatArray, feats: _Featurised, grp: Sequence[int]) -> FloatArray:
        # Consistency is judged within one material (one project), never across.
        out = np.zeros((len(logits), len(SECOND_PASS_FEATURES)), dtype=np.float64)
        index: dict[int, list[int]] = defaultdict(list)
        for i, g in enumerate(grp):
            index[g].append(i)
        for members in index.values():
            m = np.asarray(members)
            local = {row: j for j, row in enumerate(members)}
            out[m] = second_pass_features(
                logits[m],
                [feats.initial[i] for i in members],
                [feats.form_keys[i] for i in members],
                [feats.lemma_keys[i] for i in members],
                [
                    (local.get(feats.neighbours[i][0], -1), local.get(feats.neighbours[i][1], -1))
                    for i in members
                ],
            )
        return out

    # predicting

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError("this NameTagger is not fitted yet: call fit or load a model")

    def decision_function(
        self, texts: Sequence[str], tokens: Sequence[Sequence[Token]] | None = None
    ) -> tuple[_Featurised, FloatArray]:
        """Candidate tokens of ``texts`` and their second-pass logits.

        tokens: ``tokenize`` of each text, when the caller has them already.
        """
        self._check_fitted()
        if tokens is None:
            tokens = [tokenize(t) for t in texts]
        feats = featurise(texts, self.n_features, tokens=tokens)
        if not feats.rows:
            return feats, np.zeros(0, dtype=np.float64)
        x = sparse_matrix(feats.rows, self.n_features)
        first = x @ self.coef_.astype(np.float64) + self.intercept_
        dense = self._second_features(np.asarray(first), feats, [0] * len(feats.rows))
        return feats, dense @ self.second_coef_ + self.second_intercept_

    def predict_proba(self, texts: Sequence[str]) -> list[TaggedToken]:
        """Every candidate token of ``texts`` with its probability of being a person's name."""
        token_lists = [tokenize(t) for t in texts]
        lex = _lexicon()
        feats, logits = self.decision_function(texts, token_lists)
        probs = 1.0 / (1.0 + np.exp(-logits))
        out = []
        for i, (t, k) in enumerate(zip(feats.text_index, feats.token_index, strict=True)):
            token = token_lists[t][k]
            lexeme = lex.get(token.form)
            ordinary = lexeme.ordinary or feats.lowered[i]
            out.append(
                TaggedToken(
                    t,
                    token.start,
                    token.end,
                    token.form,
                    float(probs[i]),
                    ordinary,
                    feats.initial[i],
                    lexeme.function,
                    lexeme.place,
                )
            )
        return out

    def predict(self, texts: Sequence[str]) -> list[TaggedToken]:
        """The candidate tokens the tagger calls persons.

        An ordinary word that opens a sentence ("Kävin", "Det", "Mulla" where the material
        also writes "mulla") and a place ("Ahvenanmaa") need ``threshold_ordinary``; a word
        that can be a pronoun or conjunction opening a sentence ("Jonkin") is never a person
        here; others need ``threshold``.
        """
        return [
            t
            for t in self.predict_proba(texts)
            if not t.excluded
            and t.probability >= (self.threshold_ordinary if t.doubtful else self.threshold)
        ]

    # persistence

    def save(self, directory: Path, *, meta: Mapping[str, object] | None = None) -> None:
        """Write ``tagger.npz`` (arrays, no pickle) and ``tagger.json`` (settings, second pass)."""
        from qualcode.csvout import atomic_write_bytes

        self._check_fitted()
        import io

        buffer = io.BytesIO()
        nonzero = np.flatnonzero(self.coef_).astype(np.int32)
        np.savez_compressed(buffer, index=nonzero, weight=self.coef_[nonzero])
        atomic_write_bytes(directory / "tagger.npz", buffer.getvalue())
        doc = {
            "features": FEATURES_VERSION,
            "n_features": self.n_features,
            "intercept": self.intercept_,
            "second_pass": dict(zip(SECOND_PASS_FEATURES, self.second_coef_.tolist(), strict=True)),
            "second_intercept": self.second_intercept_,
            "threshold": self.threshold,
            "threshold_ordinary": self.threshold_ordinary,
            "params": {"C": self.C, "C_second": self.C_second, "folds": self.folds},
            **(meta or {}),
        }
        text = json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        atomic_write_bytes(directory / "tagger.json", text.encode("utf-8"))

    @classmethod
    def load(cls, directory: Path | None = None) -> NameTagger:
        """The tagger stored in ``directory`` (default: the one shipped with qualcode)."""
        if directory is None:
            with resources.as_file(resources.files(MODEL_PACKAGE)) as path:
                return cls._load(Path(path))
        return cls._load(directory)

    @classmethod
    def _load(cls, directory: Path) -> NameTagger:
        where = directory / "tagger.json"
        try:
            doc = json.loads(where.read_text(encoding="utf-8"))
            with np.load(directory / "tagger.npz", allow_pickle=False) as arrays:
                index, weight = arrays["index"], arrays["weight"]
        except (OSError, ValueError, KeyError) as exc:
            raise NameTaggerError(
                f"{where}: the name tagger's model cannot be read ({exc})",
                "reinstall qualcode, or train it again with scripts/train_name_tagger.py",
            ) from None
        if doc.get("features") != FEATURES_VERSION:
            raise NameTaggerError(
                f"{where}: model made for features '{doc.get('features')}', "
                f"this qualcode reads '{FEATURES_VERSION}'",
                "train it again with scripts/train_name_tagger.py",
            )
        n = int(doc["n_features"])
        if index.size and (index.min() < 0 or index.max() >= n or index.shape != weight.shape):
            raise NameTaggerError(f"{where}: the weights do not fit {n} features")
        params = doc.get("params", {})
        tagger = cls(
            n_features=n,
            C=float(params.get("C", 0.5)),
            C_second=float(params.get("C_second", 1.0)),
            folds=int(params.get("folds", 3)),
            threshold=float(doc["threshold"]),
            threshold_ordinary=float(doc["threshold_ordinary"]),
        )
        coef = np.zeros(n, dtype=np.float32)
        coef[index] = weight
        tagger.coef_ = coef
        tagger.intercept_ = float(doc["intercept"])
        tagger.second_coef_ = np.array(
            [float(doc["second_pass"][name]) for name in SECOND_PASS_FEATURES], dtype=np.float64
        )
        tagger.second_intercept_ = float(doc["second_intercept"])
        return tagger


_DEFAULT: NameTagger | None = None


def default_tagger() -> NameTagger:
    """The tagger that ships with qualcode (loaded once)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = NameTagger.load()
    return _DEFAULT


__all__ = [
    "FUNCTION_WORDS",
    "Material",
    "NameTagger",
    "NameTaggerError",
    "NotFittedError",
    "TaggedToken",
    "default_tagger",
]


def with_tagged_persons(
    texts: Sequence[str],
    entities: Sequence[Sequence[tuple[int, int, str]]],
    tagger: NameTagger,
) -> list[list[tuple[int, int, str]]]:
    """The NER's entities of each text plus the tagger's persons where the NER has none.

    Where the NER's entity is exactly the tagged word (one word, not a person: the NER calls
    many inflected surnames ORG or PRODUCT, "Markkaselle"), the tagger's person replaces it; a
    longer entity ("Linnan Konepaja Oy") is the NER's. A single-word organisation taken for a
    person is still pseudonymised. Adjacent tagged words (one space apart) make one person
    entity: "Adam Theron".
    """
    tagged: dict[int, list[TaggedToken]] = defaultdict(list)
    for t in tagger.predict(texts):
        tagged[t.text].append(t)
    out: list[list[tuple[int, int, str]]] = []
    for n, text in enumerate(texts):
        spans = {(t.start, t.end) for t in tagged.get(n, [])}
        ents = sorted(e for e in entities[n] if e[2] == "PERSON" or (e[0], e[1]) not in spans)
        starts = [s for s, _, _ in ents]
        runs: list[list[int]] = []
        for t in tagged.get(n, []):
            k = bisect.bisect_right(starts, t.start) - 1
            if k >= 0 and ents[k][1] > t.start:
                continue  # the NER has an opinion here
            if k + 1 < len(ents) and ents[k + 1][0] < t.end:
                continue
            if runs and text[runs[-1][1] : t.start] == " " and not t.ordinary:
                runs[-1][1] = t.end
            else:
                runs.append([t.start, t.end])
        out.append(sorted([*ents, *((s, e, "PERSON") for s, e in runs)]))
    return out
