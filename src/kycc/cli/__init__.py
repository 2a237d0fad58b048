"""The ``kycc`` command line (entry point :func:`kycc.cli.main.main`): ``kycc backfill``, ``kycc data``,
``kycc scorecard …``, ``kycc decisions …``, ``kycc serve``, ``kycc pocketbase``, ….

* :mod:`kycc.cli.main` — the ``kycc`` group and the cycle, data and serving commands;
* :mod:`kycc.cli.scorecard` — ``kycc scorecard`` (versions, drafts, activation, rollback) and ``kycc decisions``.

This package is also where Kedro looks for a project's own ``kedro`` commands (``<package>.cli.cli``): KYCC adds
none, so ``cli`` is an empty group and ``kedro`` commands pay nothing for the ``kycc`` command line.
"""

import click


@click.group(name="kycc-project")
def cli() -> None:
    """No project-specific ``kedro`` commands: the project's command line is ``kycc``."""
