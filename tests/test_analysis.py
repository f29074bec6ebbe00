from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from qualcode.analysis import (
    Analysis,
    AnalyzerUnavailable,
    available_analyzers,
    base,
    default_analyzer,
    get_analyzer,
    registered_names,
)
from qualcode.analysis.guess import guess
from qualcode.analysis.voikko import members_of
from qualcode.errors import QualcodeError

REPO = Path(__file__).resolve().parents[1]
FORMS = ["verkostoihin", "Oppilaitosyhteistyössämme", "startupit", "Kaarna-AMK:n", "ja", "2026"]


def test_builtins_are_registered() -> None:
    assert {"voikko.v1", "spacy-fi.v1", "simplemma.v1"} <= set(registered_names())


def test_voikko_is_available_here() -> None:
    # The project installs libvoikko1 + voikko-fi (make test); this machine must have it.
    assert available_analyzers()["voikko.v1"] == "ok"
    analyzer, warnings = default_analyzer()
    assert analyzer.name == "voikko.v1" and warnings == []


@pytest.mark.parametrize("name", registered_names())
def test_analyzer_contract(name: str) -> None:
    """Every registered analyzer: one tuple of readings per form, lower case, deterministic."""
    try:
        analyzer = get_analyzer(name)
    except AnalyzerUnavailable as exc:  # pragma: no cover - depends on the machine
        pytest.fail(f"{name} unavailable: {exc.message}")
    assert analyzer.name == name
    assert analyzer.version
    first = analyzer.analyze(FORMS)
    assert first == analyzer.analyze(FORMS)
    assert len(first) == len(FORMS)
    for readings in first:
        assert readings, "every form gets at least one reading"
        for a in readings:
            assert isinstance(a, Analysis)
            assert a.lemma == a.lemma.lower() and a.lemma
            assert a.members and all(m and all(s == s.lower() for s in m) for m in a.members)
            assert Analysis.from_json(a.as_json()) == a
    lemmas = [{a.lemma for a in readings} for readings in first]
    assert "verkosto" in lemmas[0]


def test_unknown_analyzer_name() -> None:
    with pytest.raises(QualcodeError, match=r"unknown language analyzer 'nope\.v1'"):
        get_analyzer("nope.v1")


@pytest.mark.parametrize(
    ("wordbases", "structure", "lemma", "members"),
    [
        (
            "+oppi(oppi)+laitos(laitos)+yhteis+työ(työ)",
            "=pppp=pppppp=pppppp=ppppppppp",
            "oppilaitosyhteistyö",
            (("oppi",), ("laitos",), ("yhteis",), ("työ",)),
        ),
        # Derivations stay one member: "paikallinen" is not "paikka".
        ("+paika(paikka)+lli+nen(+nen)", "=ppppppppppp", "paikallinen", (("paikallinen",),)),
        # A genitive first part is kept as written ("kaupungin-"), not as "kaupunki".
        (
            "+kaupungin(kaupunki)+johta(johtaa)+ja(+ja)",
            "=ppppppppp=ppppppp",
            "kaupunginjohtaja",
            (("kaupungin",), ("johtaja",)),
        ),
        (
            "+yrit(yrittää)+ys(+ys)+lähtö(lähtö)+inen(+inen)",
            "=pppppp=ppppppppp",
            "yrityslähtöinen",
            (("yritys",), ("lähtöinen",)),
        ),
        ("", "", "sana", (("sana",),)),
    ],
)
def test_members_of(wordbases: str, structure: str, lemma: str, members: tuple) -> None:
    assert members_of(wordbases, structure, lemma) == members


def test_guess_strips_plausible_endings_only() -> None:
    assert {a.lemma for a in guess("startupit")} >= {"startup"}
    assert {a.lemma for a in guess("AMK:ssa")} == {"amk:ssa", "amk"}
    assert {a.lemma for a in guess("xyz")} == {"xyz"}  # too short to strip anything


def test_fallback_when_voikko_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise AnalyzerUnavailable("the libvoikko library is not installed (test)")

    monkeypatch.setitem(base._REGISTRY, "voikko.v1", broken)
    analyzer, warnings = default_analyzer()
    assert analyzer.name == "spacy-fi.v1"
    assert warnings == ["voikko.v1: the libvoikko library is not installed (test)"]
    (readings,) = analyzer.analyze(["verkostoihin"])
    assert "verkosto" in {a.lemma for a in readings}


def test_simplemma_finds_inflected_forms_but_not_compounds() -> None:
    analyzer = get_analyzer("simplemma.v1")
    rakenteita, yhteistyo = analyzer.analyze(["rakenteita", "oppilaitosyhteistyössä"])
    assert "rakenne" in {a.lemma for a in rakenteita}
    assert all(len(a.members) == 1 for a in yhteistyo)


def test_an_outside_analyzer_is_discovered_through_its_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An installed distribution as pip leaves it: a module and a dist-info with entry_points.txt.
    (tmp_path / "kielikone.py").write_text(
        "from qualcode.analysis import Analysis\n"
        "class Kielikone:\n"
        "    name = 'kielikone.v1'\n"
        "    version = 'kielikone 1'\n"
        "    def analyze(self, forms):\n"
        "        return [(Analysis(f.lower(), ((f.lower(),),), 'other'),) for f in forms]\n",
        encoding="utf-8",
    )
    info = tmp_path / "kielikone-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kielikone\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[qualcode.analyzers]\nkielikone.v1 = kielikone:Kielikone\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(base, "_REGISTRY", {})
    monkeypatch.setattr(base, "_DISCOVERED", False)
    monkeypatch.delitem(sys.modules, "kielikone", raising=False)

    names = registered_names()
    assert {"kielikone.v1", "voikko.v1", "spacy-fi.v1", "simplemma.v1"} <= set(names)
    assert "kielikone" not in sys.modules  # listing the registry imports no analyzer
    (readings,) = get_analyzer("kielikone.v1").analyze(["Kaupunki"])
    assert readings == (Analysis("kaupunki", (("kaupunki",),), "other"),)


def test_the_builtins_fallback_matches_the_entry_points_in_pyproject() -> None:
    # An uninstalled checkout registers base.BUILTINS; an installed one, pyproject's entry
    # points. Both must name the same analyzers, or the two would behave differently.
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    declared = pyproject["project"]["entry-points"]["qualcode.analyzers"]
    assert declared == base.BUILTINS
