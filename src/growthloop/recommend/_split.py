"""Train/test splits of an interaction log for offline evaluation.

Both splits return a :class:`Split` whose ``train`` is re-indexed over the users and items that
occur in it, and whose ``test`` is expressed in those same indices: test entries whose user or
item never occurs in train cannot be scored by any model trained on it, so they are dropped and
counted (``dropped_users``, ``dropped_items``, ``dropped_entries``).

- :func:`temporal_split`: everything from a cutoff on is test, everything before is train — the
  situation a deployed recommender is in. The cutoff is ``test_days`` before the latest time in
  the log, or given.
- :func:`leave_last_basket_out`: each user's last basket is test (users with at least two
  baskets), the rest train — the next-basket task of the basket-recommendation literature.
- :func:`random_split`: a random share of the entries is test (logs without times or baskets).

Hyperparameters are chosen on :func:`validation_split`, which splits the *train* part again the
same way (the same number of days, or the next-to-last basket), never on the test part.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from growthloop.errors import ModelError
from growthloop.recommend._interactions import Interactions

__all__ = [
    "Split",
    "leave_last_basket_out",
    "random_split",
    "temporal_split",
    "validation_split",
]

_SECONDS_PER_DAY = 86_400


@dataclass(frozen=True, eq=False)
class Split:
    """A train and a test log over the train vocabularies.

    Attributes
    ----------
    train, test
        The two logs; ``test.user_ids`` and ``test.item_ids`` are ``train``'s.
    dropped_users, dropped_items
        Distinct test users and items unknown to train (their test entries were dropped).
    dropped_entries
        Test entries dropped because their user or item is unknown to train.
    method
        ``"temporal"``, ``"last_basket"``, ``"random"`` or ``"files"``: how the split was
        made (and how :func:`validation_split` splits ``train`` again).
    cutoff
        Temporal splits: the first instant of the test period (train is strictly before).
    test_days
        Temporal splits: the length of the test period in days.
    """

    train: Interactions
    test: Interactions
    dropped_users: int
    dropped_items: int
    dropped_entries: int
    method: str
    cutoff: np.datetime64 | None = None
    test_days: float | None = None


def temporal_split(
    interactions: Interactions,
    *,
    test_days: float | None = None,
    cutoff: datetime | np.datetime64 | None = None,
    testable: npt.NDArray[np.bool_] | None = None,
) -> Split:
    """Entries at or after the cutoff are test; entries before it are train.

    Parameters
    ----------
    interactions
        A log where every entry has a time.
    test_days
        Length of the test period: the cutoff is this many days (of 24 hours) before the
        latest time in the log.
    cutoff
        The cutoff itself, instead of ``test_days``.
    testable
        Per entry, whether it may be a test entry (for example purchases and returns, not
        views): the others after the cutoff are left out of both parts.
    """
    latest = _latest(interactions, "temporal_split")
    if (test_days is None) == (cutoff is None):
        raise ModelError(
            "temporal_split needs exactly one of test_days and cutoff (got "
            f"test_days={test_days!r}, cutoff={cutoff!r}); pass one of them"
        )
    if cutoff is not None:
        start = _instant(cutoff)
        test_days = float((latest - start) / np.timedelta64(1, "D"))
    elif test_days is not None and test_days > 0:
        start = latest - np.timedelta64(round(test_days * _SECONDS_PER_DAY), "s")
    else:
        raise ModelError(
            f"test_days={test_days!r} must be a positive number of days; pass for example 30"
        )
    is_test = interactions.time >= start
    if is_test.all():
        raise ModelError(
            f"the cutoff {start} leaves no training entries (the earliest entry is "
            f"{interactions.time.min()}); use a later cutoff or fewer test_days"
        )
    if not is_test.any():
        raise ModelError(
            f"the cutoff {start} leaves no test entries (the latest entry is {latest}); "
            "use an earlier cutoff or more test_days"
        )
    is_train = ~is_test
    is_test &= _testable(interactions, testable)
    if not is_test.any():
        raise ModelError(
            f"no test entry from the cutoff {start} on may be tested (for a workspace: no "
            "purchase); use an earlier cutoff or more test_days"
        )
    return _split(interactions, is_train, is_test, "temporal", cutoff=start, test_days=test_days)


def _testable(
    interactions: Interactions, testable: npt.NDArray[np.bool_] | None
) -> npt.NDArray[np.bool_]:
    if testable is None:
        return np.ones(len(interactions), dtype=bool)
    mask = np.asarray(testable)
    if mask.dtype != np.bool_ or mask.shape != (len(interactions),):
        raise ModelError(
            f"testable must be one boolean per entry ({len(interactions)}), got dtype "
            f"{mask.dtype} and shape {mask.shape}; pass a boolean mask over the log"
        )
    return mask


def leave_last_basket_out(
    interactions: Interactions, *, testable: npt.NDArray[np.bool_] | None = None
) -> Split:
    """Each user's last basket is test; their earlier entries are train.

    Only baskets with a positive weight (purchases, not returns) count, and only users with at
    least two of them are tested; with ``testable`` (as for :func:`temporal_split`), only
    baskets of testable entries count, and only those entries are test. A basket's time is its
    earliest entry's; the last basket is the latest by time, ties (or no times) broken by the
    larger basket number (for :meth:`Interactions.from_frame`, the basket first seen later in
    the frame). A tested user's entries after their last basket's time (a later return, say)
    are left out of both parts: train must not see the future. Entries with no basket (``-1``)
    stay in train.
    """
    if len(interactions) == 0:
        raise ModelError("leave_last_basket_out got an empty log; pass some interactions")
    allowed = _testable(interactions, testable)
    has_basket = (interactions.basket >= 0) & (interactions.weight > 0) & allowed
    entries = np.flatnonzero(has_basket)
    if len(entries) == 0:
        raise ModelError(
            "no entry has a basket; leave_last_basket_out needs a basket (order or session) "
            "per entry — pass basket_col, or use temporal_split"
        )
    user = interactions.user[entries].astype(np.int64)
    basket = interactions.basket[entries]
    seconds = _seconds(interactions.time[entries])
    # One row per (user, basket) with its earliest time.
    order = np.lexsort((seconds, basket, user))
    user, basket, seconds = user[order], basket[order], seconds[order]
    first = np.r_[True, (user[1:] != user[:-1]) | (basket[1:] != basket[:-1])]
    b_user, b_basket, b_time = user[first], basket[first], seconds[first]
    # Each user's last basket: sort by (user, time, basket number), take the last of a user.
    order = np.lexsort((b_basket, b_time, b_user))
    b_user, b_basket, b_time = b_user[order], b_basket[order], b_time[order]
    last = np.r_[b_user[1:] != b_user[:-1], True]
    baskets_per_user = np.bincount(b_user, minlength=interactions.n_users)
    tested = last & (baskets_per_user[b_user] >= 2)
    if not tested.any():
        raise ModelError(
            "no user has two or more baskets, so there is no basket to leave out; use "
            "temporal_split instead"
        )
    test_basket = np.full(interactions.n_users, -1, dtype=np.int64)
    test_time = np.full(interactions.n_users, np.iinfo(np.int64).max, dtype=np.int64)
    test_basket[b_user[tested]] = b_basket[tested]
    test_time[b_user[tested]] = b_time[tested]
    all_user = interactions.user.astype(np.int64)
    is_test = (interactions.basket == test_basket[all_user]) & (test_basket[all_user] >= 0)
    is_test &= allowed
    later = _seconds(interactions.time) >= test_time[all_user]
    is_train = ~is_test & ~later
    return _split(interactions, is_train, is_test, "last_basket")


def random_split(
    interactions: Interactions, *, test_share: float = 0.2, random_state: int = 0
) -> Split:
    """A random ``test_share`` of the entries is test, the rest train (for logs without times
    or baskets)."""
    if not 0 < test_share < 1:
        raise ModelError(f"test_share={test_share!r} must be between 0 and 1; try 0.2")
    if len(interactions) == 0:
        raise ModelError("random_split got an empty log; pass some interactions")
    is_test = np.random.default_rng(random_state).random(len(interactions)) < test_share
    return _split(interactions, ~is_test, is_test, "random")


def validation_split(split: Split, *, test_days: float | None = None) -> Split:
    """Split ``split.train`` again the way ``split`` was made, to choose hyperparameters on.

    A temporal split carves the last ``test_days`` (default: the test period's length) off the
    end of train; a last-basket split holds out each user's last training basket; a random
    split holds out the same share of train at random. A split read from published train and
    test files is split temporally when every training entry has a time (default: the test
    file's time span, at least a day), else at random (20 %).
    """
    if split.method == "temporal":
        days = split.test_days if test_days is None else test_days
        return temporal_split(split.train, test_days=days)
    if split.method == "files" and not np.isnat(split.train.time).any():
        return temporal_split(split.train, test_days=test_days or _span_days(split.test))
    if split.method in ("random", "files"):
        total = len(split.train) + len(split.test)
        share = len(split.test) / total if split.method == "random" else 0.2
        return random_split(split.train, test_share=share)
    if split.method == "last_basket":
        if test_days is not None:
            raise ModelError(
                f"test_days={test_days!r} does not apply to a last-basket split; leave it out"
            )
        return leave_last_basket_out(split.train)
    raise ModelError(
        f"unknown split method {split.method!r}; use 'temporal', 'last_basket' or 'random'"
    )


def _span_days(interactions: Interactions) -> float:
    """Days from the first to the last time in ``interactions`` (at least 1)."""
    times = interactions.time[~np.isnat(interactions.time)]
    if len(times) == 0:
        return 1.0
    return max(1.0, float((times.max() - times.min()) / np.timedelta64(1, "D")))


def _latest(interactions: Interactions, caller: str) -> np.datetime64:
    missing = int(np.isnat(interactions.time).sum())
    latest = interactions.latest()
    if missing or latest is None:
        raise ModelError(
            f"{missing:,} of {len(interactions):,} entries have no time; {caller} needs a time "
            "per entry — pass time_col, or use leave_last_basket_out"
        )
    return latest


def _instant(value: datetime | np.datetime64) -> np.datetime64:
    """A time as ``datetime64[s]``; zone-aware times are converted to naive UTC."""
    if isinstance(value, np.datetime64):
        return np.datetime64(value.astype("datetime64[s]"))
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(value, "s")


def _seconds(times: npt.NDArray[np.datetime64]) -> npt.NDArray[np.int64]:
    """Seconds since the epoch; no time sorts first."""
    seconds = times.astype("datetime64[s]").astype(np.int64)
    seconds[np.isnat(times)] = np.iinfo(np.int64).min
    return seconds


def _split(
    interactions: Interactions,
    is_train: npt.NDArray[np.bool_],
    is_test: npt.NDArray[np.bool_],
    method: str,
    *,
    cutoff: np.datetime64 | None = None,
    test_days: float | None = None,
) -> Split:
    """Re-index the train part over its own users and items; express test in them."""
    part = interactions.subset(is_train)
    users = np.unique(part.user)
    items = np.unique(part.item)
    user_map = np.full(interactions.n_users, -1, dtype=np.int64)
    item_map = np.full(interactions.n_items, -1, dtype=np.int64)
    user_map[users] = np.arange(len(users))
    item_map[items] = np.arange(len(items))
    train = Interactions(
        user_ids=interactions.user_ids[users],
        item_ids=interactions.item_ids[items],
        user=user_map[part.user].astype(np.int32),
        item=item_map[part.item].astype(np.int32),
        weight=part.weight,
        time=part.time,
        basket=part.basket,
    )
    held = interactions.subset(is_test)
    test_user = user_map[held.user]
    test_item = item_map[held.item]
    known = (test_user >= 0) & (test_item >= 0)
    if not known.any():
        raise ModelError(
            f"all {len(known):,} test entries have a user or item that never occurs in train, "
            "so nothing can be evaluated; use a longer training period"
        )
    test = Interactions(
        user_ids=train.user_ids,
        item_ids=train.item_ids,
        user=test_user[known].astype(np.int32),
        item=test_item[known].astype(np.int32),
        weight=held.weight[known],
        time=held.time[known],
        basket=held.basket[known],
    )
    return Split(
        train=train,
        test=test,
        dropped_users=len(np.unique(held.user[test_user < 0])),
        dropped_items=len(np.unique(held.item[test_item < 0])),
        dropped_entries=int((~known).sum()),
        method=method,
        cutoff=cutoff,
        test_days=test_days,
    )
