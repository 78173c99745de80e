"""Optional delivery of each manager's files by e-mail, and the record of what was sent.

Off unless `WH_SMTP_HOST` is set. Settings (`orchestration.settings.Settings`): `WH_SMTP_HOST`,
`WH_SMTP_PORT` (25), `WH_SMTP_FROM` (required with a host), `WH_SMTP_USER` and
`WH_SMTP_PASSWORD` (optional: login when a user is given), `WH_SMTP_STARTTLS` (1 = upgrade the
connection first; default 0). Managers' addresses come from a CSV file with the columns
`manager_id,email` (`WH_ACTIONS_RECIPIENTS`); the warehouse holds no address (personal data).
The record, `analytics.action_deliveries`, keeps a masked address only.
"""

from __future__ import annotations

import csv
import datetime as dt
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pandas as pd

from ..settings import Settings

DELIVERY_COLUMNS = {
    "week": str,
    "manager_id": str,
    "recipient_masked": str,
    "files": str,
    "sent_at": "datetime64[us]",  # a time (dates are datetime64[ns], written as DATE)
    "status": str,
    "error": str,
}
MIME_TYPES = {".html": ("text", "html"), ".csv": ("text", "csv")}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = ""
    user: str | None = None
    password: str | None = None
    starttls: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSettings | None:
        """The SMTP settings of the warehouse settings, or None when `smtp_host`
        (`WH_SMTP_HOST`) is unset: delivery off. `Settings.from_env` has checked that a host
        comes with a sender."""
        if not settings.smtp_host:
            return None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from or "",
            user=settings.smtp_user,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )


def read_recipients(path: Path | None) -> dict[str, str]:
    """{manager_id: address} from a `manager_id,email` CSV file; {} without a file."""
    if path is None:
        return {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return {
            row["manager_id"].strip(): row["email"].strip()
            for row in csv.DictReader(fh)
            if row.get("manager_id") and row.get("email")
        }


def mask_address(address: str) -> str:
    """`a***@example.com`: the first letter and the domain, enough to tell which mailbox."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def build_message(
    sender: str, recipient: str, manager_id: str, week: str, count: int, files: list[Path]
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = f"Customer actions, week {week} ({manager_id}): {count} actions"
    message.set_content(
        f"This week's customer actions for {manager_id}: {count}, attached as an HTML page "
        "and a CSV file (the most valuable first).\n"
    )
    for path in files:
        maintype, subtype = MIME_TYPES.get(path.suffix, ("application", "octet-stream"))
        message.add_attachment(
            path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name
        )
    return message


def deliver(
    files: dict[str, list[Path]],
    counts: dict[str, int],
    week: str,
    settings: SmtpSettings | None,
    recipients: dict[str, str],
    already_sent: set[str] = frozenset(),
) -> pd.DataFrame:
    """Send each manager's files, one message each, over one SMTP connection; returns the
    delivery records (`DELIVERY_COLUMNS`). Managers in `already_sent` (sent this week by an
    earlier run) are skipped without a record, so a retried run sends nothing twice. A failed
    message is recorded with its error and does not stop the others."""
    records = []

    def record(manager_id: str, address: str, status: str, error: str = "") -> None:
        records.append(
            {
                "week": week,
                "manager_id": manager_id,
                "recipient_masked": mask_address(address) if address else "",
                "files": ", ".join(p.name for p in files[manager_id]),
                "sent_at": pd.Timestamp(dt.datetime.now(dt.UTC).replace(tzinfo=None)),
                "status": status,
                "error": error,
            }
        )

    todo = [m for m in sorted(files) if m not in already_sent]
    if settings is None:
        for manager_id in todo:
            record(manager_id, "", "not_sent", "e-mail delivery off (WH_SMTP_HOST unset)")
    elif todo:
        try:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=30)
            if settings.starttls:
                smtp.starttls()
            if settings.user:
                smtp.login(settings.user, settings.password or "")
        except (OSError, smtplib.SMTPException) as exc:  # server down: say so, files stay
            for manager_id in todo:
                record(
                    manager_id,
                    recipients.get(manager_id, ""),
                    "failed",
                    f"{type(exc).__name__}: {exc}",
                )
        else:
            with smtp:
                for manager_id in todo:
                    address = recipients.get(manager_id, "")
                    if not address:
                        record(manager_id, "", "not_sent", "no address for the manager")
                        continue
                    message = build_message(
                        settings.sender,
                        address,
                        manager_id,
                        week,
                        counts.get(manager_id, 0),
                        files[manager_id],
                    )
                    try:
                        smtp.send_message(message)
                        record(manager_id, address, "sent")
                    except (OSError, smtplib.SMTPException) as exc:
                        record(manager_id, address, "failed", f"{type(exc).__name__}: {exc}")
    frame = pd.DataFrame(records, columns=list(DELIVERY_COLUMNS))
    return frame.astype({c: t for c, t in DELIVERY_COLUMNS.items() if t is str})


def sent_managers(deliveries: pd.DataFrame, week: str) -> set:
    """The managers whose list of `week` has been sent already (not to be sent twice)."""
    return set(
        deliveries.loc[(deliveries["week"] == week) & (deliveries["status"] == "sent")][
            "manager_id"
        ]
    )


def merge_deliveries(deliveries: pd.DataFrame, new: pd.DataFrame, week: str) -> pd.DataFrame:
    """The delivery log after this run: `week`'s earlier attempts that did not send are
    replaced by this run's (`new`); every message sent and the latest attempt for the others
    are kept."""
    kept = deliveries[(deliveries["week"] != week) | (deliveries["status"] == "sent")]
    parts = [frame for frame in (kept, new) if not frame.empty]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in DELIVERY_COLUMNS.items()})
    return pd.concat(parts, ignore_index=True)
