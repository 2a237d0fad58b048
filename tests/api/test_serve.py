"""``kycc serve`` for real (uvicorn on loopback, stopped by its PID) and where the API key comes from."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from kycc.api import load_api_settings
from tests.kedro_run import PROJECT_ROOT

KEY = "serve-test-key-abcdefghijklmnop"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_kycc_serve_listens_on_loopback_and_checks_the_key(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "KYCC_API_KEY": KEY,
        "KYCC_DATA_ROOT": str(tmp_path / "data"),
        "KYCC_MLFLOW_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "KEDRO_DISABLE_TELEMETRY": "1",
    }
    kycc = Path(sys.executable).with_name("kycc")
    proc = subprocess.Popen(  # noqa: S603
        [str(kycc), "serve", "--port", str(port), "--env", "test"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a guard against a server that never comes up
        while True:
            try:
                health = httpx.get(f"{base}/api/health", timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"kycc serve did not start: {proc.stdout.read()}") from None
                time.sleep(0.3)
        assert health.json()["env"] == "test" and health.json()["api_key_configured"] is True
        docs = httpx.get(f"{base}/docs", timeout=30)
        assert docs.status_code == 200
        # Swagger UI from the installed package: every script and stylesheet comes from this server
        assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
        assert any(a.endswith(".js") for a in assets) and all(a.startswith("/") for a in assets), assets
        for asset in assets:
            assert httpx.get(f"{base}{asset}", timeout=30).status_code == 200, asset
        assert httpx.post(f"{base}/api/pipeline/trigger/inference", timeout=30).status_code == 401
        # (generous timeouts: the first request that needs the Kedro context loads it, on a busy machine)
        unknown = httpx.post(f"{base}/api/pipeline/trigger/nope", headers={"X-API-Key": KEY}, timeout=300)
        assert unknown.status_code == 404
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    out = proc.stdout.read()
    assert f"http://127.0.0.1:{port}/docs" in out


def _project_with_credentials(tmp_path: Path, credentials: str) -> Path:
    root = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "conf" / "base", root / "conf" / "base")
    (root / "conf" / "local").mkdir(parents=True)
    (root / "conf" / "local" / "credentials.yml").write_text(credentials, encoding="utf-8")
    return root


def test_api_key_from_conf_local_credentials(tmp_path, monkeypatch):
    monkeypatch.delenv("KYCC_API_KEY", raising=False)
    monkeypatch.setenv("KYCC_DATA_ROOT", str(tmp_path / "data"))
    root = _project_with_credentials(tmp_path, "kycc_api:\n  api_key: from-credentials-0123456789\n")
    settings = load_api_settings(project_root=root)
    assert settings.api_key == "from-credentials-0123456789"
    assert settings.runs_dir == tmp_path / "data" / "08_reporting" / "api_runs"

    monkeypatch.setenv("KYCC_API_KEY", "from-the-environment-0123456789")
    assert load_api_settings(project_root=root).api_key == "from-the-environment-0123456789"


def test_short_or_absent_api_key(tmp_path, monkeypatch):
    monkeypatch.delenv("KYCC_API_KEY", raising=False)
    root = _project_with_credentials(tmp_path, "kycc_api:\n  api_key: short\n")
    with pytest.raises(ValueError, match=r"kycc_api.api_key .* 5 characters long: use at least 16"):
        load_api_settings(project_root=root)
    (root / "conf" / "local" / "credentials.yml").write_text("other: {}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="No API key configured"):  # `kycc serve` does not start without one
        load_api_settings(project_root=root)
    assert load_api_settings(project_root=root, require_key=False).api_key is None


def test_mutating_endpoints_refuse_when_no_key_is_configured(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from kycc.api import create_app

    monkeypatch.delenv("KYCC_API_KEY", raising=False)
    monkeypatch.setenv("KYCC_DATA_ROOT", str(tmp_path / "data"))
    settings = load_api_settings(
        project_root=_project_with_credentials(tmp_path, "other: {}\n"), require_key=False
    )
    client = TestClient(create_app(settings))
    for path, body in (
        ("/api/pipeline/trigger/inference", None),
        ("/api/scoring/versions/v1/activate", {"reviewer": "Jane Doe"}),
        ("/api/scoring/score", {"application_date": "2025-01-01", "features": {}}),
    ):
        r = client.post(path, json=body, headers={"X-API-Key": "anything-at-all-1234"})
        assert r.status_code == 401, path
        assert (
            "no API key configured" in r.json()["detail"]
            and "conf/local/credentials.yml" in r.json()["detail"]
        )


@pytest.mark.slow
@pytest.mark.parametrize("case", ["template copied unchanged", "no key", "short key in the environment"])
def test_kycc_serve_refuses_to_start_without_a_real_key(tmp_path, case):
    """`kycc serve` exits non-zero with one message — the template's placeholder is a key anyone can read."""
    root = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "conf" / "base", root / "conf" / "base")
    shutil.copy(PROJECT_ROOT / "pyproject.toml", root / "pyproject.toml")  # a Kedro project: serve finds it
    (root / "conf" / "local").mkdir()
    template = PROJECT_ROOT / "conf" / "local" / "credentials.yml.example"
    env = {k: v for k, v in os.environ.items() if k != "KYCC_API_KEY"}
    env.update(KYCC_DATA_ROOT=str(tmp_path / "data"), KEDRO_DISABLE_TELEMETRY="1")
    if case == "template copied unchanged":  # the README's copy step, without editing the file
        shutil.copy(template, root / "conf" / "local" / "credentials.yml")
        expected = "placeholder of the credentials template"
    elif case == "no key":
        expected = "No API key configured"
    else:
        env["KYCC_API_KEY"] = "0123456789"
        expected = "10 characters long: use at least 16"
    kycc = Path(sys.executable).with_name("kycc")
    done = subprocess.run(  # noqa: S603
        [str(kycc), "serve", "--port", str(_free_port())],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode != 0, done.stdout
    assert expected in done.stderr, done.stderr
    assert "Uvicorn running" not in done.stdout + done.stderr
