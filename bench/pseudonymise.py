"""Person-name pseudonymisation quality on Finnish text with gold names (Turku NER corpus).

Each document of the chosen split is rebuilt as plain text from its tokens. qualcode detects
names on the split itself (nothing is known in advance), assigns pseudonyms and replaces the
person entries; the baseline replaces the spaCy Finnish NER's PERSON entities. Both are scored
in the same run on the same text:

- recall: the share of gold person-name tokens (B-PER/I-PER) that no longer appear, i.e. that
  a replacement overlaps;
- precision: the share of replaced tokens that are gold person-name tokens.

qualcode's organisation entries are left out of the person scores (an organisation replaced is
not a person found); ``all_kinds_precision`` shows precision when they are replaced too.
``qualcode_ner_apply`` is the same registry applied with ``Pseudonymiser(ner=True)``, which asks
the NER about capitalised sentence-initial words that are also common words.

    python bench/pseudonymise.py --split dev [--json] [--errors 30] [--breakdown]

``qualcode_with_check_unknown`` adds what ``qualcode names check --unknown`` lists for a person
to look at: recall counts a gold person token found when it was replaced or listed, and
``listed_forms`` is the length of that list (distinct forms).

``--breakdown`` sorts the gold person tokens (and the capitalised other tokens) by what the two
sources of evidence say about them, the NER's label and Voikko's lexicon, and counts the ones
qualcode missed in each group: it shows where the remaining recall is and what it would cost.

Tune on dev; report test.
"""

from __future__ import annotations

import argparse
import bisect
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH_DATA = REPO.parent / "shared" / "bench-data"
DATA = BENCH_DATA / "turku-ner"
CORPORA = {"turku-ner": DATA, "turku-one": BENCH_DATA / "turku-one"}
sys.path.insert(0, str(REPO / "src"))

from qualcode.match import tokenize  # noqa: E402
from qualcode.nametagger import NameTagger, default_tagger  # noqa: E402
from qualcode.pseudonymise import (  # noqa: E402
    NameCandidate,
    Pseudonymiser,
    assign_pseudonyms,
    detect_names,
    ordinary_forms,
    unregistered_names,
)

_NO_SPACE_BEFORE = frozenset(",.;:!?)]}%”»")
_NO_SPACE_AFTER = frozenset("([{“«")


@dataclass
class Document:
    text: str
    spans: list[tuple[int, int]]  # character span of each token
    tags: list[str]  # IOB2 tag of each token


def read_conll(path: Path) -> Iterator[Document]:
    """Documents of a two-column IOB2 file, rebuilt as text (sentences joined by spaces)."""
    sentences: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []

    def flush_doc() -> Iterator[Document]:
        if current:
            sentences.append(list(current))
            current.clear()
        if sentences:
            yield build(sentences)
            sentences.clear()

    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-DOCSTART-"):
            yield from flush_doc()
        elif not line.strip():
            if current:
                sentences.append(list(current))
                current.clear()
        else:
            form, _, tag = line.partition("\t")
            current.append((form, tag.strip() or "O"))
    yield from flush_doc()


def build(sentences: Sequence[Sequence[tuple[str, str]]]) -> Document:
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    tags: list[str] = []
    pos = 0
    for s, sentence in enumerate(sentences):
        for k, (form, tag) in enumerate(sentence):
            glue = (s or k) and not (
                form in _NO_SPACE_BEFORE or (k and sentence[k - 1][0] in _NO_SPACE_AFTER)
            )
            if glue:
                parts.append(" ")
                pos += 1
            parts.append(form)
            spans.append((pos, pos + len(form)))
            tags.append(tag)
            pos += len(form)
    return Document("".join(parts), spans, tags)


@dataclass
class Score:
    gold: int = 0
    found: int = 0  # gold person tokens replaced
    replaced: int = 0
    correct: int = 0  # replaced tokens that are gold person tokens

    def add(self, doc: Document, replaced: Sequence[tuple[int, int]]) -> None:
        ordered: list[tuple[int, int]] = []
        for s, e in sorted(replaced):  # merged, so that ends rise with starts
            if ordered and s <= ordered[-1][1]:
                ordered[-1] = (ordered[-1][0], max(e, ordered[-1][1]))
            else:
                ordered.append((s, e))
        starts = [s for s, _ in ordered]
        for (start, end), tag in zip(doc.spans, doc.tags, strict=True):
            if not any(ch.isalnum() for ch in doc.text[start:end]):
                continue  # a hyphen or a quote inside a name identifies nobody
            person = is_person(tag)
            k = bisect.bisect_left(starts, end) - 1  # the last replacement starting before end
            hit = k >= 0 and ordered[k][1] > start
            self.tokens += 1
            self.gold += person
            self.found += person and hit
            self.replaced += hit
            self.correct += person and hit

    tokens: int = 0

    def as_json(self) -> dict[str, float | int]:
        others = self.tokens - self.gold
        return {
            "recall": round(self.found / self.gold, 4) if self.gold else 0.0,
            "precision": round(self.correct / self.replaced, 4) if self.replaced else 0.0,
            "over_redaction": round((self.replaced - self.correct) / others, 4) if others else 0.0,
            "gold_person_tokens": self.gold,
            "found": self.found,
            "replaced_tokens": self.replaced,
            "replaced_person_tokens": self.correct,
        }


Entities = list[tuple[int, int, str]]


def is_person(tag: str) -> bool:
    """Turku NER tags persons PER, TurkuONE PERSON."""
    return tag[2:] in ("PER", "PERSON")


def spacy_baseline(docs: Sequence[Document]) -> tuple[Score, float, list[Entities]]:
    import spacy

    nlp = spacy.load("spacy_fi_experimental_web_md")
    started = time.perf_counter()
    score = Score()
    entities: list[Entities] = []
    for doc, parsed in zip(docs, nlp.pipe(d.text for d in docs), strict=True):
        entities.append([(e.start_char, e.end_char, e.label_) for e in parsed.ents])
        score.add(doc, [(s, e) for s, e, label in entities[-1] if label == "PERSON"])
    return score, time.perf_counter() - started, entities


def lexicon_class(voikko: Any, cache: dict[str, str], form: str) -> str:
    """Voikko's reading of a form: person name, place name, other word or unknown."""
    if form not in cache:
        found = {r.get("CLASS", "") for r in voikko.analyze(form)}
        cache[form] = (
            "person name"
            if found & {"etunimi", "sukunimi"}
            else "place name"
            if "paikannimi" in found
            else "other word"
            if found
            else "unknown"
        )
    return cache[form]


def breakdown(
    docs: Sequence[Document], entities: Sequence[Entities], pseudonymiser: Pseudonymiser
) -> list[dict[str, object]]:
    """Gold person tokens and capitalised other tokens by NER label and Voikko's knowledge."""
    import libvoikko

    voikko = libvoikko.Voikko("fi")
    classes: dict[str, str] = {}

    def lexicon(form: str) -> str:
        return lexicon_class(voikko, classes, form)

    rows: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for doc, ents in zip(docs, entities, strict=True):
        replaced = [(s, e) for s, e, _ in pseudonymiser.spans(doc.text)]
        for (start, end), tag in zip(doc.spans, doc.tags, strict=True):
            form = doc.text[start:end]
            person = is_person(tag)
            if not (person or form[:1].isupper()):
                continue
            labels = {label for s, e, label in ents if s < end and start < e}
            ner = "PERSON" if "PERSON" in labels else "other entity" if labels else "none"
            row = rows[(ner, lexicon(form))]
            hit = any(s < end and start < e for s, e in replaced)
            row["gold_person_tokens" if person else "other_tokens"] += 1
            row["missed"] += person and not hit
            row["wrongly_replaced"] += hit and not person
    return [
        {"ner": ner, "voikko": lex, **{k: rows[(ner, lex)][k] for k in _BREAKDOWN_COUNTS}}
        for ner, lex in sorted(rows)
    ]


_BREAKDOWN_COUNTS = ("gold_person_tokens", "missed", "other_tokens", "wrongly_replaced")


def lower_case(docs: Sequence[Document]) -> set[str]:
    """The material's ordinary lower-case forms, as the project passes them to ``Pseudonymiser``."""
    return ordinary_forms(Counter(t.form for d in docs for t in tokenize(d.text)))


def qualcode_run(
    docs: Sequence[Document], *, ner: bool, tagger: NameTagger | None
) -> tuple[Score, Score, list[NameCandidate], dict[str, float]]:
    """Detect once, replace with the default Pseudonymiser: persons only, and every kind."""
    timing: dict[str, float] = {}
    started = time.perf_counter()
    texts = [d.text for d in docs]
    candidates = detect_names(texts, ner=ner, tagger=tagger)
    timing["detect_s"] = round(time.perf_counter() - started, 2)
    entries = assign_pseudonyms(candidates)
    words = lower_case(docs)
    step = time.perf_counter()
    persons = Pseudonymiser([e for e in entries if e.kind == "person"], words=words)
    everything = Pseudonymiser(entries, words=words)
    person_score, all_score = Score(), Score()
    for doc in docs:
        person_score.add(doc, [(s, e) for s, e, _ in persons.spans(doc.text)])
        all_score.add(doc, [(s, e) for s, e, _ in everything.spans(doc.text)])
    timing["apply_s"] = round((time.perf_counter() - step) / 2, 2)
    return person_score, all_score, candidates, timing


def with_check_unknown(
    docs: Sequence[Document], candidates: Sequence[NameCandidate]
) -> dict[str, object]:
    """Recall when the words ``names check --unknown`` lists are looked at too."""
    entries = assign_pseudonyms(candidates)
    persons = Pseudonymiser([e for e in entries if e.kind == "person"], words=lower_case(docs))
    score = Score()
    forms: set[str] = set()
    listed_tokens = 0
    for doc in docs:
        listed = [(o, o + len(f)) for f, o in unregistered_names(doc.text, entries)]
        forms.update(doc.text[s:e] for s, e in listed)
        listed_tokens += len(listed)
        score.add(doc, [(s, e) for s, e, _ in persons.spans(doc.text)] + listed)
    found = score.as_json()
    words = sum(len(tokenize(d.text)) for d in docs)
    return {
        "recall": found["recall"],
        "found": found["found"],
        "gold_person_tokens": found["gold_person_tokens"],
        "listed_tokens": listed_tokens,
        "listed_forms": len(forms),
        "words": words,
        "listed_forms_per_10k_words": round(len(forms) * 10_000 / max(1, words), 1),
    }


def misses(docs: Sequence[Document], pseudonymiser: Pseudonymiser, limit: int) -> list[str]:
    """Gold person tokens left in place, and replaced tokens that are not persons (for tuning)."""
    left: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    for doc in docs:
        spans = [(s, e) for s, e, _ in pseudonymiser.spans(doc.text)]
        for (start, end), tag in zip(doc.spans, doc.tags, strict=True):
            hit = any(s < end and start < e for s, e in spans)
            form = doc.text[start:end]
            if is_person(tag) and not hit:
                left[form] += 1
            elif hit and not is_person(tag):
                wrong[f"{form} ({tag})"] += 1
    return [
        "missed: " + ", ".join(f"{f}×{n}" for f, n in left.most_common(limit)),
        "wrongly replaced: " + ", ".join(f"{f}×{n}" for f, n in wrong.most_common(limit)),
    ]


SWEEP = (0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7)


def _memoised_entities() -> None:
    """The NER's entities of the same texts once per run (the sweep detects many times)."""
    from qualcode import pseudonymise

    original = pseudonymise._entities
    cache: dict[tuple[str, ...], list[list[tuple[int, int, str]]]] = {}

    def entities(texts: Sequence[str]) -> list[list[tuple[int, int, str]]]:
        key = tuple(texts)
        if key not in cache:
            cache[key] = original(texts)
        return [list(e) for e in cache[key]]

    pseudonymise._entities = entities


def run_corpus(name: str, docs: list[Document], args: argparse.Namespace) -> dict[str, object]:
    tokens = sum(len(d.tags) for d in docs)
    tagger = default_tagger()
    ner = args.ner == "all"
    person, everything, candidates, timing = qualcode_run(docs, ner=ner, tagger=tagger)
    rules_person, rules_all, _, rules_timing = qualcode_run(docs, ner=True, tagger=None)
    baseline, baseline_s, entities = spacy_baseline(docs)

    def system(score: Score, all_score: Score, times: dict[str, float]) -> dict[str, object]:
        seconds = times["detect_s"] + times["apply_s"]
        return {
            **score.as_json(),
            "all_kinds_precision": all_score.as_json()["precision"],
            "seconds": round(seconds, 2),
            "tokens_per_s": round(tokens / seconds),
        }

    result: dict[str, object] = {
        "corpus": name,
        "split": args.split,
        "documents": len(docs),
        "tokens": tokens,
        "qualcode": {
            **system(person, everything, timing),
            "name": f"names detect: tagger (threshold {tagger.threshold}) + rules"
            + (" + spaCy NER" if ner else ", no spaCy"),
        },
        "qualcode_with_check_unknown": with_check_unknown(docs, candidates),
        "rules_and_ner": {
            **system(rules_person, rules_all, rules_timing),
            "name": "the rules with the spaCy NER, no tagger (before issue 16)",
        },
        "baseline": {
            **baseline.as_json(),
            "name": "spaCy fi NER, PERSON entities",
            "seconds": round(baseline_s, 2),
        },
        "candidates": {
            "person": sum(c.kind == "person" for c in candidates),
            "org": sum(c.kind == "org" for c in candidates),
        },
    }
    if args.sweep:
        curve = []
        for threshold in SWEEP:
            swept = NameTagger.load()
            swept.threshold = threshold
            score, _, _, _ = qualcode_run(docs, ner=ner, tagger=swept)
            found = score.as_json()
            curve.append({"threshold": threshold, **{k: found[k] for k in _CURVE}})
        result["curve"] = curve
    if args.breakdown:
        entries = assign_pseudonyms(candidates)
        persons = Pseudonymiser([e for e in entries if e.kind == "person"], words=lower_case(docs))
        result["breakdown"] = breakdown(docs, entities, persons)
    if args.errors:
        entries = assign_pseudonyms(candidates)
        persons = Pseudonymiser([e for e in entries if e.kind == "person"], words=lower_case(docs))
        for line in misses(docs, persons, args.errors):
            print(f"{name}: {line}", file=sys.stderr)
    return result


_CURVE = ("recall", "over_redaction", "precision")


def show(result: dict[str, object]) -> None:
    print(
        f"{result['corpus']} {result['split']}: {result['documents']} documents, "
        f"{result['tokens']} tokens"
    )
    for system in ("qualcode", "rules_and_ner", "baseline"):
        r = result[system]
        assert isinstance(r, dict)
        print(
            f"  {system:14} recall {r['recall']:.3f}  over-redaction {r['over_redaction']:.4f}  "
            f"precision {r['precision']:.3f}  ({r['found']}/{r['gold_person_tokens']} gold, "
            f"{r['replaced_person_tokens']}/{r['replaced_tokens']} replaced; {r['seconds']} s)"
        )
    net = result["qualcode_with_check_unknown"]
    assert isinstance(net, dict)
    print(
        f"  {'+ --unknown':14} recall {net['recall']:.3f}  "
        f"({net['found']}/{net['gold_person_tokens']} gold replaced or listed; "
        f"{net['listed_forms']} forms listed, {net['listed_forms_per_10k_words']} per 10,000 words)"
    )
    for row in result.get("curve", []):  # type: ignore[attr-defined]
        print(
            f"  threshold {row['threshold']:<5} recall {row['recall']:.3f}  "
            f"over-redaction {row['over_redaction']:.4f}  precision {row['precision']:.3f}"
        )
    for row in result.get("breakdown", []):  # type: ignore[attr-defined]
        counts = "  ".join(f"{k} {row[k]:4}" for k in _BREAKDOWN_COUNTS)
        print(f"  NER {row['ner']:12}  Voikko {row['voikko']:11}  {counts}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=["dev", "test"], default="dev")
    parser.add_argument("--corpus", choices=["both", *CORPORA], default="both")
    parser.add_argument(
        "--ner",
        choices=["none", "all"],
        default="none",
        help="qualcode without the spaCy NER (as names detect runs) or with it over everything",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--errors", type=int, default=0, help="show the N most common errors")
    parser.add_argument("--no-sweep", dest="sweep", action="store_false", help="skip the curve")
    parser.add_argument(
        "--breakdown", action="store_true", help="tokens by NER label and Voikko's knowledge"
    )
    args = parser.parse_args()
    names = list(CORPORA) if args.corpus == "both" else [args.corpus]
    paths = {n: CORPORA[n] / f"{args.split}.tsv" for n in names}
    missing = [str(p) for p in paths.values() if not p.exists()]
    if missing:
        print(f"skipped: {', '.join(missing)} not here (the data lives in /work/shared)")
        return 0
    _memoised_entities()
    results = [run_corpus(n, list(read_conll(paths[n])), args) for n in names]
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        for result in results:
            show(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
