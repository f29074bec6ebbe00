"""The store package's layout rules (STYLE.md 5): every store method hands out typed rows, and
no SQL lives outside src/qualcode/store/."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import qualcode.store

SRC = Path(qualcode.store.__file__).resolve().parents[1]  # src/qualcode
STORE = SRC / "store"

# The one seam between sqlite3's untyped rows and the aggregate modules, which type each row.
RAW_ROW_SEAM = {"qualcode.store.connection.Database.select_in"}

_SQL = re.compile(
    r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM"
    r"|CREATE\s+(TEMP\s+)?(TABLE|VIEW|INDEX|TRIGGER)|DROP\s+(TABLE|VIEW)|PRAGMA\s)",
    re.DOTALL,
)
_EXECUTE = {"execute", "executemany", "executescript"}


def _store_modules() -> list[ModuleType]:
    names = [m.name for m in pkgutil.iter_modules(qualcode.store.__path__)]
    return [qualcode.store, *(importlib.import_module(f"qualcode.store.{n}") for n in names)]


def _functions() -> Iterator[tuple[str, object]]:
    """(qualified name, function) of every function and method defined in the store package."""
    for module in _store_modules():
        for name, obj in vars(module).items():
            if getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj):
                yield f"{module.__name__}.{name}", obj
            elif inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if attr.startswith("__"):  # dataclass-made dunders, __init__
                        continue
                    if issubclass(obj, tuple) and attr.startswith("_"):  # NamedTuple's own _make
                        continue
                    func = member.fget if isinstance(member, property) else member
                    if isinstance(func, classmethod | staticmethod):
                        func = func.__func__
                    if inspect.isfunction(func):
                        yield f"{module.__name__}.{name}.{attr}", func


def _untyped(tp: object) -> str | None:
    """What makes a return annotation an untyped row, or None if it is typed."""
    if tp is Any:
        return "Any"
    if tp is object:
        return "object"
    if tp is tuple:
        return "a bare tuple"
    args = typing.get_args(tp)
    is_variadic = typing.get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis
    if is_variadic and (args[0] is Any or args[0] is object):
        return f"tuple[{getattr(args[0], '__name__', args[0])}, ...]"
    for arg in args:
        if arg is not Ellipsis and arg is not object and (found := _untyped(arg)):
            return found
    return None


def test_the_checker_sees_untyped_rows() -> None:
    # The layout test below is only as good as this check: prove it catches each kind.
    assert _untyped(Any) == "Any"
    assert _untyped(list[tuple[Any, ...]]) == "tuple[Any, ...]"
    assert _untyped(Iterator[tuple[object, ...]]) == "tuple[object, ...]"
    assert _untyped(dict[str, tuple]) == "a bare tuple"
    assert _untyped(tuple[str, int] | None) is None
    assert _untyped(list[tuple[str, list[object]]]) is None


def test_store_package_is_split_into_aggregate_modules() -> None:
    modules = {m.name for m in pkgutil.iter_modules(qualcode.store.__path__)}
    assert modules >= {
        "analysis",
        "codes",
        "connection",
        "decisions",
        "documents",
        "migrations",
        "models",
        "names",
        "reads",
        "rows",
        "tag_run",
    }
    assert not (SRC / "store.py").exists() and not (SRC / "migrations.py").exists()


def test_no_store_method_returns_an_untyped_row() -> None:
    checked = 0
    problems = []
    for name, func in _functions():
        hints = typing.get_type_hints(func)
        assert "return" in hints, f"{name} has no return annotation"
        checked += 1
        if name in RAW_ROW_SEAM:
            continue
        if found := _untyped(hints["return"]):
            problems.append(f"{name} returns {found}")
    assert problems == []
    assert checked > 80  # every aggregate's methods were seen, not an empty package


def test_store_facade_is_small() -> None:
    public = [n for n in vars(qualcode.store.Store) if not n.startswith("_")]
    assert sorted(public) == [
        "applied_migrations",
        "close",
        "migrate",
        "open",
        "start_tag_run",
        "transaction",
    ]


def _is_sql_text(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and _SQL.search(node.value) is not None
    )


def _sql_outside_store() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if STORE in path.parents:
            continue
        where = path.relative_to(SRC.parent)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names]
                module = node.module if isinstance(node, ast.ImportFrom) else None
                if module == "sqlite3" or "sqlite3" in names:
                    found.append(f"{where}:{node.lineno}: imports sqlite3")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in _EXECUTE:
                    found.append(f"{where}:{node.lineno}: calls .{node.func.attr}()")
            elif _is_sql_text(node):
                found.append(f"{where}:{node.lineno}: SQL text")
    return found


def test_no_sql_outside_the_store_package() -> None:
    assert _sql_outside_store() == []


def test_the_sql_scan_finds_sql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A module with each kind of SQL use, scanned as if it were in src/qualcode.
    fake = tmp_path / "qualcode"
    (fake / "store").mkdir(parents=True)
    (fake / "store" / "ok.py").write_text("import sqlite3\nX = 'SELECT a FROM b'\n")
    (fake / "bad.py").write_text(
        "import sqlite3\nconn.execute('x')\nQ = '''DELETE FROM codings WHERE 1'''\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "SRC", fake)
    monkeypatch.setattr(sys.modules[__name__], "STORE", fake / "store")
    assert _sql_outside_store() == [
        "qualcode/bad.py:1: imports sqlite3",
        "qualcode/bad.py:2: calls .execute()",
        "qualcode/bad.py:3: SQL text",
    ]
