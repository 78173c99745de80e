"""Alerts and playbooks (docs/actions.md): a hand-made firm of six customers, three managers
(one of them "unassigned"), four contracts and three complaints, whose action list is worked
out by hand below; the files, the e-mail to a local SMTP sink and the outcomes of a second run.

Hand-worked list as of 2026-12-02 (ISO week 2026-W49), default settings:
  M1  renewal_due        C1  K1 ends 2027-01-15 (44 days)           50,000  due 2027-01-15
      value_at_risk      C1  risk 0.80, value at risk 8,000          8,000  due 2026-12-09
      complaint_overdue  C2  P1 open since 2026-11-01, 31 >= 14 days 5,000 (C2's revenue)
      no_contact         C2  last touch 2026-08-01, 123 >= 90 days   5,000 (type order after)
      detractor_callback C1  NPS 3 on 2026-11-20 (12 days ago)       1,000
  M2  value_at_risk      C3  risk 0.70, value at risk 700              700
      no_contact         C3  never contacted                           200
  unassigned value_at_risk C5 risk 0.60, value at risk 600             600
Left out: C2's risk 0.40 < 0.5; C4 inactive (risk 0.9, detractor, never touched); C6's NPS
answer 123 days old and touched 2 days ago; K2 ends in 181 days; K3 renewed; K4 cancelled;
P2 open 7 days < 14; P3 closed.
"""

from __future__ import annotations

import datetime as dt
import email
import socketserver
import threading
from email import policy

import duckdb
import pandas as pd
import pytest

from orchestration.actions import (
    ActionSettings,
    build_actions,
    csv_safe,
    deliver,
    evaluate_outcomes,
    iso_week,
    mask_address,
    render_csv,
    render_html,
    write_manager_files,
)
from orchestration.actions.mail import SmtpSettings
from orchestration.actions.rules import OUTCOME_COLUMNS, value_at_risk
from orchestration.settings import Settings, SettingsError

AS_OF = dt.date(2026, 12, 2)
D = pd.Timestamp


def customers() -> pd.DataFrame:
    frame = pd.DataFrame(
        [
            ("C1", "Firm One", "M1", True, "detractor", 3.0, D("2026-11-20"), D("2026-11-15"),
             1000),
            ("C2", '=HYPERLINK("x")<b>', "M1", True, "promoter", 10.0, D("2026-10-01"),
             D("2026-08-01"), 5000),
            ("C3", "Firm Three", "M2", True, None, None, pd.NaT, pd.NaT, 200),
            ("C4", "Firm Four", "M2", False, "detractor", 2.0, D("2026-11-28"), pd.NaT, 0),
            ("C5", "Firm Five", None, True, "passive", 8.0, D("2026-11-01"), D("2026-11-29"), 300),
            ("C6", "Firm Six", "M2", True, "detractor", 4.0, D("2026-08-01"), D("2026-11-30"), 900),
        ],
        columns=[
            "customer_id",
            "customer_name",
            "manager_id",
            "is_active",
            "nps_category",
            "nps_answer_value",
            "nps_answered_on",
            "last_touched_on",
            "revenue_trailing_12m_cny",
        ],
    )  # fmt: skip
    return frame.assign(as_of_on=D(AS_OF))


def contracts() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("K1", "C1", "audit", D("2027-01-15"), 50000.0, True, False, "active"),
            ("K2", "C2", "tax", D("2027-06-01"), 9000.0, True, False, "active"),
            ("K3", "C3", "audit", D("2026-12-31"), 7000.0, True, True, "active"),
            ("K4", "C6", "tax", D("2026-12-20"), 3000.0, True, False, "cancelled"),
        ],
        columns=[
            "contract_id",
            "customer_id",
            "product_line",
            "end_on",
            "contract_value_cny",
            "is_open",
            "is_renewed",
            "status",
        ],
    )


def complaints() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("P1", "C2", "billing", D("2026-11-01 10:00"), True),
            ("P2", "C3", "delay", D("2026-11-25 09:00"), True),
            ("P3", "C1", "quality", D("2026-10-01 09:00"), False),
        ],
        columns=["complaint_id", "customer_id", "category", "opened_at", "is_open"],
    )


def warning() -> pd.DataFrame:
    """The early-warning table as the churn asset writes it today (value, value_at_risk)."""
    return pd.DataFrame(
        [
            ("C1", 0.8, 10000.0, 8000.0, "recency", "complaints", None),
            ("C2", 0.4, 20000.0, 8000.0, "recency", None, None),
            ("C3", 0.7, 1000.0, 700.0, "no open contract", None, None),
            ("C4", 0.9, 5000.0, 4500.0, "recency", None, None),
            ("C5", 0.6, 1000.0, 600.0, "tenure", None, None),
        ],
        columns=["customer_id", "risk", "value", "value_at_risk",
                 "reason_1", "reason_2", "reason_3"],
    )  # fmt: skip


EXPECTED = [
    ("M1", 1, "renewal_due", "C1", "K1", 50000.0, "2027-01-15"),
    ("M1", 2, "value_at_risk", "C1", "", 8000.0, "2026-12-09"),
    ("M1", 3, "complaint_overdue", "C2", "P1", 5000.0, "2026-12-09"),
    ("M1", 4, "no_contact", "C2", "", 5000.0, "2026-12-09"),
    ("M1", 5, "detractor_callback", "C1", "", 1000.0, "2026-12-09"),
    ("M2", 1, "value_at_risk", "C3", "", 700.0, "2026-12-09"),
    ("M2", 2, "no_contact", "C3", "", 200.0, "2026-12-09"),
    ("unassigned", 1, "value_at_risk", "C5", "", 600.0, "2026-12-09"),
]


def listed(actions: pd.DataFrame) -> list[tuple]:
    return [
        (r.manager_id, r.priority_rank, r.action_type, r.customer_id, r.subject_id, r.value_cny,
         r.due_on.date().isoformat())
        for r in actions.itertuples()
    ]  # fmt: skip


def build(warning_frame=None, as_of=AS_OF, **frames) -> pd.DataFrame:
    return build_actions(
        frames.get("customers", customers()),
        frames.get("contracts", contracts()),
        frames.get("complaints", complaints()),
        warning() if warning_frame is None else warning_frame,
        as_of,
        ActionSettings(),
    )


def test_the_hand_made_firm_gives_exactly_the_hand_worked_list():
    actions = build()
    assert listed(actions) == EXPECTED
    assert set(actions["week"]) == {"2026-W49"}
    assert set(actions["week_start_on"]) == {D("2026-11-30")}
    reasons = dict(
        zip(actions["action_type"] + actions["customer_id"], actions["reason"], strict=True)
    )
    assert reasons["value_at_riskC1"] == (
        "churn risk 80%, value at risk 8,000 CNY; reasons: recency; complaints"
    )
    assert reasons["renewal_dueC1"] == (
        "contract K1 (audit) ends 2027-01-15 in 44 days, not renewed; value 50,000 CNY"
    )
    assert reasons["complaint_overdueC2"] == "complaint P1 (billing) open 31 days (target 14)"
    assert reasons["no_contactC2"] == "last contact 2026-08-01, 123 days ago (limit 90)"
    assert reasons["no_contactC3"] == "never contacted"
    assert reasons["detractor_callbackC1"] == "NPS answer 3 of 10 on 2026-11-20 (detractor)"
    # the same list on a rerun: the same ids
    assert list(build()["action_id"]) == list(actions["action_id"])
    # a detractor called back after answering is off the list
    called = customers()
    called.loc[called["customer_id"] == "C1", "last_touched_on"] = D("2026-11-25")
    assert "detractor_callback" not in set(build(customers=called)["action_type"])


def test_settings_move_the_thresholds():
    actions = build_actions(
        customers(),
        contracts(),
        complaints(),
        warning(),
        AS_OF,
        ActionSettings(complaint_target_days=32, no_contact_days=124, min_risk=0.35),
    )
    kinds = {(r.action_type, r.customer_id) for r in actions.itertuples()}
    assert ("complaint_overdue", "C2") not in kinds  # 31 days < 32
    assert ("no_contact", "C2") not in kinds  # 123 days < 124
    assert ("no_contact", "C3") in kinds  # never contacted: always listed
    assert ("value_at_risk", "C2") in kinds  # 0.40 >= 0.35


def test_settings_come_from_the_environment():
    env = {"WH_ACTIONS_NO_CONTACT_DAYS": "30", "WH_ACTIONS_MIN_RISK": "0.25"}
    settings = ActionSettings.from_settings(Settings.from_env(env))
    assert (settings.no_contact_days, settings.min_risk, settings.renewal_days) == (30, 0.25, 90)


def test_value_at_risk_reads_whichever_columns_the_early_warning_has():
    base = pd.DataFrame({"customer_id": ["C1", "C2"], "risk": [0.5, 0.8]})
    # newest form: the expected value lost, and a flag for customers already lost
    newest = base.assign(
        expected_value_lost_cny=[100.0, 200.0], clv_cny=[1.0, 1.0], is_lost=[False, True]
    )
    got = value_at_risk(newest)
    assert list(got["value_cny"]) == [100.0, 200.0]
    assert list(got["is_lost"]) == [False, True]
    # no value-at-risk column: risk x clv_cny
    assert list(value_at_risk(base.assign(clv_cny=[1000.0, 50.0]))["value_cny"]) == [500.0, 40.0]
    renamed = base.rename(columns={"risk": "churn_risk"}).assign(value=[10.0, 10.0])
    assert list(value_at_risk(renamed)["value_cny"]) == [5.0, 8.0]
    with pytest.raises(ValueError, match="risk columns"):
        value_at_risk(base.drop(columns="risk"))
    # a customer flagged lost gets no save call
    lost = warning().assign(is_lost_by_activity_rule=[True, False, False, False, False])
    assert ("value_at_risk", "C1") not in {
        (r.action_type, r.customer_id) for r in build(lost).itertuples()
    }


def test_no_early_warning_still_gives_the_other_actions():
    actions = build_actions(customers(), contracts(), complaints(), None, AS_OF, ActionSettings())
    assert [(m, rank, kind, c) for m, rank, kind, c, *_ in listed(actions)] == [
        ("M1", 1, "renewal_due", "C1"),
        ("M1", 2, "complaint_overdue", "C2"),
        ("M1", 3, "no_contact", "C2"),
        ("M1", 4, "detractor_callback", "C1"),
        ("M2", 1, "no_contact", "C3"),
    ]


def test_csv_cells_that_start_a_formula_get_an_apostrophe():
    """The rule of docs/bi.md: = + - @ tab CR first, unless the text is a plain number."""
    assert [csv_safe(v) for v in ("=1+1", "+A1", "-A12", "@SUM(A1)", "\tx", "\rx")] == [
        "'=1+1",
        "'+A1",
        "'-A12",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
    ]
    assert [csv_safe(v) for v in ("Firm", "1=1", None, 3.5, "-12.5", "+3", "-1e3", -5)] == [
        "Firm",
        "1=1",
        "",
        "3.5",
        "-12.5",
        "+3",
        "-1e3",
        "-5",
    ]


def test_files_are_written_per_manager_and_escaped(tmp_path):
    actions = build()
    written = write_manager_files(actions, tmp_path)
    assert sorted(written) == ["M1", "M2", "unassigned"]
    assert sorted(p.name for p in (tmp_path / "2026-W49").iterdir()) == [
        "M1.csv",
        "M1.html",
        "M2.csv",
        "M2.html",
        "unassigned.csv",
        "unassigned.html",
    ]
    table = pd.read_csv(tmp_path / "2026-W49" / "M1.csv", encoding="utf-8-sig", dtype=str)
    assert list(table["Action"]) == [
        "renewal_due",
        "value_at_risk",
        "complaint_overdue",
        "no_contact",
        "detractor_callback",
    ]
    # the firm name starting with = is defused; the HTML shows it escaped, never as markup
    assert table.loc[table["Customer id"] == "C2", "Customer"].iloc[0] == '\'=HYPERLINK("x")<b>'
    page = (tmp_path / "2026-W49" / "M1.html").read_text("utf-8")
    assert "=HYPERLINK(&quot;x&quot;)&lt;b&gt;" in page
    assert "<b>" not in page
    assert "Renewal due (1)" in page and "Complaint open past target (1)" in page
    # a rerun after a manager drops out leaves no stale file
    write_manager_files(actions[actions["manager_id"] != "M2"], tmp_path)
    assert not (tmp_path / "2026-W49" / "M2.csv").exists()


def test_render_handles_an_evil_manager_id():
    actions = build().assign(manager_id="<script>alert(1)</script>")
    assert "<script>" not in render_html(actions, "<script>alert(1)</script>", "2026-W49", "x")
    assert render_csv(actions).startswith("\ufeffPriority,Action,")


def test_outcomes_fill_on_the_first_run_after_the_due_date():
    first = build()
    outcomes = evaluate_outcomes(
        pd.DataFrame({c: pd.Series(dtype=t) for c, t in OUTCOME_COLUMNS.items()}),
        first,
        customers(),
        contracts(),
        complaints(),
        AS_OF,
    )
    assert len(outcomes) == 8 and outcomes["evaluated_on"].isna().all()
    # a week later, 2026-12-10: C3 lost, P1 closed, C2 contacted on 12-05
    later = dt.date(2026, 12, 10)
    people = customers().assign(as_of_on=D(later))
    people.loc[people["customer_id"] == "C3", "is_active"] = False
    people.loc[people["customer_id"] == "C2", "last_touched_on"] = D("2026-12-05")
    closed = complaints().assign(is_open=[False, True, False])
    second = build(customers=people, complaints=closed, as_of=later)
    outcomes = evaluate_outcomes(outcomes, second, people, contracts(), closed, later)
    assert set(outcomes["week"]) == {"2026-W49", "2026-W50"}
    week49 = outcomes[outcomes["week"] == "2026-W49"]
    judged = {
        (r.action_type, r.customer_id): (r.is_saved, r.outcome)
        for r in week49.itertuples()
        if pd.notna(r.evaluated_on)
    }
    assert judged == {
        ("value_at_risk", "C1"): (True, "still active"),
        ("complaint_overdue", "C2"): (True, "complaint closed"),
        ("no_contact", "C2"): (True, "contacted"),
        ("detractor_callback", "C1"): (False, "not contacted"),
        ("value_at_risk", "C3"): (False, "lost"),
        ("no_contact", "C3"): (False, "not contacted"),
        ("value_at_risk", "C5"): (True, "still active"),
    }
    assert set(week49.loc[week49["evaluated_on"].notna(), "evaluated_on"]) == {D(later)}
    # the renewal is due 2027-01-15: not judged yet; then renewed, judged saved after its date
    renewal = week49["action_type"] == "renewal_due"
    assert week49.loc[renewal, "evaluated_on"].isna().all()
    renewed = contracts().assign(is_renewed=[True, False, True, False])
    after = dt.date(2027, 1, 20)
    third = evaluate_outcomes(outcomes, second.iloc[0:0], people, renewed, closed, after)
    row = third[(third["week"] == "2026-W49") & (third["action_type"] == "renewal_due")].iloc[0]
    assert (row.is_saved, row.outcome, row.evaluated_on) == (True, "renewed", D(after))
    # an outcome, once judged, is never judged again
    again = third[(third["week"] == "2026-W49") & (third["action_type"] == "value_at_risk")]
    assert set(again["evaluated_on"]) == {D(later)}


def test_mask_address():
    assert mask_address("wang.li@example.com") == "w***@example.com"
    assert mask_address("nonsense") == "***"


class SmtpSink(socketserver.ThreadingTCPServer):
    """A minimal SMTP server on 127.0.0.1: accepts every message, keeps it in `messages`."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self):
        self.messages: list[tuple[list[str], bytes]] = []
        super().__init__(("127.0.0.1", 0), SmtpHandler)


class SmtpHandler(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 sink ready")
        recipients: list[str] = []
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 sink")
            elif verb == "MAIL":
                recipients = []
                self.reply("250 ok")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip(" <>"))
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go on")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                self.server.messages.append((recipients, data))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


@pytest.fixture
def smtp_sink():
    server = SmtpSink()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_one_message_per_manager_with_the_files_attached(tmp_path, smtp_sink):
    actions = build()
    files = write_manager_files(actions, tmp_path)
    settings = SmtpSettings(host="127.0.0.1", port=smtp_sink.server_address[1], sender="wh@x.cn")
    record = deliver(
        files,
        actions.groupby("manager_id").size().to_dict(),
        "2026-W49",
        settings,
        {"M1": "m1@example.com", "M2": "m2@example.com"},
    )
    assert [(r.manager_id, r.status, r.recipient_masked) for r in record.itertuples()] == [
        ("M1", "sent", "m***@example.com"),
        ("M2", "sent", "m***@example.com"),
        ("unassigned", "not_sent", ""),
    ]
    assert record.loc[2, "error"] == "no address for the manager"
    assert [r for r, _ in smtp_sink.messages] == [["m1@example.com"], ["m2@example.com"]]
    message = email.message_from_bytes(smtp_sink.messages[0][1], policy=policy.default)
    assert message["Subject"] == "Customer actions, week 2026-W49 (M1): 5 actions"
    attached = {
        part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()
    }
    assert sorted(attached) == ["M1.csv", "M1.html"]
    assert attached["M1.csv"] == (tmp_path / "2026-W49" / "M1.csv").read_bytes()
    assert attached["M1.html"] == (tmp_path / "2026-W49" / "M1.html").read_bytes()
    # a retried run skips the managers already sent this week
    again = deliver(files, {}, "2026-W49", settings, {"M1": "m1@example.com"}, {"M1", "M2"})
    assert list(again["manager_id"]) == ["unassigned"] and len(smtp_sink.messages) == 2


def test_delivery_off_or_server_down_is_recorded_not_raised(tmp_path, monkeypatch):
    actions = build()
    files = write_manager_files(actions, tmp_path)
    assert SmtpSettings.from_settings(Settings.from_env({})) is None
    with pytest.raises(SettingsError, match="WH_SMTP_FROM"):
        Settings.from_env({"WH_SMTP_HOST": "127.0.0.1"})  # a host needs a sender
    off = deliver(files, {}, "2026-W49", None, {})
    assert set(off["status"]) == {"not_sent"} and len(off) == 3
    with socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler) as closed:
        port = closed.server_address[1]  # bound, then closed: nothing listens there
    down = deliver(
        files, {}, "2026-W49", SmtpSettings(host="127.0.0.1", port=port, sender="a@b"), {}
    )
    assert set(down["status"]) == {"failed"} and down["error"].str.contains("Connection").all()


def test_the_asset_writes_tables_files_and_mail_then_fills_outcomes(tmp_path, monkeypatch):
    """The Dagster asset on a DuckDB file holding the hand-made marts: two weekly runs."""
    from dagster import materialize
    from dagster_duckdb import DuckDBResource

    from orchestration.assets.actions import action_assets

    database = tmp_path / "warehouse.duckdb"
    recipients = tmp_path / "recipients.csv"
    recipients.write_text("manager_id,email\nM1,m1@example.com\nM2,m2@example.com\n")

    def load(people: pd.DataFrame, closed: pd.DataFrame) -> None:
        with duckdb.connect(str(database)) as con:
            facts = people.rename(columns={"manager_id": "current_manager_id"})
            con.register("facts", facts.drop(columns="customer_name"))
            con.register("names", facts[["customer_id", "customer_name"]])
            con.register("k", contracts())
            con.register("p", closed)
            con.register("w", warning())
            con.execute("create schema if not exists analytics")
            con.execute("create or replace table main.customer_facts as select * from facts")
            con.execute("create or replace table main.dim_customers as select * from names")
            con.execute("create or replace table main.fct_contracts as select * from k")
            con.execute("create or replace table main.fct_complaints as select * from p")
            con.execute("create or replace table analytics.churn_early_warning as select * from w")

    with SmtpSink() as sink:
        thread = threading.Thread(target=sink.serve_forever, daemon=True)
        thread.start()
        monkeypatch.setenv("WH_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("WH_SMTP_PORT", str(sink.server_address[1]))
        monkeypatch.setenv("WH_SMTP_FROM", "warehouse@example.com")
        monkeypatch.setenv("WH_ACTIONS_RECIPIENTS", str(recipients))
        monkeypatch.setenv("WH_ACTIONS_DIR", str(tmp_path / "actions"))
        resources = {
            "duckdb": DuckDBResource(database=str(database)),
            "settings": Settings.from_env(),
        }

        load(customers(), complaints())
        assert materialize([action_assets], resources=resources).success
        load(customers(), complaints())  # the same week again: no second e-mail
        assert materialize([action_assets], resources=resources).success
        later = customers().assign(as_of_on=D("2026-12-10"))
        later.loc[later["customer_id"] == "C3", "is_active"] = False
        load(later, complaints().assign(is_open=[False, True, False]))
        assert materialize([action_assets], resources=resources).success
        sink.shutdown()

    assert (tmp_path / "actions" / "2026-W49" / "M1.html").exists()
    assert (tmp_path / "actions" / "2026-W50" / "M2.csv").exists()
    assert [r for r, _ in sink.messages] == [["m1@example.com"], ["m2@example.com"]] * 2
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute(
            "select week, count(*) from analytics.customer_actions group by week"
        ).fetchall() == [("2026-W50", 6)]
        # M1: K1, C1 at risk, C2 silent 131 days, C1 detractor (P1 closed); M2: P2 open 15
        # days (C3 lost: no value-at-risk, no no-contact); unassigned: C5 at risk
        deliveries = con.execute(
            "select week, manager_id, status from analytics.action_deliveries "
            "order by week, manager_id"
        ).fetchall()
        types = con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'analytics' and column_name in "
            "('due_on', 'outcome', 'evaluated_on', 'sent_at', 'error', 'reason')"
        ).fetchall()
        outcomes = con.execute(
            "select action_type, customer_id, is_saved, outcome from analytics.action_outcomes "
            "where week = '2026-W49' and evaluated_on is not null order by 1, 2"
        ).fetchall()
    assert sorted(types) == [
        ("action_deliveries", "error", "VARCHAR"),
        ("action_deliveries", "sent_at", "TIMESTAMP"),
        ("action_outcomes", "due_on", "DATE"),
        ("action_outcomes", "evaluated_on", "DATE"),
        ("action_outcomes", "outcome", "VARCHAR"),
        ("customer_actions", "due_on", "DATE"),
        ("customer_actions", "reason", "VARCHAR"),
    ]
    assert deliveries == [
        ("2026-W49", "M1", "sent"),
        ("2026-W49", "M2", "sent"),
        ("2026-W49", "unassigned", "not_sent"),
        ("2026-W50", "M1", "sent"),
        ("2026-W50", "M2", "sent"),
        ("2026-W50", "unassigned", "not_sent"),
    ]
    assert outcomes == [
        ("complaint_overdue", "C2", True, "complaint closed"),
        ("detractor_callback", "C1", False, "not contacted"),
        ("no_contact", "C2", False, "not contacted"),
        ("no_contact", "C3", False, "not contacted"),
        ("value_at_risk", "C1", True, "still active"),
        ("value_at_risk", "C3", False, "lost"),
        ("value_at_risk", "C5", True, "still active"),
    ]


def test_every_column_written_is_described():
    from orchestration.actions.mail import DELIVERY_COLUMNS
    from orchestration.actions.rules import ACTION_COLUMNS
    from orchestration.assets.actions import COLUMN_DOCS, column_schema

    for name, columns in (
        ("customer_actions", ACTION_COLUMNS),
        ("action_outcomes", OUTCOME_COLUMNS),
        ("action_deliveries", DELIVERY_COLUMNS),
    ):
        assert list(COLUMN_DOCS[name]) == list(columns), name
        schema = column_schema(name, columns)
        assert all(column.description for column in schema.columns)
    types = {c.name: c.type for c in column_schema("action_outcomes", OUTCOME_COLUMNS).columns}
    assert (types["due_on"], types["is_saved"], types["value_cny"]) == ("date", "boolean", "double")


def test_a_week_keeps_the_sent_and_the_latest_attempt_of_the_others():
    from orchestration.actions.mail import DELIVERY_COLUMNS, merge_deliveries, sent_managers

    def log(rows):
        return pd.DataFrame(rows, columns=["week", "manager_id", "status"])

    before = log(
        [
            ("2026-W40", "M1", "failed"),  # another week: kept as it is
            ("2026-W41", "M1", "sent"),  # sent this week: kept, not sent again
            ("2026-W41", "M2", "failed"),  # tried this week: replaced by this run's attempt
        ]
    )
    assert sent_managers(before, "2026-W41") == {"M1"}
    merged = merge_deliveries(before, log([("2026-W41", "M2", "sent")]), "2026-W41")
    assert merged.values.tolist() == [
        ["2026-W40", "M1", "failed"],
        ["2026-W41", "M1", "sent"],
        ["2026-W41", "M2", "sent"],
    ]
    empty = merge_deliveries(log([]), log([]), "2026-W41")
    assert empty.empty and list(empty.columns) == list(DELIVERY_COLUMNS)


def test_iso_week():
    assert iso_week(dt.date(2026, 12, 2)) == "2026-W49"
    assert iso_week(dt.date(2027, 1, 1)) == "2026-W53"


@pytest.mark.slow
def test_the_weekly_job_on_the_built_firm_matches_the_marts(built, tmp_path, monkeypatch):
    """The `weekly_actions` job on a copy of the end-to-end warehouse: the renewal and
    no-contact actions are exactly the rows that SQL on the marts finds, every manager with an
    action gets both files with one CSV row per action, and the publish carries the tables."""
    import shutil

    from orchestration.definitions import build_definitions

    database = tmp_path / "warehouse.duckdb"
    shutil.copy(built["database"], database)
    monkeypatch.setenv("WH_DUCKDB_PATH", str(database))
    monkeypatch.setenv("WH_PUBLISH_DIR", str(tmp_path / "published"))
    monkeypatch.setenv("WH_ACTIONS_DIR", str(tmp_path / "actions"))
    monkeypatch.delenv("WH_SMTP_HOST", raising=False)
    result = build_definitions(str(database)).resolve_job_def("weekly_actions").execute_in_process()
    assert result.success
    with duckdb.connect(str(database), read_only=True) as con:
        counts = dict(
            con.execute(
                "select action_type, count(*) from analytics.customer_actions group by 1"
            ).fetchall()
        )
        renewals = con.execute(
            """
            select count(*)
            from main.fct_contracts as k
            cross join (select max(as_of_on) as as_of_on from main.customer_facts) as d
            where k.is_open and not k.is_renewed and k.status <> 'cancelled'
                and k.end_on between d.as_of_on and d.as_of_on + interval 90 day
            """
        ).fetchone()[0]
        silent = con.execute(
            """
            select count(*) from main.customer_facts
            where is_active and (last_touched_on is null or days_since_last_touch >= 90)
            """
        ).fetchone()[0]
        per_manager = dict(
            con.execute(
                "select manager_id, count(*) from analytics.customer_actions group by 1"
            ).fetchall()
        )
        week = con.execute("select max(week) from analytics.customer_actions").fetchone()[0]
        deliveries = con.execute(
            "select count(*), min(status) from analytics.action_deliveries"
        ).fetchone()
    assert counts.get("renewal_due", 0) == renewals > 0
    assert counts.get("no_contact", 0) == silent > 0
    assert deliveries == (len(per_manager), "not_sent")
    folder = tmp_path / "actions" / week
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{m}.{ext}" for m in per_manager for ext in ("csv", "html")
    )
    for manager, rows in per_manager.items():
        assert len(pd.read_csv(folder / f"{manager}.csv", encoding="utf-8-sig")) == rows
    with duckdb.connect(str(tmp_path / "published" / "bi.duckdb"), read_only=True) as con:
        published = con.execute("select count(*) from analytics.customer_actions").fetchone()[0]
    assert published == sum(per_manager.values())
