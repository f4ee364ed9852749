"""Options of a load: column mapping, reader settings and cleaning rules, and the presets."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from growthloop.errors import IngestError

__all__ = [
    "ENTITIES",
    "PRESETS",
    "LoadOptions",
    "Preset",
    "parse_mapping",
    "read_mapping_file",
]

Entity = Literal["customers", "products", "orders", "events"]
ENTITIES: tuple[Entity, ...] = ("customers", "products", "orders", "events")


@dataclass(frozen=True)
class LoadOptions:
    """Everything that controls one load. Defaults suit files in the canonical layout.

    ``mapping`` maps source column names to canonical ones (``{"InvoiceNo": "order_id"}``).
    """

    mapping: dict[str, str] = field(default_factory=dict)
    format: str | None = None
    delimiter: str | None = None
    encoding: str = "utf-8"
    header: bool = True
    names: tuple[str, ...] | None = None
    source_timezone: str = "UTC"
    timestamp_format: str | None = None
    currency: str = "USD"
    default_country: str | None = None
    duplicates: Literal["drop", "keep"] = "drop"
    non_product_codes: tuple[str, ...] = ()
    non_product_pattern: str | None = None
    cancellation_pattern: str | None = None
    order_id_from: tuple[str, ...] = ("customer_id", "ordered_at")
    preset: str | None = None

    def with_updates(self, **changes: Any) -> LoadOptions:
        return replace(self, **changes)


@dataclass(frozen=True)
class Preset:
    """Named settings for a well-known public dataset."""

    name: str
    entity: Entity
    description: str
    options: dict[str, Any]


PRESETS: dict[str, Preset] = {
    "online-retail": Preset(
        name="online-retail",
        entity="orders",
        description="UCI Online Retail (Chen, Sain & Guo 2012): invoice lines of a UK gift "
        "retailer, 2010-12-01 to 2011-12-09, prices in GBP, times in UK local time.",
        options={
            "mapping": {
                "InvoiceNo": "order_id",
                "StockCode": "product_id",
                "Description": "title",
                "Quantity": "quantity",
                "InvoiceDate": "ordered_at",
                "UnitPrice": "unit_price",
                "CustomerID": "customer_id",
                "Country": "country",
            },
            "source_timezone": "Europe/London",
            "currency": "GBP",
            "duplicates": "drop",
            # Postage, carriage, fees, discounts, manual adjustments, samples, bad debt.
            "non_product_codes": (
                "POST",
                "DOT",
                "C2",
                "M",
                "D",
                "S",
                "B",
                "BANK CHARGES",
                "AMAZONFEE",
                "CRUK",
            ),
            # Gift vouchers are stored value, not merchandise.
            "non_product_pattern": r"^gift_",
            # Invoice numbers starting with C are cancellations.
            "cancellation_pattern": r"^C",
        },
    ),
    "cdnow": Preset(
        name="cdnow",
        entity="orders",
        description="CDNOW master file (Fader & Hardie 2001): whitespace-separated "
        "customer id, YYYYMMDD date, number of CDs, dollar value; no header, no products.",
        options={
            "delimiter": "whitespace",
            "header": False,
            "names": ("customer_id", "date", "cds", "dollars"),
            "mapping": {
                "customer_id": "customer_id",
                "date": "ordered_at",
                "cds": "quantity",
                "dollars": "amount",
            },
            "timestamp_format": "%Y%m%d",
            "source_timezone": "UTC",
            "currency": "USD",
            # Several purchases by one customer on one day are separate rows: keep them all.
            "duplicates": "keep",
        },
    ),
}


def parse_mapping(text: str) -> dict[str, str]:
    """Parse ``"InvoiceNo=order_id,StockCode=product_id"`` into a dict."""
    mapping: dict[str, str] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        source, sep, target = part.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise IngestError(
                f"mapping entry {part!r} is not SOURCE=target; write e.g. "
                "--map InvoiceNo=order_id,StockCode=product_id"
            )
        mapping[source.strip()] = target.strip()
    return mapping


def read_mapping_file(path: Path) -> dict[str, str]:
    """Read a mapping file: JSON or TOML object of ``source = "target"`` pairs, or
    ``source=target`` lines."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise IngestError(f"cannot read mapping file {path}: {exc}") from exc
    data: Any
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise IngestError(f"mapping file {path} is not valid JSON: {exc}") from exc
    elif path.suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise IngestError(f"mapping file {path} is not valid TOML: {exc}") from exc
    else:
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        return parse_mapping(",".join(lines))
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise IngestError(f"mapping file {path} must hold an object of source: target strings")
    return {str(k): str(v) for k, v in data.items()}
