{#-
    The indicator fan-out: from one family's items to the tidy rows of loyalty_indicators,
    per period (month, quarter, year) and slice (company, industry, region, size band,
    account manager), zero-filled. Families write their items and call it once
    (docs/add-an-indicator.md); no family copies the grains, the slices or the zero-fill.

    indicator_fanout(items, period_items=none, customer_counts=false) writes CTEs named
    fanout_* into the caller's WITH list (so it follows a CTE and a comma) and ends with one
    called `fanned_out`: indicator_code, indicator_variant, period_grain, period_start_on,
    slice_type, slice_value, numerator, denominator, unit, n.

    `items`: the name of a CTE (or relation) with one row per thing measured: indicator_code,
    indicator_variant, unit, measure_kind, customer_id, measured_on (the date that puts it in
    a period), numerator_value, denominator_value; with customer_counts=true, also
    is_customer_count (1: the customer counts once per period: its largest numerator_value
    and denominator_value, e.g. 1 if any of its items is a 1, or 100 for a percentage; n
    still counts the items).
    `period_items`: optional, the same columns but period_grain and period_start_on instead
    of measured_on, for a thing whose period is not that of a date (a customer with two
    complaints of one category in the period).
    `stored`: the caller is stored by period (stored_by_period(by_slice=true),
    macros/rewrite_window.sql). On a daily run the fan-out then reads the items of the
    periods and customers the window rewrites (rewrite_window_starts) and of `full_rows` (an
    SQL predicate over indicator_code and indicator_variant: the rows rewritten in full),
    and the bridges of the rows it rewrites, but zero-fills the variants of every item
    (`items` and `period_items` are then read twice: make them inline CTEs or relations);
    the caller keeps only the rewritten rows (select_rewritten_rows), whose figures are
    whole.

    measure_kind says how the items aggregate over a period and slice:
      'count'         sum(numerator_value), denominator 1, n = items;
      'per_customer'  sum(numerator_value), denominator and n = customers active in the
                      period and slice (int_retention_bridges.customers_active_in_period);
      'ratio'         sum(numerator_value) / sum(denominator_value), n = items;
      'duration'      two rows, the variant being the prefix of their names:
                      <variant>median and <variant>p90 of numerator_value, denominator 1,
                      n = items.
    Counts and per-customer rows exist for every variant seen anywhere, in every period and
    slice customers exist in (int_retention_bridges), 0 when nothing happened; ratios and
    durations only where there is something to measure.

    How: items (customer-counted ones first reduced to one row per customer and period) are
    rolled up to every slice by indicator_slice_rollup (one GROUP BY per slice type, each
    joined to int_customer_slices pivoted to a row per customer), rather than joined to five
    slice rows each.
    A NULL industry (region, size band) is a slice value of its own, as in
    int_customer_slices; the zero-fill's joins match NULL slice values too
    (same_period_and_slice's null_slice; a plain join gave a NULL slice 0 / 0). Durations skip the
    per-customer reduction (a percentile needs every value). Portable: union all, full outer
    join and the null-safe join condition run on DuckDB, PostgreSQL and Spark, and sqlfluff
    parses them (the GROUPING SETS before needed a `noqa: PRS`).
-#}
{% macro indicator_fanout(
    items, period_items=none, customer_counts=false, stored=false, full_rows=none
) %}
    {#- a daily run of a model stored by period: the window's items, every item's variants -#}
    {%- set window_only = stored and is_incremental() %}
    {%- set item_columns = [
        'indicator_code', 'indicator_variant', 'unit', 'measure_kind', 'customer_id',
        'numerator_value', 'denominator_value',
    ] %}
    {%- set key_columns = [
        'indicator_code', 'indicator_variant', 'unit', 'measure_kind', 'period_grain',
        'period_start_on',
    ] %}
    fanout_customers as (
        {{ indicator_slice_customers() }}
    ),

    fanout_retention as (
        {%- if window_only %}
            {{ select_rewritten_rows(ref('int_retention_bridges')) }}
        {%- else %}
            select * from {{ ref('int_retention_bridges') }}
        {%- endif %}
    ),

    fanout_grains as (
        {{ period_grains() }}
    ),

    -- Items × 3 grains: cheap to repeat where read, costly to store (inline_cte).
    fanout_item_periods as {{ inline_cte() }} (
        {%- if window_only %}
        select dated.* from (
        {%- endif %}
        select
            {%- for column in item_columns %}
                {{ items }}.{{ column }},
            {%- endfor %}
            {{ items ~ '.is_customer_count' if customer_counts else '0' }} as is_customer_count,
            fanout_grains.period_grain,
            {{ period_start_by_grain('fanout_grains.period_grain', items ~ '.measured_on') }}
                as period_start_on
        from {{ items }}
        cross join fanout_grains
        {%- if period_items %}
            union all
            select
                {%- for column in item_columns %}
                    {{ column }},
                {%- endfor %}
                {{ 'is_customer_count' if customer_counts else '0' }} as is_customer_count,
                period_grain,
                period_start_on
            from {{ period_items }}
        {%- endif %}
        {%- if window_only %}
        ) as dated
        inner join ({{ rewrite_window_starts() }}) as window_starts
            on dated.period_grain = window_starts.period_grain
        where
            {{ in_rewritten_window_starts('window_starts', 'dated') }}
            {%- if full_rows %}
                or ({{ full_rows }})
            {%- endif %}
        {%- endif %}
    ),

    -- What the slices sum: the items as they are, and a customer-counted item once per
    -- customer and period (its largest numerator and denominator there). Read once per
    -- slice type: computed where read, as the items × grains.
    fanout_customer_periods as {{ inline_cte() }} (
        select
            {%- for column in key_columns %}
                {{ column }},
            {%- endfor %}
            customer_id,
            numerator_value,
            denominator_value,
            1 as n
        from fanout_item_periods
        where measure_kind != 'duration' and is_customer_count = 0
        {%- if customer_counts %}
            union all
            select
                {%- for column in key_columns %}
                    {{ column }},
                {%- endfor %}
                customer_id,
                max(numerator_value) as numerator_value,
                max(denominator_value) as denominator_value,
                count(*) as n
            from fanout_item_periods
            where measure_kind != 'duration' and is_customer_count = 1
            group by
                {%- for column in key_columns %}
                    {{ column }},
                {%- endfor %}
                customer_id
        {%- endif %}
    ),

    fanout_sliced as (
        {{ indicator_slice_rollup(
            'fanout_customer_periods',
            key_columns,
            [
                'sum(numerator_value) as numerator',
                'sum(denominator_value) as denominator',
                'sum(n) as n',
            ],
            customers='fanout_customers',
        ) }}
    ),

    fanout_durations as (
        {{ indicator_slice_rollup(
            'fanout_item_periods',
            key_columns,
            [
                percentile('numerator_value', 0.5) ~ ' as median_value',
                percentile('numerator_value', 0.9) ~ ' as p90_value',
                'count(*) as n',
            ],
            customers='fanout_customers',
            where="fanout_item_periods.measure_kind = 'duration'",
        ) }}
    ),

    -- Every count and per-customer variant seen anywhere, in every period and slice customers
    -- exist in, so a quiet period reads 0 rather than missing: the variants (from the items
    -- of customers with slices, those fanout_sliced has; every item's on a daily run of a
    -- model stored by period, whose window reads some) × int_retention_bridges, joined
    -- to the rolled-up rows by a full join, which also keeps the ratios and the rows of a
    -- period and slice the bridges lack. Each roll-up is read once: DuckDB stores a CTE
    -- read twice, and at 1,000,000 customers storing them (and a union + GROUP BY over
    -- rolled-up rows and bridges, ~35 M groups) spilled more than 35 GB and ran out of 5GB.
    fanout_measured_variants as (
        {%- set variant_sources = [items] + ([period_items] if period_items else [])
            if window_only else ['fanout_item_periods'] %}
        {%- for source in variant_sources %}
        select distinct
            indicator_code,
            indicator_variant,
            unit,
            measure_kind
        from {{ source }}
        where
            measure_kind in ('count', 'per_customer')
            and customer_id in (select fanout_customers.customer_id from fanout_customers)
        {{- '\n        union' if not loop.last }}
        {%- endfor %}
    ),

    fanout_variant_periods as (
        select
            fanout_measured_variants.indicator_code,
            fanout_measured_variants.indicator_variant,
            fanout_measured_variants.unit,
            fanout_measured_variants.measure_kind,
            fanout_retention.period_grain,
            fanout_retention.period_start_on,
            fanout_retention.slice_type,
            fanout_retention.slice_value,
            fanout_retention.customers_active_in_period
        from fanout_measured_variants
        cross join fanout_retention
    ),

    fanout_filled as (
        select
            {%- for column in key_columns + ['slice_type'] %}
                coalesce(fanout_sliced.{{ column }}, fanout_variant_periods.{{ column }})
                    as {{ column }},
            {%- endfor %}
            case
                when fanout_variant_periods.indicator_code is null
                    then fanout_sliced.slice_value
                else fanout_variant_periods.slice_value
            end as slice_value,
            case
                when fanout_variant_periods.indicator_code is null then fanout_sliced.numerator
                else coalesce(fanout_sliced.numerator, 0)
            end as numerator,
            fanout_sliced.denominator,
            coalesce(fanout_sliced.n, 0) as n,
            coalesce(fanout_variant_periods.customers_active_in_period, 0)
                as customers_active_in_period
        from fanout_variant_periods
        full outer join fanout_sliced
            on
                fanout_variant_periods.indicator_code = fanout_sliced.indicator_code
                and fanout_variant_periods.indicator_variant = fanout_sliced.indicator_variant
                and fanout_variant_periods.unit = fanout_sliced.unit
                and fanout_variant_periods.measure_kind = fanout_sliced.measure_kind
                and {{ same_period_and_slice(
                    'fanout_variant_periods', 'fanout_sliced', null_slice=true) }}
    ),

    fanned_out as (
        select
            indicator_code,
            indicator_variant,
            period_grain,
            period_start_on,
            slice_type,
            slice_value,
            numerator,
            case measure_kind
                when 'count' then 1
                when 'per_customer' then customers_active_in_period
                else denominator
            end as denominator,
            unit,
            cast(
                case
                    when measure_kind = 'per_customer' then customers_active_in_period
                    else n
                end as {{ dbt.type_bigint() }}
            ) as n
        from fanout_filled
        union all
        select
            fanout_durations.indicator_code,
            {{ dbt.concat(['fanout_durations.indicator_variant', 'statistics.statistic']) }}
                as indicator_variant,
            fanout_durations.period_grain,
            fanout_durations.period_start_on,
            fanout_durations.slice_type,
            fanout_durations.slice_value,
            case
                when statistics.statistic = 'median' then fanout_durations.median_value
                else fanout_durations.p90_value
            end as numerator,
            1 as denominator,
            fanout_durations.unit,
            cast(fanout_durations.n as {{ dbt.type_bigint() }}) as n
        from fanout_durations
        cross join (
            select 'median' as statistic
            union all
            select 'p90' as statistic
        ) as statistics
    )
{% endmacro %}

{#-
    The words after a CTE's AS that make the engine compute it where it is read rather than
    store its rows once for every reader: NOT MATERIALIZED on DuckDB and PostgreSQL, nothing
    elsewhere (Spark inlines CTEs). For indicator_fanout's items × grains (140 M rows for
    int_engagement_indicators at 1,000,000 customers), read by the five slice types' GROUP
    BYs, the durations and the variants (docs/benchmarks.md, run J).
-#}
{% macro inline_cte() -%}
    {{ return(adapter.dispatch('inline_cte')()) }}
{%- endmacro %}

{% macro default__inline_cte() -%}
{%- endmacro %}

{% macro duckdb__inline_cte() -%}
    not materialized
{%- endmacro %}

{% macro postgres__inline_cte() -%}
    not materialized
{%- endmacro %}

{#-
    One select that rolls `relation` (rows with a customer_id and the `key_columns`) up to
    every slice: one GROUP BY per slice type, each joined to `customers`
    (indicator_slice_customers: one row per customer) for that type's slice value, union
    all; a customer counts in the slice types it has a row of. `aggregates` are the select's
    aggregate expressions with their aliases (`sum(amount_cny) as amount_cny`), over the
    relation's columns by their bare names; `where` filters the relation's rows (it may
    qualify them by the relation's name). Out: the key columns, slice_type, slice_value, the
    aggregates. A NULL industry is a slice value of its own (as in int_customer_slices).
    Why not GROUPING SETS (as before): DuckDB stores a GROUPING SETS' input, the relation
    joined to five slice values, before grouping it; at 1,000,000 customers that was 140 M
    wide rows for the engagement items (more than 35 GB of spill, docs/benchmarks.md, run J).
    Five GROUP BYs read the relation five times and group one slice type at a time.
-#}
{% macro indicator_slice_rollup(
    relation, key_columns, aggregates, customers='customers', where=none
) %}
    {%- set slice_types = ['company', 'industry', 'region', 'size_band', 'account_manager'] %}
    {%- for slice_type in slice_types %}
        {{- '\n    union all' if not loop.first }}
    select
        {%- for column in key_columns %}
            {{ relation }}.{{ column }},
        {%- endfor %}
        '{{ slice_type }}' as slice_type,
        rollup_slices.rollup_slice_value as slice_value,
        {%- for aggregate in aggregates %}
            {{ aggregate }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation }}
    inner join (
        select
            customer_id as rollup_customer_id,
            {{ slice_type }} as rollup_slice_value
        from {{ customers }}
        where in_{{ slice_type }} = 1
    ) as rollup_slices
        on {{ relation }}.customer_id = rollup_slices.rollup_customer_id
    {%- if where %}
    where {{ where }}
    {%- endif %}
    group by
        {%- for column in key_columns %}
            {{ relation }}.{{ column }},
        {%- endfor %}
        rollup_slices.rollup_slice_value
    {%- endfor %}
{% endmacro %}

{#-
    int_customer_slices pivoted to one row per customer, for indicator_slice_rollup: for
    each slice type (company, industry, region, size_band, account_manager) the customer's
    slice value and in_<type> = 1 where the customer has a row of that type (always, on
    dim_customers; a unit test may give company rows only).
-#}
{% macro indicator_slice_customers() %}
    {%- set slice_types = ['company', 'industry', 'region', 'size_band', 'account_manager'] %}
    select
        customer_id,
        {%- for slice_type in slice_types %}
            max(case when slice_type = '{{ slice_type }}' then slice_value end)
                as {{ slice_type }},
            max(case when slice_type = '{{ slice_type }}' then 1 else 0 end)
                as in_{{ slice_type }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('int_customer_slices') }}
    group by customer_id
{% endmacro %}

{#-
    The items CTE of a family, from a list of item definitions (one select each, union all):
    each a dict with
      from         the relation (CTE) the items are rows of;
      code, unit, kind   indicator_code, unit, measure_kind (see indicator_fanout);
      variant      the variant as a literal ('standard'), or variant_sql: an expression
                   (dbt.concat(["'channel:'", 'channel']));
      on           the date expression that puts the item in its period (measured_on);
      numerator    numerator_value, default 1; denominator: denominator_value, default 1;
      where        optional filter;
      customers    true: is_customer_count = 1 (count the customer once per period); only
                   written when `customer_counts` is true (as for indicator_fanout).
    `defaults`: keys every item takes unless it names its own (from, on, ...).
-#}
{% macro indicator_items(items, defaults={}, customer_counts=false) %}
    {%- for given in items %}
        {%- set item = {} %}
        {%- do item.update(defaults) %}
        {%- do item.update(given) %}
        select
            '{{ item.code }}' as indicator_code,
            {{ item.variant_sql if item.variant_sql else "'" ~ item.variant ~ "'" }}
                as indicator_variant,
            '{{ item.unit }}' as unit,
            '{{ item.kind }}' as measure_kind,
            {%- if customer_counts %}
                {{ 1 if item.customers else 0 }} as is_customer_count,
            {%- endif %}
            customer_id,
            {{ item.on }} as measured_on,
            {{ item.numerator | default(1) }} as numerator_value,
            {{ item.denominator | default(1) }} as denominator_value
        from {{ item['from'] }}
        {%- if item.where %}
            where {{ item.where }}
        {%- endif %}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
{% endmacro %}

{#-
    The tidy rows of several relations that already have loyalty_indicators' columns
    (indicator_code … n), one select each, union all: a family's fan-out with the rows of
    the models it reads (int_engagement_indicators, int_service_indicators).
-#}
{% macro union_indicator_rows(relations) %}
    {%- for relation in relations %}
        select
            indicator_code,
            indicator_variant,
            period_grain,
            period_start_on,
            slice_type,
            slice_value,
            numerator,
            denominator,
            unit,
            n
        from {{ relation }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
{% endmacro %}

{#-
    Tidy rows from a relation that already has one row per period and slice (period_grain,
    period_start_on, slice_type, slice_value): one select per row definition, union all.
    Each a dict with code (or code_sql), variant (a literal) or variant_sql (an expression),
    numerator,
    denominator (default 1), unit and n (SQL expressions over the relation's columns); from
    (the relation) and any other key may come from `defaults`.
-#}
{% macro indicator_rows(rows, defaults={}) %}
    {%- for given in rows %}
        {%- set row = {} %}
        {%- do row.update(defaults) %}
        {%- do row.update(given) %}
        select
            {{ row.code_sql if row.code_sql else "'" ~ row.code ~ "'" }} as indicator_code,
            {{ row.variant_sql if row.variant_sql else "'" ~ row.variant ~ "'" }}
                as indicator_variant,
            period_grain,
            period_start_on,
            slice_type,
            slice_value,
            {{ row.numerator }} as numerator,
            {{ row.denominator | default(1) }} as denominator,
            '{{ row.unit }}' as unit,
            {{ row.n }} as n
        from {{ row['from'] }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
{% endmacro %}

{#-
    The join condition of two relations keyed by period and slice (period_grain,
    period_start_on, slice_type, slice_value); null_slice=true: a NULL slice value (an
    industry unknown) matches a NULL one, written so that every engine still hashes the
    join (coalesced values equal and both NULL or neither; slice values are text).
-#}
{% macro same_period_and_slice(left, right, null_slice=false) -%}
    {%- for column in ['period_grain', 'period_start_on', 'slice_type', 'slice_value'] %}
        {{ 'and ' if not loop.first }}
        {%- if null_slice and column == 'slice_value' -%}
            coalesce({{ left }}.slice_value, '') = coalesce({{ right }}.slice_value, '')
            and ({{ left }}.slice_value is null) = ({{ right }}.slice_value is null)
        {%- else -%}
            {{ left }}.{{ column }} = {{ right }}.{{ column }}
        {%- endif %}
    {%- endfor %}
{%- endmacro %}

{#-
    A timestamp column as known on as_of: null when it falls after as_of (a response,
    resolution or follow-up stamped later has not happened yet), aliased to its own name.
-#}
{% macro stamp_as_of(column) -%}
    case when cast({{ column }} as date) <= {{ as_of_date() }} then {{ column }} end
        as {{ column }}
{%- endmacro %}

{#-
    Hours from one timestamp to another, to the minute: dbt.datediff in minutes / 60 (an
    hour-granularity datediff counts hour boundaries: 10:59 to 11:01 is one hour on DuckDB).
-#}
{% macro hours_between(start_column, end_column) -%}
    {{ dbt.datediff(start_column, end_column, 'minute') }} / 60.0
{%- endmacro %}

{#- The three period grains as rows of period_grain, to cross with dated rows. -#}
{% macro period_grains() %}
    select 'month' as period_grain
    union all
    select 'quarter' as period_grain
    union all
    select 'year' as period_grain
{% endmacro %}

{#-
    The interactions that are care touches (METRICS C6): follow-ups, care calls and
    greetings. One rule for int_engagement_indicators (C6 touches per customer) and
    int_engagement_period_end_indicators (C6 days since the last touch).
-#}
{% macro is_care_touch(kind='kind') -%}
    {{ kind }} in ('follow_up', 'care', 'greeting')
{%- endmacro %}
