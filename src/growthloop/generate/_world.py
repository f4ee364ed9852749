"""Generate the whole world chunk by chunk and stream it to Parquet files."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from growthloop.generate._activity import expand_activity
from growthloop.generate._calendar import Calendar
from growthloop.generate._catalogue import make_catalogue
from growthloop.generate._choice import ProductChooser
from growthloop.generate._customers import make_profiles
from growthloop.generate._dirt import DIRT_KINDS, dirty_customers, dirty_events, dirty_orders
from growthloop.generate._email import simulate_emails
from growthloop.generate._manifest import FILES, describe_world
from growthloop.generate._segments import draw_latent
from growthloop.generate._sessions import make_sessions
from growthloop.generate._spec import WorldSpec, WorldSummary, validate_spec
from growthloop.generate._tables import (
    SCHEMAS,
    Lookups,
    affinity_table,
    events_table,
    orders_table,
    truth_table,
)

__all__ = ["generate_world"]

logger = logging.getLogger(__name__)

_DICTIONARY_COLUMNS = {
    "customers": ["country", "timezone", "signup_source", "gender"],
    "products": ["category", "currency", "brand"],
    "orders": ["product_id", "currency", "country"],
    "events": ["type", "event", "name", "context"],
    "truth_customers": ["segment", "favourite_category"],
    "truth_affinity": ["category"],
}
_STREAM_CATALOGUE, _STREAM_CHUNK, _STREAM_DIRT = 1, 2, 3
EVENT_BATCH = 1 << 18  # events turned into strings and written at a time
_MAX_QUEUED = 4  # tables waiting for the writer thread (bounds memory)


def _rng(seed: int, stream: int, chunk: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream, chunk])


class _Output:
    """The Parquet writers, fed by one background thread so writing overlaps simulation."""

    def __init__(self, stack: ExitStack, paths: dict[str, Path], dirty: bool) -> None:
        self.writers = {
            name: stack.enter_context(
                pq.ParquetWriter(paths[name], SCHEMAS[name], compression="zstd",
                                 use_dictionary=_DICTIONARY_COLUMNS[name])
            )
            for name in FILES
        }
        # Registered last, so it is shut down (pending writes finished) before the writers close.
        self.pool = stack.enter_context(ThreadPoolExecutor(max_workers=1))
        self.pending: deque[Future[None]] = deque()
        self.counts: Counter[str] = Counter(dict.fromkeys(FILES, 0))
        self.dirt: Counter[str] = Counter(dict.fromkeys(DIRT_KINDS, 0) if dirty else {})

    def write(self, name: str, table: pa.Table) -> None:
        """Queue ``table`` for writing (in order); wait while too many tables are queued."""
        if not table.num_rows:
            return
        self.counts[name] += table.num_rows
        self.pending.append(self.pool.submit(self.writers[name].write_table, table))
        while len(self.pending) > _MAX_QUEUED or (self.pending and self.pending[0].done()):
            self.pending.popleft().result()

    def finish(self) -> None:
        """Wait for every queued table; raise the first writing error."""
        while self.pending:
            self.pending.popleft().result()


class _Chunker:
    """Simulates and writes one chunk of customers at a time."""

    def __init__(self, spec: WorldSpec, calendar: Calendar, output: _Output) -> None:
        self.spec = spec
        self.calendar = calendar
        self.output = output
        self.catalogue = make_catalogue(spec.products, _rng(spec.seed, _STREAM_CATALOGUE, 0))
        self.chooser = ProductChooser(self.catalogue)
        self.lookups = Lookups.build(self.catalogue, len(calendar.campaign_days()))
        self.orders_so_far = 0
        self.returns_so_far = 0

    def run(self, chunk: int, first: int, size: int) -> None:
        spec, calendar, lookups, output = self.spec, self.calendar, self.lookups, self.output
        rng = _rng(spec.seed, _STREAM_CHUNK, chunk)
        latent = draw_latent(rng, size)
        profiles = make_profiles(rng, first, latent, calendar, spec.seed)
        dropout_day = profiles.created_day + latent.lifetime_days
        emails = simulate_emails(rng, calendar, latent, profiles.created_day, dropout_day)
        sessions = make_sessions(rng, calendar, latent, profiles, emails, dropout_day)
        activity = expand_activity(rng, calendar, self.catalogue, self.chooser, latent, profiles,
                                   sessions, emails)
        customers = profiles.table
        orders = orders_table(activity, profiles, self.catalogue, lookups, calendar,
                              self.orders_so_far, self.returns_so_far)
        mess = _rng(spec.seed, _STREAM_DIRT, chunk)
        fraction = float(spec.dirty_fraction)
        if fraction > 0:
            customers, found = dirty_customers(mess, customers, fraction, profiles.phones_e164)
            output.dirt.update(found)
            orders, found = dirty_orders(mess, orders, fraction)
            output.dirt.update(found)
        output.write("customers", customers)
        output.write("orders", orders)
        output.write("truth_customers",
                     truth_table(latent, profiles, lookups, calendar, dropout_day,
                                 activity.last_session_event))
        output.write("truth_affinity", affinity_table(latent, profiles, lookups))
        for lo in range(0, len(activity.events), EVENT_BATCH):
            hi = min(lo + EVENT_BATCH, len(activity.events))
            events = events_table(activity, profiles, lookups, calendar, chunk=chunk,
                                  seed=spec.seed, first_order=self.orders_so_far, lo=lo, hi=hi)
            if fraction > 0:
                events, found = dirty_events(mess, events, fraction)
                output.dirt.update(found)
            output.write("events", events)
        self.orders_so_far += activity.orders
        self.returns_so_far += activity.returns


def generate_world(
    spec: WorldSpec,
    directory: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> WorldSummary:
    """Generate a seeded e-commerce world and write it to ``directory``.

    Parameters
    ----------
    spec
        What to generate; validated first.
    directory
        Output directory, created if missing; existing files of the world are replaced.
    progress
        Called as ``progress(done_customers, total_customers)`` after each chunk.

    Returns
    -------
    WorldSummary
        Paths, row counts and injected dirt of the files written.

    Raises
    ------
    ValueError
        If a field of ``spec`` is out of range; the message names the field.
    """
    validate_spec(spec)
    began = time.perf_counter()
    directory = Path(directory)
    (directory / "truth").mkdir(parents=True, exist_ok=True)
    paths = {name: directory / relative for name, relative in FILES.items()}
    calendar = Calendar(spec.start, spec.days)

    with ExitStack() as stack:
        output = _Output(stack, paths, spec.dirty_fraction > 0)
        chunker = _Chunker(spec, calendar, output)
        output.write("products", chunker.catalogue.table)
        for chunk, first in enumerate(range(0, spec.customers, spec.chunk_customers)):
            size = min(spec.chunk_customers, spec.customers - first)
            chunker.run(chunk, first, size)
            logger.debug("chunk %d: customers %d..%d written", chunk, first, first + size)
            if progress is not None:
                progress(first + size, spec.customers)
        output.finish()

    counts, dirt = dict(output.counts), dict(output.dirt)
    description = describe_world(spec, counts, dirt, calendar, chunker.lookups.campaign_ids)
    world_path = directory / "world.json"
    world_path.write_text(json.dumps(description, indent=2) + "\n", encoding="utf-8")
    elapsed = time.perf_counter() - began
    logger.info("generated %d customers, %d order lines and %d events in %.1f s",
                counts["customers"], counts["orders"], counts["events"], elapsed)
    return WorldSummary(
        directory=directory,
        files={**paths, "world": world_path},
        counts=counts,
        dirt=dirt,
        elapsed_seconds=elapsed,
        spec=spec,
    )
