"""Layers run one way (docs/layers.md): staging → core facts and dimensions → intermediate →
marts, and the Python assets read marts (the contracted `features_*` models among them), never
a staging or intermediate relation.

Read from dbt's manifest (`make test` runs `dbt parse` first) and from the Dagster
definitions (the dbt models a Python asset declares as `deps`, which is also what it reads:
every asset names its `INPUT_MODELS` there). A model in a folder no layer claims fails too,
so a new folder must be placed in the order before it can be used.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from orchestration.settings import ROOT

# (folder prefix, layer): the first prefix that matches wins, so marts/core comes before
# marts. A model may read its own layer or a lower one.
LAYERS = (
    ("models/staging/", 0),
    ("models/marts/core/", 1),
    ("models/intermediate/", 2),
    ("models/marts/", 3),
    ("models/semantic/", 3),  # MetricFlow's time spine, beside the marts BI reads
)
LAYER_NAMES = {0: "staging", 1: "core", 2: "intermediate", 3: "marts"}
FEATURES_FOLDER = "models/marts/features/"


def manifest_path() -> Path:
    return ROOT / os.environ.get("DBT_TARGET_PATH", "target") / "manifest.json"


@pytest.fixture(scope="module")
def manifest() -> dict:
    path = manifest_path()
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make parse` (dbt parse) first")
    return json.loads(path.read_text(encoding="utf-8"))


def layer_of(path: str) -> int:
    """The layer of a model file."""
    for prefix, layer in LAYERS:
        if path.startswith(prefix):
            return layer
    raise ValueError(f"{path}: no layer claims this folder (tests/test_layers.py, LAYERS)")


def layer_violations(manifest: dict) -> list[str]:
    """One line per ref from a model to a model of a higher layer, and per model in a folder
    no layer claims."""
    nodes = manifest["nodes"]
    problems = []
    for node in sorted(nodes.values(), key=lambda n: n["original_file_path"]):
        if node["resource_type"] != "model":
            continue
        try:
            layer = layer_of(node["original_file_path"])
        except ValueError as error:
            problems.append(str(error))
            continue
        for parent_id in node["depends_on"]["nodes"]:
            parent = nodes.get(parent_id)
            if parent is None or parent["resource_type"] != "model":
                continue  # sources, seeds, macros: below every layer
            try:
                parent_layer = layer_of(parent["original_file_path"])
            except ValueError:
                continue  # reported once, as a model of its own
            if parent_layer > layer:
                problems.append(
                    f"{node['name']} ({LAYER_NAMES[layer]}) reads {parent['name']} "
                    f"({LAYER_NAMES[parent_layer]})"
                )
    return problems


def test_no_model_reads_a_higher_layer(manifest):
    problems = layer_violations(manifest)
    assert not problems, "layers zig-zag (docs/layers.md):\n" + "\n".join(problems)


def test_every_layer_has_models(manifest):
    """Guards the test above against passing on an empty selection (a moved folder)."""
    layers = [
        layer_of(n["original_file_path"])
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model"
    ]
    assert all(layers.count(layer) >= 4 for layer in LAYER_NAMES), layers


def test_violations_are_found_and_named():
    """Negative control on a hand-made manifest: an intermediate model reading a mart, a core
    dimension reading an intermediate model and a model in an unknown folder are reported;
    a mart reading an intermediate and a core model and a seed is not."""

    def model(name: str, path: str, *parents: str) -> tuple[str, dict]:
        return f"model.p.{name}", {
            "resource_type": "model",
            "name": name,
            "original_file_path": path,
            "depends_on": {"nodes": list(parents)},
        }

    nodes = dict(
        [
            model("stg_orders", "models/staging/stg_orders.sql"),
            model("fct_orders", "models/marts/core/fct_orders.sql", "model.p.stg_orders"),
            model("customer_value", "models/marts/value/customer_value.sql", "model.p.fct_orders"),
            model("int_ranked", "models/intermediate/int_ranked.sql", "model.p.customer_value"),
            model("dim_managers", "models/marts/core/dim_managers.sql", "model.p.int_ranked"),
            model(
                "concentration",
                "models/marts/value/concentration.sql",
                "model.p.int_ranked",
                "model.p.fct_orders",
                "seed.p.weights",
            ),
            model("stray", "models/scratch/stray.sql", "model.p.stg_orders"),
        ]
    )
    nodes["seed.p.weights"] = {
        "resource_type": "seed",
        "name": "weights",
        "original_file_path": "seeds/weights.csv",
    }
    assert layer_violations({"nodes": nodes}) == [
        "int_ranked (intermediate) reads customer_value (marts)",
        "dim_managers (core) reads int_ranked (intermediate)",
        "models/scratch/stray.sql: no layer claims this folder (tests/test_layers.py, LAYERS)",
    ]


def test_features_are_public_contracted_and_documented(manifest):
    features = [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["original_file_path"].startswith(FEATURES_FOLDER)
    ]
    assert len(features) >= 5
    for node in features:
        assert node["name"].startswith("features_"), node["name"]
        assert node["access"] == "public", node["name"]
        assert node["contract"]["enforced"], node["name"]
        assert node["description"].strip(), node["name"]
        assert all(
            c.get("data_type") and c["description"].strip() for c in node["columns"].values()
        )
    # made for the Python assets: no model builds on them (a shared input is intermediate)
    readers = [
        f"{n['name']} reads {parent.split('.')[-1]}"
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model"
        for parent in n["depends_on"]["nodes"]
        if parent in {f["unique_id"] for f in features}
    ]
    assert not readers, readers


# --- the Python assets -------------------------------------------------------------------


@pytest.fixture(scope="module")
def python_asset_reads(manifest) -> dict[str, list[str]]:
    """Each Python asset (not a dbt model) and the staging or intermediate models among its
    upstream assets."""
    from dagster_dbt import get_asset_key_for_model

    from orchestration.assets.dbt import warehouse_dbt_assets
    from orchestration.definitions import build_definitions

    lower = {
        get_asset_key_for_model([warehouse_dbt_assets], n["name"]): n["name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model"
        and n["original_file_path"].startswith(("models/staging/", "models/intermediate/"))
    }
    graph = build_definitions(":memory:").resolve_asset_graph()
    dbt_keys = set(warehouse_dbt_assets.keys)
    reads = {
        key.to_user_string(): sorted(lower[p] for p in graph.get(key).parent_keys if p in lower)
        for key in graph.get_all_asset_keys()
        if key not in dbt_keys
    }
    assert len(reads) >= 20, "the definitions hold fewer Python assets than expected"
    return reads


def test_every_feature_model_is_read_by_a_python_asset(manifest):
    """A feature model exists for a Python asset: one that no asset reads any more is removed
    (six were, once `features_churn` computed the early-warning features in SQL)."""
    from dagster_dbt import get_asset_key_for_model

    from orchestration.assets.dbt import warehouse_dbt_assets
    from orchestration.definitions import build_definitions

    graph = build_definitions(":memory:").resolve_asset_graph()
    dbt_keys = set(warehouse_dbt_assets.keys)
    unread = [
        n["name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model"
        and n["original_file_path"].startswith(FEATURES_FOLDER)
        and not any(
            child not in dbt_keys
            for child in graph.get(
                get_asset_key_for_model([warehouse_dbt_assets], n["name"])
            ).child_keys
        )
    ]
    assert not unread, "no Python asset reads " + ", ".join(sorted(unread))


def test_python_assets_read_no_staging_or_intermediate_model(python_asset_reads):
    problems = [
        f"{asset} reads {', '.join(models)}"
        for asset, models in sorted(python_asset_reads.items())
        if models
    ]
    assert not problems, "read a features_* mart instead:\n" + "\n".join(problems)


# --- the before/after comparison a layer move is proved with (benchmarks/compare.py) --------


def test_compare_finds_changed_and_duplicated_rows_and_ignores_last_bits(tmp_path):
    """Left: rows (a, 1.0), (b, 2.0). Right: (a, 1.0000000001) — equal once rounded to 6
    places —, (b, 2.00001) — a different value —, and (b, 2.00001) again — a duplicate,
    which `EXCEPT ALL` counts. A table only on the right is new; one only on the left is
    missing."""
    import duckdb

    from benchmarks.compare import compare_warehouses

    left, right = tmp_path / "left.duckdb", tmp_path / "right.duckdb"
    with duckdb.connect(str(left)) as con:
        con.execute("create table t (k varchar, x double)")
        con.execute("insert into t values ('a', 1.0), ('b', 2.0)")
        con.execute("create table dropped (k varchar)")
        con.execute("create table same (k varchar, x double)")
        con.execute("insert into same values ('a', 0.5)")
    with duckdb.connect(str(right)) as con:
        con.execute("create table t (k varchar, x double)")
        con.execute("insert into t values ('a', 1.0000000001), ('b', 2.00001), ('b', 2.00001)")
        con.execute("create table added (k varchar)")
        con.execute("create table same (k varchar, x double)")
        con.execute("insert into same values ('a', 0.5000000001)")
    tables = [("main", "t"), ("main", "dropped"), ("main", "added"), ("main", "same")]
    results, missing, new = compare_warehouses(left, right, tables)
    by_name = {r.table: r for r in results}
    t = by_name["t"]
    assert (t.left_rows, t.right_rows, t.left_only, t.right_only) == (2, 3, 1, 2)
    assert not t.is_equal and t.left_checksum != t.right_checksum
    same = by_name["same"]
    assert same.is_equal and same.left_checksum == same.right_checksum
    assert missing == ["main.dropped"] and new == ["main.added"]


def test_compare_leaves_out_the_columns_dropped_on_purpose(tmp_path):
    """Left: (k, name, x) = (a, Alpha, 1.0). Right: the same row without `name`, and a view.
    Without `ignored` the tables cannot be compared (the columns differ); with `name`
    ignored they are equal; a value changed beside the dropped column is still found, and
    the view only the right holds is new."""
    import duckdb

    from benchmarks.compare import compare_warehouses

    left, right = tmp_path / "left.duckdb", tmp_path / "right.duckdb"
    with duckdb.connect(str(left)) as con:
        con.execute("create table t (k varchar, name varchar, x double)")
        con.execute("insert into t values ('a', 'Alpha', 1.0)")
        con.execute("create table u (k varchar, name varchar, x double)")
        con.execute("insert into u values ('a', 'Alpha', 1.0)")
    with duckdb.connect(str(right)) as con:
        con.execute("create table t (k varchar, x double)")
        con.execute("insert into t values ('a', 1.0)")
        con.execute("create table u (k varchar, x double)")
        con.execute("insert into u values ('a', 1.5)")
        con.execute("create view names as select 'a' as k, 'Alpha' as name")
    tables = [("main", "t"), ("main", "u"), ("main", "names")]
    with pytest.raises(ValueError, match=r"main\.t: the columns differ \(\['name'\]"):
        compare_warehouses(left, right, tables)
    ignored = {("main", "t"): frozenset({"name"}), ("main", "u"): frozenset({"name"})}
    results, missing, new = compare_warehouses(left, right, tables, ignored)
    by_name = {r.table: r for r in results}
    assert by_name["t"].is_equal and by_name["t"].left_rows == 1
    assert (by_name["u"].left_only, by_name["u"].right_only) == (1, 1)
    assert missing == [] and new == ["main.names"]
