"""Agreement coefficients against published worked examples and reference implementations."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Hashable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qualcode.agreement import (
    Agreement,
    AgreementError,
    agreement,
    brennan_prediger,
    cohen_kappa,
    krippendorff_alpha,
    percent_agreement,
)

nan = math.nan


def by_unit(by_coder: list[list[float]]) -> list[list[Hashable | None]]:
    """Published tables list one row per coder; ours has one row per unit, None = missing."""
    return [
        [None if isinstance(v, float) and math.isnan(v) else v for v in unit]
        for unit in zip(*by_coder, strict=True)
    ]


# Krippendorff (2011) "Computing Krippendorff's Alpha-Reliability", section C: coders A-D,
# 12 units, missing data. Same data as the `krippendorff` package's alpha() doctest.
KRIPPENDORFF_2011 = by_unit(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
)

# Wikipedia "Krippendorff's alpha", computational example: 3 coders x 15 units; the first
# example of the `krippendorff` package's alpha() doctest (nominal 0.691358).
WIKIPEDIA = by_unit(
    [
        [nan, nan, nan, nan, nan, 3, 4, 1, 2, 1, 1, 3, 3, nan, 3],
        [1, nan, 2, 1, 3, 3, 4, 3, nan, nan, nan, nan, nan, nan, nan],
        [nan, nan, 2, 1, 3, 4, 4, nan, 2, 1, 1, 3, 3, nan, 4],
    ]
)

# ATLAS.ti 8 manual "Inter-Coder Agreement Analysis", Percent Agreement: ten segments, two
# coders deciding whether one code applies (1) or not (0). They agree on 6 of 10 segments
# (p_o = 0.6, chance agreement 0.56), so kappa = 0.04/0.44 = 0.0909, kappa_n = (0.6-0.5)/0.5
# = 0.2 and alpha = 1 - 19 * 4/168 = 0.0952.
ATLAS_TI = by_unit(
    [
        [1, 1, 0, 0, 0, 0, 0, 0, 0, 0],
        [0, 1, 1, 0, 0, 1, 0, 1, 0, 0],
    ]
)


def test_krippendorff_2011_nominal_example() -> None:
    alpha = krippendorff_alpha(KRIPPENDORFF_2011)
    assert alpha is not None
    assert round(alpha, 3) == 0.743
    # Unit 12 has a single value, so it is not pairable.
    assert agreement(KRIPPENDORFF_2011, categories=5).units == 11


def test_wikipedia_nominal_example() -> None:
    alpha = krippendorff_alpha(WIKIPEDIA)
    assert alpha is not None
    assert round(alpha, 6) == 0.691358


def test_atlas_ti_ten_segment_example() -> None:
    result = agreement(ATLAS_TI)
    assert result.units == 10
    assert result.coders == 2
    assert result.percent == pytest.approx(0.6)
    assert result.cohen_kappa is not None
    assert round(result.cohen_kappa, 4) == 0.0909
    assert result.krippendorff_alpha is not None
    assert round(result.krippendorff_alpha, 4) == 0.0952
    assert result.brennan_prediger == pytest.approx(0.2)


def test_agreement_matches_the_single_functions() -> None:
    assert agreement(WIKIPEDIA, categories=4) == Agreement(
        units=12,
        coders=3,
        percent=percent_agreement(WIKIPEDIA),
        cohen_kappa=None,
        krippendorff_alpha=krippendorff_alpha(WIKIPEDIA),
        brennan_prediger=brennan_prediger(WIKIPEDIA, 4),
    )


def test_percent_agreement_needs_all_present_coders_to_agree() -> None:
    units: list[list[str | None]] = [
        ["a", "a", None],
        ["a", "b", "a"],
        [None, "b", "b"],
        ["c", None, None],
    ]
    # The last unit is not pairable; two of the other three agree fully.
    assert percent_agreement(units) == pytest.approx(2 / 3)


def test_cohen_skips_units_with_a_missing_value() -> None:
    with_missing: list[list[Hashable | None]] = [*ATLAS_TI, [1, None], [None, 0]]
    assert cohen_kappa(with_missing) == cohen_kappa(ATLAS_TI)


def test_undefined_coefficients_are_none() -> None:
    same: list[list[str | None]] = [["x", "x"], ["x", "x"], ["x", None]]
    assert krippendorff_alpha(same) is None
    assert cohen_kappa(same) is None
    assert krippendorff_alpha([["x", None], [None, "y"]]) is None
    assert cohen_kappa([["x", None], [None, "y"]]) is None
    result = agreement(same)
    assert (result.percent, result.brennan_prediger) == (1.0, 1.0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: percent_agreement([["a", None], [None, "b"]]),
            "no unit was coded by two or more coders, so agreement is undefined",
        ),
        (
            lambda: agreement([[1, None]]),
            "no unit was coded by two or more coders, so agreement is undefined",
        ),
        (lambda: agreement([]), "no units or no coders in the reliability table"),
        (lambda: agreement([[], []]), "no units or no coders in the reliability table"),
        (lambda: agreement([[1, 1], [1, 2, 3]]), "unit 2 has 3 values but unit 1 has 2"),
        (lambda: agreement(["ab", "ab"]), "unit 1: a row must hold one value per coder"),
        (lambda: cohen_kappa(WIKIPEDIA), "Cohen's kappa needs exactly two coders, not 3"),
        (lambda: brennan_prediger(WIKIPEDIA, 1), "categories must be at least 2, not 1"),
        (
            lambda: brennan_prediger(WIKIPEDIA, 3),
            "the coders used 4 different values but categories is 3",
        ),
    ],
)
def test_errors(call: Callable[[], object], message: str) -> None:
    with pytest.raises(AgreementError) as info:
        call()
    assert str(info.value) == message


def random_tables(seed: int, count: int) -> list[list[list[int | None]]]:
    rng = random.Random(seed)
    tables = []
    for _ in range(count):
        coders = rng.randint(2, 5)
        values = rng.randint(2, 5)
        missing = rng.choice([0.0, 0.2, 0.4])
        units = rng.randint(5, 40)
        tables.append(
            [
                [None if rng.random() < missing else rng.randint(1, values) for _ in range(coders)]
                for _ in range(units)
            ]
        )
    return tables


def test_alpha_matches_the_krippendorff_package() -> None:
    krippendorff = pytest.importorskip("krippendorff")
    np = pytest.importorskip("numpy")
    compared = 0
    for table in random_tables(seed=20240611, count=50):
        ours = krippendorff_alpha(table)
        data = np.array([[nan if v is None else v for v in unit] for unit in table]).T
        pairable = [[v for v in unit if v is not None] for unit in table]
        pairable = [values for values in pairable if len(values) >= 2]
        if len({v for values in pairable for v in values}) < 2:
            assert ours is None  # the package refuses such tables
            continue
        theirs = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
        assert ours is not None
        assert ours == pytest.approx(float(theirs), abs=1e-9)
        compared += 1
    assert compared >= 45


def test_cohen_matches_scikit_learn() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    compared = 0
    for table in random_tables(seed=7, count=80):
        two = [unit[:2] for unit in table]
        complete = [unit for unit in two if None not in unit]
        ours = cohen_kappa(two)
        if len({v for unit in complete for v in unit}) < 2:
            assert ours is None
            continue
        theirs = metrics.cohen_kappa_score([u[0] for u in complete], [u[1] for u in complete])
        assert ours == pytest.approx(float(theirs), abs=1e-9)
        compared += 1
    assert compared >= 50


tables = st.integers(2, 4).flatmap(
    lambda coders: st.lists(
        st.lists(st.one_of(st.none(), st.sampled_from("abc")), min_size=coders, max_size=coders),
        min_size=1,
        max_size=25,
    )
)


@given(tables, st.randoms(use_true_random=False))
def test_alpha_ignores_the_order_of_units_and_coders(
    table: list[list[str | None]], rng: random.Random
) -> None:
    order = list(range(len(table[0])))
    rng.shuffle(order)
    shuffled = [[unit[i] for i in order] for unit in table]
    rng.shuffle(shuffled)
    before, after = krippendorff_alpha(table), krippendorff_alpha(shuffled)
    if before is None:
        assert after is None
    else:
        assert after == pytest.approx(before, abs=1e-12)
        assert -1.0 <= before <= 1.0


@given(st.lists(st.sampled_from("abc"), min_size=2, max_size=20), st.integers(2, 4))
def test_perfect_agreement_gives_one(values: list[str], coders: int) -> None:
    table = [[v] * coders for v in values]
    assert percent_agreement(table) == 1.0
    assert brennan_prediger(table, 3) == 1.0
    if len(set(values)) > 1:
        assert krippendorff_alpha(table) == pytest.approx(1.0)
