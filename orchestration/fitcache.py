"""Fitted models kept between runs: refit on a cadence, score every day.

The churn model and its backtest, the CLV parameters and the index references are costly to
fit and change slowly; a daily run scores today's customers from the last fit instead of
fitting again. A fit is kept in the warehouse table `analytics_meta.model_fit_cache`, found
again by four things, all of which must match:

- the model (`churn`, `clv`, `indices`);
- its key: what the fit is of (the churn cutoffs, the CLV week, the index month: the
  model's cadence, `settings.refit_cadence`, `period_of`) and the settings that change a fit;
- the code version: a hash of the fitting modules' source (`code_version`), so that a change
  of the code fits again;
- the training-data fingerprint: a checksum computed in DuckDB over the rows the fit learnt
  from, those dated up to its `data_through` day (`fingerprint`). It is computed again at
  each lookup over the same days: a corrected drop that rewrites them fits again, the rows a
  later day adds do not.

One fit per model is kept; a new fit replaces it. A run tagged `REFIT_TAG` (the
`full_refresh` job) or `WH_FULL_REFRESH=1` fits everything again (`refit_requested`).

Each part of a fit is kept in the plainest format that holds it (`encode`): JSON for
parameters, Parquet for tables, pickle only for scikit-learn's fitted estimators, which are
read back only from this warehouse's own table and only by the same code version.
`with_fit_columns` adds the columns every published table of a cached fit carries: when and
on what it was fitted, and whether this run reused it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import pickle
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TypeVar

import pandas as pd

CACHE_SCHEMA = "analytics_meta"
CACHE_TABLE = f"{CACHE_SCHEMA}.model_fit_cache"
# Bump when the table's layout or the encoding of the parts changes: every fit is redone.
FORMAT_VERSION = "1"
CADENCES = ("daily", "weekly", "monthly")
# Run tag of the `full_refresh` job: every cached fit is ignored and fitted again.
REFIT_TAG = "warehouse/refit"
# Set (1/true/yes) to fit every model again in any job (the daily one included).
FIT_COLUMN_DOCS = {
    "fitted_at": "When the model behind this row was fitted (UTC).",
    "fitted_as_of": "The reporting date of the run that fitted it.",
    "fitted_on": "What it was fitted on: cutoffs, data window or reference windows.",
    "reused_from_cache": "True when this run scored from the cached fit "
    "(analytics_meta.model_fit_cache) instead of fitting again.",
}

T = TypeVar("T")


def refit_requested(tags: Mapping[str, str] | None = None, refit_all: bool = False) -> bool:
    """Whether this run fits every model again: a run tagged `REFIT_TAG` "true" (the
    `full_refresh` job) or `refit_all` (`Settings.refit_all`, WH_FULL_REFRESH)."""
    return refit_all or (tags or {}).get(REFIT_TAG, "") == "true"


def period_of(day: dt.date, cadence: str) -> str:
    """The refit period `day` falls in: the day itself, its ISO week (`2026-W49`) or its
    month (`2026-12`). A fit is reused while the period stays the same."""
    if cadence == "daily":
        return day.isoformat()
    if cadence == "weekly":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if cadence == "monthly":
        return f"{day.year}-{day.month:02d}"
    raise ValueError(f"refit cadence {cadence!r}: use one of {', '.join(CADENCES)}")


def code_version(modules: Iterable[ModuleType], extra: Sequence[str] = ()) -> str:
    """A hash of the modules' source and of `extra` (library versions, ...): a change of
    the fitting code fits again."""
    digest = hashlib.sha256(FORMAT_VERSION.encode())
    for module in modules:
        digest.update(Path(module.__file__).read_bytes())
    for text in extra:
        digest.update(text.encode())
    return digest.hexdigest()[:16]


def fingerprint(con, queries: Sequence[str]) -> str:
    """An order-free checksum of the rows of `queries` (selects of the columns a fit reads),
    computed in DuckDB: per query the row count and the sum of the rows' hashes."""
    digest = hashlib.sha256()
    for query in queries:
        count, total = con.execute(
            "select count(*), coalesce(sum(hash(fingerprinted)::hugeint), 0) "
            f"from ({query}) as fingerprinted"
        ).fetchone()
        digest.update(f"{count}:{total};".encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class FitInfo:
    """When and on what a fit was made, and whether this run reused it."""

    fitted_at: dt.datetime
    fitted_as_of: dt.date
    fitted_on: str
    reused_from_cache: bool


def with_fit_columns(frame: pd.DataFrame, info: FitInfo) -> pd.DataFrame:
    """`frame` with the `FIT_COLUMN_DOCS` columns of `info`, typed also when it is empty."""
    rows = len(frame)
    return frame.assign(
        fitted_at=pd.Series([info.fitted_at] * rows, index=frame.index, dtype="datetime64[ns]"),
        fitted_as_of=pd.Series([info.fitted_as_of] * rows, index=frame.index, dtype=object),
        fitted_on=pd.Series([info.fitted_on] * rows, index=frame.index, dtype="string"),
        reused_from_cache=pd.Series([info.reused_from_cache] * rows, index=frame.index, dtype=bool),
    )


def encode(value: object) -> tuple[str, bytes]:
    """(format, bytes) of a part: a DataFrame as Parquet, JSON-able values as JSON, anything
    else (fitted scikit-learn estimators) as pickle."""
    if isinstance(value, pd.DataFrame):
        buffer = io.BytesIO()
        value.to_parquet(buffer, index=False)
        return "parquet", buffer.getvalue()
    try:
        return "json", json.dumps(value, allow_nan=True).encode()
    except TypeError:
        return "pickle", pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def decode(form: str, data: bytes) -> object:
    """The part `encode` wrote."""
    if form == "parquet":
        return pd.read_parquet(io.BytesIO(data))
    if form == "json":
        return json.loads(data)
    if form == "pickle":
        return pickle.loads(data)  # noqa: S301 (this warehouse's own table, same code version)
    raise ValueError(f"unknown part format {form!r}")


class FitCache:
    """The fits kept in `CACHE_TABLE` of a DuckDB connection; `refit` ignores them all."""

    def __init__(self, con, refit: bool = False) -> None:
        self.con = con
        self.refit = refit
        con.execute(f"create schema if not exists {CACHE_SCHEMA}")
        con.execute(
            f"""create table if not exists {CACHE_TABLE} (
                model varchar, cache_key varchar, code_version varchar, fingerprint varchar,
                data_through date, fitted_at timestamp, fitted_as_of date, fitted_on varchar,
                part varchar, format varchar, content blob
            )"""
        )

    def lookup(
        self, model: str, key: str, version: str, fingerprint_through: Callable[[dt.date], str]
    ) -> tuple[dict[str, object], FitInfo] | None:
        """The kept fit of `model` with this key and code version whose training data are
        unchanged (`fingerprint_through(data_through)` equals the stored fingerprint), as
        its parts and FitInfo; None when there is none or a refit is requested."""
        if self.refit:
            return None
        rows = self.con.execute(
            f"""select fingerprint, data_through, fitted_at, fitted_as_of, fitted_on,
                    part, format, content
                from {CACHE_TABLE}
                where model = ? and cache_key = ? and code_version = ?""",
            [model, key, version],
        ).fetchall()
        if not rows:
            return None
        stored, through, fitted_at, fitted_as_of, fitted_on = rows[0][:5]
        if fingerprint_through(through) != stored:
            return None
        parts = {part: decode(form, bytes(content)) for *_, part, form, content in rows}
        return parts, FitInfo(fitted_at, fitted_as_of, fitted_on, reused_from_cache=True)

    def store(
        self,
        model: str,
        key: str,
        version: str,
        fingerprint: str,
        data_through: dt.date,
        fitted_as_of: dt.date,
        fitted_on: str,
        parts: Mapping[str, object],
    ) -> FitInfo:
        """Keep `parts` as the one fit of `model` (replacing the last), atomically."""
        fitted_at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        rows = [
            [model, key, version, fingerprint, data_through, fitted_at, fitted_as_of, fitted_on]
            + [part, *encode(value)]
            for part, value in parts.items()
        ]
        self.con.execute("begin transaction")
        try:
            self.con.execute(f"delete from {CACHE_TABLE} where model = ?", [model])
            self.con.executemany(
                f"insert into {CACHE_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
            self.con.execute("commit")
        except Exception:
            self.con.execute("rollback")
            raise
        return FitInfo(fitted_at, fitted_as_of, fitted_on, reused_from_cache=False)


def cached_fit(
    cache: FitCache,
    *,
    model: str,
    key: str,
    version: str,
    data_through: dt.date,
    fingerprint_through: Callable[[dt.date], str],
    fitted_as_of: dt.date,
    fitted_on: str,
    fit: Callable[[], T],
    dump: Callable[[T], Mapping[str, object]],
    load: Callable[[dict[str, object]], T],
) -> tuple[T, FitInfo]:
    """The kept fit (`load` of its parts) when `cache.lookup` finds one, else `fit()`, kept
    (`dump` gives its parts) with the fingerprint of its data up to `data_through`."""
    found = cache.lookup(model, key, version, fingerprint_through)
    if found is not None:
        parts, info = found
        return load(parts), info
    value = fit()
    info = cache.store(
        model,
        key,
        version,
        fingerprint_through(data_through),
        data_through,
        fitted_as_of,
        fitted_on,
        dump(value),
    )
    return value, info
