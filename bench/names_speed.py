"""Speed of ``qualcode names detect`` (the library call) on an interview-like corpus.

    python bench/names_speed.py --words 1000000 [--json]

The corpus is made as ``bench/run.py`` makes it (real Finnish sentences from UD Finnish-TDT and
TurkuONE test in interview turns, fixed seed). Words per second count the tokens detected on.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from run import build_corpus, sentences  # noqa: E402

from qualcode.match import tokenize  # noqa: E402
from qualcode.nametagger import default_tagger  # noqa: E402
from qualcode.pseudonymise import detect_names  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--ner", action="store_true", help="the old way: spaCy NER over all")
    args = parser.parse_args()
    pool = sentences()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "corpus"
        build_corpus(folder, args.words, pool)
        texts = [p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.txt"))]
    words = sum(len(tokenize(t)) for t in texts)
    started = time.perf_counter()
    cpu = time.process_time()
    tagger = None if args.ner else default_tagger()
    found = detect_names(texts, ner=args.ner, tagger=tagger)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    result = {
        "documents": len(texts),
        "words": words,
        "seconds": round(seconds, 2),
        "words_per_s": round(words / seconds),
        # The machine may be shared: CPU time says what the code costs.
        "cpu_seconds": round(cpu_seconds, 2),
        "words_per_cpu_s": round(words / cpu_seconds),
        "candidates": len(found),
        "mode": "spaCy NER + rules" if args.ner else "tagger + rules",
    }
    print(json.dumps(result, indent=2) if args.json else result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
