"""CLV training refuses what it cannot fit, and says why."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from growthloop import Workspace
from growthloop.cli import _register, app
from growthloop.errors import ModelError
from growthloop.ingest import load_file, options_for
from growthloop.predict.lifetime import MIN_REPEAT_BUYERS, train_clv

_register()


def _load_cdnow_lines(ws: Workspace, tmp_path: Path, lines: list[str]) -> None:
    """Orders in the CDNOW layout: customer, YYYYMMDD, CDs, dollars."""
    path = tmp_path / "orders.txt"
    path.write_text("\n".join(lines) + "\n")
    load_file(ws.analytical, "orders", path, options_for("orders", preset="cdnow"))


def _train(ws: Workspace, **options: object) -> None:
    train_clv(
        analytical=ws.analytical,
        operational=ws.operational,
        models_dir=ws.models_dir,
        **options,  # type: ignore[arg-type]
    )


def test_too_few_repeat_buyers(workspace: Workspace, tmp_path: Path) -> None:
    # 12 customers, 3 of whom come back (all within January)
    lines = [f"{c} 199701{c + 10:02d} 1 10.00" for c in range(1, 13)]
    lines += [f"{c} 199701{c + 15:02d} 1 12.00" for c in range(1, 4)]
    _load_cdnow_lines(workspace, tmp_path, lines)
    with pytest.raises(ModelError) as refused:
        _train(workspace, holdout_days=0)
    assert str(refused.value) == (
        "the data (to 1997-01-22) has 3 repeat buyer(s) (customers who bought on a second day) "
        f"among 12 customers; CLV models need at least {MIN_REPEAT_BUYERS} — load more orders "
        "or choose a later --calibration-end"
    )
    with pytest.raises(ModelError, match=r"^the calibration period \(to 1997-01-12\) has 0 "):
        _train(workspace, calibration_end=date(1997, 1, 12))


def test_calibration_end_outside_the_data(workspace: Workspace, tmp_path: Path) -> None:
    _load_cdnow_lines(workspace, tmp_path, ["1 19970105 1 10.00", "1 19970301 2 20.00"])
    expected = (
        "calibration end {} is outside the data: purchases run from 1997-01-05 to 1997-03-01; "
        "pick a calibration end in that range (the last day leaves no holdout)"
    )
    for day in (date(1996, 12, 31), date(1997, 3, 2)):
        with pytest.raises(ModelError) as refused:
            _train(workspace, calibration_end=day)
        assert str(refused.value) == expected.format(day.isoformat())
    with pytest.raises(ModelError, match="not both"):
        _train(workspace, calibration_end=date(1997, 2, 1), holdout_days=10)
    with pytest.raises(ModelError, match="^calibration end 1996-10-02 is outside the data"):
        _train(workspace, holdout_days=150)


def test_no_sale_lines(workspace: Workspace) -> None:
    with pytest.raises(ModelError, match="the workspace has no purchases; load orders first"):
        _train(workspace)
    result = CliRunner().invoke(
        app, ["train", "clv", "-w", str(workspace.root), "--json"]
    )
    assert result.exit_code == 1
    assert json.loads(result.output)["error"]["type"] == "ModelError"
