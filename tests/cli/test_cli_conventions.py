"""CLI conventions: --json prints one JSON object, exit codes 0/1/2, --help has examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from growthloop.cli import _register, app

_register()
runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_init_and_ingest_json(tmp_path: Path) -> None:
    code, out, _ = _run("init", str(tmp_path / "ws"), "--json")
    assert code == 0
    assert json.loads(out)["operational_revision"] == "0004"
    orders = tmp_path / "o.csv"
    orders.write_text(
        "order_id,customer_id,quantity,unit_price,ordered_at\n"
        "O1,C1,1,2.5,2024-01-01\nO2,C2,x,2.5,2024-01-01\n"
    )
    code, out, _ = _run("ingest", "orders", str(orders), "-w", str(tmp_path / "ws"), "--json")
    assert code == 0
    result = json.loads(out)
    assert (result["rows_read"], result["rows_loaded"], result["rows_rejected"]) == (2, 1, 1)
    assert result["rejected_by_reason"] == {"bad_quantity": 1}
    code, out, _ = _run("rejects", "-w", str(tmp_path / "ws"), "--json")
    assert json.loads(out)["rows"][0]["line"] == 3
    code, out, _ = _run("customer", "show", "C1", "-w", str(tmp_path / "ws"), "--json")
    assert code == 0 and json.loads(out)["canonical_id"] == "C1"


def test_user_error_exit_1_one_line(tmp_path: Path) -> None:
    code, out, err = _run(
        "ingest", "orders", str(tmp_path / "missing.csv"), "-w", str(tmp_path / "nowhere")
    )
    assert code == 1
    assert err.strip().startswith("error: no workspace at")
    assert len(err.strip().splitlines()) <= 2  # one message (Rich may wrap it)
    code, out, _ = _run(
        "ingest", "orders", str(tmp_path / "missing.csv"), "-w", str(tmp_path / "nowhere"), "--json"
    )
    assert code == 1 and json.loads(out)["error"]["type"] == "ConfigError"


def test_usage_error_exit_2(tmp_path: Path) -> None:
    assert _run("ingest", "widgets", "f.csv")[0] == 2
    assert _run("init", "--no-such-option")[0] == 2


@pytest.mark.parametrize(
    "command",
    [
        ["init"],
        ["ingest"],
        ["customer", "show"],
        ["rejects"],
        ["keys", "create"],
        ["keys", "list"],
        ["keys", "revoke"],
        ["serve"],
        ["events", "flush"],
        ["generate"],
        ["demo"],
        ["profile", "build"],
        ["segment", "create"],
        ["segment", "update"],
        ["cluster"],
    ],
)
def test_help_has_an_example(command: list[str]) -> None:
    code, out, _ = _run(*command, "--help")
    assert code == 0
    assert "Example" in out and "growthloop " in out
