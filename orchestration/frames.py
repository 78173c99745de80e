"""Query results into pandas a chunk at a time, so that a large read never holds the whole
result twice (DuckDB's materialised result and the DataFrame made from it).

`read_frame(con, query)` gives the frame `con.execute(query).df()` gives, the same columns,
values, dtypes and a fresh RangeIndex (tests/test_frames.py), but DuckDB streams the result
and each chunk of `CHUNK_VECTORS` vectors (2,048 rows each) is converted, and optionally
reduced by `convert` (typed, columns dropped), before the next one is fetched: the peak is
the converted frame plus one chunk, not the raw result twice. Memory budget:
docs/benchmarks.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

CHUNK_VECTORS = 128  # 262,144 rows a chunk


def read_frame(
    con,
    query: str,
    parameters: Sequence[Any] | None = None,
    convert: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    chunk_vectors: int = CHUNK_VECTORS,
) -> pd.DataFrame:
    """The result of `query` on the DuckDB connection `con` as one DataFrame, fetched and
    converted chunk by chunk; `convert` is applied to each chunk (it must work row by row:
    a chunk's result may not depend on the other chunks)."""
    result = con.execute(query, parameters) if parameters is not None else con.execute(query)
    parts: list[pd.DataFrame] = []
    while True:
        chunk = result.fetch_df_chunk(chunk_vectors)
        if chunk.empty and parts:
            break
        parts.append(convert(chunk) if convert is not None else chunk)
        if chunk.empty:  # an empty result: its (typed) columns
            break
    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    frame = pd.concat(parts, ignore_index=True, copy=False)
    parts.clear()
    return frame
