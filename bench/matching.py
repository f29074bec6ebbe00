"""Keyword-matching quality on real Finnish sentences with gold lemmas (UD Finnish-TDT).

For every sentence and every keyword of a codebook of single nouns, the pair is *positive*
when some token's gold lemma equals the keyword, or a run of its compound parts (``#`` in the
treebank lemma) does. qualcode's matcher is scored on those pairs. Baselines are computed on
the same pairs in the same run:

- ``exact-substring``: the keyword occurs in the lower-cased sentence;
- ``exact-word``: a token equals the keyword;
- ``stem-substring``: the keyword minus its last two letters (at least 4 kept) occurs in a word
  (roughly what some QDA tools call stemming);
- ``voikko-careless``: every lemma and every morpheme base from Voikko's analyses, without the
  derivation and postposition handling that qualcode adds.

The keywords are all noun lemmas, and the last parts of compound noun lemmas, that occur in at
least ``--min-sentences`` sentences of the chosen file. Tune on dev; report test.

    python bench/matching.py --split dev [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "bench-data" / "ud-finnish-tdt"
sys.path.insert(0, str(REPO / "src"))

from qualcode.analysis import get_analyzer  # noqa: E402
from qualcode.match import form_keys, tokenize  # noqa: E402


@dataclass
class Sentence:
    text: str
    forms: list[str]
    lemmas: list[str]  # gold, lower case, with '#' compound marks
    upos: list[str]


def read_conllu(path: Path) -> Iterator[Sentence]:
    text = ""
    forms: list[str] = []
    lemmas: list[str] = []
    upos: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# text = "):
            text = line[len("# text = ") :]
        elif not line.strip():
            if forms:
                yield Sentence(text, forms, lemmas, upos)
            text, forms, lemmas, upos = "", [], [], []
        elif not line.startswith("#"):
            cols = line.split("\t")
            if "-" in cols[0] or "." in cols[0]:
                continue  # multi-word token ranges and empty nodes
            forms.append(cols[1])
            lemmas.append(cols[2].lower())
            upos.append(cols[3])
    if forms:
        yield Sentence(text, forms, lemmas, upos)


def gold_keys(lemma: str) -> set[str]:
    parts = [p for p in re.split(r"[#]", lemma) if p]
    keys = {lemma.replace("#", "")}
    for i in range(len(parts)):
        for j in range(i + 1, len(parts) + 1):
            keys.add("".join(parts[i:j]))
    return keys


def choose_keywords(sentences: list[Sentence], min_sentences: int) -> list[str]:
    counts: Counter[str] = Counter()
    for s in sentences:
        found: set[str] = set()
        for lemma, pos in zip(s.lemmas, s.upos, strict=True):
            if pos != "NOUN" or (not lemma.isalpha() and "#" not in lemma):
                continue
            whole = lemma.replace("#", "")
            last = lemma.split("#")[-1]
            for k in (whole, last):
                if len(k) >= 3 and k.isalpha():
                    found.add(k)
        counts.update(found)
    return sorted(k for k, n in counts.items() if n >= min_sentences)


def score(
    sentences: list[Sentence],
    keywords: set[str],
    predict: Callable[[Sentence], set[str]],
) -> dict[str, float]:
    tp = fp = fn = 0
    for s in sentences:
        gold: set[str] = set()
        for lemma in s.lemmas:
            gold |= gold_keys(lemma) & keywords
        pred = predict(s) & keywords
        tp += len(gold & pred)
        fp += len(pred - gold)
        fn += len(gold - pred)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=["dev", "test"], default="dev")
    parser.add_argument("--min-sentences", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--errors", type=int, default=0, help="print N example errors")
    args = parser.parse_args()
    path = DATA / f"fi_tdt-ud-{args.split}.conllu"
    if not path.is_file():
        print(f"skipped: {path} not found (../shared/bench-data is not here)", file=sys.stderr)
        return
    sentences = list(read_conllu(path))
    keywords = set(choose_keywords(sentences, args.min_sentences))

    analyzer = get_analyzer("voikko.v1")
    started = time.perf_counter()
    forms = sorted({t.form for s in sentences for t in tokenize(s.text)})
    analyses = dict(zip(forms, analyzer.analyze(forms), strict=True))
    keys = {f: form_keys(a) for f, a in analyses.items()}
    analysis_seconds = time.perf_counter() - started

    def qualcode(s: Sentence) -> set[str]:
        out: set[str] = set()
        for t in tokenize(s.text):
            out |= keys[t.form].parts
        return out

    careless_cache: dict[str, set[str]] = {}

    def careless(s: Sentence) -> set[str]:
        import libvoikko

        voikko = careless_cache.setdefault("__v", libvoikko.Voikko("fi"))  # type: ignore[arg-type]
        out: set[str] = set()
        for t in tokenize(s.text):
            if t.form not in careless_cache:
                found = set()
                for a in voikko.analyze(t.form):  # type: ignore[attr-defined]
                    found.add(a.get("BASEFORM", "").lower())
                    for base in re.findall(r"\(([^)+][^)]*)\)", a.get("WORDBASES", "")):
                        found.add(base.replace("=", "").lower())
                careless_cache[t.form] = found or {t.form.lower()}
            out |= careless_cache[t.form]
        return out

    def exact_substring(s: Sentence) -> set[str]:
        lower = s.text.lower()
        return {k for k in keywords if k in lower}

    def exact_word(s: Sentence) -> set[str]:
        return {f.lower() for f in s.forms}

    stems = {k: k[: max(4, len(k) - 2)] for k in keywords}

    def stem_substring(s: Sentence) -> set[str]:
        words = [f.lower() for f in s.forms]
        return {k for k, stem in stems.items() if any(stem in w for w in words)}

    results = {
        "qualcode": score(sentences, keywords, qualcode),
        "exact-substring": score(sentences, keywords, exact_substring),
        "exact-word": score(sentences, keywords, exact_word),
        "stem-substring": score(sentences, keywords, stem_substring),
        "voikko-careless": score(sentences, keywords, careless),
    }
    report = {
        "split": args.split,
        "file": path.name,
        "sentences": len(sentences),
        "keywords": len(keywords),
        "distinct_forms": len(forms),
        "analysis_seconds": round(analysis_seconds, 2),
        "analyzer": analyzer.version,
        "results": results,
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(
            f"UD Finnish-TDT {args.split}: {len(sentences)} sentences, {len(keywords)} noun "
            f"keywords, {len(forms)} distinct forms ({analyzer.version})"
        )
        print(f"{'method':<18}{'precision':>10}{'recall':>10}{'F1':>8}{'TP':>8}{'FP':>7}{'FN':>7}")
        for name, r in results.items():
            print(
                f"{name:<18}{r['precision']:>10.4f}{r['recall']:>10.4f}{r['f1']:>8.4f}"
                f"{r['tp']:>8}{r['fp']:>7}{r['fn']:>7}"
            )
    if args.errors:
        fps: Counter[str] = Counter()
        fns: Counter[str] = Counter()
        for s in sentences:
            gold: set[str] = set()
            for lemma in s.lemmas:
                gold |= gold_keys(lemma) & keywords
            pred = qualcode(s) & keywords
            for k in pred - gold:
                form = next((t.form for t in tokenize(s.text) if k in keys[t.form].parts), "?")
                lemma = next(
                    (le for f, le in zip(s.forms, s.lemmas, strict=True) if f == form), "?"
                )
                fps[f"{k} <- {form} (gold {lemma})"] += 1
            for k in gold - pred:
                token = next(
                    (
                        f"{f} (gold {le})"
                        for f, le in zip(s.forms, s.lemmas, strict=True)
                        if k in gold_keys(le)
                    ),
                    "?",
                )
                fns[f"{k} <- {token}"] += 1
        print(
            "\nfalse positives:", *[f"  {n} {e}" for e, n in fps.most_common(args.errors)], sep="\n"
        )
        print(
            "\nfalse negatives:", *[f"  {n} {e}" for e, n in fns.most_common(args.errors)], sep="\n"
        )


if __name__ == "__main__":
    main()
