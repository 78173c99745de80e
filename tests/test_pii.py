"""Personal data hashed and masked in Python at ingestion (orchestration/pii.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from pathlib import Path

import duckdb
import pytest

from orchestration import pii
from orchestration.ingest import load_table

SALT = "unit-salt"
CUSTOMERS = (
    "customer_id,customer_name,industry,province,region,city,size_band,acquired_on,"
    "acquisition_channel,acquisition_cost\n"
    "C1,苏州精工自动化有限公司,manufacturing,江苏,east,苏州,small,2024-01-05,referral,1000\n"
)
CONTACTS_HEADER = "contact_id,customer_id,contact_name,phone,email,role,is_primary"


def expected(value: str) -> str:
    return hmac.new(SALT.encode(), value.encode(), hashlib.sha256).hexdigest()


def test_keyed_hash_is_hmac_sha256():
    # RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
    assert pii.keyed_hash("what do ya want for nothing?", "Jefe") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
    with pytest.raises(ValueError, match="salt is empty"):
        pii.keyed_hash("x", "")


@pytest.mark.parametrize(
    ("phone", "digits", "masked"),
    [
        ("138-1234-5678", "13812345678", "138****5678"),
        ("+86 138 1234 5678", "13812345678", "138****5678"),
        ("0086 (21) 6234-5678", "02162345678", "021****5678"),
        # the extension is not part of the number: the mask shows the phone's own digits
        ("13812345682 ext. 12", "13812345682", "138****5682"),
        ("13812345682 x12", "13812345682", "138****5682"),
        ("021-6234-5678转801", "02162345678", "021****5678"),
        ("13812345682#3", "13812345682", "138****5682"),
        ("12345", "12345", None),  # too short to mask
        ("", None, None),
        ("   ", None, None),
        ("n/a", None, None),  # no digit: no hash, no mask
        (None, None, None),
    ],
)
def test_phone_digits_and_mask(phone, digits, masked):
    assert pii.phone_digits(phone) == digits
    assert pii.mask_phone(phone) == masked


def test_blank_and_digitless_values_hash_to_null_not_a_shared_hash():
    for make in (pii._name_hash, pii._phone_hash, pii._email_hash):
        assert make("", SALT) is None
        assert make("  \t", SALT) is None
        assert make(None, SALT) is None
    assert pii._phone_hash("unknown", SALT) is None
    assert pii._phone_hash("--", SALT) is None


def test_same_person_hashes_alike_however_typed():
    assert pii._phone_hash("+86 138 1234 5678", SALT) == expected("13812345678")
    assert pii._phone_hash("138-1234-5678 ext. 9", SALT) == expected("13812345678")
    assert pii._email_hash(" Zhang.Wei@Example.COM ", SALT) == expected("zhang.wei@example.com")
    assert pii._name_hash(" 张伟 ", SALT) == expected("张伟")
    assert pii._name_hash("张伟", "other-salt") != expected("张伟")


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("Zhang.Wei@jinggong-auto.com", "Z***@jinggong-auto.com"),
        (" li@example.com ", "l***@example.com"),
        ("not-an-email", None),
        ("@example.com", None),
        ("zhang@", None),
        (None, None),
    ],
)
def test_mask_email(email, masked):
    assert pii.mask_email(email) == masked


def _write(landing: Path, table: str, name: str, text: str) -> None:
    (landing / table).mkdir(parents=True, exist_ok=True)
    (landing / table / name).write_text(text, encoding="utf-8")


def test_ingestion_writes_pseudonyms_and_follows_a_corrected_drop(tmp_path, monkeypatch):
    monkeypatch.setenv("WH_PII_SALT", SALT)
    landing = tmp_path / "landing"
    _write(landing, "customers", "2026-10-01.csv", CUSTOMERS)
    _write(
        landing,
        "contacts",
        "2026-10-01.csv",
        f"{CONTACTS_HEADER}\n"
        "K1,C1,张伟,13812345682 ext. 12,Zhang.Wei@Example.com,purchaser,true\n"
        "K2,C1,李娜,,  ,user,false\n",
    )
    run_date = dt.date(2026, 11, 1)
    with duckdb.connect() as con:
        for table in ("customers", "contacts"):
            load_table(con, landing, table, run_id="r1", run_date=run_date)
        rows = con.execute(
            "select contact_id, contact_name_hash, phone_hash, phone_masked, "
            "email_hash, email_masked from raw.contacts order by 1"
        ).fetchall()
        assert rows == [
            (
                "K1",
                expected("张伟"),
                expected("13812345682"),
                "138****5682",
                expected("zhang.wei@example.com"),
                "Z***@Example.com",
            ),
            ("K2", expected("李娜"), None, None, None, None),
        ]
        assert pii.pseudonymise(con, "contacts") == 0  # nothing new: idempotent
        assert pii.pseudonymise(con, "orders") == 0  # no personal data there

        # A corrected drop replaces the rows; the new rows get their own pseudonyms.
        _write(
            landing,
            "contacts",
            "2026-10-01.csv",
            f"{CONTACTS_HEADER}\nK1,C1,王芳,021-6234-5678,,purchaser,true\n",
        )
        load_table(con, landing, "contacts", run_id="r2", run_date=run_date)
        rows = con.execute(
            "select contact_id, contact_name_hash, phone_masked, _pseudonymised from raw.contacts"
        ).fetchall()
        assert rows == [("K1", expected("王芳"), "021****5678", True)]
        # the salt itself is stored nowhere in the table
        text = con.execute("select string_agg(cast(r as varchar), '|') from raw.contacts r")
        assert SALT not in text.fetchone()[0]


@pytest.mark.parametrize("chunk_rows", [1, 2, 5, 100])
def test_pseudonymise_in_chunks_writes_what_one_pass_writes(tmp_path, monkeypatch, chunk_rows):
    """Rows go a chunk per transaction (bounded memory at millions of contacts): every chunk
    size, one that divides the rows or not, gives every row the same pseudonyms."""
    monkeypatch.setenv("WH_PII_SALT", SALT)
    landing = tmp_path / "landing"
    _write(landing, "customers", "2026-10-01.csv", CUSTOMERS)
    lines = [f"K{i},C1,联系人{i},1381234{i:04d},p{i}@example.com,user,false" for i in range(5)]
    _write(landing, "contacts", "2026-10-01.csv", "\n".join([CONTACTS_HEADER, *lines]) + "\n")
    query = (
        "select contact_id, contact_name_hash, phone_hash, phone_masked, email_hash, "
        "email_masked, _pseudonymised from raw.contacts order by contact_id"
    )
    with duckdb.connect() as con:
        for table in ("customers", "contacts"):
            load_table(con, landing, table, run_id="r1", run_date=dt.date(2026, 11, 1))
        whole = con.execute(query).fetchall()
        assert [r[1] for r in whole] == [expected(f"联系人{i}") for i in range(5)]
        assert [r[3] for r in whole] == [f"138****{i:04d}" for i in range(5)]
        con.execute(
            "update raw.contacts set contact_name_hash = null, phone_hash = null, "
            "phone_masked = null, email_hash = null, email_masked = null, _pseudonymised = null"
        )
        assert pii.pseudonymise(con, "contacts", chunk_rows=chunk_rows) == 5
        assert con.execute(query).fetchall() == whole
        assert pii.pseudonymise(con, "contacts", chunk_rows=chunk_rows) == 0
