"""The landing contract is consistent, and its document is the generated one."""

from orchestration import contract
from orchestration.settings import ROOT


def test_document_is_current():
    doc = (ROOT / "docs" / "landing-contract.md").read_text(encoding="utf-8")
    assert doc == contract.to_markdown(), (
        "docs/landing-contract.md is stale: python -m orchestration.contract > "
        "docs/landing-contract.md"
    )


def test_every_reference_points_at_a_key_column():
    for tbl in contract.TABLES:
        for col in tbl.columns:
            if col.references:
                target, column = col.references.split(".")
                assert contract.table(target).key == (column,), col.references


def test_load_order_puts_references_first():
    seen: set[str] = set()
    for tbl in contract.load_order():
        for col in tbl.columns:
            if col.references and col.references.split(".")[0] != tbl.name:
                assert col.references.split(".")[0] in seen
        seen.add(tbl.name)
    assert len(seen) == 21


def test_personal_data_is_marked():
    pii = {(t.name, c.name) for t in contract.TABLES for c in t.columns if c.pii}
    assert pii == {
        ("contacts", "contact_name"),
        ("contacts", "phone"),
        ("contacts", "email"),
        ("account_managers", "manager_name"),
    }
