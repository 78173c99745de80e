"""The demo generator under its first name: `python -m orchestration.synthetic --customers 5000
--years 3 --seed 42 --out landing --truth truth` (the Makefile, the tests and the benchmarks
use it). The code is the package `orchestration.demo`; its docstring describes the firm."""

import sys

from .demo import DEFAULT_CHUNK_SIZE, DEFAULT_END_DATE, DESCRIPTION, Truth, generate, main

__all__ = ["DEFAULT_CHUNK_SIZE", "DEFAULT_END_DATE", "DESCRIPTION", "Truth", "generate", "main"]

if __name__ == "__main__":
    sys.exit(main())
