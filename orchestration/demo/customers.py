"""One chunk of customers: their latent traits, purchases, contracts, orders and every
activity table that co-moves with loyalty."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from ..contract import (
    ACQUISITION_CHANNELS,
    COMPLAINT_CATEGORIES,
    CONTACT_ROLES,
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
    TICKET_CATEGORIES,
    TICKET_PRIORITIES,
)
from .columns import (
    Ids,
    _bools,
    _choice,
    _concat,
    _copula_beta,
    _dates,
    _ints,
    _money,
    _optional,
    _phi,
    _pick,
    _stamps,
)
from .firm import Events, Managers, Wave, _pick_manager
from .parameters import (
    CONTRACT_TERM_DAYS,
    DAYS_PER_WEEK,
    DAYS_PER_YEAR,
    DECLINE_DAYS,
    FX_TO_CNY,
    Calendar,
    Truth,
)
from .vocabulary import (
    CHANNEL_COST_CNY,
    CHANNEL_WEIGHTS,
    CHURN_NOTES,
    COMPLAINT_REASON,
    GIVEN_NAMES,
    INDUSTRY_WEIGHTS,
    INDUSTRY_WORDS,
    MOBILE_PREFIXES,
    NAME_STEMS,
    PROVINCES,
    SIZE_CONTACTS,
    SIZE_WEIGHTS,
    SURNAMES,
)


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
