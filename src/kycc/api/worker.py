"""One Kedro pipeline run for the HTTP API: ``python -m kycc.api.worker '<json spec>'``.

The spec is ``{"project_root", "pipeline", "env", "params"}``; the run is exactly ``kedro run --pipelines
<pipeline> --env <env>`` with the parameters given as a dict (no ``--params`` string parsing: values keep their
JSON types). Exit code 0 on success, 1 when the run failed (the error is logged and, through
``KYCC_RUN_STATUS_FILE``, written to the status file by the project's hooks).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any


def nested(params: dict[str, Any]) -> dict[str, Any]:
    """``{"inference.start_month": x}`` → ``{"inference": {"start_month": x}}`` (as ``kedro run --params``)."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        *parents, leaf = key.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"parameter {key!r} conflicts with another parameter")
        node[leaf] = value
    return out


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    # the error of a run that fails before Kedro configures its logging still reaches the run's log (stderr)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from kycc.project import open_session

    try:
        with open_session(spec["project_root"], spec.get("env"), nested(spec.get("params") or {})) as session:
            session.run(pipeline_names=[spec["pipeline"]])
    except Exception as exc:  # noqa: BLE001 - report any failure as the run's error
        logging.getLogger("kycc.api.worker").error(
            "Pipeline %s failed: %s: %s", spec["pipeline"], type(exc).__name__, exc
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
