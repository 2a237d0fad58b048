"""Placeholder credentials (the template's ``ghp_xxx``, ``change-me``, empty strings) count as no credentials."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import httpx
import pytest
import yaml

from kycc.credentials import is_placeholder, placeholder_reason
from kycc.mining.datasets import ApiAccessDataset, LLMAccessDataset, PocketBaseAccessDataset
from kycc.mining.sources import SourceAccess, collect_sources, source_mode

# The issue_mining section of the credentials template as shipped (conf/local/credentials.yml.example), read
# from the file itself: a copied template (the README's `cp` step) must behave exactly like no credentials.
TEMPLATE_FILE = Path(__file__).resolve().parents[2] / "conf" / "local" / "credentials.yml.example"
TEMPLATE = yaml.safe_load(TEMPLATE_FILE.read_text(encoding="utf-8"))["issue_mining"]
SOURCES = ("github", "stackexchange", "reddit", "hackernews")


@pytest.mark.parametrize(
    "value",
    ["ghp_xxx", "xxx", "sk-xxx", "gsk_XXXXXXXX", "...", "change-me", "change-me-to-a-long-random-string",
     "CHANGEME", "<your token>", "${oc.env:GITHUB_TOKEN}", "", "   ", None],
)  # fmt: skip
def test_placeholders(value):
    assert is_placeholder(value)


@pytest.mark.parametrize(
    "value", ["ghp_4f9KqL2mZ8aBcD", "sk-proj-7Yt3", "a-long-password", "http://127.0.0.1:8090", True, 8090]
)
def test_real_values_are_not_placeholders(value):
    assert not is_placeholder(value)


def test_the_reason_never_shows_the_value():
    assert placeholder_reason("my-changeme-secret-9f2") == "a placeholder"
    assert placeholder_reason("") == "empty" and placeholder_reason("real-secret-value") is None


def test_template_credentials_load_as_none(tmp_path):
    access = ApiAccessDataset(credentials=TEMPLATE).load()
    assert access.credentials["github"] == {} and access.credentials["stackexchange"] == {}
    assert "client_id" not in access.credentials["reddit"]
    # no source goes live from a copied template (HN needs no secret: its opt-in flag ships false)
    assert {s: source_mode(s, "auto", access.credentials.get(s)) for s in SOURCES} == dict.fromkeys(
        SOURCES, "recorded"
    )
    assert LLMAccessDataset(credentials=TEMPLATE).load().api_key is None
    # no PocketBase server of one's own in the template: the embedded one is used, as with no credentials
    embedded = str(tmp_path / "pocketbase")
    pocketbase = PocketBaseAccessDataset(embedded_dir=embedded, credentials=TEMPLATE).load()
    assert pocketbase.embedded and pocketbase.url is None and pocketbase.password is None
    none = PocketBaseAccessDataset(embedded_dir=embedded, credentials={}).load()
    assert (pocketbase.url, pocketbase.email, pocketbase.embedded) == (none.url, none.email, none.embedded)
    # with its optional lines uncommented (and not edited) the template still sends nothing real
    text = re.sub(r"^(\s+)# (\w+:)", r"\1\2", TEMPLATE_FILE.read_text(encoding="utf-8"), flags=re.MULTILINE)
    uncommented = yaml.safe_load(text)["issue_mining"]
    assert uncommented["llm"]["api_base"] and uncommented["pocketbase"]["password"]  # the lines exist
    llm = LLMAccessDataset(credentials=uncommented).load()
    assert llm.api_key is None and llm.api_base is None
    assert PocketBaseAccessDataset(embedded_dir=embedded, credentials=uncommented).load().password is None


def test_a_collector_with_template_credentials_replays_the_samples_and_sends_nothing(clock):
    sent: list[httpx.Request] = []

    def network(source):
        def handler(request):
            sent.append(request)
            return httpx.Response(500)

        return httpx.MockTransport(handler)

    # SourceAccess built directly (not through the dataset): the collectors check the values themselves too.
    access = SourceAccess(
        credentials={s: dict(TEMPLATE[s]) for s in SOURCES},
        transport_factory=network,
        clock=clock,
    )
    params = {
        "mode": "auto",
        "sources": list(SOURCES),
        "rate_limits": {"github": 30, "stackexchange": 30, "reddit": 60, "hackernews": 60},
        "max_retries": 0,
        **{s: {"queries": ["q"]} for s in SOURCES},
    }
    items, report = collect_sources(access, date(2026, 11, 20), params)
    assert sent == []  # nothing reached the "live API"
    assert {s: r["used"] for s, r in report.items()} == dict.fromkeys(
        params["sources"], "recorded (no credentials)"
    )
    assert items
    assert source_mode("github", "auto", {"token": "ghp_4f9KqL2mZ8aBcD"}) == "live"


def test_template_llm_key_and_pocketbase_password_are_not_used(monkeypatch):
    import pandas as pd

    from kycc.mining.config import LabellingConfig
    from kycc.mining.labelling import LLMAccess, build_labeller
    from kycc.mining.pocketbase import PocketBaseAccess
    from kycc.pipelines.issue_mining import nodes

    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    labeller = build_labeller(LabellingConfig(model="groq/llama-3.1-8b-instant"), LLMAccess(api_key="sk-xxx"))
    assert labeller.name == "offline"

    empty = pd.DataFrame(columns=["cluster_date", "cluster_id"])
    _, report = nodes.sync_live_issues(
        issues=empty,
        evidence=empty,
        live_state=empty,
        access=PocketBaseAccess(url="http://127.0.0.1:9", email="admin@example.com", password="change-me"),
        run_date="2026-11-20",
        pocketbase={},
    )
    assert report["status"] == "no credentials"  # not even a health check with the template password
