"""How far the evidence qualcode has can separate person names from other capitalised words.

``pseudonymise.py`` measures what qualcode does; this script measures what *any* rule built on
the same evidence could do, on the Turku NER split with gold person tokens:

1. **Cells.** Every gold person token, and every capitalised other token, falls in one cell of
   (spaCy NER label) x (Voikko's reading of the form) x (first word of a sentence, inside one,
   or lower-case).
   ``cell_ceiling_precision`` is an upper bound on precision at the target recall, and
   ``cell_ceiling_recall`` on recall at the target precision, for any rule that decides per cell:
   the purest cells are taken first and the last one fractionally.
2. **The residue.** Capitalised tokens that the NER does not call a person and Voikko does not
   know at all (foreign names, nicknames, pets, but also foreign places, brands, titles). This is
   where the missing recall is. Three scorers, none of which sees a gold label, are measured on
   it by ROC AUC (0.5 is chance):
   - ``form_vector``: the floret vector of the word form, with a logistic regression trained on
     the spaCy model's title-case vocabulary labelled by Voikko (first name or surname = 1,
     other known word = 0);
   - ``context``: the dependency relation and head, the case, the neighbouring lemmas and parts
     of speech, with a logistic regression trained on the split's own silver labels (NER PERSON
     and a Voikko name = 1; another NER entity or a Voikko place = 0);
   - ``repetition``: how often the form occurs capitalised inside sentences of its document.

    python bench/name_signals.py --split dev [--json] [--target 0.97]

Nothing here is tuned: the scorers have fixed settings and no gold label reaches them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from pseudonymise import DATA, REPO, Document, lexicon_class, read_conll

sys.path.insert(0, str(REPO / "src"))

_SEED = 0
_ENTITY_LABELS = frozenset({"GPE", "LOC", "ORG", "PRODUCT", "NORP", "FAC", "EVENT", "WORK_OF_ART"})


def _purest_first(
    cells: Counter[tuple[str, str, str, bool]],
) -> tuple[int, list[tuple[int, int]]]:
    """Gold total, and (person, other) counts of the cells from the purest to the least pure."""
    per: Counter[tuple[str, ...]] = Counter()
    other: Counter[tuple[str, ...]] = Counter()
    for (ner, lexicon, position, is_person), n in cells.items():
        (per if is_person else other)[(ner, lexicon, position)] += n
    keys = sorted(set(per) | set(other), key=lambda k: (-per[k] / (per[k] + other[k]), k))
    return sum(per.values()), [(per[k], other[k]) for k in keys if per[k]]


def cell_ceiling(cells: Counter[tuple[str, str, str, bool]], target: float) -> float:
    """Best precision at ``target`` recall over rules that replace whole cells (fractional)."""
    gold, ordered = _purest_first(cells)
    need = target * gold
    taken_per = taken_other = 0.0
    for per, other in ordered:
        share = min(1.0, (need - taken_per) / per)
        taken_per += share * per
        taken_other += share * other
        if taken_per >= need - 1e-9:
            return taken_per / (taken_per + taken_other)
    return 0.0


def cell_recall(cells: Counter[tuple[str, str, str, bool]], precision: float) -> float:
    """Best recall at ``precision`` or better over rules that replace whole cells (fractional)."""
    gold, ordered = _purest_first(cells)
    taken_per = taken_other = 0.0
    for per, other in ordered:
        # The largest share s of this cell with (tp + s*per) / (tp + fp + s*(per+other)) >= p.
        slack = (1 - precision) * taken_per - precision * taken_other
        cost = precision * other - (1 - precision) * per
        share = 1.0 if cost <= 1e-9 else min(1.0, max(0.0, slack / cost))
        taken_per += share * per
        taken_other += share * other
        if share < 1.0:
            break
    return taken_per / gold


def auc(labels: Sequence[bool], scores: Sequence[float]) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def context_features(tok: Any) -> dict[str, float]:
    f = {
        f"dep={tok.dep_}": 1.0,
        f"head={tok.head.lemma_.lower()}": 1.0,
        f"dep_head={tok.dep_}|{tok.head.lemma_.lower()}": 1.0,
        f"case={','.join(tok.morph.get('Case')) or '-'}": 1.0,
    }
    for offset in (-2, -1, 1, 2):
        j = tok.i + offset
        if 0 <= j < len(tok.doc):
            f[f"w{offset}={tok.doc[j].lemma_.lower()}"] = 1.0
            f[f"p{offset}={tok.doc[j].pos_}"] = 1.0
        else:
            f[f"w{offset}=<edge>"] = 1.0
    for child in tok.children:
        f[f"child={child.dep_}|{child.lemma_.lower()}"] = 1.0
    return f


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=["dev", "test"], default="dev")
    parser.add_argument("--target", type=float, default=0.97, help="recall for cell_ceiling")
    parser.add_argument("--precision", type=float, default=0.85, help="precision for cell_recall")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    path = DATA / f"{args.split}.tsv"
    if not path.exists():
        print(f"skipped: {path} is not here (the Turku NER data lives in /work/shared)")
        return 0

    import libvoikko
    import spacy
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    voikko = libvoikko.Voikko("fi")
    classes: dict[str, str] = {}
    nlp = spacy.load("spacy_fi_experimental_web_md")
    docs: list[Document] = list(read_conll(path))

    cells: Counter[tuple[str, str, str, bool]] = Counter()
    silver_x: list[dict[str, float]] = []
    silver_y: list[int] = []
    residue: list[tuple[bool, str, dict[str, float], int]] = []
    for doc, parsed in zip(docs, nlp.pipe(d.text for d in docs), strict=True):
        gold = {
            start: tag.endswith("PER") for (start, _), tag in zip(doc.spans, doc.tags, strict=True)
        }
        inside = Counter(t.text for t in parsed if not t.is_sent_start and t.text[:1].isupper())
        for tok in parsed:
            lexicon = lexicon_class(voikko, classes, tok.text)
            ent = tok.ent_type_
            if tok.idx in gold and not tok.text[:1].isupper():
                ner = "PERSON" if ent == "PERSON" else "other entity" if ent else "none"
                cells[(ner, lexicon, "lower-case", gold[tok.idx])] += 1
            if not tok.text[:1].isupper():
                continue
            if ent == "PERSON" and lexicon == "person name":
                silver_x.append(context_features(tok))
                silver_y.append(1)
            elif (ent in _ENTITY_LABELS or lexicon == "place name") and lexicon != "person name":
                silver_x.append(context_features(tok))
                silver_y.append(0)
            if tok.idx not in gold:  # spaCy split a gold token differently
                continue
            ner = "PERSON" if ent == "PERSON" else "other entity" if ent else "none"
            position = "initial" if tok.is_sent_start else "inside"
            cells[(ner, lexicon, position, gold[tok.idx])] += 1
            if ner != "PERSON" and lexicon == "unknown":
                residue.append((gold[tok.idx], tok.text, context_features(tok), inside[tok.text]))

    # Form vectors: trained on the model's vocabulary, labelled by Voikko alone.
    vocabulary = sorted(w for w in nlp.vocab.strings if len(w) > 1 and w.isalpha() and w.istitle())
    vx, vy = [], []
    for word in vocabulary:
        lexicon = lexicon_class(voikko, classes, word)
        if lexicon != "unknown":
            vx.append(nlp.vocab.get_vector(word))
            vy.append(int(lexicon == "person name"))

    def unit(rows: Sequence[np.ndarray]) -> np.ndarray:
        m = np.asarray(rows, dtype=np.float64)
        return m / (np.linalg.norm(m, axis=1, keepdims=True) + 1e-9)

    form_model = LogisticRegression(max_iter=2000, random_state=_SEED).fit(unit(vx), vy)
    labels = [r[0] for r in residue]
    form_scores = form_model.predict_proba(unit([nlp.vocab.get_vector(r[1]) for r in residue]))

    vectoriser = DictVectorizer()
    context_model = LogisticRegression(C=0.3, max_iter=3000, random_state=_SEED)
    context_model.fit(vectoriser.fit_transform(silver_x), silver_y)
    context_scores = context_model.predict_proba(vectoriser.transform([r[2] for r in residue]))

    gold_total = sum(n for k, n in cells.items() if k[3])
    result = {
        "split": args.split,
        "gold_person_tokens": gold_total,
        "target_recall": args.target,
        "cell_ceiling_precision": round(cell_ceiling(cells, args.target), 4),
        "target_precision": args.precision,
        "cell_ceiling_recall": round(cell_recall(cells, args.precision), 4),
        "residue": {
            "person_tokens": sum(labels),
            "other_tokens": len(labels) - sum(labels),
            "auc_form_vector": round(auc(labels, form_scores[:, 1]), 3),
            "auc_context": round(auc(labels, context_scores[:, 1]), 3),
            "auc_repetition": round(auc(labels, [r[3] for r in residue]), 3),
            "form_vector_training_words": len(vy),
            "context_silver_tokens": len(silver_y),
        },
        "cells": [
            {
                "ner": n,
                "voikko": v,
                "position": p,
                "person": cells[(n, v, p, True)],
                "other": cells[(n, v, p, False)],
            }
            for n, v, p in sorted({k[:3] for k in cells})
        ],
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    r = result["residue"]
    assert isinstance(r, dict)
    print(f"{args.split}: {gold_total} gold person tokens")
    print(
        f"best cell-wise precision at recall {args.target}: {result['cell_ceiling_precision']}; "
        f"best cell-wise recall at precision {args.precision}: {result['cell_ceiling_recall']}"
    )
    print(
        f"residue (NER not PERSON, Voikko unknown): {r['person_tokens']} person tokens among "
        f"{r['person_tokens'] + r['other_tokens']}; ROC AUC form vector {r['auc_form_vector']}, "
        f"context {r['auc_context']}, repetition {r['auc_repetition']}"
    )
    for row in result["cells"]:  # type: ignore[attr-defined]
        print(
            f"  NER {row['ner']:12}  Voikko {row['voikko']:11}  {row['position']:7}  "
            f"person {row['person']:4}  other {row['other']:5}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
