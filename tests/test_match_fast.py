"""The indexed fast path of 'tag' gives exactly what the straightforward matcher gives."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest

from conftest import REPO, SAMPLE
from qualcode.analysis.tokens import tokenize
from qualcode.codebook import load_codebook
from qualcode.match import compile_codebook, match_tokens
from qualcode.project import init_project, open_project
from qualcode.workflow import import_paths, tag
from qualcode.workflow.tagging import analyse_forms, resolve_analyzer

CODEBOOK = REPO / "codebooks" / "innovaatioekosysteemi.yaml"
UD = REPO.parent / "shared" / "bench-data" / "ud-finnish-tdt" / "fi_tdt-ud-dev.conllu"


def reference(
    project_dir: Path, codebook: Path = CODEBOOK
) -> dict[tuple[str, str], list[list[object]]]:
    """Tokenise every segment again and run the plain per-token matcher."""
    project = open_project(project_dir)
    try:
        segments = project.store.reads.segments_to_tag()
        tokens = [tokenize(s.text, s.start) for s in segments]
        analyzer, _ = resolve_analyzer(project)
        with project.store.transaction():
            keys, _ = analyse_forms(project, analyzer, (t.form for ts in tokens for t in ts))
        compiled = compile_codebook(load_codebook(codebook))
        out = {}
        for s, ts in zip(segments, tokens, strict=True):
            for m in match_tokens(s.segment_id, ts, keys, compiled):
                out[(s.segment_id, m.code_id)] = [
                    [e.form, e.start, e.end, e.rule] for e in m.evidence
                ]
        return out
    finally:
        project.close()


def fast(project_dir: Path) -> dict[tuple[str, str], list[list[object]]]:
    conn = sqlite3.connect(project_dir / "qualcode.db")
    try:
        return {
            (s, c): json.loads(e)
            for s, c, e in conn.execute(
                "SELECT segment_id, code_id, evidence FROM suggestions WHERE source = 'rule'"
            )
        }
    finally:
        conn.close()


def test_fast_path_equals_reference(tmp_path: Path) -> None:
    root = tmp_path / "p"
    init_project(root, codebook=CODEBOOK)
    sources = [SAMPLE]
    if UD.is_file():  # a few thousand real sentences from the treebank as extra segments
        sentences = [
            line[9:]
            for line in UD.read_text(encoding="utf-8").splitlines()
            if line.startswith("# text = ")
        ]
        random.Random(0).shuffle(sentences)
        memo = tmp_path / "puhe.txt"
        memo.write_text("\n\n".join(sentences[:1200]), encoding="utf-8")
        sources.append(memo)
    project = open_project(root)
    try:
        import_paths(project, [SAMPLE])
        if len(sources) > 1:
            import_paths(project, [sources[1]], city="Testilä")
        tag(project, codebook_path=CODEBOOK, use_model=False)
    finally:
        project.close()
    got, want = fast(root), reference(root)
    assert len(want) > 900
    assert got == want
    # A second run (warm: every segment already indexed) gives the same again.
    project = open_project(root)
    try:
        report = tag(project, codebook_path=CODEBOOK, use_model=False)
    finally:
        project.close()
    assert report.new == 0 and report.updated == 0 and report.new_forms == 0
    assert fast(root) == want


EXTRA = {
    "keyword": "    keywords: [yritys, {word: kaupunki, compounds: false}]\n",
    "phrase": '    phrases: [{words: "kaupunki yritys", gap: 4}, "pysyvä rakenne"]\n',
    "veto": "    keywords: [yritys]\n    exclude_keywords: [hanke]\n"
    '    exclude_phrases: ["iso yritys"]\n',
}


@pytest.mark.parametrize("edit", sorted(EXTRA))
def test_codebook_edits_match_reference(tmp_path: Path, edit: str) -> None:
    root = tmp_path / "p"
    init_project(root, codebook=CODEBOOK)
    project = open_project(root)
    try:
        import_paths(project, [SAMPLE])
        tag(project, codebook_path=CODEBOOK, use_model=False)
    finally:
        project.close()
    edited = tmp_path / "cb.yaml"
    edited.write_text(
        CODEBOOK.read_text(encoding="utf-8").rstrip("\n")
        + "\n  - id: testikoodi\n    label: Testi\n    parent: yhteistyo\n"
        + EXTRA[edit],
        encoding="utf-8",
    )
    project = open_project(root)
    try:
        tag(project, codebook_path=edited, use_model=False)
    finally:
        project.close()
    got = fast(root)
    assert got == reference(root, edited)
    assert any(code == "testikoodi" for _, code in got)
