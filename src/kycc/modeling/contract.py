"""The model-input contract: which column is the date, the label, the ids and the features.

Training reads one table (``mdl_model_input``) of this shape, whatever produced it: the ``model_input``
pipeline from the gold stores, or a user's own parquet/CSV ("bring your own data"). The columns are declared
in ``training.data_contract``; ``features: null`` means every column that is not an id, the date, the label,
the label date, excluded or **protected**.

Fair lending: ``protected_columns`` lists protected characteristics and the proxies the team marks (age, country
as a national-origin proxy, occupation). They are left out of the features by default; a model may use one only
when ``allow_protected`` names it (a recorded, reviewed choice) — declaring it in ``features`` is not enough.
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "WINDOW_COLUMN",
    "DataContract",
    "DataContractError",
    "FeatureSpec",
    "data_fingerprint",
    "resolve_features",
    "validate_model_input",
]

# Column added by training to say which window a row belongs to (never a feature).
WINDOW_COLUMN = "_window"


class DataContractError(ValueError):
    """The model input does not have the shape ``training.data_contract`` declares."""


@dataclass(frozen=True)
class DataContract:
    """``training.data_contract`` parameters."""

    date_column: str = "application_date"
    label_column: str = "label"
    id_columns: tuple[str, ...] = ()
    label_date_column: str | None = None
    exclude_columns: tuple[str, ...] = ()
    features: tuple[str, ...] | None = None
    categorical: tuple[str, ...] | None = None
    protected_columns: tuple[str, ...] = ()
    allow_protected: tuple[str, ...] = ()

    @classmethod
    def from_params(cls, params: dict[str, Any] | None) -> DataContract:
        params = dict(params or {})
        unknown = set(params) - set(cls.__dataclass_fields__)
        if unknown:
            raise DataContractError(
                f"Unknown keys in training.data_contract: {sorted(unknown)}; "
                f"allowed: {sorted(cls.__dataclass_fields__)}"
            )
        for key in ("id_columns", "exclude_columns", "protected_columns", "allow_protected"):
            params[key] = tuple(params.get(key) or ())
        for key in ("features", "categorical"):
            if params.get(key) is not None:
                params[key] = tuple(params[key])
        for key in ("date_column", "label_column"):
            if not params.get(key, getattr(cls, key)):
                raise DataContractError(f"training.data_contract.{key} must be set")
        contract = cls(**params)
        stray = [c for c in contract.allow_protected if c not in contract.protected_columns]
        if stray:
            raise DataContractError(
                f"training.data_contract.allow_protected lists {stray}, which are not protected_columns "
                f"{list(contract.protected_columns)}"
            )
        return contract

    @property
    def left_out_protected(self) -> list[str]:
        """Protected columns never used as features (``protected_columns`` minus ``allow_protected``)."""
        return [c for c in self.protected_columns if c not in self.allow_protected]

    @property
    def reserved(self) -> list[str]:
        """Columns that are never features."""
        cols = [self.date_column, self.label_column, *self.id_columns]
        if self.label_date_column:
            cols.append(self.label_date_column)
        return cols


@dataclass(frozen=True)
class FeatureSpec:
    """The resolved contract: the feature columns and which of them are categorical."""

    date_column: str
    label_column: str
    id_columns: list[str]
    label_date_column: str | None
    features: list[str]
    categorical: list[str] = field(default_factory=list)

    @property
    def numeric(self) -> list[str]:
        return [f for f in self.features if f not in set(self.categorical)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        return cls(**data)


def _is_excluded(column: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(column, p) for p in patterns)


def resolve_features(columns: list[str], dtypes: pd.Series, contract: DataContract) -> FeatureSpec:
    """The feature spec of a table with ``columns`` under ``contract`` (errors name what to change)."""
    present = set(columns)
    hint = (
        "Declare the columns of your table in training.data_contract (conf/base/parameters_training.yml, or "
        "conf/local/parameters_training.yml for your own data); see docs/training.md."
    )
    for role, col in (("label_column", contract.label_column), ("date_column", contract.date_column)):
        if col not in present:
            raise DataContractError(
                f"The model input has no {role.replace('_column', '')} column {col!r} "
                f"(training.data_contract.{role}). Columns present: {sorted(present)}. {hint}"
            )
    missing_ids = [c for c in contract.id_columns if c not in present]
    if missing_ids:
        raise DataContractError(
            f"The model input has no id column(s) {missing_ids} (training.data_contract.id_columns). "
            f"Columns present: {sorted(present)}. {hint}"
        )
    if contract.label_date_column and contract.label_date_column not in present:
        raise DataContractError(
            f"The model input has no label date column {contract.label_date_column!r} "
            f"(training.data_contract.label_date_column; set it to null if your table has none). {hint}"
        )
    reserved = set(contract.reserved)
    protected = set(contract.left_out_protected)
    if contract.features is None:
        features = [
            c
            for c in columns
            if c not in reserved and c not in protected and not _is_excluded(c, contract.exclude_columns)
        ]
    else:
        used = [c for c in contract.features if c in protected]
        if used:
            raise DataContractError(
                f"training.data_contract.features declares protected column(s) {used} "
                f"(training.data_contract.protected_columns: fair lending). Remove them, or name them in "
                f"training.data_contract.allow_protected after a fair-lending review."
            )
        features = list(contract.features)
        missing = [c for c in features if c not in present]
        if missing:
            raise DataContractError(
                f"Features declared in training.data_contract.features are not in the model input: {missing}. "
                f"Columns present: {sorted(present)}."
            )
        clash = [c for c in features if c in reserved]
        if clash:
            raise DataContractError(f"Columns {clash} are declared both as features and as id/date/label.")
    if not features:
        raise DataContractError(
            f"No feature columns left in the model input (columns: {sorted(present)}). {hint}"
        )
    if contract.categorical is None:
        categorical = [c for c in features if _looks_categorical(dtypes[c])]
    else:
        unknown = [c for c in contract.categorical if c not in features]
        if unknown:
            raise DataContractError(
                f"training.data_contract.categorical lists columns that are not features: {unknown}"
            )
        categorical = list(contract.categorical)
    return FeatureSpec(
        date_column=contract.date_column,
        label_column=contract.label_column,
        id_columns=list(contract.id_columns),
        label_date_column=contract.label_date_column,
        features=features,
        categorical=categorical,
    )


def _looks_categorical(dtype: Any) -> bool:
    return bool(
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def validate_model_input(
    data: pd.DataFrame, contract: DataContract
) -> tuple[pd.DataFrame, FeatureSpec, dict]:
    """Check the table against the contract and return it typed, with its feature spec and row accounting.

    Rows without a label (loans not matured yet) are set aside and counted, never silently: the returned
    accounting says how many.

    Raises:
        DataContractError: a missing column, a label that is not 0/1, dates that cannot be read.
    """
    if not isinstance(data, pd.DataFrame):
        raise DataContractError(f"The model input must be a pandas DataFrame, got {type(data).__name__}")
    if data.empty:
        raise DataContractError(
            "The model input is empty: build it (`kedro run --pipelines model_input`) or point mdl_model_input "
            "at your own table."
        )
    if data.columns.duplicated().any():
        duplicated = sorted(data.columns[data.columns.duplicated()])
        raise DataContractError(f"Duplicate column names in the model input: {duplicated}")
    spec = resolve_features(list(data.columns), data.dtypes, contract)
    out = data.reset_index(drop=True)
    for col in [spec.date_column] + ([spec.label_date_column] if spec.label_date_column else []):
        try:
            out[col] = pd.to_datetime(out[col])
        except (ValueError, TypeError) as err:
            raise DataContractError(f"Column {col!r} of the model input is not a date: {err}") from err
        if out[col].isna().any():
            raise DataContractError(
                f"Column {col!r} of the model input has {int(out[col].isna().sum())} missing date(s)."
            )
    label = pd.to_numeric(out[spec.label_column].astype("object"), errors="coerce")
    bad = out[spec.label_column].notna() & label.isna()
    if bad.any() or not set(label.dropna().unique()) <= {0, 1}:
        values = sorted(map(str, out[spec.label_column].dropna().unique()[:10]))
        raise DataContractError(
            f"The label column {spec.label_column!r} must hold 0/1 (1 = default), found values {values}."
        )
    unlabelled = int(label.isna().sum())
    out = out.loc[label.notna()].copy()
    out[spec.label_column] = label[label.notna()].astype("int64")
    for col in spec.categorical:
        out[col] = _as_object(out[col])
    for col in spec.numeric:
        if pd.api.types.is_bool_dtype(out[col].dtype):
            out[col] = out[col].astype("float64")
        elif not pd.api.types.is_numeric_dtype(out[col].dtype):
            converted = pd.to_numeric(out[col], errors="coerce")
            if converted.notna().sum() < out[col].notna().sum():
                raise DataContractError(
                    f"Feature {col!r} is neither numeric nor declared categorical "
                    f"(add it to training.data_contract.categorical)."
                )
            out[col] = converted
    if spec.id_columns and out.duplicated(spec.id_columns).any():
        n = int(out.duplicated(spec.id_columns).sum())
        raise DataContractError(f"{n} duplicate row(s) for id columns {spec.id_columns} in the model input.")
    accounting = {"rows_in": len(data), "rows_labelled": len(out), "rows_unlabelled": unlabelled}
    return out.reset_index(drop=True), spec, accounting


def _as_object(values: pd.Series) -> pd.Series:
    out = values.astype("object")
    return out.where(values.notna(), None)


def data_fingerprint(data: pd.DataFrame, columns: list[str] | None = None) -> str:
    """A SHA-256 of a table's content, independent of row order (``sha256:<hex>``)."""
    cols = sorted(columns if columns is not None else data.columns)
    frame = data[cols]
    row_hashes = np.sort(pd.util.hash_pandas_object(frame, index=False).to_numpy())
    h = hashlib.sha256()
    h.update(repr([(c, str(frame[c].dtype)) for c in cols]).encode())
    h.update(row_hashes.tobytes())
    return f"sha256:{h.hexdigest()}"
