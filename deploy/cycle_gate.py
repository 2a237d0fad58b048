"""The monthly cycle's training gate for the orchestrators: does month ``M`` train?

The same decision as ``kycc backfill`` (:func:`kycc.cycle.decide_training`): train at the first month whose
labelled history covers the training windows, then every ``cycle.training.retrain_every_months`` months, or
the month after an action decided ``retrain`` (when ``actions.trigger_training`` is on). It is read from the
durable state the month's steps left behind, through the project's own catalog:

* the labelled months before ``M``: ``mdl_model_input`` (as ``kycc backfill`` reads them);
* the last training: ``rpt_training_summary`` (its ``training_date``; the orchestrators run the months in
  order, so it is the last training before ``M``);
* the retrain requests of ``M - 1``: ``<model>.out_action_decisions``.

Used by the Airflow DAG of the training pipeline (the template ``deploy/airflow_dag.j2`` copies this file into
the generated DAG, so that a DAG file is self-contained) and by the Dagster sensor that chains the month's jobs
(``kycc.orchestration.dagster``). Kept free of orchestrator imports, and of template markers, on purpose.
"""

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

gate_logger = logging.getLogger("kycc.cycle_gate")


def training_decision(
    month: Any,
    *,
    project_path: str | Path,
    env: str | None = None,
    conf_source: str | None = None,
    runtime_params: Mapping[str, Any] | None = None,
) -> tuple[bool, str]:
    """Whether the monthly cycle trains at ``month``, and why, read from the project's catalog.

    Args:
        month: The month (``YYYY-MM-01``, a date or a timestamp).
        project_path: The Kedro project.
        env: Kedro environment (default: the project's default run environment).
        conf_source: Another configuration folder.
        runtime_params: Runtime parameters of the session (nested dict), as the month's steps get them.

    Returns:
        ``(train, reason)``, e.g. ``(False, "history 12/23 window months")``.
    """
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(Path(project_path))
    with KedroSession.create(
        project_path=Path(project_path),
        env=env,
        conf_source=conf_source,
        runtime_params=dict(runtime_params or {}),
    ) as session:
        context = session.load_context()
    train, reason = decide_from_catalog(month, context.params, context.catalog)
    gate_logger.info("training at %s: %s (%s)", month, "yes" if train else "no", reason)
    return train, reason


def decide_from_catalog(month: Any, params: Mapping[str, Any], catalog: Any) -> tuple[bool, str]:
    """:func:`training_decision` on an already loaded context (its ``params`` and ``catalog``)."""
    from kycc.cycle.schedule import CycleSettings, decide_training, trainable
    from kycc.temporal import add_months, to_month

    m = to_month(month)
    training = params.get("training") or {}
    settings = CycleSettings.from_params(params.get("cycle"))
    labelled = _labelled_months_before(catalog, training.get("data_contract") or {}, m)
    can_train, why_not = trainable(m, training.get("windows") or {}, labelled)
    last = _last_training(catalog)
    if last is not None and last > m:
        return False, f"a later training exists ({last:%Y-%m}): re-running {m:%Y-%m} does not retrain"
    if last == m:
        # The month is run again (retry, cleared run): it trained the first time.
        return can_train, f"re-run of the training month {m:%Y-%m}" if can_train else why_not
    requested = []
    if (params.get("actions") or {}).get("trigger_training", False):
        requested = _retrain_requested(catalog, list(training.get("models") or {}), add_months(m, -1))
    decision = decide_training(m, settings, can_train, why_not, last, requested)
    return decision.train, decision.reason


def _labelled_months_before(catalog: Any, contract: Mapping[str, Any], month: Any) -> list[Any]:
    """Application months with a label matured before ``month`` (what ``kycc backfill`` checks)."""
    import pandas as pd

    from kycc.temporal import to_month

    try:
        frame = catalog.load("mdl_model_input")
    except Exception as err:  # noqa: BLE001 - no model input yet: nothing is trainable
        gate_logger.debug("model input not readable: %s", err)
        return []
    if frame.empty:
        return []
    date_col = contract.get("date_column", "application_date")
    label_date = contract.get("label_date_column")
    if label_date and label_date in frame.columns:
        frame = frame.loc[pd.to_datetime(frame[label_date]) < pd.Timestamp(month)]
    return sorted({to_month(d) for d in pd.to_datetime(frame[date_col])})


def _last_training(catalog: Any) -> Any:
    """The training date of the last training run (``rpt_training_summary``), or None."""
    from kycc.temporal import to_month

    try:
        summary = catalog.load("rpt_training_summary")
    except Exception as err:  # noqa: BLE001 - never trained
        gate_logger.debug("no training summary: %s", err)
        return None
    date = (summary or {}).get("training_date")
    return to_month(date) if date else None


def _retrain_requested(catalog: Any, models: Iterable[str], month: Any) -> list[str]:
    """Models whose action decision in ``month`` was ``retrain``."""
    from kycc.cycle.schedule import retrain_decided

    out = []
    for model in models:
        try:
            decisions = catalog.load(f"{model}.out_action_decisions")
        except Exception as err:  # noqa: BLE001 - no decision yet
            gate_logger.debug("no action decisions for %s: %s", model, err)
            continue
        if retrain_decided(decisions, month):
            out.append(model)
    return out
