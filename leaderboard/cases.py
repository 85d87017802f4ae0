"""Challenge results from a file, without a results folder: challengeR's long format, one row per
(task, case, algorithm) with its metric value, in CSV or parquet, ranked by every method with the
bootstrap (``podium rank --cases FILE``, ``podium report --cases FILE``).

Columns: ``case``, ``algorithm``, ``value`` (a number; empty, ``NA`` or ``NaN`` is a missing
result), ``task`` (optional: without it the file is one task, named after the file), and
``direction`` (optional: ``higher`` or ``lower``, which values are better, the same on every row of a
task; ``--direction`` gives it for the whole file). Other columns are ignored. A case an algorithm
has no row for is a missing result, as challengeR's ``as.challenge`` inserts it; a case that appears
twice for one algorithm is refused, as there.

Every problem is a ``CasesError`` with one line saying what and where (the row as the file counts
them, the header being row 1 of a CSV).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from leaderboard.challenge import Algorithm, Board, consensus_table, stability_of
from leaderboard.ranking import METHODS, PODIUM, Method, MissingValues, Rules, Stability, rank

REQUIRED = ("case", "algorithm", "value")
DIRECTIONS = {"higher": True, "lower": False}
MISSING_TEXT = {"", "na", "nan", "null", "none"}  # values read as a missing result (any case)
MOST_BYTES = 2**30  # a bigger file is refused before it is read
MOST_CELLS = 2**26  # algorithms x cases of one task (512 MB of values): a sparser file is refused


class CasesError(ValueError):
    """A cases file that cannot be ranked: what is wrong, in one line (without the file's name)."""


@dataclass(frozen=True)
class TaskMatrix:
    """One task of a cases file: its algorithms x cases values (NaN: missing) and its direction."""

    task: str
    algorithms: list[str]
    cases: list[str]
    values: np.ndarray
    higher_is_better: bool

    @property
    def missing(self) -> int:
        return int(np.isnan(self.values).sum())


@dataclass(frozen=True)
class CaseTable:
    """A cases file read: its tasks in the order they first appear."""

    path: Path
    tasks: list[TaskMatrix]

    @property
    def name(self) -> str:
        return self.path.stem


def read_cases(path: str | Path, direction: str | None = None) -> CaseTable:
    """Read and check a cases file (CSV, or parquet by its ``.parquet`` / ``.pq`` suffix);
    ``direction`` (``higher`` / ``lower``) is the metric's for every task, else the file's
    ``direction`` column says it. ``CasesError`` for anything that cannot be ranked."""
    path = Path(path)
    if direction is not None and direction not in DIRECTIONS:
        raise CasesError(f"unknown direction {direction!r}: expected higher or lower")
    frame, first_row = _read(path)
    return CaseTable(path, tasks_of(frame, direction, default_task=path.stem, first_row=first_row))


def tasks_of(frame: pd.DataFrame, direction: str | None = None, *, default_task: str = "task", first_row: int = 1) -> list[TaskMatrix]:
    """The tasks of a long-format frame (columns as ``read_cases`` reads them; ``default_task`` names
    the one task of a frame without a task column; ``first_row`` is the first data row's number in
    messages). ``CasesError`` for anything that cannot be ranked."""
    if direction is not None and direction not in DIRECTIONS:
        raise CasesError(f"unknown direction {direction!r}: expected higher or lower")
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns)) or "none"
        raise CasesError(f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} (challengeR's long format: "
                         f"task, case, algorithm, value; found: {found})")
    if frame.empty:
        raise CasesError("no rows: expected one row per task, case and algorithm")
    rows = pd.DataFrame({
        "task": _names(frame, "task", first_row, default=default_task) if "task" in frame.columns else default_task,
        "case": _names(frame, "case", first_row),
        "algorithm": _names(frame, "algorithm", first_row),
        "value": _numbers(frame["value"], first_row),
    })
    twice = rows.duplicated(["task", "case", "algorithm"], keep="first")
    if twice.any():
        at = int(np.flatnonzero(twice.to_numpy())[0])
        row = rows.iloc[at]
        raise CasesError(f"row {at + first_row}: algorithm {row.algorithm!r} has case {row.case!r} twice in task {row.task!r} "
                         "(one row per task, case and algorithm)")
    directions = _directions(frame, rows, direction, first_row)
    tasks = []
    for task in pd.unique(rows["task"]):
        part = rows[rows["task"] == task]
        algorithms = sorted(pd.unique(part["algorithm"]).tolist())
        cases = pd.unique(part["case"]).tolist()
        if len(algorithms) * len(cases) > MOST_CELLS:
            raise CasesError(f"task {task!r}: {len(algorithms)} algorithms x {len(cases)} cases is more than the {MOST_CELLS:,} "
                             "results a task may hold")
        matrix = part.pivot(index="algorithm", columns="case", values="value").reindex(index=algorithms, columns=cases)
        tasks.append(TaskMatrix(str(task), algorithms, [str(c) for c in cases], matrix.to_numpy(float), directions[task]))
    return tasks


def _read(path: Path) -> tuple[pd.DataFrame, int]:
    """The file as a frame of text (CSV) or its own types (parquet), and the number of its first data row."""
    if not path.is_file():
        raise CasesError("no such file" if not path.exists() else "not a file")
    size = path.stat().st_size
    if size == 0:
        raise CasesError("empty file: expected a header (task, case, algorithm, value) and one row per task, case and algorithm")
    if size > MOST_BYTES:
        raise CasesError(f"{size / 2**30:.3g} GiB: larger than the {MOST_BYTES // 2**30} GiB a cases file may be")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
            first = 1
        elif suffix in (".csv", ".txt", ""):
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True, encoding="utf-8-sig")
            first = 2  # the header is row 1
        elif suffix == ".tsv":
            frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, encoding="utf-8-sig")
            first = 2
        else:
            raise CasesError(f"unknown file type {path.suffix!r}: expected .csv, .tsv or .parquet")
    except CasesError:
        raise
    except pd.errors.EmptyDataError:
        raise CasesError("empty file: expected a header (task, case, algorithm, value) and one row per task, case and algorithm") from None
    except UnicodeDecodeError as err:
        raise CasesError(f"not UTF-8 text (byte {err.start}): expected a CSV file") from None
    except (pd.errors.ParserError, ValueError, OSError) as err:
        text = " ".join(str(err).split()) or type(err).__name__
        raise CasesError(f"cannot read it as {'parquet' if suffix in ('.parquet', '.pq') else 'CSV'}: {text[:200]}") from None
    except Exception as err:  # pyarrow's own errors for a damaged parquet file
        text = " ".join(str(err).split()) or type(err).__name__
        raise CasesError(f"cannot read it as parquet: {text[:200]}") from None
    return frame, first


def _names(frame: pd.DataFrame, column: str, first_row: int, default: str | None = None) -> pd.Series:
    """A column of names as text; an empty one is refused (or ``default`` for the task)."""
    values = frame[column]
    text = values.map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip())
    empty = text == ""
    if empty.any():
        if default is not None:
            return text.where(~empty, default)
        at = int(np.flatnonzero(empty.to_numpy())[0])
        raise CasesError(f"row {at + first_row}: empty {column} name")
    return text


def _numbers(values: pd.Series, first_row: int) -> np.ndarray:
    """The value column as floats (NaN: missing); text that is not a number, or an infinite one, is refused."""
    if pd.api.types.is_bool_dtype(values):
        raise CasesError("column value holds true/false, not numbers")
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        bad = np.flatnonzero(np.isinf(numbers))
        if len(bad):
            raise CasesError(f"row {bad[0] + first_row}: value {numbers[bad[0]]} is not a finite number")
        return numbers
    text = values.map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip())
    missing = text.str.lower().isin(MISSING_TEXT).to_numpy()
    numbers = pd.to_numeric(text.where(~missing, "nan"), errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(np.isnan(numbers) & ~missing)
    if len(bad):
        shown = text.iloc[bad[0]]
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise CasesError(f"row {bad[0] + first_row}: value {shown!r} is not a number (a missing result is empty or NA)")
    infinite = np.flatnonzero(np.isinf(numbers))
    if len(infinite):
        raise CasesError(f"row {infinite[0] + first_row}: value {text.iloc[infinite[0]]!r} is not a finite number (a missing result is empty or NA)")
    return numbers


def _directions(frame: pd.DataFrame, rows: pd.DataFrame, given: str | None, first_row: int) -> dict[str, bool]:
    """Whether higher is better, per task: ``given`` for all, else the file's direction column."""
    tasks = pd.unique(rows["task"]).tolist()
    if "direction" not in frame.columns:
        if given is None:
            raise CasesError("no direction: give --direction higher or lower, or a direction column (higher or lower)")
        return {task: DIRECTIONS[given] for task in tasks}
    declared = frame["direction"].map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip().lower())
    out = {}
    for task in tasks:
        at = np.flatnonzero((rows["task"] == task).to_numpy())
        named = [d for d in pd.unique(declared.iloc[at]) if d]
        unknown = [d for d in named if d not in DIRECTIONS]
        if unknown:
            row = at[int(np.flatnonzero((declared.iloc[at] == unknown[0]).to_numpy())[0])]
            raise CasesError(f"row {row + first_row}: unknown direction {unknown[0]!r}: expected higher or lower")
        if len(named) > 1:
            raise CasesError(f"task {task!r} declares both higher and lower as its direction")
        if given is not None:
            if named and named[0] != given:
                raise CasesError(f"--direction {given}, but the file declares {named[0]} for task {task!r}")
            out[task] = DIRECTIONS[given]
        elif not named:
            raise CasesError(f"task {task!r}: no direction declared (give --direction higher or lower, or fill its direction column)")
        else:
            out[task] = DIRECTIONS[named[0]]
    return out


# ---------------------------------------------------------------- ranking a cases file


def case_boards(table: CaseTable, method: Method = "mean", resamples: int = 1000, seed: int = 0, rules: Rules = PODIUM) -> list[Board]:
    """Each task of ``table`` ranked by ``method`` under ``rules``, with its bootstrap (a task with a
    single case or a single algorithm is ranked but not resampled). ``MissingValues`` names the task
    whose missing results the rules refuse."""
    if method not in METHODS:
        raise ValueError(f"method {method!r}: expected one of {', '.join(METHODS)}")
    boards = []
    for task in table.tasks:
        algorithms = [Algorithm(name, "", "", name) for name in task.algorithms]
        try:
            if len(task.algorithms) < 2:
                stability = Stability.unresampled(rank(task.values, task.higher_is_better, method, rules), "only 1 algorithm")
            else:
                stability = stability_of(task.values, task.higher_is_better, method, resamples, seed, rules)
        except MissingValues as err:
            raise MissingValues(f"task {task.task!r}: {err}") from None
        boards.append(Board(task.task, table.name, algorithms, task.values, task.higher_is_better, stability, (), method, rules))
    return boards


def board_table(board: Board) -> pd.DataFrame:
    """A cases board as a table: rank, algorithm, its mean over the cases it has, and the bootstrap
    rank distribution (median, 95% interval, how often first)."""
    frame = board.table().drop(columns=["model", "method"]).rename(columns={"label": "algorithm"})
    return frame


def methods_table(boards_by_method: dict[str, Board]) -> pd.DataFrame:
    """One task's algorithms with their rank by each method (columns in ``boards_by_method``'s order)."""
    first = next(iter(boards_by_method.values()))
    frame = pd.DataFrame({"algorithm": [a.label for a in first.algorithms]})
    for method, board in boards_by_method.items():
        frame[method] = board.stability.ranks
    return frame.sort_values([*boards_by_method, "algorithm"]).reset_index(drop=True)


def cases_consensus(boards: list[Board]) -> pd.DataFrame:
    """One ranking over the tasks of a cases file (one method): each algorithm's mean rank over the
    tasks, ranked; an algorithm absent from a task counts as that task's worst rank plus one."""
    table = consensus_table([(board.ranked_by, board) for board in boards])
    renamed = {f"{board.task}/{board.dataset}/{board.ranked_by}": board.task for board in boards}
    return table.drop(columns=["model", "method"]).rename(columns={"label": "algorithm", **renamed})
