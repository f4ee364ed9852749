"""Column handling for a labelled customer table: detect each column's type, decide what to do
with it, and turn raw columns into model features the same way at training and at scoring.

Detection, in order, on the values left after trimming spaces (blank strings and ``NA``,
``N/A``, ``null``, ``None``, ``NaN``, ``?`` count as missing):

- no values at all → dropped (empty); one distinct value → dropped (constant);
- values that are all Yes/No, True/False, Y/N, T/F or 1/0 → boolean (1 for yes/true/1);
- values that all parse as numbers → numeric (up to 2 % unparseable values are tolerated and
  become missing; the report names them);
- ISO dates → dropped (derive tenure or recency from them first);
- text where every value is different → dropped (id-like); integers named ``...id`` that are
  all different → dropped (id-like);
- any other text → categorical: levels seen at least ``min_level_count`` times, at most
  ``max_levels`` of them; rarer values share the level ``(other)``, blanks get ``(missing)``.

At scoring, :meth:`ColumnPlan.transform` refuses missing feature columns and values of the
wrong type, ignores extra columns, and maps categories it never saw to missing ("unseen").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from growthloop.errors import ModelError

__all__ = [
    "FEATURE_KINDS",
    "ColumnPlan",
    "ColumnSpec",
    "TransformNotes",
    "parse_label",
    "plan_columns",
]

FEATURE_KINDS = ("numeric", "boolean", "categorical")
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-"})
OTHER = "(other)"
MISSING = "(missing)"
_BOOLEAN_PAIRS = (
    ("yes", "no"),
    ("true", "false"),
    ("y", "n"),
    ("t", "f"),
    ("1", "0"),
    ("1.0", "0.0"),
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?")
_ID_NAME = re.compile(r"(?i)(^|[_\s-])id$|[a-z]ID$|^id")
_MAX_BAD_NUMBERS = 0.02


@dataclass(frozen=True)
class ColumnSpec:
    """What was detected in one column and what is done with it.

    ``role`` is ``feature``, ``id``, ``label`` or ``dropped``; ``kind`` the feature type
    (numeric, boolean, categorical) or what the column looked like when dropped.
    """

    name: str
    role: str
    kind: str
    action: str
    missing: int = 0
    levels: tuple[str, ...] = ()
    true_token: str | None = None
    quantiles: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.name,
            "role": self.role,
            "detected": self.kind,
            "action": self.action,
            "missing": self.missing,
        }


@dataclass
class TransformNotes:
    """What :meth:`ColumnPlan.transform` noticed: ignored columns, unseen categories."""

    ignored_columns: list[str] = field(default_factory=list)
    unseen: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = []
        if self.ignored_columns:
            out.append(
                f"ignored {len(self.ignored_columns)} column(s) the model does not use: "
                + ", ".join(self.ignored_columns)
            )
        for column, count in self.unseen.items():
            out.append(
                f"{column}: {count} value(s) not seen in training, treated as unseen (missing)"
            )
        return out


def _as_text(series: pd.Series) -> pd.Series:
    """Strings with surrounding spaces trimmed and missing tokens as ``None``."""
    # Vectorised string methods on the present values; the result is an object Series (pandas
    # 3's string dtype would turn ``None`` back into NaN).
    values = series.astype("object")
    present = values.notna().to_numpy()
    out = np.full(len(values), None, dtype=object)
    if present.any():
        text = values[present].astype(str).str.strip()
        kept = ~text.str.lower().isin(MISSING_TOKENS).to_numpy()
        out[np.flatnonzero(present)[kept]] = text.to_numpy(dtype=object)[kept]
    return pd.Series(out, index=series.index, dtype="object")


def _is_text(series: pd.Series) -> bool:
    return not (
        pd.api.types.is_numeric_dtype(series)
        or pd.api.types.is_bool_dtype(series)
        or pd.api.types.is_datetime64_any_dtype(series)
    )


def _boolean_token(values: Sequence[str]) -> str | None:
    lowered = {v.lower() for v in values}
    for true, false in _BOOLEAN_PAIRS:
        if lowered <= {true, false}:
            return true
    return None


def _quantiles(values: pd.Series) -> tuple[float, float]:
    low, high = np.nanquantile(values.to_numpy(dtype=float), [0.25, 0.75])
    return float(low), float(high)


def _numeric_spec(name: str, numbers: pd.Series, missing: int, note: str = "") -> ColumnSpec:
    action = "numeric feature"
    if note:
        action += f"; {note}"
    elif missing:
        action += f"; {missing} missing"
    return ColumnSpec(
        name, "feature", "numeric", action, missing=missing, quantiles=_quantiles(numbers)
    )


def _plan_one(
    name: str,
    series: pd.Series,
    *,
    max_levels: int,
    min_level_count: int,
    zero_one_as_boolean: bool = True,
) -> ColumnSpec:
    rows = len(series)
    if pd.api.types.is_datetime64_any_dtype(series):
        return ColumnSpec(name, "dropped", "date", "dropped: a date; derive tenure or recency")
    if not _is_text(series):
        numbers = series.astype(float)
        missing = int(numbers.isna().sum())
        distinct = set(numbers.dropna().unique())
        if not distinct:
            return ColumnSpec(name, "dropped", "empty", "dropped: no values", missing=missing)
        if len(distinct) == 1:
            return ColumnSpec(
                name, "dropped", "constant", f"dropped: constant ({distinct.pop():g})"
            )
        if distinct <= {0.0, 1.0} and (zero_one_as_boolean or pd.api.types.is_bool_dtype(series)):
            return ColumnSpec(
                name, "feature", "boolean", "boolean feature (1/0)", missing, true_token="1"
            )
        if (
            len(distinct) == rows
            and _ID_NAME.search(name)
            and bool(np.all(numbers == np.round(numbers)))
        ):
            return ColumnSpec(name, "dropped", "id-like", "dropped: id-like (every value unique)")
        return _numeric_spec(name, numbers, missing)

    text = _as_text(series)
    present = text.dropna()
    missing = rows - len(present)
    distinct = present.unique()
    if len(distinct) == 0:
        return ColumnSpec(name, "dropped", "empty", "dropped: no values", missing=missing)
    if len(distinct) == 1:
        return ColumnSpec(
            name, "dropped", "constant", f"dropped: constant ({distinct[0]!r})", missing=missing
        )
    true_token = _boolean_token(list(distinct))
    if true_token is not None:
        shown = "/".join(sorted(distinct, key=lambda v: v.lower() != true_token))
        action = "boolean feature" + ("" if shown[0] in "01" else f" ({shown} → 1/0)")
        if missing:
            action += f"; {missing} missing"
        return ColumnSpec(name, "feature", "boolean", action, missing, true_token=true_token)
    numbers = pd.to_numeric(present, errors="coerce")
    bad = present[numbers.isna()]
    if len(bad) <= _MAX_BAD_NUMBERS * len(present) and len(bad) < len(present):
        blanks = int(
            (series.astype("object").map(lambda v: isinstance(v, str) and v.strip() == "")).sum()
        )
        notes = []
        if blanks:
            notes.append(f"{blanks} blank strings")
        if len(bad):
            examples = ", ".join(repr(v) for v in bad.unique()[:3])
            notes.append(f"{len(bad)} non-numbers ({examples})")
        note = " and ".join(notes) + " read as missing" if notes else ""
        values = pd.to_numeric(text, errors="coerce")
        return _numeric_spec(name, values, int(values.isna().sum()), note)
    if np.mean([bool(_DATE.match(v)) for v in distinct[:200]]) >= 0.95:
        return ColumnSpec(
            name, "dropped", "date", "dropped: dates; derive tenure or recency from them first"
        )
    if len(distinct) == len(present) and len(present) >= 20:
        return ColumnSpec(
            name, "dropped", "id-like", "dropped: id-like (every value unique)", missing=missing
        )
    counts = present.value_counts()
    kept = [str(v) for v, c in counts.items() if c >= min_level_count][:max_levels]
    levels = sorted(kept)
    rare = len(counts) - len(kept)
    if rare:
        levels.append(OTHER)
    if missing:
        levels.append(MISSING)
    action = f"categorical feature, {len(kept)} levels"
    if rare:
        action += f"; {rare} rare values → {OTHER}"
    if missing:
        action += f"; {missing} blanks → {MISSING}"
    return ColumnSpec(name, "feature", "categorical", action, missing, levels=tuple(levels))


@dataclass(frozen=True)
class ColumnPlan:
    """The columns of a training table and what is done with each (see the module docstring)."""

    columns: tuple[ColumnSpec, ...]
    id_column: str | None = None

    @property
    def features(self) -> list[ColumnSpec]:
        return [c for c in self.columns if c.role == "feature"]

    @property
    def feature_names(self) -> list[str]:
        return [c.name for c in self.features]

    def feature_set(self) -> list[dict[str, Any]]:
        """Names and types of the features, as stored in the model registry."""
        return [
            {"name": c.name, "dtype": c.kind, **({"levels": list(c.levels)} if c.levels else {})}
            for c in self.features
        ]

    def report(self) -> list[dict[str, Any]]:
        return [c.to_dict() for c in self.columns]

    def transform(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, TransformNotes]:
        """Model features from a raw table: numeric and boolean as floats (missing as NaN),
        categorical as pandas categoricals over the training levels."""
        notes = TransformNotes()
        absent = [c.name for c in self.features if c.name not in frame.columns]
        if absent:
            raise ModelError(
                f"the table lacks {len(absent)} feature column(s) the model was trained on: "
                f"{', '.join(absent)}; add them (blank values are allowed)"
            )
        known = {c.name for c in self.columns}
        notes.ignored_columns = [str(c) for c in frame.columns if c not in known]
        out: dict[str, Any] = {}
        for spec in self.features:
            out[spec.name] = self._feature(spec, frame[spec.name], notes)
        return pd.DataFrame(out, index=frame.index), notes

    def _feature(self, spec: ColumnSpec, series: pd.Series, notes: TransformNotes) -> Any:
        if spec.kind == "numeric":
            if not _is_text(series):
                return series.astype(float)
            text = _as_text(series)
            numbers = pd.to_numeric(text, errors="coerce")
            bad = text[numbers.isna() & text.notna()]
            if len(bad) > _MAX_BAD_NUMBERS * max(len(text), 1):
                examples = ", ".join(repr(v) for v in bad.unique()[:3])
                raise ModelError(
                    f"column {spec.name!r} was numeric in training but has {len(bad)} "
                    f"non-numeric values ({examples}); fix the column or leave those cells blank"
                )
            return numbers.astype(float)
        if spec.kind == "boolean":
            if not _is_text(series):
                # bool or 0/1 numbers, as planned by _plan_one: read as floats, not as text
                # ("True" is not a token of the planned 1/0 pair).
                numbers = series.astype(float)
                bad = numbers[numbers.notna() & ~numbers.isin([0.0, 1.0])]
                if len(bad):
                    examples = ", ".join(f"{v:g}" for v in bad.unique()[:3])
                    raise ModelError(
                        f"column {spec.name!r} was boolean (1/0) in training but has other "
                        f"values ({examples}); map them to 1/0 or leave blank"
                    )
                return numbers
            text = _as_text(series)
            lowered = text.map(lambda v: None if v is None else v.lower())
            pair = next(p for p in _BOOLEAN_PAIRS if p[0] == spec.true_token)
            # 1/0 and true/false say the same thing (a bool column read as text, with blanks).
            numeric = {"1", "0", "1.0", "0.0", "true", "false"}
            accepted = set(pair) | (numeric if spec.true_token in ("1", "true") else set())
            bad = lowered[lowered.notna() & ~lowered.isin(accepted)]
            if len(bad):
                examples = ", ".join(repr(v) for v in text[bad.index].unique()[:3])
                raise ModelError(
                    f"column {spec.name!r} was boolean ({pair[0]}/{pair[1]}) in training but has "
                    f"other values ({examples}); map them to {pair[0]}/{pair[1]} or leave blank"
                )
            truth = {"1": 1.0, "0": 0.0, "1.0": 1.0, "0.0": 0.0, "true": 1.0, "false": 0.0}
            truth.update({pair[0]: 1.0, pair[1]: 0.0})
            return lowered.map(lambda v: truth[v] if isinstance(v, str) else np.nan).astype(float)
        text = _as_text(series)
        levels = set(spec.levels)
        seen = text.map(
            lambda v: (
                (MISSING if MISSING in levels else None)
                if v is None
                else (v if v in levels else (OTHER if OTHER in levels else "\x00unseen"))
            )
        )
        unseen = seen == "\x00unseen"
        if unseen.any():
            notes.unseen[spec.name] = int(unseen.sum())
        return pd.Categorical(seen.where(~unseen, None), categories=list(spec.levels))


def plan_columns(
    frame: pd.DataFrame,
    *,
    id_column: str | None = None,
    label_column: str | None = None,
    max_levels: int = 50,
    min_level_count: int = 5,
    zero_one_as_boolean: bool = True,
) -> ColumnPlan:
    """Detect every column's type and decide what to do with it (see the module docstring).

    With ``zero_one_as_boolean`` off, only bool columns become booleans and numbers that
    happen to be 0 or 1 stay numeric (a count that is at most 1 in a small training table).
    """
    for wanted, what in ((id_column, "id"), (label_column, "label")):
        if wanted is not None and wanted not in frame.columns:
            raise ModelError(
                f"{what} column {wanted!r} is not in the table; its columns are: "
                f"{', '.join(map(str, frame.columns))}"
            )
    specs = []
    for name in frame.columns:
        name = str(name)
        if name == id_column:
            specs.append(ColumnSpec(name, "id", "id", "kept as the row id, not a feature"))
        elif name == label_column:
            specs.append(ColumnSpec(name, "label", "label", "the label (what is predicted)"))
        else:
            specs.append(
                _plan_one(
                    name,
                    frame[name],
                    max_levels=max_levels,
                    min_level_count=min_level_count,
                    zero_one_as_boolean=zero_one_as_boolean,
                )
            )
    plan = ColumnPlan(tuple(specs), id_column=id_column)
    if not plan.features:
        raise ModelError(
            "no usable feature columns: every column was dropped (see the column report); "
            "a model needs at least one numeric, boolean or categorical column"
        )
    return plan


def parse_label(
    series: pd.Series, *, target_positive: str | None = None
) -> tuple[np.ndarray, str, str]:
    """The label as 0/1 with the positive and negative values' names.

    Without ``target_positive`` the values must be Yes/No, True/False, Y/N, T/F or 1/0.
    """
    name = str(series.name)
    text = _as_text(series)
    missing = text.isna()
    if missing.any():
        rows = ", ".join(str(i + 2) for i in np.flatnonzero(missing.to_numpy())[:5])
        raise ModelError(
            f"label {name!r} is missing in {int(missing.sum())} rows (file lines {rows}, ...); "
            "remove those rows or fill the label in"
        )
    distinct = sorted(text.unique())
    if target_positive is not None:
        wanted = target_positive.strip().lower()
        positive_values = [v for v in distinct if v.lower() == wanted]
        if not positive_values:
            raise ModelError(
                f"--target-positive {target_positive!r} does not occur in label {name!r} "
                f"(its values: {', '.join(map(repr, distinct[:10]))})"
            )
        positive = positive_values[0]
        y = (text.str.lower() == wanted).to_numpy(dtype=int)
        negatives = [v for v in distinct if v.lower() != wanted]
        negative = negatives[0] if len(negatives) == 1 else f"not {positive}"
    else:
        true_token = _boolean_token(distinct)
        if true_token is None:
            raise ModelError(
                f"label {name!r} has values {', '.join(map(repr, distinct[:10]))}; expected "
                "Yes/No, True/False or 1/0 — pass --target-positive VALUE to name the positive "
                "class (every other value is negative)"
            )
        y = (text.str.lower() == true_token).to_numpy(dtype=int)
        positive = next((v for v in distinct if v.lower() == true_token), true_token)
        negative = next((v for v in distinct if v.lower() != true_token), "other")
    if y.min() == y.max():
        only = positive if y[0] == 1 else negative
        raise ModelError(
            f"label {name!r} has one class only: all {len(y)} rows are {only!r}"
            + (" (all customers churned)" if y[0] == 1 and "churn" in name.lower() else "")
            + "; a classifier needs examples of both classes"
        )
    return y, positive, negative
