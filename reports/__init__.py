"""Rendering results: leaderboard tables (tabulate), markdown reports per track; never imports torch."""
from reports.markdown import write_reports
from reports.tables import FORMATS, render_leaderboard

__all__ = ["FORMATS", "render_leaderboard", "write_reports"]
