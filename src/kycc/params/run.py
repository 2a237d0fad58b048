"""``run``: the run window of the data-engineering pipelines (``conf/base/parameters.yml``)."""

from __future__ import annotations

from kycc.params.base import Month, Params


class RunParams(Params):
    start_month: Month
    end_month: Month
