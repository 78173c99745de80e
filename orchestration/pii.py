"""Personal data (METRICS I1) pseudonymised in Python, right after ingestion.

Names, phones and e-mails stay in clear only in `raw`. The ingestion adds to each raw table
that holds them, in the same row, a keyed hash (HMAC-SHA256 with the salt `WH_PII_SALT`,
lower-case hex) and a masked form of each personal value (`contact_name_hash`, `phone_hash`,
`phone_masked`, ...), and `_pseudonymised` once done. Staging reads only these columns, so it
never sees the clear values or the salt.

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

# Set on a raw row once its pseudonyms are written; a reloaded (corrected) drop's new rows
# arrive without it.
DONE_COLUMN = "_pseudonymised"

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


# Rows pseudonymised per transaction (`pseudonymise`).
CHUNK_ROWS = 50_000

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


def pseudonymise(
    con: duckdb.DuckDBPyConnection,
    table: str,
    salt: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> int:
    """Write the hashes and masks of the rows of `raw.<table>` that have none yet, in place
    (the columns are added on first use). Idempotent; returns the rows pseudonymised (0 for
    a table without personal data).

    The rows go `chunk_rows` at a time, one transaction each: a chunk's frame and the
    update's row versions stay small whatever the table's size (updating 1.9 M contacts at
    once ran DuckDB out of its 1GB limit). A chunk that fails leaves the earlier ones done
    and its own rows without pseudonyms, which the next call completes."""
    spec = PSEUDONYMISED.get(table)
    if spec is None:
        return 0
    salt = salt if salt is not None else pii_salt()
    target = f"raw.{table}"
    for column in (*(p.column for p in spec), DONE_COLUMN):
        kind = "boolean" if column == DONE_COLUMN else "varchar"
        con.execute(f"alter table {target} add column if not exists {column} {kind}")
    sources = sorted({p.source for p in spec})
    assignments = ", ".join(f"{p.column} = n.{p.column}" for p in spec)
    done = 0
    while True:
        con.execute("begin transaction")
        try:
            new = con.execute(
                f"select rowid as row_id, {', '.join(sources)} from {target} "
                f"where {DONE_COLUMN} is null order by rowid limit {int(chunk_rows)}"
            ).df()
            if len(new):
                rows = new[["row_id"]].copy()
                for p in spec:
                    rows[p.column] = [
                        p.make(None if pd.isna(v) else str(v), salt) for v in new[p.source]
                    ]
                con.register("_pseudonyms", rows)
                con.execute(
                    f"update {target} set {assignments}, {DONE_COLUMN} = true "
                    f"from _pseudonyms n where {target}.rowid = n.row_id"
                )
                con.unregister("_pseudonyms")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        done += len(new)
        if len(new) < chunk_rows:
            return done


# -- personal data in the content of text published for BI -----------------------------------
# Anchored on anything that is not a letter or digit, so that a run of digits inside a hash,
# an id or a longer number is not taken for a phone.
_EDGE_BEFORE = r"(?<![0-9A-Za-z])"
_EDGE_AFTER = r"(?![0-9A-Za-z])"
ID_CARD = re.compile(
    _EDGE_BEFORE + r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    r"\d{3}[\dXx]" + _EDGE_AFTER
)
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
MOBILE = re.compile(
    _EDGE_BEFORE + r"(?:(?:\+|00)86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}" + _EDGE_AFTER
)
LANDLINE = re.compile(
    _EDGE_BEFORE + r"(?:(?:\+|00)86[ -]?)?\(?0\d{2,3}\)?[ -]?\d{7,8}" + _EDGE_AFTER
)
# A cheap first pass in SQL (RE2, no look-arounds): only values it matches go to Python.
CANDIDATE_SQL_PATTERN = r"@|[0-9][0-9 ()-]{6,}[0-9Xx]"


def _mask_digits(match: re.Match[str]) -> str:
    digits = phone_digits(match.group(0)) or ""
    return f"{digits[:3]}****{digits[-4:]}"


def _mask_id_card(match: re.Match[str]) -> str:
    text = match.group(0)
    return f"{text[:6]}********{text[-4:]}"


def _mask_email_match(match: re.Match[str]) -> str:
    return mask_email(match.group(0)) or "***"


def mask_personal_data(text: str) -> str:
    """`text` with every Chinese ID-card number, e-mail address and phone number in it
    masked as staging masks them: `110101********123X`, `z***@example.com`, `138****5678`.
    The rest of the text is kept, so a name with a phone typed after it stays readable."""
    text = ID_CARD.sub(_mask_id_card, text)
    text = EMAIL.sub(_mask_email_match, text)
    text = MOBILE.sub(_mask_digits, text)
    return LANDLINE.sub(_mask_digits, text)


# -- text that a spreadsheet would run as a formula -------------------------------------------
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# The same test in SQL, for the published copy (DuckDB).
FORMULA_SQL_CONDITION = (
    "(left({column}, 1) in ('=', '+', '-', '@', chr(9), chr(13)) and not "
    r"regexp_full_match({column}, '[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?'))"
)


def neutralise_formula(text: str) -> str:
    """A leading apostrophe for text that begins with =, +, -, @, tab or carriage return,
    which a spreadsheet would evaluate as a formula (OWASP "CSV injection"). A value that is
    a plain number (`-12.5`, `+3`, `-1e3`) is left alone: a spreadsheet reads it as that
    number, not as a formula."""
    if text.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text
