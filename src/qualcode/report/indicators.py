"""The study's two indicator findings: maturity of network activity and who leads it.

Each value (starting / developing / established; city / company / education) counts the
distinct segments coded with the codebook's indicator codes for that value. With fewer than
``min_evidence`` such segments the finding is "not enough material"; when the two strongest
values are tied, both are reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from qualcode.codebook import INDICATORS, Codebook

MIN_EVIDENCE = 2


@dataclass(frozen=True)
class Finding:
    dimension: str  # maturity | leadership
    values: tuple[str, ...]  # the assessed value(s): one, two when tied, none when thin
    counts: tuple[tuple[str, int], ...]  # every value of the dimension with its evidence
    segments: tuple[str, ...]  # evidence segment ids, for traceability
    status: str  # clear | tied | insufficient

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)


def assess(
    codings: Iterable[tuple[str, str]], codebook: Codebook, *, min_evidence: int = MIN_EVIDENCE
) -> list[Finding]:
    """``codings`` are (segment id, code id) pairs of one city's accepted codings."""
    indicator_of = {c.id: c.indicator for c in codebook.codes if c.indicator}
    evidence: dict[tuple[str, str], set[str]] = {}
    for segment, code in codings:
        indicator = indicator_of.get(code)
        if indicator:
            evidence.setdefault(indicator, set()).add(segment)
    findings = []
    for dimension, values in INDICATORS.items():
        counts = tuple((v, len(evidence.get((dimension, v), ()))) for v in values)
        segments = tuple(
            sorted(set().union(*(evidence.get((dimension, v), set()) for v in values)))
        )
        total = sum(n for _, n in counts)
        ranked = sorted(counts, key=lambda vc: (-vc[1], values.index(vc[0])))
        if total < min_evidence:
            findings.append(Finding(dimension, (), counts, segments, "insufficient"))
        elif ranked[0][1] == ranked[1][1]:
            findings.append(
                Finding(dimension, (ranked[0][0], ranked[1][0]), counts, segments, "tied")
            )
        else:
            findings.append(Finding(dimension, (ranked[0][0],), counts, segments, "clear"))
    return findings
