"""Which runs and metrics a board, a ranking or a listing is over (``podium leaderboard --model ...``)."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Filters:
    """Which runs and metrics a board shows; empty tuples mean all."""

    track: str | None = None
    metrics: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # runs carrying any of these tags
    specs: tuple[str, ...] = ()  # spec names

    def runs_sql(self, alias: str = "r") -> tuple[str, list]:
        """``AND ...`` conditions on the runs table (aliased ``alias``) and their parameters."""
        conditions, params = [], []
        if self.track is not None:
            conditions.append(f"{alias}.track = ?")
            params.append(self.track)
        for column, values in (("dataset", self.datasets), ("model", self.models), ("spec_name", self.specs)):
            if values:
                conditions.append(f"{alias}.{column} IN ({', '.join('?' * len(values))})")
                params += list(values)
        if self.methods:
            conditions.append(f"coalesce({alias}.method, '') IN ({', '.join('?' * len(self.methods))})")
            params += list(self.methods)
        if self.tags:
            conditions.append(f"{alias}.run_id IN (SELECT run_id FROM tags WHERE tag IN ({', '.join('?' * len(self.tags))}))")
            params += list(self.tags)
        return "".join(f" AND {c}" for c in conditions), params

    def metrics_sql(self, column: str) -> tuple[str, list]:
        """``AND ...`` keeping the metric names in ``column`` that ``keeps_metric`` keeps, and its parameters."""
        if not self.metrics:
            return "", []
        marks = ", ".join("?" * len(self.metrics))
        return f" AND ({column} IN ({marks}) OR split_part({column}, '/', 1) IN ({marks}))", [*self.metrics, *self.metrics]

    def keeps_metric(self, metric: pd.Series) -> pd.Series:
        """Which metric names pass (a per-class ``seg_iou/cell`` passes with ``seg_iou``)."""
        if not self.metrics:
            return pd.Series(True, index=metric.index)
        return metric.isin(self.metrics) | metric.str.split("/", n=1).str[0].isin(self.metrics)
