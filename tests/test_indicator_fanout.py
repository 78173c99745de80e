"""The slice roll-up of the indicator fan-out equals the join to five slice rows.

`indicator_slice_rollup` (macros/indicators.sql) replaced, in every indicator family, the
fan-out each family copied: every row joined to the customer's rows of `int_customer_slices`
(one per slice type) and grouped by slice type and value. Here both run on the session's
end-to-end warehouse (`built`, 300 customers) over the customer-month spine at the three
period grains: a count and two sums per period and slice, the roll-up through the macro and
the old join written out. They must hold the same rows (`EXCEPT ALL` both ways, so duplicates
count; the sums are of integers and exact decimals, nothing to round). The generated firm has
no gaps in its slices, so the copy gets two: 20 customers with a NULL industry (a slice value
of its own, not the company row) and 15 without an account-manager row (in no
account-manager slice, still in the others).

The zero-fill (every count and per-customer variant in every period and slice of
int_retention_bridges) was a union of the rolled-up rows and variants x bridges grouped by
eight columns, which ran out of dbt's 5GB at 1,000,000 customers; it is one full join of
variants x bridges to the rolled-up rows now, and the second test holds it to the grouped
union written out.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

ITEMS = """
    select
        spine.customer_id,
        grains.period_grain,
        {{ period_start_by_grain('grains.period_grain', 'spine.month_start_on') }}
            as period_start_on,
        spine.order_count,
        spine.revenue_cny
    from {{ ref('int_customer_months') }} as spine
    cross join ({{ period_grains() }}) as grains
    where spine.is_active
"""

ROLLED = """
with items as ({items}),

slice_customers as (
    {{{{ indicator_slice_customers() }}}}
),

rolled as (
    {{{{ indicator_slice_rollup(
        'items',
        ['period_grain', 'period_start_on'],
        [
            'count(*) as customer_months',
            'sum(order_count) as orders',
            'sum(revenue_cny) as revenue_cny',
        ],
        customers='slice_customers',
    ) }}}}
)

select period_grain, period_start_on, slice_type, slice_value, customer_months, orders,
    revenue_cny
from rolled
"""

JOINED = """
with items as ({items})

select
    items.period_grain,
    items.period_start_on,
    slices.slice_type,
    slices.slice_value,
    count(*) as customer_months,
    sum(items.order_count) as orders,
    sum(items.revenue_cny) as revenue_cny
from items
inner join {{{{ ref('int_customer_slices') }}}} as slices
    on items.customer_id = slices.customer_id
group by items.period_grain, items.period_start_on, slices.slice_type, slices.slice_value
"""


def _one_sided_rows(con, left: str, right: str) -> tuple[int, int]:
    """Rows of `left` not in `right` and of `right` not in `left` (EXCEPT ALL: duplicates count)."""
    return tuple(
        con.execute(f"select count(*) from (({a}) except all ({b})) as d").fetchone()[0]
        for a, b in ((left, right), (right, left))
    )


@pytest.mark.slow
def test_slice_rollup_equals_the_join_to_slice_rows(built_warehouse, tmp_path, dbt_compiled):
    copy = tmp_path / "db" / Path(built_warehouse).name  # same file name: same catalog name
    copy.parent.mkdir()
    shutil.copy(built_warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        customers = "select customer_id from main.dim_customers order by customer_id"
        con.execute(
            "update main.int_customer_slices set slice_value = null where slice_type = "
            f"'industry' and customer_id in ({customers} limit 20)"
        )
        con.execute(
            "delete from main.int_customer_slices where slice_type = 'account_manager' "
            f"and customer_id in ({customers} limit 15 offset 20)"
        )
    rolled = dbt_compiled(ROLLED.format(items=ITEMS), copy, tmp_path)
    joined = dbt_compiled(JOINED.format(items=ITEMS), copy, tmp_path)
    # one GROUP BY per slice type, union all (not GROUPING SETS: DuckDB stored its input)
    assert rolled.lower().count("union all") - joined.lower().count("union all") == 4
    assert "grouping sets" not in rolled.lower()

    with duckdb.connect(str(copy), read_only=True) as con:
        rows = con.execute(f"select count(*) from ({joined}) as joined").fetchone()[0]
        slice_types = {
            row[0]
            for row in con.execute(f"select distinct slice_type from ({rolled}) as r").fetchall()
        }
        null_industry_rows = con.execute(
            f"select count(*) from ({rolled}) as r "
            "where slice_type = 'industry' and slice_value is null"
        ).fetchone()[0]
        rolled_only, joined_only = _one_sided_rows(con, rolled, joined)

    assert rows > 1000  # 300 customers, 2 years, 3 grains, 5 slice types
    assert slice_types == {"company", "industry", "region", "size_band", "account_manager"}
    assert null_industry_rows > 0
    assert (rolled_only, joined_only) == (0, 0)


# The zero-fill: count and per-customer items of two variants, a third variant only in an
# early year no bridge period covers (its rows reach the slices, not the zero-fill's periods),
# and a ratio (never zero-filled).
FILL_ITEMS = """
    select
        'T1' as indicator_code,
        case when order_count > 0 then 'ordered' else 'quiet' end as indicator_variant,
        'customers' as unit,
        'count' as measure_kind,
        customer_id,
        month_start_on as measured_on,
        1 as numerator_value,
        1 as denominator_value
    from {{ ref('int_customer_months') }}
    where is_active and order_count < 3
    union all
    select
        'T2', 'orders', 'orders', 'per_customer', customer_id, month_start_on, order_count, 1
    from {{ ref('int_customer_months') }}
    where order_count > 0
    union all
    select
        'T1', 'early', 'customers', 'count', customer_id, cast('2001-03-05' as date), 1, 1
    from {{ ref('dim_customers') }}
    where customer_id in (select min(customer_id) from {{ ref('dim_customers') }})
    union all
    select
        'T3', 'share', 'rate', 'ratio', customer_id, month_start_on,
        case when order_count > 1 then 1 else 0 end, 1
    from {{ ref('int_customer_months') }}
    where order_count > 0
"""

FANNED = """
with items as ({items}),

{{{{ indicator_fanout('items') }}}}

select * from fanned_out
"""

# The zero-fill as the fan-out wrote it before (a union of the rolled-up rows and every
# variant x int_retention_bridges, grouped by eight columns): ran out of memory at 1,000,000
# customers, the full join that replaces it must give the same rows.
GROUPED = """
with items as ({items}),

slice_customers as (
    {{{{ indicator_slice_customers() }}}}
),

item_periods as (
    select
        items.*,
        grains.period_grain,
        {{{{ period_start_by_grain('grains.period_grain', 'items.measured_on') }}}}
            as period_start_on
    from items
    cross join ({{{{ period_grains() }}}}) as grains
),

sliced as (
    {{{{ indicator_slice_rollup(
        'item_periods',
        [
            'indicator_code', 'indicator_variant', 'unit', 'measure_kind', 'period_grain',
            'period_start_on',
        ],
        [
            'sum(numerator_value) as numerator',
            'sum(denominator_value) as denominator',
            'count(*) as n',
        ],
        customers='slice_customers',
    ) }}}}
),

variants as (
    select distinct indicator_code, indicator_variant, unit, measure_kind from sliced
    where measure_kind in ('count', 'per_customer')
),

filled as (
    select
        indicator_code, indicator_variant, unit, measure_kind, period_grain, period_start_on,
        slice_type, slice_value, numerator, n,
        cast(null as bigint) as customers_active_in_period
    from sliced
    where measure_kind in ('count', 'per_customer')
    union all
    select
        variants.indicator_code, variants.indicator_variant, variants.unit,
        variants.measure_kind, bridges.period_grain, bridges.period_start_on,
        bridges.slice_type, bridges.slice_value, 0, 0, bridges.customers_active_in_period
    from variants
    cross join {{{{ ref('int_retention_bridges') }}}} as bridges
),

measured as (
    select
        indicator_code, indicator_variant, unit, measure_kind, period_grain, period_start_on,
        slice_type, slice_value,
        sum(numerator) as numerator,
        sum(n) as n,
        coalesce(max(customers_active_in_period), 0) as customers_active_in_period
    from filled
    group by
        indicator_code, indicator_variant, unit, measure_kind, period_grain, period_start_on,
        slice_type, slice_value
)

select
    indicator_code,
    indicator_variant,
    period_grain,
    period_start_on,
    slice_type,
    slice_value,
    numerator,
    case when measure_kind = 'count' then 1 else customers_active_in_period end
        as denominator,
    unit,
    cast(case when measure_kind = 'count' then n else customers_active_in_period end as bigint)
        as n
from measured
union all
select
    indicator_code, indicator_variant, period_grain, period_start_on, slice_type, slice_value,
    numerator, denominator, unit, cast(n as bigint) as n
from sliced
where measure_kind = 'ratio'
"""


@pytest.mark.slow
def test_zero_fill_joins_equal_the_grouped_union(built_warehouse, tmp_path, dbt_compiled):
    """indicator_fanout's zero-fill (a full join) gives the rows of the union + GROUP BY it
    replaced, NULL slice values included: the copy gives one industry's customers and its
    bridge rows a NULL industry (a NULL slice the bridges have) and 20 other customers a
    NULL industry the bridges lack."""
    copy = tmp_path / "db" / Path(built_warehouse).name
    copy.parent.mkdir()
    shutil.copy(built_warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        industry = con.execute(
            "select min(slice_value) from main.int_customer_slices where slice_type = 'industry'"
        ).fetchone()[0]
        for table in ("int_customer_slices", "int_retention_bridges"):
            con.execute(
                f"update main.{table} set slice_value = null "
                "where slice_type = 'industry' and slice_value = ?",
                [industry],
            )
        con.execute(
            "update main.int_customer_slices set slice_value = null where slice_type = "
            "'industry' and customer_id in (select customer_id from main.dim_customers "
            "where industry != ? order by customer_id limit 20)",
            [industry],
        )
    fanned = dbt_compiled(FANNED.format(items=FILL_ITEMS), copy, tmp_path)
    grouped = dbt_compiled(GROUPED.format(items=FILL_ITEMS), copy, tmp_path)

    with duckdb.connect(str(copy), read_only=True) as con:
        rows, zeros, null_slice_zeros, early, ratios = con.execute(
            "select count(*), count(*) filter (where numerator = 0 and indicator_code != 'T3'), "
            "count(*) filter (where numerator = 0 and slice_type = 'industry' "
            "and slice_value is null), "
            "count(*) filter (where period_start_on < date '2002-01-01'), "
            "count(*) filter (where indicator_code = 'T3') "
            f"from ({fanned}) as f"
        ).fetchone()
        fanned_only, grouped_only = _one_sided_rows(con, fanned, grouped)

    assert rows > 1000 and zeros > 100 and null_slice_zeros > 0
    assert early > 0  # the early year's rows, outside every bridge period, are kept
    assert ratios > 0
    assert (fanned_only, grouped_only) == (0, 0)
