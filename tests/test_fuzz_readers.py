"""Fuzz every reader through the CLI: random bytes and mutated real files.

The property (issue 13): whatever the bytes, a command exits 0, 1 or 2 without a traceback,
exit 1 prints an ``Error:`` line, and a command that fails leaves qualcode.db exactly as it
was. Seeds are the sample transcripts and metadata.csv, the shipped codebook, a project's
qualcode.toml, and a review CSV, names CSV, .qdpx and .qdc that the CLI itself writes from a
small project; test_seeds_are_accepted checks that every seed itself is valid input, so the
mutations start from files that reach the deep end of each reader.

Examples are derandomised so CI is deterministic; QUALCODE_FUZZ_EXAMPLES=N runs N examples per
test for a longer local search. A failing input is saved under
``$TMPDIR/qualcode-fuzz-failures/`` and described in the assertion message.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz_helpers import (
    Fuzzed,
    Seed,
    check_result,
    check_store_unchanged,
    csv_inputs,
    db_dump,
    examples,
    run_cli,
    text_inputs,
    toml_inputs,
    xml_inputs,
    zip_inputs,
)

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "transcripts_sample"
CODEBOOK = REPO / "codebooks" / "innovaatioekosysteemi.yaml"


def fuzz_settings(ci_examples: int) -> settings:
    return settings(
        max_examples=examples(ci_examples),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@dataclass(frozen=True)
class Seeds:
    root: Path
    base: Path  # a project with two documents, names, suggestions and accepted codings
    empty: Path  # a freshly initialised project
    meta_dir: Path  # copies of the sample transcripts, for metadata.csv mutations
    review_csv: Seed
    names_csv: Seed
    qdpx: Seed
    qdc: Seed
    xlsx: Seed
    base_dump: list[tuple[object, ...]]
    empty_dump: list[tuple[object, ...]]

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Failure reports print the test's arguments; the store dumps are thousands of rows.
        printer.text(f"Seeds({self.root})")


def _ok(*argv: object) -> str:
    result = run_cli([str(a) for a in argv])
    assert result.exit_code == 0, (argv, result.output, result.exception)
    return result.output


def _decide(review: bytes, decisions: dict[int, tuple[str, str]], keep: range) -> bytes:
    """Fill decision/new_code cells like a researcher would, keeping only rows ``keep``."""
    rows = list(csv.reader(io.StringIO(review.decode("utf-8-sig"), newline=""), delimiter=";"))
    header = rows[0]
    body = [rows[i] for i in keep if i < len(rows)]
    for i, (decision, new_code) in decisions.items():
        body[i][header.index("decision")] = decision
        body[i][header.index("new_code")] = new_code
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows([header, *body])
    return out.getvalue().encode("utf-8-sig")


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeds]:
    root = tmp_path_factory.mktemp("fuzz")
    base, empty = root / "base", root / "empty"
    _ok("init", empty, "--coder", "fuzz")
    _ok("init", base, "--coder", "fuzz", "--codebook", CODEBOOK)
    docs = [SAMPLE / "lounajoki-03-yritys.vtt", SAMPLE / "pohjanlinna-tyopaja.txt"]
    _ok("--project", base, "import", "--meta", SAMPLE / "metadata.csv", *docs)
    # Names before tagging, so that the review CSV's pseudonymised texts stay current.
    _ok("--project", base, "names", "detect")
    _ok("--project", base, "tag", "--out", root / "review-full.csv")
    full = (root / "review-full.csv").read_bytes()
    # Accepted codings for the .qdpx; the fuzzed review file is a separate, undecided part.
    accepted = _decide(full, {i: ("y", "") for i in range(8)}, range(20, 28))
    (root / "accepted.csv").write_bytes(accepted)
    _ok("--project", base, "review", root / "accepted.csv")
    review = _decide(
        full, {0: ("y", ""), 1: ("n", ""), 2: ("", "yhteistyo"), 4: ("y", "")}, range(1, 11)
    )
    _ok("--project", base, "names", "export", "--out", root / "names.csv")
    _ok("--project", base, "export", "qdpx", root / "project.qdpx")
    _ok("--project", base, "export", "qdc", root / "codebook.qdc")
    _ok("--project", base, "matrix", "--out", root / "matrix.xlsx")
    meta_dir = root / "meta"
    shutil.copytree(SAMPLE, meta_dir)
    yield Seeds(
        root=root,
        base=base,
        empty=empty,
        meta_dir=meta_dir,
        review_csv=Seed("review.csv from 'tag --out'", review),
        names_csv=Seed("names.csv from 'names export'", (root / "names.csv").read_bytes()),
        qdpx=Seed("project.qdpx from 'export qdpx'", (root / "project.qdpx").read_bytes()),
        qdc=Seed("codebook.qdc from 'export qdc'", (root / "codebook.qdc").read_bytes()),
        xlsx=Seed("matrix.xlsx from 'matrix --out'", (root / "matrix.xlsx").read_bytes()),
        base_dump=db_dump(base),
        empty_dump=db_dump(empty),
    )


class Scratch:
    """A per-example folder with a copy of a project; removed afterwards."""

    def __init__(self, seeds: Seeds, project: Path) -> None:
        self.dir = Path(tempfile.mkdtemp(dir=seeds.root))
        self.project = self.dir / "project"
        shutil.copytree(project, self.project)

    def write(self, name: str, fuzzed: Fuzzed) -> Path:
        path = self.dir / name
        path.write_bytes(fuzzed.data)
        return path

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _run_on_copy(
    seeds: Seeds,
    fuzzed: Fuzzed,
    file_name: str,
    command: list[str],
    *,
    stem: str,
    empty: bool = False,
) -> None:
    """Run ``command FILE`` on a copy of a project; check the property and the store."""
    with Scratch(seeds, seeds.empty if empty else seeds.base) as scratch:
        path = scratch.write(file_name, fuzzed)
        argv = ["--project", str(scratch.project), *[a.replace("{}", str(path)) for a in command]]
        result = run_cli(argv)
        check_result(result, fuzzed, argv, stem=stem)
        before = seeds.empty_dump if empty else seeds.base_dump
        check_store_unchanged(result, before, scratch.project, fuzzed, stem)


def test_seeds_are_accepted(seeds: Seeds) -> None:
    cases: list[tuple[Seed, str, list[str], bool]] = [
        (
            Seed("txt", (SAMPLE / TRANSCRIPTS["txt"][0]).read_bytes()),
            "a.txt",
            ["import", "{}", "--city", "Testilä"],
            False,
        ),
        (
            Seed("vtt", (SAMPLE / TRANSCRIPTS["vtt"][0]).read_bytes()),
            "a.vtt",
            ["import", "{}", "--city", "Testilä"],
            False,
        ),
        (
            Seed("srt", (SAMPLE / TRANSCRIPTS["srt"][0]).read_bytes()),
            "a.srt",
            ["import", "{}", "--city", "Testilä"],
            False,
        ),
        (DOCX, "a.docx", ["import", "{}", "--city", "Testilä"], False),
        (YAML, "codebook.yaml", ["codebook", "check", "{}"], False),
        (seeds.qdc, "codebook.qdc", ["codebook", "import-qdc", "{}", "--out", "{}.yaml"], False),
        (seeds.review_csv, "review.csv", ["review", "{}"], False),
        (seeds.names_csv, "names.csv", ["names", "import", "{}"], False),
        (seeds.qdpx, "project.qdpx", ["import", "qdpx", "{}", "--city", "Testilä"], True),
    ]
    for seed, name, command, empty in cases:
        with Scratch(seeds, seeds.empty if empty else seeds.base) as scratch:
            path = scratch.write(name, Fuzzed(seed.data, seed.name))
            argv = [
                "--project",
                str(scratch.project),
                *[a.replace("{}", str(path)) for a in command],
            ]
            result = run_cli(argv)
            assert (result.exit_code, result.exception) == (0, None), (seed, result.output)
    with Scratch(seeds, seeds.base) as scratch:
        meta, target = SAMPLE / "metadata.csv", SAMPLE / "saarvala-tyopaja.md"
        argv = ["--project", str(scratch.project), "import", "--meta", str(meta), str(target)]
        result = run_cli(argv)
        assert (result.exit_code, result.exception) == (0, None), result.output
        assert "imported  saarvala-tyopaja.md" in result.output


# --- transcripts -------------------------------------------------------------------------------

TRANSCRIPTS = {
    "txt": ("ilvesvaara-02-matkailuyrittaja.txt", ""),
    "md": ("saarvala-tyopaja.md", ""),
    "vtt": ("lounajoki-03-yritys.vtt", "subtitles"),
    "srt": ("pohjanlinna-02-kehitysyhtio.srt", "subtitles"),
}


@pytest.mark.parametrize("fmt", list(TRANSCRIPTS))
@fuzz_settings(40)
@given(data=st.data())
def test_import_text_transcripts_fail_cleanly(seeds: Seeds, fmt: str, data: st.DataObject) -> None:
    name, extra = TRANSCRIPTS[fmt]
    seed = Seed(name, (SAMPLE / name).read_bytes())
    fuzzed = data.draw(text_inputs(seed, extra), label="input")
    _run_on_copy(
        seeds, fuzzed, f"fuzz.{fmt}", ["import", "{}", "--city", "Testilä"], stem=f"import-{fmt}"
    )


DOCX = Seed("saarvala-03-lukio.docx", (SAMPLE / "saarvala-03-lukio.docx").read_bytes())


@fuzz_settings(50)
@given(data=st.data())
def test_import_docx_fails_cleanly(seeds: Seeds, data: st.DataObject) -> None:
    fuzzed = data.draw(zip_inputs(DOCX), label="input")
    _run_on_copy(
        seeds, fuzzed, "fuzz.docx", ["import", "{}", "--city", "Testilä"], stem="import-docx"
    )


METADATA = Seed("metadata.csv", (SAMPLE / "metadata.csv").read_bytes())


@fuzz_settings(50)
@given(data=st.data())
def test_import_metadata_csv_fails_cleanly(seeds: Seeds, data: st.DataObject) -> None:
    fuzzed = data.draw(csv_inputs(METADATA, ","), label="input")
    # The rows name files next to metadata.csv, so it is written among the transcripts.
    meta = seeds.meta_dir / "metadata.csv"
    meta.write_bytes(fuzzed.data)
    target = seeds.meta_dir / "saarvala-tyopaja.md"
    with Scratch(seeds, seeds.base) as scratch:
        argv = ["--project", str(scratch.project), "import", "--meta", str(meta), str(target)]
        result = run_cli(argv)
        check_result(result, fuzzed, argv, stem="import-metadata")
        check_store_unchanged(result, seeds.base_dump, scratch.project, fuzzed, "metadata")


# --- codebooks ---------------------------------------------------------------------------------

YAML = Seed(CODEBOOK.name, CODEBOOK.read_bytes())


@fuzz_settings(50)
@given(data=st.data(), flags=st.sampled_from([(), ("--no-lemmas",)]))
def test_codebook_check_fails_cleanly(
    seeds: Seeds, data: st.DataObject, flags: tuple[str, ...]
) -> None:
    fuzzed = data.draw(text_inputs(YAML, "yaml"), label="input")
    _run_on_copy(
        seeds, fuzzed, "codebook.yaml", ["codebook", "check", *flags, "{}"], stem="codebook"
    )


@fuzz_settings(40)
@given(data=st.data())
def test_codebook_import_qdc_fails_cleanly(seeds: Seeds, data: st.DataObject) -> None:
    fuzzed = data.draw(xml_inputs(seeds.qdc), label="input")
    with Scratch(seeds, seeds.base) as scratch:
        path = scratch.write("codebook.qdc", fuzzed)
        out = scratch.dir / "out" / "tuotu.yaml"
        out.parent.mkdir()
        argv = ["--project", str(scratch.project), "codebook", "import-qdc", str(path)]
        argv += ["--out", str(out)]
        result = run_cli(argv)
        check_result(result, fuzzed, argv, stem="import-qdc")
        check_store_unchanged(result, seeds.base_dump, scratch.project, fuzzed, "qdc")
        if result.exit_code != 0:
            # Atomic writes: a refused codebook leaves neither the file nor a temporary.
            assert list(out.parent.iterdir()) == [], (fuzzed, result.output)


# --- review and names CSVs ---------------------------------------------------------------------


@fuzz_settings(60)
@given(data=st.data(), flags=st.sampled_from([(), ("--skip-invalid",)]))
def test_review_csv_fails_cleanly(
    seeds: Seeds, data: st.DataObject, flags: tuple[str, ...]
) -> None:
    fuzzed = data.draw(csv_inputs(seeds.review_csv, ";"), label="input")
    _run_on_copy(seeds, fuzzed, "review.csv", ["review", *flags, "{}"], stem="review")


@fuzz_settings(60)
@given(data=st.data())
def test_names_import_fails_cleanly(seeds: Seeds, data: st.DataObject) -> None:
    fuzzed = data.draw(csv_inputs(seeds.names_csv, ";"), label="input")
    _run_on_copy(seeds, fuzzed, "names.csv", ["names", "import", "{}"], stem="names-import")


# --- REFI-QDA projects -------------------------------------------------------------------------


@fuzz_settings(60)
@given(data=st.data())
def test_import_qdpx_fails_cleanly(seeds: Seeds, data: st.DataObject) -> None:
    fuzzed = data.draw(zip_inputs(seeds.qdpx), label="input")
    _run_on_copy(
        seeds,
        fuzzed,
        "project.qdpx",
        ["import", "qdpx", "{}", "--city", "Testilä"],
        stem="import-qdpx",
        empty=True,
    )


# --- project settings: qualcode.toml feeds segmentation, review CSVs and analysis --------------

TRANSCRIPT = SAMPLE / "ilvesvaara-02-matkailuyrittaja.txt"


@fuzz_settings(40)
@given(data=st.data())
def test_project_settings_fail_cleanly(seeds: Seeds, data: st.DataObject) -> None:
    seed = Seed("qualcode.toml", (seeds.empty / "qualcode.toml").read_bytes())
    fuzzed = data.draw(toml_inputs(seed), label="input")
    with Scratch(seeds, seeds.empty) as scratch:
        (scratch.project / "qualcode.toml").write_bytes(fuzzed.data)
        # Import segments with the settings' speaker patterns and max_words.
        argv = ["--project", str(scratch.project), "import", str(TRANSCRIPT), "--city", "Testilä"]
        result = run_cli(argv)
        check_result(result, fuzzed, argv, stem="settings")
        check_store_unchanged(result, seeds.empty_dump, scratch.project, fuzzed, "settings")


# --- names check reads exported files of several kinds (.docx, .qdpx, .xlsx, CSV) -----------------------------------------

REPORT = Seed(
    "lounajoki-02-ammattiopisto.docx", (SAMPLE / "lounajoki-02-ammattiopisto.docx").read_bytes()
)


@fuzz_settings(30)
@given(data=st.data(), flags=st.sampled_from([(), ("--unknown",)]))
def test_names_check_fails_cleanly(
    seeds: Seeds, data: st.DataObject, flags: tuple[str, ...]
) -> None:
    name, fuzzed = data.draw(
        st.one_of(
            zip_inputs(REPORT).map(lambda f: ("report.docx", f)),
            zip_inputs(seeds.qdpx).map(lambda f: ("project.qdpx", f)),
            zip_inputs(seeds.xlsx).map(lambda f: ("matrix.xlsx", f)),
            csv_inputs(seeds.names_csv, ";").map(lambda f: ("segments.csv", f)),
        ),
        label="input",
    )
    with Scratch(seeds, seeds.base) as scratch:
        path = scratch.write(name, fuzzed)
        argv = ["--project", str(scratch.project), "names", "check", *flags, str(path)]
        result = run_cli(argv)
        # Exit 1 also means "names found" here, so an Error line is not required.
        check_result(result, fuzzed, argv, stem="names-check", error_line=False)
        check_store_unchanged(result, seeds.base_dump, scratch.project, fuzzed, "check")
