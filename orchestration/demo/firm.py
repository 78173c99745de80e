"""Firm-wide reference data: account managers, events and survey waves (one per run)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..contract import (
    EVENT_KINDS,
    REGIONS,
)
from .columns import Landing, _bools, _choice, _concat, _dates, _ints, _optional, _pick
from .parameters import Calendar, _day
from .vocabulary import (
    BRAND_ITEMS,
    EVENT_CITIES,
    EVENT_NAMES,
    EVENT_TOPICS,
    GIVEN_NAMES,
    LOYALTY_ITEMS,
    NPS_ITEMS,
    PROVINCES,
    REGION_NAMES_CN,
    SATISFACTION_ITEMS,
    SURNAMES,
)


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
