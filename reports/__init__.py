"""Rendering results: leaderboard tables (tabulate), markdown reports per track; never imports torch."""
from reports.markdown import write_reports
from reports.tables import FORMATS, render_leaderboard, render_wide

__all__ = ["FORMATS", "render_leaderboard", "render_wide", "write_reports"]
