"""Datasets: one module per family, each entry registered with ``DATASETS.register``."""


class DatasetUnavailable(RuntimeError):
    """A dataset cannot be read: the hub or server is unreachable, files are missing or malformed,
    or an optional package is not installed. The message says which, and what to do."""
