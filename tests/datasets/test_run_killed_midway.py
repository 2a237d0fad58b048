"""A Kedro run killed with ``kill -9`` in the middle of its month swaps, then run again, builds exactly what an
uninterrupted run builds (#18.6, at the level of a whole run rather than one table).

A first good run builds the label and feature stores of a tiny world; the raw files then change (one month
removed from every source, one loan's amounts edited) and the second run is killed at several swap steps spread
over the run (bronze, silver, quarantine and gold tables of several sources). Straight after the kill, every
table reads wholly as before or wholly as after its save (never a missing or mixed month); a re-run of the same
window then gives every table exactly as the uninterrupted reference run does, with no ``.staging*``/``.old*``
folder or journal left anywhere.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from kycc.datasets import MonthPartitionedIbisDataset
from kycc.datasets import partitioned_ibis as pi
from tests import rawdata
from tests.kedro_run import PROJECT_ROOT, run_kedro

pytestmark = pytest.mark.slow

PIPELINES = ["label_store", "feature_store"]
LAYERS = ("02_intermediate", "03_primary", "04_feature")
GONE = "2023-05-01"

_CHILD = """
import os, signal, sys
from pathlib import Path
from kycc.datasets import partitioned_ibis as pi
from tests.kedro_run import run_kedro

step, occurrence = sys.argv[2], int(sys.argv[3])
seen = {}

def kill_at(name):
    seen[name] = seen.get(name, 0) + 1
    if name == step and seen[name] == occurrence:
        os.kill(os.getpid(), signal.SIGKILL)

pi.swap_step_hook = kill_at
run_kedro(Path(sys.argv[1]), sys.argv[4].split(","))
"""


def _worlds() -> tuple[dict, dict]:
    before = rawdata.tiny_world()
    after = {source: [dict(r) for r in rows if r["snapshot_date"] != GONE] for source, rows in before.items()}
    for row in after["lms"]:
        if row["loan_id"] == "L2" and row["snapshot_date"] >= "2023-07-01":
            row["overdue_amt"] = str(round(float(row["overdue_amt"]) + 150.0, 2))  # L2 misses more
    return before, after


def tables(root: Path) -> list[Path]:
    """Every month-partitioned table folder under the data root's layers."""
    found = []
    for layer in LAYERS:
        for folder in sorted((root / layer).rglob("*")):
            inside_a_swap = any(part.startswith(".") for part in folder.relative_to(root).parts)
            if not inside_a_swap and any(
                (folder / name).exists() for name in ("_schema.parquet", pi.JOURNAL_FILE)
            ):
                found.append(folder)
    return found


def leftovers(root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(root))
        for layer in LAYERS
        for p in (root / layer).rglob("*")
        if p.name.startswith((".staging", ".old", pi.JOURNAL_FILE))
    )


def contents(root: Path) -> dict[str, pd.DataFrame]:
    """Each table as a fresh dataset loads it (recovering a crashed swap first), sorted for comparison."""
    out = {}
    for folder in tables(root):
        frame = MonthPartitionedIbisDataset(str(folder)).load().execute()
        keys = sorted(frame.columns)
        out[str(folder.relative_to(root))] = frame.sort_values(keys).reset_index(drop=True).astype(str)
    return out


def _same(got: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]) -> list[str]:
    assert got.keys() == expected.keys()
    return [name for name, frame in expected.items() if not got[name].equals(frame)]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted runs (before, then after the change) and the swap steps of the second one."""
    root = tmp_path_factory.mktemp("reference")
    before, after = _worlds()
    rawdata.write_world(root, before)
    run_kedro(root, PIPELINES)
    first = contents(root)
    snapshot = tmp_path_factory.mktemp("after_first_run")
    shutil.copytree(root, snapshot, dirs_exist_ok=True)  # each kill starts from this state
    rawdata.write_world(root, after)
    steps: list[str] = []
    pi.swap_step_hook = steps.append
    try:
        run_kedro(root, PIPELINES)
    finally:
        pi.swap_step_hook = None
    second = contents(root)
    assert _same(second, first), "the change of the raw files changed no table: the test would prove nothing"
    return {"first": first, "second": second, "steps": steps, "snapshot": snapshot}


def _kill_points(steps: list[str], n: int = 4) -> list[tuple[str, int]]:
    """``n`` (step, occurrence) points spread over the run, each inside a swap (after staging, before cleaning)."""
    counted, points = {}, []
    for name in steps:
        counted[name] = counted.get(name, 0) + 1
        points.append((name, counted[name]))
    inside = [
        p for p in points if p[0] == "committed" or p[0].startswith(("aside:", "installed:", "removed:"))
    ]
    assert len(inside) >= n, steps
    return [inside[round(i * (len(inside) - 1) / (n - 1))] for i in range(n)]


def test_a_run_killed_in_its_swaps_and_run_again_equals_the_uninterrupted_run(reference, tmp_path):
    _, after = _worlds()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")])}
    points = _kill_points(reference["steps"])
    assert any(s.startswith("removed:") for s in reference["steps"])  # the gone month is emptied in swaps
    for i, (step, occurrence) in enumerate(points):
        root = tmp_path / f"k{i}"
        shutil.copytree(reference["snapshot"], root)  # the state after the first good run
        rawdata.write_world(root, after)
        child = subprocess.run(
            [sys.executable, "-c", _CHILD, str(root), step, str(occurrence), ",".join(PIPELINES)],
            check=False,
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
        )
        where = f"killed at {step!r} #{occurrence}"
        assert child.returncode == -signal.SIGKILL, f"{where}: {child.stderr.decode()[-2000:]}"
        assert leftovers(root), f"{where}: the kill left no swap to recover"

        # straight after the kill: each table is wholly its state before or after the run (never a mix)
        now = contents(root)
        assert leftovers(root) == [], where
        for name, frame in now.items():
            states = [s[name] for s in (reference["first"], reference["second"]) if name in s]
            assert any(frame.equals(s) for s in states), f"{where}: {name} is neither old nor new"

        run_kedro(root, PIPELINES)  # the same window again
        assert _same(contents(root), reference["second"]) == [], where
        assert leftovers(root) == [], where
