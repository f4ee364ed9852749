"""Cleaning and loading the product catalogue.

A row needs a product id; a price must be a non-negative number; tags may be a JSON array or a
list separated by ``|`` or ``,``. A product id seen again updates the stored record.
"""

from __future__ import annotations

import duckdb

from growthloop.ingest._options import LoadOptions
from growthloop.ingest._rejects import insert_parse_rejects, reason_case, reasons
from growthloop.ingest._source import RawSource
from growthloop.ingest._sql import MAX_FIELD_CHARS, decimal, literal, project
from growthloop.ingest._upsert import keyed_counts, upsert

__all__ = ["PRODUCT_FIELDS", "load_products"]

PRODUCT_FIELDS = (
    "product_id",
    "title",
    "description",
    "category",
    "brand",
    "price",
    "currency",
    "tags",
)
_ALIASES = {"id": "product_id", "sku": "product_id", "name": "title", "StockCode": "product_id"}


def load_products(
    con: duckdb.DuckDBPyConnection,
    raw: RawSource,
    options: LoadOptions,
    *,
    load_id: str,
    source: str,
) -> tuple[dict[str, int], dict[str, int], dict[str, int], int]:
    """Clean and upsert products; return counts, rejects by reason, cleared values, links."""
    select, present, _ = project(
        raw,
        options.mapping,
        PRODUCT_FIELDS,
        entity="products",
        required=[("product_id",)],
        aliases=_ALIASES,
    )
    missing = [f"NULL::VARCHAR AS {f}" for f in PRODUCT_FIELDS if f not in present]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _p_src AS SELECT {', '.join([select, *missing])}, "
        f"{decimal('price')} AS p_num FROM {raw.table}"
    )
    rules = [
        (
            "product_id IS NULL",
            "missing_product_id",
            "product_id",
            "NULL",
            "'the product id is empty'",
        ),
        (
            "price IS NOT NULL AND p_num IS NULL",
            "bad_price",
            "price",
            "price",
            "'price ' || price || ' is not a number (use . for decimals, no symbols)'",
        ),
        ("p_num < 0", "negative_price", "price", "price", "'price ' || price || ' is negative'"),
        (
            "currency IS NOT NULL AND NOT regexp_matches(upper(currency), '^[A-Z]{3}$')",
            "bad_currency",
            "currency",
            "currency",
            "'currency ' || currency || ' is not a 3-letter ISO 4217 code'",
        ),
    ]
    for column in ("product_id", "title", "category", "brand", "tags"):
        rules.append(
            (
                f"length({column}) > {MAX_FIELD_CHARS}",
                "field_too_long",
                column,
                column,
                f"'{column} is longer than {MAX_FIELD_CHARS} characters'",
            )
        )
    rules.append(
        (
            "length(description) > 100000",
            "field_too_long",
            "description",
            "description",
            "'description is longer than 100000 characters'",
        )
    )
    reason, column, value, message = reason_case(rules)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _p_checked AS SELECT *, {reason} AS reason,
            {column} AS reject_column, {value} AS reject_value, {message} AS reject_message,
            row_number() OVER (PARTITION BY product_id ORDER BY __line DESC) AS newest
        FROM _p_src"""
    )
    con.execute(
        f"""INSERT INTO rejects SELECT {literal(load_id)}, 'products', {literal(source)}, __line,
            reject_column, reject_value, reason, reject_message, 'row_rejected'
        FROM _p_checked WHERE reason IS NOT NULL"""
    )
    insert_parse_rejects(con, raw.parse_rejects, load_id=load_id, entity="products", source=source)
    tags = (
        "CASE WHEN tags IS NULL THEN NULL "
        "WHEN starts_with(tags, '[') AND json_valid(tags) THEN CAST(tags AS VARCHAR[]) "
        "ELSE list_filter(list_transform(string_split_regex(tags, '[|,]'), lambda t: trim(t)), "
        "lambda t: t <> '') END"
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _p_rows AS SELECT product_id, title, description,
            category, brand, p_num AS price,
            upper(coalesce(currency, {literal(options.currency)})) AS currency, {tags} AS tags,
            {literal(load_id)} AS load_id, now()::TIMESTAMP AS updated_at
        FROM _p_checked WHERE reason IS NULL AND newest = 1"""
    )
    new, updated, unchanged = upsert(
        con,
        "products",
        "_p_rows",
        key="product_id",
        compare=["title", "description", "category", "brand", "price", "currency", "tags"],
    )
    counts = keyed_counts(con, "_p_checked", raw, (new, updated, unchanged))
    return counts, reasons(con, load_id)[0], {}, 0
