"""Which entries of a board a test cannot tell apart: two-sided tests between every pair of a board's
competitors (references and published rows are not compared), the p-values adjusted over the board's
pairs, and per entry the ranks of the entries it cannot be separated from (``tied_with``).

The test of a pair (``Significance.test``; ``auto`` by default):

- with per-case values that both entries have (the test split's ``cases``, paired by case id, over
  the cases both have): McNemar's exact test (a binomial test of the discordant cases) when every
  per-case value on the board is 0 or 1, else the Wilcoxon signed-rank test
  (``leaderboard.ranking.signed_rank_p`` under the rules' ``wilcoxon``); or, asked for by name, a
  paired bootstrap of the mean difference (seeded, so reproducible);
- without them: Welch's t-test over the seeds (unequal variances), which needs two seeds on each side.

A pair that neither can test is untested, listed apart (``untested``), never counted as a tie.

An entry's per-case value is the mean over its seeds (every pooled run of a pooled row), as the
challenge rankings average them: the unit of a per-case test is the test case, and an entry's seeds
are repeated measurements of the same case, so counting each (seed, case) as a case of its own would
count every case several times and overstate the evidence; seeds of different configurations share
nothing (seed 0 of one model is no twin of seed 0 of another), so there is nothing to pair them by.
Averaged over several seeds a correct/incorrect value is a fraction, so McNemar applies to boards of
one seed per entry (or seeds that agree on every case), Wilcoxon to the others.

What each test measures: the per-case tests ask whether the two entries differ on this test set
beyond what its sampling of cases explains; they do not see how much a retrained entry would move
(its seeds' spread). Welch's test asks whether the seeds' means differ beyond the seeds' spread. A
board's interval (Student's t over seeds) is the interval of its mean, whatever test groups it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from leaderboard.aggregate import BOARD, check_grouping, leaderboard
from leaderboard.challenge import CaseValues, case_values
from leaderboard.filters import Filters
from leaderboard.ranking import PODIUM, Rules, adjust_p, signed_rank_p
from leaderboard.store import Store
from specs.rules import ADJUSTMENTS, TIE_TESTS

TESTS = TIE_TESTS  # auto, wilcoxon, bootstrap, mcnemar, welch
CASE_TESTS = ("mcnemar", "wilcoxon", "bootstrap")
SIGNIFICANCE_COLUMNS = ["test", "tied_with", "untested", "tied", "test_note"]
RESAMPLES = 10_000  # paired bootstrap resamples: the smallest p-value it can give is 1 / 10,001
PAIR_BLOCK = 2**20  # pair x case differences computed at once (8 MB)
BOOTSTRAP_BLOCK = 2**22  # resampled case counts drawn at once (32 MB)

NAMES = {
    "mcnemar": "McNemar's exact test",
    "wilcoxon": "the Wilcoxon signed-rank test",
    "bootstrap": "a paired bootstrap of the mean difference",
    "welch": "Welch's t-test over seeds",
}


class SignificanceError(ValueError):
    """Settings of the tie tests that cannot be used: what is wrong and what is allowed."""


@dataclass(frozen=True)
class Significance:
    """How a board's ties are tested: the test, the rules (``p_adjust``, ``alpha``, ``wilcoxon``),
    and the bootstrap's resamples and seed."""

    test: str = "auto"
    rules: Rules = PODIUM
    resamples: int = RESAMPLES
    seed: int = 0

    def __post_init__(self) -> None:
        if self.test not in TESTS:
            raise SignificanceError(f"test {self.test!r}: expected one of {', '.join(TESTS)}")
        if isinstance(self.resamples, bool) or not isinstance(self.resamples, int) or self.resamples < 1:
            raise SignificanceError(f"{self.resamples!r} bootstrap resamples: expected a positive whole number")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise SignificanceError(f"seed {self.seed!r}: expected a non-negative whole number")

    @classmethod
    def of(cls, test: str | None = None, p_adjust: str | None = None, alpha: float | None = None, resamples: int | None = None,
           seed: int | None = None) -> "Significance":
        """Podium's defaults with the given settings (not None) over them; ``SignificanceError`` for a bad one."""
        if p_adjust is not None and p_adjust not in ADJUSTMENTS:
            raise SignificanceError(f"p-adjust {p_adjust!r}: expected one of {', '.join(ADJUSTMENTS)}")
        if alpha is not None and (isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1):
            raise SignificanceError(f"alpha {alpha!r}: expected a number between 0 and 1")
        given = {"test": test, "resamples": resamples, "seed": seed}
        return cls(rules=PODIUM.with_(p_adjust=p_adjust, alpha=alpha), **{k: v for k, v in given.items() if v is not None})


@dataclass(frozen=True)
class PairTests:
    """The tests between a board's competitors, one per unordered pair ``first[k] < second[k]``."""

    first: np.ndarray
    second: np.ndarray
    test: np.ndarray  # the test of each pair, "" when untested
    p: np.ndarray  # two-sided p-values, unadjusted; NaN when untested
    adjusted: np.ndarray  # adjusted over the tested pairs of the board; NaN when untested
    separated: np.ndarray  # adjusted p <= alpha
    settings: Significance
    cases: int = 0  # distinct cases the per-case tests compared
    untested_because: str = ""  # why the untested pairs have no test
    notes: list[str] = field(default_factory=list)  # why tested pairs could not be separated, when they could not

    @property
    def tested(self) -> np.ndarray:
        return self.test != ""

    def used(self) -> list[str]:
        """The tests used, per-case test first."""
        return [name for name in (*CASE_TESTS, "welch") if (self.test == name).any()]

    def describe(self) -> str:
        """One line: what ``tied with`` means on this board, the tests, the adjustment and alpha."""
        if not len(self.first):
            return ""
        rules, tested = self.settings.rules, int(self.tested.sum())
        parts = []
        for name in self.used():
            count = int((self.test == name).sum())
            what = NAMES[name]
            if name in CASE_TESTS:
                what += f" on {self.cases} test cases (seeds averaged per case, pairs over the cases both have"
                what += f"; {self.settings.resamples} resamples, seed {self.settings.seed})" if name == "bootstrap" else ")"
            parts.append(what if count == tested else f"{what} for {_plural(count, 'pair')}")
        untested = len(self.first) - tested
        if not tested:
            text = f"tied with: no pair of this board could be tested ({self.untested_because})"
        else:
            adjusted = "p-values not adjusted" if rules.p_adjust == "none" else f"p-values adjusted by {rules.p_adjust} over {_plural(tested, 'pair')}"
            text = (f"tied with: the ranks of the entries this one cannot be separated from by {' and '.join(parts)}, "
                    f"two-sided ({adjusted}, alpha {rules.alpha:g})")
        if tested and untested:
            text += f"; {_plural(untested, 'pair')} untested ({self.untested_because})"
        return "; ".join([text, *self.notes])


def compare_pairs(values: np.ndarray | None, mean: np.ndarray, std: np.ndarray, n: np.ndarray, settings: Significance = Significance()) -> PairTests:
    """Test every pair of a board's A competitors: ``values`` (A, K) are their per-case values (NaN:
    a case an entry lacks; None: no per-case values), ``mean``, ``std`` and ``n`` their statistics
    over seeds. Which test each pair gets is ``Significance.test`` (see the module)."""
    mean, std, n = (np.asarray(a, dtype=float) for a in (mean, std, n))
    first, second = np.triu_indices(len(mean), k=1)
    if values is None:
        values = np.full((len(mean), 0), np.nan)
    values = np.asarray(values, dtype=float)
    present = ~np.isnan(values)
    if present.all():
        with_cases = np.full(len(first), values.shape[1] > 0)
    else:  # some entry lacks cases: count the ones each pair shares
        with_cases = (present.astype(float) @ present.T.astype(float))[first, second] > 0
    with_seeds = (n[first] >= 2) & (n[second] >= 2)
    binary = bool(np.isin(values[present], (0.0, 1.0)).all())
    chosen, because, notes = settings.test, _untested_because(settings.test), []
    test = np.full(len(first), "", dtype="<U9")
    if chosen == "auto":
        test[with_cases] = "mcnemar" if binary else "wilcoxon"
        test[~with_cases & with_seeds] = "welch"
    elif chosen == "welch":
        test[with_seeds] = "welch"
    elif chosen == "mcnemar" and not binary:
        because = "McNemar's test needs per-case values of 0 or 1, and this board's are not: a mean over several seeds is a fraction"
    else:
        test[with_cases] = chosen
    p = np.full(len(first), np.nan)
    for name, compute in (("mcnemar", _mcnemar_p), ("wilcoxon", _wilcoxon_p), ("bootstrap", _bootstrap_p), ("welch", _welch_p)):
        chosen_pairs = test == name
        if chosen_pairs.any():
            p[chosen_pairs] = compute(values, mean, std, n, first[chosen_pairs], second[chosen_pairs], settings)
    tested = test != ""
    adjusted = np.full(len(first), np.nan)
    adjusted[tested] = adjust_p(p[tested], settings.rules.p_adjust)
    separated = tested & (adjusted <= settings.rules.alpha)
    if (test == "bootstrap").any():
        notes += _floor_note(settings, int(tested.sum()))
    cases = values.shape[1] if (tested & (test != "welch")).any() else 0
    return PairTests(first, second, test, p, adjusted, separated, settings, cases, because, notes)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def _untested_because(chosen: str) -> str:
    """Why a pair has no test under ``chosen``."""
    if chosen == "welch":
        return "Welch's test needs two seeds on each side"
    if chosen in CASE_TESTS:
        return "no per-case values that both entries have; --test welch tests over seeds"
    return "neither per-case values that both entries have, nor two seeds on each side"


def _floor_note(settings: Significance, tested: int) -> list[str]:
    """A warning when the bootstrap's smallest p-value, 1 / (resamples + 1), cannot pass the adjustment."""
    smallest = 1 / (settings.resamples + 1)
    best = adjust_p(np.r_[smallest, np.ones(tested - 1)], settings.rules.p_adjust)[0]
    if best <= settings.rules.alpha:
        return []
    needed = math.ceil(best / smallest * 2 / settings.rules.alpha)
    return [f"with {settings.resamples} resamples no bootstrap p-value is below {smallest:.2g}, which {settings.rules.p_adjust} over "
            f"{tested} pairs raises above alpha: no pair can be separated (give --bootstrap {needed} or more)"]


def _mcnemar_p(values: np.ndarray, mean, std, n, first: np.ndarray, second: np.ndarray, settings: Significance) -> np.ndarray:
    """McNemar's exact test: of the b + c cases where exactly one entry is right, b for the first,
    two-sided binomial p-value of b under p = 1/2 (``scipy.stats.binomtest``'s, vectorised)."""
    from scipy import stats

    right, wrong = (values == 1).astype(float), (values == 0).astype(float)
    discordant = right @ wrong.T  # [i, j]: cases i has right and j wrong
    b, c = discordant[first, second], discordant[second, first]
    return np.minimum(1.0, 2 * stats.binom.cdf(np.minimum(b, c), b + c, 0.5))


def _wilcoxon_p(values: np.ndarray, mean, std, n, first: np.ndarray, second: np.ndarray, settings: Significance) -> np.ndarray:
    """Two-sided Wilcoxon signed-rank p-values over the cases a pair shares: twice the smaller
    one-sided p-value, as R's ``wilcox.test`` and scipy give it."""
    p = np.empty(len(first))
    step = max(1, PAIR_BLOCK // max(1, values.shape[1]))
    for start in range(0, len(first), step):
        pairs = slice(start, start + step)
        greater, less = signed_rank_p(values[first[pairs]] - values[second[pairs]], settings.rules.wilcoxon)
        p[pairs] = np.minimum(1.0, 2 * np.minimum(greater, less))
    return p


def _bootstrap_p(values: np.ndarray, mean, std, n, first: np.ndarray, second: np.ndarray, settings: Significance) -> np.ndarray:
    """A paired bootstrap of the mean difference over the cases a pair shares: the cases are
    resampled with replacement (the same draws for every pair, from ``settings.seed``), and p is the
    share of resampled differences at least as far from the observed one as it is from 0 (the
    resampled distribution shifted to the null), (1 + count) / (1 + resamples)."""
    present = ~np.isnan(values)
    filled = np.where(present, values, 0.0)
    both = present[first] & present[second]
    observed = np.where(both, filled[first] - filled[second], 0.0).sum(axis=1) / both.sum(axis=1)
    complete = present.all(axis=1)
    whole = complete[first] & complete[second]  # these pairs' means come from the entries' resampled means
    cases = values.shape[1]
    rng = np.random.default_rng(settings.seed)
    beyond = np.zeros(len(first))
    step = max(1, BOOTSTRAP_BLOCK // cases)
    for start in range(0, settings.resamples, step):
        count = min(step, settings.resamples - start)
        draws = rng.integers(0, cases, size=(count, cases))
        weights = np.bincount((np.arange(count)[:, None] * cases + draws).ravel(), minlength=count * cases).reshape(count, cases).astype(float)
        resampled = np.empty((len(first), count))
        # (resamples x cases) @ (cases x rows): OpenBLAS splits this order well across threads
        if whole.any():
            means = weights @ filled.T / cases
            resampled[whole] = (means[:, first[whole]] - means[:, second[whole]]).T
        for pairs in _blocks(np.flatnonzero(~whole), cases):
            mask = both[pairs].astype(float)
            with np.errstate(invalid="ignore", divide="ignore"):  # a resample without a shared case: NaN, counted as beyond
                resampled[pairs] = (weights @ ((filled[first[pairs]] - filled[second[pairs]]) * mask).T / (weights @ mask.T)).T
        distance = np.abs(resampled - observed[:, None])
        beyond += (~(distance < np.abs(observed)[:, None])).sum(axis=1)
    return (1 + beyond) / (1 + settings.resamples)


def _blocks(index: np.ndarray, cases: int) -> list[np.ndarray]:
    step = max(1, PAIR_BLOCK // max(1, cases))
    return [index[start:start + step] for start in range(0, len(index), step)]


def _welch_p(values, mean: np.ndarray, std: np.ndarray, n: np.ndarray, first: np.ndarray, second: np.ndarray, settings: Significance) -> np.ndarray:
    """Welch's two-sided t-test from the seeds' means, standard deviations and counts
    (``scipy.stats.ttest_ind(equal_var=False)``); two entries without spread and with the same mean give 1."""
    from scipy import stats

    with np.errstate(invalid="ignore", divide="ignore"):
        p = stats.ttest_ind_from_stats(mean[first], std[first], n[first], mean[second], std[second], n[second], equal_var=False).pvalue
    return np.where(np.isnan(p) & (mean[first] == mean[second]), 1.0, p)


def ties(tests: PairTests, ranks: np.ndarray) -> tuple[list[str | None], list[str], list[object]]:
    """Per competitor: the ranks of those a test could not separate from it (``"1, 3-5"``; None when
    none of its pairs was tested), the ranks of those it was not tested against, and whether it is
    tied with the leader (True, False, or NA when untested against every rank-1 entry; False for a
    rank-1 entry itself). Ranks as the board shows them, runs of three or more as ranges."""
    count = len(ranks)
    tested = np.zeros((count, count), dtype=bool)
    same = np.zeros((count, count), dtype=bool)
    for a, b in ((tests.first, tests.second), (tests.second, tests.first)):
        tested[a, b] = tests.tested
        same[a, b] = tests.tested & ~tests.separated
    untested = ~tested & ~np.eye(count, dtype=bool)
    ranks = np.asarray(ranks, dtype=int)
    leaders = ranks == 1
    order = np.argsort(ranks, kind="stable")
    same, tested, untested, in_order = same[:, order], tested[:, order], untested[:, order], ranks[order]
    tied_with = [_ranges(in_order[row]) if seen.any() else None for row, seen in zip(same, tested)]
    tied: list[object] = []
    first_place = leaders[order]
    for a in range(count):
        if leaders[a]:
            tied.append(False)
        elif tested[a, first_place].any():
            tied.append(bool(same[a, first_place].any()))
        else:
            tied.append(pd.NA)
    return tied_with, [_ranges(in_order[row]) for row in untested], tied


def _ranges(ranks: np.ndarray) -> str:
    """Sorted ranks (repeats allowed) as text, distinct, runs of three or more consecutive ones as ranges: ``1, 3-5``."""
    distinct = ranks[np.r_[True, np.diff(ranks) != 0]] if len(ranks) else ranks
    runs = np.split(distinct, np.flatnonzero(np.diff(distinct) != 1) + 1) if len(distinct) else []
    parts = []
    for run in runs:
        parts += [f"{run[0]}-{run[-1]}"] if len(run) > 2 else [str(r) for r in run]
    return ", ".join(parts)


def with_significance(board: pd.DataFrame, cases: CaseValues | None, settings: Significance = Significance()) -> pd.DataFrame:
    """``board`` (a ``leaderboard`` frame) with ``SIGNIFICANCE_COLUMNS``: each board's competitors
    tested pairwise, ``cases`` being their per-case values (``challenge.case_values``; None for a
    split without them). References get no test and no ties."""
    board = board.copy()
    for column in SIGNIFICANCE_COLUMNS:
        board[column] = pd.Series(pd.NA if column == "tied" else None, index=board.index, dtype="boolean" if column == "tied" else object)
    if board.empty:
        return board
    known = cases.entries if cases is not None else pd.DataFrame(columns=[*BOARD, "entry", "id"])
    ids = {key: rows.set_index("entry")["id"] for key, rows in known.groupby(BOARD, sort=False)}
    competing = board[~board["reference"].astype(bool)]
    for key, rows in competing.groupby(BOARD, sort=False):
        tests = compare_pairs(_values(cases, ids.get(key), rows["entry"]), rows["mean"], rows["std"].fillna(0.0), rows["n"], settings)
        tied_with, untested, tied = ties(tests, rows["rank"].to_numpy(dtype=int))
        board.loc[rows.index, "test"] = "+".join(tests.used()) or "none"
        board.loc[rows.index, "tied_with"] = tied_with
        board.loc[rows.index, "untested"] = untested
        board.loc[rows.index, "tied"] = pd.array(tied, dtype="boolean")
        board.loc[rows.index, "test_note"] = tests.describe()
    return board


def _values(cases: CaseValues | None, ids: pd.Series | None, entries: pd.Series) -> np.ndarray | None:
    """The (entries x cases) per-case values of one board's competitors, ``ids`` their case-value ids
    by entry; a row of NaN for an entry without any; None when none has any."""
    if cases is None or ids is None:
        return None
    position = ids.index.get_indexer(entries)
    if (position < 0).all():
        return None
    found = cases.matrix(ids.to_numpy()[position[position >= 0]])
    values = np.full((len(entries), found.shape[1]), np.nan)
    values[position >= 0] = found
    return values


def leaderboard_with_ties(
    store: Store, track: str | None = None, split: str = "test", confidence: float = 0.95, *, filters: Filters | None = None,
    group_by: Sequence[str] | None = None, significance: Significance = Significance(),
) -> pd.DataFrame:
    """``leaderboard.aggregate.leaderboard`` with its ties tested (``SIGNIFICANCE_COLUMNS``); per-case
    values exist for the test split only, so other splits are tested over seeds."""
    filters = filters or Filters(track=track)
    fields = check_grouping(group_by)
    board = leaderboard(store, split=split, confidence=confidence, filters=filters, group_by=fields)
    cases = case_values(store, filters, fields) if split == "test" and significance.test != "welch" else None
    return with_significance(board, cases, significance)


def tie_text(tied_with: object, untested: object, mark: str = "") -> str:
    """What a board shows of a competitor's ties: the ranks a test could not separate from it
    (``none``), then those it was not tested against; ``not testable`` when no pair of it was
    tested, ``-`` when it has nothing to be compared with. ``mark`` goes before each rank (``#``)."""
    missing = untested if isinstance(untested, str) else ""
    if not isinstance(tied_with, str):
        return "not testable" if missing else "-"
    marked = lambda text: ", ".join(mark + part for part in text.split(", "))  # noqa: E731
    return (marked(tied_with) if tied_with else "none") + (f"; untested: {marked(missing)}" if missing else "")
