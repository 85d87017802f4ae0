"""Any Hugging Face ``evaluate`` module as a metric: ``metrics: [{evaluate: path/or/hub-name}]``.

``evaluate.load`` reads a local module folder offline; hub names are fetched over the network
(set ``HF_EVALUATE_OFFLINE=1`` to fail fast without one). The module is called as
``compute(predictions=argmax(scores), references=labels)``, after the check every metric of class
scores shares (``registry.metrics.class_scores``: no samples, labels outside 0..C-1, or NaN or +inf
scores raise ``MetricInputError``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from registry.metrics import Metric, class_scores
from specs.schema import EvaluateMetric


class EvaluateModuleMetric(Metric):
    """Adapter from an ``evaluate`` module to Podium's metric interface."""

    def __init__(self, ref: EvaluateMetric):
        try:
            import evaluate
        except ImportError:
            raise ImportError("the evaluate adapter needs the evaluate package: pip install 'podium[evaluate]'") from None
        location = str(Path(ref.evaluate).resolve()) if Path(ref.evaluate).exists() else ref.evaluate
        try:
            self.module: Any = evaluate.load(location)
        except Exception as err:  # evaluate raises many kinds (FileNotFoundError, ConnectionError, ...)
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise LookupError(f"cannot load evaluate module {ref.evaluate!r}: {first}") from None
        self.key = ref.key
        self.name = ref.metric_name
        self.higher_is_better = ref.higher_is_better  # type: ignore[misc]

    def __call__(self, scores: np.ndarray, labels: np.ndarray) -> float:
        scores, labels = class_scores(scores, labels)  # the check every metric of class scores shares
        result = self.module.compute(predictions=np.argmax(scores, axis=1).tolist(), references=labels.tolist())
        if not result:
            raise ValueError(f"evaluate module {self.name!r} returned no values")
        key = self.key or next(iter(result))
        if key not in result:
            raise KeyError(f"evaluate module {self.name!r} has no result {key!r} (it has {', '.join(result)})")
        return float(result[key])
