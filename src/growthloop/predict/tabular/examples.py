"""A Telco-like customer table with a churn label, for examples, docs and tests.

Modelled on IBM's Telco Customer Churn sample (the column names and the messes it is known
for), generated with a seeded numpy ``Generator`` so it needs no download: ``TotalCharges`` is
text with blank strings for brand-new customers, Yes/No columns, a 0/1 ``SeniorCitizen``, an
id column and a constant ``Country``. Churn depends on contract type, tenure, monthly charges,
fibre internet, tech support and paperless billing, with noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["telco_like_table"]

_CONTRACTS = ("Month-to-month", "One year", "Two year")
_INTERNET = ("DSL", "Fiber optic", "No")
_PAYMENT = (
    "Electronic check",
    "Mailed check",
    "Bank transfer (automatic)",
    "Credit card (automatic)",
)


def _yes_no(flags: np.ndarray) -> np.ndarray:
    return np.where(flags, "Yes", "No")


def telco_like_table(rows: int = 3000, seed: int = 0) -> pd.DataFrame:
    """A messy, labelled churn table as text columns (what ``read_csv`` of a CSV would give).

    >>> table = telco_like_table(200, seed=1)
    >>> table["Churn"].isin(["Yes", "No"]).all(), (table["TotalCharges"] == " ").any()
    (np.True_, np.True_)
    """
    rng = np.random.default_rng(seed)
    contract = rng.choice(len(_CONTRACTS), size=rows, p=[0.55, 0.21, 0.24])
    tenure = np.where(contract == 0, rng.integers(0, 40, size=rows), rng.integers(0, 73, size=rows))
    tenure[rng.random(rows) < 0.02] = 0
    internet = rng.choice(len(_INTERNET), size=rows, p=[0.34, 0.44, 0.22])
    phone = rng.random(rows) < 0.9
    tech_support = (internet != 2) & (rng.random(rows) < 0.35)
    paperless = rng.random(rows) < 0.6
    monthly = np.round(
        20 + 25 * (internet == 0) + 50 * (internet == 1) + 8 * phone + rng.normal(0, 6, rows), 2
    ).clip(18.25, 118.75)
    total = np.round(monthly * tenure * rng.uniform(0.95, 1.05, rows), 2)
    senior = (rng.random(rows) < 0.16).astype(int)

    logit = (
        -0.2
        + 1.4 * (contract == 0)
        - 1.0 * (contract == 2)
        - 0.7 * np.log1p(tenure)
        + 0.8 * ((internet == 1) & (contract == 0))
        + 0.02 * (monthly - 65)
        + 0.6 * (internet == 1)
        - 0.5 * tech_support
        + 0.3 * paperless
        + 0.3 * senior
        + rng.normal(0, 0.5, rows)
    )
    churn = rng.random(rows) < 1 / (1 + np.exp(-logit))

    ids = [
        f"{n:04d}-{''.join(rng.choice(list('ABCDEFGHIJKLMNOPQRSTUVWXYZ'), 5))}"
        for n in rng.permutation(10_000)[:rows]
    ]
    internet_label = np.array(_INTERNET)[internet]
    no_internet = internet == 2
    return pd.DataFrame(
        {
            "customerID": ids,
            "gender": rng.choice(["Female", "Male"], size=rows),
            "SeniorCitizen": senior.astype(str),
            "Partner": _yes_no(rng.random(rows) < 0.48),
            "Dependents": _yes_no(rng.random(rows) < 0.3),
            "tenure": tenure.astype(str),
            "PhoneService": _yes_no(phone),
            "InternetService": internet_label,
            "OnlineSecurity": np.where(
                no_internet, "No internet service", _yes_no(rng.random(rows) < 0.3)
            ),
            "TechSupport": np.where(no_internet, "No internet service", _yes_no(tech_support)),
            "Contract": np.array(_CONTRACTS)[contract],
            "PaperlessBilling": _yes_no(paperless),
            "PaymentMethod": rng.choice(_PAYMENT, size=rows, p=[0.34, 0.23, 0.22, 0.21]),
            "MonthlyCharges": [f"{m:.2f}" for m in monthly],
            "TotalCharges": [
                " " if t == 0 else f"{v:.2f}" for t, v in zip(tenure, total, strict=True)
            ],
            "Country": "US",
            "Churn": _yes_no(churn),
        }
    )
