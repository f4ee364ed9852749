"""The latent customer segments and each customer's draw of behaviour parameters.

The segments differ in several behaviours at once, by clearly more than customers of one segment
differ from each other, so that clustering the profiles can recover them (adjusted Rand index
about 0.85 for k-means on the profile features, see ``docs/segments.md``):

- loyal high value: many orders (about 13 a year), large and pricey baskets, rarely churn;
- bargain hunters: mid-frequency cheap baskets, the most email opens and clicks, deal pages;
- occasional gifters: a few orders with several gifts each, nearly all in November-December;
- new and curious: joined late, browse a lot, seldom buy;
- lapsed: joined early, mostly opted in for email, bought a few times in their first weeks,
  then never came back and ignore email.

Individual rates vary around the segment's (gamma-distributed session rates with shape 20, i.e.
a coefficient of variation of about 0.22; log-normal conversion noise of 0.15), and Poisson
arrivals, churn and small order counts add the noise real shops have.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from growthloop.generate._catalogue import CATEGORIES

__all__ = ["SEGMENTS", "Latent", "Segment", "draw_latent", "segment_values"]


@dataclass(frozen=True)
class Segment:
    """Behaviour parameters shared by a segment's customers (rates are per year while alive)."""

    name: str
    share: float
    description: str
    signup_beta: tuple[float, float]  # Beta shape of the sign-up time as a share of the window
    session_rate: float  # sessions per year at average seasonality
    session_shape: float  # gamma shape of the individual session rate
    conversion: float  # chance that a session ends in an order
    churn_hazard: float  # dropouts per year (exponential lifetime)
    price_sensitivity: float  # exponent on price when choosing products (higher = cheaper)
    basket_extra: float  # mean order lines beyond the first
    quantity_extra: float  # mean units beyond the first per line
    views_extra: float  # mean product views per session beyond the first
    pages_extra: float  # mean page views per session beyond the first
    cart_abandon: float  # chance a session without order still adds to cart
    opt_in: float  # chance of marketing opt-in
    open_rate: float  # chance to open a campaign email
    click_rate: float  # chance to click an opened email
    gifting: bool  # follows the gifting calendar (November-December spike)
    deals_boost: float  # how much more often than others the deals page is visited
    mean_age: float
    favourites: dict[str, float]  # prior of the favourite categories
    focus: float  # Dirichlet weight of the favourite category (second gets half)


SEGMENTS: tuple[Segment, ...] = (
    Segment(
        name="loyal_high_value", share=0.15,
        description="Frequent buyers of pricier electronics, fashion and sports items with big "
        "baskets; rarely churn.",
        signup_beta=(1.5, 6.0), session_rate=20.0, session_shape=20.0, conversion=0.65,
        churn_hazard=0.02, price_sensitivity=-0.6, basket_extra=1.0, quantity_extra=0.8,
        views_extra=0.5, pages_extra=0.15, cart_abandon=0.2,
        opt_in=0.85, open_rate=0.45, click_rate=0.25, gifting=False,
        deals_boost=1.0, mean_age=41.0,
        favourites={"Electronics": 0.35, "Fashion": 0.25, "Sports": 0.2, "Home & Kitchen": 0.2},
        focus=6.0,
    ),
    Segment(
        name="bargain_hunters", share=0.25,
        description="Price-sensitive mid-frequency buyers of cheap home, stationery and beauty "
        "items; open and click most emails.",
        signup_beta=(2.0, 5.0), session_rate=12.0, session_shape=20.0, conversion=0.45,
        churn_hazard=0.04, price_sensitivity=3.0, basket_extra=0.3, quantity_extra=0.5,
        views_extra=0.8, pages_extra=0.15, cart_abandon=0.3,
        opt_in=0.95, open_rate=0.70, click_rate=0.40, gifting=False,
        deals_boost=4.0, mean_age=37.0,
        favourites={"Home & Kitchen": 0.35, "Stationery": 0.25, "Beauty": 0.2, "Garden": 0.2},
        focus=6.0,
    ),
    Segment(
        name="occasional_gifters", share=0.20,
        description="Rare buyers of several toys and beauty gifts at a time, nearly all in "
        "November and December.",
        signup_beta=(1.5, 5.0), session_rate=8.0, session_shape=20.0, conversion=0.45,
        churn_hazard=0.02, price_sensitivity=-0.6, basket_extra=1.2, quantity_extra=0.2,
        views_extra=1.0, pages_extra=0.15, cart_abandon=0.2,
        opt_in=0.80, open_rate=0.25, click_rate=0.10, gifting=True,
        deals_boost=1.0, mean_age=50.0,
        favourites={"Toys": 0.5, "Beauty": 0.3, "Fashion": 0.1, "Stationery": 0.1},
        focus=6.0,
    ),
    Segment(
        name="new_and_curious", share=0.20,
        description="Joined late in the window; browse many products across categories but "
        "seldom buy.",
        signup_beta=(10.0, 1.5), session_rate=24.0, session_shape=12.0, conversion=0.02,
        churn_hazard=0.2, price_sensitivity=0.5, basket_extra=0.2, quantity_extra=0.1,
        views_extra=2.0, pages_extra=0.6, cart_abandon=0.25,
        opt_in=0.60, open_rate=0.35, click_rate=0.25, gifting=False,
        deals_boost=1.0, mean_age=28.0,
        favourites={c.name: 1.0 for c in CATEGORIES}, focus=1.5,
    ),
    Segment(
        name="lapsed", share=0.20,
        description="Joined early (mostly opting in to email), bought a few times, then "
        "stopped for good within weeks; ignore email.",
        signup_beta=(1.2, 10.0), session_rate=30.0, session_shape=12.0, conversion=0.7,
        churn_hazard=8.0, price_sensitivity=0.5, basket_extra=0.4, quantity_extra=0.3,
        views_extra=1.0, pages_extra=0.15, cart_abandon=0.2,
        opt_in=0.85, open_rate=0.04, click_rate=0.05, gifting=False,
        deals_boost=1.0, mean_age=38.0,
        favourites={"Fashion": 0.3, "Beauty": 0.2, "Electronics": 0.2, "Sports": 0.15,
                    "Home & Kitchen": 0.15},
        focus=4.0,
    ),
)


@dataclass(frozen=True)
class Latent:
    """Each customer's hidden parameters (one entry per customer of the chunk)."""

    segment: npt.NDArray[np.int64]
    signup_share: npt.NDArray[np.float64]  # sign-up time as a share of the window
    lifetime_days: npt.NDArray[np.float64]  # days from sign-up to dropout
    session_rate: npt.NDArray[np.float64]
    conversion: npt.NDArray[np.float64]
    churn_hazard: npt.NDArray[np.float64]
    price_sensitivity: npt.NDArray[np.float64]
    opt_in: npt.NDArray[np.bool_]
    open_rate: npt.NDArray[np.float64]
    click_rate: npt.NDArray[np.float64]
    affinity: npt.NDArray[np.float64]  # (customers, categories), rows sum to 1

    @property
    def purchase_rate(self) -> npt.NDArray[np.float64]:
        """Expected orders per year while alive (sessions times conversion)."""
        return self.session_rate * self.conversion


def segment_values(segment: npt.NDArray[np.int64], name: str) -> npt.NDArray[np.float64]:
    """The segment parameter ``name`` of each customer."""
    return np.array([float(getattr(s, name)) for s in SEGMENTS])[segment]


def _beta_around(
    rng: np.random.Generator, mean: npt.NDArray[np.float64], concentration: float
) -> npt.NDArray[np.float64]:
    return rng.beta(mean * concentration, (1.0 - mean) * concentration)


def _affinity(rng: np.random.Generator, segment: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    names = [c.name for c in CATEGORIES]
    n, k = len(segment), len(CATEGORIES)
    prior = np.zeros((len(SEGMENTS), k))
    for s, seg in enumerate(SEGMENTS):
        for name, weight in seg.favourites.items():
            prior[s, names.index(name)] = weight
    prior = 0.85 * prior / prior.sum(axis=1, keepdims=True) + 0.15 / k
    # Favourite and second favourite: Gumbel top-2 of the segment prior.
    keys = np.log(prior[segment]) + rng.gumbel(size=(n, k))
    top = np.argsort(-keys, axis=1)[:, :2]
    focus = segment_values(segment, "focus")
    alpha = np.full((n, k), 0.15)
    rows = np.arange(n)
    alpha[rows, top[:, 0]] += focus
    alpha[rows, top[:, 1]] += focus / 2
    weights = rng.gamma(alpha)
    weights = np.maximum(weights, 1e-12)
    shares: npt.NDArray[np.float64] = weights / weights.sum(axis=1, keepdims=True)
    return shares


def draw_latent(rng: np.random.Generator, customers: int) -> Latent:
    """Draw segments and per-customer parameters for ``customers`` customers."""
    shares = np.array([s.share for s in SEGMENTS])
    segment = rng.choice(len(SEGMENTS), size=customers, p=shares / shares.sum()).astype(np.int64)

    def values(name: str) -> npt.NDArray[np.float64]:
        return segment_values(segment, name)

    def noise(sigma: float) -> npt.NDArray[np.float64]:
        return np.exp(sigma * rng.standard_normal(customers))

    beta_a = np.array([s.signup_beta[0] for s in SEGMENTS])[segment]
    beta_b = np.array([s.signup_beta[1] for s in SEGMENTS])[segment]
    signup_share = rng.beta(beta_a, beta_b)
    shape = values("session_shape")
    session_rate = rng.gamma(shape, values("session_rate") / shape)
    conversion = np.clip(values("conversion") * noise(0.15), 0.0, 0.95)
    churn_hazard = values("churn_hazard") * noise(0.25)
    lifetime_days = rng.exponential(365.25 / churn_hazard)
    price_sensitivity = values("price_sensitivity") + 0.25 * rng.standard_normal(customers)
    opt_in = rng.random(customers) < values("opt_in")
    open_rate = _beta_around(rng, values("open_rate"), 30.0)
    click_rate = _beta_around(rng, values("click_rate"), 30.0)
    affinity = _affinity(rng, segment)
    return Latent(
        segment, signup_share, lifetime_days, session_rate, conversion, churn_hazard,
        price_sensitivity, opt_in, open_rate, click_rate, affinity,
    )
