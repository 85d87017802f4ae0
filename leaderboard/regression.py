"""The CI regression gate: a committed baseline of per-seed results, and the check of current
results against it (``podium baseline save``, ``podium check``).

A row is one (track, task, dataset, configuration, metric): a configuration is the runs whose
resolved specs differ only in the seed (``config_id``), kept with its label, model and method for
display. Its values are per seed, taken from successful runs (when a results folder holds several
runs of one row and seed, the latest is the current one); current rows are matched to the
baseline's by config id, so a changed spec is a new configuration, not a regression of the old one.
A row regresses when it got worse beyond its tolerance, chosen in this order:

1. ``--tolerance METRIC=abs:A`` or ``METRIC=rel:R`` on the command line;
2. the spec's ``check: {METRIC: {abs: A}}`` (read from the runs' stored resolved specs);
3. the statistical default: with two or more seeds on both sides, a one-sided Welch t-test at
   level ``alpha`` that the mean got worse (or better). The p-values of all rows tested this way
   are adjusted together (Benjamini-Hochberg), so when nothing changed the chance that seed noise
   fails the build stays at ``alpha`` however many rows there are. With fewer than two seeds on a
   side, or no seed variance on either side (identical values for every seed, e.g. a top-5 accuracy
   of 1.0, where the test is undefined), the fixed ``FEW_SEEDS`` tolerance stands in: such values
   are deterministic on one machine but may move a little on another CPU, and CI runs elsewhere.

A fixed tolerance compares means: regressed when worse by more than the absolute amount, or by
more than ``rel`` times the baseline mean's magnitude. Timings (``duration_s``, a run's wall time,
lower is better) are kept in every baseline and checked only when asked, with ``TIMINGS`` as their
default tolerance, because wall time on shared CPUs is noisy.
"""
from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, model_validator
from scipy import stats
from tabulate import tabulate

from leaderboard.markup import md_frame, md_text
from leaderboard.store import Store
from specs.schema import Tolerance

BASELINE_VERSION = 2  # 2: a row per configuration; 1 pooled the configurations of a model and method
KEY = ("track", "task", "dataset", "config_id", "metric")
SHOWN = ("label", "model", "method")  # what names a row's configuration to a reader
DURATION = "duration_s"  # pseudo-metric: a run's wall time in seconds, lower is better
DEFAULT_ALPHA = 0.05
FEW_SEEDS = Tolerance(rel=0.02)  # fewer than two seeds on a side: no test is possible
TIMINGS = Tolerance(rel=0.5)  # 50% slower fails
PROVENANCE = {"podium_version": "podium_version", "git_commit": "git_commit", "torch": "torch", "device": "device_name"}
Verdict = Literal["ok", "improved", "regressed", "missing", "new"]
Key = tuple[str, str, str, str, str]
Finite = Annotated[float, Field(strict=True, allow_inf_nan=False)]  # a JSON number (an int too), never text or true/false
Seed = Annotated[int, Field(ge=0, le=2**63 - 1)]  # what a run's seed can be (numpy's generators take no negative seed)
Name = Annotated[str, Field(strict=True, min_length=1)]
Text = Annotated[str, Field(strict=True)]


class BaselineError(ValueError):
    """A baseline file that cannot be used: missing, not JSON, or not in the baseline schema."""


class ToleranceError(ValueError):
    """A tolerance that cannot be parsed (``--tolerance``) or is out of range."""


class BaselineRow(BaseModel):
    """One configuration's values of one metric per seed, and whether higher is better."""

    model_config = ConfigDict(extra="forbid")

    track: Name
    task: Name
    dataset: Name
    config_id: Name
    label: Name  # the configuration's label when the row was taken (labels can change; the id does not)
    model: Name
    method: Text  # "" for a run without a method
    metric: Name
    higher_is_better: StrictBool
    values: dict[Seed, Finite] = Field(min_length=1)  # seed -> value

    @property
    def key(self) -> Key:
        return (self.track, self.task, self.dataset, self.config_id, self.metric)

    @property
    def shown(self) -> tuple[str, str, str]:
        return (self.label, self.model, self.method)


class Baseline(BaseModel):
    """The committed baseline file: per-seed values of every row, with where they came from."""

    model_config = ConfigDict(extra="forbid")

    podium_baseline: Literal[2] = BASELINE_VERSION  # the file format's version
    created_at: Text
    split: Name
    track: Name | None = None  # None: every track of the results folder
    provenance: dict[str, list[Text]] = Field(default_factory=dict)  # distinct values over the runs
    rows: list[BaselineRow]  # none: every current row is new

    @model_validator(mode="after")
    def _unique_rows(self) -> Baseline:
        seen: set[Key] = set()
        for row in self.rows:
            if row.key in seen:
                raise ValueError(f"duplicate row {' / '.join(row.key)} ({row.label})")
            seen.add(row.key)
        return self


@dataclass(frozen=True)
class Snapshot:
    """The current results as rows, the spec's ``check`` tolerances per row, and their provenance."""

    rows: dict[Key, BaselineRow]
    checks: dict[Key, Tolerance]
    provenance: dict[str, list[str]]
    superseded: int  # runs left out because a later run of the same row and seed exists


def snapshot(store: Store, track: str | None = None, split: str = "test") -> Snapshot:
    """Per-seed values of every configuration and metric of ``split`` (and every configuration's
    ``duration_s``) from successful runs."""
    where, params = ("AND r.track = ?", [track]) if track else ("", [])
    entry = "r.track, r.task, r.dataset, r.config_id, coalesce(c.label, r.spec_name) AS label, r.model, coalesce(r.method, '') AS method"
    runs = store.query(
        f"""
        SELECT {entry}, m.metric, r.seed, m.value,
               coalesce(i.higher_is_better, true) AS higher_is_better, r.started_at, r.run_id, r.spec_json, r.env_json, r.device
        FROM runs r JOIN metrics m USING (run_id) LEFT JOIN metric_info i USING (metric) LEFT JOIN configs c USING (config_id)
        WHERE r.status = 'ok' AND m.split = ? {where}
        UNION ALL
        SELECT {entry}, '{DURATION}' AS metric, r.seed,
               round(r.duration_s, 2) AS value, false AS higher_is_better, r.started_at, r.run_id, r.spec_json, r.env_json, r.device
        FROM runs r LEFT JOIN configs c USING (config_id) WHERE r.status = 'ok' {where}
        """,
        [split, *params, *params],
    )
    latest = runs.sort_values(["started_at", "run_id"]).drop_duplicates([*KEY, "seed"], keep="last")
    rows: dict[Key, BaselineRow] = {}
    checks: dict[Key, Tolerance] = {}
    for key, group in latest.groupby(list(KEY), sort=True):
        last = group.iloc[-1]
        row = BaselineRow(**dict(zip(KEY, key)), **{name: str(last[name]) for name in SHOWN}, higher_is_better=bool(group["higher_is_better"].iloc[0]),
                          values={int(s): float(v) for s, v in sorted(zip(group["seed"], group["value"]))})
        rows[row.key] = row
        tolerance = _spec_tolerance(group["spec_json"].iloc[-1], row.metric)
        if tolerance is not None:
            checks[row.key] = tolerance
    return Snapshot(rows, checks, _provenance(latest), superseded=runs["run_id"].nunique() - latest["run_id"].nunique())


def _spec_tolerance(spec_json: str, metric: str) -> Tolerance | None:
    """The tolerance the run's spec sets under ``check`` for ``metric`` (or for its family, ``seg_iou`` of ``seg_iou/vessel``).
    A ``check`` that is not a valid one (a record edited by hand: its spec was validated when it ran)
    sets none, and the default rule judges the row."""
    spec = json.loads(spec_json)
    check = spec.get("check") if isinstance(spec, dict) else None
    if not isinstance(check, dict):
        return None
    entry = check.get(metric, check.get(metric.split("/")[0]))
    if entry is None:
        return None
    try:
        return Tolerance.model_validate(entry)
    except ValidationError:
        return None


def _provenance(runs: pd.DataFrame) -> dict[str, list[str]]:
    """Distinct Podium versions, commits, torch versions and devices of the runs."""
    unique = runs.drop_duplicates("run_id")
    found: dict[str, set[str]] = {name: set() for name in PROVENANCE}
    for env_json, device in zip(unique["env_json"], unique["device"]):
        env = json.loads(env_json)
        for name, field in PROVENANCE.items():
            value = env.get(field)
            if name == "device":  # cpu (x86_64), cuda:0 (NVIDIA H100 80GB HBM3)
                value = f"{device} ({value})" if value and value != device else device
            if value:
                found[name].add(str(value))
    return {name: sorted(values) for name, values in found.items() if values}


def baseline_from_store(store: Store, track: str | None = None, split: str = "test") -> Baseline:
    """The baseline of the store's current results (every row, durations included)."""
    current = snapshot(store, track, split)
    return Baseline(created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), split=split, track=track,
                    provenance=current.provenance, rows=list(current.rows.values()))


def write_baseline(baseline: Baseline, path: str | Path) -> Path:
    """Write the baseline as JSON with sorted keys and one value per line, so a changed number is a one-line diff."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = baseline.model_dump(mode="python")
    out.write_text(json.dumps(data, indent=1, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")
    return out


def read_baseline(path: str | Path) -> Baseline:
    """Read a baseline file; ``BaselineError`` names the file and what is wrong with it."""
    file = Path(path)
    if not file.is_file():
        raise BaselineError(f"{file}: no such baseline file (write one with `podium baseline save --out {file}`)")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise BaselineError(f"{file}: not valid JSON: {str(err).splitlines()[0] if str(err) else type(err).__name__}") from None
    except OSError as err:
        raise BaselineError(f"{file}: cannot be read: {err.strerror or err}") from None
    if isinstance(data, dict) and data.get("podium_baseline") == 1:
        again = f"podium baseline save{' --track ' + data['track'] if isinstance(data.get('track'), str) else ''} --out {file}"
        raise BaselineError(f"{file}: a version-1 baseline, whose rows pooled the configurations of a model and method; "
                            f"save a new one from results you trust with `{again}`") from None
    try:
        return Baseline.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise BaselineError(f"{file}: not a Podium baseline: {where}: {first['msg']}") from None


def parse_tolerance(text: str) -> tuple[str, Tolerance]:
    """``METRIC=abs:AMOUNT`` or ``METRIC=rel:FRACTION`` (the ``--tolerance`` option) as (metric, tolerance)."""
    metric, _, rule = text.partition("=")
    kind, _, amount = rule.partition(":")
    try:
        if not metric.strip() or kind not in ("abs", "rel"):
            raise ValueError
        return metric.strip(), Tolerance(**{kind: float(amount)})
    except ValueError:  # pydantic's ValidationError is a ValueError too
        raise ToleranceError(f"--tolerance {text!r}: expected METRIC=abs:AMOUNT or METRIC=rel:FRACTION with a non-negative number") from None


@dataclass(frozen=True)
class Comparison:
    """One compared row: its values on both sides, the rule that judged it, and the verdict."""

    key: Key
    shown: tuple[str, str, str]  # label, model, method of the configuration (the current one's when both sides have it)
    higher_is_better: bool
    baseline: tuple[float, ...]
    current: tuple[float, ...]
    rule: str
    verdict: Verdict

    @property
    def label(self) -> str:
        """track / task / dataset / configuration label (model method) / metric."""
        track, task, dataset, _, metric = self.key
        label, model, method = self.shown
        return f"{track} / {task} / {dataset} / {label} ({' '.join(p for p in (model, method) if p)}) / {metric}"

    @property
    def order(self) -> tuple[str, ...]:
        """Rows in reading order: by board, then configuration label, then metric."""
        track, task, dataset, config_id, metric = self.key
        return (track, task, dataset, *self.shown, config_id, metric)

    @property
    def difference(self) -> float:
        """Current mean minus baseline mean (NaN when a side is missing)."""
        if not self.baseline or not self.current:
            return math.nan
        return float(np.mean(self.current) - np.mean(self.baseline))


@dataclass(frozen=True)
class CheckResult:
    """Every compared row, and whether the gate fails."""

    rows: list[Comparison]
    alpha: float
    allow_missing: bool

    def count(self, verdict: Verdict) -> int:
        return sum(row.verdict == verdict for row in self.rows)

    @property
    def failing(self) -> list[Comparison]:
        """The rows that fail the gate: regressions, and missing rows unless they are allowed."""
        bad = {"regressed"} if self.allow_missing else {"regressed", "missing"}
        return [row for row in self.rows if row.verdict in bad]

    @property
    def passed(self) -> bool:
        return not self.failing


def check(
    baseline: Baseline, current: Snapshot, *, tolerances: dict[str, Tolerance] | None = None, alpha: float = DEFAULT_ALPHA,
    timings: bool = False, allow_missing: bool = False, track: str | None = None,
) -> CheckResult:
    """Compare ``current`` with ``baseline`` row by row (see the module's docstring for the rules)."""
    if not 0 < alpha < 1:
        raise ToleranceError(f"--alpha {alpha}: expected a level between 0 and 1")
    tolerances = tolerances or {}
    base = {row.key: row for row in baseline.rows if (track is None or row.track == track) and (timings or row.metric != DURATION)}
    now = {key: row for key, row in current.rows.items() if (track is None or row.track == track) and (timings or row.metric != DURATION)}
    compared: dict[Key, Comparison] = {}
    tested: list[tuple[BaselineRow, BaselineRow]] = []
    for key in sorted(base.keys() | now.keys()):
        old, new = base.get(key), now.get(key)
        if old is None or new is None:
            row = old or new
            compared[key] = Comparison(key, row.shown, row.higher_is_better, _values(old), _values(new), "", "new" if old is None else "missing")
            continue
        tolerance, source = rule_for(old, new, current.checks, tolerances)
        if tolerance is None:
            tested.append((old, new))
        else:
            compared[key] = _fixed(old, new, tolerance, source)
    for comparison in _tested(tested, alpha):
        compared[comparison.key] = comparison
    return CheckResult(sorted(compared.values(), key=lambda c: c.order), alpha, allow_missing)


def _values(row: BaselineRow | None) -> tuple[float, ...]:
    return () if row is None else tuple(row.values[seed] for seed in sorted(row.values))


def rule_for(old: BaselineRow, new: BaselineRow, checks: dict[Key, Tolerance], tolerances: dict[str, Tolerance]) -> tuple[Tolerance | None, str]:
    """The fixed tolerance that judges a row present on both sides and where it came from, or (None, "")
    when the Welch t-test does (the module's rules; ``podium plan`` asks the same question)."""
    tolerance, source = _chosen(old.key, checks, tolerances)
    if tolerance is None and min(len(old.values), len(new.values)) < 2:
        return FEW_SEEDS, "default: < 2 seeds"
    if tolerance is None and np.ptp(_values(old)) == 0 and np.ptp(_values(new)) == 0:
        return FEW_SEEDS, "default: no seed variance"
    return tolerance, source


def rule_text(tolerance: Tolerance, source: str) -> str:
    """A tolerance as the check's table shows it: ``abs 0.01 (spec)``."""
    rule = f"abs {tolerance.abs:g}" if tolerance.abs is not None else f"rel {tolerance.rel:g}"
    return f"{rule} ({source})"


def allowance(tolerance: Tolerance, baseline_mean: float) -> float:
    """How much worse than the baseline mean a row may get under ``tolerance``."""
    return tolerance.abs if tolerance.abs is not None else tolerance.rel * abs(baseline_mean)


def beyond(change: float, allowed: float, reference: float) -> bool:
    """Whether a change of the mean exceeds ``allowed``: a change of exactly the tolerance does not, float round-off aside."""
    return change > allowed + 1e-9 * max(allowed, reference) + 1e-12


def _chosen(key: Key, checks: dict[Key, Tolerance], tolerances: dict[str, Tolerance]) -> tuple[Tolerance | None, str]:
    """The row's tolerance and where it came from: command line, then spec, then (timings) the default; None: test."""
    metric = key[-1]
    for name in (metric, metric.split("/")[0]):
        if name in tolerances:
            return tolerances[name], "--tolerance"
    if key in checks:
        return checks[key], "spec"
    if metric == DURATION:
        return TIMINGS, "default: timings"
    return None, ""


def _worse_by(old: BaselineRow, new: BaselineRow) -> float:
    """How much worse the current mean is than the baseline's (negative: better)."""
    change = float(np.mean(_values(new)) - np.mean(_values(old)))
    return -change if old.higher_is_better else change


def _fixed(old: BaselineRow, new: BaselineRow, tolerance: Tolerance, source: str) -> Comparison:
    """Judge by a fixed tolerance on the means."""
    reference = abs(float(np.mean(_values(old))))
    allowed = allowance(tolerance, reference)
    worse = _worse_by(old, new)
    verdict: Verdict = "regressed" if beyond(worse, allowed, reference) else "improved" if beyond(-worse, allowed, reference) else "ok"
    return Comparison(old.key, new.shown, old.higher_is_better, _values(old), _values(new), rule_text(tolerance, source), verdict)


def _tested(pairs: list[tuple[BaselineRow, BaselineRow]], alpha: float) -> list[Comparison]:
    """Judge by one-sided Welch t-tests, their p-values adjusted together (Benjamini-Hochberg)."""
    if not pairs:
        return []
    p_worse, p_better = np.array([_one_sided(old, new) for old, new in pairs]).T
    worse = stats.false_discovery_control(p_worse)
    better = stats.false_discovery_control(p_better)
    rows = []
    for (old, new), pw, pb in zip(pairs, worse, better):
        verdict: Verdict = "regressed" if pw < alpha else "improved" if pb < alpha else "ok"
        p = pw if _worse_by(old, new) > 0 else pb
        rule = f"welch p={p:.2g} vs {alpha:g} (BH over {len(pairs)})"
        rows.append(Comparison(old.key, new.shown, old.higher_is_better, _values(old), _values(new), rule, verdict))
    return rows


def _one_sided(old: BaselineRow, new: BaselineRow) -> tuple[float, float]:
    """p-values of the one-sided Welch t-tests that the current mean is worse, and that it is better."""
    before, after = np.array(_values(old)), np.array(_values(new))
    lower, higher = ("less", "greater") if old.higher_is_better else ("greater", "less")
    with warnings.catch_warnings():  # nearly identical values warn about precision; the p-value is still right
        warnings.simplefilter("ignore", RuntimeWarning)
        worse = stats.ttest_ind(after, before, equal_var=False, alternative=lower).pvalue
        better = stats.ttest_ind(after, before, equal_var=False, alternative=higher).pvalue
    return float(worse), float(better)


def render(result: CheckResult, fmt: Literal["table", "md"] = "table") -> str:
    """The compared rows as a terminal table or as markdown for a pull-request comment, with a summary."""
    columns = ["track", "task", "dataset", *SHOWN, "metric"]
    table = pd.DataFrame(
        [
            {"track": row.key[0], "task": row.key[1], "dataset": row.key[2], **dict(zip(SHOWN, row.shown)), "metric": row.key[4],
             "baseline": _mean(row.baseline), "current": _mean(row.current),
             "n": f"{len(row.baseline)}/{len(row.current)}", "diff": _signed(row.difference),
             "better": "higher" if row.higher_is_better else "lower", "tolerance": row.rule, "verdict": row.verdict}
            for row in result.rows
        ],
        columns=[*columns, "baseline", "current", "n", "diff", "better", "tolerance", "verdict"],
    )
    summary = _summary(result)
    failing = [f"{row.verdict}: {row.label}: {_mean(row.baseline)} -> {_mean(row.current)} ({row.rule or _why_missing(row, result)})"
               for row in result.failing]
    if fmt == "md":  # a pull-request comment: names and labels escaped, so they stay text (leaderboard.markup)
        body = tabulate(md_frame(table), headers="keys", tablefmt="github", showindex=False, disable_numparse=True)
        head = f"### Podium regression check: {'passed' if result.passed else 'FAILED'}\n\n{summary}"
        return "\n\n".join([head, *(["\n".join(f"- **{md_text(line)}**" for line in failing)] if failing else []), body])
    body = tabulate(table, headers="keys", tablefmt="simple", showindex=False, disable_numparse=True)
    return "\n".join([body, "", *failing, summary])


def _why_missing(row: Comparison, result: CheckResult) -> str:
    """A missing row has no values; when the results hold a new configuration of the same model and
    method on its board, say so: its spec changed, so it is another configuration, not the same one."""
    def same(other: Comparison) -> bool:
        return other.verdict == "new" and other.key[:3] == row.key[:3] and other.key[4] == row.key[4] and other.shown[1:] == row.shown[1:]

    successors = [other.shown[0] for other in result.rows if same(other)]
    if row.verdict != "missing" or not successors:
        return "no values"
    return f"no values; new configurations of the same model and method, whose resolved spec differs: {', '.join(successors)}"


def _summary(result: CheckResult) -> str:
    counts = ", ".join(f"{result.count(v)} {v}" for v in ("regressed", "missing", "improved", "new", "ok"))
    allowed = " (missing rows allowed)" if result.allow_missing and result.count("missing") else ""
    return f"{len(result.rows)} rows compared: {counts}{allowed}; default test level {result.alpha:g}"


def _mean(values: tuple[float, ...]) -> str:
    return f"{np.mean(values):.4g}" if values else "-"


def _signed(value: float) -> str:
    return "" if math.isnan(value) else f"{value:+.4g}"
