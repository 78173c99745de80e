"""orchestration.frames.read_frame: the frame `.df()` gives, fetched chunk by chunk."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from orchestration.frames import read_frame

# 5,000 rows over three 2,048-row chunks (chunk_vectors=1); NULLs only in some chunks, so
# a chunk's own dtype can differ from the whole result's (int64 / float64, bool / object).
QUERY = """
    select
        i as key,
        'c' || lpad(cast(i as varchar), 6, '0') as customer_id,
        case when i >= 4500 then null else i * 3 end as late_null_int,
        case when i < 100 then null else i / 7.0 end as early_null_double,
        case when i >= 4500 then null else i % 2 = 0 end as late_null_flag,
        i % 3 = 0 as flag,
        cast(i * 1.25 as decimal(18, 2)) as amount,
        date '2026-01-01' + cast(i % 400 as integer) as day,
        case when i % 1000 = 999 then null
            else date '2025-01-01' + cast(i as integer) end as some_day,
        case when i between 2048 and 4095 then null else 'x' end as middle_null_text,
        null::double as never
    from range(5000) t(i)
    order by i
"""


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


def test_the_chunked_frame_equals_df(con):
    whole = con.execute(QUERY).df()
    chunked = read_frame(con, QUERY, chunk_vectors=1)
    pd.testing.assert_frame_equal(chunked, whole, check_exact=True)
    assert list(chunked.dtypes) == list(whole.dtypes)
    assert isinstance(chunked.index, pd.RangeIndex)


def test_parameters_an_empty_result_and_a_conversion(con):
    query = "select i as key, i * 2.0 as twice from range(5000) t(i) where i >= ? order by i"
    pd.testing.assert_frame_equal(
        read_frame(con, query, [4000], chunk_vectors=1),
        con.execute(query, [4000]).df(),
    )
    empty = read_frame(con, query, [10_000])
    assert empty.empty and list(empty.columns) == ["key", "twice"]

    def halve(chunk: pd.DataFrame) -> pd.DataFrame:
        return chunk.assign(twice=chunk["twice"] / 2).astype({"key": "int32"})

    halved = read_frame(con, query, [0], convert=halve, chunk_vectors=1)
    assert halved["key"].dtype == "int32" and len(halved) == 5000
    assert (halved["twice"] == halved["key"]).all()
