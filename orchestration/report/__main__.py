"""`python -m orchestration.report --database PATH --out PATH --language en [--as-of DATE]`."""

from __future__ import annotations

import argparse
import datetime as dt

from ..settings import Settings
from .builder import build_report
from .i18n import LANGUAGES


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m orchestration.report",
        description="Write the loyalty and due-diligence report (one offline HTML file).",
    )
    parser.add_argument("--database", required=True, help="DuckDB warehouse, opened read-only")
    parser.add_argument("--out", required=True, help="HTML file to write")
    parser.add_argument("--language", choices=LANGUAGES, default="zh")
    parser.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        default=None,
        help="reporting date YYYY-MM-DD (default: the date the marts were built for)",
    )
    arguments = parser.parse_args(argv)
    path = build_report(
        arguments.database,
        arguments.out,
        arguments.language,
        arguments.as_of,
        duckdb_config=Settings.from_env().duckdb_config(),
    )
    print(path)


if __name__ == "__main__":
    main()
