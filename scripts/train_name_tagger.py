"""Train the person-name tagger that ships with qualcode (src/qualcode/names_model/).

    python scripts/train_name_tagger.py [--out src/qualcode/names_model] [--report dev.json]

Data: the TurkuONE and Turku NER *train* splits in ../shared/bench-data (CC BY-SA 4.0, see
src/qualcode/names_model/ATTRIBUTION.md). The threshold is tuned on their *dev* splits; the
test splits are never read. Everything is seeded, so the same data gives the same files.

Each split is rebuilt as plain text the way bench/pseudonymise.py rebuilds it, and tokenised
with qualcode's own tokenizer, so the tagger learns on the tokens it will see at run time. A
token is a person when it overlaps a gold PER / PERSON token.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "bench-data"
sys.path.insert(0, str(REPO / "src"))

from qualcode.match import tokenize  # noqa: E402
from qualcode.nametagger import NameTagger  # noqa: E402

CORPORA = {"turku-one": DATA / "turku-one", "turku-ner": DATA / "turku-ner"}
_NO_SPACE_BEFORE = frozenset(",.;:!?)]}%”»")
_NO_SPACE_AFTER = frozenset("([{“«")
# TurkuONE has no document marks: this many sentences make one text.
_SENTENCES_PER_TEXT = 40
# The threshold is tuned on dev for the most recall within this share of non-person tokens
# replaced, at token level (the target is 2% after detection and replacement: some margin).
MAX_OVER_REDACTION = 0.015
# Words Voikko knows only as ordinary or function words are persons only when the tagger is
# sure (issue 16, item 3: "Kävin", "Jonkin", Swedish "Det" are not names).
THRESHOLD_ORDINARY = 0.5


def person_tag(tag: str) -> bool:
    return tag[2:] in ("PER", "PERSON")


def read_texts(path: Path) -> Iterator[tuple[str, set[int]]]:
    """(text, start offsets of qualcode tokens that overlap gold person tokens) per document."""
    sentences: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-DOCSTART-"):
            if current:
                sentences.append(current)
                current = []
            if sentences:
                yield build(sentences)
                sentences = []
        elif not line.strip():
            if current:
                sentences.append(current)
                current = []
                if len(sentences) >= _SENTENCES_PER_TEXT and "turku-one" in str(path):
                    yield build(sentences)
                    sentences = []
        else:
            form, _, tag = line.partition("\t")
            current.append((form, tag.strip() or "O"))
    if current:
        sentences.append(current)
    if sentences:
        yield build(sentences)


def build(sentences: Sequence[Sequence[tuple[str, str]]]) -> tuple[str, set[int]]:
    parts: list[str] = []
    gold: list[tuple[int, int]] = []
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
            if person_tag(tag):
                gold.append((pos, pos + len(form)))
            pos += len(form)
    text = "".join(parts)
    starts = {t.start for t in tokenize(text) if any(s < t.end and t.start < e for s, e in gold)}
    return text, starts


def load(split: str) -> tuple[list[str], list[set[int]], list[int]]:
    texts: list[str] = []
    labels: list[set[int]] = []
    groups: list[int] = []
    for g, folder in enumerate(CORPORA.values()):
        for text, gold in read_texts(folder / f"{split}.tsv"):
            texts.append(text)
            labels.append(gold)
            groups.append(g)
    return texts, labels, groups


def curve(
    tagger: NameTagger, texts: Sequence[str], labels: Sequence[set[int]]
) -> dict[str, object]:
    """Token-level recall and over-redaction (wrong tokens / all non-person tokens) by threshold."""
    scored = tagger.predict_proba(texts)
    # An ordinary word must reach threshold_ordinary: below it, it counts as never tagged.
    probs = np.array(
        [
            0.0
            if t.excluded or (t.doubtful and t.probability < tagger.threshold_ordinary)
            else t.probability
            for t in scored
        ]
    )
    gold = np.array([t.start in labels[t.text] for t in scored])
    persons = sum(len(g) for g in labels)
    others = sum(len(tokenize(t)) for t in texts) - persons
    rows = []
    for threshold in (0.01, 0.02, 0.03, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        hit = probs >= threshold
        rows.append(
            {
                "threshold": threshold,
                "recall": round(float((hit & gold).sum() / persons), 4),
                "precision": round(float((hit & gold).sum() / max(1, hit.sum())), 4),
                "over_redaction": round(float((hit & ~gold).sum() / others), 4),
            }
        )
    # The lowest threshold whose over-redaction stays within the budget (fine grid).
    chosen = 0.5
    for threshold in np.arange(0.5, 0.004, -0.005):
        if (probs >= threshold)[~gold].sum() / others <= MAX_OVER_REDACTION:
            chosen = round(float(threshold), 3)
    return {"persons": persons, "other_tokens": others, "curve": rows, "chosen": chosen}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "src" / "qualcode" / "names_model")
    parser.add_argument("--report", type=Path, help="write the dev figures as JSON")
    parser.add_argument("--C", type=float, default=0.5)
    args = parser.parse_args()
    if not all((folder / "train.tsv").exists() for folder in CORPORA.values()):
        print(f"skipped: the TurkuONE / Turku NER train splits are not in {DATA}")
        return 0
    texts, labels, groups = load("train")
    print(f"train: {len(texts)} texts, {sum(len(x) for x in labels)} person tokens", flush=True)
    tagger = NameTagger(C=args.C, threshold_ordinary=THRESHOLD_ORDINARY).fit(texts, labels, groups)
    report: dict[str, object] = {}
    for name, folder in CORPORA.items():
        dev = list(read_texts(folder / "dev.tsv"))
        report[name] = curve(tagger, [t for t, _ in dev], [g for _, g in dev])
    dev_texts, dev_labels, _ = load("dev")
    both = curve(tagger, dev_texts, dev_labels)
    report["both"] = both
    tagger.threshold = float(both["chosen"])  # type: ignore[arg-type]
    meta = {
        "trained_on": ["TurkuONE train", "Turku NER train"],
        "tuned_on": ["TurkuONE dev", "Turku NER dev"],
        "licence": "CC BY-SA 4.0 (see ATTRIBUTION.md)",
        "max_over_redaction_dev": MAX_OVER_REDACTION,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    tagger.save(args.out, meta=meta)
    print(json.dumps(report, indent=1))
    if args.report:
        args.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
