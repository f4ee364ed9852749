"""Browsing sessions: when they happen, on which device, and what each one contains."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from growthloop.generate._calendar import Calendar
from growthloop.generate._customers import MAX_DEVICES, Profiles
from growthloop.generate._email import EmailActivity
from growthloop.generate._segments import Latent, segment_values

__all__ = ["CLICK_SESSION_CHANCE", "GUEST_SHARE", "IDENTIFY_EARLY", "IDENTIFY_LATE", "Sessions",
           "make_sessions"]

GUEST_SHARE = 0.035  # converting sessions (not at sign-up) checked out as a guest
CLICK_SESSION_CHANCE = 0.5  # an email click opens a session (while alive)
CLICK_CONVERSION_LIFT = 1.5
REMEMBERED_LOGIN = 0.8  # a session on a known device is logged in
NEW_DEVICE_LOGIN = 0.3  # a browsing session on a new device logs in
IDENTIFY_NONE, IDENTIFY_EARLY, IDENTIFY_LATE = 0, 1, 2


@dataclass(frozen=True)
class Sessions:
    """One entry per session of a chunk, sorted by customer then start."""

    customer: npt.NDArray[np.int64]
    start: npt.NDArray[np.int64]  # seconds since the window start
    device: npt.NDArray[np.int64]
    campaign: npt.NDArray[np.int64]  # campaign whose click opened the session, else -1
    signup: npt.NDArray[np.bool_]
    converts: npt.NDArray[np.bool_]
    guest: npt.NDArray[np.bool_]
    lines: npt.NDArray[np.int64]  # order lines (0 without an order)
    adds: npt.NDArray[np.int64]  # "Product Added" events
    views: npt.NDArray[np.int64]  # "Product Viewed" events
    pages: npt.NDArray[np.int64]  # page events
    identify: npt.NDArray[np.int64]  # IDENTIFY_NONE, IDENTIFY_EARLY or IDENTIFY_LATE
    logged_in: npt.NDArray[np.bool_]  # every event carries the user id

    def __len__(self) -> int:
        return len(self.customer)


def _timing(
    rng: np.random.Generator,
    calendar: Calendar,
    latent: Latent,
    profiles: Profiles,
    emails: EmailActivity,
    dropout_day: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Customer, start day and campaign (-1 if none) of every session, unsorted."""
    n = len(latent.segment)
    alive_until = np.minimum(dropout_day, float(calendar.days))
    profile = (segment_values(latent.segment, "gifting") > 0).astype(np.int64)
    organic_customer, organic_day = calendar.sample_times(
        rng, profile, profiles.created_day, alive_until, latent.session_rate / 365.25,
        profiles.utc_offset,
    )
    click_customer = emails.customer[emails.clicks]
    click_day = emails.day[emails.clicks]
    follow = (click_day < alive_until[click_customer]) & (
        rng.random(len(click_customer)) < CLICK_SESSION_CHANCE
    )
    click_start = click_day + (10.0 + rng.exponential(120.0, len(click_day))) / 86_400.0
    follow &= click_start < calendar.days
    customer = np.concatenate([np.arange(n), organic_customer, click_customer[follow]])
    day = np.concatenate([profiles.created_day, organic_day, click_start[follow]])
    no_campaign = np.full(n + len(organic_customer), -1, dtype=np.int64)
    campaign = np.concatenate([no_campaign, emails.campaign[emails.clicks][follow]])
    return customer.astype(np.int64), day, campaign


def make_sessions(
    rng: np.random.Generator,
    calendar: Calendar,
    latent: Latent,
    profiles: Profiles,
    emails: EmailActivity,
    dropout_day: npt.NDArray[np.float64],
) -> Sessions:
    """Every session of the chunk's customers: sign-up, organic and email-driven ones."""
    n = len(latent.segment)
    customer, day, campaign = _timing(rng, calendar, latent, profiles, emails, dropout_day)
    signup = np.zeros(len(customer), dtype=bool)
    signup[:n] = True
    order = np.lexsort((~signup, day, customer))
    customer, day, campaign, signup = customer[order], day[order], campaign[order], signup[order]
    start = np.floor(day * 86_400.0).astype(np.int64)
    s = len(customer)

    def values(name: str) -> npt.NDArray[np.float64]:
        return segment_values(latent.segment[customer], name)

    any_device = (rng.random(s) * profiles.devices[customer]).astype(np.int64)
    device = np.where(signup | (rng.random(s) < 0.5), 0, any_device)
    key = customer * MAX_DEVICES + device
    first_use = np.zeros(s, dtype=bool)
    first_use[np.unique(key, return_index=True)[1]] = True

    lift = np.where(campaign >= 0, CLICK_CONVERSION_LIFT, 1.0)
    converts = rng.random(s) < np.minimum(latent.conversion[customer] * lift, 0.95)
    guest = converts & ~signup & (rng.random(s) < GUEST_SHARE)
    lines = np.where(converts, 1 + rng.poisson(values("basket_extra")), 0)
    abandons = ~converts & (rng.random(s) < values("cart_abandon"))
    adds = np.where(converts, lines, abandons.astype(np.int64))
    views = np.maximum(1 + rng.poisson(values("views_extra")), adds)
    pages = 1 + rng.poisson(values("pages_extra"))

    known = ~first_use & ~signup & ~guest
    logged_in = known & (rng.random(s) < REMEMBERED_LOGIN)
    fresh = first_use & ~signup & ~guest
    identify = np.select(
        [signup, guest, known & ~logged_in & converts, known, fresh & converts,
         fresh & (rng.random(s) < NEW_DEVICE_LOGIN)],
        [IDENTIFY_EARLY, IDENTIFY_NONE, IDENTIFY_LATE, IDENTIFY_NONE, IDENTIFY_LATE,
         IDENTIFY_EARLY],
        IDENTIFY_NONE,
    ).astype(np.int64)
    return Sessions(
        customer, start, device.astype(np.int64), campaign, signup, converts, guest,
        lines.astype(np.int64), adds.astype(np.int64), views.astype(np.int64),
        pages.astype(np.int64), identify, logged_in,
    )
