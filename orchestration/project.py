"""The dbt project handle, in a module of its own.

Importing the definitions needs `target/manifest.json`; this module does not, so
`dbt parse` / `dagster-dbt project prepare-and-package --file orchestration/project.py` can
run first. It checks the settings on import (an invalid `WH_AS_OF` stops `make dev` and
every job there before any step, with its reason) and sets the variables the dbt subprocess
reads from them (`export_environment`).
"""

from __future__ import annotations

from dagster_dbt import DbtProject

from .settings import ROOT, Settings, export_environment

_SETTINGS = Settings.from_env()
export_environment(_SETTINGS)

dbt_project = DbtProject(
    project_dir=ROOT,
    profiles_dir=ROOT,
    target=_SETTINGS.dbt_target,
)
dbt_project.prepare_if_dev()  # runs `dbt parse` under `dagster dev` only
