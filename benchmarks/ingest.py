"""Ingestion benchmark: growthloop's load against DuckDB's own reader on the same file.

Cases (each in its own process, so peak memory is measured per case):

- ``online-retail``: the UCI Online Retail CSV.gz through ``--preset online-retail`` vs
  ``CREATE TABLE AS SELECT * FROM read_csv(...)`` into a DuckDB file;
- ``events``: a generated world's ``events.parquet`` (about 10M events by default) vs
  ``CREATE TABLE AS SELECT * FROM read_parquet(...)``.

The ratio is DuckDB's time over ours: the share of raw DuckDB read speed that a full load
(checks, cleaning, dedupe, identity links, one transaction) keeps. Target: >= 25 %, peak
memory < 2 GB for 10M events.

Run: ``python benchmarks/ingest.py [--events-customers 200000] [--skip-events]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _memory import peak_mb

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("GROWTHLOOP_DATASETS", ROOT.parent / "shared" / "datasets"))
RETAIL = DATASETS / "online_retail" / "Online_Retail.csv.gz"




def case_duckdb(path: str, reader: str) -> dict[str, float]:
    import duckdb

    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(str(Path(tmp) / "baseline.duckdb"))
        con.execute("SET memory_limit = '2GB'")
        con.execute("SET threads = 2")
        started = time.perf_counter()
        con.execute(f"CREATE TABLE t AS SELECT * FROM {reader}('{path}')")
        rows = con.execute("SELECT count(*) FROM t").fetchall()[0][0]
        elapsed = time.perf_counter() - started
        con.close()
    return {"seconds": elapsed, "rows": rows, "peak_mb": peak_mb()}


def case_growthloop(path: str, entity: str, preset: str | None) -> dict[str, float]:
    from growthloop import Workspace
    from growthloop.ingest import load_file, options_for

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.init(Path(tmp) / "ws")
        started = time.perf_counter()
        summary = load_file(ws.analytical, entity, Path(path), options_for(entity, preset=preset))
        elapsed = time.perf_counter() - started
        ws.close()
    return {"seconds": elapsed, "rows": summary.rows_read, "loaded": summary.rows_loaded,
            "peak_mb": peak_mb()}


def _run(*args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--case", *args], check=True,
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH":
                         str(ROOT / "src")}).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _compare(name: str, ours: dict[str, float], base: dict[str, float]) -> dict[str, object]:
    row = {
        "case": name, "rows": int(ours["rows"]),
        "growthloop_s": round(ours["seconds"], 2), "duckdb_s": round(base["seconds"], 2),
        "growthloop_rows_per_s": int(ours["rows"] / ours["seconds"]),
        "duckdb_rows_per_s": int(base["rows"] / base["seconds"]),
        "share_of_duckdb_speed": round(base["seconds"] / ours["seconds"], 3),
        "growthloop_peak_mb": round(ours["peak_mb"]), "duckdb_peak_mb": round(base["peak_mb"]),
    }
    print(json.dumps(row))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--case", nargs="+")
    parser.add_argument("--events-customers", type=int, default=200_000)
    parser.add_argument("--skip-events", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best counts")
    args = parser.parse_args()
    if args.case:
        kind, *rest = args.case
        if kind == "duckdb":
            print(json.dumps(case_duckdb(rest[0], rest[1])))
        else:
            preset = rest[2] if len(rest) > 2 and rest[2] != "-" else None
            print(json.dumps(case_growthloop(rest[0], rest[1], preset)))
        return

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}")
    rows = []
    if RETAIL.exists():
        base = min((_run("duckdb", str(RETAIL), "read_csv") for _ in range(args.repeat)),
                   key=lambda r: r["seconds"])
        ours = min((_run("growthloop", str(RETAIL), "orders", "online-retail")
                    for _ in range(args.repeat)), key=lambda r: r["seconds"])
        rows.append(_compare("Online Retail (541,909 lines, CSV.gz)", ours, base))
    if not args.skip_events:
        from growthloop.generate import WorldSpec, generate_world

        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            world = generate_world(WorldSpec(customers=args.events_customers, products=2000),
                                   Path(tmp) / "world")
            print(f"generated {world.counts['events']:,} events in "
                  f"{time.perf_counter() - started:.0f} s")
            events = str(world.files["events"])
            base = min((_run("duckdb", events, "read_parquet") for _ in range(args.repeat)),
                       key=lambda r: r["seconds"])
            ours = min((_run("growthloop", events, "events", "-") for _ in range(args.repeat)),
                       key=lambda r: r["seconds"])
            rows.append(_compare(f"generated events ({world.counts['events']:,}, Parquet)",
                                 ours, base))
    print("\n| case | rows | growthloop | DuckDB read | share of DuckDB speed | peak memory |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['rows']:,} | {r['growthloop_s']} s "
              f"({r['growthloop_rows_per_s']:,} rows/s) | {r['duckdb_s']} s "
              f"({r['duckdb_rows_per_s']:,} rows/s) | {r['share_of_duckdb_speed']:.0%} | "
              f"{r['growthloop_peak_mb']:,} MB (DuckDB {r['duckdb_peak_mb']:,} MB) |")


if __name__ == "__main__":
    main()
