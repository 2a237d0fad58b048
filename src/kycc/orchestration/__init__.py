"""Orchestration glue: :mod:`kycc.orchestration.dagster` (the Dagster definitions of the monthly cycle, ``dagster
dev -m kycc.orchestration.dagster``) and the Airflow boundary. User guide: docs/orchestration.md."""
