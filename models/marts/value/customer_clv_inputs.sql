-- The per-customer summary the probabilistic CLV models are fitted on (METRICS F7), in the
-- CDNOW conventions of Fader, Hardie and Lee (2005):
--   * a transaction is a customer's purchase day: invoices on the same day are merged, credit
--     notes are not purchases;
--   * calibration ends on as_of (inclusive); x = repeat transactions (purchase days after the
--     first), t_x = time from the first purchase to the last repeat, T = time from the first
--     purchase to as_of, all in var('clv_time_unit');
--   * mean_repeat_spend (zbar) = mean value of the repeat transactions (null when x = 0);
--   * holdout: purchase days after as_of up to var('clv_holdout_end') or, when empty, the
--     latest order in the data; holdout_length is that span in the same unit.
--   * orders that bill a contract are contract revenue, valued by the contract model (sBG),
--     and are left out here so they are not counted twice (the rule:
--     int_orders_matched_to_contracts.bills_contract);
--   * margin_rate: the customer's gross margin on those purchases, the revenue-weighted mean
--     of seed product_line_margins over the product lines she bought (null when her
--     purchases are worth nothing or no line of them has a margin in the seed).
-- Only customers whose first purchase is on or before as_of appear.
with orders as (
    select * from {{ ref('int_orders_matched_to_contracts') }}
    where not is_credit_note and not bills_contract
),

margins as (
    select * from {{ ref('product_line_margins') }}
),

purchase_days as (
    select
        customer_id,
        ordered_on,
        sum(amount_cny) as day_amount_cny
    from orders
    group by customer_id, ordered_on
),

bounds as (
    select
        {{ as_of_date() }} as calibration_end_on,
        {%- if var('clv_holdout_end', '') %}
            max(cast('{{ var("clv_holdout_end") }}' as date)) as holdout_end_on
        {%- else %}
            max(ordered_on) as holdout_end_on
        {%- endif %}
    from purchase_days
),

first_purchases as (
    select
        purchase_days.customer_id,
        min(purchase_days.ordered_on) as first_purchase_on
    from purchase_days
    cross join bounds
    where purchase_days.ordered_on <= bounds.calibration_end_on
    group by purchase_days.customer_id
),

calibration as (
    select
        first_purchases.customer_id,
        first_purchases.first_purchase_on,
        count(*) - 1 as repeat_transactions,
        max(purchase_days.ordered_on) as last_purchase_on,
        sum(
            case
                when purchase_days.ordered_on > first_purchases.first_purchase_on
                    then purchase_days.day_amount_cny
            end
        ) as repeat_spend_cny,
        sum(purchase_days.day_amount_cny) as calibration_spend_cny
    from first_purchases
    inner join purchase_days
        on first_purchases.customer_id = purchase_days.customer_id
    cross join bounds
    where purchase_days.ordered_on <= bounds.calibration_end_on
    group by first_purchases.customer_id, first_purchases.first_purchase_on
),

calibration_margins as (
    select
        orders.customer_id,
        -- cast to double before the division: Spark's decimal division keeps 6 decimals
        cast(sum(orders.amount_cny * margins.gross_margin_rate) as {{ type_double() }})
        / nullif(
            cast(
                sum(case when margins.gross_margin_rate is not null then orders.amount_cny end)
                as {{ type_double() }}
            ),
            0
        ) as margin_rate
    from orders
    cross join bounds
    left join margins
        on orders.product_line = margins.product_line
    where orders.ordered_on <= bounds.calibration_end_on
    group by orders.customer_id
),

holdout as (
    select
        purchase_days.customer_id,
        count(*) as holdout_transactions,
        sum(purchase_days.day_amount_cny) as holdout_spend_cny
    from purchase_days
    cross join bounds
    where
        purchase_days.ordered_on > bounds.calibration_end_on
        and purchase_days.ordered_on <= bounds.holdout_end_on
    group by purchase_days.customer_id
),

final as (
    select
        calibration.customer_id,
        calibration.first_purchase_on,
        calibration.last_purchase_on,
        bounds.calibration_end_on,
        cast('{{ var("clv_time_unit", "weeks") }}' as {{ dbt.type_string() }}) as time_unit,
        cast(calibration.repeat_transactions as {{ dbt.type_int() }}) as frequency_x,
        cast(
            {{ dbt.datediff(
                'calibration.first_purchase_on', 'calibration.last_purchase_on', 'day'
            ) }} / {{ clv_unit_days() }} as {{ type_double() }}
        ) as recency_t_x,
        cast(
            {{ dbt.datediff(
                'calibration.first_purchase_on', 'bounds.calibration_end_on', 'day'
            ) }} / {{ clv_unit_days() }} as {{ type_double() }}
        ) as age_t,
        cast(
            calibration.repeat_spend_cny / nullif(calibration.repeat_transactions, 0)
            as {{ type_double() }}
        ) as mean_repeat_spend_cny,
        cast(calibration.calibration_spend_cny as {{ type_double() }}) as calibration_spend_cny,
        cast(calibration_margins.margin_rate as {{ type_double() }}) as margin_rate,
        case when bounds.holdout_end_on > bounds.calibration_end_on then bounds.holdout_end_on end
            as holdout_end_on,
        cast(
            case
                when bounds.holdout_end_on > bounds.calibration_end_on
                    then {{ dbt.datediff(
                        'bounds.calibration_end_on', 'bounds.holdout_end_on', 'day'
                    ) }} / {{ clv_unit_days() }}
            end as {{ type_double() }}
        ) as holdout_length,
        cast(
            case
                when bounds.holdout_end_on > bounds.calibration_end_on
                    then coalesce(holdout.holdout_transactions, 0)
            end as {{ dbt.type_int() }}
        ) as holdout_frequency,
        cast(
            case
                when bounds.holdout_end_on > bounds.calibration_end_on
                    then coalesce(holdout.holdout_spend_cny, 0)
            end as {{ type_double() }}
        ) as holdout_spend_cny
    from calibration
    cross join bounds
    left join holdout
        on calibration.customer_id = holdout.customer_id
    left join calibration_margins
        on calibration.customer_id = calibration_margins.customer_id
)

select * from final
