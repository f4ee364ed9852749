"""Normalisation of contact data: emails, phone numbers (E.164), countries (ISO 3166 alpha-2),
timezones and currencies. Each function returns ``(value, problem)``: the normalised value, or
``None`` and a one-line reason."""

from __future__ import annotations

import functools
import re
import zoneinfo

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email

__all__ = [
    "normalise_country",
    "normalise_currency",
    "normalise_email",
    "normalise_phone",
    "normalise_timezone",
]

# Names seen in real files that ISO 3166 does not list under that name.
_COUNTRY_ALIASES = {
    "EIRE": "IE",
    "RSA": "ZA",
    "USA": "US",
    "UK": "GB",
    "GREAT BRITAIN": "GB",
    "ENGLAND": "GB",
    "SCOTLAND": "GB",
    "WALES": "GB",
    "NORTHERN IRELAND": "GB",
    "CZECH REPUBLIC": "CZ",
    "KOREA": "KR",
    "SOUTH KOREA": "KR",
    "RUSSIA": "RU",
    "HOLLAND": "NL",
}
_NOT_A_COUNTRY = {"UNSPECIFIED", "EUROPEAN COMMUNITY", "CHANNEL ISLANDS", "UNKNOWN", "N/A", ""}


@functools.lru_cache(maxsize=4096)
def normalise_country(value: str) -> tuple[str | None, str | None]:
    """ISO 3166-1 alpha-2 code for a country code or name (``'United Kingdom'`` → ``'GB'``)."""
    text = value.strip()
    upper = text.upper()
    if upper in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[upper], None
    if upper in _NOT_A_COUNTRY:
        return None, f"'{text}' does not name one country"
    try:
        country = pycountry.countries.lookup(text)
    except LookupError:
        return None, f"'{text}' is not a country name or ISO 3166 code"
    return str(country.alpha_2), None


# Plain ASCII addresses (the vast majority) that email-validator would accept unchanged.
_SIMPLE_EMAIL = re.compile(
    r"^[a-z0-9](?:[a-z0-9_%+-]|\.(?!\.)){0,62}[a-z0-9_%+-]?@"
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}$"
)


@functools.lru_cache(maxsize=1 << 16)
def normalise_email(value: str) -> tuple[str | None, str | None]:
    """Lower-cased, syntax-checked email address (no DNS lookup). Plain ASCII addresses take a
    fast path; everything else goes through email-validator."""
    text = value.strip()
    lowered = text.lower()
    if len(lowered) <= 254 and _SIMPLE_EMAIL.match(lowered) and ".@" not in lowered:
        return lowered, None
    try:
        info = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        return None, f"'{text[:80]}' is not a valid email address ({exc})"
    return info.normalized.lower(), None


_PHONE_JUNK = re.compile(r"[^\d+]")


def normalise_phone(value: str, region: str | None) -> tuple[str | None, str | None]:
    """E.164 phone number (``'+441632960961'``); national numbers need the customer's country."""
    text = value.strip()
    try:
        number = phonenumbers.parse(text, region or None)
    except phonenumbers.NumberParseException as exc:
        hint = "" if region else " (no country to read a national number against)"
        return None, f"'{text[:40]}' is not a phone number: {exc}{hint}"
    if not phonenumbers.is_valid_number(number):
        return None, f"'{text[:40]}' is not a valid phone number for its country"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


@functools.lru_cache(maxsize=1024)
def normalise_timezone(value: str) -> tuple[str | None, str | None]:
    """A valid IANA timezone name."""
    text = value.strip()
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None, f"'{text[:60]}' is not an IANA timezone name (e.g. Europe/London)"
    return text, None


@functools.lru_cache(maxsize=1024)
def normalise_currency(value: str) -> tuple[str | None, str | None]:
    """An ISO 4217 currency code, upper-cased."""
    text = value.strip().upper()
    if pycountry.currencies.get(alpha_3=text) is None:
        return None, f"'{value.strip()[:20]}' is not an ISO 4217 currency code (e.g. GBP, EUR)"
    return text, None
