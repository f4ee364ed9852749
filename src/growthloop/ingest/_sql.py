"""Small builders of DuckDB SQL used by the cleaning steps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from growthloop.errors import IngestError
from growthloop.ingest._source import RawSource

__all__ = ["MAX_FIELD_CHARS", "decimal", "ident", "literal", "project", "timestamp_utc"]

MAX_FIELD_CHARS = 10_000


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A quoted SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def project(
    raw: RawSource,
    mapping: Mapping[str, str],
    canonical: Sequence[str],
    *,
    entity: str,
    required: Sequence[Sequence[str]],
    aliases: Mapping[str, str] | None = None,
    keep_unmapped: bool = False,
) -> tuple[str, list[str], list[str]]:
    """SELECT list turning the file's columns into canonical ones (trimmed text, '' → NULL).

    ``required`` lists alternatives: each inner sequence needs at least one present column.
    Returns the SQL, the canonical columns present (plus ``__typed_tz_<field>`` or
    ``__typed_naive_<field>`` for fields read from typed timestamps), and the unmapped source
    columns.
    """
    allowed = set(canonical)
    for source, target in mapping.items():
        if target not in allowed:
            raise IngestError(
                f"mapping target {target!r} is not a {entity} field; use one of "
                f"{', '.join(sorted(allowed))}"
            )
        if source not in raw.columns:
            raise IngestError(
                f"mapping names column {source!r}, which {raw.path.name} does not have; "
                f"its columns are: {', '.join(raw.columns[:30])}"
            )
    chosen: dict[str, str] = {}
    chosen_typed: list[str] = []
    for source, target in mapping.items():
        chosen[target] = source
    by_alias = dict(aliases or {})
    for column in raw.columns:
        found = column if column in allowed else by_alias.get(column)
        if found and found not in chosen and column not in mapping:
            chosen[found] = column
    for options in required:
        if not any(o in chosen for o in options):
            need = " or ".join(repr(o) for o in options)
            raise IngestError(
                f"{raw.path.name} has no column for {need} (required for {entity}); columns "
                f"found: {', '.join(raw.columns[:30])}; map one with --map SOURCE={options[0]} "
                "or use a --preset"
            )
    select = [f"NULLIF(trim({ident(src)}), '') AS {ident(dst)}" for dst, src in chosen.items()]
    # Typed timestamps (Parquet) travel beside their text, so they need not be parsed again.
    for dst, src in chosen.items():
        kind = raw.typed_timestamps.get(src)
        if kind is not None:
            select.append(f"{ident('__ts:' + src)} AS {ident(f'__typed_{kind}_{dst}')}")
            chosen_typed.append(f"__typed_{kind}_{dst}")
    used = set(chosen.values())
    unmapped = [c for c in raw.columns if c not in used]
    if keep_unmapped:
        select += [f"NULLIF(trim({ident(c)}), '') AS {ident('extra:' + c)}" for c in unmapped]
    select.append("__line")
    return ", ".join(select), list(chosen) + chosen_typed, unmapped


def timestamp_utc(
    text_expr: str, source_timezone: str, fmt: str | None, present: Sequence[str] = ()
) -> str:
    """Parse text to a naive UTC ``TIMESTAMP``: values with an offset (``Z``, ``+01:00``) are
    converted; values without one are read in ``source_timezone``. ``NULL`` when it cannot be
    parsed. The offset test looks at the last characters only (no regular expression).

    When ``present`` (from :func:`project`) shows the field came from a typed timestamp, that
    value is used instead of parsing text.
    """
    if f"__typed_tz_{text_expr}" in present:
        return ident(f"__typed_tz_{text_expr}")
    if f"__typed_naive_{text_expr}" in present:
        typed = ident(f"__typed_naive_{text_expr}")
        if source_timezone.upper() in ("UTC", "ETC/UTC", "Z"):
            return typed
        return f"(({typed}) AT TIME ZONE {literal(source_timezone)}) AT TIME ZONE 'UTC'"
    naive = (
        f"TRY_STRPTIME({text_expr}, {literal(fmt)})"
        if fmt
        else f"TRY_CAST({text_expr} AS TIMESTAMP)"
    )
    local = (
        naive
        if source_timezone.upper() in ("UTC", "ETC/UTC", "Z")
        else f"(({naive}) AT TIME ZONE {literal(source_timezone)}) AT TIME ZONE 'UTC'"
    )
    has_offset = (
        f"(length({text_expr}) > 10 AND (right({text_expr}, 1) IN ('Z', 'z') "
        f"OR substr({text_expr}, -6, 1) IN ('+', '-') OR substr({text_expr}, -5, 1) IN ('+', '-')"
        f" OR substr({text_expr}, -3, 1) IN ('+', '-')))"
    )
    return (
        f"CASE WHEN {has_offset} THEN TRY_CAST({text_expr} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' "
        f"ELSE {local} END"
    )


def decimal(text_expr: str) -> str:
    """Parse text to ``DECIMAL(18, 4)``; ``NULL`` when it is not a plain number."""
    return f"TRY_CAST({text_expr} AS DECIMAL(18, 4))"
