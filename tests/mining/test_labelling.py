"""Labelling: the reply schema, the offline labeller, and the real LiteLLM client against a loopback server."""

from __future__ import annotations

import functools
import json

import pytest
from pydantic import ValidationError

from kycc.mining.config import LabellingConfig
from kycc.mining.labelling import (
    ClusterPrompt,
    IssueLabel,
    LabelFailure,
    LiteLLMLabeller,
    LLMAccess,
    OfflineLabeller,
    build_labeller,
    import_litellm,
    label_clusters,
    parse_reply,
)
from tests.mining.fakes import VALID_LABEL, FakeChatServer, Reply

PROMPT = ClusterPrompt(
    cluster_date="2026-11-20",
    cluster_id=3,
    cluster_size=9,
    titles=[
        "Stripe payouts do not match ledger entries when fees are netted",
        "Month-end reconciliation takes our team four days, how do you automate it?",
        "How to reconcile Stripe payouts with bank statement lines when fees are deducted?",
    ],
    summary="Each payout bundles dozens of charges, refunds and fees into one bank deposit. Our accountant spends "
    "the first week of every month matching payouts by hand. We would pay for reconciliation software.",
    texts=["Partial payments and currency conversion make one-to-one matching impossible."],
)


def _prompts(n):
    return [
        ClusterPrompt("2026-11-20", i, 5, [f"Title {i} about payouts"], "Payouts do not match.")
        for i in range(n)
    ]


# -- schema -------------------------------------------------------------------------------------------------------


def test_valid_reply_is_accepted_and_normalised():
    label = IssueLabel.model_validate(
        {**VALID_LABEL, "category": " Finance ", "impact_level": "HIGH", "extra": 1}
    )
    assert label.category == "finance" and label.impact_level == "high"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("category", "banking"),
        ("impact_level", "critical"),
        ("canonical_title", "x" * 121),
        ("canonical_title", ""),
        ("would_pay_signal", "maybe"),
        ("would_pay_signal", 1),
        ("description", "One sentence. Two sentences. Three sentences is too many."),
    ],
)
def test_invalid_fields_are_rejected(field, value):
    with pytest.raises(ValidationError):
        IssueLabel.model_validate({**VALID_LABEL, field: value})


@pytest.mark.parametrize(
    "description",
    [
        'Users post "Payouts missing? Help" threads. Nobody answers them.',
        "The thread “Is there an API for KYC? Anyone?” got 40 replies. Teams would pay.",
        "Many ask ‘why? how?’ each week.",
    ],
)
def test_a_description_quoting_a_title_with_a_question_mark_is_one_or_two_sentences(description):
    label = IssueLabel.model_validate({**VALID_LABEL, "description": description})
    assert label.description == description


def test_quotes_do_not_hide_a_third_sentence():
    with pytest.raises(ValidationError, match="1-2 sentences"):
        IssueLabel.model_validate(
            {**VALID_LABEL, "description": 'They ask "Why? How?" daily. It costs hours. Nobody fixes it.'}
        )


def test_missing_field_is_rejected():
    data = dict(VALID_LABEL)
    del data["impact_level"]
    with pytest.raises(ValidationError, match="impact_level"):
        IssueLabel.model_validate(data)


def test_parse_reply_accepts_a_fenced_object_only():
    assert parse_reply("```json\n" + json.dumps(VALID_LABEL) + "\n```").category == "finance"
    for bad, message in [("", "empty"), ("Sure! Here you go", "not JSON"), ("[1, 2]", "JSON list")]:
        with pytest.raises(ValueError, match=message):
            parse_reply(bad)


# -- offline ------------------------------------------------------------------------------------------------------


def test_offline_labeller_is_deterministic_and_valid():
    first, second = OfflineLabeller().label(PROMPT), OfflineLabeller().label(PROMPT)
    assert first == second
    assert first.category == "finance" and first.would_pay_signal is True and first.impact_level == "high"
    assert "payout" in first.canonical_title.lower() and len(first.canonical_title) <= 120
    assert first.description.startswith("Each payout bundles")


def test_offline_labeller_without_summary_or_keywords():
    label = OfflineLabeller().label(
        ClusterPrompt("2026-11-20", 0, 1, ["Recurring meetings shift by one hour"], "")
    )
    assert label.category == "other" and label.impact_level == "low" and not label.would_pay_signal
    assert label.description == "1 reports about: Recurring meetings shift by one hour."


# -- LiteLLM against a loopback OpenAI-compatible server ------------------------------------------------------------


def _labeller(server, **kwargs):
    return LiteLLMLabeller(
        "openai/fake-model",
        api_base=server.api_base,
        api_key="sk-test",
        **{"timeout": 5.0, "num_retries": 2, "max_invalid_retries": 2, **kwargs},
    )


def test_valid_reply_through_litellm():
    with FakeChatServer() as server:
        label = _labeller(server).label(PROMPT)
    assert label == IssueLabel.model_validate(VALID_LABEL)
    body = server.requests[0]
    assert body["model"] == "fake-model" and body["temperature"] == 0.0
    assert body["response_format"]["type"] == "json_schema"
    assert "would_pay_signal" in json.dumps(body["response_format"])
    assert "Stripe payouts do not match" in body["messages"][1]["content"]


def test_invalid_reply_is_sent_back_and_retried():
    replies = iter([Reply.label(category="banking"), Reply.label()])
    with FakeChatServer(lambda body: next(replies)) as server:
        label = _labeller(server).label(PROMPT)
    assert label.category == "finance" and len(server.requests) == 2
    retry = server.requests[1]["messages"]
    assert retry[-2]["role"] == "assistant" and "banking" in retry[-2]["content"]
    assert retry[-1]["content"].startswith("That reply was invalid") and "category" in retry[-1]["content"]


def test_invalid_replies_are_retried_then_recorded_as_failures():
    with FakeChatServer(lambda body: Reply(content="I think this is about finance.")) as server:
        labels, failures = label_clusters([PROMPT], _labeller(server, max_invalid_retries=2))
    assert labels == {} and len(server.requests) == 3
    failure = failures[("2026-11-20", 3)]
    assert failure.kind == "invalid_reply" and failure.attempts == 3 and "not JSON" in failure.message


def test_rate_limited_reply_is_retried():
    replies = iter([Reply(status=429, headers={"retry-after": "0"}), Reply.label()])
    with FakeChatServer(lambda body: next(replies)) as server:
        label = _labeller(server).label(PROMPT)
    assert label.category == "finance" and len(server.requests) == 2


def test_rate_limit_that_persists_is_a_recorded_api_error():
    with FakeChatServer(lambda body: Reply(status=429, headers={"retry-after": "0"})) as server:
        labels, failures = label_clusters([PROMPT], _labeller(server, num_retries=1))
    assert not labels and failures[("2026-11-20", 3)].kind == "api_error"
    assert "RateLimitError" in failures[("2026-11-20", 3)].message and len(server.requests) == 2


def test_timeout_is_a_recorded_api_error():
    with (
        FakeChatServer(lambda body: Reply(content="{}", delay=3.0)) as server,
        pytest.raises(LabelFailure) as failure,
    ):
        _labeller(server, timeout=0.5, num_retries=0).label(PROMPT)
    assert failure.value.kind == "api_error" and "Timeout" in failure.value.message


def test_timeout_then_success_is_retried():
    replies = iter([Reply(content=json.dumps(VALID_LABEL), delay=2.0), Reply.label()])
    with FakeChatServer(lambda body: next(replies)) as server:
        label = _labeller(server, timeout=0.5, num_retries=2).label(PROMPT)
    assert label.category == "finance" and len(server.requests) == 2


def test_at_most_eight_requests_in_flight():
    with FakeChatServer(lambda body: Reply(content=json.dumps(VALID_LABEL), delay=0.3)) as server:
        labels, failures = label_clusters(_prompts(20), _labeller(server), max_concurrency=32)
    assert len(labels) == 20 and not failures
    assert 2 <= server.max_in_flight <= 8


def test_mock_response_unit():
    litellm = import_litellm()
    completion = functools.partial(litellm.completion, mock_response=json.dumps(VALID_LABEL))
    labeller = LiteLLMLabeller("openai/gpt-4o-mini", api_key="sk-test", completion=completion)
    assert labeller.label(PROMPT).impact_level == "high"


# -- choosing the labeller ----------------------------------------------------------------------------------------


def test_build_labeller_choices(monkeypatch):
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    assert build_labeller(LabellingConfig(), LLMAccess()).name == "offline"
    assert (
        build_labeller(LabellingConfig(mode="offline", model="groq/x"), LLMAccess(api_key="k")).name
        == "offline"
    )
    no_key = build_labeller(LabellingConfig(model="groq/llama-3.1-8b-instant"), LLMAccess())
    assert no_key.name == "offline"  # auto without any key: offline, with a warning
    with_key = build_labeller(LabellingConfig(model="groq/llama-3.1-8b-instant"), LLMAccess(api_key="gsk"))
    assert with_key.name == "litellm:groq/llama-3.1-8b-instant"
    with pytest.raises(ValueError, match="no labelling.model"):
        build_labeller(LabellingConfig(mode="llm"), LLMAccess())
    with pytest.raises(ValidationError):
        LabellingConfig(max_concurrency=9)


# -- credentials: never retried -----------------------------------------------------------------------------------


def test_missing_credentials_are_not_retried(monkeypatch):
    # Only api_base configured (as the docs allow): the provider SDK refuses before sending anything, and LiteLLM
    # reports it as an InternalServerError — which must not be retried like a real 5xx.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FakeChatServer() as server:
        labeller = LiteLLMLabeller("openai/fake-model", api_base=server.api_base, num_retries=3)
        labels, failures = label_clusters(_prompts(4), labeller, max_concurrency=1)
    assert not labels and len(failures) == 4 and server.requests == []
    assert {f.kind for f in failures.values()} == {"auth_error"}
    assert max(f.attempts for f in failures.values()) == 1  # one call, then none at all
    assert all("issue_mining.llm.api_key" in f.message for f in failures.values())


def test_a_refused_key_stops_the_calls():
    with FakeChatServer(lambda body: Reply(status=401)) as server:
        labels, failures = label_clusters(_prompts(5), _labeller(server, num_retries=3), max_concurrency=1)
    assert not labels and {f.kind for f in failures.values()} == {"auth_error"}
    assert len(server.requests) == 1  # the first 401 ends the labelling: no retry, no call per cluster


def test_server_errors_are_still_retried():
    replies = iter([Reply(status=500), Reply(status=503), Reply.label()])
    with FakeChatServer(lambda body: next(replies)) as server:
        labeller = _labeller(server, num_retries=2)
        labeller.backoff_seconds = 0.0
        assert labeller.label(PROMPT).category == "finance"
    assert len(server.requests) == 3
