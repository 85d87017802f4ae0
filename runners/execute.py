"""Executing one run: seed, device, build the registry objects, call the task, write the record.

Whatever goes wrong inside a run (an exception, a non-finite loss, the timeout) becomes a
``failed`` record with the reason; the traceback goes beside it in ``error.txt``. A metric that
raises fails the run too, but keeps the metrics that did compute (``runners.metric_guard``).

``DataPath`` parameters of the dataset, the models and the task are resolved against the spec
file's folder (``registry.paths``) before they are built; the record keeps the spec as written.
"""
from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
import traceback
from pathlib import Path
from datetime import datetime, timezone
from typing import Any, Iterator

import torch

from registry import DATASETS, MODELS, TASKS, Registry, load_all
from registry.context import ExtraRun, NoProgress, Progress, RunContext, RunTimeout, TaskResult
from registry.metrics import build_metric
from registry.paths import resolved_params
from runners.device import device_name, resolve_device
from runners.identity import config_id, resolved_spec, run_id
from runners.metric_guard import GuardedMetric, MetricFailures
from runners.provenance import provenance
from runners.records import ResultsDir
from runners.seeding import seed_everything
from specs.loader import RunSpec
from specs.record import RunRecord
from specs.schema import Component, Spec


class DataCache:
    """Keeps the most recent dataset of a sweep in memory (on its device), so runs that share a
    dataset load and transfer it once. Loading is deterministic, so sharing changes no result."""

    def __init__(self, cache_root: Path | None = None, results_root: Path | None = None) -> None:
        self._key: str | None = None
        self._data: Any = None
        self._harness = {"cache_dir": cache_root, "results_dir": results_root}  # what a dataset may ask for positionally

    def get(self, dataset: Component, device: torch.device) -> Any:
        """The data of ``dataset``, whose DataPath parameters are resolved already (they are part of the key)."""
        key = f"{dataset.model_dump_json()}@{device}"
        if key != self._key:
            self._data = None  # free the previous one first
            entry = DATASETS.get(dataset.name)
            harness = {name: self._harness[name] for name in entry.harness_names}
            data = entry.build(harness=harness, params=dataset.params)
            self._data, self._key = (data.to(device) if hasattr(data, "to") else data), key
        return self._data


def execute(run: RunSpec, results: ResultsDir, device_override: str | None = None, progress: Progress | None = None, data_cache: DataCache | None = None) -> tuple[RunRecord, list[RunRecord]]:
    """Run one (spec, seed); return its record and the records of side runs (teachers), all written."""
    load_all()
    spec = run.spec
    started_at = datetime.now(timezone.utc).isoformat()
    start = time.monotonic()
    device_label = device_override or spec.device
    base = _record_fields(run, started_at)
    extras: list[RunRecord] = []
    try:
        with torch_threads(spec.resources.cpus):
            seed_everything(run.seed)
            device = resolve_device(device_label)
            device_label = str(device)
            built = [build_metric(ref) for ref in spec.metrics]
            failures = MetricFailures([m.name for m in built])
            metric_objects = [GuardedMetric(m, failures) for m in built]
            directions = {m.name: m.higher_is_better for m in metric_objects}
            data_cache = data_cache or DataCache(results.cache / "data", results.root)
            result = _run_task(run, results, device, metric_objects, progress or NoProgress(), data_cache, start)
            provenance_facts = _provenance(device)
        metrics, dropped = _finite(result.metrics)
        dropped = [entry for entry in dropped if entry.split("/")[1] not in failures]  # those failed; not undefined
        directions.update(result.higher_is_better)
        bounds = {**{m.name: m.bounds for m in metric_objects if m.bounds is not None}, **result.bounds}
        for name in {n for values in metrics.values() for n in values}:  # per-class entries ("seg_iou/cell")
            directions.setdefault(name, directions.get(name.split("/")[0], True))
            if name.split("/")[0] in bounds:
                bounds.setdefault(name, bounds[name.split("/")[0]])
        cases, undefined = _cases(result.cases, failures)
        info = {**result.info, **({"non_finite_metrics": dropped} if dropped else {}), **({"non_finite_cases": undefined} if undefined else {})}
        if failures:  # the metrics that computed are kept; the run is failed, naming the others
            _write_details(results, run, failures.details())
        # a side run trained here (a teacher) has its time on its own record, not in this run's
        trained_here = sum(extra.duration_s for extra in result.extra_runs if extra.trained_here)
        record = RunRecord(
            **base, status="failed" if failures else "ok", error=failures.message() or None, duration_s=time.monotonic() - start - trained_here,
            device=device_label, metrics=metrics, higher_is_better=directions, bounds=bounds, provenance=provenance_facts, info=info, cases=cases,
        )
        extras = [_extra_record(run, extra, device, directions, bounds, provenance_facts) for extra in result.extra_runs]
        for made in (record, *extras):
            made.model_dump_json()  # a task's info that cannot be stored fails the run, not the sweep
    except Exception as err:  # a failed run is data, not a crash: store it and go on
        record = failed_record(
            run, f"{type(err).__name__}: {err}".strip(), results, details=traceback.format_exc(), started_at=started_at,
            duration_s=time.monotonic() - start, device=device_label,
        )
    results.write(record)
    written = []
    for extra in extras:
        stored = results.read(extra.run_id)
        if stored is None or stored.status != "ok":
            results.write(extra)
            written.append(extra)
    return record, written


def failed_record(run: RunSpec, error: str, results: ResultsDir, *, details: str, started_at: str, duration_s: float, device: str) -> RunRecord:
    """The ``failed`` record of a run, its ``details`` (a traceback) written beside it in ``error.txt``;
    the caller writes the record. Executors use it for runs that could not report their own failure."""
    load_all()
    _write_details(results, run, details)
    return RunRecord(**_record_fields(run, started_at), status="failed", error=error, duration_s=duration_s, device=device, provenance=_provenance(None))


def _write_details(results: ResultsDir, run: RunSpec, details: str) -> None:
    """What a failed run's record cannot hold (tracebacks), in ``error.txt`` beside it."""
    folder = results.run_dir(run_id(run))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "error.txt").write_text(details, encoding="utf-8")


@contextlib.contextmanager
def torch_threads(cpus: float | None) -> Iterator[None]:
    """Run with one torch thread per CPU the run asks for, then restore: float results on the CPU
    depend on the thread count, so this makes them the same under every executor. None: leave it."""
    if cpus is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, int(cpus)))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _record_fields(run: RunSpec, started_at: str) -> dict[str, Any]:
    """What every record of a run has, whatever its outcome."""
    spec = run.spec
    return dict(
        run_id=run_id(run), config_id=config_id(run), spec_name=spec.name, track=spec.track, task=spec.task.name, dataset=dataset_label(spec),
        model=entry_label(MODELS, spec.model), method=spec.method, seed=run.seed, started_at=started_at, spec=resolved_spec(run),
    )


def dataset_label(spec: Spec) -> str:
    """The dataset column of the leaderboard for this spec (see ``Entry.label``)."""
    return entry_label(DATASETS, spec.dataset)


def entry_label(registry: Registry, component: Component) -> str:
    """The name a component's results are filed under: its entry's label of its params."""
    return registry.get(component.name).label(component.params)


def _run_task(
    run: RunSpec, results: ResultsDir, device: torch.device, metrics: list[Any], progress: Progress, data_cache: DataCache, start: float
) -> TaskResult:
    spec = run.spec
    dataset = resolve_paths(DATASETS, spec.dataset, run.source)
    data = data_cache.get(dataset, device)
    available = getattr(data, "model_args", {})

    def build_model(component: Component) -> Any:
        component = resolve_paths(MODELS, component, run.source)
        entry = MODELS.get(component.name)
        missing = [name for name in entry.harness_names if name not in available]
        if missing:
            raise TypeError(
                f"model {component.name!r} needs {', '.join(missing)}, which dataset {spec.dataset.name!r} does not provide "
                f"(it provides {', '.join(available) or 'nothing'})"
            )
        return entry.build(harness={name: available[name] for name in entry.harness_names}, params=component.params)

    task = resolve_paths(TASKS, spec.task, run.source)
    ctx = RunContext(
        seed=run.seed, device=device, data=data, model=resolve_paths(MODELS, spec.model, run.source), dataset=dataset,
        metrics=metrics, cache_dir=results.cache,
        run_dir=results.run_dir(run_id(run)), progress=progress, build_model=build_model,
        deadline=None if spec.timeout_s is None else start + spec.timeout_s,
    )
    with _alarm(spec.timeout_s, start):
        return TASKS.get(task.name).build(ctx, params=task.params)


def resolve_paths(registry: Registry, component: Component, spec_file: str) -> Component:
    """``component`` with its DataPath parameters made absolute against the spec file's folder
    (``registry.paths``); the same object when it has none."""
    params = resolved_params(registry.get(component.name).params_model, component.params, spec_file)
    return component if params is component.params else component.model_copy(update={"params": params})


@contextlib.contextmanager
def _alarm(timeout_s: float | None, start: float) -> Iterator[None]:
    """Backstop for tasks that do not call ``ctx.check()``: SIGALRM at the deadline (main thread only)."""
    if timeout_s is None or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise RunTimeout(f"run exceeded its timeout_s of {timeout_s:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(1e-3, start + timeout_s - time.monotonic()))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _finite(metrics: dict[str, dict[str, float]]) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Metrics as floats without non-finite values (an undefined metric is dropped and noted)."""
    kept: dict[str, dict[str, float]] = {}
    dropped: list[str] = []
    for split, values in metrics.items():
        kept[split] = {}
        for name, value in values.items():
            if math.isfinite(float(value)):
                kept[split][name] = float(value)
            else:
                dropped.append(f"{split}/{name}")
    return kept, dropped


def _cases(cases: dict[str, list[float]], failures: MetricFailures) -> tuple[dict[str, list[float]], list[str]]:
    """Per-case values as floats, those of failed metrics left out; a non-finite value (undefined on
    its case) becomes NaN, a missing case, which rankings count as the worst; the metrics that had
    one are named."""
    kept: dict[str, list[float]] = {}
    undefined: list[str] = []
    for name, values in cases.items():
        if name in failures:
            continue
        floats = [float(v) for v in values]
        if not all(math.isfinite(v) for v in floats):
            undefined.append(name)
            floats = [v if math.isfinite(v) else math.nan for v in floats]
        kept[name] = floats
    return kept, undefined


def _provenance(device: torch.device | None) -> dict[str, Any]:
    facts = dict(provenance())
    if device is not None:
        facts["device_name"] = device_name(device)
        facts["torch_threads"] = torch.get_num_threads()  # CPU results depend on it
    return facts


def _extra_record(
    run: RunSpec, extra: ExtraRun, device: torch.device, directions: dict[str, bool], bounds: dict[str, Any], facts: dict[str, Any],
) -> RunRecord:
    """The record of a side run (a teacher): the run's spec with its model and task settings; a
    reference on its boards, never a competitor."""
    spec = resolved_spec(run)
    spec["seeds"] = [extra.seed]
    spec["model"] = extra.model.model_dump(mode="json")
    spec["task"] = {"name": run.spec.task.name, "params": extra.task_params}
    return RunRecord(
        run_id=extra.run_id, spec_name=run.spec.name, track=run.spec.track, task=run.spec.task.name,
        dataset=dataset_label(run.spec), model=entry_label(MODELS, extra.model), method=extra.method, seed=extra.seed,
        reference=True, status="ok", started_at=datetime.now(timezone.utc).isoformat(), duration_s=extra.duration_s,
        device=str(device), spec=spec, metrics=_finite(extra.metrics)[0], higher_is_better=directions, bounds=bounds,
        provenance=facts, info=extra.info,
    )
