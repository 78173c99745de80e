{#-
    The activity rule (METRICS conventions; _customers__models.yml, int_customer_months), the
    one place it is written: a customer is active on `day` (an SQL date expression) with an
    open contract that day (`has_open_contract`, a boolean expression), or an invoice in the
    var('activity_window_days') days up to it (`last_ordered_on`: the latest invoice dated on
    or before `day`, credit notes excluded; null: none), unless a churn record is the latest
    event (`last_churned_on`, the latest record on or before `day`, on or after both the
    latest invoice and the latest contract start, `last_contract_started_on`, each taken as
    the acquisition day `acquired_on` when there is none). The customer must have been
    acquired by `day`: the caller's rows say so. Used by the customer-month spine and by the
    churn early warning's population (features_churn), so both call a customer active alike.
-#}
{% macro is_active_on(
    day,
    acquired_on,
    has_open_contract,
    last_ordered_on,
    last_contract_started_on,
    last_churned_on
) %}
    (
        (
            {{ has_open_contract }}
            or coalesce(
                {{ last_ordered_on }}
                > {{ dbt.dateadd('day', -1 * var('activity_window_days'), day) }},
                false
            )
        )
        and not coalesce(
            {{ last_churned_on }} >= coalesce({{ last_ordered_on }}, {{ acquired_on }})
            and {{ last_churned_on }}
            >= coalesce({{ last_contract_started_on }}, {{ acquired_on }}),
            false
        )
    )
{% endmacro %}
