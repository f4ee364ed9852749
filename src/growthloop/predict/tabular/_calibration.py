"""Calibration of predicted probabilities: isotonic regression or Platt scaling.

``auto`` picks isotonic regression from 1,000 rows on and Platt (sigmoid) scaling below, as
scikit-learn advises (isotonic regression overfits small calibration sets). The calibrator is
fitted on out-of-fold predictions, so it learns from scores the model made on rows it had not
seen, the way scikit-learn's ``CalibratedClassifierCV(ensemble=False)`` does. Calibrated
probabilities are kept within [0.001, 0.999].
"""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from growthloop.errors import ModelError, NotFittedError

__all__ = ["CALIBRATION_METHODS", "Calibrator", "choose_calibration", "cross_fitted"]

CALIBRATION_METHODS = ("auto", "isotonic", "sigmoid", "none")
ISOTONIC_MIN_ROWS = 1000
_LOW, _HIGH = 0.001, 0.999


def choose_calibration(method: str, rows: int) -> str:
    """The calibration method to use for ``rows`` calibration rows."""
    if method not in CALIBRATION_METHODS:
        raise ModelError(
            f"calibration {method!r} is unknown; use one of {', '.join(CALIBRATION_METHODS)}"
        )
    if method == "auto":
        return "isotonic" if rows >= ISOTONIC_MIN_ROWS else "sigmoid"
    return method


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(p / (1 - p)), dtype=float)


class Calibrator:
    """Maps a model's raw probabilities to calibrated ones.

    Parameters
    ----------
    method : {"isotonic", "sigmoid", "none"}
    """

    def __init__(self, method: str = "isotonic") -> None:
        self.method = method

    def fit(self, p: np.ndarray, y: np.ndarray) -> Calibrator:
        if self.method == "isotonic":
            self.mapping_: IsotonicRegression | LogisticRegression | None = IsotonicRegression(
                y_min=0.0, y_max=1.0, out_of_bounds="clip"
            ).fit(p, y)
        elif self.method == "sigmoid":
            self.mapping_ = LogisticRegression(C=1e6).fit(_logit(p).reshape(-1, 1), y)
        elif self.method == "none":
            self.mapping_ = None
        else:
            raise ModelError(f"calibration {self.method!r} is unknown; use isotonic or sigmoid")
        return self

    def transform(self, p: np.ndarray) -> np.ndarray:
        if not hasattr(self, "mapping_"):
            raise NotFittedError(
                "This Calibrator instance is not fitted yet. Call 'fit' before 'transform'."
            )
        if self.mapping_ is None:
            out = p
        elif isinstance(self.mapping_, IsotonicRegression):
            out = self.mapping_.predict(p)
        else:
            out = self.mapping_.predict_proba(_logit(p).reshape(-1, 1))[:, 1]
        return np.asarray(np.clip(np.asarray(out, dtype=float), _LOW, _HIGH), dtype=float)


def cross_fitted(p: np.ndarray, y: np.ndarray, folds: np.ndarray, method: str) -> np.ndarray:
    """Calibrated out-of-fold probabilities, each fold calibrated by a calibrator fitted on
    the other folds (so evaluation never scores a calibrator on its own rows)."""
    out = np.empty_like(p, dtype=float)
    for fold in np.unique(folds):
        held = folds == fold
        out[held] = Calibrator(method).fit(p[~held], y[~held]).transform(p[held])
    return out
