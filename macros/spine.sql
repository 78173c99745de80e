{#-
    The incremental customer-month spine (int_customer_months) keeps, beside itself, one
    fingerprint per customer of the inputs its closed months rest on: the customer's
    acquisition date and its orders, contracts and churn records dated before a boundary
    month (the as_of month of the run that wrote it). A later run rebuilds every month of the
    customers whose fingerprint changed, and only the months from the boundary on for the
    others (docs in models/intermediate/customers/int_customer_months.sql).
-#}

{#- The side table of the fingerprints: `<spine>__fingerprints`, beside the spine. -#}
{% macro spine_fingerprints_relation() %}
    {{- return(this.incorporate(path={'identifier': this.identifier ~ '__fingerprints'})) -}}
{% endmacro %}

{#- A 64-bit hash of a string, for order-independent sums over rows. -#}
{% macro fingerprint_hash(expression) %}
    {{- return(adapter.dispatch('fingerprint_hash', 'loyalty_warehouse')(expression)) -}}
{% endmacro %}

{% macro default__fingerprint_hash(expression) %}
    hash({{ expression }})
{% endmacro %}

{% macro postgres__fingerprint_hash(expression) %}
    hashtextextended({{ expression }}, 0)
{% endmacro %}

{#- The columns as one string, nulls as empty, separated by '|'. -#}
{% macro fingerprint_row(columns) %}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '')") -%}
        {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{% endmacro %}

{#-
    One row per customer: the acquisition date, the activity window and, for each input, the
    count and the sum of the row hashes of its rows dated before `boundary` (an SQL date
    expression). Any change of such a row (added, removed, altered) changes the customer's
    row here.
-#}
{% macro customer_spine_fingerprints(boundary) %}
    {%- set inputs = [
        ('order', ref('stg_crm__orders'), 'ordered_on',
            ['order_id', 'ordered_on', 'amount_cny', 'is_credit_note']),
        ('contract', ref('stg_crm__contracts'), 'start_on',
            ['contract_id', 'start_on', 'end_on']),
        ('churn', ref('stg_crm__churn_records'), 'churned_on',
            ['churn_id', 'churned_on', 'reason_code']),
    ] -%}
    with
    {% for name, relation, dated_on, columns in inputs %}
        {{ name }}_prints as (
            select
                customer_id,
                count(*) as {{ name }}_rows,
                sum({{ fingerprint_hash(fingerprint_row(columns)) }}) as {{ name }}_hash
            from {{ relation }}
            where {{ dated_on }} < {{ boundary }}
            group by customer_id
        ),
    {% endfor %}

    customers as (
        select
            customer_id,
            acquired_on
        from {{ ref('stg_crm__customers') }}
    )

    select
        customers.customer_id,
        customers.acquired_on,
        {{ boundary }} as boundary_on,
        -- a change of the activity rule's window changes every customer's closed months
        {{ var('activity_window_days') }} as activity_window_days,
        {%- for name, relation, dated_on, columns in inputs %}
            coalesce({{ name }}_prints.{{ name }}_rows, 0) as {{ name }}_rows,
            coalesce({{ name }}_prints.{{ name }}_hash, 0) as {{ name }}_hash
            {{- ',' if not loop.last }}
        {%- endfor %}
    from customers
    {%- for name, relation, dated_on, columns in inputs %}
        left join {{ name }}_prints
            on customers.customer_id = {{ name }}_prints.customer_id
    {%- endfor %}
{% endmacro %}
