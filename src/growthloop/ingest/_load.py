"""Loading one file: fingerprint, read, clean, store, resolve identities, atomically."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import orjson

from growthloop.errors import IngestError
from growthloop.ingest._customers import load_customers
from growthloop.ingest._events import load_events
from growthloop.ingest._identity import resolve_identities
from growthloop.ingest._options import ENTITIES, PRESETS, LoadOptions
from growthloop.ingest._orders import load_orders
from growthloop.ingest._products import load_products
from growthloop.ingest._source import drop_source, fingerprint, read_source
from growthloop.ingest._summary import LoadSummary
from growthloop.store import AnalyticalStore

__all__ = ["load_file", "options_for"]

Progress = Callable[[int, int], None]
_STEPS = 4


def options_for(
    entity: str, *, preset: str | None = None, base: LoadOptions | None = None, **overrides: object
) -> LoadOptions:
    """Options for a load: defaults, then the preset's, then explicit ``overrides``
    (``None`` values are ignored; a mapping is merged over the preset's)."""
    if entity not in ENTITIES:
        raise IngestError(f"unknown entity {entity!r}; use one of {', '.join(ENTITIES)}")
    options = base or LoadOptions()
    if preset is not None:
        if preset not in PRESETS:
            raise IngestError(
                f"unknown preset {preset!r}; available presets: {', '.join(sorted(PRESETS))}"
            )
        chosen = PRESETS[preset]
        if chosen.entity != entity:
            raise IngestError(
                f"preset {preset!r} loads {chosen.entity}, not {entity}; run "
                f"`growthloop ingest {chosen.entity} FILE --preset {preset}`"
            )
        options = replace(options, preset=preset, **chosen.options)
    changes = {k: v for k, v in overrides.items() if v is not None}
    if "mapping" in changes:
        merged = dict(options.mapping)
        merged.update(changes.pop("mapping"))  # type: ignore[call-overload]
        changes["mapping"] = merged
    return replace(options, **changes)  # type: ignore[arg-type]


def load_file(
    store: AnalyticalStore,
    entity: str,
    path: Path,
    options: LoadOptions,
    *,
    progress: Progress | None = None,
    source_label: str | None = None,
) -> LoadSummary:
    """Load ``path`` as ``entity`` into ``store``. Either the whole file's good rows (and its
    rejects) are stored, or, on an error, nothing is.

    Loading a file whose bytes were loaded before for the same entity changes nothing.
    ``source_label`` names the source in loads and rejects instead of the file's path.
    """
    started = time.perf_counter()
    step = progress or (lambda _d, _t: None)
    if entity not in ENTITIES:
        raise IngestError(f"unknown entity {entity!r}; use one of {', '.join(ENTITIES)}")
    if not path.exists():
        raise IngestError(f"file not found: {path}")
    source = source_label or str(path.resolve())
    digest = fingerprint(path)
    previous = store.rows(
        "SELECT load_id, finished_at FROM loads WHERE entity = ? AND fingerprint = ? LIMIT 1",
        [entity, digest],
    )
    if previous:
        return LoadSummary(
            load_id=None,
            entity=entity,
            source=source,
            fingerprint=digest,
            skipped=True,
            skipped_reason=f"this file was already loaded as {previous[0]['load_id']} "
            f"at {previous[0]['finished_at']:%Y-%m-%d %H:%M:%S} UTC; nothing changed",
            elapsed_seconds=time.perf_counter() - started,
        )
    load_id = f"load_{time.strftime('%Y%m%dT%H%M%S')}_{uuid.uuid4().hex[:8]}"
    con = store.con
    step(0, _STEPS)
    # Line numbers of CSV records come from insertion order.
    con.execute("SET preserve_insertion_order = true")
    raw = read_source(
        con,
        path,
        fmt=options.format,
        delimiter=options.delimiter,
        encoding=options.encoding,
        header=options.header,
        names=options.names,
    )
    step(1, _STEPS)
    with store.transaction():
        if entity == "orders":
            result = load_orders(con, raw, options, load_id=load_id, source=source)
            counts, by_reason = result.counts, result.rejected_by_reason
            cleared: dict[str, int] = {}
            links = 0
        else:
            loader = {
                "customers": load_customers,
                "products": load_products,
                "events": load_events,
            }[entity]
            counts, by_reason, cleared, links = loader(
                con, raw, options, load_id=load_id, source=source
            )
        step(2, _STEPS)
        merges = resolve_identities(con, load_id=load_id) if links else 0
        step(3, _STEPS)
        loaded = int(counts.get("loaded", 0)) or sum(
            counts.get(k, 0) for k in ("sales", "guest_sales", "returns", "non_product")
        )
        summary = LoadSummary(
            load_id=load_id,
            entity=entity,
            source=source,
            fingerprint=digest,
            rows_read=counts["rows_read"],
            rows_loaded=loaded,
            rows_rejected=counts["rejected"],
            duplicates=counts.get("duplicates", 0),
            already_loaded=counts.get("already_loaded", 0),
            counts=counts,
            rejected_by_reason=by_reason,
            values_cleared_by_reason=cleared,
            identity_links=links,
            merges=merges,
        )
        summary.elapsed_seconds = time.perf_counter() - started
        con.execute(
            "INSERT INTO loads VALUES (?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP - "
            "to_microseconds(CAST(? * 1e6 AS BIGINT)), now()::TIMESTAMP, ?, ?, ?, ?, ?)",
            [
                load_id,
                entity,
                source,
                digest,
                path.stat().st_size,
                options.preset,
                orjson.dumps(_options_record(options)).decode(),
                summary.elapsed_seconds,
                summary.rows_read,
                summary.rows_loaded,
                summary.rows_rejected,
                summary.duplicates,
                orjson.dumps({**counts, "identity_links": links}).decode(),
            ],
        )
    step(_STEPS, _STEPS)
    drop_source(con, raw)
    summary.elapsed_seconds = time.perf_counter() - started
    return summary


def _options_record(options: LoadOptions) -> dict[str, object]:
    return {
        "mapping": options.mapping,
        "format": options.format,
        "delimiter": options.delimiter,
        "encoding": options.encoding,
        "source_timezone": options.source_timezone,
        "timestamp_format": options.timestamp_format,
        "currency": options.currency,
        "duplicates": options.duplicates,
    }
