-- Guards the margin seed: CLV and customer equity are revenue x gross_margin_rate, so a rate
-- typed as a percentage (45 for 45 %) or below zero would inflate or negate every valuation.
with margins as (
    select * from {{ ref('product_line_margins') }}
)

select
    product_line,
    gross_margin_rate
from margins
where gross_margin_rate < 0 or gross_margin_rate > 1
