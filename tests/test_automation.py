"""The landing sensor picks up a file only once it has stopped changing, and only once."""

from orchestration.automation import ready_changes, snapshot


def test_a_file_is_ready_after_one_stable_tick():
    cursor: dict = {}
    ready, cursor = ready_changes({"orders/2026-10-01.csv": [10, 1.0]}, cursor)
    assert ready == []  # first sight: maybe still being written
    ready, cursor = ready_changes({"orders/2026-10-01.csv": [20, 2.0]}, cursor)
    assert ready == []  # it grew: still being written
    ready, cursor = ready_changes({"orders/2026-10-01.csv": [20, 2.0]}, cursor)
    assert ready == ["orders/2026-10-01.csv"]
    ready, cursor = ready_changes({"orders/2026-10-01.csv": [20, 2.0]}, cursor)
    assert ready == []  # launched once, not again


def test_a_corrected_file_is_launched_again():
    cursor: dict = {}
    for state in ([5, 1.0], [5, 1.0]):
        ready, cursor = ready_changes({"customers/2026-10-01.csv": state}, cursor)
    assert ready == ["customers/2026-10-01.csv"]
    for state in ([7, 3.0], [7, 3.0]):
        ready, cursor = ready_changes({"customers/2026-10-01.csv": state}, cursor)
    assert ready == ["customers/2026-10-01.csv"]


def test_snapshot_ignores_partial_misnamed_and_unknown(tmp_path):
    (tmp_path / "orders").mkdir()
    (tmp_path / "nonsense").mkdir()
    for name in ("2026-10-01.csv", "2026-10-01_2.parquet", "2026-10-02.csv.part", "notes.txt"):
        (tmp_path / "orders" / name).write_text("x")
    (tmp_path / "nonsense" / "2026-10-01.csv").write_text("x")
    assert sorted(snapshot(tmp_path)) == ["orders/2026-10-01.csv", "orders/2026-10-01_2.parquet"]
