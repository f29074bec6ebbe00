"""Re-tagging re-matches only what changed (codes whose rules changed, segments not matched
before), and still stores exactly what a full tag from scratch stores."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import REPO, SAMPLE
from qualcode.project import Project, init_project, open_project
from qualcode.workflow import TagReport, code_segment, import_paths, tag, uncode_segment

CODEBOOK = REPO / "codebooks" / "innovaatioekosysteemi.yaml"
Edit = Callable[[dict[str, Any]], None]


def _code(book: dict[str, Any], code_id: str) -> dict[str, Any]:
    return next(c for c in book["codes"] if c["id"] == code_id)


def add_keywords(book: dict[str, Any]) -> None:
    _code(book, "rahoitus")["keywords"].append("tukiraha")  # the edit bench/run.py makes
    _code(book, "seutuyhteistyo")["keywords"].append("kaupunki")  # many new matches


def remove_keyword(book: dict[str, Any]) -> None:
    _code(book, "rahoitus")["keywords"].pop(0)


def change_phrases(book: dict[str, Any]) -> None:
    phrases = _code(book, "kypsyys_kaynnistymassa")["phrases"]
    phrases[0] = {"words": "verkosto käynnistyä", "gap": 6}
    phrases[5] = "tyhjä tila"


def add_vetoes(book: dict[str, Any]) -> None:
    _code(book, "seutuyhteistyo")["exclude_keywords"] = ["yritys"]
    _code(book, "rahoitus")["exclude_phrases"] = ["oma raha"]


def min_hits(book: dict[str, Any]) -> None:
    _code(book, "seutuyhteistyo")["min_hits"] = 2


def rename_code(book: dict[str, Any]) -> None:
    _code(book, "rahoitus")["id"] = "rahoitus_ja_resurssit"


def delete_code(book: dict[str, Any]) -> None:
    book["codes"].remove(_code(book, "rahoitus"))


EDITS: dict[str, Edit] = {
    "add keyword": add_keywords,
    "remove keyword": remove_keyword,
    "change phrases": change_phrases,
    "veto": add_vetoes,
    "min_hits": min_hits,
    "rename code": rename_code,
    "delete code": delete_code,
}


def edited(folder: Path, *edits: Edit) -> Path:
    book = yaml.safe_load(CODEBOOK.read_text(encoding="utf-8"))
    for edit in edits:
        edit(book)
    name = "-".join(e.__name__ for e in edits) or "original"
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(book, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def stored(root: Path) -> list[tuple[object, ...]]:
    """The suggestions and codings, without their timestamps."""
    conn = sqlite3.connect(root / "qualcode.db")
    try:
        return conn.execute(
            """SELECT 'suggestion', id, segment_id, code_id, source, score, evidence,
                      codebook_digest, status, coder, model_score FROM suggestions
               UNION ALL
               SELECT 'coding', id, segment_id, code_id, source, score, NULL, NULL, status,
                      coder, NULL FROM codings
               ORDER BY 1, 2"""
        ).fetchall()
    finally:
        conn.close()


def run_tag(root: Path, codebook: Path, **options: Any) -> TagReport:
    project = open_project(root)
    try:
        return tag(project, codebook_path=codebook, use_model=False, **options)
    finally:
        project.close()


def full_tag(root: Path, copy: Path, codebook: Path, **options: Any) -> TagReport:
    """Tag a copy of the project as if nothing had been matched before."""
    shutil.copytree(root, copy)
    conn = sqlite3.connect(copy / "qualcode.db")
    with conn:
        for table in ("tag_matches", "tag_segments", "tag_rules", "tag_index"):
            conn.execute(f"DELETE FROM {table}")
    conn.close()
    return run_tag(copy, codebook, **options)


def same_report(incremental: TagReport, full: TagReport) -> None:
    """Both runs report the same, except the new forms the full run found cached."""
    assert asdict(replace(incremental, cached_forms=0)) == asdict(replace(full, cached_forms=0))


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("base") / "p"
    init_project(root, coder="anna")
    project = open_project(root)
    try:
        import_paths(project, [SAMPLE])
    finally:
        project.close()
    return root


@pytest.mark.parametrize("name", sorted(EDITS))
def test_retag_after_an_edit_equals_a_fresh_tag(imported: Path, tmp_path: Path, name: str) -> None:
    book = edited(tmp_path, EDITS[name])
    root = tmp_path / "incremental"
    shutil.copytree(imported, root)
    run_tag(root, CODEBOOK)
    full = full_tag(root, tmp_path / "full", book)
    report = run_tag(root, book)
    same_report(report, full)
    assert report.updated > 0
    fresh = tmp_path / "fresh"
    shutil.copytree(imported, fresh)
    run_tag(fresh, book)
    assert stored(root) == stored(fresh) == stored(tmp_path / "full")


def _decide(project: Project) -> None:
    """Accept and reject some suggestions, code a few segments by hand, uncode one."""
    rows = project.store.conn.execute(
        "SELECT segment_id, code_id FROM suggestions WHERE status = 'pending' ORDER BY id"
    ).fetchall()
    for segment_id, code_id in rows[:40:4]:
        code_segment(project, segment_id, code_id)
    for segment_id, code_id in rows[1:40:4]:
        uncode_segment(project, segment_id, code_id)
    segments = [r[0] for r in project.store.conn.execute("SELECT id FROM segments ORDER BY id")]
    # Segments that have no suggestion of these codes yet; one of the codings is taken back,
    # so a later tag may propose it again.
    code_segment(project, segments[3], "rahoitus")
    code_segment(project, segments[5], "seutuyhteistyo")
    code_segment(project, segments[7], "seutuyhteistyo")
    uncode_segment(project, segments[7], "seutuyhteistyo")


def test_a_series_of_runs_with_decisions_and_scopes_equals_full_tags(
    imported: Path, tmp_path: Path
) -> None:
    root = tmp_path / "incremental"
    shutil.copytree(imported, root)
    run_tag(root, CODEBOOK, city="Lounajoki")
    project = open_project(root)
    try:
        _decide(project)
    finally:
        project.close()
    steps: list[tuple[Path, dict[str, Any]]] = [
        (edited(tmp_path, add_keywords), {}),
        (edited(tmp_path, add_keywords, add_vetoes), {"city": "Saarvala"}),
        (edited(tmp_path, add_keywords, add_vetoes), {"include_interviewer": True}),
        (edited(tmp_path, change_phrases, rename_code), {}),
        (edited(tmp_path, change_phrases, rename_code), {}),  # nothing changed
        (edited(tmp_path, change_phrases, delete_code, min_hits), {"city": "Lounajoki"}),
        (CODEBOOK, {}),
    ]
    for i, (book, options) in enumerate(steps):
        full = full_tag(root, tmp_path / f"full{i}", book, **options)
        report = run_tag(root, book, **options)
        same_report(report, full)
        assert stored(root) == stored(tmp_path / f"full{i}"), (i, book.name, options)
        if i == 0:
            project = open_project(root)
            try:  # decisions between runs, on codes whose rules do not change next
                _decide(project)
            finally:
                project.close()


def test_replaced_document_is_matched_again(imported: Path, tmp_path: Path) -> None:
    root = tmp_path / "incremental"
    shutil.copytree(imported, root)
    run_tag(root, CODEBOOK)
    folder = tmp_path / "changed"
    folder.mkdir()
    original = SAMPLE / "lounajoki-01-kaupunki.txt"
    changed = folder / original.name
    changed.write_text(
        original.read_text(encoding="utf-8").replace(
            "yhteistyö", "seudullinen yhteistyö ja rahoitus"
        ),
        encoding="utf-8",
    )
    project = open_project(root)
    try:
        import_paths(project, [changed], city="Lounajoki", replace_changed=True)
    finally:
        project.close()
    full = full_tag(root, tmp_path / "full", CODEBOOK)
    report = run_tag(root, CODEBOOK)
    same_report(report, full)
    assert report.new > 0
    assert stored(root) == stored(tmp_path / "full")


def test_only_changed_codes_and_new_segments_are_matched(
    imported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qualcode.workflow import tagging

    calls: list[tuple[set[str], int]] = []
    real = tagging.match_indexed

    def spy(arrays: Any, compiled: Any, *args: Any) -> Any:
        calls.append((set(compiled.min_hits), len(arrays.segment_ids)))
        return real(arrays, compiled, *args)

    monkeypatch.setattr(tagging, "match_indexed", spy)
    root = tmp_path / "p"
    shutil.copytree(imported, root)
    first = run_tag(root, CODEBOOK, city="Lounajoki")
    every_code = calls[0][0]
    assert calls == [(every_code, first.segments)] and len(every_code) > 40
    calls.clear()
    run_tag(root, CODEBOOK, city="Lounajoki")
    assert calls == []
    run_tag(root, edited(tmp_path, add_keywords), city="Lounajoki")
    assert calls == [({"rahoitus", "seutuyhteistyo"}, first.segments)]
    calls.clear()
    everything = run_tag(root, edited(tmp_path, add_keywords))
    assert calls == [(every_code, everything.segments - first.segments)]
