"""A believable B2B service firm, generated with a known truth.

`python -m orchestration.synthetic --customers 5000 --years 3 --seed 42 --out landing`

Every customer has a latent loyalty z ~ N(0, 1). Purchases follow a BG/NBD process (weeks),
spend a Gamma-Gamma process, annual contracts renew with shifted-beta-geometric churn; the
dropout probability p and the contract churn probability theta are tied to loyalty through a
Gaussian copula, so their marginals are exactly Beta(a, b) and Beta(alpha, beta) and the model
parameters stay recoverable. Interactions, complaints, survey answers, referrals, event
attendance and manager changes co-move with loyalty, and deteriorate before churn, so churn
is predictable from them. The truth goes to a separate folder the pipeline never reads.

Customers are generated in chunks appended to the CSV files, so memory stays bounded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from tqdm import tqdm

from .contract import (
    COMPLAINT_CATEGORIES,
    FEEDBACK_CATEGORIES,
    FEEDBACK_CHANNELS,
    INDUSTRIES,
    PRODUCT_LINES,
    REVIEW_SOURCES,
    SIZE_BANDS,
    TABLES,
    TICKET_CATEGORIES,
    TICKET_PRIORITIES,
)

DEFAULT_END_DATE = dt.date(2026, 10, 31)  # fixed, so the same seed gives the same files
DAYS_PER_WEEK = 7.0
FX_TO_CNY = {"CNY": 1.0, "USD": 7.10, "EUR": 7.75, "HKD": 0.91}  # as seeds/fx_rates.csv
SPEND_SCALE_CNY = 500.0  # one Gamma-Gamma spend unit in CNY
ACTIVITY_WINDOW_DAYS = 365

PROVINCES = {  # province: (region, cities)
    "江苏": ("east", ("苏州", "南京", "无锡", "常州")),
    "浙江": ("east", ("杭州", "宁波", "温州")),
    "上海": ("east", ("上海",)),
    "山东": ("east", ("青岛", "济南", "烟台")),
    "北京": ("north", ("北京",)),
    "天津": ("north", ("天津",)),
    "河北": ("north", ("石家庄", "唐山")),
    "广东": ("south", ("广州", "深圳", "东莞", "佛山")),
    "福建": ("south", ("厦门", "福州")),
    "湖北": ("central", ("武汉", "襄阳")),
    "湖南": ("central", ("长沙", "株洲")),
    "河南": ("central", ("郑州", "洛阳")),
    "四川": ("southwest", ("成都", "绵阳")),
    "重庆": ("southwest", ("重庆",)),
    "陕西": ("northwest", ("西安", "宝鸡")),
    "辽宁": ("northeast", ("沈阳", "大连")),
}
PROVINCE_WEIGHTS = np.array([14, 10, 9, 7, 6, 3, 3, 12, 4, 5, 4, 4, 5, 3, 3, 3], dtype=float)
INDUSTRY_WEIGHTS = np.array([20, 12, 12, 7, 7, 8, 7, 6, 5, 6, 6, 4], dtype=float)
SIZE_WEIGHTS = np.array([15, 30, 30, 18, 7], dtype=float)
CHANNELS = ("direct_sales", "referral", "event", "online", "partner", "tender")
CHANNEL_WEIGHTS = np.array([30, 15, 15, 15, 15, 10], dtype=float)
NAME_STEMS = (
    "精工",
    "华信",
    "联创",
    "恒通",
    "博远",
    "智达",
    "新锐",
    "鼎盛",
    "汇能",
    "天成",
    "中科",
    "宏图",
    "瑞丰",
    "金桥",
    "安泰",
    "德润",
    "永昌",
    "海纳",
    "启明",
    "远景",
)
NAME_STEMS_PINYIN = (
    "jinggong",
    "huaxin",
    "lianchuang",
    "hengtong",
    "boyuan",
    "zhida",
    "xinrui",
    "dingsheng",
    "huineng",
    "tiancheng",
    "zhongke",
    "hongtu",
    "ruifeng",
    "jinqiao",
    "antai",
    "derun",
    "yongchang",
    "haina",
    "qiming",
    "yuanjing",
)
INDUSTRY_WORDS = {
    "manufacturing": ("制造", "mfg"),
    "automotive": ("汽车部件", "auto"),
    "electronics": ("电子", "elec"),
    "pharma": ("医药", "pharma"),
    "food": ("食品", "food"),
    "logistics": ("物流", "logistics"),
    "energy": ("能源", "energy"),
    "public_sector": ("公共服务", "gov"),
    "finance": ("金融服务", "fin"),
    "retail": ("商贸", "retail"),
    "construction": ("建设", "build"),
    "education": ("教育科技", "edu"),
}
SURNAMES = (
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("赵", "zhao"),
    ("黄", "huang"),
    ("周", "zhou"),
    ("吴", "wu"),
)
GIVEN = (
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("磊", "lei"),
    ("强", "qiang"),
    ("洋", "yang"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("婷", "ting"),
    ("超", "chao"),
)
CHURN_NOTES = {
    "price": "客户认为续费价格偏高",
    "service": "对服务响应不满意",
    "quality": "交付质量问题未解决",
    "competitor": "转向竞争对手",
    "business_closed": "客户业务调整或停业",
    "other": "其他原因",
}


@dataclass(frozen=True)
class Truth:
    """Parameters the data is drawn from (written to truth/params.json)."""

    bgnbd_r: float = 1.5
    bgnbd_alpha: float = 8.0  # rate: mean purchase rate r/alpha per week
    bgnbd_a: float = 0.6
    bgnbd_b: float = 10.0  # mean dropout probability a/(a+b) after each purchase
    gg_p: float = 6.0
    gg_q: float = 4.0
    gg_gamma: float = 12.0  # mean spend p*gamma/(q-1) = 24 units
    sbg_alpha: float = 0.8
    sbg_beta: float = 3.0  # mean annual contract churn 0.21
    copula_rho_dropout: float = 0.6
    copula_rho_contract: float = 0.6
    contract_share: float = 0.55
    churn_record_share: float = 0.8
    spend_scale_cny: float = SPEND_SCALE_CNY
    time_unit: str = "weeks"


@dataclass
class Writer:
    """Appends chunks to one CSV per table, with the contract's header and formats."""

    out: Path
    drop: str
    rows: dict[str, int] = field(default_factory=dict)

    def write(self, table_name: str, frame: pd.DataFrame) -> None:
        columns = next(t.column_names for t in TABLES if t.name == table_name)
        frame = frame.reindex(columns=columns)
        path = self.out / table_name / f"{self.drop}.csv"
        first = table_name not in self.rows
        if first:
            path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(
            path, mode="w" if first else "a", header=first, index=False, lineterminator="\n"
        )
        self.rows[table_name] = self.rows.get(table_name, 0) + len(frame)


def _fmt_date(days: np.ndarray, epoch: dt.date) -> np.ndarray:
    return (np.datetime64(epoch) + days.astype("timedelta64[D]")).astype(str)


def _fmt_ts(days: np.ndarray, epoch: dt.date) -> np.ndarray:
    seconds = np.round(days * 86400).astype("int64").astype("timedelta64[s]")
    return np.char.replace((np.datetime64(epoch, "s") + seconds).astype(str), "T", " ")


def _bool(values: np.ndarray) -> np.ndarray:
    return np.where(values, "true", "false")


def _money(values: np.ndarray) -> np.ndarray:
    return np.char.mod("%.2f", np.round(values, 2))


def _ids(prefix: str, start: int, count: int, width: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.arange(start, start + count).astype(str), width))


class Counter:
    """Sequential ids per table, continuing across chunks."""

    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def take(self, prefix: str, count: int, width: int = 9) -> np.ndarray:
        start = self.next.get(prefix, 1)
        self.next[prefix] = start + count
        return _ids(prefix, start, count, width)


def _poisson_events(rng, rates, starts, ends):
    """Events of a Poisson process per customer on [start, end) (days): (owner, day)."""
    span = np.maximum(ends - starts, 0.0)
    counts = rng.poisson(rates * span)
    owner = np.repeat(np.arange(len(rates)), counts)
    days = starts[owner] + rng.random(owner.size) * span[owner]
    return owner, days


def generate(
    out_dir: Path | str,
    truth_dir: Path | str | None = None,
    customers: int = 5000,
    years: int = 3,
    seed: int = 42,
    end_date: dt.date = DEFAULT_END_DATE,
    chunk_size: int = 50_000,
    progress: bool = True,
) -> dict[str, int]:
    """Write one drop file per raw table into `out_dir`; return rows written per table."""
    out = Path(out_dir)
    truth = Truth()
    writer = Writer(out, end_date.isoformat())
    epoch = dt.date(end_date.year - years - 4, 1, 1)  # day 0 of all day arithmetic
    end = float((end_date - epoch).days)
    window_start = float((end_date - dt.timedelta(days=365 * years) - epoch).days)
    ids = Counter()
    base_rng = np.random.default_rng([seed, 0])
    width = max(7, len(str(customers)))

    managers = _managers(base_rng, customers, epoch, window_start)
    writer.write("account_managers", managers)
    events = _events(base_rng, epoch, window_start, end, ids)
    writer.write("events", events)
    surveys, questions, waves = _surveys(epoch, window_start, end)
    writer.write("surveys", surveys)
    writer.write("survey_questions", questions)

    truth_rows: list[pd.DataFrame] = []
    acquisition_by_month: dict[str, float] = {}
    active_by_month: dict[str, int] = {}
    bar = tqdm(
        total=customers, desc="customers", unit="cust", disable=not progress, file=sys.stderr
    )
    for chunk_index, first in enumerate(range(0, customers, chunk_size)):
        n = min(chunk_size, customers - first)
        rng = np.random.default_rng([seed, 1, chunk_index])
        cust_ids = _ids("C", first + 1, n, width)
        truth_rows.append(
            _chunk(
                rng,
                n,
                cust_ids,
                truth,
                writer,
                ids,
                managers,
                events,
                questions,
                waves,
                epoch,
                window_start,
                end,
                acquisition_by_month,
                active_by_month,
            )
        )
        bar.update(n)
    bar.close()

    writer.write("costs", _costs(acquisition_by_month, active_by_month, ids))
    if truth_dir is not None:
        _write_truth(
            Path(truth_dir), truth, truth_rows, writer.rows, seed, customers, years, end_date, epoch
        )
    return dict(writer.rows)


def _managers(rng, customers: int, epoch: dt.date, window_start: float) -> pd.DataFrame:
    count = max(3, int(np.ceil(customers / 60)))
    regions = np.array([v[0] for v in PROVINCES.values()])
    hired = window_start - rng.uniform(200, 3000, count)
    left = np.where(rng.random(count) < 0.1, window_start + rng.uniform(100, 900, count), np.nan)
    sur = rng.integers(0, len(SURNAMES), count)
    giv = rng.integers(0, len(GIVEN), count)
    return pd.DataFrame(
        {
            "manager_id": _ids("M", 1, count, 5),
            "manager_name": [SURNAMES[s][0] + GIVEN[g][0] for s, g in zip(sur, giv, strict=True)],
            "team": np.char.add("销售", np.char.add((rng.integers(1, 6, count)).astype(str), "组")),
            "region": regions[rng.integers(0, len(regions), count)],
            "hired_on": _fmt_date(hired, epoch),
            "left_on": np.where(np.isnan(left), "", _fmt_date(np.nan_to_num(left), epoch)),
            "_left_day": left,
        }
    )


def _events(rng, epoch: dt.date, start: float, end: float, ids: Counter) -> pd.DataFrame:
    months = int((end - start) / 30.4)
    count = months * 4
    kinds = np.array(["training", "salon", "launch", "workshop", "trial"])
    kind = kinds[rng.integers(0, len(kinds), count)]
    held = np.sort(rng.uniform(start, end - 1, count))
    names = {
        "training": "技术培训",
        "salon": "行业沙龙",
        "launch": "新品发布会",
        "workshop": "用户研讨会",
        "trial": "产品试用",
    }
    cities = np.array(["上海", "北京", "深圳", "苏州", "成都", "武汉"])
    return pd.DataFrame(
        {
            "event_id": ids.take("E", count, 6),
            "event_name": [names[k] for k in kind],
            "kind": kind,
            "held_on": _fmt_date(held, epoch),
            "city": cities[rng.integers(0, len(cities), count)],
            "_day": np.floor(held),
        }
    )


SATISFACTION_ITEMS = (
    ("service_quality", "您对我们的服务质量是否满意？", False),
    ("service_efficiency", "我们的服务响应速度是否令您满意？", False),
    ("professional_competence", "您如何评价我们团队的专业能力？", False),
    ("communication", "您对双方沟通方式是否满意？", False),
    ("price_reasonableness", "您认为我们的价格是否合理？", False),
    ("after_sales", "您对售后服务是否满意？", False),
    ("customisation", "我们的方案是否满足您的定制需求？", False),
    ("brand_image", "您如何评价我们的品牌形象？", False),
    ("service_efficiency", "处理问题时经常需要您反复催促。", True),
    ("overall_satisfaction", "总体而言，您对我们是否满意？", False),
)


def _surveys(epoch: dt.date, start: float, end: float):
    """Survey waves and questions: satisfaction twice a year (1–5 and 1–7 scales in turn),
    NPS (0–10), brand (1–7) and loyalty (1–5) once a year."""
    surveys, questions, waves = [], [], []
    day = start + 60
    wave = 0
    while day < end - 10:
        wave += 1
        scale = (1, 5) if wave % 2 else (1, 7)
        specs = [
            ("satisfaction", "客户满意度调查", [(d, t, r, scale) for d, t, r in SATISFACTION_ITEMS])
        ]
        if wave % 2:
            specs += [
                (
                    "nps",
                    "客户推荐意愿调查",
                    [
                        (
                            "likelihood_to_recommend",
                            "您向同行推荐我们的可能性有多大？",
                            False,
                            (0, 10),
                        )
                    ],
                ),
                (
                    "brand",
                    "品牌认知调查",
                    [
                        ("awareness", "您对我们品牌的了解程度", False, (1, 7)),
                        ("brand_image", "我们的品牌形象专业可信", False, (1, 7)),
                        ("emotional_connection", "您对我们有情感上的认同", False, (1, 7)),
                        ("switching_cost", "更换服务商对您代价很高", False, (1, 7)),
                    ],
                ),
                (
                    "loyalty",
                    "客户忠诚度调查",
                    [
                        ("repurchase_intention", "您未来继续合作的可能性", False, (1, 5)),
                        ("loyalty", "您会优先选择我们的服务", False, (1, 5)),
                    ],
                ),
            ]
        for kind, title, items in specs:
            survey_id = f"S{len(surveys) + 1:04d}"
            fielded = _fmt_date(np.array([day]), epoch)[0]
            surveys.append(
                {
                    "survey_id": survey_id,
                    "survey_name": f"{fielded[:7]} {title}",
                    "kind": kind,
                    "fielded_on": fielded,
                }
            )
            for dim, text, reverse, (lo, hi) in items:
                qid = f"Q{len(questions) + 1:05d}"
                questions.append(
                    {
                        "question_id": qid,
                        "survey_id": survey_id,
                        "question_text": text,
                        "dimension": dim,
                        "scale_min": lo,
                        "scale_max": hi,
                        "is_reverse_coded": "true" if reverse else "false",
                    }
                )
            waves.append((survey_id, kind, day))
        day += 182.5
    return pd.DataFrame(surveys), pd.DataFrame(questions), waves


def _chunk(
    rng,
    n,
    cust_ids,
    truth: Truth,
    writer: Writer,
    ids: Counter,
    managers,
    events,
    questions,
    waves,
    epoch,
    window_start,
    end,
    acquisition_by_month,
    active_by_month,
):
    """Generate and write every table's rows for one chunk of customers."""
    z = rng.standard_normal(n)  # latent loyalty
    value = rng.standard_normal(n)  # latent value, scales spend through size
    # Acquisition: 70 % inside the window, 30 % up to three years before it (a mature base).
    inside = rng.random(n) < 0.7
    acquired = np.floor(
        np.where(
            inside,
            rng.uniform(window_start, end - 14, n),
            rng.uniform(window_start - 1095, window_start, n),
        )
    )
    province_names = np.array(list(PROVINCES))
    prov = province_names[
        rng.choice(len(PROVINCES), n, p=PROVINCE_WEIGHTS / PROVINCE_WEIGHTS.sum())
    ]
    region = np.array([PROVINCES[p][0] for p in prov])
    city = np.array(
        [
            PROVINCES[p][1][i % len(PROVINCES[p][1])]
            for p, i in zip(prov, rng.integers(0, 4, n), strict=True)
        ]
    )
    industry = np.array(INDUSTRIES)[
        rng.choice(len(INDUSTRIES), n, p=INDUSTRY_WEIGHTS / INDUSTRY_WEIGHTS.sum())
    ]
    size_idx = np.clip(
        rng.choice(5, n, p=SIZE_WEIGHTS / SIZE_WEIGHTS.sum()) + (value > 1.2).astype(int), 0, 4
    )
    channel = np.array(CHANNELS)[
        rng.choice(len(CHANNELS), n, p=CHANNEL_WEIGHTS / CHANNEL_WEIGHTS.sum())
    ]
    acq_cost = np.round(rng.gamma(2.0, 4000.0, n) * (1 + 0.3 * size_idx), 2)
    has_cost = rng.random(n) < 0.9
    stem = rng.integers(0, len(NAME_STEMS), n)
    words = [INDUSTRY_WORDS[i] for i in industry]
    names = [f"{c}{NAME_STEMS[s]}{w[0]}有限公司" for c, s, w in zip(city, stem, words, strict=True)]
    domains = [
        f"{NAME_STEMS_PINYIN[s]}-{w[1]}{k % 97}.com"
        for k, (s, w) in enumerate(zip(stem, words, strict=True))
    ]

    # BG/NBD purchases, with p tied to loyalty by a Gaussian copula (Beta(a, b) marginal).
    lam = rng.gamma(truth.bgnbd_r, 1.0 / truth.bgnbd_alpha, n)
    rho = truth.copula_rho_dropout
    u = stats.norm.cdf(-rho * z + np.sqrt(1 - rho**2) * rng.standard_normal(n))
    p_drop = stats.beta.ppf(u, truth.bgnbd_a, truth.bgnbd_b)
    nu = rng.gamma(truth.gg_q, 1.0 / truth.gg_gamma, n)
    owner_list, day_list = [np.arange(n)], [acquired.copy()]
    t = acquired.copy()
    alive = np.ones(n, dtype=bool)
    dropout = np.full(n, np.nan)
    active = np.arange(n)
    while active.size:
        drop_now = rng.random(active.size) < p_drop[active]
        dropout[active[drop_now]] = t[active[drop_now]]
        alive[active[drop_now]] = False
        active = active[~drop_now]
        t[active] += rng.exponential(1.0, active.size) / lam[active] * DAYS_PER_WEEK
        still = t[active] < end
        owner_list.append(active[still])
        day_list.append(t[active[still]])
        active = active[still]
    order_owner = np.concatenate(owner_list)
    order_day = np.concatenate(day_list)
    spend = rng.gamma(truth.gg_p, 1.0 / nu[order_owner]) * truth.spend_scale_cny
    spend = np.maximum(spend, 1.0)

    # Contracts: annual terms renewing with sBG churn theta (Beta marginal, copula on loyalty).
    rho_c = truth.copula_rho_contract
    has_contract = rng.random(n) < truth.contract_share
    uc = stats.norm.cdf(-rho_c * z + np.sqrt(1 - rho_c**2) * rng.standard_normal(n))
    theta = np.where(has_contract, stats.beta.ppf(uc, truth.sbg_alpha, truth.sbg_beta), np.nan)
    lines = np.array(PRODUCT_LINES)
    main_line = rng.integers(0, len(lines), n)
    # Terms until the first non-renewal ~ Geometric(theta), cut at the end of the data.
    c_cust = np.flatnonzero(has_contract)
    max_terms = np.floor((end - acquired[c_cust]) / 365).astype(int) + 1
    until_lost = rng.geometric(np.clip(theta[c_cust], 1e-9, 1.0))
    terms = np.minimum(until_lost, max_terms)
    term_owner = np.repeat(c_cust, terms)
    term_no = np.arange(term_owner.size) - np.repeat(np.cumsum(terms) - terms, terms)
    term_start = acquired[term_owner] + 365 * term_no
    term_stop = term_start + 364
    is_last = term_no == np.repeat(terms, terms) - 1
    lost = is_last & (term_no + 1 == np.repeat(until_lost, terms)) & (term_stop < end)
    status = np.where(
        term_stop >= end,
        "active",
        np.where(
            ~is_last,
            "renewed",
            np.where(rng.random(term_owner.size) < 0.15, "terminated", "expired"),
        ),
    )
    contract_ids = ids.take("K", term_owner.size)
    renewal_of = np.where(term_no > 0, np.r_[np.array([""]), contract_ids[:-1]], "")
    contract_value = np.round(
        12
        * SPEND_SCALE_CNY
        * truth.gg_p
        * truth.gg_gamma
        / (truth.gg_q - 1)
        * 0.25
        * (1 + size_idx[term_owner]),
        -2,
    )
    contract_end = np.full(n, np.nan)
    contract_end[term_owner[lost]] = term_stop[lost]
    first_term = np.full(n, -1)
    first_term[c_cust] = np.cumsum(terms) - terms

    # True churn: when every relationship has stopped before the end of the data.
    transactional_stop = np.where(np.isnan(dropout), np.inf, dropout + ACTIVITY_WINDOW_DAYS)
    contract_stop = np.where(
        has_contract, np.where(np.isnan(contract_end), np.inf, contract_end), -np.inf
    )
    churn_day = np.maximum(
        np.where(has_contract, np.maximum(transactional_stop, contract_stop), transactional_stop),
        acquired,
    )
    churned = np.isfinite(churn_day) & (churn_day < end)
    active_end = np.where(churned, churn_day, end)

    # Contacts (personal data), 1–4 per customer.
    n_contacts = rng.integers(1, 5, n)
    c_owner = np.repeat(np.arange(n), n_contacts)
    k = c_owner.size
    sur = rng.integers(0, len(SURNAMES), k)
    giv = rng.integers(0, len(GIVEN), k)
    contact_ids = ids.take("P", k)
    first_contact = np.r_[0, np.cumsum(n_contacts)[:-1]]
    roles = np.array(["decision_maker", "purchaser", "technical", "finance", "user", "other"])
    phones = np.char.add(
        np.array(["13", "15", "18", "17", "19"])[rng.integers(0, 5, k)],
        np.char.zfill(rng.integers(0, 10**9, k).astype(str), 9),
    )
    writer.write(
        "customers",
        pd.DataFrame(
            {
                "customer_id": cust_ids,
                "customer_name": names,
                "industry": industry,
                "province": prov,
                "region": region,
                "city": city,
                "size_band": np.array(SIZE_BANDS)[size_idx],
                "acquired_on": _fmt_date(acquired, epoch),
                "acquisition_channel": channel,
                "acquisition_cost": np.where(has_cost, _money(acq_cost), ""),
            }
        ),
    )
    writer.write(
        "contacts",
        pd.DataFrame(
            {
                "contact_id": contact_ids,
                "customer_id": cust_ids[c_owner],
                "contact_name": [
                    SURNAMES[s][0] + GIVEN[g][0] for s, g in zip(sur, giv, strict=True)
                ],
                "phone": phones,
                "email": [
                    f"{GIVEN[g][1]}.{SURNAMES[s][1]}@{domains[o]}"
                    for s, g, o in zip(sur, giv, c_owner, strict=True)
                ],
                "role": np.where(
                    np.arange(k) == first_contact[c_owner],
                    "decision_maker",
                    roles[rng.integers(0, len(roles), k)],
                ),
                "is_primary": _bool(np.arange(k) == first_contact[c_owner]),
            }
        ),
    )

    # Orders, with a few credit notes and foreign-currency invoices.
    m = order_owner.size
    order_day_int = np.floor(order_day)
    currency = np.where(
        rng.random(m) < 0.05, np.array(["USD", "EUR", "HKD"])[rng.integers(0, 3, m)], "CNY"
    )
    rate = np.vectorize(FX_TO_CNY.get)(currency)
    amount = np.round(spend / rate, 2)
    amount = np.maximum(amount, 0.01)
    order_line = np.where(
        rng.random(m) < 0.7, main_line[order_owner], rng.integers(0, len(lines), m)
    )
    credit = (rng.random(m) < 0.02) & (order_day_int + 60 < end)
    c_idx = np.flatnonzero(credit)
    order_ids = ids.take("O", m + c_idx.size, 10)
    # Half the invoices of a contract customer bill the contract term they fall in.
    term_of_order = np.floor((order_day_int - acquired[order_owner]) / 365).astype(int)
    owner_terms = np.zeros(n, dtype=int)
    owner_terms[c_cust] = terms
    billed = (
        has_contract[order_owner]
        & (term_of_order < owner_terms[order_owner])
        & (rng.random(m) < 0.5)
    )
    order_contract = np.full(m, "", dtype=object)
    order_contract[billed] = contract_ids[first_term[order_owner[billed]] + term_of_order[billed]]
    writer.write(
        "orders",
        pd.DataFrame(
            {
                "order_id": order_ids,
                "customer_id": np.r_[cust_ids[order_owner], cust_ids[order_owner[c_idx]]],
                "ordered_on": _fmt_date(
                    np.r_[order_day_int, order_day_int[c_idx] + rng.integers(7, 60, c_idx.size)],
                    epoch,
                ),
                "amount": np.r_[
                    _money(amount),
                    _money(
                        -np.maximum(
                            np.round(amount[c_idx] * rng.uniform(0.1, 0.5, c_idx.size), 2), 0.01
                        )
                    ),
                ],
                "currency": np.r_[currency, currency[c_idx]],
                "product_line": lines[np.r_[order_line, order_line[c_idx]]],
                "is_credit_note": _bool(np.r_[np.zeros(m, bool), np.ones(c_idx.size, bool)]),
                "contract_id": np.r_[order_contract, np.full(c_idx.size, "", dtype=object)],
            }
        ),
    )
    writer.write(
        "contracts",
        pd.DataFrame(
            {
                "contract_id": contract_ids,
                "customer_id": cust_ids[term_owner],
                "product_line": lines[main_line[term_owner]],
                "start_on": _fmt_date(term_start, epoch),
                "end_on": _fmt_date(term_stop, epoch),
                "contract_value": _money(contract_value),
                "currency": "CNY",
                "renewal_of": renewal_of,
                "status": status,
            }
        ),
    )

    # Signals. A churning customer's touches thin out and complaints rise in its last months.
    pre_churn = np.where(churned, active_end - 120, np.inf)
    owner, day = _poisson_events(rng, np.exp(0.2 + 0.5 * z) / 30.4, acquired, active_end)
    keep = ~((day >= pre_churn[owner]) & (rng.random(owner.size) < 0.7))
    owner, day = owner[keep], day[keep]
    channels = np.array(["visit", "call", "email", "wechat", "forum", "social"])
    kinds = np.array(["consultation", "follow_up", "care", "greeting"])
    assign_mgr = rng.integers(0, len(managers), n)
    writer.write(
        "interactions",
        pd.DataFrame(
            {
                "interaction_id": ids.take("I", owner.size, 10),
                "customer_id": cust_ids[owner],
                "occurred_at": _fmt_ts(day, epoch),
                "channel": channels[
                    rng.choice(6, owner.size, p=[0.15, 0.3, 0.2, 0.25, 0.05, 0.05])
                ],
                "kind": kinds[rng.choice(4, owner.size, p=[0.35, 0.35, 0.15, 0.15])],
                "manager_id": np.where(
                    rng.random(owner.size) < 0.6,
                    managers["manager_id"].to_numpy()[assign_mgr[owner]],
                    "",
                ),
            }
        ),
    )

    owner, day = _poisson_events(rng, (0.5 + 0.3 * size_idx) / 365, acquired, active_end)
    first_resp = day + rng.exponential(0.3, owner.size)
    resolved = first_resp + rng.exponential(2.0 * np.exp(-0.3 * z[owner]), owner.size)
    is_open = resolved >= end
    writer.write(
        "service_tickets",
        pd.DataFrame(
            {
                "ticket_id": ids.take("T", owner.size),
                "customer_id": cust_ids[owner],
                "opened_at": _fmt_ts(day, epoch),
                "first_response_at": np.where(
                    first_resp < end, _fmt_ts(np.minimum(first_resp, end), epoch), ""
                ),
                "resolved_at": np.where(is_open, "", _fmt_ts(np.minimum(resolved, end), epoch)),
                "category": np.array(TICKET_CATEGORIES)[
                    rng.integers(0, len(TICKET_CATEGORIES), owner.size)
                ],
                "priority": np.array(TICKET_PRIORITIES)[rng.integers(0, 4, owner.size)],
                "status": np.where(
                    is_open,
                    "in_progress",
                    np.where(rng.random(owner.size) < 0.5, "resolved", "closed"),
                ),
            }
        ),
    )

    base = np.exp(-1.0 - 0.7 * z) / 365
    owner, day = _poisson_events(rng, base, acquired, active_end)
    o2, d2 = _poisson_events(
        rng,
        np.where(churned, 2.5 / 365, 0.0),
        np.maximum(pre_churn, acquired),
        np.where(churned, active_end, acquired),
    )
    owner, day = np.r_[owner, o2], np.r_[day, d2]
    closed = day + rng.exponential(6.0, owner.size)
    done = closed < end
    outcome = np.where(
        rng.random(owner.size) < stats.norm.cdf(0.8 + 0.5 * z[owner]),
        "resolved",
        np.where(rng.random(owner.size) < 0.6, "partially_resolved", "unresolved"),
    )
    sat_after = np.clip(
        np.round(3 + 1.0 * z[owner] + (outcome == "resolved") + rng.normal(0, 0.7, owner.size)),
        1,
        5,
    ).astype(int)
    writer.write(
        "complaints",
        pd.DataFrame(
            {
                "complaint_id": ids.take("Q", owner.size),
                "customer_id": cust_ids[owner],
                "opened_at": _fmt_ts(day, epoch),
                "resolved_at": np.where(done, _fmt_ts(np.minimum(closed, end), epoch), ""),
                "category": np.array(COMPLAINT_CATEGORIES)[
                    rng.integers(0, len(COMPLAINT_CATEGORIES), owner.size)
                ],
                "outcome": np.where(done, outcome, ""),
                "satisfaction_after": np.where(done, sat_after.astype(str), ""),
            }
        ),
    )
    complaints_per_customer = np.bincount(owner, minlength=n)

    owner, day = _poisson_events(rng, np.exp(0.2 * z) / 120, acquired, active_end)
    suggestion = rng.random(owner.size) < 0.3
    responded = day + rng.exponential(1.5, owner.size)
    followed = responded + rng.exponential(5, owner.size)
    writer.write(
        "feedback",
        pd.DataFrame(
            {
                "feedback_id": ids.take("F", owner.size),
                "customer_id": cust_ids[owner],
                "received_at": _fmt_ts(day, epoch),
                "channel": np.array(FEEDBACK_CHANNELS)[
                    rng.integers(0, len(FEEDBACK_CHANNELS), owner.size)
                ],
                "category": np.where(
                    suggestion,
                    "suggestion",
                    np.array(FEEDBACK_CATEGORIES[:4])[rng.integers(0, 4, owner.size)],
                ),
                "is_valid": _bool(rng.random(owner.size) < 0.9),
                "is_suggestion": _bool(suggestion),
                "is_adopted": np.where(suggestion, _bool(rng.random(owner.size) < 0.35), ""),
                "responded_at": np.where(
                    (responded < end) & (rng.random(owner.size) < 0.9),
                    _fmt_ts(np.minimum(responded, end), epoch),
                    "",
                ),
                "followed_up_at": np.where(
                    (followed < end) & (rng.random(owner.size) < 0.6),
                    _fmt_ts(np.minimum(followed, end), epoch),
                    "",
                ),
            }
        ),
    )

    event_days = events["_day"].to_numpy()
    owner, day = _poisson_events(rng, np.exp(-0.3 + 0.6 * z) / 365, acquired, active_end)
    event_idx = np.clip(np.searchsorted(event_days, day), 0, len(event_days) - 1)
    ok = event_days[event_idx] <= end
    pairs = pd.DataFrame({"e": event_idx[ok], "o": owner[ok]}).drop_duplicates()
    writer.write(
        "event_attendance",
        pd.DataFrame(
            {
                "attendance_id": ids.take("A", len(pairs), 10),
                "event_id": events["event_id"].to_numpy()[pairs["e"].to_numpy()],
                "customer_id": cust_ids[pairs["o"].to_numpy()],
                "attended": _bool(rng.random(len(pairs)) < 0.8),
            }
        ),
    )

    # Referrals: referral-channel customers were referred by an earlier customer of the chunk.
    # Each referral-channel customer was referred by an earlier one: the more loyal of two
    # random earlier customers (a tournament, so loyal customers refer more).
    order_by_acq = np.argsort(acquired, kind="stable")
    referred = np.flatnonzero(channel == "referral")
    earlier = np.searchsorted(acquired[order_by_acq], acquired[referred] - 30)
    referred, earlier = referred[earlier > 0], earlier[earlier > 0]
    pick = order_by_acq[np.floor(rng.random((2, referred.size)) * earlier).astype(int)]
    referrer = np.where(z[pick[0]] >= z[pick[1]], pick[0], pick[1])
    on = np.maximum(acquired[referrer], acquired[referred] - rng.integers(7, 60, referred.size))
    ref_rows = list(zip(referrer, on, cust_ids[referred], strict=True))
    owner, day = _poisson_events(rng, np.exp(-2.3 + 0.9 * z) / 365, acquired, active_end)
    ref_rows += [(o, d, "") for o, d in zip(owner, np.floor(day), strict=True)]
    if ref_rows:
        refs = pd.DataFrame(ref_rows, columns=["o", "d", "r"])
        writer.write(
            "referrals",
            pd.DataFrame(
                {
                    "referral_id": ids.take("R", len(refs)),
                    "referrer_customer_id": cust_ids[refs["o"].to_numpy()],
                    "referred_customer_id": refs["r"],
                    "referred_on": _fmt_date(refs["d"].to_numpy(), epoch),
                    "is_converted": _bool(refs["r"].to_numpy() != ""),
                }
            ),
        )

    owner, day = _poisson_events(rng, np.full(n, 0.25 / 365), acquired, active_end)
    tone = z[owner] + rng.normal(0, 0.8, owner.size)
    sentiment = np.where(tone > 0.4, "positive", np.where(tone < -0.6, "negative", "neutral"))
    rating = np.clip(np.round(3.2 + tone), 1, 5).astype(int)
    anonymous = rng.random(owner.size) < 0.3
    writer.write(
        "reviews",
        pd.DataFrame(
            {
                "review_id": ids.take("V", owner.size),
                "customer_id": np.where(anonymous, "", cust_ids[owner]),
                "published_on": _fmt_date(np.floor(day), epoch),
                "source": np.array(REVIEW_SOURCES)[
                    rng.integers(0, len(REVIEW_SOURCES), owner.size)
                ],
                "sentiment": sentiment,
                "rating": np.where(rng.random(owner.size) < 0.6, rating.astype(str), ""),
            }
        ),
    )

    enrolled = rng.random(n) < stats.norm.cdf(-0.3 + 0.6 * z)
    enrol_day = np.floor(acquired + rng.uniform(0, 120, n))
    enrolled &= enrol_day < end
    e_idx = np.flatnonzero(enrolled)
    owner, day = _poisson_events(
        rng,
        np.where(enrolled, 1 / 45, 0.0),
        np.where(enrolled, enrol_day + 1, 0),
        np.where(enrolled, active_end, 0),
    )
    redeem = rng.random(owner.size) < 0.25
    writer.write(
        "loyalty_programme",
        pd.DataFrame(
            {
                "entry_id": ids.take("L", e_idx.size + owner.size, 10),
                "customer_id": np.r_[cust_ids[e_idx], cust_ids[owner]],
                "occurred_on": _fmt_date(np.r_[enrol_day[e_idx], np.floor(day)], epoch),
                "entry_type": np.r_[
                    np.full(e_idx.size, "enrol"), np.where(redeem, "redeem", "earn")
                ],
                "points": np.r_[
                    np.zeros(e_idx.size, int),
                    np.where(
                        redeem,
                        rng.integers(1, 10, owner.size) * 100,
                        rng.integers(1, 50, owner.size) * 10,
                    ),
                ],
            }
        ),
    )

    # Account managers: changes are more frequent for at-risk customers.
    changes = rng.poisson(np.exp(-1.6 - 0.5 * z) * (active_end - acquired) / 365)
    spans = changes + 1
    a_owner = np.repeat(np.arange(n), spans)
    a_no = np.arange(a_owner.size) - np.repeat(np.cumsum(spans) - spans, spans)
    # Change days: uniform in the active period, sorted within each customer.
    low, high = acquired[a_owner] + 30, np.maximum(active_end[a_owner], acquired[a_owner] + 31)
    cut = np.floor(low + rng.random(a_owner.size) * (high - low))
    cut = np.where(a_no == 0, acquired[a_owner], cut)
    order = np.lexsort((cut, a_owner))
    a_start = cut[order]
    a_start = np.where(a_no == 0, a_start, a_start + 1)
    last = a_no == np.repeat(spans, spans) - 1
    a_stop = np.where(last, -1, np.r_[a_start[1:], 0] - 1)
    steps = np.where(
        a_no == 0, assign_mgr[a_owner], 1 + rng.integers(0, len(managers) - 1, a_owner.size)
    )
    mgr = (
        np.cumsum(steps) - np.repeat(np.cumsum(steps)[np.cumsum(spans) - spans] - assign_mgr, spans)
    ) % len(managers)
    keep = (a_start <= end) & ((a_stop < 0) | (a_stop >= a_start))
    mgr_ids = managers["manager_id"].to_numpy()
    writer.write(
        "account_assignments",
        pd.DataFrame(
            {
                "assignment_id": ids.take("G", int(keep.sum())),
                "customer_id": cust_ids[a_owner[keep]],
                "manager_id": mgr_ids[mgr[keep]],
                "assigned_from": _fmt_date(a_start[keep], epoch),
                "assigned_to": np.where(
                    a_stop[keep] < 0, "", _fmt_date(np.maximum(a_stop[keep], 0), epoch)
                ),
            }
        ),
    )

    # Churn records: most churned customers, noticed 30–120 days after the fact.
    recorded = churned & (rng.random(n) < truth.churn_record_share)
    noticed = np.floor(churn_day + rng.uniform(30, 120, n))
    recorded &= noticed < end
    r_idx = np.flatnonzero(recorded)
    reason = np.where(
        complaints_per_customer[r_idx] >= 3,
        np.where(rng.random(r_idx.size) < 0.5, "service", "quality"),
        np.array(["price", "competitor", "business_closed", "other"])[
            rng.choice(4, r_idx.size, p=[0.4, 0.35, 0.1, 0.15])
        ],
    )
    writer.write(
        "churn_records",
        pd.DataFrame(
            {
                "churn_id": ids.take("X", r_idx.size),
                "customer_id": cust_ids[r_idx],
                "churned_on": _fmt_date(noticed[r_idx], epoch),
                "reason_code": reason,
                "reason_text": [CHURN_NOTES[r] for r in reason],
            }
        ),
    )

    _survey_answers(
        rng,
        z,
        cust_ids,
        acquired,
        active_end,
        contact_ids,
        first_contact,
        n_contacts,
        questions,
        waves,
        writer,
        ids,
        epoch,
    )

    for month in pd.PeriodIndex(_fmt_date(acquired, epoch), freq="M").astype(str):
        acquisition_by_month[month] = acquisition_by_month.get(month, 0.0)
    months = pd.PeriodIndex(_fmt_date(acquired, epoch), freq="M").astype(str)
    for mth, cost in zip(months, np.where(has_cost, acq_cost, 0.0), strict=True):
        acquisition_by_month[mth] += cost
    for mth in pd.period_range(
        _fmt_date(np.array([window_start]), epoch)[0],
        _fmt_date(np.array([end]), epoch)[0],
        freq="M",
    ):
        day = float((mth.start_time.date() - epoch).days)
        active_by_month[str(mth)] = active_by_month.get(str(mth), 0) + int(
            np.sum((acquired <= day) & (active_end > day))
        )

    return pd.DataFrame(
        {
            "customer_id": cust_ids,
            "loyalty_z": z,
            "value_z": value,
            "lambda_per_week": lam,
            "p_dropout": p_drop,
            "nu": nu,
            "has_contract": has_contract,
            "contract_theta": theta,
            "acquired_on": _fmt_date(acquired, epoch),
            "dropout_on": np.where(np.isnan(dropout), "", _fmt_date(np.nan_to_num(dropout), epoch)),
            "churned": churned,
            "churned_on": np.where(churned, _fmt_date(np.where(churned, churn_day, 0), epoch), ""),
            "has_churn_record": recorded,
            "complaints": complaints_per_customer,
        }
    )


def _survey_answers(
    rng,
    z,
    cust_ids,
    acquired,
    active_end,
    contact_ids,
    first_contact,
    n_contacts,
    questions,
    waves,
    writer,
    ids,
    epoch,
):
    """Responses of customers active at each wave; answers driven by loyalty."""
    resp_rows, ans_frames = [], []
    q_by_survey = {s: g for s, g in questions.groupby("survey_id", sort=False)}
    for survey_id, _kind, day in waves:
        eligible = np.flatnonzero((acquired <= day - 30) & (active_end > day))
        take = eligible[rng.random(eligible.size) < 0.3]
        if take.size == 0:
            continue
        response_ids = ids.take("W", take.size)
        contact = contact_ids[first_contact[take] + rng.integers(0, n_contacts[take])]
        submitted = day + rng.uniform(0, 20, take.size)
        resp_rows.append(
            pd.DataFrame(
                {
                    "response_id": response_ids,
                    "survey_id": survey_id,
                    "customer_id": cust_ids[take],
                    "contact_id": contact,
                    "submitted_at": _fmt_ts(submitted, epoch),
                }
            )
        )
        satisfaction = z[take] + rng.normal(0, 0.6, take.size)
        for q in q_by_survey[survey_id].itertuples():
            lo, hi = int(q.scale_min), int(q.scale_max)
            mid, spread = (lo + hi) / 2 + 0.15 * (hi - lo), (hi - lo) / 4
            raw = mid + spread * satisfaction + rng.normal(0, spread * 0.5, take.size)
            if q.is_reverse_coded == "true":
                raw = lo + hi - raw
            value = np.clip(np.round(raw), lo, hi).astype(int).astype(str)
            skipped = rng.random(take.size) < 0.04
            ans_frames.append(
                pd.DataFrame(
                    {
                        "response_id": response_ids,
                        "question_id": q.question_id,
                        "value": np.where(skipped, "", value),
                    }
                )
            )
    if resp_rows:
        writer.write("survey_responses", pd.concat(resp_rows, ignore_index=True))
        writer.write("survey_answers", pd.concat(ans_frames, ignore_index=True))


def _costs(acquisition_by_month, active_by_month, ids: Counter) -> pd.DataFrame:
    months = sorted(set(acquisition_by_month) | set(active_by_month))
    rows = []
    for mth in months:
        first = f"{mth}-01"
        rows.append(("acquisition", first, acquisition_by_month.get(mth, 0.0)))
        if mth in active_by_month:
            rows.append(("retention", first, active_by_month[mth] * 180.0))
    frame = pd.DataFrame(rows, columns=["cost_type", "month_on", "amount"])
    return pd.DataFrame(
        {
            "cost_id": ids.take("Y", len(frame), 7),
            "month_on": frame["month_on"],
            "cost_type": frame["cost_type"],
            "amount": _money(frame["amount"].to_numpy()),
            "currency": "CNY",
        }
    )


def _write_truth(
    folder: Path, truth: Truth, rows, counts, seed, customers, years, end_date, epoch
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    params = asdict(truth) | {
        "seed": seed,
        "customers": customers,
        "years": years,
        "end_date": end_date.isoformat(),
        "window_start": (end_date - dt.timedelta(days=365 * years)).isoformat(),
        "activity_window_days": ACTIVITY_WINDOW_DAYS,
        "rows_written": counts,
        "notes": [
            "Orders of a customer start with a purchase on acquired_on (BG/NBD time 0);",
            "same-day purchases are separate orders; credit notes (2 %) are extra rows;",
            "amounts are spend_scale_cny x Gamma-Gamma draws, divided by the FX rate for "
            "the 5 % of invoices in USD/EUR/HKD.",
            "churned_on is when every relationship had stopped: dropout + activity window "
            "for purchases, the unrenewed contract's end for contracts.",
        ],
    }
    (folder / "params.json").write_text(json.dumps(params, indent=2, ensure_ascii=False) + "\n")
    pd.concat(rows, ignore_index=True).to_csv(
        folder / "customers.csv", index=False, float_format="%.6g", lineterminator="\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orchestration.synthetic", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path("landing"))
    parser.add_argument("--truth", type=Path, default=Path("truth"))
    parser.add_argument("--end-date", type=dt.date.fromisoformat, default=DEFAULT_END_DATE)
    parser.add_argument("--chunk-size", type=int, default=50_000)
    args = parser.parse_args(argv)
    counts = generate(
        args.out, args.truth, args.customers, args.years, args.seed, args.end_date, args.chunk_size
    )
    for table_name, count in counts.items():
        print(f"{table_name:22}{count:>12,}")
    print(f"landing files in {args.out}, truth in {args.truth}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
