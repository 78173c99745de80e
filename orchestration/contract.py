"""The landing contract: every raw table, its columns, types, keys and rules.

This module is the single source of truth. Ingestion validates against it, the synthetic
generator writes to it, and `docs/landing-contract.md` is generated from it
(`python -m orchestration.contract > docs/landing-contract.md`; a test keeps them equal).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

# Logical types and the DuckDB type each one lands as in the `raw` schema.
DUCKDB_TYPES = {
    "string": "varchar",
    "int": "bigint",
    "decimal": "decimal(18, 2)",
    "date": "date",
    "timestamp": "timestamp",
    "bool": "boolean",
}

INDUSTRIES = (
    "manufacturing",
    "automotive",
    "electronics",
    "pharma",
    "food",
    "logistics",
    "energy",
    "public_sector",
    "finance",
    "retail",
    "construction",
    "education",
)
REGIONS = (
    "east",
    "north",
    "south",
    "central",
    "southwest",
    "northwest",
    "northeast",
)
SIZE_BANDS = ("micro", "small", "medium", "large", "enterprise")
ACQUISITION_CHANNELS = ("direct_sales", "referral", "event", "online", "partner", "tender")
CURRENCIES = ("CNY", "USD", "EUR", "HKD")
PRODUCT_LINES = (
    "system_integration",
    "automation",
    "consulting",
    "accounting",
    "design",
    "maintenance",
    "training",
    "software",
)
CONTACT_ROLES = ("decision_maker", "purchaser", "technical", "finance", "user", "other")
CONTRACT_STATUSES = ("active", "expired", "renewed", "terminated", "cancelled")
INTERACTION_CHANNELS = ("visit", "call", "email", "wechat", "forum", "social")
INTERACTION_KINDS = ("consultation", "follow_up", "care", "greeting")
TICKET_CATEGORIES = ("installation", "defect", "configuration", "training", "billing", "other")
TICKET_PRIORITIES = ("low", "medium", "high", "urgent")
TICKET_STATUSES = ("open", "in_progress", "resolved", "closed")
COMPLAINT_CATEGORIES = (
    "service_attitude",
    "response_speed",
    "quality",
    "delivery",
    "price",
    "billing",
    "other",
)
COMPLAINT_OUTCOMES = ("resolved", "partially_resolved", "unresolved", "withdrawn")
FEEDBACK_CHANNELS = ("survey", "hotline", "email", "wechat", "visit", "portal")
FEEDBACK_CATEGORIES = ("product", "service", "price", "delivery", "suggestion", "other")
EVENT_KINDS = ("training", "salon", "launch", "workshop", "trial")
REVIEW_SOURCES = ("wechat", "weibo", "zhihu", "industry_forum", "b2b_platform", "other")
SENTIMENTS = ("positive", "neutral", "negative")
LOYALTY_ENTRY_TYPES = ("enrol", "earn", "redeem", "expire")
CHURN_REASONS = ("price", "service", "quality", "competitor", "business_closed", "other")
COST_TYPES = ("acquisition", "retention")
SURVEY_KINDS = ("satisfaction", "nps", "brand", "loyalty")
SURVEY_DIMENSIONS = (
    "service_quality",
    "service_efficiency",
    "professional_competence",
    "communication",
    "price_reasonableness",
    "after_sales",
    "customisation",
    "brand_image",
    "overall_satisfaction",
    "likelihood_to_recommend",
    "repurchase_intention",
    "awareness",
    "emotional_connection",
    "switching_cost",
    "loyalty",
)


@dataclass(frozen=True)
class Column:
    """One column of a raw table."""

    name: str
    type: str
    description: str
    required: bool = True
    allowed: tuple[str, ...] | None = None
    references: str | None = None  # "<table>.<column>" that must exist
    min_value: float | None = None
    max_value: float | None = None
    pii: bool = False
    future_allowed: bool = False  # a date that may lie after the run date (a term's end)

    def __post_init__(self) -> None:
        if self.type not in DUCKDB_TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type!r}")


@dataclass(frozen=True)
class Rule:
    """A table rule: `check` is SQL over the typed row (alias `t`) that must not be false."""

    name: str
    description: str
    check: str


@dataclass(frozen=True)
class Table:
    """One raw table: a folder under the landing directory."""

    name: str
    source: str  # "crm" or "survey"
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    rules: tuple[Rule, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name}")


def _c(name: str, type_: str, description: str, **kw) -> Column:
    return Column(name=name, type=type_, description=description, **kw)


def _id(name: str, what: str) -> Column:
    return _c(name, "string", f"Identifier of the {what}, unique in the table.")


def _customer_ref(required: bool = True) -> Column:
    return _c(
        "customer_id",
        "string",
        "The customer (`customers.customer_id`).",
        required=required,
        references="customers.customer_id",
    )


TABLES: tuple[Table, ...] = (
    Table(
        "customers",
        "crm",
        "One row per customer company (B2B account).",
        ("customer_id",),
        (
            _id("customer_id", "customer"),
            _c("customer_name", "string", "Registered company name (Chinese or pinyin)."),
            _c("industry", "string", "Industry of the customer.", allowed=INDUSTRIES),
            _c("province", "string", "Province or municipality, e.g. 江苏 / Jiangsu."),
            _c("region", "string", "Sales region the province belongs to.", allowed=REGIONS),
            _c("city", "string", "City of the customer's main site."),
            _c("size_band", "string", "Company size by headcount.", allowed=SIZE_BANDS),
            _c("acquired_on", "date", "Date the customer signed its first order or contract."),
            _c(
                "acquisition_channel",
                "string",
                "How the customer was won.",
                allowed=ACQUISITION_CHANNELS,
            ),
            _c(
                "acquisition_cost",
                "decimal",
                "Direct cost of winning this customer, reporting currency (CNY).",
                required=False,
                min_value=0,
            ),
        ),
    ),
    Table(
        "contacts",
        "crm",
        "People at customer companies. Personal data: kept in clear only in `raw`.",
        ("contact_id",),
        (
            _id("contact_id", "contact person"),
            _customer_ref(),
            _c("contact_name", "string", "Full name (personal data).", pii=True),
            _c("phone", "string", "Mobile or landline (personal data).", required=False, pii=True),
            _c("email", "string", "E-mail address (personal data).", required=False, pii=True),
            _c("role", "string", "Role in the buying centre.", allowed=CONTACT_ROLES),
            _c("is_primary", "bool", "Main contact of the customer.", required=False),
        ),
    ),
    Table(
        "account_managers",
        "crm",
        "The firm's own account managers (employees).",
        ("manager_id",),
        (
            _id("manager_id", "account manager"),
            _c("manager_name", "string", "Full name (personal data).", pii=True),
            _c("team", "string", "Sales or service team."),
            _c("region", "string", "Region the manager covers.", allowed=REGIONS),
            _c("hired_on", "date", "Date the manager joined."),
            _c("left_on", "date", "Date the manager left; blank while employed.", required=False),
        ),
    ),
    Table(
        "account_assignments",
        "crm",
        "Which manager looked after which customer, when.",
        ("assignment_id",),
        (
            _id("assignment_id", "assignment"),
            _customer_ref(),
            _c(
                "manager_id",
                "string",
                "The manager (`account_managers.manager_id`).",
                references="account_managers.manager_id",
            ),
            _c("assigned_from", "date", "First day of the assignment."),
            _c(
                "assigned_to",
                "date",
                "Last day of the assignment; blank while current.",
                required=False,
            ),
        ),
        rules=(
            Rule(
                "assignment_period",
                "assigned_to, when given, is on or after assigned_from",
                "t.assigned_to >= t.assigned_from",
            ),
        ),
    ),
    Table(
        "contracts",
        "crm",
        "Service contracts (annual maintenance, retainers, frameworks).",
        ("contract_id",),
        (
            _id("contract_id", "contract"),
            _customer_ref(),
            _c("product_line", "string", "Product line of the contract.", allowed=PRODUCT_LINES),
            _c("start_on", "date", "First day of the contract term."),
            _c(
                "end_on",
                "date",
                "Last day of the contract term; may lie in the future.",
                future_allowed=True,
            ),
            _c("contract_value", "decimal", "Total value over the term.", min_value=0),
            _c("currency", "string", "ISO currency of contract_value.", allowed=CURRENCIES),
            _c(
                "renewal_of",
                "string",
                "The contract this one renews (`contracts.contract_id`); blank for a first one.",
                required=False,
                references="contracts.contract_id",
            ),
            _c("status", "string", "Contract status.", allowed=CONTRACT_STATUSES),
        ),
        rules=(Rule("contract_term", "end_on is on or after start_on", "t.end_on >= t.start_on"),),
    ),
    Table(
        "orders",
        "crm",
        "Invoice-level orders. Credit notes are negative amounts with is_credit_note true.",
        ("order_id",),
        (
            _id("order_id", "invoice"),
            _customer_ref(),
            _c("ordered_on", "date", "Invoice date."),
            _c("amount", "decimal", "Invoice amount in `currency`; negative for a credit note."),
            _c("currency", "string", "ISO currency of amount.", allowed=CURRENCIES),
            _c("product_line", "string", "Product line invoiced.", allowed=PRODUCT_LINES),
            _c("is_credit_note", "bool", "True for a credit note (amount < 0)."),
            _c(
                "contract_id",
                "string",
                "Contract the invoice bills, if any.",
                required=False,
                references="contracts.contract_id",
            ),
        ),
        rules=(
            Rule(
                "credit_note_sign",
                "amount < 0 exactly when is_credit_note is true (a zero-value invoice, such as a"
                " free item, is a purchase; a zero credit note is not allowed)",
                "(t.amount < 0) = t.is_credit_note",
            ),
        ),
    ),
    Table(
        "interactions",
        "crm",
        "Touches between the firm and a customer.",
        ("interaction_id",),
        (
            _id("interaction_id", "interaction"),
            _customer_ref(),
            _c("occurred_at", "timestamp", "When the interaction happened."),
            _c("channel", "string", "Channel.", allowed=INTERACTION_CHANNELS),
            _c("kind", "string", "Purpose of the interaction.", allowed=INTERACTION_KINDS),
            _c(
                "manager_id",
                "string",
                "Account manager involved, if any.",
                required=False,
                references="account_managers.manager_id",
            ),
        ),
    ),
    Table(
        "service_tickets",
        "crm",
        "After-sales service tickets.",
        ("ticket_id",),
        (
            _id("ticket_id", "ticket"),
            _customer_ref(),
            _c("opened_at", "timestamp", "When the ticket was opened."),
            _c("first_response_at", "timestamp", "First response to the customer.", required=False),
            _c("resolved_at", "timestamp", "When the ticket was resolved.", required=False),
            _c("category", "string", "Ticket category.", allowed=TICKET_CATEGORIES),
            _c("priority", "string", "Priority.", allowed=TICKET_PRIORITIES, required=False),
            _c("status", "string", "Current status.", allowed=TICKET_STATUSES),
        ),
        rules=(
            Rule(
                "ticket_timeline",
                "first_response_at and resolved_at, when given, are not before opened_at",
                "coalesce(t.first_response_at >= t.opened_at, true)"
                " and coalesce(t.resolved_at >= t.opened_at, true)",
            ),
        ),
    ),
    Table(
        "complaints",
        "crm",
        "Formal complaints.",
        ("complaint_id",),
        (
            _id("complaint_id", "complaint"),
            _customer_ref(),
            _c("opened_at", "timestamp", "When the complaint was received."),
            _c("resolved_at", "timestamp", "When it was closed.", required=False),
            _c("category", "string", "What the complaint is about.", allowed=COMPLAINT_CATEGORIES),
            _c(
                "outcome",
                "string",
                "Result; blank while open.",
                allowed=COMPLAINT_OUTCOMES,
                required=False,
            ),
            _c(
                "satisfaction_after",
                "int",
                "Customer's satisfaction with the handling, 1 (very poor) to 5 (very good).",
                required=False,
                min_value=1,
                max_value=5,
            ),
        ),
        rules=(
            Rule(
                "complaint_timeline",
                "resolved_at, when given, is not before opened_at",
                "t.resolved_at >= t.opened_at",
            ),
        ),
    ),
    Table(
        "feedback",
        "crm",
        "Feedback and suggestions received through any channel.",
        ("feedback_id",),
        (
            _id("feedback_id", "feedback item"),
            _customer_ref(),
            _c("received_at", "timestamp", "When the feedback arrived."),
            _c("channel", "string", "Channel it came through.", allowed=FEEDBACK_CHANNELS),
            _c("category", "string", "Topic.", allowed=FEEDBACK_CATEGORIES),
            _c("is_valid", "bool", "False for spam, duplicates and unusable items."),
            _c("is_suggestion", "bool", "The item proposes an improvement."),
            _c("is_adopted", "bool", "The suggestion was adopted.", required=False),
            _c("responded_at", "timestamp", "First response to the customer.", required=False),
            _c("followed_up_at", "timestamp", "Recorded follow-up.", required=False),
        ),
    ),
    Table(
        "events",
        "crm",
        "Customer events the firm organises.",
        ("event_id",),
        (
            _id("event_id", "event"),
            _c("event_name", "string", "Title of the event."),
            _c("kind", "string", "Kind of event.", allowed=EVENT_KINDS),
            _c("held_on", "date", "Date of the event."),
            _c("city", "string", "Where it was held.", required=False),
        ),
    ),
    Table(
        "event_attendance",
        "crm",
        "Customers registered for and attending events.",
        ("attendance_id",),
        (
            _id("attendance_id", "registration"),
            _c(
                "event_id",
                "string",
                "The event (`events.event_id`).",
                references="events.event_id",
            ),
            _customer_ref(),
            _c("attended", "bool", "The customer actually attended."),
        ),
    ),
    Table(
        "referrals",
        "crm",
        "Referrals made by customers.",
        ("referral_id",),
        (
            _id("referral_id", "referral"),
            _c(
                "referrer_customer_id",
                "string",
                "The customer who referred (`customers.customer_id`).",
                references="customers.customer_id",
            ),
            _c(
                "referred_customer_id",
                "string",
                "The referred company if it became a customer; blank for a prospect.",
                required=False,
                references="customers.customer_id",
            ),
            _c("referred_on", "date", "Date of the referral."),
            _c("is_converted", "bool", "The referred prospect became a customer."),
        ),
        rules=(
            Rule(
                "referral_conversion",
                "is_converted is true exactly when referred_customer_id is given",
                "t.is_converted = (t.referred_customer_id is not null)",
            ),
        ),
    ),
    Table(
        "reviews",
        "crm",
        "Public reviews and mentions of the firm.",
        ("review_id",),
        (
            _id("review_id", "review"),
            _customer_ref(required=False),
            _c("published_on", "date", "Publication date."),
            _c("source", "string", "Where it appeared.", allowed=REVIEW_SOURCES),
            _c("sentiment", "string", "Tone of the review.", allowed=SENTIMENTS),
            _c(
                "rating",
                "int",
                "Star rating 1–5 where the platform has one.",
                required=False,
                min_value=1,
                max_value=5,
            ),
        ),
    ),
    Table(
        "loyalty_programme",
        "crm",
        "Loyalty-programme ledger: enrolment, points earned, redeemed and expired.",
        ("entry_id",),
        (
            _id("entry_id", "ledger entry"),
            _customer_ref(),
            _c("occurred_on", "date", "Date of the entry."),
            _c("entry_type", "string", "What happened.", allowed=LOYALTY_ENTRY_TYPES),
            _c("points", "int", "Points moved (0 for enrol), always non-negative.", min_value=0),
        ),
    ),
    Table(
        "churn_records",
        "crm",
        "Customers the CRM records as lost, with the reason.",
        ("churn_id",),
        (
            _id("churn_id", "churn record"),
            _customer_ref(),
            _c("churned_on", "date", "Date the customer was recorded as lost."),
            _c("reason_code", "string", "Reason category.", allowed=CHURN_REASONS),
            _c("reason_text", "string", "Free-text note.", required=False),
        ),
    ),
    Table(
        "costs",
        "crm",
        "Monthly acquisition and retention spend.",
        ("cost_id",),
        (
            _id("cost_id", "cost line"),
            _c("month_on", "date", "First day of the month the spend belongs to."),
            _c("cost_type", "string", "Acquisition or retention spend.", allowed=COST_TYPES),
            _c("amount", "decimal", "Spend in `currency`.", min_value=0),
            _c("currency", "string", "ISO currency.", allowed=CURRENCIES),
        ),
    ),
    Table(
        "surveys",
        "survey",
        "Survey waves.",
        ("survey_id",),
        (
            _id("survey_id", "survey"),
            _c("survey_name", "string", "Title."),
            _c("kind", "string", "What the survey measures.", allowed=SURVEY_KINDS),
            _c("fielded_on", "date", "First day in the field."),
        ),
    ),
    Table(
        "survey_questions",
        "survey",
        "Questions of each survey, with the dimension they measure and their scale.",
        ("question_id",),
        (
            _id("question_id", "question"),
            _c(
                "survey_id",
                "string",
                "The survey (`surveys.survey_id`).",
                references="surveys.survey_id",
            ),
            _c("question_text", "string", "Wording as shown to respondents."),
            _c("dimension", "string", "Dimension the item measures.", allowed=SURVEY_DIMENSIONS),
            _c("scale_min", "int", "Lowest answer on the item's scale (e.g. 0 or 1)."),
            _c("scale_max", "int", "Highest answer on the item's scale (e.g. 5, 7 or 10)."),
            _c("is_reverse_coded", "bool", "A high answer means a worse outcome."),
        ),
        rules=(
            Rule(
                "question_scale", "scale_max is greater than scale_min", "t.scale_max > t.scale_min"
            ),
        ),
    ),
    Table(
        "survey_responses",
        "survey",
        "One completed questionnaire.",
        ("response_id",),
        (
            _id("response_id", "response"),
            _c(
                "survey_id",
                "string",
                "The survey (`surveys.survey_id`).",
                references="surveys.survey_id",
            ),
            _customer_ref(),
            _c(
                "contact_id",
                "string",
                "Respondent (`contacts.contact_id`), if known.",
                required=False,
                references="contacts.contact_id",
            ),
            _c("submitted_at", "timestamp", "When the questionnaire was submitted."),
        ),
    ),
    Table(
        "survey_answers",
        "survey",
        "One answer to one question. A skipped question is a blank value, never 0.",
        ("response_id", "question_id"),
        (
            _c(
                "response_id",
                "string",
                "The response (`survey_responses.response_id`).",
                references="survey_responses.response_id",
            ),
            _c(
                "question_id",
                "string",
                "The question (`survey_questions.question_id`).",
                references="survey_questions.question_id",
            ),
            _c(
                "value",
                "decimal",
                "Answer on the question's own scale; blank when skipped.",
                required=False,
            ),
        ),
        rules=(
            Rule(
                "answer_in_scale",
                "value, when given, lies within the question's scale_min..scale_max",
                "t.value is null or exists (select 1 from raw.survey_questions q"
                " where q.question_id = t.question_id"
                " and t.value between q.scale_min and q.scale_max)",
            ),
        ),
    ),
)

TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
TABLE_NAMES: tuple[str, ...] = tuple(TABLES_BY_NAME)


def table(name: str) -> Table:
    """The contract of one raw table; a clear error for an unknown one."""
    try:
        return TABLES_BY_NAME[name]
    except KeyError:
        raise KeyError(
            f"unknown raw table {name!r}; the landing contract knows: {', '.join(TABLE_NAMES)}"
        ) from None


def load_order() -> list[Table]:
    """Tables ordered so that every referenced table comes before the tables that refer to it."""
    done: list[str] = []
    pending = list(TABLE_NAMES)
    while pending:
        for name in pending:
            deps = {
                c.references.split(".")[0]
                for c in TABLES_BY_NAME[name].columns
                if c.references and c.references.split(".")[0] != name
            }
            if deps <= set(done):
                done.append(name)
                pending.remove(name)
                break
        else:  # pragma: no cover - the contract above has no cycles
            raise ValueError(f"reference cycle among {pending}")
    return [TABLES_BY_NAME[n] for n in done]


def to_markdown() -> str:
    """The landing contract as a Markdown document (docs/landing-contract.md)."""
    out = [
        "# Landing contract",
        "",
        "<!-- Generated by `python -m orchestration.contract`; edit orchestration/contract.py. -->",
        "",
        "Raw CRM and survey exports land in a **landing directory** (default `landing/` at the",
        "project root; set `WH_LANDING_DIR` to use another). It holds one folder per raw table,",
        "and each folder holds dated **drop files**:",
        "",
        "```",
        "landing/<table>/<YYYY-MM-DD>[_<n>].csv",
        "landing/<table>/<YYYY-MM-DD>[_<n>].xlsx",
        "landing/<table>/<YYYY-MM-DD>[_<n>].parquet",
        "```",
        "",
        "- The date is the day the export was taken; `_<n>` numbers several drops on one day.",
        "  A file whose name does not follow this pattern is rejected with a message naming it.",
        "  Files still being written are never picked up: names ending in `.tmp`, `.part`,",
        "  `.partial`, `.crdownload`, `.filepart`, `.swp`, or starting with `.` or `~$`; the",
        "  landing sensor also waits until a file's size and time stop changing.",
        "- CSV: comma-separated with a header row holding the column names below, in any",
        "  order; standard double-quote quoting. Encoding UTF-8 (with or without a byte-order",
        "  mark) or GBK / GB18030, detected from the bytes. A file that is neither is rejected.",
        "  Rows end with a line end (CRLF, LF or CR, mixed or not). A file whose last row has",
        "  no line end may have been cut inside its last value (`10447.1` for `10447.14`): that",
        "  row is quarantined (`unterminated_last_row`), never loaded as a shorter value.",
        "  Line numbers are physical lines of the file (header = line 1), counting blank lines",
        "  and every line of a quoted cell that spans lines.",
        "- Blank rows (every cell empty: Excel's `,,,,,,` rows and empty lines in CSV, empty",
        "  rows in `.xlsx`, all-null rows in Parquet) are skipped and counted in the ledger",
        "  (`rows_blank`), never quarantined. Empty rows after the last data row of a sheet",
        "  are formatting, not rows, and are not counted.",
        "- Excel `.xlsx`: the first sheet whose first row holds every required column is read",
        "  (a cover sheet before the data is fine); line numbers are Excel row numbers.",
        "- Parquet: the same column names; values are read as text and checked like CSV;",
        "  line numbers are row numbers (first row = 1).",
        "- Only regular files inside the landing directory are read. A symbolic link (to a",
        "  file or as a table folder), a FIFO, a device or a socket is rejected with a ledger",
        "  line and never opened; a message never quotes anything but the offending row of",
        "  the file itself.",
        "- Values as exports write them: dates `2024-03-05`, `2024/3/5`, `2024.3.5`, `20240305`,",
        "  `2024年3月5日` or an Excel serial day number (`45356`); timestamps the same with",
        "  `HH:MM[:SS]`; full-width digits (`２０２４`); amounts with a currency prefix",
        "  (`¥`, `￥`, `$`, `€`, `HK$`, `RMB`, `CNY`, ...), a trailing `元`, thousands separators",
        "  (`1,234.50`) and accounting negatives (`(100.00)`); booleans `true`/`false`, `1`/`0`,",
        "  `Y`/`N`, `yes`/`no`, `是`/`否`. An empty cell is missing, never zero. Amounts keep at",
        "  most 2 decimals: `1.234` is quarantined rather than rounded.",
        "- Each file is loaded once: the ingestion records its path and SHA-256 checksum in",
        "  `raw_meta.load_ledger`. A file is judged against the content in effect now (each",
        "  drop's latest load). Content another drop holds, dropped again under another name,",
        "  is skipped and recorded once (`skipped-duplicate`, `duplicate_of` naming the file",
        "  holding it); an unchanged file is not recorded again. A file with the same table",
        "  and drop name but new content replaces every row of that drop (`replaced`), never",
        "  adding to them, also when that content was loaded once and superseded since",
        "  (A, corrected to B, then A put back: A is loaded).",
        "- A file is loaded whole or not at all (one transaction per file). A row that breaks",
        "  a rule below goes to `raw_quarantine.<table>` with the file, line, raw values, the",
        "  rules and a message; it is never dropped silently. In the ledger,",
        "  rows_in = rows_accepted + rows_quarantined + rows_blank for every file.",
        "- Rejected whole, with a ledger line naming the file and the problem: an empty file,",
        "  a header without rows (or only blank rows), undecodable bytes, a repeated column,",
        "  missing required columns (the message lists the expected and the found columns),",
        "  an unreadable workbook or Parquet file, and, each with its own message quoting the",
        "  offending line (at most 120 characters, control characters escaped):",
        "  `wrong separator` (rows split on `;`, tab or `|` under a comma header, or a header",
        "  that is), `ragged row` (a row with more or fewer fields than the header: expected",
        "  and found counts), `the file looks truncated` (it ends inside a quoted value, or",
        "  inside a last row with too few fields), `malformed row` (broken quoting).",
        "  A folder that is not a table below is reported by `python -m orchestration.ingest",
        "  check`. Extra columns are kept as a JSON object in `_extra` and listed in the ledger.",
        "- Wide survey exports (Qualtrics, Wenjuanxing: one row per respondent, one column per",
        "  question) go to `landing/survey_wide/`. Columns: those of `survey_responses`",
        "  (`response_id`, `survey_id`, `customer_id`, `submitted_at`, optional `contact_id`),",
        "  then one column per question, named by its `question_id` or by its exact",
        "  `question_text` in `survey_questions` (load the questions first). Each respondent",
        "  row becomes a `survey_responses` row and one `survey_answers` row per question; an",
        "  empty cell is a skipped answer with no value, never 0; an answer outside the",
        "  question's scale is quarantined (`answer_in_scale`). Columns naming no question",
        "  are kept in the response's `_extra`.",
        "- Check a drop before it loads, writing nothing:",
        "  `python -m orchestration.ingest check landing/`.",
        "",
        "Types: `string` text; `int` whole number; `decimal` number with up to 2 decimals;",
        "`date`; `timestamp`; `bool` (`true`/`false`, also `1`/`0`).",
        "",
        "Rules checked on every row: no value holds a control character (NUL, U+0001-U+001F",
        "other than tab, line feed and carriage return, or U+007F: the row is quarantined,",
        "not stripped, so raw holds only what the source said); required columns are",
        "non-blank; values cast to their type; allowed values; numeric bounds; the key is",
        "unique within the file and across drops already loaded; references point at rows",
        "that exist (in raw or in the same drop); dates lie between 1990-01-01 and the run",
        "date + 1 day (unless the column says it may be later); the last row of a CSV file",
        "ends with a line end; and the table rules.",
        "",
        "| rule | message in `raw_quarantine.<table>.message` (after `<file> line <n>: `) |",
        "|---|---|",
        "| `control_character` | `<column> holds a control character (...)` |",
        "| `unterminated_last_row` | `the file ends inside this row, with no line end after it"
        " (...)` |",
        "| `required` | `<column> is required but blank` |",
        "| `type` | `<column> value '<text>' is not a date (YYYY-MM-DD)` (or a number, ...) |",
        "| `allowed_values` | `<column> value '<text>' is not one of: <allowed values>` |",
        "| `min_value` / `max_value` | `<column> value <v> is below the minimum <m>` |",
        "| `plausible_date` | `<column> <date> lies outside 1990-01-01 .. <run date + 1>` |",
        "| `duplicate_key_in_file` | `key (<key>) = <value> repeats line <n>` |",
        "| `duplicate_key_across_drops` | `key (<key>) = <value> was already loaded from <file>` |",
        "| `unknown_reference` | `<column> '<value>' does not match any <table>.<column>` |",
        "| table rules (below) | `breaks rule <name>: <description>` |",
        "",
        "A row breaking several rules lists them all, comma-separated in `rule` and",
        "semicolon-separated in `message`; `raw_record` holds the row's original text as JSON.",
        "",
        "Personal data (marked PII) is kept in clear only in the `raw` schema. The ingestion",
        "writes beside it, in Python, a keyed hash (HMAC-SHA256 with the salt `WH_PII_SALT`)",
        "and a masked form (`138****5678`, `z***@example.com`), and staging and every later",
        "layer see only those, so the salt appears in no SQL, log or document. A phone is",
        "hashed and masked by its own digits (an extension such as `ext. 12` or `转 801` is",
        "cut off); a blank value, or a phone without a digit, has no hash (NULL).",
        "",
        "| table | source | key |",
        "|---|---|---|",
    ]
    for t in TABLES:
        out.append(f"| [`{t.name}`](#{t.name}) | {t.source} | {', '.join(t.key)} |")
    for t in TABLES:
        out += ["", f"## {t.name}", "", t.description, "", f"Key: `{', '.join(t.key)}`.", ""]
        out += ["| column | type | required | allowed values / rule | meaning |"]
        out += ["|---|---|---|---|---|"]
        for c in t.columns:
            rule = []
            if c.allowed:
                rule.append(", ".join(f"`{v}`" for v in c.allowed))
            if c.references:
                rule.append(f"references `{c.references}`")
            if c.min_value is not None:
                rule.append(f"≥ {c.min_value:g}")
            if c.max_value is not None:
                rule.append(f"≤ {c.max_value:g}")
            if c.pii:
                rule.append("**PII**")
            if c.future_allowed:
                rule.append("may be after the run date")
            req = "yes" if c.required else "no"
            out.append(f"| `{c.name}` | {c.type} | {req} | {'; '.join(rule)} | {c.description} |")
        if t.rules:
            out += ["", "Table rules:"] + [f"- `{r.name}`: {r.description}" for r in t.rules]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(to_markdown())
