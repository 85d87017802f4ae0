"""The vocabulary of ranking rules: the method, tie, adjustment, Wilcoxon, missing-value and
duplicate names a ranking spec and the command line accept, and the presets' rules.

Plain types and functions without pydantic, so that the command line builds its options (and
``leaderboard.ranking`` applies the rules) without loading the spec schema; ``specs.ranking``
holds the pydantic models of a ranking spec.
"""
from __future__ import annotations

import math
from typing import Literal, Union, get_args

RankMethod = Literal["mean", "median", "rank_then_mean", "test"]
TieRule = Literal["min", "mean", "max"]  # R's rank(ties.method = "min" | "average" | "max")
Adjust = Literal["none", "holm", "hochberg", "bonferroni", "BH", "BY"]  # R's p.adjust methods (less hommel)
WilcoxonMethod = Literal["auto", "exact", "approx"]
MissingName = Literal["worst", "last", "remove", "error"]
Missing = Union[MissingName, float]  # a name, or the number a missing result counts as
Duplicates = Literal["separate", "merged"]  # how the bootstrap treats a case drawn more than once
Preset = Literal["podium", "challengeR"]
TieTest = Literal["auto", "wilcoxon", "bootstrap", "mcnemar", "welch"]  # how a board's ties are tested (leaderboard.significance)

RANK_METHODS: tuple[str, ...] = get_args(RankMethod)
TIE_RULES: tuple[str, ...] = get_args(TieRule)
ADJUSTMENTS: tuple[str, ...] = get_args(Adjust)
WILCOXON_METHODS: tuple[str, ...] = get_args(WilcoxonMethod)
MISSING_NAMES: tuple[str, ...] = get_args(MissingName)
DUPLICATES: tuple[str, ...] = get_args(Duplicates)
PRESETS: tuple[str, ...] = get_args(Preset)
TIE_TESTS: tuple[str, ...] = get_args(TieTest)

# Each preset's rules. ``missing: None`` is the preset's rule per method (``preset_missing``).
PRESET_RULES: dict[str, dict[str, object]] = {
    "podium": {"ties": "min", "case_ties": "mean", "p_adjust": "holm", "wilcoxon": "auto", "alpha": 0.05, "missing": None,
               "duplicates": "separate"},
    # challengeR: rankingMethods.R (ties.method = "min" everywhere), Aggregate.R and testBased.R
    # (alpha = 0.05, p.adjust.method = "none", wilcox.test(exact = FALSE, paired = TRUE): the normal
    # approximation with R's default continuity correction), rankNA2.R (a missing result ranks
    # below its case's worst) and aggregateThenRank / testThenRank (missing values need na.treat);
    # Bootstrap.R draws a case's rows again for each draw of it, so Rank.R ranks the copies of a case
    # together and testBased.R's intersect() tests each case once ("merged").
    "challengeR": {"ties": "min", "case_ties": "min", "p_adjust": "none", "wilcoxon": "approx", "alpha": 0.05, "missing": "last",
                   "duplicates": "merged"},
}


def preset_missing(preset: str, method: str) -> Missing:
    """What a missing result counts as when the rules leave it to the preset: Podium ranks it below
    its case's worst in a per-case ranking (``last``) and gives it its case's worst value
    otherwise (``worst``); challengeR's ``last`` ranks it below the worst per case and refuses
    missing values where a method needs a value (aggregate-then-rank, test-based)."""
    given = PRESET_RULES[preset]["missing"]
    if given is not None:
        return given  # type: ignore[return-value]
    return "last" if method == "rank_then_mean" else "worst"


def parse_missing(value: object) -> Missing:
    """``worst``, ``last``, ``remove``, ``error`` or a finite number (also as text: ``0``, ``-1.5``);
    ``ValueError`` naming the choices otherwise."""
    if isinstance(value, str):
        text = value.strip()
        if text in MISSING_NAMES:
            return text  # type: ignore[return-value]
        try:
            number = float(text)
        except ValueError:
            number = math.nan
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        number = math.nan
    if not math.isfinite(number):
        raise ValueError(f"expected one of {', '.join(MISSING_NAMES)} or a finite number, got {value!r}")
    return number

