"""Column detection and its report, label parsing, and the feature-set check at scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from growthloop.errors import ModelError
from growthloop.predict.tabular import TabularClassifier, parse_label, plan_columns


def test_column_report_on_a_telco_like_table(telco: pd.DataFrame) -> None:
    plan = plan_columns(telco, id_column="customerID", label_column="Churn")
    report = {c["column"]: (c["role"], c["detected"], c["action"]) for c in plan.report()}
    blanks = int((telco["TotalCharges"] == " ").sum())
    assert blanks > 0
    assert report["customerID"] == ("id", "id", "kept as the row id, not a feature")
    assert report["Churn"][:2] == ("label", "label")
    assert report["TotalCharges"] == (
        "feature",
        "numeric",
        f"numeric feature; {blanks} blank strings read as missing",
    )
    assert report["tenure"] == ("feature", "numeric", "numeric feature")
    assert report["Partner"] == ("feature", "boolean", "boolean feature (Yes/No → 1/0)")
    assert report["SeniorCitizen"] == ("feature", "boolean", "boolean feature")
    assert report["Contract"] == ("feature", "categorical", "categorical feature, 3 levels")
    assert report["Country"] == ("dropped", "constant", "dropped: constant ('US')")
    assert plan.feature_set()[0] == {
        "name": "gender",
        "dtype": "categorical",
        "levels": ["Female", "Male"],
    }


def test_messy_columns() -> None:
    n = 60
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "ref": [f"R{i:03d}" for i in range(n)],  # id-like text
            "row_id": np.arange(n),  # id-like integers
            "flag": rng.choice(["True", "False"], n),
            "opted": rng.choice([" yes", "NO "], n),
            "spend": [f"{v:.1f}" if i != 3 else "n/a" for i, v in enumerate(rng.random(n))],
            "joined": pd.date_range("2024-01-01", periods=n).strftime("%Y-%m-%d"),
            "empty": [""] * n,
            "city": rng.choice(["Leeds", "York", "Bath"], n).astype(object),
            "rare": ["A"] * 50 + ["B"] * 8 + ["C", "D"],
        }
    )
    frame.loc[0, "city"] = " "
    plan = plan_columns(frame)
    detected = {c.name: (c.role, c.kind) for c in plan.columns}
    assert detected == {
        "ref": ("dropped", "id-like"),
        "row_id": ("dropped", "id-like"),
        "flag": ("feature", "boolean"),
        "opted": ("feature", "boolean"),
        "spend": ("feature", "numeric"),
        "joined": ("dropped", "date"),
        "empty": ("dropped", "empty"),
        "city": ("feature", "categorical"),
        "rare": ("feature", "categorical"),
    }
    specs = {c.name: c for c in plan.columns}
    assert specs["city"].levels[-1] == "(missing)"
    assert specs["rare"].levels == ("A", "B", "(other)")
    X, _ = plan.transform(frame)
    assert X["opted"].isin([0.0, 1.0]).all() and np.isnan(X["spend"][3])
    assert X["rare"].tolist()[-2:] == ["(other)", "(other)"]


@pytest.mark.parametrize(
    ("values", "positive", "expected"),
    [
        (["Yes", "No", "yes "], None, [1, 0, 1]),
        (["1", "0", "0"], None, [1, 0, 0]),
        (["True", "False", "TRUE"], None, [1, 0, 1]),
        (["gold", "silver", "bronze"], "gold", [1, 0, 0]),
    ],
)
def test_label_parsing(values: list[str], positive: str | None, expected: list[int]) -> None:
    y, *_ = parse_label(pd.Series(values, name="Churn"), target_positive=positive)
    assert y.tolist() == expected


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            ["Yes", "Yes"],
            r"label 'Churn' has one class only: all 2 rows are 'Yes' \(all customers "
            r"churned\); a classifier needs examples of both classes",
        ),
        (["Yes", "", "No"], r"label 'Churn' is missing in 1 rows \(file lines 3, \.\.\.\)"),
        (
            ["Yes", "No", "Maybe"],
            r"label 'Churn' has values 'Maybe', 'No', 'Yes'; expected Yes/No.*"
            r"--target-positive",
        ),
    ],
)
def test_label_errors(values: list[str], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        parse_label(pd.Series(values, name="Churn"))


def test_scoring_checks_the_feature_set(fitted: TabularClassifier, telco: pd.DataFrame) -> None:
    rows = telco.head(20).drop(columns=["Churn"])
    with pytest.raises(
        ModelError, match=r"lacks 2 feature column\(s\) the model was trained on: tenure, Contract"
    ):
        fitted.prepare(rows.drop(columns=["tenure", "Contract"]))
    bad = rows.assign(tenure=["many"] * 20)
    with pytest.raises(
        ModelError,
        match=r"column 'tenure' was numeric in training but has 20 "
        r"non-numeric values \('many'\)",
    ):
        fitted.prepare(bad)
    with pytest.raises(ModelError, match=r"column 'Partner' was boolean \(yes/no\) in training"):
        fitted.prepare(rows.assign(Partner=["Maybe"] * 20))
    # Extra columns are ignored with a note; unseen categories become missing, not a crash.
    odd = rows.assign(extra="x", Contract=["Three year"] * 2 + rows["Contract"].tolist()[2:])
    X, notes = fitted.prepare(odd)
    assert notes.ignored_columns == ["extra"] and notes.unseen == {"Contract": 2}
    assert X["Contract"].isna().sum() == 2
    proba = fitted.predict_proba(odd)[:, 1]
    assert np.isfinite(proba).all() and ((proba > 0) & (proba < 1)).all()
    reasons = fitted.explain(X.head(2))
    assert all(len(r) == 3 for r in reasons)


def test_a_pandas_bool_column_is_planned_and_applied_as_boolean() -> None:
    frame = pd.DataFrame(
        {
            "opted_in": pd.array([True, False, True, None, False], dtype="boolean"),
            "flag": [True, False, False, True, True],
            "spend": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    plan = plan_columns(frame)
    kinds = {s.name: s.kind for s in plan.features}
    assert kinds == {"opted_in": "boolean", "flag": "boolean", "spend": "numeric"}
    X, _ = plan.transform(frame)
    assert X["flag"].tolist() == [1.0, 0.0, 0.0, 1.0, 1.0]
    assert X["opted_in"].tolist()[:3] == [1.0, 0.0, 1.0] and np.isnan(X["opted_in"].iloc[3])
    with pytest.raises(ModelError, match=r"column 'flag' was boolean \(1/0\) in training"):
        plan.transform(frame.assign(flag=[2, 0, 1, 1, 0]))
    # The same column read with blanks (object dtype: True/False/None) still applies.
    with_blank = frame.assign(flag=pd.Series([True, None, False, True, False], dtype="object"))
    X, _ = plan.transform(with_blank)
    assert X["flag"].iloc[[0, 2, 3, 4]].tolist() == [1.0, 0.0, 1.0, 0.0]
