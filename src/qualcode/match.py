"""Codebook rules over analysed segments: which codes a segment suggests, with evidence.

The hot path is index lookups only: every distinct word form is analysed once (elsewhere) into
``FormKeys``; the codebook is compiled into dictionaries from lemma / compound run to rules, so
matching a token costs a few set look-ups whatever the size of the codebook.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any

from qualcode.analysis.base import Analysis

# The tokenizer belongs to the language analysis; the names stay importable from here.
from qualcode.analysis.tokens import TOKEN_RE as TOKEN_RE
from qualcode.analysis.tokens import Token as Token
from qualcode.analysis.tokens import tokenize as tokenize
from qualcode.codebook import Codebook, Keyword, Phrase

_MAX_MEMBERS = 8  # longer "compounds" are analysis noise; runs grow quadratically


@dataclass(frozen=True)
class FormKeys:
    """What a word form can match: its lemmas, and every lemma plus compound-member run."""

    lemmas: frozenset[str]
    parts: frozenset[str]


def form_keys(analyses: Iterable[Analysis]) -> FormKeys:
    lemmas: set[str] = set()
    parts: set[str] = set()
    for a in analyses:
        lemmas.add(a.lemma)
        parts.add(a.lemma)
        members = a.members[:_MAX_MEMBERS]
        for i in range(len(members)):
            for j in range(i + 1, len(members) + 1):
                for spelling in product(*members[i:j]):
                    parts.add("".join(spelling))
        if "-" in a.lemma:
            parts.update(p for p in a.lemma.split("-") if p)
    return FormKeys(frozenset(lemmas), frozenset(parts))


@dataclass(frozen=True)
class Evidence:
    form: str
    start: int  # offsets into the document text
    end: int
    rule: str  # "yhteistyö" or "pysyvä rakenne"


@dataclass(frozen=True)
class RuleMatch:
    segment_id: str
    code_id: str
    hits: int
    score: float
    evidence: tuple[Evidence, ...]


def rule_score(hits: int) -> float:
    """More hits, more confidence: 1 hit 0.5, 2 hits 0.75, 3 hits 0.875 ..."""
    return round(1 - 0.5**hits, 3)


@dataclass
class _CompiledPhrase:
    code_id: str
    phrase: Phrase
    veto: bool


@dataclass
class CompiledCodebook:
    """The codebook as look-up tables (built once per run)."""

    by_part: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)
    by_lemma: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)
    phrases_by_first: dict[str, list[_CompiledPhrase]] = field(default_factory=dict)
    min_hits: dict[str, int] = field(default_factory=dict)
    order: dict[str, int] = field(default_factory=dict)


def compile_codebook(codebook: Codebook, only: Collection[str] | None = None) -> CompiledCodebook:
    """Look-up tables for the codebook's rules (of the codes in ``only``, if given)."""
    compiled = CompiledCodebook()

    def add_keywords(code_id: str, keywords: Sequence[Keyword], veto: bool) -> None:
        for kw in keywords:
            table = compiled.by_part if kw.compounds else compiled.by_lemma
            table.setdefault(kw.word, []).append((code_id, veto))

    def add_phrases(code_id: str, phrases: Sequence[Phrase], veto: bool) -> None:
        for phrase in phrases:
            compiled.phrases_by_first.setdefault(phrase.words[0], []).append(
                _CompiledPhrase(code_id, phrase, veto)
            )

    for i, code in enumerate(codebook.codes):
        compiled.order[code.id] = i
        if not code.codable or (only is not None and code.id not in only):
            continue
        compiled.min_hits[code.id] = code.min_hits
        add_keywords(code.id, code.keywords, False)
        add_keywords(code.id, code.exclude_keywords, True)
        add_phrases(code.id, code.phrases, False)
        add_phrases(code.id, code.exclude_phrases, True)
    return compiled


def match_tokens(
    segment_id: str,
    tokens: Sequence[Token],
    keys: Mapping[str, FormKeys],
    compiled: CompiledCodebook,
) -> list[RuleMatch]:
    """Rule matches for one segment's tokens; ``keys`` maps each token form to its keys."""
    hits: dict[str, list[Evidence]] = {}
    vetoed: set[str] = set()
    token_keys = [keys[t.form] for t in tokens]
    for i, (token, fk) in enumerate(zip(tokens, token_keys, strict=True)):
        for key in fk.parts:
            _word_hits(compiled.by_part.get(key, ()), token, key, hits, vetoed)
            for phrase in compiled.phrases_by_first.get(key, ()):
                end = _phrase_end(phrase.phrase, token_keys, i)
                if end is None:
                    continue
                if phrase.veto:
                    vetoed.add(phrase.code_id)
                else:
                    last = tokens[end]
                    hits.setdefault(phrase.code_id, []).append(
                        Evidence(
                            _span_text(tokens, i, end),
                            token.start,
                            last.end,
                            " ".join(phrase.phrase.words),
                        )
                    )
        for key in fk.lemmas:
            _word_hits(compiled.by_lemma.get(key, ()), token, key, hits, vetoed)
    out = []
    for code_id, evidence in hits.items():
        if code_id in vetoed:
            continue
        unique = sorted(set(evidence), key=lambda e: (e.start, e.end, e.rule))
        # A phrase and a keyword on the same words are one hit, not two.
        n = len({(e.start, e.end) for e in unique})
        if n < compiled.min_hits.get(code_id, 1):
            continue
        out.append(RuleMatch(segment_id, code_id, n, rule_score(n), tuple(unique)))
    out.sort(key=lambda m: compiled.order.get(m.code_id, 0))
    return out


def _word_hits(
    rules: Iterable[tuple[str, bool]],
    token: Token,
    key: str,
    hits: dict[str, list[Evidence]],
    vetoed: set[str],
) -> None:
    """Record what the keyword rules on one key of a token say: a hit or a veto per code."""
    for code_id, veto in rules:
        if veto:
            vetoed.add(code_id)
        else:
            hits.setdefault(code_id, []).append(Evidence(token.form, token.start, token.end, key))


def _phrase_end(phrase: Phrase, token_keys: Sequence[FormKeys], first: int) -> int | None:
    """Index of the token that completes ``phrase`` starting at ``first``, if it does."""
    position = first
    for word in phrase.words[1:]:
        limit = min(len(token_keys), position + 2 + phrase.gap)
        for j in range(position + 1, limit):
            if word in token_keys[j].parts:
                position = j
                break
        else:
            return None
    return position


def _span_text(tokens: Sequence[Token], i: int, j: int) -> str:
    return " ".join(t.form for t in tokens[i : j + 1])


# --- the indexed fast path ----------------------------------------------------------------------


@dataclass(frozen=True)
class TokenArrays:
    """Every segment's tokens, concatenated: form ids and document offsets, as int32 arrays.

    The offsets may be left out (None) and ``offsets`` given instead: a function from segment
    ids to their packed int32 (starts, ends), called only for the segments with matches.
    """

    segment_ids: list[str]
    bounds: Any  # numpy int64 array, len(segment_ids) + 1: where each segment's tokens start
    forms: Any  # numpy int32 array of form ids
    starts: Any = None
    ends: Any = None
    offsets: Callable[[list[str]], Mapping[str, tuple[bytes, bytes]]] | None = None

    def offsets_of(self, segments: Iterable[int]) -> tuple[Any, Any]:
        """Start and end offsets of the tokens, complete at least for these segments (by
        index)."""
        if self.starts is not None or self.offsets is None:
            return self.starts, self.ends
        import numpy as np

        starts = np.zeros(len(self.forms), dtype=np.int32)
        ends = np.zeros(len(self.forms), dtype=np.int32)
        wanted = sorted(set(segments))
        packed = self.offsets([self.segment_ids[s] for s in wanted])
        for s in wanted:
            a, b = int(self.bounds[s]), int(self.bounds[s + 1])
            segment_starts, segment_ends = packed[self.segment_ids[s]]
            starts[a:b] = np.frombuffer(segment_starts, dtype=np.int32)
            ends[a:b] = np.frombuffer(segment_ends, dtype=np.int32)
        return starts, ends


@dataclass(frozen=True)
class KeyForms:
    """The form ids that can match a codebook word: as any part, and as a lemma."""

    parts: frozenset[int]
    lemmas: frozenset[int]


def match_indexed(
    arrays: TokenArrays,
    compiled: CompiledCodebook,
    key_forms: Mapping[str, KeyForms],
    form_text: Callable[[Iterable[int]], Mapping[int, str]],
) -> dict[str, list[RuleMatch]]:
    """Exactly what :func:`match_tokens` gives for every segment, without a Python loop over
    every token: only the tokens whose form can match a codebook word are visited."""
    import numpy as np

    empty = KeyForms(frozenset(), frozenset())
    rules_by_form: dict[int, list[tuple[str, bool, str]]] = {}
    for key, entries in compiled.by_part.items():
        for fid in key_forms.get(key, empty).parts:
            rules_by_form.setdefault(fid, []).extend((c, v, key) for c, v in entries)
    for key, entries in compiled.by_lemma.items():
        for fid in key_forms.get(key, empty).lemmas:
            rules_by_form.setdefault(fid, []).extend((c, v, key) for c, v in entries)
    phrases_by_form: dict[int, list[_CompiledPhrase]] = {}
    word_forms: dict[str, frozenset[int]] = {}
    for first, phrases in compiled.phrases_by_first.items():
        for fid in key_forms.get(first, empty).parts:
            phrases_by_form.setdefault(fid, []).extend(phrases)
        for phrase in phrases:
            for word in phrase.phrase.words[1:]:
                word_forms[word] = key_forms.get(word, empty).parts
    forms = arrays.forms
    bounds = arrays.bounds
    # Phrase starts are kept only where the phrase's second word follows closely enough; most
    # first words ("kaupunki", "yritys") are common and would otherwise each cost a scan.
    relevant = set(rules_by_form) | set(phrases_by_form)
    for fids in word_forms.values():
        relevant |= fids
    where = _Positions(forms, relevant)
    starts_ok = _plausible_phrase_starts(compiled, key_forms, where, bounds, empty)
    positions = _unique(np.concatenate((where.of(rules_by_form), starts_ok)))
    owners = np.searchsorted(bounds, positions, side="right") - 1
    plausible = set(starts_ok.tolist())
    # (segment index, code) -> [(first token, last token, rule)]
    hits: dict[tuple[int, str], list[tuple[int, int, str]]] = {}
    vetoed: set[tuple[int, str]] = set()
    for p, s in zip(positions.tolist(), owners.tolist(), strict=True):
        fid = int(forms[p])
        for code, veto, key in rules_by_form.get(fid, ()):
            if veto:
                vetoed.add((s, code))
            else:
                hits.setdefault((s, code), []).append((p, p, key))
        for phrase in phrases_by_form.get(fid, ()) if p in plausible else ():
            end = _indexed_phrase_end(phrase.phrase, forms, p, int(bounds[s + 1]), word_forms)
            if end is None:
                continue
            if phrase.veto:
                vetoed.add((s, phrase.code_id))
            else:
                hits.setdefault((s, phrase.code_id), []).append(
                    (p, end, " ".join(phrase.phrase.words))
                )
    needed = {
        int(forms[i]) for spans in hits.values() for a, b, _ in spans for i in range(a, b + 1)
    }
    text = form_text(needed)
    starts, ends = arrays.offsets_of(s for s, _ in hits)
    out: dict[str, list[RuleMatch]] = {}
    for (s, code), spans in hits.items():
        if (s, code) in vetoed:
            continue
        evidence = {
            Evidence(
                " ".join(text[int(forms[i])] for i in range(a, b + 1)),
                int(starts[a]),
                int(ends[b]),
                rule,
            )
            for a, b, rule in spans
        }
        unique = sorted(evidence, key=lambda e: (e.start, e.end, e.rule))
        n = len({(e.start, e.end) for e in unique})
        if n < compiled.min_hits.get(code, 1):
            continue
        segment_id = arrays.segment_ids[s]
        out.setdefault(segment_id, []).append(
            RuleMatch(segment_id, code, n, rule_score(n), tuple(unique))
        )
    for matches in out.values():
        matches.sort(key=lambda m: compiled.order.get(m.code_id, 0))
    return out


class _Positions:
    """Token positions of given form ids, from one sort of the tokens whose form can match
    (instead of a pass over all tokens for every codebook word)."""

    def __init__(self, forms: Any, ids: Iterable[int]) -> None:
        import numpy as np

        wanted = np.fromiter(sorted(set(ids)), dtype=np.int32)
        candidates = np.flatnonzero(np.isin(forms, wanted))
        subset = forms[candidates]
        order = np.argsort(subset, kind="stable")
        self.order = candidates[order]
        self.sorted = subset[order]

    def of(self, ids: Iterable[int]) -> Any:
        import numpy as np

        wanted = np.fromiter(sorted(set(ids)), dtype=np.int32)
        lo = np.searchsorted(self.sorted, wanted, side="left")
        hi = np.searchsorted(self.sorted, wanted, side="right")
        chunks = [self.order[a:b] for a, b in zip(lo.tolist(), hi.tolist(), strict=True) if b > a]
        if not chunks:
            return np.zeros(0, dtype=np.int64)
        return np.sort(np.concatenate(chunks))


def _plausible_phrase_starts(
    compiled: CompiledCodebook,
    key_forms: Mapping[str, KeyForms],
    where: _Positions,
    bounds: Any,
    empty: KeyForms,
) -> Any:
    """Token positions where some phrase's first word is followed by its second word within
    the phrase's gap, in the same segment (a necessary condition for the phrase to match)."""
    import numpy as np

    found = [np.zeros(0, dtype=np.int64)]
    for first, phrases in compiled.phrases_by_first.items():
        p1 = where.of(key_forms.get(first, empty).parts)
        if not len(p1):
            continue
        segment_end = bounds[np.searchsorted(bounds, p1, side="right")]
        for phrase in phrases:
            p2 = where.of(key_forms.get(phrase.phrase.words[1], empty).parts)
            if not len(p2):
                continue
            nxt = np.searchsorted(p2, p1 + 1)
            ok = nxt < len(p2)
            q = p2[np.minimum(nxt, len(p2) - 1)]
            ok &= (q <= p1 + 1 + phrase.phrase.gap) & (q < segment_end)
            found.append(p1[ok])
    return _unique(np.concatenate(found))


def _unique(values: Any) -> Any:
    """Sorted distinct values (np.unique would import numpy.ma: 10 ms of a warm re-tag)."""
    import numpy as np

    values = np.sort(values)
    keep = np.empty(len(values), dtype=bool)
    keep[:1] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _indexed_phrase_end(
    phrase: Phrase, forms: Any, first: int, stop: int, word_forms: Mapping[str, frozenset[int]]
) -> int | None:
    position = first
    for word in phrase.words[1:]:
        allowed = word_forms.get(word, frozenset())
        limit = min(stop, position + 2 + phrase.gap)
        for j in range(position + 1, limit):
            if int(forms[j]) in allowed:
                position = j
                break
        else:
            return None
    return position
