-- Distribution and lifecycle indicators (METRICS G1, G2, G3, G4, G5, G7) in the tidy shape of
-- loyalty_indicators, per period (month, quarter, year) and slice. Periods come from the
-- customer-month spine as in loyalty_retention: "active in the period" = active at its start
-- or at any month end in it; "at the period end" = the period's last month on the spine
-- (as_of for the current period).
--   G1 / G2 (slice industry / region only): customers active in the period (count), their
--        share of all active customers (rate), invoiced revenue in the period (cny, credit
--        notes excluded) and its share of the company's (rate);
--   G3 'stage:<name>': customers in each lifecycle stage at the period end
--        (int_customer_lifecycle_months, seed lifecycle_rules; every seed stage gets a row,
--        0 when empty); all customers acquired by then, churned ones included (the spine
--        starts at acquisition, so 'stage:prospect' stays 0 in practice);
--   G4 'tenure_days' / 'product_lines': mean tenure (days since acquisition) and mean
--        product lines taken so far, over customers active at the period end;
--   G5 'revenue': trailing-12-month revenue at the period end (the 365 days up to it,
--        macros/windows.sql) against the 365 days before, (sum trailing − sum prior) /
--        sum prior, over all customers (a lost
--        customer's revenue counts in the prior year): the period end's trailing year,
--        not the period's own revenue;
--   G7 'changes_per_customer': account-manager changes (an assignment that is not the
--        customer's first, dated assigned_from) in the period per customer active in it;
--        'churn_rate:manager_changed' / 'churn_rate:manager_unchanged': customers lost in
--        the period (active at its start, not at its end) / customers active at its start,
--        split by whether the customer's manager had changed before the period started.
-- Counts, sums and revenue put the statistic in numerator and 1 in denominator; a zero
-- denominator is kept (the mart's value is then null).
-- Not items of indicator_fanout (macros/indicators.sql): the figures are states at a period's
-- start or end on the spine and shares of a total, summed per customer and period and rolled
-- up to the slices with indicator_slice_rollup.
-- Stored by period (macros/rewrite_window.sql): a daily run rewrites the periods from the
-- run's window on and keeps the others (a table on Spark). A period's figures read the spine
-- and the lifecycle months up to its end (the trailing years of G5 look back, not forward),
-- the assignments dated before its end and the slices of its customers; the spine is read
-- from the first year the window rewrites. A customer whose account manager moved rewrites
-- the rows of its managers' slices only (by_slice): the spine of those slices' customers is
-- read from the first year of the earliest such window.
{{ stored_by_period(by_slice=true) }}
{#- the end of a cast to double (or bigint): 'cast(' ~ expression ~ as_double #}
{%- set as_double = ' as ' ~ type_double() ~ ')' %}
{%- set as_bigint = ' as ' ~ dbt.type_bigint() ~ ')' %}
with spine as (
    select * from {{ ref('int_customer_months') }}
    where
        {{ in_rewritten_customer_periods_on_incremental(
            grain_column="'year'", start_column='month_start_on'
        ) }}
),

lifecycle as (
    select * from {{ ref('int_customer_lifecycle_months') }}
),

slice_customers as (
    {{ indicator_slice_customers() }}
),

assignments as (
    select * from {{ ref('stg_crm__account_assignments') }}
),

rules as (
    select * from {{ ref('lifecycle_rules') }}
),

grains as (
    {{ period_grains() }}
),

-- The periods of each customer from the spine: the month grain is the spine itself, quarters
-- and years are grouped from it; the first and last month of a period (active at its start,
-- at its end) are found with one window over the spine, rather than the spine times the
-- grains grouped and joined back to the spine twice.
spine_months as (
    select
        customer_id,
        month_start_on,
        revenue_cny,
        case when is_active or was_active_at_start then 1 else 0 end as active_any_flag,
        case when was_active_at_start then 1 else 0 end as active_at_start_flag,
        case when is_active then 1 else 0 end as active_at_end_flag,
        {{ neighbour_months() }}
    from spine
),

bounds as (
    select
        customer_id,
        'month' as period_grain,
        month_start_on as period_start_on,
        month_start_on as last_month_on,
        active_any_flag,
        revenue_cny,
        active_at_start_flag,
        active_at_end_flag
    from spine_months
    {%- for grain in ['quarter', 'year'] %}
        {%- set period_start_on = period_start(grain, 'month_start_on') %}
        union all
        select
            customer_id,
            '{{ grain }}' as period_grain,
            {{ period_start_on }} as period_start_on,
            max(month_start_on) as last_month_on,
            max(active_any_flag) as active_any_flag,
            sum(revenue_cny) as revenue_cny,
            max(
                case
                    when {{ is_period_edge(grain, 'previous_month_start_on') }}
                        then active_at_start_flag
                end
            ) as active_at_start_flag,
            max(
                case
                    when {{ is_period_edge(grain, 'next_month_start_on') }}
                        then active_at_end_flag
                end
            ) as active_at_end_flag
        from spine_months
        group by
            customer_id,
            {{ period_start_on }}
    {%- endfor %}
),

manager_changes as (
    -- Every assignment after a customer's first one is a change of manager, on assigned_from.
    select
        customer_id,
        assigned_from as changed_on
    from (
        select
            customer_id,
            assigned_from,
            row_number() over (
                partition by customer_id
                order by assigned_from, assignment_id
            ) as assignment_rank
        from assignments
        where assigned_from <= {{ as_of_date() }}
    ) as ranked
    where assignment_rank > 1
),

first_changes as (
    select
        customer_id,
        min(changed_on) as first_changed_on
    from manager_changes
    group by customer_id
),

change_counts as (
    select
        manager_changes.customer_id,
        grains.period_grain,
        {{ period_start_by_grain('grains.period_grain', 'manager_changes.changed_on') }}
            as period_start_on,
        count(*) as change_count
    from manager_changes
    cross join grains
    group by
        manager_changes.customer_id,
        grains.period_grain,
        {{ period_start_by_grain('grains.period_grain', 'manager_changes.changed_on') }}
),

customer_periods as (
    select
        bounds.customer_id,
        bounds.period_grain,
        bounds.period_start_on,
        bounds.active_any_flag,
        bounds.revenue_cny,
        bounds.active_at_start_flag,
        bounds.active_at_end_flag,
        period_end.lifecycle_stage,
        period_end.tenure_days,
        period_end.product_line_count,
        period_end.revenue_trailing_12m_cny,
        period_end.revenue_prior_12m_cny,
        case
            when first_changes.first_changed_on < bounds.period_start_on then 1 else 0
        end as changed_before_flag,
        coalesce(change_counts.change_count, 0) as change_count
    from (
        select * from bounds
        where {{ in_rewritten_customer_periods_on_incremental() }}
    ) as bounds
    inner join lifecycle as period_end
        on
            bounds.customer_id = period_end.customer_id
            and bounds.last_month_on = period_end.month_start_on
    left join first_changes
        on bounds.customer_id = first_changes.customer_id
    left join change_counts
        on
            bounds.customer_id = change_counts.customer_id
            and bounds.period_grain = change_counts.period_grain
            and bounds.period_start_on = change_counts.period_start_on
),

-- One pass over customers and every slice (GROUPING SETS, macros/indicators.sql): every sum
-- the rows below need, per period, slice and lifecycle stage at the period end; the
-- per-slice figures are sums of these.
stage_counts as (
    {{ indicator_slice_rollup(
        'customer_periods',
        ['period_grain', 'period_start_on', 'lifecycle_stage'],
        [
            'count(*) as customers',
            'sum(revenue_cny) as revenue_cny',
            'sum(active_at_end_flag) as customers_at_end',
            'sum(case when active_at_end_flag = 1 then tenure_days else 0 end) as tenure_days',
            'sum(case when active_at_end_flag = 1 then product_line_count else 0 end)'
            ~ ' as product_lines',
            'sum(revenue_trailing_12m_cny) as revenue_trailing_12m_cny',
            'sum(revenue_prior_12m_cny) as revenue_prior_12m_cny',
            'sum(case when revenue_trailing_12m_cny > 0 or revenue_prior_12m_cny > 0'
            ~ ' then 1 else 0 end) as customers_with_revenue',
            'sum(active_any_flag) as customers_active_in_period',
            'sum(case when active_any_flag = 1 then change_count else 0 end)'
            ~ ' as manager_changes',
            'sum(active_at_start_flag * changed_before_flag) as changed_at_start',
            'sum(active_at_start_flag * changed_before_flag * (1 - active_at_end_flag))'
            ~ ' as changed_lost',
            'sum(active_at_start_flag * (1 - changed_before_flag)) as unchanged_at_start',
            'sum(active_at_start_flag * (1 - changed_before_flag) * (1 - active_at_end_flag))'
            ~ ' as unchanged_lost',
        ],
        customers='slice_customers',
    ) }}
),

distribution as (
    select
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        sum(customers_active_in_period) as customers,
        sum(revenue_cny) as revenue_cny
    from stage_counts
    where slice_type in ('industry', 'region')
    group by
        period_grain,
        period_start_on,
        slice_type,
        slice_value
),

distribution_totals as (
    select
        *,
        sum(customers) over (
            partition by period_grain, period_start_on, slice_type
        ) as total_customers,
        sum(revenue_cny) over (
            partition by period_grain, period_start_on, slice_type
        ) as total_revenue_cny
    from distribution
),

distribution_rows as (
    {%- set variants = [
        ('customers', 'customers', '1', 'count'),
        ('customer_share', 'customers', 'total_customers', 'rate'),
        ('revenue', 'revenue_cny', '1', 'cny'),
        ('revenue_share', 'revenue_cny', 'total_revenue_cny', 'rate'),
    ] %}
    {%- set rows = [] %}
    {%- for variant, numerator, denominator, unit in variants %}
        {%- do rows.append({
            'variant': variant, 'numerator': 'cast(' ~ numerator ~ as_double,
            'denominator': 'cast(' ~ denominator ~ as_double, 'unit': unit,
        }) %}
    {%- endfor %}
    {{ indicator_rows(rows, defaults={
        'code_sql': "case slice_type when 'industry' then 'G1' else 'G2' end",
        'n': 'cast(customers' ~ as_bigint, 'from': 'distribution_totals',
    }) }}
),

slice_periods as (
    select distinct
        period_grain,
        period_start_on,
        slice_type,
        slice_value
    from stage_counts
),

stage_rows as (
    select
        'G3' as indicator_code,
        {{ dbt.concat(["'stage:'", 'rules.stage']) }} as indicator_variant,
        slice_periods.period_grain,
        slice_periods.period_start_on,
        slice_periods.slice_type,
        slice_periods.slice_value,
        cast(coalesce(stage_counts.customers, 0) as {{ type_double() }}) as numerator,
        cast(1 as {{ type_double() }}) as denominator,
        'count' as unit,
        cast(coalesce(stage_counts.customers, 0) as {{ dbt.type_bigint() }}) as n
    from slice_periods
    cross join rules
    left join stage_counts
        on
            {{ same_period_and_slice('slice_periods', 'stage_counts') }}
            and rules.stage = stage_counts.lifecycle_stage
),

slice_aggregates as (
    select
        period_grain,
        period_start_on,
        slice_type,
        slice_value,
        sum(customers_at_end) as customers_at_end,
        sum(tenure_days) as tenure_days,
        sum(product_lines) as product_lines,
        sum(revenue_trailing_12m_cny) as revenue_trailing_12m_cny,
        sum(revenue_prior_12m_cny) as revenue_prior_12m_cny,
        sum(customers_with_revenue) as customers_with_revenue,
        sum(customers_active_in_period) as customers_active_in_period,
        sum(manager_changes) as manager_changes,
        sum(changed_at_start) as changed_at_start,
        sum(changed_lost) as changed_lost,
        sum(unchanged_at_start) as unchanged_at_start,
        sum(unchanged_lost) as unchanged_lost
    from stage_counts
    group by
        period_grain,
        period_start_on,
        slice_type,
        slice_value
),

aggregate_rows as (
    {%- set measures = [
        ('G4', 'tenure_days', 'tenure_days', 'customers_at_end', 'days', 'customers_at_end'),
        ('G4', 'product_lines', 'product_lines', 'customers_at_end', 'per_customer',
            'customers_at_end'),
        ('G5', 'revenue', 'revenue_trailing_12m_cny - revenue_prior_12m_cny',
            'revenue_prior_12m_cny', 'rate', 'customers_with_revenue'),
        ('G7', 'changes_per_customer', 'manager_changes', 'customers_active_in_period',
            'per_customer', 'customers_active_in_period'),
        ('G7', 'churn_rate:manager_changed', 'changed_lost', 'changed_at_start', 'rate',
            'changed_at_start'),
        ('G7', 'churn_rate:manager_unchanged', 'unchanged_lost', 'unchanged_at_start', 'rate',
            'unchanged_at_start'),
    ] %}
    {%- set rows = [] %}
    {%- for code, variant, numerator, denominator, unit, n in measures %}
        {%- do rows.append({
            'code': code, 'variant': variant, 'numerator': 'cast(' ~ numerator ~ as_double,
            'denominator': 'cast(' ~ denominator ~ as_double, 'unit': unit,
            'n': 'cast(' ~ n ~ as_bigint,
        }) %}
    {%- endfor %}
    {{ indicator_rows(rows, defaults={'from': 'slice_aggregates'}) }}
),

final as (
    select * from distribution_rows
    union all
    select * from stage_rows
    union all
    select * from aggregate_rows
),

rewritten as (
    {{ select_rewritten_rows('final') }}
)

select
    rewritten.*,
    {{ is_complete_period('rewritten.period_grain', 'rewritten.period_start_on') }}
        as is_complete_period
from rewritten
