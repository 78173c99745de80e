"""The dbt project handle, in a module of its own.

Importing the definitions needs `target/manifest.json`; this module does not, so
`dbt parse` / `dagster-dbt project prepare-and-package --file orchestration/project.py` can
run first.
"""

from __future__ import annotations

from dagster_dbt import DbtProject

from .settings import ROOT, dbt_target, export_environment

export_environment()

dbt_project = DbtProject(
    project_dir=ROOT,
    profiles_dir=ROOT,
    target=dbt_target(),
)
dbt_project.prepare_if_dev()  # runs `dbt parse` under `dagster dev` only
