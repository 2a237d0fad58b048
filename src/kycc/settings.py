"""Project settings. https://docs.kedro.org/en/stable/kedro_project_setup/settings.html"""

import os
import warnings

from kedro.config import OmegaConfigLoader

from kycc.hooks import MlflowRunHooks, RunSummaryHooks, SparkHooks
from kycc.params.hooks import ParamsHooks
from kycc.paths import mlflow_artifact_location, mlflow_tracking_uri, project_root_or_cwd

# ParamsHooks first: a misspelt parameter fails at session start, before MLflow or Spark start.
HOOKS = (ParamsHooks(), MlflowRunHooks(), SparkHooks(), RunSummaryHooks())


def _env(name: str, default: str | None = None) -> str | None:
    """``${kycc_env:NAME,default}``: an environment variable in config (globals, catalog, mlflow.yml)."""
    return os.environ.get(name, default)


# Noise that says nothing to a user: the gold nodes read namespaced silver tables (``lms.prm_silver``) on
# purpose, and omegaconf's resolver API rename is Kedro's and kedro-mlflow's business.
warnings.filterwarnings("ignore", message="One or more dataset names contain '.' characters")
warnings.filterwarnings("ignore", message=r"register_new_resolver\(\) is deprecated")

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Environment configs (test, spark, local) only carry the keys they change.
    "merge_strategy": {"parameters": "soft", "globals": "soft", "catalog": "soft"},
    "custom_resolvers": {
        "kycc_env": _env,
        "kycc_project_root": project_root_or_cwd,
        # mlflow.yml: the MLflow store and artifacts follow the data root unless given explicitly
        "kycc_mlflow_uri": mlflow_tracking_uri,
        "kycc_mlflow_artifacts": mlflow_artifact_location,
    },
}
