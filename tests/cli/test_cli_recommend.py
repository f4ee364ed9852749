"""``growthloop recommend evaluate``: on interaction files and on a workspace; bad input gets one
clear line and exit code 1."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from growthloop.cli import _register, app

_register()
runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _log(seed: int, users: int = 120, days: int = 90) -> pd.DataFrame:
    """Two tastes: even users buy items 0..14, odd users items 15..29."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(users):
        base = 0 if user % 2 == 0 else 15
        for day in sorted(rng.choice(days, 10, replace=False)):
            rows.append({"user": f"u{user}", "item": f"sku-{base + int(rng.integers(0, 15))}",
                         "ts": pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(day))})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cli-recommend")
    log = _log(0)
    cut = pd.Timestamp("2024-03-01")
    log[log.ts < cut].to_csv(root / "train.csv", index=False)
    log[log.ts >= cut].to_parquet(root / "test.parquet")
    return root / "train.csv", root / "test.parquet"


def test_evaluate_files_prints_every_source_and_the_pipeline(files):
    train, test = files
    code, out, err = _run(
        "recommend", "evaluate", "--train", str(train), "--test", str(test), "--user-col", "user",
        "--item-col", "item", "--time-col", "ts", "--sources", "popular,cooccurrence,user_knn",
        "--bought", "allow", "--json",
    )
    assert code == 0, (out, err)
    payload = json.loads(out)
    (evaluation,) = payload["evaluations"]
    models = {r["model"]: r for r in evaluation["results"]}
    assert set(models) == {"pipeline", "popular", "cooccurrence", "user_knn"}
    assert models["popular"]["kind"] == "baseline"
    assert evaluation["k"] == 10 and evaluation["exclude_bought"] is False
    assert evaluation["split"]["method"] == "files"
    # Tastes are planted: personal sources beat popularity, which mixes both tastes.
    assert models["cooccurrence"]["recall"] > models["popular"]["recall"]
    assert 0 < models["pipeline"]["ndcg"] <= 1
    assert payload["train_rows"] + payload["test_rows"] == 1200


def test_evaluate_renders_a_table_for_people(files):
    train, test = files
    code, out, _ = _run(
        "recommend", "evaluate", "--train", str(train), "--test", str(test), "--user-col", "user",
        "--item-col", "item", "--sources", "popular,cooccurrence", "--bought", "exclude",
    )
    assert code == 0, out
    assert "already-bought items excluded" in out
    assert "pipeline NDCG@10" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--train", "{train}"], "give both --train and --test"),
        (["--sources", "popular,magic"], "unknown source(s) magic"),
        (["--item-col", "sku"], "column 'sku'"),
        (["--test", "{empty}"], "empty"),
    ],
)
def test_bad_input_gets_one_clear_line(files, tmp_path, args, message):
    train, test = files
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    values = {"train": str(train), "test": str(test), "empty": str(empty)}
    given = [a.format(**values) for a in args]
    base = {"--train": str(train), "--test": str(test), "--user-col": "user",
            "--item-col": "item"}
    for flag, value in zip(given[::2], given[1::2], strict=True):
        base[flag] = value
    if args[0] == "--train" and len(args) == 2:
        base.pop("--test")
    flat = [x for pair in base.items() for x in pair]
    code, out, err = _run("recommend", "evaluate", *flat, "--bought", "allow")
    assert code == 1, (out, err)
    assert message in " ".join(err.split()), err
    assert "Traceback" not in err


def test_evaluate_on_a_workspace(tmp_path):
    from growthloop import Workspace
    from growthloop.generate import WorldSpec, generate_world
    from growthloop.ingest import load_file, options_for

    world = generate_world(WorldSpec(customers=400, products=80, days=200, seed=5),
                           tmp_path / "world")
    with Workspace.init(tmp_path / "ws") as ws:
        for name in ("products", "customers", "orders", "events"):
            load_file(ws.analytical, name, world.files[name], options_for(name))
    code, out, err = _run(
        "recommend", "evaluate", "--workspace", str(tmp_path / "ws"), "--sources",
        "popular,cooccurrence,content", "--bought", "exclude", "--json",
    )
    assert code == 0, (out, err)
    (evaluation,) = json.loads(out)["evaluations"]
    models = {r["model"] for r in evaluation["results"]}
    assert models == {"pipeline", "popular", "cooccurrence", "content"}
    assert evaluation["split"]["method"] == "temporal"
    assert evaluation["split"]["test_users"] > 50


def test_evaluate_tunes_on_the_training_file_only(files):
    train, test = files
    code, out, err = _run(
        "recommend", "evaluate", "--train", str(train), "--test", str(test), "--user-col", "user",
        "--item-col", "item", "--time-col", "ts", "--sources", "popular,user_knn",
        "--bought", "allow", "--tune", "--tune-metric", "recall", "--json",
    )
    assert code == 0, (out, err)
    tuning = json.loads(out)["tuning"]
    assert tuning["metric"] == "recall" and set(tuning["chosen"]) == {"popular", "user_knn"}
    assert tuning["validation"]["method"] == "temporal"
    # the validation period ends before the test file starts (2024-03-01)
    assert tuning["validation"]["cutoff"] < "2024-03-01"
    trials = [t for t in tuning["trials"] if t["source"] == "user_knn"]
    assert [t["setting"] for t in trials] == [f"n_neighbours={n}" for n in (20, 50, 100)]
    assert sum(t["chosen"] for t in trials) == 1
    best = max(trials, key=lambda t: t["recall"])
    chosen = tuning["chosen"]["user_knn"]["n_neighbours"]
    assert best["chosen"] and best["setting"] == f"n_neighbours={chosen}"


def test_tune_metric_must_be_a_ranking_metric(files):
    train, test = files
    code, out, err = _run(
        "recommend", "evaluate", "--train", str(train), "--test", str(test), "--user-col", "user",
        "--item-col", "item", "--tune", "--tune-metric", "novelty",
    )
    assert code == 1, (out, err)
    assert "--tune-metric 'novelty' cannot choose a setting" in " ".join(err.split())
