"""The session-start check of the parameters (before any node runs, for every pipeline)."""

from __future__ import annotations

from pathlib import Path

from kedro.framework.hooks import hook_impl


class ParamsHooks:
    """Validate the merged parameters tree (files + ``--params``) against :data:`kycc.params.validate.SECTIONS`.

    A rejected key raises :class:`kycc.params.validate.ParameterError` naming the key and the file, from
    ``after_context_created``: before the pipeline is even built.
    """

    @hook_impl(tryfirst=True)
    def after_context_created(self, context) -> None:
        from kycc.params.validate import parameter_files, validate_parameters

        loader = context.config_loader
        envs = [e for e in (context.env or loader.default_run_env, loader.base_env) if e]
        conf_source = Path(loader.conf_source)
        validate_parameters(
            context.params,
            runtime_params=getattr(context, "_runtime_params", None) or {},
            config_params=loader["parameters"],
            files=parameter_files(conf_source, dict.fromkeys(envs)),
            root=conf_source.parent,
        )
