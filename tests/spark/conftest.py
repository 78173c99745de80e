"""The Spark tests run only when asked: `make test-spark` sets WH_TEST_SPARK=1.

They need dbt-spark and pyspark (requirements-spark.txt) and Java, start Spark inside the
test process and build every dbt model a second time, which takes many minutes on two
cores. Without WH_TEST_SPARK=1 pytest does not even collect them, so the main `make test`
neither imports pyspark nor lists them.
"""

from __future__ import annotations

import os

collect_ignore_glob = [] if os.environ.get("WH_TEST_SPARK") == "1" else ["test_*.py"]
