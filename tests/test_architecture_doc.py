"""README's architecture table names every module under src/qualcode, and only those."""

from __future__ import annotations

import re

from conftest import REPO

PACKAGE = REPO / "src" / "qualcode"
ROW = re.compile(r"^\| `([^`]+)` \|(.+)\|$")


def documented_modules(readme: str) -> dict[str, str]:
    """First-column path -> job, from the table in the README's Development section."""
    section = readme.split("\n## Development", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        m = ROW.match(line)
        if m and m.group(1) != "module":
            rows[m.group(1)] = m.group(2).strip()
    return rows


def module_paths() -> set[str]:
    """Every module as the table names it: ``match.py``, ``store/rows.py``; a package's
    ``__init__.py`` as ``store/`` (the top-level one as ``__init__.py``)."""
    out = set()
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.endswith("/__init__.py"):
            rel = rel.removesuffix("__init__.py")
        out.add(rel)
    return out


def test_the_architecture_table_matches_the_tree() -> None:
    table = documented_modules((REPO / "README.md").read_text(encoding="utf-8"))
    modules = module_paths()
    missing = sorted(modules - table.keys())
    stale = sorted(table.keys() - modules)
    assert not missing, f"README Development table lacks: {', '.join(missing)}"
    assert not stale, f"README Development table names modules that do not exist: {stale}"
    assert all(job for job in table.values()), "every module has its one job written down"


def test_the_checker_reads_rows_and_packages() -> None:
    readme = (
        "# x\n\n## Development\n\n| module | one job |\n|---|---|\n"
        "| `store/` | the facade |\n| `store/rows.py` | typed rows |\n\n## Next\n| `no.py` | x |\n"
    )
    assert documented_modules(readme) == {"store/": "the facade", "store/rows.py": "typed rows"}
    assert {"store/", "store/rows.py", "__init__.py", "match.py"} <= module_paths()
