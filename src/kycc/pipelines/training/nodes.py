"""Nodes of the training pipeline (thin: the logic lives in ``kycc.temporal`` and ``kycc.modeling``).

Shared nodes prepare the data once (contract, windows, split); the per-model nodes are one template
instantiated per model by namespace (``model_1``, ``model_2``, … from ``training.models``).
"""

from __future__ import annotations

import logging
import math
import platform
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kycc.jsonsafe import json_safe
from kycc.modeling.compare import PromotionSettings
from kycc.modeling.contract import (
    WINDOW_COLUMN,
    DataContract,
    DataContractError,
    FeatureSpec,
    data_fingerprint,
)
from kycc.modeling.contract import validate_model_input as check_contract
from kycc.modeling.gates import GateConfig, evaluate_gates
from kycc.modeling.metrics import best_f1_threshold, classification_metrics
from kycc.modeling.plots import calibration_figure, roc_figure
from kycc.registry.write import RegistrySettings, register_candidate
from kycc.temporal.months import add_months, format_months, month_starts, parse_month, to_month
from kycc.temporal.windows import (
    WINDOW_NAMES,
    InsufficientHistoryError,
    TrainingWindows,
    check_history,
    windows_from_config,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from kycc.modeling.calibration import PDCalibrator
    from kycc.modeling.model import CreditRiskModel
    from kycc.modeling.preprocessing import CreditPreprocessor
    from kycc.modeling.tracking import Candidate
else:  # Kedro reads node type hints at run time (typing.get_type_hints): the names without importing
    # scikit-learn, matplotlib or MLflow, which the nodes below import when they run
    Figure = PDCalibrator = CreditRiskModel = CreditPreprocessor = Candidate = Any

logger = logging.getLogger(__name__)

MODEL_OPTION_KEYS = {
    "registered_model_name",
    "description",
    "preprocessing",
    "estimator",
    "params",
    "grid",
    "selection_metric",
    "max_candidates",
    "search",
    "threshold",
    "features",
    "calibration",
}


# ---------------------------------------------------------------------------------------------------------
# shared nodes
# ---------------------------------------------------------------------------------------------------------
def validate_model_input(
    model_input: pd.DataFrame, data_contract: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Check the model input against ``training.data_contract``; type it; resolve the feature columns.

    Args:
        model_input: ``mdl_model_input`` (from the model_input pipeline or your own table).
        data_contract: ``training.data_contract`` parameters.

    Returns:
        The labelled rows (typed) and the feature spec (features, categorical, date/label/id columns).
    """
    contract = DataContract.from_params(data_contract)
    frame, spec, accounting = check_contract(model_input, contract)
    if accounting["rows_unlabelled"]:
        logger.warning(
            "%d row(s) of the model input have no label yet and are not used for training",
            accounting["rows_unlabelled"],
        )
    logger.info(
        "Model input: %d labelled rows, %d features (%d categorical): %s",
        len(frame),
        len(spec.features),
        len(spec.categorical),
        ", ".join(spec.features),
    )
    return frame, {**spec.to_dict(), "accounting": accounting}


def _spec(feature_spec: dict[str, Any]) -> FeatureSpec:
    return FeatureSpec.from_dict({k: v for k, v in feature_spec.items() if k != "accounting"})


def compute_training_windows(
    data: pd.DataFrame,
    feature_spec: dict[str, Any],
    windows: dict[str, Any],
    training_date: Any,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The temporal windows counted back from the training date (refuses when the history is too short).

    Args:
        data: The validated model input.
        feature_spec: Output of :func:`validate_model_input`.
        windows: ``training.windows`` parameters (sizes, or ``mode: fixed`` with dates).
        training_date: ``training.training_date``; None = the last month with data (the latest label date,
            or, when the table has no label date column, the latest application month + label maturity + 1:
            the latest cohort is then the OOT window).

    Returns:
        The windows (JSON-friendly) and the same, flat, for the MLflow run parameters.
    """
    spec = _spec(feature_spec)
    maturity = int((windows or {}).get("label_maturity_months", 6))
    app_months = month_starts(data[spec.date_column])
    if training_date is None or (isinstance(training_date, str) and not training_date.strip()):
        if spec.label_date_column:
            t = to_month(data[spec.label_date_column].max())
            source = f"the latest label date ({spec.label_date_column})"
        else:
            # the latest cohort's labels are known after `maturity` months: it is the OOT cohort of the month
            # after (T - maturity - 1), so exactly train + validation + test + oot months of data suffice
            t = add_months(app_months.max(), maturity + 1)
            source = f"the month after the latest application month + {maturity} months of label maturity"
        logger.info("training_date not set: using %s, %s", t, source)
    else:
        t = parse_month(training_date, "training.training_date")
    tw = windows_from_config(windows, t)
    check_history(tw, app_months.unique())
    if spec.label_date_column:
        in_windows = tw.assign(data[spec.date_column]).notna()
        late = data.loc[in_windows & (data[spec.label_date_column] >= pd.Timestamp(tw.training_date))]
        if len(late):
            raise InsufficientHistoryError(
                f"{len(late)} labelled row(s) in the training windows have a label date on or after the training "
                f"date {tw.training_date} (latest {late[spec.label_date_column].max():%Y-%m-%d}): their labels "
                f"were not known at {tw.training_date}. training.windows.label_maturity_months ({maturity}) is "
                f"shorter than the time labels take in this table; raise it."
            )
    logger.info("Training windows: %s", tw.describe())
    return tw.to_dict(), tw.to_flat_dict()


def split_by_windows(
    data: pd.DataFrame, feature_spec: dict[str, Any], training_windows: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Tag every row with its window (train/validation/test/oot) and drop rows outside the windows.

    Returns:
        The windowed rows (column ``_window``) and the data profile: rows and default rate per window and
        month, rows left out and why, and the fingerprints of the model input and of the rows used.
    """
    spec = _spec(feature_spec)
    tw = TrainingWindows.from_dict(training_windows)
    window = tw.assign(data[spec.date_column])
    months = month_starts(data[spec.date_column])
    outside = window.isna()
    left_out = {
        "before_train": int((outside & (months < pd.Timestamp(tw.train.start))).sum()),
        "after_oot": int((outside & (months > pd.Timestamp(tw.oot.end))).sum()),
        "between_windows": int(
            (outside & (months >= pd.Timestamp(tw.train.start)) & (months <= pd.Timestamp(tw.oot.end))).sum()
        ),
    }
    used = data.loc[~outside].copy()
    used[WINDOW_COLUMN] = window[~outside].astype(str).to_numpy()
    label = spec.label_column
    profile_windows: dict[str, Any] = {}
    for name in WINDOW_NAMES:
        part = used[used[WINDOW_COLUMN] == name]
        if part.empty:
            raise InsufficientHistoryError(f"The {name} window ({getattr(tw, name)}) has no labelled rows.")
        per_month = part.groupby(month_starts(part[spec.date_column]).dt.strftime("%Y-%m"))[label].agg(
            ["size", "sum"]
        )
        profile_windows[name] = {
            "rows": len(part),
            "defaults": int(part[label].sum()),
            "default_rate": round(float(part[label].mean()), 4),
            "months": {
                m: {"rows": int(r["size"]), "defaults": int(r["sum"])} for m, r in per_month.iterrows()
            },
        }
    train = used[used[WINDOW_COLUMN] == "train"]
    if train[label].nunique() < 2:
        raise InsufficientHistoryError(
            f"The train window ({tw.train}) has a single class (label {int(train[label].iloc[0])} only): no model "
            "can learn from it. Check the label column or widen the train window."
        )
    columns = [spec.date_column, spec.label_column, *spec.id_columns, *spec.features]
    profile = {
        "rows_in": len(data),
        "rows_used": len(used),
        "rows_left_out": left_out,
        "windows": profile_windows,
        "data_fingerprint": data_fingerprint(used, columns),
        "model_input_fingerprint": data_fingerprint(data),
        "accounting": feature_spec.get("accounting", {}),
    }
    logger.info(
        "Windows: %s; %d rows outside the windows left out (%s)",
        "; ".join(
            f"{n} {p['rows']} rows, default rate {p['default_rate']:.1%}" for n, p in profile_windows.items()
        ),
        sum(left_out.values()),
        ", ".join(f"{k}: {v}" for k, v in left_out.items() if v) or "none",
    )
    return used.reset_index(drop=True), profile


def record_training_setup(
    feature_spec: dict[str, Any],
    training_windows: dict[str, Any],
    window_params: dict[str, str],
    profile: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str], dict[str, Any]]:
    """The run's feature spec, windows (also as MLflow parameters) and data profile, once every check passed.

    The shared nodes before this one only compute in memory and raise on a refusal (no labelled rows, history
    too short, a label known too late, a single class): a refused training run writes nothing.
    """
    return feature_spec, training_windows, window_params, profile


# ---------------------------------------------------------------------------------------------------------
# per-model template nodes (the first argument ``model`` is bound by the pipeline)
# ---------------------------------------------------------------------------------------------------------
def _check_model_options(model: str, options: dict[str, Any]) -> None:
    if not isinstance(options, dict):
        raise ValueError(f"training.models.{model} must be a mapping")
    unknown = set(options) - MODEL_OPTION_KEYS
    if unknown:
        raise ValueError(
            f"Unknown keys in training.models.{model}: {sorted(unknown)}; "
            f"allowed: {sorted(MODEL_OPTION_KEYS)}"
        )
    if "estimator" not in options:
        raise ValueError(f"training.models.{model}.estimator is required (e.g. logistic_regression)")


def _model_features(model: str, spec: FeatureSpec, options: dict[str, Any]) -> tuple[list[str], list[str]]:
    features = options.get("features")
    if features is None:
        return spec.features, spec.categorical
    unknown = [f for f in features if f not in spec.features]
    if unknown:
        raise DataContractError(
            f"training.models.{model}.features lists columns that are not features of the model input: {unknown}"
        )
    return list(features), [c for c in spec.categorical if c in features]


def _rows(data: pd.DataFrame, window: str) -> pd.Series:
    return data[WINDOW_COLUMN] == window


def fit_preprocessing(
    model: str, data: pd.DataFrame, feature_spec: dict[str, Any], options: dict[str, Any]
) -> CreditPreprocessor:
    """Fit the model's preprocessing on the train window only (``options.preprocessing``)."""
    from kycc.modeling.preprocessing import CreditPreprocessor

    _check_model_options(model, options)
    spec = _spec(feature_spec)
    features, categorical = _model_features(model, spec, options)
    prep = dict(options.get("preprocessing") or {"kind": "native"})
    train = data.loc[_rows(data, "train")]
    preprocessor = CreditPreprocessor(
        kind=prep.get("kind", "native"),
        features=features,
        categorical=categorical,
        options=prep.get("options"),
    ).fit(train, train[spec.label_column].to_numpy())
    logger.info(
        "%s: %s preprocessing fitted on %d train rows: %d features in, %d out",
        model,
        preprocessor.kind,
        len(train),
        len(features),
        len(preprocessor.feature_names_out_),
    )
    return preprocessor


def apply_preprocessing(preprocessor: CreditPreprocessor, data: pd.DataFrame) -> pd.DataFrame:
    """Transform model-input rows with a fitted preprocessing (training, scoring and monitoring alike)."""
    return preprocessor.transform(data)


def train_model(  # noqa: PLR0917 - a Kedro node: inputs arrive positionally
    model: str,
    features: pd.DataFrame,
    data: pd.DataFrame,
    feature_spec: dict[str, Any],
    options: dict[str, Any],
    training: dict[str, Any],
) -> tuple[Any, dict[str, Any]]:
    """Fit one candidate per hyperparameter set on train, keep the best on validation.

    Returns:
        The fitted estimator and the search record (every candidate's validation score, the best params).
    """
    from kycc.modeling.estimators import select_hyperparameters

    spec = _spec(feature_spec)
    train, valid = _rows(data, "train").to_numpy(), _rows(data, "validation").to_numpy()
    y = data[spec.label_column].to_numpy()
    metric = options.get("selection_metric", "roc_auc")
    logger.info("%s: choosing hyperparameters of %s on validation (%s)", model, options["estimator"], metric)
    estimator, results = select_hyperparameters(
        features.loc[train],
        y[train],
        features.loc[valid],
        y[valid],
        estimator=options["estimator"],
        params=options.get("params"),
        grid=options.get("grid"),
        metric=metric,
        max_candidates=options.get("max_candidates"),
        random_state=int(training.get("random_state", 0)),
        n_threads=training.get("n_threads"),
        search={**(training.get("search") or {}), **(options.get("search") or {})},
        search_key=f"training.models.{model}.search (or training.fitting.search)",
    )
    best = next(r for r in results if r["best"])
    logger.info(
        "%s: best %s, validation %s = %.4f",
        model,
        best["params"] or "(defaults)",
        metric,
        best[f"validation_{metric}"],
    )
    return estimator, {
        "estimator": options["estimator"],
        "selection_metric": metric,
        "best_params": best["params"],
        "candidates": results,
    }


def _calibration_settings(model: str, calibration: dict[str, Any] | None, options: dict[str, Any]) -> dict:
    settings = {"method": "platt", "alpha": 0.05, "confidence": 0.95, **(calibration or {})}
    override = options.get("calibration")
    if isinstance(override, dict):
        settings.update(override)
    elif isinstance(override, str):
        settings["method"] = override
    unknown = set(settings) - {"method", "alpha", "confidence"}
    if unknown:
        raise ValueError(
            f"Unknown keys in training.calibration (or training.models.{model}.calibration): {sorted(unknown)}"
        )
    return settings


def fit_calibration(  # noqa: PLR0917 - a Kedro node: inputs arrive positionally
    model: str,
    preprocessor: CreditPreprocessor,
    estimator: Any,
    data: pd.DataFrame,
    feature_spec: dict[str, Any],
    calibration: dict[str, Any],
    options: dict[str, Any],
) -> PDCalibrator:
    """Fit the post-hoc PD calibrator on the **validation** window only (never test or OOT).

    ``training.calibration.method`` (``platt`` | ``isotonic`` | ``none``; a model may override it with
    ``training.models.<model>.calibration``). See :mod:`kycc.modeling.calibration`.
    """
    from kycc.modeling.calibration import PDCalibrator
    from kycc.modeling.model import predict_pd

    spec = _spec(feature_spec)
    method = _calibration_settings(model, calibration, options)["method"]
    valid = data.loc[_rows(data, "validation")]
    months = sorted(month_starts(valid[spec.date_column]).dt.strftime("%Y-%m").unique().tolist())
    calibrator = PDCalibrator(method).fit(
        predict_pd(preprocessor, estimator, valid),
        valid[spec.label_column].to_numpy(),
        fitted_on="validation",
        months=months,
    )
    logger.info("%s: %s calibration fitted on validation (%d rows): %s", model, method, len(valid),
                calibrator.describe())  # fmt: skip
    return calibrator


def evaluate_model(  # noqa: PLR0913, PLR0917 - a Kedro node: inputs arrive positionally
    model: str,
    preprocessor: CreditPreprocessor,
    estimator: Any,
    data: pd.DataFrame,
    feature_spec: dict[str, Any],
    options: dict[str, Any],
    calibrator: PDCalibrator | None = None,
    calibration: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Score every window from the raw model input (preprocessing + estimator + calibrator, as inference
    will) and measure.

    The decision threshold (for accuracy, precision, recall, F1) is ``options.threshold``: a PD, or
    ``validation_f1`` (the calibrated PD maximising F1 on validation). Each window's metrics include the
    calibration figures (:func:`kycc.modeling.calibration.calibration_metrics`: A/E with its Jeffreys
    interval and test, calibration intercept and slope) and ``uncalibrated_*`` Brier / A/E / mean PD of the
    estimator's own PD. The validation window's calibration is in-sample (the calibrator was fitted there).

    Returns:
        ``{"threshold", "threshold_rule", "calibration", "metrics": {window: {...}}}`` and the predictions.
    """
    from kycc.modeling.calibration import calibration_metrics
    from kycc.modeling.model import predict_pd

    spec = _spec(feature_spec)
    raw = predict_pd(preprocessor, estimator, data)
    pd_hat = raw if calibrator is None else calibrator.transform(raw)
    y = data[spec.label_column].to_numpy()
    settings = _calibration_settings(model, calibration, options)
    rule = options.get("threshold", "validation_f1")
    if rule == "validation_f1":
        valid = _rows(data, "validation").to_numpy()
        threshold = best_f1_threshold(y[valid], pd_hat[valid])
    elif isinstance(rule, int | float) and not isinstance(rule, bool) and 0 < rule < 1:
        threshold = float(rule)
    else:
        raise ValueError(
            f"training.models.{model}.threshold must be 'validation_f1' or a PD between 0 and 1, got {rule!r}"
        )
    metrics = {}
    level, alpha = float(settings["confidence"]), float(settings["alpha"])
    for name in WINDOW_NAMES:
        mask = _rows(data, name).to_numpy()
        uncalibrated = calibration_metrics(y[mask], raw[mask], alpha=alpha, level=level)
        metrics[name] = {
            **classification_metrics(y[mask], pd_hat[mask], threshold),
            **calibration_metrics(y[mask], pd_hat[mask], alpha=alpha, level=level),
            "uncalibrated_mean_pd": float(raw[mask].mean()) if mask.any() else math.nan,
            "uncalibrated_brier": classification_metrics(y[mask], raw[mask], threshold)["brier"],
            "uncalibrated_ae_ratio": uncalibrated["ae_ratio"],
        }
    logger.info(
        "%s: ROC-AUC %s; KS oot %.3f; Brier oot %.4f (threshold %.3f); A/E %s (uncalibrated %s)",
        model,
        ", ".join(f"{w} {metrics[w]['roc_auc']:.3f}" for w in WINDOW_NAMES),
        metrics["oot"]["ks"],
        metrics["oot"]["brier"],
        threshold,
        ", ".join(f"{w} {metrics[w]['ae_ratio']:.2f}" for w in ("test", "oot")),
        ", ".join(f"{w} {metrics[w]['uncalibrated_ae_ratio']:.2f}" for w in ("test", "oot")),
    )
    predictions = pd.DataFrame(
        {
            **{c: data[c].to_numpy() for c in spec.id_columns},
            spec.date_column: data[spec.date_column].to_numpy(),
            "window": data[WINDOW_COLUMN].to_numpy(),
            "label": y,
            "pd": pd_hat,
            "prediction": (pd_hat >= threshold).astype("int64"),
        }
    )
    described = calibrator.describe() if calibrator is not None else {"method": "none", "fitted_on": ""}
    described = {**described, "confidence": level, "alpha": alpha}
    return {
        "threshold": threshold,
        "threshold_rule": str(rule),
        "calibration": described,
        "metrics": metrics,
    }, predictions


def plot_model_performance(model: str, predictions: pd.DataFrame) -> tuple[Figure, Figure]:
    """ROC curves and calibration of the test and OOT windows (train shown for over-fitting on ROC)."""
    return (
        roc_figure(predictions, model, ["train", "test", "oot"]),
        calibration_figure(predictions, model, ["test", "oot"]),
    )


def check_quality_gates(model: str, evaluation: dict[str, Any], gates: dict[str, Any]) -> dict[str, Any]:
    """Quality gates (``training.quality_gates``): a failing model is recorded with its reasons."""
    result = evaluate_gates(evaluation["metrics"], GateConfig.from_params(gates))
    if result["passed"]:
        logger.info("%s: quality gates passed", model)
    else:
        logger.warning("%s: quality gates FAILED: %s", model, "; ".join(result["reasons"]))
    return result


_clean = json_safe  # JSON-safe: NaN -> None, numpy scalars -> Python (one home: the registry)


def build_model_metadata(  # noqa: PLR0917 - a Kedro node: inputs arrive positionally
    model: str,
    preprocessor: CreditPreprocessor,
    evaluation: dict[str, Any],
    gate: dict[str, Any],
    search: dict[str, Any],
    training_windows: dict[str, Any],
    profile: dict[str, Any],
    options: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The model's metadata (windows, metrics, gates, data fingerprint…), feature list and MLflow metrics."""
    import sklearn

    feature_list = {
        "model": model,
        "features": list(preprocessor.features),
        "categorical": list(preprocessor.categorical or []),
        "model_features": list(preprocessor.feature_names_out_),
    }
    metadata = {
        "model": model,
        "registered_model_name": options.get("registered_model_name") or f"kycc_{model}",
        "description": options.get("description", ""),
        "estimator": options["estimator"],
        "best_params": search["best_params"],
        "selection_metric": search["selection_metric"],
        "preprocessing": preprocessor.describe(),
        "threshold": evaluation["threshold"],
        "threshold_rule": evaluation["threshold_rule"],
        "calibration": evaluation.get("calibration"),
        "training_date": training_windows["training_date"],
        "windows": training_windows,
        "metrics": evaluation["metrics"],
        "quality_gate": gate,
        "data_fingerprint": profile["data_fingerprint"],
        "model_input_fingerprint": profile["model_input_fingerprint"],
        "rows_per_window": {w: p["rows"] for w, p in profile["windows"].items()},
        "features": feature_list,
        "versions": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "pandas": pd.__version__,
            "numpy": np.__version__,
        },
    }
    mlflow_metrics: dict[str, Any] = {
        f"{w}.{k}": {"value": float(v), "step": 0}
        for w, m in evaluation["metrics"].items()
        for k, v in m.items()
    }
    mlflow_metrics["quality_gate_passed"] = {"value": float(gate["passed"]), "step": 0}
    metric = search["selection_metric"]
    mlflow_metrics[f"search.validation_{metric}"] = [
        {"value": float(c[f"validation_{metric}"]), "step": c["candidate"]} for c in search["candidates"]
    ]
    return _clean(metadata), feature_list, mlflow_metrics


def package_model(
    model: str,
    preprocessor: CreditPreprocessor,
    estimator: Any,
    metadata: dict[str, Any],
    calibrator: PDCalibrator | None = None,
    windowed: pd.DataFrame | None = None,
) -> tuple[CreditRiskModel, dict[str, Any]]:
    """Bundle preprocessing + estimator + calibrator + threshold (the object logged to MLflow: its PD is the
    calibrated one) and the registration card.

    The bundle carries ``input_example_``: the first rows of the training window's model-input columns, from
    which the MLflow dataset logs the model's signature and input example (and then drops it from the bundle).
    """
    from kycc.modeling.model import CreditRiskModel
    from kycc.modeling.tracking import input_example

    bundle = CreditRiskModel(
        preprocessor=preprocessor,
        estimator=estimator,
        threshold=float(metadata["threshold"]),
        name=model,
        calibrator=calibrator,
    )
    if windowed is not None and len(windowed):
        bundle.input_example_ = input_example(windowed, preprocessor.features)
    card = {
        "model": model,
        "registered_model_name": metadata["registered_model_name"],
        "logged_model_name": model,
        "gate": {
            "passed": metadata["quality_gate"]["passed"],
            "reasons": metadata["quality_gate"]["reasons"],
        },
        "metrics": {
            w: {k: (math.nan if v is None else v) for k, v in m.items()}
            for w, m in metadata["metrics"].items()
        },
        "training_date": metadata["training_date"],
        "data_fingerprint": metadata["data_fingerprint"],
        "windows": metadata["windows"],
        "calibration": metadata.get("calibration"),
    }
    return bundle, card


def publish_candidate(  # noqa: PLR0917 - a Kedro node: inputs arrive positionally
    model: str,
    gate: dict[str, Any],
    preprocessor: CreditPreprocessor,
    estimator: Any,
    search: dict[str, Any],
    feature_list: dict[str, Any],
    metadata: dict[str, Any],
    predictions: pd.DataFrame,
) -> tuple[Candidate, ...]:
    """The model's artefacts for ``data/06_models/<model>/``, marked with the gate result.

    The candidate datasets (:class:`kycc.modeling.tracking.MlflowCandidateArtifactDataset`) replace the local
    files only for a model that passed its quality gates; a failing model's files go to its MLflow run only,
    so the local folder keeps the last passing model (what the scorecard refinement reads).
    """
    from kycc.modeling.tracking import Candidate

    passed = bool(gate["passed"])
    if not passed:
        logger.warning(
            "%s: not a candidate (%s): data/06_models/%s/ is left as it was",
            model,
            "; ".join(gate["reasons"]),
            model,
        )
    return tuple(
        Candidate(value, passed, model)
        for value in (preprocessor, estimator, search, feature_list, metadata, predictions)
    )


def evaluation_rows(
    data: pd.DataFrame, predictions: pd.DataFrame, feature_spec: dict[str, Any]
) -> dict[str, Any]:
    """The rows a champion is compared on: the candidate's OOT window, with the candidate's PD of them.

    The OOT window holds the latest cohorts whose labels matured before the training date (nothing later is
    labelled at T), so "its OOT month and the latest matured cohorts" are the same rows here.
    """
    spec = _spec(feature_spec)
    mask = _rows(data, "oot").to_numpy()
    if (
        len(predictions) != len(data)
        or not (predictions["window"].to_numpy() == data[WINDOW_COLUMN].to_numpy()).all()
    ):
        raise ValueError("the predictions are not aligned with the windowed model input")
    frame = data.loc[mask].reset_index(drop=True)
    return {
        "frame": frame,
        "labels": frame[spec.label_column].to_numpy(),
        "candidate_pd": predictions.loc[mask, "pd"].to_numpy(dtype="float64"),
        "months": sorted(month_starts(frame[spec.date_column]).dt.strftime("%Y-%m").unique().tolist()),
        "rows": "the candidate's OOT window (the latest matured cohorts at its training date)",
    }


def register_model(  # noqa: PLR0917 - a Kedro node: inputs arrive positionally
    card: dict[str, Any],
    registry: dict[str, Any],
    data: pd.DataFrame | None = None,
    predictions: pd.DataFrame | None = None,
    feature_spec: dict[str, Any] | None = None,
    promotion: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Register a passing model in the MLflow registry and move ``champion`` when it beats the champion on
    the same rows (the candidate's OOT window scored by both, ``training.promotion``).

    The registry is a conditional read-modify-write that no kedro-mlflow dataset offers; the calls live in
    :mod:`kycc.registry.write` (see its docstring). Without an active MLflow run nothing is registered.
    """
    evaluation = (
        evaluation_rows(data, predictions, feature_spec)
        if data is not None and predictions is not None and feature_spec is not None
        else None
    )
    outcome = register_candidate(
        card, RegistrySettings.from_params(registry), PromotionSettings.from_params(promotion), evaluation
    )
    return _clean({**outcome, "calibration": card.get("calibration"), "metrics": _oot_calibration(card)})


def _oot_calibration(card: dict[str, Any]) -> dict[str, Any]:
    keys = ("n_samples", "n_defaults", "roc_auc", "mean_pd", "default_rate", "brier", "ae_ratio", "ae_lower",
            "ae_upper", "ae_pvalue", "calibration_intercept", "calibration_slope", "uncalibrated_ae_ratio")  # fmt: skip
    return {w: {k: card["metrics"].get(w, {}).get(k) for k in keys} for w in ("test", "oot")}


# ---------------------------------------------------------------------------------------------------------
# summary
# ---------------------------------------------------------------------------------------------------------
def summarise_training(training_windows: dict[str, Any], *outcomes: dict[str, Any]) -> dict[str, Any]:
    """One line per model (gate, OOT ROC-AUC, registered version, champion) in the log and a JSON report."""
    tw = TrainingWindows.from_dict(training_windows)
    lines = [f"Training summary ({tw.describe()}):"]
    for o in outcomes:
        auc = o.get("candidate_value")
        gate = "passed" if o["gate_passed"] else "FAILED (" + "; ".join(o["gate_reasons"]) + ")"
        if o["status"] == "registered":
            reg = f"registered {o['registered_model_name']} v{o['version']}"
            champ = (
                "now CHAMPION"
                if o["champion"]
                else f"champion stays v{o['champion_version']}"
                if o["champion_version"]
                else "no champion"
            )
        else:
            reg, champ = f"not registered ({o['status']}: {o['reason']})", "-"
        lines.append(
            f"  {o['model']}: gate {gate}; {o['champion_metric']} "
            f"{'n/a' if auc is None else f'{auc:.4f}'}; {reg}; {champ}"
        )
        lines.extend(_calibration_lines(o))
        if o.get("comparison") or o.get("status") == "registered":
            lines.append(f"    champion decision: {o['reason']}")
    logger.info("\n".join(lines))
    return {
        "training_date": tw.training_date.isoformat(),
        "windows": {w.name: format_months(w.months) for w in tw.windows},
        "models": list(outcomes),
        "text": "\n".join(lines),
    }


def _calibration_lines(outcome: dict[str, Any]) -> list[str]:
    """``calibration platt (validation 2024-01..): test A/E 1.02 [0.85, 1.21] p 0.8, slope 0.97, Brier …``."""
    calibration, metrics = outcome.get("calibration") or {}, outcome.get("metrics") or {}
    if not metrics:
        return []

    def fmt(v: Any, digits: int = 2) -> str:
        return "n/a" if v is None else f"{v:.{digits}f}"

    parts = []
    for w in ("test", "oot"):
        m = metrics.get(w) or {}
        parts.append(
            f"{w} A/E {fmt(m.get('ae_ratio'))} [{fmt(m.get('ae_lower'))}, {fmt(m.get('ae_upper'))}] "
            f"p {fmt(m.get('ae_pvalue'), 3)} (uncalibrated {fmt(m.get('uncalibrated_ae_ratio'))}), "
            f"slope {fmt(m.get('calibration_slope'))}, intercept {fmt(m.get('calibration_intercept'))}, "
            f"Brier {fmt(m.get('brier'), 4)}, n {fmt(m.get('n_samples'), 0)}"
        )
    months = calibration.get("months") or []
    where = f"{calibration.get('fitted_on') or '-'} {months[0]}..{months[-1]}" if months else "-"
    return [f"    calibration {calibration.get('method', 'none')} (fitted on {where}): " + "; ".join(parts)]
