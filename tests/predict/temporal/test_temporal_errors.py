"""Clear errors when the data cannot support a temporal model."""

from __future__ import annotations

from pathlib import Path

import pytest

from growthloop import Workspace
from growthloop.errors import ModelError
from growthloop.ingest import load_file, options_for
from growthloop.predict.temporal import Target, train_on_profiles


def _shop(ws: Workspace, tmp: Path, customers: int) -> None:
    """``customers`` who each buy once in January 2024, and one who buys again in December."""
    rows = ["order_id,customer_id,product_id,quantity,unit_price,ordered_at"]
    rows += [f"O{i},C{i},P1,1,10.00,2024-01-{1 + i % 28:02d} 10:00:00" for i in range(customers)]
    rows.append("O999999,C0,P1,1,10.00,2024-12-30 10:00:00")
    path = tmp / "orders.csv"
    path.write_text("\n".join(rows) + "\n")
    load_file(ws.analytical, "orders", path, options_for("orders"))


def _train(ws: Workspace) -> None:
    train_on_profiles(
        analytical=ws.analytical,
        operational=ws.operational,
        models_dir=ws.models_dir,
        target=Target("churn", 90),
    )


def test_everyone_churned(workspace: Workspace, tmp_path: Path) -> None:
    _shop(workspace, tmp_path, 150)
    with pytest.raises(ModelError) as error:
        _train(workspace)
    assert str(error.value) == (
        "all 150 customers with at least one purchase before 2024-04-05 churned: nobody bought "
        "in the 90 days after 2024-04-05 (train snapshot); a model needs both outcomes — choose "
        "other cutoffs or another --horizon-days"
    )


def test_too_few_customers(workspace: Workspace, tmp_path: Path) -> None:
    _shop(workspace, tmp_path, 30)
    with pytest.raises(ModelError) as error:
        _train(workspace)
    assert str(error.value).startswith(
        "the train snapshot (cutoff 2024-04-05) has only 30 customers with at least one purchase "
        "before 2024-04-05; churn training needs at least 100 in each snapshot"
    )


def test_no_purchases(workspace: Workspace) -> None:
    with pytest.raises(ModelError, match="the workspace has no purchases; load orders first"):
        _train(workspace)
