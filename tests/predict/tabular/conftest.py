"""A Telco-like labelled table and one classifier fitted on it, shared by the tabular tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from growthloop.predict.tabular import TabularClassifier, parse_label
from growthloop.predict.tabular.examples import telco_like_table


@pytest.fixture(scope="session")
def telco() -> pd.DataFrame:
    return telco_like_table(3000, seed=0)


@pytest.fixture(scope="session")
def telco_csv(tmp_path_factory: pytest.TempPathFactory, telco: pd.DataFrame) -> Path:
    path = tmp_path_factory.mktemp("telco") / "telco.csv"
    telco.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def fitted(telco: pd.DataFrame) -> TabularClassifier:
    y, positive, negative = parse_label(telco["Churn"])
    return TabularClassifier(id_column="customerID", label_column="Churn", seed=0).fit(
        telco, y, classes=(negative, positive)
    )
