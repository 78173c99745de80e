"""Arrow column helpers: values are typed here; Arrow's writer renders them in the
contract's formats (YYYY-MM-DD, YYYY-MM-DD HH:MM:SS, true/false, 2 decimals, empty for
missing); ids, and the landing files the rows are appended to."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from scipy import special, stats

from ..contract import (
    TABLES,
    Table,
)
from .parameters import ARROW_TYPES


def _dates(days: np.ndarray, present: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.floor(days).astype(np.int32), pa.date32(), mask=_mask(present))


def _stamps(days: np.ndarray, present: np.ndarray | None = None) -> pa.Array:
    seconds = np.floor(np.where(np.isfinite(days), days, 0) * 86400).astype(np.int64)
    return pa.array(seconds, pa.timestamp("s"), mask=_mask(present))


def _money(values: np.ndarray, present: np.ndarray | None = None) -> pa.Array:
    """Exact 2-decimal amounts: decimal128 built from integer cents, no float formatting."""
    cents = np.round(np.where(np.isfinite(values), values, 0) * 100).astype(np.int64)
    limbs = np.empty((cents.size, 2), dtype=np.int64)
    limbs[:, 0] = cents
    limbs[:, 1] = np.where(cents < 0, -1, 0)  # two's complement sign extension
    money = pa.Array.from_buffers(pa.decimal128(18, 2), cents.size, [None, pa.py_buffer(limbs)])
    return money if present is None else pc.if_else(pa.array(present), money, None)


def _ints(values: np.ndarray, present: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64), pa.int64(), mask=_mask(present))


def _bools(values: np.ndarray, present: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(values, dtype=bool), pa.bool_(), mask=_mask(present))


def _pick(values: tuple[str, ...] | np.ndarray, index: np.ndarray) -> pa.Array:
    """Strings by index into a small vocabulary (a take, no per-row Python)."""
    return pa.array(list(values), pa.string()).take(pa.array(np.asarray(index, dtype=np.int64)))


def _optional(values: pa.Array, present: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(present), values, None)


def _arrow(values: pa.Array | np.ndarray, type_: pa.DataType) -> pa.Array:
    if isinstance(values, pa.Array):
        return values if values.type == type_ else values.cast(type_)
    return pa.array(values, type_)


def _mask(present: np.ndarray | None) -> np.ndarray | None:
    return None if present is None else ~np.asarray(present, dtype=bool)


def _concat(*parts: str | pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _choice(rng: np.random.Generator, weights: tuple[float, ...], size: int) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return rng.choice(w.size, size, p=w / w.sum())


def _phi(x: np.ndarray) -> np.ndarray:
    return special.ndtr(x)


def _copula_beta(
    rng: np.random.Generator, z: np.ndarray, rho: float, a: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """Beta(a, b) draws whose normal scores correlate -rho with z: exact Beta marginals."""
    u = _phi(-rho * z + np.sqrt(1 - rho**2) * rng.standard_normal(z.size))
    return stats.beta.ppf(u, a, b)


class Ids:
    """Sequential identifiers per prefix, continuing across chunks, zero-padded."""

    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def take(self, prefix: str, count: int, width: int) -> pa.Array:
        start = self.next.get(prefix, 1)
        self.next[prefix] = start + count
        numbers = pa.array(np.arange(start, start + count, dtype=np.int64)).cast(pa.string())
        return _concat(prefix, pc.utf8_lpad(numbers, width, padding="0"))


class Landing:
    """One CSV drop file per raw table, appended chunk by chunk, with the contract's header."""

    def __init__(self, out: Path, drop: str) -> None:
        self.out = out
        self.drop = drop
        self.rows: dict[str, int] = {t.name: 0 for t in TABLES}
        self._open: dict[str, tuple[BinaryIO, pacsv.CSVWriter, pa.Schema]] = {}
        for t in TABLES:  # every table gets a file, even if a tiny run writes no rows to it
            self._writer(t)

    def _writer(self, t: Table) -> tuple[BinaryIO, pacsv.CSVWriter, pa.Schema]:
        if t.name not in self._open:
            schema = pa.schema([(c.name, ARROW_TYPES[c.type]) for c in t.columns])
            path = self.out / t.name / f"{self.drop}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = path.open("wb")
            fh.write((",".join(t.column_names) + "\n").encode())
            # quoting "none" fails loudly on a comma, quote or newline in a value, so the
            # files stay plain CSV that every reader parses the same way.
            options = pacsv.WriteOptions(include_header=False, quoting_style="none")
            self._open[t.name] = (fh, pacsv.CSVWriter(fh, schema, write_options=options), schema)
        return self._open[t.name]

    def write(self, name: str, columns: dict[str, pa.Array | np.ndarray]) -> None:
        t = next(t for t in TABLES if t.name == name)
        if set(columns) != set(t.column_names):
            raise ValueError(f"{name}: columns {sorted(columns)} != contract {t.column_names}")
        _, writer, schema = self._writer(t)
        arrays = [_arrow(columns[f.name], f.type) for f in schema]
        writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
        self.rows[name] += len(arrays[0])

    def close(self) -> None:
        for fh, writer, _ in self._open.values():
            writer.close()
            fh.close()
        self._open.clear()
