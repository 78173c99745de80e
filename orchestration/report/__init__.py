"""The loyalty and due-diligence report (METRICS A–H for a chosen as-of date), one
self-contained HTML file in Chinese or English. See docs/report.md."""

from .builder import build_report, render_report

__all__ = ["build_report", "render_report"]
