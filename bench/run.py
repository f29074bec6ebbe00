"""Corpus-scale speed and memory of qualcode, against the spaCy baseline, in one run.

Builds interview-like corpora (speaker turns, ten invented cities, metadata, some workshop
memos) of the requested sizes from real Finnish sentences: UD Finnish-TDT (dev + test) and
Turku ONE (test + train), about 404,000 words, shuffled with a fixed seed. Up to that size no
sentence repeats, so the vocabulary grows as new speech makes it; above it the sentences recur
in a new order, and the output says how many words are recycled, how many distinct forms the
corpus has and how many of them first appear in its last tenth. For each size it runs the real
command line in a fresh project and measures, per command, words per second and the peak RSS
of the process:

    import, tag cold (empty analysis cache), the same cold tag without pseudonymising the
    review CSV (the difference is pseudonymisation's share of the tag), tag warm (re-run
    after a codebook edit; the median of three runs from the same state), train, matrix,
    report --all

qualcode's modules are compiled to bytecode first, as installing it does.

In the same run it measures the baseline a Python-savvy researcher would write: the spaCy
Finnish pipeline (nlp.pipe, all components) with a spaCy Matcher on LEMMA for the same
codebook keywords, over the same segments (capped at --baseline-words, since its rate does
not depend on corpus size), and prints qualcode's cold-tag speed-up against it, and
separately for the largest size made of non-recycled text.

    python bench/run.py --sizes 100k,1m [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "bench-data"
CODEBOOK = REPO / "codebooks" / "innovaatioekosysteemi.yaml"
QUALCODE = Path(sys.executable).parent / "qualcode"
CITIES = (
    "Alavaara",
    "Kivilahti",
    "Ruskola",
    "Hietaniemi",
    "Perälä",
    "Karhusaari",
    "Tammela-Uusi",
    "Sorvajoki",
    "Honkamäki",
    "Lehtovaara",
)
ROLES = (
    ("kaupungin edustaja", "kaupunki"),
    ("yrittäjä", "yritys"),
    ("yritysjohtaja", "yritys"),
    ("oppilaitoksen edustaja", "oppilaitos"),
    ("kehitysyhtiön edustaja", "kehitysyhtiö"),
)
WORD = re.compile(r"\w+(?:[-'’]\w+)*")
WARM_RUNS = 3


def sentences() -> list[str]:
    """Real Finnish sentences from the shared treebanks."""
    out: list[str] = []
    for name in ("fi_tdt-ud-dev.conllu", "fi_tdt-ud-test.conllu"):
        for line in (DATA / "ud-finnish-tdt" / name).read_text(encoding="utf-8").splitlines():
            if line.startswith("# text = "):
                out.append(line[9:].strip())
    # Turku ONE train (about 300k words) makes the pool big enough for 300k+ words of
    # corpus in which no sentence repeats, so a cold tag meets new forms as real speech does.
    for name in ("test.tsv", "train.tsv"):
        tokens: list[str] = []
        for line in (DATA / "turku-one" / name).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                if tokens:
                    out.append(_detokenise(tokens))
                tokens = []
            else:
                tokens.append(line.split("\t")[0])
        if tokens:
            out.append(_detokenise(tokens))
    # The same sentence in two files (the splits overlap little, but some lines are
    # boilerplate) would be recycled text; keep its first occurrence only.
    return [s for s in dict.fromkeys(out) if len(WORD.findall(s)) >= 3]


def _detokenise(tokens: list[str]) -> str:
    text = " ".join(tokens)
    return re.sub(r" ([.,:;!?)\]”])", r"\1", re.sub(r"([(\[“]) ", r"\1", text))


def build_corpus(folder: Path, words: int, pool: list[str], seed: int = 0) -> dict[str, int]:
    """Interviews of ~2,000 words (H:/V: turns) and workshop memos, with metadata.csv.

    Returns the words built, how many of them come from sentences used before (the pool ran
    out and was shuffled again), the distinct word forms, and how many forms are first met
    in the last tenth of the corpus (new speech keeps bringing new forms; recycled does not).
    """
    rng = random.Random(seed)
    order = list(range(len(pool)))
    folder.mkdir(parents=True)
    rows = []
    total = 0
    doc = 0
    cursor = len(order)
    passes = 0
    recycled = 0
    seen: set[str] = set()
    late_new = 0

    def next_sentence() -> str:
        nonlocal cursor, passes, recycled, late_new
        if cursor >= len(order):
            rng.shuffle(order)
            cursor = 0
            passes += 1
        cursor += 1
        sentence = pool[order[cursor - 1]]
        forms = WORD.findall(sentence)
        if passes > 1:
            recycled += len(forms)
        for form in forms:
            if form not in seen:
                seen.add(form)
                late_new += total >= words * 0.9
        return sentence

    while total < words:
        city = CITIES[doc % len(CITIES)]
        workshop = doc % 8 == 7
        parts: list[str] = []
        n = 0
        target = min(1200 if workshop else 2000, words - total + 50)
        while n < target:
            if workshop:
                item = " ".join(next_sentence() for _ in range(rng.randint(1, 3)))
                parts.append(f"- {item}" if rng.random() < 0.6 else item)
            else:
                question = next_sentence()
                answer = " ".join(next_sentence() for _ in range(rng.randint(3, 8)))
                parts.append(f"H: {question}\n\nV: {answer}")
                item = question + " " + answer
            n += len(WORD.findall(item))
        name = f"{city.lower()}-{doc:04d}.txt"
        (folder / name).write_text("\n\n".join(parts) + "\n", encoding="utf-8")
        role, org = ROLES[doc % len(ROLES)]
        rows.append(
            [
                name,
                city,
                "" if workshop else f"Henkilö {doc:04d}",
                "työpaja" if workshop else role,
                "monitoimijainen" if workshop else org,
                "workshop" if workshop else "interview",
                f"2026-0{3 + doc % 3}-1{doc % 9}",
            ]
        )
        total += n
        doc += 1
    with (folder / "metadata.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["file", "city", "participant", "role", "organisation_type", "kind", "date"]
        )
        writer.writerows(rows)
    return {
        "words": total,
        "recycled_words": recycled,
        "distinct_forms": len(seen),
        "forms_new_in_last_tenth": late_new,
    }


def run_command(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run one qualcode command: (seconds, peak RSS in MB of exactly that process, stdout)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen([str(QUALCODE), *args], stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"qualcode {' '.join(args)} failed:\n{err.read().decode()}")
        return seconds, usage.ru_maxrss / 1024, out.read().decode("utf-8")


def simulate_review(review_csv: Path, out: Path) -> None:
    """A deterministic 'researcher': accepts about two thirds of the suggestions."""
    with review_csv.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    for r in rows:
        r["decision"] = "y" if int(r["suggestion_id"][1:5], 16) % 3 else "n"
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)


def edited_codebook(folder: Path) -> Path:
    text = CODEBOOK.read_text(encoding="utf-8")
    anchor = "  - id: rahoitus"
    start = text.index(anchor)
    keywords = text.index("    keywords:", start)
    line_end = text.index("\n", keywords)
    line = text[keywords:line_end]
    if line.rstrip().endswith("]"):
        text = text[:line_end].rstrip("]") + ", tukiraha]" + text[line_end:]
    else:
        text = text[: line_end + 1] + "      - tukiraha\n" + text[line_end + 1 :]
    path = folder / "codebook-edited.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def baseline(segments_csv: Path, max_words: int) -> dict[str, float]:
    """spaCy Finnish pipeline (all components) + Matcher on LEMMA for the same keywords."""
    import spacy
    import yaml
    from spacy.matcher import Matcher

    book = yaml.safe_load(CODEBOOK.read_text(encoding="utf-8"))
    texts: list[str] = []
    words = 0
    with segments_csv.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["is_interviewer"] == "1":
                continue
            texts.append(row["text"])
            words += len(WORD.findall(row["text"]))
            if words >= max_words:
                break
    started = time.perf_counter()
    nlp = spacy.load("spacy_fi_experimental_web_md")
    matcher = Matcher(nlp.vocab)
    for code in book["codes"]:
        patterns = []
        for kw in code.get("keywords", []):
            word = kw if isinstance(kw, str) else kw["word"]
            patterns.append([{"LEMMA": word}])
        for phrase in code.get("phrases", []):
            text = phrase if isinstance(phrase, str) else phrase["words"]
            patterns.append([{"LEMMA": w} for w in text.split()])
        if patterns:
            matcher.add(code["id"], patterns)
    loaded = time.perf_counter()
    matches = 0
    for doc in nlp.pipe(texts, batch_size=64):
        matches += len(matcher(doc))
    seconds = time.perf_counter() - loaded
    return {
        "baseline_words": words,
        "baseline_seconds": round(seconds, 2),
        "baseline_load_seconds": round(loaded - started, 2),
        "baseline_wps": round(words / seconds),
        "baseline_matches": matches,
    }


def baseline_in_child(segments_csv: Path, max_words: int) -> dict[str, float]:
    """Run the baseline in its own process: loading spaCy here would inflate the peak RSS
    that later qualcode processes report (a forked child starts with the parent's pages)."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import run; "
        "print(json.dumps(run.baseline(run.Path(sys.argv[2]), int(sys.argv[3]))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent), str(segments_csv), str(max_words)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def compile_bytecode(env: dict[str, str]) -> None:
    """Compile qualcode's modules once, as installing it does. Without this, an environment
    with PYTHONDONTWRITEBYTECODE (this machine's) makes every command compile them again,
    which costs each command about 0.05 s of start-up that no installed copy pays."""
    import importlib.util

    env.pop("PYTHONDONTWRITEBYTECODE", None)
    spec = importlib.util.find_spec("qualcode")
    assert spec is not None and spec.submodule_search_locations
    package = spec.submodule_search_locations[0]
    subprocess.run([sys.executable, "-m", "compileall", "-q", package], check=True, env=env)


def parse_size(text: str) -> int:
    text = text.strip().lower()
    if text.endswith("m"):
        return int(float(text[:-1]) * 1_000_000)
    if text.endswith("k"):
        return int(float(text[:-1]) * 1_000)
    return int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100k,300k,1m")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--baseline-words",
        type=int,
        default=30_000,
        help="words for the spaCy baseline (its rate does not depend on size)",
    )
    parser.add_argument("--keep", type=Path, help="keep the corpora and projects here")
    args = parser.parse_args()
    if not (DATA / "ud-finnish-tdt").is_dir() or not (DATA / "turku-one").is_dir():
        print(f"skipped: {DATA} is not here (the shared bench data)", file=sys.stderr)
        return
    pool = sentences()
    work = args.keep or Path(tempfile.mkdtemp(prefix="qualcode-bench-"))
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    compile_bytecode(env)
    results = []
    base: dict[str, float] | None = None
    try:
        for size_text in args.sizes.split(","):
            size = parse_size(size_text)
            folder = work / size_text
            shutil.rmtree(folder, ignore_errors=True)
            corpus = folder / "corpus"
            built = build_corpus(corpus, size, pool)
            project = folder / "project"
            imported = folder / "project-imported"
            run_command(["init", str(project), "--codebook", str(CODEBOOK)], env)
            env["QUALCODE_PROJECT"] = str(project)
            entry: dict[str, object] = {"size": size_text}
            t, rss, _ = run_command(["import", str(corpus)], env)
            status = json.loads(run_command(["status", "--json"], env)[2])
            words = sum(int(r["words"]) for r in status)
            entry.update(
                words=words,
                import_seconds=round(t, 2),
                import_wps=round(words / t),
                import_rss_mb=round(rss),
            )
            shutil.copytree(project, imported)
            review = folder / "review.csv"
            t, rss, out = run_command(["tag", "--no-model", "--out", str(review)], env)
            tagged = int(re.search(r"\((\d+) words\)", out).group(1))  # type: ignore[union-attr]
            new_forms = int(re.search(r"(\d+) new word forms", out).group(1))  # type: ignore[union-attr]
            entry.update(
                tag_words=tagged,
                tag_cold_seconds=round(t, 2),
                tag_cold_wps=round(tagged / t),
                tag_cold_rss_mb=round(rss),
                tag_new_forms=new_forms,
            )
            # The same cold tag without pseudonymising the review CSV, from the same state:
            # the difference is what pseudonymisation costs the tag (target: at most 10 %).
            tagged_project = folder / "project-tagged-cold"
            project.rename(tagged_project)
            shutil.copytree(imported, project)
            plain, _, _ = run_command(
                ["tag", "--no-model", "--no-pseudonymise", "--out", str(folder / "plain.csv")],
                env,
            )
            shutil.rmtree(project)
            tagged_project.rename(project)
            shutil.rmtree(imported)
            entry.update(
                tag_cold_plain_seconds=round(plain, 2),
                pseudonymise_share=round(max(0.0, t - plain) / t, 3),
            )
            # Warm tag three times from the same state (the project is restored between
            # runs); the median is reported, since one short run is at the mercy of whatever
            # else the machine is doing.
            snapshot = folder / "project-tagged"
            shutil.copytree(project, snapshot)
            warm: list[tuple[float, float]] = []
            for attempt in range(WARM_RUNS):
                if attempt:
                    shutil.rmtree(project)
                    shutil.copytree(snapshot, project)
                t, rss, _ = run_command(
                    ["tag", "--no-model", "--codebook", str(edited_codebook(folder))], env
                )
                warm.append((t, rss))
            shutil.rmtree(snapshot)
            t = sorted(w[0] for w in warm)[len(warm) // 2]
            entry.update(
                tag_warm_seconds=round(t, 2),
                tag_warm_wps=round(tagged / t),
                tag_warm_rss_mb=round(max(w[1] for w in warm)),
                tag_warm_runs_seconds=[round(w[0], 2) for w in warm],
            )
            decisions = folder / "decisions.csv"
            simulate_review(review, decisions)
            t, rss, _ = run_command(["review", str(decisions)], env)
            entry.update(review_seconds=round(t, 2), review_rss_mb=round(rss))
            t, rss, _ = run_command(["train", "--folds", "3"], env)
            entry.update(train_seconds=round(t, 2), train_rss_mb=round(rss))
            t, rss, _ = run_command(["matrix", "--out", str(folder / "m.xlsx")], env)
            entry.update(matrix_seconds=round(t, 2), matrix_rss_mb=round(rss))
            t, rss, _ = run_command(
                ["report", "--all", "--out", str(folder / "reports"), "--date", "2026-11-27"], env
            )
            entry.update(report_seconds=round(t, 2), report_rss_mb=round(rss))
            # Every segment through the name registry (metadata participants at least).
            t, rss, _ = run_command(["export", "segments", "--out", str(folder / "s.csv")], env)
            entry.update(
                export_seconds=round(t, 2), export_wps=round(words / t), export_rss_mb=round(rss)
            )
            if base is None:
                segments = folder / "segments.csv"
                run_command(
                    ["export", "segments", "--no-pseudonymise", "--out", str(segments)], env
                )
                base = baseline_in_child(segments, args.baseline_words)
            entry.update(base)
            entry["speedup_vs_baseline"] = round(
                int(entry["tag_cold_wps"]) / float(base["baseline_wps"]), 1
            )  # type: ignore[arg-type]
            entry["peak_rss_mb"] = max(
                int(v)
                for k, v in entry.items()  # type: ignore[call-overload]
                if k.endswith("_rss_mb")
            )
            entry["corpus_words_built"] = built["words"]
            entry.update(
                corpus_recycled_words=built["recycled_words"],
                corpus_distinct_forms=built["distinct_forms"],
                corpus_forms_new_in_last_tenth=built["forms_new_in_last_tenth"],
                recycled="yes" if built["recycled_words"] else "no",
            )
            results.append(entry)
            env.pop("QUALCODE_PROJECT", None)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    machine = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "date": time.strftime("%Y-%m-%d"),
        "bytecode": "compiled before the runs",
        "tag_warm": f"median of {WARM_RUNS} runs",
    }
    pool_words = sum(len(WORD.findall(x)) for x in pool)
    fresh = [r for r in results if r["recycled"] == "no"]
    summary: dict[str, object] = {"pool_sentences": len(pool), "pool_words": pool_words}
    if fresh:
        largest = max(fresh, key=lambda r: int(r["words"]))  # type: ignore[call-overload]
        summary.update(
            largest_nonrecycled_size=largest["size"],
            nonrecycled_tag_cold_wps=largest["tag_cold_wps"],
            nonrecycled_speedup_vs_baseline=largest["speedup_vs_baseline"],
        )
    if args.json:
        print(json.dumps({"machine": machine, "summary": summary, "sizes": results}, indent=2))
        return
    columns = [
        ("size", "size"),
        ("words", "words"),
        ("recycled", "recycled"),
        ("corpus_distinct_forms", "forms"),
        ("tag_new_forms", "new forms"),
        ("corpus_forms_new_in_last_tenth", "new in last 10%"),
        ("import_wps", "import w/s"),
        ("tag_cold_wps", "tag cold w/s"),
        ("pseudonymise_share", "pseud. share"),
        ("tag_warm_wps", "tag warm w/s"),
        ("baseline_wps", "spaCy w/s"),
        ("speedup_vs_baseline", "speed-up"),
        ("train_seconds", "train s"),
        ("train_rss_mb", "train MB"),
        ("matrix_seconds", "matrix s"),
        ("report_seconds", "report s"),
        ("export_wps", "export w/s"),
        ("peak_rss_mb", "peak MB"),
    ]
    print(f"qualcode benchmark, {machine}")
    print("  ".join(f"{title:>12}" for _, title in columns))
    for r in results:
        print("  ".join(f"{r[key]!s:>12}" for key, _ in columns))
    print(
        f"sentence pool: {len(pool):,} sentences, {pool_words:,} words; a corpus above that "
        "size recycles sentences (its forms are all met before its last pass)"
    )
    if fresh:
        print(
            "cold tag on non-recycled text (largest such size, "
            f"{summary['largest_nonrecycled_size']}): {summary['nonrecycled_tag_cold_wps']:,}"
            " w/s = "
            f"{summary['nonrecycled_speedup_vs_baseline']}x the spaCy baseline"
        )
    for r in results:
        if r["recycled"] == "yes":
            print(
                f"{r['size']}: {r['corpus_recycled_words']:,} of {r['corpus_words_built']:,} "
                f"words are recycled sentences; {r['corpus_distinct_forms']:,} distinct forms, "
                f"{r['corpus_forms_new_in_last_tenth']:,} of them new in the last tenth"
            )


if __name__ == "__main__":
    main()
