"""``kedro`` loads a plugin's commands only when one of them runs (the project's ``kedro.init`` entry point).

Kedro's CLI imports every ``kedro.project_commands`` entry point before it parses the command line, and the
plugins import their whole stack at the top of their command module: kedro-mlflow imports MLflow (~1.9 s CPU;
kedro-dagster, no longer a dependency, imported Dagster). ``kedro registry list`` paid for it. :func:`lazy_plugin_commands` runs
first (``kedro.init`` hooks run before the CLI is built) and has Kedro put, for each plugin listed in
:data:`PLUGIN_COMMANDS`, a stand-in group that knows the plugin group's name, help and command names and loads
the plugin when one of them is looked up: ``kedro mlflow ui`` works as before, ``kedro --help`` is the same text
(it looks every command up, so it loads them all), a plugin that fails to load is logged and left out as Kedro
does. A plugin not listed is loaded at start-up as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import click

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PluginGroup:
    """What Kedro shows of a plugin's command group before it is loaded: its name (the ``kedro --help``
    heading), its help text (joined into ``kedro --help``) and the names of its commands."""

    name: str
    help: str | None
    commands: tuple[str, ...]


#: The group each plugin adds, by the value of its ``kedro.project_commands`` entry point
#: (``tests/test_startup.py`` checks this against the installed plugins).
PLUGIN_COMMANDS: dict[str, PluginGroup] = {
    "kedro_mlflow.framework.cli.cli:commands": PluginGroup(
        "Mlflow", "Kedro plugin for interactions with mlflow.", ("mlflow",)
    ),
}


class PluginCommands(click.Group):
    """One plugin's command group, imported the first time one of its commands is looked up."""

    def __init__(self, entry_point: Any, group: PluginGroup) -> None:
        super().__init__(name=group.name, help=group.help)
        self.entry_point = entry_point
        self.names = group.commands
        self._group: click.Group | None = None
        self._failed = False

    def _load(self) -> click.Group | None:
        if self._group is None and not self._failed:
            try:
                self._group = self.entry_point.load()
            except Exception as exc:  # what Kedro's _safe_load_entry_point does at start-up
                self._failed = True
                logger.warning(
                    "Failed to load %s commands from %s. Full exception: %s",
                    self.entry_point.module,
                    self.entry_point,
                    exc,
                )
        return self._group

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.names:
            return None
        group = self._load()
        return group.get_command(ctx, cmd_name) if group is not None else None


def lazy_loader(eager: Callable[[str], Sequence[click.Group]]) -> Callable[[str], Sequence[click.Group]]:
    """Kedro's ``load_entry_points`` with the listed plugins' project commands as :class:`PluginCommands`."""
    from kedro.framework.cli.utils import _get_entry_points, _safe_load_entry_point

    def load_entry_points(name: str) -> Sequence[click.Group]:
        if name != "project":
            return eager(name)
        groups = []
        for entry_point in _get_entry_points(name):
            known = PLUGIN_COMMANDS.get(entry_point.value)
            group = PluginCommands(entry_point, known) if known else _safe_load_entry_point(entry_point)
            if group:
                groups.append(group)
        return groups

    load_entry_points.eager = eager  # type: ignore[attr-defined]
    return load_entry_points


def lazy_plugin_commands() -> None:
    """The ``kedro.init`` hook: make Kedro's CLI load the listed plugins' commands on use."""
    from kedro.framework.cli import cli as kedro_cli

    if not hasattr(kedro_cli.load_entry_points, "eager"):
        kedro_cli.load_entry_points = lazy_loader(kedro_cli.load_entry_points)
