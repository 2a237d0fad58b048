"""A scorecard version: features with bins and points, a weight per feature, a score range and bands.

The definition is plain data (the YAML of ``conf/base/parameters_scorecard.yml`` and the JSON stored in the
version store have the same shape)::

    description: Expert scorecard
    score_range: {min: 300, max: 850}
    bands: {A: 720, B: 650, C: 580, D: 510, E: 300}     # band: lowest score of the band
    features:
      interest_rate:                                    # a gold feature column
        group: financial
        weight: 0.09
        edges: [8, 12, 16, 21]                          # x <= 8 | 8 < x <= 12 | ... | x > 21
        points: [100, 80, 55, 30, 10]                   # one more than edges, each in 0..100
        missing: 40                                     # points for a missing value
      credit_mix:
        group: financial
        weight: 0.11
        categories: {Good: 100, Standard: 60, Bad: 10}  # category -> points
        missing: 40
        other: 40                                       # a category not listed (default: missing)

Numeric bins are right-closed, like the WoE bins of ``kycc.modeling.woe``: bin ``i`` holds
``edges[i-1] < x <= edges[i]``. The weights are non-negative and sum to 1. How a definition turns into a score
is in :mod:`kycc.scorecard.points`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "POINTS_MAX",
    "Band",
    "FeatureRule",
    "ScorecardDefinition",
    "ScorecardDefinitionError",
    "category_key",
]

#: Points of one feature (its sub-score) lie in 0..POINTS_MAX.
POINTS_MAX = 100.0
#: Weights must sum to 1 within this tolerance.
WEIGHT_SUM_TOLERANCE = 1e-6
#: Keys of a configured version that are not part of its definition (:meth:`ScorecardDefinition.from_config`).
CONFIG_METADATA = frozenset({"reason", "legacy"})
_VERSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _as_float(value: Any) -> float:
    """``value`` as a number, as ``pd.to_numeric(errors="coerce")`` reads one value (NaN when it is none), without
    building a Series: the reasons of every declined row call this once per feature."""
    if value is None:
        return math.nan
    if isinstance(value, bool | np.bool_ | int | float | np.integer | np.floating):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    x = pd.to_numeric(pd.Series([value], dtype="object"), errors="coerce").iloc[0]
    return math.nan if pd.isna(x) else float(x)


class ScorecardDefinitionError(ValueError):
    """A scorecard definition is malformed (the message names the version, feature and field)."""


def category_key(value: Any) -> str | None:
    """The text a categorical value is matched on (``1``, ``1.0`` and ``"1"`` are the same; None for missing)."""
    if isinstance(value, bool | np.bool_ | int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isnan(number):
            return None
        return str(int(number)) if number.is_integer() else repr(number)
    missing = value is None
    if not missing:
        try:
            missing = bool(pd.isna(value))
        except (TypeError, ValueError):  # list-like values are not missing
            missing = False
    return None if missing else str(value).strip()


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ScorecardDefinitionError(f"{where} must be a number, got {value!r}")
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        raise ScorecardDefinitionError(f"{where} must be a finite number, got {value!r}")
    return number


def _points(value: Any, where: str) -> float:
    number = _number(value, where)
    if not 0 <= number <= POINTS_MAX:
        raise ScorecardDefinitionError(f"{where} must be between 0 and {POINTS_MAX:g} points, got {value!r}")
    return number


@dataclass(frozen=True)
class FeatureRule:
    """Bins and points of one feature, and its weight.

    Attributes:
        name: The gold feature column.
        group: Feature group (kyc, financial, behavioural, network, …), for reports.
        weight: Share of the feature in the score (the weights of a version sum to 1).
        edges: Numeric features: increasing upper bounds (right-closed) between bins.
        points: Numeric features: points per bin (``len(edges) + 1`` values).
        categories: Categorical features: points per category.
        missing: Points for a missing value.
        other: Categorical features: points for a category not listed (None = ``missing``).
        description: Free text for reports.
    """

    name: str
    group: str
    weight: float
    edges: tuple[float, ...] = ()
    points: tuple[float, ...] = ()
    categories: Mapping[str, float] = field(default_factory=dict)
    missing: float = 0.0
    other: float | None = None
    description: str = ""

    @property
    def kind(self) -> str:
        return "categorical" if self.categories else "numeric"

    def points_for(self, values: pd.Series) -> np.ndarray:
        """Points of each value (missing values get ``missing``; unlisted categories ``other``)."""
        if self.kind == "numeric":
            x = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            idx = np.searchsorted(np.asarray(self.edges, dtype="float64"), x, side="left")
            idx = np.minimum(idx, len(self.points) - 1)
            return np.where(np.isnan(x), self.missing, np.asarray(self.points, dtype="float64")[idx])
        other = self.missing if self.other is None else self.other
        keys = [category_key(v) for v in values.tolist()]
        return np.asarray(
            [self.missing if k is None else self.categories.get(k, other) for k in keys], dtype="float64"
        )

    def bin_label(self, value: Any) -> str:
        """The label of the bin ``value`` falls in (as in :meth:`bins`; ``(missing)`` for a missing value)."""
        if self.kind == "numeric":
            x = _as_float(value)
            if pd.isna(x):
                return "(missing)"
            idx = min(int(np.searchsorted(np.asarray(self.edges, dtype="float64"), float(x), side="left")),
                      len(self.points) - 1)  # fmt: skip
            return str(self.bins()[idx]["bin"])
        key = category_key(value)
        if key is None:
            return "(missing)"
        return key if key in self.categories else "(other)"

    def bins(self) -> list[dict[str, Any]]:
        """The bins as ``{"bin": label, "points": p}`` rows (for reports), the missing bin last."""
        rows: list[dict[str, Any]] = []
        if self.kind == "numeric":
            bounds = [-math.inf, *self.edges, math.inf]
            for i, p in enumerate(self.points):
                low, high = bounds[i], bounds[i + 1]
                if math.isinf(low):
                    label = f"<= {high:g}" if not math.isinf(high) else "any value"
                elif math.isinf(high):
                    label = f"> {low:g}"
                else:
                    label = f"({low:g}, {high:g}]"
                rows.append({"bin": label, "points": p})
        else:
            rows.extend({"bin": str(k), "points": p} for k, p in self.categories.items())
            rows.append({"bin": "(other)", "points": self.missing if self.other is None else self.other})
        rows.append({"bin": "(missing)", "points": self.missing})
        return rows

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"group": self.group, "weight": self.weight}
        if self.description:
            out["description"] = self.description
        if self.kind == "numeric":
            out["edges"] = list(self.edges)
            out["points"] = list(self.points)
        else:
            out["categories"] = dict(self.categories)
            if self.other is not None:
                out["other"] = self.other
        out["missing"] = self.missing
        return out

    @classmethod
    def from_dict(cls, name: str, spec: Any, where: str) -> FeatureRule:
        where = f"{where}: feature {name!r}"
        if not isinstance(spec, Mapping):
            raise ScorecardDefinitionError(f"{where} must be a mapping, got {type(spec).__name__}")
        allowed = {"group", "weight", "edges", "points", "categories", "missing", "other", "description"}
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise ScorecardDefinitionError(
                f"{where} has unknown key(s) {unknown}; allowed: {sorted(allowed)}"
            )
        if "weight" not in spec:
            raise ScorecardDefinitionError(f"{where} needs a weight")
        weight = _number(spec["weight"], f"{where}: weight")
        if weight < 0:
            raise ScorecardDefinitionError(f"{where}: weight must be >= 0, got {weight:g}")
        if "missing" not in spec:
            raise ScorecardDefinitionError(f"{where} needs 'missing': the points for a missing value")
        missing = _points(spec["missing"], f"{where}: missing")
        has_bins = "edges" in spec or "points" in spec
        has_categories = "categories" in spec
        if has_bins == has_categories:
            raise ScorecardDefinitionError(
                f"{where} needs either numeric bins ('edges' and 'points') or 'categories' (category: points)"
            )
        common = {
            "name": str(name),
            "group": str(spec.get("group") or "other"),
            "weight": weight,
            "missing": missing,
            "description": str(spec.get("description") or ""),
        }
        if has_bins:
            if "other" in spec:
                raise ScorecardDefinitionError(f"{where}: 'other' applies to categorical features only")
            edges = spec.get("edges")
            points = spec.get("points")
            if not isinstance(edges, list | tuple) or not isinstance(points, list | tuple):
                raise ScorecardDefinitionError(f"{where}: 'edges' and 'points' must both be lists")
            edges_f = tuple(_number(e, f"{where}: edges[{i}]") for i, e in enumerate(edges))
            if any(b <= a for a, b in zip(edges_f, edges_f[1:], strict=False)):
                raise ScorecardDefinitionError(
                    f"{where}: edges must be strictly increasing, got {list(edges)}"
                )
            if len(points) != len(edges_f) + 1:
                raise ScorecardDefinitionError(
                    f"{where}: 'points' needs len(edges) + 1 = {len(edges_f) + 1} values (one per bin), "
                    f"got {len(points)}"
                )
            points_f = tuple(_points(p, f"{where}: points[{i}]") for i, p in enumerate(points))
            return cls(edges=edges_f, points=points_f, **common)
        categories = spec["categories"]
        if not isinstance(categories, Mapping) or not categories:
            raise ScorecardDefinitionError(
                f"{where}: 'categories' must be a non-empty mapping category: points"
            )
        mapped: dict[str, float] = {}
        for key, value in categories.items():
            text = category_key(key)
            if text is None or text in mapped:
                raise ScorecardDefinitionError(f"{where}: category {key!r} is empty or listed twice")
            mapped[text] = _points(value, f"{where}: categories[{key!r}]")
        other = spec.get("other")
        return cls(
            categories=mapped,
            other=None if other is None else _points(other, f"{where}: other"),
            **common,
        )


@dataclass(frozen=True)
class Band:
    """A band and the lowest score it holds."""

    name: str
    min_score: float


@dataclass(frozen=True)
class ScorecardDefinition:
    """One scorecard version (immutable). Build it with :meth:`from_dict`, which validates everything.

    Attributes:
        version: The version name (``v1``, ``ml_v2``, …).
        features: The feature rules, in definition order.
        score_min, score_max: The score range.
        bands: Bands from best (highest ``min_score``) to worst; the worst starts at ``score_min``.
        description: Free text.
    """

    version: str
    features: tuple[FeatureRule, ...]
    score_min: float
    score_max: float
    bands: tuple[Band, ...]
    description: str = ""
    #: The decision policy (cut-offs, rules, reason catalogue; :mod:`kycc.scorecard.decision`), None = none.
    policy: Mapping[str, Any] | None = None
    #: Points-to-double-odds scaling (:mod:`kycc.scorecard.scaling`), None = the linear score range rescale.
    scaling: Mapping[str, Any] | None = None

    # -- construction --------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, version: str | None = None) -> ScorecardDefinition:
        """Validate ``data`` (the YAML/JSON shape in the module docstring) into a definition.

        Args:
            data: The definition mapping.
            version: Its name (default: ``data["version"]``).
        """
        name = version
        if name is None and isinstance(data, Mapping):
            name = data.get("version")
        where = f"scorecard {name!r}" if name else "scorecard"
        if not isinstance(data, Mapping):
            raise ScorecardDefinitionError(f"{where} must be a mapping, got {type(data).__name__}")
        if not name or not _VERSION_NAME.match(str(name)):
            raise ScorecardDefinitionError(
                f"{where}: a version name of letters, digits, '_', '.', '-' (at most 64) is required"
            )
        # reason, legacy: configuration metadata of a version (ScorecardDefinition.from_config), not stored in it
        allowed = {"version", "description", "score_range", "bands", "features", "policy", "scaling"}
        allowed |= CONFIG_METADATA
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ScorecardDefinitionError(
                f"{where} has unknown key(s) {unknown}; allowed: {sorted(allowed)}"
            )
        for key in ("score_range", "bands", "features"):
            if key not in data:
                raise ScorecardDefinitionError(f"{where} needs {key!r}")
        score_range = data["score_range"]
        if isinstance(score_range, Mapping):
            low, high = score_range.get("min"), score_range.get("max")
        elif isinstance(score_range, list | tuple) and len(score_range) == 2:
            low, high = score_range
        else:
            raise ScorecardDefinitionError(f"{where}: score_range must be {{min: 300, max: 850}}")
        low = _number(low, f"{where}: score_range.min")
        high = _number(high, f"{where}: score_range.max")
        if high <= low:
            raise ScorecardDefinitionError(f"{where}: score_range.max must exceed min, got {low:g}..{high:g}")

        bands_in = data["bands"]
        if not isinstance(bands_in, Mapping) or len(bands_in) < 2:
            raise ScorecardDefinitionError(
                f"{where}: bands must map at least two band names to their lowest score"
            )
        bands = tuple(
            sorted(
                (Band(str(b), _number(s, f"{where}: bands.{b}")) for b, s in bands_in.items()),
                key=lambda band: -band.min_score,
            )
        )
        if len({b.min_score for b in bands}) != len(bands):
            raise ScorecardDefinitionError(f"{where}: two bands start at the same score")
        if bands[-1].min_score != low:
            raise ScorecardDefinitionError(
                f"{where}: the lowest band ({bands[-1].name}) must start at score_range.min ({low:g}), "
                f"got {bands[-1].min_score:g}"
            )
        if bands[0].min_score > high:
            raise ScorecardDefinitionError(f"{where}: band {bands[0].name} starts above score_range.max")

        features_in = data["features"]
        if not isinstance(features_in, Mapping) or not features_in:
            raise ScorecardDefinitionError(f"{where}: features must be a non-empty mapping")
        features = tuple(FeatureRule.from_dict(str(n), s, where) for n, s in features_in.items())
        total = sum(f.weight for f in features)
        if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
            raise ScorecardDefinitionError(
                f"{where}: the feature weights must sum to 1, got {total:.6g} "
                f"({', '.join(f'{f.name} {f.weight:g}' for f in features)})"
            )
        from kycc.scorecard.decision import parse_policy
        from kycc.scorecard.scaling import parse_scaling

        scaling = parse_scaling(data.get("scaling"), where, low, high)
        policy = parse_policy(data.get("policy"), where, {f.name: f for f in features}, bands)
        return cls(
            version=str(name),
            features=features,
            score_min=low,
            score_max=high,
            bands=bands,
            description=str(data.get("description") or ""),
            policy=policy,
            scaling=scaling,
        )

    # -- views ---------------------------------------------------------------------------------------------
    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def weights(self) -> dict[str, float]:
        return {f.name: f.weight for f in self.features}

    @property
    def band_names(self) -> list[str]:
        return [b.name for b in self.bands]

    def feature(self, name: str) -> FeatureRule:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(f"scorecard {self.version!r} has no feature {name!r}; features: {self.feature_names}")

    def band_ranges(self) -> list[dict[str, Any]]:
        """``[{"band", "min_score", "max_score"}]`` from best to worst (max of the best band = score_max)."""
        rows = []
        upper = self.score_max
        for b in self.bands:
            rows.append({"band": b.name, "min_score": b.min_score, "max_score": upper})
            upper = b.min_score - 1
        return rows

    def to_dict(self) -> dict[str, Any]:
        """The JSON/YAML shape (``from_dict(d.to_dict()) == d``)."""
        out: dict[str, Any] = {
            "version": self.version,
            "description": self.description,
            "score_range": {"min": self.score_min, "max": self.score_max},
            "bands": {b.name: b.min_score for b in self.bands},
            "features": {f.name: f.to_dict() for f in self.features},
        }
        # only when set: versions stored before policies and scaling existed keep their fingerprint
        if self.policy is not None:
            out["policy"] = json.loads(json.dumps(self.policy))
        if self.scaling is not None:
            out["scaling"] = dict(self.scaling)
        return out

    def fingerprint(self) -> str:
        """SHA-256 of everything that decides a score and a decision (not the name or description)."""
        content = self.to_dict()
        content.pop("version")
        content.pop("description")
        text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=float)
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()

    # -- derivation ----------------------------------------------------------------------------------------
    def with_weights(
        self, weights: Mapping[str, float], version: str | None = None, description: str | None = None
    ) -> ScorecardDefinition:
        """The same bins and points with new weights (every feature must get one; they must sum to 1)."""
        missing = [f for f in self.feature_names if f not in weights]
        extra = [f for f in weights if f not in set(self.feature_names)]
        if missing or extra:
            raise ScorecardDefinitionError(
                f"new weights must cover exactly the features of {self.version!r}: "
                f"missing {missing}, unknown {extra}"
            )
        data = self.to_dict()
        for name, spec in data["features"].items():
            spec["weight"] = float(weights[name])
        if description is not None:
            data["description"] = description
        return ScorecardDefinition.from_dict(data, version=version or self.version)

    @classmethod
    def from_config(cls, name: str, spec: Any) -> tuple[ScorecardDefinition, str | None, bool]:
        """A version of ``scorecard.versions``: its definition, its ``reason`` (why it exists: recorded in the
        audit log when stored) and whether it is ``legacy`` (stored for the record, never activated: defined
        before the fair-lending rules). Both keys are configuration metadata, not part of the definition."""
        reason = spec.get("reason") if isinstance(spec, Mapping) else None
        legacy = spec.get("legacy", False) if isinstance(spec, Mapping) else False
        if not isinstance(legacy, bool):
            raise ScorecardDefinitionError(
                f"scorecard {name!r}: legacy must be true or false, got {legacy!r}"
            )
        definition = cls.from_dict(spec, version=name)
        return definition, None if reason is None else " ".join(str(reason).split()), legacy

    def renamed(self, version: str) -> ScorecardDefinition:
        if not _VERSION_NAME.match(version):
            raise ScorecardDefinitionError(f"invalid version name {version!r}")
        return replace(self, version=version)
