"""A believable B2B service firm in China, generated with a known truth.

`python -m orchestration.synthetic --customers 5000 --years 3 --seed 42 --out landing --truth truth`

Every customer has a latent loyalty z ~ N(0, 1) and a latent value v ~ N(0, 1).

- Purchases follow a BG/NBD process in weeks: lambda ~ Gamma(r, rate alpha), and after each
  repeat purchase the customer drops out with probability p ~ Beta(a, b). p is tied to loyalty
  by a Gaussian copula, p = F_Beta^-1(Phi(-rho z + sqrt(1 - rho^2) e)), so its marginal is
  exactly Beta(a, b) and the published parameters stay recoverable from the orders.
  Purchases fall on whole days, at most one a day (a Bernoulli(lambda / 7) trial each day, the
  day-level Poisson process): the warehouse, like CDNOW, merges a customer's invoices of one
  day into one transaction, and a continuous-time process would lose ~3 % of its purchases
  to that merge, the heavy buyers' most, biasing r and alpha upward by 4-8 %.
- Spend per order follows Gamma-Gamma: nu ~ Gamma(q, rate gamma) (a monotone function of v,
  so high-value customers spend more), each order ~ Gamma(p, rate nu) x SPEND_SCALE_CNY.
- Annual service contracts renew with shifted-beta-geometric churn: theta ~ Beta(alpha, beta)
  per product-line cohort, copula-linked to loyalty in the same way.
- Interactions, tickets, complaints, feedback, events, referrals, reviews, the loyalty ledger,
  manager changes and survey answers co-move with loyalty and deteriorate in the months before
  a customer churns, so churn is predictable from them.

Customers are generated in chunks and appended to one CSV per raw table (Arrow's CSV writer),
so memory stays bounded at any size. The truth goes to a separate folder the pipeline never
reads. Randomness comes from `np.random.default_rng([seed, chunk, stream])` with one stream
per table family, so the same arguments always give the same bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from scipy import special, stats
from tqdm import tqdm

from .contract import (
    ACQUISITION_CHANNELS,
    COMPLAINT_CATEGORIES,
    CONTACT_ROLES,
    EVENT_KINDS,
    FEEDBACK_CATEGORIES,
    FEEDBACK_CHANNELS,
    INDUSTRIES,
    INTERACTION_CHANNELS,
    INTERACTION_KINDS,
    PRODUCT_LINES,
    REGIONS,
    REVIEW_SOURCES,
    SENTIMENTS,
    SIZE_BANDS,
    TABLES,
    TICKET_CATEGORIES,
    TICKET_PRIORITIES,
    Table,
)

DEFAULT_END_DATE = dt.date(2026, 10, 31)  # fixed, so the same arguments give the same files
DEFAULT_CHUNK_SIZE = 50_000
DAYS_PER_WEEK = 7.0
DAYS_PER_YEAR = 365.0
CONTRACT_TERM_DAYS = 365  # an annual term: start + 364 days is its last day
DECLINE_DAYS = 180.0  # signals deteriorate over this many days before a customer churns
FX_TO_CNY = {"CNY": 1.0, "USD": 7.10, "EUR": 7.75, "HKD": 0.91}  # as seeds/fx_rates.csv
ARROW_TYPES = {
    "string": pa.string(),
    "int": pa.int64(),
    "decimal": pa.decimal128(18, 2),
    "date": pa.date32(),
    "timestamp": pa.timestamp("s"),
    "bool": pa.bool_(),
}
# One random stream per table family: changing how one table is drawn leaves the others alone.
STREAMS = {
    name: i
    for i, name in enumerate(
        (
            "firm",
            "customers",
            "purchases",
            "contracts",
            "contacts",
            "orders",
            "interactions",
            "tickets",
            "complaints",
            "feedback",
            "events",
            "referrals",
            "reviews",
            "loyalty",
            "assignments",
            "churn",
            "surveys",
            "costs",
        )
    )
}

# Standard seven-region division of mainland China (华东, 华北, 华南, 华中, 西南, 西北, 东北).
PROVINCES: dict[str, tuple[str, tuple[str, ...], float]] = {  # name: (region, cities, weight)
    "上海": ("east", ("上海",), 8),
    "江苏": ("east", ("苏州", "南京", "无锡", "常州", "南通"), 13),
    "浙江": ("east", ("杭州", "宁波", "温州", "嘉兴"), 10),
    "安徽": ("east", ("合肥", "芜湖"), 3),
    "福建": ("east", ("厦门", "福州", "泉州"), 4),
    "江西": ("east", ("南昌",), 1.5),
    "山东": ("east", ("青岛", "济南", "烟台", "潍坊"), 7),
    "北京": ("north", ("北京",), 6),
    "天津": ("north", ("天津",), 3),
    "河北": ("north", ("石家庄", "唐山", "保定"), 3),
    "山西": ("north", ("太原",), 1),
    "内蒙古": ("north", ("呼和浩特", "包头"), 0.8),
    "广东": ("south", ("深圳", "广州", "东莞", "佛山", "珠海"), 12),
    "广西": ("south", ("南宁", "柳州"), 1.5),
    "海南": ("south", ("海口",), 0.5),
    "河南": ("central", ("郑州", "洛阳"), 3.5),
    "湖北": ("central", ("武汉", "襄阳", "宜昌"), 4),
    "湖南": ("central", ("长沙", "株洲"), 3),
    "重庆": ("southwest", ("重庆",), 3),
    "四川": ("southwest", ("成都", "绵阳"), 4),
    "贵州": ("southwest", ("贵阳",), 1),
    "云南": ("southwest", ("昆明",), 1),
    "陕西": ("northwest", ("西安", "宝鸡"), 2.5),
    "甘肃": ("northwest", ("兰州",), 0.6),
    "宁夏": ("northwest", ("银川",), 0.3),
    "新疆": ("northwest", ("乌鲁木齐",), 0.6),
    "辽宁": ("northeast", ("沈阳", "大连"), 2.5),
    "吉林": ("northeast", ("长春",), 1.2),
    "黑龙江": ("northeast", ("哈尔滨",), 1.2),
}
REGION_NAMES_CN = {
    "east": "华东",
    "north": "华北",
    "south": "华南",
    "central": "华中",
    "southwest": "西南",
    "northwest": "西北",
    "northeast": "东北",
}
INDUSTRY_WEIGHTS = (20, 12, 12, 7, 7, 8, 7, 6, 5, 6, 6, 4)  # in INDUSTRIES order
INDUSTRY_WORDS = {  # industry: (word in the company name, word in the e-mail domain)
    "manufacturing": ("精密制造", "mfg"),
    "automotive": ("汽车部件", "auto"),
    "electronics": ("电子科技", "elec"),
    "pharma": ("医药", "pharma"),
    "food": ("食品", "food"),
    "logistics": ("物流", "logistics"),
    "energy": ("新能源", "energy"),
    "public_sector": ("公用事业", "gov"),
    "finance": ("金融服务", "fin"),
    "retail": ("商贸", "trade"),
    "construction": ("建设工程", "build"),
    "education": ("教育科技", "edu"),
}
SIZE_WEIGHTS = (15, 30, 30, 18, 7)
SIZE_CONTACTS = (0.2, 0.6, 1.0, 1.6, 2.2)  # mean extra contacts beyond the first, per size band
CHANNEL_WEIGHTS = (30, 15, 12, 18, 15, 10)  # in ACQUISITION_CHANNELS order
CHANNEL_COST_CNY = (18_000, 4_000, 9_000, 5_000, 11_000, 25_000)  # mean, for a micro firm
NAME_STEMS = (  # (characters, pinyin) of the brand part of a company name
    ("精工", "jinggong"),
    ("华信", "huaxin"),
    ("联创", "lianchuang"),
    ("恒通", "hengtong"),
    ("博远", "boyuan"),
    ("智达", "zhida"),
    ("新锐", "xinrui"),
    ("鼎盛", "dingsheng"),
    ("汇能", "huineng"),
    ("天成", "tiancheng"),
    ("中科", "zhongke"),
    ("宏图", "hongtu"),
    ("瑞丰", "ruifeng"),
    ("金桥", "jinqiao"),
    ("安泰", "antai"),
    ("德润", "derun"),
    ("永昌", "yongchang"),
    ("海纳", "haina"),
    ("启明", "qiming"),
    ("远景", "yuanjing"),
    ("凯达", "kaida"),
    ("正泰", "zhengtai"),
    ("同创", "tongchuang"),
    ("东方", "dongfang"),
    ("长城", "changcheng"),
    ("万达", "wanda"),
    ("嘉禾", "jiahe"),
    ("光明", "guangming"),
    ("力拓", "lituo"),
    ("九州", "jiuzhou"),
    ("锦程", "jincheng"),
    ("卓越", "zhuoyue"),
)
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
    ("徐", "xu"),
    ("孙", "sun"),
    ("胡", "hu"),
    ("朱", "zhu"),
    ("高", "gao"),
    ("林", "lin"),
    ("何", "he"),
    ("郭", "guo"),
    ("马", "ma"),
    ("罗", "luo"),
)
GIVEN_NAMES = (
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
    ("明", "ming"),
    ("华", "hua"),
    ("丽", "li"),
    ("军", "jun"),
    ("勇", "yong"),
    ("涛", "tao"),
    ("建国", "jianguo"),
    ("晓东", "xiaodong"),
    ("海燕", "haiyan"),
    ("志强", "zhiqiang"),
    ("雪梅", "xuemei"),
    ("文博", "wenbo"),
    ("子涵", "zihan"),
    ("俊杰", "junjie"),
    ("秀英", "xiuying"),
    ("立新", "lixin"),
)
MOBILE_PREFIXES = tuple(
    str(x) for x in (*range(130, 140), 150, 151, 152, 155, 156, 158, 159, 166, 177, 180, 186, 199)
)
CHURN_NOTES = {
    "price": ("客户认为续费价格偏高", "预算削减，要求降价未果", "比价后选择更低报价"),
    "service": ("对服务响应速度不满意", "多次投诉服务态度问题", "项目经理更换频繁，沟通不畅"),
    "quality": ("交付质量问题未能解决", "系统故障反复出现", "验收多次未通过"),
    "competitor": ("转向竞争对手", "集团统一采购，改用其他供应商", "竞品提供整体解决方案"),
    "business_closed": ("客户业务调整或停业", "工厂搬迁，合作暂停", "企业被并购，业务整合"),
    "other": ("其他原因", "联系人离职后无人跟进", "客户未说明原因"),
}
# Complaint category -> churn reason it points to (service, quality or price trouble).
COMPLAINT_REASON = ("service", "service", "quality", "quality", "price", "price", "other")
EVENT_NAMES = {
    "training": "技术培训班",
    "salon": "行业沙龙",
    "launch": "新品发布会",
    "workshop": "用户研讨会",
    "trial": "产品试用日",
}
EVENT_TOPICS = ("智能制造", "数字化转型", "财税合规", "工业自动化", "设计创新", "设备运维")
EVENT_CITIES = ("上海", "北京", "深圳", "苏州", "杭州", "成都", "武汉", "广州")
SATISFACTION_ITEMS = (  # (dimension, question text, reverse coded, item mean on the latent scale)
    ("service_quality", "您对我们的服务质量是否满意？", False, 0.55),
    ("service_efficiency", "我们的服务响应速度是否令您满意？", False, 0.35),
    ("professional_competence", "您如何评价我们团队的专业能力？", False, 0.7),
    ("communication", "您对双方的沟通方式是否满意？", False, 0.5),
    ("price_reasonableness", "您认为我们的收费是否合理？", False, 0.1),
    ("after_sales", "您对售后服务是否满意？", False, 0.4),
    ("customisation", "我们的方案是否满足您的个性化需求？", False, 0.3),
    ("brand_image", "您如何评价我们的品牌形象？", False, 0.6),
    ("service_efficiency", "处理问题时经常需要您反复催促。", True, 0.35),
    ("overall_satisfaction", "总体而言，您对我们是否满意？", False, 0.5),
)
NPS_ITEMS = (("likelihood_to_recommend", "您向同行推荐我们的可能性有多大？", False, 0.75),)
BRAND_ITEMS = (
    ("awareness", "您对我们品牌的了解程度如何？", False, 0.6),
    ("brand_image", "我们的品牌形象专业、可信。", False, 0.5),
    ("emotional_connection", "您对我们有情感上的认同。", False, 0.1),
    ("switching_cost", "更换服务商对贵公司代价很高。", False, 0.2),
)
LOYALTY_ITEMS = (
    ("repurchase_intention", "未来一年您继续与我们合作的可能性有多大？", False, 0.55),
    ("loyalty", "有同类需求时，您会优先选择我们。", False, 0.4),
    ("loyalty", "贵公司正在考虑更换服务商。", True, 0.4),
)


@dataclass(frozen=True)
class Truth:
    """The parameters the data is drawn from; written to `<truth>/params.json`.

    Time unit of the BG/NBD parameters: weeks. Spend unit: SPEND_SCALE_CNY yuan.
    """

    bgnbd_r: float = 1.3
    bgnbd_alpha: float = 5.0  # mean purchase rate r/alpha = 0.26 a week
    bgnbd_a: float = 0.5
    bgnbd_b: float = 9.0  # mean dropout probability a/(a+b) = 0.053 after each repeat purchase
    gg_p: float = 3.5
    gg_q: float = 4.0
    gg_gamma: float = 9.0  # mean spend per order p*gamma/(q-1) = 10.5 units
    spend_scale_cny: float = 1000.0  # one Gamma-Gamma unit in CNY
    # sBG per product-line cohort: (alpha, beta) of the annual contract churn probability theta.
    sbg: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {
            "system_integration": (0.9, 3.5),
            "automation": (1.0, 4.0),
            "consulting": (0.7, 1.8),
            "accounting": (1.2, 6.0),
            "design": (0.6, 1.5),
            "maintenance": (1.5, 8.0),
            "training": (0.5, 1.2),
            "software": (1.0, 5.0),
        }
    )
    copula_rho_dropout: float = 0.6  # corr of -z with the normal score of p
    copula_rho_contract: float = 0.5  # corr of -z with the normal score of theta
    copula_rho_spend: float = 1.0  # nu = F_Gamma^-1(Phi(-v)): spend is a function of value v
    satisfaction_loading: float = 0.75  # latent satisfaction = 0.75 z + sqrt(1 - 0.75^2) e
    inside_window_share: float = 0.75  # the rest was acquired up to MATURE_YEARS before
    mature_years: int = 3
    contract_share_by_size: tuple[float, ...] = (0.3, 0.45, 0.55, 0.65, 0.75)
    churn_record_share: float = 0.8
    credit_note_share: float = 0.02
    foreign_currency_share: float = 0.04
    survey_skip_share: float = 0.04


@dataclass(frozen=True)
class Calendar:
    """Day numbers (days since 1970-01-01) of the window; float days carry the time of day."""

    end: int  # the end date: the last day with data
    window_start: int  # end - years: customers acquired from here on are "inside"
    earliest: int  # earliest acquisition of the mature base

    @property
    def horizon(self) -> float:
        """Exclusive upper bound of every timestamp: midnight after the end date."""
        return float(self.end + 1)


def _day(date: dt.date) -> int:
    return (date - dt.date(1970, 1, 1)).days


def _years_before(date: dt.date, years: int) -> dt.date:
    """The same calendar day `years` earlier (the 28th for a 29 February that does not exist)."""
    try:
        return date.replace(year=date.year - years)
    except ValueError:
        return date.replace(year=date.year - years, day=28)


# ---------------------------------------------------------------------------------------------
# Arrow column helpers: values are typed here; Arrow's writer renders them in the contract's
# formats (YYYY-MM-DD, YYYY-MM-DD HH:MM:SS, true/false, 2 decimals, empty for missing).


def _dates(days: np.ndarray, present: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.floor(days).astype(np.int32), pa.date32(), mask=_mask(present))


def _stamps(days: np.ndarray, present: np.ndarray | None = None) -> pa.Array:
    seconds = np.floor(np.where(np.isfinite(days), days, 0) * 86400).astype(np.int64)
    return pa.array(seconds, pa.timestamp("s"), mask=_mask(present))


def _money(values: np.ndarray, present: np.ndarray | None = None) -> pa.Array:
    """Exact 2-decimal amounts: decimal128 built from integer cents, no float formatting."""
    cents = np.round(np.where(np.isfinite(values), values, 0) * 100).astype(np.int64)
    limbs = np.empty((cents.size, 2), dtype=np.int64)
    limbs[:, 0] = cents
    limbs[:, 1] = np.where(cents < 0, -1, 0)  # two's complement sign extension
    money = pa.Array.from_buffers(pa.decimal128(18, 2), cents.size, [None, pa.py_buffer(limbs)])
    return money if present is None else pc.if_else(pa.array(present), money, None)


def _ints(values: np.ndarray, present: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64), pa.int64(), mask=_mask(present))


def _bools(values: np.ndarray, present: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(values, dtype=bool), pa.bool_(), mask=_mask(present))


def _pick(values: tuple[str, ...] | np.ndarray, index: np.ndarray) -> pa.Array:
    """Strings by index into a small vocabulary (a take, no per-row Python)."""
    return pa.array(list(values), pa.string()).take(pa.array(np.asarray(index, dtype=np.int64)))


def _optional(values: pa.Array, present: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(present), values, None)


def _arrow(values: pa.Array | np.ndarray, type_: pa.DataType) -> pa.Array:
    if isinstance(values, pa.Array):
        return values if values.type == type_ else values.cast(type_)
    return pa.array(values, type_)


def _mask(present: np.ndarray | None) -> np.ndarray | None:
    return None if present is None else ~np.asarray(present, dtype=bool)


def _concat(*parts: str | pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _choice(rng: np.random.Generator, weights: tuple[float, ...], size: int) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return rng.choice(w.size, size, p=w / w.sum())


def _phi(x: np.ndarray) -> np.ndarray:
    return special.ndtr(x)


def _copula_beta(
    rng: np.random.Generator, z: np.ndarray, rho: float, a: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """Beta(a, b) draws whose normal scores correlate -rho with z: exact Beta marginals."""
    u = _phi(-rho * z + np.sqrt(1 - rho**2) * rng.standard_normal(z.size))
    return stats.beta.ppf(u, a, b)


class Ids:
    """Sequential identifiers per prefix, continuing across chunks, zero-padded."""

    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def take(self, prefix: str, count: int, width: int) -> pa.Array:
        start = self.next.get(prefix, 1)
        self.next[prefix] = start + count
        numbers = pa.array(np.arange(start, start + count, dtype=np.int64)).cast(pa.string())
        return _concat(prefix, pc.utf8_lpad(numbers, width, padding="0"))


class Landing:
    """One CSV drop file per raw table, appended chunk by chunk, with the contract's header."""

    def __init__(self, out: Path, drop: str) -> None:
        self.out = out
        self.drop = drop
        self.rows: dict[str, int] = {t.name: 0 for t in TABLES}
        self._open: dict[str, tuple[BinaryIO, pacsv.CSVWriter, pa.Schema]] = {}
        for t in TABLES:  # every table gets a file, even if a tiny run writes no rows to it
            self._writer(t)

    def _writer(self, t: Table) -> tuple[BinaryIO, pacsv.CSVWriter, pa.Schema]:
        if t.name not in self._open:
            schema = pa.schema([(c.name, ARROW_TYPES[c.type]) for c in t.columns])
            path = self.out / t.name / f"{self.drop}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = path.open("wb")
            fh.write((",".join(t.column_names) + "\n").encode())
            # quoting "none" fails loudly on a comma, quote or newline in a value, so the
            # files stay plain CSV that every reader parses the same way.
            options = pacsv.WriteOptions(include_header=False, quoting_style="none")
            self._open[t.name] = (fh, pacsv.CSVWriter(fh, schema, write_options=options), schema)
        return self._open[t.name]

    def write(self, name: str, columns: dict[str, pa.Array | np.ndarray]) -> None:
        t = next(t for t in TABLES if t.name == name)
        if set(columns) != set(t.column_names):
            raise ValueError(f"{name}: columns {sorted(columns)} != contract {t.column_names}")
        _, writer, schema = self._writer(t)
        arrays = [_arrow(columns[f.name], f.type) for f in schema]
        writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
        self.rows[name] += len(arrays[0])

    def close(self) -> None:
        for fh, writer, _ in self._open.values():
            writer.close()
            fh.close()
        self._open.clear()


# ---------------------------------------------------------------------------------------------
# Firm-wide reference data: account managers, events and survey waves (one per run).


@dataclass(frozen=True)
class Managers:
    """The account managers, as the assignment and interaction steps need them."""

    ids: np.ndarray
    hired: np.ndarray  # day
    left: np.ndarray  # day of leaving, inf while employed
    by_region: np.ndarray  # manager indices grouped by region; each group starts with an anchor
    offset: np.ndarray  # start of each region's group in by_region
    size: np.ndarray  # managers per region


def _managers(rng: np.random.Generator, customers: int, cal: Calendar, land: Landing) -> Managers:
    """About one manager per 65 customers, spread over regions like the customers are."""
    count = max(2 * len(REGIONS), int(np.ceil(customers / 65)))
    region_weight = np.zeros(len(REGIONS))
    for region, _, weight in PROVINCES.values():
        region_weight[REGIONS.index(region)] += weight
    # Two anchors per region hired before the first customer and never leaving, so a region
    # always has someone to take over its customers.
    anchors = 2 * len(REGIONS)
    region = np.r_[np.arange(len(REGIONS)).repeat(2), _choice(rng, region_weight, count - anchors)]
    anchor = np.arange(count) < anchors
    veteran = anchor | (rng.random(count) < 0.7)
    hired = np.floor(
        np.where(
            veteran,
            cal.earliest - rng.uniform(30, 2500, count),
            rng.uniform(cal.earliest, cal.end - 60, count),
        )
    )
    leaves = ~anchor & (rng.random(count) < 0.2)
    left = np.where(leaves, np.floor(hired + rng.uniform(400, 3000, count)), np.inf)
    left = np.where(left < cal.end, left, np.inf)
    ids = np.char.add("M", np.char.zfill(np.arange(1, count + 1).astype(str), 5))
    surname, given = rng.integers(0, len(SURNAMES), count), rng.integers(0, len(GIVEN_NAMES), count)
    team_no = rng.integers(0, 3, count)
    land.write(
        "account_managers",
        {
            "manager_id": ids,
            "manager_name": _concat(
                _pick([s for s, _ in SURNAMES], surname), _pick([g for g, _ in GIVEN_NAMES], given)
            ),
            "team": _concat(
                _pick([REGION_NAMES_CN[r] for r in REGIONS], region),
                _pick(("一", "二", "三"), team_no),
                "组",
            ),
            "region": _pick(REGIONS, region),
            "hired_on": _dates(hired),
            "left_on": _dates(np.where(np.isfinite(left), left, 0), np.isfinite(left)),
        },
    )
    by_region = np.argsort(region, kind="stable")
    size = np.bincount(region, minlength=len(REGIONS))
    return Managers(ids, hired, left, by_region, np.cumsum(size) - size, size)


def _pick_manager(
    rng: np.random.Generator, managers: Managers, region: np.ndarray, day: np.ndarray
) -> np.ndarray:
    """A manager of the customer's region employed on `day` (an anchor if draws miss)."""
    chosen = managers.by_region[managers.offset[region]]
    todo = np.ones(region.size, dtype=bool)
    for _ in range(6):
        slot = np.floor(rng.random(region.size) * managers.size[region]).astype(np.int64)
        candidate = managers.by_region[managers.offset[region] + slot]
        ok = todo & (managers.hired[candidate] <= day) & (managers.left[candidate] > day)
        chosen[ok] = candidate[ok]
        todo &= ~ok
    return chosen


@dataclass(frozen=True)
class Events:
    """Event ids and days, sorted by day, for registrations to find the next event."""

    ids: np.ndarray
    day: np.ndarray  # sorted


def _events(rng: np.random.Generator, cal: Calendar, land: Landing) -> Events:
    """A few customer events a month over the whole customer history."""
    months = np.arange(
        np.datetime64(dt.date(1970, 1, 1) + dt.timedelta(days=cal.earliest), "M"),
        np.datetime64(dt.date(1970, 1, 1) + dt.timedelta(days=cal.end), "M") + 1,
    )
    per_month = rng.poisson(4.0, months.size)
    month_start = months.astype("datetime64[D]").astype(np.int64)
    day = np.repeat(month_start, per_month) + rng.integers(0, 28, per_month.sum())
    day = np.sort(day[day <= cal.end])
    count = day.size
    kind = _choice(rng, (4, 3, 1, 2, 2), count)
    topic = rng.integers(0, len(EVENT_TOPICS), count)
    online = rng.random(count) < 0.1
    city = rng.integers(0, len(EVENT_CITIES), count)
    year = (day.astype("datetime64[D]").astype("datetime64[Y]").astype(int) + 1970).astype(str)
    ids = np.char.add("E", np.char.zfill(np.arange(1, count + 1).astype(str), 6))
    land.write(
        "events",
        {
            "event_id": ids,
            "event_name": _concat(
                pa.array(year),
                "年",
                pc.if_else(pa.array(online), "线上", _pick(EVENT_CITIES, city)),
                _pick(EVENT_TOPICS, topic),
                _pick([EVENT_NAMES[k] for k in EVENT_KINDS], kind),
            ),
            "kind": _pick(EVENT_KINDS, kind),
            "held_on": _dates(day),
            "city": _optional(_pick(EVENT_CITIES, city), ~online),
        },
    )
    return Events(ids, day.astype(float))


@dataclass(frozen=True)
class Wave:
    """One fielded survey: its questions, their (dimension, text, reverse, mean) and scale."""

    survey_id: str
    kind: str
    day: int
    question_ids: tuple[str, ...]
    items: tuple[tuple[str, str, bool, float], ...]
    scale: tuple[int, int]


def _surveys(cal: Calendar, land: Landing) -> list[Wave]:
    """Satisfaction every June and December (1–5, then 1–7 scale), NPS (0–10) and loyalty
    (1–5) every December, brand (1–7) every June, over the window."""
    plan: list[tuple[dt.date, str, str, tuple, tuple[int, int]]] = []
    end = dt.date(1970, 1, 1) + dt.timedelta(days=cal.end)
    start = dt.date(1970, 1, 1) + dt.timedelta(days=cal.window_start)
    for year in range(start.year, end.year + 1):
        half = f"{year}年上半年"
        plan.append((dt.date(year, 6, 1), "satisfaction", half, SATISFACTION_ITEMS, (1, 5)))
        plan.append((dt.date(year, 6, 1), "brand", f"{year}年", BRAND_ITEMS, (1, 7)))
        half = f"{year}年下半年"
        plan.append((dt.date(year, 12, 1), "satisfaction", half, SATISFACTION_ITEMS, (1, 7)))
        plan.append((dt.date(year, 12, 1), "nps", f"{year}年", NPS_ITEMS, (0, 10)))
        plan.append((dt.date(year, 12, 1), "loyalty", f"{year}年", LOYALTY_ITEMS, (1, 5)))
    titles = {
        "satisfaction": "客户满意度调查",
        "nps": "客户推荐意愿调查",
        "brand": "品牌认知调查",
        "loyalty": "客户忠诚度调查",
    }
    waves: list[Wave] = []
    surveys, questions = [], []
    for fielded, kind, label, items, scale in plan:
        if not start <= fielded <= end - dt.timedelta(days=21):
            continue
        survey_id = f"S{len(waves) + 1:04d}"
        q_ids = tuple(f"SQ{len(questions) + i + 1:05d}" for i in range(len(items)))
        for q_id, (dimension, text, reverse, _) in zip(q_ids, items, strict=True):
            questions.append((q_id, survey_id, text, dimension, *scale, reverse))
        surveys.append((survey_id, f"{label}{titles[kind]}", kind, _day(fielded)))
        waves.append(Wave(survey_id, kind, _day(fielded), q_ids, items, scale))
    s = list(zip(*surveys, strict=True)) if surveys else [[]] * 4
    q = list(zip(*questions, strict=True)) if questions else [[]] * 7
    land.write(
        "surveys",
        {
            "survey_id": s[0],
            "survey_name": s[1],
            "kind": s[2],
            "fielded_on": _dates(np.array(s[3], dtype=float)),
        },
    )
    land.write(
        "survey_questions",
        {
            "question_id": q[0],
            "survey_id": q[1],
            "question_text": q[2],
            "dimension": q[3],
            "scale_min": _ints(np.array(q[4])),
            "scale_max": _ints(np.array(q[5])),
            "is_reverse_coded": _bools(np.array(q[6], dtype=bool)),
        },
    )
    return waves


# ---------------------------------------------------------------------------------------------
# One chunk of customers.


@dataclass
class Chunk:
    """Per-customer latent state of one chunk, shared by every table drawn from it."""

    ids: pa.Array
    z: np.ndarray  # latent loyalty
    value: np.ndarray  # latent value
    satisfaction: np.ndarray  # latent satisfaction, 0.75 z + noise
    region: np.ndarray
    size: np.ndarray  # index into SIZE_BANDS
    channel: np.ndarray  # index into ACQUISITION_CHANNELS
    acquired: np.ndarray  # integer day
    domain: pa.Array  # e-mail domain
    # filled in by the purchase, contract and churn steps
    lam: np.ndarray = field(default_factory=lambda: np.empty(0))
    p: np.ndarray = field(default_factory=lambda: np.empty(0))
    nu: np.ndarray = field(default_factory=lambda: np.empty(0))
    dropout: np.ndarray = field(default_factory=lambda: np.empty(0))  # day, nan if alive
    churn_day: np.ndarray = field(default_factory=lambda: np.empty(0))  # inf if not churned
    active_end: np.ndarray = field(default_factory=lambda: np.empty(0))  # churn day or horizon

    @property
    def n(self) -> int:
        return self.z.size

    @property
    def churned(self) -> np.ndarray:
        return np.isfinite(self.churn_day)

    def decline_start(self) -> np.ndarray:
        """Start of the pre-churn decline (inf for customers who have not churned)."""
        return np.where(self.churned, self.churn_day - DECLINE_DAYS, np.inf)


def _poisson(
    rng: np.random.Generator, rate: np.ndarray, start: np.ndarray, stop: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Homogeneous Poisson events per customer on [start, stop): (customer index, day)."""
    span = np.maximum(stop - start, 0.0)
    owner = np.repeat(np.arange(rate.size), rng.poisson(rate * span))
    return owner, start[owner] + rng.random(owner.size) * span[owner]


def _signals(
    rng: np.random.Generator, c: Chunk, per_year: np.ndarray, decline_factor: float
) -> tuple[np.ndarray, np.ndarray]:
    """Events at `per_year` over each customer's active life, times `decline_factor` in the
    DECLINE_DAYS before churn (below 1: touches thin out; above 1: trouble builds up)."""
    rate = per_year / DAYS_PER_YEAR
    owner, day = _poisson(rng, rate, c.acquired.astype(float), c.active_end)
    decline = np.maximum(c.decline_start(), c.acquired)
    if decline_factor < 1:
        keep = (day < decline[owner]) | (rng.random(owner.size) < decline_factor)
        owner, day = owner[keep], day[keep]
    elif decline_factor > 1:
        extra_owner, extra_day = _poisson(
            rng, rate * (decline_factor - 1), np.minimum(decline, c.active_end), c.active_end
        )
        owner, day = np.r_[owner, extra_owner], np.r_[day, extra_day]
    order = np.lexsort((day, owner))
    return owner[order], day[order]


def _customers(
    rng: np.random.Generator, first: int, n: int, width: int, truth: Truth, cal: Calendar
) -> tuple[Chunk, dict[str, pa.Array | np.ndarray], np.ndarray]:
    """Customer companies and their latent loyalty and value; also the true acquisition cost
    (CNY), which the costs table adds up even where the CRM lacks it."""
    provinces = list(PROVINCES)
    province = _choice(rng, tuple(v[2] for v in PROVINCES.values()), n)
    n_cities = np.array([len(PROVINCES[p][1]) for p in provinces])
    city_slot = np.floor(rng.random(n) * n_cities[province]).astype(int)
    city_names = [c for p in provinces for c in PROVINCES[p][1]]
    city_offset = np.r_[0, np.cumsum(n_cities)[:-1]]
    city = city_offset[province] + city_slot
    region = np.array([REGIONS.index(PROVINCES[p][0]) for p in provinces])[province]
    industry = _choice(rng, INDUSTRY_WEIGHTS, n)
    z = rng.standard_normal(n)
    value = rng.standard_normal(n)
    # Bigger firms are worth more: the size band moves up with latent value.
    size = np.clip(_choice(rng, SIZE_WEIGHTS, n) + np.round(0.6 * value).astype(int), 0, 4)
    channel = _choice(rng, CHANNEL_WEIGHTS, n)
    inside = rng.random(n) < truth.inside_window_share
    acquired = np.floor(
        np.where(
            inside,
            rng.uniform(cal.window_start, cal.horizon, n),
            rng.uniform(cal.earliest, cal.window_start, n),
        )
    )
    cost = np.array(CHANNEL_COST_CNY)[channel] * (1 + 0.6 * size) * rng.gamma(4.0, 0.25, n)
    stem = rng.integers(0, len(NAME_STEMS), n)
    words = [INDUSTRY_WORDS[i] for i in INDUSTRIES]
    ids = _concat(
        "C",
        pc.utf8_lpad(
            pa.array(np.arange(first + 1, first + n + 1)).cast(pa.string()), width, padding="0"
        ),
    )
    name = _concat(
        _pick(city_names, city),
        _pick([s for s, _ in NAME_STEMS], stem),
        _pick([w for w, _ in words], industry),
        _pick(("有限公司", "股份有限公司", "集团有限公司"), _choice(rng, (80, 15, 5), n)),
    )
    domain = _concat(
        _pick([p for _, p in NAME_STEMS], stem), "-", _pick([e for _, e in words], industry), ".com"
    )
    satisfaction = truth.satisfaction_loading * z + np.sqrt(
        1 - truth.satisfaction_loading**2
    ) * rng.standard_normal(n)
    chunk = Chunk(ids, z, value, satisfaction, region, size, channel, acquired, domain)
    row = {
        "customer_id": ids,
        "customer_name": name,
        "industry": _pick(INDUSTRIES, industry),
        "province": _pick(provinces, province),
        "region": _pick(REGIONS, region),
        "city": _pick(city_names, city),
        "size_band": _pick(SIZE_BANDS, size),
        "acquired_on": _dates(acquired),
        "acquisition_channel": _pick(ACQUISITION_CHANNELS, channel),
        "acquisition_cost": _money(cost, rng.random(n) < 0.95),  # a few are not on file
    }
    return chunk, row, cost


def _purchases(
    rng: np.random.Generator, c: Chunk, truth: Truth, cal: Calendar
) -> tuple[np.ndarray, np.ndarray]:
    """BG/NBD purchase days, first purchase at acquisition: (customer index, day).

    Loops over the purchase number, vectorised across the chunk. The gap to the next purchase
    is Geometric(lambda / 7) whole days (>= 1): one Bernoulli trial a day, the day-level form
    of a Poisson process of lambda a week, so no two purchases share a day and the
    warehouse's same-day merge keeps every one. After each repeat purchase the customer drops
    out with probability p (never at time 0, as in Fader et al. 2005).
    """
    n = c.n
    c.lam = rng.gamma(truth.bgnbd_r, 1.0 / truth.bgnbd_alpha, n)  # per week
    c.p = _copula_beta(rng, c.z, truth.copula_rho_dropout, truth.bgnbd_a, truth.bgnbd_b)
    # Spend: nu decreases in latent value v, with an exact Gamma(q, rate gamma) marginal.
    c.nu = stats.gamma.ppf(_phi(-c.value), truth.gg_q, scale=1.0 / truth.gg_gamma)
    c.dropout = np.full(n, np.nan)
    owners, days = [np.arange(n)], [c.acquired.copy()]
    t = c.acquired.copy()
    alive = np.arange(n)
    while alive.size:
        t[alive] += rng.geometric(np.minimum(c.lam[alive] / DAYS_PER_WEEK, 1.0))
        alive = alive[t[alive] < cal.horizon]
        owners.append(alive)
        days.append(t[alive])
        gone = rng.random(alive.size) < c.p[alive]
        c.dropout[alive[gone]] = t[alive[gone]]
        alive = alive[~gone]
    owner, day = np.concatenate(owners), np.concatenate(days)
    order = np.lexsort((day, owner))
    return owner[order], day[order]


@dataclass(frozen=True)
class Contracts:
    """Contract terms of one chunk (one row per annual term) and per-customer contract state."""

    owner: np.ndarray  # customer index per term
    stop: np.ndarray  # last day of the term (earlier than planned when terminated)
    ids: pa.Array
    first_term: np.ndarray  # row of each customer's first term, -1 without contract
    line: np.ndarray  # product line per customer
    theta: np.ndarray  # per customer, nan without contract
    lost_on: np.ndarray  # per customer: last day of the unrenewed contract, inf if none


def _contracts(
    rng: np.random.Generator, c: Chunk, truth: Truth, cal: Calendar, ids: Ids, width: int
) -> tuple[Contracts, dict[str, pa.Array | np.ndarray]]:
    """Annual contracts from acquisition, renewed until an sBG loss (Geometric(theta))."""
    n = c.n
    line = _choice(rng, (16, 18, 12, 12, 8, 18, 6, 10), n)
    holds = rng.random(n) < np.array(truth.contract_share_by_size)[c.size]
    ab = np.array([truth.sbg[name] for name in PRODUCT_LINES])
    theta_all = _copula_beta(rng, c.z, truth.copula_rho_contract, ab[line, 0], ab[line, 1])
    theta = np.where(holds, theta_all, np.nan)
    lifetime = rng.geometric(np.clip(theta_all, 1e-12, 1.0))  # terms until the loss
    holders = np.flatnonzero(holds)
    possible = np.floor((cal.end - c.acquired[holders]) / CONTRACT_TERM_DAYS).astype(int) + 1
    terms = np.minimum(lifetime[holders], possible)
    owner = np.repeat(holders, terms)
    first = np.cumsum(terms) - terms
    term = np.arange(owner.size) - np.repeat(first, terms)
    start = c.acquired[owner] + CONTRACT_TERM_DAYS * term
    stop = start + CONTRACT_TERM_DAYS - 1
    last = term == np.repeat(terms - 1, terms)
    lost = last & (lifetime[owner] == term + 1) & (stop < cal.end)
    terminated = lost & (rng.random(owner.size) < 0.15)  # ended early, mid-term
    stop = np.where(terminated, start + np.floor(rng.uniform(90, 330, owner.size)), stop)
    status = np.where(
        ~last, 0, np.where(~lost, 1, np.where(terminated, 3, 2))
    )  # renewed / active / expired / terminated
    contract_ids = ids.take("K", owner.size, width)
    renewal_of = pc.if_else(
        pa.array(term > 0),
        contract_ids.take(pa.array(np.maximum(np.arange(owner.size) - 1, 0))),
        None,
    )
    base = np.array((12_000, 30_000, 60_000, 120_000, 260_000))[c.size[owner]]
    annual = base * np.exp(0.3 * c.value[owner]) * rng.uniform(0.8, 1.2, holders.size).repeat(terms)
    contract_value = np.round(annual * 1.03**term, -2)
    first_term = np.full(n, -1)
    first_term[holders] = first
    lost_on = np.full(n, np.inf)
    lost_on[owner[lost]] = stop[lost]
    contracts = Contracts(owner, stop, contract_ids, first_term, line, theta, lost_on)
    rows = {
        "contract_id": contract_ids,
        "customer_id": c.ids.take(pa.array(owner)),
        "product_line": _pick(PRODUCT_LINES, line[owner]),
        "start_on": _dates(start),
        "end_on": _dates(stop),
        "contract_value": _money(contract_value),
        "currency": _pick(("CNY",), np.zeros(owner.size, dtype=int)),
        "renewal_of": renewal_of,
        "status": _pick(("renewed", "active", "expired", "terminated"), status),
    }
    return contracts, rows


def _churn(c: Chunk, contracts: Contracts, cal: Calendar) -> None:
    """True churn: every relationship has ended. A transactional customer churns at the BG/NBD
    dropout (its last purchase); a contract holder when both its purchases and its contract
    have stopped."""
    stopped_buying = np.where(np.isnan(c.dropout), np.inf, c.dropout)
    holds = contracts.first_term >= 0
    churn = np.where(holds, np.maximum(stopped_buying, contracts.lost_on + 1), stopped_buying)
    c.churn_day = np.where(churn < cal.horizon, churn, np.inf)
    c.active_end = np.minimum(c.churn_day, cal.horizon)


def _orders(
    rng: np.random.Generator,
    c: Chunk,
    contracts: Contracts,
    owner: np.ndarray,
    day: np.ndarray,
    truth: Truth,
    cal: Calendar,
    ids: Ids,
    width: int,
) -> tuple[dict[str, pa.Array | np.ndarray], np.ndarray]:
    """Invoices at the purchase times with Gamma-Gamma amounts, plus a few credit notes."""
    m = owner.size
    spend_cny = rng.gamma(truth.gg_p, 1.0 / c.nu[owner]) * truth.spend_scale_cny
    spend_cny = np.maximum(np.round(spend_cny, 2), 1.0)
    foreign = rng.random(m) < truth.foreign_currency_share
    currency = np.where(foreign, _choice(rng, (5, 2, 3), m) + 1, 0)  # index into FX_TO_CNY
    rate = np.array(list(FX_TO_CNY.values()))[currency]
    amount = np.maximum(np.round(spend_cny / rate, 2), 0.01)
    line = np.where(rng.random(m) < 0.7, contracts.line[owner], _choice(rng, (1,) * 8, m))
    # Invoices inside a contract term bill that contract 60 % of the time.
    term = np.floor((day - c.acquired[owner]) / CONTRACT_TERM_DAYS).astype(int)
    n_terms = np.bincount(contracts.owner, minlength=c.n)[owner]
    billed = (contracts.first_term[owner] >= 0) & (term < n_terms)
    row = np.where(billed, contracts.first_term[owner] + term, 0)
    if contracts.owner.size:
        billed &= (day < contracts.stop[row] + 1) & (rng.random(m) < 0.6)
        contract_id = _optional(contracts.ids.take(pa.array(row)), billed)
    else:
        contract_id = pa.nulls(m, pa.string())
    credit = (rng.random(m) < truth.credit_note_share) & (day + 60 < cal.horizon)
    k = np.flatnonzero(credit)
    credit_day = day[k] + rng.integers(7, 60, k.size)
    credit_amount = -np.maximum(np.round(amount[k] * rng.uniform(0.1, 0.6, k.size), 2), 0.01)
    both = np.r_[np.arange(m), k]
    rows = {
        "order_id": ids.take("O", both.size, width),
        "customer_id": c.ids.take(pa.array(owner[both])),
        "ordered_on": _dates(np.r_[day, credit_day]),
        "amount": _money(np.r_[amount, credit_amount]),
        "currency": _pick(tuple(FX_TO_CNY), currency[both]),
        "product_line": _pick(PRODUCT_LINES, line[both]),
        "is_credit_note": _bools(np.r_[np.zeros(m, bool), np.ones(k.size, bool)]),
        "contract_id": pa.concat_arrays([contract_id, contract_id.take(pa.array(k))]),
    }
    return rows, spend_cny


def _contacts(
    rng: np.random.Generator, c: Chunk, ids: Ids, width: int
) -> tuple[dict[str, pa.Array | np.ndarray], pa.Array, np.ndarray, np.ndarray]:
    """1–4 people per customer (more at bigger firms); the first is the primary decision maker."""
    count = np.minimum(1 + rng.poisson(np.array(SIZE_CONTACTS)[c.size]), 4)
    owner = np.repeat(np.arange(c.n), count)
    k = owner.size
    first = np.cumsum(count) - count
    primary = np.arange(k) == first[owner]
    surname = rng.integers(0, len(SURNAMES), k)
    given = rng.integers(0, len(GIVEN_NAMES), k)
    contact_ids = ids.take("P", k, width)
    phone = _concat(
        _pick(MOBILE_PREFIXES, rng.integers(0, len(MOBILE_PREFIXES), k)),
        pc.utf8_lpad(pa.array(rng.integers(0, 10**8, k)).cast(pa.string()), 8, padding="0"),
    )
    email = _concat(
        _pick([p for _, p in SURNAMES], surname),
        ".",
        _pick([p for _, p in GIVEN_NAMES], given),
        "@",
        c.domain.take(pa.array(owner)),
    )
    role = np.where(primary, 0, _choice(rng, (10, 25, 25, 15, 20, 5), k))
    rows = {
        "contact_id": contact_ids,
        "customer_id": c.ids.take(pa.array(owner)),
        "contact_name": _concat(
            _pick([s for s, _ in SURNAMES], surname), _pick([g for g, _ in GIVEN_NAMES], given)
        ),
        "phone": _optional(phone, rng.random(k) < 0.95),
        "email": _optional(email, rng.random(k) < 0.9),
        "role": _pick(CONTACT_ROLES, role),
        "is_primary": _bools(primary),
    }
    return rows, contact_ids, first, count


@dataclass(frozen=True)
class Assignments:
    """Manager spells of one chunk, sorted by customer and start day."""

    owner: np.ndarray
    start: np.ndarray
    manager: np.ndarray

    def manager_at(self, owner: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The manager looking after `owner` on `day` (rows are sorted by owner, start)."""
        key = self.owner * 100_000.0 + self.start
        row = np.searchsorted(key, owner * 100_000.0 + np.floor(day), side="right") - 1
        return self.manager[np.maximum(row, 0)]


def _assignments(
    rng: np.random.Generator,
    c: Chunk,
    managers: Managers,
    record_day: np.ndarray,
    cal: Calendar,
    ids: Ids,
    width: int,
) -> tuple[Assignments, dict[str, pa.Array | np.ndarray]]:
    """Manager spells: voluntary changes are more frequent for at-risk (low-loyalty)
    customers, and a manager who leaves hands the customer to a colleague of the region."""
    per_year = np.exp(-1.8 - 0.6 * c.z)
    rows_owner, rows_start, rows_stop, rows_mgr = [], [], [], []
    alive = np.arange(c.n)
    start = c.acquired.copy()
    mgr = _pick_manager(rng, managers, c.region, start)
    # Assignments of a recorded churn close when the CRM records the loss.
    closing = np.where(np.isfinite(record_day), record_day, np.inf)
    while alive.size:
        voluntary = start[alive] + 1 + np.floor(rng.exponential(DAYS_PER_YEAR / per_year[alive]))
        leaving = managers.left[mgr[alive]] + 1
        change = np.minimum(voluntary, leaving)
        moves = change < np.minimum(c.active_end[alive], cal.horizon)
        stop = np.where(moves, change - 1, np.minimum(closing[alive], managers.left[mgr[alive]]))
        rows_owner.append(alive)
        rows_start.append(start[alive])
        rows_stop.append(stop)
        rows_mgr.append(mgr[alive])
        alive = alive[moves]
        start[alive] = change[moves]
        mgr[alive] = _pick_manager(rng, managers, c.region[alive], start[alive])
    owner, begin = np.concatenate(rows_owner), np.concatenate(rows_start)
    stop, mgr_all = np.concatenate(rows_stop), np.concatenate(rows_mgr)
    order = np.lexsort((begin, owner))
    owner, begin, stop, mgr_all = owner[order], begin[order], stop[order], mgr_all[order]
    open_ended = ~np.isfinite(stop) | (stop > cal.end)
    rows = {
        "assignment_id": ids.take("G", owner.size, width),
        "customer_id": c.ids.take(pa.array(owner)),
        "manager_id": _pick(managers.ids, mgr_all),
        "assigned_from": _dates(begin),
        "assigned_to": _dates(np.where(open_ended, 0, stop), ~open_ended),
    }
    return Assignments(owner, begin, mgr_all), rows


def _interactions(
    rng: np.random.Generator,
    c: Chunk,
    assignments: Assignments,
    managers: Managers,
    ids: Ids,
    width: int,
) -> dict[str, pa.Array | np.ndarray]:
    """About 7 touches a year, more for loyal and bigger customers, thinning before churn."""
    per_year = 5.0 * np.exp(0.35 * c.z) * (1 + 0.15 * c.size)
    owner, day = _signals(rng, c, per_year, decline_factor=0.3)
    k = owner.size
    big = c.size[owner] >= 3
    channel = np.where(
        big, _choice(rng, (30, 25, 20, 20, 2, 3), k), _choice(rng, (10, 30, 20, 32, 4, 4), k)
    )
    kind = _choice(rng, (35, 35, 18, 12), k)
    # Greetings cluster in the Spring Festival season (late January to mid February).
    date = np.floor(day).astype("datetime64[D]")
    day_of_year = (date - date.astype("datetime64[Y]").astype("datetime64[D]")).astype(int)
    kind = np.where((day_of_year >= 19) & (day_of_year < 45) & (rng.random(k) < 0.5), 3, kind)
    with_manager = rng.random(k) < np.where(np.isin(channel, (0, 1, 3)), 0.85, 0.3)
    rows = {
        "interaction_id": ids.take("I", k, width),
        "customer_id": c.ids.take(pa.array(owner)),
        "occurred_at": _stamps(day),
        "channel": _pick(INTERACTION_CHANNELS, channel),
        "kind": _pick(INTERACTION_KINDS, kind),
        "manager_id": _optional(
            _pick(managers.ids, assignments.manager_at(owner, day)), with_manager
        ),
    }
    return rows


def _tickets(
    rng: np.random.Generator, c: Chunk, contracts: Contracts, cal: Calendar, ids: Ids, width: int
) -> dict[str, pa.Array | np.ndarray]:
    """Service tickets; bigger firms and contract holders open more, and service is slower
    for the low-loyalty ones (it is part of why they are low)."""
    per_year = (0.6 + 0.35 * c.size) * np.where(contracts.first_term >= 0, 1.5, 1.0)
    owner, day = _signals(rng, c, per_year, decline_factor=1.5)
    k = owner.size
    priority = _choice(rng, (30, 40, 22, 8), k)
    response_hours = rng.exponential(np.array([24.0, 10.0, 4.0, 1.5])[priority]) * np.exp(
        -0.2 * c.z[owner]
    )
    responded = day + response_hours / 24
    resolved = responded + rng.exponential(2.5 * np.exp(-0.3 * c.z[owner]))
    is_responded = responded < cal.horizon
    is_resolved = resolved < cal.horizon
    status = np.where(
        is_resolved, np.where(resolved < cal.horizon - 14, 3, 2), np.where(is_responded, 1, 0)
    )
    return {
        "ticket_id": ids.take("T", k, width),
        "customer_id": c.ids.take(pa.array(owner)),
        "opened_at": _stamps(day),
        "first_response_at": _stamps(responded, is_responded),
        "resolved_at": _stamps(resolved, is_resolved),
        "category": _pick(TICKET_CATEGORIES, _choice(rng, (15, 30, 25, 10, 10, 10), k)),
        "priority": _optional(_pick(TICKET_PRIORITIES, priority), rng.random(k) < 0.95),
        "status": _pick(("open", "in_progress", "resolved", "closed"), status),
    }


def _complaints(
    rng: np.random.Generator, c: Chunk, cal: Calendar, ids: Ids, width: int
) -> tuple[dict[str, pa.Array | np.ndarray], np.ndarray, np.ndarray]:
    """Complaints: more for low loyalty, three times as many in the months before churn."""
    per_year = 0.3 * np.exp(-0.8 * c.z)
    owner, day = _signals(rng, c, per_year, decline_factor=3.0)
    k = owner.size
    category = _choice(rng, (18, 20, 22, 12, 12, 8, 8), k)
    closed = day + rng.exponential(7.0, k)
    done = closed < cal.horizon
    resolved_well = rng.random(k) < _phi(0.6 + 0.5 * c.z[owner])
    outcome = np.where(resolved_well, 0, _choice(rng, (50, 35, 15), k) + 1)
    after = np.clip(
        np.round(2.6 + 0.6 * c.z[owner] + 1.2 * resolved_well + rng.normal(0, 0.7, k)), 1, 5
    )
    rows = {
        "complaint_id": ids.take("Q", k, width),
        "customer_id": c.ids.take(pa.array(owner)),
        "opened_at": _stamps(day),
        "resolved_at": _stamps(closed, done),
        "category": _pick(COMPLAINT_CATEGORIES, category),
        "outcome": _optional(
            _pick(("resolved", "partially_resolved", "unresolved", "withdrawn"), outcome), done
        ),
        "satisfaction_after": _ints(after, done & (rng.random(k) < 0.85)),
    }
    return rows, owner, category


def _feedback(
    rng: np.random.Generator, c: Chunk, cal: Calendar, ids: Ids, width: int
) -> dict[str, pa.Array | np.ndarray]:
    """Feedback and suggestions: loyal customers make more suggestions, and more get adopted."""
    per_year = 0.9 * np.exp(0.25 * c.z)
    owner, day = _signals(rng, c, per_year, decline_factor=1.0)
    k = owner.size
    valid = rng.random(k) < 0.9
    suggestion = valid & (rng.random(k) < _phi(-0.6 + 0.3 * c.z[owner]))
    category = np.where(suggestion, 4, _choice(rng, (30, 35, 12, 13, 0, 10), k))
    adopted = rng.random(k) < _phi(-0.5 + 0.3 * c.z[owner])
    responded = day + rng.exponential(1.5, k)
    followed = responded + rng.exponential(6.0, k)
    has_response = valid & (rng.random(k) < 0.9) & (responded < cal.horizon)
    has_follow_up = has_response & (rng.random(k) < 0.55) & (followed < cal.horizon)
    return {
        "feedback_id": ids.take("F", k, width),
        "customer_id": c.ids.take(pa.array(owner)),
        "received_at": _stamps(day),
        "channel": _pick(FEEDBACK_CHANNELS, _choice(rng, (15, 20, 15, 25, 10, 15), k)),
        "category": _pick(FEEDBACK_CATEGORIES, category),
        "is_valid": _bools(valid),
        "is_suggestion": _bools(suggestion),
        "is_adopted": _bools(adopted, suggestion),
        "responded_at": _stamps(responded, has_response),
        "followed_up_at": _stamps(followed, has_follow_up),
    }


def _attendance(
    rng: np.random.Generator, c: Chunk, events: Events, ids: Ids, width: int
) -> dict[str, pa.Array | np.ndarray]:
    """Registrations for the next event after a loyalty-driven Poisson draw."""
    per_year = 1.0 * np.exp(-0.3 + 0.6 * c.z)
    owner, day = _signals(rng, c, per_year, decline_factor=0.3)
    event = np.searchsorted(events.day, day)
    ok = event < events.day.size
    pair = np.unique(owner[ok].astype(np.int64) * events.day.size + event[ok])
    owner, event = pair // events.day.size, pair % events.day.size
    k = owner.size
    return {
        "attendance_id": ids.take("A", k, width),
        "event_id": _pick(events.ids, event),
        "customer_id": c.ids.take(pa.array(owner)),
        "attended": _bools(rng.random(k) < _phi(0.7 + 0.5 * c.z[owner])),
    }


def _referrals(
    rng: np.random.Generator, c: Chunk, ids: Ids, width: int
) -> dict[str, pa.Array | np.ndarray]:
    """Converted referrals: each referral-channel customer was referred by an earlier customer
    of its chunk active at the time, the most loyal of four random candidates (so loyal
    customers refer more). Unconverted referrals: Poisson, more for loyal customers."""
    by_acquisition = np.argsort(c.acquired, kind="stable")
    referred = np.flatnonzero(np.array(ACQUISITION_CHANNELS)[c.channel] == "referral")
    referred_on = c.acquired[referred] - np.floor(rng.uniform(7, 90, referred.size))
    earlier = np.searchsorted(c.acquired[by_acquisition], referred_on, side="left")
    referred, referred_on, earlier = (
        referred[earlier > 0],
        referred_on[earlier > 0],
        earlier[earlier > 0],
    )
    candidates = by_acquisition[np.floor(rng.random((4, referred.size)) * earlier).astype(int)]
    score = np.where(c.active_end[candidates] > referred_on, c.z[candidates], -np.inf)
    referrer = candidates[np.argmax(score, axis=0), np.arange(referred.size)]
    owner, day = _signals(rng, c, 0.15 * np.exp(0.8 * c.z), decline_factor=0.3)
    both = np.r_[referrer, owner]
    converted = np.r_[np.ones(referred.size, bool), np.zeros(owner.size, bool)]
    order = np.lexsort((np.r_[referred_on, np.floor(day)], both))
    both, converted = both[order], converted[order]
    when = np.r_[referred_on, np.floor(day)][order]
    target = np.r_[referred, np.zeros(owner.size, int)][order]
    return {
        "referral_id": ids.take("R", both.size, width),
        "referrer_customer_id": c.ids.take(pa.array(both)),
        "referred_customer_id": _optional(c.ids.take(pa.array(target)), converted),
        "referred_on": _dates(when),
        "is_converted": _bools(converted),
    }


def _reviews(
    rng: np.random.Generator, c: Chunk, ids: Ids, width: int
) -> dict[str, pa.Array | np.ndarray]:
    """Public reviews; a third are anonymous (no customer_id); tone follows satisfaction."""
    owner, day = _signals(rng, c, np.full(c.n, 0.3), decline_factor=1.5)
    k = owner.size
    pre_churn = day >= c.decline_start()[owner]
    tone = c.satisfaction[owner] - 0.8 * pre_churn + rng.normal(0, 0.6, k)
    sentiment = np.where(tone > 0.3, 0, np.where(tone < -0.7, 2, 1))
    source = _choice(rng, (25, 15, 15, 20, 20, 5), k)
    rated = np.isin(source, (3, 4, 5))  # forums and B2B platforms have star ratings
    return {
        "review_id": ids.take("V", k, width),
        "customer_id": _optional(c.ids.take(pa.array(owner)), rng.random(k) >= 0.3),
        "published_on": _dates(day),
        "source": _pick(REVIEW_SOURCES, source),
        "sentiment": _pick(SENTIMENTS, sentiment),
        "rating": _ints(np.clip(np.round(3.4 + 1.1 * tone), 1, 5), rated),
    }


def _loyalty(
    rng: np.random.Generator,
    c: Chunk,
    order_owner: np.ndarray,
    order_day: np.ndarray,
    spend_cny: np.ndarray,
    cal: Calendar,
    ids: Ids,
    width: int,
) -> dict[str, pa.Array | np.ndarray]:
    """Programme ledger: enrolment, a monthly earn entry (1 point per 100 CNY invoiced), and
    each earned batch later redeemed whole or expired after two years, so balances never go
    below zero."""
    enrolled = rng.random(c.n) < _phi(-0.3 + 0.7 * c.z)
    enrol_day = c.acquired + np.floor(rng.uniform(0, 180, c.n))
    enrolled &= enrol_day < np.minimum(c.active_end, cal.horizon)
    e = np.flatnonzero(enrolled)
    counted = enrolled[order_owner] & (order_day >= enrol_day[order_owner])
    month = order_day[counted].astype(np.int64).astype("datetime64[D]").astype("datetime64[M]")
    key = order_owner[counted].astype(np.int64) * 10_000 + month.astype(np.int64)
    batch, inverse = np.unique(key, return_inverse=True)
    points = np.floor(np.bincount(inverse, weights=spend_cny[counted] / 100)).astype(np.int64)
    batch_owner = batch // 10_000
    # Credited on the first day of the next month.
    earn_day = (
        ((batch % 10_000).astype("datetime64[M]") + np.timedelta64(1, "M"))
        .astype("datetime64[D]")
        .astype(np.int64)
        .astype(float)
    )
    ok = (points > 0) & (earn_day <= cal.end)
    batch_owner, earn_day, points = batch_owner[ok], earn_day[ok], points[ok]
    b = batch_owner.size
    redeem_day = earn_day + np.floor(rng.uniform(30, 400, b))
    redeemed = (rng.random(b) < 0.2 + 0.4 * _phi(c.z[batch_owner])) & (
        redeem_day < np.minimum(c.active_end[batch_owner], cal.horizon)
    )
    expire_day = earn_day + 730
    expired = ~redeemed & (expire_day <= cal.end)
    owner = np.r_[e, batch_owner, batch_owner[redeemed], batch_owner[expired]]
    day = np.r_[enrol_day[e], earn_day, redeem_day[redeemed], expire_day[expired]]
    entry = np.r_[
        np.zeros(e.size, int),
        np.ones(b, int),
        np.full(redeemed.sum(), 2),
        np.full(expired.sum(), 3),
    ]
    pts = np.r_[np.zeros(e.size, np.int64), points, points[redeemed], points[expired]]
    order = np.lexsort((entry, day, owner))
    return {
        "entry_id": ids.take("L", owner.size, width),
        "customer_id": c.ids.take(pa.array(owner[order])),
        "occurred_on": _dates(day[order]),
        "entry_type": _pick(("enrol", "earn", "redeem", "expire"), entry[order]),
        "points": _ints(pts[order]),
    }


def _churn_records(
    rng: np.random.Generator,
    c: Chunk,
    complaint_owner: np.ndarray,
    complaint_category: np.ndarray,
    truth: Truth,
    cal: Calendar,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which churned customers the CRM records (day, inf if none), the reason (index into
    CHURN_NOTES) and which of the reason's notes goes with it (-1 for none).

    Customers with repeated complaints mostly leave over what they complained about
    (service, quality or price); the rest over price, competitors, closure or other reasons."""
    lag = rng.uniform(45, 150, c.n)  # the loss is noticed after some silence
    record_day = np.floor(c.churn_day + lag)
    recorded = c.churned & (rng.random(c.n) < truth.churn_record_share) & (record_day <= cal.end)
    complaints = np.bincount(complaint_owner, minlength=c.n)
    by_reason = np.zeros((c.n, len(CHURN_NOTES)))
    reason_index = np.array([list(CHURN_NOTES).index(r) for r in COMPLAINT_REASON])
    np.add.at(by_reason, (complaint_owner, reason_index[complaint_category]), 1)
    main_complaint = np.argmax(by_reason, axis=1)
    background = _choice(rng, (35, 0, 0, 35, 12, 18), c.n)
    background = np.where((c.size == 0) & (rng.random(c.n) < 0.3), 4, background)
    reason = np.where((complaints >= 2) & (rng.random(c.n) < 0.75), main_complaint, background)
    note = np.where(rng.random(c.n) < 0.1, -1, rng.integers(0, 3, c.n))  # -1: no note
    return np.where(recorded, record_day, np.inf), reason, note


def _survey_answers(
    rng: np.random.Generator,
    c: Chunk,
    waves: list[Wave],
    contact_ids: pa.Array,
    contact_first: np.ndarray,
    contact_count: np.ndarray,
    truth: Truth,
    ids: Ids,
    width: int,
) -> tuple[dict[str, pa.Array | np.ndarray], dict[str, pa.Array | np.ndarray]]:
    """A sample of the customers active at each wave answers through one of its contacts;
    answers follow latent satisfaction (lower in the months before churn)."""
    owners, waves_of, submitted = [np.empty(0, int)], [np.empty(0, int)], [np.empty(0)]
    for w, wave in enumerate(waves):
        active = (c.acquired <= wave.day - 30) & (c.active_end > wave.day)
        take = np.flatnonzero(active & (rng.random(c.n) < 0.08 + 0.08 * _phi(c.z)))
        owners.append(take)
        waves_of.append(np.full(take.size, w))
        submitted.append(wave.day + rng.uniform(0, 21, take.size))
    owner, wave_of, sent = (
        np.concatenate(owners),
        np.concatenate(waves_of),
        np.concatenate(submitted),
    )
    k = owner.size
    response_ids = ids.take("W", k, width)
    contact = contact_first[owner] + np.floor(rng.random(k) * contact_count[owner]).astype(int)
    survey_ids = [w.survey_id for w in waves]
    responses = {
        "response_id": response_ids,
        "survey_id": _pick(survey_ids, wave_of) if waves else pa.array([], pa.string()),
        "customer_id": c.ids.take(pa.array(owner)),
        "contact_id": _optional(contact_ids.take(pa.array(contact)), rng.random(k) < 0.95),
        "submitted_at": _stamps(sent),
    }
    mood = c.satisfaction[owner] - 0.9 * (sent >= c.decline_start()[owner])
    mood = mood + rng.normal(0, 0.35, k)
    answer_rows, answer_q, answer_v, answer_ok = [], [], [], []
    for w, wave in enumerate(waves):
        rows = np.flatnonzero(wave_of == w)
        lo, hi = wave.scale
        for q_id, (_, _, reverse, mean) in zip(wave.question_ids, wave.items, strict=True):
            u = _phi(mean + 0.9 * mood[rows] + rng.normal(0, 0.45, rows.size))
            value = lo + np.floor(u * (hi - lo + 1)).clip(0, hi - lo)
            answer_rows.append(rows)
            answer_q.append(np.full(rows.size, q_id))
            answer_v.append(lo + hi - value if reverse else value)
            answer_ok.append(rng.random(rows.size) >= truth.survey_skip_share)
    if answer_rows:
        rows, q, v, ok = map(np.concatenate, (answer_rows, answer_q, answer_v, answer_ok))
        order = np.lexsort((q, rows))
        rows, q, v, ok = rows[order], q[order], v[order], ok[order]
    else:
        rows, q, v, ok = np.empty(0, int), np.empty(0, str), np.empty(0), np.empty(0, bool)
    answers = {
        "response_id": response_ids.take(pa.array(rows)),
        "question_id": pa.array(q, pa.string()),
        "value": _money(v, ok),
    }
    return responses, answers


# ---------------------------------------------------------------------------------------------


@dataclass
class Totals:
    """What the costs table and the truth need from every chunk."""

    months: np.ndarray  # first day of each month (day numbers), earliest .. end
    acquisition_cny: np.ndarray = field(init=False)
    active_at_month_start: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.acquisition_cny = np.zeros(self.months.size)
        self.active_at_month_start = np.zeros(self.months.size)

    def add(self, c: Chunk, cost: np.ndarray) -> None:
        month = np.searchsorted(self.months, c.acquired, side="right") - 1
        self.acquisition_cny += np.bincount(month, weights=cost, minlength=self.months.size)
        started = np.searchsorted(np.sort(c.acquired), self.months, side="right")
        ended = np.searchsorted(np.sort(c.active_end), self.months, side="right")
        self.active_at_month_start += started - ended


def _costs(rng: np.random.Generator, totals: Totals, land: Landing) -> None:
    """Monthly acquisition spend ≈ the acquisition costs of that month's new customers (plus
    unattributed overheads); retention spend ≈ 150 CNY per active customer and month."""
    m = totals.months.size
    acquisition = totals.acquisition_cny * rng.uniform(1.0, 1.1, m)
    retention = totals.active_at_month_start * 150 * rng.uniform(0.9, 1.1, m)
    width = len(str(2 * m))
    land.write(
        "costs",
        {
            "cost_id": _concat(
                "Y",
                pc.utf8_lpad(
                    pa.array(np.arange(1, 2 * m + 1)).cast(pa.string()), max(width, 5), padding="0"
                ),
            ),
            "month_on": _dates(np.repeat(totals.months, 2).astype(float)),
            "cost_type": _pick(("acquisition", "retention"), np.tile([0, 1], m)),
            "amount": _money(np.column_stack([acquisition, retention]).ravel()),
            "currency": _pick(("CNY",), np.zeros(2 * m, int)),
        },
    )


def generate(
    out_dir: Path | str,
    truth_dir: Path | str | None = None,
    customers: int = 5000,
    years: int = 3,
    seed: int = 42,
    end_date: dt.date = DEFAULT_END_DATE,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool = True,
) -> dict[str, int]:
    """Write one drop file per raw table to `out_dir/<table>/<end_date>.csv` and the truth to
    `truth_dir`; return the rows written per table.

    The same arguments always give byte-identical files.
    """
    if customers < 1 or years < 1 or chunk_size < 1:
        raise ValueError("customers, years and chunk_size must be positive")
    truth = Truth()
    end = _day(end_date)
    start_date = _years_before(end_date, years)
    # The mature base starts on the first of a month, so the first cost month is a full one.
    mature_start = _years_before(start_date, truth.mature_years)
    earliest = _day((mature_start.replace(day=1) + dt.timedelta(days=32)).replace(day=1))
    cal = Calendar(end=end, window_start=_day(start_date), earliest=earliest)
    if earliest < _day(dt.date(1991, 1, 1)):
        raise ValueError("the window reaches back before 1990; use a later end date or fewer years")
    digits = len(str(customers))
    width = {  # zero-padded widths sized from the customer count and rows per customer
        "customer": max(7, digits),
        "many": max(9, digits + 3),  # up to 1,000 a customer: orders, interactions, ledger
        "some": max(8, digits + 2),
    }
    land = Landing(Path(out_dir), end_date.isoformat())
    ids = Ids()
    firm_rng = np.random.default_rng([seed, 0, STREAMS["firm"]])
    managers = _managers(firm_rng, customers, cal, land)
    events = _events(firm_rng, cal, land)
    waves = _surveys(cal, land)
    first_month = np.datetime64(dt.date(1970, 1, 1) + dt.timedelta(days=earliest), "M")
    last_month = np.datetime64(end_date, "M")
    months = np.arange(first_month, last_month + 1).astype("datetime64[D]").astype(np.int64)
    totals = Totals(months.astype(float))
    truth_path = None
    if truth_dir is not None:
        truth_path = Path(truth_dir)
        truth_path.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=customers, unit="customer", disable=not progress, file=sys.stderr)
    try:
        for chunk_no, first in enumerate(range(0, customers, chunk_size)):
            n = min(chunk_size, customers - first)

            def rng(stream: str, _chunk: int = chunk_no) -> np.random.Generator:
                return np.random.default_rng([seed, _chunk + 1, STREAMS[stream]])

            people = _chunk(
                rng, first, n, width, truth, cal, land, ids, managers, events, waves, totals
            )
            if truth_path is not None:
                people.to_csv(
                    truth_path / "customers.csv",
                    mode="w" if first == 0 else "a",
                    header=first == 0,
                    index=False,
                    float_format="%.8g",
                    lineterminator="\n",
                )
            bar.update(n)
        _costs(np.random.default_rng([seed, 0, STREAMS["costs"]]), totals, land)
    finally:
        bar.close()
        land.close()
    if truth_path is not None:
        _write_params(truth_path, truth, land.rows, seed, customers, years, cal, end_date)
    return dict(land.rows)


def _chunk(
    rng: Callable[[str], np.random.Generator],
    first: int,
    n: int,
    width: dict[str, int],
    truth: Truth,
    cal: Calendar,
    land: Landing,
    ids: Ids,
    managers: Managers,
    events: Events,
    waves: list[Wave],
    totals: Totals,
) -> pd.DataFrame:
    """Draw and write every table's rows for customers first+1 .. first+n; return their truth."""
    many, some = width["many"], width["some"]
    c, customer_rows, cost = _customers(rng("customers"), first, n, width["customer"], truth, cal)
    land.write("customers", customer_rows)
    order_owner, order_day = _purchases(rng("purchases"), c, truth, cal)
    contracts, contract_rows = _contracts(rng("contracts"), c, truth, cal, ids, some)
    _churn(c, contracts, cal)
    totals.add(c, cost)
    land.write("contracts", contract_rows)
    contact_rows, contact_ids, contact_first, contact_count = _contacts(
        rng("contacts"), c, ids, some
    )
    land.write("contacts", contact_rows)
    order_rows, spend_cny = _orders(
        rng("orders"), c, contracts, order_owner, order_day, truth, cal, ids, many
    )
    land.write("orders", order_rows)
    complaint_rows, complaint_owner, complaint_category = _complaints(
        rng("complaints"), c, cal, ids, some
    )
    land.write("complaints", complaint_rows)
    record_day, reason, note = _churn_records(
        rng("churn"), c, complaint_owner, complaint_category, truth, cal
    )
    recorded = np.flatnonzero(np.isfinite(record_day))
    note = note[recorded]
    notes = [text for r in CHURN_NOTES for text in CHURN_NOTES[r]]
    land.write(
        "churn_records",
        {
            "churn_id": ids.take("X", recorded.size, some),
            "customer_id": c.ids.take(pa.array(recorded)),
            "churned_on": _dates(record_day[recorded]),
            "reason_code": _pick(tuple(CHURN_NOTES), reason[recorded]),
            "reason_text": _optional(
                _pick(notes, 3 * reason[recorded] + np.maximum(note, 0)), note >= 0
            ),
        },
    )
    assignments, assignment_rows = _assignments(
        rng("assignments"), c, managers, record_day, cal, ids, some
    )
    land.write("account_assignments", assignment_rows)
    land.write(
        "interactions", _interactions(rng("interactions"), c, assignments, managers, ids, many)
    )
    land.write("service_tickets", _tickets(rng("tickets"), c, contracts, cal, ids, some))
    land.write("feedback", _feedback(rng("feedback"), c, cal, ids, some))
    land.write("event_attendance", _attendance(rng("events"), c, events, ids, some))
    land.write("referrals", _referrals(rng("referrals"), c, ids, some))
    land.write("reviews", _reviews(rng("reviews"), c, ids, some))
    land.write(
        "loyalty_programme",
        _loyalty(rng("loyalty"), c, order_owner, order_day, spend_cny, cal, ids, many),
    )
    responses, answers = _survey_answers(
        rng("surveys"), c, waves, contact_ids, contact_first, contact_count, truth, ids, some
    )
    land.write("survey_responses", responses)
    land.write("survey_answers", answers)
    return _truth_rows(c, contracts, order_owner, order_day, record_day, reason, cal)


def _truth_rows(
    c: Chunk,
    contracts: Contracts,
    order_owner: np.ndarray,
    order_day: np.ndarray,
    record_day: np.ndarray,
    reason: np.ndarray,
    cal: Calendar,
) -> pd.DataFrame:
    """One truth row per customer, with its BG/NBD summary (x, t_x, T) in weeks."""
    count = np.bincount(order_owner, minlength=c.n)  # every customer has its first order
    x = count - 1
    last = order_day[np.cumsum(count) - 1]  # orders are sorted by customer, then time

    def date_or_blank(days: np.ndarray) -> np.ndarray:
        finite = np.isfinite(days)
        text = np.datetime_as_string(np.floor(np.where(finite, days, 0)).astype("datetime64[D]"))
        return np.where(finite, text, "")

    holds = contracts.first_term >= 0
    return pd.DataFrame(
        {
            "customer_id": c.ids.to_numpy(zero_copy_only=False),
            "acquired_on": date_or_blank(c.acquired),
            "acquired_in_window": c.acquired >= cal.window_start,
            "loyalty_z": c.z,
            "value_z": c.value,
            "satisfaction_z": c.satisfaction,
            "lambda_per_week": c.lam,
            "p_dropout": c.p,
            "nu": c.nu,
            "x": x,
            "t_x_weeks": (last - c.acquired) / DAYS_PER_WEEK,
            "T_weeks": (cal.end - c.acquired) / DAYS_PER_WEEK,  # daily trials after day 0
            "dropout_on": date_or_blank(np.where(np.isnan(c.dropout), np.inf, c.dropout)),
            "has_contract": holds,
            "contract_product_line": np.where(holds, np.array(PRODUCT_LINES)[contracts.line], ""),
            "contract_theta": contracts.theta,
            "contract_lost_on": date_or_blank(contracts.lost_on),
            "churned": c.churned,
            "churned_on": date_or_blank(c.churn_day),
            "has_churn_record": np.isfinite(record_day),
            "churn_reason": np.where(
                np.isfinite(record_day), np.array(list(CHURN_NOTES))[reason], ""
            ),
        }
    )


def _write_params(
    folder: Path,
    truth: Truth,
    rows: dict[str, int],
    seed: int,
    customers: int,
    years: int,
    cal: Calendar,
    end_date: dt.date,
) -> None:
    def date(day: int) -> str:
        return (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()

    params = {
        "seed": seed,
        "customers": customers,
        "years": years,
        "start_date": date(cal.window_start),
        "end_date": end_date.isoformat(),
        "earliest_acquisition": date(cal.earliest),
        "time_unit": "weeks",
        **asdict(truth),
        "fx_to_cny": FX_TO_CNY,
        "decline_days": DECLINE_DAYS,
        "rows_written": rows,
        "notes": [
            "BG/NBD: the first order is on acquired_on (time 0); after each repeat purchase the "
            "customer drops out with probability p, never at time 0. Purchases fall on whole "
            "days, at most one a day: each later day up to end_date is a Bernoulli(lambda / 7) "
            "trial while alive. customers.csv holds the true x, t_x_weeks, T_weeks; from the "
            "files, exactly: x = non-credit orders - 1 (= purchase days - 1), t_x = (last "
            "ordered_on - acquired_on) / 7 and T = (end_date - acquired_on) / 7. Day-level "
            "trials make the counts slightly less dispersed than Poisson: fitted r and alpha "
            "come out about 1 % high at 100,000 customers.",
            "Fit on the non-credit orders with amounts in CNY (amount x fx_to_cny), every "
            "invoice, contract-billed or not: contract_id only labels some purchases, it does "
            "not mark a separate process.",
            "Customers acquired before start_date (the mature base) also have every order "
            "since acquisition; restrict to acquired_in_window for a clean cohort.",
            "Credit notes (credit_note_share of orders, 7-60 days later, 10-60 % of the "
            "amount) are extra rows with is_credit_note true, not BG/NBD purchases.",
            "Order amounts: Gamma-Gamma draw x spend_scale_cny in CNY, divided by fx_to_cny "
            "for the invoices in USD/EUR/HKD, rounded to cents (minimum 1 CNY).",
            "nu = Gamma(q, rate gamma) quantile at Phi(-value_z); p and contract theta are "
            "Beta quantiles at Phi(-rho z + sqrt(1 - rho^2) e): exact marginals.",
            "sBG: a contract holder's first annual term starts on acquired_on; it renews until "
            "a Geometric(theta) number of terms; 15 % of losses are terminations mid-term.",
            "churned_on is the true churn day: the BG/NBD dropout (last purchase) for "
            "customers without a contract, the later of dropout and the day after the "
            "unrenewed contract ended for holders. Signals change over decline_days before it.",
            "churn_records.churned_on is when the CRM noticed (45-150 days later), written for "
            "churn_record_share of churned customers when noticed by end_date.",
        ],
    }
    (folder / "params.json").write_text(json.dumps(params, indent=2, ensure_ascii=False) + "\n")


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
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    counts = generate(
        args.out,
        args.truth,
        customers=args.customers,
        years=args.years,
        seed=args.seed,
        end_date=args.end_date,
        chunk_size=args.chunk_size,
        progress=not args.no_progress,
    )
    for name, count in counts.items():
        print(f"{name:22}{count:>14,}")
    print(f"landing files in {args.out}, truth in {args.truth}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
