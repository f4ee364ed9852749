"""Customer profiles: identity, contact details, traits and devices."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from growthloop.generate._calendar import Calendar
from growthloop.generate._geo import COUNTRIES, CURRENCIES, EMAIL_DOMAINS
from growthloop.generate._segments import Latent, segment_values
from growthloop.generate._strings import concat, hex_ids, mix64, numbered_ids

__all__ = ["CONTEXTS", "MAX_DEVICES", "Profiles", "make_profiles", "phone_templates"]

MAX_DEVICES = 4
# Device contexts: (channel, device). A device keeps its context for the whole window.
CONTEXTS = (("web", "desktop"), ("web", "mobile"), ("web", "tablet"), ("app", "mobile"),
            ("app", "tablet"))
_SIGNUP_SOURCES = ("web", "app", "store", "referral")
_SIGNUP_SHARES = (0.45, 0.3, 0.1, 0.15)
_GENDERS = ("female", "male", "unspecified")
_EMAIL_PATTERNS = ("{f}.{l}{n}", "{f}{l}{n}", "{i}.{l}{n}", "{f}_{l}{n}", "{l}.{f}{n}", "{f}{n}")
_SALT_ANONYMOUS = 0x5EED_A110
_DIGITS = 10**7
_MASK24 = (1 << 24) - 1


@dataclass(frozen=True)
class Profiles:
    """Customers of one chunk: the table to write plus what the simulation needs."""

    table: pa.Table
    customer_ids: pa.Array
    anonymous_ids: pa.Array  # (customers * MAX_DEVICES) ids, row-major by customer
    country: npt.NDArray[np.int64]
    currency: npt.NDArray[np.int64]  # index into CURRENCIES
    utc_offset: npt.NDArray[np.float64]  # hours
    created_day: npt.NDArray[np.float64]  # days since the window start
    devices: npt.NDArray[np.int64]  # number of devices, 1..MAX_DEVICES
    device_context: npt.NDArray[np.int64]  # (customers, MAX_DEVICES) index into CONTEXTS
    emails: list[str]
    phones: list[str]
    phones_e164: list[str]
    traits: pa.Array  # identify traits JSON of each customer


def phone_templates() -> list[tuple[str, str, int]]:
    """Every (country, template, digits in the national number) of the phone plans."""
    out = []
    for country in COUNTRIES:
        plan = country.phone
        free = 6 if len(plan.prefixes) == 10 else 7
        for template in plan.templates:
            out.append((country.code, template, len(plan.prefixes[0][0]) + free))
    return out


def _permute(values: npt.NDArray[np.uint64], salt: int) -> npt.NDArray[np.uint64]:
    """A bijection of ``0 .. 2**24 - 1`` (additions, odd multiplications and xor-shifts)."""
    mask = np.uint64(_MASK24)
    x = values
    for multiplier in (0x9E3779, 0x85EBCB, 0xC2B2AF):  # all odd
        x = (x + np.uint64(salt & _MASK24)) & mask
        x = (x * np.uint64(multiplier)) & mask
        x ^= x >> np.uint64(13)
    return x


def _scramble(index: npt.NDArray[np.int64], salt: int) -> npt.NDArray[np.int64]:
    """A random-looking bijection of ``0 .. 10**7 - 1`` (cycle-walking a 24-bit permutation)."""
    x = _permute(index.astype(np.uint64), salt)
    outside = x >= _DIGITS
    while outside.any():
        x[outside] = _permute(x[outside], salt)
        outside = x >= _DIGITS
    return x.astype(np.int64)


def _phones(
    rng: np.random.Generator, country: npt.NDArray[np.int64], free: npt.NDArray[np.int64]
) -> tuple[list[str], list[str], list[str]]:
    """Phone numbers as written, in E.164, and the time zones their prefixes imply."""
    digits = [f"{value:07d}" for value in free.tolist()]
    pick = rng.random(len(country))
    template_pick = rng.random(len(country))
    phones: list[str] = []
    e164: list[str] = []
    zones: list[str] = []
    for c, free_digits, p, t in zip(country.tolist(), digits, pick.tolist(), template_pick.tolist(),
                                    strict=True):
        plan = COUNTRIES[c].phone
        if len(plan.prefixes) == 10:
            prefix, zone = plan.prefixes[int(free_digits[0])]
            national = prefix + free_digits[1:]
        else:
            prefix, zone = plan.prefixes[int(p * len(plan.prefixes))]
            national = prefix + free_digits
        template = plan.templates[int(t * len(plan.templates))]
        phones.append(template.replace("N", "{}").format(*national))
        e164.append(f"+{plan.calling_code}{national}")
        zones.append(zone)
    return phones, e164, zones


@cache
def _slug(name: str) -> str:
    """The letters of a name in lower case, for email addresses ("O'Brien" -> "obrien")."""
    return "".join(ch for ch in name.lower() if ch.isalpha())


def make_profiles(
    rng: np.random.Generator, first_index: int, latent: Latent, calendar: Calendar, seed: int
) -> Profiles:
    """Profiles of the customers ``first_index .. first_index + n - 1`` (0-based)."""
    n = len(latent.segment)
    index = np.arange(first_index, first_index + n, dtype=np.int64)
    customer_ids = numbered_ids("C", index + 1, 7)
    shares = np.array([c.share for c in COUNTRIES])
    country = rng.choice(len(COUNTRIES), size=n, p=shares / shares.sum()).astype(np.int64)
    currency = np.array([CURRENCIES.index(c.currency) for c in COUNTRIES])[country]

    phones, phones_e164, zones = _phones(rng, country, _scramble(index, seed * 2 + 1))
    offsets = np.array(
        [COUNTRIES[c].utc_offset[z] for c, z in zip(country.tolist(), zones, strict=True)],
        dtype=np.float64,
    )

    gender = rng.choice(3, size=n, p=[0.5, 0.48, 0.02])
    first_pick, last_pick = rng.random(n).tolist(), rng.random(n).tolist()
    pattern = rng.integers(len(_EMAIL_PATTERNS), size=n).tolist()
    domain = rng.integers(len(EMAIL_DOMAINS), size=n).tolist()
    suffix = _scramble(index, seed * 2 + 2).tolist()
    names: list[str] = []
    emails: list[str] = []
    for k in range(n):
        home = COUNTRIES[int(country[k])]
        firsts = home.first_names_male if gender[k] == 1 else home.first_names_female
        first = firsts[int(first_pick[k] * len(firsts))]
        last = home.last_names[int(last_pick[k] * len(home.last_names))]
        names.append(f"{first} {last}")
        local = _EMAIL_PATTERNS[pattern[k]].format(
            f=_slug(first), l=_slug(last), i=_slug(first)[0], n=suffix[k]
        )
        emails.append(f"{local}@{EMAIL_DOMAINS[domain[k]]}")

    days = calendar.days
    hour = rng.random(n) * 24.0
    created_day = np.clip(
        np.floor(latent.signup_share * days) + hour / 24.0 - offsets / 24.0, 0.0,
        days - 1.0 / 24.0
    )
    source = rng.choice(len(_SIGNUP_SOURCES), size=n, p=_SIGNUP_SHARES)
    age = segment_values(latent.segment, "mean_age") + 12.0 * rng.standard_normal(n)
    birth_year = calendar.year - np.clip(np.round(age), 18, 90)

    devices = 1 + np.minimum(rng.poisson(0.7, size=n), MAX_DEVICES - 1)
    device_context = rng.choice(len(CONTEXTS), size=(n, MAX_DEVICES), p=[0.4, 0.3, 0.06, 0.18,
                                                                         0.06])
    device_context[source == 1, 0] = 3  # signed up in the app: first device is the app
    device_keys = (index[:, None] * MAX_DEVICES + np.arange(MAX_DEVICES)[None, :]).ravel()
    anonymous_ids = hex_ids("a-", mix64(device_keys.astype(np.uint64), _SALT_ANONYMOUS ^ seed))

    table = pa.table(
        {
            "customer_id": customer_ids,
            "email": pa.array(emails, pa.string()),
            "phone": pa.array(phones, pa.string()),
            "name": pa.array(names, pa.string()),
            "country": pa.array([COUNTRIES[c].code for c in country.tolist()], pa.string()),
            "timezone": pa.array(zones, pa.string()),
            "created_at": calendar.timestamps(np.floor(created_day * 86_400.0).astype(np.int64)),
            "signup_source": pa.array([_SIGNUP_SOURCES[s] for s in source.tolist()], pa.string()),
            "birth_year": pa.array(birth_year.astype(np.int32), pa.int32()),
            "gender": pa.array([_GENDERS[g] for g in gender.tolist()], pa.string()),
            "marketing_opt_in": pa.array(latent.opt_in, pa.bool_()),
        }
    )
    traits = concat('{"email":"', table.column("email").combine_chunks(), '","phone":"',
                    table.column("phone").combine_chunks(), '"}')
    return Profiles(
        table, customer_ids, anonymous_ids, country, currency, offsets, created_day, devices,
        device_context, emails, phones, phones_e164, traits,
    )
