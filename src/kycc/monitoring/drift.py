"""Per-feature drift: PSI of every model feature between the reference applications and a monitored cohort."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from kycc.monitoring.psi import DEFAULT_EPS, DEFAULT_LEVELS, psi, psi_categorical, psi_level

__all__ = ["feature_psi"]


def feature_psi(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    features: Sequence[str],
    categorical: Sequence[str] = (),
    bins: int = 10,
    eps: float = DEFAULT_EPS,
    psi_levels: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """PSI of each feature (numeric: reference-quantile bins; categorical: one bin per category).

    Args:
        reference: Feature rows of the reference applications (the model's OOT window).
        current: Feature rows of the monitored applications.
        features: Columns to compare (present in both frames).
        categorical: Which of them are categorical.
        psi_levels: The one PSI-level set (``{moderate, major}``, parameter ``psi_levels``; default 0.1 / 0.25).

    Returns:
        One row per feature, highest PSI first: ``feature``, ``kind``, ``psi``, ``level``, ``n_reference``,
        ``n_current``, ``missing_share_reference``, ``missing_share``.
    """
    missing = [f for f in features if f not in reference.columns or f not in current.columns]
    if missing:
        raise ValueError(f"feature_psi: column(s) {missing} missing from the reference or current rows")
    levels = {**DEFAULT_LEVELS, **(psi_levels or {})}
    cats = set(categorical)
    rows = []
    for name in features:
        if name in cats:
            result, kind = psi_categorical(reference[name], current[name], eps=eps), "categorical"
        else:
            result, kind = psi(reference[name], current[name], bins, eps=eps), "numeric"
        rows.append(
            {
                "feature": name,
                "kind": kind,
                "psi": result.value,
                "level": psi_level(result.value, float(levels["moderate"]), float(levels["major"])),
                "n_reference": result.n_reference,
                "n_current": result.n_current,
                "missing_share_reference": float(reference[name].isna().mean()) if len(reference) else None,
                "missing_share": float(current[name].isna().mean()) if len(current) else None,
            }
        )
    columns = [
        "feature",
        "kind",
        "psi",
        "level",
        "n_reference",
        "n_current",
        "missing_share_reference",
        "missing_share",
    ]
    out = pd.DataFrame(rows, columns=columns)
    return out.sort_values(["psi", "feature"], ascending=[False, True], na_position="last").reset_index(
        drop=True
    )
