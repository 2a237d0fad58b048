"""The API's hardening (issues #15, #18): the credentials template, the key rules, offline docs, the trigger
parameters' allow-list, the request-size limit checked after the key, and scoring inputs checked with silver's
ranges. Fast: FastAPI's test client and the real Kedro config loader, no trained project state."""

from __future__ import annotations

import http.server
import re
import shutil
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import yaml
from fastapi.testclient import TestClient

from kycc.api import create_app, load_api_settings
from kycc.api.config import _config_loader
from kycc.features.dictionary import FEATURES
from tests.kedro_run import PROJECT_ROOT, env_vars

KEY = "hardening-key-0123456789abcdef"
GOOD = {"X-API-Key": KEY}
WRONG = {"X-API-Key": "not-the-key-at-all-000"}


def _template_file() -> Path:
    """The credentials template shipped in conf/local (the README says: copy it to credentials.yml)."""
    found = sorted(p for p in (PROJECT_ROOT / "conf" / "local").iterdir() if "example" in p.name)
    assert len(found) == 1, found
    return found[0]


def _project(tmp_path: Path, credentials: str | None = None) -> Path:
    """conf/base of the project and its conf/local template; ``credentials`` = a conf/local/credentials.yml."""
    root = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "conf" / "base", root / "conf" / "base")
    (root / "conf" / "local").mkdir(parents=True)
    shutil.copy(_template_file(), root / "conf" / "local" / _template_file().name)
    if credentials is not None:
        (root / "conf" / "local" / "credentials.yml").write_text(credentials, encoding="utf-8")
    return root


# ---------------------------------------------------------------------------------------------------------
# 1. the credentials template and the key rules
# ---------------------------------------------------------------------------------------------------------
def test_the_credentials_template_is_never_read_by_kedro(tmp_path):
    root = _project(tmp_path)
    # the README's step: copy the template, then set a key — a real Kedro config load reads it, no duplicate keys
    text = _template_file().read_text(encoding="utf-8")
    placeholder = yaml.safe_load(text)["kycc_api"]["api_key"]
    copy = root / "conf" / "local" / "credentials.yml"
    copy.write_text(text.replace(placeholder, KEY), encoding="utf-8")
    credentials = _config_loader(root, None)["credentials"]
    assert credentials["kycc_api"]["api_key"] == KEY
    assert credentials["issue_mining"]["github"]["token"] == "ghp_xxx"  # from credentials.yml, once
    # without a copy: the template's placeholder key is not the API key (the template is not loaded at all)
    copy.unlink()
    assert "kycc_api" not in _config_loader(root, None)["credentials"]
    assert (root / "conf" / "local" / "credentials.yml.example").is_file()


@pytest.mark.parametrize(
    "key, problem",
    [
        (None, "No API key configured"),
        ("", "No API key configured"),
        ("short", "5 characters long: use at least 16"),
        ("change-me-to-a-long-random-string", "placeholder"),
        ("CHANGE_ME_please_0123456789", "placeholder"),
        ("<your-api-key-of-32-characters>", "placeholder"),
    ],
)
def test_serve_settings_refuse_missing_short_or_placeholder_keys(tmp_path, monkeypatch, key, problem):
    monkeypatch.delenv("KYCC_API_KEY", raising=False)
    monkeypatch.setenv("KYCC_DATA_ROOT", str(tmp_path / "data"))
    body = "other: {}\n" if key is None else f"kycc_api:\n  api_key: {key!r}\n"
    root = _project(tmp_path, body)
    with pytest.raises(ValueError, match=problem) as info:  # kycc.api.config.ApiKeyError
        load_api_settings(project_root=root)
    assert "kycc_api.api_key" in str(info.value)
    if key and len(key) > 5:
        assert key not in str(info.value)  # the message never repeats the key
    if key:  # the environment variable obeys the same rules
        monkeypatch.setenv("KYCC_API_KEY", key)
        with pytest.raises(ValueError, match=problem):
            load_api_settings(project_root=_project(tmp_path / "env", "other: {}\n"))


def test_every_value_of_the_template_is_refused_as_a_key(tmp_path, monkeypatch):
    monkeypatch.setenv("KYCC_DATA_ROOT", str(tmp_path / "data"))
    root = _project(tmp_path, "other: {}\n")
    long_values = []

    def walk(node):
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, str) and len(node.strip()) >= 16:
            long_values.append(node.strip())

    walk(yaml.safe_load(_template_file().read_text(encoding="utf-8")))
    assert long_values  # e.g. the key placeholder and the reddit user agent
    for value in long_values:
        monkeypatch.setenv("KYCC_API_KEY", value)
        with pytest.raises(ValueError, match="placeholder"):
            load_api_settings(project_root=root)


def test_duplicate_credentials_are_reported_not_taken_for_no_key(tmp_path, monkeypatch):
    monkeypatch.delenv("KYCC_API_KEY", raising=False)
    root = _project(tmp_path, f"kycc_api:\n  api_key: {KEY}\n")
    (root / "conf" / "local" / "credentials_more.yml").write_text(f"kycc_api:\n  api_key: {KEY}x\n")
    with pytest.raises(ValueError, match="Duplicate keys"):
        load_api_settings(project_root=root)


# ---------------------------------------------------------------------------------------------------------
# the app without a trained project state
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def app_client(tmp_path_factory) -> Iterator[TestClient]:
    """One app (one Kedro context) for the module: every request below is refused, none changes its state."""
    tmp_path = tmp_path_factory.mktemp("api_hardening")
    data = tmp_path / "data"
    with env_vars(KYCC_DATA_ROOT=str(data), KYCC_MLFLOW_URI=f"sqlite:///{tmp_path / 'mlflow.db'}"):
        settings = load_api_settings(env="test", project_root=PROJECT_ROOT, api_key=KEY)
        assert settings.runs_dir.is_relative_to(data)
        with TestClient(create_app(settings)) as client:
            yield client


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_are_served_offline_from_the_package(app_client: TestClient, page: str):
    html = app_client.get(page)
    assert html.status_code == 200
    # no external host anywhere in the page (a CDN, Google Fonts, the FastAPI favicon, the validator badge)
    hosts = {urlsplit(u).netloc for u in re.findall(r"(?:https?:)?//[^\s'\"<>)]+", html.text)}
    assert hosts == set(), hosts
    parser = _Links()
    parser.feed(html.text)
    scripts = [u for u in parser.urls if u.endswith(".js")]
    assert scripts, parser.urls  # the page has its script …
    for url in parser.urls:  # … and every asset it references is served by the app itself
        asset = app_client.get(urljoin(page, url))
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url
    assert "SwaggerUIBundle" in app_client.get(next(u for u in scripts)).text or page == "/redoc"
    openapi = re.search(r"""(?:url|spec-url)\s*[:=]\s*['"]([^'"]+)['"]""", html.text).group(1)
    assert app_client.get(openapi).json()["info"]["title"] == "KYCC API"


# ---------------------------------------------------------------------------------------------------------
# 3. trigger parameters: an allow-list, enforced before any run is queued
# ---------------------------------------------------------------------------------------------------------
class _Listener(http.server.BaseHTTPRequestHandler):
    received: list[str] = []

    def _any(self):
        type(self).received.append(f"{self.command} {self.path}")
        self.send_response(200)
        self.end_headers()

    do_GET = do_POST = do_PUT = do_PATCH = _any

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    _Listener.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Listener)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Listener.received
    finally:
        server.shutdown()
        server.server_close()


def _runs(client: TestClient) -> list:
    return client.get("/api/pipeline/runs").json()


@pytest.mark.slow  # the first request that needs the Kedro context loads it
def test_trigger_cannot_redirect_the_llm_or_pocketbase(app_client: TestClient, listener):
    url, received = listener
    attempts = [
        {"issue_mining.labelling.api_base": f"{url}/v1", "issue_mining.labelling.model": "openai/fake"},
        {"issue_mining.labelling.mode": "llm", "issue_mining.labelling.api_base": f"{url}/v1"},
        {"issue_mining.pocketbase_access.url": url},
        {"issue_mining.pocketbase.url": url, "issue_mining.pocketbase.required": True},
        {"issue_mining.collect.base_urls.github": url},
    ]
    for params in attempts:
        r = app_client.post("/api/pipeline/trigger/issue_mining", json={"params": params}, headers=GOOD)
        assert r.status_code == 422, r.text
        refused = {tuple(d["loc"]) for d in r.json()["detail"]}
        assert refused == {("body", "params", k) for k in params}, r.json()
        assert "not a trigger parameter of pipeline 'issue_mining'" in r.json()["detail"][0]["msg"]
    assert _runs(app_client) == []  # nothing was queued (no record, no log) …
    runs_dir = app_client.app.state.settings.runs_dir
    assert not runs_dir.exists() or not any(runs_dir.iterdir())
    assert received == []  # … and nothing reached the listener


@pytest.mark.slow
@pytest.mark.parametrize(
    "pipeline, params, key",
    [
        ("actions", {"actions.trigger_training": False}, "actions.trigger_training"),
        ("actions", {"actions.thresholds.roc_auc.business": 0.1}, "actions.thresholds.roc_auc.business"),
        ("training", {"training.quality_gates.min_auc": 0.0}, "training.quality_gates.min_auc"),
        ("training", {"training.registry.alias": "x"}, "training.registry.alias"),
        ("inference", {"inference.models": ["model_9"]}, "inference.models"),
        ("inference", {"inference.start_month": "June"}, "inference.start_month"),
        ("inference", {"run.start_month": "2025-01-01"}, "run.start_month"),
        ("model_input", {"model_input.label_date_column": "x"}, "model_input.label_date_column"),
        ("issue_mining", {"issue_mining.run_date": "yesterday"}, "issue_mining.run_date"),
        ("recalibration", {"recalibration.confirm": False}, "recalibration.confirm"),
        ("recalibration", {"recalibration.min_defaults": 0}, "recalibration.min_defaults"),
        ("recalibration", {"recalibration.models": ["model_9"]}, "recalibration.models"),
    ],
)
def test_trigger_refuses_parameters_outside_the_allow_list(app_client, pipeline, params, key):
    r = app_client.post(f"/api/pipeline/trigger/{pipeline}", json={"params": params}, headers=GOOD)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "params", key]
    assert _runs(app_client) == []


@pytest.mark.slow  # the first request that needs the Kedro context loads it
def test_the_allow_list_covers_every_pipeline_and_is_documented(app_client):
    from kedro.framework.project import pipelines

    from kycc.api.triggers import TRIGGER_PARAMETERS

    app_client.app.state.service.pipeline_names()  # bootstraps the project
    assert set(pipelines.keys()) <= set(TRIGGER_PARAMETERS), set(pipelines.keys()) - set(TRIGGER_PARAMETERS)
    docs = (PROJECT_ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    for pipeline, allowed in TRIGGER_PARAMETERS.items():
        row = next((ln for ln in docs.splitlines() if ln.startswith(f"| `{pipeline}` |")), None)
        assert row is not None, pipeline
        for key in allowed:
            assert f"`{key}`" in row, (pipeline, key)
    forbidden = re.compile(
        r"url|host|api_base|path|token|key|secret|password|threshold|gate|trigger_training"
    )
    assert not [k for allowed in TRIGGER_PARAMETERS.values() for k in allowed if forbidden.search(k)]


# ---------------------------------------------------------------------------------------------------------
# 4. the key before the body, the size limit
# ---------------------------------------------------------------------------------------------------------
HUGE = b'{"features": "' + b"x" * (2 * 1024 * 1024) + b'"}'
MALFORMED = b'{"application_date": "2025-06-01", "features": {'


@pytest.mark.parametrize(
    "path",
    ["/api/scoring/score", "/api/pipeline/trigger/inference", "/api/scoring/versions/v1/activate"],
)
def test_the_key_is_checked_before_the_body(app_client: TestClient, path: str):
    json_type = {"Content-Type": "application/json"}
    for headers in ({}, WRONG):
        for body in (HUGE, MALFORMED):
            r = app_client.post(path, content=body, headers={**headers, **json_type})
            assert r.status_code == 401, (path, headers, len(body), r.status_code)
            assert "API key" in r.json()["detail"]
    # with the key: the same bodies are judged — too large (413), then malformed (422)
    too_large = app_client.post(path, content=HUGE, headers={**GOOD, **json_type})
    assert too_large.status_code == 413
    assert "larger than the limit of 1048576 bytes" in too_large.json()["detail"]
    assert "KYCC_API_MAX_BODY_BYTES" in too_large.json()["detail"]
    malformed = app_client.post(path, content=MALFORMED, headers={**GOOD, **json_type})
    assert malformed.status_code == 422


def test_a_streamed_body_over_the_limit_is_refused(app_client: TestClient):
    def chunks():
        for _ in range(40):
            yield b"x" * 65536  # 2.5 MiB, no Content-Length

    r = app_client.post("/api/scoring/score", content=chunks(), headers=GOOD)
    assert r.status_code == 413


def test_the_size_limit_is_configurable(tmp_path, monkeypatch):
    monkeypatch.setenv("KYCC_DATA_ROOT", str(tmp_path / "data"))
    monkeypatch.setenv("KYCC_API_MAX_BODY_BYTES", "200")
    settings = load_api_settings(env="test", project_root=PROJECT_ROOT, api_key=KEY)
    assert settings.max_body_bytes == 200
    client = TestClient(create_app(settings))
    body = {"application_date": "2025-06-01", "features": {f"f{i}": i for i in range(40)}}
    r = client.post("/api/scoring/score", json=body, headers=GOOD)
    assert r.status_code == 413 and "200 bytes" in r.json()["detail"]
    monkeypatch.setenv("KYCC_API_MAX_BODY_BYTES", "lots")
    with pytest.raises(ValueError, match="KYCC_API_MAX_BODY_BYTES must be a positive number"):
        load_api_settings(env="test", project_root=PROJECT_ROOT, api_key=KEY)


# ---------------------------------------------------------------------------------------------------------
# 4. scoring inputs: silver's ranges, read from the configuration
# ---------------------------------------------------------------------------------------------------------
def _params(root: Path = PROJECT_ROOT) -> dict:
    return _config_loader(root, "test")["parameters"]


def test_feature_ranges_come_from_the_silver_rules_in_conf(tmp_path):
    from kycc.api.input_rules import RATIOS, gold_feature_ranges

    ranges = gold_feature_ranges(_params())
    valid = _params()["feature_store"]["valid_ranges"]
    assert (ranges["age"].lo, ranges["age"].hi) == tuple(float(v) for v in valid["Age"])
    assert "feature_store.valid_ranges.Age" in ranges["age"].rule
    assert ranges["debt_to_income"].lo == 0 and ranges["debt_to_income"].problem(-50.0)
    assert ranges["emi_to_salary"].hi == _params()["feature_store"]["max_emi_to_salary"]
    assert ranges["loan_amt"].hi == _params()["label_store"]["max_amount"]
    # a changed rule in conf/ changes the API's range (nothing is copied)
    root = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "conf" / "base", root / "conf" / "base")
    (root / "conf" / "local").mkdir()
    path = root / "conf" / "base" / "parameters_feature_store.yml"
    path.write_text(path.read_text().replace("Age: [18, 100]", "Age: [21, 65]"), encoding="utf-8")
    changed = gold_feature_ranges(_config_loader(root, None)["parameters"])
    assert (changed["age"].lo, changed["age"].hi) == (21.0, 65.0)
    # the ratio table agrees with the feature dictionary
    meanings = {f.name: f.meaning for f in FEATURES}
    for name, (num, den) in RATIOS.items():
        assert f"{num} / {den}" in meanings[name], name


def test_a_resumed_run_record_outside_the_allow_list_starts_nothing(tmp_path, listener):
    """A queued run on disk (written by an older server, or edited) is checked again before its worker starts."""
    import json
    import time

    from kycc.api.runs import PipelineRun, PipelineRuns

    url, received = listener
    runs_dir = tmp_path / "api_runs"
    runs_dir.mkdir()
    params = {"issue_mining.labelling.api_base": f"{url}/v1", "issue_mining.run_date": "2026-11-20"}
    queued = PipelineRun("20261120T000000-deadbeef", "issue_mining", params, "test", "an older server")
    (runs_dir / f"{queued.run_id}.run.json").write_text(json.dumps(queued.record()), encoding="utf-8")
    # were the run started after all, it would write under tmp_path, never the project's data/
    isolated = {"KYCC_DATA_ROOT": str(tmp_path / "data"), "KYCC_MLFLOW_URI": f"sqlite:///{tmp_path / 'm.db'}"}
    runs = PipelineRuns(PROJECT_ROOT, runs_dir, env="test", extra_env=isolated)
    runs.start()
    try:
        deadline = time.monotonic() + 60  # a guard: the refusal is immediate
        while runs.get(queued.run_id).state in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.05)
        run = runs.get(queued.run_id)
        assert run.state == "failed" and run.worker_pid is None, run  # no worker process was started
        assert "parameter(s) issue_mining.labelling.api_base are not trigger parameters" in run.error
        assert "nothing was started" in run.error
        on_disk = json.loads((runs_dir / f"{queued.run_id}.run.json").read_text(encoding="utf-8"))
        assert on_disk["state"] == "failed" and on_disk["resumed_at"]
    finally:
        runs.shutdown()
    assert received == []
