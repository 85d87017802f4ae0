"""The local executor (the default): the pending runs one after another, in this process."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from runners.execute import DataCache, execute
from runners.executors import ExecutorError, Finished, Pending
from runners.progress import SweepReporter
from runners.records import ResultsDir


class LocalExecutor:
    """Runs each pending run in turn, with a live bar on a terminal; runs sharing a dataset load it once."""

    def run(
        self, pending: Sequence[Pending], results: ResultsDir, device: str | None, reporter: SweepReporter,
        admit: Callable[[Pending], bool] | None = None,
    ) -> Iterator[Finished]:
        """Execute the runs in sweep order, each once ``admit`` lets it start, yielding each when it is done."""
        data_cache = DataCache(results.cache / "data", results.root)
        for item in pending:
            if admit is not None and not admit(item):
                continue
            record, extras = execute(item.run, results, device, reporter.bar(), data_cache)
            yield Finished(item, record, extras)


def create(*, address: str | None = None, max_parallel: int | None = None) -> LocalExecutor:
    """The local executor; it takes no cluster options."""
    if address is not None or max_parallel is not None:
        raise ExecutorError("--address and --max-parallel are options of a distributed executor (--executor ray)")
    return LocalExecutor()
