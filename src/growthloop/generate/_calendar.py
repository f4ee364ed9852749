"""Seasonality of the window and sampling of event times from it.

Times are float days since the window start (UTC midnight) until they are written out.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = ["CAMPAIGN_EVERY_DAYS", "TIMESTAMP", "Calendar"]

TIMESTAMP = pa.timestamp("us", tz="UTC")

CAMPAIGN_EVERY_DAYS = 14
# Relative activity by month (January first), by weekday (Monday first) and by local hour.
_MONTH = np.array([0.85, 0.85, 0.95, 0.95, 1.0, 0.95, 0.9, 0.9, 1.0, 1.05, 1.45, 1.6])
_WEEKDAY = np.array([0.9, 0.9, 0.95, 0.95, 1.0, 1.2, 1.25])
_HOUR = np.array([0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.6, 0.9, 1.0, 1.0, 1.1,
                  1.3, 1.2, 1.0, 1.0, 1.1, 1.3, 1.6, 1.9, 2.0, 1.8, 1.2, 0.6])
_HOUR_CDF = np.cumsum(_HOUR) / _HOUR.sum()


def _profile(first: np.datetime64, days: int, gifting: bool) -> npt.NDArray[np.float64]:
    """Daily multiplicative activity factors (not normalised)."""
    dates = first + np.arange(days)
    month = (dates.astype("M8[M]") - dates.astype("M8[Y]")).astype(np.int64)
    day = (dates - dates.astype("M8[M]")).astype(np.int64) + 1
    weekday = (dates.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    factor = _WEEKDAY[weekday].astype(np.float64)
    november, december = month == 10, month == 11
    if gifting:
        season = np.full(days, 0.05)  # gift buyers hardly shop outside the gifting season
        season[(november & (day >= 10)) | (december & (day <= 22))] = 8.0
        season[(month == 1) & (day <= 14)] = 1.5
        season[(month == 4) & (day <= 12)] = 1.5
    else:
        season = _MONTH[month].astype(np.float64)
        season[(november & (day >= 24)) | (december & (day == 1))] *= 1.3  # Black Friday
    season[december & (day >= 24) & (day <= 26)] *= 0.6
    daily: npt.NDArray[np.float64] = factor * season
    return daily


def _normalised(first: np.datetime64, days: int, gifting: bool) -> npt.NDArray[np.float64]:
    """Daily factors scaled so that a plain calendar year averages 1."""
    reference = float(_profile(np.datetime64("2023-01-01"), 365, gifting).mean())
    return _profile(first, days, gifting) / reference


class Calendar:
    """Seasonal intensity of the window for the standard and the gifting profile."""

    def __init__(self, start: date, days: int) -> None:
        self.days = days
        self.first = np.datetime64(start.isoformat(), "D")
        self.profiles = np.stack([_normalised(self.first, days, g) for g in (False, True)])
        self.cumulative = np.concatenate(
            [np.zeros((2, 1)), np.cumsum(self.profiles, axis=1)], axis=1
        )
        self.grid = np.arange(days + 1, dtype=np.float64)
        self.year = start.year
        self.start_seconds = int(self.first.astype("M8[s]").astype(np.int64))
        self.end_seconds = days * 86_400

    def timestamps(
        self, seconds: npt.NDArray[np.int64], mask: npt.NDArray[np.bool_] | None = None
    ) -> pa.Array:
        """UTC timestamps of whole seconds since the window start (null where ``mask``)."""
        micros = (np.asarray(seconds, dtype=np.int64) + self.start_seconds) * 1_000_000
        return pa.array(micros, type=TIMESTAMP, mask=mask)

    def intensity(
        self, profile: npt.NDArray[np.int64], at: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        """Cumulative seasonal intensity (in average-days) from the window start to ``at``."""
        out = np.empty(len(at))
        for k in (0, 1):
            rows = profile == k
            out[rows] = np.interp(at[rows], self.grid, self.cumulative[k])
        return out

    def campaign_days(self) -> npt.NDArray[np.float64]:
        """Send times of the email campaigns: every other Tuesday, 09:00 UTC."""
        weekday = (int(self.first.astype(np.int64)) + 3) % 7
        first_tuesday = (1 - weekday) % 7 + 7 * ((1 - weekday) % 7 < 2)
        sends = np.arange(first_tuesday, self.days, CAMPAIGN_EVERY_DAYS, dtype=np.float64)
        return sends + 9.0 / 24.0

    def sample_times(
        self,
        rng: np.random.Generator,
        profile: npt.NDArray[np.int64],
        begin: npt.NDArray[np.float64],
        end: npt.NDArray[np.float64],
        rate_per_day: npt.NDArray[np.float64],
        utc_offset_hours: npt.NDArray[np.float64],
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Times of a seasonal Poisson process on ``[begin, end)`` for each row.

        Returns the row index of each event and its time; events fall at local hours weighted
        towards lunchtime and the evening.
        """
        low = self.intensity(profile, begin)
        high = self.intensity(profile, np.maximum(begin, end))
        counts = rng.poisson(rate_per_day * (high - low))
        row = np.repeat(np.arange(len(begin), dtype=np.int64), counts)
        target = low[row] + rng.random(len(row)) * (high - low)[row]
        when = np.empty(len(row))
        for k in (0, 1):
            rows = profile[row] == k
            when[rows] = np.interp(target[rows], self.cumulative[k], self.grid)
        hour = np.searchsorted(_HOUR_CDF, rng.random(len(row)), side="right")
        local = np.floor(when) + (hour + rng.random(len(row))) / 24.0
        shifted = local - utc_offset_hours[row] / 24.0
        inside = (shifted >= begin[row]) & (shifted < end[row])
        return row, np.where(inside, shifted, when)
