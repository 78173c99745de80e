"""The GROUPING SETS roll-up of the indicator fan-out equals the join to five slice rows.

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
"""

from __future__ import annotations

import json
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


def _compiled(dbt_subprocess, sql: str, database: Path, work: Path) -> str:
    result = dbt_subprocess(
        ["--quiet", "compile", "--inline", sql, "--output", "json"], database, work
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return json.loads(result.stdout[result.stdout.index("{") :])["compiled"]


@pytest.mark.slow
def test_slice_rollup_equals_the_join_to_slice_rows(built_warehouse, tmp_path, dbt_subprocess):
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
    rolled = _compiled(dbt_subprocess, ROLLED.format(items=ITEMS), copy, tmp_path)
    joined = _compiled(dbt_subprocess, JOINED.format(items=ITEMS), copy, tmp_path)
    assert "grouping sets" in rolled.lower() and "grouping sets" not in joined.lower()

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
        rolled_only = con.execute(
            f"select count(*) from (({rolled}) except all ({joined})) as d"
        ).fetchone()[0]
        joined_only = con.execute(
            f"select count(*) from (({joined}) except all ({rolled})) as d"
        ).fetchone()[0]

    assert rows > 1000  # 300 customers, 2 years, 3 grains, 5 slice types
    assert slice_types == {"company", "industry", "region", "size_band", "account_manager"}
    assert null_industry_rows > 0
    assert (rolled_only, joined_only) == (0, 0)
