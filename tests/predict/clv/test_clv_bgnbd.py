"""BetaGeoModel: recovery of simulated parameters, predictions, the estimator contract."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from growthloop.errors import ConvergenceError, ModelError, NotFittedError
from growthloop.predict.clv import BetaGeoModel, simulate_beta_geo

TRUE = {"r": 0.5, "alpha": 6.0, "a": 0.8, "b": 2.5}


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    T = np.random.default_rng(7).uniform(20.0, 60.0, 20_000)
    return simulate_beta_geo(20_000, **TRUE, T=T, seed=11)


@pytest.fixture(scope="module")
def fitted(simulated: pd.DataFrame) -> BetaGeoModel:
    return BetaGeoModel().fit(simulated["frequency"], simulated["recency"], simulated["T"])


def test_recovers_simulated_parameters(fitted: BetaGeoModel) -> None:
    for name, true in TRUE.items():
        estimate, se = fitted.params_[name], fitted.std_errors_[name]
        assert abs(estimate - true) < 4 * se, (name, estimate, se)
        assert abs(estimate - true) / true < 0.25, (name, estimate)


def test_weights_give_the_same_fit_as_repeated_rows(simulated: pd.DataFrame) -> None:
    head = simulated.iloc[:3000]
    grouped = head.groupby(["frequency", "recency", "T"]).size().reset_index(name="n")
    doubled = pd.concat([head, head])
    by_rows = BetaGeoModel().fit(doubled["frequency"], doubled["recency"], doubled["T"])
    by_weights = BetaGeoModel().fit(
        grouped["frequency"], grouped["recency"], grouped["T"], weights=2 * grouped["n"]
    )
    for name in TRUE:
        assert by_weights.params_[name] == pytest.approx(by_rows.params_[name], rel=1e-4)
    assert by_weights.log_likelihood_ == pytest.approx(by_rows.log_likelihood_, rel=1e-8)
    assert by_weights.n_customers_ == 6000


def test_probability_alive_is_a_probability(fitted: BetaGeoModel, simulated: pd.DataFrame) -> None:
    p = fitted.probability_alive(simulated["frequency"], simulated["recency"], simulated["T"])
    assert p.shape == (len(simulated),)
    assert np.all((p >= 0) & (p <= 1))
    # no repeat purchase: dropout has had no chance yet
    assert float(fitted.probability_alive(0, 0, 30.0)) == 1.0
    # a long silence since the last purchase lowers P(alive)
    assert fitted.probability_alive(5, 5.0, 50.0) < fitted.probability_alive(5, 45.0, 50.0)


def test_expected_purchases_increase_with_time(fitted: BetaGeoModel) -> None:
    t = np.linspace(0.0, 104.0, 30)
    conditional = fitted.expected_purchases(t, 3, 20.0, 39.0)
    unconditional = fitted.unconditional_expected_purchases(t)
    assert conditional[0] == pytest.approx(0.0, abs=1e-12)
    assert unconditional[0] == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.diff(conditional) > 0)
    assert np.all(np.diff(unconditional) > 0)


def test_predictions_match_simulated_future(fitted: BetaGeoModel) -> None:
    # E[X(t)] equals the mean count of customers simulated over t (fresh draw, true params)
    fresh = simulate_beta_geo(200_000, **TRUE, T=26.0, seed=3)
    model = BetaGeoModel.from_dict({**fitted.to_dict(), "params": TRUE})
    assert float(model.unconditional_expected_purchases(26.0)) == pytest.approx(
        fresh["frequency"].mean(), rel=0.02
    )


def test_next_purchase_time_is_the_lomax_median(fitted: BetaGeoModel) -> None:
    r, alpha = fitted.params_["r"], fitted.params_["alpha"]
    w = fitted.next_purchase_time(2, 10.0, 39.0)
    survival = ((alpha + 39.0) / (alpha + 39.0 + w)) ** (r + 2)
    assert float(survival) == pytest.approx(0.5)
    # more purchases -> sooner
    assert fitted.next_purchase_time(8, 38.0, 39.0) < w


def test_cumulative_forecast_sums_the_unconditional_curve(fitted: BetaGeoModel) -> None:
    starts = np.array([0.0, 0.0, 10.0])
    total = fitted.expected_cumulative_purchases([5.0, 20.0], starts)
    curve = fitted.unconditional_expected_purchases
    assert total[0] == pytest.approx(2 * float(curve(5.0)))
    assert total[1] == pytest.approx(2 * float(curve(20.0)) + float(curve(10.0)))


def test_summary_and_standard_errors(fitted: BetaGeoModel) -> None:
    summary = fitted.summary
    assert list(summary.index) == ["r", "alpha", "a", "b"]
    assert summary.index.name == "parameter"
    row = summary.loc["alpha"]
    assert row["lower_95"] < row["estimate"] < row["upper_95"]
    assert row["upper_95"] - row["estimate"] == pytest.approx(1.959964 * row["std_error"])


def test_unfitted_model_raises() -> None:
    with pytest.raises(NotFittedError, match="This BetaGeoModel instance is not fitted yet. "
                                             "Call 'fit'"):
        BetaGeoModel().probability_alive(1, 1.0, 2.0)
    with pytest.raises(NotFittedError):
        _ = BetaGeoModel().summary


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"penalizer": -0.1},
            r"penalizer=-0.1\) is invalid: penalizer must be a float in \[0, inf\)",
        ),
        ({"max_iter": 0}, r"max_iter=0\) is invalid: max_iter must be an int in \[1, inf\)"),
        ({"max_iter": 2.5}, r"max_iter=2.5\) is invalid"),
        ({"tol": 0.0}, r"tol=0.0\) is invalid: tol must be a float in \(0, 1\)"),
    ],
)
def test_hyperparameter_constraints(params: dict[str, float], message: str) -> None:
    model = BetaGeoModel(**params)  # type: ignore[arg-type]
    with pytest.raises(ModelError, match=message):
        model.fit([1, 0], [1.0, 0.0], [2.0, 2.0])


def test_get_and_set_params() -> None:
    model = BetaGeoModel(penalizer=0.01)
    assert model.get_params() == {"max_iter": 2000, "penalizer": 0.01, "tol": 1e-6}
    assert model.set_params(penalizer=0.1).penalizer == 0.1
    with pytest.raises(ModelError, match="'alpha' is not a hyperparameter"):
        model.set_params(alpha=1.0)


def test_no_repeat_buyers() -> None:
    with pytest.raises(ModelError, match="needs at least 1 repeat buyer.*got 0 among 3 customers"):
        BetaGeoModel().fit([0, 0, 0], [0.0, 0.0, 0.0], [5.0, 6.0, 7.0])


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "message"),
    [
        ([1, 2], [1.0, 8.0], [5.0, 6.0], r"recency\[1\] = 8.0 is greater than T\[1\] = 6.0"),
        ([1, -2], [1.0, 2.0], [5.0, 6.0], r"frequency\[1\] = -2.0 is not allowed"),
        ([1, 2], [1.0, float("nan")], [5.0, 6.0], r"recency\[1\] = nan is not allowed"),
        ([1, 2.5], [1.0, 2.0], [5.0, 6.0], r"frequency\[1\] = 2.5 is not a whole number"),
        ([0, 2], [1.0, 2.0], [5.0, 6.0], r"recency\[0\] = 1.0 with frequency\[0\] = 0"),
        ([1, 2], [1.0], [5.0, 6.0], "different lengths"),
        ([], [], [], "no customers"),
    ],
)
def test_bad_input(frequency: list[float], recency: list[float], T: list[float],
                   message: str) -> None:
    with pytest.raises(ModelError, match=message):
        BetaGeoModel().fit(frequency, recency, T)


def test_bad_weights() -> None:
    with pytest.raises(ModelError, match=r"weights\[0\] = -1.0 is not allowed"):
        BetaGeoModel().fit([1, 2], [1.0, 2.0], [5.0, 6.0], weights=[-1, 1])


def test_unidentified_fit_raises_convergence_error() -> None:
    # everybody buys every week and nobody drops out: a and b run off to their bounds
    frequency = np.full(50, 30.0)
    with pytest.raises(ConvergenceError, match="try a small penalizer"):
        BetaGeoModel().fit(frequency, np.full(50, 30.0), np.full(50, 30.0))


def test_penalizer_shrinks_the_parameters(simulated: pd.DataFrame) -> None:
    head = simulated.iloc[:2000]
    plain = BetaGeoModel().fit(head["frequency"], head["recency"], head["T"])
    shrunk = BetaGeoModel(penalizer=0.01).fit(head["frequency"], head["recency"], head["T"])
    norm = sum(v**2 for v in plain.params_.values())
    assert sum(v**2 for v in shrunk.params_.values()) < norm


def test_save_load_roundtrip(fitted: BetaGeoModel, tmp_path: Path) -> None:
    path = tmp_path / "bgnbd.json"
    fitted.save(path)
    data = json.loads(path.read_text())
    assert data["model"] == "BetaGeoModel"
    loaded = BetaGeoModel.load(path)
    assert loaded.params_ == fitted.params_
    assert loaded.std_errors_ == fitted.std_errors_
    assert loaded.log_likelihood_ == fitted.log_likelihood_
    np.testing.assert_array_equal(
        loaded.expected_purchases(10.0, [0, 3], [0.0, 20.0], [30.0, 39.0]),
        fitted.expected_purchases(10.0, [0, 3], [0.0, 20.0], [30.0, 39.0]),
    )
    with pytest.raises(ModelError, match="describes a 'BetaGeoModel', not a ParetoNBDModel"):
        from growthloop.predict.clv import ParetoNBDModel

        ParetoNBDModel.from_dict(data)


def test_initial_params(simulated: pd.DataFrame) -> None:
    head = simulated.iloc[:2000]
    model = BetaGeoModel().fit(
        head["frequency"], head["recency"], head["T"], initial_params={"r": 0.4, "alpha": 5.0}
    )
    assert math.isfinite(model.log_likelihood_)
    with pytest.raises(ModelError, match="unknown names"):
        BetaGeoModel().fit(head["frequency"], head["recency"], head["T"],
                           initial_params={"s": 1.0})


def test_optimiser_failure_says_what_to_try(simulated: pd.DataFrame) -> None:
    head = simulated.iloc[:2000]
    with pytest.raises(ConvergenceError, match=r"did not converge from 1 starting point\(s\) "
                                               r"\(.*\); try a small penalizer"):
        BetaGeoModel(max_iter=1).fit(head["frequency"], head["recency"], head["T"])


def test_sklearn_clone() -> None:
    from sklearn.base import clone

    model = clone(BetaGeoModel(penalizer=0.1))
    assert isinstance(model, BetaGeoModel)
    assert model.get_params()["penalizer"] == 0.1
    assert repr(model) == "BetaGeoModel(max_iter=2000, penalizer=0.1, tol=1e-06)"
