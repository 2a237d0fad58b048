"""Nodes of the monitoring pipeline (thin: the logic lives in ``kycc.monitoring``).

``select_maturing_labels`` (labels maturing in the months monitored) → per model ``monitor_model`` (labels ×
the predictions made ``label_lag_months`` earlier → metrics, per-feature PSI, MLflow metrics) →
``summarise_monitoring``. Beside the models: ``backtest_scorecard`` (the deciding scorecard version per band on
the cohort maturing now, ``kycc.monitoring.backtest``), ``backtest_shadow_scorecards`` (the draft versions scored
in shadow on the same cohort, ``role = shadow``) and ``estimate_performance`` (CBPE-style expected ROC-AUC
and default rate of this month's scores, and of the maturing cohort beside its realized values,
``kycc.monitoring.estimated``).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from kycc.inference.scoring import InferenceError, resolve_months
from kycc.monitoring.backtest import auc_delong, band_test, rank_order
from kycc.monitoring.estimated import PdCalibrator, expected_default_rate, expected_roc_auc
from kycc.monitoring.monitor import monitor_cohort
from kycc.monitoring.reference import model_reference
from kycc.monitoring.stability import StabilityLevels
from kycc.params.sections import load_section
from kycc.registry.read import RegisteredModel
from kycc.temporal import add_months
from kycc.temporal.windows import TrainingWindows

logger = logging.getLogger(__name__)

#: Metrics logged to MLflow per model and month (``<model>.monitoring.<metric>``, step = YYYYMM).
MLFLOW_METRICS = (
    "roc_auc",
    "gini",
    "ks",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "brier",
    "psi_score",
    "psi_feature_max",
    "pd_mean",
    "pd_ks",
    "default_rate",
    "n_matched",
)


def _options(options: dict[str, Any] | None) -> dict[str, Any]:
    """``monitoring`` parameters validated by :class:`kycc.params.monitoring.MonitoringParams` (missing keys
    from conf/base, the one home of the defaults)."""
    return load_section("monitoring", options).model_dump()


def select_maturing_labels(labels: ir.Table, options: dict[str, Any]) -> tuple[pd.DataFrame, list[str]]:
    """Labels maturing in the months to monitor (``loan_id``, ``label``, ``snapshot_date``).

    Args:
        labels: ``feat_gold_labels`` (one row per loan, at the snapshot it reached MOB 6).
        options: ``monitoring`` parameters (``start_month``/``end_month``; both null = the latest label month).

    Returns:
        The labels (pandas) and the months monitored (ISO dates).
    """
    opts = _options(options)
    available: list[Any] = []
    if opts["start_month"] in (None, "") and opts["end_month"] in (None, ""):
        latest = labels["snapshot_date"].max().execute()
        available = [] if latest is None or pd.isna(latest) else [latest]
    try:
        months = resolve_months(opts["start_month"], opts["end_month"], available, "monitoring", "monitoring")
    except InferenceError as err:
        raise ValueError(str(err)) from err
    if not months:
        logger.warning("monitoring: the label store is empty: nothing to monitor")
        return pd.DataFrame(columns=["loan_id", "label", "snapshot_date"]), []
    first, after = months[0], pd.Timestamp(add_months(months[-1], 1))
    date = labels["snapshot_date"]
    rows = (
        labels.filter((date >= first.to_pydatetime()) & (date < after.to_pydatetime()))
        .select("loan_id", "label", "snapshot_date")
        .to_pandas()
    )
    rows["snapshot_date"] = pd.to_datetime(rows["snapshot_date"])
    rows = rows.loc[rows["label"].notna()].sort_values(["snapshot_date", "loan_id"]).reset_index(drop=True)
    return rows, [m.date().isoformat() for m in months]


def _features_of_months(features: ir.Table, months: list[pd.Timestamp], columns: list[str]) -> pd.DataFrame:
    date = features["application_date"]
    cond = None
    for m in sorted(set(months)):
        part = (date >= m.to_pydatetime()) & (date < pd.Timestamp(add_months(m, 1)).to_pydatetime())
        cond = part if cond is None else cond | part
    return features.filter(cond).select("loan_id", *columns).to_pandas()


def _skip(month: pd.Timestamp, reason: str, model: str) -> dict[str, Any]:
    logger.info("monitoring: %s %s skipped: %s", model, f"{month:%Y-%m}", reason)
    return {"month": month.date().isoformat(), "status": "skipped", "reason": reason}


def monitor_model(  # noqa: PLR0917 - a Kedro node: inputs arrive positionally
    model: str,
    labels: pd.DataFrame,
    months: list[str],
    features: ir.Table,
    predictions: pd.DataFrame,
    registered: RegisteredModel,
    options: dict[str, Any],
    psi_levels: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """Per month: the labels maturing now joined with the model's predictions made ``lag`` months before.

    A month whose earlier predictions do not exist (the model was not scoring then) is a logged skip. The
    stored PSI levels (``psi_level`` of the metrics, ``level`` of each feature) follow ``psi_levels``, the one
    level set (``params:psi_levels``).

    Returns:
        The metrics (one row per monitored month), the per-feature PSI (one row per month and feature), the
        MLflow metrics (``{metric: [{value, step}]}``, step = YYYYMM) and a summary of monitored/skipped months.
    """
    opts = _options(options)
    levels = StabilityLevels.from_params(psi_levels).to_dict()
    lag = opts["label_lag_months"]
    rows, tables, status = [], [], []
    if predictions.empty:
        predictions = pd.DataFrame(columns=["snapshot_date", "loan_id"])
    pred_month = pd.to_datetime(predictions["snapshot_date"])
    for iso in months:
        month = pd.Timestamp(iso)
        cohort = pd.Timestamp(add_months(month, -lag))
        cohort_preds = predictions.loc[pred_month == cohort].reset_index(drop=True)
        if cohort_preds.empty:
            status.append(
                _skip(
                    month, f"no {model} predictions for {cohort:%Y-%m} ({lag} months earlier) to join", model
                )
            )
            continue
        month_labels = labels.loc[labels["snapshot_date"] == month]
        if month_labels.empty:
            status.append(_skip(month, f"no labels matured in {month:%Y-%m}", model))
            continue
        versions = cohort_preds["model_version"].unique()
        if len(versions) != 1:
            raise ValueError(
                f"{model}: the predictions of {cohort:%Y-%m} come from several versions {versions}"
            )
        card = registered.version(int(versions[0]))
        windows = TrainingWindows.from_dict(card.windows)
        ref_months = [pd.Timestamp(m) for m in windows.oot.months]
        columns = sorted(set(card.features))
        feature_rows = _features_of_months(features, [*ref_months, cohort], columns)
        reference_features = feature_rows.merge(card.reference[["loan_id"]], on="loan_id", how="inner")
        cohort_features = feature_rows.merge(cohort_preds[["loan_id"]], on="loan_id", how="inner")
        result = monitor_cohort(
            month=month,
            cohort_month=cohort,
            predictions=cohort_preds,
            labels=month_labels,
            reference=card.reference,
            reference_features=reference_features,
            cohort_features=cohort_features,
            features=columns,
            categorical=[c for c in card.categorical if c in columns],
            baseline=card.oot_metrics,
            bins=opts["psi_bins"],
            psi_levels=levels,
        )
        row = {
            "model": model,
            "registered_model_name": card.registered_model_name,
            "model_version": card.version,
            "model_training_date": pd.Timestamp(card.training_date),
            "scorecard_version": ",".join(sorted(cohort_preds["scorecard_version"].astype(str).unique())),
            **result.row,
        }
        rows.append(row)
        tables.append(result.feature_psi.assign(model=model, model_version=card.version))
        status.append({"month": iso, "status": "monitored", "cohort_month": cohort.date().isoformat()})
        logger.info(
            "monitoring: %s %s (cohort %s, %s, %d loans): ROC-AUC %.3f, accuracy %.3f, F1 %.3f, score PSI %.3f "
            "(%s), top feature PSI %s %.3f",
            model, f"{month:%Y-%m}", f"{cohort:%Y-%m}", card.label, row["n_matched"], row["roc_auc"],
            row["accuracy"], row["f1"], row["psi_score"], row["psi_level"], row["psi_feature_max_name"],
            row["psi_feature_max"],
        )  # fmt: skip
    metrics = pd.DataFrame(rows)
    feature_psi = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    mlflow_metrics: dict[str, Any] = {}
    for row in rows:
        step = int(f"{row['snapshot_date']:%Y%m}")
        for name in MLFLOW_METRICS:
            value = row.get(name)
            if value is not None and not (isinstance(value, float) and math.isnan(value)):
                mlflow_metrics.setdefault(name, []).append({"value": float(value), "step": step})
    return metrics, feature_psi, mlflow_metrics, {"model": model, "months": status}


def summarise_monitoring(months: list[str], *models: dict[str, Any]) -> dict[str, Any]:
    """Monitored and skipped months per model, in the log and ``rpt_monitoring_summary``."""
    lines = [f"Monitoring summary ({', '.join(m[:7] for m in months) or 'no month'}):"]
    for m in models:
        for entry in m["months"]:
            text = "monitored" if entry["status"] == "monitored" else f"skipped ({entry['reason']})"
            lines.append(f"  {m['model']} {entry['month'][:7]}: {text}")
    logger.info("\n".join(lines))
    return {"months": months, "models": list(models)}


def _band_order(scorecard_versions: dict[str, Any] | None, version: str, seen: list[str]) -> list[str]:
    """The version's bands best first (from its definition in the store), else the bands seen, sorted."""
    record = ((scorecard_versions or {}).get("versions") or {}).get(version)
    if record:
        from kycc.scorecard.definition import ScorecardDefinition

        return [b.name for b in ScorecardDefinition.from_dict(record["definition"], version=version).bands]
    return sorted(seen)


def _cohort_rows(frame: pd.DataFrame, cohort: pd.Timestamp) -> pd.DataFrame:
    if frame is None or frame.empty:
        return pd.DataFrame()
    return frame.loc[pd.to_datetime(frame["snapshot_date"]) == cohort].reset_index(drop=True)


def _backtest_cohort(  # noqa: PLR0913, PLR0917
    joined: pd.DataFrame,
    scorecard_versions: dict[str, Any],
    month: pd.Timestamp,
    cohort: pd.Timestamp,
    alpha: float,
    level: float,
    role: str,
) -> list[dict[str, Any]]:
    """Band rows and the version row of each scorecard version of one cohort (decisions or shadow rows ⋈ the
    labels maturing now; ``label`` NaN = not labelled), marked ``role`` (``deciding`` or ``shadow``)."""
    rows: list[dict[str, Any]] = []
    if "pd" not in joined.columns:
        joined = joined.assign(pd=np.nan)
    for version, part in joined.groupby(joined["scorecard_version"].astype(str), sort=True):
        order = _band_order(scorecard_versions, version, sorted(part["band"].astype(str).unique()))
        labelled = part.loc[part["label"].notna()]
        base = {"snapshot_date": month, "cohort_month": cohort, "role": role, "scorecard_version": version}
        band_rows = []
        for band in order:
            in_band = part.loc[part["band"].astype(str) == band]
            lab = labelled.loc[labelled["band"].astype(str) == band]
            n, d = len(lab), int(lab["label"].sum())
            pd_mean = float(lab["pd"].mean()) if n and lab["pd"].notna().any() else np.nan
            test = band_test(d, n, pd_mean, alpha=alpha, level=level)
            band_rows.append(
                base | {"level": "band", "band": band, "applications": len(in_band), "n_labelled": n,
                        "defaults": d, "predicted_pd": pd_mean, **test}
            )  # fmt: skip
        order_check = rank_order(order, [r["observed_default_rate"] for r in band_rows])
        for r in band_rows:
            r["rank_order_ok"] = order_check["ok"][r["band"]]
        n, d = len(labelled), int(labelled["label"].sum())
        pd_all = float(labelled["pd"].mean()) if n and labelled["pd"].notna().any() else np.nan
        auc = auc_delong(labelled["label"].to_numpy(), -labelled["score"].to_numpy(dtype="float64"), level)
        version_row = base | {
            "level": "version", "band": "all", "applications": len(part), "n_labelled": n, "defaults": d,
            "predicted_pd": pd_all, **band_test(d, n, pd_all, alpha=alpha, level=level),
            "rank_order_ok": order_check["monotone"], "rank_order_monotone": order_check["monotone"],
            "rank_order_inversions": ",".join(order_check["inversions"]),
            **{k: auc[k] for k in ("roc_auc", "auc_se", "auc_lower", "auc_upper", "gini", "gini_lower",
                                   "gini_upper")},
        }  # fmt: skip
        if role == "shadow":
            version_row |= _paired_with_deciding(labelled, level)
        rows.extend([*band_rows, version_row])
        logger.info(
            "monitoring: scorecard %s%s %s (cohort %s, %d labelled): default rate %.3f vs PD %.3f (%s); "
            "AUC %.3f [%.3f, %.3f]; rank order %s",
            version, " (shadow)" if role == "shadow" else "", f"{month:%Y-%m}", f"{cohort:%Y-%m}", n,
            version_row["observed_default_rate"], pd_all, version_row["verdict"], auc["roc_auc"],
            auc["auc_lower"], auc["auc_upper"],
            "monotone" if order_check["monotone"] else "broken: " + ", ".join(order_check["inversions"]),
        )  # fmt: skip
    return rows


def _paired_with_deciding(labelled: pd.DataFrame, level: float) -> dict[str, Any]:
    """A shadow version against the version that decided the same labelled loans: its Gini and the paired
    DeLong difference (shadow − deciding, in Gini points) with CI and two-sided p-value."""
    from kycc.modeling.compare import paired_auc_delong

    versions = labelled["deciding_version"].dropna().astype(str).unique()
    out: dict[str, Any] = {"deciding_version": ",".join(sorted(versions)) or None}
    if not len(labelled):
        return out | dict.fromkeys(("deciding_gini", "gini_difference", "gini_difference_lower",
                                    "gini_difference_upper", "gini_difference_p_value"), np.nan)  # fmt: skip
    paired = paired_auc_delong(
        labelled["label"].to_numpy(),
        -labelled["score"].to_numpy(dtype="float64"),
        -labelled["deciding_score"].to_numpy(dtype="float64"),
        level,
    )
    return out | {
        "deciding_gini": 2 * paired["champion_auc"] - 1,
        "gini_difference": 2 * paired["difference"],
        "gini_difference_lower": 2 * paired["difference_lower"],
        "gini_difference_upper": 2 * paired["difference_upper"],
        "gini_difference_p_value": paired["p_value"],
    }


def backtest_scorecard(
    labels: pd.DataFrame,
    months: list[str],
    decisions: pd.DataFrame,
    scorecard_versions: dict[str, Any],
    options: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per monitoring month, the version that decided the maturing cohort, band by band and as a whole.

    For month ``M`` the cohort is the applications decided in ``M − lag`` (``out_scorecard_decisions``: the
    recorded decisions, with the version and the PD in force then) joined with the labels maturing at ``M``.
    Band rows (``level = band``): applications, labelled, defaults, observed default rate with its Jeffreys
    interval, the mean PD of the labelled rows, the Jeffreys (one- and two-sided) and exact binomial p-values,
    the verdict and the rank-order flag. One version row (``level = version``, ``band = all``) adds the ROC-AUC
    and Gini of the score with DeLong's CI and the month's rank-order check (``rank_order_monotone``,
    ``rank_order_inversions``).

    Returns:
        ``out_scorecard_backtest`` (month-partitioned by ``snapshot_date``) and a summary for the report.
    """
    opts = _options(options)
    lag, alpha, level = opts["label_lag_months"], opts["backtest"]["alpha"], opts["backtest"]["confidence"]
    rows: list[dict[str, Any]] = []
    status = []
    for iso in months:
        month = pd.Timestamp(iso)
        cohort = pd.Timestamp(add_months(month, -lag))
        decided = _cohort_rows(decisions, cohort)
        if decided.empty:
            status.append(_skip(month, f"no scorecard decisions for {cohort:%Y-%m} ({lag} months earlier)",
                                "scorecard"))  # fmt: skip
            continue
        month_labels = labels.loc[labels["snapshot_date"] == month, ["loan_id", "label"]]
        if month_labels.empty:
            status.append(_skip(month, f"no labels matured in {month:%Y-%m}", "scorecard"))
            continue
        joined = decided.merge(month_labels, on="loan_id", how="left", validate="one_to_one")
        rows.extend(_backtest_cohort(joined, scorecard_versions, month, cohort, alpha, level, "deciding"))
        status.append({"month": iso, "status": "monitored", "cohort_month": cohort.date().isoformat()})
    table = pd.DataFrame(rows)
    if len(table):
        table["rank_order_monotone"] = table["rank_order_monotone"].astype("boolean")
        table["rank_order_ok"] = table["rank_order_ok"].astype(bool)
    return table, {"model": "scorecard", "months": status}


def backtest_shadow_scorecards(
    labels: pd.DataFrame,
    months: list[str],
    shadow: pd.DataFrame,
    scorecard_versions: dict[str, Any],
    options: dict[str, Any],
) -> pd.DataFrame:
    """The draft versions scored in shadow, backtested like the deciding one on the cohort maturing now.

    For month ``M``: the shadow rows of ``M − lag`` (``out_scorecard_shadow``: each draft's score, band and PD in
    force then) ⋈ the labels maturing at ``M`` — the same loans and labels as the deciding version's backtest.
    Band rows and version rows exactly as :func:`backtest_scorecard` (``role = shadow``); the version row adds
    ``deciding_version``, ``deciding_gini`` and the paired DeLong difference ``gini_difference`` (shadow −
    deciding) with its CI and p-value. A month without shadow rows adds nothing.

    Returns:
        ``out_scorecard_shadow_backtest`` (month-partitioned by ``snapshot_date``).
    """
    opts = _options(options)
    lag, alpha, level = opts["label_lag_months"], opts["backtest"]["alpha"], opts["backtest"]["confidence"]
    rows: list[dict[str, Any]] = []
    for iso in months:
        month = pd.Timestamp(iso)
        cohort = pd.Timestamp(add_months(month, -lag))
        scored = _cohort_rows(shadow, cohort)
        month_labels = labels.loc[labels["snapshot_date"] == month, ["loan_id", "label"]]
        if scored.empty or month_labels.empty:
            continue
        joined = scored.merge(month_labels, on="loan_id", how="left", validate="many_to_one")
        rows.extend(_backtest_cohort(joined, scorecard_versions, month, cohort, alpha, level, "shadow"))
    table = pd.DataFrame(rows)
    if len(table):
        table["rank_order_monotone"] = table["rank_order_monotone"].astype("boolean")
        table["rank_order_ok"] = table["rank_order_ok"].astype(bool)
    return table


def _estimate(p: np.ndarray, rank: np.ndarray, raw: np.ndarray) -> dict[str, float]:
    """Expected ROC-AUC (calibrated PDs ``p``, ranking ``rank``) and default rate; ``raw``: the uncalibrated PDs."""
    ok = ~(np.isnan(p) | np.isnan(rank))
    if not ok.any():
        return {"n_scored": len(p), "n_with_pd": 0, "expected_roc_auc": np.nan,
                "expected_roc_auc_uncalibrated": np.nan, "expected_default_rate": np.nan,
                "expected_default_rate_sd": np.nan}  # fmt: skip
    expected_dr, sd = expected_default_rate(p[ok])
    return {
        "n_scored": len(p),
        "n_with_pd": int(ok.sum()),
        "expected_roc_auc": expected_roc_auc(p[ok], rank[ok]),
        "expected_roc_auc_uncalibrated": expected_roc_auc(raw[ok], rank[ok]),
        "expected_default_rate": expected_dr,
        "expected_default_rate_sd": sd,
    }


def _is_prior(decisions: pd.DataFrame) -> bool:
    """Whether decisions carry the configured prior scaling (``kycc.scorecard.calibration.calibration_label``
    ``prior (...)``) rather than a calibration fitted on matured labels."""
    labels = decisions.get("pd_calibration")
    return labels is not None and labels.astype(str).str.startswith("prior").any()


def _calibrator(card: Any, features: ir.Table, gold_labels: ir.Table) -> tuple[PdCalibrator, list[str]]:
    """The version's PD calibrator: isotonic on its test + OOT PDs and their matured labels."""
    reference = model_reference(card, features)
    ids = reference.rows["loan_id"].tolist()
    labels = gold_labels.filter(gold_labels["loan_id"].isin(ids)).select("loan_id", "label").to_pandas()
    joined = reference.rows[["loan_id", "pd"]].merge(labels.dropna(), on="loan_id", how="inner")
    calibrator = PdCalibrator(joined["pd"], joined["label"], f"{card.label} {reference.label}")
    logger.info("monitoring: %s PD calibrator: %s", card.label, calibrator.description)
    return calibrator, reference.months


def estimate_performance(  # noqa: PLR0913, PLR0914, PLR0917 - a Kedro node: inputs arrive positionally
    months: list[str],
    labels: pd.DataFrame,
    decisions: pd.DataFrame,
    options: dict[str, Any],
    features: ir.Table,
    gold_labels: ir.Table,
    *per_model: Any,
    models: list[str] | None = None,
) -> pd.DataFrame:
    """Per monitoring month ``M``: expected performance of month ``M``'s scores (labels pending) and of the
    cohort ``M − lag`` beside its realized values (labels maturing at ``M``), per scorer.

    Scorers: the scorecard (``scorecard:<version>``; PD = the decision's ``pd``, the calibration in force at
    decision time; ranking = −score) and each model (``per_model``: its predictions and its registered model,
    in turn). A model's PDs are first calibrated (:class:`kycc.monitoring.estimated.PdCalibrator`, isotonic on
    the version's test + OOT PDs and their matured labels; ranking = the raw PD); a month inside that reference
    window gets no estimate (it would be judged on what calibrated it). Rows: ``snapshot_date`` (= M, the
    partition), ``scored_month``, ``status`` (``pending`` / ``realized``), ``calibration``, ``n_scored``,
    ``expected_roc_auc`` (and ``expected_roc_auc_uncalibrated``), ``expected_default_rate`` (and its sd), and
    for realized rows ``n_labelled``, ``realized_roc_auc`` (DeLong CI), ``realized_default_rate``,
    ``roc_auc_error`` and ``default_rate_error`` (realized − expected).
    """
    opts = _options(options)
    lag = opts["label_lag_months"]
    if len(per_model) % 2:
        raise ValueError("estimate_performance: pass each model's predictions and registered model, in turn")
    pairs = list(zip(per_model[0::2], per_model[1::2], strict=True))
    names = list(models or [f"model_{i + 1}" for i in range(len(pairs))])
    sources: list[tuple[str, pd.DataFrame, Any]] = [("scorecard", decisions, None)]
    sources += [(name, frame, reg) for name, (frame, reg) in zip(names, pairs, strict=True)]
    calibrators: dict[tuple[str, int], tuple[PdCalibrator, list[str]]] = {}
    rows = []
    for iso in months:
        month = pd.Timestamp(iso)
        cohort = pd.Timestamp(add_months(month, -lag))
        matured = labels.loc[labels["snapshot_date"] == month, ["loan_id", "label"]]
        for scored, status in ((month, "pending"), (cohort, "realized")):
            for name, frame, registered in sources:
                part = _cohort_rows(frame, scored)
                if part.empty:
                    continue
                groups = []
                if name == "scorecard":
                    if "pd" not in part.columns or part["pd"].isna().all():
                        logger.warning("monitoring: scorecard decisions of %s carry no PD: no estimate",
                                       f"{scored:%Y-%m}")  # fmt: skip
                        continue
                    for v, g in part.groupby(part["scorecard_version"].astype(str)):
                        raw = g["pd"].to_numpy(dtype="float64")
                        used = ", ".join(sorted(g.get("pd_calibration", pd.Series(dtype=str)).dropna()
                                                .astype(str).unique())) or "unknown"  # fmt: skip
                        if _is_prior(g):  # an assumed score -> PD scaling, not a calibration: no estimate
                            raw = np.full(len(g), np.nan)
                            used = f"not fitted ({used}): no estimate"
                        groups.append((f"scorecard:{v}", g, raw, -g["score"].to_numpy(dtype="float64"), raw,
                                       f"the decision's PD: {used}"))  # fmt: skip
                else:
                    for v, g in part.groupby(part["model_version"].astype(int)):
                        key = (name, int(v))
                        if key not in calibrators:
                            calibrators[key] = _calibrator(registered.version(int(v)), features, gold_labels)
                        calibrator, ref_months = calibrators[key]
                        if f"{scored:%Y-%m-%d}" in ref_months:
                            logger.info("monitoring: %s v%d %s is in its calibration window (test + OOT): no "
                                        "estimate", name, v, f"{scored:%Y-%m}")  # fmt: skip
                            continue
                        raw = g["probability"].to_numpy(dtype="float64")
                        groups.append((name, g, calibrator(raw), raw, raw, calibrator.description))
                for scorer, g, p, rank, raw, calibration in groups:
                    row = {"snapshot_date": month, "scored_month": scored, "scorer": scorer, "status": status,
                           "calibration": calibration, **_estimate(p, rank, raw)}  # fmt: skip
                    if status == "realized":
                        joined = g[["loan_id"]].assign(_rank=rank).merge(matured, on="loan_id", how="inner")
                        y = joined["label"].to_numpy(dtype="int64")
                        realized = auc_delong(y, joined["_rank"].to_numpy(dtype="float64"))
                        row |= {
                            "n_labelled": len(joined),
                            "realized_roc_auc": realized["roc_auc"],
                            "realized_roc_auc_lower": realized["auc_lower"],
                            "realized_roc_auc_upper": realized["auc_upper"],
                            "realized_default_rate": float(y.mean()) if len(y) else np.nan,
                        }
                        row["roc_auc_error"] = row["realized_roc_auc"] - row["expected_roc_auc"]
                        row["default_rate_error"] = (
                            row["realized_default_rate"] - row["expected_default_rate"]
                        )
                    rows.append(row)
    table = pd.DataFrame(rows)
    if len(table) and "roc_auc_error" in table.columns:
        done = table.dropna(subset=["roc_auc_error"])
        for scorer, g in done.groupby("scorer"):
            logger.info("monitoring: %s estimated vs realized ROC-AUC over %d month(s): mean absolute error %.3f",
                        scorer, len(g), float(g["roc_auc_error"].abs().mean()))  # fmt: skip
    return table
