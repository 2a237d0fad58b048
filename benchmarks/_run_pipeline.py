"""Run one Kedro pipeline in this process and print the seconds ``session.run`` took (start-up excluded)."""

import sys
import time
from pathlib import Path

from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

root = Path(__file__).resolve().parents[1]
pipeline, env = sys.argv[1], sys.argv[2]
bootstrap_project(root)
with KedroSession.create(project_path=root, env=env) as session:
    start = time.perf_counter()
    session.run(pipeline_names=[pipeline])
    sys.stdout.write(f"{time.perf_counter() - start:.3f}\n")
