"""The decision document: archive -> view model -> HTML -> PDF."""

from roadtest.report.diff_view import render_diff_page
from roadtest.report.render import render_html, write_pdf
from roadtest.report.view import ReportView, build_view

__all__ = ["ReportView", "build_view", "render_diff_page", "render_html", "write_pdf"]
