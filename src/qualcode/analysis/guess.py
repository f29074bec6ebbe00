"""Readings for words no dictionary knows: loanwords, abbreviations, new compounds.

``startupit`` -> ``startup``; ``AMK:n`` -> ``amk``; ``TKI-hankkeessa`` is handled by the
caller (hyphen compounds), this only strips a case ending where one is plausible.
"""

from __future__ import annotations

from qualcode.analysis.base import Analysis

# Case and number endings as they attach to unknown (mostly loan) stems, longest first.
_ENDINGS = tuple(
    sorted(
        {
            "n",
            "a",
            "ä",
            "ta",
            "tä",
            "na",
            "nä",
            "ssa",
            "ssä",
            "sta",
            "stä",
            "lla",
            "llä",
            "lta",
            "ltä",
            "lle",
            "ksi",
            "t",
            "in",
            "ia",
            "iä",
            "ien",
            "eja",
            "ejä",
            "ja",
            "jä",
            "ihin",
            "iin",
            "issa",
            "issä",
            "ista",
            "istä",
            "illa",
            "illä",
            "ilta",
            "iltä",
            "ille",
            "iksi",
            "ina",
            "inä",
            "it",
            "eissa",
            "eissä",
            "eista",
            "eistä",
            "eilla",
            "eillä",
            "eille",
            "eiden",
            "eita",
            "eitä",
            "iden",
            "ita",
            "itä",
            "kin",
            "kaan",
            "kään",
            "han",
            "hän",
        },
        key=len,
        reverse=True,
    )
)
_MIN_STEM = 4


def guess(form: str) -> list[Analysis]:
    lower = form.lower()
    readings = {lower}
    if ":" in lower:  # "AMK:n", "EU:n", "TKI:ssä": the stem is before the colon
        readings.add(lower.split(":", 1)[0])
    else:
        for ending in _ENDINGS:
            if lower.endswith(ending) and len(lower) - len(ending) >= _MIN_STEM:
                readings.add(lower[: -len(ending)])
    return [Analysis(r, ((r,),), "unknown") for r in sorted(readings)]
