"""Index definitions as data: the indicator catalogue and the expert-weight seed.

An index (H1 loyalty, H2 customer value, H3 customer management level) is a set of indicator
codes of `seeds/indicator_catalogue.csv`, each with the direction the catalogue gives it and an
expert weight from `seeds/index_expert_weights.csv`. Nothing about an index is hard-coded here:
a user changes an index by editing the seed, and a wrong seed fails loudly with the file, the
index and the offending indicator in the message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..settings import ROOT

SEEDS_DIR = ROOT / "seeds"
CATALOGUE_SEED = SEEDS_DIR / "indicator_catalogue.csv"
EXPERT_WEIGHTS_SEED = SEEDS_DIR / "index_expert_weights.csv"

HIGHER_IS_BETTER = "higher_is_better"
LOWER_IS_BETTER = "lower_is_better"
NEUTRAL = "neutral"

# Weights are written by hand with two or three decimals; 1e-6 tolerates float noise only.
WEIGHT_SUM_TOLERANCE = 1e-6


def read_seed(path: Path, required: Iterable[str]) -> pd.DataFrame:
    """A seed CSV as strings and numbers, with a message naming the file if columns are missing."""
    path = Path(path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise ValueError(f"{path.name}: missing column(s) {', '.join(missing)}")
    return frame


def load_catalogue(path: Path = CATALOGUE_SEED) -> pd.DataFrame:
    """The indicator catalogue indexed by indicator code (name_en, name_zh, direction, ...)."""
    frame = read_seed(path, ["indicator_code", "name_en", "name_zh", "direction"])
    return frame.set_index("indicator_code")


def directions_for(
    indicators: Iterable[str], catalogue: pd.DataFrame, *, source: str = "index"
) -> dict[str, str]:
    """Each indicator's direction from the catalogue.

    An indicator that is not in the catalogue, or that the catalogue calls `neutral` (a count
    by category has no better side), cannot enter a composite index: both raise, naming
    `source` (the seed file and index) and the indicator.
    """
    result: dict[str, str] = {}
    for code in indicators:
        if code not in catalogue.index:
            raise ValueError(f"{source}: indicator {code!r} is not in the indicator catalogue")
        direction = catalogue.at[code, "direction"]
        if direction not in (HIGHER_IS_BETTER, LOWER_IS_BETTER):
            raise ValueError(
                f"{source}: indicator {code!r} has direction {direction!r} in the indicator "
                f"catalogue; a composite index needs {HIGHER_IS_BETTER} or {LOWER_IS_BETTER}"
            )
        result[code] = direction
    return result


def validate_weights(
    weights: Mapping[str, float] | pd.Series,
    *,
    source: str,
    index_code: str,
    catalogue: pd.DataFrame,
) -> pd.Series:
    """Check a set of weights and return it as a float Series indexed by indicator code.

    Rules: every indicator is in the catalogue (and not neutral), appears once, has a finite
    non-negative weight, and the weights sum to 1 within `WEIGHT_SUM_TOLERANCE`. Each failure
    raises a `ValueError` that names `source` (the seed file), the index and the indicator.
    """
    series = pd.Series(weights, dtype=object)
    where = f"{source}, index {index_code}"
    duplicated = series.index[series.index.duplicated()]
    if len(duplicated):
        raise ValueError(f"{where}: indicator {duplicated[0]!r} appears more than once")
    directions_for(series.index, catalogue, source=where)
    values: dict[str, float] = {}
    for code, raw in series.items():
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ValueError(
                f"{where}: indicator {code!r} has a weight {raw!r} that is not a number"
            ) from None
        if not np.isfinite(value):
            raise ValueError(f"{where}: indicator {code!r} has no finite weight ({raw!r})")
        if value < 0:
            raise ValueError(f"{where}: indicator {code!r} has a negative weight {value:g}")
        values[code] = value
    result = pd.Series(values, dtype=float)
    total = float(result.sum())
    if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
        listed = ", ".join(f"{code}={value:g}" for code, value in result.items())
        raise ValueError(
            f"{where}: weights sum to {total:.6g}, not 1 (tolerance {WEIGHT_SUM_TOLERANCE:g}); "
            f"indicators {listed}"
        )
    return result


@dataclass(frozen=True)
class IndexDefinition:
    """One composite index: its indicators with their directions and expert weights."""

    code: str
    name_en: str
    name_zh: str
    weights: pd.Series  # expert weights, indexed by indicator code, summing to 1
    directions: Mapping[str, str]  # indicator code -> higher_is_better / lower_is_better

    @property
    def indicators(self) -> tuple[str, ...]:
        return tuple(self.weights.index)


def load_expert_weights(
    path: Path = EXPERT_WEIGHTS_SEED, catalogue: pd.DataFrame | None = None
) -> dict[str, pd.Series]:
    """Validated expert weights per index code from the seed (columns index_code,
    indicator_code, weight)."""
    path = Path(path)
    catalogue = load_catalogue() if catalogue is None else catalogue
    frame = read_seed(path, ["index_code", "indicator_code", "weight"])
    result: dict[str, pd.Series] = {}
    for index_code, rows in frame.groupby("index_code", sort=False):
        if index_code not in catalogue.index:
            raise ValueError(f"{path.name}: index {index_code!r} is not in the indicator catalogue")
        raw = pd.Series(rows["weight"].to_numpy(), index=rows["indicator_code"].to_numpy())
        result[str(index_code)] = validate_weights(
            raw, source=path.name, index_code=str(index_code), catalogue=catalogue
        )
    return result


def load_index_definitions(
    weights_path: Path = EXPERT_WEIGHTS_SEED, catalogue_path: Path = CATALOGUE_SEED
) -> dict[str, IndexDefinition]:
    """Every index of the expert-weight seed, with names and directions from the catalogue."""
    catalogue = load_catalogue(catalogue_path)
    definitions = {}
    for code, weights in load_expert_weights(weights_path, catalogue).items():
        definitions[code] = IndexDefinition(
            code=code,
            name_en=str(catalogue.at[code, "name_en"]),
            name_zh=str(catalogue.at[code, "name_zh"]),
            weights=weights,
            directions=directions_for(weights.index, catalogue, source=Path(weights_path).name),
        )
    return definitions
