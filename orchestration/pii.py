"""Personal data (METRICS I1) pseudonymised in Python, right after ingestion.

Names, phones and e-mails stay in clear only in `raw.<table>`. Beside each such table the
ingestion writes `raw.<table>_pseudonyms`: one row per raw row (the same `_file`, `_line` and
`_loaded_at`), holding a keyed hash (HMAC-SHA256 with the salt `WH_PII_SALT`, lower-case hex)
and a masked form of each personal value. Staging reads these columns and never sees the
clear values or the salt.

Why here and not in SQL: a salt inlined in SQL is written into every artefact that keeps SQL
(dbt's compiled files, manifest, run results and logs, the documentation site, the view
definitions inside the warehouse), and anyone holding one of them can reverse a phone hash
from its masked form in seconds (10**4 candidates). The salt lives only in this process's
memory; what is stored is its output.

Normalisation, so that the same person hashes alike however the value was typed:
- names: surrounding white space removed;
- e-mails: surrounding white space removed, lower-cased;
- phones: the number before any extension (`ext`, `x`, `#`, `转`, `分机`, `,`, `;`), its
  digits only, a Chinese number given with its country code (+86 / 0086) in national form
  (mobiles start with 1, landlines get their trunk 0 back).
A value that is empty after normalisation (blank, or a phone without a digit) has no hash
(NULL): a shared hash would link unrelated people.

Masks: a phone's first 3 and last 4 national digits (`138****5678`), only for 11 digits or
more so that the stars hide at least as many digits as they show; an e-mail's first
character and its domain (`z***@example.com`), only for the form x@y.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pandas as pd

from .settings import pii_salt

SUFFIX = "_pseudonyms"
# Row identity shared with the raw table: a corrected drop reloads the same file and lines
# with a new `_loaded_at`, so stale pseudonyms never match the new rows.
ROW_KEY = ("_file", "_line", "_loaded_at")

_EXTENSION = re.compile(r"(?i)(?:extension|ext\.?|x|#|转|分机|,|;)")
_NON_DIGITS = re.compile(r"\D")
_FOREIGN_MOBILE = re.compile(r"^(?:00)?86(1\d{10})$")
_FOREIGN_LANDLINE = re.compile(r"^(?:00)?86([2-9]\d{8,10})$")


def normalise_name(value: str | None) -> str | None:
    """A name without surrounding white space; None when nothing is left."""
    text = (value or "").strip()
    return text or None


def normalise_email(value: str | None) -> str | None:
    """An e-mail trimmed and lower-cased; None when nothing is left."""
    text = (value or "").strip().lower()
    return text or None


def phone_digits(value: str | None) -> str | None:
    """The phone's own digits in national form; None without a digit.

    `13812345682 ext. 12` -> `13812345682`; `+86 138 1234 5678` -> `13812345678`;
    `0086 (21) 6234-5678` -> `02162345678`.
    """
    number = _EXTENSION.split(value or "", maxsplit=1)[0]
    digits = _NON_DIGITS.sub("", number)
    if not digits:
        return None
    if match := _FOREIGN_MOBILE.match(digits):
        return match.group(1)
    if match := _FOREIGN_LANDLINE.match(digits):
        return "0" + match.group(1)
    return digits


def keyed_hash(normalised: str | None, salt: str) -> str | None:
    """HMAC-SHA256 of the normalised value under the salt, lower-case hex; None for None."""
    if normalised is None:
        return None
    if not salt:
        raise ValueError("the PII salt is empty: set WH_PII_SALT to a secret, stable value")
    return hmac.new(salt.encode("utf-8"), normalised.encode("utf-8"), hashlib.sha256).hexdigest()


def mask_phone(value: str | None) -> str | None:
    """First 3 and last 4 digits of the national form, e.g. 138****5678; None under 11."""
    digits = phone_digits(value)
    if digits is None or len(digits) < 11:
        return None
    return f"{digits[:3]}****{digits[-4:]}"


def mask_email(value: str | None) -> str | None:
    """First character of the local part, '***@', the domain; None unless of the form x@y."""
    local, at, domain = (value or "").strip().partition("@")
    if not (local and at and domain):
        return None
    return f"{local[0]}***@{domain}"


@dataclass(frozen=True)
class Pseudonym:
    """One stored column: its name, the raw column it is made from, and how."""

    column: str
    source: str
    make: Callable[[str | None, str], str | None]


def _name_hash(value: str | None, salt: str) -> str | None:
    return keyed_hash(normalise_name(value), salt)


def _phone_hash(value: str | None, salt: str) -> str | None:
    return keyed_hash(phone_digits(value), salt)


def _email_hash(value: str | None, salt: str) -> str | None:
    return keyed_hash(normalise_email(value), salt)


def _phone_mask(value: str | None, _salt: str) -> str | None:
    return mask_phone(value)


def _email_mask(value: str | None, _salt: str) -> str | None:
    return mask_email(value)


# The raw tables with personal data (the contract's `pii` columns) and what staging gets.
PSEUDONYMISED: dict[str, tuple[Pseudonym, ...]] = {
    "contacts": (
        Pseudonym("contact_name_hash", "contact_name", _name_hash),
        Pseudonym("phone_hash", "phone", _phone_hash),
        Pseudonym("phone_masked", "phone", _phone_mask),
        Pseudonym("email_hash", "email", _email_hash),
        Pseudonym("email_masked", "email", _email_mask),
    ),
    "account_managers": (Pseudonym("manager_name_hash", "manager_name", _name_hash),),
}


def pseudonymise(con: duckdb.DuckDBPyConnection, table: str, salt: str | None = None) -> int:
    """Bring `raw.<table>_pseudonyms` in line with `raw.<table>`: drop the rows of replaced
    drops, add the rows not pseudonymised yet. Idempotent; returns the rows added (0 for a
    table without personal data)."""
    spec = PSEUDONYMISED.get(table)
    if spec is None:
        return 0
    salt = salt if salt is not None else pii_salt()
    target = f"raw.{table}{SUFFIX}"
    key = ", ".join(ROW_KEY)
    matches = " and ".join(f"r.{c} = p.{c}" for c in ROW_KEY)
    con.execute(
        f"create table if not exists {target} (_file varchar, _line bigint, "
        f"_loaded_at timestamp, {', '.join(f'{p.column} varchar' for p in spec)})"
    )
    sources = sorted({p.source for p in spec})
    con.execute("begin transaction")
    try:
        con.execute(
            f"delete from {target} p where not exists (select 1 from raw.{table} r where {matches})"
        )
        new = con.execute(
            f"select {key}, {', '.join(sources)} from raw.{table} r "
            f"where not exists (select 1 from {target} p where {matches})"
        ).df()
        if len(new):
            rows = new[list(ROW_KEY)].copy()
            for p in spec:
                rows[p.column] = [
                    p.make(None if pd.isna(v) else str(v), salt) for v in new[p.source]
                ]
            con.register("_new_pseudonyms", rows)
            con.execute(f"insert into {target} select * from _new_pseudonyms")
            con.unregister("_new_pseudonyms")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return len(new)
