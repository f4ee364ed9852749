"""The recommendations section: how well each recall source, the popularity baseline and the
full pipeline predict what customers bought in held-out days, how many of each customer's truly
preferred items they find (on a generated world), and example recommendations with reasons.

Takes the results of :func:`~growthloop.recommend._service.evaluate_workspace` (one evaluation
per policy on already-bought items), optionally the evaluation against the planted truth
(:func:`~growthloop.recommend._truth.evaluate_against_truth`) and a frame of example
recommendations; nothing is read from the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd

from growthloop.errors import ModelError
from growthloop.recommend._evaluate import Evaluation
from growthloop.report._charts import to_svg
from growthloop.report._section import Section

__all__ = ["recommendations_section"]

# Columns of the evaluation tables: (metric, heading).
_METRICS = (
    ("precision", "precision"),
    ("recall", "recall"),
    ("ndcg", "NDCG"),
    ("map", "MAP"),
    ("hit_rate", "hit rate"),
    ("coverage", "coverage"),
    ("novelty", "novelty"),
)
_KIND_NOTE = {"baseline": " (baseline)", "pipeline": " (full pipeline)", "source": ""}


def _policy(evaluation: Evaluation) -> str:
    return "excluded" if evaluation.exclude_bought else "allowed"


def _table(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "policy": _policy(evaluation),
        "rows": [
            {
                "model": row.name + _KIND_NOTE.get(row.kind, ""),
                "pipeline": row.kind == "pipeline",
                "values": [float(getattr(row.metrics, key)) for key, _ in _METRICS],
                "seconds": row.seconds,
            }
            for row in evaluation.rows
        ],
    }


def _ndcg_chart(evaluations: Sequence[Evaluation]) -> str:
    rows = [
        {"model": row.name + _KIND_NOTE.get(row.kind, ""), "ndcg": row.metrics.ndcg,
         "already bought": _policy(e)}
        for e in evaluations
        for row in e.rows
    ]
    order = [row.name + _KIND_NOTE.get(row.kind, "") for row in evaluations[0].rows]
    k = evaluations[0].k
    chart = (
        alt.Chart(pd.DataFrame(rows), title=f"NDCG@{k} per model on the held-out data")
        .mark_bar()
        .encode(
            y=alt.Y("model:N", sort=order, title=None),
            yOffset=alt.YOffset("already bought:N"),
            x=alt.X("ndcg:Q", title=f"NDCG@{k}"),
            color=alt.Color("already bought:N", title="already-bought items"),
            tooltip=["model", "already bought", alt.Tooltip("ndcg:Q", format=".3f")],
        )
        .properties(width=420, height=alt.Step(12))
    )
    return to_svg(chart)


def _truth(truth: Evaluation) -> dict[str, Any]:
    rows = [
        {"model": row.name + _KIND_NOTE.get(row.kind, ""), "recall": row.metrics.recall,
         "ndcg": row.metrics.ndcg, "pipeline": row.kind == "pipeline"}
        for row in sorted(truth.rows, key=lambda r: (r.kind != "pipeline", -r.metrics.recall))
    ]
    pipeline = truth.row("pipeline").metrics.recall
    popular = truth.row("popular").metrics.recall
    return {
        "rows": rows,
        "customers": truth.split["test_users"],
        "pipeline": pipeline,
        "popular": popular,
        "ratio": pipeline / popular if popular > 0 else None,
        "unseen_items": truth.split["dropped_items"],
    }


def _examples(examples: pd.DataFrame) -> list[dict[str, Any]]:
    customers = []
    for customer_id, rows in examples.groupby("customer_id", sort=False):
        first = rows.iloc[0]
        customers.append({
            "customer_id": customer_id,
            "purchases": int(first["purchases"]),
            "segment": first["segment"],
            "favourite_categories": first["favourite_categories"],
            "items": rows.to_dict(orient="records"),
            "hits": int(rows["in_true_top"].sum()),
        })
    return customers


def recommendations_section(
    held_out: Sequence[Evaluation],
    *,
    truth: Evaluation | None = None,
    examples: pd.DataFrame | None = None,
    min_purchases: int | None = None,
) -> Section:
    """The section for ``held_out`` (one evaluation per bought-items policy), with the truth
    evaluation and the example recommendations when given.

    ``examples`` has one row per customer and item: ``customer_id``, ``purchases``,
    ``segment``, ``favourite_categories``, ``rank``, ``title``, ``category``, ``price``,
    ``reason`` and ``in_true_top``.
    """
    if not held_out:
        raise ModelError("no evaluation to show; run evaluate_workspace first")
    first = held_out[0]
    pipeline = {_policy(e): e.row("pipeline").metrics for e in held_out}
    return Section(
        key="recommendations",
        title="Recommendations",
        template="recommendations.html.j2",
        context={
            "k": first.k,
            "split": first.split,
            "skipped": first.skipped,
            "headings": [heading for _, heading in _METRICS],
            "tables": [_table(e) for e in held_out],
            "pipeline": pipeline,
            "best_source": {_policy(e): e.best_source().name for e in held_out},
            "chart": _ndcg_chart(held_out),
            "truth": None if truth is None else _truth(truth),
            "min_purchases": min_purchases,
            "examples": [] if examples is None else _examples(examples),
        },
    )
