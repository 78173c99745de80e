"""A believable B2B service firm in China, generated with a known truth.

`python -m orchestration.synthetic --customers 5000 --years 3 --seed 42 --out landing --truth truth`

Every customer has a latent loyalty z ~ N(0, 1) and a latent value v ~ N(0, 1).

- Purchases follow a BG/NBD process in weeks: lambda ~ Gamma(r, rate alpha), and after each
  repeat purchase the customer drops out with probability p ~ Beta(a, b). p is tied to loyalty
  by a Gaussian copula, p = F_Beta^-1(Phi(-rho z + sqrt(1 - rho^2) e)), so its marginal is
  exactly Beta(a, b) and the published parameters stay recoverable from the orders.
  Purchases fall on whole days, at most one a day (a Bernoulli(lambda / 7) trial each day, the
  day-level Poisson process): the warehouse, like CDNOW, merges a customer's invoices of one
  day into one transaction, and a continuous-time process would lose ~3 % of its purchases
  to that merge, the heavy buyers' most, biasing r and alpha upward by 4-8 %.
- Spend per order follows Gamma-Gamma: nu ~ Gamma(q, rate gamma) (a monotone function of v,
  so high-value customers spend more), each order ~ Gamma(p, rate nu) x SPEND_SCALE_CNY.
- Annual service contracts renew with shifted-beta-geometric churn: theta ~ Beta(alpha, beta)
  per product-line cohort, copula-linked to loyalty in the same way.
- Interactions, tickets, complaints, feedback, events, referrals, reviews, the loyalty ledger,
  manager changes and survey answers co-move with loyalty and deteriorate in the months before
  a customer churns, so churn is predictable from them.

Customers are generated in chunks and appended to one CSV per raw table (Arrow's CSV writer),
so memory stays bounded at any size. The truth goes to a separate folder the pipeline never
reads. Randomness comes from `np.random.default_rng([seed, chunk, stream])` with one stream
per table family, so the same arguments always give the same bytes.

Modules: `parameters` (rates, streams, `Truth`, the calendar), `vocabulary` (names and
texts), `columns` (Arrow column helpers, ids, the landing files), `firm` (managers, events,
survey waves), `customers` (one chunk of customers and their tables), `generate` (the run
and the command line). `orchestration.synthetic` is this package under its former name.
"""

from .generate import DESCRIPTION, generate, main
from .parameters import DEFAULT_CHUNK_SIZE, DEFAULT_END_DATE, Truth

__all__ = ["DEFAULT_CHUNK_SIZE", "DEFAULT_END_DATE", "DESCRIPTION", "Truth", "generate", "main"]
