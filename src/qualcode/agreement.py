"""Inter-coder agreement for nominal codes: percent agreement, Cohen's kappa, Krippendorff's
alpha and Brennan & Prediger's kappa_n. Pure functions, no I/O.

Input everywhere is a reliability table with one row per unit (segment) and one column per
coder; a cell is the value the coder gave the unit (any hashable: a code id, ``True``/``False``
for "code applied", ...) or ``None`` (or a float NaN) when that coder did not code the unit.

A unit is *pairable* when at least two coders gave it a value; the other units carry no
information about agreement and are ignored by every coefficient here, as in Krippendorff (2011).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from qualcode.errors import QualcodeError

Value = Hashable | None
Units = Sequence[Sequence[Value]]


class AgreementError(QualcodeError):
    """The reliability table cannot give the requested coefficient."""


@dataclass(frozen=True)
class Agreement:
    """Every coefficient for one reliability table.

    ``units`` counts the pairable units (those the coefficients use), ``coders`` the columns.
    ``cohen_kappa`` is ``None`` unless there are exactly two coders (or when it is undefined);
    ``krippendorff_alpha`` is ``None`` when it is undefined (see :func:`krippendorff_alpha`).
    """

    units: int
    coders: int
    percent: float
    cohen_kappa: float | None
    krippendorff_alpha: float | None
    brennan_prediger: float


def _is_missing(value: Value) -> bool:
    # NaN is accepted as missing so tables built with numpy/pandas need no conversion.
    return value is None or (isinstance(value, float) and math.isnan(value))


def _present(units: Units) -> tuple[int, list[list[Hashable]]]:
    """Check the table is rectangular; return the coder count and each unit's present values."""
    if isinstance(units, str | bytes):
        raise AgreementError("units must be a table (one row per unit), not a string")
    coders: int | None = None
    rows: list[list[Hashable]] = []
    for index, row in enumerate(units):
        if isinstance(row, str | bytes):
            raise AgreementError(f"unit {index + 1}: a row must hold one value per coder")
        if coders is None:
            coders = len(row)
        elif len(row) != coders:
            raise AgreementError(
                f"unit {index + 1} has {len(row)} values but unit 1 has {coders}",
                "give every unit one column per coder, None where a coder did not code it",
            )
        rows.append([v for v in row if not _is_missing(v)])
    if not coders:
        raise AgreementError("no units or no coders in the reliability table")
    return coders, rows


def _pairable(units: Units) -> tuple[int, list[list[Hashable]]]:
    coders, rows = _present(units)
    return coders, [values for values in rows if len(values) >= 2]


def percent_agreement(units: Units) -> float:
    """Share of pairable units on which every coder who coded the unit gave the same value.

    For two coders this is the usual proportion of agreement over the units both coded. With
    more coders a unit counts as agreed only if all of its values are equal (no partial credit).
    Raises :class:`AgreementError` when no unit is pairable.
    """
    return float(_observed(units))


def _observed(units: Units) -> Fraction:
    _, pairable = _pairable(units)
    if not pairable:
        raise AgreementError("no unit was coded by two or more coders, so agreement is undefined")
    return Fraction(sum(1 for values in pairable if len(set(values)) == 1), len(pairable))


def cohen_kappa(units: Units) -> float | None:
    """Cohen's (1960) kappa for exactly two coders; units where either value is missing are
    skipped.

    Returns ``None`` when kappa is undefined: no unit coded by both, or chance agreement is 1
    (both coders used one and the same value for every unit).
    """
    coders, _ = _present(units)
    if coders != 2:
        raise AgreementError(f"Cohen's kappa needs exactly two coders, not {coders}")
    pairs = [
        (row[0], row[1]) for row in units if not _is_missing(row[0]) and not _is_missing(row[1])
    ]
    n = len(pairs)
    if n == 0:
        return None
    observed = Fraction(sum(1 for a, b in pairs if a == b), n)
    first = Counter(a for a, _ in pairs)
    second = Counter(b for _, b in pairs)
    chance = Fraction(sum(first[v] * second[v] for v in first), n * n)
    if chance == 1:
        return None
    return float((observed - chance) / (1 - chance))


def krippendorff_alpha(units: Units) -> float | None:
    """Krippendorff's alpha for nominal data, any number of coders, missing values allowed.

    Follows Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": each pairable
    unit u with m_u values adds its ordered value pairs to the coincidence matrix with weight
    1/(m_u - 1); alpha = 1 - (n - 1) * (n - sum_c o_cc) / (n^2 - sum_c n_c^2).

    Returns ``None`` when alpha is undefined: no pairable unit, or expected disagreement is 0
    because all pairable values are the same (no variation, so reliability cannot be assessed;
    Krippendorff leaves alpha undefined there rather than calling it 1 or 0).
    """
    _, pairable = _pairable(units)
    if not pairable:
        return None
    totals: Counter[Hashable] = Counter()
    diagonal = Fraction(0)
    for values in pairable:
        counts = Counter(values)
        totals.update(counts)
        diagonal += Fraction(sum(c * (c - 1) for c in counts.values()), len(values) - 1)
    n = sum(totals.values())
    expected = n * n - sum(c * c for c in totals.values())
    if expected == 0:
        return None
    return float(1 - (n - 1) * (n - diagonal) / expected)


def brennan_prediger(units: Units, categories: int) -> float:
    """Brennan & Prediger's (1981) kappa_n = (p_o - 1/q) / (1 - 1/q).

    ``p_o`` is :func:`percent_agreement` and ``q`` = ``categories``, the number of values a coder
    could choose from (2 for "code applied / not applied"), whether or not all were used.
    """
    if categories < 2:
        raise AgreementError(f"categories must be at least 2, not {categories}")
    _, rows = _present(units)
    used = len({v for values in rows for v in values})
    if used > categories:
        raise AgreementError(
            f"the coders used {used} different values but categories is {categories}",
            "pass categories= the number of values a coder could choose from",
        )
    chance = Fraction(1, categories)
    return float((_observed(units) - chance) / (1 - chance))


def agreement(units: Units, *, categories: int = 2) -> Agreement:
    """All coefficients for one reliability table (see the module docstring for its shape).

    Raises :class:`AgreementError` when no unit was coded by two or more coders.
    """
    coders, pairable = _pairable(units)
    percent = percent_agreement(units)
    return Agreement(
        units=len(pairable),
        coders=coders,
        percent=percent,
        cohen_kappa=cohen_kappa(units) if coders == 2 else None,
        krippendorff_alpha=krippendorff_alpha(units),
        brennan_prediger=brennan_prediger(units, categories),
    )
