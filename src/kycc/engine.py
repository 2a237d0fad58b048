"""The execution engine of the Ibis transforms: DuckDB (default) or PySpark (``--env spark``)."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["spark_session"]


def spark_session(settings: dict[str, Any] | None = None):
    """Return the active SparkSession, building it from ``settings`` (``spark.*`` keys) if none is active.

    Args:
        settings: Spark configuration, e.g. ``{"spark.master": "local[2]"}``.
    """
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder
    for key, value in (settings or {}).items():
        builder = builder.config(key, str(value))
    logger.info("Starting SparkSession (%s)", (settings or {}).get("spark.master", "default master"))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
