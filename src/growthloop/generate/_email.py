"""Email campaigns: who is sent each one, who opens and who clicks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from growthloop.generate._calendar import Calendar
from growthloop.generate._segments import Latent

__all__ = ["AFTER_CHURN_OPENS", "EmailActivity", "simulate_emails"]

AFTER_CHURN_OPENS = 0.5  # churned customers open this share of what they used to
_OPEN_DELAY_DAYS = 5.0 / 24.0
_CLICK_DELAY_SECONDS = 600.0


@dataclass(frozen=True)
class EmailActivity:
    """One row per email event (sent, opened or clicked) of a chunk."""

    customer: npt.NDArray[np.int64]
    campaign: npt.NDArray[np.int64]
    stage: npt.NDArray[np.int64]  # 0 sent, 1 opened, 2 clicked
    day: npt.NDArray[np.float64]

    @property
    def clicks(self) -> npt.NDArray[np.bool_]:
        """Which rows are clicks."""
        clicked: npt.NDArray[np.bool_] = self.stage == 2
        return clicked


def simulate_emails(
    rng: np.random.Generator,
    calendar: Calendar,
    latent: Latent,
    created_day: npt.NDArray[np.float64],
    dropout_day: npt.NDArray[np.float64],
) -> EmailActivity:
    """Send every campaign to the opted-in customers signed up by then."""
    sends = calendar.campaign_days()
    eligible = latent.opt_in[:, None] & (sends[None, :] > created_day[:, None])
    customer, campaign = np.nonzero(eligible)
    customer = customer.astype(np.int64)
    campaign = campaign.astype(np.int64)
    sent = sends[campaign]
    m = len(customer)
    after_churn = sent >= dropout_day[customer]
    open_chance = latent.open_rate[customer] * np.where(after_churn, AFTER_CHURN_OPENS, 1.0)
    opened_at = sent + rng.exponential(_OPEN_DELAY_DAYS, m)
    opened = (rng.random(m) < open_chance) & (opened_at < calendar.days)
    clicked_at = opened_at + (30.0 + rng.exponential(_CLICK_DELAY_SECONDS, m)) / 86_400.0
    clicked = opened & (rng.random(m) < latent.click_rate[customer]) & (clicked_at < calendar.days)
    stage = np.repeat([0, 1, 2], [m, int(opened.sum()), int(clicked.sum())])
    return EmailActivity(
        np.concatenate([customer, customer[opened], customer[clicked]]),
        np.concatenate([campaign, campaign[opened], campaign[clicked]]),
        stage.astype(np.int64),
        np.concatenate([sent, opened_at[opened], clicked_at[clicked]]),
    )
