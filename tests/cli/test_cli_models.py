"""``growthloop train``, ``score`` and ``models``: --json prints one object and exits 0, user
errors exit 1 with one line, every command's --help has an example."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from growthloop.cli import _register, app
from growthloop.predict.tabular.examples import telco_like_table

_register()
runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _json(*args: str) -> dict:
    code, out, err = _run(*args, "--json")
    assert code == 0, (out, err)
    assert len(out.strip().splitlines()) == 1
    return json.loads(out)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cli-models")
    table = telco_like_table(1500, seed=3)
    table.to_csv(root / "telco.csv", index=False)
    new = telco_like_table(40, seed=4).drop(columns=["Churn"]).assign(comment="new")
    new.to_csv(root / "new.csv", index=False)
    ws = root / "ws"
    assert _run("init", str(ws), "--json")[0] == 0
    return root, ws


def test_train_score_and_registry(trained: tuple[Path, Path]) -> None:
    root, ws = trained
    w = ("-w", str(ws))
    common = ("--file", str(root / "telco.csv"), "--label-col", "Churn", "--id-col", "customerID")
    first = _json("train", "churn", *common, "--folds", "3", *w)
    assert first["model"] == {
        "name": "churn",
        "version": 1,
        "kind": "churn",
        "status": "promoted",
        "artifact_path": "churn/v1",
    }
    assert set(first["cross_validation"]) == {"lightgbm", "logistic"}
    assert first["chosen"] in ("lightgbm", "logistic")
    report = {c["column"]: c["detected"] for c in first["columns"]}
    assert report["TotalCharges"] == "numeric" and report["Country"] == "constant"

    second = _json("train", "churn", *common, "--folds", "3", "--model", "lightgbm", *w)
    assert (second["model"]["version"], second["model"]["status"]) == (2, "candidate")
    assert list(second["cross_validation"]) == ["lightgbm"]

    listed = _json("models", "list", *w)
    assert [(m["version"], m["status"]) for m in listed["models"]] == [
        (1, "promoted"),
        (2, "candidate"),
    ]
    assert _json("models", "promote", "churn", "2", *w) == {
        "name": "churn",
        "version": 2,
        "status": "promoted",
    }
    shown = _json("models", "show", "churn", *w)
    assert shown["version"] == 2 and shown["data_fingerprint"].startswith("sha256:")
    assert {f["name"] for f in shown["features"]} >= {"tenure", "Contract", "TotalCharges"}
    assert "lightgbm" in shown["library_versions"]
    assert [p["action"] for p in shown["promotion_history"]] == ["promote", "promote"]

    out = root / "scores.csv"
    scored = _json("score", "--file", str(root / "new.csv"), "--output", str(out), *w)
    assert scored["model"] == {"name": "churn", "version": 2} and scored["rows"] == 40
    assert scored["notes"] == ["ignored 1 column(s) the model does not use: comment"]
    scores = pd.read_csv(out)
    assert list(scores.columns) == [
        "customerID",
        "probability",
        "reason_1",
        "reason_2",
        "reason_3",
    ]
    assert scores["probability"].between(0, 1).all()
    parquet = _json(
        "score",
        "--file",
        str(root / "new.csv"),
        "--output",
        str(root / "s.parquet"),
        "--version",
        "1",
        *w,
    )
    assert parquet["model"]["version"] == 1

    assert _json("models", "rollback", "churn", *w)["version"] == 1
    code, _, err = _run("models", "rollback", "churn", *w)
    assert code == 1
    assert err.startswith("error: model 'churn' has no earlier promoted version")
    code, out_text, _ = _run("models", "rollback", "churn", *w, "--json")
    assert code == 1 and json.loads(out_text)["error"]["type"] == "ModelError"


def test_user_errors_are_one_line(trained: tuple[Path, Path], tmp_path: Path) -> None:
    root, ws = trained
    w = ("-w", str(ws))
    bad = tmp_path / "one-class.csv"
    telco_like_table(100).assign(Churn="Yes").to_csv(bad, index=False)
    code, _, err = _run("train", "churn", "--file", str(bad), "--label-col", "Churn", *w)
    assert code == 1
    assert err.strip().startswith("error: label 'Churn' has one class only")
    code, _, err = _run(
        "train", "churn", "--file", str(root / "telco.csv"), "--label-col", "Exited", *w
    )
    assert code == 1 and "label column 'Exited' is not in telco.csv" in err
    missing = tmp_path / "missing-cols.csv"
    pd.read_csv(root / "new.csv").drop(columns=["tenure"]).to_csv(missing, index=False)
    code, _, err = _run("score", "--file", str(missing), "--output", str(tmp_path / "o.csv"), *w)
    assert code == 1 and "lacks 1 feature column(s) the model was trained on: tenure" in err
    code, _, err = _run("models", "show", "nope", *w)
    assert code == 1 and err.startswith("error: no model named 'nope'")
    code, out, _ = _run("models", "show", "churn", "--version", "9", *w, "--json")
    assert code == 1 and json.loads(out)["error"]["type"] == "NotFoundError"


@pytest.mark.parametrize(
    "command",
    [
        ["train", "churn"],
        ["train", "propensity"],
        ["score"],
        ["models", "list"],
        ["models", "show"],
        ["models", "promote"],
        ["models", "rollback"],
    ],
)
def test_help_has_an_example(command: list[str]) -> None:
    code, out, _ = _run(*command, "--help")
    assert code == 0
    assert "Example" in out and "growthloop " in out
