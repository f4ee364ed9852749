"""Read a file (CSV, CSV.gz, JSON Lines, Parquet) into a DuckDB temp table of text columns.

Every accepted record gets ``__line``, its line in the file (the header is line 1; a record
that spans several physical lines counts as one, and blank lines are skipped, as DuckDB counts).
Records the CSV parser cannot split into the header's columns are returned as parse rejects
with their line. Files that cannot be read at all raise :class:`~growthloop.errors.IngestError`
before anything is stored.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa

from growthloop.errors import IngestError

__all__ = [
    "ParseReject",
    "RawSource",
    "detect_format",
    "drop_source",
    "fingerprint",
    "read_source",
]

FORMATS = ("csv", "jsonl", "parquet")
_SAMPLE_BYTES = 256 * 1024
_MAX_LINE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class ParseReject:
    """A record the reader could not split into columns."""

    line: int | None
    reason: str
    message: str
    value: str | None = None


@dataclass
class RawSource:
    """The file's records as the temp table ``table`` (text columns plus ``__line``)."""

    path: Path
    format: str
    table: str
    columns: list[str]
    rows: int
    parse_rejects: list[ParseReject] = field(default_factory=list)
    # Source columns that are typed timestamps (Parquet): name -> "tz" or "naive". Their value
    # is also available, typed, as the column "__ts:<name>" (naive UTC for "tz").
    typed_timestamps: dict[str, str] = field(default_factory=dict)


def fingerprint(path: Path) -> str:
    """SHA-256 of the file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def detect_format(path: Path, given: str | None = None) -> str:
    """The format named by ``given`` or by the file name (``.csv``, ``.csv.gz``, ``.tsv``,
    ``.txt``, ``.jsonl``, ``.ndjson``, ``.json``, ``.parquet``)."""
    if given:
        if given not in FORMATS:
            raise IngestError(f"unknown format {given!r}; use one of {', '.join(FORMATS)}")
        return given
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise IngestError(
        f"cannot tell the format of {path.name} from its name; pass --format csv, jsonl or parquet"
    )


def _sample(path: Path) -> bytes:
    """The first bytes of the file's content, decompressed if gzipped."""
    with path.open("rb") as handle:
        magic = handle.read(2)
    if magic == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as handle:
                return handle.read(_SAMPLE_BYTES)
        except (OSError, EOFError, zlib.error) as exc:
            raise IngestError(
                f"{path.name} is a corrupt or truncated gzip file ({exc}); "
                "download or compress it again"
            ) from exc
    if path.name.lower().endswith(".gz"):
        raise IngestError(f"{path.name} ends in .gz but is not gzip-compressed; rename it")
    with path.open("rb") as handle:
        return handle.read(_SAMPLE_BYTES)


def _check_text(path: Path, sample: bytes, encoding: str) -> str:
    """Decode the sample or raise a clear error for binary or wrongly encoded files."""
    if b"\x00" in sample[:8192]:
        raise IngestError(
            f"{path.name} looks like a binary file (it contains NUL bytes), not CSV or JSON "
            "Lines text; export it as CSV, JSON Lines or Parquet"
        )
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        return decoder.decode(sample, final=False)
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"{path.name} is not {encoding} text (byte 0x{sample[exc.start]:02x} at offset "
            f"{exc.start}); pass --encoding with the file's encoding, e.g. --encoding latin-1"
        ) from exc
    except LookupError as exc:
        raise IngestError(f"unknown encoding {encoding!r}; use e.g. utf-8 or latin-1") from exc


def _sniff_dialect(path: Path, text: str, delimiter: str | None) -> tuple[str, list[str]]:
    lines = text.splitlines()
    if not lines:
        raise IngestError(f"{path.name} is empty; nothing to load")
    head = "\n".join(lines[:50])
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    header = next(csv.reader(io.StringIO(lines[0]), delimiter=delimiter))
    columns = [c.strip() or f"column{i + 1}" for i, c in enumerate(header)]
    if len(set(columns)) != len(columns):
        dupes = sorted({c for c in columns if columns.count(c) > 1})
        raise IngestError(
            f"{path.name} has repeated column names in its header: {', '.join(dupes)}; "
            "rename them so each column name is unique"
        )
    return delimiter, columns


def _transcode(path: Path, encoding: str, folder: Path) -> Path:
    """Copy a non-UTF-8 text file to a UTF-8 temp file DuckDB can read."""
    target = folder / (path.name.removesuffix(".gz") + ".utf8")
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with (
        opener(path, "rt", encoding=encoding, newline="") as src,
        target.open("w", encoding="utf-8", newline="") as dst,
    ):
        for block in iter(lambda: src.read(1 << 20), ""):
            dst.write(block)
    return target


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _read_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str,
    *,
    delimiter: str | None,
    encoding: str,
    header: bool,
    names: Sequence[str] | None,
) -> RawSource:
    text = _check_text(path, _sample(path), encoding)
    with tempfile.TemporaryDirectory(prefix="growthloop-") as tmp:
        source = path
        if encoding.replace("_", "-").lower() not in ("utf-8", "utf8"):
            source = _transcode(path, encoding, Path(tmp))
        if delimiter == "whitespace":
            if not names:
                raise IngestError(f"{path.name}: a whitespace-separated file needs column names")
            return _read_whitespace(con, path, source, table, list(names), header=header)
        if header:
            delimiter, columns = _sniff_dialect(path, text, delimiter)
        else:
            if not names:
                raise IngestError(f"{path.name}: a file without a header needs column names")
            columns = list(names)
            delimiter = delimiter or ","
        spec = ", ".join(f"{_sql_str(c)}: 'VARCHAR'" for c in columns)
        rejects = f"{table}_rejects"
        con.execute(f"DROP VIEW IF EXISTS {table}")
        con.execute(f"DROP TABLE IF EXISTS {rejects}")
        con.execute(f"DROP TABLE IF EXISTS {rejects}_scan")
        reader = (
            f"read_csv({_sql_str(str(source))}, header={'true' if header else 'false'}, "
            f"delim={_sql_str(delimiter)}, quote='\"', escape='\"', auto_detect=false, "
            f"columns={{{spec}}}, max_line_size={_MAX_LINE_BYTES}, strict_mode=true, "
            f"store_rejects=true, rejects_table={_sql_str(rejects)}, "
            f"rejects_scan={_sql_str(rejects + '_scan')})"
        )
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table}_in AS SELECT * FROM {reader}")
            bad = con.execute(
                f"SELECT line, error_type, error_message, csv_line FROM {rejects} ORDER BY line"
            ).fetchall()
        except duckdb.Error as exc:
            raise _read_error(path, exc) from exc
    if len(columns) == 1 and any(d in columns[0] for d in ",;\t|"):
        raise IngestError(
            f"{path.name} was read as one column named {columns[0][:60]!r}: the delimiter is "
            "probably different; pass --delimiter with the file's delimiter (e.g. ';' or 'tab')"
        )
    parse_rejects = _parse_rejects(bad)
    first_line = 2 if header else 1
    _number_lines(con, table, [r.line or 0 for r in parse_rejects], first_line)
    rows = int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
    return RawSource(path, "csv", table, columns, rows, parse_rejects)


def _read_whitespace(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    source: Path,
    table: str,
    columns: list[str],
    *,
    header: bool,
) -> RawSource:
    """Read a file whose fields are separated by runs of spaces or tabs (e.g. CDNOW)."""
    first_line = 2 if header else 1
    reader = (
        f"read_csv({_sql_str(str(source))}, header={'true' if header else 'false'}, "
        "delim='\\x1f', quote='', escape='', auto_detect=false, columns={'line': 'VARCHAR'}, "
        f"max_line_size={_MAX_LINE_BYTES}, strict_mode=false)"
    )
    fields = ", ".join(
        f"parts[{i + 1}] AS {_sql_str(c).replace(chr(39), chr(34))}" for i, c in enumerate(columns)
    )
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table}_lines AS SELECT line FROM {reader}")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table}_split AS SELECT rowid + {first_line} AS __line, "
            f"line, string_split_regex(trim(line), '\\s+') AS parts FROM {table}_lines "
            "WHERE trim(line) <> ''"
        )
        con.execute(f"DROP TABLE {table}_lines")
    except duckdb.Error as exc:
        raise _read_error(path, exc) from exc
    bad = con.execute(
        f"SELECT __line, len(parts), line FROM {table}_split WHERE len(parts) <> {len(columns)}"
    ).fetchall()
    rejects = [
        ParseReject(
            int(line),
            "missing_columns" if int(n) < len(columns) else "too_many_columns",
            f"the record has {n} fields, expected {len(columns)} ({', '.join(columns)})",
            str(text)[:200],
        )
        for line, n, text in bad
    ]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {fields}, __line FROM {table}_split "
        f"WHERE len(parts) = {len(columns)}"
    )
    con.execute(f"DROP TABLE {table}_split")
    rows = int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
    return RawSource(path, "csv", table, columns, rows, rejects)


_REJECT_REASONS = {
    "MISSING COLUMNS": ("missing_columns", "the record has fewer fields than the header"),
    "TOO MANY COLUMNS": ("too_many_columns", "the record has more fields than the header"),
    "LINE SIZE OVER MAXIMUM": (
        "line_too_long",
        f"the record is longer than {_MAX_LINE_BYTES // (1024 * 1024)} MB",
    ),
    "INVALID ENCODING": ("invalid_encoding", "the record is not valid text in the file's encoding"),
    "UNQUOTED VALUE": ("bad_quoting", "a quote character appears inside an unquoted field"),
    "INVALID UNICODE": ("invalid_encoding", "the record is not valid UTF-8"),
}


def _parse_rejects(rows: list[tuple[object, ...]]) -> list[ParseReject]:
    out = []
    seen: set[int] = set()
    for line, error_type, message, csv_line in rows:
        number = int(line) if line is not None else None  # type: ignore[call-overload]
        if number is not None:
            if number in seen:
                continue
            seen.add(number)
        reason, text = _REJECT_REASONS.get(str(error_type), ("unparsable", str(message)))
        value = str(csv_line)[:200] if csv_line is not None else None
        out.append(ParseReject(number, reason, text, value))
    return out


def _number_lines(
    con: duckdb.DuckDBPyConnection, table: str, reject_lines: list[int], first_line: int
) -> None:
    """Give each accepted record its line: its rank, shifted past the rejected lines before it."""
    if not reject_lines:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS "
            f"SELECT *, rowid + {first_line} AS __line FROM {table}_in"
        )
    else:
        # The i-th rejected line (0-based) r has r - first_line - i accepted records before it.
        thresholds = sorted(r - first_line - i for i, r in enumerate(sorted(reject_lines)))
        con.execute("CREATE OR REPLACE TEMP TABLE __thresholds (t BIGINT)")
        con.executemany("INSERT INTO __thresholds VALUES (?)", [[t] for t in thresholds])
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS "
            f"SELECT s.*, s.rowid + {first_line} + "
            f"(SELECT count(*) FROM __thresholds WHERE t <= s.rowid) AS __line FROM {table}_in s"
        )
    con.execute(f"DROP TABLE {table}_in")


def _read_error(path: Path, exc: duckdb.Error) -> IngestError:
    text = str(exc).splitlines()[0][:300]
    lowered = text.lower()
    if "gzip" in lowered or "compress" in lowered or "zlib" in lowered:
        return IngestError(
            f"{path.name} is a corrupt or truncated gzip file ({text}); download or compress "
            "it again"
        )
    if "parquet" in lowered or "magic" in lowered:
        return IngestError(f"{path.name} is not a readable Parquet file ({text})")
    return IngestError(f"cannot read {path.name}: {text}")


def _flatten(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return orjson.dumps(value).decode()


def _read_jsonl(
    con: duckdb.DuckDBPyConnection, path: Path, table: str, *, encoding: str
) -> RawSource:
    _check_text(path, _sample(path), encoding)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    records: list[dict[str, str | None]] = []
    lines: list[int] = []
    columns: dict[str, None] = {}
    rejects: list[ParseReject] = []
    try:
        with opener(path, "rt", encoding=encoding, errors="strict") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                if len(raw) > _MAX_LINE_BYTES:
                    rejects.append(ParseReject(number, "line_too_long", "the line is too long"))
                    continue
                try:
                    obj = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    rejects.append(
                        ParseReject(number, "invalid_json", f"not valid JSON: {exc}", raw[:200])
                    )
                    continue
                if not isinstance(obj, dict):
                    rejects.append(
                        ParseReject(
                            number, "not_an_object", "the line is not a JSON object", raw[:200]
                        )
                    )
                    continue
                flat = {str(k): _flatten(v) for k, v in obj.items()}
                columns.update(dict.fromkeys(flat))
                records.append(flat)
                lines.append(number)
    except (OSError, EOFError, zlib.error) as exc:
        raise IngestError(f"{path.name} is a corrupt or truncated gzip file ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"{path.name} is not {encoding} text; pass --encoding with the file's encoding"
        ) from exc
    names = list(columns)
    arrays = {name: pa.array([r.get(name) for r in records], pa.string()) for name in names}
    arrays["__line"] = pa.array(lines, pa.int64())
    arrow = pa.table(arrays)
    con.register(f"{table}_arrow", arrow)
    con.execute(f"DROP VIEW IF EXISTS {table}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {table}_arrow")
    con.unregister(f"{table}_arrow")
    return RawSource(path, "jsonl", table, names, len(records), rejects)


def _read_parquet(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> RawSource:
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic != b"PAR1":
        raise IngestError(
            f"{path.name} is not a Parquet file (it does not start with 'PAR1'); "
            "pass --format csv or jsonl if it is text"
        )
    try:
        described = con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({_sql_str(str(path))})"
        ).fetchall()
        casts = []
        typed: dict[str, str] = {}
        for name, type_name, *_ in described:
            quoted = '"' + str(name).replace('"', '""') + '"'
            typed_name = '"__ts:' + str(name).replace('"', '""') + '"'
            kind = str(type_name).upper()
            if kind.endswith("[]"):
                expr = f"to_json({quoted})::VARCHAR"
            elif kind.startswith(("STRUCT", "MAP", "JSON")):
                expr = f"to_json({quoted})::VARCHAR"
            elif kind.startswith("TIMESTAMP WITH TIME ZONE"):
                expr = f"{quoted}::VARCHAR"  # '2024-01-01 10:00:00+00' (session time zone UTC)
                typed[str(name)] = "tz"
                casts.append(f"{quoted} AT TIME ZONE 'UTC' AS {typed_name}")
            elif kind.startswith("TIMESTAMP"):
                expr = f"{quoted}::VARCHAR"
                typed[str(name)] = "naive"
                casts.append(f"{quoted}::TIMESTAMP AS {typed_name}")
            else:
                expr = f"{quoted}::VARCHAR"
            casts.append(f"{expr} AS {quoted}")
        # A view, not a copy: the cleaning query reads the file directly.
        con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT {', '.join(casts)}, "
            f"file_row_number + 1 AS __line "
            f"FROM read_parquet({_sql_str(str(path))}, file_row_number=true)"
        )
    except duckdb.Error as exc:
        raise _read_error(path, exc) from exc
    rows = int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
    return RawSource(
        path, "parquet", table, [str(d[0]) for d in described], rows, typed_timestamps=typed
    )


def read_source(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    fmt: str | None = None,
    delimiter: str | None = None,
    encoding: str = "utf-8",
    header: bool = True,
    names: Sequence[str] | None = None,
    table: str = "_raw",
) -> RawSource:
    """Read ``path`` into the temp table (for Parquet: view) ``table``; see the module
    docstring. Drop it with :func:`drop_source`."""
    if not path.exists():
        raise IngestError(f"file not found: {path}")
    if not path.is_file():
        raise IngestError(f"{path} is not a file")
    if path.stat().st_size == 0:
        raise IngestError(f"{path.name} is empty; nothing to load")
    kind = detect_format(path, fmt)
    if delimiter in ("tab", "\\t"):
        delimiter = "\t"
    if kind == "csv":
        return _read_csv(
            con, path, table, delimiter=delimiter, encoding=encoding, header=header, names=names
        )
    if kind == "jsonl":
        return _read_jsonl(con, path, table, encoding=encoding)
    return _read_parquet(con, path, table)


def drop_source(con: duckdb.DuckDBPyConnection, raw: RawSource) -> None:
    """Drop the temp table or view :func:`read_source` created."""
    kind = "VIEW" if raw.format == "parquet" else "TABLE"
    con.execute(f"DROP {kind} IF EXISTS {raw.table}")
