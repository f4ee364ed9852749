"""Recommendation benchmark: training, batch top-N and serving latency of ``growthloop.recommend``.

Cases (``--case NAME ...``; default all four, in this order):

``sources``
    Every recall source (``SOURCE_NAMES``) alone with its defaults: fit seconds, seconds to
    recommend the top 10 of every user of the log (one batch call) and peak memory, each (data
    set, source) in its own subprocess. Data sets: Online Retail (``read_interactions``: user
    ``CustomerID``, item ``StockCode``, time ``InvoiceDate``, weight ``Quantity``, basket
    ``InvoiceNo``; the catalogue, for ``content``, from its ``Description`` and ``UnitPrice``;
    groups from ``Country``) and a generated log of ``--customers`` x ``--items`` (see Data).
    Where a step would take more than ``--budget`` seconds it is measured on a random sample
    of users and extrapolated linearly, and the table says so: ``recommend`` is timed on
    ``--probe-users`` users first; ``user_knn``'s fit (users x users neighbours, cost per user
    grows with the log) on ``--knn-sample`` users when the log has more than
    ``--knn-full-limit`` users.
``als-overhead``
    ``ALS().fit(data)`` (from the log: the users x items matrix, BM25, the confidence
    ``1 + alpha * f(r)``, implicit's fit, contiguous copies of the factors) against
    ``implicit.cpu.als.AlternatingLeastSquares`` fitted directly on the confidence matrix the
    source hands it, with the same factors, iterations, regularization, alpha (``1.0``: the
    source applies its own ``alpha`` in the confidence), seed and threads; same process,
    alternating order, ``--repeats`` times, on both data sets, 1 and 2 threads. Target: the
    ratio of the medians under 1.10. The factors of both are compared.
``serving``
    A workspace generated with ``--serving-items`` products (the generator's maximum, 99,999)
    and ``--serving-customers`` customers, loaded with ``load_file``, profiles built (RFM
    segments for cold start), then ``build_recommendations`` with its defaults (timed). Then
    ``growthloop.api:create_app`` under uvicorn (1 worker, 127.0.0.1) and an httpx keep-alive
    client on the same machine sending ``--requests`` sequential ``GET
    /v1/recommendations/{id}?n=10`` for random customers of the build, as many ``GET
    /v1/items/{id}/similar?n=10`` for random items, and ``--requests // 10`` for customers
    named by email (resolved in the analytical store). Target: p99 under 20 ms.
``batch``
    Top 10 for every user of the generated log with a fitted :class:`Recommender`, as
    ``recommend build`` does it: batches of ``--batch-size`` recommended by ``--workers``
    threads (``growthloop.recommend._precompute``). The default pipeline (all
    ``DEFAULT_SOURCES``) is fitted on every user (``--batch-fit-users N``: on a random N, the
    time per user projected), then any configurations in ``--fast``
    (name=sources/candidates[/batch+batch], none by default); batches run until ``--budget``
    seconds and the rest is extrapolated linearly (labelled). One batch is split into recall per
    source, features, ranker, re-rank, anchors and reasons. Target: 1M customers under 5
    minutes.

Data (in ``--folder``; kept and reused by later runs, so pass the same folder): the generated
log is ``generate_world(WorldSpec(customers, products=items, days))`` read straight from its
Parquet files with DuckDB the way ``interactions_from_store`` reads a workspace (sale lines
weight 1 with their order as basket, return lines -1, ``Product Added`` 0.3 and ``Product
Viewed`` 0.1 with the customer's day as basket; anonymous events attributed through the
``anonymous_id``-``user_id`` pairs the world's events carry; guests and unattributed events
left out; every product in the item vocabulary), with the world's catalogue and each
customer's country as group: loading 50M events into a workspace takes longer than the whole
benchmark. Each measurement runs in its own subprocess with ``OMP_WAIT_POLICY=PASSIVE`` and
``OPENBLAS_NUM_THREADS=1`` (peak memory = that process's ``VmHWM``).

    OMP_WAIT_POLICY=PASSIVE python benchmarks/recommend.py --folder /work/bench/rec
    python benchmarks/recommend.py --folder /work/bench/rec --case serving

The full run (1M customers x 50k items, 100k-item serving workspace) takes about 100 minutes
on 2 cores: world generation and the log about 2 minutes, ``sources`` about 45, ``als-overhead``
about 20, ``serving`` about 15, ``batch`` about 20.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import numpy.typing as npt
import pandas as pd
from _memory import peak_mb
from _server import stop, wait_ready

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("GROWTHLOOP_DATASETS", ROOT.parent / "shared" / "datasets"))
RETAIL = DATASETS / "online_retail" / "Online_Retail.csv.gz"
CASES = ("sources", "als-overhead", "serving", "batch")
DEFAULT_FAST: tuple[str, ...] = ()  # e.g. "fastest=buy_again,popular,cooccurrence/10"

Task = dict[str, Any]
Result = dict[str, Any]


# --------------------------------------------------------------------------------------------
# Data: interaction logs saved as .npz (arrays only, no pickles), loaded as TrainingData.


def _save_log(path: Path, log: Any, catalogue: Any, groups: npt.NDArray[Any]) -> None:
    np.savez(
        path,
        user=log.user, item=log.item, weight=log.weight,
        time=log.time.astype("datetime64[s]").astype(np.int64), basket=log.basket,
        user_ids=log.user_ids.astype(str), item_ids=log.item_ids.astype(str),
        groups=np.asarray(groups).astype(str),
        text=catalogue.text.astype(str), category=catalogue.category.astype(str),
        price=catalogue.price, available=catalogue.available,
    )


def _load_log(path: Path) -> Any:
    from growthloop.recommend import Catalogue, Interactions, TrainingData

    with np.load(path) as f:
        log = Interactions(
            user_ids=f["user_ids"].astype(object), item_ids=f["item_ids"].astype(object),
            user=f["user"], item=f["item"], weight=f["weight"],
            time=f["time"].astype("datetime64[s]"), basket=f["basket"],
        )
        catalogue = Catalogue(text=f["text"].astype(object), category=f["category"].astype(object),
                              price=f["price"], available=f["available"])
        groups = f["groups"].astype(object)
    return TrainingData(interactions=log, catalogue=catalogue, groups=groups)


def _prepare_retail(folder: Path) -> Path:
    """Online Retail as read by ``read_interactions``, with a catalogue and country groups."""
    from growthloop.recommend import Catalogue, read_interactions

    path = folder / "retail.npz"
    if path.exists():
        return path
    table = read_interactions(RETAIL, user_col="CustomerID", item_col="StockCode",
                              time_col="InvoiceDate", weight_col="Quantity",
                              basket_col="InvoiceNo")
    log = table.to_interactions()
    raw = pd.read_csv(RETAIL, usecols=["StockCode", "Description", "UnitPrice", "CustomerID",
                                       "Country"], dtype=str, keep_default_na=False)
    raw = raw.apply(lambda column: column.str.strip())
    named = raw[raw.Description != ""].drop_duplicates("StockCode").set_index("StockCode")
    price = pd.to_numeric(raw.UnitPrice, errors="coerce").groupby(raw.StockCode).median()
    country = raw[raw.CustomerID != ""].drop_duplicates("CustomerID").set_index("CustomerID")
    items = pd.Index(log.item_ids.astype(str))
    catalogue = Catalogue(
        text=named.Description.reindex(items).fillna("").to_numpy(dtype=object),
        category=np.full(len(items), "", dtype=object),
        price=price.reindex(items).to_numpy(dtype=np.float64),
        available=np.ones(len(items), dtype=bool),
    )
    groups = country.Country.reindex(pd.Index(log.user_ids.astype(str))).fillna("").to_numpy()
    _save_log(path, log, catalogue, groups)
    return path


def task_prepare(task: Task) -> Result:
    """Generate the world (unless there) and read its log (see the module docstring)."""
    import duckdb

    from growthloop.generate import WorldSpec, generate_world
    from growthloop.recommend import Catalogue, Interactions

    folder = Path(task["folder"])
    world = folder / f"world-{task['customers']}x{task['items']}"
    result: Result = {}
    if not (world / "world.json").exists():
        started = time.perf_counter()
        summary = generate_world(WorldSpec(customers=task["customers"], products=task["items"],
                                           days=task["days"]), world)
        result["generate_s"] = time.perf_counter() - started
        result["events"] = summary.counts["events"]
        result["order_lines"] = summary.counts["orders"]
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '6GB'; SET temp_directory = '{folder / 'duckdb.tmp'}'")
    orders, events = world / "orders.parquet", world / "events.parquet"
    products, customers = world / "products.parquet", world / "customers.parquet"
    con.execute(f"""
        CREATE TEMP TABLE ids AS SELECT anonymous_id, min(user_id) AS user_id
        FROM read_parquet('{events}')
        WHERE user_id IS NOT NULL AND anonymous_id IS NOT NULL GROUP BY anonymous_id""")
    con.execute(f"""
        CREATE TEMP TABLE log AS
        SELECT customer_id AS u, product_id AS i,
               CASE WHEN quantity < 0 THEN -1.0 ELSE 1.0 END::FLOAT AS w,
               epoch(ordered_at)::BIGINT AS t, 'o:' || order_id AS b
        FROM read_parquet('{orders}')
        WHERE customer_id IS NOT NULL AND product_id IS NOT NULL
        UNION ALL
        SELECT u, i, w, t, 'd:' || u || ':' || d FROM (
            SELECT coalesce(e.user_id, ids.user_id) AS u,
                   json_extract_string(e.properties, '$.product_id') AS i,
                   CASE e.event WHEN 'Product Added' THEN 0.3 ELSE 0.1 END::FLOAT AS w,
                   epoch(e.timestamp)::BIGINT AS t, CAST(CAST(e.timestamp AS DATE) AS VARCHAR) AS d
            FROM read_parquet('{events}') e LEFT JOIN ids USING (anonymous_id)
            WHERE e.type = 'track' AND e.event IN ('Product Viewed', 'Product Added'))
        WHERE u IS NOT NULL AND i IS NOT NULL AND i <> ''""")
    con.execute("""CREATE TEMP TABLE users AS SELECT u, (row_number() OVER (ORDER BY u) - 1)::INT
                   AS ui FROM (SELECT DISTINCT u FROM log)""")
    con.execute(f"""CREATE TEMP TABLE items AS SELECT i, (row_number() OVER (ORDER BY i) - 1)::INT
                    AS ii FROM (SELECT product_id AS i FROM read_parquet('{products}')
                                UNION SELECT i FROM log)""")
    con.execute("""CREATE TEMP TABLE baskets AS SELECT b, (row_number() OVER () - 1)::BIGINT AS bi
                   FROM (SELECT DISTINCT b FROM log)""")
    table = con.sql("""SELECT ui, ii, w, t, bi FROM log JOIN users USING (u)
                           JOIN items USING (i) JOIN baskets USING (b)
                           ORDER BY t, ui, ii, bi, w""").to_arrow_table()
    user_ids = con.sql("SELECT u FROM users ORDER BY ui").to_arrow_table()["u"]
    item_ids = con.sql("SELECT i FROM items ORDER BY ii").to_arrow_table()["i"]
    groups = con.sql(f"""SELECT coalesce(c.country, '') AS g FROM users LEFT JOIN (
        SELECT customer_id, any_value(country) AS country FROM read_parquet('{customers}')
        GROUP BY customer_id) c ON c.customer_id = users.u ORDER BY ui""").to_arrow_table()
    facts = con.execute(f"""SELECT items.ii, p.title, p.description, p.category, p.brand, p.tags,
        p.price FROM items LEFT JOIN (SELECT * FROM read_parquet('{products}')) p
        ON p.product_id = items.i ORDER BY items.ii""").df()
    con.close()
    log = Interactions(
        user_ids=np.asarray(user_ids.to_pylist(), dtype=object),
        item_ids=np.asarray(item_ids.to_pylist(), dtype=object),
        user=table["ui"].to_numpy().astype(np.int32),
        item=table["ii"].to_numpy().astype(np.int32),
        weight=table["w"].to_numpy().astype(np.float32),
        time=table["t"].to_numpy().astype("datetime64[s]"),
        basket=table["bi"].to_numpy().astype(np.int64),
    )
    rest = facts[["description", "category", "brand"]].fillna("").astype(str)
    tags = facts["tags"].fillna("").astype(str).str.replace("|", " ", regex=False)
    text = (facts["title"].fillna("").astype(str) + "\n" + rest["description"] + " "
            + rest["category"] + " " + rest["brand"] + " " + tags).str.strip()
    catalogue = Catalogue(
        text=text.to_numpy(dtype=object),
        category=rest["category"].to_numpy(dtype=object),
        price=facts["price"].to_numpy(dtype=np.float64, na_value=np.nan),
        available=facts["title"].notna().to_numpy(),
    )
    path = folder / f"log-{task['customers']}x{task['items']}.npz"
    _save_log(path, log, catalogue, groups["g"].to_numpy(zero_copy_only=False))
    result.update({"log_s": time.perf_counter() - started, "users": log.n_users,
                   "items": log.n_items, "entries": len(log), "peak_mb": peak_mb()})
    return result


def _describe(path: Path) -> dict[str, int]:
    with np.load(path) as f:
        user, item = f["user"], f["item"]
        n_users, n_items = len(f["user_ids"]), len(f["item_ids"])
        pairs = len(np.unique(user.astype(np.int64) * n_items + item))
    return {"users": n_users, "items": n_items, "entries": len(user), "pairs": pairs}


# --------------------------------------------------------------------------------------------
# Case "sources".


def _probe_users(n_users: int, size: int) -> npt.NDArray[np.int32]:
    if size >= n_users:
        return np.arange(n_users, dtype=np.int32)
    rng = np.random.default_rng(0)
    return np.sort(rng.choice(n_users, size=size, replace=False)).astype(np.int32)


def _timed_recommend(source: Any, n_users: int, *, probe: int, budget: float) -> Result:
    """Top 10 of every user: timed on ``probe`` random users first, then on all users when
    the extrapolation fits in ``budget`` seconds."""
    users = _probe_users(n_users, probe)
    started = time.perf_counter()
    found = source.recommend(users, 10)
    seconds = time.perf_counter() - started
    if len(users) == n_users:
        return {"recommend_s": seconds, "recommend_basis": "measured", "candidates": len(found)}
    estimate = seconds * n_users / len(users)
    if estimate > budget:
        return {"recommend_s": estimate, "probe_s": seconds,
                "recommend_basis": f"extrapolated from {len(users):,} users"}
    started = time.perf_counter()
    found = source.recommend(np.arange(n_users, dtype=np.int32), 10)
    return {"recommend_s": time.perf_counter() - started, "recommend_basis": "measured",
            "candidates": len(found), "probe_estimate_s": estimate}


def _user_knn_sampled(data: Any, task: Task) -> Result:
    """UserKNN's fit (history, unit rows, neighbours) with the neighbours of a random sample
    of users only, extrapolated to every user; then ``recommend`` for that sample."""
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize

    from growthloop.recommend.sources import UserKNN
    from growthloop.recommend.sources._neighbours import top_k_neighbours

    source = UserKNN()
    log = data.interactions
    started = time.perf_counter()
    history = log.matrix(half_life_days=source.half_life_days)
    unit = sp.csr_matrix(normalize(history, norm="l2", axis=1))
    right = unit.T.tocsr()
    prepare = time.perf_counter() - started
    sample = _probe_users(log.n_users, task["knn_sample"])
    started = time.perf_counter()
    part = top_k_neighbours(unit[sample], right, source.n_neighbours)
    neighbours_s = time.perf_counter() - started
    scale = log.n_users / len(sample)
    place = sp.csr_matrix((np.ones(len(sample), np.float32), (sample, np.arange(len(sample)))),
                          shape=(log.n_users, len(sample)))
    source.neighbours_ = sp.csr_matrix(place @ part)
    source.history_ = history
    source.n_users_, source.n_items_ = log.n_users, log.n_items
    peak_fit = peak_mb()
    started = time.perf_counter()
    source.recommend(sample, 10)
    recommend_s = time.perf_counter() - started
    # The full fit keeps n_neighbours similarities per user (float32 value + int32 column).
    kept_mb = log.n_users * source.n_neighbours * 8 / 2**20
    return {
        "fit_s": prepare + neighbours_s * scale,
        "fit_basis": f"extrapolated: neighbours of {len(sample):,} users took "
                     f"{neighbours_s:.1f} s (+ {prepare:.1f} s for the matrices)",
        "recommend_s": recommend_s * scale,
        "recommend_basis": f"extrapolated from {len(sample):,} users",
        "peak_fit_mb": peak_fit, "peak_mb": peak_mb(),
        "peak_note": f"sample run; the full fit keeps about {kept_mb:,.0f} MB more neighbours",
    }


def task_source(task: Task) -> Result:
    from growthloop.recommend.sources import make_source

    started = time.perf_counter()
    data = _load_log(Path(task["log"]))
    result: Result = {"load_s": time.perf_counter() - started, "peak_load_mb": peak_mb()}
    log = data.interactions
    if task["source"] == "user_knn" and log.n_users > task["knn_full_limit"]:
        return {**result, **_user_knn_sampled(data, task)}
    source = make_source(task["source"])
    started = time.perf_counter()
    source.fit(data)
    result.update({"fit_s": time.perf_counter() - started, "fit_basis": "measured",
                   "peak_fit_mb": peak_mb()})
    result.update(_timed_recommend(source, log.n_users, probe=task["probe_users"],
                                   budget=task["budget"]))
    result["peak_mb"] = peak_mb()
    return result


# --------------------------------------------------------------------------------------------
# Case "als-overhead".


def task_als_overhead(task: Task) -> Result:
    from implicit.cpu.als import AlternatingLeastSquares

    from growthloop.recommend.sources import ALS

    data = _load_log(Path(task["log"]))
    threads = task["threads"]
    reference = ALS(num_threads=threads).fit(data)  # warm-up, and the matrix implicit gets
    started = time.perf_counter()
    history = reference._history(data.interactions)
    history_s = time.perf_counter() - started
    started = time.perf_counter()
    confidence = reference._confidence(history)  # exactly what ALS.fit hands implicit
    confidence_s = time.perf_counter() - started

    def ours() -> Any:
        return ALS(num_threads=threads).fit(data)

    def direct() -> Any:
        model = AlternatingLeastSquares(
            factors=reference.factors, regularization=reference.regularization, alpha=1.0,
            dtype=np.float32, iterations=reference.iterations, num_threads=threads,
            random_state=reference.random_state,
        )
        model.fit(confidence, show_progress=False)
        return model

    times: dict[str, list[float]] = {"ours": [], "direct": []}
    cpu: dict[str, list[float]] = {"ours": [], "direct": []}
    fitted: dict[str, Any] = {}
    for repeat in range(task["repeats"]):
        order = (("ours", ours), ("direct", direct))
        for name, fit in order if repeat % 2 == 0 else order[::-1]:
            started, started_cpu = time.perf_counter(), time.process_time()
            fitted[name] = fit()
            times[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)
    ours_s, direct_s = statistics.median(times["ours"]), statistics.median(times["direct"])
    ours_cpu, direct_cpu = statistics.median(cpu["ours"]), statistics.median(cpu["direct"])
    difference = max(
        float(np.abs(fitted["ours"].user_factors_ - fitted["direct"].user_factors).max()),
        float(np.abs(fitted["ours"].item_factors_ - fitted["direct"].item_factors).max()),
    )
    return {"threads": threads, "ours_s": times["ours"], "direct_s": times["direct"],
            "ours_median_s": ours_s, "direct_median_s": direct_s, "ratio": ours_s / direct_s,
            "ratio_of_best": min(times["ours"]) / min(times["direct"]),
            "ours_cpu_s": cpu["ours"], "direct_cpu_s": cpu["direct"],
            "cpu_ratio": ours_cpu / direct_cpu,
            "history_s": history_s, "confidence_s": confidence_s,
            "max_factor_difference": difference, "nnz": int(confidence.nnz),
            "peak_mb": peak_mb()}


# --------------------------------------------------------------------------------------------
# Case "batch".


def _restrict_users(data: Any, size: int) -> Any:
    """``data`` with a random ``size`` of its users and all their entries, users re-indexed."""
    from growthloop.recommend import Interactions, TrainingData

    log = data.interactions
    if size >= log.n_users:
        return data
    chosen = _probe_users(log.n_users, size)
    new_row = np.full(log.n_users, -1, dtype=np.int64)
    new_row[chosen] = np.arange(len(chosen))
    keep = new_row[log.user] >= 0
    restricted = Interactions(
        user_ids=log.user_ids[chosen], item_ids=log.item_ids,
        user=new_row[log.user[keep]].astype(np.int32), item=log.item[keep],
        weight=log.weight[keep], time=log.time[keep], basket=log.basket[keep],
    )
    groups = None if data.groups is None else data.groups[chosen]
    return TrainingData(interactions=restricted, catalogue=data.catalogue, groups=groups)


def _batch_breakdown(recommender: Any, rows: npt.NDArray[np.int32]) -> dict[str, float]:
    """The steps of ``Recommender.recommend`` for one batch, timed one by one."""
    from growthloop.recommend import (
        Candidates,
        RerankRules,
        candidate_features,
        explain,
        rerank,
    )
    from growthloop.recommend.sources import BuyAgain

    rules = recommender.rules or RerankRules()
    exclude = recommender.bought_ if rules.bought == "exclude" else None
    steps: dict[str, float] = {}
    candidates = []
    for name, source in recommender.sources_.items():
        started = time.perf_counter()
        candidates.append(source.recommend(rows, recommender.candidates, exclude=exclude,
                                           anchors=False))
        steps[f"recall {name}"] = time.perf_counter() - started
    data = recommender.data_
    started = time.perf_counter()
    statistics = recommender.log_statistics()  # once per fitted model, cached
    steps["log statistics (once)"] = time.perf_counter() - started
    started = time.perf_counter()
    features = candidate_features(candidates, train=data.interactions, catalogue=data.catalogue,
                                  statistics=statistics)
    steps["features"] = time.perf_counter() - started
    steps["candidate rows"] = float(len(features.frame))
    started = time.perf_counter()
    frame = features.frame
    frame["score"] = recommender.score(features)
    steps["ranker (cascade)"] = time.perf_counter() - started
    started = time.perf_counter()
    chosen = rerank(frame, n=10, rules=rules, catalogue=data.catalogue,
                    bought=recommender.bought_)
    steps["re-rank"] = time.perf_counter() - started
    started = time.perf_counter()
    chosen = recommender._anchor_chosen(chosen)
    steps["anchors of the chosen"] = time.perf_counter() - started
    started = time.perf_counter()
    buy_again = recommender.sources_.get("buy_again")
    explain(chosen, catalogue=data.catalogue, item_ids=data.interactions.item_ids,
            groups=data.groups,
            cycle_days=buy_again.cycle_days_ if isinstance(buy_again, BuyAgain) else None)
    steps["reasons"] = time.perf_counter() - started
    # What the features cost whatever the batch size (features of one user's candidates).
    one = [c for c in candidates if len(c)]
    first_user = min(int(c.user[0]) for c in one)
    single = [Candidates(source=c.source, user=c.user[c.user == first_user],
                         item=c.item[c.user == first_user], score=c.score[c.user == first_user],
                         anchor=c.anchor[c.user == first_user]) for c in candidates]
    started = time.perf_counter()
    candidate_features(single, train=data.interactions, catalogue=data.catalogue,
                       statistics=statistics)
    steps["features of one user"] = time.perf_counter() - started
    return steps


def task_batch(task: Task) -> Result:
    from growthloop.recommend import Recommender
    from growthloop.recommend._precompute import COMPILE_FROM, _recommended

    data = _load_log(Path(task["log"]))
    total_users = data.interactions.n_users
    data = _restrict_users(data, task["fit_users"] or total_users)
    log = data.interactions
    result: Result = {"config": task["config"], "sources": task["sources"],
                      "candidates": task["candidates"], "fit_users": log.n_users,
                      "entries": len(log), "target_users": total_users,
                      "workers": task["workers"]}
    started = time.perf_counter()
    recommender = Recommender(sources=tuple(task["sources"]),
                              candidates=task["candidates"]).fit(data)
    result["fit_s"] = time.perf_counter() - started
    result["skipped"] = recommender.skipped_
    result["ranker_rows"] = recommender.training_rows_
    result["peak_fit_mb"] = peak_mb()
    compile_s = 0.0
    if total_users >= COMPILE_FROM:  # as a build does, once before the batches
        started = time.perf_counter()
        recommender.ranker_.compile()
        compile_s = result["compile_s"] = time.perf_counter() - started
    first = task["batch_sizes"][0]
    result["breakdown_s"] = _batch_breakdown(recommender, np.arange(first, dtype=np.int32))
    fixed = result["breakdown_s"]["features of one user"]
    # A build computes the log statistics once before its batches (the breakdown did it here)
    # and compiles the ranker once: both count in the time for all users.
    once = compile_s + result["breakdown_s"]["log statistics (once)"]
    runs = []
    for batch in task["batch_sizes"]:
        started = time.perf_counter()

        def batches(size: int = batch, began: float = started) -> Any:
            # As recommend build: every user in order, stopped after the budget.
            for first_row in range(0, log.n_users, size):
                if time.perf_counter() - began >= task["budget"]:
                    return
                yield np.arange(first_row, min(first_row + size, log.n_users), dtype=np.int32)

        done = 0
        for rows, _chosen in _recommended(recommender, batches(), 10, task["workers"]):
            done += len(rows)
        elapsed = time.perf_counter() - started + once
        runs.append({"batch_size": batch, "recommended_users": done, "recommend_s": elapsed,
                     "batches_for_all_users": -(-total_users // batch),
                     "users_per_s": done / elapsed,
                     "all_users_s": elapsed * total_users / done,
                     "basis": "measured" if done == total_users else
                     f"extrapolated from {done:,} of {total_users:,} users",
                     "peak_mb": peak_mb()})
    result.update({"fixed_per_batch_s": fixed, "runs": runs, "peak_mb": peak_mb()})
    return result


# --------------------------------------------------------------------------------------------
# Case "serving".


def _workspace(path: Path, memory_limit: str) -> Path:
    from growthloop import Workspace

    Workspace.init(path).close()
    config = path / "growthloop.toml"
    config.write_text(config.read_text().replace('memory_limit = "1GB"',
                                                 f'memory_limit = "{memory_limit}"'))
    return path


def task_serving_build(task: Task) -> Result:
    """Generate and load the serving world, build profiles and recommendations."""
    from growthloop import Workspace
    from growthloop.generate import WorldSpec, generate_world
    from growthloop.ingest import load_file, options_for
    from growthloop.keys import create_key
    from growthloop.profile import build_profiles, derive_categories
    from growthloop.recommend import build_recommendations

    folder = Path(task["folder"])
    root = folder / "serving-ws"
    result: Result = {}
    if not (root / "growthloop.toml").exists():
        started = time.perf_counter()
        world = generate_world(WorldSpec(customers=task["customers"], products=task["items"],
                                         days=task["days"]), folder / "serving-world")
        with Workspace.open(_workspace(root, "2GB")) as ws:
            for name in ("products", "customers", "orders", "events"):
                load_file(ws.analytical, name, world.files[name], options_for(name))
            derive_categories(ws.analytical)
            build_profiles(ws.analytical)
        result["world_s"] = time.perf_counter() - started
        result["events"] = world.counts["events"]
        shutil.rmtree(folder / "serving-world")
    with Workspace.open(root) as ws:
        started = time.perf_counter()
        build = build_recommendations(analytical=ws.analytical, operational=ws.operational,
                                      models_dir=ws.models_dir)
        result["build_wall_s"] = time.perf_counter() - started
        result["build"] = {"customers": build.customers, "items": build.items,
                           "rows": build.rows, "seconds": build.seconds,
                           "skipped": build.skipped,
                           "cold_start_customers": build.cold_start_customers}
        result["secret"] = create_key(store=ws.operational, name="bench",
                                      scopes=["read"]).secret
        con = ws.analytical.con
        result["customers"] = [r[0] for r in con.execute(
            "SELECT DISTINCT canonical_id FROM recommendations").fetchall()]
        result["items"] = [r[0] for r in con.execute(
            "SELECT product_id FROM products").fetchall()]
        result["emails"] = [r[0] for r in con.execute(
            "SELECT email FROM customers WHERE email IS NOT NULL "
            "USING SAMPLE 5000 ROWS").fetchall()]
    result["peak_mb"] = peak_mb()
    return result


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _latencies(client: Any, paths: list[str]) -> dict[str, Any]:
    """Sequential GETs; latency percentiles of the 200 answers, and the count of others."""
    seconds = []
    failed: dict[str, int] = {}
    for path in paths:
        started = time.perf_counter()
        response = client.get(path)
        elapsed = time.perf_counter() - started
        if response.status_code == 200:
            seconds.append(elapsed)
        else:
            failed[str(response.status_code)] = failed.get(str(response.status_code), 0) + 1
    if not seconds:
        raise RuntimeError(f"every GET failed ({failed}), e.g. {paths[0]}")
    ms = np.array(seconds) * 1000
    return {"requests": len(ms), "p50_ms": float(np.percentile(ms, 50)),
            "p95_ms": float(np.percentile(ms, 95)), "p99_ms": float(np.percentile(ms, 99)),
            "max_ms": float(ms.max()), "mean_ms": float(ms.mean()), "failed": failed}


def _serve_and_measure(folder: Path, built: Result, requests: int, rounds: int) -> Result:
    import httpx

    root = folder / "serving-ws"
    port = _free_port()
    env = {**_env(), "GROWTHLOOP_WORKSPACE": str(root)}
    env.pop("GROWTHLOOP_OPS_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "growthloop.api:create_app", "--host",
         "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "warning",
         "--no-access-log"], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, server)
        rng = random.Random(0)
        out: Result = {"rounds": []}
        with httpx.Client(base_url=url, timeout=30.0,
                          headers={"Authorization": f"Bearer {built['secret']}"}) as client:
            started = time.perf_counter()
            first = client.get(f"/v1/recommendations/{built['customers'][0]}?n=10")
            out["first_request_ms"] = (time.perf_counter() - started) * 1000
            if first.status_code != 200:
                raise RuntimeError(f"first request: {first.status_code} {first.text[:300]}")
            warm = [f"/v1/recommendations/{c}?n=10" for c in rng.sample(built["customers"], 200)]
            warm += [f"/v1/items/{i}/similar?n=10" for i in rng.sample(built["items"], 200)]
            _latencies(client, warm)
            for _ in range(rounds):
                kinds = {
                    "customer": [f"/v1/recommendations/{c}?n=10"
                                 for c in rng.choices(built["customers"], k=requests)],
                    "similar": [f"/v1/items/{i}/similar?n=10"
                                for i in rng.choices(built["items"], k=requests)],
                    "email": [f"/v1/recommendations/{quote(e)}?n=10"
                              for e in rng.choices(built["emails"], k=max(requests // 10, 1))],
                }
                out["rounds"].append({kind: _latencies(client, paths)
                                      for kind, paths in kinds.items()})
        status = Path(f"/proc/{server.pid}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    out["server_peak_mb"] = int(line.split()[1]) / 1024
        return out
    finally:
        stop(server)


# --------------------------------------------------------------------------------------------
# The driver.

TASKS = {"prepare": task_prepare, "source": task_source, "als-overhead": task_als_overhead,
         "batch": task_batch, "serving-build": task_serving_build}


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return env


def _run(task: Task, timeout: float | None = None) -> Result:
    """``task`` in a subprocess of its own; its JSON result, or ``{"error": ...}``."""
    try:
        done = subprocess.run([sys.executable, __file__, "--run", json.dumps(task)],
                              capture_output=True, text=True, env=_env(), timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"stopped after {timeout:.0f} s"}
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return {"error": f"exit {done.returncode}: {lines[-1] if lines else ''}"}
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _say(message: str) -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def _f(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def run_sources(logs: dict[str, Path], args: argparse.Namespace) -> list[Result]:
    from growthloop.recommend.sources import SOURCE_NAMES

    rows = []
    names = args.sources or list(SOURCE_NAMES)
    for label, path in logs.items():
        for name in names:
            task = {"kind": "source", "log": str(path), "source": name,
                    "probe_users": args.probe_users,
                    "budget": args.budget, "knn_sample": args.knn_sample,
                    "knn_full_limit": args.knn_full_limit}
            result = {"data": label, "source": name, **_run(task)}
            _say(json.dumps(result))
            rows.append(result)
    _say("\n| data | source | fit | top 10 for every user | peak memory |")
    _say("|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            _say(f"| {r['data']} | `{r['source']}` | {r['error']} | | |")
            continue
        fit = f"{_f(r['fit_s'], 2)} s" + ("" if r["fit_basis"] == "measured" else " (est.)")
        rec = f"{_f(r['recommend_s'], 2)} s" + (
            "" if r["recommend_basis"] == "measured" else " (est.)")
        _say(f"| {r['data']} | `{r['source']}` | {fit} | {rec} | {_f(r['peak_mb'], 0)} MB |")
    return rows


def run_als_overhead(logs: dict[str, Path], args: argparse.Namespace) -> list[Result]:
    rows = []
    for label, path in logs.items():
        for threads in args.threads:
            result = {"data": label, **_run({"kind": "als-overhead", "log": str(path),
                                              "threads": threads, "repeats": args.repeats})}
            _say(json.dumps(result))
            rows.append(result)
    _say("\n| data | threads | growthloop `ALS.fit` | implicit directly | ratio (medians) "
         "| ratio of CPU seconds | matrix + confidence |")
    _say("|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            _say(f"| {r['data']} | | {r['error']} | | | | |")
            continue
        _say(f"| {r['data']} | {r['threads']} | {_f(r['ours_median_s'], 2)} s | "
             f"{_f(r['direct_median_s'], 2)} s | {r['ratio']:.3f} | {r['cpu_ratio']:.3f} | "
             f"{_f(r['history_s'] + r['confidence_s'], 2)} s |")
    return rows


def _fast_configs(specs: list[str], batch_size: int) -> list[tuple[str, list[str], int,
                                                                  list[int]]]:
    """``name=source,source/candidates[/batch size+batch size]`` as (name, sources,
    candidates, batch sizes)."""
    configs = []
    for spec in specs:
        name, _, rest = spec.partition("=")
        sources, candidates, batches, *_ = [*rest.split("/"), "", ""]
        sizes = [int(b) for b in batches.split("+")] if batches else [batch_size]
        configs.append((name, sources.split(","), int(candidates or 50), sizes))
    return configs


def run_batch(log: Path, users: int, args: argparse.Namespace) -> list[Result]:
    """The batch case; a pipeline fitted on a sample of users is projected to every user with
    the whole-log part of each batch (features of one user) as measured on the full log."""
    from growthloop.recommend import DEFAULT_SOURCES

    configs = [("default", list(DEFAULT_SOURCES), 50, [args.batch_size]),
               *_fast_configs(args.fast, args.batch_size)]
    rows = []
    for name, sources, candidates, sizes in configs:
        task = {"kind": "batch", "log": str(log), "config": name, "sources": sources,
                "candidates": candidates, "fit_users": args.batch_fit_users,
                "batch_sizes": sizes, "budget": args.budget, "workers": args.workers}
        result = {"config": name, **_run(task)}
        _say(json.dumps(result))
        rows.append(result)
    full = [r for r in rows if "error" not in r and r["fit_users"] == users]
    fixed_full = full[0]["fixed_per_batch_s"] if full else None
    _say(f"\n| pipeline | fitted on | fit | batch size | batches run | top 10 for {users:,} "
         "users | of which whole-log features | peak |")
    _say("|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            _say(f"| {r['config']} | {r['error']} | | | | | | |")
            continue
        fixed = fixed_full if fixed_full is not None else r["fixed_per_batch_s"]
        for run in r["runs"]:
            per_batch = run["recommend_s"] * run["batch_size"] / run["recommended_users"]
            projected = run["all_users_s"]
            basis = "measured" if run["basis"] == "measured" else "est."
            if r["fit_users"] < users and fixed_full is not None:
                projected = run["batches_for_all_users"] * (
                    per_batch - r["fixed_per_batch_s"] + fixed_full)
                basis = "projected"
            run["projected_s"] = projected
            run["whole_log_s"] = run["batches_for_all_users"] * fixed
            _say(f"| {r['config']} ({', '.join(r['sources'])}; {r['candidates']} candidates) "
                 f"| {r['fit_users']:,} users | {_f(r['fit_s'], 0)} s | {run['batch_size']:,} "
                 f"| {run['recommended_users']:,} users in {_f(run['recommend_s'], 0)} s | "
                 f"{_f(projected / 60, 1)} min ({basis}) | "
                 f"{_f(run['whole_log_s'] / 60, 1)} min | {_f(run['peak_mb'], 0)} MB |")
    return rows


def run_serving(folder: Path, args: argparse.Namespace) -> Result:
    task = {"folder": str(folder), "customers": args.serving_customers,
            "items": args.serving_items, "days": args.days}
    built = _run(task | {"kind": "serving-build"})
    if "error" in built:
        _say(f"serving build failed: {built['error']}")
        return built
    _say(json.dumps({k: v for k, v in built.items()
                     if k not in ("customers", "items", "emails", "secret")}))
    measured = _serve_and_measure(folder, built, args.requests, args.rounds)
    _say(json.dumps(measured))
    _say(f"\nfirst request (loads the build): {_f(measured['first_request_ms'])} ms; "
         f"server peak memory {_f(measured.get('server_peak_mb'), 0)} MB")
    _say("\n| request | round | requests | p50 | p95 | p99 | max |")
    _say("|---|---|---|---|---|---|---|")
    for number, round_ in enumerate(measured["rounds"], 1):
        for kind, r in round_.items():
            failed = f" ({r['failed']} failed)" if r["failed"] else ""
            _say(f"| {kind} | {number} | {r['requests']:,}{failed} | {_f(r['p50_ms'], 2)} ms | "
                 f"{_f(r['p95_ms'], 2)} ms | {_f(r['p99_ms'], 2)} ms | {_f(r['max_ms'], 1)} ms |")
    return {"build": built["build"], **measured}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--folder", type=Path,
                        help="data folder, kept and reused (default: a temporary folder)")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=300)
    parser.add_argument("--sources", nargs="+", help="sources for the sources case")
    parser.add_argument("--budget", type=float, default=300.0,
                        help="seconds a step may take before it is sampled and extrapolated")
    parser.add_argument("--probe-users", type=int, default=20_000)
    parser.add_argument("--knn-sample", type=int, default=5_000)
    parser.add_argument("--knn-full-limit", type=int, default=200_000)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--serving-customers", type=int, default=100_000)
    parser.add_argument("--serving-items", type=int, default=99_999)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=2_000)
    parser.add_argument("--batch-fit-users", type=int, default=None,
                        help="fit the batch case's pipelines on a random sample of users")
    parser.add_argument("--workers", type=int, default=2,
                        help="threads recommending batches, as recommend build")
    parser.add_argument("--fast", nargs="*", default=list(DEFAULT_FAST),
                        help="fast pipelines for the batch case, as name=src,src/candidates")
    parser.add_argument("--data", nargs="+", choices=("retail", "generated"),
                        default=["retail", "generated"], help="data sets of sources/als-overhead")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        task = json.loads(args.run)
        sys.stdout.write(json.dumps(TASKS[task.pop("kind")](task), default=float) + "\n")
        return

    started = time.perf_counter()
    _say(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
         f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f}")
    folder = args.folder or Path(tempfile.mkdtemp(prefix="growthloop-rec-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        logs: dict[str, Path] = {}
        if "retail" in args.data and RETAIL.exists():
            logs["Online Retail"] = _prepare_retail(folder)
        big = folder / f"log-{args.customers}x{args.items}.npz"
        if set(args.case) - {"serving"} and not big.exists():
            prepared = _run({"kind": "prepare", "folder": str(folder),
                             "customers": args.customers, "items": args.items,
                             "days": args.days})
            _say(f"generated log: {json.dumps(prepared)}")
            if "error" in prepared:
                raise SystemExit(prepared["error"])
        if big.exists() and "generated" in args.data:
            logs[f"generated {args.customers:,} x {args.items:,}"] = big
        for label, path in logs.items():
            _say(f"{label}: {json.dumps(_describe(path))}")
        if "sources" in args.case:
            run_sources(logs, args)
        if "als-overhead" in args.case:
            run_als_overhead(logs, args)
        if "serving" in args.case:
            run_serving(folder, args)
        if "batch" in args.case:
            run_batch(big, _describe(big)["users"], args)
    finally:
        if args.folder is None:
            shutil.rmtree(folder, ignore_errors=True)
    _say(f"\nran for {(time.perf_counter() - started) / 60:.1f} minutes; load average now "
         f"{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
