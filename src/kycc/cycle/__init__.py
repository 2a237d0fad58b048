"""The monthly cycle and backfill (``kycc backfill``): the seeds' schedule on Kedro sessions.

* :mod:`kycc.cycle.schedule` — what runs in a month and why (pure functions of durable state);
* :mod:`kycc.cycle.backfill` — :func:`run_backfill`, the orchestration with ``KedroSession``;
* :mod:`kycc.cycle.summary` — the per-month summary table.
"""

from kycc.cycle.backfill import CycleReport, run_backfill
from kycc.cycle.schedule import CycleSettings, decide_training, seed_months, trainable

__all__ = ["CycleReport", "CycleSettings", "decide_training", "run_backfill", "seed_months", "trainable"]
