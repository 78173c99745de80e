"""The dbt project handle, in a module of its own.

Importing the definitions needs `target/manifest.json`; this module does not, so
`dbt parse` / `dagster-dbt project prepare-and-package --file orchestration/project.py` can
run first. It resolves and checks the settings on import (an invalid `WH_AS_OF` stops
`make dev` and every job there before any step, with its reason), sets the variables the dbt
subprocess reads from them (`export_environment`) and keeps them as `SETTINGS`, which the
module-level definitions are built with: one resolution per process, not one here and one
there.
"""

from __future__ import annotations

from dagster_dbt import DbtProject

from .settings import ROOT, Settings, export_environment

SETTINGS = Settings.from_env()
export_environment(SETTINGS)

dbt_project = DbtProject(
    project_dir=ROOT,
    profiles_dir=ROOT,
    target=SETTINGS.dbt_target,
)
dbt_project.prepare_if_dev()  # runs `dbt parse` under `dagster dev` only
