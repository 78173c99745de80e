"""The PostgreSQL tests run only when asked: `make test-postgres` sets WH_TEST_POSTGRES=1.

They start a private PostgreSQL cluster (the server binaries of the Debian package
`postgresql`), need dbt-postgres, and build every dbt model a second time, so the main
`make test` skips them; the skip comes before any fixture, so it costs nothing.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _only_when_asked():
    if os.environ.get("WH_TEST_POSTGRES") != "1":
        pytest.skip("PostgreSQL tests: run `make test-postgres` (WH_TEST_POSTGRES=1)")
