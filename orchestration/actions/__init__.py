"""Alerts and playbooks: each account manager's weekly action list, its files, its optional
delivery by e-mail and the outcome of past actions (docs/actions.md)."""

from .files import csv_safe, render_csv, render_html, write_manager_files
from .mail import SmtpSettings, deliver, mask_address, read_recipients
from .rules import ActionSettings, build_actions, evaluate_outcomes, iso_week

__all__ = [
    "ActionSettings",
    "SmtpSettings",
    "build_actions",
    "csv_safe",
    "deliver",
    "evaluate_outcomes",
    "iso_week",
    "mask_address",
    "read_recipients",
    "render_csv",
    "render_html",
    "write_manager_files",
]
