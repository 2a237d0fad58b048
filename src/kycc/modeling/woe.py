"""Weight-of-Evidence binning (the scorecard standard), scikit-learn style.

Each feature is cut into a few bins, fitted on the training data, and every value is replaced by the WoE of its
bin::

    WoE(bin) = ln( share of non-defaults in the bin / share of defaults in the bin )

(positive WoE = safer than average; counts are smoothed so a bin with no defaults has a finite WoE).
``IV = sum((share non-defaults - share defaults) * WoE)`` measures a feature's strength (< 0.02 useless,
0.02–0.1 weak, 0.1–0.3 medium, > 0.3 strong).

Numeric features: quantile pre-bins, then adjacent bins are merged until every bin holds at least
``min_bin_share`` of the rows and both classes, there are at most ``max_bins`` bins and (``monotonic=True``)
the default rate moves in one direction across bins, as a scorecard reviewer expects. Missing values get their
own bin. Categorical features: categories are ordered by default rate and merged the same way (rare ones
join their neighbours); a category unseen in training gets WoE 0 (neutral). A logistic regression on these
WoE values is a scorecard: points per bin = coefficient × WoE, scaled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = ["FeatureBinning", "WoEBinner"]

MISSING = "__missing__"


@dataclass
class FeatureBinning:
    """The fitted binning of one feature."""

    name: str
    kind: str  # "numeric" | "categorical"
    edges: list[float] = field(default_factory=list)  # numeric: right-closed upper bounds between bins
    categories: dict[str, int] = field(default_factory=dict)  # categorical: category -> bin index
    woe: list[float] = field(default_factory=list)  # one per bin
    woe_missing: float = 0.0
    labels: list[str] = field(default_factory=list)
    table: pd.DataFrame | None = None
    iv: float = 0.0

    def bin_index(self, values: pd.Series) -> np.ndarray:
        """Bin index of each value (-1 for missing, -2 for a category unseen in training)."""
        if self.kind == "numeric":
            x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
            idx = np.searchsorted(np.asarray(self.edges, dtype=float), x, side="left")
            return np.where(np.isnan(x), -1, idx)
        keys = _as_category(values)
        idx = keys.map(self.categories)
        out = idx.fillna(-2).to_numpy(dtype=int)
        return np.where(keys.isna().to_numpy(), -1, out)

    def transform(self, values: pd.Series) -> np.ndarray:
        idx = self.bin_index(values)
        woe = np.asarray([*self.woe, 0.0, self.woe_missing], dtype=float)  # index -2: unseen, -1: missing
        return woe[idx]


def _as_category(values: pd.Series) -> pd.Series:
    """Values as strings, missing as NA (categories are compared as text)."""
    out = values.astype("object")
    mask = out.isna()
    out = out.astype(str)
    out[mask] = None
    return out


def _check_parameters(max_bins: Any, min_bin_share: Any, smoothing: Any, min_prebins: Any) -> None:
    if not isinstance(max_bins, int) or isinstance(max_bins, bool) or max_bins < 2:
        raise ValueError(f"max_bins must be an integer >= 2, got {max_bins!r}")
    if not isinstance(min_bin_share, int | float) or not 0 <= min_bin_share < 0.5:
        raise ValueError(f"min_bin_share must be in [0, 0.5), got {min_bin_share!r}")
    if not isinstance(smoothing, int | float) or smoothing <= 0:
        raise ValueError(f"smoothing must be > 0, got {smoothing!r}")
    if not isinstance(min_prebins, int) or min_prebins < max_bins:
        raise ValueError(f"prebins must be an integer >= max_bins, got {min_prebins!r}")


class WoEBinner(TransformerMixin, BaseEstimator):
    """Replace each feature by the Weight of Evidence of its bin.

    Args:
        max_bins: Most bins per feature (the missing bin not counted).
        min_bin_share: Least share of training rows per bin.
        monotonic: Merge numeric bins until the default rate is monotonic across them.
        smoothing: Pseudo-count added to the defaults and non-defaults of each bin.
        prebins: Quantile pre-bins of a numeric feature before merging.
        categorical: Names of categorical features (default: object, string and category columns).

    Attributes:
        binnings_: ``{feature: FeatureBinning}``.
        iv_: ``{feature: information value}``.
        feature_names_in_: Features seen in ``fit``.
    """

    def __init__(
        self,
        *,
        max_bins: int = 8,
        min_bin_share: float = 0.05,
        monotonic: bool = True,
        smoothing: float = 0.5,
        prebins: int = 20,
        categorical: list[str] | None = None,
    ) -> None:
        self.max_bins = max_bins
        self.min_bin_share = min_bin_share
        self.monotonic = monotonic
        self.smoothing = smoothing
        self.prebins = prebins
        self.categorical = categorical

    def fit(self, X: pd.DataFrame, y: Any) -> WoEBinner:
        _check_parameters(self.max_bins, self.min_bin_share, self.smoothing, self.prebins)
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"X must be a pandas DataFrame, got {type(X).__name__}")
        y_arr = np.asarray(y).astype(float)
        if len(y_arr) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y_arr)}")
        if np.isnan(y_arr).any() or not set(np.unique(y_arr)) <= {0.0, 1.0}:
            raise ValueError("y must be binary 0/1 without missing values")
        n_events = y_arr.sum()
        if n_events == 0 or n_events == len(y_arr):
            raise ValueError("y has a single class: WoE needs both defaults and non-defaults")
        categorical = (
            set(self.categorical)
            if self.categorical is not None
            else {c for c in X.columns if _is_categorical(X[c])}
        )
        self.binnings_ = {}
        for col in X.columns:
            kind = "categorical" if col in categorical else "numeric"
            self.binnings_[col] = self._fit_feature(col, X[col], y_arr, kind)
        self.iv_ = {c: b.iv for c, b in self.binnings_.items()}
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = len(X.columns)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        if not hasattr(self, "binnings_"):
            raise ValueError("This WoEBinner is not fitted yet: call fit first")
        missing = [c for c in self.binnings_ if c not in X.columns]
        if missing:
            raise ValueError(f"Columns missing for WoE transform: {missing}")
        return pd.DataFrame({c: b.transform(X[c]) for c, b in self.binnings_.items()}, index=X.index)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(list(self.binnings_), dtype=object)

    def binning_table(self, feature: str) -> pd.DataFrame:
        """Bins of ``feature``: label, count, defaults, default rate, WoE, IV contribution."""
        return self.binnings_[feature].table.copy()

    # -- fitting one feature -------------------------------------------------------------------------------
    def _fit_feature(self, name: str, values: pd.Series, y: np.ndarray, kind: str) -> FeatureBinning:
        n_total = len(y)
        if kind == "numeric":
            x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
            present = ~np.isnan(x)
            atoms, atom_counts = self._numeric_atoms(x[present], y[present])
        else:
            keys = _as_category(values)
            present = keys.notna().to_numpy()
            atoms, atom_counts = self._categorical_atoms(keys[present], y[present])
        groups = self._merge(atom_counts, n_total, monotonic=self.monotonic and kind == "numeric")
        binning = FeatureBinning(name=name, kind=kind)
        counts = np.array([atom_counts[g].sum(axis=0) for g in groups]).reshape(-1, 2)
        if kind == "numeric":
            # atoms are intervals with upper bounds `atoms`; keep the bound of each group's last atom
            binning.edges = [float(atoms[g[-1]]) for g in groups[:-1]]
            bounds = [-np.inf, *binning.edges, np.inf]
            binning.labels = [_interval_label(bounds[i], bounds[i + 1]) for i in range(len(groups))]
        else:
            binning.categories = {atoms[a]: i for i, g in enumerate(groups) for a in g}
            binning.labels = [", ".join(str(atoms[a]) for a in g) for g in groups]
        missing_counts = np.array([(y[~present] == 1).sum(), (y[~present] == 0).sum()], dtype=float)
        all_counts = np.vstack([counts, missing_counts]) if missing_counts.sum() > 0 else counts
        woe, iv_parts = self._woe(all_counts)
        binning.woe = [float(w) for w in woe[: len(groups)]]
        binning.woe_missing = float(woe[-1]) if missing_counts.sum() > 0 else 0.0
        labels = binning.labels + ([MISSING] if missing_counts.sum() > 0 else [])
        table = pd.DataFrame(
            {
                "bin": labels,
                "count": all_counts.sum(axis=1).astype(int),
                "defaults": all_counts[:, 0].astype(int),
            }
        )
        table["share"] = table["count"] / n_total
        table["default_rate"] = table["defaults"] / table["count"].where(table["count"] > 0)
        table["woe"] = woe
        table["iv"] = iv_parts
        binning.table = table
        binning.iv = float(np.sum(iv_parts))
        return binning

    def _numeric_atoms(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pre-bins: right-closed intervals with upper bounds ``bounds`` (the last one is +inf)."""
        if len(x) == 0:
            return np.array([np.inf]), np.zeros((1, 2))
        uniques = np.unique(x)
        if len(uniques) <= self.prebins:
            cuts = uniques[:-1]
        else:
            cuts = np.unique(np.quantile(x, np.linspace(0, 1, self.prebins + 1)[1:-1], method="lower"))
            cuts = cuts[cuts < uniques[-1]]
        bounds = np.append(cuts, np.inf)
        idx = np.searchsorted(cuts, x, side="left")
        counts = np.zeros((len(bounds), 2))
        np.add.at(counts, (idx, 0), y == 1)
        np.add.at(counts, (idx, 1), y == 0)
        return bounds, counts

    def _categorical_atoms(self, keys: pd.Series, y: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Categories ordered by (smoothed) default rate."""
        frame = pd.DataFrame({"key": keys.to_numpy(), "bad": y == 1, "good": y == 0})
        agg = frame.groupby("key", sort=True).agg(bad=("bad", "sum"), good=("good", "sum"))
        rate = (agg["bad"] + self.smoothing) / (agg["bad"] + agg["good"] + 2 * self.smoothing)
        agg = agg.assign(rate=rate).sort_values(["rate"], kind="stable")
        if agg.empty:
            return [], np.zeros((0, 2))
        return list(agg.index), agg[["bad", "good"]].to_numpy(dtype=float)

    def _merge(self, counts: np.ndarray, n_total: int, monotonic: bool) -> list[list[int]]:
        """Groups of adjacent atoms after the merging rules (see the module docstring)."""
        groups: list[list[int]] = [[i] for i in range(len(counts))]
        if not groups:
            return groups

        def totals() -> np.ndarray:
            return np.array([counts[g].sum(axis=0) for g in groups]).reshape(-1, 2)

        def rates(t: np.ndarray) -> np.ndarray:
            return (t[:, 0] + self.smoothing) / (t.sum(axis=1) + 2 * self.smoothing)

        def merge(j: int) -> None:  # merge group j with group j + 1
            groups[j] = groups[j] + groups.pop(j + 1)

        # 1. too small or single-class bins join the neighbour with the closest default rate
        min_count = self.min_bin_share * n_total
        while len(groups) > 1:
            t = totals()
            bad = np.where((t.sum(axis=1) < min_count) | (t[:, 0] == 0) | (t[:, 1] == 0))[0]
            if len(bad) == 0:
                break
            j = bad[np.argmin(t[bad].sum(axis=1))]
            r = rates(t)
            if j == 0:
                merge(0)
            elif j == len(groups) - 1:
                merge(j - 1)
            else:
                merge(j - 1 if abs(r[j] - r[j - 1]) <= abs(r[j] - r[j + 1]) else j)
        # 2. at most max_bins: merge the closest adjacent pair
        while len(groups) > self.max_bins:
            r = rates(totals())
            merge(int(np.argmin(np.abs(np.diff(r)))))
        # 3. monotonic default rate (direction of the overall trend)
        if monotonic:
            while len(groups) > 2:
                t = totals()
                r = rates(t)
                direction = np.sign(np.polyfit(np.arange(len(r)), r, 1, w=np.sqrt(t.sum(axis=1)))[0]) or 1.0
                steps = np.diff(r) * direction
                violations = np.where(steps < 0)[0]
                if len(violations) == 0:
                    break
                merge(int(violations[np.argmin(np.abs(steps[violations]))]))
        return groups

    def _woe(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = self.smoothing
        bad = counts[:, 0] + s
        good = counts[:, 1] + s
        dist_bad = bad / bad.sum()
        dist_good = good / good.sum()
        woe = np.log(dist_good / dist_bad)
        return woe, (dist_good - dist_bad) * woe


def _is_categorical(series: pd.Series) -> bool:
    return bool(
        isinstance(series.dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(series.dtype)
        or pd.api.types.is_string_dtype(series.dtype)
    )


def _interval_label(low: float, high: float) -> str:
    if np.isinf(low):
        return f"<= {high:.6g}"
    if np.isinf(high):
        return f"> {low:.6g}"
    return f"({low:.6g}, {high:.6g}]"
