"""Executing runs: identity, seeds, device, provenance, caching, executors, and the CLI.

Nothing imports this package but the CLI; the modules here import torch only where a run needs it.
"""
