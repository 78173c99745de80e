{#-
    Tables stored by period (period_grain, period_start_on) that a daily run rewrites from a
    date on instead of in full. Each such model keeps, beside itself,
      * `<model>__state`  (macros/changes.sql): the last load of the change record, the as_of
        and the activity window of its last run;
      * `<model>__window` (one row, rewrite_from_on): the date this run rewrites from, null
        for every period (first run, --full-refresh, no usable state, a change without a
        date). The data tests read it (get_where_subquery) to check the rewritten periods.
    A run (pre-hooks, in the model's transaction) writes the window, deletes the stored rows
    of the periods it rewrites and inserts them anew (incremental_strategy 'append'); the
    post-hook writes the state. A period of grain g is rewritten when it starts on or after
    the first day of the g period that holds rewrite_from_on.

    The window, rewrite_from_on, is the earliest of
      * the stored as_of: the periods open at the last run (their rows move with as_of);
      * the earliest date touched by every load since the stored state (the change record:
        a late, corrected or removed row dates the first period it can change); a change
        without a date (a table without dates, a load without customers but no date) gives
        no window (null: every period);
      * the acquisition date of every customer whose slice may have moved: a changed
        customer row dates itself by acquired_on (the change record's date), an account
        assignment loaded since the state or starting or ending between the stored as_of and
        this one moves the customer's current manager (the account_manager slice of every
        period of the customer, dim_customers);
    less `reach_days` for a model whose period rows read data up to that many days after the
    period's end. Without a state, with a stored as_of after this one or another activity
    window, every period is rewritten. What a model's rows read must be dated: rows that a
    later fact or a move of as_of can change in a closed period (a renewal signed later, a
    churn reason recorded later, a response stamped later) are rewritten in full (the
    model's `full_rows`), or the model stays a table.
-#}

{#- `<model>__window`, beside the model. -#}
{% macro rewrite_window_relation(relation=none) %}
    {%- set relation = relation if relation is not none else this -%}
    {{- return(relation.incorporate(path={'identifier': relation.identifier ~ '__window'})) -}}
{% endmacro %}

{#- The one-row query of this run's window (see above). -#}
{% macro rewrite_window_query(reach_days=0) %}
    {%- set stored_state = stored_incremental_state() %}
    {%- if not is_incremental() or not stored_state %}
        select cast(null as date) as rewrite_from_on
    {%- else %}
        with state as (
            select * from {{ stored_state }}
        ),

        customers as (
            select * from {{ ref('stg_crm__customers') }}
        ),

        changes as (
            select *
            from {{ ref('stg_meta__load_changes') }}
            where load_sequence > (select max(state.load_sequence) from state)
        ),

        touched as (
            select max(state.as_of_on) as touched_on from state
            union all
            select earliest_on as touched_on from changes
            union all
            select customers.acquired_on as touched_on
            from changes
            inner join customers
                on changes.customer_id = customers.customer_id
            where changes.table_name = 'account_assignments'
            union all
            select customers.acquired_on as touched_on
            from {{ ref('stg_crm__account_assignments') }} as assignments
            inner join customers
                on assignments.customer_id = customers.customer_id
            where
                (
                    assignments.assigned_from > (select max(state.as_of_on) from state)
                    and assignments.assigned_from <= {{ as_of_date() }}
                )
                or (
                    assignments.assigned_to >= (select max(state.as_of_on) from state)
                    and assignments.assigned_to < {{ as_of_date() }}
                )
        ),

        usable as (
            select count(*) as usable_count
            from state
            where
                state.as_of_on <= {{ as_of_date() }}
                and state.activity_window_days = {{ var('activity_window_days') }}
        )

        select
            case
                when
                    (select usable.usable_count from usable) = 1
                    and count(*) = count(touched.touched_on)
                    {%- if reach_days %}
                        then cast(
                            {{ dbt.dateadd('day', -reach_days, 'min(touched.touched_on)') }} as date
                        )
                    {%- else %}
                        then min(touched.touched_on)
                    {%- endif %}
            end as rewrite_from_on
        from touched
    {%- endif %}
{% endmacro %}

{#-
    True where a row (its grain and period start in the columns named) lies in a period the
    window of `window_relation` rewrites; every row when the window is null.
-#}
{% macro in_rewritten_periods(
    window_relation=none,
    grain_column='period_grain',
    start_column='period_start_on'
) %}
    {%- set window_relation = window_relation or rewrite_window_relation() -%}
    {%- set window_on = '(select rewrite_window.rewrite_from_on from '
        ~ window_relation ~ ' as rewrite_window)' -%}
    (
        {{ window_on }} is null
        or {{ start_column }} >= {{ period_start_by_grain(grain_column, window_on) }}
    )
{% endmacro %}

{#-
    The config of a model stored by period: materialized incremental (a table on Spark),
    the pre-hooks that write the window and delete the rows it rewrites (and the rows of
    `full_rows`, an SQL predicate over the model's columns, rewritten in full), the
    post-hook that writes the state.
-#}
{% macro rewritten_by_period_hooks(reach_days=0, full_rows=none) %}
    {#- the relations the window reads, named at parse time so dbt orders the build -#}
    {%- do ref('stg_crm__customers') -%}
    {%- do ref('stg_crm__account_assignments') -%}
    {%- do ref('stg_meta__load_changes') -%}
    {%- set deleted = '{{ in_rewritten_periods() }}' -%}
    {%- if full_rows %}{% set deleted = deleted ~ ' or (' ~ full_rows ~ ')' %}{% endif -%}
    {{- return({
        'pre_hook': [
            incremental_hook("drop table if exists {{ rewrite_window_relation() }}"),
            incremental_hook(
                "create table {{ rewrite_window_relation() }} as "
                ~ "{{ rewrite_window_query(" ~ reach_days ~ ") }}"
            ),
            incremental_hook(
                "{% if is_incremental() %}delete from {{ this }} where "
                ~ deleted ~ "{% endif %}"
            ),
        ],
        'post_hook': write_incremental_state(),
    }) -}}
{% endmacro %}

{#-
    The data tests of a model stored by period check the periods the last run rewrote: a
    test whose `where` is '__rewritten_periods__' reads only the rows of `<model>__window`'s
    periods and its rows_rewritten_in_full (every row after a full build, or where the model
    has no window: Spark); any other `where` as dbt does it.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where and '__rewritten_periods__' in where -%}
        {%- set window_relation = rewrite_window_relation(relation) -%}
        {%- set stored = adapter.get_relation(
            database=window_relation.database,
            schema=window_relation.schema,
            identifier=window_relation.identifier,
        ) if execute else none -%}
        {%- set predicate = in_rewritten_periods(window_relation) if stored else '1 = 1' -%}
        {%- set full_rows = rows_rewritten_in_full(relation.identifier) -%}
        {%- if stored and full_rows %}
            {%- set predicate = '(' ~ predicate ~ ' or (' ~ full_rows ~ '))' -%}
        {%- endif -%}
        {%- set where = where | replace('__rewritten_periods__', predicate) -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#-
    The rows a model stored by period rewrites in full on every run, as an SQL predicate over
    its columns (none: only the window's periods); its data tests check them too. Those of
    loyalty_indicators (and C8 of int_engagement_indicators) are what a later fact or a
    move of as_of changes in a closed period:
      B3   contracts up for renewal in the period, renewed by a contract signed by as_of;
      B5   the churn reason: the first churn record on or after the churn month;
      A5 addressed, A7 followed_up: a response or follow-up stamped after as_of has not
           happened yet, for feedback received in the period;
      D2   complaints opened in the period, resolved by as_of;
      E1   referrals of the period, converted when the referred customer is acquired by as_of;
      C8   events whose 90-day window (event_effect_window_days) closed by as_of;
      I2   the load ledger and quarantine, dated by the loads and changed by a replaced drop.
-#}
{% macro rows_rewritten_in_full(model_name) %}
    {%- set predicates = {
        'loyalty_indicators':
            "indicator_code in ('B3', 'B5', 'D2', 'E1', 'C8', 'I2')"
            ~ " or (indicator_code = 'A5' and indicator_variant = 'addressed')"
            ~ " or (indicator_code = 'A7' and indicator_variant = 'followed_up')",
        'int_engagement_indicators': "indicator_code = 'C8'",
    } -%}
    {{- return(predicates.get(model_name)) -}}
{% endmacro %}

{#- in_rewritten_periods on an incremental run of the model; every row otherwise. -#}
{% macro in_rewritten_periods_on_incremental(
    grain_column='period_grain',
    start_column='period_start_on'
) %}
    {%- if is_incremental() -%}
        {{ in_rewritten_periods(grain_column=grain_column, start_column=start_column) }}
    {%- else -%}
        1 = 1
    {%- endif -%}
{% endmacro %}
