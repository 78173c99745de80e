"""Composite indices (METRICS H1 loyalty, H2 customer value, H3 management level), their
weights (H5), segments (H6, F1 RFM) and the extra revenue of loyal customers (F10).

Pure functions over per-customer (or per-unit) summaries: no Dagster, no database. A thin
asset reads a summary with one column per indicator code, calls these, and writes the result.

Data (seeds, edited by the user, validated on load with messages naming file, index and
indicator):
- `seeds/indicator_catalogue.csv`: each indicator's direction (higher_is_better /
  lower_is_better); complaint and churn rates count inverted.
- `seeds/index_expert_weights.csv`: which indicators feed each index, with expert weights
  (non-negative, summing to 1 per index).
- `seeds/index_ahp_pairwise.csv`: pairwise comparisons per index for AHP weights.
- `seeds/segment_actions.csv`: segment labels (English, Chinese) and the recommended action.

Typical use::

    definitions = load_index_definitions()
    h1 = compute_index(definitions["H1"], this_year, reference=base_year)   # IndexResult
    h1.scores, h1.coverage, h1.weights, h1.method, h1.details
    h1.frame()                                   # score_pct, coverage_rate, band per row
    trend(h1.scores, last_year_h1.scores)        # change_points and up / down / flat
    compute_index(definitions["H3"], units, weighting="ahp",
                  ahp_matrix=load_ahp_matrices()["H3"])

Steps and their rules:
1. Normalise (`normalise`, `MinMaxReference`, `ZScoreReference`): fitted once on a reference
   period and reused, so an index is comparable over time; min–max values are clipped to
   [0, 1] (optionally between reference quantiles, against outliers); lower-is-better
   indicators are inverted; z-scores are mapped through Φ to [0, 1]. An indicator constant
   in the reference has no scale and counts as missing.
2. Weight (`WeightResult`): `expert_weights` (seed), `entropy_weights`, `critic_weights`
   (learnt on the normalised reference period), `ahp_weights` (principal eigenvector;
   CR = CI / RI with `SAATY_RANDOM_INDEX`; CR ≥ 0.1 raises).
3. Aggregate (`aggregate`, `IndexResult`): 0–100; a missing indicator is dropped and the
   others re-weighted; coverage = share of weight present; below `min_coverage` (default
   0.5) the score is NaN (NULL in DuckDB), never 0.
4. Bands (`band`, default 0–50 red, 51–75 yellow, 76–100 green) and `trend`.
Plus `survey_loyalty_index` (seed 002: mean score / scale maximum × 100),
`value_loyalty_segments`, `rfm_scores`, `rfm_segments` (`SegmentResult` with actions),
`segment_migration` (transition counts) and `loyalty_extra_revenue` (F10).
"""

from .aggregate import (
    DEFAULT_BANDS,
    DEFAULT_MIN_COVERAGE,
    IndexResult,
    aggregate,
    band,
    compute_index,
    survey_loyalty_index,
    trend,
)
from .definitions import (
    IndexDefinition,
    directions_for,
    load_catalogue,
    load_expert_weights,
    load_index_definitions,
    validate_weights,
)
from .normalise import MinMaxReference, ZScoreReference, normalise
from .segments import (
    ACTIONS,
    LoyaltyExtraRevenue,
    SegmentResult,
    load_segment_actions,
    loyalty_extra_revenue,
    rfm_scores,
    rfm_segments,
    segment_migration,
    value_loyalty_segments,
)
from .weights import (
    SAATY_RANDOM_INDEX,
    WeightResult,
    ahp_weights,
    critic_weights,
    entropy_weights,
    expert_weights,
    load_ahp_matrices,
)

__all__ = [
    "ACTIONS",
    "DEFAULT_BANDS",
    "DEFAULT_MIN_COVERAGE",
    "SAATY_RANDOM_INDEX",
    "IndexDefinition",
    "IndexResult",
    "LoyaltyExtraRevenue",
    "MinMaxReference",
    "SegmentResult",
    "WeightResult",
    "ZScoreReference",
    "aggregate",
    "ahp_weights",
    "band",
    "compute_index",
    "critic_weights",
    "directions_for",
    "entropy_weights",
    "expert_weights",
    "load_ahp_matrices",
    "load_catalogue",
    "load_expert_weights",
    "load_index_definitions",
    "load_segment_actions",
    "loyalty_extra_revenue",
    "normalise",
    "rfm_scores",
    "rfm_segments",
    "segment_migration",
    "survey_loyalty_index",
    "trend",
    "validate_weights",
    "value_loyalty_segments",
]
